/*
 * fake_scenario: scenario parsing for fake-provider (the per-request decisions over a
 * parsed scenario are in fake_plan.c). Pure functions only (see fake_scenario.h).
 */
#include "fake_scenario.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const fault_names[FP_FAULT_COUNT] = {
    [FP_FAULT_NONE] = "none",
    [FP_FAULT_HTTP_400] = "http_400",
    [FP_FAULT_HTTP_429] = "http_429",
    [FP_FAULT_HTTP_429_QUOTA] = "http_429_quota",
    [FP_FAULT_HTTP_500] = "http_500",
    [FP_FAULT_HTTP_503] = "http_503",
    [FP_FAULT_HTTP_529] = "http_529",
    [FP_FAULT_RESET] = "reset",
    [FP_FAULT_STALL] = "stall",
    [FP_FAULT_MALFORMED_JSON] = "malformed_json",
    [FP_FAULT_CUT_STREAM] = "cut_stream",
    [FP_FAULT_ERROR_EVENT] = "error_event",
};

/* Built-in behaviour of a model when neither the model nor "defaults" says otherwise. */
#define FP_DEFAULT_LOREM_TOKENS 16
#define FP_DEFAULT_QUALITY      0.5
#define FP_MAX_SEED             9007199254740992.0 /* 2^53: exact in a JSON number */

const char *fp_fault_name(fp_fault f)
{
    if ((unsigned)f >= FP_FAULT_COUNT)
        return "none";
    return fault_names[f];
}

int fp_fault_parse(const char *name, fp_fault *out)
{
    for (int i = 1; i < FP_FAULT_COUNT; i++) {
        if (strcmp(name, fault_names[i]) == 0) {
            *out = (fp_fault)i;
            return SY_OK;
        }
    }
    return SY_ERR_INVALID;
}

int fp_fault_is_http(fp_fault f)
{
    return f >= FP_FAULT_HTTP_400 && f <= FP_FAULT_HTTP_529;
}

static const struct {
    const char *name;
    unsigned bit;
} formats[] = {
    {"code", FP_FORMAT_CODE},
    {"math", FP_FORMAT_MATH},
    {"choice", FP_FORMAT_CHOICE},
    {"non_latin", FP_FORMAT_NON_LATIN},
};

unsigned fp_format_parse(const char *name)
{
    for (size_t i = 0; i < SY_ARRAY_LEN(formats); i++)
        if (strcmp(name, formats[i].name) == 0)
            return formats[i].bit;
    return 0;
}

const char *fp_format_name(unsigned bit)
{
    for (size_t i = 0; i < SY_ARRAY_LEN(formats); i++)
        if (bit == formats[i].bit)
            return formats[i].name;
    return "";
}

void fp_fault_list(sy_buf *b)
{
    for (int i = 1; i < FP_FAULT_COUNT; i++)
        sy_buf_printf(b, "%s%s", i > 1 ? ", " : "", fault_names[i]);
}

/* ---- parsing helpers: each failure writes "path: message" and returns SY_ERR_INVALID */

int fp_bad(sy_buf *err, const char *path, const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    sy_buf_reset(err);
    if (path && *path)
        sy_buf_printf(err, "%s: %s", path, msg);
    else
        sy_buf_puts(err, msg);
    return SY_ERR_INVALID;
}

