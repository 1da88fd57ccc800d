/*
 * fake_plan: the per-request decisions of fake-provider — distribution sampling, fault
 * draws, x-fake-* overrides, the plan, the generated content and tool-call arguments.
 * Pure functions over the scenario (see fake_scenario.h): no I/O, randomness only from
 * the generators the caller passes.
 */
#include "fake_scenario.h"

#include <gsl/gsl_cdf.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- decisions */

double fp_dist_sample(const fp_dist *d, gsl_rng *rng)
{
    double u = gsl_rng_uniform_pos(rng); /* (0,1): Pinv stays finite */
    double v;
    switch (d->kind) {
    case FP_DIST_UNIFORM:
        v = d->a + u * (d->b - d->a);
        break;
    case FP_DIST_LOGNORMAL:
        v = d->a * exp(d->b * gsl_cdf_ugaussian_Pinv(u));
        break;
    case FP_DIST_FIXED:
    default:
        v = d->a;
        break;
    }
    return v < 0 ? 0 : v;
}

const fp_error_rule *fp_pick_error(const fp_error_rule *rules, size_t n, double u)
{
    double edge = 0;
    for (size_t i = 0; i < n; i++) {
        edge += rules[i].rate;
        if (rules[i].rate > 0 && u < edge)
            return &rules[i];
    }
    return NULL;
}

/* Parse a whole decimal number in [lo, hi]; 0 or SY_ERR_INVALID. */
static int parse_num(const char *s, double lo, double hi, int integer, double *out)
{
    char *end;
    double d = strtod(s, &end);
    while (*end == ' ' || *end == '\t')
        end++;
    if (end == s || *end || !isfinite(d) || d < lo || d > hi)
        return SY_ERR_INVALID;
    if (integer && d != floor(d))
        return SY_ERR_INVALID;
    *out = d;
    return SY_OK;
}

int fp_overrides_parse(const char *error, const char *latency_ms, const char *tokens,
                       const char *tps, const char *after_tokens, fp_overrides *ov, sy_buf *err)
{
    memset(ov, 0, sizeof *ov);
    ov->tokens = -1;
    ov->after_tokens = -1;
    double d;
    if (error) {
        if (fp_fault_parse(error, &ov->fault) != SY_OK) {
            sy_buf list = {0};
            fp_fault_list(&list);
            fp_bad(err, "x-fake-error", "unknown error kind \"%s\" (expected one of: %s)", error,
                   list.data);
            sy_buf_free(&list);
            return SY_ERR_INVALID;
        }
        ov->has_fault = 1;
    }
    if (latency_ms) {
        if (parse_num(latency_ms, 0, 1e9, 0, &d))
            return fp_bad(err, "x-fake-latency-ms", "expected milliseconds >= 0, got \"%s\"",
                          latency_ms);
        ov->has_latency = 1;
        ov->latency_ms = d;
    }
    if (tokens) {
        if (parse_num(tokens, 0, FP_MAX_COUNT, 1, &d))
            return fp_bad(err, "x-fake-tokens", "expected an integer >= 0, got \"%s\"", tokens);
        ov->tokens = (long)d;
    }
    if (tps) {
        if (parse_num(tps, 0, 1e9, 0, &d))
            return fp_bad(err, "x-fake-tps", "expected tokens per second >= 0, got \"%s\"", tps);
        ov->has_tps = 1;
        ov->tps = d;
    }
    if (after_tokens) {
        if (parse_num(after_tokens, 0, FP_MAX_COUNT, 1, &d))
            return fp_bad(err, "x-fake-after-tokens", "expected an integer >= 0, got \"%s\"",
                          after_tokens);
        ov->after_tokens = (long)d;
    }
    return SY_OK;
}

