/*
 * config_input: checks of the raw text around parsing — NUL bytes and invalid UTF-8
 * before cJSON sees it, and "\u0000" escapes after, which cJSON decodes into a NUL that
 * silently cuts the string (and so a name) short.
 */
#include "config_schema.h"

#include <stdlib.h>
#include <string.h>

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

void sy_cfg_err_at_offset(sy_cfg_loader *l, const char *what, const char *text, size_t off)
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
    sy_cfg_err(l, "%s near byte %zu (line %zu, column %zu)", what, off, line, col);
}

int sy_cfg_check_raw(sy_cfg_loader *l, const char *text, size_t len)
{
    const char *nul = memchr(text, '\0', len);
    size_t bad_utf8 = utf8_invalid_at((const unsigned char *)text, len);
    if (nul) {
        sy_cfg_err_at_offset(l, "invalid JSON (NUL byte)", text, (size_t)(nul - text));
        return -1;
    }
    if (bad_utf8 < len) {
        sy_cfg_err_at_offset(l, "invalid UTF-8", text, bad_utf8);
        return -1;
    }
    return 0;
}

/* ---- "\u0000" escapes ------------------------------------------------------------ */

/* A string token of the text that holds a "\u0000" escape: its ordinal among all the
 * string tokens (member names and values, in text order) and its raw text. */
typedef struct nul_token {
    size_t ordinal;
    size_t start, len; /* between the quotes */
} nul_token;

typedef struct nul_scan {
    nul_token *tokens;
    size_t n, next; /* found; the next one to match */
    size_t ordinal; /* string tokens met so far in the tree walk */
    const char *text;
} nul_scan;

/* 1 when text[i..] is "u0000" (the part after the backslash). */
static int is_nul_escape(const char *t, size_t i, size_t len)
{
    if (i + 5 > len || (t[i] != 'u' && t[i] != 'U'))
        return 0;
    return memcmp(t + i + 1, "0000", 4) == 0;
}

/* Find every string token with a "\u0000" escape. The text is valid JSON, so outside
 * strings a '"' always opens one. */
static void scan_tokens(nul_scan *s, const char *t, size_t len)
{
    size_t ordinal = 0;
    for (size_t i = 0; i < len; i++) {
        if (t[i] != '"')
            continue;
        size_t start = ++i;
        int has_nul = 0;
        for (; i < len && t[i] != '"'; i++)
            if (t[i] == '\\') {
                has_nul |= is_nul_escape(t, i + 1, len);
                i++;
            }
        if (has_nul) {
            s->tokens = sy_xrealloc(s->tokens, (s->n + 1) * sizeof(*s->tokens));
            s->tokens[s->n++] = (nul_token){ordinal, start, i - start};
        }
        ordinal++;
    }
}

/* Count one string token of the tree; returns the scanned token when it is marked. */
static const nul_token *next_token(nul_scan *s)
{
    size_t ord = s->ordinal++;
    if (s->next < s->n && s->tokens[s->next].ordinal == ord)
        return &s->tokens[s->next++];
    return NULL;
}

static size_t report_nuls(sy_cfg_loader *l, nul_scan *s, const cJSON *v)
{
    size_t found = 0;
    if (cJSON_IsString(v) && next_token(s)) {
        sy_cfg_err(l, "contains a NUL character (\\u0000), which would cut the string short");
        return 1;
    }
    size_t i = 0;
    for (const cJSON *c = v->child; c && (cJSON_IsObject(v) || cJSON_IsArray(v)); c = c->next) {
        size_t mark;
        if (cJSON_IsObject(v)) {
            const nul_token *key = next_token(s);
            if (key) {
                char *raw = sy_xstrndup(s->text + key->start, key->len);
                mark = sy_cfg_push_key(l, raw);
                free(raw);
                sy_cfg_err(l, "name contains a NUL character (\\u0000), which would cut it short");
                found++;
            } else {
                mark = sy_cfg_push_key(l, c->string);
            }
        } else {
            mark = sy_cfg_push_index(l, i++);
        }
        found += report_nuls(l, s, c);
        sy_cfg_pop(l, mark);
    }
    return found;
}

size_t sy_cfg_check_nul_escapes(sy_cfg_loader *l, const cJSON *root, const char *text, size_t len)
{
    nul_scan s = {.text = text};
    scan_tokens(&s, text, len);
    size_t found = s.n ? report_nuls(l, &s, root) : 0;
    free(s.tokens);
    return found;
}
