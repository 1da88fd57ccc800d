/* cluster_node: see cluster_node.h (thread, connections, backlog, stream, look-ups, status). */
#include "cluster_internal.h"

#include "cluster_budget.h"

#include "clock.h"
#include "sha256.h"

#include <hiredis/adapters/libevent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define TICK_MS       50   /* watchdog, heartbeat, due look-up retries */
#define RECONNECT_MS  250  /* between connection attempts while Redis is away */
#define READ_COUNT    1000 /* stream entries per XREAD */
#define READ_BLOCK_MS 1000 /* XREAD BLOCK */
#define READ_GAP_MS   5    /* after a read that returned entries: one new snapshot set per gap */
#define SEEN_SLOTS    (1u << 20)
#define NODES_KEY     "sy:nodes"
#define NODE_FRESH_MS 10000
#define HEARTBEAT_MS  1000
#define STOP_FLUSH_MS 2000
#define LOOKUP_TRIES  8      /* a summary not there yet may still be on its way: */
#define LOOKUP_GAP_MS 20     /*   tried again after 20, 40, 80, 160, 300, 300, 300 ms */
#define LOOKUP_MAX_MS 300    /*   (1.2 s in all before a 404) */
#define REPUBLISH_MS  600000 /* after an unclean stop: what the replay publishes again */
#define MARKER        "cluster-clean-stop"

static void on_cmd_connect(const redisAsyncContext *ac, int status);
static void on_auth(redisAsyncContext *ac, void *r, void *priv);
static void on_rd_connect(const redisAsyncContext *ac, int status);
static void on_disconnect(const redisAsyncContext *ac, int status);
static void issue_read(sy_cluster *c);
static void note_down(sy_cluster *c);

/* ---- URL ------------------------------------------------------------------------------ */

/* redis://HOST[:PORT][/DB] -> host, port, db. 0, or -1. */
static int parse_url(const char *url, char *host, size_t host_len, int *port, int *db)
{
    if (strncmp(url, "redis://", 8) != 0)
        return -1;
    const char *h = url + 8, *end = h + strcspn(h, ":/");
    if (end == h || (size_t)(end - h) >= host_len)
        return -1;
    memcpy(host, h, (size_t)(end - h));
    host[end - h] = 0;
    *port = 6379;
    *db = 0;
    if (*end == ':') {
        char *stop;
        long p = strtol(end + 1, &stop, 10);
        if (stop == end + 1 || p < 1 || p > 65535)
            return -1;
        *port = (int)p;
        end = stop;
    }
    if (*end == '/' && end[1]) {
        char *stop;
        long d = strtol(end + 1, &stop, 10);
        if (stop == end + 1 || *stop || d < 0 || d > 65535)
            return -1;
        *db = (int)d;
    } else if (*end && strcmp(end, "/") != 0) {
        return -1;
    }
    return 0;
}

/* ---- publishing ------------------------------------------------------------------------ */

void sy_cluster_publish_conv(sy_cluster *c, const uint8_t id[16], const sy_conv_state *st)
{
    sy_buf b = {0};
    sy_cluster_encode_conv(&b, c->cfg.node_id, atomic_fetch_add(&c->seq, 1), sy_wall_ms(), id, st);
    int wake = sy_cluster_push_doc(c, b.data, b.len, 0) == 1;
    sy_buf_free(&b);
    if (wake)
        sy_cluster_wake(c);
}

void sy_cluster_publish(sy_cluster *c, const sy_store_obs *o)
{
    sy_buf b = {0};
    uint64_t seq = atomic_fetch_add(&c->seq, 1);
    sy_cluster_encode(&b, c->cfg.node_id, seq, sy_wall_ms(), o);
    int wake = 0;
    if (!o->is_feedback) /* the summary, for feedback given to another node */
        wake = sy_cluster_push_summary(c, o->req->id, b.data, b.len) == 1;
    if (o->is_feedback || o->req->route[0])
        wake |= sy_cluster_push_doc(c, b.data, b.len, 1) == 1;
    sy_buf_free(&b);
    if (wake)
        sy_cluster_wake(c);
}

