/*
 * store_cache_apply.c: the response cache's records (store_cache.h) on the store thread:
 * the entry codec, a put with its namespace's eviction, an invalidation; and the
 * counters. The callers' side (queueing, lookups) is store_cache.c.
 */
#include "sha256.h"
#include "store_cache.h"

#include "store_internal.h"

#include <lmdb.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Entry records: version 1 had no ratings; version 2 adds rating_sum and rating_n after
 * the partition. Both are read. */
#define ENTRY_VERSION_1  1
#define ENTRY_VERSION    2
#define EXPIRED_PER_PUT  16 /* expired entries dropped at a namespace's front per put */
#define MAX_KEY          (1 + SY_STORE_NAME_MAX + 8 + SY_CACHE_KEY_LEN)
#define ENTRY_FIXED_SIZE (1 + 8 + 8 + 8 + 8 + 8 + 4 + 4 + SY_CACHE_KEY_LEN + 8 + 8)

static _Atomic uint64_t n_evicted, n_expired, n_invalidated;

/* The listener (one store per process serves; a listener of another store is ignored). */
static sy_store *listener_store;
static sy_store_cache_listener listener_fn;
static void *listener_ud;

void sy_store_cache_set_listener(sy_store *s, sy_store_cache_listener fn, void *ud)
{
    listener_store = s;
    listener_fn = fn;
    listener_ud = ud;
}

/* Start recording an event's changes (each apply starts afresh). */
static void changes_begin(cache_changes *ch)
{
    ch->n = 0;
    pthread_mutex_lock(&ch->s->lock);
    ch->failed_batches = ch->s->counters.failed_batches;
    pthread_mutex_unlock(&ch->s->lock);
}

static void changes_add(cache_changes *ch, int added, const uint8_t key[SY_CACHE_KEY_LEN],
                        const uint8_t part[SY_CACHE_KEY_LEN])
{
    if (!ch || !listener_fn || ch->s != listener_store)
        return;
    if (ch->n == ch->cap) {
        ch->cap = ch->cap ? 2 * ch->cap : 4;
        ch->v = sy_xrealloc(ch->v, ch->cap * sizeof(*ch->v));
    }
    memcpy(ch->v[ch->n].key, key, SY_CACHE_KEY_LEN);
    memcpy(ch->v[ch->n].part, part, SY_CACHE_KEY_LEN);
    ch->v[ch->n].added = added;
    ch->n++;
}

/* The event is freed after its batch was delivered (deliver counts a failed batch
 * before it frees the events): tell the listener when the batch committed. */
static void changes_deliver(cache_changes *ch, const float *vec, uint32_t dim)
{
    if (ch->n && listener_fn && ch->s == listener_store) {
        pthread_mutex_lock(&ch->s->lock);
        int committed = ch->s->counters.failed_batches == ch->failed_batches;
        pthread_mutex_unlock(&ch->s->lock);
        for (size_t i = 0; committed && i < ch->n; i++)
            listener_fn(listener_ud, ch->v[i].added, ch->v[i].key, ch->v[i].part,
                        ch->v[i].added ? vec : NULL, ch->v[i].added ? dim : 0);
    }
    free(ch->v);
}

/* ---- codec ---------------------------------------------------------------------- */

static void put_raw(sy_buf *b, const void *p, size_t n)
{
    sy_buf_append(b, p, n);
}
static void put_str(sy_buf *b, const char *s, size_t cap)
{
    uint16_t n = (uint16_t)strnlen(s, cap - 1);
    put_raw(b, &n, 2);
    put_raw(b, s, n);
}

static void encode(sy_buf *b, const sy_store_cache_entry *e)
{
    uint8_t ver = ENTRY_VERSION;
    uint32_t alen = (uint32_t)e->answer_len;
    put_raw(b, &ver, 1);
    put_raw(b, &e->created_ms, 8);
    put_raw(b, &e->expires_ms, 8);
    put_raw(b, &e->cost_usd, 8);
    put_raw(b, &e->prompt_tokens, 8);
    put_raw(b, &e->completion_tokens, 8);
    put_raw(b, &e->prompt_version, 4);
    put_raw(b, &e->dim, 4);
    put_raw(b, e->part, SY_CACHE_KEY_LEN);
    put_raw(b, &e->rating_sum, 8);
    put_raw(b, &e->rating_n, 8);
    put_str(b, e->ns, sizeof(e->ns));
    put_str(b, e->model, sizeof(e->model));
    put_str(b, e->prompt, sizeof(e->prompt));
    put_raw(b, &alen, 4);
    put_raw(b, e->answer, e->answer_len);
    if (e->dim)
        put_raw(b, e->vec, sizeof(float) * e->dim);
}

