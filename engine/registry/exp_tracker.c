/* exp_tracker: see exp_tracker.h. */
#include "exp_tracker.h"

#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#define MAX_TRACKED  256
#define DEFAULT_TAU  0.05
#define LAT_LOG_BASE 1.06
#define LOOK_EVERY   256 /* experiment events between two looks at most */

typedef struct unit_rec {
    uint64_t hash; /* 0 = empty slot */
    uint32_t exp, variant;
    double requests, cost, rated, up;
} unit_rec;

typedef struct exp_params {
    char id[SY_EXP_ID_MAX];
    char control[SY_EXP_ID_MAX];
    sy_exp_unit unit;
    double tau;
} exp_params;

struct sy_exp_tracker {
    pthread_mutex_t lock;
    sy_exp_agg *aggs; /* MAX_TRACKED */
    size_t n;
    exp_params params[MAX_TRACKED];
    size_t n_params;
    unsigned since_look; /* experiment events since the last look */
    unit_rec *units;     /* open addressing, power-of-two capacity */
    size_t units_cap, units_used, max_units;
};

sy_exp_tracker *sy_exp_tracker_new(void)
{
    sy_exp_tracker *t = sy_xcalloc(1, sizeof(*t));
    pthread_mutex_init(&t->lock, NULL);
    t->aggs = sy_xcalloc(MAX_TRACKED, sizeof(*t->aggs));
    t->units_cap = 1024;
    t->max_units = SY_EXP_MAX_UNITS;
    t->units = sy_xcalloc(t->units_cap, sizeof(*t->units));
    return t;
}

void sy_exp_tracker_free(sy_exp_tracker *t)
{
    if (!t)
        return;
    pthread_mutex_destroy(&t->lock);
    free(t->aggs);
    free(t->units);
    free(t);
}

void sy_exp_tracker_set_max_units(sy_exp_tracker *t, size_t max_units)
{
    t->max_units = max_units;
}

static const exp_params *params_for(const sy_exp_tracker *t, const char *id)
{
    for (size_t i = 0; i < t->n_params; i++)
        if (strcmp(t->params[i].id, id) == 0)
            return &t->params[i];
    return NULL;
}

void sy_exp_tracker_configure(sy_exp_tracker *t, const char *id, sy_exp_unit unit,
                              const char *control, double tau)
{
    pthread_mutex_lock(&t->lock);
    exp_params *p = (exp_params *)params_for(t, id);
    if (!p && t->n_params < MAX_TRACKED)
        p = &t->params[t->n_params++];
    if (p) {
        snprintf(p->id, sizeof(p->id), "%s", id);
        snprintf(p->control, sizeof(p->control), "%s", control);
        p->unit = unit;
        p->tau = tau > 0 ? tau : DEFAULT_TAU;
    }
    pthread_mutex_unlock(&t->lock);
}

/* The experiment's aggregate and the variant's index, created on first sight. */
static sy_exp_agg *agg_for(sy_exp_tracker *t, const char *id, size_t id_len, const char *variant,
                           size_t v_len, size_t *vi)
{
    sy_exp_agg *a = NULL;
    for (size_t i = 0; i < t->n && !a; i++)
        if (strlen(t->aggs[i].id) == id_len && memcmp(t->aggs[i].id, id, id_len) == 0)
            a = &t->aggs[i];
    if (!a) {
        if (t->n == MAX_TRACKED || id_len >= SY_EXP_ID_MAX)
            return NULL;
        a = &t->aggs[t->n++];
        memcpy(a->id, id, id_len);
    }
    for (size_t i = 0; i < a->n; i++)
        if (strlen(a->v[i].name) == v_len && memcmp(a->v[i].name, variant, v_len) == 0) {
            *vi = i;
            return a;
        }
    if (a->n == SY_EXP_MAX_VARIANTS || v_len >= SY_EXP_ID_MAX)
        return NULL;
    memcpy(a->v[a->n].name, variant, v_len);
    a->v[a->n].always_valid_p = 1;
    *vi = a->n++;
    return a;
}

static void units_grow(sy_exp_tracker *t)
{
    unit_rec *old = t->units;
    size_t old_cap = t->units_cap;
    t->units_cap *= 2;
    t->units = sy_xcalloc(t->units_cap, sizeof(*t->units));
    for (size_t i = 0; i < old_cap; i++) {
        if (!old[i].hash)
            continue;
        size_t j = (size_t)(old[i].hash ^ old[i].exp * 0x9e3779b97f4a7c15ull) & (t->units_cap - 1);
        while (t->units[j].hash)
            j = (j + 1) & (t->units_cap - 1);
        t->units[j] = old[i];
    }
    free(old);
}

/* The unit's record in experiment `exp`; *fresh = 1 when it was just created. NULL when
 * absent and not created: create is 0, or the table holds max_units already. */
