/*
 * sim_scenario: synthetic scenarios (see sim_scenario.h).
 *
 * Events are kept sorted by step; the source applies them as its clock passes them and
 * restores the initial arms when a new seed begins, so every seed replays the same story
 * with fresh randomness.
 */
#include "sim_scenario.h"

#include "featurize.h"
#include "sy_common.h"

#include <cjson/cJSON.h>
#include <gsl/gsl_randist.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_CONTEXTS 64
#define MAX_EVENTS   256

typedef struct sc_arm {
    double quality[MAX_CONTEXTS];
    double price_in, price_out, out_tokens, latency_s, latency_sigma;
    size_t outage_until;
} sc_arm;

typedef enum { EV_PRICE, EV_OUTAGE, EV_QUALITY } ev_kind;

typedef struct sc_event {
    size_t t, arm;
    ev_kind kind;
    double a, b; /* price_in/out; outage steps; quality delta */
    int has_a, has_b;
} sc_event;

struct sy_sim_scenario {
    size_t steps, n_arms, n_ctx, n_ev;
    char *arm_names[SY_POLICY_MAX_ARMS];
    char *ctx_text[MAX_CONTEXTS];
    char *ctx_name[MAX_CONTEXTS];
    double ctx_weight[MAX_CONTEXTS];
    sc_arm init[SY_POLICY_MAX_ARMS], cur[SY_POLICY_MAX_ARMS];
    sc_event ev[MAX_EVENTS];
    /* source state */
    size_t dim, next_ev;
    sy_objective obj;
    double *x;
    double in_tok[MAX_CONTEXTS];
    gsl_rng *rng;
    gsl_ran_discrete_t *pick;
    double q[SY_POLICY_MAX_ARMS], c[SY_POLICY_MAX_ARMS], l[SY_POLICY_MAX_ARMS],
        tok[SY_POLICY_MAX_ARMS], eu[SY_POLICY_MAX_ARMS];
    uint8_t elig[SY_POLICY_MAX_ARMS];
};

static int num(const cJSON *o, const char *key, double lo, double hi, double *out, int required,
               const char *where, char *err, size_t err_len)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    if (!v) {
        if (required)
            snprintf(err, err_len, "%s: missing \"%s\"", where, key);
        return required ? -1 : 0;
    }
    if (!cJSON_IsNumber(v) || !isfinite(v->valuedouble) || v->valuedouble < lo ||
        v->valuedouble > hi) {
        snprintf(err, err_len, "%s.%s: expected a number between %g and %g", where, key, lo, hi);
        return -1;
    }
    *out = v->valuedouble;
    return 1;
}

static long find_name(char *const *names, size_t n, const char *s)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(names[i], s) == 0)
            return (long)i;
    return -1;
}

static int cmp_event(const void *a, const void *b)
{
    const sc_event *x = a, *y = b;
    return (x->t > y->t) - (x->t < y->t);
}

/* $.contexts: 1..MAX_CONTEXTS of {"name", "text", "weight"?}. 0, or -1 with err set. */
static int parse_contexts(sy_sim_scenario *sc, const cJSON *ctxs, char *err, size_t err_len)
{
    char where[256];
    if (!cJSON_IsArray(ctxs) || cJSON_GetArraySize(ctxs) < 1 ||
        cJSON_GetArraySize(ctxs) > MAX_CONTEXTS) {
        snprintf(err, err_len, "$.contexts: expected an array of 1 to %d contexts", MAX_CONTEXTS);
        return -1;
    }
    for (const cJSON *c = ctxs->child; c; c = c->next) {
        size_t i = sc->n_ctx;
        snprintf(where, sizeof(where), "$.contexts[%zu]", i);
        const cJSON *name = cJSON_GetObjectItemCaseSensitive(c, "name");
        const cJSON *t = cJSON_GetObjectItemCaseSensitive(c, "text");
        if (!cJSON_IsString(name) || !cJSON_IsString(t) || !name->valuestring[0]) {
            snprintf(err, err_len, "%s: needs \"name\" and \"text\" strings", where);
            return -1;
        }
        sc->ctx_weight[i] = 1;
        if (num(c, "weight", 0, 1e9, &sc->ctx_weight[i], 0, where, err, err_len) < 0)
            return -1;
        sc->ctx_text[i] = sy_xstrdup(t->valuestring);
        sc->ctx_name[i] = sy_xstrdup(name->valuestring);
        sc->n_ctx++;
    }
    return 0;
}

