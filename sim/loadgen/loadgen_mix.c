/*
 * loadgen_mix: the prompt mix `switchyard loadgen --mix` replays, and the hidden quality
 * of each answer (loadgen_internal.h, docs/simulator.md). A line is the generic
 * full-information JSONL of `switchyard sim --jsonl` or a subset of it, so a dataset
 * converted for the simulator replays live as it is.
 */
#include "loadgen_internal.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define NO_KIND "other" /* the kind of a line that names none */

static int bad(sy_buf *err, const char *path, long line, const char *msg)
{
    sy_buf_reset(err);
    sy_buf_printf(err, "%s:%ld: %s", path, line, msg);
    return -1;
}

/* The kind's index, added on first sight; -1 when LG_MAX_KINDS are taken. */
static int kind_index(lg_mix *mix, const char *name, int tagged)
{
    for (size_t i = 0; i < mix->n_kinds; i++)
        if (strcmp(mix->kinds[i], name) == 0)
            return (int)i;
    if (mix->n_kinds == LG_MAX_KINDS)
        return -1;
    mix->kinds[mix->n_kinds] = sy_xstrdup(name);
    mix->kind_tagged[mix->n_kinds] = tagged;
    return (int)mix->n_kinds++;
}

/* A quality in [0, 1]; a missing one (null) is skipped, as the simulator does. */
static int outcome_quality(const cJSON *v, double *q)
{
    if (cJSON_IsObject(v))
        v = cJSON_GetObjectItemCaseSensitive(v, "quality");
    if (!v || cJSON_IsNull(v))
        return 0;
    if (!cJSON_IsNumber(v) || !isfinite(v->valuedouble) || v->valuedouble < 0 || v->valuedouble > 1)
        return -1;
    *q = v->valuedouble;
    return 1;
}

/* The line's outcomes as {"<model>": q}; NULL with *msg set on a bad value. */
static cJSON *parse_outcomes(const cJSON *o, const char **msg)
{
    if (!cJSON_IsObject(o)) {
        *msg = "\"outcomes\" must be an object keyed by model";
        return NULL;
    }
    cJSON *out = cJSON_CreateObject();
    const cJSON *it;
    cJSON_ArrayForEach(it, o)
    {
        double q = 0;
        int rc = outcome_quality(it, &q);
        if (rc < 0) {
            *msg = "an outcome's quality must be a number in [0, 1] or null";
            cJSON_Delete(out);
            return NULL;
        }
        if (rc > 0)
            cJSON_AddNumberToObject(out, it->string, q);
    }
    return out;
}

/* One non-blank line into *p; a message on failure. */
static const char *parse_line(lg_mix *mix, const char *text, size_t len, lg_prompt *p)
{
    cJSON *o = cJSON_ParseWithLength(text, len);
    const char *msg = NULL;
    if (!cJSON_IsObject(o)) {
        cJSON_Delete(o);
        return "not a JSON object";
    }
    const cJSON *prompt = cJSON_GetObjectItemCaseSensitive(o, "prompt");
    const cJSON *kind = cJSON_GetObjectItemCaseSensitive(o, "kind");
    const cJSON *sys = cJSON_GetObjectItemCaseSensitive(o, "system");
    const cJSON *outc = cJSON_GetObjectItemCaseSensitive(o, "outcomes");
    if (!kind)
        kind = cJSON_GetObjectItemCaseSensitive(o, "task");
    if (!cJSON_IsString(prompt) || !prompt->valuestring[0])
        msg = "\"prompt\" must be a non-empty string";
    else if (kind && (!cJSON_IsString(kind) || !kind->valuestring[0]))
        msg = "\"kind\" (or \"task\") must be a non-empty string";
    else if (sys && !cJSON_IsNull(sys) && !cJSON_IsString(sys))
        msg = "\"system\" must be a string";
    if (!msg && outc && !cJSON_IsNull(outc))
        p->outcomes = parse_outcomes(outc, &msg); /* NULL with msg set when bad */
    if (!msg && (p->kind = kind_index(mix, kind ? kind->valuestring : NO_KIND, kind != NULL)) < 0)
        msg = "more than 64 kinds of prompt";
    if (!msg) {
        p->text = sy_xstrdup(prompt->valuestring);
        p->system = cJSON_IsString(sys) ? sy_xstrdup(sys->valuestring) : NULL;
    }
    cJSON_Delete(o);
    return msg;
}