/* Format a JSON path into a fixed buffer; an over-long path ends in "...". */
static void path_fmt(char *dst, size_t cap, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void path_fmt(char *dst, size_t cap, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(dst, cap, fmt, ap);
    va_end(ap);
    if (n >= (int)cap && cap > 4)
        memcpy(dst + cap - 4, "...", 4);
}

/* Child path "parent.key" (or "key" at the root). */
static void join_path(char *dst, size_t cap, const char *parent, const char *key)
{
    if (parent && *parent)
        path_fmt(dst, cap, "%s.%s", parent, key);
    else
        path_fmt(dst, cap, "%s", key);
}

/*
 * Reject keys of obj not in allowed (NULL-terminated). Keys starting with '_' are
 * comments and always allowed. Duplicate keys are rejected too: cJSON keeps both and a
 * silent "last one wins" would hide typos.
 */
static int check_keys(const cJSON *obj, const char *path, const char *const *allowed, sy_buf *err)
{
    const cJSON *it;
    cJSON_ArrayForEach(it, obj)
    {
        const char *k = it->string;
        if (k[0] == '_')
            continue;
        int ok = 0;
        for (size_t i = 0; allowed[i]; i++)
            ok |= strcmp(k, allowed[i]) == 0;
        char p[256];
        join_path(p, sizeof p, path, k);
        if (!ok) {
            sy_buf list = {0};
            for (size_t i = 0; allowed[i]; i++)
                sy_buf_printf(&list, "%s%s", i ? ", " : "", allowed[i]);
            int rc = fp_bad(err, p, "unknown field (expected one of: %s)", list.data);
            sy_buf_free(&list);
            return rc;
        }
        for (const cJSON *j = it->next; j; j = j->next) {
            if (strcmp(j->string, k) == 0)
                return fp_bad(err, p, "duplicate field");
        }
    }
    return SY_OK;
}

static const char *type_name(const cJSON *v)
{
    if (cJSON_IsNull(v))
        return "null";
    if (cJSON_IsBool(v))
        return "a boolean";
    if (cJSON_IsNumber(v))
        return "a number";
    if (cJSON_IsString(v))
        return "a string";
    if (cJSON_IsArray(v))
        return "an array";
    return "an object";
}

/* A number in [lo, hi]. */
static int get_number(const cJSON *v, const char *path, double lo, double hi, double *out,
                      sy_buf *err)
{
    if (!cJSON_IsNumber(v))
        return fp_bad(err, path, "expected a number, got %s", type_name(v));
    double d = v->valuedouble;
    if (!isfinite(d) || d < lo || d > hi)
        return fp_bad(err, path, "must be between %g and %g, got %g", lo, hi, d);
    *out = d;
    return SY_OK;
}

/* An integer in [lo, hi] (JSON numbers with no fractional part). */
static int get_integer(const cJSON *v, const char *path, double lo, double hi, long *out,
                       sy_buf *err)
{
    double d = 0;
    int rc = get_number(v, path, lo, hi, &d, err);
    if (rc)
        return rc;
    if (d != floor(d))
        return fp_bad(err, path, "must be an integer, got %g", d);
    *out = (long)d;
    return SY_OK;
}

/* ---- models */

static void strings_free(char **v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(v[i]);
    free(v);
}

static char **strings_copy(char *const *v, size_t n)
{
    if (!n)
        return NULL;
    char **out = sy_xcalloc(n, sizeof *out);
    for (size_t i = 0; i < n; i++)
        out[i] = sy_xstrdup(v[i]);
    return out;
}

static void qrules_free(fp_quality_rule *r, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        strings_free(r[i].tags, r[i].n_tags);
        strings_free(r[i].contains, r[i].n_contains);
    }
    free(r);
}

static void model_clear(fp_model *m)
{
    free(m->name);
    free(m->content_text);
    free(m->errors);
    qrules_free(m->qrules, m->n_qrules);
    memset(m, 0, sizeof *m);
}

/* Deep copy: dst owns its own strings, error list and quality rules (dst->name is left
 * NULL). */