typedef struct rd {
    const uint8_t *p;
    size_t left;
    int bad;
} rd;
static void get_raw(rd *r, void *out, size_t n)
{
    if (r->bad || r->left < n) {
        r->bad = 1;
        memset(out, 0, n);
        return;
    }
    memcpy(out, r->p, n);
    r->p += n;
    r->left -= n;
}
static void get_str(rd *r, char *out, size_t cap)
{
    uint16_t n = 0;
    get_raw(r, &n, 2);
    if (r->bad || n >= cap || r->left < n) {
        r->bad = 1;
        out[0] = '\0';
        return;
    }
    get_raw(r, out, n);
    out[n] = '\0';
}

int sy_store_cache_decode(const void *v, size_t n, sy_store_cache_entry *e)
{
    rd r = {v, n, 0};
    uint8_t ver = 0;
    uint32_t alen = 0;
    get_raw(&r, &ver, 1);
    if (ver != ENTRY_VERSION && ver != ENTRY_VERSION_1)
        return -1;
    get_raw(&r, &e->created_ms, 8);
    get_raw(&r, &e->expires_ms, 8);
    get_raw(&r, &e->cost_usd, 8);
    get_raw(&r, &e->prompt_tokens, 8);
    get_raw(&r, &e->completion_tokens, 8);
    get_raw(&r, &e->prompt_version, 4);
    get_raw(&r, &e->dim, 4);
    get_raw(&r, e->part, SY_CACHE_KEY_LEN);
    e->rating_sum = e->rating_n = 0;
    if (ver >= ENTRY_VERSION) {
        get_raw(&r, &e->rating_sum, 8);
        get_raw(&r, &e->rating_n, 8);
    }
    get_str(&r, e->ns, sizeof(e->ns));
    get_str(&r, e->model, sizeof(e->model));
    get_str(&r, e->prompt, sizeof(e->prompt));
    get_raw(&r, &alen, 4);
    if (r.bad || r.left < alen || e->dim > 65536 || r.left - alen != sizeof(float) * e->dim)
        return -1;
    e->answer = (const char *)r.p;
    e->answer_len = alen;
    e->vec = e->dim ? (const float *)(r.p + alen) : NULL;
    return 0;
}

/* ---- keys ----------------------------------------------------------------------- */

size_t sy_store_cache_entry_key(uint8_t *k, const uint8_t key[SY_CACHE_KEY_LEN])
{
    k[0] = 'e';
    memcpy(k + 1, key, SY_CACHE_KEY_LEN);
    return 1 + SY_CACHE_KEY_LEN;
}
/* 'a' ns '\0' (the namespace's age prefix); returns its length */
static size_t age_prefix(uint8_t *k, const char *ns)
{
    size_t n = strnlen(ns, SY_STORE_NAME_MAX - 1);
    k[0] = 'a';
    memcpy(k + 1, ns, n);
    k[1 + n] = '\0';
    return 2 + n;
}
static size_t age_key(uint8_t *k, const char *ns, uint64_t created_ms,
                      const uint8_t key[SY_CACHE_KEY_LEN])
{
    size_t n = age_prefix(k, ns);
    for (int i = 0; i < 8; i++)
        k[n + i] = (uint8_t)(created_ms >> (56 - 8 * i)); /* big-endian: oldest first */
    memcpy(k + n + 8, key, SY_CACHE_KEY_LEN);
    return n + 8 + SY_CACHE_KEY_LEN;
}
static size_t count_key(uint8_t *k, const char *ns)
{
    size_t n = strnlen(ns, SY_STORE_NAME_MAX - 1);
    k[0] = 'n';
    memcpy(k + 1, ns, n);
    return 1 + n;
}

static uint64_t count_get(sy_store *s, MDB_txn *txn, const char *ns)
{
    uint8_t k[MAX_KEY];
    MDB_val kv = {count_key(k, ns), k}, v;
    uint64_t n = 0;
    if (mdb_get(txn, s->dbi[DB_CACHE], &kv, &v) == 0 && v.mv_size == 8)
        memcpy(&n, v.mv_data, 8);
    return n;
}
static int count_set(sy_store *s, MDB_txn *txn, const char *ns, uint64_t n)
{
    uint8_t k[MAX_KEY];
    MDB_val kv = {count_key(k, ns), k}, v = {8, &n};
    if (n == 0) {
        int rc = mdb_del(txn, s->dbi[DB_CACHE], &kv, NULL);
        return rc == MDB_NOTFOUND ? 0 : rc;
    }
    return mdb_put(txn, s->dbi[DB_CACHE], &kv, &v, 0);
}

/* Delete the entry `key` (its record, age key and count), noting a vector's removal in
 * ch. 0 (also when absent). */
