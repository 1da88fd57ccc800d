/*
 * config: switchyard.json -> sy_config, with every problem reported by JSON path.
 *
 * The loader walks the cJSON tree once, in document order, validating each value as it
 * copies it into a zero-initialised sy_config that starts out holding the defaults.
 * Problems are appended to the caller's error list and the walk goes on, so one run of
 * `switchyard check-config` shows everything that is wrong. Cross references (a model's
 * provider, a route's candidates, the shared model/route namespace) are resolved
 * against the "providers" and "models" objects looked up before the walk, so the order
 * of sections in the file does not matter. Only a config without a single error is
 * returned; anything else is freed through the one free path, sy_config_free().
 *
 * A value of the wrong type is reported once and not examined further; a section that
 * is not an object suppresses checks that would only repeat the same problem (models
 * are not matched against a "providers" that is not an object).
 */
#include "config.h"

#include "featurize.h"
#include "rule_expr.h"
#include "sha256.h"
#include "sy_common.h"

#include <arpa/inet.h>
#include <cjson/cJSON.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define MAX_FILE_BYTES  (16u << 20) /* a config larger than this is surely a mistake */
#define MAX_PATH_KEY    64          /* bytes of one key shown in an error path */
#define MAX_TEXT        4096        /* data_dir, log.path */
#define MAX_UPSTREAM    256         /* upstream model names */
#define MAX_URL         2048
#define MAX_PRICE       1e6 /* USD per million tokens */
#define DEFAULT_WORKERS 4   /* when the CPU count is unknown */
#define MAX_WORKERS     256

/* Loader state: the config being filled, where errors go, and the current JSON path. */
typedef struct loader {
    sy_config *cfg;
    sy_config_errors *errs;
    sy_buf path;            /* "$.models.gpt-4o.price"; always NUL-terminated */
    const cJSON *providers; /* the "providers" object, or NULL when absent/not an object */
    const cJSON *models;    /* the "models" object, likewise */
} loader;

static const char *const k_dialects[] = {"openai", "anthropic", "gemini"};
static const char *const k_policies[] = {
    "uniform", "fixed",  "weighted", "round_robin",     "epsilon_greedy",
    "ucb1",    "linucb", "thompson", "linear_thompson", "cluster_thompson"};
static const char *const k_levels[] = {"debug", "info", "warn", "error"};

/* ---- errors and paths ------------------------------------------------------------ */

static void errors_add(sy_config_errors *e, char *msg)
{
    e->items = sy_xrealloc(e->items, (e->n + 1) * sizeof(*e->items));
    e->items[e->n++] = msg;
}

/* Append "<current path>: <message>" to the error list. */
static void verr(loader *l, const char *fmt, va_list ap)
{
    va_list ap2;
    va_copy(ap2, ap);
    int n = vsnprintf(NULL, 0, fmt, ap2);
    va_end(ap2);
    size_t plen = l->path.len;
    char *msg = sy_xmalloc(plen + 2 + (size_t)(n > 0 ? n : 0) + 1);
    memcpy(msg, l->path.data, plen);
    memcpy(msg + plen, ": ", 2);
    vsnprintf(msg + plen + 2, (size_t)(n > 0 ? n : 0) + 1, fmt, ap);
    errors_add(l->errs, msg);
}

static void err(loader *l, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void err(loader *l, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    verr(l, fmt, ap);
    va_end(ap);
}

/*
 * Descend into object member `key`. The key is shown as is, except that control bytes
 * become '?' and a key longer than MAX_PATH_KEY bytes is cut (at a UTF-8 boundary) and
 * marked with "...". Returns the mark to pass to pop().
 */
static size_t push_key(loader *l, const char *key)
{
    size_t mark = l->path.len;
    size_t n = strlen(key);
    int cut = n > MAX_PATH_KEY;
    if (cut) {
        n = MAX_PATH_KEY;
        while (n > 0 && ((unsigned char)key[n] & 0xc0) == 0x80)
            n--;
    }
    sy_buf_puts(&l->path, ".");
    for (size_t i = 0; i < n; i++) {
        unsigned char ch = (unsigned char)key[i];
        char c = (ch < 0x20 || ch == 0x7f) ? '?' : (char)ch;
        sy_buf_append(&l->path, &c, 1);
    }
    if (cut)
        sy_buf_puts(&l->path, "...");
    return mark;
}

static size_t push_index(loader *l, size_t i)
{
    size_t mark = l->path.len;
    sy_buf_printf(&l->path, "[%zu]", i);
    return mark;
}

static void pop(loader *l, size_t mark)
{
    l->path.len = mark;
    l->path.data[mark] = '\0';
}

static void errk(loader *l, const char *key, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void errk(loader *l, const char *key, const char *fmt, ...)
{
    size_t mark = push_key(l, key);
    va_list ap;
    va_start(ap, fmt);
    verr(l, fmt, ap);
    va_end(ap);
    pop(l, mark);
}

/* ---- did you mean ---------------------------------------------------------------- */

/*
 * Optimal-string-alignment edit distance (insertions, deletions, substitutions and
 * transpositions of adjacent bytes). Strings longer than SY_CONFIG_MAX_NAME count as
 * "far away" so the table stays on the stack.
 */
static size_t edit_distance(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    if (la > SY_CONFIG_MAX_NAME || lb > SY_CONFIG_MAX_NAME)
        return SIZE_MAX;
    size_t rows[3][SY_CONFIG_MAX_NAME + 1];
    size_t *prev2 = rows[0], *prev = rows[1], *cur = rows[2];
    for (size_t j = 0; j <= lb; j++)
        prev[j] = j;
    for (size_t i = 1; i <= la; i++) {
        cur[0] = i;
        for (size_t j = 1; j <= lb; j++) {
            size_t cost = a[i - 1] != b[j - 1];
            size_t best = prev[j - 1] + cost;
            if (prev[j] + 1 < best)
                best = prev[j] + 1;
            if (cur[j - 1] + 1 < best)
                best = cur[j - 1] + 1;
            if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] &&
                prev2[j - 2] + 1 < best)
                best = prev2[j - 2] + 1;
            cur[j] = best;
        }
        size_t *t = prev2;
        prev2 = prev;
        prev = cur;
        cur = t;
    }
    return prev[lb];
}

/*
 * The candidate closest to word when it is plausibly a typo of it (edit distance 1, or 2
 * for names of 5+ bytes), or the one candidate it is a prefix of / extends; else NULL.
 */
static const char *suggest(const char *word, const char *const *cands, size_t n)
{
    const char *best = NULL;
    size_t best_d = SIZE_MAX;
    for (size_t i = 0; i < n; i++) {
        size_t d = edit_distance(word, cands[i]);
        if (d < best_d) {
            best_d = d;
            best = cands[i];
        }
    }
    if (best && (best_d <= 1 || (best_d == 2 && strlen(best) >= 5)))
        return best;
    /* A shortened or lengthened name ("max_body" for "max_body_bytes"), if unambiguous. */
    const char *prefix = NULL;
    size_t wl = strlen(word);
    for (size_t i = 0; i < n; i++) {
        size_t cl = strlen(cands[i]);
        size_t shorter = wl < cl ? wl : cl;
        if (shorter >= 4 && strncmp(word, cands[i], shorter) == 0) {
            if (prefix)
                return NULL;
            prefix = cands[i];
        }
    }
    return prefix;
}

/* Like suggest(), over the member names of a JSON object. */
static const char *suggest_key(const char *word, const cJSON *obj)
{
    if (!obj)
        return NULL;
    size_t n = 0;
    for (const cJSON *m = obj->child; m; m = m->next)
        n++;
    const char **names = sy_xmalloc(n * sizeof(*names));
    n = 0;
    for (const cJSON *m = obj->child; m; m = m->next)
        names[n++] = m->string;
    const char *s = suggest(word, names, n);
    free(names);
    return s;
}

static void join(sy_buf *b, const char *const *list, size_t n)
{
    for (size_t i = 0; i < n; i++)
        sy_buf_printf(b, "%s%s", i ? ", " : "", list[i]);
}

static int in_list(const char *s, const char *const *list, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(s, list[i]) == 0)
            return 1;
    return 0;
}

/* ---- members and scalar values --------------------------------------------------- */

/* 1 when an earlier member of obj has the same name as m (the first one wins). */
static int is_repeat(const cJSON *obj, const cJSON *m)
{
    for (const cJSON *p = obj->child; p != m; p = p->next)
        if (strcmp(p->string, m->string) == 0)
            return 1;
    return 0;
}

