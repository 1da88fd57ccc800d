/* Fuzz target: the guardrails' matching (engine/guard). Input: a control byte, a pattern
 * (up to the first newline) and a text. The pattern is compiled as a custom regex and as a
 * word; the text is run whole and, split where the control byte says, through the stream
 * window with the built-in detectors. Invariant checked: a flag never changes the text,
 * whole or streamed. */
#include "guard.h"

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* The text through a set, whole, and in pieces of `step` bytes; abort if they differ. */
static void run(sy_guard **gs, size_t n, const char *text, size_t len, size_t step, int flag_only)
{
    unsigned hits[4] = {0};
    sy_guard_masks m1 = {0}, m2 = {0};
    sy_guard_run r1 = {(const sy_guard *const *)gs, n, &m1, 1, hits, -1};
    sy_buf whole = {0}, pieces = {0};
    int b1 = sy_guard_check_text(&r1, text, len, &whole);
    unsigned hits2[4] = {0};
    sy_guard_run r2 = {(const sy_guard *const *)gs, n, &m2, 1, hits2, -1};
    sy_guard_window w = {0};
    int b2 = 0;
    for (size_t at = 0; at < len && !b2; at += step)
        b2 =
            sy_guard_window_feed(&w, &r2, text + at, len - at < step ? len - at : step, 0, &pieces);
    if (!b2)
        b2 = sy_guard_window_feed(&w, &r2, "", 0, 1, &pieces);
    if (flag_only && (whole.len != len || (len && memcmp(whole.data, text, len) != 0)))
        abort(); /* a flag changed the text */
    if (flag_only && (pieces.len != len || (len && memcmp(pieces.data, text, len) != 0)))
        abort(); /* the window lost or changed text */
    (void)b1;
    sy_buf_free(&whole);
    sy_buf_free(&pieces);
    sy_guard_window_free(&w);
    sy_guard_masks_free(&m1);
    sy_guard_masks_free(&m2);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1 || size > 1 << 16)
        return 0;
    size_t step = (size_t)(data[0] % 64) + 1;
    const char *rest = (const char *)data + 1;
    size_t n = size - 1;
    const char *nl = memchr(rest, '\n', n);
    size_t plen = nl ? (size_t)(nl - rest) : n;
    char *pat = malloc(plen + 1);
    memcpy(pat, rest, plen);
    pat[plen] = '\0';
    const char *text = nl ? nl + 1 : rest + n;
    size_t tlen = nl ? n - plen - 1 : 0;

    char err[256];
    long bad;
    const char *items[] = {pat};
    sy_guard_spec custom = {.name = "f",
                            .kind = SY_GUARD_REGEX,
                            .action = SY_GUARD_FLAG,
                            .dirs = 3,
                            .items = items,
                            .n_items = 1};
    sy_guard *g =
        plen && !memchr(pat, 0, plen) ? sy_guard_compile(&custom, err, sizeof(err), &bad) : NULL;
    if (g) {
        run(&g, 1, text, tlen, step, 1);
        sy_guard_free(g);
    }
    custom.kind = SY_GUARD_WORDS;
    custom.action = SY_GUARD_REDACT;
    g = plen && !memchr(pat, 0, plen) ? sy_guard_compile(&custom, err, sizeof(err), &bad) : NULL;
    if (g) {
        run(&g, 1, text, tlen, step, 0);
        sy_guard_free(g);
    }
    static sy_guard *builtin[3]; /* compiled once: JIT compiles are slow */
    for (int k = 0; k < 3 && !builtin[k]; k++) {
        sy_guard_spec s = {.name = "b",
                           .kind = (sy_guard_kind)k,
                           .action = k == 0   ? SY_GUARD_REDACT
                                     : k == 1 ? SY_GUARD_BLOCK
                                              : SY_GUARD_FLAG,
                           .dirs = 3};
        builtin[k] = sy_guard_compile(&s, err, sizeof(err), &bad);
    }
    run(builtin, 3, text, tlen, step, 0);
    free(pat);
    return 0;
}
