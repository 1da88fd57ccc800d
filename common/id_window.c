/* id_window: see id_window.h. */
#include "id_window.h"

#include "sy_common.h"

#include <stdlib.h>
#include <string.h>

static uint64_t mix(uint64_t x)
{
    x ^= x >> 30;
    x *= 0xbf58476d1ce4e5b9ull;
    x ^= x >> 27;
    x *= 0x94d049bb133111ebull;
    x ^= x >> 31;
    return x;
}

void sy_id_window_init(sy_id_window *w, size_t n)
{
    memset(w, 0, sizeof(*w));
    w->n = n ? n : 1;
    w->ring = sy_xcalloc(w->n, sizeof(uint64_t));
    size_t cap = 4;
    while (cap < 2 * w->n)
        cap <<= 1;
    w->tab = sy_xcalloc(cap, sizeof(uint32_t));
    w->mask = cap - 1;
}

void sy_id_window_free(sy_id_window *w)
{
    free(w->ring);
    free(w->tab);
    w->ring = NULL;
    w->tab = NULL;
}

/* The cell holding key, or the empty cell where it would go. */
static size_t probe(const sy_id_window *w, uint64_t key)
{
    size_t i = (size_t)mix(key) & w->mask;
    while (w->tab[i] && w->ring[w->tab[i] - 1] != key)
        i = (i + 1) & w->mask;
    return i;
}

long sy_id_window_find(const sy_id_window *w, uint64_t key)
{
    if (!key)
        return -1;
    size_t i = probe(w, key);
    return w->tab[i] ? (long)w->tab[i] - 1 : -1;
}

/* Remove key (present) and shift the cells after it back so that probing still finds
 * them (backward-shift deletion). */
static void forget(sy_id_window *w, uint64_t key)
{
    size_t i = probe(w, key);
    if (!w->tab[i])
        return;
    for (size_t j = (i + 1) & w->mask; w->tab[j]; j = (j + 1) & w->mask) {
        size_t k = (size_t)mix(w->ring[w->tab[j] - 1]) & w->mask;
        /* the cell at j may move to the hole at i unless its home lies in (i, j] */
        int stays = i <= j ? (k > i && k <= j) : (k > i || k <= j);
        if (!stays) {
            w->tab[i] = w->tab[j];
            i = j;
        }
    }
    w->tab[i] = 0;
}

size_t sy_id_window_add(sy_id_window *w, uint64_t key)
{
    size_t slot = w->pos;
    if (w->count == w->n)
        forget(w, w->ring[slot]); /* the oldest key leaves the window */
    else
        w->count++;
    w->ring[slot] = key;
    w->pos = (w->pos + 1) % w->n;
    if (key)
        w->tab[probe(w, key)] = (uint32_t)slot + 1;
    return slot;
}

uint64_t sy_id_window_key16(const uint8_t id[16])
{
    uint64_t a = 0, b = 0;
    for (int i = 0; i < 8; i++) {
        a = a << 8 | id[i];
        b = b << 8 | id[8 + i];
    }
    uint64_t k = mix(a ^ mix(b));
    return k ? k : 1;
}