uint64_t sy_cluster_publish_def(sy_cluster *c, const char *what, const char *doc)
{
    sy_buf b = {0};
    uint64_t seq = atomic_fetch_add(&c->seq, 1);
    sy_cluster_encode_def(&b, c->cfg.node_id, seq, sy_wall_ms(), what, doc);
    int wake = sy_cluster_push_doc(c, b.data, b.len, 0) == 1;
    sy_buf_free(&b);
    if (wake)
        sy_cluster_wake(c);
    return seq;
}

void sy_cluster_on_def(sy_cluster *c, sy_cluster_def_fn fn, void *ud)
{
    c->on_def = fn;
    c->on_def_ud = ud;
}

/* ---- the stream ----------------------------------------------------------------------- */

/* Another node's conversation state, unless this node's is as new (cluster thread). */
static void apply_conv(sy_cluster *c, const sy_cluster_obs *o)
{
    sy_conv_state cur;
    if (!c->store)
        return;
    if (sy_store_conv_get(c->store, o->conv_id, sy_wall_ms(), &cur) == 0 &&
        (cur.last_ts_ms > o->conv.last_ts_ms ||
         (cur.last_ts_ms == o->conv.last_ts_ms && cur.turn >= o->conv.turn)))
        return;
    sy_store_put_conv(c->store, o->conv_id, &o->conv);
}

/* A field's value in an XREAD entry's field list; NULL when absent. */
static const redisReply *field(const redisReply *fields, const char *name)
{
    for (size_t i = 0; i + 1 < fields->elements; i += 2)
        if (fields->element[i]->type == REDIS_REPLY_STRING &&
            strcmp(fields->element[i]->str, name) == 0)
            return fields->element[i + 1];
    return NULL;
}

/* Decode one XREAD reply's entries into out (remote, new ones only); returns how many
 * entries the reply had (0: the read timed out empty). */
static size_t read_entries(sy_cluster *c, const redisReply *reply, sy_cluster_obs **out,
                           size_t *n_out)
{
    if (reply->type != REDIS_REPLY_ARRAY || reply->elements < 1)
        return 0;
    const redisReply *stream = reply->element[0];
    if (stream->type != REDIS_REPLY_ARRAY || stream->elements < 2 ||
        stream->element[1]->type != REDIS_REPLY_ARRAY)
        return 0;
    const redisReply *entries = stream->element[1];
    size_t cap = 0, n = 0;
    sy_cluster_obs *batch = NULL;
    uint64_t received = 0, dups = 0;
    for (size_t i = 0; i < entries->elements; i++) {
        const redisReply *e = entries->element[i];
        if (e->type != REDIS_REPLY_ARRAY || e->elements < 2 ||
            e->element[0]->type != REDIS_REPLY_STRING || e->element[1]->type != REDIS_REPLY_ARRAY)
            continue;
        snprintf(c->last_id, sizeof(c->last_id), "%s", e->element[0]->str);
        const redisReply *node = field(e->element[1], "n"), *d = field(e->element[1], "d");
        if (!node || !d || node->type != REDIS_REPLY_STRING || d->type != REDIS_REPLY_STRING ||
            strcmp(node->str, c->cfg.node_id) == 0)
            continue;
        /* an entry holds one or more documents, one per line (cluster_backlog.c) */
        for (const char *p = d->str, *end = d->str + d->len; p < end;) {
            const char *nl = memchr(p, '\n', (size_t)(end - p));
            size_t len = nl ? (size_t)(nl - p) : (size_t)(end - p);
            const char *doc = p;
            p += len + 1;
            if (n == cap) {
                cap = cap ? 2 * cap : 64;
                batch = sy_xrealloc(batch, cap * sizeof(*batch));
            }
            if (sy_cluster_decode(doc, len, &batch[n]) != 0)
                continue;
            received++;
            if (sy_cluster_seen_check(&c->seen, sy_cluster_event_id(&batch[n]))) {
                sy_cluster_obs_clear(&batch[n]);
                dups++;
                continue;
            }
            if (batch[n].is_conv || batch[n].is_def) { /* not for the learner */
                pthread_mutex_lock(&c->deliver_lock);  /* following: the store is open */
                if (c->deliver && batch[n].is_conv)
                    apply_conv(c, &batch[n]);
                else if (c->deliver && c->on_def) {
                    c->on_def(c->on_def_ud, batch[n].def_what, batch[n].def);
                    sy_cluster_def_confirm(c, batch[n].node, batch[n].seq);
                }
                pthread_mutex_unlock(&c->deliver_lock);
                sy_cluster_obs_clear(&batch[n]);
                continue;
            }
            n++;
        }
    }
    pthread_mutex_lock(&c->lock);
    c->st.received += received;
    c->st.duplicates += dups;
    pthread_mutex_unlock(&c->lock);
    if (!batch)
        batch = sy_xcalloc(1, sizeof(*batch));
    for (size_t i = 0; i < n; i++) /* the array moved as it grew: obs points into its entry */
        batch[i].obs.req = &batch[i].req;
    *out = batch;
    *n_out = n;
    return entries->elements;
}