void fp_plan_make(const fp_model *m, int stream, const fp_overrides *ov, gsl_rng *fault_rng,
                  gsl_rng *latency_rng, fp_plan *out)
{
    memset(out, 0, sizeof *out);
    /* Fixed draw counts keep later requests' decisions independent of overrides. */
    double u = gsl_rng_uniform(fault_rng);
    double latency = fp_dist_sample(&m->latency, latency_rng);
    double ttft = fp_dist_sample(&m->ttft, latency_rng);

    const fp_error_rule *rule = NULL;
    out->fault = FP_FAULT_NONE;
    out->retry_after_s = -1;
    if (ov && ov->has_fault) {
        out->fault = ov->fault;
        for (size_t i = 0; i < m->n_errors && !rule; i++) {
            if (m->errors[i].kind == ov->fault)
                rule = &m->errors[i];
        }
        if (!rule && ov->fault == FP_FAULT_HTTP_429)
            out->retry_after_s = FP_DEFAULT_RETRY_AFTER;
    } else {
        rule = fp_pick_error(m->errors, m->n_errors, u);
        if (rule)
            out->fault = rule->kind;
    }
    if (rule) {
        out->retry_after_s = rule->retry_after_s;
        out->after_tokens = rule->after_tokens;
    }
    if (ov && ov->after_tokens >= 0)
        out->after_tokens = ov->after_tokens;

    out->delay_ms = stream ? ttft : latency;
    if (ov && ov->has_latency)
        out->delay_ms = ov->latency_ms;
    out->tps = ov && ov->has_tps ? ov->tps : m->tokens_per_second;
    out->chunk_tokens = m->chunk_tokens > 0 ? m->chunk_tokens : 1;
    out->tokens = ov ? ov->tokens : -1;
    out->cached_tokens = m->cached_tokens;
    out->cache_write_tokens = m->cache_write_tokens;
}

/* ---- content */

static const char *const lorem_words[] = {
    "Lorem",      "ipsum",     "dolor",     "sit",       "amet,",   "consectetur",  "adipiscing",
    "elit,",      "sed",       "do",        "eiusmod",   "tempor",  "incididunt",   "ut",
    "labore",     "et",        "dolore",    "magna",     "aliqua.", "Ut",           "enim",
    "ad",         "minim",     "veniam,",   "quis",      "nostrud", "exercitation", "ullamco",
    "laboris",    "nisi",      "ut",        "aliquip",   "ex",      "ea",           "commodo",
    "consequat.", "Duis",      "aute",      "irure",     "dolor",   "in",           "reprehenderit",
    "in",         "voluptate", "velit",     "esse",      "cillum",  "dolore",       "eu",
    "fugiat",     "nulla",     "pariatur.", "Excepteur", "sint",    "occaecat",     "cupidatat",
    "non",        "proident,", "sunt",      "in",        "culpa",   "qui",          "officia",
    "deserunt",   "mollit",    "anim",      "id",        "est",     "laborum.",
};

void fp_text_free(fp_text *t)
{
    sy_buf_free(&t->text);
    free(t->ends);
    memset(t, 0, sizeof *t);
}

static void text_push(fp_text *t, const char *s, size_t len)
{
    if (t->n == t->cap) {
        t->cap = t->cap ? t->cap * 2 : 32;
        t->ends = sy_xrealloc(t->ends, t->cap * sizeof *t->ends);
    }
    sy_buf_append(&t->text, s, len);
    t->ends[t->n++] = t->text.len;
}

static int is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

void fp_tokenize(const char *s, size_t len, fp_text *out)
{
    size_t i = 0;
    while (i < len) {
        size_t start = i;
        while (i < len && is_space(s[i]))
            i++;
        while (i < len && !is_space(s[i]))
            i++;
        if (i == len && start < len) {
            /* whitespace-only tail: glue it to the previous token when there is one */
            size_t k = start;
            while (k < len && is_space(s[k]))
                k++;
            if (k == len && out->n > 0) {
                sy_buf_append(&out->text, s + start, len - start);
                out->ends[out->n - 1] = out->text.len;
                return;
            }
        }
        text_push(out, s + start, i - start);
    }
}

