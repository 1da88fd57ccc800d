/*
 * store.c — the LMDB environment and the store thread. See store.h for the contract.
 *
 * Lock rules: `lock` guards the event queue and the counters and is never held across
 * I/O. `map_lock` is a rwlock: read transactions of other threads hold it shared, the
 * store thread takes it exclusively only to grow the map (LMDB requires that no
 * transaction be active in the process while mdb_env_set_mapsize runs).
 */
#include "store.h"

#include "clock.h"
#include "oneshot.h"
#include "store_codec.h"
#include "store_internal.h"
#include "sy_common.h"

#include <errno.h>
#include <fcntl.h>
#include <lmdb.h>
#include <math.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static const char *const db_names[DB_COUNT] = {
    "decisions",   "outcomes", "feedback", "arm_stats", "conversations",
    "experiments", "prompts",  "keys",     "meta",      "response_cache"};

#define READER_CHECK_MS 10000

/* Create the named databases, check the schema version, create the token secret. */
static int init_dbs(sy_store *s, char *err, size_t err_len)
{
    MDB_txn *txn = NULL; /* stays NULL when mdb_txn_begin fails */
    int rc = mdb_txn_begin(s->env, NULL, 0, &txn);
    for (int i = 0; rc == 0 && i < DB_COUNT; i++)
        rc = mdb_dbi_open(txn, db_names[i], MDB_CREATE, &s->dbi[i]);
    if (rc) {
        snprintf(err, err_len, "cannot open databases: %s", mdb_strerror(rc));
        if (txn)
            mdb_txn_abort(txn);
        return -1;
    }
    MDB_val k = {6, "schema"}, v;
    if (mdb_get(txn, s->dbi[DB_META], &k, &v) == 0) {
        uint32_t ver = 0;
        if (v.mv_size == 4)
            memcpy(&ver, v.mv_data, 4);
        if (ver != SY_STORE_SCHEMA_VERSION) {
            snprintf(err, err_len, "store schema version %u, this build reads %u", ver,
                     SY_STORE_SCHEMA_VERSION);
            mdb_txn_abort(txn);
            return -1;
        }
    } else {
        uint32_t ver = SY_STORE_SCHEMA_VERSION;
        v = (MDB_val){4, &ver};
        rc = mdb_put(txn, s->dbi[DB_META], &k, &v, 0);
    }
    MDB_val sk = {15, "feedback_secret"}, sv;
    if (rc == 0 && mdb_get(txn, s->dbi[DB_META], &sk, &sv) == 0 && sv.mv_size == 32) {
        memcpy(s->secret, sv.mv_data, 32);
    } else if (rc == 0) {
        int fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);
        ssize_t got = fd >= 0 ? read(fd, s->secret, 32) : -1;
        if (fd >= 0)
            close(fd);
        if (got != 32) {
            snprintf(err, err_len, "cannot read /dev/urandom for the feedback secret");
            mdb_txn_abort(txn);
            return -1;
        }
        sv = (MDB_val){32, s->secret};
        rc = mdb_put(txn, s->dbi[DB_META], &sk, &sv, 0);
    }
    if (rc == 0)
        rc = mdb_txn_commit(txn);
    else
        mdb_txn_abort(txn);
    if (rc) {
        snprintf(err, err_len, "cannot initialise the store: %s", mdb_strerror(rc));
        return -1;
    }
    return 0;
}

/* Tell the observer about one committed event (requests, and ratings that counted). */
static void observe_event(sy_store *s, store_event *e)
{
    if (e->kind == EV_REQUEST) {
        sy_store_obs o = {.req = &((ev_request *)e)->req};
        s->observer(s->observer_ud, &o);
        return;
    }
    ev_feedback *f = (ev_feedback *)e;
    if (e->kind != EV_FEEDBACK || f->ack.status != 200 || f->ack.kept || !f->rated)
        return;
    sy_store_obs o = {.is_feedback = 1,
                      .req = f->rated,
                      .value = f->fb.value,
                      .replaced = f->ack.replaced,
                      .previous = f->ack.previous,
                      .weight = f->ack.weight,
                      .previous_weight = f->ack.previous_weight,
                      .implicit = f->ack.implicit,
                      .previous_implicit = f->ack.previous_implicit,
                      .ts_ms = f->fb.ts_ms};
    s->observer(s->observer_ud, &o);
}