/*
 * Check the name of member m of obj: a repeat of an earlier member, or (when `allowed`
 * is given) a name not in it, is reported with a did-you-mean or the list of known
 * keys. Returns 1 when the member should be examined further.
 */
static int check_member(loader *l, const cJSON *obj, const cJSON *m, const char *const *allowed,
                        size_t n)
{
    if (is_repeat(obj, m)) {
        errk(l, m->string, "duplicate key (only the first one would be used)");
        return 0;
    }
    if (!allowed || in_list(m->string, allowed, n))
        return 1;
    const char *s = suggest(m->string, allowed, n);
    if (s) {
        errk(l, m->string, "unknown key (did you mean \"%s\"?)", s);
    } else {
        sy_buf known = {0};
        join(&known, allowed, n);
        errk(l, m->string, "unknown key (known keys: %s)", known.data);
        sy_buf_free(&known);
    }
    return 0;
}

/* check_member() for every member of obj, before its values are examined. */
static void check_members(loader *l, const cJSON *obj, const char *const *allowed, size_t n)
{
    for (const cJSON *m = obj->child; m; m = m->next)
        check_member(l, obj, m, allowed, n);
}

static const cJSON *get(const cJSON *obj, const char *key)
{
    return cJSON_GetObjectItemCaseSensitive(obj, key);
}

/* Require an object at the current path; reports and returns 0 otherwise. */
static int want_object(loader *l, const cJSON *v)
{
    if (cJSON_IsObject(v))
        return 1;
    err(l, "expected an object");
    return 0;
}

/*
 * Integer member `key` of obj within [lo, hi]. Returns 1 and sets *out when present and
 * valid, 0 when absent (*out untouched), -1 after reporting a problem.
 */
static int get_int(loader *l, const cJSON *obj, const char *key, long long lo, long long hi,
                   long long *out)
{
    const cJSON *v = get(obj, key);
    if (!v)
        return 0;
    if (!cJSON_IsNumber(v) || !isfinite(v->valuedouble) ||
        v->valuedouble != floor(v->valuedouble)) {
        errk(l, key, "expected an integer");
        return -1;
    }
    if (v->valuedouble < (double)lo || v->valuedouble > (double)hi) {
        errk(l, key, "must be between %lld and %lld", lo, hi);
        return -1;
    }
    *out = (long long)v->valuedouble;
    return 1;
}

static void get_unsigned(loader *l, const cJSON *obj, const char *key, long long lo, long long hi,
                         unsigned *out)
{
    long long v;
    if (get_int(l, obj, key, lo, hi, &v) > 0)
        *out = (unsigned)v;
}

static void get_size(loader *l, const cJSON *obj, const char *key, long long lo, long long hi,
                     size_t *out)
{
    long long v;
    if (get_int(l, obj, key, lo, hi, &v) > 0)
        *out = (size_t)v;
}

/* Finite number member within [lo, hi]; same returns as get_int(). */
static int get_number(loader *l, const cJSON *obj, const char *key, double lo, double hi,
                      double *out)
{
    const cJSON *v = get(obj, key);
    if (!v)
        return 0;
    if (!cJSON_IsNumber(v) || !isfinite(v->valuedouble)) {
        errk(l, key, "expected a number");
        return -1;
    }
    if (v->valuedouble < lo || v->valuedouble > hi) {
        errk(l, key, "must be between %.15g and %.15g", lo, hi);
        return -1;
    }
    *out = v->valuedouble;
    return 1;
}

static void get_bool(loader *l, const cJSON *obj, const char *key, int *out)
{
    const cJSON *v = get(obj, key);
    if (!v)
        return;
    if (!cJSON_IsBool(v)) {
        errk(l, key, "expected a boolean");
        return;
    }
    *out = cJSON_IsTrue(v);
}

/*
 * String member: returns 1 with *out = the string (owned by the tree), 1 with *out = NULL
 * for a JSON null when `nullable`, 0 when absent, -1 after reporting a wrong type.
 */
static int get_string(loader *l, const cJSON *obj, const char *key, int nullable, const char **out)
{
    const cJSON *v = get(obj, key);
    if (!v)
        return 0;
    if (nullable && cJSON_IsNull(v)) {
        *out = NULL;
        return 1;
    }
    if (!cJSON_IsString(v)) {
        errk(l, key, nullable ? "expected a string or null" : "expected a string");
        return -1;
    }
    *out = v->valuestring;
    return 1;
}

/*
 * Check a free-text value at the current path: non-empty, at most max bytes, no control
 * characters. `what` names the value in messages ("model name"). Returns 1 when valid.
 */
static int check_text(loader *l, const char *s, size_t max, const char *what)
{
    size_t n = strlen(s);
    if (n == 0) {
        err(l, "%s must not be empty", what);
        return 0;
    }
    if (n > max) {
        err(l, "%s is longer than %zu bytes", what, max);
        return 0;
    }
    for (size_t i = 0; i < n; i++) {
        unsigned char ch = (unsigned char)s[i];
        if (ch < 0x20 || ch == 0x7f) {
            err(l, "%s must not contain control characters", what);
            return 0;
        }
    }
    return 1;
}

/* check_text() for member `key` of the current object. */
static int check_text_at(loader *l, const char *key, const char *s, size_t max, const char *what)
{
    size_t mark = push_key(l, key);
    int ok = check_text(l, s, max, what);
    pop(l, mark);
    return ok;
}

/* Parse member `key` as a SHA-256 hex digest into out. Returns 1 when present and valid. */
static int get_digest(loader *l, const cJSON *obj, const char *key, uint8_t out[32])
{
    const char *s;
    if (get_string(l, obj, key, 0, &s) <= 0)
        return 0;
    if (sy_hex_decode(s, strlen(s), out, SY_SHA256_LEN) != 0) {
        errk(l, key,
             "expected 64 hex characters (the SHA-256 of the key, as printed by "
             "`switchyard hash-key`)");
        return 0;
    }
    return 1;
}

/* Index of the first member of obj named name, or -1. */
static long member_index(const cJSON *obj, const char *name)
{
    long i = 0;
    for (const cJSON *m = obj->child; m; m = m->next, i++)
        if (strcmp(m->string, name) == 0)
            return i;
    return -1;
}

static size_t member_count(const cJSON *obj)
{
    size_t n = 0;
    for (const cJSON *m = obj->child; m; m = m->next)
        n++;
    return n;
}

/* ---- sections -------------------------------------------------------------------- */

/* "listen" and "admin": a numeric address and a port; admin may also carry its key. */
static void parse_listener(loader *l, const cJSON *v, sy_listen_cfg *out, int admin)
{
    static const char *const keys[] = {"address", "port", "key_sha256"};
    if (!want_object(l, v))
        return;
    check_members(l, v, keys, admin ? 3 : 2);
    const char *addr;
    if (get_string(l, v, "address", 0, &addr) > 0) {
        unsigned char buf[sizeof(struct in6_addr)];
        if (inet_pton(AF_INET, addr, buf) == 1 || inet_pton(AF_INET6, addr, buf) == 1) {
            free(out->address);
            out->address = sy_xstrdup(addr);
        } else {
            errk(l, "address",
                 "must be a numeric IPv4 or IPv6 address such as \"127.0.0.1\" or \"::1\" "
                 "(host names are not resolved)");
        }
    }
    long long port;
    if (get_int(l, v, "port", 0, 65535, &port) > 0)
        out->port = (uint16_t)port;
    if (admin && get_digest(l, v, "key_sha256", l->cfg->admin_key_sha256))
        l->cfg->admin_enabled = 1;
}

static void parse_limits(loader *l, const cJSON *v)
{
    static const char *const keys[] = {"max_body_bytes",     "max_header_bytes", "max_headers",
                                       "request_timeout_ms", "idle_timeout_ms",  "max_connections",
                                       "max_json_depth"};
    sy_limits_cfg *lim = &l->cfg->limits;
    if (!want_object(l, v))
        return;
    check_members(l, v, keys, SY_ARRAY_LEN(keys));
    get_size(l, v, "max_body_bytes", 1024, 1073741824, &lim->max_body_bytes);
    get_size(l, v, "max_header_bytes", 1024, 1048576, &lim->max_header_bytes);
    get_unsigned(l, v, "max_headers", 8, 1024, &lim->max_headers);
    get_unsigned(l, v, "request_timeout_ms", 100, 3600000, &lim->request_timeout_ms);
    get_unsigned(l, v, "idle_timeout_ms", 100, 3600000, &lim->idle_timeout_ms);
    get_unsigned(l, v, "max_connections", 1, 1000000, &lim->max_connections);
    get_unsigned(l, v, "max_json_depth", 8, 1000, &lim->max_json_depth);
}

