/*
 * store_cache.c: the response cache's records (store_cache.h) on the callers' side:
 * queueing puts and invalidations for the store thread (store_cache_apply.c writes
 * them) and the read transactions of lookups, the rebuild scan and the counts.
 */
#include "store_cache.h"

#include "store_internal.h"

#include <lmdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_KEY (1 + SY_STORE_NAME_MAX + 8 + SY_CACHE_KEY_LEN)

/* ---- the callers' side ---------------------------------------------------------- */

void sy_store_cache_put(sy_store *s, const sy_store_cache_entry *e, size_t max_entries)
{
    ev_cache_put *p = sy_xcalloc(1, sizeof(*p));
    p->h.kind = EV_CACHE_PUT;
    p->e = *e;
    char *a = sy_xmalloc(e->answer_len + 1);
    memcpy(a, e->answer, e->answer_len);
    a[e->answer_len] = '\0';
    p->e.answer = a;
    p->e.vec = NULL;
    if (e->dim && e->vec) {
        float *vec = sy_xmalloc(sizeof(float) * e->dim);
        memcpy(vec, e->vec, sizeof(float) * e->dim);
        p->e.vec = vec;
    } else {
        p->e.dim = 0;
    }
    p->max_entries = max_entries ? max_entries : 1;
    p->ch.s = s;
    sy_store_enqueue(s, &p->h);
}

int sy_store_cache_get(sy_store *s, const uint8_t key[SY_CACHE_KEY_LEN], const uint8_t *id8,
                       uint64_t now_ms, sy_store_cache_entry *out, sy_buf *answer)
{
    uint8_t k[MAX_KEY];
    MDB_txn *txn;
    pthread_rwlock_rdlock(&s->map_lock);
    int rc = mdb_txn_begin(s->env, NULL, MDB_RDONLY, &txn);
    if (rc == 0) {
        MDB_val kv, v;
        if (id8) { /* the first entry whose key begins with id8 */
            MDB_cursor *cur;
            k[0] = 'e';
            memcpy(k + 1, id8, 8);
            kv = (MDB_val){9, k};
            rc = mdb_cursor_open(txn, s->dbi[DB_CACHE], &cur);
            if (rc == 0) {
                rc = mdb_cursor_get(cur, &kv, &v, MDB_SET_RANGE);
                if (rc == 0 && (kv.mv_size != 1 + SY_CACHE_KEY_LEN || memcmp(kv.mv_data, k, 9)))
                    rc = MDB_NOTFOUND;
                mdb_cursor_close(cur);
            }
        } else {
            kv = (MDB_val){sy_store_cache_entry_key(k, key), k};
            rc = mdb_get(txn, s->dbi[DB_CACHE], &kv, &v);
        }
        if (rc == 0 &&
            (sy_store_cache_decode(v.mv_data, v.mv_size, out) != 0 || out->expires_ms <= now_ms))
            rc = -1;
        if (rc == 0) {
            memcpy(out->key, (const uint8_t *)kv.mv_data + 1, SY_CACHE_KEY_LEN);
            sy_buf_reset(answer);
            sy_buf_append(answer, out->answer, out->answer_len);
            out->answer = answer->data;
            out->vec = NULL; /* it pointed into the map */
        }
        mdb_txn_abort(txn);
    }
    pthread_rwlock_unlock(&s->map_lock);
    return rc == 0 ? 0 : -1;
}

long sy_store_cache_invalidate(sy_store *s, const char *ns, const char *model, const char *prompt,
                               uint32_t prompt_version)
{
    long removed = -1;
    ev_cache_del *d = sy_xcalloc(1, sizeof(*d));
    d->h.kind = EV_CACHE_DEL;
    snprintf(d->ns, sizeof(d->ns), "%s", ns ? ns : "");
    snprintf(d->model, sizeof(d->model), "%s", model ? model : "");
    snprintf(d->prompt, sizeof(d->prompt), "%s", prompt ? prompt : "");
    d->prompt_version = prompt_version;
    d->removed = &removed;
    d->ch.s = s;
    sy_store_counters before;
    sy_store_counters_get(s, &before);
    sy_store_enqueue(s, &d->h);
    sy_store_sync_point(s); /* returns once the batch holding d was delivered */
    sy_store_counters after;
    sy_store_counters_get(s, &after);
    if (after.failed_batches != before.failed_batches)
        return -1;
    if (removed > 0)
        sy_store_cache_count_invalidated((uint64_t)removed);
    return removed;
}

long sy_store_cache_each_vector(sy_store *s, uint64_t now_ms,
                                void (*fn)(void *ud, const sy_store_cache_entry *e), void *ud)
{
    MDB_txn *txn = NULL;
    MDB_cursor *cur;
    long n = 0;
    float *vec = NULL;
    pthread_rwlock_rdlock(&s->map_lock);
    int rc = mdb_txn_begin(s->env, NULL, MDB_RDONLY, &txn);
    if (rc == 0 && (rc = mdb_cursor_open(txn, s->dbi[DB_CACHE], &cur)) == 0) {
        uint8_t first = 'e';
        MDB_val k = {1, &first}, v;
        for (int g = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE); g == 0;
             g = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
            const uint8_t *kp = k.mv_data;
            if (k.mv_size == 0 || kp[0] != 'e')
                break;
            sy_store_cache_entry e;
            if (k.mv_size != 1 + SY_CACHE_KEY_LEN ||
                sy_store_cache_decode(v.mv_data, v.mv_size, &e) != 0 || !e.dim ||
                e.expires_ms <= now_ms)
                continue;
            memcpy(e.key, kp + 1, SY_CACHE_KEY_LEN);
            vec = sy_xrealloc(vec, sizeof(float) * e.dim);
            memcpy(vec, e.vec, sizeof(float) * e.dim); /* unaligned in the map */
            e.vec = vec;
            e.answer = NULL;
            fn(ud, &e);
            n++;
        }
        mdb_cursor_close(cur);
    }
    if (txn)
        mdb_txn_abort(txn);
    pthread_rwlock_unlock(&s->map_lock);
    free(vec);
    return rc ? -1 : n;
}

uint64_t sy_store_cache_counts(sy_store *s, void (*fn)(void *ud, const char *ns, uint64_t n),
                               void *ud)
{
    MDB_txn *txn;
    MDB_cursor *cur;
    uint64_t total = 0;
    pthread_rwlock_rdlock(&s->map_lock);
    if (mdb_txn_begin(s->env, NULL, MDB_RDONLY, &txn) == 0) {
        if (mdb_cursor_open(txn, s->dbi[DB_CACHE], &cur) == 0) {
            uint8_t first = 'n';
            MDB_val k = {1, &first}, v;
            for (int g = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE); g == 0;
                 g = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
                const uint8_t *kp = k.mv_data;
                if (k.mv_size == 0 || kp[0] != 'n' || k.mv_size > SY_STORE_NAME_MAX)
                    break;
                uint64_t n = 0;
                if (v.mv_size == 8)
                    memcpy(&n, v.mv_data, 8);
                char ns[SY_STORE_NAME_MAX];
                memcpy(ns, kp + 1, k.mv_size - 1);
                ns[k.mv_size - 1] = '\0';
                total += n;
                if (fn)
                    fn(ud, ns, n);
            }
            mdb_cursor_close(cur);
        }
        mdb_txn_abort(txn);
    }
    pthread_rwlock_unlock(&s->map_lock);
    return total;
}