static void on_read(redisAsyncContext *ac, void *r, void *priv)
{
    sy_cluster *c = ac->data;
    redisReply *reply = r;
    c->read_sent_ms = 0;
    if (!reply)
        return;
    if (reply->type == REDIS_REPLY_ERROR) {
        pthread_mutex_lock(&c->lock);
        c->st.redis_errors++;
        pthread_mutex_unlock(&c->lock);
        return; /* the tick tries again */
    }
    sy_cluster_obs *batch = NULL;
    size_t n = 0, had = read_entries(c, reply, &batch, &n);
    pthread_mutex_lock(&c->deliver_lock);
    if (n && c->deliver) {
        c->deliver(c->deliver_ud, batch, n);
        batch = NULL;
    }
    pthread_mutex_unlock(&c->deliver_lock);
    if (batch) {
        for (size_t i = 0; i < n; i++)
            sy_cluster_obs_clear(&batch[i]);
        free(batch);
    }
    if (had) { /* more may be waiting: read again after a short gap */
        struct timeval gap = {0, READ_GAP_MS * 1000};
        evtimer_add(c->read_later, &gap);
    } else {
        issue_read(c);
    }
}

/* One XREAD from the stream position, if the reader is up, following, and idle. */
static void issue_read(sy_cluster *c)
{
    pthread_mutex_lock(&c->lock);
    int follow = c->deliver != NULL && !c->stopping;
    pthread_mutex_unlock(&c->lock);
    if (!follow || !c->rd_ready || c->read_sent_ms || evtimer_pending(c->read_later, NULL))
        return;
    char count[16], block[16];
    snprintf(count, sizeof(count), "%d", READ_COUNT);
    snprintf(block, sizeof(block), "%d", READ_BLOCK_MS);
    const char *argv[] = {"XREAD",   "COUNT",           count,     "BLOCK", block,
                          "STREAMS", SY_CLUSTER_STREAM, c->last_id};
    redisAsyncCommandArgv(c->rd, on_read, NULL, 8, argv, NULL);
    c->read_sent_ms = sy_wall_ms();
}

static void on_read_later(evutil_socket_t fd, short what, void *ud)
{
    issue_read(ud);
}

void sy_cluster_follow(sy_cluster *c, sy_store *store, sy_cluster_deliver_fn fn, void *ud)
{
    pthread_mutex_lock(&c->deliver_lock);
    pthread_mutex_lock(&c->lock);
    c->store = store;
    c->deliver = fn;
    c->deliver_ud = ud;
    pthread_mutex_unlock(&c->lock);
    pthread_mutex_unlock(&c->deliver_lock);
    sy_cluster_wake(c);
}

void sy_cluster_unfollow(sy_cluster *c)
{
    if (!c)
        return;
    pthread_mutex_lock(&c->deliver_lock);
    pthread_mutex_lock(&c->lock);
    c->deliver = NULL;
    c->store = NULL;
    pthread_mutex_unlock(&c->lock);
    pthread_mutex_unlock(&c->deliver_lock);
}

