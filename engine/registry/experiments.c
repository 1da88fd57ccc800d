/* experiments: see experiments.h.
 *
 * Stored document of one experiment (key: its id):
 *   {"id", "definition": {...}, "status": "draft"|"running"|"stopped", "source": "api"|"config",
 *    "allocation_version": n, "allocation_history": [{"version", "traffic", "weights", "ts_ms"}],
 *    "layer_range": [start, end] (while running), "created_ms", "started_ms", "stopped_ms"}
 */
#include "experiments.h"
#include "registry_names.h"

#include "assign.h"
#include "prompt_template.h"

#include <math.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define DEFAULT_UNIT_HEADER "x-switchyard-user"
#define MAX_EXPERIMENTS     256

struct sy_exp_registry {
    sy_store *store;
    pthread_mutex_t lock; /* guards docs; held across a commit only by admin writers */
    cJSON *docs;          /* array in creation order */
};

/* ---- definitions ------------------------------------------------------------------ */

static int valid_id(const char *s)
{
    return sy_registry_valid_name(s, SY_EXP_ID_MAX - 1);
}

static void set_reply_error(sy_exp_reply *out, int status, const char *param, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static void set_reply_error(sy_exp_reply *out, int status, const char *param, const char *fmt, ...)
{
    out->status = status;
    snprintf(out->param, sizeof(out->param), "%s", param ? param : "");
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(out->message, sizeof(out->message), fmt, ap);
    va_end(ap);
}

static const char *str_or(const cJSON *obj, const char *key, const char *dflt)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
    return cJSON_IsString(v) ? v->valuestring : dflt;
}

static double num_or(const cJSON *obj, const char *key, double dflt)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
    return cJSON_IsNumber(v) ? v->valuedouble : dflt;
}

static int in_strings(const char *s, const char *const *list, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(s, list[i]) == 0)
            return 1;
    return 0;
}

/* Check a variant's prompt reference {"id", "version" | "label"}. */
static int check_prompt_ref(const cJSON *p, char *param, size_t plen, const char **why)
{
    const cJSON *id = cJSON_GetObjectItemCaseSensitive(p, "id");
    const cJSON *ver = cJSON_GetObjectItemCaseSensitive(p, "version");
    const cJSON *lab = cJSON_GetObjectItemCaseSensitive(p, "label");
    if (!cJSON_IsObject(p) || !cJSON_IsString(id) || !valid_id(id->valuestring) || (ver && lab) ||
        (ver && (!cJSON_IsNumber(ver) || ver->valuedouble < 1 ||
                 ver->valuedouble != floor(ver->valuedouble))) ||
        (lab && (!cJSON_IsString(lab) || !valid_id(lab->valuestring)))) {
        snprintf(param + strlen(param), plen - strlen(param), ".prompt");
        *why = "prompt must be {\"id\", and \"version\" (integer >= 1) or \"label\"}";
        return -1;
    }
    return 0;
}

/*
 * Check a definition's shape (routes and models are checked by the merge). Returns 0, or
 * -1 with the offending field in param and a static message in *why.
 */