static void model_copy(fp_model *dst, const fp_model *src)
{
    *dst = *src;
    dst->name = NULL;
    dst->content_text = src->content_text ? sy_xstrdup(src->content_text) : NULL;
    dst->errors = NULL;
    if (src->n_errors) {
        dst->errors = sy_xmalloc(src->n_errors * sizeof *dst->errors);
        memcpy(dst->errors, src->errors, src->n_errors * sizeof *dst->errors);
    }
    dst->qrules = NULL;
    if (src->n_qrules) {
        dst->qrules = sy_xcalloc(src->n_qrules, sizeof *dst->qrules);
        for (size_t i = 0; i < src->n_qrules; i++) {
            const fp_quality_rule *r = &src->qrules[i];
            dst->qrules[i] = *r;
            dst->qrules[i].tags = strings_copy(r->tags, r->n_tags);
            dst->qrules[i].contains = strings_copy(r->contains, r->n_contains);
        }
    }
}

static void model_builtin(fp_model *m)
{
    memset(m, 0, sizeof *m);
    m->latency = (fp_dist){FP_DIST_FIXED, 0, 0};
    m->ttft = (fp_dist){FP_DIST_FIXED, 0, 0};
    m->content_mode = FP_CONTENT_LOREM;
    m->content_tokens = FP_DEFAULT_LOREM_TOKENS;
    m->chunk_tokens = 1;
    m->quality = FP_DEFAULT_QUALITY;
}

/*
 * A duration distribution: {"dist":"fixed","value":V} | {"dist":"uniform","min","max"} |
 * {"dist":"lognormal","median","sigma"}; a bare number is shorthand for fixed.
 */
static int parse_dist(const cJSON *v, const char *path, fp_dist *out, sy_buf *err)
{
    char p[256];
    if (cJSON_IsNumber(v)) {
        out->kind = FP_DIST_FIXED;
        out->b = 0;
        return get_number(v, path, 0, 1e9, &out->a, err);
    }
    if (!cJSON_IsObject(v))
        return fp_bad(err, path, "expected an object like {\"dist\":\"fixed\",\"value\":0}, got %s",
                      type_name(v));
    const cJSON *d = cJSON_GetObjectItemCaseSensitive(v, "dist");
    join_path(p, sizeof p, path, "dist");
    if (!cJSON_IsString(d))
        return fp_bad(err, p, "required: one of fixed, uniform, lognormal");
    int rc;
    if (strcmp(d->valuestring, "fixed") == 0) {
        static const char *const keys[] = {"dist", "value", NULL};
        if ((rc = check_keys(v, path, keys, err)))
            return rc;
        const cJSON *x = cJSON_GetObjectItemCaseSensitive(v, "value");
        join_path(p, sizeof p, path, "value");
        if (!x)
            return fp_bad(err, p, "required for dist \"fixed\"");
        out->kind = FP_DIST_FIXED;
        out->b = 0;
        return get_number(x, p, 0, 1e9, &out->a, err);
    }
    if (strcmp(d->valuestring, "uniform") == 0) {
        static const char *const keys[] = {"dist", "min", "max", NULL};
        if ((rc = check_keys(v, path, keys, err)))
            return rc;
        const cJSON *lo = cJSON_GetObjectItemCaseSensitive(v, "min");
        const cJSON *hi = cJSON_GetObjectItemCaseSensitive(v, "max");
        join_path(p, sizeof p, path, lo ? "max" : "min");
        if (!lo || !hi)
            return fp_bad(err, p, "required for dist \"uniform\"");
        out->kind = FP_DIST_UNIFORM;
        join_path(p, sizeof p, path, "min");
        if ((rc = get_number(lo, p, 0, 1e9, &out->a, err)))
            return rc;
        join_path(p, sizeof p, path, "max");
        if ((rc = get_number(hi, p, 0, 1e9, &out->b, err)))
            return rc;
        if (out->b < out->a)
            return fp_bad(err, p, "must be >= min (%g), got %g", out->a, out->b);
        return SY_OK;
    }
    if (strcmp(d->valuestring, "lognormal") == 0) {
        static const char *const keys[] = {"dist", "median", "sigma", NULL};
        if ((rc = check_keys(v, path, keys, err)))
            return rc;
        const cJSON *med = cJSON_GetObjectItemCaseSensitive(v, "median");
        const cJSON *sig = cJSON_GetObjectItemCaseSensitive(v, "sigma");
        join_path(p, sizeof p, path, med ? "sigma" : "median");
        if (!med || !sig)
            return fp_bad(err, p, "required for dist \"lognormal\"");
        out->kind = FP_DIST_LOGNORMAL;
        join_path(p, sizeof p, path, "median");
        if ((rc = get_number(med, p, 0, 1e9, &out->a, err)))
            return rc;
        if (out->a <= 0)
            return fp_bad(err, p, "must be > 0");
        join_path(p, sizeof p, path, "sigma");
        return get_number(sig, p, 0, 10, &out->b, err);
    }
    return fp_bad(err, p, "unknown distribution \"%s\" (expected fixed, uniform or lognormal)",
                  d->valuestring);
}