void sy_cluster_note_applied(sy_cluster *c, uint64_t published_ms, uint64_t now_ms)
{
    double lag = now_ms > published_ms ? (double)(now_ms - published_ms) : 0;
    pthread_mutex_lock(&c->lock);
    c->st.applied++;
    c->lags[c->lag_pos] = lag;
    c->lag_pos = (c->lag_pos + 1) % SY_ARRAY_LEN(c->lags);
    if (c->n_lags < SY_ARRAY_LEN(c->lags))
        c->n_lags++;
    pthread_mutex_unlock(&c->lock);
}

/* ---- look-ups ------------------------------------------------------------------------- */

static void queue_lookup(sy_cluster *c, cl_lookup *q)
{
    pthread_mutex_lock(&c->lock);
    q->next = c->lookups;
    c->lookups = q;
    pthread_mutex_unlock(&c->lock);
}

/* An HGET answered. Unknown: tried again, LOOKUP_TRIES in all, with gaps doubling from
 * LOOKUP_GAP_MS to at most LOOKUP_MAX_MS (the serving node writes the summary a few ms
 * after its answer, later when its writes queue up behind a slow Redis, and a client may
 * be quicker). */
static void on_lookup(redisAsyncContext *ac, void *r, void *priv)
{
    sy_cluster *c = ac->data;
    cl_lookup *q = priv;
    redisReply *reply = r;
    if (reply)
        sy_cluster_cmd_answered(c);
    sy_cluster_obs o;
    if (!reply || reply->type == REDIS_REPLY_ERROR)
        q->cb(q->ud, -1, NULL);
    else if (reply->type == REDIS_REPLY_NIL && q->tries < LOOKUP_TRIES) {
        unsigned gap = LOOKUP_GAP_MS << (q->tries - 1);
        q->not_before_ms = sy_wall_ms() + (gap < LOOKUP_MAX_MS ? gap : LOOKUP_MAX_MS);
        queue_lookup(c, q);
        return;
    } else if (reply->type != REDIS_REPLY_STRING || sy_cluster_decode(reply->str, reply->len, &o))
        q->cb(q->ud, 0, NULL);
    else {
        q->cb(q->ud, 1, &o);
        sy_cluster_obs_clear(&o);
    }
    free(q);
}

void sy_cluster_lookup(sy_cluster *c, const uint8_t id[16], sy_cluster_lookup_cb cb, void *ud)
{
    cl_lookup *q = sy_xcalloc(1, sizeof(*q));
    memcpy(q->id, id, 16);
    q->cb = cb;
    q->ud = ud;
    queue_lookup(c, q);
    sy_cluster_wake(c);
}

/* Send the queued look-ups that are due (oldest first), or answer them "unavailable". */
static void pump_lookups(sy_cluster *c)
{
    uint64_t now = sy_wall_ms();
    pthread_mutex_lock(&c->lock);
    cl_lookup *q = c->lookups, *rev = NULL;
    c->lookups = NULL;
    pthread_mutex_unlock(&c->lock);
    while (q) {
        cl_lookup *next = q->next;
        q->next = rev;
        rev = q;
        q = next;
    }
    for (q = rev; q;) {
        cl_lookup *next = q->next;
        if (!c->cmd_ready) {
            q->cb(q->ud, -1, NULL);
            free(q);
        } else if (q->not_before_ms > now) {
            queue_lookup(c, q); /* the tick comes back to it */
        } else {
            q->tries++;
            char key[48], field[33];
            snprintf(key, sizeof(key), SY_CLUSTER_SUMMARY "%llu",
                     (unsigned long long)sy_cluster_summary_bucket(q->id));
            sy_hex_encode(q->id, 16, field);
            redisAsyncCommand(c->cmd, on_lookup, q, "HGET %s %s", key, field);
            sy_cluster_cmd_sent(c);
        }
        q = next;
    }
}

/* ---- connections ---------------------------------------------------------------------- */

static void note_down(sy_cluster *c)
{
    pthread_mutex_lock(&c->lock);
    c->st.redis_up = c->cmd_ready && c->rd_ready;
    pthread_mutex_unlock(&c->lock);
}