static void parse_upstream(loader *l, const cJSON *v)
{
    static const char *const keys[] = {"connect_timeout_ms", "request_timeout_ms",
                                       "stream_buffer_bytes"};
    sy_upstream_cfg *up = &l->cfg->upstream;
    if (!want_object(l, v))
        return;
    check_members(l, v, keys, SY_ARRAY_LEN(keys));
    get_unsigned(l, v, "connect_timeout_ms", 100, 600000, &up->connect_timeout_ms);
    get_unsigned(l, v, "request_timeout_ms", 1000, 86400000, &up->request_timeout_ms);
    get_size(l, v, "stream_buffer_bytes", 4096, 67108864, &up->stream_buffer_bytes);
}

static void parse_store(loader *l, const cJSON *v)
{
    static const char *const keys[] = {"map_size_mb", "max_map_size_mb", "batch_ms"};
    sy_store_cfg *st = &l->cfg->store;
    if (!want_object(l, v))
        return;
    check_members(l, v, keys, SY_ARRAY_LEN(keys));
    get_unsigned(l, v, "map_size_mb", 1, 1048576, &st->map_size_mb);
    get_unsigned(l, v, "max_map_size_mb", 1, 1048576, &st->max_map_size_mb);
    get_unsigned(l, v, "batch_ms", 0, 1000, &st->batch_ms);
    if (st->max_map_size_mb < st->map_size_mb)
        errk(l, "max_map_size_mb", "must be at least map_size_mb (%u)", st->map_size_mb);
}

static void parse_reliability(loader *l, const cJSON *v)
{
    static const char *const keys[] = {
        "max_attempts",           "retry_budget",   "backoff_base_ms",      "backoff_max_ms",
        "retry_after_cap_ms",     "deadline_ms",    "ttft_timeout_ms",      "idle_timeout_ms",
        "breaker_failures",       "breaker_window", "breaker_failure_rate", "breaker_cooldown_ms",
        "breaker_max_cooldown_ms"};
    sy_reliability_cfg *r = &l->cfg->reliability;
    if (!want_object(l, v))
        return;
    check_members(l, v, keys, SY_ARRAY_LEN(keys));
    get_unsigned(l, v, "max_attempts", 1, 10, &r->max_attempts);
    get_number(l, v, "retry_budget", 0, 10, &r->retry_budget);
    get_unsigned(l, v, "backoff_base_ms", 0, 60000, &r->backoff_base_ms);
    get_unsigned(l, v, "backoff_max_ms", 0, 600000, &r->backoff_max_ms);
    get_unsigned(l, v, "retry_after_cap_ms", 0, 600000, &r->retry_after_cap_ms);
    get_unsigned(l, v, "deadline_ms", 100, 86400000, &r->deadline_ms);
    get_unsigned(l, v, "ttft_timeout_ms", 100, 86400000, &r->ttft_timeout_ms);
    get_unsigned(l, v, "idle_timeout_ms", 100, 86400000, &r->idle_timeout_ms);
    get_unsigned(l, v, "breaker_failures", 0, 10000, &r->breaker_failures);
    get_unsigned(l, v, "breaker_window", 0, 256, &r->breaker_window);
    get_number(l, v, "breaker_failure_rate", 0.01, 1, &r->breaker_failure_rate);
    get_unsigned(l, v, "breaker_cooldown_ms", 1, 3600000, &r->breaker_cooldown_ms);
    get_unsigned(l, v, "breaker_max_cooldown_ms", 1, 3600000, &r->breaker_max_cooldown_ms);
    if (r->backoff_max_ms < r->backoff_base_ms)
        errk(l, "backoff_max_ms", "must be at least backoff_base_ms (%u)", r->backoff_base_ms);
    if (r->breaker_max_cooldown_ms < r->breaker_cooldown_ms)
        errk(l, "breaker_max_cooldown_ms", "must be at least breaker_cooldown_ms (%u)",
             r->breaker_cooldown_ms);
}

static void parse_conversations(loader *l, const cJSON *v)
{
    static const char *const keys[] = {"ttl_s", "max", "implicit_weight"};
    sy_conversation_cfg *c = &l->cfg->conversations;
    if (!want_object(l, v))
        return;
    check_members(l, v, keys, SY_ARRAY_LEN(keys));
    get_unsigned(l, v, "ttl_s", 1, 31622400, &c->ttl_s);
    get_unsigned(l, v, "max", 1, 1000000000, &c->max);
    get_number(l, v, "implicit_weight", 0.001, 1, &c->implicit_weight);
}

static void parse_feedback(loader *l, const cJSON *v)
{
    static const char *const keys[] = {"window_s"};
    if (!want_object(l, v))
        return;
    check_members(l, v, keys, SY_ARRAY_LEN(keys));
    get_unsigned(l, v, "window_s", 1, 31622400, &l->cfg->feedback.window_s);
}

static void parse_log(loader *l, const cJSON *v)
{
    static const char *const keys[] = {"level", "path", "requests", "include_prompts"};
    sy_log_cfg *lg = &l->cfg->log;
    if (!want_object(l, v))
        return;
    check_members(l, v, keys, SY_ARRAY_LEN(keys));
    const char *s;
    if (get_string(l, v, "level", 0, &s) > 0) {
        if (in_list(s, k_levels, SY_ARRAY_LEN(k_levels))) {
            free(lg->level);
            lg->level = sy_xstrdup(s);
        } else {
            errk(l, "level", "must be one of debug, info, warn, error (got \"%s\")", s);
        }
    }
    if (get_string(l, v, "path", 1, &s) > 0 && s &&
        check_text_at(l, "path", s, MAX_TEXT, "log path")) {
        free(lg->path);
        lg->path = sy_xstrdup(s);
    }
    get_bool(l, v, "requests", &lg->requests);
    get_bool(l, v, "include_prompts", &lg->include_prompts);
}

static int has_space_or_control(const char *s)
{
    for (; *s; s++)
        if ((unsigned char)*s <= 0x20 || *s == 0x7f)
            return 1;
    return 0;
}

/*
 * Validate a provider base URL at member "base_url" and return a copy without trailing
 * slashes, or NULL after reporting. Credentials, queries and fragments are refused:
 * paths are appended to the base, and secrets belong in the environment.
 */
static char *parse_base_url(loader *l, const char *url)
{
    size_t mark = push_key(l, "base_url");
    char *out = NULL;
    size_t scheme = strncmp(url, "https://", 8) == 0 ? 8 : strncmp(url, "http://", 7) == 0 ? 7 : 0;
    size_t n = strlen(url);
    size_t host_len = strcspn(url + scheme, "/");
    if (!scheme) {
        err(l, "must start with http:// or https://");
    } else if (n > MAX_URL) {
        err(l, "is longer than %d bytes", MAX_URL);
    } else if (has_space_or_control(url)) {
        err(l, "must not contain spaces or control characters");
    } else if (host_len == 0) {
        err(l, "has no host");
    } else if (memchr(url + scheme, '@', host_len)) {
        err(l, "must not contain credentials (name the key's environment variable in key_env)");
    } else if (strpbrk(url, "?#")) {
        err(l, "must not contain a query or fragment");
    } else {
        while (n > scheme + host_len && url[n - 1] == '/')
            n--;
        out = sy_xstrndup(url, n);
    }
    pop(l, mark);
    return out;
}

