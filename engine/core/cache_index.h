/*
 * cache_index: the process's semantic-cache index (docs/cache.md): a cache/sem_index.h
 * over every live entry that carries a vector, rebuilt from the store's LMDB at start
 * and then fed by the store thread after each commit (added, replaced, evicted, expired
 * and invalidated entries). Workers only search it.
 *
 * Ownership: the server owns the index (sy_server.sem_index); it is opened after the
 * store and freed after the store closed (the store thread is its only writer then).
 */
#ifndef SY_CACHE_INDEX_H
#define SY_CACHE_INDEX_H

#include "sem_index.h"
#include "store.h"

#include <stdint.h>

/* A new index with every live vector entry of store, its listener registered. */
sy_sem_index *sy_cache_index_open(sy_store *store);
/* Free it (the store is closed: nothing feeds it any more). NULL-safe. */
void sy_cache_index_free(sy_sem_index *x);

/* The index id of an entry: the first 8 bytes of its key (sy_store_cache_get's id8). */
uint64_t sy_cache_index_id(const uint8_t key[32]);
void sy_cache_index_id_bytes(uint64_t id, uint8_t out[8]);

#endif