/* Remember the ids of requests a failed batch dropped, so that a rating of one of them
 * answers 503 (the store failed) rather than 404 (no such request). Store thread. */
static void remember_dropped(sy_store *s, store_event *batch)
{
    for (store_event *e = batch; e; e = e->next)
        if (e->kind == EV_REQUEST) {
            memcpy(s->dropped[s->dropped_pos % SY_STORE_DROPPED_IDS], ((ev_request *)e)->req.id,
                   16);
            s->dropped_pos++;
        }
}

/*
 * Commit one batch (store thread, no lock held), then count it, feed the observer,
 * acknowledge ratings and definitions (503 when the commit failed), run queued calls in
 * their place, and free every event.
 */
static void deliver(sy_store *s, store_event *batch, size_t n)
{
    int synced = 0;
    int rc = sy_store_commit_batch(s, batch, &synced);
    if (rc)
        remember_dropped(s, batch);
    /* Counters first, so that whoever an acknowledgement wakes sees them current. */
    size_t n_feedback = 0;
    for (store_event *e = batch; e; e = e->next)
        n_feedback += (size_t)(e->kind == EV_FEEDBACK);
    pthread_mutex_lock(&s->lock);
    if (rc) {
        s->counters.failed_batches++;
        s->counters.dropped_events += n;
    } else {
        s->counters.events += n;
        s->counters.batches++;
        s->counters.feedback += n_feedback;
    }
    pthread_mutex_unlock(&s->lock);
    for (store_event *e = batch, *next; e; e = next) {
        next = e->next;
        if (e->kind == EV_CALL) {
            ((ev_call *)e)->fn(((ev_call *)e)->ud);
        } else if (rc == 0 && s->observer) {
            observe_event(s, e);
        }
        if (e->kind == EV_FEEDBACK) {
            ev_feedback *f = (ev_feedback *)e;
            if (rc)
                f->ack.status = 503;
            if (f->cb)
                f->cb(f->ud, &f->ack);
        } else if (e->kind == EV_DEF) {
            ev_def *d = (ev_def *)e;
            sy_store_ack ack = {.status = rc ? 503 : 200};
            if (d->cb)
                d->cb(d->ud, &ack);
        }
        sy_store_event_free(e);
    }
    if (rc == 0 && s->observer)
        s->observer(s->observer_ud, NULL); /* end of batch */
    if (rc)
        sy_store_log(2, "store: batch of %zu events not committed: %s", n, mdb_strerror(rc));
}

