/*
 * store_conv.c — conversation state: its own LMDB environment (DIR/conversations/,
 * MDB_NOSYNC) and the write-behind in front of it (store.h, "Conversation state").
 *
 * Workers put a conversation's new state into `pending` (encoded, newest per
 * conversation) and into the per-process cache, under `conv_lock`, and return. The
 * store thread swaps `pending` for the empty `flushing` set every conv_flush_ms (or
 * once CONV_FLUSH_AT are pending), writes that set in one transaction, and empties it;
 * while it writes, readers still find those states in `flushing`. So a reader sees,
 * newest first: the cache, pending, flushing, the environment.
 *
 * A thumbs-down stored since a worker read the state wins over the worker's write (the
 * rule the per-request write applied before): checked against what is pending when the
 * worker puts, and against the environment when the store thread writes.
 *
 * Lock order: conv_lock, then a cache slot's lock. conv_lock is never held across I/O
 * (LMDB reads of the environment happen outside it).
 */
#include "store.h"

#include "clock.h"
#include "store_codec.h"
#include "store_internal.h"
#include "sy_common.h"

#include <errno.h>
#include <limits.h>
#include <lmdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define CONV_DIR      "conversations"
#define CONV_FLUSH_MS 1000

/* ---- the pending sets -------------------------------------------------------------- */

static uint32_t id_hash(const uint8_t id[16])
{
    uint64_t a, b;
    memcpy(&a, id, 8);
    memcpy(&b, id + 8, 8);
    uint64_t h = (a ^ (b * 0x9E3779B97F4A7C15ull)) * 0xBF58476D1CE4E5B9ull;
    return (uint32_t)(h >> 32);
}

static conv_pending *pending_new(void)
{
    conv_pending *p = sy_xcalloc(1, sizeof(*p));
    p->index_cap = 1024;
    p->index = sy_xcalloc(p->index_cap, sizeof(*p->index));
    return p;
}

static void pending_free(conv_pending *p)
{
    if (!p)
        return;
    free(p->ents);
    free(p->index);
    sy_buf_free(&p->bytes);
    free(p);
}

/* Empty the set, keeping its memory for the next round. */
static void pending_clear(conv_pending *p)
{
    if (p->n)
        memset(p->index, 0, p->index_cap * sizeof(*p->index));
    p->n = 0;
    p->bytes.len = 0;
}

/* The index slot of id: its entry's, or the empty slot where it would go. */
static uint32_t *pending_slot(const conv_pending *p, const uint8_t id[16])
{
    size_t mask = p->index_cap - 1;
    for (size_t i = id_hash(id) & mask;; i = (i + 1) & mask) {
        uint32_t e = p->index[i];
        if (!e || memcmp(p->ents[e - 1].id, id, 16) == 0)
            return &p->index[i];
    }
}

/* Double the index (kept at most half full). */
static void pending_grow_index(conv_pending *p)
{
    free(p->index);
    p->index_cap *= 2;
    p->index = sy_xcalloc(p->index_cap, sizeof(*p->index));
    for (size_t i = 0; i < p->n; i++)
        *pending_slot(p, p->ents[i].id) = (uint32_t)(i + 1);
}

/* The newest pending state of id into out: 0, or -1 when none. */
static int pending_get(const conv_pending *p, const uint8_t id[16], sy_conv_state *out)
{
    if (!p->n)
        return -1;
    uint32_t e = *pending_slot(p, id);
    if (!e)
        return -1;
    const conv_pending_ent *ent = &p->ents[e - 1];
    return sy_store_decode_conv(p->bytes.data + ent->off, ent->len, out);
}

/* Set id's pending state (a later put replaces it). 0, or -1 when CONV_PENDING_MAX
 * conversations are pending already. */