/* The answer to AUTH: a refusal is shown in the status (auth_failed); the SELECT behind
 * it then fails too and the link is dropped, to be tried again. */
static void on_auth(redisAsyncContext *ac, void *r, void *priv)
{
    sy_cluster *c = ac->data;
    redisReply *reply = r;
    if (!reply)
        return;
    if (ac == c->cmd)
        sy_cluster_cmd_answered(c);
    pthread_mutex_lock(&c->lock);
    c->st.auth_failed = reply->type == REDIS_REPLY_ERROR;
    c->st.redis_errors += reply->type == REDIS_REPLY_ERROR;
    pthread_mutex_unlock(&c->lock);
}

static void on_select(redisAsyncContext *ac, void *r, void *priv)
{
    sy_cluster *c = ac->data;
    redisReply *reply = r;
    if (!reply)
        return;
    if (ac == c->cmd)
        sy_cluster_cmd_answered(c);
    if (reply->type == REDIS_REPLY_ERROR) {
        redisAsyncDisconnect(ac);
        return;
    }
    if (ac == c->cmd) {
        c->cmd_ready = 1;
        sy_cluster_budget_load(c); /* before any EVALSHA of the backlog */
    } else {
        c->rd_ready = 1;
        c->read_sent_ms = 0;
    }
    note_down(c);
    sy_cluster_flush(c);
    issue_read(c);
}

/* Forget a link (its context is being or has been freed by hiredis). */
static void reset_link(sy_cluster *c, int is_cmd)
{
    if (is_cmd) {
        c->cmd = NULL;
        c->cmd_ready = 0;
        c->cmd_pending = 0;
        c->cmd_sent_ms = 0;
        c->expired_bucket = 0;
        pthread_mutex_lock(&c->lock);
        c->sent = 0; /* what was in flight is resent on the next link */
        pthread_mutex_unlock(&c->lock);
    } else {
        c->rd = NULL;
        c->rd_ready = 0;
        c->read_sent_ms = 0;
    }
    note_down(c);
}

/* Open one link and queue its SELECT; the connect counts as a pending command, so that
 * a connect that hangs is dropped by the watchdog like a command that does. */
static redisAsyncContext *connect_one(sy_cluster *c, int is_cmd)
{
    redisAsyncContext *ac = redisAsyncConnect(c->host, c->port);
    if (!ac)
        return NULL;
    if (ac->err) {
        redisAsyncFree(ac);
        return NULL;
    }
    ac->data = c;
    redisLibeventAttach(ac, c->base);
    redisAsyncSetConnectCallback(ac, is_cmd ? on_cmd_connect : on_rd_connect);
    redisAsyncSetDisconnectCallback(ac, on_disconnect);
    if (c->cfg.password) { /* AUTH first: SELECT and everything after it need it */
        const char *argv[] = {"AUTH", c->cfg.username ? c->cfg.username : c->cfg.password,
                              c->cfg.password};
        redisAsyncCommandArgv(ac, on_auth, NULL, c->cfg.username ? 3 : 2, argv, NULL);
        if (is_cmd)
            sy_cluster_cmd_sent(c);
    }
    char db[16];
    snprintf(db, sizeof(db), "%d", c->db);
    const char *argv[] = {"SELECT", db};
    redisAsyncCommandArgv(ac, on_select, NULL, 2, argv, NULL);
    if (is_cmd)
        sy_cluster_cmd_sent(c);
    else
        c->read_sent_ms = sy_wall_ms();
    return ac;
}

static void on_cmd_connect(const redisAsyncContext *ac, int status)
{
    sy_cluster *c = ac->data;
    if (status != REDIS_OK && ac == c->cmd) /* hiredis frees a context that failed */
        reset_link(c, 1);
}

static void on_rd_connect(const redisAsyncContext *ac, int status)
{
    sy_cluster *c = ac->data;
    if (status != REDIS_OK && ac == c->rd)
        reset_link(c, 0);
}

/* A link is gone: what was in flight on cmd is queued again (resent later). */
static void on_disconnect(const redisAsyncContext *ac, int status)
{
    sy_cluster *c = ac->data;
    if (ac == c->cmd)
        reset_link(c, 1);
    else if (ac == c->rd)
        reset_link(c, 0);
}

