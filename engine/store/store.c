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
#include "sy_common.h"

#include <errno.h>
#include <fcntl.h>
#include <lmdb.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

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
    DB_COUNT
};
static const char *const db_names[DB_COUNT] = {"decisions", "outcomes",      "feedback",
                                               "arm_stats", "conversations", "experiments",
                                               "prompts",   "keys",          "meta"};

#define READER_CHECK_MS 10000
#define CONV_CACHE      4096 /* recent conversation states, read before LMDB */

/* The latest state this process wrote for a conversation, so that the next turn sees it
 * even before the store thread has committed it. Direct-mapped by id; one mutex each. */
typedef struct conv_slot {
    pthread_mutex_t lock;
    int valid;
    uint8_t id[16];
    sy_conv_state st;
} conv_slot;

typedef struct store_event {
    struct store_event *next;
    int is_feedback;
    void (*call)(void *ud); /* a sy_store_call() event (no record) */
    int is_conv;            /* a conversation state write */
    uint8_t conv_id[16];
    sy_conv_state conv;
    sy_store_request req; /* x copied into xs */
    double *xs;
    sy_store_feedback fb; /* comment/tags copied (owned) */
    sy_store_ack_cb cb;
    void *ud;
    sy_store_ack ack;
    int def_db;     /* a definition write: DB_PROMPTS or DB_EXPERIMENTS, else 0 */
    char *def_key;  /* owned */
    sy_buf def_val; /* owned */
} store_event;

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
    size_t ratings_queued; /* feedback events in the queue (they skip the batch wait) */
    int stopping;
    sy_store_counters counters;
    sy_store_observer observer;
    void *observer_ud;
    conv_slot *conv_cache; /* CONV_CACHE slots */
};

static conv_slot *conv_slot_for(sy_store *s, const uint8_t id[16])
{
    uint32_t h;
    memcpy(&h, id, sizeof(h)); /* ids are hashes already */
    return &s->conv_cache[h % CONV_CACHE];
}

/* Replace the cached state of id (writers: workers and the store thread). */
static void conv_cache_put(sy_store *s, const uint8_t id[16], const sy_conv_state *st)
{
    conv_slot *c = conv_slot_for(s, id);
    pthread_mutex_lock(&c->lock);
    c->valid = 1;
    memcpy(c->id, id, 16);
    c->st = *st;
    pthread_mutex_unlock(&c->lock);
}

/* Create the named databases, check the schema version, create the token secret. */
static int init_dbs(sy_store *s, char *err, size_t err_len)
{
    MDB_txn *txn;
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

static int apply_request(sy_store *s, MDB_txn *txn, store_event *e)
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

/* An explicit thumbs-down counts in its conversation's state (escalation rules read it). */
static int conv_thumbs_down(sy_store *s, MDB_txn *txn, const uint8_t conv[16], uint64_t now_ms)
{
    MDB_val k = {16, (void *)conv}, v;
    sy_conv_state c;
    if (mdb_get(txn, s->dbi[DB_CONVERSATIONS], &k, &v) != 0 ||
        sy_store_decode_conv(v.mv_data, v.mv_size, &c) != 0)
        return 0; /* expired or never stored */
    conv_slot *slot = conv_slot_for(s, conv);
    pthread_mutex_lock(&slot->lock);
    if (slot->valid && memcmp(slot->id, conv, 16) == 0 && slot->st.turn >= c.turn)
        c = slot->st; /* a later turn is cached but not yet committed */
    pthread_mutex_unlock(&slot->lock);
    sy_conv_thumbs_down(&c);
    conv_cache_put(s, conv, &c);
    sy_buf b = {0};
    sy_store_encode_conv(&b, &c);
    v = (MDB_val){b.len, b.data};
    int rc = mdb_put(txn, s->dbi[DB_CONVERSATIONS], &k, &v, 0);
    sy_buf_free(&b);
    return rc;
}

/* Store a conversation's state; a new one beyond conv_max is refused (counted). */
static int apply_conv(sy_store *s, MDB_txn *txn, store_event *e)
{
    MDB_val k = {16, e->conv_id}, v;
    sy_conv_state cur;
    if (mdb_get(txn, s->dbi[DB_CONVERSATIONS], &k, &v) == 0 &&
        sy_store_decode_conv(v.mv_data, v.mv_size, &cur) == 0) {
        /* a thumbs-down stored since the worker read the state wins */
        if (cur.thumbs_down > e->conv.thumbs_down) {
            e->conv.thumbs_down = cur.thumbs_down;
            e->conv.good_turns = 0;
        }
    } else {
        MDB_stat st;
        if (mdb_stat(txn, s->dbi[DB_CONVERSATIONS], &st) == 0 &&
            st.ms_entries >= s->opts.conv_max) {
            pthread_mutex_lock(&s->lock);
            s->counters.conv_refused++;
            pthread_mutex_unlock(&s->lock);
            return 0;
        }
    }
    sy_buf b = {0};
    sy_store_encode_conv(&b, &e->conv);
    v = (MDB_val){b.len, b.data};
    int rc = mdb_put(txn, s->dbi[DB_CONVERSATIONS], &k, &v, 0);
    sy_buf_free(&b);
    return rc;
}

/* Delete conversations idle for longer than the TTL (store thread, every few seconds). */
static void sweep_conversations(sy_store *s)
{
    MDB_txn *txn;
    MDB_cursor *cur;
    if (mdb_txn_begin(s->env, NULL, 0, &txn) != 0)
        return;
    uint64_t now = sy_wall_ms(), swept = 0;
    if (mdb_cursor_open(txn, s->dbi[DB_CONVERSATIONS], &cur) == 0) {
        MDB_val k, v;
        for (int rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST); rc == 0;
             rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
            sy_conv_state c;
            if (sy_store_decode_conv(v.mv_data, v.mv_size, &c) != 0 ||
                c.last_ts_ms + s->opts.conv_ttl_ms < now) {
                mdb_cursor_del(cur, 0);
                swept++;
            }
        }
        mdb_cursor_close(cur);
    }
    if (mdb_txn_commit(txn) == 0 && swept) {
        pthread_mutex_lock(&s->lock);
        s->counters.conv_swept += swept;
        pthread_mutex_unlock(&s->lock);
    }
}