static int def_check(const cJSON *def, char *param, size_t plen, const char **why)
{
    static const char *const keys[] = {
        "id",       "route", "unit",        "unit_header", "traffic",   "layer", "salt",
        "variants", "alpha", "min_samples", "guardrails",  "msprt_tau", "status"};
    static const char *const vkeys[] = {"name",   "weight", "model",  "candidates",
                                        "policy", "params", "prompt", "parameters"};
    static const char *const units[] = {"user", "conversation", "request"};
    static const char *const gkeys[] = {"cost_per_request_max_increase", "p95_latency_max_increase",
                                        "error_rate_max_increase"};
    param[0] = '\0';
    if (!cJSON_IsObject(def)) {
        *why = "an experiment definition must be a JSON object";
        return -1;
    }
    for (const cJSON *m = def->child; m; m = m->next)
        if (!in_strings(m->string, keys, SY_ARRAY_LEN(keys))) {
            snprintf(param, plen, "%.100s", m->string);
            *why = "unknown field (see docs/experiments.md for the definition's fields)";
            return -1;
        }
#define FAIL(field, msg)                                                                           \
    do {                                                                                           \
        snprintf(param, plen, "%s", field);                                                        \
        *why = msg;                                                                                \
        return -1;                                                                                 \
    } while (0)
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(def, "id");
    if (!cJSON_IsString(v) || !valid_id(v->valuestring))
        FAIL("id", "id must be 1-63 letters, digits, '_', '-' or '.'");
    v = cJSON_GetObjectItemCaseSensitive(def, "route");
    if (!cJSON_IsString(v) || !v->valuestring[0])
        FAIL("route", "route must name a route of the configuration");
    v = cJSON_GetObjectItemCaseSensitive(def, "unit");
    if (v && (!cJSON_IsString(v) || !in_strings(v->valuestring, units, 3)))
        FAIL("unit", "unit must be user, conversation or request");
    v = cJSON_GetObjectItemCaseSensitive(def, "unit_header");
    if (v && (!cJSON_IsString(v) || !v->valuestring[0] || strlen(v->valuestring) >= 64 ||
              strpbrk(v->valuestring, " :\t\r\n")))
        FAIL("unit_header", "unit_header must be a header name");
    v = cJSON_GetObjectItemCaseSensitive(def, "traffic");
    if (v && (!cJSON_IsNumber(v) || !(v->valuedouble > 0 && v->valuedouble <= 1)))
        FAIL("traffic", "traffic is the experiment's share of the route, in (0, 1]");
    for (int i = 0; i < 2; i++) {
        const char *k = i ? "salt" : "layer";
        v = cJSON_GetObjectItemCaseSensitive(def, k);
        if (v && (!cJSON_IsString(v) || !valid_id(v->valuestring)))
            FAIL(k, "layer and salt are 1-63 letters, digits, '_', '-' or '.'");
    }
    v = cJSON_GetObjectItemCaseSensitive(def, "alpha");
    if (v && (!cJSON_IsNumber(v) || !(v->valuedouble > 0 && v->valuedouble < 0.5)))
        FAIL("alpha", "alpha must be in (0, 0.5)");
    v = cJSON_GetObjectItemCaseSensitive(def, "min_samples");
    if (v && (!cJSON_IsNumber(v) || v->valuedouble < 1 || v->valuedouble > 1e9))
        FAIL("min_samples", "min_samples must be a number >= 1");
    v = cJSON_GetObjectItemCaseSensitive(def, "msprt_tau");
    if (v && (!cJSON_IsNumber(v) || !(v->valuedouble > 0 && v->valuedouble <= 1)))
        FAIL("msprt_tau", "msprt_tau must be in (0, 1]");
    v = cJSON_GetObjectItemCaseSensitive(def, "status");
    if (v && (!cJSON_IsString(v) ||
              (strcmp(v->valuestring, "draft") != 0 && strcmp(v->valuestring, "running") != 0 &&
               strcmp(v->valuestring, "stopped") != 0)))
        FAIL("status", "status must be draft, running or stopped");
    v = cJSON_GetObjectItemCaseSensitive(def, "guardrails");
    if (v) {
        if (!cJSON_IsObject(v))
            FAIL("guardrails", "guardrails must be an object");
        for (const cJSON *g = v->child; g; g = g->next) {
            snprintf(param, plen, "guardrails.%.64s", g->string);
            if (!in_strings(g->string, gkeys, 3)) {
                *why = "unknown guardrail (cost_per_request_max_increase, "
                       "p95_latency_max_increase, error_rate_max_increase)";
                return -1;
            }
            if (!cJSON_IsNumber(g) || !(g->valuedouble > 0 && g->valuedouble <= 100)) {
                *why = "a guardrail is a positive number (at most 100)";
                return -1;
            }
        }
    }
    const cJSON *vars = cJSON_GetObjectItemCaseSensitive(def, "variants");
    int nv = cJSON_GetArraySize(vars);
    if (!cJSON_IsArray(vars) || nv < 2 || nv > SY_EXP_MAX_VARIANTS)
        FAIL("variants", "variants must be an array of 2 to 8 variants (the first is the control)");
    double total = 0;
    int i = 0;
    for (const cJSON *var = vars->child; var; var = var->next, i++) {
        snprintf(param, plen, "variants[%d]", i);
        if (!cJSON_IsObject(var)) {
            *why = "a variant must be an object";
            return -1;
        }
        for (const cJSON *m = var->child; m; m = m->next)
            if (!in_strings(m->string, vkeys, SY_ARRAY_LEN(vkeys))) {
                snprintf(param, plen, "variants[%d].%.64s", i, m->string);
                *why = "unknown variant field (name, weight, model, candidates, policy, params, "
                       "prompt, parameters)";
                return -1;
            }
        const cJSON *name = cJSON_GetObjectItemCaseSensitive(var, "name");
        if (!cJSON_IsString(name) || !valid_id(name->valuestring)) {
            snprintf(param, plen, "variants[%d].name", i);
            *why = "a variant needs a name of 1-63 letters, digits, '_', '-' or '.'";
            return -1;
        }
        for (const cJSON *o = vars->child; o != var; o = o->next)
            if (strcmp(str_or(o, "name", ""), name->valuestring) == 0) {
                snprintf(param, plen, "variants[%d].name", i);
                *why = "variant names must be unique";
                return -1;
            }
        const cJSON *w = cJSON_GetObjectItemCaseSensitive(var, "weight");
        if (w && (!cJSON_IsNumber(w) || !(w->valuedouble >= 0 && w->valuedouble <= 1e6))) {
            snprintf(param, plen, "variants[%d].weight", i);
            *why = "weight must be a number in [0, 1e6]";
            return -1;
        }
        total += w ? w->valuedouble : 1;
        const cJSON *model = cJSON_GetObjectItemCaseSensitive(var, "model");
        const cJSON *cands = cJSON_GetObjectItemCaseSensitive(var, "candidates");
        if ((model && !cJSON_IsString(model)) || (model && cands)) {
            snprintf(param, plen, "variants[%d].model", i);
            *why = "model is a model name, and excludes candidates";
            return -1;
        }
        if (model && (cJSON_GetObjectItemCaseSensitive(var, "policy") ||
                      cJSON_GetObjectItemCaseSensitive(var, "params"))) {
            snprintf(param, plen, "variants[%d].model", i);
            *why = "a variant with a fixed model takes no policy or params";
            return -1;
        }
        const cJSON *prompt = cJSON_GetObjectItemCaseSensitive(var, "prompt");
        if (prompt && check_prompt_ref(prompt, param, plen, why) != 0)
            return -1;
        const cJSON *params = cJSON_GetObjectItemCaseSensitive(var, "parameters");
        if (params) {
            if (!cJSON_IsObject(params)) {
                snprintf(param, plen, "variants[%d].parameters", i);
                *why = "parameters must be an object";
                return -1;
            }
            for (const cJSON *p = params->child; p; p = p->next)
                if (!sy_prompt_parameter_allowed(p->string)) {
                    snprintf(param, plen, "variants[%d].parameters.%.64s", i, p->string);
                    *why = "only generation parameters (temperature, top_p, max_tokens, stop, "
                           "…) may be set by a variant";
                    return -1;
                }
        }
    }
    if (!(total > 0))
        FAIL("variants", "at least one variant needs a positive weight");
#undef FAIL
    return 0;
}

/* ---- registry ---------------------------------------------------------------------- */

static void load_doc(void *ud, const char *key, const char *json, size_t len)
{
    sy_exp_registry *r = ud;
    cJSON *doc = cJSON_ParseWithLength(json, len);
    char param[128];
    const char *why = NULL;
    if (!doc || def_check(cJSON_GetObjectItemCaseSensitive(doc, "definition"), param, sizeof(param),
                          &why) != 0) {
        fprintf(stderr, "switchyard: experiments: skipping unreadable stored experiment '%.64s'\n",
                key);
        cJSON_Delete(doc);
        return;
    }
    cJSON_AddItemToArray(r->docs, doc);
}

static int by_created(const void *a, const void *b)
{
    const cJSON *x = *(const cJSON *const *)a, *y = *(const cJSON *const *)b;
    double cx = num_or(x, "created_ms", 0), cy = num_or(y, "created_ms", 0);
    if (cx != cy)
        return cx < cy ? -1 : 1;
    return strcmp(str_or(x, "id", ""), str_or(y, "id", ""));
}

