/*
 * fake_quality: prompt-dependent hidden qualities (see fake_quality.h). Formats are
 * judged by the router's own detectors (policies/featurize.h) over the same leading
 * bytes the router reads, so a "format" rule and the router's flag agree by design.
 */
#include "fake_quality.h"

#include "featurize.h"

#include <string.h>

static unsigned char lower(unsigned char c)
{
    return c >= 'A' && c <= 'Z' ? (unsigned char)(c - 'A' + 'a') : c;
}

/* needle occurs in s[0..n), ASCII letters compared case-insensitively. */
static int contains_ci(const char *s, size_t n, const char *needle)
{
    size_t m = strlen(needle);
    for (size_t i = 0; m <= n && i <= n - m; i++) {
        size_t k = 0;
        while (k < m && lower((unsigned char)s[i + k]) == lower((unsigned char)needle[k]))
            k++;
        if (k == m)
            return 1;
    }
    return 0;
}

/* The formats the text has, as fp_format bits. */
static unsigned text_formats(const char *s, size_t n)
{
    return (sy_text_has_code(s, n) ? FP_FORMAT_CODE : 0u) |
           (sy_text_has_math(s, n) ? FP_FORMAT_MATH : 0u) |
           (sy_text_has_choices(s, n) ? FP_FORMAT_CHOICE : 0u) |
           (sy_text_is_non_latin(s, n) ? FP_FORMAT_NON_LATIN : 0u);
}

/* Every condition the rule states holds ("any of" within each list). */
static int rule_matches(const fp_quality_rule *r, const char *tag, const char *s, size_t n,
                        unsigned *fmt, int *fmt_known)
{
    if (r->n_tags) {
        int hit = 0;
        for (size_t i = 0; tag && i < r->n_tags && !hit; i++)
            hit = strcmp(tag, r->tags[i]) == 0;
        if (!hit)
            return 0;
    }
    if (r->n_contains) {
        int hit = 0;
        for (size_t i = 0; i < r->n_contains && !hit; i++)
            hit = contains_ci(s, n, r->contains[i]);
        if (!hit)
            return 0;
    }
    if (r->formats) {
        if (!*fmt_known) {
            *fmt = text_formats(s, n);
            *fmt_known = 1;
        }
        if (!(r->formats & *fmt))
            return 0;
    }
    return 1;
}

double fp_quality_for(const fp_model *m, const char *tag, const char *text, size_t len, int *rule)
{
    const char *s = text ? text : "";
    size_t n = text ? (len < SY_FEATURE_SCAN_BYTES ? len : SY_FEATURE_SCAN_BYTES) : 0;
    unsigned fmt = 0;
    int fmt_known = 0;
    for (size_t i = 0; i < m->n_qrules; i++) {
        if (rule_matches(&m->qrules[i], tag, s, n, &fmt, &fmt_known)) {
            if (rule)
                *rule = (int)i;
            return m->qrules[i].quality;
        }
    }
    if (rule)
        *rule = -1;
    return m->quality;
}

/* A string list as the scenario writes it: one string, or an array. */
static cJSON *strings_json(char *const *v, size_t n)
{
    if (n == 1)
        return cJSON_CreateString(v[0]);
    cJSON *a = cJSON_CreateArray();
    for (size_t i = 0; i < n; i++)
        cJSON_AddItemToArray(a, cJSON_CreateString(v[i]));
    return a;
}

static cJSON *rules_json(const fp_model *m)
{
    cJSON *list = cJSON_CreateArray();
    for (size_t i = 0; i < m->n_qrules; i++) {
        const fp_quality_rule *r = &m->qrules[i];
        cJSON *o = cJSON_CreateObject(), *match = cJSON_AddObjectToObject(o, "match");
        if (r->n_tags)
            cJSON_AddItemToObject(match, "tag", strings_json(r->tags, r->n_tags));
        if (r->n_contains)
            cJSON_AddItemToObject(match, "contains", strings_json(r->contains, r->n_contains));
        if (r->formats) {
            cJSON *f = cJSON_AddArrayToObject(match, "format");
            for (unsigned bit = 1; bit <= FP_FORMAT_LAST; bit <<= 1)
                if (r->formats & bit)
                    cJSON_AddItemToArray(f, cJSON_CreateString(fp_format_name(bit)));
        }
        cJSON_AddNumberToObject(o, "quality", r->quality);
        cJSON_AddItemToArray(list, o);
    }
    return list;
}