static void lorem(fp_text *out, long n)
{
    char w[64];
    for (long i = 0; i < n; i++) {
        const char *word = lorem_words[(size_t)i % SY_ARRAY_LEN(lorem_words)];
        int k = snprintf(w, sizeof w, "%s%s", i ? " " : "", word);
        text_push(out, w, (size_t)k);
    }
}

/*
 * Cycle base's tokens until out holds n: repeats start with a space so words do not
 * run together ("a b" cycled to 3 tokens is "a b a").
 */
static void cycle(const fp_text *base, long n, fp_text *out)
{
    for (long i = 0; i < n; i++) {
        size_t len, j = (size_t)i % base->n;
        const char *tok = fp_text_token(base, j, &len);
        if (j == 0 && i > 0 && (len == 0 || !is_space(tok[0]))) {
            sy_buf tmp = {0};
            sy_buf_append(&tmp, " ", 1);
            sy_buf_append(&tmp, tok, len);
            text_push(out, tmp.data, tmp.len);
            sy_buf_free(&tmp);
        } else {
            text_push(out, tok, len);
        }
    }
}

void fp_content_build(const fp_model *m, const char *echo, size_t echo_len, long forced,
                      long max_tokens, fp_text *out, int *truncated)
{
    fp_text base = {0};
    switch (m->content_mode) {
    case FP_CONTENT_CANNED:
        fp_tokenize(m->content_text ? m->content_text : "",
                    m->content_text ? strlen(m->content_text) : 0, &base);
        break;
    case FP_CONTENT_ECHO:
        fp_tokenize(echo ? echo : "", echo ? echo_len : 0, &base);
        break;
    case FP_CONTENT_LOREM:
    default:
        lorem(&base, forced >= 0 ? forced : m->content_tokens);
        break;
    }
    long n = forced >= 0 ? forced : (long)base.n;
    *truncated = 0;
    if (max_tokens >= 0 && n > max_tokens) {
        n = max_tokens;
        *truncated = 1;
    }
    if (base.n == 0 && n > 0)
        lorem(&base, n);
    if ((size_t)n == base.n) {
        *out = base;
        return;
    }
    cycle(&base, n, out);
    fp_text_free(&base);
}

long fp_prompt_tokens(size_t text_bytes)
{
    long n = (long)((text_bytes + 3) / 4);
    return n < 1 ? 1 : n;
}

int fp_tool_call_args(const char *tool_name, int last_is_tool_result, const char *echo,
                      size_t echo_len, sy_buf *args)
{
    if (!tool_name || last_is_tool_result)
        return 0;
    size_t n = echo ? echo_len : 0;
    if (n > FP_TOOL_QUERY_MAX) {
        n = FP_TOOL_QUERY_MAX;
        /* echo[n] is the first byte left out: if it continues a character, drop the
         * whole character */
        while (n > 0 && ((unsigned char)echo[n] & 0xC0) == 0x80)
            n--;
    }
    sy_buf_puts(args, "{\"query\":");
    sy_buf_json_string(args, n ? echo : "", n);
    sy_buf_puts(args, "}");
    return 1;
}

/* splitmix64's finaliser: a bijective 64-bit mix. */
static uint64_t mix64(uint64_t z)
{
    z += 0x9e3779b97f4a7c15ull;
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

void fp_tool_call_id(uint64_t seed, uint64_t seq, char *out, size_t cap)
{
    uint64_t a = mix64(seed ^ mix64(seq));
    uint64_t b = mix64(a ^ seq);
    snprintf(out, cap, "call_%016llx%08llx", (unsigned long long)a,
             (unsigned long long)(b & 0xffffffffull));
}

void fp_rng_seed(gsl_rng *fault_rng, gsl_rng *latency_rng, uint64_t seed)
{
    gsl_rng_set(fault_rng, (unsigned long)seed);
    gsl_rng_set(latency_rng, (unsigned long)(seed + 1));
}
