/*
 * activity.c — the dashboard's in-memory history (activity.h): two rings of time
 * buckets per (route, model) series and a ring of recent decisions, written by the store
 * thread, copied out under one mutex by the admin handlers.
 */
#include "activity.h"

#include "sy_common.h"

#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

typedef struct slot {
    uint64_t unit; /* ts / bucket length of the data in the slot; 0 = empty */
    sy_activity_cell c;
} slot;

typedef struct series {
    char route[SY_STORE_NAME_MAX];
    char model[SY_STORE_NAME_MAX];
    slot fine[SY_ACTIVITY_FINE_N];
    slot coarse[SY_ACTIVITY_COARSE_N];
} series;

struct sy_activity {
    pthread_mutex_t lock;
    series *series[SY_ACTIVITY_MAX_SERIES];
    size_t n_series;
    uint64_t dropped;
    sy_activity_decision *recent; /* ring of SY_ACTIVITY_RECENT */
    size_t recent_next, recent_n;
    uint16_t *hint; /* RECENT_HINTS: by a hash of the id, the ring index + 1 of the last
                       decision remembered with it (0: none); a rating checks there
                       before it scans the ring */
};

#define RECENT_HINTS 16384 /* a power of two, > SY_ACTIVITY_RECENT */

static size_t hint_of(const uint8_t id[16])
{
    uint64_t v;
    memcpy(&v, id + 8, 8); /* a ULID's random part */
    return (size_t)((v * 0x9E3779B97F4A7C15ull) >> 50) & (RECENT_HINTS - 1);
}

sy_activity *sy_activity_new(void)
{
    sy_activity *a = sy_xcalloc(1, sizeof(*a));
    pthread_mutex_init(&a->lock, NULL);
    a->recent = sy_xcalloc(SY_ACTIVITY_RECENT, sizeof(*a->recent));
    a->hint = sy_xcalloc(RECENT_HINTS, sizeof(*a->hint));
    return a;
}

void sy_activity_free(sy_activity *a)
{
    if (!a)
        return;
    for (size_t i = 0; i < a->n_series; i++)
        free(a->series[i]);
    free(a->recent);
    free(a->hint);
    pthread_mutex_destroy(&a->lock);
    free(a);
}

static void copy_name(char *dst, size_t cap, const char *src)
{
    size_t n = strnlen(src, cap - 1);
    memcpy(dst, src, n);
    dst[n] = '\0';
}

/* The series of (route, model), created on first use; NULL when the table is full. */
static series *series_for(sy_activity *a, const char *route, const char *model)
{
    for (size_t i = 0; i < a->n_series; i++)
        if (strncmp(a->series[i]->route, route, SY_STORE_NAME_MAX - 1) == 0 &&
            strncmp(a->series[i]->model, model, SY_STORE_NAME_MAX - 1) == 0)
            return a->series[i];
    if (a->n_series == SY_ACTIVITY_MAX_SERIES) {
        a->dropped++;
        return NULL;
    }
    series *s = sy_xcalloc(1, sizeof(*s));
    copy_name(s->route, sizeof(s->route), route);
    copy_name(s->model, sizeof(s->model), model);
    a->series[a->n_series++] = s;
    return s;
}

/* The cell of time ts in a ring of n buckets of len_s seconds: reset when it held an
 * older bucket, NULL when it holds a newer one (ts is older than the ring reaches). */
static sy_activity_cell *cell_at(slot *ring, size_t n, unsigned len_s, uint64_t ts_ms)
{
    uint64_t unit = ts_ms / (1000ull * len_s) + 1; /* + 1: unit 0 means empty */
    slot *sl = &ring[unit % n];
    if (sl->unit > unit)
        return NULL;
    if (sl->unit < unit) {
        memset(&sl->c, 0, sizeof(sl->c));
        sl->unit = unit;
    }
    return &sl->c;
}

typedef void (*cell_fn)(sy_activity_cell *c, const sy_store_obs *o);

/* Apply fn to the event's cell in both rings. */
static void add(series *s, uint64_t ts_ms, cell_fn fn, const sy_store_obs *o)
{
    sy_activity_cell *c = cell_at(s->fine, SY_ACTIVITY_FINE_N, SY_ACTIVITY_FINE_S, ts_ms);
    if (c)
        fn(c, o);
    c = cell_at(s->coarse, SY_ACTIVITY_COARSE_N, SY_ACTIVITY_COARSE_S, ts_ms);
    if (c)
        fn(c, o);
}

