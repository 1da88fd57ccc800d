/* metrics: see metrics.h. */
#include "metrics.h"

#include "name_slots.h"

#include <math.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Latency and time-to-first-token buckets, seconds (upper bounds; +Inf implied). */
static const double buckets[] = {0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5,
                                 1,     2.5,  5,     10,   30,  60,   120};
#define N_BUCKETS (sizeof(buckets) / sizeof(buckets[0]))

enum { ST_2XX, ST_4XX, ST_499, ST_5XX, ST_N };
static const char *const status_label[ST_N] = {"2xx", "4xx", "499", "5xx"};

typedef struct series {
    _Atomic(char *) key; /* "route\0model\0", claimed once, never freed */
    _Atomic uint64_t requests[ST_N];
    _Atomic uint64_t lat_buckets[N_BUCKETS + 1], ttft_buckets[N_BUCKETS + 1];
    _Atomic uint64_t lat_sum_us, ttft_sum_us, ttft_count;
    _Atomic uint64_t prompt_tokens, completion_tokens, cached_tokens;
    _Atomic uint64_t cost_nano_usd;
    _Atomic uint64_t ratings, rating_sum_micro;
} series;

static series table[SY_METRICS_MAX_SERIES];
static _Atomic uint64_t dropped;

/* The slot of (route, model) in `slots` (n slots of `stride` bytes), keyed
 * "route\0model"; claimed on first use when `create`; NULL when absent or full. */
static void *pair_slot(void *slots, size_t n, size_t stride, const char *route, const char *model,
                       int create)
{
    char key[512];
    size_t rl = strlen(route), ml = strlen(model);
    if (rl + 1 + ml > sizeof(key))
        return NULL;
    memcpy(key, route, rl);
    key[rl] = '\0';
    memcpy(key + rl + 1, model, ml);
    size_t i = sy_name_slot(slots, n, stride, key, rl + 1 + ml, create);
    return i < n ? (char *)slots + i * stride : NULL;
}

static series *find(const char *route, const char *model, int create)
{
    return pair_slot(table, SY_METRICS_MAX_SERIES, sizeof(series), route, model, create);
}

static void add(_Atomic uint64_t *c, uint64_t v)
{
    atomic_fetch_add_explicit(c, v, memory_order_relaxed);
}

static void observe_hist(_Atomic uint64_t *b, double v)
{
    size_t i = 0;
    while (i < N_BUCKETS && v > buckets[i])
        i++;
    add(&b[i], 1); /* non-cumulative here; rendering accumulates */
}

void sy_metrics_observe(const sy_metrics_obs *o)
{
    series *s = find(o->route, o->model, 1);
    if (!s) {
        add(&dropped, 1);
        return;
    }
    int st = o->status == 499   ? ST_499
             : o->status >= 500 ? ST_5XX
             : o->status >= 400 ? ST_4XX
                                : ST_2XX;
    add(&s->requests[st], 1);
    observe_hist(s->lat_buckets, o->latency_s);
    add(&s->lat_sum_us, (uint64_t)llround(o->latency_s * 1e6));
    if (o->ttft_s >= 0) {
        observe_hist(s->ttft_buckets, o->ttft_s);
        add(&s->ttft_sum_us, (uint64_t)llround(o->ttft_s * 1e6));
        add(&s->ttft_count, 1);
    }
    add(&s->prompt_tokens, (uint64_t)(o->prompt_tokens > 0 ? o->prompt_tokens : 0));
    add(&s->completion_tokens, (uint64_t)(o->completion_tokens > 0 ? o->completion_tokens : 0));
    add(&s->cached_tokens, (uint64_t)(o->cached_tokens > 0 ? o->cached_tokens : 0));
    add(&s->cost_nano_usd, (uint64_t)llround(o->cost_usd * 1e9));
}

void sy_metrics_feedback(const char *route, const char *model, double value)
{
    series *s = find(route, model, 1);
    if (!s) {
        add(&dropped, 1);
        return;
    }
    add(&s->ratings, 1);
    add(&s->rating_sum_micro, (uint64_t)llround(value * 1e6));
}