static void *store_main(void *arg)
{
    sy_store *s = arg;
    uint64_t next_reader_check = sy_mono_ms() + READER_CHECK_MS;
    int sweeping = 0; /* a conversation sweep pass has steps left */
    pthread_mutex_lock(&s->lock);
    for (;;) {
        while (!s->head && !s->stopping) {
            /* idle: wake each second (the write-behind's interval is 1 s), or at once
             * for the next step of a sweep */
            struct timespec until;
            clock_gettime(CLOCK_REALTIME, &until);
            until.tv_nsec += sweeping ? 10000000L : 0;
            until.tv_sec += sweeping ? until.tv_nsec / 1000000000L : 1;
            until.tv_nsec %= 1000000000L;
            if (!sy_store_conv_flush_due(s, sy_mono_ms()))
                pthread_cond_timedwait(&s->cond, &s->lock, &until);
            if (sweeping || sy_mono_ms() >= next_reader_check || sy_mono_ms() >= s->next_sweep_ms ||
                sy_store_conv_flush_due(s, sy_mono_ms()))
                break;
        }
        if (!s->stopping &&
            (sweeping || sy_mono_ms() >= s->next_sweep_ms || sy_mono_ms() >= next_reader_check ||
             sy_store_conv_flush_due(s, sy_mono_ms()))) {
            pthread_mutex_unlock(&s->lock);
            if (sy_mono_ms() >= next_reader_check) {
                int dead = 0;
                mdb_reader_check(s->env, &dead);
                mdb_reader_check(s->conv_env, &dead);
                next_reader_check = sy_mono_ms() + READER_CHECK_MS;
            }
            sy_store_conv_flush(s, 0);         /* when due: the write-behind */
            sweeping = sy_store_sweep_step(s); /* bounded: one step per iteration */
            pthread_mutex_lock(&s->lock);
        }
        if (!s->head && s->stopping)
            break;
        if (!s->head)
            continue;
        /* Let a batch form: wait up to batch_ms unless it is already full or a rating
         * is waiting for its acknowledgement (that latency is a client's). */
        if (s->queued < s->opts.batch_max && !s->stopping && s->opts.batch_ms &&
            !s->ratings_queued) {
            struct timespec until;
            clock_gettime(CLOCK_REALTIME, &until);
            until.tv_nsec += (long)s->opts.batch_ms * 1000000L;
            until.tv_sec += until.tv_nsec / 1000000000L;
            until.tv_nsec %= 1000000000L;
            pthread_cond_timedwait(&s->cond, &s->lock, &until);
        }
        store_event *batch = s->head, *last = s->head;
        size_t n = 1;
        s->ratings_queued -= (size_t)sy_store_awaits_ack(last);
        while (last->next && n < s->opts.batch_max) {
            last = last->next;
            n++;
            s->ratings_queued -= (size_t)sy_store_awaits_ack(last);
        }
        s->head = last->next;
        if (!s->head)
            s->tail = NULL;
        last->next = NULL;
        s->queued -= n;
        pthread_mutex_unlock(&s->lock);

        deliver(s, batch, n);
        pthread_mutex_lock(&s->lock);
    }
    pthread_mutex_unlock(&s->lock);
    return NULL;
}

/*
 * Before LMDB maps the file: check it in a child process (store_check.c). A damaged
 * store is refused with what is wrong and what to do; damaged records are logged and
 * counted (they are skipped by replay and export). No store yet: nothing to check.
 */
static int check_before_open(const char *dir, uint64_t *lost, char *err, size_t err_len)
{
    sy_store_report r;
    int rc = sy_store_check_isolated(dir, &r);
    if (rc < 0) {
        snprintf(err, err_len,
                 "the store %s/data.mdb is damaged: %s. Nothing was changed. Restore the latest "
                 "backup (docs/operations.md, \"Restore\") or move %s aside to start with an "
                 "empty store; `switchyard store verify --data-dir %s` describes the damage",
                 dir, r.problem, dir, dir);
        sy_store_log(2, "store: %s", err); /* also in the log file, when there is one */
        return -1;
    }
    if (rc == 1)
        return 0;
    *lost = sy_store_report_lost(&r);
    if (*lost)
        sy_store_log(1,
                     "store: %s/data.mdb has %llu damaged records, skipped: %llu requests, %llu "
                     "ratings, %llu other (%llu requests and %llu ratings intact); run "
                     "`switchyard store verify --data-dir %s`, and restore a backup to recover "
                     "them",
                     dir, (unsigned long long)*lost, (unsigned long long)r.lost_requests,
                     (unsigned long long)r.lost_ratings, (unsigned long long)r.lost_other,
                     (unsigned long long)r.requests, (unsigned long long)r.ratings, dir);
    sy_store_log(0, "store: %s/data.mdb checked in %llu ms (%llu pages, %llu requests)", dir,
                 (unsigned long long)r.elapsed_ms, (unsigned long long)r.pages,
                 (unsigned long long)r.requests);
    return 0;
}

