/*
 * store_apply.c — what one batch writes (store thread only): requests and their arm
 * statistics, ratings (checked against their decision, re-ratings corrected) and
 * definitions, in one LMDB write transaction per batch. Conversation states are not
 * written here: store_conv.c writes them behind, into their own environment.
 */
#include "store_codec.h"
#include "store_internal.h"

#include <lmdb.h>
#include <stdlib.h>
#include <string.h>

/* Add one request's outcome to its arm's statistics. */
static int add_request_stats(sy_store *s, MDB_txn *txn, const sy_store_request *r)
{
    uint8_t key[SY_ARM_KEY_LEN];
    sy_store_arm_key(r->route, r->model, key);
    MDB_val k = {sizeof(key), key}, v;
    sy_store_arm_stats a = {0};
    if (mdb_get(txn, s->dbi[DB_ARM_STATS], &k, &v) == 0)
        sy_store_decode_arm_stats(v.mv_data, v.mv_size, &a);
    a.requests += 1;
    a.errors += r->status >= 400 ? 1 : 0;
    a.latency_ms_sum += r->latency_ms;
    a.latency_ms_sq_sum += r->latency_ms * r->latency_ms;
    a.cost_usd_sum += r->cost_usd;
    a.cost_usd_sq_sum += r->cost_usd * r->cost_usd;
    sy_buf b = {0};
    sy_store_encode_arm_stats(&b, &a);
    v = (MDB_val){b.len, b.data};
    int rc = mdb_put(txn, s->dbi[DB_ARM_STATS], &k, &v, 0);
    sy_buf_free(&b);
    return rc;
}

/* A decision and its outcome, and the arm's statistics. */
static int apply_request(sy_store *s, MDB_txn *txn, ev_request *e)
{
    MDB_val k = {16, e->req.id}, v;
    sy_buf b = {0};
    sy_store_encode_decision(&b, &e->req);
    v = (MDB_val){b.len, b.data};
    int rc = mdb_put(txn, s->dbi[DB_DECISIONS], &k, &v, 0);
    sy_buf_reset(&b);
    if (rc == 0) {
        sy_store_encode_outcome(&b, &e->req);
        v = (MDB_val){b.len, b.data};
        rc = mdb_put(txn, s->dbi[DB_OUTCOMES], &k, &v, 0);
    }
    sy_buf_free(&b);
    if (rc == 0 && e->req.model[0])
        rc = add_request_stats(s, txn, &e->req);
    return rc;
}

static int is_zero(const uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (p[i])
            return 0;
    return 1;
}

/*
 * Check and store one rating. A verdict other than 200 is not an LMDB error (returns
 * 0); a re-rating retracts the previous value from the arm's statistics first.
 */
