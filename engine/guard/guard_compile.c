/*
 * guard_compile: a guardrail's specification into PCRE2 patterns (JIT-compiled once, at
 * config load), and the scan of a text with them.
 */
#include "guard_internal.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const kind_names[SY_GUARD_KIND_COUNT] = {"pii",   "secrets", "prompt_injection",
                                                            "regex", "words",   "judge"};
static const char *const action_names[] = {"block", "redact", "flag"};

const char *sy_guard_kind_name(sy_guard_kind k)
{
    return (unsigned)k < SY_GUARD_KIND_COUNT ? kind_names[k] : NULL;
}

const char *sy_guard_action_name(sy_guard_action a)
{
    return (unsigned)a < SY_ARRAY_LEN(action_names) ? action_names[a] : NULL;
}

const char *sy_guard_name(const sy_guard *g)
{
    return g->name;
}
sy_guard_kind sy_guard_kind_of(const sy_guard *g)
{
    return g->kind;
}
sy_guard_action sy_guard_action_of(const sy_guard *g)
{
    return g->action;
}
unsigned sy_guard_dirs(const sy_guard *g)
{
    return g->dirs;
}
int sy_guard_restores(const sy_guard *g)
{
    return g->restore;
}
size_t sy_guard_n_patterns(const sy_guard *g)
{
    return g->n_pats;
}

int sy_guard_judge(const sy_guard *g, size_t *model, unsigned *timeout_ms, int *fail_closed,
                   const char **instructions)
{
    if (g->kind != SY_GUARD_JUDGE)
        return 0;
    *model = g->judge_model;
    *timeout_ms = g->judge_timeout_ms;
    *fail_closed = g->judge_fail_closed;
    *instructions = g->judge_instructions;
    return 1;
}

void sy_guard_free(sy_guard *g)
{
    if (!g)
        return;
    for (size_t i = 0; i < g->n_pats; i++)
        pcre2_code_free(g->pats[i].re);
    free(g->pats);
    pcre2_match_context_free(g->mctx);
    free(g->name);
    free(g->label);
    free(g->judge_instructions);
    free(g);
}

/*
 * Compile one pattern and JIT it. utf: UTF-8 mode (invalid UTF-8 in subjects tolerated),
 * for the configured patterns and words; the built-in patterns are ASCII and match the
 * same bytes without it, faster. A JIT failure (no executable memory) is not an error:
 * pcre2_match interprets instead. Returns NULL with PCRE2's message and offset in err.
 */
static pcre2_code *compile_one(const char *pat, size_t len, int caseless, int utf, char *err,
                               size_t err_len)
{
    int code;
    PCRE2_SIZE off;
    uint32_t opts =
        (utf ? PCRE2_UTF | PCRE2_MATCH_INVALID_UTF : 0) | (caseless ? PCRE2_CASELESS : 0);
    pcre2_code *re = pcre2_compile((PCRE2_SPTR)pat, len, opts, &code, &off, NULL);
    if (!re) {
        PCRE2_UCHAR msg[160];
        pcre2_get_error_message(code, msg, sizeof(msg));
        snprintf(err, err_len, "invalid regular expression at offset %zu: %s", (size_t)off,
                 (const char *)msg);
        return NULL;
    }
    pcre2_jit_compile(re, PCRE2_JIT_COMPLETE);
    return re;
}

/* The words as one pattern: whole words (no letter, digit or '_' either side), runs of
 * white space inside a word matching any white space, everything else literal. */
