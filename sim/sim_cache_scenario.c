/*
 * sim_cache_scenario: the cache scenario's JSON (sim_cache.h, docs/simulator.md). Every
 * field is optional; unknown fields are errors so typos do not pass silently.
 */
#include "sim_cache.h"

#include "sy_common.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>

static void defaults(sy_sim_cache_scenario *sc)
{
    static const double taus[] = {0.8, 0.85, 0.875, 0.9, 0.95};
    memset(sc, 0, sizeof *sc);
    sc->repeat = 0.35;
    sc->exact = 0.3;
    sc->near_miss = 0.25;
    sc->floor = 0.7;
    sc->unrelated = 0.5;
    sc->paraphrase = (sy_sim_beta){0.6, 1.0, 4, 1.5};
    sc->near = (sy_sim_beta){0.55, 0.98, 4, 2};
    sc->far = (sy_sim_beta){0.2, 0.75, 2, 2};
    sc->near_miss_quality = 0.05;
    sc->cache_latency_s = 0.02;
    sc->threshold = 0.875;
    sc->feedback = 1;
    sc->repeat_finds_nearest = 1;
    sc->arm_features = SY_SIM_CACHE_F_ALL;
    sc->cost_hint = 1;
    memcpy(sc->thresholds, taus, sizeof taus);
    sc->n_thresholds = SY_ARRAY_LEN(taus);
}

/* A number member in [lo, hi] (left alone when absent). */
static int num(const cJSON *o, const char *path, const char *key, double lo, double hi, double *out,
               char *err, size_t el)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    if (!v)
        return SY_OK;
    if (!cJSON_IsNumber(v) || !isfinite(v->valuedouble) || v->valuedouble < lo ||
        v->valuedouble > hi) {
        snprintf(err, el, "%s%s: expected a number in [%g, %g]", path, key, lo, hi);
        return SY_ERR_INVALID;
    }
    *out = v->valuedouble;
    return SY_OK;
}

/* A boolean member (left alone when absent). */
static int boolean(const cJSON *o, const char *key, int *out, char *err, size_t el)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    if (!v)
        return SY_OK;
    if (!cJSON_IsBool(v)) {
        snprintf(err, el, "$.%s: expected true or false", key);
        return SY_ERR_INVALID;
    }
    *out = cJSON_IsTrue(v) ? 1 : 0;
    return SY_OK;
}

static int known(const cJSON *o, const char *path, const char *const *keys, char *err, size_t el)
{
    for (const cJSON *it = o->child; it; it = it->next) {
        int ok = it->string[0] == '_';
        for (size_t i = 0; keys[i] && !ok; i++)
            ok = strcmp(it->string, keys[i]) == 0;
        if (!ok) {
            snprintf(err, el, "%s%s: unknown field", path, it->string);
            return SY_ERR_INVALID;
        }
    }
    return SY_OK;
}

/* {"lo", "hi", "a", "b"}: lo ≤ hi in [0, 1], a and b > 0. */
static int beta(const cJSON *root, const char *key, sy_sim_beta *b, char *err, size_t el)
{
    static const char *const keys[] = {"lo", "hi", "a", "b", NULL};
    const cJSON *o = cJSON_GetObjectItemCaseSensitive(root, key);
    char path[64];
    snprintf(path, sizeof path, "$.%s.", key);
    if (!o)
        return SY_OK;
    if (!cJSON_IsObject(o)) {
        snprintf(err, el, "$.%s: expected an object {\"lo\", \"hi\", \"a\", \"b\"}", key);
        return SY_ERR_INVALID;
    }
    int rc = known(o, path, keys, err, el);
    if (!rc)
        rc = num(o, path, "lo", 0, 1, &b->lo, err, el);
    if (!rc)
        rc = num(o, path, "hi", 0, 1, &b->hi, err, el);
    if (!rc)
        rc = num(o, path, "a", 1e-3, 1e3, &b->a, err, el);
    if (!rc)
        rc = num(o, path, "b", 1e-3, 1e3, &b->b, err, el);
    if (!rc && b->lo > b->hi) {
        snprintf(err, el, "$.%s: lo must not exceed hi", key);
        rc = SY_ERR_INVALID;
    }
    return rc;
}

static int thresholds(const cJSON *root, sy_sim_cache_scenario *sc, char *err, size_t el)
{
    const cJSON *t = cJSON_GetObjectItemCaseSensitive(root, "thresholds");
    if (!t)
        return SY_OK;
    int n = cJSON_IsArray(t) ? cJSON_GetArraySize(t) : -1;
    if (n < 0 || n > SY_SIM_CACHE_MAX_THRESHOLDS) {
        snprintf(err, el, "$.thresholds: expected an array of at most %d numbers in [0, 1]",
                 SY_SIM_CACHE_MAX_THRESHOLDS);
        return SY_ERR_INVALID;
    }
    sc->n_thresholds = 0;
    for (const cJSON *v = t->child; v; v = v->next) {
        if (!cJSON_IsNumber(v) || !(v->valuedouble >= 0 && v->valuedouble <= 1)) {
            snprintf(err, el, "$.thresholds[%zu]: expected a number in [0, 1]", sc->n_thresholds);
            return SY_ERR_INVALID;
        }
        sc->thresholds[sc->n_thresholds++] = v->valuedouble;
    }
    return SY_OK;
}