static int is_env_name(const char *s)
{
    if (!((*s >= 'A' && *s <= 'Z') || (*s >= 'a' && *s <= 'z') || *s == '_'))
        return 0;
    for (s++; *s; s++)
        if (!((*s >= 'A' && *s <= 'Z') || (*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') ||
              *s == '_'))
            return 0;
    return 1;
}

/* One entry of "providers"; the current path is $.providers.<name>. */
static void parse_provider(loader *l, const cJSON *v, sy_provider_cfg *p)
{
    static const char *const keys[] = {"dialect", "base_url", "key_env", "timeout_ms"};
    p->name = sy_xstrdup(v->string);
    check_text(l, v->string, SY_CONFIG_MAX_NAME, "provider name");
    if (!want_object(l, v))
        return;
    check_members(l, v, keys, SY_ARRAY_LEN(keys));

    const char *s;
    int rc = get_string(l, v, "dialect", 0, &s);
    if (rc == 0) {
        err(l, "missing required key \"dialect\" (one of openai, anthropic, gemini)");
    } else if (rc > 0) {
        size_t i = 0;
        while (i < SY_ARRAY_LEN(k_dialects) && strcmp(s, k_dialects[i]) != 0)
            i++;
        if (i < SY_ARRAY_LEN(k_dialects))
            p->dialect = (sy_dialect)i;
        else
            errk(l, "dialect", "unknown dialect \"%s\" (known dialects: openai, anthropic, gemini)",
                 s);
    }

    rc = get_string(l, v, "base_url", 0, &s);
    if (rc == 0)
        err(l, "missing required key \"base_url\"");
    else if (rc > 0)
        p->base_url = parse_base_url(l, s);

    if (get_string(l, v, "key_env", 1, &s) > 0 && s) {
        if (*s && strlen(s) <= SY_CONFIG_MAX_NAME && is_env_name(s))
            p->key_env = sy_xstrdup(s);
        else
            errk(l, "key_env",
                 "must be the name of an environment variable ([A-Za-z_][A-Za-z0-9_]*, at most "
                 "%d bytes), not the key itself",
                 SY_CONFIG_MAX_NAME);
    }

    long long t;
    if (get_int(l, v, "timeout_ms", 0, 86400000, &t) > 0) {
        if (t != 0 && t < 100)
            errk(l, "timeout_ms",
                 "must be 0 (use upstream.request_timeout_ms) or between 100 and 86400000");
        else
            p->timeout_ms = (unsigned)t;
    }
}

static void parse_price(loader *l, const cJSON *v, sy_price_cfg *pr)
{
    static const char *const keys[] = {"input", "cached_input", "cache_write", "output"};
    if (!want_object(l, v))
        return;
    check_members(l, v, keys, SY_ARRAY_LEN(keys));
    if (get_number(l, v, "input", 0, MAX_PRICE, &pr->input) == 0)
        err(l, "missing required key \"input\" (USD per million input tokens)");
    if (get_number(l, v, "output", 0, MAX_PRICE, &pr->output) == 0)
        err(l, "missing required key \"output\" (USD per million output tokens)");
    pr->cached_input = pr->input;
    get_number(l, v, "cached_input", 0, MAX_PRICE, &pr->cached_input);
    pr->cache_write = pr->input;
    get_number(l, v, "cache_write", 0, MAX_PRICE, &pr->cache_write);
}

/* One entry of "models"; the current path is $.models.<name>. */
static void parse_model(loader *l, const cJSON *v, sy_model_cfg *m)
{
    static const char *const keys[] = {"provider", "upstream_name", "price", "tier"};
    m->name = sy_xstrdup(v->string);
    check_text(l, v->string, SY_CONFIG_MAX_NAME, "model name");
    if (!want_object(l, v))
        return;
    check_members(l, v, keys, SY_ARRAY_LEN(keys));

    const char *s;
    int rc = get_string(l, v, "provider", 0, &s);
    if (rc == 0) {
        err(l, "missing required key \"provider\"");
    } else if (rc > 0 && l->providers) {
        long i = member_index(l->providers, s);
        if (i >= 0) {
            m->provider = (size_t)i;
        } else {
            const char *hint = suggest_key(s, l->providers);
            if (hint)
                errk(l, "provider", "unknown provider \"%s\" (did you mean \"%s\"?)", s, hint);
            else
                errk(l, "provider", "unknown provider \"%s\" (it must be a key of $.providers)", s);
        }
    }

    if (get_string(l, v, "upstream_name", 0, &s) > 0 &&
        check_text_at(l, "upstream_name", s, MAX_UPSTREAM, "upstream model name"))
        m->upstream_name = sy_xstrdup(s);
    if (!m->upstream_name)
        m->upstream_name = sy_xstrdup(m->name);

    const cJSON *price = get(v, "price");
    if (!price) {
        err(l, "missing required key \"price\" (USD per million tokens; use {\"input\": 0, "
               "\"output\": 0} for a free model)");
    } else {
        size_t mark = push_key(l, "price");
        parse_price(l, price, &m->price);
        pop(l, mark);
    }

    if (get_string(l, v, "tier", 0, &s) > 0 &&
        check_text_at(l, "tier", s, SY_CONFIG_MAX_NAME, "tier"))
        m->tier = sy_xstrdup(s);
    if (!m->tier)
        m->tier = sy_xstrdup("standard");
}

/* The "candidates" array of a route: existing models, no repeats, 1..64 of them. */
static void parse_candidates(loader *l, const cJSON *v, sy_route_cfg *r)
{
    if (!cJSON_IsArray(v)) {
        err(l, "expected an array");
        return;
    }
    size_t n = (size_t)cJSON_GetArraySize(v);
    if (n == 0) {
        err(l, "must list at least one model");
        return;
    }
    if (n > SY_CONFIG_MAX_CANDIDATES) {
        err(l, "lists %zu models; at most %d are allowed", n, SY_CONFIG_MAX_CANDIDATES);
        return;
    }
    r->candidates = sy_xcalloc(n, sizeof(*r->candidates));
    r->n_candidates = n;
    size_t i = 0;
    for (const cJSON *c = v->child; c; c = c->next, i++) {
        size_t mark = push_index(l, i);
        if (!cJSON_IsString(c)) {
            err(l, "expected a string (a model name)");
        } else {
            size_t j = 0;
            for (const cJSON *p = v->child; p != c; p = p->next, j++)
                if (cJSON_IsString(p) && strcmp(p->valuestring, c->valuestring) == 0)
                    break;
            long idx = l->models ? member_index(l->models, c->valuestring) : -1;
            const char *hint = idx < 0 ? suggest_key(c->valuestring, l->models) : NULL;
            if (j < i)
                err(l, "duplicate candidate \"%s\" (also at index %zu)", c->valuestring, j);
            else if (idx >= 0)
                r->candidates[i] = (size_t)idx;
            else if (!l->models)
                ; /* "models" is missing or malformed: already reported */
            else if (hint)
                err(l, "unknown model \"%s\" (did you mean \"%s\"?)", c->valuestring, hint);
            else
                err(l, "unknown model \"%s\" (candidates must be keys of $.models)",
                    c->valuestring);
        }
        pop(l, mark);
    }
}

/* One entry of "routes"; the current path is $.routes.<name>. */
const sy_var_def sy_rule_vars[SY_RV_COUNT] = {
    {"turn", SY_VT_NUM},        {"rephrases", SY_VT_NUM},  {"rephrases_total", SY_VT_NUM},
    {"thumbs_down", SY_VT_NUM}, {"good_turns", SY_VT_NUM}, {"cost_usd", SY_VT_NUM},
    {"idle_s", SY_VT_NUM},      {"tier", SY_VT_STR},       {"escalated", SY_VT_BOOL},
};

/* Index of model `name` among the route's candidates, or -1. */
static long candidate_index(loader *l, const sy_route_cfg *r, const char *name)
{
    long idx = l->models ? member_index(l->models, name) : -1;
    for (size_t k = 0; idx >= 0 && k < r->n_candidates; k++)
        if (r->candidates[k] == (size_t)idx)
            return (long)k;
    return -1;
}

/* "params": the policy kind's tuning knobs (policies/policy_params.h). */
static void parse_policy_params(loader *l, const cJSON *v, sy_route_cfg *r)
{
    static const char *const keys[] = {
        "epsilon", "ucb_c",     "linucb_alpha",   "ts_scale",
        "ridge",   "noise_var", "noise_strength", "propensity_draws",
        "fixed",   "dim",       "pool_strength",  "population_strength"};
    sy_policy_params *pp = &r->params;
    if (!want_object(l, v))
        return;
    check_members(l, v, keys, SY_ARRAY_LEN(keys));
    get_number(l, v, "epsilon", 0, 1, &pp->epsilon);
    get_number(l, v, "ucb_c", 0, 100, &pp->ucb_c);
    get_number(l, v, "linucb_alpha", 0, 100, &pp->linucb_alpha);
    get_number(l, v, "ts_scale", 0.01, 100, &pp->ts_scale);
    get_number(l, v, "pool_strength", 0.01, 1e6, &pp->pool_strength);
    get_number(l, v, "population_strength", 0, 1e6, &pp->population_strength);
    get_number(l, v, "ridge", 1e-6, 1e6, &pp->ridge);
    get_number(l, v, "noise_var", 1e-6, 100, &pp->noise_var);
    get_number(l, v, "noise_strength", 0.01, 1e6, &pp->noise_strength);
    get_unsigned(l, v, "propensity_draws", 0, 4096, &pp->propensity_draws);
    get_size(l, v, "dim", SY_FEATURE_DENSE + 1, SY_POLICY_MAX_DIM, &pp->dim);
    const char *s;
    if (get_string(l, v, "fixed", 0, &s) > 0) {
        long k = candidate_index(l, r, s);
        if (k < 0)
            errk(l, "fixed", "\"%s\" is not a candidate of this route", s);
        else
            pp->fixed_arm = (size_t)k;
    }
}

/* "objective": utility weights (units in docs/configuration.md) and hard constraints. */
static void parse_objective(loader *l, const cJSON *v, sy_objective *o)
{
    static const char *const keys[] = {"quality",           "cost_per_usd",         "latency_per_s",
                                       "cost_per_doubling", "latency_per_doubling", "max_cost_usd",
                                       "latency_slo_ms"};
    if (!want_object(l, v))
        return;
    check_members(l, v, keys, SY_ARRAY_LEN(keys));
    get_number(l, v, "quality", 0, 1e6, &o->w_quality);
    get_number(l, v, "cost_per_usd", 0, 1e9, &o->w_cost);
    get_number(l, v, "latency_per_s", 0, 1e6, &o->w_latency);
    /* scale-free weights (policies/policy_params.h): one kind per signal */
    get_number(l, v, "cost_per_doubling", 0, 1e6, &o->w_cost_rel);
    get_number(l, v, "latency_per_doubling", 0, 1e6, &o->w_latency_rel);
    if (get(v, "cost_per_usd") && get(v, "cost_per_doubling"))
        err(l, "give \"cost_per_usd\" (absolute) or \"cost_per_doubling\" (relative), not both");
    if (get(v, "latency_per_s") && get(v, "latency_per_doubling"))
        err(l,
            "give \"latency_per_s\" (absolute) or \"latency_per_doubling\" (relative), not both");
    get_number(l, v, "max_cost_usd", 0, 1e6, &o->max_cost_usd);
    double slo_ms = o->latency_slo_s * 1000;
    if (get_number(l, v, "latency_slo_ms", 0, 86400000, &slo_ms) > 0)
        o->latency_slo_s = slo_ms / 1000;
}

/* "half_life": {"requests": N} or {"seconds": N}. */
static void parse_half_life(loader *l, const cJSON *v, sy_discount *d)
{
    static const char *const keys[] = {"requests", "seconds"};
    if (!want_object(l, v))
        return;
    check_members(l, v, keys, SY_ARRAY_LEN(keys));
    int has_r = get(v, "requests") != NULL, has_s = get(v, "seconds") != NULL;
    if (has_r == has_s) {
        err(l, "give exactly one of \"requests\" and \"seconds\"");
        return;
    }
    d->unit = has_r ? SY_HALF_LIFE_OBSERVATIONS : SY_HALF_LIFE_SECONDS;
    get_number(l, v, has_r ? "requests" : "seconds", 1, 1e12, &d->half_life);
}

/* "priors": {"<candidate>": {...}} — cold-start beliefs about a model on this route. */
static void parse_priors(loader *l, const cJSON *v, sy_route_cfg *r)
{
    static const char *const keys[] = {"quality", "quality_strength", "latency_ms", "output_tokens",
                                       "strength"};
    if (!want_object(l, v))
        return;
    for (const cJSON *m = v->child; m; m = m->next) {
        size_t mark = push_key(l, m->string);
        long k = candidate_index(l, r, m->string);
        if (k < 0) {
            err(l, "\"%s\" is not a candidate of this route", m->string);
        } else if (want_object(l, m)) {
            sy_arm_params *a = &r->arms[k];
            check_members(l, m, keys, SY_ARRAY_LEN(keys));
            get_number(l, m, "quality", 0, 1, &a->prior_quality);
            get_number(l, m, "quality_strength", 0.01, 1e6, &a->prior_quality_strength);
            double ms = a->prior_latency_s * 1000;
            if (get_number(l, m, "latency_ms", 1, 86400000, &ms) > 0)
                a->prior_latency_s = ms / 1000;
            get_number(l, m, "output_tokens", 1, 1e7, &a->prior_output_tokens);
            get_number(l, m, "strength", 0.01, 1e6, &a->prior_outcome_strength);
        }
        pop(l, mark);
    }
}

/* "weights": {"<candidate>": w} for the weighted policy. */
static void parse_weights(loader *l, const cJSON *v, sy_route_cfg *r)
{
    if (!want_object(l, v))
        return;
    for (const cJSON *m = v->child; m; m = m->next) {
        long k = candidate_index(l, r, m->string);
        if (k < 0)
            errk(l, m->string, "not a candidate of this route");
        else
            get_number(l, v, m->string, 0, 1e9, &r->arms[k].weight);
    }
}

/* "rules": [{"when", "then": {"escalate"|"pin"|"deescalate"}, "sticky", "name"}]. */
static void parse_rules(loader *l, const cJSON *v, sy_route_cfg *r)
{
    static const char *const keys[] = {"when", "then", "sticky", "name"};
    static const char *const then_keys[] = {"escalate", "pin", "deescalate"};
    if (!cJSON_IsArray(v)) {
        err(l, "expected an array");
        return;
    }
    size_t n = (size_t)cJSON_GetArraySize(v);
    r->rules = sy_xcalloc(n ? n : 1, sizeof(*r->rules));
    size_t i = 0;
    for (const cJSON *e = v->child; e; e = e->next, i++) {
        sy_rule_cfg *rule = &r->rules[r->n_rules++];
        size_t mark = push_index(l, i);
        char name[32];
        snprintf(name, sizeof(name), "rule%zu", i);
        rule->name = sy_xstrdup(name);
        if (want_object(l, e)) {
            check_members(l, e, keys, SY_ARRAY_LEN(keys));
            const char *s;
            if (get_string(l, e, "name", 0, &s) > 0 &&
                check_text_at(l, "name", s, 63, "rule name")) {
                free(rule->name);
                rule->name = sy_xstrdup(s);
            }
            int when_rc = get_string(l, e, "when", 0, &s);
            if (when_rc == 0) {
                err(l, "missing required key \"when\"");
            } else if (when_rc > 0) {
                rule->when_src = sy_xstrdup(s);
                char why[160];
                rule->when = sy_expr_parse(s, sy_rule_vars, SY_RV_COUNT, why, sizeof(why));
                if (!rule->when)
                    errk(l, "when",
                         "%s (variables: turn, rephrases, rephrases_total, "
                         "thumbs_down, good_turns, cost_usd, idle_s, tier, escalated)",
                         why);
            }
            get_bool(l, e, "sticky", &rule->sticky);
            const cJSON *then = get(e, "then");
            size_t tmark = push_key(l, "then");
            if (!then) {
                pop(l, tmark);
                err(l, "missing required key \"then\"");
            } else if (want_object(l, then)) {
                check_members(l, then, then_keys, SY_ARRAY_LEN(then_keys));
                int actions = (get(then, "escalate") != NULL) + (get(then, "pin") != NULL) +
                              (get(then, "deescalate") != NULL);
                if (actions != 1) {
                    err(l, "give exactly one of \"escalate\", \"pin\" and \"deescalate\"");
                } else if (get_string(l, then, "escalate", 0, &s) > 0) {
                    rule->action = SY_RULE_ESCALATE;
                    rule->target = sy_xstrdup(s);
                    int found = 0;
                    for (size_t k = 0; k < r->n_candidates && l->models; k++) {
                        const cJSON *m = cJSON_GetArrayItem(l->models, (int)r->candidates[k]);
                        const cJSON *t = get(m, "tier");
                        found |= cJSON_IsString(t) && strcmp(t->valuestring, s) == 0;
                    }
                    if (!found)
                        errk(l, "escalate", "no candidate of this route has tier \"%s\"", s);
                } else if (get_string(l, then, "pin", 0, &s) > 0) {
                    rule->action = SY_RULE_PIN;
                    rule->target = sy_xstrdup(s);
                    if (candidate_index(l, r, s) < 0)
                        errk(l, "pin", "\"%s\" is not a candidate of this route", s);
                } else if (get(then, "deescalate")) {
                    rule->action = SY_RULE_DEESCALATE;
                    if (!cJSON_IsTrue(get(then, "deescalate")))
                        errk(l, "deescalate", "must be true");
                }
                pop(l, tmark);
            } else {
                pop(l, tmark);
            }
        }
        pop(l, mark);
    }
}

static void parse_route(loader *l, const cJSON *v, sy_route_cfg *r)
{
    static const char *const keys[] = {"candidates", "policy",    "params",
                                       "objective",  "half_life", "priors",
                                       "weights",    "rules",     "deescalate_after_good_turns"};
    r->name = sy_xstrdup(v->string);
    if (check_text(l, v->string, SY_CONFIG_MAX_NAME, "route name") && l->models &&
        get(l->models, v->string))
        err(l, "name is already used by a model (models and routes share one namespace)");
    if (!want_object(l, v))
        return;
    check_members(l, v, keys, SY_ARRAY_LEN(keys));

    const cJSON *c = get(v, "candidates");
    if (!c) {
        err(l, "missing required key \"candidates\"");
    } else {
        size_t mark = push_key(l, "candidates");
        parse_candidates(l, c, r);
        pop(l, mark);
    }

    const char *s;
    sy_policy_kind kind = SY_POLICY_UNIFORM;
    if (get_string(l, v, "policy", 0, &s) > 0) {
        if (sy_policy_kind_parse(s, &kind) == 0) {
            r->policy = sy_xstrdup(s);
        } else {
            sy_buf known = {0};
            join(&known, k_policies, SY_ARRAY_LEN(k_policies));
            errk(l, "policy", "unknown policy \"%s\" (known policies: %s)", s, known.data);
            sy_buf_free(&known);
        }
    }
    if (!r->policy)
        r->policy = sy_xstrdup("uniform");
    size_t n = r->n_candidates ? r->n_candidates : 1;
    sy_policy_params_init(&r->params, kind, n,
                          sy_policy_kind_is_contextual(kind) ? SY_FEATURE_DEFAULT_DIM : 0);
    r->arms = sy_xcalloc(n, sizeof(*r->arms));
    for (size_t k = 0; k < n; k++)
        sy_arm_params_init(&r->arms[k]);
    static const struct {
        const char *key;
        int kind;
    } sections[] = {{"params", 0}, {"objective", 1}, {"half_life", 2},
                    {"priors", 3}, {"weights", 4},   {"rules", 5}};
    for (size_t i = 0; i < SY_ARRAY_LEN(sections); i++) {
        const cJSON *sv = get(v, sections[i].key);
        if (!sv)
            continue;
        size_t mark = push_key(l, sections[i].key);
        switch (sections[i].kind) {
        case 0:
            parse_policy_params(l, sv, r);
            break;
        case 1:
            parse_objective(l, sv, &r->params.objective);
            break;
        case 2:
            parse_half_life(l, sv, &r->params.discount);
            break;
        case 3:
            parse_priors(l, sv, r);
            break;
        case 4:
            parse_weights(l, sv, r);
            break;
        case 5:
            parse_rules(l, sv, r);
            break;
        }
        pop(l, mark);
    }
    get_unsigned(l, v, "deescalate_after_good_turns", 0, 1000000, &r->deescalate_after_good_turns);
    if (!sy_policy_kind_is_contextual(kind) && r->params.dim)
        errk(l, "params",
             "\"dim\" applies only to the contextual policies (linucb, cluster_thompson, "
             "linear_thompson)");
    sy_policy_params pp = r->params;
    pp.arms = r->arms;
    if (r->n_candidates && sy_policy_params_check(&pp) != 0)
        err(l, "the policy parameters are inconsistent (docs/policies.md lists the ranges)");
}

/*
 * "providers", "models" and "routes" are objects keyed by name. Allocate one entry per
 * member (repeats included, so entry i is member i and indices found by member_index()
 * stay valid) and parse each first occurrence. An empty object is an error naming `what`
 * unless `what` is NULL (the section may be empty). Returns the array, owned by the
 * caller, or NULL when there is nothing to parse.
 */
static void *parse_map(loader *l, const cJSON *v, const char *what,
                       void (*parse_one)(loader *, const cJSON *, void *), size_t elem,
                       size_t *n_out)
{
    if (!want_object(l, v))
        return NULL;
    size_t n = member_count(v);
    if (n == 0) {
        if (what)
            err(l, "at least one %s is required", what);
        return NULL;
    }
    char *base = sy_xcalloc(n, elem);
    *n_out = n;
    size_t i = 0;
    for (const cJSON *m = v->child; m; m = m->next, i++) {
        if (!check_member(l, v, m, NULL, 0))
            continue;
        size_t mark = push_key(l, m->string);
        parse_one(l, m, base + i * elem);
        pop(l, mark);
    }
    return base;
}

static void parse_provider_cb(loader *l, const cJSON *v, void *p)
{
    parse_provider(l, v, p);
}
static void parse_model_cb(loader *l, const cJSON *v, void *p)
{
    parse_model(l, v, p);
}
static void parse_route_cb(loader *l, const cJSON *v, void *p)
{
    parse_route(l, v, p);
}

/* "client_keys": [{"name", "sha256"}], names and digests unique. */
static void parse_client_keys(loader *l, const cJSON *v)
{
    static const char *const keys[] = {"name", "sha256", "limits"};
    static const char *const limit_keys[] = {"requests_per_minute", "tokens_per_minute",
                                             "usd_per_day", "usd_per_month"};
    sy_config *cfg = l->cfg;
    if (!cJSON_IsArray(v)) {
        err(l, "expected an array");
        return;
    }
    size_t n = (size_t)cJSON_GetArraySize(v);
    if (n == 0) {
        err(l, "at least one client key is required (make one with `switchyard hash-key "
               "--generate`)");
        return;
    }
    cfg->client_keys = sy_xcalloc(n, sizeof(*cfg->client_keys));
    cfg->n_client_keys = n;
    uint8_t *valid = sy_xcalloc(n, 1); /* digest parsed */
    size_t i = 0;
    for (const cJSON *e = v->child; e; e = e->next, i++) {
        sy_client_key_cfg *k = &cfg->client_keys[i];
        size_t mark = push_index(l, i);
        if (want_object(l, e)) {
            check_members(l, e, keys, SY_ARRAY_LEN(keys));
            const char *s;
            int rc = get_string(l, e, "name", 0, &s);
            if (rc == 0) {
                err(l, "missing required key \"name\"");
            } else if (rc > 0 && check_text_at(l, "name", s, SY_CONFIG_MAX_NAME, "key name")) {
                k->name = sy_xstrdup(s);
                for (size_t j = 0; j < i; j++)
                    if (cfg->client_keys[j].name && strcmp(cfg->client_keys[j].name, s) == 0) {
                        errk(l, "name", "duplicate client key name \"%s\" (also at index %zu)", s,
                             j);
                        break;
                    }
            }
            const cJSON *lim = get(e, "limits");
            if (lim) {
                size_t lmark = push_key(l, "limits");
                if (want_object(l, lim)) {
                    check_members(l, lim, limit_keys, SY_ARRAY_LEN(limit_keys));
                    get_unsigned(l, lim, "requests_per_minute", 0, 100000000,
                                 &k->limits.requests_per_minute);
                    get_unsigned(l, lim, "tokens_per_minute", 0, 4000000000u,
                                 &k->limits.tokens_per_minute);
                    get_number(l, lim, "usd_per_day", 0, 1e9, &k->limits.usd_per_day);
                    get_number(l, lim, "usd_per_month", 0, 1e9, &k->limits.usd_per_month);
                }
                pop(l, lmark);
            }
            if (!get(e, "sha256")) {
                err(l, "missing required key \"sha256\"");
            } else if (get_digest(l, e, "sha256", k->sha256)) {
                valid[i] = 1;
                for (size_t j = 0; j < i; j++)
                    if (valid[j] && memcmp(cfg->client_keys[j].sha256, k->sha256, 32) == 0) {
                        errk(l, "sha256", "same key as $.client_keys[%zu]", j);
                        break;
                    }
            }
        }
        pop(l, mark);
    }
    free(valid);
}

static unsigned default_workers(void)
{
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    if (n < 1)
        return DEFAULT_WORKERS;
    return n > MAX_WORKERS ? MAX_WORKERS : (unsigned)n;
}

static void set_defaults(sy_config *cfg)
{
    cfg->listen.address = sy_xstrdup("127.0.0.1");
    cfg->listen.port = 8080;
    cfg->admin.address = sy_xstrdup("127.0.0.1");
    cfg->admin.port = 8081;
    cfg->workers = default_workers();
    cfg->data_dir = sy_xstrdup("./switchyard-data");
    cfg->drain_timeout_ms = 10000;
    cfg->limits = (sy_limits_cfg){.max_body_bytes = 1048576,
                                  .max_header_bytes = 16384,
                                  .max_headers = 64,
                                  .request_timeout_ms = 10000,
                                  .idle_timeout_ms = 60000,
                                  .max_connections = 4096,
                                  .max_json_depth = 64};
    cfg->upstream = (sy_upstream_cfg){
        .connect_timeout_ms = 5000, .request_timeout_ms = 300000, .stream_buffer_bytes = 65536};
    cfg->store = (sy_store_cfg){.map_size_mb = 64, .max_map_size_mb = 16384, .batch_ms = 2};
    cfg->feedback.window_s = 7 * 86400;
    cfg->conversations =
        (sy_conversation_cfg){.ttl_s = 86400, .max = 1000000, .implicit_weight = 0.3};
    cfg->reliability = (sy_reliability_cfg){.max_attempts = 3,
                                            .retry_budget = 0.2,
                                            .backoff_base_ms = 50,
                                            .backoff_max_ms = 2000,
                                            .retry_after_cap_ms = 10000,
                                            .deadline_ms = 120000,
                                            .ttft_timeout_ms = 30000,
                                            .idle_timeout_ms = 60000,
                                            .breaker_failures = 5,
                                            .breaker_window = 20,
                                            .breaker_failure_rate = 0.5,
                                            .breaker_cooldown_ms = 1000,
                                            .breaker_max_cooldown_ms = 60000};
    cfg->log.level = sy_xstrdup("info");
    cfg->log.requests = 1;
}

/* 1 when the two listener addresses can collide on one port (equal, or one wildcard). */
static int addresses_overlap(const char *a, const char *b)
{
    unsigned char x[sizeof(struct in6_addr)] = {0}, y[sizeof(struct in6_addr)] = {0};
    int fa = inet_pton(AF_INET, a, x) == 1 ? AF_INET : AF_INET6;
    int fb = inet_pton(AF_INET, b, y) == 1 ? AF_INET : AF_INET6;
    if (fa == AF_INET6)
        inet_pton(AF_INET6, a, x);
    if (fb == AF_INET6)
        inet_pton(AF_INET6, b, y);
    static const unsigned char zero[sizeof(struct in6_addr)] = {0};
    size_t la = fa == AF_INET ? 4 : 16, lb = fb == AF_INET ? 4 : 16;
    if (memcmp(x, zero, la) == 0 || memcmp(y, zero, lb) == 0)
        return 1;
    return fa == fb && memcmp(x, y, la) == 0;
}

/* Checks that need the whole document: required sections, clashes between sections. */
static void check_whole(loader *l, const cJSON *root)
{
    sy_config *cfg = l->cfg;
    if (!get(root, "providers"))
        err(l, "missing required key \"providers\"");
    if (!get(root, "models"))
        err(l, "missing required key \"models\"");
    if (!get(root, "client_keys"))
        err(l, "missing required key \"client_keys\" (make a key with `switchyard hash-key "
               "--generate`)");
    if (cfg->admin_enabled) {
        for (size_t i = 0; i < cfg->n_client_keys; i++)
            if (memcmp(cfg->client_keys[i].sha256, cfg->admin_key_sha256, 32) == 0) {
                size_t mark = push_key(l, "admin");
                errk(l, "key_sha256",
                     "must differ from every client key (same as "
                     "$.client_keys[%zu])",
                     i);
                pop(l, mark);
            }
        if (cfg->admin.port != 0 && cfg->admin.port == cfg->listen.port &&
            addresses_overlap(cfg->admin.address, cfg->listen.address)) {
            size_t mark = push_key(l, "admin");
            errk(l, "port", "conflicts with $.listen (same port %u on an overlapping address)",
                 (unsigned)cfg->admin.port);
            pop(l, mark);
        }
    }
}

/* Walk the top-level object in document order, dispatching each section. */
static void parse_root(loader *l, const cJSON *root)
{
    static const char *const keys[] = {
        "listen",   "admin",    "workers",     "data_dir",      "drain_timeout_ms", "limits",
        "upstream", "log",      "providers",   "models",        "routes",           "client_keys",
        "store",    "feedback", "reliability", "conversations", "experiments"};
    sy_config *cfg = l->cfg;
    if (!want_object(l, root))
        return;
    const cJSON *p = get(root, "providers"), *m = get(root, "models");
    l->providers = cJSON_IsObject(p) ? p : NULL;
    l->models = cJSON_IsObject(m) ? m : NULL;

    for (const cJSON *v = root->child; v; v = v->next) {
        const char *key = v->string;
        if (!check_member(l, root, v, keys, SY_ARRAY_LEN(keys)))
            continue;
        const char *s;
        if (strcmp(key, "workers") == 0) {
            get_unsigned(l, root, "workers", 1, MAX_WORKERS, &cfg->workers);
            continue;
        }
        if (strcmp(key, "drain_timeout_ms") == 0) {
            get_unsigned(l, root, "drain_timeout_ms", 0, 3600000, &cfg->drain_timeout_ms);
            continue;
        }
        if (strcmp(key, "data_dir") == 0) {
            if (get_string(l, root, "data_dir", 0, &s) > 0 &&
                check_text_at(l, "data_dir", s, MAX_TEXT, "data_dir")) {
                free(cfg->data_dir);
                cfg->data_dir = sy_xstrdup(s);
            }
            continue;
        }
        size_t mark = push_key(l, key); /* the remaining sections are objects or arrays */
        if (strcmp(key, "listen") == 0) {
            parse_listener(l, v, &cfg->listen, 0);
        } else if (strcmp(key, "admin") == 0) {
            parse_listener(l, v, &cfg->admin, 1);
        } else if (strcmp(key, "limits") == 0) {
            parse_limits(l, v);
        } else if (strcmp(key, "upstream") == 0) {
            parse_upstream(l, v);
        } else if (strcmp(key, "log") == 0) {
            parse_log(l, v);
        } else if (strcmp(key, "store") == 0) {
            parse_store(l, v);
        } else if (strcmp(key, "feedback") == 0) {
            parse_feedback(l, v);
        } else if (strcmp(key, "reliability") == 0) {
            parse_reliability(l, v);
        } else if (strcmp(key, "conversations") == 0) {
            parse_conversations(l, v);
        } else if (strcmp(key, "providers") == 0) {
            cfg->providers = parse_map(l, v, "provider", parse_provider_cb, sizeof(*cfg->providers),
                                       &cfg->n_providers);
        } else if (strcmp(key, "models") == 0) {
            cfg->models =
                parse_map(l, v, "model", parse_model_cb, sizeof(*cfg->models), &cfg->n_models);
        } else if (strcmp(key, "routes") == 0) {
            cfg->routes =
                parse_map(l, v, NULL, parse_route_cb, sizeof(*cfg->routes), &cfg->n_routes);
        } else if (strcmp(key, "client_keys") == 0) {
            parse_client_keys(l, v);
        } else if (strcmp(key, "experiments") == 0 && !cJSON_IsArray(v)) {
            err(l, "must be an array of experiment definitions (docs/experiments.md)");
        } /* experiments' contents are checked by engine/experiments.c */
        pop(l, mark);
    }
    check_whole(l, root);
}

/* ---- input checks ---------------------------------------------------------------- */

/* Offset of the first byte that is not part of valid UTF-8 (RFC 3629), or len. */
static size_t utf8_invalid_at(const unsigned char *s, size_t len)
{
    size_t i = 0;
    while (i < len) {
        unsigned char c = s[i];
        size_t n;
        unsigned lo = 0x80, hi = 0xbf; /* bounds for the second byte */
        if (c < 0x80) {
            i++;
            continue;
        } else if (c >= 0xc2 && c <= 0xdf) {
            n = 1;
        } else if (c >= 0xe0 && c <= 0xef) {
            n = 2;
            if (c == 0xe0)
                lo = 0xa0; /* overlong */
            if (c == 0xed)
                hi = 0x9f; /* surrogates */
        } else if (c >= 0xf0 && c <= 0xf4) {
            n = 3;
            if (c == 0xf0)
                lo = 0x90;
            if (c == 0xf4)
                hi = 0x8f; /* > U+10FFFF */
        } else {
            return i;
        }
        if (i + n >= len)
            return i;
        if (s[i + 1] < lo || s[i + 1] > hi)
            return i;
        for (size_t k = 2; k <= n; k++)
            if ((s[i + k] & 0xc0) != 0x80)
                return i;
        i += n + 1;
    }
    return len;
}

/* Report "$: <what> near byte N (line L, column C)" for offset off of text. */
static void err_at_offset(loader *l, const char *what, const char *text, size_t off)
{
    size_t line = 1, col = 1;
    for (size_t i = 0; i < off; i++) {
        if (text[i] == '\n') {
            line++;
            col = 1;
        } else if (((unsigned char)text[i] & 0xc0) != 0x80) {
            col++;
        }
    }
    err(l, "%s near byte %zu (line %zu, column %zu)", what, off, line, col);
}

/* ---- public API ------------------------------------------------------------------ */

/*
 * Parse text into a fresh config. The text is copied (cJSON needs a terminator), checked
 * for NUL bytes and UTF-8 validity, parsed, then validated by parse_root(). The config
 * is returned only when no error was recorded; errs receives every message either way.
 */
sy_config *sy_config_parse(const char *text, size_t len, const char *path, sy_config_errors *errs)
{
    sy_config_errors local = {0};
    if (!errs)
        errs = &local;
    *errs = (sy_config_errors){0};
    loader l = {.errs = errs};
    sy_buf_puts(&l.path, "$");

    size_t skip = (len >= 3 && memcmp(text, "\xef\xbb\xbf", 3) == 0) ? 3 : 0; /* UTF-8 BOM */
    const char *nul = memchr(text, '\0', len);
    size_t bad_utf8 = utf8_invalid_at((const unsigned char *)text, len);
    size_t first = skip; /* first byte that is not JSON whitespace */
    while (first < len && text[first] && strchr(" \t\r\n", text[first]))
        first++;
    cJSON *root = NULL;
    if (nul) {
        err_at_offset(&l, "invalid JSON (NUL byte)", text, (size_t)(nul - text));
    } else if (bad_utf8 < len) {
        err_at_offset(&l, "invalid UTF-8", text, bad_utf8);
    } else if (first == len) {
        err(&l, "the file is empty (expected a JSON object)");
    } else {
        char *copy = sy_xstrndup(text, len);
        const char *end = NULL;
        root = cJSON_ParseWithLengthOpts(copy + skip, len - skip + 1, &end, 1);
        if (!root) {
            size_t off = end ? (size_t)(end - copy) : skip;
            if (off > len)
                off = len;
            err_at_offset(&l, "invalid JSON", copy, off);
        }
        free(copy);
    }

    sy_config *cfg = NULL;
    if (root) {
        cfg = sy_xcalloc(1, sizeof(*cfg));
        cfg->path = path ? sy_xstrdup(path) : NULL;
        cfg->text = sy_xstrndup(text, len);
        cfg->text_len = len;
        set_defaults(cfg);
        l.cfg = cfg;
        parse_root(&l, root);
        cJSON_Delete(root);
    }
    sy_buf_free(&l.path);

    if (cfg && errs->n == 0) {
        for (size_t i = 0; i < cfg->n_providers; i++) {
            sy_provider_cfg *p = &cfg->providers[i];
            const char *key = p->key_env ? getenv(p->key_env) : NULL;
            p->api_key = key ? sy_xstrdup(key) : NULL;
        }
        return cfg;
    }
    sy_config_free(cfg);
    sy_config_errors_free(&local);
    return NULL;
}

/* Read the whole file (at most MAX_FILE_BYTES) and hand it to sy_config_parse(). */
sy_config *sy_config_load(const char *path, sy_config_errors *errs)
{
    sy_config_errors local = {0};
    if (!errs)
        errs = &local;
    *errs = (sy_config_errors){0};
    sy_buf b = {0};
    const char *problem = NULL;
    int saved = 0;
    FILE *f = path ? fopen(path, "rb") : NULL;
    if (!path) {
        problem = "no configuration file given";
    } else if (!f) {
        saved = errno;
    } else {
        char chunk[65536];
        size_t n;
        while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0) {
            sy_buf_append(&b, chunk, n);
            if (b.len > MAX_FILE_BYTES)
                break;
        }
        if (ferror(f))
            saved = errno ? errno : EIO;
        fclose(f);
        if (!saved && b.len > MAX_FILE_BYTES)
            problem = "the file is larger than 16 MiB";
    }
    if (problem || saved) {
        sy_buf msg = {0};
        if (problem)
            sy_buf_printf(&msg, "$: %s", problem);
        else
            sy_buf_printf(&msg, "$: cannot read %s: %s", path, strerror(saved));
        errors_add(errs, sy_xstrdup(msg.data));
        sy_buf_free(&msg);
        sy_buf_free(&b);
        sy_config_errors_free(&local);
        return NULL;
    }
    sy_config *cfg = sy_config_parse(b.data ? b.data : "", b.len, path, errs);
    sy_buf_free(&b);
    return cfg;
}