static int delete_entry(sy_store *s, MDB_txn *txn, const uint8_t key[SY_CACHE_KEY_LEN],
                        cache_changes *ch)
{
    uint8_t k[MAX_KEY];
    MDB_val kv = {sy_store_cache_entry_key(k, key), k}, v;
    if (mdb_get(txn, s->dbi[DB_CACHE], &kv, &v) != 0)
        return 0;
    sy_store_cache_entry e;
    int ok = sy_store_cache_decode(v.mv_data, v.mv_size, &e) == 0;
    int rc = mdb_del(txn, s->dbi[DB_CACHE], &kv, NULL);
    if (rc || !ok)
        return rc;
    if (e.dim)
        changes_add(ch, 0, key, e.part);
    uint8_t ak[MAX_KEY];
    MDB_val akv = {age_key(ak, e.ns, e.created_ms, key), ak};
    rc = mdb_del(txn, s->dbi[DB_CACHE], &akv, NULL);
    if (rc && rc != MDB_NOTFOUND)
        return rc;
    uint64_t n = count_get(s, txn, e.ns);
    return count_set(s, txn, e.ns, n ? n - 1 : 0);
}

/*
 * Keep namespace ns within max: evict its oldest entries beyond the bound, and drop up
 * to EXPIRED_PER_PUT expired ones at its front (store thread, inside the batch).
 */
static int trim_namespace(sy_store *s, MDB_txn *txn, const char *ns, size_t max, uint64_t now,
                          cache_changes *ch)
{
    uint8_t pre[MAX_KEY];
    size_t plen = age_prefix(pre, ns);
    for (unsigned expired_seen = 0;;) {
        uint64_t n = count_get(s, txn, ns);
        MDB_cursor *cur;
        int rc = mdb_cursor_open(txn, s->dbi[DB_CACHE], &cur);
        if (rc)
            return rc;
        MDB_val k = {plen, pre}, v;
        rc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE);
        uint8_t victim[SY_CACHE_KEY_LEN];
        int found = rc == 0 && k.mv_size == plen + 8 + SY_CACHE_KEY_LEN &&
                    memcmp(k.mv_data, pre, plen) == 0;
        if (found)
            memcpy(victim, (const uint8_t *)k.mv_data + plen + 8, SY_CACHE_KEY_LEN);
        mdb_cursor_close(cur);
        if (!found)
            return 0;
        int over = n > max;
        int expired = 0;
        if (!over && expired_seen < EXPIRED_PER_PUT) {
            uint8_t ek[MAX_KEY];
            MDB_val ekv = {sy_store_cache_entry_key(ek, victim), ek}, ev;
            sy_store_cache_entry e;
            expired = mdb_get(txn, s->dbi[DB_CACHE], &ekv, &ev) != 0 ||
                      sy_store_cache_decode(ev.mv_data, ev.mv_size, &e) != 0 || e.expires_ms <= now;
            expired_seen++;
        }
        if (!over && !expired)
            return 0;
        rc = delete_entry(s, txn, victim, ch);
        if (rc)
            return rc;
        atomic_fetch_add(over ? &n_evicted : &n_expired, 1);
    }
}

static int apply_put(sy_store *s, MDB_txn *txn, ev_cache_put *p)
{
    changes_begin(&p->ch);
    int rc = delete_entry(s, txn, p->e.key, &p->ch); /* a replaced entry leaves its age key */
    uint8_t k[MAX_KEY];
    sy_buf b = {0};
    encode(&b, &p->e);
    MDB_val kv = {sy_store_cache_entry_key(k, p->e.key), k}, v = {b.len, b.data};
    if (rc == 0)
        rc = mdb_put(txn, s->dbi[DB_CACHE], &kv, &v, 0);
    sy_buf_free(&b);
    uint8_t ak[MAX_KEY];
    MDB_val akv = {age_key(ak, p->e.ns, p->e.created_ms, p->e.key), ak}, empty = {0, ""};
    if (rc == 0)
        rc = mdb_put(txn, s->dbi[DB_CACHE], &akv, &empty, 0);
    if (rc == 0)
        rc = count_set(s, txn, p->e.ns, count_get(s, txn, p->e.ns) + 1);
    if (rc == 0 && p->e.dim)
        changes_add(&p->ch, 1, p->e.key, p->e.part);
    if (rc == 0)
        rc = trim_namespace(s, txn, p->e.ns, p->max_entries, p->e.created_ms, &p->ch);
    return rc;
}

static int matches(const ev_cache_del *d, const sy_store_cache_entry *e)
{
    return (!d->ns[0] || strcmp(d->ns, e->ns) == 0) &&
           (!d->model[0] || strcmp(d->model, e->model) == 0) &&
           (!d->prompt[0] || strcmp(d->prompt, e->prompt) == 0) &&
           (!d->prompt_version || d->prompt_version == e->prompt_version);
}