/* "arm_features": ["similarity", "ratings", "kinds"] — the groups the cache arm sees. */
static int arm_features(const cJSON *root, sy_sim_cache_scenario *sc, char *err, size_t el)
{
    static const char *const names[] = {"similarity", "ratings", "kinds"};
    const cJSON *a = cJSON_GetObjectItemCaseSensitive(root, "arm_features");
    if (!a)
        return SY_OK;
    if (!cJSON_IsArray(a)) {
        snprintf(err, el,
                 "$.arm_features: expected an array of \"similarity\", \"ratings\", "
                 "\"kinds\"");
        return SY_ERR_INVALID;
    }
    sc->arm_features = 0;
    size_t i = 0;
    for (const cJSON *v = a->child; v; v = v->next, i++) {
        size_t j = 0;
        while (j < SY_ARRAY_LEN(names) &&
               !(cJSON_IsString(v) && strcmp(v->valuestring, names[j]) == 0))
            j++;
        if (j == SY_ARRAY_LEN(names)) {
            snprintf(err, el,
                     "$.arm_features[%zu]: expected \"similarity\", \"ratings\" or "
                     "\"kinds\"",
                     i);
            return SY_ERR_INVALID;
        }
        sc->arm_features |= 1u << j;
    }
    return SY_OK;
}

/* "near_miss_by_task": {"task": share, ...} */
static int near_tasks(const cJSON *root, sy_sim_cache_scenario *sc, char *err, size_t el)
{
    const cJSON *o = cJSON_GetObjectItemCaseSensitive(root, "near_miss_by_task");
    if (!o)
        return SY_OK;
    if (!cJSON_IsObject(o)) {
        snprintf(err, el, "$.near_miss_by_task: expected an object {\"task\": share}");
        return SY_ERR_INVALID;
    }
    for (const cJSON *v = o->child; v; v = v->next) {
        if (sc->n_near_tasks == SY_POLICY_MAX_ARMS) {
            snprintf(err, el, "$.near_miss_by_task: at most %d tasks", SY_POLICY_MAX_ARMS);
            return SY_ERR_INVALID;
        }
        double share = 0;
        int rc = num(o, "$.near_miss_by_task.", v->string, 0, 1, &share, err, el);
        if (rc)
            return rc;
        sc->near_tasks[sc->n_near_tasks] = sy_xstrdup(v->string);
        sc->near_task_share[sc->n_near_tasks++] = share;
    }
    return SY_OK;
}

void sy_sim_cache_scenario_free(sy_sim_cache_scenario *sc)
{
    for (size_t i = 0; i < sc->n_near_tasks; i++)
        free(sc->near_tasks[i]);
    sc->n_near_tasks = 0;
}

int sy_sim_cache_scenario_parse(const char *json, size_t len, sy_sim_cache_scenario *out, char *err,
                                size_t err_len)
{
    static const char *const keys[] = {"steps",
                                       "repeat",
                                       "exact",
                                       "near_miss",
                                       "unrelated",
                                       "paraphrase_similarity",
                                       "near_miss_similarity",
                                       "unrelated_similarity",
                                       "near_miss_quality",
                                       "cache_latency_s",
                                       "threshold",
                                       "thresholds",
                                       "floor",
                                       "near_miss_by_task",
                                       "feedback",
                                       "repeat_finds_nearest",
                                       "arm_features",
                                       "cost_hint",
                                       NULL};
    defaults(out);
    cJSON *root = cJSON_ParseWithLength(json, len);
    if (!cJSON_IsObject(root)) {
        snprintf(err, err_len, "$: expected a JSON object");
        cJSON_Delete(root);
        return SY_ERR_INVALID;
    }
    double steps = 0;
    int rc = known(root, "$.", keys, err, err_len);
    if (!rc)
        rc = num(root, "$.", "steps", 0, 1e8, &steps, err, err_len);
    if (!rc)
        rc = num(root, "$.", "repeat", 0, 1, &out->repeat, err, err_len);
    if (!rc)
        rc = num(root, "$.", "exact", 0, 1, &out->exact, err, err_len);
    if (!rc)
        rc = num(root, "$.", "near_miss", 0, 1, &out->near_miss, err, err_len);
    if (!rc)
        rc = num(root, "$.", "unrelated", 0, 1, &out->unrelated, err, err_len);
    if (!rc)
        rc = beta(root, "paraphrase_similarity", &out->paraphrase, err, err_len);
    if (!rc)
        rc = beta(root, "near_miss_similarity", &out->near, err, err_len);
    if (!rc)
        rc = beta(root, "unrelated_similarity", &out->far, err, err_len);
    if (!rc)
        rc = num(root, "$.", "near_miss_quality", 0, 1, &out->near_miss_quality, err, err_len);
    if (!rc)
        rc = num(root, "$.", "cache_latency_s", 0, 60, &out->cache_latency_s, err, err_len);
    if (!rc)
        rc = num(root, "$.", "threshold", 0, 0.999, &out->threshold, err, err_len);
    if (!rc)
        rc = thresholds(root, out, err, err_len);
    if (!rc)
        rc = num(root, "$.", "floor", 0, 1, &out->floor, err, err_len);
    if (!rc)
        rc = near_tasks(root, out, err, err_len);
    if (!rc)
        rc = num(root, "$.", "feedback", 0, 1, &out->feedback, err, err_len);
    if (!rc)
        rc = boolean(root, "repeat_finds_nearest", &out->repeat_finds_nearest, err, err_len);
    if (!rc)
        rc = arm_features(root, out, err, err_len);
    if (!rc)
        rc = boolean(root, "cost_hint", &out->cost_hint, err, err_len);
    out->steps = (size_t)steps;
    cJSON_Delete(root);
    return rc;
}