sy_store *sy_store_open(const sy_store_opts *opts, char *err, size_t err_len)
{
    if (mkdir(opts->dir, 0700) != 0 && errno != EEXIST) {
        snprintf(err, err_len, "cannot create data_dir %s: %s", opts->dir, strerror(errno));
        return NULL;
    }
    uint64_t lost = 0;
    if (check_before_open(opts->dir, &lost, err, err_len) != 0)
        return NULL;
    sy_store *s = sy_xcalloc(1, sizeof(*s));
    s->counters.damaged_records = lost;
    s->opts = *opts;
    if (!s->opts.batch_max)
        s->opts.batch_max = 256;
    if (!s->opts.conv_ttl_ms)
        s->opts.conv_ttl_ms = 24ull * 3600 * 1000;
    if (!s->opts.conv_max)
        s->opts.conv_max = 1000000;
    if (s->opts.max_map_size < s->opts.map_size)
        s->opts.max_map_size = s->opts.map_size;
    s->map_size = opts->map_size;
    int rc = mdb_env_create(&s->env);
    if (rc == 0)
        rc = mdb_env_set_maxdbs(s->env, DB_COUNT);
    if (rc == 0)
        rc = mdb_env_set_mapsize(s->env, s->map_size);
    if (rc == 0)
        rc = mdb_env_open(s->env, opts->dir, MDB_NOMETASYNC | MDB_NOTLS, 0600);
    if (rc) {
        snprintf(err, err_len, "cannot open the LMDB store in %s: %s", opts->dir, mdb_strerror(rc));
        mdb_env_close(s->env);
        free(s);
        return NULL;
    }
    /* A map larger than asked for (an earlier run grew it) is kept. */
    MDB_envinfo info;
    mdb_env_info(s->env, &info);
    if (info.me_mapsize > s->map_size)
        s->map_size = info.me_mapsize;
    int dead = 0;
    mdb_reader_check(s->env, &dead); /* slots left by a crashed process */
    if (init_dbs(s, err, err_len) != 0) {
        mdb_env_close(s->env);
        free(s);
        return NULL;
    }
    s->counters.map_size = s->map_size;
    if (!s->opts.sweep_every_ms)
        s->opts.sweep_every_ms = 10000;
    s->next_sweep_ms = sy_mono_ms() + s->opts.sweep_every_ms;
    if (sy_store_conv_open(s, err, err_len) != 0) {
        mdb_env_close(s->env);
        free(s);
        return NULL;
    }
    s->conv_cache = sy_xcalloc(CONV_CACHE, sizeof(conv_slot));
    s->dropped = sy_xcalloc(SY_STORE_DROPPED_IDS, 16);
    for (size_t i = 0; i < CONV_CACHE; i++)
        pthread_mutex_init(&s->conv_cache[i].lock, NULL);
    pthread_mutex_init(&s->lock, NULL);
    pthread_cond_init(&s->cond, NULL);
    pthread_rwlock_init(&s->map_lock, NULL);
    if (pthread_create(&s->thread, NULL, store_main, s) != 0) {
        snprintf(err, err_len, "cannot start the store thread");
        sy_store_conv_close(s);
        mdb_env_close(s->env);
        free(s);
        return NULL;
    }
    pthread_setname_np(s->thread, "sy-store"); /* for top, perf and bench/syscalls.py */
    return s;
}

void sy_store_close(sy_store *s)
{
    if (!s)
        return;
    pthread_mutex_lock(&s->lock);
    s->stopping = 1;
    pthread_cond_signal(&s->cond);
    pthread_mutex_unlock(&s->lock);
    pthread_join(s->thread, NULL);
    sy_store_conv_close(s); /* writes what is pending */
    mdb_env_sync(s->env, 1);
    mdb_env_close(s->env);
    pthread_mutex_destroy(&s->lock);
    pthread_cond_destroy(&s->cond);
    pthread_rwlock_destroy(&s->map_lock);
    for (size_t i = 0; i < CONV_CACHE; i++)
        pthread_mutex_destroy(&s->conv_cache[i].lock);
    free(s->conv_cache);
    free(s->dropped);
    free(s->sweep_dead);
    free(s);
}