/* Drop a link that stopped answering (hiredis 0.14 has no command timeout). */
static void drop(sy_cluster *c, int is_cmd)
{
    redisAsyncContext *a = is_cmd ? c->cmd : c->rd;
    pthread_mutex_lock(&c->lock);
    c->st.redis_errors++;
    pthread_mutex_unlock(&c->lock);
    redisAsyncFree(a); /* runs the pending callbacks with NULL (and on_disconnect if up) */
    if ((is_cmd ? c->cmd : c->rd) == a) /* it was still connecting: no callback ran */
        reset_link(c, is_cmd);
}

/* ---- heartbeat and nodes ------------------------------------------------------------- */

static void on_nodes(redisAsyncContext *ac, void *r, void *priv)
{
    sy_cluster *c = ac->data;
    redisReply *reply = r;
    if (!reply)
        return;
    sy_cluster_cmd_answered(c);
    if (reply->type != REDIS_REPLY_ARRAY)
        return;
    uint64_t now = sy_wall_ms();
    size_t n = 0;
    for (size_t i = 0; i + 1 < reply->elements; i += 2) {
        const redisReply *v = reply->element[i + 1];
        uint64_t t = v->type == REDIS_REPLY_STRING ? strtoull(v->str, NULL, 10) : 0;
        n += t + NODE_FRESH_MS >= now;
    }
    pthread_mutex_lock(&c->lock);
    c->st.nodes_seen = n;
    pthread_mutex_unlock(&c->lock);
}

static void on_ignore(redisAsyncContext *ac, void *r, void *priv)
{
    if (r)
        sy_cluster_cmd_answered(ac->data);
}

static void heartbeat(sy_cluster *c, uint64_t now)
{
    if (!c->cmd_ready)
        return;
    if (now - c->last_heartbeat_ms >= HEARTBEAT_MS) {
        c->last_heartbeat_ms = now;
        char ts[24];
        snprintf(ts, sizeof(ts), "%llu", (unsigned long long)now);
        const char *argv[] = {"HSET", NODES_KEY, c->cfg.node_id, ts};
        redisAsyncCommandArgv(c->cmd, on_ignore, NULL, 4, argv, NULL);
        sy_cluster_cmd_sent(c);
        redisAsyncCommand(c->cmd, on_nodes, NULL, "HGETALL %s", NODES_KEY);
        sy_cluster_cmd_sent(c);
    }
}

/* ---- the thread ------------------------------------------------------------------------ */

static void pump(sy_cluster *c)
{
    sy_cluster_flush_soon(c);
    pump_lookups(c);
    sy_cluster_budget_pump(c);
    sy_cluster_defs_pump(c, 0);
    issue_read(c);
}

static void on_linger(evutil_socket_t fd, short what, void *ud)
{
    sy_cluster_flush(ud);
}

static void on_wake(evutil_socket_t fd, short what, void *ud)
{
    pump(ud);
}

/* Reconnect, drop silent links, heartbeat; while stopping, leave once the backlog is out. */
static void on_tick(evutil_socket_t fd, short what, void *ud)
{
    sy_cluster *c = ud;
    uint64_t now = sy_wall_ms();
    if (c->cmd && c->cmd_sent_ms && now - c->cmd_sent_ms > SY_CLUSTER_TIMEOUT_MS)
        drop(c, 1);
    if (c->rd && c->read_sent_ms && now - c->read_sent_ms > READ_BLOCK_MS + SY_CLUSTER_TIMEOUT_MS)
        drop(c, 0);
    int reconnected = 0;
    if ((!c->cmd || !c->rd) && now - c->last_connect_ms >= RECONNECT_MS) {
        c->last_connect_ms = now;
        if (!c->cmd)
            reconnected += (c->cmd = connect_one(c, 1)) != NULL;
        if (!c->rd)
            reconnected += (c->rd = connect_one(c, 0)) != NULL;
    }
    pthread_mutex_lock(&c->lock);
    c->st.reconnects += (uint64_t)reconnected;
    int stopping = c->stopping, empty = c->count == 0;
    pthread_mutex_unlock(&c->lock);
    heartbeat(c, now);
    pump(c);
    if (stopping && (empty || now >= c->stop_deadline_ms))
        event_base_loopbreak(c->base);
}