sy_exp_registry *sy_exp_registry_open(sy_store *store)
{
    sy_exp_registry *r = sy_xcalloc(1, sizeof(*r));
    r->store = store;
    pthread_mutex_init(&r->lock, NULL);
    r->docs = cJSON_CreateArray();
    if (store)
        sy_store_defs_each(store, SY_STORE_DEF_EXPERIMENTS, load_doc, r);
    /* creation order is assignment order (LMDB returns them by id) */
    int n = cJSON_GetArraySize(r->docs);
    if (n > 1) {
        cJSON **items = sy_xcalloc((size_t)n, sizeof(*items));
        for (int i = n - 1; i >= 0; i--)
            items[i] = cJSON_DetachItemFromArray(r->docs, i);
        qsort(items, (size_t)n, sizeof(*items), by_created);
        for (int i = 0; i < n; i++)
            cJSON_AddItemToArray(r->docs, items[i]);
        free(items);
    }
    return r;
}

void sy_exp_registry_free(sy_exp_registry *r)
{
    if (!r)
        return;
    cJSON_Delete(r->docs);
    pthread_mutex_destroy(&r->lock);
    free(r);
}

static cJSON *find_doc_in(const cJSON *docs, const char *id)
{
    cJSON *d;
    cJSON_ArrayForEach(d, docs) if (strcmp(str_or(d, "id", ""), id) == 0) return d;
    return NULL;
}

static cJSON *find_doc(sy_exp_registry *r, const char *id)
{
    return find_doc_in(r->docs, id);
}

/* Commit doc to the store (waits for the sync). Caller holds r->lock. */
static int persist(sy_exp_registry *r, const cJSON *doc)
{
    if (!r->store)
        return 0;
    char *json = cJSON_PrintUnformatted(doc);
    int rc = sy_store_put_def(r->store, SY_STORE_DEF_EXPERIMENTS, str_or(doc, "id", ""), json,
                              strlen(json));
    free(json);
    return rc;
}

/* The allocation part of a definition: traffic and the variants' weights. */
static cJSON *allocation_of(const cJSON *def)
{
    cJSON *a = cJSON_CreateObject();
    cJSON_AddNumberToObject(a, "traffic", num_or(def, "traffic", 1));
    cJSON *w = cJSON_AddObjectToObject(a, "weights");
    const cJSON *v;
    cJSON_ArrayForEach(v, cJSON_GetObjectItemCaseSensitive(def, "variants"))
        cJSON_AddNumberToObject(w, str_or(v, "name", ""), num_or(v, "weight", 1));
    return a;
}

static void add_allocation(cJSON *doc, const cJSON *def, int version, uint64_t now_ms)
{
    cJSON *a = allocation_of(def);
    cJSON_AddNumberToObject(a, "version", version);
    cJSON_AddNumberToObject(a, "ts_ms", (double)now_ms);
    if (cJSON_GetObjectItemCaseSensitive(doc, "allocation_version"))
        cJSON_ReplaceItemInObjectCaseSensitive(doc, "allocation_version",
                                               cJSON_CreateNumber(version));
    else
        cJSON_AddNumberToObject(doc, "allocation_version", version);
    cJSON *hist = cJSON_GetObjectItemCaseSensitive(doc, "allocation_history");
    if (!hist)
        hist = cJSON_AddArrayToObject(doc, "allocation_history");
    cJSON_AddItemToArray(hist, a);
}

/* The next allocation version, unless the experiment already has the most the results
 * can tell apart (its sample-ratio check follows each version's weights). */
static int add_allocation_checked(cJSON *doc, const cJSON *def, uint64_t now_ms)
{
    int next = (int)num_or(doc, "allocation_version", 1) + 1;
    if (next > SY_EXP_MAX_ALLOC_VERSIONS)
        return -1;
    add_allocation(doc, def, next, now_ms);
    return 0;
}

static const char *layer_of(const cJSON *def)
{
    return str_or(def, "layer", str_or(def, "id", ""));
}

/*
 * Find a free bucket range of the experiment's size in its layer (first fit among the
 * ranges of the other running experiments of that layer), preferring `keep_start`.
 * Returns 0 with [*start, *end), or -1 when the layer has no room.
 */
static int layer_range_in(const cJSON *docs, const cJSON *doc, const cJSON *def, unsigned *start,
                          unsigned *end)
{
    unsigned size = (unsigned)lround(num_or(def, "traffic", 1) * SY_EXP_BUCKETS);
    if (size == 0)
        size = 1;
    unsigned used[MAX_EXPERIMENTS][2];
    size_t n = 0;
    const cJSON *o;
    cJSON_ArrayForEach(o, docs)
    {
        const cJSON *od = cJSON_GetObjectItemCaseSensitive(o, "definition");
        const cJSON *range = cJSON_GetObjectItemCaseSensitive(o, "layer_range");
        if (strcmp(str_or(o, "id", ""), str_or(doc, "id", "")) == 0 || /* itself (or its copy) */
            strcmp(str_or(o, "status", ""), "running") != 0 ||
            strcmp(layer_of(od), layer_of(def)) != 0 || cJSON_GetArraySize(range) != 2 ||
            n == MAX_EXPERIMENTS)
            continue;
        used[n][0] = (unsigned)cJSON_GetArrayItem(range, 0)->valuedouble;
        used[n][1] = (unsigned)cJSON_GetArrayItem(range, 1)->valuedouble;
        n++;
    }
    const cJSON *cur = cJSON_GetObjectItemCaseSensitive(doc, "layer_range");
    unsigned prefer =
        cJSON_GetArraySize(cur) == 2 ? (unsigned)cJSON_GetArrayItem(cur, 0)->valuedouble : 0;
    for (int pass = 0; pass < 2; pass++) {
        for (unsigned s = pass ? 0 : prefer; s + size <= SY_EXP_BUCKETS;) {
            size_t k = 0;
            for (; k < n; k++)
                if (s < used[k][1] && used[k][0] < s + size)
                    break;
            if (k == n) {
                *start = s;
                *end = s + size;
                return 0;
            }
            if (!pass)
                break; /* the preferred start is taken: search from 0 */
            s = used[k][1];
        }
    }
    return -1;
}

static int layer_range(sy_exp_registry *r, const cJSON *doc, const cJSON *def, unsigned *start,
                       unsigned *end)
{
    return layer_range_in(r->docs, doc, def, start, end);
}

static void set_range(cJSON *doc, unsigned start, unsigned end)
{
    cJSON *range = cJSON_CreateArray();
    cJSON_AddItemToArray(range, cJSON_CreateNumber(start));
    cJSON_AddItemToArray(range, cJSON_CreateNumber(end));
    if (cJSON_GetObjectItemCaseSensitive(doc, "layer_range"))
        cJSON_ReplaceItemInObjectCaseSensitive(doc, "layer_range", range);
    else
        cJSON_AddItemToObject(doc, "layer_range", range);
}