static unit_rec *unit_for(sy_exp_tracker *t, uint32_t exp, uint64_t hash, int create, int *fresh)
{
    if (!hash)
        hash = 1;
    *fresh = 0;
    if (t->units_used >= t->max_units)
        create = 0;
    if (create && (t->units_used + 1) * 4 > t->units_cap * 3)
        units_grow(t);
    size_t j = (size_t)(hash ^ exp * 0x9e3779b97f4a7c15ull) & (t->units_cap - 1);
    while (t->units[j].hash) {
        if (t->units[j].hash == hash && t->units[j].exp == exp)
            return &t->units[j];
        j = (j + 1) & (t->units_cap - 1);
    }
    if (!create)
        return NULL;
    t->units[j].hash = hash;
    t->units[j].exp = exp;
    t->units_used++;
    *fresh = 1;
    return &t->units[j];
}

/* Move one unit's (x, y) contribution to the ratio moments from (x0, y0) to (x1, y1). */
static void ratio_move(sy_ratio_moments *m, double x0, double y0, double x1, double y1)
{
    m->sum_x += x1 - x0;
    m->sum_y += y1 - y0;
    m->sum_xx += x1 * x1 - x0 * x0;
    m->sum_yy += y1 * y1 - y0 * y0;
    m->sum_xy += x1 * y1 - x0 * y0;
}

static int lat_bucket(double ms)
{
    if (!(ms > 1))
        return 0;
    int b = (int)(log(ms) / log(LAT_LOG_BASE));
    return b >= SY_EXP_LAT_BUCKETS ? SY_EXP_LAT_BUCKETS - 1 : b;
}

double sy_exp_latency_quantile(const sy_exp_variant_agg *v, double q)
{
    double total = 0, cum = 0;
    for (int i = 0; i < SY_EXP_LAT_BUCKETS; i++)
        total += v->latency_hist[i];
    if (total <= 0)
        return NAN;
    for (int i = 0; i < SY_EXP_LAT_BUCKETS; i++) {
        cum += v->latency_hist[i];
        if (cum >= q * total)
            return pow(LAT_LOG_BASE, i + 1);
    }
    return pow(LAT_LOG_BASE, SY_EXP_LAT_BUCKETS);
}

/* Apply one event to one "id:variant:allocation:unit" entry of a decision record. */
static void apply_entry(sy_exp_tracker *t, const sy_store_obs *o, const char *e, size_t len)
{
    const char *c1 = memchr(e, ':', len);
    const char *c2 = c1 ? memchr(c1 + 1, ':', len - (size_t)(c1 + 1 - e)) : NULL;
    const char *c3 = c2 ? memchr(c2 + 1, ':', len - (size_t)(c2 + 1 - e)) : NULL;
    if (!c3)
        return;
    size_t vi;
    sy_exp_agg *a = agg_for(t, e, (size_t)(c1 - e), c1 + 1, (size_t)(c2 - c1 - 1), &vi);
    if (!a)
        return;
    sy_exp_variant_agg *v = &a->v[vi];
    const exp_params *p = params_for(t, a->id);
    int per_request = p && p->unit == SY_EXP_UNIT_REQUEST;
    long alloc = strtol(c2 + 1, NULL, 10);
    size_t ai = alloc < 1                   ? 0
                : alloc > SY_EXP_MAX_ALLOCS ? SY_EXP_MAX_ALLOCS - 1
                                            : (size_t)alloc - 1;
    char hex[17] = {0};
    size_t hl = (size_t)(e + len - c3 - 1);
    memcpy(hex, c3 + 1, hl < 16 ? hl : 16);
    uint64_t hash = strtoull(hex, NULL, 16);
    const sy_store_request *r = o->req;
    int fresh = 0;
    unit_rec *u =
        per_request ? NULL : unit_for(t, (uint32_t)(a - t->aggs), hash, !o->is_feedback, &fresh);
    if (!per_request && !u && (!o->is_feedback || t->units_used >= t->max_units)) {
        a->untracked += 1; /* beyond the bound: see exp_tracker.h */
        return;
    }
    if (u && fresh) {
        u->variant = (uint32_t)vi;
        v->units += 1;
        a->alloc_units[ai][vi] += 1;
        v->ratings.n += 1;
        v->cost.n += 1;
    }
    if (u) /* intention to treat: a unit counts in the variant it was first seen in, even
              after a new allocation moved it */
        v = &a->v[u->variant];
    if (!o->is_feedback) {
        v->requests += 1;
        v->errors += r->status >= 500 ? 1 : 0;
        v->cost_sum += r->cost_usd;
        v->cost_sq += r->cost_usd * r->cost_usd;
        v->tokens_sum += (double)(r->prompt_tokens + r->completion_tokens);
        v->latency_hist[lat_bucket(r->latency_ms)] += 1;
        if (per_request) {
            v->units += 1;
            a->alloc_units[ai][vi] += 1;
            return;
        }
        ratio_move(&v->cost, u->requests, u->cost, u->requests + 1, u->cost + r->cost_usd);
        u->requests += 1;
        u->cost += r->cost_usd;
        return;
    }
    /* a rating: explicit ones only; a correction replaces the previous explicit value */
    if (o->implicit)
        return;
    int was_rated = o->replaced && !o->previous_implicit;
    double up0 = was_rated && o->previous >= 0.5 ? 1 : 0, up1 = o->value >= 0.5 ? 1 : 0;
    double drated = was_rated ? 0 : 1, dup = up1 - up0;
    v->rated += drated;
    v->up += dup;
    if (u) {
        ratio_move(&v->ratings, u->rated, u->up, u->rated + drated, u->up + dup);
        u->rated += drated;
        u->up += dup;
    }
}

