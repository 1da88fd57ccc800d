/*
 * store_conv_cache: the per-process cache of conversation states in front of LMDB
 * (store_internal.h), so that a conversation's next turn sees the last one before its
 * write is committed. Workers and the store thread use it; one mutex per slot, held for
 * a copy.
 */
#include "store_internal.h"

#include <string.h>

conv_slot *sy_store_conv_slot(sy_store *s, const uint8_t id[16])
{
    uint32_t h;
    memcpy(&h, id, sizeof(h)); /* ids are hashes already */
    return &s->conv_cache[h % CONV_CACHE];
}

void sy_store_conv_cache_put(sy_store *s, const uint8_t id[16], const sy_conv_state *st)
{
    conv_slot *c = sy_store_conv_slot(s, id);
    pthread_mutex_lock(&c->lock);
    c->valid = 1;
    memcpy(c->id, id, 16);
    c->st = *st;
    pthread_mutex_unlock(&c->lock);
}

int sy_store_conv_cache_get(sy_store *s, const uint8_t id[16], sy_conv_state *out)
{
    conv_slot *c = sy_store_conv_slot(s, id);
    int rc = -1;
    pthread_mutex_lock(&c->lock);
    if (c->valid && memcmp(c->id, id, 16) == 0) {
        *out = c->st;
        rc = 0;
    }
    pthread_mutex_unlock(&c->lock);
    return rc;
}

void sy_store_conv_cache_merge_down(sy_store *s, const uint8_t id[16], const sy_conv_state *st)
{
    conv_slot *c = sy_store_conv_slot(s, id);
    pthread_mutex_lock(&c->lock);
    if (c->valid && memcmp(c->id, id, 16) == 0 && c->st.thumbs_down < st->thumbs_down &&
        c->st.last_ts_ms <= st->last_ts_ms)
        c->st = *st;
    pthread_mutex_unlock(&c->lock);
}
