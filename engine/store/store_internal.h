/*
 * store_internal: the store's private types, shared by store.c (environment, queue and
 * thread) and store_apply.c (what one batch writes). Not for use outside engine/store.
 *
 * Events are a tagged family: every kind is its own struct that begins with the common
 * header `store_event` (queue link and kind), allocated at its own size and freed by
 * store_event_free(). The queue holds headers; the store thread casts by kind.
 */
#ifndef SY_STORE_INTERNAL_H
#define SY_STORE_INTERNAL_H

#include "store.h"
#include "store_cache.h"
#include "sy_common.h"

#include <lmdb.h>
#include <pthread.h>
#include <stdatomic.h>

enum {
    DB_DECISIONS,
    DB_OUTCOMES,
    DB_FEEDBACK,
    DB_ARM_STATS,
    DB_CONVERSATIONS,
    DB_EXPERIMENTS,
    DB_PROMPTS,
    DB_KEYS,
    DB_META,
    DB_CACHE, /* the response cache (store_cache.c) */
    DB_COUNT
};

#define CONV_CACHE           4096  /* recent conversation states, read before LMDB */
#define CONV_FLUSH_AT        4096  /* pending conversations that make a write-behind due */
#define CONV_PENDING_MAX     65536 /* pending conversations at most (beyond: not saved) */
#define SY_STORE_DROPPED_IDS 4096  /* ids of requests lost to failed batches, remembered */

/* The latest state this process wrote for a conversation, so that the next turn sees it
 * even before the store thread has committed it. Direct-mapped by id; one mutex each. */
typedef struct conv_slot {
    pthread_mutex_t lock;
    int valid;
    uint8_t id[16];
    sy_conv_state st;
} conv_slot;

/* Conversation states written since the last write-behind, newest per conversation
 * (store_conv.c): encoded records appended to `bytes`, found by id through an
 * open-addressed index. Guarded by sy_store.conv_lock. */
typedef struct conv_pending_ent {
    uint8_t id[16];
    size_t off, len; /* the newest encoding in bytes */
} conv_pending_ent;

typedef struct conv_pending {
    conv_pending_ent *ents;
    size_t n, cap;
    uint32_t *index; /* index_cap slots: entry number + 1, 0 empty */
    size_t index_cap;
    sy_buf bytes;
} conv_pending;

typedef enum {
    EV_REQUEST,
    EV_FEEDBACK,
    EV_DEF,
    EV_CALL,
    EV_CACHE_PUT, /* store_cache.c: an entry */
    EV_CACHE_DEL  /* store_cache.c: an invalidation */
} store_event_kind;

typedef struct store_event {
    struct store_event *next;
    store_event_kind kind;
} store_event;

typedef struct ev_request { /* a decision and its outcome */
    store_event h;
    sy_store_request req; /* req.x points at xs */
    double *xs;           /* owned */
} ev_request;

typedef struct ev_feedback { /* a rating, acknowledged after its commit */
    store_event h;
    sy_store_feedback fb; /* comment and tags owned */
    sy_store_ack_cb cb;
    void *ud;
    sy_store_ack ack;
    sy_store_request *rated; /* the rated decision for the observer (owned), or NULL */
    double *xs;              /* its context (owned) */
    int down_conv;           /* a thumbs-down on an answer of conversation `conv` */
    uint8_t conv[16];
} ev_feedback;

typedef struct ev_def { /* a definition write, acknowledged after its sync */
    store_event h;
    int db;     /* DB_PROMPTS or DB_EXPERIMENTS */
    char *key;  /* owned */
    sy_buf val; /* owned */
    sy_store_ack_cb cb;
    void *ud;
} ev_def;

typedef struct ev_call { /* sy_store_call(): fn(ud) in queue order */
    store_event h;
    void (*fn)(void *ud);
    void *ud;
} ev_call;

struct sy_store {
    MDB_env *env;
    MDB_dbi dbi[DB_COUNT];
    sy_store_opts opts;
    size_t map_size;
    uint8_t secret[32];
    pthread_t thread;
    pthread_mutex_t lock;
    pthread_cond_t cond;
    pthread_rwlock_t map_lock;
    store_event *head, *tail;
    size_t queued;
    size_t ratings_queued; /* awaited ratings in the queue (they skip the batch wait) */
    int stopping;
    sy_store_counters counters;
    sy_store_observer observer;
    void *observer_ud;
    conv_slot *conv_cache; /* CONV_CACHE slots */
    /* conversation state: its own environment, written behind (store_conv.c) */
    MDB_env *conv_env;
    MDB_dbi conv_dbi;
    size_t conv_map_size;
    pthread_rwlock_t conv_map_lock; /* like map_lock, for conv_env */
    pthread_mutex_t conv_lock;      /* guards pending and flushing; never held across I/O */
    conv_pending *pending;          /* written since the last write-behind */
    conv_pending *flushing;         /* being written now (store thread), still readable */
    _Atomic size_t conv_pending_n;  /* pending->n, for the store thread's due check */
    uint64_t next_conv_flush_ms;    /* monotonic time of the next write-behind */
    _Atomic int conv_flush_now;     /* pending reached CONV_FLUSH_AT: write behind now */
    uint8_t (*dropped)[16];         /* ring of SY_STORE_DROPPED_IDS ids (store thread only) */
    uint64_t dropped_pos;
    /* the conversation sweep (store_sweep.c; store thread only) */
    int sweeping, sweep_started;
    uint8_t sweep_key[16];     /* the last key the current pass has seen */
    uint64_t next_sweep_ms;    /* monotonic start of the next pass */
    uint8_t (*sweep_dead)[16]; /* one step's expired keys (allocated on first use) */
};