static void *run(void *ud)
{
    sy_cluster *c = ud;
    on_tick(-1, 0, c); /* connect at once */
    event_base_loop(c->base, EVLOOP_NO_EXIT_ON_EMPTY);
    return NULL;
}

sy_cluster *sy_cluster_start(const sy_cluster_cfg *cfg, unsigned summary_ttl_s,
                             const char *data_dir, char *err, size_t err_len)
{
    sy_cluster *c = sy_xcalloc(1, sizeof(*c));
    if (!cfg->redis_url || !cfg->node_id ||
        parse_url(cfg->redis_url, c->host, sizeof(c->host), &c->port, &c->db) != 0) {
        snprintf(err, err_len, "cluster.redis_url: expected redis://HOST[:PORT][/DB]");
        free(c);
        return NULL;
    }
    c->cfg = *cfg;
    c->cfg.redis_url = sy_xstrdup(cfg->redis_url);
    c->cfg.node_id = sy_xstrdup(cfg->node_id);
    c->cfg.username = cfg->username ? sy_xstrdup(cfg->username) : NULL;
    c->cfg.password_env = NULL;
    c->cfg.password = cfg->password ? sy_xstrdup(cfg->password) : NULL;
    c->summary_ttl_s = summary_ttl_s ? summary_ttl_s : 1;
    sy_buf m = {0};
    sy_buf_printf(&m, "%s/%s", data_dir, MARKER);
    c->marker = m.data;
    if (unlink(c->marker) != 0) /* no marker: killed, or the first start */
        c->republish_since_ms = sy_wall_ms() - REPUBLISH_MS;
    snprintf(c->st.node_id, sizeof(c->st.node_id), "%s", cfg->node_id);
    snprintf(c->last_id, sizeof(c->last_id), "0"); /* from the oldest retained entry */
    atomic_init(&c->seq, sy_wall_ms() * 1000);     /* numbers a restarted node never reused */
    sy_cluster_seen_init(&c->seen, SEEN_SLOTS);
    c->cap = cfg->backlog_max ? cfg->backlog_max : 1;
    c->ring = sy_xcalloc(c->cap, sizeof(cl_entry));
    pthread_mutex_init(&c->lock, NULL);
    pthread_mutex_init(&c->deliver_lock, NULL);
    c->base = event_base_new();
    c->wake = event_new(c->base, -1, 0, on_wake, c);
    c->tick = event_new(c->base, -1, EV_PERSIST, on_tick, c);
    c->read_later = evtimer_new(c->base, on_read_later, c);
    c->linger = evtimer_new(c->base, on_linger, c);
    struct timeval tv = {0, TICK_MS * 1000};
    event_add(c->tick, &tv);
    if (pthread_create(&c->thread, NULL, run, c) != 0) {
        snprintf(err, err_len, "cluster: cannot start its thread");
        c->thread = 0;
        sy_cluster_stop(c);
        return NULL;
    }
    return c;
}

const char *sy_cluster_node(const sy_cluster *c)
{
    return c->cfg.node_id;
}