static int parse_content(const cJSON *v, const char *path, fp_model *m, sy_buf *err)
{
    char p[256];
    if (!cJSON_IsObject(v))
        return fp_bad(err, path,
                      "expected an object like {\"mode\":\"lorem\",\"tokens\":16}, got %s",
                      type_name(v));
    const cJSON *mode = cJSON_GetObjectItemCaseSensitive(v, "mode");
    join_path(p, sizeof p, path, "mode");
    if (!cJSON_IsString(mode))
        return fp_bad(err, p, "required: one of canned, echo, lorem");
    int rc;
    free(m->content_text);
    m->content_text = NULL;
    if (strcmp(mode->valuestring, "canned") == 0) {
        static const char *const keys[] = {"mode", "text", NULL};
        if ((rc = check_keys(v, path, keys, err)))
            return rc;
        const cJSON *t = cJSON_GetObjectItemCaseSensitive(v, "text");
        join_path(p, sizeof p, path, "text");
        if (!cJSON_IsString(t))
            return fp_bad(err, p, "required for mode \"canned\": a string");
        m->content_mode = FP_CONTENT_CANNED;
        m->content_text = sy_xstrdup(t->valuestring);
        return SY_OK;
    }
    if (strcmp(mode->valuestring, "echo") == 0) {
        static const char *const keys[] = {"mode", NULL};
        if ((rc = check_keys(v, path, keys, err)))
            return rc;
        m->content_mode = FP_CONTENT_ECHO;
        return SY_OK;
    }
    if (strcmp(mode->valuestring, "lorem") == 0) {
        static const char *const keys[] = {"mode", "tokens", NULL};
        if ((rc = check_keys(v, path, keys, err)))
            return rc;
        m->content_mode = FP_CONTENT_LOREM;
        m->content_tokens = FP_DEFAULT_LOREM_TOKENS;
        const cJSON *t = cJSON_GetObjectItemCaseSensitive(v, "tokens");
        join_path(p, sizeof p, path, "tokens");
        if (t)
            return get_integer(t, p, 0, FP_MAX_COUNT, &m->content_tokens, err);
        return SY_OK;
    }
    return fp_bad(err, p, "unknown content mode \"%s\" (expected canned, echo or lorem)",
                  mode->valuestring);
}