void sy_store_enqueue(sy_store *s, store_event *e)
{
    pthread_mutex_lock(&s->lock);
    if (s->tail)
        s->tail->next = e;
    else
        s->head = e;
    s->tail = e;
    s->queued++;
    s->ratings_queued += (size_t)sy_store_awaits_ack(e);
    if (s->queued == 1 || s->queued >= s->opts.batch_max || sy_store_awaits_ack(e))
        pthread_cond_signal(&s->cond);
    pthread_mutex_unlock(&s->lock);
}

void sy_store_put_request(sy_store *s, const sy_store_request *r)
{
    ev_request *e = sy_xmalloc(sizeof(*e)); /* 3.4 KiB, every field set below */
    e->h.next = NULL;
    e->h.kind = EV_REQUEST;
    e->req = *r;
    e->xs = NULL;
    if (r->dim && r->x) {
        e->xs = sy_xmalloc(sizeof(double) * r->dim);
        memcpy(e->xs, r->x, sizeof(double) * r->dim);
        e->req.x = e->xs;
    } else {
        e->req.dim = 0;
        e->req.x = NULL;
    }
    sy_store_enqueue(s, &e->h);
}

void sy_store_put_feedback(sy_store *s, const sy_store_feedback *f, sy_store_ack_cb cb, void *ud)
{
    ev_feedback *e = sy_xcalloc(1, sizeof(*e));
    e->h.kind = EV_FEEDBACK;
    e->fb = *f;
    e->fb.comment = f->comment ? strndup(f->comment, 4096) : NULL;
    e->fb.tags = f->tags ? strndup(f->tags, 4096) : NULL;
    if (!e->fb.ts_ms)
        e->fb.ts_ms = sy_wall_ms();
    e->cb = cb;
    e->ud = ud;
    sy_store_enqueue(s, &e->h);
}

void sy_store_set_observer(sy_store *s, sy_store_observer fn, void *ud)
{
    s->observer = fn;
    s->observer_ud = ud;
}

void sy_store_call(sy_store *s, void (*fn)(void *ud), void *ud)
{
    ev_call *e = sy_xcalloc(1, sizeof(*e));
    e->h.kind = EV_CALL;
    e->fn = fn;
    e->ud = ud;
    sy_store_enqueue(s, &e->h);
}

long sy_store_replay(sy_store *s, sy_store_observer fn, void *ud)
{
    MDB_txn *txn;
    MDB_cursor *cur;
    pthread_rwlock_rdlock(&s->map_lock);
    if (mdb_txn_begin(s->env, NULL, MDB_RDONLY, &txn) != 0) {
        pthread_rwlock_unlock(&s->map_lock);
        return -1;
    }
    long n = 0;
    double *x = NULL;
    if (mdb_cursor_open(txn, s->dbi[DB_DECISIONS], &cur) == 0) {
        MDB_val k, v, ov, fv;
        for (int rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST); rc == 0;
             rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
            sy_store_request r;
            const uint8_t *xb;
            if (k.mv_size != 16 || sy_store_decode_decision(v.mv_data, v.mv_size, &r) != 0 ||
                mdb_get(txn, s->dbi[DB_OUTCOMES], &k, &ov) != 0 ||
                sy_store_decode_outcome(ov.mv_data, ov.mv_size, &r) != 0)
                continue;
            memcpy(r.id, k.mv_data, 16);
            int dim = sy_store_decision_x(v.mv_data, v.mv_size, &xb);
            x = sy_xrealloc(x, sizeof(double) * (size_t)(dim > 0 ? dim : 1));
            if (dim > 0)
                memcpy(x, xb, sizeof(double) * (size_t)dim);
            r.x = x;
            r.dim = dim > 0 ? (uint32_t)dim : 0;
            sy_store_obs o = {.req = &r};
            fn(ud, &o);
            sy_store_feedback_rec f;
            if (mdb_get(txn, s->dbi[DB_FEEDBACK], &k, &fv) == 0 &&
                sy_store_decode_feedback(fv.mv_data, fv.mv_size, &f) == 0) {
                sy_store_obs fo = {.is_feedback = 1,
                                   .req = &r,
                                   .value = f.value,
                                   .weight = f.weight > 0 ? f.weight : 1,
                                   .implicit = f.implicit,
                                   .ts_ms = f.ts_ms};
                fn(ud, &fo);
            }
            n++;
        }
        mdb_cursor_close(cur);
    }
    free(x);
    mdb_txn_abort(txn);
    pthread_rwlock_unlock(&s->map_lock);
    fn(ud, NULL);
    return n;
}