static void set_number(cJSON *doc, const char *key, double v)
{
    if (cJSON_GetObjectItemCaseSensitive(doc, key))
        cJSON_ReplaceItemInObjectCaseSensitive(doc, key, cJSON_CreateNumber(v));
    else
        cJSON_AddNumberToObject(doc, key, v);
}

static void set_string(cJSON *doc, const char *key, const char *v)
{
    if (cJSON_GetObjectItemCaseSensitive(doc, key))
        cJSON_ReplaceItemInObjectCaseSensitive(doc, key, cJSON_CreateString(v));
    else
        cJSON_AddStringToObject(doc, key, v);
}

static cJSON *new_doc(const cJSON *def, const char *source, uint64_t now_ms)
{
    cJSON *doc = cJSON_CreateObject();
    cJSON_AddStringToObject(doc, "id", str_or(def, "id", ""));
    cJSON *d = cJSON_Duplicate(def, 1);
    cJSON_DeleteItemFromObjectCaseSensitive(d, "status");
    cJSON_AddItemToObject(doc, "definition", d);
    cJSON_AddStringToObject(doc, "status", "draft");
    cJSON_AddStringToObject(doc, "source", source);
    cJSON_AddNumberToObject(doc, "created_ms", (double)now_ms);
    add_allocation(doc, d, 1, now_ms);
    return doc;
}

/* ---- merge and table ---------------------------------------------------------------- */

static void variant_route_name(const char *route, const char *id, const char *variant, char *out,
                               size_t cap)
{
    snprintf(out, cap, "%s~%s.%s", route, id, variant);
}

/* The hidden route of one variant: the base route with the variant's overrides. */
static cJSON *variant_route(const cJSON *base, const cJSON *var)
{
    cJSON *r = cJSON_Duplicate(base, 1);
    const cJSON *model = cJSON_GetObjectItemCaseSensitive(var, "model");
    const cJSON *cands = cJSON_GetObjectItemCaseSensitive(var, "candidates");
    const cJSON *policy = cJSON_GetObjectItemCaseSensitive(var, "policy");
    const cJSON *params = cJSON_GetObjectItemCaseSensitive(var, "params");
    if (model || cands) { /* per-arm settings and rules refer to the old candidates */
        cJSON_DeleteItemFromObjectCaseSensitive(r, "priors");
        cJSON_DeleteItemFromObjectCaseSensitive(r, "weights");
        cJSON_DeleteItemFromObjectCaseSensitive(r, "rules");
        cJSON_DeleteItemFromObjectCaseSensitive(r, "deescalate_after_good_turns");
        cJSON_DeleteItemFromObjectCaseSensitive(r, "candidates");
        cJSON_DeleteItemFromObjectCaseSensitive(r, "params");
    }
    if (model) {
        cJSON *c = cJSON_AddArrayToObject(r, "candidates");
        cJSON_AddItemToArray(c, cJSON_CreateString(model->valuestring));
        cJSON_DeleteItemFromObjectCaseSensitive(r, "policy");
        cJSON_AddStringToObject(r, "policy", "fixed");
        cJSON *p = cJSON_AddObjectToObject(r, "params");
        cJSON_AddStringToObject(p, "fixed", model->valuestring);
        return r;
    }
    if (cands)
        cJSON_AddItemToObject(r, "candidates", cJSON_Duplicate(cands, 1));
    if (policy) {
        cJSON_DeleteItemFromObjectCaseSensitive(r, "policy");
        cJSON_AddItemToObject(r, "policy", cJSON_Duplicate(policy, 1));
        if (!params)
            cJSON_DeleteItemFromObjectCaseSensitive(r, "params");
    }
    if (params) {
        cJSON_DeleteItemFromObjectCaseSensitive(r, "params");
        cJSON_AddItemToObject(r, "params", cJSON_Duplicate(params, 1));
    }
    return r;
}

void sy_exp_table_free(sy_exp_table *t)
{
    if (!t)
        return;
    for (size_t i = 0; i < t->n; i++)
        for (size_t v = 0; v < t->exps[i].n_variants; v++)
            cJSON_Delete(t->exps[i].variants[v].parameters);
    free(t->exps);
    free(t);
}

/* Fill one table entry from a running document; the variants' routes must exist. */
static int table_entry(sy_config *cfg, const cJSON *doc, sy_exp_rt *e, sy_buf *errors)
{
    const cJSON *def = cJSON_GetObjectItemCaseSensitive(doc, "definition");
    const char *id = str_or(def, "id", "");
    const char *route = str_or(def, "route", "");
    const sy_route_cfg *base = sy_config_find_route(cfg, route);
    if (!base || base->hidden) {
        sy_buf_printf(errors, "$.experiments.%s.route: '%s' is not a route of the configuration\n",
                      id, route);
        return -1;
    }
    memset(e, 0, sizeof(*e));
    snprintf(e->id, sizeof(e->id), "%s", id);
    snprintf(e->salt, sizeof(e->salt), "%s", str_or(def, "salt", id));
    snprintf(e->layer_salt, sizeof(e->layer_salt), "layer:%s", layer_of(def));
    e->base_route = (size_t)(base - cfg->routes);
    const char *unit = str_or(def, "unit", "user");
    e->unit = strcmp(unit, "request") == 0        ? SY_EXP_UNIT_REQUEST
              : strcmp(unit, "conversation") == 0 ? SY_EXP_UNIT_CONVERSATION
                                                  : SY_EXP_UNIT_USER;
    snprintf(e->unit_header, sizeof(e->unit_header), "%s",
             str_or(def, "unit_header", DEFAULT_UNIT_HEADER));
    for (char *p = e->unit_header; *p; p++)
        if (*p >= 'A' && *p <= 'Z')
            *p = (char)(*p - 'A' + 'a');
    const cJSON *range = cJSON_GetObjectItemCaseSensitive(doc, "layer_range");
    if (cJSON_GetArraySize(range) == 2) {
        e->layer_start = (unsigned)cJSON_GetArrayItem(range, 0)->valuedouble;
        e->layer_end = (unsigned)cJSON_GetArrayItem(range, 1)->valuedouble;
    } else { /* a definition being validated: its whole traffic share from 0 */
        e->layer_end = (unsigned)lround(num_or(def, "traffic", 1) * SY_EXP_BUCKETS);
    }
    e->alloc_version = (unsigned)num_or(doc, "allocation_version", 1);
    e->msprt_tau = num_or(def, "msprt_tau", 0.05);
    const cJSON *var;
    cJSON_ArrayForEach(var, cJSON_GetObjectItemCaseSensitive(def, "variants"))
    {
        sy_exp_variant_rt *v = &e->variants[e->n_variants];
        snprintf(v->name, sizeof(v->name), "%s", str_or(var, "name", ""));
        v->weight = num_or(var, "weight", 1);
        e->weights[e->n_variants] = v->weight;
        char name[SY_CONFIG_MAX_NAME + 2 * SY_EXP_ID_MAX + 4];
        variant_route_name(route, id, v->name, name, sizeof(name));
        const sy_route_cfg *vr = sy_config_find_route(cfg, name);
        if (!vr) {
            sy_buf_printf(errors, "$.experiments.%s: the route of variant '%s' is missing\n", id,
                          v->name);
            return -1;
        }
        ((sy_route_cfg *)vr)->hidden = 1;
        v->route = (size_t)(vr - cfg->routes);
        const cJSON *p = cJSON_GetObjectItemCaseSensitive(var, "prompt");
        if (p) {
            snprintf(v->prompt_id, sizeof(v->prompt_id), "%s", str_or(p, "id", ""));
            v->prompt_version = (unsigned)num_or(p, "version", 0);
            snprintf(v->prompt_label, sizeof(v->prompt_label), "%s", str_or(p, "label", ""));
        }
        const cJSON *params = cJSON_GetObjectItemCaseSensitive(var, "parameters");
        v->parameters = params ? cJSON_Duplicate(params, 1) : NULL;
        e->n_variants++;
    }
    return 0;
}