static int parse_errors(const cJSON *v, const char *path, fp_model *m, sy_buf *err)
{
    char p[256], q[288];
    if (!cJSON_IsArray(v))
        return fp_bad(err, path, "expected an array of {\"kind\",\"rate\"} objects, got %s",
                      type_name(v));
    size_t n = (size_t)cJSON_GetArraySize(v);
    fp_error_rule *rules = n ? sy_xcalloc(n, sizeof *rules) : NULL;
    double total = 0;
    size_t i = 0;
    int rc = SY_OK;
    const cJSON *it;
    cJSON_ArrayForEach(it, v)
    {
        static const char *const keys[] = {"kind", "rate", "retry_after_s", "after_tokens", NULL};
        path_fmt(p, sizeof p, "%s[%zu]", path, i);
        fp_error_rule *r = &rules[i++];
        if (!cJSON_IsObject(it)) {
            rc = fp_bad(err, p, "expected an object, got %s", type_name(it));
            break;
        }
        if ((rc = check_keys(it, p, keys, err)))
            break;
        const cJSON *kind = cJSON_GetObjectItemCaseSensitive(it, "kind");
        path_fmt(q, sizeof q, "%s.kind", p);
        if (!cJSON_IsString(kind) || fp_fault_parse(kind->valuestring, &r->kind)) {
            sy_buf list = {0};
            fp_fault_list(&list);
            if (cJSON_IsString(kind))
                rc = fp_bad(err, q, "unknown error kind \"%s\" (expected one of: %s)",
                            kind->valuestring, list.data);
            else
                rc = fp_bad(err, q, "required: one of %s", list.data);
            sy_buf_free(&list);
            break;
        }
        const cJSON *rate = cJSON_GetObjectItemCaseSensitive(it, "rate");
        path_fmt(q, sizeof q, "%s.rate", p);
        if (!rate) {
            rc = fp_bad(err, q, "required: a probability in [0,1]");
            break;
        }
        if ((rc = get_number(rate, q, 0, 1, &r->rate, err)))
            break;
        total += r->rate;
        r->retry_after_s = r->kind == FP_FAULT_HTTP_429 ? FP_DEFAULT_RETRY_AFTER : -1;
        const cJSON *ra = cJSON_GetObjectItemCaseSensitive(it, "retry_after_s");
        path_fmt(q, sizeof q, "%s.retry_after_s", p);
        if (ra && !cJSON_IsNull(ra)) {
            long s;
            if ((rc = get_integer(ra, q, 0, 86400, &s, err)))
                break;
            if (r->kind == FP_FAULT_HTTP_429_QUOTA || !fp_fault_is_http(r->kind)) {
                rc = fp_bad(err, q, "only allowed for http_400/429/500/503/529 errors");
                break;
            }
            r->retry_after_s = (int)s;
        } else if (ra) {
            r->retry_after_s = -1; /* explicit null: no header, even for http_429 */
        }
        const cJSON *at = cJSON_GetObjectItemCaseSensitive(it, "after_tokens");
        path_fmt(q, sizeof q, "%s.after_tokens", p);
        if (at && (rc = get_integer(at, q, 0, FP_MAX_COUNT, &r->after_tokens, err)))
            break;
    }
    if (!rc && total > 1.0 + 1e-9)
        rc = fp_bad(err, path, "error rates add up to %g, more than 1", total);
    if (rc) {
        free(rules);
        return rc;
    }
    free(m->errors);
    m->errors = rules;
    m->n_errors = n;
    return SY_OK;
}

/* A non-empty string or a non-empty array of them (a rule condition's "any of" list). */
static int parse_strings(const cJSON *v, const char *path, char ***out, size_t *n, sy_buf *err)
{
    char p[288];
    if (cJSON_IsString(v)) {
        if (!v->valuestring[0])
            return fp_bad(err, path, "must not be empty");
        *out = sy_xcalloc(1, sizeof **out);
        (*out)[0] = sy_xstrdup(v->valuestring);
        *n = 1;
        return SY_OK;
    }
    if (!cJSON_IsArray(v) || cJSON_GetArraySize(v) == 0)
        return fp_bad(err, path, "expected a string or a non-empty array of strings, got %s",
                      cJSON_IsArray(v) ? "an empty array" : type_name(v));
    size_t k = (size_t)cJSON_GetArraySize(v), i = 0;
    char **list = sy_xcalloc(k, sizeof *list);
    const cJSON *it;
    cJSON_ArrayForEach(it, v)
    {
        path_fmt(p, sizeof p, "%s[%zu]", path, i);
        if (!cJSON_IsString(it) || !it->valuestring[0]) {
            strings_free(list, i);
            return fp_bad(err, p, "expected a non-empty string, got %s",
                          cJSON_IsString(it) ? "an empty string" : type_name(it));
        }
        list[i++] = sy_xstrdup(it->valuestring);
    }
    *out = list;
    *n = k;
    return SY_OK;
}