/*
 * Check and store one rating. A verdict other than 200 is not an LMDB error (returns
 * 0); a re-rating retracts the previous value from the arm's statistics first.
 */
static int apply_feedback(sy_store *s, MDB_txn *txn, store_event *e)
{
    sy_store_ack *ack = &e->ack;
    memset(ack, 0, sizeof(*ack));
    MDB_val k = {16, e->fb.id}, v;
    sy_store_request d;
    if (mdb_get(txn, s->dbi[DB_DECISIONS], &k, &v) != 0 ||
        sy_store_decode_decision(v.mv_data, v.mv_size, &d) != 0 ||
        (!e->fb.by_token && strcmp(d.key_name, e->fb.key_name) != 0)) {
        ack->status = 404;
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
        e->req = d;
        e->req.x = e->xs;
        e->req.dim = dim > 0 ? (uint32_t)dim : 0;
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
    ack->status = 200;
    if (rc == 0 && !e->fb.implicit && e->fb.value < 0.5 && !is_zero(d.conv, 16))
        rc = conv_thumbs_down(s, txn, d.conv, e->fb.ts_ms);
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

/* One transaction for the batch; MDB_MAP_FULL grows the map and retries. */
static int commit_batch(sy_store *s, store_event *batch, int *has_feedback)
{
    for (;;) {
        MDB_txn *txn;
        int rc = mdb_txn_begin(s->env, NULL, 0, &txn);
        *has_feedback = 0;
        for (store_event *e = batch; rc == 0 && e; e = e->next) {
            if (e->call)
                continue;
            if (e->is_conv) {
                rc = apply_conv(s, txn, e);
                continue;
            }
            if (e->def_db) { /* acknowledged to an admin: synced like a rating */
                MDB_val k = {strlen(e->def_key), e->def_key}, v = {e->def_val.len, e->def_val.data};
                rc = mdb_put(txn, s->dbi[e->def_db], &k, &v, 0);
                *has_feedback = 1;
                continue;
            }
            if (e->is_feedback) {
                *has_feedback = 1;
                rc = apply_feedback(s, txn, e);
            } else {
                rc = apply_request(s, txn, e);
            }
        }
        if (rc == 0)
            rc = mdb_txn_commit(txn);
        else if (txn)
            mdb_txn_abort(txn);
        if (rc == MDB_MAP_FULL && grow_map(s) == 0)
            continue;
        if (rc == 0 && *has_feedback)
            rc = mdb_env_sync(s->env, 1); /* an acknowledged rating is on disk */
        return rc;
    }
}

static void free_event(store_event *e)
{
    free(e->def_key);
    sy_buf_free(&e->def_val);
    free(e->xs);
    free((char *)e->fb.comment);
    free((char *)e->fb.tags);
    free(e);
}

static void *store_main(void *arg)
{
    sy_store *s = arg;
    uint64_t next_reader_check = sy_mono_ms() + READER_CHECK_MS;
    pthread_mutex_lock(&s->lock);
    for (;;) {
        while (!s->head && !s->stopping) {
            struct timespec until;
            clock_gettime(CLOCK_REALTIME, &until);
            until.tv_sec += 1;
            pthread_cond_timedwait(&s->cond, &s->lock, &until);
            if (sy_mono_ms() >= next_reader_check)
                break;
        }
        if (sy_mono_ms() >= next_reader_check) {
            pthread_mutex_unlock(&s->lock);
            int dead = 0;
            mdb_reader_check(s->env, &dead);
            sweep_conversations(s);
            next_reader_check = sy_mono_ms() + READER_CHECK_MS;
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
        s->ratings_queued -= (size_t)last->is_feedback;
        while (last->next && n < s->opts.batch_max) {
            last = last->next;
            n++;
            s->ratings_queued -= (size_t)last->is_feedback;
        }
        s->head = last->next;
        if (!s->head)
            s->tail = NULL;
        last->next = NULL;
        s->queued -= n;
        pthread_mutex_unlock(&s->lock);

        int has_feedback = 0;
        int rc = commit_batch(s, batch, &has_feedback);
        /* Counters first, so that whoever an acknowledgement wakes sees them current. */
        size_t n_feedback = 0;
        for (store_event *e = batch; e; e = e->next)
            n_feedback += (size_t)e->is_feedback;
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
            if (e->call) {
                e->call(e->ud);
                free_event(e);
                continue;
            }
            if (rc == 0 && s->observer && !e->is_conv && !e->def_db &&
                (!e->is_feedback || (e->ack.status == 200 && !e->ack.kept))) {
                sy_store_obs o = {.is_feedback = e->is_feedback,
                                  .req = &e->req,
                                  .value = e->fb.value,
                                  .replaced = e->ack.replaced,
                                  .previous = e->ack.previous,
                                  .weight = e->ack.weight,
                                  .previous_weight = e->ack.previous_weight,
                                  .implicit = e->ack.implicit,
                                  .previous_implicit = e->ack.previous_implicit,
                                  .ts_ms = e->fb.ts_ms};
                s->observer(s->observer_ud, &o);
            }
            if (e->is_feedback || e->def_db) {
                if (rc)
                    e->ack.status = 503;
                else if (e->def_db)
                    e->ack.status = 200;
                if (e->cb)
                    e->cb(e->ud, &e->ack);
            }
            free_event(e);
        }
        if (rc == 0 && s->observer)
            s->observer(s->observer_ud, NULL); /* end of batch */
        if (rc)
            fprintf(
                stderr,
                "{\"level\":\"error\",\"msg\":\"store: batch of %zu events not committed: %s\"}\n",
                n, mdb_strerror(rc));
        pthread_mutex_lock(&s->lock);
    }
    pthread_mutex_unlock(&s->lock);
    return NULL;
}

sy_store *sy_store_open(const sy_store_opts *opts, char *err, size_t err_len)
{
    if (mkdir(opts->dir, 0700) != 0 && errno != EEXIST) {
        snprintf(err, err_len, "cannot create data_dir %s: %s", opts->dir, strerror(errno));
        return NULL;
    }
    sy_store *s = sy_xcalloc(1, sizeof(*s));
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
    s->conv_cache = sy_xcalloc(CONV_CACHE, sizeof(conv_slot));
    for (size_t i = 0; i < CONV_CACHE; i++)
        pthread_mutex_init(&s->conv_cache[i].lock, NULL);
    pthread_mutex_init(&s->lock, NULL);
    pthread_cond_init(&s->cond, NULL);
    pthread_rwlock_init(&s->map_lock, NULL);
    if (pthread_create(&s->thread, NULL, store_main, s) != 0) {
        snprintf(err, err_len, "cannot start the store thread");
        mdb_env_close(s->env);
        free(s);
        return NULL;
    }
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
    mdb_env_sync(s->env, 1);
    mdb_env_close(s->env);
    pthread_mutex_destroy(&s->lock);
    pthread_cond_destroy(&s->cond);
    pthread_rwlock_destroy(&s->map_lock);
    for (size_t i = 0; i < CONV_CACHE; i++)
        pthread_mutex_destroy(&s->conv_cache[i].lock);
    free(s->conv_cache);
    free(s);
}

static void enqueue(sy_store *s, store_event *e)
{
    pthread_mutex_lock(&s->lock);
    if (s->tail)
        s->tail->next = e;
    else
        s->head = e;
    s->tail = e;
    s->queued++;
    s->ratings_queued += (size_t)e->is_feedback;
    if (s->queued == 1 || s->queued >= s->opts.batch_max || e->is_feedback)
        pthread_cond_signal(&s->cond);
    pthread_mutex_unlock(&s->lock);
}

void sy_store_put_request(sy_store *s, const sy_store_request *r)
{
    store_event *e = sy_xcalloc(1, sizeof(*e));
    e->req = *r;
    if (r->dim && r->x) {
        e->xs = sy_xmalloc(sizeof(double) * r->dim);
        memcpy(e->xs, r->x, sizeof(double) * r->dim);
        e->req.x = e->xs;
    } else {
        e->req.dim = 0;
        e->req.x = NULL;
    }
    enqueue(s, e);
}

void sy_store_put_feedback(sy_store *s, const sy_store_feedback *f, sy_store_ack_cb cb, void *ud)
{
    store_event *e = sy_xcalloc(1, sizeof(*e));
    e->is_feedback = 1;
    e->fb = *f;
    e->fb.comment = f->comment ? strndup(f->comment, 4096) : NULL;
    e->fb.tags = f->tags ? strndup(f->tags, 4096) : NULL;
    if (!e->fb.ts_ms)
        e->fb.ts_ms = sy_wall_ms();
    e->cb = cb;
    e->ud = ud;
    enqueue(s, e);
}

void sy_store_set_observer(sy_store *s, sy_store_observer fn, void *ud)
{
    s->observer = fn;
    s->observer_ud = ud;
}

void sy_store_call(sy_store *s, void (*fn)(void *ud), void *ud)
{
    store_event *e = sy_xcalloc(1, sizeof(*e));
    e->call = fn;
    e->ud = ud;
    enqueue(s, e);
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

int sy_store_conv_get(sy_store *s, const uint8_t id[16], uint64_t now_ms, sy_conv_state *out)
{
    conv_slot *c = conv_slot_for(s, id);
    int hit = 0;
    pthread_mutex_lock(&c->lock);
    if (c->valid && memcmp(c->id, id, 16) == 0) {
        *out = c->st;
        hit = 1;
    }
    pthread_mutex_unlock(&c->lock);
    if (hit)
        return out->last_ts_ms + s->opts.conv_ttl_ms < now_ms ? -1 : 0;
    pthread_rwlock_rdlock(&s->map_lock);
    MDB_txn *txn;
    int rc = mdb_txn_begin(s->env, NULL, MDB_RDONLY, &txn);
    if (rc == 0) {
        MDB_val k = {16, (void *)id}, v;
        rc = mdb_get(txn, s->dbi[DB_CONVERSATIONS], &k, &v);
        if (rc == 0)
            rc = sy_store_decode_conv(v.mv_data, v.mv_size, out);
        mdb_txn_abort(txn);
    }
    pthread_rwlock_unlock(&s->map_lock);
    if (rc == 0 && out->last_ts_ms + s->opts.conv_ttl_ms < now_ms)
        rc = -1; /* expired: a new conversation */
    return rc == 0 ? 0 : -1;
}

void sy_store_put_conv(sy_store *s, const uint8_t id[16], const sy_conv_state *st)
{
    conv_cache_put(s, id, st);
    store_event *e = sy_xcalloc(1, sizeof(*e));
    e->is_conv = 1;
    memcpy(e->conv_id, id, 16);
    e->conv = *st;
    enqueue(s, e);
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
    store_event *e = sy_xcalloc(1, sizeof(*e));
    e->def_db = def_dbi(kind);
    e->def_key = sy_xstrdup(key);
    sy_buf_append(&e->def_val, json, len);
    e->cb = def_committed;
    e->ud = &w;
    enqueue(s, e);
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
