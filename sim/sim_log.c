/*
 * sim_log: logged bandit data for the off-policy estimators (see sim_data.h).
 */
#include "sim_csv.h"
#include "sim_data.h"
#include "sy_common.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void sy_sim_log_free(sy_sim_log *lg)
{
    for (size_t k = 0; k < lg->n_arms; k++)
        free(lg->arm_names[k]);
    free(lg->arm);
    free(lg->propensity);
    free(lg->quality);
    free(lg->cost);
    free(lg->latency);
    free(lg->x);
    free(lg->slot);
    memset(lg, 0, sizeof(*lg));
}

static int log_arm(sy_sim_log *lg, const char *name)
{
    for (size_t k = 0; k < lg->n_arms; k++)
        if (strcmp(lg->arm_names[k], name) == 0)
            return (int)k;
    if (lg->n_arms == SY_POLICY_MAX_ARMS)
        return SY_ERR_LIMIT;
    lg->arm_names[lg->n_arms] = sy_xstrdup(name);
    return (int)lg->n_arms++;
}

static size_t log_add(sy_sim_log *lg)
{
    if (lg->n == lg->cap) {
        lg->cap = lg->cap ? 2 * lg->cap : 1024;
        lg->arm = sy_xrealloc(lg->arm, lg->cap * sizeof(size_t));
        lg->propensity = sy_xrealloc(lg->propensity, lg->cap * sizeof(double));
        lg->quality = sy_xrealloc(lg->quality, lg->cap * sizeof(double));
        lg->cost = sy_xrealloc(lg->cost, lg->cap * sizeof(double));
        lg->latency = sy_xrealloc(lg->latency, lg->cap * sizeof(double));
        lg->slot = sy_xrealloc(lg->slot, lg->cap * sizeof(unsigned));
        lg->x = sy_xrealloc(lg->x, lg->cap * (lg->dim ? lg->dim : 1) * sizeof(double));
    }
    size_t i = lg->n++;
    lg->slot[i] = 0;
    return i;
}

