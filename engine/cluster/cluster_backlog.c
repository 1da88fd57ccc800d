/*
 * cluster_backlog: the queue of writes to Redis (docs/scale-out.md, "Cost per request").
 *
 * Publishers (the store thread, workers, the cluster thread) queue items under c->lock;
 * the cluster thread writes them. Items of one kind that queue up while earlier writes
 * are in flight go out as one command: stream documents as one XADD entry (field d holds
 * the documents, one per line), request summaries as one HSET into the hash of their
 * minute (sy:req:<minute>, one field per request id). A write lingers
 * SY_CLUSTER_LINGER_MS before it goes out, and a publisher wakes the cluster thread only
 * when the queue was empty: under load a node thus sends two commands and takes one
 * wake-up per linger instead of two commands and a wake-up per request; idle, a lone
 * item waits 2 ms. An entry stays queued until Redis acknowledges it and is sent again
 * on a new link after a failure (readers recognise what they applied; HSET is
 * idempotent).
 */
#include "cluster_internal.h"

#include "sha256.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_INFLIGHT 1024       /* entries written and not yet acknowledged */
#define BATCH_BYTES  (64 << 10) /* an entry takes more items until it is this big */
#define BATCH_ITEMS  256
#define SCAN_BACK    4 /* unsent entries looked at for one to append to */

/* Queue one item (pieces a and b, either may be empty) as `kind`, appended to the newest
 * of the last SCAN_BACK entries when it is still unsent and of the same kind and bucket
 * (the order between kinds does not matter: summaries, documents and scripts are
 * independent; within a kind it is kept). 1: queued and the
 * caller must wake the cluster thread (nothing was queued, so no acknowledgement will
 * flush it); 0: queued; -1 the backlog is full (counted as dropped when obs). */
static int push(sy_cluster *c, int kind, uint64_t bucket, const char *a, size_t a_len,
                const char *b, size_t b_len, int obs)
{
    pthread_mutex_lock(&c->lock);
    int wake = c->count == 0, rc = -1;
    /* the newest unsent entry of this kind among the last few (one observation queues a
     * summary and a document, so the kinds alternate) */
    cl_entry *t = NULL;
    for (size_t i = c->count; i > c->sent && i + SCAN_BACK > c->count && !t; i--) {
        cl_entry *e = &c->ring[(c->head + i - 1) % c->cap];
        if (e->kind == kind && e->bucket == bucket)
            t = e;
    }
    if (c->stopping) {
        t = NULL;
    } else if (t && t->buf.len < BATCH_BYTES && t->n < BATCH_ITEMS) {
        if (kind == CL_XADD)
            sy_buf_append(&t->buf, "\n", 1);
        rc = 0;
    } else if (c->count < c->cap) {
        t = &c->ring[(c->head + c->count) % c->cap];
        memset(t, 0, sizeof(*t));
        t->kind = kind;
        t->bucket = bucket;
        c->count++;
        c->st.backlog = c->count;
        rc = 0;
    }
    if (rc == 0) {
        sy_buf_append(&t->buf, a, a_len);
        sy_buf_append(&t->buf, b, b_len);
        if (kind == CL_SUM)
            sy_buf_append(&t->buf, "\n", 1);
        t->n++;
        t->obs += obs;
    } else {
        c->st.dropped += (uint64_t)obs;
    }
    pthread_mutex_unlock(&c->lock);
    return rc == 0 ? wake : -1;
}

int sy_cluster_push(sy_cluster *c, char *cmd, int len, int obs)
{
    pthread_mutex_lock(&c->lock);
    int ok = !c->stopping && c->count < c->cap, wake = c->count == 0;
    if (ok) {
        c->ring[(c->head + c->count) % c->cap] =
            (cl_entry){.kind = CL_RAW, .cmd = cmd, .len = len, .n = 1, .obs = obs};
        c->count++;
        c->st.backlog = c->count;
    } else {
        c->st.dropped += (uint64_t)obs;
    }
    pthread_mutex_unlock(&c->lock);
    if (!ok)
        free(cmd);
    return ok ? wake : -1;
}

int sy_cluster_push_doc(sy_cluster *c, const char *doc, size_t len, int obs)
{
    return push(c, CL_XADD, 0, doc, len, NULL, 0, obs);
}

uint64_t sy_cluster_summary_bucket(const uint8_t id[16])
{
    uint64_t ms = 0;
    for (int i = 0; i < 6; i++) /* a request id starts with its time (ms, big-endian) */
        ms = ms << 8 | id[i];
    return ms / 60000 + 1; /* + 1: bucket 0 means "none" */
}

int sy_cluster_push_summary(sy_cluster *c, const uint8_t id[16], const char *json, size_t len)
{
    char hex[33];
    sy_hex_encode(id, 16, hex);
    return push(c, CL_SUM, sy_cluster_summary_bucket(id), hex, 32, json, len, 0);
}

void sy_cluster_entry_free(cl_entry *e)
{
    free(e->cmd);
    sy_buf_free(&e->buf);
}