/* A rule's "match": {"tag", "contains", "format"}, each optional, at least one. */
static int parse_match(const cJSON *v, const char *path, fp_quality_rule *r, sy_buf *err)
{
    static const char *const keys[] = {"tag", "contains", "format", NULL};
    char p[288];
    int rc;
    if (!cJSON_IsObject(v))
        return fp_bad(err, path, "expected an object like {\"tag\":\"code\"}, got %s",
                      type_name(v));
    if ((rc = check_keys(v, path, keys, err)))
        return rc;
    const cJSON *tag = cJSON_GetObjectItemCaseSensitive(v, "tag");
    const cJSON *has = cJSON_GetObjectItemCaseSensitive(v, "contains");
    const cJSON *fmt = cJSON_GetObjectItemCaseSensitive(v, "format");
    if (!tag && !has && !fmt)
        return fp_bad(err, path, "needs at least one of tag, contains, format");
    join_path(p, sizeof p, path, "tag");
    if (tag && (rc = parse_strings(tag, p, &r->tags, &r->n_tags, err)))
        return rc;
    join_path(p, sizeof p, path, "contains");
    if (has && (rc = parse_strings(has, p, &r->contains, &r->n_contains, err)))
        return rc;
    if (fmt) {
        char **names = NULL;
        size_t n = 0;
        join_path(p, sizeof p, path, "format");
        if ((rc = parse_strings(fmt, p, &names, &n, err)))
            return rc;
        for (size_t i = 0; i < n && !rc; i++) {
            unsigned bit = fp_format_parse(names[i]);
            if (!bit)
                rc = fp_bad(err, p,
                            "unknown format \"%s\" (expected one of: code, math, choice, "
                            "non_latin)",
                            names[i]);
            r->formats |= bit;
        }
        strings_free(names, n);
    }
    return rc;
}

/* "quality_rules": [{"match": {...}, "quality": q}, ...]; replaces the list as a whole. */
static int parse_qrules(const cJSON *v, const char *path, fp_model *m, sy_buf *err)
{
    char p[256], q[288];
    if (!cJSON_IsArray(v))
        return fp_bad(err, path, "expected an array of {\"match\",\"quality\"} objects, got %s",
                      type_name(v));
    size_t n = (size_t)cJSON_GetArraySize(v), i = 0;
    fp_quality_rule *rules = n ? sy_xcalloc(n, sizeof *rules) : NULL;
    int rc = SY_OK;
    const cJSON *it;
    cJSON_ArrayForEach(it, v)
    {
        static const char *const keys[] = {"match", "quality", NULL};
        path_fmt(p, sizeof p, "%s[%zu]", path, i);
        fp_quality_rule *r = &rules[i++];
        if (!cJSON_IsObject(it)) {
            rc = fp_bad(err, p, "expected an object, got %s", type_name(it));
            break;
        }
        if ((rc = check_keys(it, p, keys, err)))
            break;
        const cJSON *match = cJSON_GetObjectItemCaseSensitive(it, "match");
        const cJSON *qual = cJSON_GetObjectItemCaseSensitive(it, "quality");
        path_fmt(q, sizeof q, "%s.%s", p, match ? "quality" : "match");
        if (!match || !qual) {
            rc = fp_bad(err, q, "required");
            break;
        }
        path_fmt(q, sizeof q, "%s.match", p);
        if ((rc = parse_match(match, q, r, err)))
            break;
        path_fmt(q, sizeof q, "%s.quality", p);
        if ((rc = get_number(qual, q, 0, 1, &r->quality, err)))
            break;
    }
    if (rc) {
        qrules_free(rules, n);
        return rc;
    }
    qrules_free(m->qrules, m->n_qrules);
    m->qrules = rules;
    m->n_qrules = n;
    return SY_OK;
}

