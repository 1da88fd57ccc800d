/*
 * guard_bench: the cost of the guardrails' matching (docs/guardrails.md), per kilobyte
 * of text and per request, for the built-in detector sets and for ten custom patterns;
 * whole texts (input, plain answers) and streams (the window, fed in small chunks).
 * Usage: guard_bench [--kb N] [--seconds S] [--chunk BYTES] [--runs R]
 * Each figure is the best of R runs of S seconds of this thread's CPU time (the machine
 * may be shared).
 */
#include "guard.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* CPU time of this thread: the figures stay honest on a shared, loaded machine. */
static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Prose with a little PII in it (one e-mail, one phone number per ~2 KB). */
static void make_text(sy_buf *b, size_t bytes)
{
    static const char *const words[] = {"the",    "gateway", "routes", "requests", "to",
                                        "models", "and",     "learns", "from",     "feedback,",
                                        "while",  "costs",   "stay",   "low",      "2024",
                                        "order",  "12345",   "please", "reply",    "soon."};
    unsigned x = 12345;
    size_t n = 0;
    while (b->len < bytes) {
        x = x * 1103515245u + 12345u;
        sy_buf_puts(b, words[(x >> 16) % SY_ARRAY_LEN(words)]);
        sy_buf_puts(b, " ");
        if (++n % 300 == 0)
            sy_buf_puts(b, "write to jane.doe@example.com or +1 415 555 0132 ");
    }
    b->len = bytes;
}

static sy_guard *compile(const char *name, sy_guard_kind kind, const char *const *items, size_t n)
{
    sy_guard_spec spec = {.name = name,
                          .kind = kind,
                          .action = SY_GUARD_FLAG,
                          .dirs = SY_GUARD_IN | SY_GUARD_OUT,
                          .items = items,
                          .n_items = n};
    char err[256];
    long bad;
    sy_guard *g = sy_guard_compile(&spec, err, sizeof(err), &bad);
    if (!g) {
        fprintf(stderr, "guard_bench: %s: %s\n", name, err);
        exit(1);
    }
    return g;
}

/* The set over text: the best of `runs` measurements, in ns per KB and MB/s. */
static double measure_once(sy_guard **gs, size_t n, const sy_buf *text, size_t chunk,
                           double seconds, size_t *matches_per_run);

static void measure(const char *label, sy_guard **gs, size_t n, const sy_buf *text, size_t chunk,
                    double seconds, int runs)
{
    size_t patterns = 0, matched = 0;
    for (size_t i = 0; i < n; i++)
        patterns += sy_guard_n_patterns(gs[i]);
    double best = 1e30;
    for (int r = 0; r < runs; r++) {
        double t = measure_once(gs, n, text, chunk, seconds, &matched);
        best = t < best ? t : best;
    }
    double ns_per_kb = best * 1e9 / ((double)text->len / 1024.0);
    printf("%-34s %3zu patterns  %6zu KB  %-6s %10.0f ns/KB  %8.1f MB/s  %zu matches\n", label,
           patterns, text->len / 1024, chunk ? "stream" : "whole", ns_per_kb,
           (double)text->len / best / 1e6, matched);
}

/* Seconds per pass of the set over text (whole, or through a window in chunks). */
static double measure_once(sy_guard **gs, size_t n, const sy_buf *text, size_t chunk,
                           double seconds, size_t *matches_per_run)
{
    unsigned hits[16];
    double t0 = now_s(), t;
    size_t runs = 0, matched = 0;
    do {
        sy_guard_masks masks = {0};
        memset(hits, 0, sizeof(hits));
        sy_guard_run run = {(const sy_guard *const *)gs, n, &masks, 0, hits, -1};
        sy_buf out = {0};
        if (!chunk) {
            sy_guard_check_text(&run, text->data, text->len, &out);
        } else {
            sy_guard_window w = {0};
            for (size_t at = 0; at < text->len; at += chunk) {
                size_t len = text->len - at < chunk ? text->len - at : chunk;
                sy_guard_window_feed(&w, &run, text->data + at, len, 0, &out);
            }
            sy_guard_window_feed(&w, &run, "", 0, 1, &out);
            sy_guard_window_free(&w);
        }
        for (size_t i = 0; i < n; i++)
            matched += hits[i];
        sy_buf_free(&out);
        sy_guard_masks_free(&masks);
        runs++;
        t = now_s();
    } while (t - t0 < seconds);
    *matches_per_run = matched / runs;
    return (t - t0) / (double)runs;
}

int main(int argc, char **argv)
{
    size_t kb = 16, chunk = 24;
    double seconds = 1.0;
    int runs = 3;
    for (int i = 1; i + 1 < argc; i += 2) {
        if (strcmp(argv[i], "--kb") == 0)
            kb = (size_t)atol(argv[i + 1]);
        else if (strcmp(argv[i], "--seconds") == 0)
            seconds = atof(argv[i + 1]);
        else if (strcmp(argv[i], "--chunk") == 0)
            chunk = (size_t)atol(argv[i + 1]);
        else if (strcmp(argv[i], "--runs") == 0)
            runs = atoi(argv[i + 1]);
    }
    sy_buf text = {0}, small = {0};
    make_text(&text, kb * 1024);
    make_text(&small, 1024);
    static const char *const ten[] = {"TICKET-[0-9]{6}",
                                      "(?i)project\\s+falcon",
                                      "\\bINV-[0-9]{4}-[0-9]{5}\\b",
                                      "(?i)confidential",
                                      "\\b[A-Z]{3}-[0-9]{8}\\b",
                                      "(?i)internal\\s+only",
                                      "\\bEMP[0-9]{6}\\b",
                                      "(?i)\\bcodename\\s+\\w+",
                                      "\\b(?:10|172|192)\\.[0-9]{1,3}\\.[0-9]{1,3}\\.[0-9]{1,3}\\b",
                                      "(?i)do\\s+not\\s+(?:share|forward)"};
    sy_guard *pii = compile("pii", SY_GUARD_PII, NULL, 0);
    sy_guard *secrets = compile("secrets", SY_GUARD_SECRETS, NULL, 0);
    sy_guard *inj = compile("injection", SY_GUARD_INJECTION, NULL, 0);
    sy_guard *custom = compile("ten", SY_GUARD_REGEX, ten, SY_ARRAY_LEN(ten));
    sy_guard *all[] = {pii, secrets, inj, custom};
    struct {
        const char *label;
        sy_guard **gs;
        size_t n;
    } sets[] = {{"pii (all 5 detectors)", &pii, 1},
                {"secrets (all 7 detectors)", &secrets, 1},
                {"prompt_injection (6 phrases)", &inj, 1},
                {"regex: ten custom patterns", &custom, 1},
                {"all four guardrails", all, 4}};
    for (size_t i = 0; i < SY_ARRAY_LEN(sets); i++) {
        measure(sets[i].label, sets[i].gs, sets[i].n, &small, 0, seconds, runs);
        measure(sets[i].label, sets[i].gs, sets[i].n, &text, 0, seconds, runs);
        measure(sets[i].label, sets[i].gs, sets[i].n, &text, chunk, seconds, runs);
    }
    printf("(stream: the text fed in %zu-byte chunks through the window of %d bytes)\n", chunk,
           SY_GUARD_WINDOW);
    for (size_t i = 0; i < SY_ARRAY_LEN(all); i++)
        sy_guard_free(all[i]);
    sy_buf_free(&text);
    sy_buf_free(&small);
    return 0;
}