/* A rating someone waits for (a client's, through its callback): it skips the batch
 * wait and its batch is synced before the verdict. An implicit signal (a rephrase, no
 * callback) waits for its batch like a request record and forces no sync. */
static inline int sy_store_awaits_ack(const store_event *e)
{
    return e->kind == EV_FEEDBACK && ((const ev_feedback *)e)->cb != NULL;
}

/* Was this request dropped by a failed batch lately? (store thread) */
int sy_store_was_dropped(const sy_store *s, const uint8_t id[16]);

/* Replace the cached state of a conversation (workers and the store thread). */
void sy_store_conv_cache_put(sy_store *s, const uint8_t id[16], const sy_conv_state *st);
conv_slot *sy_store_conv_slot(sy_store *s, const uint8_t id[16]);
/* The cached state of id: 0, or -1 when the slot holds another conversation. */
int sy_store_conv_cache_get(sy_store *s, const uint8_t id[16], sy_conv_state *out);
/* The write-behind merged a stored thumbs-down into st: the cache takes st unless it
 * holds a later turn or another conversation. */
void sy_store_conv_cache_merge_down(sy_store *s, const uint8_t id[16], const sy_conv_state *st);

/* Conversation state (store_conv.c). Open DIR/conversations (a damaged one is replaced
 * by an empty one: it is soft state) and move conversations an older store kept in the
 * main environment into it; 0, or -1 with err set. */
int sy_store_conv_open(sy_store *s, char *err, size_t err_len);
/* Write everything pending, sync the environment, close it (sy_store_close). */
void sy_store_conv_close(sy_store *s);
/* The write-behind, when due (store thread): every pending state in one transaction of
 * the conversation environment, not synced. force: write whatever is pending. */
void sy_store_conv_flush(sy_store *s, int force);
/* Is a write-behind due? (store thread) */
int sy_store_conv_flush_due(sy_store *s, uint64_t mono_ms);
/* An explicit thumbs-down on one of conv's answers (store thread, after the rating's
 * commit): counted in the conversation's state, if the conversation is known. */
void sy_store_conv_thumbs_down(sy_store *s, const uint8_t conv[16]);

/* Write one batch in one transaction (store thread); MDB_MAP_FULL grows the map and
 * retries. *synced_acks is set when the batch holds an event acknowledged after its
 * sync (a rating or a definition). Returns 0 or an LMDB error code. */
int sy_store_commit_batch(sy_store *s, store_event *batch, int *synced_acks);

void sy_store_event_free(store_event *e);

/* Queue an event (any thread; a short lock, no I/O). */
void sy_store_enqueue(sy_store *s, store_event *e);
/* Wait until every event queued before this call has been delivered (its batch
 * committed or failed). Blocks the caller: admin handlers only. */
void sy_store_sync_point(sy_store *s);

/* What one cache event did to the entries that carry a vector, in order, for the
 * listener (sy_store_cache_set_listener) once the batch committed. Reset on each apply
 * (a batch retried after growing the map applies again). */
typedef struct cache_change {
    uint8_t key[SY_CACHE_KEY_LEN], part[SY_CACHE_KEY_LEN];
    int added; /* 1: the event's own entry (its vec); 0: an entry deleted */
} cache_change;
typedef struct cache_changes {
    sy_store *s;
    cache_change *v;
    size_t n, cap;
    uint64_t failed_batches; /* the store's count when applied: unchanged = committed */
} cache_changes;

/* The response cache's events (store_cache.c queues them, store_cache_apply.c applies). */
typedef struct ev_cache_put {
    store_event h;
    sy_store_cache_entry e; /* answer and vec owned */
    size_t max_entries;
    cache_changes ch;
} ev_cache_put;

typedef struct ev_cache_del {
    store_event h;
    char ns[SY_STORE_NAME_MAX], model[SY_STORE_NAME_MAX], prompt[80];
    uint32_t prompt_version;
    long *removed; /* the waiter's: set by the apply */
    cache_changes ch;
} ev_cache_del;

/* Decode an entry value; e->answer and e->vec point into v (vec may be unaligned:
 * callers copy it). 0, or -1 when short or of an unknown version. */
int sy_store_cache_decode(const void *v, size_t n, sy_store_cache_entry *e);
/* 'e' + key: an entry's LMDB key into k; returns its length. */
size_t sy_store_cache_entry_key(uint8_t *k, const uint8_t key[32]);
void sy_store_cache_count_invalidated(uint64_t n);

/* store_cache_apply.c: the response cache's events (EV_CACHE_*), inside a batch, and their
 * release. */
int sy_store_cache_apply(sy_store *s, MDB_txn *txn, store_event *e);
/* Inside a feedback's transaction: a rating of a request whose rule names a cache entry
 * (SY_CACHE_ARM_RULE) adds d_sum and d_n to that entry's rating_sum and rating_n. 0 also
 * when the rule names none or the entry is gone; else an LMDB error. */
int sy_store_cache_rate(sy_store *s, MDB_txn *txn, const char *rule, double d_sum, double d_n);
void sy_store_cache_event_free(store_event *e);

/* One bounded step of the expired-conversation sweep, when a pass is due or under way
 * (store thread). Returns 1 while the pass has more steps to run. */
int sy_store_sweep_step(sy_store *s);

/* Send a message to the store's log (see sy_store_set_log). */
void sy_store_log(int level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