/* One arm's "quality" object {context name: quality in [0,1]} into A->quality. */
static int parse_arm_quality(const sy_sim_scenario *sc, const cJSON *q, const char *where,
                             sc_arm *A, char *err, size_t err_len)
{
    if (q && !cJSON_IsObject(q)) {
        snprintf(err, err_len, "%s.quality: expected an object {context name: quality}", where);
        return -1;
    }
    for (const cJSON *m = q ? q->child : NULL; m; m = m->next) {
        long ci = find_name(sc->ctx_name, sc->n_ctx, m->string);
        if (ci < 0 || !cJSON_IsNumber(m) || m->valuedouble < 0 || m->valuedouble > 1) {
            snprintf(err, err_len, "%s.quality.%s: %s", where, m->string,
                     ci < 0 ? "not a context name" : "expected a number in [0,1]");
            return -1;
        }
        A->quality[ci] = m->valuedouble;
    }
    return 0;
}

/* $.arms: 1..SY_POLICY_MAX_ARMS arms with unique names, prices, latency and quality. */
static int parse_arms(sy_sim_scenario *sc, const cJSON *arms, char *err, size_t err_len)
{
    char where[256];
    if (!cJSON_IsArray(arms) || cJSON_GetArraySize(arms) < 1 ||
        cJSON_GetArraySize(arms) > SY_POLICY_MAX_ARMS) {
        snprintf(err, err_len, "$.arms: expected an array of 1 to %d arms", SY_POLICY_MAX_ARMS);
        return -1;
    }
    for (const cJSON *a = arms->child; a; a = a->next) {
        size_t k = sc->n_arms;
        snprintf(where, sizeof(where), "$.arms[%zu]", k);
        const cJSON *name = cJSON_GetObjectItemCaseSensitive(a, "name");
        if (!cJSON_IsString(name) || !name->valuestring[0] ||
            find_name(sc->arm_names, k, name->valuestring) >= 0) {
            snprintf(err, err_len, "%s.name: expected a unique, non-empty string", where);
            return -1;
        }
        sc_arm *A = &sc->init[k];
        double dq = 0.5, lat_ms = 1000;
        A->out_tokens = 256;
        A->latency_sigma = 0.3;
        if (num(a, "default_quality", 0, 1, &dq, 0, where, err, err_len) < 0 ||
            num(a, "price_in", 0, 1e6, &A->price_in, 0, where, err, err_len) < 0 ||
            num(a, "price_out", 0, 1e6, &A->price_out, 0, where, err, err_len) < 0 ||
            num(a, "output_tokens", 0, 1e7, &A->out_tokens, 0, where, err, err_len) < 0 ||
            num(a, "latency_ms", 1, 1e8, &lat_ms, 0, where, err, err_len) < 0 ||
            num(a, "latency_sigma", 0, 5, &A->latency_sigma, 0, where, err, err_len) < 0)
            return -1;
        A->latency_s = lat_ms / 1000;
        for (size_t i = 0; i < sc->n_ctx; i++)
            A->quality[i] = dq;
        if (parse_arm_quality(sc, cJSON_GetObjectItemCaseSensitive(a, "quality"), where, A, err,
                              err_len) != 0)
            return -1;
        sc->arm_names[k] = sy_xstrdup(name->valuestring);
        sc->n_arms++;
    }
    return 0;
}

/* One of $.events: at step t, a price change, an outage or a quality change of an arm. */
static int parse_event(sy_sim_scenario *sc, const cJSON *e, double steps, char *err, size_t err_len)
{
    char where[256];
    snprintf(where, sizeof(where), "$.events[%zu]", sc->n_ev);
    if (sc->n_ev == MAX_EVENTS) {
        snprintf(err, err_len, "$.events: at most %d events", MAX_EVENTS);
        return -1;
    }
    sc_event *E = &sc->ev[sc->n_ev];
    double t = 0;
    const cJSON *arm = cJSON_GetObjectItemCaseSensitive(e, "arm");
    if (num(e, "t", 0, steps, &t, 1, where, err, err_len) < 0)
        return -1;
    long k = cJSON_IsString(arm) ? find_name(sc->arm_names, sc->n_arms, arm->valuestring) : -1;
    if (k < 0) {
        snprintf(err, err_len, "%s.arm: expected the name of an arm", where);
        return -1;
    }
    E->t = (size_t)t;
    E->arm = (size_t)k;
    int pi = num(e, "price_in", 0, 1e6, &E->a, 0, where, err, err_len);
    int po = num(e, "price_out", 0, 1e6, &E->b, 0, where, err, err_len);
    double d = 0;
    int ou = num(e, "outage_steps", 1, 1e8, &d, 0, where, err, err_len);
    double dq = 0;
    int qd = num(e, "quality_delta", -1, 1, &dq, 0, where, err, err_len);
    if (pi < 0 || po < 0 || ou < 0 || qd < 0)
        return -1;
    if ((pi > 0 || po > 0) + (ou > 0) + (qd > 0) != 1) {
        snprintf(err, err_len,
                 "%s: give exactly one change: price_in/price_out, outage_steps or "
                 "quality_delta",
                 where);
        return -1;
    }
    if (pi > 0 || po > 0) {
        E->kind = EV_PRICE;
        E->has_a = pi > 0;
        E->has_b = po > 0;
    } else if (ou > 0) {
        E->kind = EV_OUTAGE;
        E->a = d;
    } else {
        E->kind = EV_QUALITY;
        E->a = dq;
    }
    sc->n_ev++;
    return 0;
}

