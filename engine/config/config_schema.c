/*
 * config_schema: the table walker of the config loader, and the helpers every section
 * shares (errors with JSON paths, did-you-mean, scalar values). See config_schema.h.
 */
#include "config_schema.h"

#include "sha256.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- errors and paths ------------------------------------------------------------ */

void sy_cfg_errors_add(sy_config_errors *e, char *msg)
{
    e->items = sy_xrealloc(e->items, (e->n + 1) * sizeof(*e->items));
    e->items[e->n++] = msg;
}

/* Append "<current path>: <message>" to the error list. */
static void verr(sy_cfg_loader *l, const char *fmt, va_list ap)
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
    sy_cfg_errors_add(l->errs, msg);
}

void sy_cfg_err(sy_cfg_loader *l, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    verr(l, fmt, ap);
    va_end(ap);
}

/*
 * Descend into object member `key`. The key is shown as is, except that control bytes
 * become '?' and a key longer than SY_CFG_MAX_PATH_KEY bytes is cut (at a UTF-8
 * boundary) and marked with "...". Returns the mark to pass to sy_cfg_pop().
 */
size_t sy_cfg_push_key(sy_cfg_loader *l, const char *key)
{
    size_t mark = l->path.len;
    size_t n = strlen(key);
    int cut = n > SY_CFG_MAX_PATH_KEY;
    if (cut) {
        n = SY_CFG_MAX_PATH_KEY;
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

size_t sy_cfg_push_index(sy_cfg_loader *l, size_t i)
{
    size_t mark = l->path.len;
    sy_buf_printf(&l->path, "[%zu]", i);
    return mark;
}

void sy_cfg_pop(sy_cfg_loader *l, size_t mark)
{
    l->path.len = mark;
    l->path.data[mark] = '\0';
}

void sy_cfg_errk(sy_cfg_loader *l, const char *key, const char *fmt, ...)
{
    size_t mark = sy_cfg_push_key(l, key);
    va_list ap;
    va_start(ap, fmt);
    verr(l, fmt, ap);
    va_end(ap);
    sy_cfg_pop(l, mark);
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
const char *sy_cfg_suggest(const char *word, const char *const *cands, size_t n)
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

static size_t member_count(const cJSON *obj)
{
    size_t n = 0;
    for (const cJSON *m = obj->child; m; m = m->next)
        n++;
    return n;
}

const char *sy_cfg_suggest_key(const char *word, const cJSON *obj)
{
    if (!obj)
        return NULL;
    size_t n = member_count(obj);
    const char **names = sy_xmalloc((n ? n : 1) * sizeof(*names));
    n = 0;
    for (const cJSON *m = obj->child; m; m = m->next)
        names[n++] = m->string;
    const char *s = sy_cfg_suggest(word, names, n);
    free(names);
    return s;
}

void sy_cfg_join(sy_buf *b, const char *const *list, size_t n)
{
    for (size_t i = 0; i < n; i++)
        sy_buf_printf(b, "%s%s", i ? ", " : "", list[i]);
}

long sy_cfg_member_index(const cJSON *obj, const char *name)
{
    long i = 0;
    for (const cJSON *m = obj->child; m; m = m->next, i++)
        if (strcmp(m->string, name) == 0)
            return i;
    return -1;
}

/* Index of model `name` among the current route's candidates, or -1 (rules and
 * per-arm blocks of the route being read). */
long sy_cfg_candidate_index(sy_cfg_loader *l, const char *name)
{
    const sy_route_cfg *r = l->route;
    long idx = l->models ? sy_cfg_member_index(l->models, name) : -1;
    for (size_t k = 0; idx >= 0 && k < r->n_candidates; k++)
        if (r->candidates[k] == (size_t)idx)
            return (long)k;
    return -1;
}

/* ---- members ----------------------------------------------------------------------- */

/* 1 when an earlier member of obj has the same name as m (the first one wins). */
static int is_repeat(const cJSON *obj, const cJSON *m)
{
    for (const cJSON *p = obj->child; p != m; p = p->next)
        if (strcmp(p->string, m->string) == 0)
            return 1;
    return 0;
}

static const sy_cfg_field *find_field(const sy_cfg_schema *s, const char *key)
{
    for (size_t i = 0; i < s->n_fields; i++)
        if (strcmp(s->fields[i].key, key) == 0)
            return &s->fields[i];
    return NULL;
}

int sy_cfg_check_member(sy_cfg_loader *l, const cJSON *obj, const cJSON *m, const sy_cfg_schema *s)
{
    if (is_repeat(obj, m)) {
        sy_cfg_errk(l, m->string, "duplicate key (only the first one would be used)");
        return 0;
    }
    if (!s || find_field(s, m->string))
        return 1;
    const char **keys = sy_xmalloc((s->n_fields ? s->n_fields : 1) * sizeof(*keys));
    for (size_t i = 0; i < s->n_fields; i++)
        keys[i] = s->fields[i].key;
    const char *hint = sy_cfg_suggest(m->string, keys, s->n_fields);
    if (hint) {
        sy_cfg_errk(l, m->string, "unknown key (did you mean \"%s\"?)", hint);
    } else {
        sy_buf known = {0};
        sy_cfg_join(&known, keys, s->n_fields);
        sy_cfg_errk(l, m->string, "unknown key (known keys: %s)", known.data ? known.data : "");
        sy_buf_free(&known);
    }
    free(keys);
    return 0;
}

/* ---- scalar values ------------------------------------------------------------------ */

const cJSON *sy_cfg_get(const cJSON *obj, const char *key)
{
    return cJSON_GetObjectItemCaseSensitive(obj, key);
}

int sy_cfg_want_object(sy_cfg_loader *l, const cJSON *v)
{
    if (cJSON_IsObject(v))
        return 1;
    sy_cfg_err(l, "expected an object");
    return 0;
}

int sy_cfg_int(sy_cfg_loader *l, const cJSON *v, long long lo, long long hi, long long *out)
{
    if (!cJSON_IsNumber(v) || !isfinite(v->valuedouble) ||
        v->valuedouble != floor(v->valuedouble)) {
        sy_cfg_err(l, "expected an integer");
        return -1;
    }
    if (v->valuedouble < (double)lo || v->valuedouble > (double)hi) {
        sy_cfg_err(l, "must be between %lld and %lld", lo, hi);
        return -1;
    }
    *out = (long long)v->valuedouble;
    return 1;
}

int sy_cfg_number(sy_cfg_loader *l, const cJSON *v, double lo, double hi, double *out)
{
    if (!cJSON_IsNumber(v) || !isfinite(v->valuedouble)) {
        sy_cfg_err(l, "expected a number");
        return -1;
    }
    if (v->valuedouble < lo || v->valuedouble > hi) {
        sy_cfg_err(l, "must be between %.15g and %.15g", lo, hi);
        return -1;
    }
    *out = v->valuedouble;
    return 1;
}

int sy_cfg_string(sy_cfg_loader *l, const cJSON *v, const char **out)
{
    if (!cJSON_IsString(v)) {
        sy_cfg_err(l, "expected a string");
        return -1;
    }
    *out = v->valuestring;
    return 1;
}

int sy_cfg_check_text(sy_cfg_loader *l, const char *s, size_t max, const char *what)
{
    size_t n = strlen(s);
    if (n == 0) {
        sy_cfg_err(l, "%s must not be empty", what);
        return 0;
    }
    if (n > max) {
        sy_cfg_err(l, "%s is longer than %zu bytes", what, max);
        return 0;
    }
    for (size_t i = 0; i < n; i++) {
        unsigned char ch = (unsigned char)s[i];
        if (ch < 0x20 || ch == 0x7f) {
            sy_cfg_err(l, "%s must not contain control characters", what);
            return 0;
        }
    }
    return 1;
}

int sy_cfg_digest(sy_cfg_loader *l, const cJSON *v, uint8_t out[32])
{
    const char *s;
    if (sy_cfg_string(l, v, &s) < 0)
        return 0;
    if (sy_hex_decode(s, strlen(s), out, SY_SHA256_LEN) != 0) {
        sy_cfg_err(l, "expected 64 hex characters (the SHA-256 of the key, as printed by "
                      "`switchyard hash-key`)");
        return 0;
    }
    return 1;
}

/* ---- the walker ----------------------------------------------------------------------- */

#define AT(out, f, type) ((type *)(void *)((char *)(out) + (f)->offset))

/* Store an integral value of field f (already range-checked). */
static void store_int(const sy_cfg_field *f, void *out, long long v)
{
    if (f->type == SY_CFG_UINT)
        *AT(out, f, unsigned) = (unsigned)v;
    else if (f->type == SY_CFG_SIZE)
        *AT(out, f, size_t) = (size_t)v;
    else
        *AT(out, f, uint16_t) = (uint16_t)v;
}

static void store_string(const sy_cfg_field *f, void *out, const char *s)
{
    char **slot = AT(out, f, char *);
    free(*slot);
    *slot = s ? sy_xstrdup(s) : NULL;
}

void sy_cfg_defaults(const sy_cfg_schema *s, void *out)
{
    for (size_t i = 0; i < s->n_fields; i++) {
        const sy_cfg_field *f = &s->fields[i];
        if (f->type == SY_CFG_OBJECT) {
            sy_cfg_defaults(f->sub, AT(out, f, char));
            continue;
        }
        if (!(f->flags & SY_CFG_DEFAULT))
            continue;
        switch (f->type) {
        case SY_CFG_UINT:
        case SY_CFG_SIZE:
        case SY_CFG_U16:
            store_int(f, out, (long long)f->def);
            break;
        case SY_CFG_NUMBER:
            *AT(out, f, double) = f->def;
            break;
        case SY_CFG_BOOL:
            *AT(out, f, int) = f->def != 0;
            break;
        case SY_CFG_STRING:
            store_string(f, out, f->def_str);
            break;
        default:
            break;
        }
    }
    if (s->init)
        s->init(out);
}

/* A string field: type, then choices, text rules and the field's own check. */
static void read_string(sy_cfg_loader *l, const sy_cfg_field *f, const cJSON *v, void *out)
{
    if ((f->flags & SY_CFG_NULLABLE) && cJSON_IsNull(v)) {
        store_string(f, out, NULL);
        return;
    }
    if (!cJSON_IsString(v)) {
        sy_cfg_err(l, (f->flags & SY_CFG_NULLABLE) ? "expected a string or null"
                                                   : "expected a string");
        return;
    }
    const char *s = v->valuestring;
    if (f->choices) {
        size_t i = 0;
        while (i < f->n_choices && strcmp(s, f->choices[i]) != 0)
            i++;
        if (i == f->n_choices) {
            sy_buf known = {0};
            sy_cfg_join(&known, f->choices, f->n_choices);
            sy_cfg_err(l, "must be one of %s (got \"%s\")", known.data, s);
            sy_buf_free(&known);
            return;
        }
    }
    if (f->what && !sy_cfg_check_text(l, s, f->max_len, f->what))
        return;
    if (f->check && f->check(l, s, out) < 0)
        return;
    store_string(f, out, s);
}

/* Read the value v of field f into out; the current path is the member's. */
static void read_value(sy_cfg_loader *l, const sy_cfg_field *f, const cJSON *v, void *out)
{
    long long i;
    double d;
    switch (f->type) {
    case SY_CFG_UINT:
    case SY_CFG_SIZE:
    case SY_CFG_U16:
        if (sy_cfg_int(l, v, (long long)f->lo, (long long)f->hi, &i) > 0)
            store_int(f, out, i);
        break;
    case SY_CFG_NUMBER:
        if (sy_cfg_number(l, v, f->lo, f->hi, &d) > 0)
            *AT(out, f, double) = f->div != 0 ? d / f->div : d;
        break;
    case SY_CFG_BOOL:
        if (cJSON_IsBool(v))
            *AT(out, f, int) = cJSON_IsTrue(v);
        else
            sy_cfg_err(l, "expected a boolean");
        break;
    case SY_CFG_STRING:
        read_string(l, f, v, out);
        break;
    case SY_CFG_OBJECT:
        sy_cfg_walk(l, v, f->sub, AT(out, f, char));
        break;
    case SY_CFG_CUSTOM:
        f->read(l, v, AT(out, f, char));
        break;
    }
}

static void report_missing(sy_cfg_loader *l, const sy_cfg_field *f)
{
    sy_cfg_err(l, "missing required key \"%s\"%s%s", f->key, f->hint ? " " : "",
               f->hint ? f->hint : "");
}

/* Read field f of obj: its value when present; else report it if required. */
static void read_field(sy_cfg_loader *l, const cJSON *obj, const sy_cfg_field *f, void *out,
                       int report)
{
    const cJSON *v = sy_cfg_get(obj, f->key);
    if (!v) {
        if (report && (f->flags & SY_CFG_REQUIRED))
            report_missing(l, f);
        if (f->type == SY_CFG_CUSTOM && (f->flags & SY_CFG_CALL_ABSENT)) {
            size_t mark = sy_cfg_push_key(l, f->key);
            f->read(l, NULL, AT(out, f, char));
            sy_cfg_pop(l, mark);
        }
        return;
    }
    size_t mark = sy_cfg_push_key(l, f->key);
    read_value(l, f, v, out);
    sy_cfg_pop(l, mark);
}

int sy_cfg_walk(sy_cfg_loader *l, const cJSON *v, const sy_cfg_schema *s, void *out)
{
    if (!sy_cfg_want_object(l, v))
        return -1;
    if (s->doc_order) {
        for (const cJSON *m = v->child; m; m = m->next)
            if (sy_cfg_check_member(l, v, m, s))
                read_field(l, v, find_field(s, m->string), out, 0);
        for (size_t i = 0; i < s->n_fields; i++)
            if ((s->fields[i].flags & SY_CFG_REQUIRED) && !sy_cfg_get(v, s->fields[i].key))
                report_missing(l, &s->fields[i]);
    } else {
        for (const cJSON *m = v->child; m; m = m->next)
            sy_cfg_check_member(l, v, m, s);
        if (s->before && s->before(l, v, out) < 0)
            return 0;
        unsigned last = 0;
        for (size_t i = 0; i < s->n_fields; i++)
            last = s->fields[i].pass > last ? s->fields[i].pass : last;
        for (unsigned pass = 0; pass <= last; pass++)
            for (size_t i = 0; i < s->n_fields; i++)
                if (s->fields[i].pass == pass)
                    read_field(l, v, &s->fields[i], out, 1);
    }
    if (s->after)
        s->after(l, v, out);
    return 0;
}

void *sy_cfg_map(sy_cfg_loader *l, const cJSON *v, const char *what,
                 void (*parse_one)(sy_cfg_loader *, const cJSON *, void *), size_t elem,
                 size_t *n_out)
{
    if (!sy_cfg_want_object(l, v))
        return NULL;
    size_t n = member_count(v);
    if (n == 0) {
        if (what)
            sy_cfg_err(l, "at least one %s is required", what);
        return NULL;
    }
    char *base = sy_xcalloc(n, elem);
    *n_out = n;
    size_t i = 0;
    for (const cJSON *m = v->child; m; m = m->next, i++) {
        if (!sy_cfg_check_member(l, v, m, NULL))
            continue;
        size_t mark = sy_cfg_push_key(l, m->string);
        parse_one(l, m, base + i * elem);
        sy_cfg_pop(l, mark);
    }
    return base;
}