/* Free a config and everything it owns; accepts NULL and partially filled configs. */
static void route_free_members(sy_route_cfg *r)
{
    free(r->name);
    free(r->candidates);
    free(r->policy);
    free(r->arms);
    for (size_t j = 0; j < r->n_rules; j++) {
        free(r->rules[j].name);
        free(r->rules[j].target);
        free(r->rules[j].when_src);
        sy_expr_free(r->rules[j].when);
    }
    free(r->rules);
}

/*
 * A route block on its own, for the simulator: the models it may name are the dataset's
 * arms. The block goes through parse_route() itself, so it means exactly what it means
 * in a config file; "candidates" defaults to every arm. Errors are reported at paths
 * under "$.route".
 */
sy_route_cfg *sy_route_block_parse(const char *text, size_t len, const char *const *arm_names,
                                   size_t n_arms, sy_config_errors *errs)
{
    loader l = {.errs = errs};
    sy_buf_puts(&l.path, "$");
    cJSON *root = cJSON_ParseWithLength(text, len);
    sy_route_cfg *r = NULL;
    cJSON *models = cJSON_CreateObject();
    for (size_t k = 0; k < n_arms; k++)
        cJSON_AddItemToObject(models, arm_names[k], cJSON_CreateObject());
    l.models = models;
    if (!root) {
        err(&l, "the route block is not valid JSON (near byte %zu)",
            cJSON_GetErrorPtr() ? (size_t)(cJSON_GetErrorPtr() - text) : (size_t)0);
        goto done;
    }
    if (!cJSON_IsObject(root)) {
        err(&l, "the route block must be a JSON object");
        goto done;
    }
    if (!get(root, "candidates")) {
        cJSON *c = cJSON_CreateArray();
        for (size_t k = 0; k < n_arms; k++)
            cJSON_AddItemToArray(c, cJSON_CreateString(arm_names[k]));
        cJSON_AddItemToObject(root, "candidates", c);
    }
    cJSON *wrap = cJSON_CreateObject();
    cJSON_AddItemToObject(wrap, "route", root);
    root = wrap;
    r = sy_xcalloc(1, sizeof(*r));
    size_t mark = push_key(&l, "route");
    parse_route(&l, wrap->child, r);
    pop(&l, mark);
    if (errs->n) {
        sy_route_cfg_free(r);
        r = NULL;
    }
done:
    cJSON_Delete(root);
    cJSON_Delete(models);
    sy_buf_free(&l.path);
    return r;
}

