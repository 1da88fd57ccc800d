/* experiments: see experiments.h.
 *
 * Stored document of one experiment (key: its id):
 *   {"id", "definition": {...}, "status": "draft"|"running"|"stopped", "source": "api"|"config",
 *    "allocation_version": n, "allocation_history": [{"version", "traffic", "weights", "ts_ms"}],
 *    "layer_range": [start, end] (while running), "created_ms", "started_ms", "stopped_ms"}
 */
#include "experiments_internal.h"

#include "assign.h"
#include "prompt_template.h"

#include <math.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define MAX_EXPERIMENTS 256

struct sy_exp_registry {
    sy_store *store;
    pthread_mutex_t lock; /* guards docs; held across a commit only by admin writers */
    cJSON *docs;          /* array in creation order */
};

/* ---- registry ---------------------------------------------------------------------- */

static void load_doc(void *ud, const char *key, const char *json, size_t len)
{
    sy_exp_registry *r = ud;
    cJSON *doc = cJSON_ParseWithLength(json, len);
    char param[128];
    const char *why = NULL;
    if (!doc || sy_exp_def_check(cJSON_GetObjectItemCaseSensitive(doc, "definition"), param,
                                 sizeof(param), &why) != 0) {
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

/* How far a document has come: its allocation version, then draft < running < stopped
 * (every admin change moves one of them forward). */
static double doc_rank(const cJSON *doc)
{
    const char *st = str_or(doc, "status", "");
    int status = strcmp(st, "running") == 0 ? 1 : strcmp(st, "stopped") == 0 ? 2 : 0;
    return num_or(doc, "allocation_version", 1) * 4 + status;
}

int sy_exp_registry_adopt(sy_exp_registry *r, const char *json, size_t len)
{
    cJSON *doc = cJSON_ParseWithLength(json, len);
    const cJSON *id = cJSON_GetObjectItemCaseSensitive(doc, "id");
    if (!cJSON_IsObject(doc) || !cJSON_IsString(id) || !id->valuestring[0]) {
        cJSON_Delete(doc);
        return -1;
    }
    pthread_mutex_lock(&r->lock);
    cJSON *had = find_doc(r, id->valuestring);
    if (had && doc_rank(had) > doc_rank(doc)) { /* an older change, read late: keep ours */
        pthread_mutex_unlock(&r->lock);
        cJSON_Delete(doc);
        return 1;
    }
    int rc = persist(r, doc);
    if (rc == 0) {
        cJSON *old = find_doc(r, id->valuestring);
        if (old)
            cJSON_ReplaceItemViaPointer(r->docs, old, doc);
        else
            cJSON_AddItemToArray(r->docs, doc);
        doc = NULL;
    }
    pthread_mutex_unlock(&r->lock);
    cJSON_Delete(doc);
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

sy_config *sy_exp_build_config(sy_exp_registry *r, const sy_config *file_cfg, const cJSON *extra,
                               sy_exp_table **table, sy_buf *errors)
{
    pthread_mutex_lock(&r->lock);
    cJSON *docs = cJSON_Duplicate(r->docs, 1);
    pthread_mutex_unlock(&r->lock);
    sy_config *cfg = sy_exp_build_from_docs(docs, file_cfg, extra, table, errors);
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
        if (sy_exp_def_check(def, param, sizeof(param), &why) != 0) {
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
        sy_config *cfg = sy_exp_build_from_docs(plan, file_cfg, NULL, &t, errors);
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
        sy_exp_reply_error(out, 400, "definition", "%.500s",
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
        sy_exp_reply_error(out, 503, NULL, "the store could not commit the change; retry later");
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
    if (sy_exp_def_check(def, param, sizeof(param), &why) != 0)
        return sy_exp_reply_error(out, 400, param, "%s", why);
    if (cJSON_GetObjectItemCaseSensitive(def, "status"))
        return sy_exp_reply_error(out, 400, "status",
                                  "an experiment is created as a draft; start it with POST "
                                  "/admin/experiments/{id}/start");
    pthread_mutex_lock(&r->lock);
    int exists = find_doc(r, str_or(def, "id", "")) != NULL;
    pthread_mutex_unlock(&r->lock);
    if (exists)
        return sy_exp_reply_error(out, 409, "id", "an experiment with this id exists");
    if (validate_with_config(r, file_cfg, def, out) != 0)
        return;
    pthread_mutex_lock(&r->lock);
    if (find_doc(r, str_or(def, "id", ""))) {
        pthread_mutex_unlock(&r->lock);
        return sy_exp_reply_error(out, 409, "id", "an experiment with this id exists");
    }
    if (cJSON_GetArraySize(r->docs) >= MAX_EXPERIMENTS) {
        pthread_mutex_unlock(&r->lock);
        return sy_exp_reply_error(out, 400, "id", "too many experiments");
    }
    cJSON *doc = new_doc(def, "api", now_ms);
    if (persist(r, doc) != 0) {
        cJSON_Delete(doc);
        sy_exp_reply_error(out, 503, NULL,
                           "the store could not commit the experiment; retry later");
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
        return sy_exp_reply_error(out, 404, "id", "no such experiment");
    }
    const char *status = str_or(doc, "status", "");
    const char *want = start ? "draft" : "running";
    if (strcmp(status, want) != 0) {
        pthread_mutex_unlock(&r->lock);
        return sy_exp_reply_error(out, 409, "status",
                                  "experiment '%s' is %s; only a %s experiment can be %s", id,
                                  status, want, start ? "started" : "stopped");
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
        return sy_exp_reply_error(out, 409, "status", "the experiment changed meanwhile; retry");
    }
    cJSON *next = cJSON_Duplicate(doc, 1);
    if (start) {
        unsigned s, e;
        if (layer_range(r, next, def, &s, &e) != 0) {
            pthread_mutex_unlock(&r->lock);
            sy_exp_reply_error(
                out, 409, "traffic",
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
        return sy_exp_reply_error(
            out, 400, weights && !cJSON_IsObject(weights) ? "weights" : NULL,
            "body must be {\"traffic\": share, \"weights\": {variant: weight}}");
    pthread_mutex_lock(&r->lock);
    cJSON *doc = find_doc(r, id);
    if (!doc) {
        pthread_mutex_unlock(&r->lock);
        return sy_exp_reply_error(out, 404, "id", "no such experiment");
    }
    if (strcmp(str_or(doc, "status", ""), "stopped") == 0) {
        pthread_mutex_unlock(&r->lock);
        return sy_exp_reply_error(out, 409, "status", "a stopped experiment's allocation is final");
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
            return sy_exp_reply_error(out, 400, "weights", "no variant named '%.64s'", w->string);
        }
        if (cJSON_GetObjectItemCaseSensitive(hit, "weight"))
            cJSON_ReplaceItemInObjectCaseSensitive(hit, "weight", cJSON_Duplicate(w, 1));
        else
            cJSON_AddItemToObject(hit, "weight", cJSON_Duplicate(w, 1));
    }
    char param[128];
    const char *why = NULL;
    if (sy_exp_def_check(def, param, sizeof(param), &why) != 0) {
        pthread_mutex_unlock(&r->lock);
        cJSON_Delete(next);
        return sy_exp_reply_error(out, 400, param, "%s", why);
    }
    int running = strcmp(str_or(next, "status", ""), "running") == 0;
    if (running) {
        unsigned s, e;
        if (layer_range(r, next, def, &s, &e) != 0) {
            pthread_mutex_unlock(&r->lock);
            cJSON_Delete(next);
            return sy_exp_reply_error(out, 409, "traffic",
                                      "the layer has no room for the new traffic share");
        }
        set_range(next, s, e);
    }
    if (add_allocation_checked(next, def, now_ms) != 0) {
        pthread_mutex_unlock(&r->lock);
        cJSON_Delete(next);
        return sy_exp_reply_error(out, 409, "allocation_version",
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
        return sy_exp_reply_error(out, 404, "id", "no such experiment");
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