static void sync_point_reached(void *ud)
{
    sy_oneshot_signal(ud, 0);
}

void sy_store_sync_point(sy_store *s)
{
    sy_oneshot w = SY_ONESHOT_INIT;
    sy_store_call(s, sync_point_reached, &w);
    sy_oneshot_wait(&w);
}

static void def_committed(void *ud, const sy_store_ack *ack)
{
    sy_oneshot_signal(ud, ack->status);
}

static int def_dbi(sy_store_def_kind kind)
{
    return kind == SY_STORE_DEF_PROMPTS ? DB_PROMPTS : DB_EXPERIMENTS;
}

int sy_store_put_def(sy_store *s, sy_store_def_kind kind, const char *key, const char *json,
                     size_t len)
{
    sy_oneshot w = SY_ONESHOT_INIT;
    ev_def *e = sy_xcalloc(1, sizeof(*e));
    e->h.kind = EV_DEF;
    e->db = def_dbi(kind);
    e->key = sy_xstrdup(key);
    sy_buf_append(&e->val, json, len);
    e->cb = def_committed;
    e->ud = &w;
    sy_store_enqueue(s, &e->h);
    return sy_oneshot_wait(&w) == 200 ? 0 : SY_ERR_IO;
}

int sy_store_defs_each(sy_store *s, sy_store_def_kind kind,
                       void (*fn)(void *ud, const char *key, const char *json, size_t len),
                       void *ud)
{
    MDB_txn *txn = NULL;
    MDB_cursor *cur;
    pthread_rwlock_rdlock(&s->map_lock);
    int rc = mdb_txn_begin(s->env, NULL, MDB_RDONLY, &txn);
    if (rc == 0 && (rc = mdb_cursor_open(txn, s->dbi[def_dbi(kind)], &cur)) == 0) {
        MDB_val k, v;
        for (int g = mdb_cursor_get(cur, &k, &v, MDB_FIRST); g == 0;
             g = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
            char *key = sy_xstrndup(k.mv_data, k.mv_size);
            char *json = sy_xstrndup(v.mv_data, v.mv_size);
            fn(ud, key, json, v.mv_size);
            free(key);
            free(json);
        }
        mdb_cursor_close(cur);
    }
    if (txn)
        mdb_txn_abort(txn);
    pthread_rwlock_unlock(&s->map_lock);
    return rc ? SY_ERR_IO : 0;
}

const uint8_t *sy_store_secret(const sy_store *s)
{
    return s->secret;
}

void sy_store_counters_get(sy_store *s, sy_store_counters *out)
{
    pthread_mutex_lock(&s->lock);
    *out = s->counters;
    pthread_mutex_unlock(&s->lock);
}

int sy_store_arm_stats_get(sy_store *s, const char *route, const char *model,
                           sy_store_arm_stats *out)
{
    uint8_t key[SY_ARM_KEY_LEN];
    sy_store_arm_key(route, model, key);
    pthread_rwlock_rdlock(&s->map_lock);
    MDB_txn *txn;
    int rc = mdb_txn_begin(s->env, NULL, MDB_RDONLY, &txn);
    if (rc == 0) {
        MDB_val k = {sizeof(key), key}, v;
        rc = mdb_get(txn, s->dbi[DB_ARM_STATS], &k, &v);
        if (rc == 0)
            rc = sy_store_decode_arm_stats(v.mv_data, v.mv_size, out);
        mdb_txn_abort(txn);
    }
    pthread_rwlock_unlock(&s->map_lock);
    return rc == 0 ? 0 : -1;
}
