/*
 * cluster_defs: admin changes that wait for the other nodes (docs/scale-out.md,
 * "Experiments and prompts"). A node that adopted another node's definition confirms it
 * in Redis (HSET sy:defack:<publisher> <node> <event number>); the publishing node's
 * admin call waits, without blocking its worker, until every other live node has
 * confirmed, or a bounded time has passed, and then names the nodes that lag.
 *
 * Threads: sy_cluster_await_def is called from any thread (it queues under c->lock);
 * everything else runs on the cluster thread. A wait is answered exactly once.
 */
#include "cluster_internal.h"

#include "clock.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ACK_PREFIX  "sy:defack:"
#define NODES_KEY   "sy:nodes"
#define NODE_FRESH  10000 /* a node with a heartbeat this recent is alive (ms) */
#define POLL_GAP_MS 20    /* between two polls of the confirmations */
#define MAX_NAMED   256   /* nodes named in one answer */

typedef struct cl_wait {
    struct cl_wait *next;
    uint64_t seq;
    uint64_t start_ms, deadline_ms;
    sy_cluster_await_cb cb;
    void *ud;
} cl_wait;

void sy_cluster_def_confirm(sy_cluster *c, const char *publisher, uint64_t seq)
{
    char key[SY_CLUSTER_NODE_MAX + sizeof(ACK_PREFIX)], val[24], *cmd;
    snprintf(key, sizeof(key), ACK_PREFIX "%s", publisher);
    snprintf(val, sizeof(val), "%llu", (unsigned long long)seq);
    const char *argv[] = {"HSET", key, c->cfg.node_id, val};
    size_t lens[] = {4, strlen(key), strlen(c->cfg.node_id), strlen(val)};
    int len = redisFormatCommandArgv(&cmd, 4, argv, lens);
    if (len > 0 && sy_cluster_push(c, cmd, len, 0) == 1)
        sy_cluster_wake(c);
}

void sy_cluster_await_def(sy_cluster *c, uint64_t seq, unsigned timeout_ms, sy_cluster_await_cb cb,
                          void *ud)
{
    cl_wait *w = sy_xcalloc(1, sizeof(*w));
    w->seq = seq;
    w->start_ms = sy_wall_ms();
    w->deadline_ms = w->start_ms + timeout_ms;
    w->cb = cb;
    w->ud = ud;
    pthread_mutex_lock(&c->lock);
    w->next = c->waits;
    c->waits = w;
    pthread_mutex_unlock(&c->lock);
    sy_cluster_wake(c);
}

/* The value of `field` in an HGETALL reply, or NULL. */
static const redisReply *hget(const redisReply *h, const char *field)
{
    for (size_t i = 0; h && h->type == REDIS_REPLY_ARRAY && i + 1 < h->elements; i += 2)
        if (h->element[i]->type == REDIS_REPLY_STRING && strcmp(h->element[i]->str, field) == 0)
            return h->element[i + 1];
    return NULL;
}

/* Answer one wait: every other node alive at the last poll is confirmed when `acks` (an
 * HGETALL of sy:defack:<this node>; NULL when Redis is away) holds its event number >=
 * the wait's. Returns 1 when it was answered (all confirmed, timed out, or `force`). */
static int settle(sy_cluster *c, cl_wait *w, const redisReply *acks, uint64_t now, int force)
{
    sy_buf ok = {0}, lag = {0};
    size_t n_ok = 0, n_lag = 0;
    for (size_t i = 0; i < c->n_alive; i++) {
        const redisReply *a = hget(acks, c->alive[i]);
        int done = a && a->type == REDIS_REPLY_STRING && strtoull(a->str, NULL, 10) >= w->seq;
        sy_buf *b = done ? &ok : &lag;
        size_t *n = done ? &n_ok : &n_lag;
        if (*n < MAX_NAMED) {
            sy_buf_puts(b, *n ? "," : "");
            sy_buf_json_string(b, c->alive[i], strlen(c->alive[i]));
        }
        (*n)++;
    }
    int answer = force || n_lag == 0 || now >= w->deadline_ms;
    if (answer) {
        sy_buf out = {0};
        sy_buf_printf(&out,
                      "{\"confirmed\":[%s],\"lagging\":[%s],\"redis_up\":%s,\"waited_ms\":%llu}",
                      ok.data ? ok.data : "", lag.data ? lag.data : "", acks ? "true" : "false",
                      (unsigned long long)(now - w->start_ms));
        w->cb(w->ud, out.data, out.len);
        sy_buf_free(&out);
    }
    sy_buf_free(&ok);
    sy_buf_free(&lag);
    return answer;
}