static void add_request(sy_activity_cell *c, const sy_store_obs *o)
{
    const sy_store_request *r = o->req;
    c->requests += 1;
    if (r->status >= 400)
        c->errors += 1;
    if (isfinite(r->cost_usd))
        c->cost_usd += r->cost_usd;
    if (isfinite(r->latency_ms))
        c->latency_ms_sum += r->latency_ms;
}

/* A rating counts once; a correction moves the sum; a rephrase is counted apart. */
static void add_rating(sy_activity_cell *c, const sy_store_obs *o)
{
    if (o->implicit) {
        if (!o->replaced)
            c->rephrases += 1;
        return;
    }
    if (o->replaced && !o->previous_implicit) {
        c->rating_sum += o->value - o->previous;
        return;
    }
    c->ratings += 1;
    c->rating_sum += o->value;
}

static void remember(sy_activity *a, const sy_store_request *r)
{
    sy_activity_decision *d = &a->recent[a->recent_next];
    memset(d, 0, sizeof(*d));
    memcpy(d->id, r->id, 16);
    d->ts_ms = r->ts_ms;
    copy_name(d->key_name, sizeof(d->key_name), r->key_name);
    copy_name(d->route, sizeof(d->route), r->route);
    copy_name(d->model, sizeof(d->model), r->model);
    copy_name(d->policy, sizeof(d->policy), r->policy);
    d->propensity = r->propensity;
    d->n_candidates = r->n_candidates;
    d->dim = r->dim;
    for (uint32_t i = 0; i < r->dim && i < SY_ACTIVITY_DENSE && r->x; i++)
        d->dense[i] = (float)r->x[i];
    memcpy(d->conv, r->conv, 16);
    copy_name(d->rule, sizeof(d->rule), r->rule);
    copy_name(d->prompt, sizeof(d->prompt), r->prompt);
    d->prompt_version = r->prompt_version;
    copy_name(d->experiments, sizeof(d->experiments), r->experiments);
    d->status = r->status;
    d->stream = r->stream;
    d->latency_ms = r->latency_ms;
    d->ttft_ms = r->ttft_ms;
    d->cost_usd = r->cost_usd;
    d->prompt_tokens = r->prompt_tokens;
    d->completion_tokens = r->completion_tokens;
    copy_name(d->error, sizeof(d->error), r->error);
    a->hint[hint_of(r->id)] = (uint16_t)(a->recent_next + 1);
    a->recent_next = (a->recent_next + 1) % SY_ACTIVITY_RECENT;
    if (a->recent_n < SY_ACTIVITY_RECENT)
        a->recent_n++;
}

static void set_rating(sy_activity_decision *d, const sy_store_obs *o)
{
    if (o->implicit && d->rated == 1)
        return;
    d->rated = o->implicit ? 2 : 1;
    d->rating = o->value;
}

/* The rated decision, if it is still among the recent ones: an explicit rating wins
 * over a signal, as in the store. Found through its hint, else by a scan from the
 * newest (a later decision took the hint: rare for a recent one). */
static void rate(sy_activity *a, const sy_store_obs *o)
{
    size_t h = a->hint[hint_of(o->req->id)];
    if (h && h <= a->recent_n && memcmp(a->recent[h - 1].id, o->req->id, 16) == 0) {
        set_rating(&a->recent[h - 1], o);
        return;
    }
    for (size_t k = 0; k < a->recent_n; k++) {
        size_t i = (a->recent_next + SY_ACTIVITY_RECENT - 1 - k) % SY_ACTIVITY_RECENT;
        if (memcmp(a->recent[i].id, o->req->id, 16) == 0) {
            set_rating(&a->recent[i], o);
            return;
        }
    }
}