sy_sim_scenario *sy_sim_scenario_parse(const char *text, size_t len, char *err, size_t err_len)
{
    cJSON *root = cJSON_ParseWithLength(text, len);
    sy_sim_scenario *sc = sy_xcalloc(1, sizeof(*sc));
    double steps = 0;
    if (!cJSON_IsObject(root)) {
        snprintf(err, err_len, "$: the scenario is not a JSON object");
        goto fail;
    }
    if (num(root, "steps", 1, 1e8, &steps, 1, "$", err, err_len) < 0)
        goto fail;
    sc->steps = (size_t)steps;
    if (parse_contexts(sc, cJSON_GetObjectItemCaseSensitive(root, "contexts"), err, err_len) ||
        parse_arms(sc, cJSON_GetObjectItemCaseSensitive(root, "arms"), err, err_len))
        goto fail;
    const cJSON *evs = cJSON_GetObjectItemCaseSensitive(root, "events");
    if (evs && !cJSON_IsArray(evs)) {
        snprintf(err, err_len, "$.events: expected an array");
        goto fail;
    }
    for (const cJSON *e = evs ? evs->child : NULL; e; e = e->next)
        if (parse_event(sc, e, steps, err, err_len) != 0)
            goto fail;
    qsort(sc->ev, sc->n_ev, sizeof(sc_event), cmp_event);
    cJSON_Delete(root);
    memcpy(sc->cur, sc->init, sizeof(sc->init));
    return sc;
fail:
    if (!root && err_len)
        snprintf(err, err_len, "the scenario is not valid JSON");
    cJSON_Delete(root);
    sy_sim_scenario_free(sc);
    return NULL;
}

void sy_sim_scenario_free(sy_sim_scenario *sc)
{
    if (!sc)
        return;
    for (size_t k = 0; k < sc->n_arms; k++)
        free(sc->arm_names[k]);
    for (size_t i = 0; i < sc->n_ctx; i++) {
        free(sc->ctx_text[i]);
        free(sc->ctx_name[i]);
    }
    free(sc->x);
    if (sc->rng)
        gsl_rng_free(sc->rng);
    if (sc->pick)
        gsl_ran_discrete_free(sc->pick);
    free(sc);
}

size_t sy_sim_scenario_n_arms(const sy_sim_scenario *sc)
{
    return sc->n_arms;
}

char *const *sy_sim_scenario_arm_names(const sy_sim_scenario *sc)
{
    return sc->arm_names;
}

long sy_sim_scenario_first_event(const sy_sim_scenario *sc)
{
    return sc->n_ev ? (long)sc->ev[0].t : -1;
}

/* Apply every event at or before step t not applied yet. */
static void advance(sy_sim_scenario *sc, size_t t)
{
    while (sc->next_ev < sc->n_ev && sc->ev[sc->next_ev].t <= t) {
        const sc_event *E = &sc->ev[sc->next_ev++];
        sc_arm *A = &sc->cur[E->arm];
        if (E->kind == EV_PRICE) {
            if (E->has_a)
                A->price_in = E->a;
            if (E->has_b)
                A->price_out = E->b;
        } else if (E->kind == EV_OUTAGE) {
            A->outage_until = E->t + (size_t)E->a;
        } else {
            for (size_t i = 0; i < sc->n_ctx; i++) {
                double q = A->quality[i] + E->a;
                A->quality[i] = q < 0 ? 0 : q > 1 ? 1 : q;
            }
        }
    }
}

static void reset(sy_sim_scenario *sc)
{
    memcpy(sc->cur, sc->init, sizeof(sc->init));
    sc->next_ev = 0;
}

static double expected_cost(const sc_arm *A, double in_tok)
{
    return (A->price_in * in_tok + A->price_out * A->out_tokens) * 1e-6;
}

static double mean_latency(const sc_arm *A)
{
    return A->latency_s * exp(A->latency_sigma * A->latency_sigma / 2);
}

/* Expected utility of arm A in context ci; the relative terms' scales are the geometric
 * means of the arms' expected cost and latency (cs, ls). */
static double arm_eu(const sy_sim_scenario *sc, const sc_arm *A, size_t ci, double cs, double ls)
{
    return sy_objective_utility(&sc->obj, A->quality[ci], expected_cost(A, sc->in_tok[ci]),
                                mean_latency(A), cs, ls);
}