static int pending_put(conv_pending *p, const uint8_t id[16], const sy_conv_state *st)
{
    uint32_t *slot = pending_slot(p, id);
    if (!*slot) {
        if (p->n >= CONV_PENDING_MAX)
            return -1;
        if (p->n == p->cap) {
            p->cap = p->cap ? 2 * p->cap : 256;
            p->ents = sy_xrealloc(p->ents, p->cap * sizeof(*p->ents));
        }
        memcpy(p->ents[p->n].id, id, 16);
        *slot = (uint32_t)++p->n;
        if (2 * p->n > p->index_cap)
            pending_grow_index(p);
    }
    conv_pending_ent *ent = &p->ents[*pending_slot(p, id) - 1];
    ent->off = p->bytes.len; /* the older encoding stays as garbage until the flush */
    sy_store_encode_conv(&p->bytes, st);
    ent->len = p->bytes.len - ent->off;
    return 0;
}

/* A thumbs-down in `cur` that `st` has not seen wins (the next turn is not good),
 * unless `cur` had expired when st's turn was taken (st is a new conversation then). */
static int merge_down(const sy_store *s, sy_conv_state *st, const sy_conv_state *cur)
{
    if (cur->thumbs_down <= st->thumbs_down ||
        cur->last_ts_ms + s->opts.conv_ttl_ms < st->last_ts_ms)
        return 0;
    st->thumbs_down = cur->thumbs_down;
    st->good_turns = 0;
    st->rated_down = 1;
    return 1;
}

/* The newest state in memory (pending, then flushing), conv_lock held. 0 or -1. */
static int newest_in_memory(sy_store *s, const uint8_t id[16], sy_conv_state *out)
{
    if (pending_get(s->pending, id, out) == 0)
        return 0;
    return pending_get(s->flushing, id, out);
}

/* ---- the environment ------------------------------------------------------------- */

/* The state stored in the environment (a read transaction; any thread). 0 or -1. */
static int env_get(sy_store *s, const uint8_t id[16], sy_conv_state *out)
{
    pthread_rwlock_rdlock(&s->conv_map_lock);
    MDB_txn *txn;
    int rc = mdb_txn_begin(s->conv_env, NULL, MDB_RDONLY, &txn);
    if (rc == 0) {
        MDB_val k = {16, (void *)id}, v;
        rc = mdb_get(txn, s->conv_dbi, &k, &v);
        if (rc == 0)
            rc = sy_store_decode_conv(v.mv_data, v.mv_size, out);
        mdb_txn_abort(txn);
    }
    pthread_rwlock_unlock(&s->conv_map_lock);
    return rc == 0 ? 0 : -1;
}

static void count_unsaved(sy_store *s, uint64_t n)
{
    pthread_mutex_lock(&s->lock);
    s->counters.conv_unsaved += n;
    pthread_mutex_unlock(&s->lock);
}

int sy_store_conv_get(sy_store *s, const uint8_t id[16], uint64_t now_ms, sy_conv_state *out)
{
    int rc = sy_store_conv_cache_get(s, id, out);
    if (rc != 0) {
        pthread_mutex_lock(&s->conv_lock);
        rc = newest_in_memory(s, id, out);
        pthread_mutex_unlock(&s->conv_lock);
    }
    if (rc != 0)
        rc = env_get(s, id, out);
    if (rc == 0 && out->last_ts_ms + s->opts.conv_ttl_ms < now_ms)
        rc = -1; /* expired: a new conversation */
    return rc;
}

/* Put st as id's newest state (merged with a thumbs-down pending since). Returns 1 when
 * the set reached CONV_FLUSH_AT, -1 when it is full (not saved), else 0. */
static int put_locked(sy_store *s, const uint8_t id[16], sy_conv_state *st)
{
    sy_conv_state cur; /* the cache is as new as pending unless another took its slot */
    if (sy_store_conv_cache_get(s, id, &cur) == 0 || newest_in_memory(s, id, &cur) == 0)
        merge_down(s, st, &cur);
    sy_store_conv_cache_put(s, id, st);
    if (pending_put(s->pending, id, st) != 0)
        return -1;
    atomic_store_explicit(&s->conv_pending_n, s->pending->n, memory_order_relaxed);
    return s->pending->n == CONV_FLUSH_AT;
}