void sy_exp_primary_compare(sy_exp_unit unit, const sy_exp_variant_agg *control,
                            const sy_exp_variant_agg *treatment, double alpha, sy_comparison *out)
{
    if (unit == SY_EXP_UNIT_REQUEST) {
        sy_prop_moments c = {control->up, control->rated}, tr = {treatment->up, treatment->rated};
        sy_stats_two_prop_z(&c, &tr, alpha, out);
    } else {
        sy_stats_ratio_welch(&control->ratings, &treatment->ratings, alpha, out);
    }
}

/* Variance of the primary metric's difference, for the sequential test. */
static double primary_diff_var(sy_exp_unit unit, const sy_exp_variant_agg *c,
                               const sy_exp_variant_agg *tr)
{
    if (unit == SY_EXP_UNIT_REQUEST) {
        if (c->rated < 1 || tr->rated < 1)
            return NAN;
        double pc = c->up / c->rated, pt = tr->up / tr->rated;
        return pc * (1 - pc) / c->rated + pt * (1 - pt) / tr->rated;
    }
    double rc, vc, rt, vt;
    sy_stats_ratio_delta(&c->ratings, &rc, &vc);
    sy_stats_ratio_delta(&tr->ratings, &rt, &vt);
    return vc + vt;
}

/* End of a batch: every treatment's always-valid p takes a look (running minimum). */
static void look(sy_exp_tracker *t)
{
    for (size_t i = 0; i < t->n; i++) {
        sy_exp_agg *a = &t->aggs[i];
        const exp_params *p = params_for(t, a->id);
        if (!p)
            continue; /* not running in this process: no new looks */
        size_t ci = a->n;
        for (size_t k = 0; k < a->n; k++)
            if (strcmp(a->v[k].name, p->control) == 0)
                ci = k;
        if (ci == a->n)
            continue;
        const sy_exp_variant_agg *c = &a->v[ci];
        for (size_t k = 0; k < a->n; k++) {
            sy_exp_variant_agg *tr = &a->v[k];
            if (k == ci || c->rated < 2 || tr->rated < 2)
                continue;
            double var = primary_diff_var(p->unit, c, tr), diff;
            if (p->unit == SY_EXP_UNIT_REQUEST) {
                diff = tr->up / tr->rated - c->up / c->rated;
            } else {
                double rc, rt, vc, vt;
                sy_stats_ratio_delta(&c->ratings, &rc, &vc);
                sy_stats_ratio_delta(&tr->ratings, &rt, &vt);
                diff = rt - rc;
            }
            if (!(var > 0) || !isfinite(diff))
                continue;
            double pv = sy_stats_msprt_p(diff, var, p->tau * p->tau);
            if (pv < tr->always_valid_p)
                tr->always_valid_p = pv;
        }
    }
}

void sy_exp_tracker_observe(sy_exp_tracker *t, const sy_store_obs *o)
{
    if (!o) {
        pthread_mutex_lock(&t->lock);
        look(t);
        t->since_look = 0;
        pthread_mutex_unlock(&t->lock);
        return;
    }
    const char *s = o->req->experiments;
    if (!s[0])
        return;
    pthread_mutex_lock(&t->lock);
    if (++t->since_look >= LOOK_EVERY) { /* the start-up replay is one long "batch" */
        look(t);
        t->since_look = 0;
    }
    while (*s) {
        const char *end = strchr(s, ',');
        size_t len = end ? (size_t)(end - s) : strlen(s);
        apply_entry(t, o, s, len);
        s += len + (end ? 1 : 0);
    }
    pthread_mutex_unlock(&t->lock);
}

int sy_exp_tracker_get(sy_exp_tracker *t, const char *id, sy_exp_agg *out)
{
    int rc = SY_ERR_NOTFOUND;
    pthread_mutex_lock(&t->lock);
    for (size_t i = 0; i < t->n; i++)
        if (strcmp(t->aggs[i].id, id) == 0) {
            *out = t->aggs[i];
            rc = 0;
        }
    pthread_mutex_unlock(&t->lock);
    return rc;
}