/*
 * The configuration for the running documents of `docs` (and `extra`): the file's text
 * with a hidden route per variant, parsed and validated, and its experiment table.
 */
static sy_config *build_from_docs(const cJSON *docs, const sy_config *file_cfg, const cJSON *extra,
                                  sy_exp_table **table, sy_buf *errors)
{
    *table = NULL;
    cJSON *root = cJSON_ParseWithLength(file_cfg->text, file_cfg->text_len);
    if (!root) {
        sy_buf_puts(errors, "$: the configuration text no longer parses\n");
        return NULL;
    }
    cJSON_DeleteItemFromObjectCaseSensitive(root, "experiments");
    cJSON *routes = cJSON_GetObjectItemCaseSensitive(root, "routes");
    /* the running documents (and the one being validated), in assignment order */
    cJSON *running = cJSON_CreateArray();
    const cJSON *d;
    cJSON_ArrayForEach(d, docs) if (strcmp(str_or(d, "status", ""), "running") == 0)
        cJSON_AddItemToArray(running, cJSON_Duplicate(d, 1));
    if (extra) {
        cJSON *x = cJSON_CreateObject();
        cJSON_AddStringToObject(x, "id", str_or(extra, "id", ""));
        cJSON_AddItemToObject(x, "definition", cJSON_Duplicate(extra, 1));
        cJSON_AddItemToArray(running, x);
    }
    int bad = 0;
    cJSON_ArrayForEach(d, running)
    {
        const cJSON *def = cJSON_GetObjectItemCaseSensitive(d, "definition");
        const char *route = str_or(def, "route", "");
        const cJSON *base = cJSON_GetObjectItemCaseSensitive(routes, route);
        int on_route = 0;
        for (const cJSON *o = running->child; o != d; o = o->next)
            on_route +=
                strcmp(str_or(cJSON_GetObjectItemCaseSensitive(o, "definition"), "route", ""),
                       route) == 0;
        if (on_route >= SY_EXP_MAX_PER_ROUTE) {
            sy_buf_printf(errors,
                          "$.experiments.%s: route '%.128s' already runs %d experiments (the "
                          "most a request can be enrolled in)\n",
                          str_or(def, "id", ""), route, SY_EXP_MAX_PER_ROUTE);
            bad = 1;
            continue;
        }
        if (!cJSON_IsObject(base)) {
            sy_buf_printf(errors,
                          "$.experiments.%s.route: '%.128s' is not a route of the "
                          "configuration\n",
                          str_or(def, "id", ""), route);
            bad = 1;
            continue;
        }
        const cJSON *var;
        cJSON_ArrayForEach(var, cJSON_GetObjectItemCaseSensitive(def, "variants"))
        {
            char name[SY_CONFIG_MAX_NAME + 2 * SY_EXP_ID_MAX + 4];
            variant_route_name(route, str_or(def, "id", ""), str_or(var, "name", ""), name,
                               sizeof(name));
            cJSON_AddItemToObject(routes, name, variant_route(base, var));
        }
    }
    sy_config *cfg = NULL;
    if (!bad) {
        char *text = cJSON_PrintUnformatted(root);
        sy_config_errors errs = {0};
        cfg = sy_config_parse(text, strlen(text), file_cfg->path, &errs);
        for (size_t i = 0; i < errs.n; i++)
            sy_buf_printf(errors, "%s\n", errs.items[i]);
        sy_config_errors_free(&errs);
        free(text);
    }
    if (cfg) {
        /* the service keeps the file's text, so that later rebuilds start from it */
        free(cfg->text);
        cfg->text = sy_xstrndup(file_cfg->text, file_cfg->text_len);
        cfg->text_len = file_cfg->text_len;
        sy_exp_table *t = sy_xcalloc(1, sizeof(*t));
        t->exps = sy_xcalloc((size_t)cJSON_GetArraySize(running) + 1, sizeof(*t->exps));
        cJSON_ArrayForEach(d, running)
        {
            if (table_entry(cfg, d, &t->exps[t->n], errors) != 0) {
                bad = 1;
                break;
            }
            t->n++;
        }
        if (bad) {
            sy_exp_table_free(t);
            sy_config_free(cfg);
            cfg = NULL;
        } else {
            *table = t;
        }
    }
    cJSON_Delete(running);
    cJSON_Delete(root);
    return cfg;
}

sy_config *sy_exp_build_config(sy_exp_registry *r, const sy_config *file_cfg, const cJSON *extra,
                               sy_exp_table **table, sy_buf *errors)
{
    pthread_mutex_lock(&r->lock);
    cJSON *docs = cJSON_Duplicate(r->docs, 1);
    pthread_mutex_unlock(&r->lock);
    sy_config *cfg = build_from_docs(docs, file_cfg, extra, table, errors);
    cJSON_Delete(docs);
    return cfg;
}