void sy_store_put_conv(sy_store *s, const uint8_t id[16], const sy_conv_state *st)
{
    sy_conv_state v = *st;
    pthread_mutex_lock(&s->conv_lock);
    int r = put_locked(s, id, &v);
    pthread_mutex_unlock(&s->conv_lock);
    if (r < 0) {
        count_unsaved(s, 1); /* the cache still has it: the next turn sees it */
    } else if (r > 0) {
        pthread_mutex_lock(&s->lock);
        s->conv_flush_now = 1;
        pthread_cond_signal(&s->cond);
        pthread_mutex_unlock(&s->lock);
    }
}

void sy_store_conv_thumbs_down(sy_store *s, const uint8_t conv[16])
{
    sy_conv_state stored, c;
    if (atomic_load_explicit(&s->conv_pending_n, memory_order_relaxed) >= CONV_PENDING_MAX)
        sy_store_conv_flush(s, 1); /* room for this state */
    /* the environment changes only on this thread: read it outside the lock */
    int in_env = env_get(s, conv, &stored) == 0;
    pthread_mutex_lock(&s->conv_lock);
    int known = newest_in_memory(s, conv, &c) == 0;
    if (!known && in_env) {
        c = stored;
        known = 1;
    }
    int r = 0;
    if (known) { /* an unknown (expired, swept) conversation has nothing to count it in */
        sy_conv_thumbs_down(&c);
        r = put_locked(s, conv, &c);
    }
    pthread_mutex_unlock(&s->conv_lock);
    if (r < 0)
        count_unsaved(s, 1);
    else if (r > 0)
        s->conv_flush_now = 1; /* this thread's loop sees it after the batch */
}

/* ---- the write-behind (store thread) ------------------------------------------------ */

int sy_store_conv_flush_due(sy_store *s, uint64_t mono_ms)
{
    return s->conv_flush_now ||
           (mono_ms >= s->next_conv_flush_ms &&
            atomic_load_explicit(&s->conv_pending_n, memory_order_relaxed) > 0);
}

/* Double the conversation environment's map (bounded by max_map_size). 0 or -1. */
static int grow_conv_map(sy_store *s)
{
    if (s->conv_map_size >= s->opts.max_map_size)
        return -1;
    size_t next = s->conv_map_size * 2;
    if (next > s->opts.max_map_size)
        next = s->opts.max_map_size;
    pthread_rwlock_wrlock(&s->conv_map_lock);
    int rc = mdb_env_set_mapsize(s->conv_env, next);
    pthread_rwlock_unlock(&s->conv_map_lock);
    if (rc)
        return -1;
    s->conv_map_size = next;
    return 0;
}

/* Write every state of set f in one transaction (not synced). A new conversation
 * beyond conv_max is refused (counted). Returns 0 or an LMDB error code. */
static int write_set(sy_store *s, const conv_pending *f, uint64_t *refused)
{
    for (;;) {
        MDB_txn *txn = NULL;
        MDB_stat st;
        *refused = 0;
        int rc = mdb_txn_begin(s->conv_env, NULL, 0, &txn);
        if (rc == 0)
            rc = mdb_stat(txn, s->conv_dbi, &st);
        size_t entries = rc == 0 ? st.ms_entries : 0;
        sy_buf b = {0};
        for (size_t i = 0; rc == 0 && i < f->n; i++) {
            const conv_pending_ent *e = &f->ents[i];
            MDB_val k = {16, (void *)e->id}, v = {e->len, f->bytes.data + e->off}, old;
            sy_conv_state cur, mine;
            if (mdb_get(txn, s->conv_dbi, &k, &old) == 0) {
                if (sy_store_decode_conv(old.mv_data, old.mv_size, &cur) == 0 &&
                    sy_store_decode_conv(v.mv_data, v.mv_size, &mine) == 0 &&
                    merge_down(s, &mine, &cur)) {
                    sy_buf_reset(&b);
                    sy_store_encode_conv(&b, &mine);
                    v = (MDB_val){b.len, b.data};
                    sy_store_conv_cache_merge_down(s, e->id, &mine); /* readers see it */
                }
            } else if (entries >= s->opts.conv_max) {
                (*refused)++;
                continue;
            } else {
                entries++;
            }
            rc = mdb_put(txn, s->conv_dbi, &k, &v, 0);
        }
        sy_buf_free(&b);
        if (rc == 0)
            rc = mdb_txn_commit(txn);
        else if (txn)
            mdb_txn_abort(txn);
        if (rc == MDB_MAP_FULL && grow_conv_map(s) == 0)
            continue;
        return rc;
    }
}