uint64_t sy_metrics_requests(const char *route, const char *model)
{
    series *s = find(route, model, 0);
    uint64_t n = 0;
    for (int i = 0; s && i < ST_N; i++)
        n += atomic_load_explicit(&s->requests[i], memory_order_relaxed);
    return n;
}

static uint64_t get(_Atomic uint64_t *c)
{
    return atomic_load_explicit(c, memory_order_relaxed);
}

void sy_metrics_label(sy_buf *b, const char *name, const char *v, int first)
{
    sy_buf_printf(b, "%s%s=\"", first ? "" : ",", name);
    for (const char *p = v; *p; p++) {
        if (*p == '\\' || *p == '"')
            sy_buf_printf(b, "\\%c", *p);
        else if (*p == '\n')
            sy_buf_puts(b, "\\n");
        else
            sy_buf_append(b, p, 1);
    }
    sy_buf_puts(b, "\"");
}

static void labels(sy_buf *b, const char *route, const char *model)
{
    sy_metrics_label(b, "route", route, 1);
    sy_metrics_label(b, "model", model, 0);
}

static void histogram(sy_buf *b, const char *name, const char *route, const char *model,
                      _Atomic uint64_t *bk, uint64_t sum_us, uint64_t count)
{
    uint64_t cum = 0;
    for (size_t i = 0; i <= N_BUCKETS; i++) {
        cum += get(&bk[i]);
        sy_buf_printf(b, "%s_bucket{", name);
        labels(b, route, model);
        if (i < N_BUCKETS)
            sy_buf_printf(b, ",le=\"%g\"} %llu\n", buckets[i], (unsigned long long)cum);
        else
            sy_buf_printf(b, ",le=\"+Inf\"} %llu\n", (unsigned long long)cum);
    }
    sy_buf_printf(b, "%s_sum{", name);
    labels(b, route, model);
    sy_buf_printf(b, "} %.6f\n%s_count{", (double)sum_us / 1e6, name);
    labels(b, route, model);
    sy_buf_printf(b, "} %llu\n", (unsigned long long)count);
}

typedef void (*series_fn)(sy_buf *b, series *s, const char *route, const char *model);

static void each(sy_buf *b, series_fn fn)
{
    for (size_t i = 0; i < SY_METRICS_MAX_SERIES; i++) {
        char *k = atomic_load_explicit(&table[i].key, memory_order_acquire);
        if (k)
            fn(b, &table[i], k, k + strlen(k) + 1);
    }
}

static void r_requests(sy_buf *b, series *s, const char *route, const char *model)
{
    for (int i = 0; i < ST_N; i++) {
        sy_buf_puts(b, "switchyard_requests_total{");
        labels(b, route, model);
        sy_metrics_label(b, "status", status_label[i], 0);
        sy_buf_printf(b, "} %llu\n", (unsigned long long)get(&s->requests[i]));
    }
}

static void r_latency(sy_buf *b, series *s, const char *route, const char *model)
{
    uint64_t n = 0;
    for (size_t i = 0; i <= N_BUCKETS; i++)
        n += get(&s->lat_buckets[i]);
    histogram(b, "switchyard_request_duration_seconds", route, model, s->lat_buckets,
              get(&s->lat_sum_us), n);
}

static void r_ttft(sy_buf *b, series *s, const char *route, const char *model)
{
    histogram(b, "switchyard_time_to_first_byte_seconds", route, model, s->ttft_buckets,
              get(&s->ttft_sum_us), get(&s->ttft_count));
}

static void r_tokens(sy_buf *b, series *s, const char *route, const char *model)
{
    const char *kinds[] = {"prompt", "completion", "cached"};
    _Atomic uint64_t *v[] = {&s->prompt_tokens, &s->completion_tokens, &s->cached_tokens};
    for (int i = 0; i < 3; i++) {
        sy_buf_puts(b, "switchyard_tokens_total{");
        labels(b, route, model);
        sy_metrics_label(b, "kind", kinds[i], 0);
        sy_buf_printf(b, "} %llu\n", (unsigned long long)get(v[i]));
    }
}