void sy_cluster_stop(sy_cluster *c)
{
    if (!c)
        return;
    sy_cluster_unfollow(c);
    pthread_mutex_lock(&c->lock);
    c->stopping = 1;
    c->stop_deadline_ms = sy_wall_ms() + STOP_FLUSH_MS;
    pthread_mutex_unlock(&c->lock);
    if (c->thread) {
        sy_cluster_wake(c);
        pthread_join(c->thread, NULL);
    }
    if (c->cmd)
        redisAsyncFree(c->cmd);
    if (c->rd)
        redisAsyncFree(c->rd);
    c->cmd_ready = c->rd_ready = 0;
    if (c->count == 0) { /* everything reached Redis: the next start republishes nothing */
        FILE *f = fopen(c->marker, "w");
        if (f)
            fclose(f);
    }
    pump_lookups(c); /* cmd is gone: what is still queued is answered "unavailable" */
    sy_cluster_budget_pump(c);
    sy_cluster_defs_pump(c, 1);
    for (size_t i = 0; i < c->count; i++)
        sy_cluster_entry_free(&c->ring[(c->head + i) % c->cap]);
    free(c->ring);
    event_free(c->wake);
    event_free(c->tick);
    event_free(c->read_later);
    event_free(c->linger);
    event_base_free(c->base);
    sy_cluster_seen_free(&c->seen);
    pthread_mutex_destroy(&c->lock);
    pthread_mutex_destroy(&c->deliver_lock);
    free(c->cfg.redis_url);
    free(c->cfg.node_id);
    free(c->alive);
    free(c->cfg.username);
    if (c->cfg.password) /* no copy of the secret outlives the node */
        explicit_bzero(c->cfg.password, strlen(c->cfg.password));
    free(c->cfg.password);
    free(c->marker);
    free(c);
}

int sy_cluster_wait_up(sy_cluster *c, unsigned timeout_ms)
{
    uint64_t deadline = sy_wall_ms() + timeout_ms;
    for (;;) {
        pthread_mutex_lock(&c->lock);
        int up = c->st.redis_up;
        pthread_mutex_unlock(&c->lock);
        if (up)
            return 0;
        if (sy_wall_ms() >= deadline)
            return -1;
        usleep(5000);
    }
}

uint64_t sy_cluster_republish_since_ms(const sy_cluster *c)
{
    return c->republish_since_ms;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

void sy_cluster_status_get(sy_cluster *c, sy_cluster_status *out)
{
    double lags[SY_ARRAY_LEN(c->lags)];
    pthread_mutex_lock(&c->lock);
    *out = c->st;
    size_t n = c->n_lags;
    memcpy(lags, c->lags, sizeof(double) * n);
    pthread_mutex_unlock(&c->lock);
    qsort(lags, n, sizeof(double), cmp_double);
    out->lag_ms_p50 = n ? lags[n / 2] : 0;
    out->lag_ms_p99 = n ? lags[(n * 99) / 100] : 0;
    out->lag_ms_max = n ? lags[n - 1] : 0;
}

/* ---- the shared secret (start-up, blocking) ----------------------------------------- */

int sy_cluster_shared_secret(const sy_cluster_cfg *cfg, const uint8_t local[32], uint8_t out[32])
{
    char host[256];
    int port, db, rc = -1;
    if (!cfg->redis_url || parse_url(cfg->redis_url, host, sizeof(host), &port, &db) != 0)
        return -1;
    struct timeval tv = {1, 0};
    redisContext *rc_ctx = redisConnectWithTimeout(host, port, tv);
    if (!rc_ctx || rc_ctx->err) {
        if (rc_ctx)
            redisFree(rc_ctx);
        return -1;
    }
    redisSetTimeout(rc_ctx, tv);
    char hex[65];
    sy_hex_encode(local, 32, hex);
    redisReply *r = NULL;
    if (cfg->password) {
        r = cfg->username ? redisCommand(rc_ctx, "AUTH %s %s", cfg->username, cfg->password)
                          : redisCommand(rc_ctx, "AUTH %s", cfg->password);
        int ok = r && r->type != REDIS_REPLY_ERROR;
        if (r)
            freeReplyObject(r);
        if (!ok) {
            redisFree(rc_ctx);
            return -1;
        }
    }
    r = redisCommand(rc_ctx, "SELECT %d", db);
    if (r && r->type != REDIS_REPLY_ERROR) {
        freeReplyObject(r);
        r = redisCommand(rc_ctx, "SET sy:secret %s NX", hex);
        if (r)
            freeReplyObject(r);
        r = redisCommand(rc_ctx, "GET sy:secret");
        if (r && r->type == REDIS_REPLY_STRING && r->len == 64 &&
            sy_hex_decode(r->str, 64, out, 32) == 0)
            rc = 0;
    }
    if (r)
        freeReplyObject(r);
    redisFree(rc_ctx);
    return rc;
}