static void words_pattern(const char *const *words, size_t n, sy_buf *b)
{
    sy_buf_puts(b, "(?=["); /* the first characters, for the start-of-match optimisation */
    for (size_t i = 0; i < n; i++) {
        const char *p = words[i];
        size_t len = 1;
        while (((unsigned char)p[len] & 0xC0) == 0x80)
            len++; /* the whole UTF-8 character */
        if ((unsigned char)*p < 0x80 && !isalnum((unsigned char)*p))
            sy_buf_puts(b, "\\");
        sy_buf_append(b, p, len);
    }
    sy_buf_puts(b, "])(?<![\\p{L}\\p{N}_])(?:");
    for (size_t i = 0; i < n; i++) {
        if (i)
            sy_buf_puts(b, "|");
        for (const char *p = words[i]; *p; p++) {
            unsigned char ch = (unsigned char)*p;
            if (isspace(ch)) {
                while (isspace((unsigned char)p[1]))
                    p++;
                sy_buf_puts(b, "\\s+");
            } else if (ch < 0x80 && !isalnum(ch)) {
                char esc[3] = {'\\', (char)ch, 0};
                sy_buf_puts(b, esc);
            } else {
                sy_buf_append(b, p, 1);
            }
        }
    }
    sy_buf_puts(b, ")(?![\\p{L}\\p{N}_])");
}

/* The label of a regex or words guard: its name in upper case, [A-Z0-9_] only. */
static char *name_label(const char *name)
{
    char *l = sy_xmalloc(SY_GUARD_MAX_LABEL + 1);
    size_t n = 0;
    for (const char *p = name; *p && n < SY_GUARD_MAX_LABEL; p++)
        l[n++] = isalnum((unsigned char)*p) ? (char)toupper((unsigned char)*p) : '_';
    l[n] = '\0';
    return l;
}

static void add_pat(sy_guard *g, pcre2_code *re, sy_guard_check_fn check, const char *label,
                    char need)
{
    g->pats = sy_xrealloc(g->pats, (g->n_pats + 1) * sizeof(*g->pats));
    g->pats[g->n_pats++] = (sy_guard_pat){re, check, need, g->label ? g->label : label};
}

/* The prompt-injection phrases as one alternation: one pass over the text, not six. */
static int compile_injection(sy_guard *g, const sy_guard_detector *d, size_t n, char *err,
                             size_t err_len)
{
    sy_buf b = {0};
    for (size_t k = 0; k < n; k++)
        sy_buf_printf(&b, "%s(?:%s)", k ? "|" : "", d[k].pattern);
    pcre2_code *re = compile_one(b.data, b.len, 1, 0, err, err_len);
    sy_buf_free(&b);
    if (!re)
        return -1;
    add_pat(g, re, NULL, d[0].label, 0);
    return 0;
}

/* Built-in detectors of the kind: all, or those spec names. -1 on an unknown name. */
static int compile_builtin(sy_guard *g, const sy_guard_spec *spec, char *err, size_t err_len,
                           long *bad)
{
    size_t n;
    const sy_guard_detector *d = sy_guard_builtin(spec->kind, &n);
    for (size_t i = 0; i < spec->n_items; i++) {
        size_t k = 0;
        while (k < n && strcmp(d[k].name, spec->items[i]) != 0)
            k++;
        if (k == n) {
            snprintf(err, err_len, "unknown detector \"%s\"", spec->items[i]);
            *bad = (long)i;
            return -1;
        }
    }
    if (spec->kind == SY_GUARD_INJECTION)
        return compile_injection(g, d, n, err, err_len);
    for (size_t k = 0; k < n; k++) {
        int wanted = spec->n_items == 0;
        for (size_t i = 0; i < spec->n_items && !wanted; i++)
            wanted = strcmp(d[k].name, spec->items[i]) == 0;
        if (!wanted)
            continue;
        pcre2_code *re =
            compile_one(d[k].pattern, PCRE2_ZERO_TERMINATED, d[k].caseless, 0, err, err_len);
        if (!re)
            return -1; /* a built-in pattern is wrong: the unit tests compile them all */
        add_pat(g, re, d[k].check, d[k].label, d[k].need);
    }
    return 0;
}