void sy_route_cfg_free(sy_route_cfg *r)
{
    if (!r)
        return;
    route_free_members(r);
    free(r);
}

void sy_config_free(sy_config *cfg)
{
    if (!cfg)
        return;
    free(cfg->path);
    free(cfg->text);
    free(cfg->listen.address);
    free(cfg->admin.address);
    free(cfg->data_dir);
    free(cfg->log.level);
    free(cfg->log.path);
    for (size_t i = 0; i < cfg->n_providers; i++) {
        sy_provider_cfg *p = &cfg->providers[i];
        free(p->name);
        free(p->base_url);
        free(p->key_env);
        if (p->api_key)
            explicit_bzero(p->api_key, strlen(p->api_key));
        free(p->api_key);
    }
    free(cfg->providers);
    for (size_t i = 0; i < cfg->n_models; i++) {
        free(cfg->models[i].name);
        free(cfg->models[i].upstream_name);
        free(cfg->models[i].tier);
    }
    free(cfg->models);
    for (size_t i = 0; i < cfg->n_routes; i++)
        route_free_members(&cfg->routes[i]);
    free(cfg->routes);
    for (size_t i = 0; i < cfg->n_client_keys; i++)
        free(cfg->client_keys[i].name);
    free(cfg->client_keys);
    free(cfg);
}

void sy_config_errors_free(sy_config_errors *errs)
{
    if (!errs)
        return;
    for (size_t i = 0; i < errs->n; i++)
        free(errs->items[i]);
    free(errs->items);
    errs->items = NULL;
    errs->n = 0;
}

const sy_model_cfg *sy_config_find_model(const sy_config *cfg, const char *name)
{
    for (size_t i = 0; i < cfg->n_models; i++)
        if (strcmp(cfg->models[i].name, name) == 0)
            return &cfg->models[i];
    return NULL;
}

const sy_route_cfg *sy_config_find_route(const sy_config *cfg, const char *name)
{
    for (size_t i = 0; i < cfg->n_routes; i++)
        if (strcmp(cfg->routes[i].name, name) == 0)
            return &cfg->routes[i];
    return NULL;
}

const char *sy_dialect_name(sy_dialect d)
{
    if ((size_t)d < SY_ARRAY_LEN(k_dialects))
        return k_dialects[d];
    return "unknown";
}