/* ---- seeding from the configuration file --------------------------------------------- */

static int same_allocation(const cJSON *a, const cJSON *b)
{
    cJSON *x = allocation_of(a), *y = allocation_of(b);
    int same = cJSON_Compare(x, y, 1);
    cJSON_Delete(x);
    cJSON_Delete(y);
    return same;
}

/*
 * Seeding is planned on a copy of the documents, validated by building the configuration
 * it would serve, and only then committed and swapped in: a file that does not validate
 * changes nothing, in LMDB or in memory.
 */
int sy_exp_registry_seed(sy_exp_registry *r, const sy_config *file_cfg, sy_buf *errors)
{
    cJSON *root = cJSON_ParseWithLength(file_cfg->text, file_cfg->text_len);
    const cJSON *list = cJSON_GetObjectItemCaseSensitive(root, "experiments");
    int rc = 0, i = 0;
    const cJSON *def;
    cJSON_ArrayForEach(def, list)
    {
        char param[128];
        const char *why = NULL;
        if (def_check(def, param, sizeof(param), &why) != 0) {
            sy_buf_printf(errors, "$.experiments[%d]%s%s: %s\n", i, param[0] ? "." : "", param,
                          why);
            rc = SY_ERR_INVALID;
        }
        i++;
    }
    if (rc || !cJSON_GetArraySize(list)) {
        cJSON_Delete(root);
        return rc;
    }
    uint64_t now_ms = (uint64_t)time(NULL) * 1000;
    pthread_mutex_lock(&r->lock);
    cJSON *plan = cJSON_Duplicate(r->docs, 1);
    cJSON *changed = cJSON_CreateArray(); /* ids whose document the plan changes */
    cJSON_ArrayForEach(def, list)
    {
        const char *id = str_or(def, "id", "");
        cJSON *doc = find_doc_in(plan, id);
        cJSON *next;
        if (!doc) {
            next = new_doc(def, "config", now_ms);
            const char *status = str_or(def, "status", "running");
            if (strcmp(status, "running") == 0)
                set_number(next, "started_ms", (double)now_ms);
            set_string(next, "status", status);
        } else {
            cJSON *d = cJSON_Duplicate(def, 1);
            cJSON_DeleteItemFromObjectCaseSensitive(d, "status");
            const cJSON *old = cJSON_GetObjectItemCaseSensitive(doc, "definition");
            if (cJSON_Compare(old, d, 1)) {
                cJSON_Delete(d);
                continue;
            }
            next = cJSON_Duplicate(doc, 1);
            int new_alloc = !same_allocation(old, d);
            cJSON_ReplaceItemInObjectCaseSensitive(next, "definition", d);
            if (new_alloc && add_allocation_checked(next, d, now_ms) != 0) {
                sy_buf_printf(errors, "$.experiments.%s: more than %d allocation versions\n", id,
                              SY_EXP_MAX_ALLOC_VERSIONS);
                cJSON_Delete(next);
                rc = SY_ERR_INVALID;
                continue;
            }
        }
        if (strcmp(str_or(next, "status", ""), "running") == 0) {
            unsigned st, en;
            if (layer_range_in(plan, next, cJSON_GetObjectItemCaseSensitive(next, "definition"),
                               &st, &en) != 0) {
                sy_buf_printf(
                    errors, "$.experiments.%s: its layer has no room for its traffic share\n", id);
                cJSON_Delete(next);
                rc = SY_ERR_INVALID;
                continue;
            }
            set_range(next, st, en);
        }
        if (doc)
            cJSON_ReplaceItemViaPointer(plan, doc, next);
        else
            cJSON_AddItemToArray(plan, next);
        cJSON_AddItemToArray(changed, cJSON_CreateString(id));
    }
    pthread_mutex_unlock(&r->lock);
    if (rc == 0 && cJSON_GetArraySize(plan) > MAX_EXPERIMENTS) {
        sy_buf_printf(errors, "$.experiments: more than %d experiments\n", MAX_EXPERIMENTS);
        rc = SY_ERR_INVALID;
    }
    if (rc == 0) { /* validate what the plan would serve */
        sy_exp_table *t = NULL;
        sy_config *cfg = build_from_docs(plan, file_cfg, NULL, &t, errors);
        rc = cfg ? 0 : SY_ERR_INVALID;
        sy_config_free(cfg);
        sy_exp_table_free(t);
    }
    const cJSON *cid;
    cJSON_ArrayForEach(cid, changed)
    {
        if (rc)
            break;
        cJSON *next = find_doc_in(plan, cid->valuestring);
        if (persist(r, next) != 0) {
            sy_buf_printf(errors, "$.experiments.%s: the store could not commit it\n",
                          cid->valuestring);
            rc = SY_ERR_IO;
        }
    }
    if (rc == 0 && cJSON_GetArraySize(changed)) {
        pthread_mutex_lock(&r->lock);
        cJSON_Delete(r->docs);
        r->docs = plan;
        plan = NULL;
        pthread_mutex_unlock(&r->lock);
    }
    cJSON_Delete(plan);
    cJSON_Delete(changed);
    cJSON_Delete(root);
    return rc;
}

/* ---- admin operations ---------------------------------------------------------------- */

static void reply_doc(sy_exp_reply *out, int status, const cJSON *doc)
{
    char *s = cJSON_PrintUnformatted(doc);
    out->status = status;
    sy_buf_puts(&out->body, s);
    free(s);
}

/* Validate def by building the configuration with it running. */
static int validate_with_config(sy_exp_registry *r, const sy_config *file_cfg, const cJSON *def,
                                sy_exp_reply *out)
{
    sy_buf errs = {0};
    sy_exp_table *t = NULL;
    sy_config *cfg = sy_exp_build_config(r, file_cfg, def, &t, &errs);
    int ok = cfg != NULL;
    if (!ok)
        set_reply_error(out, 400, "definition", "%.500s",
                        errs.data ? errs.data : "the definition does not fit the configuration");
    sy_config_free(cfg);
    sy_exp_table_free(t);
    sy_buf_free(&errs);
    return ok ? 0 : -1;
}

/* Commit next (the changed copy of doc) and swap it in, answering 200 with it; on a
 * store failure answer 503 and keep doc. Caller holds r->lock; next is consumed. */