int sy_sim_load_export(const char *path, const char *route, int need_rating, sy_sim_log *lg,
                       char *err, size_t err_len)
{
    char *text;
    size_t len;
    int rc = sy_sim_read_file(path, &text, &len, err, err_len);
    if (rc)
        return rc;
    char *first_route = NULL;
    size_t lineno = 0;
    int dim_set = 0;
    for (char *p = text, *e; *p && rc == 0; p = e + (*e != 0)) {
        e = strchr(p, '\n');
        if (!e)
            e = p + strlen(p);
        lineno++;
        if (e == p)
            continue;
        cJSON *o = cJSON_ParseWithLength(p, (size_t)(e - p));
        const cJSON *rt = o ? cJSON_GetObjectItem(o, "route") : NULL;
        const cJSON *model = o ? cJSON_GetObjectItem(o, "model") : NULL;
        const cJSON *prop = o ? cJSON_GetObjectItem(o, "propensity") : NULL;
        const cJSON *ctx = o ? cJSON_GetObjectItem(o, "context") : NULL;
        const cJSON *outc = o ? cJSON_GetObjectItem(o, "outcome") : NULL;
        const cJSON *fb = o ? cJSON_GetObjectItem(o, "feedback") : NULL;
        if (!cJSON_IsObject(o) || !cJSON_IsString(rt) || !cJSON_IsString(model) ||
            (ctx && !cJSON_IsArray(ctx))) {
            snprintf(err, err_len,
                     "%s: line %zu: not a line of `switchyard export` (needs route, model, "
                     "propensity, context)",
                     path, lineno);
            cJSON_Delete(o);
            rc = SY_ERR_INVALID;
            break;
        }
        if (route ? strcmp(route, rt->valuestring) != 0 : 0) {
            cJSON_Delete(o);
            continue;
        }
        if (!route) {
            if (!first_route) {
                first_route = sy_xstrdup(rt->valuestring);
            } else if (strcmp(first_route, rt->valuestring) != 0) {
                snprintf(err, err_len,
                         "%s: the log holds several routes (\"%s\", \"%s\", ...): choose one "
                         "with --log-route",
                         path, first_route, rt->valuestring);
                cJSON_Delete(o);
                rc = SY_ERR_INVALID;
                break;
            }
        }
        const cJSON *status = cJSON_IsObject(outc) ? cJSON_GetObjectItem(outc, "status") : NULL;
        const cJSON *oerr = cJSON_IsObject(outc) ? cJSON_GetObjectItem(outc, "error") : NULL;
        const cJSON *fv = cJSON_IsObject(fb) ? cJSON_GetObjectItem(fb, "value") : NULL;
        int ok = cJSON_IsNumber(prop) && prop->valuedouble > 0 && prop->valuedouble <= 1 &&
                 cJSON_IsObject(outc) && cJSON_IsNumber(status) && status->valueint >= 200 &&
                 status->valueint < 300 && (!oerr || cJSON_IsNull(oerr)) &&
                 (!need_rating || cJSON_IsNumber(fv));
        size_t d = ctx ? (size_t)cJSON_GetArraySize(ctx) : 0;
        int numeric = 1;
        for (const cJSON *v = ctx ? ctx->child : NULL; v; v = v->next)
            numeric &= cJSON_IsNumber(v) && isfinite(v->valuedouble);
        if (!numeric) {
            snprintf(err, err_len, "%s: line %zu: \"context\" must be an array of numbers", path,
                     lineno);
            cJSON_Delete(o);
            rc = SY_ERR_INVALID;
            break;
        }
        if (ok && dim_set && d != lg->dim)
            ok = 0; /* another featurizer dimension: not comparable */
        if (!ok) {
            lg->skipped++;
            cJSON_Delete(o);
            continue;
        }
        if (!dim_set) {
            lg->dim = d;
            dim_set = 1;
        }
        int k = log_arm(lg, model->valuestring);
        if (k < 0) {
            snprintf(err, err_len, "%s: more than %d models on the route", path,
                     SY_POLICY_MAX_ARMS);
            cJSON_Delete(o);
            rc = SY_ERR_LIMIT;
            break;
        }
        size_t i = log_add(lg);
        lg->arm[i] = (size_t)k;
        lg->propensity[i] = prop->valuedouble;
        lg->quality[i] = cJSON_IsNumber(fv) ? fv->valuedouble : NAN;
        const cJSON *c = cJSON_GetObjectItem(outc, "cost_usd");
        const cJSON *l = cJSON_GetObjectItem(outc, "latency_ms");
        lg->cost[i] = cJSON_IsNumber(c) ? c->valuedouble : NAN;
        lg->latency[i] = cJSON_IsNumber(l) ? l->valuedouble / 1000 : NAN;
        size_t j = 0;
        for (const cJSON *v = ctx ? ctx->child : NULL; v; v = v->next, j++)
            lg->x[i * lg->dim + j] = v->valuedouble;
        cJSON_Delete(o);
    }
    free(first_route);
    free(text);
    if (rc == 0 && lg->n == 0) {
        snprintf(err, err_len,
                 "%s: no usable request (each needs a propensity, a successful outcome%s)", path,
                 need_rating ? " and feedback" : "");
        rc = SY_ERR_INVALID;
    }
    return rc;
}

size_t sy_sim_log_require_quality(sy_sim_log *lg)
{
    size_t w = 0, d = lg->dim;
    for (size_t i = 0; i < lg->n; i++) {
        if (isnan(lg->quality[i]))
            continue;
        lg->arm[w] = lg->arm[i];
        lg->propensity[w] = lg->propensity[i];
        lg->quality[w] = lg->quality[i];
        lg->cost[w] = lg->cost[i];
        lg->latency[w] = lg->latency[i];
        lg->slot[w] = lg->slot[i];
        if (d)
            memmove(lg->x + w * d, lg->x + i * d, d * sizeof(double));
        w++;
    }
    size_t gone = lg->n - w;
    lg->n = w;
    lg->skipped += gone;
    return gone;
}

