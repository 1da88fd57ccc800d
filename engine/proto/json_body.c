/* json_body: see json_body.h. */
#include "json_body.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- UTF-8 */

/* Length of the well-formed UTF-8 sequence at s[0..n) (lead byte >= 0x80), or 0. The
 * ranges are RFC 3629's table: they exclude overlongs, surrogates and > U+10FFFF. */
static size_t utf8_seq(const unsigned char *s, size_t n)
{
    unsigned char c = s[0];
    unsigned char lo = 0x80, hi = 0xBF;
    size_t len;
    if (c >= 0xC2 && c <= 0xDF)
        len = 2;
    else if (c >= 0xE0 && c <= 0xEF)
        len = 3, lo = c == 0xE0 ? 0xA0 : 0x80, hi = c == 0xED ? 0x9F : 0xBF;
    else if (c >= 0xF0 && c <= 0xF4)
        len = 4, lo = c == 0xF0 ? 0x90 : 0x80, hi = c == 0xF4 ? 0x8F : 0xBF;
    else
        return 0;
    if (n < len || s[1] < lo || s[1] > hi)
        return 0;
    for (size_t i = 2; i < len; i++)
        if (s[i] < 0x80 || s[i] > 0xBF)
            return 0;
    return len;
}

int sy_utf8_valid(const char *str, size_t n)
{
    const unsigned char *s = (const unsigned char *)str;
    size_t i = 0;
    while (i < n) {
        /* ASCII fast path: 8 bytes at a time */
        while (i + 8 <= n) {
            uint64_t w;
            memcpy(&w, s + i, 8);
            if (w & 0x8080808080808080ull)
                break;
            i += 8;
        }
        if (i >= n)
            break;
        if (s[i] < 0x80) {
            i++;
            continue;
        }
        size_t k = utf8_seq(s + i, n - i);
        if (!k)
            return 0;
        i += k;
    }
    return 1;
}

/* ---- escaped NULs */

static int hex4(const char *p)
{
    for (int i = 0; i < 4; i++) {
        char c = p[i];
        if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F')))
            return 0;
    }
    return 1;
}

/*
 * One walk over the backslashes (memchr: bodies without escapes cost nothing more):
 * escapes pair up left to right, and backslashes only occur inside strings in valid
 * JSON, so each \u seen here is a real escape. Its four hex digits are checked because
 * cJSON reads a bad digit as 0: "\u00zz" would become a NUL that ends the string.
 */
int sy_json_nul_encode(char *buf, size_t *len)
{
    size_t n = *len, r = 0, w = 0, at = 0;
    int count = 0;
    const char *hit;
    while (at < n && (hit = memchr(buf + at, '\\', n - at)) != NULL) {
        at = (size_t)(hit - buf);
        if (at + 1 >= n)
            break; /* a lone backslash at the end: the parse refuses it */
        if (buf[at + 1] != 'u') {
            at += 2;
            continue;
        }
        if (at + 6 > n || !hex4(buf + at + 2))
            return SY_ERR_INVALID;
        if (memcmp(buf + at + 2, "0000", 4) == 0) {
            memmove(buf + w, buf + r, at - r);
            w += at - r;
            memcpy(buf + w, SY_JSON_NUL, 2);
            w += 2;
            r = at + 6;
            count++;
        }
        at += 6;
    }
    if (count == 0)
        return 0;
    memmove(buf + w, buf + r, n - r);
    w += n - r;
    buf[w] = '\0';
    *len = w;
    return count;
}

void sy_json_nul_restore(sy_buf *b)
{
    if (!b->data || !memmem(b->data, b->len, SY_JSON_NUL, 2))
        return;
    sy_buf out = {0};
    size_t r = 0;
    const char *hit;
    while ((hit = memmem(b->data + r, b->len - r, SY_JSON_NUL, 2)) != NULL) {
        size_t at = (size_t)(hit - b->data);
        sy_buf_append(&out, b->data + r, at - r);
        sy_buf_append(&out, "\\u0000", 6);
        r = at + 2;
    }
    sy_buf_append(&out, b->data + r, b->len - r);
    sy_buf_free(b);
    *b = out;
}

int sy_json_str_has_nul(const char *s)
{
    return s && strstr(s, SY_JSON_NUL) != NULL;
}

/* ---- duplicate member names */

#define DUP_MAX_PATH 32 /* levels shown in a duplicate's path */

typedef struct dup_walk {
    const cJSON *path[DUP_MAX_PATH]; /* the nodes from the root's child down */
    int depth;
    const cJSON *dup; /* the second occurrence, once found */
} dup_walk;

