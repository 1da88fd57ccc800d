/*
 * store_sweep.c: deleting expired conversations from the conversation environment
 * (store_conv.c), a bounded step at a time (store thread only). A state still pending
 * in the write-behind is written back by the next flush if it is live.
 *
 * A pass starts every opts.sweep_every_ms (10 s). Each step reads at most SWEEP_STEP entries in a
 * read-only transaction, from the key after the last one the previous step saw; only
 * when some of them have expired (or do not decode) does it open a write transaction to
 * delete exactly those. A step that finds nothing to delete writes nothing and syncs
 * nothing. The pass ends when a step reaches the end of the table. Before, one write
 * transaction walked the whole table (up to conversations.max_entries, 1,000,000) every
 * 10 s and committed, holding the store thread meanwhile.
 */
#include "store_internal.h"

#include "clock.h"
#include "store_codec.h"

#include <string.h>

#define SWEEP_STEP 2048

/* Collect up to SWEEP_STEP expired keys after s->sweep_key into dead; returns how many,
 * sets *done when the table's end was reached. */
static size_t scan_step(sy_store *s, uint64_t now, uint8_t (*dead)[16], int *done)
{
    MDB_txn *txn;
    MDB_cursor *cur;
    size_t n_dead = 0;
    *done = 1;
    pthread_rwlock_rdlock(&s->conv_map_lock);
    if (mdb_txn_begin(s->conv_env, NULL, MDB_RDONLY, &txn) != 0) {
        pthread_rwlock_unlock(&s->conv_map_lock);
        return 0;
    }
    if (mdb_cursor_open(txn, s->conv_dbi, &cur) == 0) {
        MDB_val k = {16, s->sweep_key}, v;
        int rc = s->sweep_started ? mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE)
                                  : mdb_cursor_get(cur, &k, &v, MDB_FIRST);
        if (rc == 0 && s->sweep_started && k.mv_size == 16 &&
            memcmp(k.mv_data, s->sweep_key, 16) == 0)
            rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT); /* seen by the previous step */
        size_t seen = 0;
        for (; rc == 0 && seen < SWEEP_STEP; rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT), seen++) {
            sy_conv_state c;
            if (k.mv_size != 16)
                continue; /* not a conversation key: never written by this store */
            memcpy(s->sweep_key, k.mv_data, 16);
            s->sweep_started = 1;
            if (sy_store_decode_conv(v.mv_data, v.mv_size, &c) != 0 ||
                c.last_ts_ms + s->opts.conv_ttl_ms < now)
                memcpy(dead[n_dead++], k.mv_data, 16);
        }
        *done = rc != 0;
        mdb_cursor_close(cur);
    }
    mdb_txn_abort(txn);
    pthread_rwlock_unlock(&s->conv_map_lock);
    return n_dead;
}

/* Delete the given keys if they are still expired (a turn may have renewed one since
 * the scan: the store thread is the only writer, so only a batch between the two). */
static void delete_step(sy_store *s, uint64_t now, uint8_t (*dead)[16], size_t n)
{
    MDB_txn *txn;
    if (mdb_txn_begin(s->conv_env, NULL, 0, &txn) != 0)
        return;
    uint64_t swept = 0;
    for (size_t i = 0; i < n; i++) {
        MDB_val k = {16, dead[i]}, v;
        sy_conv_state c;
        if (mdb_get(txn, s->conv_dbi, &k, &v) != 0)
            continue;
        if (sy_store_decode_conv(v.mv_data, v.mv_size, &c) == 0 &&
            c.last_ts_ms + s->opts.conv_ttl_ms >= now)
            continue;
        if (mdb_del(txn, s->conv_dbi, &k, NULL) == 0)
            swept++;
    }
    if (mdb_txn_commit(txn) == 0 && swept) {
        pthread_mutex_lock(&s->lock);
        s->counters.conv_swept += swept;
        pthread_mutex_unlock(&s->lock);
    }
}

int sy_store_sweep_step(sy_store *s)
{
    if (!s->sweep_dead)
        s->sweep_dead = sy_xcalloc(SWEEP_STEP, 16);
    uint64_t mono = sy_mono_ms();
    if (!s->sweeping) {
        if (mono < s->next_sweep_ms)
            return 0;
        s->sweeping = 1;
        s->sweep_started = 0;
    }
    int done;
    uint64_t now = sy_wall_ms();
    size_t n = scan_step(s, now, s->sweep_dead, &done);
    if (n)
        delete_step(s, now, s->sweep_dead, n);
    if (done) {
        s->sweeping = 0;
        s->next_sweep_ms = mono + s->opts.sweep_every_ms;
    }
    return s->sweeping;
}