static void r_cost(sy_buf *b, series *s, const char *route, const char *model)
{
    sy_buf_puts(b, "switchyard_cost_usd_total{");
    labels(b, route, model);
    sy_buf_printf(b, "} %.9f\n", (double)get(&s->cost_nano_usd) / 1e9);
}

static void r_ratings(sy_buf *b, series *s, const char *route, const char *model)
{
    sy_buf_puts(b, "switchyard_feedback_total{");
    labels(b, route, model);
    sy_buf_printf(b, "} %llu\n", (unsigned long long)get(&s->ratings));
}

static void r_rating_values(sy_buf *b, series *s, const char *route, const char *model)
{
    sy_buf_puts(b, "switchyard_feedback_value_total{");
    labels(b, route, model);
    sy_buf_printf(b, "} %.6f\n", (double)get(&s->rating_sum_micro) / 1e6);
}

/* Escalation rule firings per (route, rule): a small table of its own. */
typedef struct rule_series {
    _Atomic(char *) key; /* "route\0rule\0" */
    _Atomic uint64_t fired;
} rule_series;
static rule_series rules[256];

void sy_metrics_rule_fired(const char *route, const char *rule)
{
    rule_series *r = pair_slot(rules, 256, sizeof(rule_series), route, rule, 1);
    add(r ? &r->fired : &dropped, 1);
}

void sy_metrics_render(sy_buf *out)
{
    static const struct {
        const char *head;
        series_fn fn;
    } families[] = {
        {"# HELP switchyard_requests_total Chat requests by route, model and status class.\n"
         "# TYPE switchyard_requests_total counter\n",
         r_requests},
        {"# HELP switchyard_request_duration_seconds Request latency, first byte in to last "
         "byte out.\n# TYPE switchyard_request_duration_seconds histogram\n",
         r_latency},
        {"# HELP switchyard_time_to_first_byte_seconds Time to the upstream's first response "
         "byte.\n# TYPE switchyard_time_to_first_byte_seconds histogram\n",
         r_ttft},
        {"# HELP switchyard_tokens_total Tokens billed, by kind.\n"
         "# TYPE switchyard_tokens_total counter\n",
         r_tokens},
        {"# HELP switchyard_cost_usd_total Cost billed in USD.\n"
         "# TYPE switchyard_cost_usd_total counter\n",
         r_cost},
        {"# HELP switchyard_feedback_total Ratings stored (re-ratings included).\n"
         "# TYPE switchyard_feedback_total counter\n",
         r_ratings},
        {"# HELP switchyard_feedback_value_total Sum of the stored ratings' values in [0,1].\n"
         "# TYPE switchyard_feedback_value_total counter\n",
         r_rating_values},
    };
    for (size_t i = 0; i < sizeof(families) / sizeof(families[0]); i++) {
        sy_buf_puts(out, families[i].head);
        each(out, families[i].fn);
    }
    sy_buf_puts(out, "# HELP switchyard_escalations_total Escalation rules that fired.\n"
                     "# TYPE switchyard_escalations_total counter\n");
    for (size_t i = 0; i < 256; i++) {
        char *k = atomic_load_explicit(&rules[i].key, memory_order_acquire);
        if (!k)
            continue;
        sy_buf_puts(out, "switchyard_escalations_total{");
        sy_metrics_label(out, "route", k, 1);
        sy_metrics_label(out, "rule", k + strlen(k) + 1, 0);
        sy_buf_printf(out, "} %llu\n", (unsigned long long)get(&rules[i].fired));
    }
    sy_buf_printf(out,
                  "# HELP switchyard_metrics_dropped_total Observations without a series slot.\n"
                  "# TYPE switchyard_metrics_dropped_total counter\n"
                  "switchyard_metrics_dropped_total %llu\n",
                  (unsigned long long)get(&dropped));
}