static int cmp_names(const void *a, const void *b)
{
    return strcmp((*(const cJSON *const *)a)->string, (*(const cJSON *const *)b)->string);
}

/* A duplicate in a large object: sort the names, compare neighbours (n log n, so a
 * hostile 100,000-member object costs no n² comparisons). */
static const cJSON *sorted_duplicate(const cJSON *obj)
{
    size_t n = 0;
    for (const cJSON *c = obj->child; c; c = c->next)
        n++;
    const cJSON **v = sy_xmalloc(n * sizeof(*v));
    size_t k = 0;
    for (const cJSON *c = obj->child; c; c = c->next)
        if (c->string)
            v[k++] = c;
    qsort(v, k, sizeof(*v), cmp_names);
    const cJSON *dup = NULL;
    for (size_t i = 1; i < k && !dup; i++)
        if (strcmp(v[i - 1]->string, v[i]->string) == 0)
            dup = v[i];
    free(v);
    return dup;
}

/* The first member of obj whose name repeats an earlier one, or NULL. Objects of up to
 * 16 members (nearly all) compare pairwise, first bytes first. */
static const cJSON *object_duplicate(const cJSON *obj)
{
    size_t n = 0;
    for (const cJSON *c = obj->child; c; c = c->next, n++) {
        if (n == 16)
            return sorted_duplicate(obj);
        for (const cJSON *d = obj->child; d != c; d = d->next)
            if (c->string && d->string && c->string[0] == d->string[0] &&
                strcmp(c->string, d->string) == 0)
                return c;
    }
    return NULL;
}

/* Depth-first walk over containers; stops at the first duplicate (w->dup, w->path up
 * to it). Scalars are not visited. */
static int walk_duplicates(const cJSON *node, dup_walk *w)
{
    if (cJSON_IsObject(node) && (w->dup = object_duplicate(node)) != NULL) {
        if (w->depth < DUP_MAX_PATH)
            w->path[w->depth++] = w->dup;
        return 1;
    }
    for (const cJSON *c = node->child; c; c = c->next) {
        if (!(c->type & (cJSON_Object | cJSON_Array)))
            continue;
        int pushed = w->depth < DUP_MAX_PATH;
        if (pushed)
            w->path[w->depth++] = c;
        if (walk_duplicates(c, w))
            return 1;
        if (pushed)
            w->depth--;
    }
    return 0;
}

/* Append a member name to a path, printable ASCII only (it is echoed to the client). */
static void path_name(char *param, size_t len, size_t *at, const char *name)
{
    for (const char *p = name; *p && *at + 1 < len; p++)
        param[(*at)++] = (*p >= 0x20 && *p < 0x7f) ? *p : '?';
    param[*at] = '\0';
}

int sy_json_find_duplicate(const cJSON *root, char *param, size_t param_len)
{
    dup_walk w = {.depth = 0};
    if (!walk_duplicates(root, &w))
        return 0;
    size_t at = 0;
    param[0] = '\0';
    const cJSON *parent = root;
    for (int i = 0; i < w.depth && at + 1 < param_len; i++) {
        const cJSON *node = w.path[i];
        if (cJSON_IsArray(parent)) {
            int idx = 0;
            for (const cJSON *c = parent->child; c && c != node; c = c->next)
                idx++;
            int k = snprintf(param + at, param_len - at, "[%d]", idx);
            at += k > 0 ? (size_t)k : 0;
        } else {
            if (i > 0 && at + 1 < param_len)
                param[at++] = '.';
            path_name(param, param_len, &at, node->string ? node->string : "");
        }
        if (at >= param_len)
            at = param_len - 1;
        parent = node;
    }
    param[at] = '\0';
    return 1;
}

/* ---- parsing a body */

cJSON *sy_json_body_parse(char *buf, size_t *len, sy_json_error *err)
{
    err->param[0] = '\0';
    if (!buf) {
        err->message = "request body is not valid JSON";
        return NULL;
    }
    if (!sy_utf8_valid(buf, *len)) {
        err->message = "request body is not valid UTF-8";
        return NULL;
    }
    /* a raw NUL is never valid JSON, and cJSON would keep it inside a string, which
     * then ends there: "a<NUL>b" would be forwarded as "a" */
    if (memchr(buf, '\0', *len)) {
        err->message = "request body contains a raw NUL byte (write \\u0000 in a string)";
        return NULL;
    }
    if (sy_json_nul_encode(buf, len) < 0) {
        err->message = "request body is not valid JSON (a \\u escape needs four hex digits)";
        return NULL;
    }
    /* len + 1 with require_null_terminated: cJSON refuses anything after the document */
    cJSON *root = cJSON_ParseWithLengthOpts(buf, *len + 1, NULL, 1);
    if (!root) {
        err->message = "request body is not valid JSON";
        return NULL;
    }
    if (sy_json_find_duplicate(root, err->param, sizeof(err->param))) {
        err->message = "a JSON object has the same member name twice";
        cJSON_Delete(root);
        return NULL;
    }
    return root;
}