sy_guard *sy_guard_compile(const sy_guard_spec *spec, char *err, size_t err_len, long *bad_item)
{
    *bad_item = -1;
    if (spec->n_items > SY_GUARD_MAX_ITEMS) {
        snprintf(err, err_len, "at most %d items", SY_GUARD_MAX_ITEMS);
        return NULL;
    }
    sy_guard *g = sy_xcalloc(1, sizeof(*g));
    g->name = sy_xstrdup(spec->name);
    g->kind = spec->kind;
    g->action = spec->action;
    g->dirs = spec->dirs;
    g->restore = spec->restore && spec->action == SY_GUARD_REDACT;
    if (spec->mask)
        g->label = sy_xstrdup(spec->mask);
    else if (spec->kind == SY_GUARD_REGEX || spec->kind == SY_GUARD_WORDS)
        g->label = name_label(spec->name);
    g->mctx = pcre2_match_context_create(NULL);
    pcre2_set_match_limit(g->mctx, SY_GUARD_MATCH_LIMIT);
    int rc = 0;
    if (spec->kind == SY_GUARD_REGEX) {
        for (size_t i = 0; i < spec->n_items && rc == 0; i++) {
            pcre2_code *re = compile_one(spec->items[i], PCRE2_ZERO_TERMINATED, 0, 1, err, err_len);
            if (re)
                add_pat(g, re, NULL, NULL, 0);
            else
                rc = -1, *bad_item = (long)i;
        }
    } else if (spec->kind == SY_GUARD_WORDS) {
        sy_buf b = {0};
        words_pattern(spec->items, spec->n_items, &b);
        pcre2_code *re = compile_one(b.data, b.len, 1, 1, err, err_len);
        sy_buf_free(&b);
        if (re)
            add_pat(g, re, NULL, NULL, 0);
        else
            rc = -1;
    } else if (spec->kind == SY_GUARD_JUDGE) {
        g->judge_model = spec->judge_model;
        g->judge_timeout_ms = spec->judge_timeout_ms;
        g->judge_fail_closed = spec->judge_fail_closed;
        if (spec->judge_instructions)
            g->judge_instructions = sy_xstrdup(spec->judge_instructions);
    } else {
        rc = compile_builtin(g, spec, err, err_len, bad_item);
    }
    if (rc != 0) {
        sy_guard_free(g);
        return NULL;
    }
    return g;
}

void sy_guard_hits_free(sy_guard_hits *h)
{
    free(h->v);
    memset(h, 0, sizeof(*h));
}

static void push_hit(sy_guard_hits *h, sy_guard_hit hit)
{
    if (h->n == h->cap) {
        h->cap = h->cap ? h->cap * 2 : 8;
        h->v = sy_xrealloc(h->v, h->cap * sizeof(*h->v));
    }
    h->v[h->n++] = hit;
}

/* Matches of one pattern from `from` on; a match that fails its check is skipped and the
 * search goes on one character later. Empty matches are ignored. */
static size_t scan_pat(const sy_guard *g, const sy_guard_pat *p, size_t index, const char *text,
                       size_t len, size_t from, pcre2_match_data *md, sy_guard_hits *out)
{
    size_t found = 0, at = from;
    if (p->need && !memchr(text + from, p->need, len - from))
        return 0;
    while (at < len) {
        int rc = pcre2_match(p->re, (PCRE2_SPTR)text, len, at, 0, md, g->mctx);
        if (rc < 0)
            break; /* no match, or the match limit: stop this pattern */
        PCRE2_SIZE *ov = pcre2_get_ovector_pointer(md);
        size_t s = ov[0], e = ov[1];
        if (e <= s) {
            at = s + 1;
            continue;
        }
        size_t keep = e - s;
        if (p->check && !p->check(text + s, e - s, &keep)) {
            at = s + 1;
            while (at < len && ((unsigned char)text[at] & 0xC0) == 0x80)
                at++; /* the next character, not inside this one */
            continue;
        }
        push_hit(out, (sy_guard_hit){s, s + keep, index, p->label});
        found++;
        at = s + keep;
    }
    return found;
}

size_t sy_guard_scan(const sy_guard *g, size_t index, const char *text, size_t len, size_t from,
                     sy_guard_hits *out)
{
    if (from >= len || !g->n_pats)
        return 0;
    pcre2_match_data *md = pcre2_match_data_create(1, NULL);
    size_t n = 0;
    for (size_t i = 0; i < g->n_pats; i++)
        n += scan_pat(g, &g->pats[i], index, text, len, from, md, out);
    pcre2_match_data_free(md);
    return n;
}