void sy_store_conv_flush(sy_store *s, int force)
{
    uint64_t mono = sy_mono_ms();
    if (!force && !sy_store_conv_flush_due(s, mono))
        return;
    s->conv_flush_now = 0;
    s->next_conv_flush_ms = mono + s->opts.conv_flush_ms;
    pthread_mutex_lock(&s->conv_lock);
    conv_pending *f = s->pending; /* flushing is empty: only this function fills it */
    s->pending = s->flushing;
    s->flushing = f;
    atomic_store_explicit(&s->conv_pending_n, 0, memory_order_relaxed);
    pthread_mutex_unlock(&s->conv_lock);
    if (!f->n)
        return;
    uint64_t refused = 0;
    int rc = write_set(s, f, &refused);
    pthread_mutex_lock(&s->lock);
    if (rc == 0) {
        s->counters.conv_flushes++;
        s->counters.conv_refused += refused;
    } else {
        s->counters.conv_unsaved += f->n;
    }
    pthread_mutex_unlock(&s->lock);
    if (rc)
        sy_store_log(2, "store: %zu conversation states not written: %s", f->n, mdb_strerror(rc));
    pthread_mutex_lock(&s->conv_lock);
    pending_clear(f);
    pthread_mutex_unlock(&s->conv_lock);
}

/* ---- open and close ---------------------------------------------------------------- */

/* A damaged conversation environment is soft state: set it aside and start empty. */
static void check_conv_dir(const char *path)
{
    sy_store_report r;
    if (sy_store_check_isolated(path, &r) >= 0)
        return;
    char from[PATH_MAX + 16], to[PATH_MAX + 32];
    snprintf(from, sizeof(from), "%s/data.mdb", path);
    snprintf(to, sizeof(to), "%s/data.mdb.damaged", path);
    int moved = rename(from, to) == 0;
    snprintf(from, sizeof(from), "%s/lock.mdb", path);
    unlink(from);
    sy_store_log(1,
                 "store: the conversation state in %s is damaged (%s); %s, starting with no "
                 "conversation state (ratings and requests are not kept there)",
                 path, r.problem, moved ? "moved to data.mdb.damaged" : "could not move it");
}

/* Copy the main environment's conversations into the conversation environment in one
 * transaction (ones already there are kept). 0 or an LMDB error code. */
static int copy_old(sy_store *s, size_t *moved)
{
    MDB_txn *from = NULL, *to = NULL;
    MDB_cursor *cur = NULL;
    *moved = 0;
    int rc = mdb_txn_begin(s->env, NULL, MDB_RDONLY, &from);
    if (rc == 0)
        rc = mdb_txn_begin(s->conv_env, NULL, 0, &to);
    if (rc == 0)
        rc = mdb_cursor_open(from, s->dbi[DB_CONVERSATIONS], &cur);
    MDB_val k, v;
    for (int g = rc ? rc : mdb_cursor_get(cur, &k, &v, MDB_FIRST); g == 0 && rc == 0;
         g = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
        rc = mdb_put(to, s->conv_dbi, &k, &v, MDB_NOOVERWRITE);
        if (rc == MDB_KEYEXIST)
            rc = 0;
        else if (rc == 0)
            (*moved)++;
    }
    if (cur)
        mdb_cursor_close(cur);
    if (from)
        mdb_txn_abort(from);
    if (rc == 0)
        rc = mdb_txn_commit(to);
    else if (to)
        mdb_txn_abort(to);
    return rc;
}

/* Conversations an older store kept in the main environment move to the new one, once:
 * copied (the map grows as needed), synced, then the main environment's table is
 * emptied. 0 or an LMDB error code. */