/* ---- syntax check without a tree */

typedef struct jscan {
    const char *p, *end;
    int depth;
} jscan;

static void skip_ws(jscan *s)
{
    while (s->p < s->end && (*s->p == ' ' || *s->p == '\t' || *s->p == '\n' || *s->p == '\r'))
        s->p++;
}

static int is_hex(char c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

/* Bytes that end a plain run inside a string: controls, the quote, the backslash. */
static const unsigned char str_stop[256] = {[0 ... 0x1f] = 1, ['"'] = 1, ['\\'] = 1};

static int scan_string(jscan *s)
{
    const unsigned char *p = (const unsigned char *)s->p + 1; /* after the opening quote */
    const unsigned char *end = (const unsigned char *)s->end;
    for (;;) {
        while (p < end && !str_stop[*p])
            p++;
        if (p >= end || *p < 0x20)
            return 0;
        if (*p++ == '"') {
            s->p = (const char *)p;
            return 1;
        }
        if (p >= end) /* a backslash: one escape */
            return 0;
        unsigned char e = *p++;
        if (e == 'u') {
            if (end - p < 4 || !is_hex((char)p[0]) || !is_hex((char)p[1]) || !is_hex((char)p[2]) ||
                !is_hex((char)p[3]))
                return 0;
            p += 4;
        } else if (e == '\0' || !strchr("\"\\/bfnrt", e)) {
            return 0;
        }
    }
}

static int scan_digits(jscan *s)
{
    const char *start = s->p;
    while (s->p < s->end && *s->p >= '0' && *s->p <= '9')
        s->p++;
    return s->p > start;
}

static int scan_number(jscan *s)
{
    if (*s->p == '-')
        s->p++;
    if (s->p < s->end && *s->p == '0')
        s->p++;
    else if (!scan_digits(s))
        return 0;
    if (s->p < s->end && *s->p == '.' && (s->p++, !scan_digits(s)))
        return 0;
    if (s->p < s->end && (*s->p == 'e' || *s->p == 'E')) {
        s->p++;
        if (s->p < s->end && (*s->p == '+' || *s->p == '-'))
            s->p++;
        if (!scan_digits(s))
            return 0;
    }
    return 1;
}

static int scan_literal(jscan *s, const char *lit, size_t n)
{
    if ((size_t)(s->end - s->p) < n || memcmp(s->p, lit, n) != 0)
        return 0;
    s->p += n;
    return 1;
}

static int scan_value(jscan *s);

/* An object or array after its opening bracket. */
static int scan_container(jscan *s, char close)
{
    if (++s->depth > 128)
        return 0;
    s->p++;
    skip_ws(s);
    if (s->p < s->end && *s->p == close) {
        s->p++;
        s->depth--;
        return 1;
    }
    for (;;) {
        if (close == '}') {
            skip_ws(s);
            if (s->p >= s->end || *s->p != '"' || !scan_string(s))
                return 0;
            skip_ws(s);
            if (s->p >= s->end || *s->p++ != ':')
                return 0;
        }
        if (!scan_value(s))
            return 0;
        skip_ws(s);
        if (s->p >= s->end)
            return 0;
        char c = *s->p++;
        if (c == close)
            break;
        if (c != ',')
            return 0;
    }
    s->depth--;
    return 1;
}

static int scan_value(jscan *s)
{
    skip_ws(s);
    if (s->p >= s->end)
        return 0;
    switch (*s->p) {
    case '{':
        return scan_container(s, '}');
    case '[':
        return scan_container(s, ']');
    case '"':
        return scan_string(s);
    case 't':
        return scan_literal(s, "true", 4);
    case 'f':
        return scan_literal(s, "false", 5);
    case 'n':
        return scan_literal(s, "null", 4);
    default:
        return (*s->p == '-' || (*s->p >= '0' && *s->p <= '9')) && scan_number(s);
    }
}

int sy_json_valid(const char *str, size_t n)
{
    jscan s = {str, str + n, 0};
    if (!scan_value(&s))
        return 0;
    skip_ws(&s);
    return s.p == s.end;
}