static int commit_swap(sy_exp_registry *r, cJSON *doc, cJSON *next, sy_exp_reply *out)
{
    if (persist(r, next) != 0) {
        cJSON_Delete(next);
        set_reply_error(out, 503, NULL, "the store could not commit the change; retry later");
        return -1;
    }
    reply_doc(out, 200, next);
    cJSON_ReplaceItemViaPointer(r->docs, doc, next);
    return 0;
}

void sy_exp_admin_create(sy_exp_registry *r, const sy_config *file_cfg, const cJSON *def,
                         uint64_t now_ms, sy_exp_reply *out)
{
    memset(out, 0, sizeof(*out));
    char param[128];
    const char *why = NULL;
    if (def_check(def, param, sizeof(param), &why) != 0)
        return set_reply_error(out, 400, param, "%s", why);
    if (cJSON_GetObjectItemCaseSensitive(def, "status"))
        return set_reply_error(out, 400, "status",
                               "an experiment is created as a draft; start it with POST "
                               "/admin/experiments/{id}/start");
    pthread_mutex_lock(&r->lock);
    int exists = find_doc(r, str_or(def, "id", "")) != NULL;
    pthread_mutex_unlock(&r->lock);
    if (exists)
        return set_reply_error(out, 409, "id", "an experiment with this id exists");
    if (validate_with_config(r, file_cfg, def, out) != 0)
        return;
    pthread_mutex_lock(&r->lock);
    if (find_doc(r, str_or(def, "id", ""))) {
        pthread_mutex_unlock(&r->lock);
        return set_reply_error(out, 409, "id", "an experiment with this id exists");
    }
    if (cJSON_GetArraySize(r->docs) >= MAX_EXPERIMENTS) {
        pthread_mutex_unlock(&r->lock);
        return set_reply_error(out, 400, "id", "too many experiments");
    }
    cJSON *doc = new_doc(def, "api", now_ms);
    if (persist(r, doc) != 0) {
        cJSON_Delete(doc);
        set_reply_error(out, 503, NULL, "the store could not commit the experiment; retry later");
    } else {
        reply_doc(out, 201, doc);
        cJSON_AddItemToArray(r->docs, doc);
    }
    pthread_mutex_unlock(&r->lock);
}

void sy_exp_admin_transition(sy_exp_registry *r, const sy_config *file_cfg, const char *id,
                             const char *action, uint64_t now_ms, sy_exp_reply *out, int *changed)
{
    memset(out, 0, sizeof(*out));
    *changed = 0;
    int start = strcmp(action, "start") == 0;
    pthread_mutex_lock(&r->lock);
    cJSON *doc = find_doc(r, id);
    if (!doc) {
        pthread_mutex_unlock(&r->lock);
        return set_reply_error(out, 404, "id", "no such experiment");
    }
    const char *status = str_or(doc, "status", "");
    const char *want = start ? "draft" : "running";
    if (strcmp(status, want) != 0) {
        pthread_mutex_unlock(&r->lock);
        return set_reply_error(out, 409, "status",
                               "experiment '%s' is %s; only a %s experiment can be %s", id, status,
                               want, start ? "started" : "stopped");
    }
    cJSON *def = cJSON_Duplicate(cJSON_GetObjectItemCaseSensitive(doc, "definition"), 1);
    pthread_mutex_unlock(&r->lock);
    if (start && validate_with_config(r, file_cfg, def, out) != 0) {
        cJSON_Delete(def);
        return;
    }
    pthread_mutex_lock(&r->lock);
    doc = find_doc(r, id);
    if (!doc || strcmp(str_or(doc, "status", ""), want) != 0) { /* a concurrent change */
        pthread_mutex_unlock(&r->lock);
        cJSON_Delete(def);
        return set_reply_error(out, 409, "status", "the experiment changed meanwhile; retry");
    }
    cJSON *next = cJSON_Duplicate(doc, 1);
    if (start) {
        unsigned s, e;
        if (layer_range(r, next, def, &s, &e) != 0) {
            pthread_mutex_unlock(&r->lock);
            set_reply_error(out, 409, "traffic",
                            "the layer '%s' has no room left for this experiment's traffic share",
                            layer_of(def));
            cJSON_Delete(next);
            cJSON_Delete(def);
            return;
        }
        set_range(next, s, e);
        set_number(next, "started_ms", (double)now_ms);
    } else {
        set_number(next, "stopped_ms", (double)now_ms);
        cJSON_DeleteItemFromObjectCaseSensitive(next, "layer_range");
    }
    set_string(next, "status", start ? "running" : "stopped");
    cJSON_Delete(def);
    *changed = commit_swap(r, doc, next, out) == 0;
    pthread_mutex_unlock(&r->lock);
}