/* Delete every matching entry: one pass over the 'e' records, then the deletions. */
static int apply_del(sy_store *s, MDB_txn *txn, ev_cache_del *d)
{
    MDB_cursor *cur;
    changes_begin(&d->ch);
    int rc = mdb_cursor_open(txn, s->dbi[DB_CACHE], &cur);
    if (rc)
        return rc;
    uint8_t(*dead)[SY_CACHE_KEY_LEN] = NULL;
    size_t n = 0, cap = 0;
    uint8_t first = 'e';
    MDB_val k = {1, &first}, v;
    for (rc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE); rc == 0;
         rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
        const uint8_t *kp = k.mv_data;
        if (k.mv_size == 0 || kp[0] != 'e')
            break;
        sy_store_cache_entry e;
        if (k.mv_size != 1 + SY_CACHE_KEY_LEN ||
            sy_store_cache_decode(v.mv_data, v.mv_size, &e) != 0 || !matches(d, &e))
            continue;
        if (n == cap) {
            cap = cap ? 2 * cap : 64;
            dead = sy_xrealloc(dead, cap * SY_CACHE_KEY_LEN);
        }
        memcpy(dead[n++], kp + 1, SY_CACHE_KEY_LEN);
    }
    mdb_cursor_close(cur);
    rc = 0;
    for (size_t i = 0; rc == 0 && i < n; i++)
        rc = delete_entry(s, txn, dead[i], &d->ch);
    free(dead);
    if (d->removed)
        *d->removed = rc ? -1 : (long)n;
    return rc;
}

/* The entry a cache-arm rule names (SY_CACHE_ARM_RULE then 16 hex digits) into k (its
 * 'e' key prefix of 9 bytes); 0, or -1 when the rule is not one. */
static int rule_entry_prefix(const char *rule, uint8_t *k)
{
    size_t pre = sizeof(SY_CACHE_ARM_RULE) - 1;
    if (strncmp(rule, SY_CACHE_ARM_RULE, pre) != 0)
        return -1;
    k[0] = 'e';
    return sy_hex_decode(rule + pre, strlen(rule + pre), k + 1, 8) == 0 ? 0 : -1;
}

int sy_store_cache_rate(sy_store *s, MDB_txn *txn, const char *rule, double d_sum, double d_n)
{
    uint8_t k[MAX_KEY];
    if (rule_entry_prefix(rule, k) != 0)
        return 0;
    MDB_cursor *cur;
    int rc = mdb_cursor_open(txn, s->dbi[DB_CACHE], &cur);
    if (rc)
        return rc;
    MDB_val kv = {9, k}, v;
    rc = mdb_cursor_get(cur, &kv, &v, MDB_SET_RANGE);
    uint8_t key[SY_CACHE_KEY_LEN];
    sy_store_cache_entry e;
    int found = rc == 0 && kv.mv_size == 1 + SY_CACHE_KEY_LEN && memcmp(kv.mv_data, k, 9) == 0 &&
                sy_store_cache_decode(v.mv_data, v.mv_size, &e) == 0;
    if (found)
        memcpy(key, (const uint8_t *)kv.mv_data + 1, SY_CACHE_KEY_LEN);
    mdb_cursor_close(cur);
    if (!found)
        return 0; /* evicted, expired or replaced since: the request's rating stays */
    e.rating_sum += d_sum;
    e.rating_n += d_n;
    if (e.rating_n < 1e-9) /* a retraction back to nothing: no rounding residue */
        e.rating_sum = e.rating_n = 0;
    sy_buf b = {0};
    encode(&b, &e); /* copies the answer and vector out of the map before the put */
    MDB_val ekv = {sy_store_cache_entry_key(k, key), k}, ev = {b.len, b.data};
    rc = mdb_put(txn, s->dbi[DB_CACHE], &ekv, &ev, 0);
    sy_buf_free(&b);
    return rc;
}

int sy_store_cache_apply(sy_store *s, MDB_txn *txn, store_event *e)
{
    return e->kind == EV_CACHE_PUT ? apply_put(s, txn, (ev_cache_put *)e)
                                   : apply_del(s, txn, (ev_cache_del *)e);
}

void sy_store_cache_event_free(store_event *e)
{
    if (e->kind == EV_CACHE_PUT) {
        ev_cache_put *p = (ev_cache_put *)e;
        changes_deliver(&p->ch, p->e.vec, p->e.dim);
        free((char *)p->e.answer);
        free((float *)p->e.vec);
    } else {
        changes_deliver(&((ev_cache_del *)e)->ch, NULL, 0);
    }
    free(e);
}

void sy_store_cache_stats_get(sy_store_cache_stats *out)
{
    out->evicted = atomic_load(&n_evicted);
    out->expired = atomic_load(&n_expired);
    out->invalidated = atomic_load(&n_invalidated);
}

void sy_store_cache_count_invalidated(uint64_t n)
{
    atomic_fetch_add(&n_invalidated, n);
}