static void sc_begin(void *ctx, unsigned long seed)
{
    sy_sim_scenario *sc = ctx;
    reset(sc);
    gsl_rng_set(sc->rng, seed);
}

static void sc_row(void *ctx, size_t t, sy_sim_row *row)
{
    sy_sim_scenario *sc = ctx;
    advance(sc, t);
    size_t ci = gsl_ran_discrete(sc->rng, sc->pick);
    for (size_t k = 0; k < sc->n_arms; k++) {
        const sc_arm *A = &sc->cur[k];
        sc->q[k] = gsl_rng_uniform(sc->rng) < A->quality[ci] ? 1.0 : 0.0;
        sc->c[k] = expected_cost(A, sc->in_tok[ci]);
        sc->l[k] = A->latency_s * exp(A->latency_sigma * gsl_ran_ugaussian(sc->rng));
        sc->tok[k] = A->out_tokens;
        sc->elig[k] = t >= A->outage_until;
    }
    double ml[SY_POLICY_MAX_ARMS];
    for (size_t k = 0; k < sc->n_arms; k++)
        ml[k] = mean_latency(&sc->cur[k]);
    double cs = sy_geomean_positive(sc->c, NULL, sc->n_arms);
    double ls = sy_geomean_positive(ml, NULL, sc->n_arms);
    for (size_t k = 0; k < sc->n_arms; k++)
        sc->eu[k] = arm_eu(sc, &sc->cur[k], ci, cs, ls);
    int any = 0;
    for (size_t k = 0; k < sc->n_arms; k++)
        any |= sc->elig[k];
    if (!any) /* everything down: the request is not counted against anyone */
        memset(sc->elig, 1, sc->n_arms);
    row->x = sc->x + ci * sc->dim;
    row->input_tokens = sc->in_tok[ci];
    row->quality = sc->q;
    row->cost = sc->c;
    row->latency = sc->l;
    row->tokens = sc->tok;
    row->eu = sc->eu;
    row->eligible = sc->elig;
    row->task = (long)ci;
    row->id = t;
}

int sy_sim_scenario_source(sy_sim_scenario *sc, size_t dim, const sy_objective *obj,
                           sy_sim_source *src)
{
    sc->dim = dim;
    sc->obj = *obj;
    free(sc->x);
    sc->x = sy_xmalloc(sc->n_ctx * dim * sizeof(double));
    for (size_t i = 0; i < sc->n_ctx; i++) {
        size_t len = strlen(sc->ctx_text[i]);
        sy_feature_input fi = {.user_text = sc->ctx_text[i], .user_len = len, .prompt_bytes = len};
        if (sy_featurize(&fi, sc->x + i * dim, dim) != SY_OK)
            return SY_ERR_INVALID;
        sc->in_tok[i] = sy_sim_estimate_tokens(len);
    }
    if (!sc->rng)
        sc->rng = gsl_rng_alloc(gsl_rng_mt19937);
    if (sc->pick)
        gsl_ran_discrete_free(sc->pick);
    double wsum = 0;
    for (size_t i = 0; i < sc->n_ctx; i++)
        wsum += sc->ctx_weight[i];
    if (!(wsum > 0))
        return SY_ERR_INVALID;
    sc->pick = gsl_ran_discrete_preproc(sc->n_ctx, sc->ctx_weight);
    *src = (sy_sim_source){.n_arms = sc->n_arms,
                           .dim = dim,
                           .steps = sc->steps,
                           .n_tasks = sc->n_ctx,
                           .task_names = sc->ctx_name,
                           .ctx = sc,
                           .begin = sc_begin,
                           .row = sc_row};
    return SY_OK;
}

double sy_sim_scenario_mean_eu(sy_sim_scenario *sc, size_t t, size_t k)
{
    reset(sc);
    advance(sc, t);
    double w = 0, s = 0;
    for (size_t i = 0; i < sc->n_ctx; i++) {
        double c[SY_POLICY_MAX_ARMS], l[SY_POLICY_MAX_ARMS];
        for (size_t j = 0; j < sc->n_arms; j++) {
            c[j] = expected_cost(&sc->cur[j], sc->in_tok[i]);
            l[j] = mean_latency(&sc->cur[j]);
        }
        double cs = sy_geomean_positive(c, NULL, sc->n_arms);
        double ls = sy_geomean_positive(l, NULL, sc->n_arms);
        s += sc->ctx_weight[i] * arm_eu(sc, &sc->cur[k], i, cs, ls);
        w += sc->ctx_weight[i];
    }
    return s / w;
}

int sy_sim_scenario_in_outage(sy_sim_scenario *sc, size_t t, size_t k)
{
    reset(sc);
    advance(sc, t);
    return t < sc->cur[k].outage_until;
}