/* FNV-1a of a string: the user features of OBD are hashed category ids. */
static uint64_t fnv1a(const char *s, size_t n)
{
    uint64_t h = 1469598103934665603ull;
    for (size_t i = 0; i < n; i++) {
        h ^= (unsigned char)s[i];
        h *= 1099511628211ull;
    }
    return h;
}

#define OBD_DIM 24

int sy_sim_load_obd(const char *path, sy_sim_log *lg, char *err, size_t err_len)
{
    char *text;
    size_t len;
    int rc = sy_sim_read_file(path, &text, &len, err, err_len);
    if (rc)
        return rc;
    sy_csv c;
    sy_csv_init(&c, text, len);
    long item = -1, pos = -1, click = -1, prop = -1, uf[8];
    size_t n_uf = 0, n_cols;
    int got = sy_csv_next(&c);
    if (got <= 0) {
        snprintf(err, err_len, "%s: %s", path, got == 0 ? "empty file" : c.err);
        rc = SY_ERR_INVALID;
        goto out;
    }
    n_cols = c.n_fields;
    for (size_t j = 0; j < n_cols; j++) {
        const char *h = c.fields[j].s;
        if (strcmp(h, "item_id") == 0)
            item = (long)j;
        else if (strcmp(h, "position") == 0)
            pos = (long)j;
        else if (strcmp(h, "click") == 0)
            click = (long)j;
        else if (strcmp(h, "propensity_score") == 0)
            prop = (long)j;
        else if (strncmp(h, "user_feature_", 13) == 0 && n_uf < 8)
            uf[n_uf++] = (long)j;
    }
    if (item < 0 || click < 0 || prop < 0) {
        snprintf(err, err_len,
                 "%s: not an Open Bandit Dataset file (needs item_id, click, propensity_score)",
                 path);
        rc = SY_ERR_INVALID;
        goto out;
    }
    lg->dim = OBD_DIM;
    while ((got = sy_csv_next_row(&c, n_cols)) == 1) {
        char *end;
        long it = strtol(c.fields[item].s, &end, 10);
        int bad = *end || c.fields[item].len == 0 || it < 0 || it >= SY_POLICY_MAX_ARMS;
        double p = strtod(c.fields[prop].s, &end);
        bad |= *end || c.fields[prop].len == 0 || !(p > 0 && p <= 1);
        double cl = strtod(c.fields[click].s, &end);
        bad |= *end || c.fields[click].len == 0 || (cl != 0 && cl != 1);
        long ps = pos >= 0 ? strtol(c.fields[pos].s, &end, 10) : 0;
        bad |= pos >= 0 && (*end || ps < 0 || ps > 64);
        if (bad) {
            snprintf(err, err_len,
                     "%s: line %zu: item_id must be 0..63, propensity_score in (0,1], click 0/1",
                     path, c.record_line);
            rc = SY_ERR_INVALID;
            goto out;
        }
        while (lg->n_arms <= (size_t)it) {
            char name[32];
            snprintf(name, sizeof(name), "item%zu", lg->n_arms);
            log_arm(lg, name);
        }
        size_t i = log_add(lg);
        lg->arm[i] = (size_t)it;
        lg->propensity[i] = p;
        lg->quality[i] = cl;
        lg->cost[i] = 0;
        lg->latency[i] = 0;
        lg->slot[i] = (unsigned)ps;
        double *x = lg->x + i * OBD_DIM;
        memset(x, 0, OBD_DIM * sizeof(double));
        x[0] = 1;
        for (size_t f = 0; f < n_uf; f++) {
            uint64_t h =
                fnv1a(c.fields[uf[f]].s, c.fields[uf[f]].len) ^ (f * 0x9E3779B97F4A7C15ull);
            x[1 + h % (OBD_DIM - 1)] += 0.5;
        }
    }
    if (got < 0) {
        snprintf(err, err_len, "%s: %s", path, c.err);
        rc = SY_ERR_INVALID;
    }
    if (rc == 0 && lg->n == 0) {
        snprintf(err, err_len, "%s: no impressions", path);
        rc = SY_ERR_INVALID;
    }
out:
    sy_csv_free(&c);
    free(text);
    return rc;
}