void sy_exp_admin_allocation(sy_exp_registry *r, const char *id, const cJSON *body, uint64_t now_ms,
                             sy_exp_reply *out, int *changed)
{
    memset(out, 0, sizeof(*out));
    *changed = 0;
    const cJSON *traffic = cJSON_GetObjectItemCaseSensitive(body, "traffic");
    const cJSON *weights = cJSON_GetObjectItemCaseSensitive(body, "weights");
    if (!cJSON_IsObject(body) || (!traffic && !weights) || (weights && !cJSON_IsObject(weights)) ||
        (traffic && !cJSON_IsNumber(traffic)))
        return set_reply_error(out, 400, weights && !cJSON_IsObject(weights) ? "weights" : NULL,
                               "body must be {\"traffic\": share, \"weights\": {variant: weight}}");
    pthread_mutex_lock(&r->lock);
    cJSON *doc = find_doc(r, id);
    if (!doc) {
        pthread_mutex_unlock(&r->lock);
        return set_reply_error(out, 404, "id", "no such experiment");
    }
    if (strcmp(str_or(doc, "status", ""), "stopped") == 0) {
        pthread_mutex_unlock(&r->lock);
        return set_reply_error(out, 409, "status", "a stopped experiment's allocation is final");
    }
    cJSON *next = cJSON_Duplicate(doc, 1);
    cJSON *def = cJSON_GetObjectItemCaseSensitive(next, "definition");
    if (traffic) {
        if (cJSON_GetObjectItemCaseSensitive(def, "traffic"))
            cJSON_ReplaceItemInObjectCaseSensitive(def, "traffic", cJSON_Duplicate(traffic, 1));
        else
            cJSON_AddItemToObject(def, "traffic", cJSON_Duplicate(traffic, 1));
    }
    for (const cJSON *w = weights ? weights->child : NULL; w; w = w->next) {
        cJSON *var, *hit = NULL;
        cJSON_ArrayForEach(var, cJSON_GetObjectItemCaseSensitive(
                                    def, "variants")) if (strcmp(str_or(var, "name", ""),
                                                                 w->string) == 0) hit = var;
        if (!hit) {
            pthread_mutex_unlock(&r->lock);
            cJSON_Delete(next);
            return set_reply_error(out, 400, "weights", "no variant named '%.64s'", w->string);
        }
        if (cJSON_GetObjectItemCaseSensitive(hit, "weight"))
            cJSON_ReplaceItemInObjectCaseSensitive(hit, "weight", cJSON_Duplicate(w, 1));
        else
            cJSON_AddItemToObject(hit, "weight", cJSON_Duplicate(w, 1));
    }
    char param[128];
    const char *why = NULL;
    if (def_check(def, param, sizeof(param), &why) != 0) {
        pthread_mutex_unlock(&r->lock);
        cJSON_Delete(next);
        return set_reply_error(out, 400, param, "%s", why);
    }
    int running = strcmp(str_or(next, "status", ""), "running") == 0;
    if (running) {
        unsigned s, e;
        if (layer_range(r, next, def, &s, &e) != 0) {
            pthread_mutex_unlock(&r->lock);
            cJSON_Delete(next);
            return set_reply_error(out, 409, "traffic",
                                   "the layer has no room for the new traffic share");
        }
        set_range(next, s, e);
    }
    if (add_allocation_checked(next, def, now_ms) != 0) {
        pthread_mutex_unlock(&r->lock);
        cJSON_Delete(next);
        return set_reply_error(out, 409, "allocation_version",
                               "an experiment has at most %d allocation versions; start a new "
                               "experiment",
                               SY_EXP_MAX_ALLOC_VERSIONS);
    }
    *changed = commit_swap(r, doc, next, out) == 0 && running;
    pthread_mutex_unlock(&r->lock);
}

void sy_exp_registry_each(sy_exp_registry *r,
                          void (*fn)(void *ud, const char *id, sy_exp_unit unit,
                                     const char *control, double tau),
                          void *ud)
{
    pthread_mutex_lock(&r->lock);
    const cJSON *d;
    cJSON_ArrayForEach(d, r->docs)
    {
        const cJSON *def = cJSON_GetObjectItemCaseSensitive(d, "definition");
        const char *unit = str_or(def, "unit", "user");
        fn(ud, str_or(d, "id", ""),
           strcmp(unit, "request") == 0        ? SY_EXP_UNIT_REQUEST
           : strcmp(unit, "conversation") == 0 ? SY_EXP_UNIT_CONVERSATION
                                               : SY_EXP_UNIT_USER,
           str_or(cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(def, "variants"), 0), "name",
                  ""),
           num_or(def, "msprt_tau", 0.05));
    }
    pthread_mutex_unlock(&r->lock);
}

cJSON *sy_exp_registry_doc(sy_exp_registry *r, const char *id)
{
    pthread_mutex_lock(&r->lock);
    cJSON *d = find_doc(r, id);
    cJSON *copy = d ? cJSON_Duplicate(d, 1) : NULL;
    pthread_mutex_unlock(&r->lock);
    return copy;
}

void sy_exp_admin_get(sy_exp_registry *r, const char *id, sy_exp_reply *out)
{
    memset(out, 0, sizeof(*out));
    cJSON *d = sy_exp_registry_doc(r, id);
    if (!d)
        return set_reply_error(out, 404, "id", "no such experiment");
    reply_doc(out, 200, d);
    cJSON_Delete(d);
}

void sy_exp_admin_list(sy_exp_registry *r, sy_exp_reply *out)
{
    memset(out, 0, sizeof(*out));
    cJSON *body = cJSON_CreateObject();
    cJSON_AddStringToObject(body, "object", "list");
    pthread_mutex_lock(&r->lock);
    cJSON_AddItemToObject(body, "data", cJSON_Duplicate(r->docs, 1));
    pthread_mutex_unlock(&r->lock);
    reply_doc(out, 200, body);
    cJSON_Delete(body);
}

/* ---- assignment (workers) ------------------------------------------------------------ */

size_t sy_exp_assign(const sy_exp_table *t, size_t route, const sy_exp_units *units,
                     const char *(*user_for)(const sy_exp_rt *exp, void *ud, size_t *len), void *ud,
                     sy_exp_assignment *out, size_t max)
{
    size_t n = 0;
    for (size_t i = 0; t && i < t->n && n < max; i++) {
        const sy_exp_rt *e = &t->exps[i];
        if (e->base_route != route)
            continue;
        const void *unit = NULL;
        size_t len = 0;
        switch (e->unit) {
        case SY_EXP_UNIT_USER:
            unit = user_for ? user_for(e, ud, &len) : NULL;
            break;
        case SY_EXP_UNIT_CONVERSATION:
            unit = units->conversation;
            len = unit ? 16 : 0;
            break;
        case SY_EXP_UNIT_REQUEST:
            unit = units->request;
            len = unit ? strlen(units->request) : 0;
            break;
        }
        if (!unit || !len)
            continue; /* no unit of this kind: not enrolled, served as usual */
        unsigned lb = sy_exp_bucket(e->layer_salt, unit, len);
        if (lb < e->layer_start || lb >= e->layer_end)
            continue;
        out[n].exp = e;
        out[n].variant = sy_exp_pick(e->weights, e->n_variants, sy_exp_bucket(e->salt, unit, len));
        out[n].unit_hash = sy_exp_hash("unit", unit, len);
        n++;
    }
    return n;
}

void sy_exp_record(const sy_exp_assignment *a, size_t n, char *out, size_t cap)
{
    size_t len = 0;
    out[0] = '\0';
    for (size_t i = 0; i < n; i++) {
        char entry[2 * SY_EXP_ID_MAX + 48];
        int w = snprintf(entry, sizeof(entry), "%s%s:%s:%u:%016llx", len ? "," : "", a[i].exp->id,
                         a[i].exp->variants[a[i].variant].name, a[i].exp->alloc_version,
                         (unsigned long long)a[i].unit_hash);
        if (w < 0 || len + (size_t)w + 1 > cap)
            break;
        memcpy(out + len, entry, (size_t)w + 1);
        len += (size_t)w;
    }
}