/* Answer the waits against a poll's acks (NULL: Redis away, answer them all now). */
static void settle_all(sy_cluster *c, const redisReply *acks, int force)
{
    uint64_t now = sy_wall_ms();
    pthread_mutex_lock(&c->lock);
    cl_wait *w = c->waits, *keep = NULL;
    c->waits = NULL;
    pthread_mutex_unlock(&c->lock);
    while (w) {
        cl_wait *next = w->next;
        if (settle(c, w, acks, now, force || !acks)) {
            free(w);
        } else {
            w->next = keep;
            keep = w;
        }
        w = next;
    }
    pthread_mutex_lock(&c->lock);
    while (keep) {
        cl_wait *next = keep->next;
        keep->next = c->waits;
        c->waits = keep;
        keep = next;
    }
    pthread_mutex_unlock(&c->lock);
}

/* sy:nodes: keep the other nodes with a recent heartbeat. */
static void on_poll_nodes(redisAsyncContext *ac, void *r, void *priv)
{
    sy_cluster *c = ac->data;
    const redisReply *nodes = r;
    if (!nodes)
        return; /* the link went down: on_poll_acks sees it too */
    sy_cluster_cmd_answered(c);
    if (nodes->type != REDIS_REPLY_ARRAY)
        return;
    uint64_t now = sy_wall_ms();
    c->n_alive = 0;
    for (size_t i = 0; i + 1 < nodes->elements; i += 2) {
        const redisReply *name = nodes->element[i], *beat = nodes->element[i + 1];
        if (name->type != REDIS_REPLY_STRING || beat->type != REDIS_REPLY_STRING ||
            name->len >= SY_CLUSTER_NODE_MAX || strcmp(name->str, c->cfg.node_id) == 0 ||
            strtoull(beat->str, NULL, 10) + NODE_FRESH < now)
            continue;
        if (c->n_alive == c->cap_alive) {
            c->cap_alive = c->cap_alive ? 2 * c->cap_alive : 8;
            c->alive = sy_xrealloc(c->alive, c->cap_alive * sizeof(*c->alive));
        }
        memcpy(c->alive[c->n_alive++], name->str, name->len + 1);
    }
}

static void on_poll_acks(redisAsyncContext *ac, void *r, void *priv)
{
    sy_cluster *c = ac->data;
    const redisReply *acks = r;
    c->wait_poll_sent = 0;
    if (!acks)
        return; /* the next pump answers "Redis away" */
    sy_cluster_cmd_answered(c);
    if (acks->type == REDIS_REPLY_ARRAY)
        settle_all(c, acks, 0);
}

void sy_cluster_defs_pump(sy_cluster *c, int stopping)
{
    pthread_mutex_lock(&c->lock);
    int any = c->waits != NULL;
    pthread_mutex_unlock(&c->lock);
    if (!any)
        return;
    if (stopping || !c->cmd_ready) {
        settle_all(c, NULL, 1);
        return;
    }
    uint64_t now = sy_wall_ms();
    if (c->wait_poll_sent || now - c->wait_poll_ms < POLL_GAP_MS)
        return; /* the tick comes back */
    c->wait_poll_ms = now;
    c->wait_poll_sent = 1;
    char key[SY_CLUSTER_NODE_MAX + sizeof(ACK_PREFIX)];
    snprintf(key, sizeof(key), ACK_PREFIX "%s", c->cfg.node_id);
    redisAsyncCommand(c->cmd, on_poll_nodes, NULL, "HGETALL %s", NODES_KEY);
    sy_cluster_cmd_sent(c);
    redisAsyncCommand(c->cmd, on_poll_acks, NULL, "HGETALL %s", key);
    sy_cluster_cmd_sent(c);
}