static int migrate(sy_store *s)
{
    MDB_txn *txn = NULL;
    MDB_stat st;
    int rc = mdb_txn_begin(s->env, NULL, MDB_RDONLY, &txn);
    if (rc == 0)
        rc = mdb_stat(txn, s->dbi[DB_CONVERSATIONS], &st);
    if (txn)
        mdb_txn_abort(txn);
    if (rc || st.ms_entries == 0)
        return rc;
    size_t moved = 0;
    while ((rc = copy_old(s, &moved)) == MDB_MAP_FULL && grow_conv_map(s) == 0)
        ;
    if (rc == 0)
        rc = mdb_env_sync(s->conv_env, 1); /* on disk before the old copy goes */
    txn = NULL;
    if (rc == 0)
        rc = mdb_txn_begin(s->env, NULL, 0, &txn);
    if (rc == 0)
        rc = mdb_drop(txn, s->dbi[DB_CONVERSATIONS], 0);
    if (rc == 0)
        rc = mdb_txn_commit(txn);
    else if (txn)
        mdb_txn_abort(txn);
    if (rc == 0)
        sy_store_log(0, "store: moved %zu conversation states to %s/" CONV_DIR, moved, s->opts.dir);
    return rc;
}

int sy_store_conv_open(sy_store *s, char *err, size_t err_len)
{
    char path[PATH_MAX];
    snprintf(path, sizeof(path), "%s/" CONV_DIR, s->opts.dir);
    if (mkdir(path, 0700) != 0 && errno != EEXIST) {
        snprintf(err, err_len, "cannot create %s: %s", path, strerror(errno));
        return -1;
    }
    check_conv_dir(path);
    if (!s->opts.conv_flush_ms)
        s->opts.conv_flush_ms = CONV_FLUSH_MS;
    s->conv_map_size = s->opts.map_size;
    MDB_txn *txn = NULL;
    int rc = mdb_env_create(&s->conv_env);
    if (rc == 0)
        rc = mdb_env_set_maxdbs(s->conv_env, 1);
    if (rc == 0)
        rc = mdb_env_set_mapsize(s->conv_env, s->conv_map_size);
    if (rc == 0) /* soft state: no forced sync (store.h, "Conversation state") */
        rc = mdb_env_open(s->conv_env, path, MDB_NOSYNC | MDB_NOMETASYNC | MDB_NOTLS, 0600);
    if (rc == 0) {
        MDB_envinfo info;
        int dead = 0;
        mdb_env_info(s->conv_env, &info);
        if (info.me_mapsize > s->conv_map_size)
            s->conv_map_size = info.me_mapsize;
        mdb_reader_check(s->conv_env, &dead);
        rc = mdb_txn_begin(s->conv_env, NULL, 0, &txn);
    }
    if (rc == 0)
        rc = mdb_dbi_open(txn, "conversations", MDB_CREATE, &s->conv_dbi);
    if (rc == 0)
        rc = mdb_txn_commit(txn);
    else if (txn)
        mdb_txn_abort(txn);
    pthread_rwlock_init(&s->conv_map_lock, NULL); /* grow_conv_map() during migrate() */
    if (rc == 0)
        rc = migrate(s);
    if (rc) {
        snprintf(err, err_len, "cannot open the conversation state in %s: %s", path,
                 mdb_strerror(rc));
        mdb_env_close(s->conv_env);
        s->conv_env = NULL;
        pthread_rwlock_destroy(&s->conv_map_lock);
        return -1;
    }
    pthread_mutex_init(&s->conv_lock, NULL);
    s->pending = pending_new();
    s->flushing = pending_new();
    s->next_conv_flush_ms = sy_mono_ms() + s->opts.conv_flush_ms;
    return 0;
}

void sy_store_conv_close(sy_store *s)
{
    sy_store_conv_flush(s, 1);
    mdb_env_sync(s->conv_env, 1);
    mdb_env_close(s->conv_env);
    pending_free(s->pending);
    pending_free(s->flushing);
    pthread_rwlock_destroy(&s->conv_map_lock);
    pthread_mutex_destroy(&s->conv_lock);
}
