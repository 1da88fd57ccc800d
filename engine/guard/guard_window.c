/*
 * guard_window: a set of guards over text that arrives whole or in pieces.
 *
 * The window holds the text not yet released. Each feed scans context + held text with
 * every guard, picks a cut (everything before it is released) that keeps the last
 * SY_GUARD_WINDOW bytes, and never falls inside a match, a UTF-8 character or a
 * placeholder; a match reaching the end of the text may still grow, so the cut stays
 * before it (up to SY_GUARD_MAX_HOLD held bytes). Matches wholly before the cut are
 * acted on exactly once, as the text they are in is released and leaves the window.
 */
#include "guard.h"

#include <stdlib.h>
#include <string.h>

#define PLACEHOLDER_MAX (SY_GUARD_MAX_LABEL + 24) /* "[LABEL_n]" */

static int hit_cmp(const void *a, const void *b)
{
    const sy_guard_hit *x = a, *y = b;
    if (x->start != y->start)
        return x->start < y->start ? -1 : 1;
    if (x->end != y->end)
        return x->end > y->end ? -1 : 1; /* the longer first */
    return x->guard < y->guard ? -1 : x->guard > y->guard;
}

/* The cut (an offset into s, len bytes, from = where held text begins). */
static size_t choose_cut(const char *s, size_t len, size_t from, const sy_guard_hits *h, int final,
                         int restore)
{
    if (final)
        return len;
    size_t cut = len > from + SY_GUARD_WINDOW ? len - SY_GUARD_WINDOW : from;
    for (size_t i = 0; i < h->n; i++) /* a match at the end may grow: hold it */
        if (h->v[i].end == len && h->v[i].start < cut)
            cut = h->v[i].start;
    if (len - cut > SY_GUARD_MAX_HOLD) /* a match growing without end: act on it now */
        return len;
    for (int moved = 1; moved;) { /* never inside a match (pulling back may meet another) */
        moved = 0;
        for (size_t i = 0; i < h->n; i++)
            if (h->v[i].start < cut && h->v[i].end > cut) {
                cut = h->v[i].start;
                moved = 1;
            }
    }
    if (restore) { /* nor inside what may be a placeholder: "[EMA" | "IL_1]" */
        size_t lo = cut > from + PLACEHOLDER_MAX ? cut - PLACEHOLDER_MAX : from;
        for (size_t i = cut; i > lo; i--) {
            if (s[i - 1] == ']')
                break;
            if (s[i - 1] == '[') {
                cut = i - 1;
                break;
            }
        }
    }
    while (cut > from && cut < len && ((unsigned char)s[cut] & 0xC0) == 0x80)
        cut--; /* nor inside a UTF-8 character */
    return cut < from ? from : cut;
}

/* Release s[from, cut) into out with the matches in it acted on. -1 when one blocks. */
static int release(sy_guard_run *run, const char *s, size_t from, size_t cut,
                   const sy_guard_hits *h, sy_buf *out)
{
    for (size_t i = 0; i < h->n; i++) {
        const sy_guard_hit *x = &h->v[i];
        if (x->end > cut)
            continue;
        run->hits[x->guard]++;
        if (sy_guard_action_of(run->gs[x->guard]) == SY_GUARD_BLOCK && run->blocked < 0)
            run->blocked = (long)x->guard;
    }
    if (run->blocked >= 0)
        return -1;
    sy_buf red = {0};
    size_t at = from;
    for (size_t i = 0; i < h->n; i++) {
        const sy_guard_hit *x = &h->v[i];
        const sy_guard *g = run->gs[x->guard];
        if (x->end > cut || x->start < at || sy_guard_action_of(g) != SY_GUARD_REDACT)
            continue;
        size_t end = x->end; /* overlapping redactions become one placeholder */
        for (size_t j = i + 1; j < h->n && h->v[j].start < end; j++)
            if (h->v[j].end <= cut && h->v[j].end > end &&
                sy_guard_action_of(run->gs[h->v[j].guard]) == SY_GUARD_REDACT)
                end = h->v[j].end;
        sy_buf_append(&red, s + at, x->start - at);
        sy_guard_mask_append(run->masks, x->label, s + x->start, end - x->start,
                             sy_guard_restores(g), &red);
        at = end;
    }
    sy_buf_append(&red, s + at, cut - at);
    if (run->restore)
        sy_guard_restore(run->masks, red.data ? red.data : "", red.len, out);
    else
        sy_buf_append(out, red.data ? red.data : "", red.len);
    sy_buf_free(&red);
    return 0;
}

int sy_guard_window_feed(sy_guard_window *w, sy_guard_run *run, const char *text, size_t len,
                         int final, sy_buf *out)
{
    if (run->blocked >= 0)
        return -1;
    sy_buf s = {0}; /* context, then the held text */
    sy_buf_append(&s, w->ctx, w->ctx_len);
    sy_buf_append(&s, w->pending.data ? w->pending.data : "", w->pending.len);
    sy_buf_append(&s, text, len);
    size_t from = w->ctx_len, n = s.len;
    const char *d = s.data ? s.data : "";
    sy_guard_hits h = {0};
    for (size_t i = 0; i < run->n; i++)
        sy_guard_scan(run->gs[i], i, d, n, from, &h);
    if (h.n > 1)
        qsort(h.v, h.n, sizeof(*h.v), hit_cmp);
    size_t cut = choose_cut(d, n, from, &h, final, run->restore);
    int rc = release(run, d, from, cut, &h, out);
    sy_guard_hits_free(&h);
    if (rc == 0) {
        size_t keep = cut < sizeof(w->ctx) ? cut : sizeof(w->ctx);
        memmove(w->ctx, d + cut - keep, keep);
        w->ctx_len = keep;
        sy_buf_reset(&w->pending);
        sy_buf_append(&w->pending, d + cut, n - cut);
    }
    sy_buf_free(&s);
    return rc;
}

int sy_guard_check_text(sy_guard_run *run, const char *text, size_t len, sy_buf *out)
{
    sy_guard_window w = {0};
    int rc = sy_guard_window_feed(&w, run, text, len, 1, out);
    sy_guard_window_free(&w);
    return rc;
}

void sy_guard_window_free(sy_guard_window *w)
{
    sy_buf_free(&w->pending);
    memset(w, 0, sizeof(*w));
}