void sy_activity_observe(sy_activity *a, const sy_store_obs *o, uint64_t now_ms)
{
    if (!a || !o)
        return;
    uint64_t ts = o->is_feedback ? o->ts_ms : o->req->ts_ms;
    if (!ts)
        ts = now_ms;
    uint64_t day_ms = 1000ull * SY_ACTIVITY_COARSE_S * SY_ACTIVITY_COARSE_N;
    pthread_mutex_lock(&a->lock);
    if (o->is_feedback)
        rate(a, o);
    else
        remember(a, o->req);
    if (ts + day_ms > now_ms) {
        series *s = series_for(a, o->req->route, o->req->model);
        if (s)
            add(s, ts, o->is_feedback ? add_rating : add_request, o);
    }
    pthread_mutex_unlock(&a->lock);
}

/* route matches the filter: equal, or one of its experiment variants ("name~…"). */
static int route_matches(const char *route, const char *want)
{
    if (!want)
        return 1;
    size_t n = strlen(want);
    return strncmp(route, want, n) == 0 && (route[n] == '\0' || route[n] == '~');
}

static void sum_cells(sy_activity_cell *dst, const sy_activity_cell *c)
{
    dst->requests += c->requests;
    dst->errors += c->errors;
    dst->cost_usd += c->cost_usd;
    dst->latency_ms_sum += c->latency_ms_sum;
    dst->ratings += c->ratings;
    dst->rating_sum += c->rating_sum;
    dst->rephrases += c->rephrases;
}

int sy_activity_window_get(sy_activity *a, const char *route, uint64_t now_ms, unsigned window_s,
                           unsigned step_s, sy_activity_window *out)
{
    memset(out, 0, sizeof(*out));
    int fine = window_s <= SY_ACTIVITY_FINE_S * SY_ACTIVITY_FINE_N;
    unsigned len = fine ? SY_ACTIVITY_FINE_S : SY_ACTIVITY_COARSE_S;
    size_t ring_n = fine ? SY_ACTIVITY_FINE_N : SY_ACTIVITY_COARSE_N;
    if (!step_s || step_s % len || window_s % step_s || window_s > len * ring_n)
        return -1;
    size_t n = window_s / step_s, per = step_s / len;
    uint64_t step_ms = 1000ull * step_s;
    uint64_t last = now_ms / step_ms;
    out->start_ms = (last + 1 - n) * step_ms;
    out->step_s = step_s;
    out->n_cells = n;
    pthread_mutex_lock(&a->lock);
    out->series = sy_xcalloc(a->n_series ? a->n_series : 1, sizeof(*out->series));
    for (size_t i = 0; i < a->n_series; i++) {
        const series *s = a->series[i];
        if (!route_matches(s->route, route))
            continue;
        sy_activity_series *o = &out->series[out->n_series++];
        memcpy(o->route, s->route, sizeof(o->route));
        memcpy(o->model, s->model, sizeof(o->model));
        o->cells = sy_xcalloc(n, sizeof(*o->cells));
        const slot *ring = fine ? s->fine : s->coarse;
        uint64_t first_unit = out->start_ms / (1000ull * len) + 1;
        for (size_t k = 0; k < n * per; k++) {
            uint64_t unit = first_unit + k;
            const slot *sl = &ring[unit % ring_n];
            if (sl->unit == unit)
                sum_cells(&o->cells[k / per], &sl->c);
        }
    }
    pthread_mutex_unlock(&a->lock);
    return 0;
}

void sy_activity_window_free(sy_activity_window *w)
{
    for (size_t i = 0; i < w->n_series; i++)
        free(w->series[i].cells);
    free(w->series);
    memset(w, 0, sizeof(*w));
}

size_t sy_activity_recent(sy_activity *a, const sy_activity_filter *f, sy_activity_decision *out,
                          size_t max)
{
    size_t got = 0;
    pthread_mutex_lock(&a->lock);
    for (size_t k = 0; k < a->recent_n && got < max; k++) {
        size_t i = (a->recent_next + SY_ACTIVITY_RECENT - 1 - k) % SY_ACTIVITY_RECENT;
        const sy_activity_decision *d = &a->recent[i];
        if (f && !route_matches(d->route, f->route))
            continue;
        if (f && f->conv && memcmp(d->conv, f->conv, 16) != 0)
            continue;
        out[got++] = *d;
    }
    pthread_mutex_unlock(&a->lock);
    return got;
}

uint64_t sy_activity_dropped(sy_activity *a)
{
    pthread_mutex_lock(&a->lock);
    uint64_t n = a->dropped;
    pthread_mutex_unlock(&a->lock);
    return n;
}