static int apply_feedback(sy_store *s, MDB_txn *txn, ev_feedback *e)
{
    sy_store_ack *ack = &e->ack;
    memset(ack, 0, sizeof(*ack));
    e->down_conv = 0;
    MDB_val k = {16, e->fb.id}, v;
    sy_store_request d;
    if (mdb_get(txn, s->dbi[DB_DECISIONS], &k, &v) != 0 ||
        sy_store_decode_decision(v.mv_data, v.mv_size, &d) != 0 ||
        (!e->fb.by_token && strcmp(d.key_name, e->fb.key_name) != 0)) {
        /* a request the store failed to write: the store's fault, not the client's */
        ack->status = sy_store_was_dropped(s, e->fb.id) ? 503 : 404;
        return 0;
    }
    if (s->opts.feedback_window_ms && e->fb.ts_ms > d.ts_ms + s->opts.feedback_window_ms) {
        ack->status = 410;
        return 0;
    }
    snprintf(ack->route, sizeof(ack->route), "%s", d.route);
    snprintf(ack->model, sizeof(ack->model), "%s", d.model);
    if (s->observer) { /* keep the rated decision, context included, for the observer */
        const uint8_t *x;
        int dim = sy_store_decision_x(v.mv_data, v.mv_size, &x);
        free(e->xs);
        e->xs = dim > 0 ? sy_xmalloc(sizeof(double) * (size_t)dim) : NULL;
        if (dim > 0)
            memcpy(e->xs, x, sizeof(double) * (size_t)dim);
        if (!e->rated)
            e->rated = sy_xmalloc(sizeof(*e->rated));
        *e->rated = d;
        memcpy(e->rated->id, e->fb.id, 16); /* the record's key, not in its value */
        e->rated->x = e->xs;
        e->rated->dim = dim > 0 ? (uint32_t)dim : 0;
    }
    sy_store_feedback_rec old;
    double weight = e->fb.weight > 0 ? e->fb.weight : 1;
    ack->weight = weight;
    ack->implicit = e->fb.implicit;
    if (mdb_get(txn, s->dbi[DB_FEEDBACK], &k, &v) == 0 &&
        sy_store_decode_feedback(v.mv_data, v.mv_size, &old) == 0) {
        if (e->fb.implicit && !old.implicit) {
            ack->status = 200; /* a signal never overrides what the user said */
            ack->kept = 1;
            return 0;
        }
        ack->replaced = 1;
        ack->previous_implicit = old.implicit;
        ack->previous = old.value;
        ack->previous_weight = old.weight > 0 ? old.weight : 1;
    }
    sy_buf b = {0};
    sy_store_encode_feedback(&b, &e->fb);
    v = (MDB_val){b.len, b.data};
    int rc = mdb_put(txn, s->dbi[DB_FEEDBACK], &k, &v, 0);
    sy_buf_free(&b);
    if (rc)
        return rc;
    uint8_t key[SY_ARM_KEY_LEN];
    sy_store_arm_key(d.route, d.model, key);
    MDB_val ak = {sizeof(key), key}, av;
    sy_store_arm_stats a = {0};
    if (mdb_get(txn, s->dbi[DB_ARM_STATS], &ak, &av) == 0)
        sy_store_decode_arm_stats(av.mv_data, av.mv_size, &a);
    if (ack->replaced) { /* correct, do not double count */
        a.ratings -= ack->previous_weight;
        a.rating_sum -= ack->previous_weight * ack->previous;
        a.rating_sq_sum -= ack->previous_weight * ack->previous * ack->previous;
    }
    a.ratings += weight;
    a.rating_sum += weight * e->fb.value;
    a.rating_sq_sum += weight * e->fb.value * e->fb.value;
    sy_store_encode_arm_stats(&b, &a);
    av = (MDB_val){b.len, b.data};
    rc = mdb_put(txn, s->dbi[DB_ARM_STATS], &ak, &av, 0);
    sy_buf_free(&b);
    if (rc == 0) /* a cache arm's answer (its rule names the entry) keeps its ratings */
        rc = sy_store_cache_rate(s, txn, d.rule,
                                 weight * e->fb.value -
                                     (ack->replaced ? ack->previous_weight * ack->previous : 0),
                                 weight - (ack->replaced ? ack->previous_weight : 0));
    ack->status = 200;
    /* counted in the conversation's state once the rating is committed */
    e->down_conv = !e->fb.implicit && e->fb.value < 0.5 && !is_zero(d.conv, 16);
    if (e->down_conv)
        memcpy(e->conv, d.conv, 16);
    return rc;
}

/* Double the map (bounded by max_map_size). Returns 0, or -1 when at the bound. */
static int grow_map(sy_store *s)
{
    if (s->map_size >= s->opts.max_map_size)
        return -1;
    size_t next = s->map_size * 2;
    if (next > s->opts.max_map_size)
        next = s->opts.max_map_size;
    pthread_rwlock_wrlock(&s->map_lock);
    int rc = mdb_env_set_mapsize(s->env, next);
    pthread_rwlock_unlock(&s->map_lock);
    if (rc)
        return -1;
    s->map_size = next;
    pthread_mutex_lock(&s->lock);
    s->counters.map_grows++;
    s->counters.map_size = next;
    pthread_mutex_unlock(&s->lock);
    return 0;
}