int lg_mix_load(const char *path, lg_mix *mix, sy_buf *err)
{
    memset(mix, 0, sizeof *mix);
    FILE *f = fopen(path, "r");
    if (!f) {
        sy_buf_reset(err);
        sy_buf_printf(err, "%s: cannot open", path);
        return -1;
    }
    char *line = NULL;
    size_t cap = 0, alloc = 0;
    ssize_t len;
    long lineno = 0;
    int rc = 0;
    while (!rc && (len = getline(&line, &cap, f)) >= 0) {
        lineno++;
        size_t i = 0;
        while (i < (size_t)len &&
               (line[i] == ' ' || line[i] == '\t' || line[i] == '\r' || line[i] == '\n'))
            i++;
        if (i == (size_t)len)
            continue;
        if (mix->n == LG_MAX_MIX) {
            rc = bad(err, path, lineno, "more than 1000000 prompts");
            break;
        }
        if (mix->n == alloc) {
            alloc = alloc ? 2 * alloc : 256;
            mix->p = sy_xrealloc(mix->p, alloc * sizeof *mix->p);
        }
        lg_prompt *p = &mix->p[mix->n];
        memset(p, 0, sizeof *p);
        const char *msg = parse_line(mix, line, (size_t)len, p);
        if (msg) {
            cJSON_Delete(p->outcomes);
            rc = bad(err, path, lineno, msg);
            break;
        }
        mix->n++;
        mix->n_without_outcomes += p->outcomes == NULL;
    }
    free(line);
    fclose(f);
    if (!rc && mix->n == 0)
        rc = bad(err, path, lineno, "no prompt in the file");
    if (rc)
        lg_mix_free(mix);
    return rc;
}

int lg_mix_fetch_qualities(lg_mix *mix, const char *fake_url, sy_buf *err)
{
    cJSON *req = cJSON_CreateObject();
    cJSON *list = cJSON_AddArrayToObject(req, "prompts");
    for (size_t i = 0; i < mix->n; i++) {
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "text", mix->p[i].text);
        if (mix->kind_tagged[mix->p[i].kind])
            cJSON_AddStringToObject(o, "tag", mix->kinds[mix->p[i].kind]);
        cJSON_AddItemToArray(list, o);
    }
    char *body = cJSON_PrintUnformatted(req);
    cJSON_Delete(req);
    char url[1024];
    snprintf(url, sizeof url, "%s/_fake/quality", fake_url);
    CURL *h = curl_easy_init();
    lg_resp r = {0};
    long status = lg_http(h, url, NULL, NULL, body, &r);
    curl_easy_cleanup(h);
    free(body);
    cJSON *doc = status == 200 ? cJSON_ParseWithLength(r.body.data, r.body.len) : NULL;
    sy_buf_free(&r.body);
    const cJSON *q = cJSON_GetObjectItemCaseSensitive(doc, "qualities");
    int rc = 0;
    if (!cJSON_IsArray(q) || (size_t)cJSON_GetArraySize(q) != mix->n) {
        sy_buf_reset(err);
        sy_buf_printf(err, "POST %s answered HTTP %ld without one quality per prompt", url, status);
        rc = -1;
    }
    for (size_t i = 0; !rc && i < mix->n; i++)
        mix->p[i].qualities = cJSON_Duplicate(cJSON_GetArrayItem(q, (int)i), 1);
    cJSON_Delete(doc);
    return rc;
}

static double number_of(const cJSON *obj, const char *key)
{
    const cJSON *v = key ? cJSON_GetObjectItemCaseSensitive(obj, key) : NULL;
    return cJSON_IsNumber(v) ? v->valuedouble : -1;
}

double lg_mix_quality(const lg_prompt *p, const char *upstream, const char *model)
{
    double q = number_of(p->outcomes, upstream);
    if (q < 0)
        q = number_of(p->outcomes, model);
    if (q >= 0 || !p->qualities)
        return q;
    q = number_of(cJSON_GetObjectItemCaseSensitive(p->qualities, "models"), upstream);
    const cJSON *models = cJSON_GetObjectItemCaseSensitive(p->qualities, "models");
    if (q < 0 && cJSON_GetArraySize(models) == 0) /* the fake accepts any name */
        q = number_of(p->qualities, "default");
    return q;
}

void lg_mix_free(lg_mix *mix)
{
    for (size_t i = 0; i < mix->n; i++) {
        free(mix->p[i].text);
        free(mix->p[i].system);
        cJSON_Delete(mix->p[i].outcomes);
        cJSON_Delete(mix->p[i].qualities);
    }
    free(mix->p);
    for (size_t i = 0; i < mix->n_kinds; i++)
        free(mix->kinds[i]);
    memset(mix, 0, sizeof *mix);
}
