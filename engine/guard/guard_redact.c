/*
 * guard_redact: the request's placeholders. A redacted match becomes "[LABEL_n]", the
 * same text always the same placeholder within a request, so the model sees a
 * consistent stand-in; restoration puts the originals back into the answer.
 */
#include "guard.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void sy_guard_mask_append(sy_guard_masks *m, const char *label, const char *orig, size_t len,
                          int restorable, sy_buf *out)
{
    size_t label_len = strlen(label), same_label = 0;
    for (size_t i = 0; i < m->n; i++) {
        const sy_guard_mask *k = &m->v[i];
        int labelled = k->mask_len > label_len + 2 && memcmp(k->mask + 1, label, label_len) == 0 &&
                       k->mask[label_len + 1] == '_';
        same_label += labelled;
        if (labelled && k->orig_len == len && memcmp(k->orig, orig, len) == 0) {
            sy_buf_append(out, k->mask, k->mask_len);
            return;
        }
    }
    if (m->n == m->cap) {
        m->cap = m->cap ? m->cap * 2 : 4;
        m->v = sy_xrealloc(m->v, m->cap * sizeof(*m->v));
    }
    char mask[SY_GUARD_MAX_LABEL + 32];
    int ml = snprintf(mask, sizeof(mask), "[%.*s_%zu]", SY_GUARD_MAX_LABEL, label, same_label + 1);
    sy_guard_mask *k = &m->v[m->n++];
    k->orig = sy_xmalloc(len + 1);
    memcpy(k->orig, orig, len);
    k->orig[len] = '\0';
    k->orig_len = len;
    k->mask = sy_xstrdup(mask);
    k->mask_len = (size_t)ml;
    k->restorable = restorable;
    sy_buf_append(out, mask, (size_t)ml);
}

void sy_guard_restore(const sy_guard_masks *m, const char *text, size_t len, sy_buf *out)
{
    size_t i = 0, copied = 0;
    while (i < len) {
        const char *br = memchr(text + i, '[', len - i);
        if (!br)
            break;
        i = (size_t)(br - text);
        const sy_guard_mask *hit = NULL;
        for (size_t k = 0; k < m->n && !hit; k++)
            if (m->v[k].restorable && m->v[k].mask_len <= len - i &&
                memcmp(text + i, m->v[k].mask, m->v[k].mask_len) == 0)
                hit = &m->v[k];
        if (!hit) {
            i++;
            continue;
        }
        sy_buf_append(out, text + copied, i - copied);
        sy_buf_append(out, hit->orig, hit->orig_len);
        i += hit->mask_len;
        copied = i;
    }
    sy_buf_append(out, text + copied, len - copied);
}

void sy_guard_masks_free(sy_guard_masks *m)
{
    for (size_t i = 0; i < m->n; i++) {
        free(m->v[i].orig);
        free(m->v[i].mask);
    }
    free(m->v);
    memset(m, 0, sizeof(*m));
}