/* Another process sharing the environment grew it past our map: adopt its size. */
static int adopt_map_size(sy_store *s)
{
    MDB_envinfo info;
    pthread_rwlock_wrlock(&s->map_lock);
    int rc = mdb_env_set_mapsize(s->env, 0);
    if (rc == 0)
        rc = mdb_env_info(s->env, &info);
    pthread_rwlock_unlock(&s->map_lock);
    if (rc)
        return -1;
    s->map_size = info.me_mapsize;
    if (s->opts.max_map_size < s->map_size)
        s->opts.max_map_size = s->map_size;
    pthread_mutex_lock(&s->lock);
    s->counters.map_size = s->map_size;
    pthread_mutex_unlock(&s->lock);
    return 0;
}

/* One event's writes inside the batch's transaction. */
static int apply_event(sy_store *s, MDB_txn *txn, store_event *e, int *synced_acks)
{
    switch (e->kind) {
    case EV_REQUEST:
        return apply_request(s, txn, (ev_request *)e);
    case EV_FEEDBACK:
        *synced_acks |= sy_store_awaits_ack(e); /* a client waits: on disk first */
        return apply_feedback(s, txn, (ev_feedback *)e);
    case EV_DEF: { /* acknowledged to an admin: synced like a rating */
        ev_def *d = (ev_def *)e;
        MDB_val k = {strlen(d->key), d->key}, v = {d->val.len, d->val.data};
        *synced_acks = 1;
        return mdb_put(txn, s->dbi[d->db], &k, &v, 0);
    }
    case EV_CALL:
        break;
    case EV_CACHE_PUT:
    case EV_CACHE_DEL:
        return sy_store_cache_apply(s, txn, e);
    }
    return 0;
}

int sy_store_was_dropped(const sy_store *s, const uint8_t id[16])
{
    uint64_t n = s->dropped_pos < SY_STORE_DROPPED_IDS ? s->dropped_pos : SY_STORE_DROPPED_IDS;
    for (uint64_t i = 0; i < n; i++)
        if (memcmp(s->dropped[i], id, 16) == 0)
            return 1;
    return 0;
}

int sy_store_commit_batch(sy_store *s, store_event *batch, int *synced_acks)
{
    for (;;) {
        MDB_txn *txn = NULL;
        int rc = mdb_txn_begin(s->env, NULL, 0, &txn);
        *synced_acks = 0;
        for (store_event *e = batch; rc == 0 && e; e = e->next)
            rc = apply_event(s, txn, e, synced_acks);
        if (rc == 0)
            rc = mdb_txn_commit(txn); /* frees txn, also on failure */
        else if (txn)
            mdb_txn_abort(txn); /* never a pointer mdb_txn_begin did not set */
        if (rc == MDB_MAP_FULL && grow_map(s) == 0)
            continue;
        if (rc == MDB_MAP_RESIZED && adopt_map_size(s) == 0)
            continue;
        if (rc == 0 && *synced_acks)
            rc = mdb_env_sync(s->env, 1); /* an acknowledged rating is on disk */
        for (store_event *e = batch; rc == 0 && e; e = e->next)
            if (e->kind == EV_FEEDBACK && ((ev_feedback *)e)->down_conv)
                sy_store_conv_thumbs_down(s, ((ev_feedback *)e)->conv);
        return rc;
    }
}

void sy_store_event_free(store_event *e)
{
    switch (e->kind) {
    case EV_REQUEST:
        free(((ev_request *)e)->xs);
        break;
    case EV_FEEDBACK: {
        ev_feedback *f = (ev_feedback *)e;
        free(f->xs);
        free(f->rated);
        free((char *)f->fb.comment);
        free((char *)f->fb.tags);
        break;
    }
    case EV_DEF:
        free(((ev_def *)e)->key);
        sy_buf_free(&((ev_def *)e)->val);
        break;
    case EV_CACHE_PUT:
    case EV_CACHE_DEL:
        sy_store_cache_event_free(e);
        return;
    case EV_CALL:
        break;
    }
    free(e);
}