/* "embedding": "random" (the default) or "lexical". */
static int parse_embedding(const cJSON *v, const char *path, fp_embedding *out, sy_buf *err)
{
    if (cJSON_IsString(v) && strcmp(v->valuestring, "random") == 0)
        *out = FP_EMBED_RANDOM;
    else if (cJSON_IsString(v) && strcmp(v->valuestring, "lexical") == 0)
        *out = FP_EMBED_LEXICAL;
    else
        return fp_bad(err, path, "expected \"random\" or \"lexical\"");
    return SY_OK;
}

/* Member key of obj (NULL when absent), with its JSON path written to p. */
static const cJSON *field(const cJSON *obj, const char *parent, const char *key, char *p,
                          size_t cap)
{
    join_path(p, cap, parent, key);
    return cJSON_GetObjectItemCaseSensitive(obj, key);
}

/*
 * Parse one model object into out, starting from a deep copy of base: a field absent
 * from the object keeps base's value ("errors" replaces the list as a whole). On error
 * out is cleared.
 */
static int parse_model(const cJSON *v, const char *path, const fp_model *base, fp_model *out,
                       sy_buf *err)
{
    static const char *const keys[] = {
        "latency_ms",    "ttft_ms",       "tokens_per_second",  "content",
        "chunk_tokens",  "cached_tokens", "cache_write_tokens", "quality",
        "quality_rules", "errors",        "embedding",          NULL};
    char p[256];
    model_copy(out, base);
    if (!cJSON_IsObject(v)) {
        model_clear(out);
        return fp_bad(err, path, "expected an object, got %s", type_name(v));
    }
    int rc = check_keys(v, path, keys, err);
    const cJSON *f;
    if (!rc && (f = field(v, path, "latency_ms", p, sizeof p)))
        rc = parse_dist(f, p, &out->latency, err);
    if (!rc && (f = field(v, path, "ttft_ms", p, sizeof p)))
        rc = parse_dist(f, p, &out->ttft, err);
    if (!rc && (f = field(v, path, "tokens_per_second", p, sizeof p)))
        rc = get_number(f, p, 0, 1e9, &out->tokens_per_second, err);
    if (!rc && (f = field(v, path, "content", p, sizeof p)))
        rc = parse_content(f, p, out, err);
    if (!rc && (f = field(v, path, "chunk_tokens", p, sizeof p)))
        rc = get_integer(f, p, 1, FP_MAX_COUNT, &out->chunk_tokens, err);
    if (!rc && (f = field(v, path, "cached_tokens", p, sizeof p)))
        rc = get_integer(f, p, 0, FP_MAX_COUNT, &out->cached_tokens, err);
    if (!rc && (f = field(v, path, "cache_write_tokens", p, sizeof p)))
        rc = get_integer(f, p, 0, FP_MAX_COUNT, &out->cache_write_tokens, err);
    if (!rc && (f = field(v, path, "quality", p, sizeof p)))
        rc = get_number(f, p, 0, 1, &out->quality, err);
    if (!rc && (f = field(v, path, "quality_rules", p, sizeof p)))
        rc = parse_qrules(f, p, out, err);
    if (!rc && (f = field(v, path, "errors", p, sizeof p)))
        rc = parse_errors(f, p, out, err);
    if (!rc && (f = field(v, path, "embedding", p, sizeof p)))
        rc = parse_embedding(f, p, &out->embedding, err);
    if (rc)
        model_clear(out);
    return rc;
}

void fp_scenario_free(fp_scenario *s)
{
    if (!s)
        return;
    for (size_t i = 0; i < s->n_models; i++)
        model_clear(&s->models[i]);
    free(s->models);
    model_clear(&s->defaults);
    free(s->api_key);
    free(s);
}

