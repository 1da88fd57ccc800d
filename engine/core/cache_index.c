/*
 * cache_index.c: building and feeding the semantic index (cache_index.h).
 */
#include "cache_index.h"

#include "cache_metrics.h"
#include "clock.h"
#include "log.h"
#include "store_cache.h"

#include <string.h>

uint64_t sy_cache_index_id(const uint8_t key[32])
{
    uint64_t id;
    memcpy(&id, key, 8);
    return id;
}

void sy_cache_index_id_bytes(uint64_t id, uint8_t out[8])
{
    memcpy(out, &id, 8);
}

/* The store thread's feed, after a commit. */
static void on_change(void *ud, int added, const uint8_t key[32], const uint8_t part[32],
                      const float *vec, uint32_t dim)
{
    sy_sem_index *x = ud;
    if (added)
        sy_sem_index_add(x, part, sy_cache_index_id(key), vec, (int)dim);
    else
        sy_sem_index_remove(x, part, sy_cache_index_id(key));
}

static void load_one(void *ud, const sy_store_cache_entry *e)
{
    sy_sem_index_add(ud, e->part, sy_cache_index_id(e->key), e->vec, (int)e->dim);
}

sy_sem_index *sy_cache_index_open(sy_store *store)
{
    sy_sem_index *x = sy_sem_index_new();
    sy_store_cache_set_listener(store, on_change, x);
    long n = sy_store_cache_each_vector(store, sy_wall_ms(), load_one, x);
    if (n < 0)
        sy_log(SY_LOG_WARN, "cache: the semantic index could not be read from the store; "
                            "semantic entries are found again once re-stored");
    else if (n > 0)
        sy_log(SY_LOG_INFO, "cache: %ld semantic entries loaded", n);
    sy_cache_metrics_set_index(x);
    return x;
}

void sy_cache_index_free(sy_sem_index *x)
{
    sy_cache_metrics_set_index(NULL);
    sy_sem_index_free(x);
}
