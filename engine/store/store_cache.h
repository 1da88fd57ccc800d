/*
 * store_cache: the response cache's entries in the LMDB store (docs/cache.md), one named
 * database "response_cache". Like every other write, entries are written by the store
 * thread from queued events (workers never write); reads are read transactions on the
 * caller's thread (a memory-mapped lookup, no write, no lock across I/O).
 *
 * Records (keys start with a tag byte):
 *   'e' key[32]                       -> the entry (versioned record, below)
 *   'a' ns '\0' be64(created_ms) key  -> ""   (age index of a namespace: oldest first)
 *   'n' ns                            -> u64  (entries of the namespace)
 * A namespace is the route or model name the request named. The store thread keeps each
 * namespace at most max_entries (the put's bound) by evicting its oldest entries, and
 * drops a few expired ones at the front of the namespace on each put; an expired entry
 * reads as absent before that.
 */
#ifndef SY_STORE_CACHE_H
#define SY_STORE_CACHE_H

#include "store.h"
#include "sy_common.h"

#include <stddef.h>
#include <stdint.h>

#define SY_CACHE_KEY_LEN 32

/* One entry. Strings are NUL-terminated; answer is an OpenAI chat completion (JSON). */
typedef struct sy_store_cache_entry {
    uint8_t key[SY_CACHE_KEY_LEN];
    char ns[SY_STORE_NAME_MAX];    /* the route or model the request named */
    char model[SY_STORE_NAME_MAX]; /* the model that answered */
    char prompt[80];               /* registry prompt it was rendered from, "" none */
    uint32_t prompt_version;
    uint64_t created_ms, expires_ms;
    double cost_usd; /* what the answer cost when it was made: a hit's saving */
    int64_t prompt_tokens, completion_tokens;
    const char *answer; /* put: copied; get: into the caller's buffer */
    size_t answer_len;
    /* semantic tier: the latest user turn's embedding and its partition (all zero and
     * dim 0 for an exact-only entry) */
    const float *vec; /* put: copied; get: see sy_store_cache_get */
    uint32_t dim;
    uint8_t part[SY_CACHE_KEY_LEN];
    /* ratings its answer received when a cache arm served it (weighted Σ in [0, 1] and
     * total weight; 0 for a new entry: the store accumulates them, a put resets them) */
    double rating_sum, rating_n;
} sy_store_cache_entry;

/* The rule of a request the cache arm served (a request record's `rule`): this prefix,
 * then the entry's first 8 key bytes in hex (the semantic index's id), so that a rating
 * of the request also reaches the entry (rating_sum, rating_n). */
#define SY_CACHE_ARM_RULE "cache:arm:"

/* Queue an entry (replacing one with the same key); the store thread then evicts the
 * namespace's oldest entries beyond max_entries. Never blocks on I/O. */
void sy_store_cache_put(sy_store *s, const sy_store_cache_entry *e, size_t max_entries);

/* Read the live entry of `key` into out (answer copied into *answer, vector into *vec
 * when vec is not NULL). id8: when non-NULL, key is ignored and the entry is the one
 * whose key begins with these 8 bytes (the semantic index's ids). 0 found, -1 absent,
 * expired or undecodable. */
int sy_store_cache_get(sy_store *s, const uint8_t key[SY_CACHE_KEY_LEN], const uint8_t *id8,
                       uint64_t now_ms, sy_store_cache_entry *out, sy_buf *answer);

/* Delete every entry matching all the given filters (NULL / version 0: any): namespace,
 * the model that answered, prompt name and version. Waits for the commit (admin
 * handlers only). Returns how many entries were deleted, or -1 when the store failed. */
long sy_store_cache_invalidate(sy_store *s, const char *ns, const char *model, const char *prompt,
                               uint32_t prompt_version);

/* Every live entry with a vector, in one read transaction (for rebuilding the semantic
 * index at start): fn gets the entry (answer NULL; vec valid during the call). Returns
 * the count, or -1. */
long sy_store_cache_each_vector(sy_store *s, uint64_t now_ms,
                                void (*fn)(void *ud, const sy_store_cache_entry *e), void *ud);

/* The semantic index's feed: after each committed batch, the store thread calls fn for
 * every entry with a vector that the batch added (added 1, vec and dim valid during the
 * call) or deleted (added 0: replaced, evicted, expired or invalidated), in the order
 * the batch did them. Nothing is called for a batch that failed. Set before serving;
 * fn runs on the store thread and must not block on I/O. */
typedef void (*sy_store_cache_listener)(void *ud, int added, const uint8_t key[SY_CACHE_KEY_LEN],
                                        const uint8_t part[SY_CACHE_KEY_LEN], const float *vec,
                                        uint32_t dim);
void sy_store_cache_set_listener(sy_store *s, sy_store_cache_listener fn, void *ud);

/* Entries per namespace (a read transaction): fn(ud, ns, count); returns the total. */
uint64_t sy_store_cache_counts(sy_store *s, void (*fn)(void *ud, const char *ns, uint64_t n),
                               void *ud);

/* Evictions (bound), expired entries dropped, entries invalidated: since the start. */
typedef struct sy_store_cache_stats {
    uint64_t evicted, expired, invalidated;
} sy_store_cache_stats;
void sy_store_cache_stats_get(sy_store_cache_stats *out);

#endif