fp_scenario *fp_scenario_new_default(void)
{
    fp_scenario *s = sy_xcalloc(1, sizeof *s);
    model_builtin(&s->defaults);
    return s;
}

/*
 * Parse the whole document. Order matters only for messages: the first problem found
 * (top-level fields, then defaults, then models in document order) is reported.
 */
int fp_scenario_parse(const char *json, size_t len, fp_scenario **out, sy_buf *err)
{
    static const char *const keys[] = {"seed", "api_key", "defaults", "models", NULL};
    *out = NULL;
    cJSON *root = cJSON_ParseWithLength(json, len);
    if (!root) {
        const char *at = cJSON_GetErrorPtr();
        long off = at && at >= json && at <= json + len ? (long)(at - json) : -1;
        return fp_bad(err, NULL, "scenario is not valid JSON (near byte %ld)", off);
    }
    fp_scenario *s = fp_scenario_new_default();
    int rc = SY_OK;
    if (!cJSON_IsObject(root)) {
        rc = fp_bad(err, NULL, "scenario must be a JSON object, got %s", type_name(root));
        goto done;
    }
    if ((rc = check_keys(root, "", keys, err)))
        goto done;

    const cJSON *seed = cJSON_GetObjectItemCaseSensitive(root, "seed");
    if (seed && !cJSON_IsNull(seed)) {
        long v;
        if ((rc = get_integer(seed, "seed", 0, FP_MAX_SEED, &v, err)))
            goto done;
        s->has_seed = 1;
        s->seed = (uint64_t)v;
    }
    const cJSON *key = cJSON_GetObjectItemCaseSensitive(root, "api_key");
    if (key && !cJSON_IsNull(key)) {
        if (!cJSON_IsString(key) || !key->valuestring[0]) {
            rc = fp_bad(err, "api_key", "expected a non-empty string or null");
            goto done;
        }
        s->api_key = sy_xstrdup(key->valuestring);
    }
    const cJSON *defs = cJSON_GetObjectItemCaseSensitive(root, "defaults");
    if (defs) {
        fp_model builtin, parsed;
        model_builtin(&builtin);
        rc = parse_model(defs, "defaults", &builtin, &parsed, err);
        if (rc)
            goto done;
        model_clear(&s->defaults);
        s->defaults = parsed;
    }
    const cJSON *models = cJSON_GetObjectItemCaseSensitive(root, "models");
    if (models && !cJSON_IsNull(models)) {
        if (!cJSON_IsObject(models)) {
            rc = fp_bad(err, "models", "expected an object mapping model names to models, got %s",
                        type_name(models));
            goto done;
        }
        size_t n = (size_t)cJSON_GetArraySize(models);
        s->models = sy_xcalloc(n ? n : 1, sizeof *s->models);
        const cJSON *it;
        cJSON_ArrayForEach(it, models)
        {
            char p[256];
            join_path(p, sizeof p, "models", it->string);
            if (!it->string[0]) {
                rc = fp_bad(err, "models", "model names must not be empty");
                goto done;
            }
            for (size_t i = 0; i < s->n_models; i++) {
                if (strcmp(s->models[i].name, it->string) == 0) {
                    rc = fp_bad(err, p, "duplicate model");
                    goto done;
                }
            }
            fp_model *m = &s->models[s->n_models];
            if ((rc = parse_model(it, p, &s->defaults, m, err)))
                goto done;
            m->name = sy_xstrdup(it->string);
            s->n_models++;
        }
    }
done:
    cJSON_Delete(root);
    if (rc) {
        fp_scenario_free(s);
        return rc;
    }
    *out = s;
    return SY_OK;
}

const fp_model *fp_scenario_lookup(const fp_scenario *s, const char *name)
{
    if (s->n_models == 0)
        return &s->defaults;
    for (size_t i = 0; i < s->n_models; i++) {
        if (strcmp(s->models[i].name, name) == 0)
            return &s->models[i];
    }
    return NULL;
}