/* An acknowledgement of the oldest entry in flight (replies come in order). */
static void on_backlog_reply(redisAsyncContext *ac, void *r, void *priv)
{
    sy_cluster *c = ac->data;
    redisReply *reply = r;
    if (!reply)
        return; /* the link went down: the entry stays queued and is resent */
    sy_cluster_cmd_answered(c);
    if (reply->type == REDIS_REPLY_ERROR && sy_cluster_transient_error(reply->str)) {
        /* Redis cannot take it now (loading its AOF after a restart, a script running, a
         * failover): keep it. Dropping the link sends it and everything after it again,
         * in order, once a new link is up (the readers recognise what was applied). */
        pthread_mutex_lock(&c->lock);
        c->st.redis_errors++;
        pthread_mutex_unlock(&c->lock);
        redisAsyncFree(ac); /* deferred by hiredis until this callback returns */
        return;
    }
    pthread_mutex_lock(&c->lock);
    if (c->sent && c->count) {
        cl_entry *e = &c->ring[c->head];
        c->st.published += (uint64_t)e->obs;
        sy_cluster_entry_free(e);
        c->head = (c->head + 1) % c->cap;
        c->count--;
        c->sent--;
        c->st.backlog = c->count;
    }
    if (reply->type == REDIS_REPLY_ERROR)
        c->st.redis_errors++; /* a permanent refusal (wrong type, syntax): resending cannot help */
    pthread_mutex_unlock(&c->lock);
    sy_cluster_flush_soon(c); /* what was queued meanwhile (its publisher did not wake us) */
}

static void on_expire(redisAsyncContext *ac, void *r, void *priv)
{
    if (r)
        sy_cluster_cmd_answered(ac->data);
}

/* Send one entry (a copy of the ring's: it stays there until acknowledged). */
static void send_entry(sy_cluster *c, const cl_entry *e)
{
    if (e->kind == CL_RAW) {
        redisAsyncFormattedCommand(c->cmd, on_backlog_reply, NULL, e->cmd, (size_t)e->len);
        sy_cluster_cmd_sent(c);
        return;
    }
    char *cmd = NULL, key[48];
    int len;
    if (e->kind == CL_XADD) {
        char maxlen[24];
        snprintf(maxlen, sizeof(maxlen), "%u", c->cfg.stream_maxlen);
        const char *argv[] = {"XADD", SY_CLUSTER_STREAM, "MAXLEN", "~",        maxlen, "*",
                              "n",    c->cfg.node_id,    "d",      e->buf.data};
        size_t lens[] = {4, strlen(SY_CLUSTER_STREAM), 6, 1,         strlen(maxlen), 1,
                         1, strlen(c->cfg.node_id),    1, e->buf.len};
        len = redisFormatCommandArgv(&cmd, 10, argv, lens);
    } else { /* CL_SUM: lines of 32 hex digits (the field) and the summary (the value) */
        snprintf(key, sizeof(key), SY_CLUSTER_SUMMARY "%llu", (unsigned long long)e->bucket);
        size_t argc = 2 + 2 * (size_t)e->n, k = 2;
        const char **argv = sy_xmalloc(argc * sizeof(char *));
        size_t *lens = sy_xmalloc(argc * sizeof(size_t));
        argv[0] = "HSET", lens[0] = 4, argv[1] = key, lens[1] = strlen(key);
        for (const char *p = e->buf.data, *end = p + e->buf.len; p < end && k + 1 < argc;) {
            const char *nl = memchr(p + 32, '\n', (size_t)(end - p - 32));
            argv[k] = p, lens[k] = 32;
            argv[k + 1] = p + 32, lens[k + 1] = (size_t)(nl - p - 32);
            k += 2;
            p = nl + 1;
        }
        len = redisFormatCommandArgv(&cmd, (int)k, argv, lens);
        free(argv);
        free(lens);
    }
    if (len > 0)
        redisAsyncFormattedCommand(c->cmd, on_backlog_reply, NULL, cmd, (size_t)len);
    else /* cannot happen (memory aside); sent as a no-op so the replies stay in step */
        redisAsyncCommand(c->cmd, on_backlog_reply, NULL, "PING");
    sy_cluster_cmd_sent(c);
    free(cmd);
    if (e->kind == CL_SUM && e->bucket != c->expired_bucket) {
        /* a minute's summaries live summary_ttl_s after the minute's first one (+ 60 s:
         * the minute's last request keeps at least its TTL) */
        c->expired_bucket = e->bucket;
        redisAsyncCommand(c->cmd, on_expire, NULL, "EXPIRE %s %u", key, c->summary_ttl_s + 60);
        sy_cluster_cmd_sent(c);
    }
}

void sy_cluster_flush(sy_cluster *c)
{
    if (!c->cmd_ready)
        return;
    for (;;) {
        pthread_mutex_lock(&c->lock);
        cl_entry e = {0};
        int more = c->sent < c->count && c->sent < MAX_INFLIGHT;
        if (more) {
            e = c->ring[(c->head + c->sent) % c->cap];
            c->sent++; /* from now on nobody appends to it */
        }
        pthread_mutex_unlock(&c->lock);
        if (!more)
            return;
        send_entry(c, &e); /* only this thread removes entries: e's buffers stay valid */
    }
}

void sy_cluster_flush_soon(sy_cluster *c)
{
    pthread_mutex_lock(&c->lock);
    int unsent = c->sent < c->count, stopping = c->stopping;
    pthread_mutex_unlock(&c->lock);
    if (stopping)
        sy_cluster_flush(c);
    else if (unsent && !evtimer_pending(c->linger, NULL)) {
        struct timeval tv = {0, SY_CLUSTER_LINGER_MS * 1000};
        evtimer_add(c->linger, &tv);
    }
}