cJSON *fp_quality_doc(const fp_scenario *s)
{
    cJSON *doc = cJSON_CreateObject();
    cJSON *models = cJSON_AddObjectToObject(doc, "models");
    for (size_t i = 0; i < s->n_models; i++)
        cJSON_AddNumberToObject(models, s->models[i].name, s->models[i].quality);
    cJSON_AddNumberToObject(doc, "default", s->defaults.quality);
    cJSON *rules = cJSON_AddObjectToObject(doc, "rules");
    for (size_t i = 0; i < s->n_models; i++)
        if (s->models[i].n_qrules)
            cJSON_AddItemToObject(rules, s->models[i].name, rules_json(&s->models[i]));
    if (!s->n_models && s->defaults.n_qrules)
        cJSON_AddItemToObject(rules, "default", rules_json(&s->defaults));
    return doc;
}

/* One prompt's entry of the batch answer: every listed model's quality, and the
 * defaults' (what an unlisted name gets when the scenario lists none). */
static cJSON *prompt_qualities(const fp_scenario *s, const char *tag, const char *text)
{
    size_t n = strlen(text);
    cJSON *o = cJSON_CreateObject(), *models = cJSON_AddObjectToObject(o, "models");
    for (size_t i = 0; i < s->n_models; i++)
        cJSON_AddNumberToObject(models, s->models[i].name,
                                fp_quality_for(&s->models[i], tag, text, n, NULL));
    cJSON_AddNumberToObject(o, "default", fp_quality_for(&s->defaults, tag, text, n, NULL));
    return o;
}

int fp_quality_batch(const fp_scenario *s, const char *body, size_t len, cJSON **out, sy_buf *err)
{
    *out = NULL;
    cJSON *root = cJSON_ParseWithLength(body ? body : "", len);
    const cJSON *prompts = cJSON_GetObjectItemCaseSensitive(root, "prompts");
    int rc = SY_OK;
    if (!cJSON_IsObject(root))
        rc = fp_bad(err, NULL, "body must be a JSON object {\"prompts\": [...]}");
    else if (!cJSON_IsArray(prompts))
        rc = fp_bad(err, "prompts", "required: an array of {\"text\", \"tag\"} objects");
    else if (cJSON_GetArraySize(prompts) > FP_QUALITY_MAX_PROMPTS)
        rc = fp_bad(err, "prompts", "at most %d prompts", FP_QUALITY_MAX_PROMPTS);
    cJSON *doc = rc ? NULL : cJSON_CreateObject();
    cJSON *list = doc ? cJSON_AddArrayToObject(doc, "qualities") : NULL;
    size_t i = 0;
    const cJSON *it;
    char p[64];
    const cJSON *to_score = rc ? NULL : prompts; /* none once refused */
    cJSON_ArrayForEach(it, to_score)
    {
        const cJSON *text = cJSON_GetObjectItemCaseSensitive(it, "text");
        const cJSON *tag = cJSON_GetObjectItemCaseSensitive(it, "tag");
        snprintf(p, sizeof p, "prompts[%zu]", i++);
        if (!cJSON_IsObject(it) || !cJSON_IsString(text) ||
            (tag && !cJSON_IsNull(tag) && !cJSON_IsString(tag))) {
            rc = fp_bad(err, p, "expected {\"text\": string, \"tag\": string or null}");
            break;
        }
        cJSON_AddItemToArray(
            list,
            prompt_qualities(s, cJSON_IsString(tag) ? tag->valuestring : NULL, text->valuestring));
    }
    cJSON_Delete(root);
    if (rc) {
        cJSON_Delete(doc);
        return rc;
    }
    *out = doc;
    return SY_OK;
}
