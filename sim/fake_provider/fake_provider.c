/*
 * fake_provider: the evhttp glue of `switchyard fake-provider` — listener, routing,
 * timers, fault injection on real sockets, backpressure and the /_fake/ control API.
 * Decisions come from fake_scenario.c (pure); bodies come from the dialects.
 *
 * Threading: one event_base, one thread. Nothing blocks; every delay is a timer.
 *
 * Lifetimes and ownership:
 * - fp_server owns the scenario, the generators, the statistics and the list of live
 *   requests.
 * - An fp_req exists for each chat request that passed validation, from its arrival to
 *   its end (completed, fault delivered, client closed). It owns its timer, generated
 *   text and a reference on its fp_record. It borrows the evhttp request and
 *   connection; they are handed back to evhttp at the last send (after clearing our
 *   close callback), freed by us when we inject reset/cut_stream, or freed by evhttp
 *   when the client disconnects — then our close callback runs first and ends the
 *   fp_req, freeing the evhttp request that evhttp detached from the dead connection.
 * - fp_record (one per chat request, rejected ones included) is shared by the
 *   statistics ring and the live fp_req, and freed when both let go.
 *
 * Client-close detection: evhttp disables reading once a request has been read, so a
 * peer that hangs up while we wait (latency, stall) would go unnoticed until the next
 * write. watch_close() re-enables reading with a NULL read callback — exactly what
 * evhttp itself does while writing — so EOF reaches evhttp's error callback, which
 * frees the connection and calls our close callback at once.
 */
#include "fake_provider.h"

#include "clock.h"
#include "fake_dialect.h"
#include "fake_scenario.h"

#include <sys/queue.h> /* before event2/keyvalq_struct.h: TAILQ_FOREACH */

#include <arpa/inet.h>
#include <cjson/cJSON.h>
#include <errno.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <event2/util.h>
#include <fcntl.h>
#include <gsl/gsl_rng.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define FP_RECENT_MAX         1000        /* requests kept in /_fake/stats */
#define FP_BACKPRESSURE_BYTES (64 * 1024) /* pause generation above this much unsent */
#define FP_MAX_BODY_BYTES     (64u << 20)
#define FP_CONN_TIMEOUT_S     3600  /* evhttp idle/read/write timeout: stalls hold long */
#define FP_BODY_RAW_MAX       65536 /* non-JSON bodies are kept up to this many bytes */
#define FP_DEFAULT_LISTEN     "127.0.0.1:9090"

static const fp_dialect *const fp_dialects[] = {&fp_dialect_openai, &fp_dialect_gemini,
                                                &fp_dialect_anthropic};

/* ---- statistics */

typedef struct fp_req fp_req;

typedef struct fp_record {
    int refs;
    uint64_t seq;
    const char *dialect;
    char *path;
    char *model; /* NULL until the body named one */
    int stream;
    cJSON *body;       /* parsed request body, NULL when not JSON */
    char *body_raw;    /* the body when it is not JSON (truncated), else NULL */
    cJSON *headers;    /* lower-cased names; credentials replaced by "present" */
    const char *fault; /* injected fault name, NULL for none */
    char *tool_call;   /* owned: name of the tool the answer calls, NULL for text */
    int status;        /* HTTP status sent, 0 when none was */
    char outcome[48];  /* "" while in progress */
    double start_ms, first_byte_ms, end_ms, client_closed_ms; /* < 0: not (yet) */
    uint64_t bytes; /* body bytes handed to the connection */
    long tokens;    /* content tokens sent */
    fp_req *live;   /* the request still producing this record, or NULL */
} fp_record;

typedef struct fp_counter {
    char *name;
    uint64_t n;
} fp_counter;

typedef struct fp_counters {
    fp_counter *v;
    size_t n, cap;
} fp_counters;

typedef struct fp_server {
    struct event_base *base;
    struct evhttp *http;
    struct evbuffer *scratch; /* reused for chunks; evhttp drains it on every send */
    fp_scenario *scenario;
    uint64_t seed;
    gsl_rng *fault_rng, *latency_rng;
    uint64_t id_nonce; /* makes response ids differ across runs */
    int devnull;       /* dup2 target that turns a socket close into an RST */
    int shutting_down;

    uint64_t seq, total;
    fp_record *recent[FP_RECENT_MAX]; /* ring, oldest at recent_head */
    size_t recent_head, recent_len;
    fp_counters by_model, by_outcome;
    fp_req *live; /* doubly linked through fp_req.prev/next */
    size_t n_live;
} fp_server;

typedef enum fp_phase {
    FP_PHASE_WAIT,      /* before the response starts (latency / TTFT timer) */
    FP_PHASE_STREAM,    /* sending chunks */
    FP_PHASE_STALLED,   /* holding the connection, waiting for the client to go away */
    FP_PHASE_DRAIN_CUT, /* cut_stream: waiting for sent bytes to drain, then close */
} fp_phase;

struct fp_req {
    fp_server *srv;
    struct evhttp_request *req;      /* NULL once handed back or freed */
    struct evhttp_connection *evcon; /* NULL once freed */
    const fp_dialect *d;
    fp_record *rec;
    fp_phase phase;
    int stream;
    fp_exchange x;
    char *model;      /* x.model points here */
    char *tool_name;  /* a tool call answer: x.tool_name points here, else NULL */
    sy_buf tool_args; /* x.tool_args_json points here */
    fp_plan plan;
    fp_text text;
    size_t next;   /* next token to send */
    int started;   /* response headers (and the stream's open event) sent */
    int paused;    /* backpressure: waiting for the output buffer to drain */
    double due_ms; /* earliest time of the next chunk */
    uint64_t queued;
    struct event *timer;
    fp_req *prev, *next_live;
};

void fp_chat_free(fp_chat *c)
{
    free(c->model);
    free(c->tool_name);
    sy_buf_free(&c->echo);
    memset(c, 0, sizeof *c);
}

static double now_ms(void)
{
    return (double)sy_now_ns() / 1e6;
}

static void counters_add(fp_counters *c, const char *name)
{
    for (size_t i = 0; i < c->n; i++) {
        if (strcmp(c->v[i].name, name) == 0) {
            c->v[i].n++;
            return;
        }
    }
    if (c->n == c->cap) {
        c->cap = c->cap ? c->cap * 2 : 8;
        c->v = sy_xrealloc(c->v, c->cap * sizeof *c->v);
    }
    c->v[c->n++] = (fp_counter){sy_xstrdup(name), 1};
}

static void counters_clear(fp_counters *c)
{
    for (size_t i = 0; i < c->n; i++)
        free(c->v[i].name);
    free(c->v);
    memset(c, 0, sizeof *c);
}

static void record_unref(fp_record *r)
{
    if (!r || --r->refs > 0)
        return;
    free(r->path);
    free(r->model);
    free(r->body_raw);
    free(r->tool_call);
    cJSON_Delete(r->body);
    cJSON_Delete(r->headers);
    free(r);
}

/* Push a record into the ring (taking one reference), evicting the oldest. */
static void recent_push(fp_server *srv, fp_record *rec)
{
    rec->refs++;
    if (srv->recent_len == FP_RECENT_MAX) {
        record_unref(srv->recent[srv->recent_head]);
        srv->recent[srv->recent_head] = rec;
        srv->recent_head = (srv->recent_head + 1) % FP_RECENT_MAX;
    } else {
        srv->recent[(srv->recent_head + srv->recent_len) % FP_RECENT_MAX] = rec;
        srv->recent_len++;
    }
}

static void stats_clear(fp_server *srv)
{
    for (size_t i = 0; i < srv->recent_len; i++)
        record_unref(srv->recent[(srv->recent_head + i) % FP_RECENT_MAX]);
    srv->recent_head = srv->recent_len = 0;
    srv->total = 0;
    counters_clear(&srv->by_model);
    counters_clear(&srv->by_outcome);
}

static int is_credential_header(const char *lower)
{
    return strcmp(lower, "authorization") == 0 || strcmp(lower, "x-api-key") == 0 ||
           strcmp(lower, "x-goog-api-key") == 0 || strcmp(lower, "proxy-authorization") == 0;
}

/*
 * Start the record of a chat request: headers (credentials redacted), the body parsed
 * when it is JSON. Returns the record with one reference for the caller, another held
 * by the ring. *body_out borrows the parsed body (owned by the record) or is NULL.
 */
static fp_record *record_start(fp_server *srv, const fp_dialect *d, struct evhttp_request *req,
                               const char *path, const cJSON **body_out)
{
    fp_record *rec = sy_xcalloc(1, sizeof *rec);
    rec->refs = 1;
    rec->seq = ++srv->seq;
    rec->dialect = d->name;
    rec->path = sy_xstrdup(path);
    rec->start_ms = now_ms();
    rec->first_byte_ms = rec->end_ms = rec->client_closed_ms = -1;

    rec->headers = cJSON_CreateObject();
    struct evkeyval *h;
    TAILQ_FOREACH(h, evhttp_request_get_input_headers(req), next)
    {
        char name[128];
        size_t i = 0;
        for (; h->key[i] && i < sizeof name - 1; i++)
            name[i] = (char)(h->key[i] >= 'A' && h->key[i] <= 'Z' ? h->key[i] + 32 : h->key[i]);
        name[i] = '\0';
        const char *value = is_credential_header(name) ? "present" : h->value;
        cJSON_DeleteItemFromObjectCaseSensitive(rec->headers, name);
        cJSON_AddStringToObject(rec->headers, name, value);
    }

    struct evbuffer *in = evhttp_request_get_input_buffer(req);
    size_t len = evbuffer_get_length(in);
    const char *data = len ? (const char *)evbuffer_pullup(in, -1) : "";
    rec->body = len ? cJSON_ParseWithLength(data, len) : NULL;
    if (!rec->body && len)
        rec->body_raw = sy_xstrndup(data, len < FP_BODY_RAW_MAX ? len : FP_BODY_RAW_MAX);
    *body_out = rec->body;

    srv->total++;
    recent_push(srv, rec);
    return rec;
}

/* Close a record: outcome, end time, counters. Idempotent on the outcome. */
static void record_end(fp_server *srv, fp_record *rec, const char *outcome)
{
    if (rec->outcome[0])
        return;
    snprintf(rec->outcome, sizeof rec->outcome, "%s", outcome);
    rec->end_ms = now_ms();
    counters_add(&srv->by_outcome, outcome);
}

/* ---- small HTTP helpers */

static const char *reason_phrase(int status)
{
    switch (status) {
    case 200:
        return "OK";
    case 400:
        return "Bad Request";
    case 401:
        return "Unauthorized";
    case 404:
        return "Not Found";
    case 405:
        return "Method Not Allowed";
    case 429:
        return "Too Many Requests";
    case 500:
        return "Internal Server Error";
    case 503:
        return "Service Unavailable";
    case 529:
        return "Site Overloaded";
    default:
        return "Unknown";
    }
}

/* Send a complete response with a JSON (or given content type) body. */
static void send_body(struct evhttp_request *req, int status, const char *ctype, const char *body,
                      size_t len)
{
    struct evkeyvalq *oh = evhttp_request_get_output_headers(req);
    evhttp_add_header(oh, "Content-Type", ctype ? ctype : "application/json");
    evbuffer_add(evhttp_request_get_output_buffer(req), body, len);
    evhttp_send_reply(req, status, reason_phrase(status), NULL);
}

static void send_json(struct evhttp_request *req, int status, const sy_buf *b)
{
    send_body(req, status, NULL, b->data ? b->data : "", b->len);
}

/* Reply with a dialect error; returns the status sent. */
static int send_error(struct evhttp_request *req, const fp_dialect *d, fp_error_code code,
                      const char *message, int retry_after_s)
{
    sy_buf b = {0};
    int status = d->render_error(code, message, &b);
    if (retry_after_s >= 0) {
        char v[24];
        snprintf(v, sizeof v, "%d", retry_after_s);
        evhttp_add_header(evhttp_request_get_output_headers(req), "Retry-After", v);
    }
    send_json(req, status, &b);
    sy_buf_free(&b);
    return status;
}

/* Reject a recorded request before any fp_req exists. */
static void reject(fp_server *srv, fp_record *rec, struct evhttp_request *req, const fp_dialect *d,
                   fp_error_code code, const char *message, const char *outcome)
{
    rec->status = send_error(req, d, code, message, -1);
    rec->first_byte_ms = now_ms();
    record_end(srv, rec, outcome);
}

/*
 * Make a peer's close visible while we are not writing (see the file comment): keep
 * evhttp's write and event callbacks, drop its read callback (evhttp aborts if it reads
 * in the writing state; pipelined bytes just wait in the input buffer), enable reading.
 */
static void watch_close(struct evhttp_connection *evcon)
{
    struct bufferevent *bev = evhttp_connection_get_bufferevent(evcon);
    bufferevent_data_cb rd, wr;
    bufferevent_event_cb ev;
    void *arg;
    bufferevent_getcb(bev, &rd, &wr, &ev, &arg);
    bufferevent_setcb(bev, NULL, wr, ev, arg);
    bufferevent_enable(bev, EV_READ);
}

/* Bytes queued on the connection but not yet written to the socket. */
static size_t pending_output(struct evhttp_connection *evcon)
{
    return evbuffer_get_length(bufferevent_get_output(evhttp_connection_get_bufferevent(evcon)));
}

/* ---- request lifecycle */

static void req_timer_cb(evutil_socket_t fd, short what, void *arg);
static void req_close_cb(struct evhttp_connection *evcon, void *arg);

/*
 * End a request: record the outcome, unlink, free what it owns. The evhttp request must
 * already be handed back (req == NULL) or still be ours to abandon at shutdown; our
 * close callback is removed from a still-open connection so evhttp never calls back
 * into freed memory.
 */
static void req_finish(fp_req *r, const char *outcome)
{
    fp_server *srv = r->srv;
    record_end(srv, r->rec, outcome);
    r->rec->bytes = r->queued;
    r->rec->live = NULL;
    record_unref(r->rec);
    if (r->evcon)
        evhttp_connection_set_closecb(r->evcon, NULL, NULL);
    if (r->prev)
        r->prev->next_live = r->next_live;
    else
        srv->live = r->next_live;
    if (r->next_live)
        r->next_live->prev = r->prev;
    srv->n_live--;
    event_free(r->timer);
    fp_text_free(&r->text);
    free(r->model);
    free(r->tool_name);
    sy_buf_free(&r->tool_args);
    free(r);
}

/* Give the evhttp request back for its final send: no more close callbacks for us. */
static struct evhttp_request *req_release(fp_req *r)
{
    struct evhttp_request *req = r->req;
    evhttp_connection_set_closecb(r->evcon, NULL, NULL);
    r->req = NULL;
    r->evcon = NULL;
    return req;
}

static void arm_timer(fp_req *r, double ms)
{
    if (ms < 0)
        ms = 0;
    struct timeval tv = {(time_t)(ms / 1000), (suseconds_t)((long)(ms * 1000) % 1000000)};
    evtimer_add(r->timer, &tv);
}

/*
 * Abort the connection with an RST: SO_LINGER 0, then close the socket by dup2()ing
 * /dev/null over its descriptor — evhttp_connection_free() would otherwise shutdown()
 * first and the peer would see a clean FIN. evhttp later closes the /dev/null copy.
 */
static void do_reset(fp_req *r)
{
    struct evhttp_connection *evcon = r->evcon;
    evutil_socket_t fd = bufferevent_getfd(evhttp_connection_get_bufferevent(evcon));
    struct linger lg = {1, 0};
    if (fd >= 0) {
        setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
        dup2(r->srv->devnull, fd);
    }
    evhttp_connection_set_closecb(evcon, NULL, NULL);
    r->req = NULL; /* not finished by us: evhttp_connection_free frees it */
    r->evcon = NULL;
    evhttp_connection_free(evcon);
    req_finish(r, "error:reset");
}

/* cut_stream: close after the sent bytes reached the socket; the body stays unfinished. */
static void do_cut(fp_req *r)
{
    struct evhttp_connection *evcon = r->evcon;
    evhttp_connection_set_closecb(evcon, NULL, NULL);
    r->req = NULL;
    r->evcon = NULL;
    evhttp_connection_free(evcon);
    req_finish(r, "error:cut_stream");
}

/* Drained output (evhttp write callback): resume a paused stream or finish a cut. */
static void req_drain_cb(struct evhttp_connection *evcon, void *arg)
{
    fp_req *r = arg;
    if (r->phase == FP_PHASE_DRAIN_CUT || (r->phase == FP_PHASE_STREAM && r->paused)) {
        r->paused = 0;
        arm_timer(r, 0); /* act from the timer, never inside evhttp's callback */
    }
}

/* Append body bytes to the (already started) response. */
static void write_chunk(fp_req *r, const sy_buf *b)
{
    struct evbuffer *scratch = r->srv->scratch;
    evbuffer_add(scratch, b->data, b->len);
    evhttp_send_reply_chunk_with_cb(r->req, scratch, req_drain_cb, r);
    evbuffer_drain(scratch, evbuffer_get_length(scratch)); /* in case evhttp kept it */
    r->queued += b->len;
    watch_close(r->evcon);
}

/* Send the 200 headers of a streamed (chunked) response. */
static void start_reply(fp_req *r, const char *ctype)
{
    struct evkeyvalq *oh = evhttp_request_get_output_headers(r->req);
    evhttp_add_header(oh, "Content-Type", ctype);
    if (r->stream) {
        evhttp_add_header(oh, "Cache-Control", "no-cache");
        evhttp_add_header(oh, "X-Accel-Buffering", "no");
    }
    evhttp_send_reply_start(r->req, 200, "OK");
    r->started = 1;
    r->rec->status = 200;
    r->rec->first_byte_ms = now_ms();
}

static void stream_open(fp_req *r)
{
    sy_buf b = {0};
    start_reply(r, r->d->stream_content_type);
    r->d->render_stream_open(&r->x, &b);
    write_chunk(r, &b);
    sy_buf_free(&b);
}

static void stream_end(fp_req *r, const sy_buf *tail, const char *outcome)
{
    if (tail && tail->len)
        write_chunk(r, tail);
    evhttp_send_reply_end(req_release(r));
    req_finish(r, outcome);
}

/* Fire a mid-stream fault after `next` tokens have been sent. */
static void stream_fault(fp_req *r)
{
    sy_buf b = {0};
    switch (r->plan.fault) {
    case FP_FAULT_STALL:
        r->phase = FP_PHASE_STALLED;
        if (r->evcon)
            watch_close(r->evcon);
        break;
    case FP_FAULT_CUT_STREAM:
        if (!r->started || pending_output(r->evcon) == 0) {
            do_cut(r);
        } else {
            r->phase = FP_PHASE_DRAIN_CUT;
            /* the drain callback of the last chunk fires once the buffer empties */
        }
        break;
    case FP_FAULT_ERROR_EVENT:
        if (!r->started)
            stream_open(r);
        if (r->d->render_stream_error)
            r->d->render_stream_error(&r->x, &b);
        else
            sy_buf_puts(&b, "data: {\"error\":{\"message\":\"The server had an error while "
                            "processing your request.\",\"type\":\"server_error\",\"param\":"
                            "null,\"code\":null}}\n\n");
        stream_end(r, &b, "error:error_event");
        break;
    case FP_FAULT_MALFORMED_JSON:
    default:
        if (!r->started)
            stream_open(r);
        r->d->render_malformed(&r->x, 1, &b);
        sy_buf_puts(&b, "data: [DONE]\n\n");
        stream_end(r, &b, "error:malformed_json");
        break;
    }
    sy_buf_free(&b);
}

static int is_stream_fault(fp_fault f)
{
    return f == FP_FAULT_STALL || f == FP_FAULT_CUT_STREAM || f == FP_FAULT_MALFORMED_JSON ||
           f == FP_FAULT_ERROR_EVENT;
}

/*
 * Produce stream chunks until the response ends, a fault fires, pacing asks to wait
 * (timer armed) or backpressure does (paused until the drain callback). The response
 * headers and the open event go out together with the first content chunk, so a fault
 * at 0 tokens means nothing was sent at all.
 */
static void pump(fp_req *r)
{
    size_t fault_at = is_stream_fault(r->plan.fault) ? (size_t)r->plan.after_tokens : SIZE_MAX;
    if (fault_at > r->text.n && fault_at != SIZE_MAX)
        fault_at = r->text.n;
    /* a tool call is one event: a fault fires before it (after_tokens 0) or after it */
    if (r->x.tool_name && fault_at != SIZE_MAX && fault_at > 0)
        fault_at = r->text.n;
    for (;;) {
        if (r->paused)
            return;
        if (r->next == fault_at) {
            stream_fault(r);
            return;
        }
        if (r->next == r->text.n) {
            sy_buf b = {0};
            if (!r->started)
                stream_open(r);
            r->d->render_stream_close(&r->x, &b);
            stream_end(r, &b, "completed");
            sy_buf_free(&b);
            return;
        }
        double now = now_ms();
        if (r->due_ms > now) {
            arm_timer(r, r->due_ms - now);
            return;
        }
        size_t n = r->x.tool_name ? r->text.n : (size_t)r->plan.chunk_tokens;
        size_t stop = fault_at < r->text.n ? fault_at : r->text.n;
        if (n > stop - r->next)
            n = stop - r->next;
        if (!r->started)
            stream_open(r);
        size_t len0, len1;
        const char *s = fp_text_token(&r->text, r->next, &len0);
        const char *e = fp_text_token(&r->text, r->next + n - 1, &len1);
        sy_buf b = {0};
        if (r->x.tool_name)
            r->d->render_stream_tool_call(&r->x, &b);
        else
            r->d->render_stream_delta(&r->x, s, (size_t)(e + len1 - s), &b);
        write_chunk(r, &b);
        sy_buf_free(&b);
        r->next += n;
        r->rec->tokens = (long)r->next;
        if (r->plan.tps > 0)
            r->due_ms = now + (double)n * 1000.0 / r->plan.tps;
        if (pending_output(r->evcon) > FP_BACKPRESSURE_BYTES)
            r->paused = 1;
    }
}

/* The response starts: deliver the planned fault, or the answer. */
static void req_start(fp_req *r)
{
    fp_fault f = r->plan.fault;
    const fp_dialect *d = r->d;
    if (f == FP_FAULT_ERROR_EVENT && !r->stream)
        f = FP_FAULT_HTTP_500; /* a non-stream answer has no events: a plain 500 */
    if (fp_fault_is_http(f)) {
        static const fp_error_code codes[FP_FAULT_COUNT] = {
            [FP_FAULT_HTTP_400] = FP_ERR_INJECTED_400, [FP_FAULT_HTTP_429] = FP_ERR_RATE_LIMIT,
            [FP_FAULT_HTTP_429_QUOTA] = FP_ERR_QUOTA,  [FP_FAULT_HTTP_500] = FP_ERR_SERVER,
            [FP_FAULT_HTTP_503] = FP_ERR_UNAVAILABLE,  [FP_FAULT_HTTP_529] = FP_ERR_OVERLOADED,
        };
        char outcome[48];
        snprintf(outcome, sizeof outcome, "error:%s", fp_fault_name(f));
        int retry = f == FP_FAULT_HTTP_429_QUOTA ? -1 : r->plan.retry_after_s;
        r->rec->first_byte_ms = now_ms();
        r->rec->status = send_error(req_release(r), d, codes[f], NULL, retry);
        req_finish(r, outcome);
        return;
    }
    if (f == FP_FAULT_RESET) {
        do_reset(r);
        return;
    }
    if (r->stream) {
        r->phase = FP_PHASE_STREAM;
        pump(r);
        return;
    }
    sy_buf b = {0};
    if (f == FP_FAULT_STALL) {
        r->phase = FP_PHASE_STALLED;
        watch_close(r->evcon);
    } else if (f == FP_FAULT_MALFORMED_JSON) {
        d->render_malformed(&r->x, 0, &b);
        r->queued = b.len;
        r->rec->status = 200;
        r->rec->first_byte_ms = now_ms();
        send_json(req_release(r), 200, &b);
        req_finish(r, "error:malformed_json");
    } else if (f == FP_FAULT_CUT_STREAM) {
        /* non-stream: a chunked 200 carrying the first half of the body, then close */
        sy_buf full = {0};
        d->render_completion(&r->x, r->text.text.data ? r->text.text.data : "", r->text.text.len,
                             &full);
        sy_buf_append(&b, full.data, full.len / 2);
        sy_buf_free(&full);
        start_reply(r, "application/json");
        write_chunk(r, &b);
        r->phase = FP_PHASE_DRAIN_CUT;
    } else {
        d->render_completion(&r->x, r->text.text.data ? r->text.text.data : "", r->text.text.len,
                             &b);
        r->queued = b.len;
        r->rec->tokens = (long)r->text.n;
        r->rec->status = 200;
        r->rec->first_byte_ms = now_ms();
        send_json(req_release(r), 200, &b);
        req_finish(r, "completed");
    }
    sy_buf_free(&b);
}

static void req_timer_cb(evutil_socket_t fd, short what, void *arg)
{
    fp_req *r = arg;
    switch (r->phase) {
    case FP_PHASE_WAIT:
        req_start(r);
        break;
    case FP_PHASE_STREAM:
        pump(r);
        break;
    case FP_PHASE_DRAIN_CUT:
        do_cut(r);
        break;
    case FP_PHASE_STALLED:
        break;
    }
}

/*
 * evhttp is freeing the connection because the peer closed it (or it failed). evhttp
 * has already detached our request from the connection; it is ours to free.
 */
static void req_close_cb(struct evhttp_connection *evcon, void *arg)
{
    fp_req *r = arg;
    if (r->srv->shutting_down)
        return;
    size_t unsent = pending_output(evcon);
    r->rec->client_closed_ms = now_ms();
    r->queued -= unsent < r->queued ? unsent : r->queued;
    if (r->req && evhttp_request_get_connection(r->req) == NULL)
        evhttp_request_free(r->req);
    r->req = NULL;
    r->evcon = NULL;
    req_finish(r, r->phase == FP_PHASE_STALLED ? "error:stall" : "client_closed");
}

/* ---- routes */

static void make_id(fp_server *srv, uint64_t seq, char *out, size_t cap, const char *prefix)
{
    uint64_t z = seq * 0x9e3779b97f4a7c15ull + srv->id_nonce;
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    z ^= z >> 31;
    snprintf(out, cap, "%s%016llx%08llx", prefix, (unsigned long long)z,
             (unsigned long long)(seq & 0xffffffffull));
}

static int authorized(const fp_server *srv, const fp_dialect *d, struct evhttp_request *req)
{
    const char *key = srv->scenario->api_key;
    if (!key)
        return 1;
    const char *v = evhttp_find_header(evhttp_request_get_input_headers(req), d->auth_header);
    size_t sl = strlen(d->auth_scheme);
    if (!v || strncasecmp(v, d->auth_scheme, sl) != 0)
        return 0;
    return strcmp(v + sl, key) == 0;
}

/*
 * A chat request: record it, validate (auth, JSON, dialect schema, model, x-fake-*
 * headers), plan it and either answer at once (no delay, no connection-level fault) or
 * arm the start timer.
 */
static void handle_chat(fp_server *srv, const fp_dialect *d, struct evhttp_request *req,
                        const char *path)
{
    const cJSON *body;
    fp_record *rec = record_start(srv, d, req, path, &body);
    fp_chat chat = {0};
    sy_buf err = {0};
    char msg[512];

    if (!authorized(srv, d, req)) {
        reject(srv, rec, req, d, FP_ERR_UNAUTHORIZED, NULL, "rejected:invalid_api_key");
        goto out;
    }
    if (!body) {
        reject(srv, rec, req, d, FP_ERR_INVALID_REQUEST,
               "We could not parse the JSON body of your request.", "rejected:invalid_json");
        goto out;
    }
    if (d->parse_chat(body, &chat, &err) != SY_OK ||
        (d->parse_path && d->parse_path(path, &chat, &err) != SY_OK)) {
        reject(srv, rec, req, d, FP_ERR_INVALID_REQUEST, err.data, "rejected:invalid_request");
        goto out;
    }
    rec->model = sy_xstrdup(chat.model);
    rec->stream = chat.stream;
    counters_add(&srv->by_model, chat.model);
    const fp_model *m = fp_scenario_lookup(srv->scenario, chat.model);
    if (!m) {
        snprintf(msg, sizeof msg, "The model `%s` does not exist or you do not have access to it.",
                 chat.model);
        reject(srv, rec, req, d, FP_ERR_MODEL_NOT_FOUND, msg, "rejected:model_not_found");
        goto out;
    }
    struct evkeyvalq *ih = evhttp_request_get_input_headers(req);
    fp_overrides ov;
    if (fp_overrides_parse(
            evhttp_find_header(ih, "x-fake-error"), evhttp_find_header(ih, "x-fake-latency-ms"),
            evhttp_find_header(ih, "x-fake-tokens"), evhttp_find_header(ih, "x-fake-tps"),
            evhttp_find_header(ih, "x-fake-after-tokens"), &ov, &err) != SY_OK) {
        reject(srv, rec, req, d, FP_ERR_INVALID_REQUEST, err.data, "rejected:invalid_request");
        goto out;
    }

    fp_req *r = sy_xcalloc(1, sizeof *r);
    r->srv = srv;
    r->req = req;
    r->evcon = evhttp_request_get_connection(req);
    r->d = d;
    r->rec = rec;
    rec->refs++;
    rec->live = r;
    r->stream = chat.stream;
    r->phase = FP_PHASE_WAIT;
    r->timer = evtimer_new(srv->base, req_timer_cb, r);
    r->next_live = srv->live;
    if (srv->live)
        srv->live->prev = r;
    srv->live = r;
    srv->n_live++;

    fp_plan_make(m, chat.stream, &ov, srv->fault_rng, srv->latency_rng, &r->plan);
    rec->fault = r->plan.fault ? fp_fault_name(r->plan.fault) : NULL;
    int truncated = 0;
    /* The answer: a tool call (its tokens are those of the arguments text, so usage and
     * tokens_sent stay consistent), or text. A dialect that cannot render a streamed
     * call never answers with one. */
    if (d->render_stream_tool_call &&
        fp_tool_call_args(chat.tool_name, chat.last_is_tool_result, chat.echo.data, chat.echo.len,
                          &r->tool_args)) {
        fp_tokenize(r->tool_args.data, r->tool_args.len, &r->text);
        r->tool_name = chat.tool_name;
        chat.tool_name = NULL;
        r->x.tool_name = r->tool_name;
        r->x.tool_args_json = r->tool_args.data;
        fp_tool_call_id(srv->seed, rec->seq, r->x.tool_call_id, sizeof r->x.tool_call_id);
        rec->tool_call = sy_xstrdup(r->tool_name);
    } else {
        fp_content_build(m, chat.echo.data, chat.echo.len, r->plan.tokens, chat.max_tokens,
                         &r->text, &truncated);
    }

    make_id(srv, rec->seq, r->x.id, sizeof r->x.id, "chatcmpl-");
    r->x.created = (int64_t)(sy_wall_ms() / 1000);
    r->model = chat.model;
    chat.model = NULL;
    r->x.model = r->model;
    r->x.include_usage = chat.include_usage;
    r->x.prompt_tokens = fp_prompt_tokens(chat.prompt_bytes);
    r->x.cached_tokens =
        r->plan.cached_tokens < r->x.prompt_tokens ? r->plan.cached_tokens : r->x.prompt_tokens;
    long uncached = r->x.prompt_tokens - r->x.cached_tokens;
    r->x.cache_write_tokens =
        r->plan.cache_write_tokens < uncached ? r->plan.cache_write_tokens : uncached;
    r->x.completion_tokens = (long)r->text.n;
    r->x.truncated = truncated;

    char rid[48];
    make_id(srv, rec->seq ^ 0x5bd1e995ull, rid, sizeof rid, "req_");
    evhttp_add_header(evhttp_request_get_output_headers(req), "x-request-id", rid);
    evhttp_connection_set_closecb(r->evcon, req_close_cb, r);

    /* Connection-level faults always go through the timer: evhttp is still inside its
     * read path here and must not see its connection freed under it. */
    if (r->plan.delay_ms > 0 || r->plan.fault == FP_FAULT_RESET ||
        r->plan.fault == FP_FAULT_CUT_STREAM) {
        watch_close(r->evcon);
        arm_timer(r, r->plan.delay_ms);
    } else {
        req_start(r);
    }
out:
    record_unref(rec);
    fp_chat_free(&chat);
    sy_buf_free(&err);
}

static void handle_models(fp_server *srv, const fp_dialect *d, struct evhttp_request *req)
{
    if (!authorized(srv, d, req)) {
        send_error(req, d, FP_ERR_UNAUTHORIZED, NULL, -1);
        return;
    }
    const fp_scenario *s = srv->scenario;
    const char **names = sy_xcalloc(s->n_models + 1, sizeof *names);
    for (size_t i = 0; i < s->n_models; i++)
        names[i] = s->models[i].name;
    sy_buf b = {0};
    d->render_models(names, s->n_models, (int64_t)(sy_wall_ms() / 1000), &b);
    send_json(req, 200, &b);
    sy_buf_free(&b);
    free(names);
}

/* ---- /_fake/ control API */

static cJSON *ms_or_null(double ms)
{
    return ms < 0 ? cJSON_CreateNull() : cJSON_CreateNumber(ms);
}

/*
 * Render one record. Bodies and headers are added as references (no copy): the caller
 * deletes the returned tree before the record can change.
 */
static cJSON *record_json(const fp_record *rec)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddNumberToObject(o, "seq", (double)rec->seq);
    cJSON_AddStringToObject(o, "dialect", rec->dialect);
    cJSON_AddStringToObject(o, "path", rec->path);
    cJSON_AddItemToObject(o, "model",
                          rec->model ? cJSON_CreateString(rec->model) : cJSON_CreateNull());
    cJSON_AddBoolToObject(o, "stream", rec->stream);
    cJSON_AddItemToObject(o, "fault",
                          rec->fault ? cJSON_CreateString(rec->fault) : cJSON_CreateNull());
    cJSON_AddItemToObject(o, "tool_call",
                          rec->tool_call ? cJSON_CreateString(rec->tool_call) : cJSON_CreateNull());
    cJSON_AddNumberToObject(o, "status", rec->status);
    cJSON_AddStringToObject(o, "outcome", rec->outcome[0] ? rec->outcome : "in_progress");
    cJSON_AddItemToObject(o, "start_ms", ms_or_null(rec->start_ms));
    cJSON_AddItemToObject(o, "first_byte_ms", ms_or_null(rec->first_byte_ms));
    cJSON_AddItemToObject(o, "end_ms", ms_or_null(rec->end_ms));
    cJSON_AddItemToObject(o, "client_closed_ms", ms_or_null(rec->client_closed_ms));
    uint64_t bytes = rec->bytes;
    if (rec->live) {
        bytes = rec->live->queued;
        if (rec->live->evcon) {
            size_t unsent = pending_output(rec->live->evcon);
            bytes -= unsent < bytes ? unsent : bytes;
        }
    }
    cJSON_AddNumberToObject(o, "bytes_sent", (double)bytes);
    cJSON_AddNumberToObject(o, "tokens_sent", (double)rec->tokens);
    if (rec->body)
        cJSON_AddItemReferenceToObject(o, "body", rec->body);
    else
        cJSON_AddNullToObject(o, "body");
    if (rec->body_raw)
        cJSON_AddStringToObject(o, "body_raw", rec->body_raw);
    cJSON_AddItemReferenceToObject(o, "headers", rec->headers);
    return o;
}

static cJSON *counters_json(const fp_counters *c)
{
    cJSON *o = cJSON_CreateObject();
    for (size_t i = 0; i < c->n; i++)
        cJSON_AddNumberToObject(o, c->v[i].name, (double)c->v[i].n);
    return o;
}

static void send_cjson(struct evhttp_request *req, int status, cJSON *doc)
{
    char *text = cJSON_PrintUnformatted(doc);
    send_body(req, status, NULL, text, strlen(text));
    cJSON_free(text);
    cJSON_Delete(doc);
}

static void send_admin_error(struct evhttp_request *req, int status, const char *message)
{
    cJSON *doc = cJSON_CreateObject();
    cJSON *e = cJSON_AddObjectToObject(doc, "error");
    cJSON_AddStringToObject(e, "message", message);
    cJSON_AddStringToObject(e, "type", "invalid_request_error");
    send_cjson(req, status, doc);
}

static void admin_stats(fp_server *srv, struct evhttp_request *req)
{
    cJSON *doc = cJSON_CreateObject();
    cJSON_AddNumberToObject(doc, "now_ms", now_ms());
    cJSON_AddNumberToObject(doc, "total_requests", (double)srv->total);
    cJSON_AddNumberToObject(doc, "in_flight", (double)srv->n_live);
    cJSON_AddItemToObject(doc, "by_model", counters_json(&srv->by_model));
    cJSON_AddItemToObject(doc, "by_outcome", counters_json(&srv->by_outcome));
    cJSON_AddNumberToObject(doc, "recent_limit", FP_RECENT_MAX);
    cJSON *list = cJSON_AddArrayToObject(doc, "requests");
    for (size_t i = 0; i < srv->recent_len; i++)
        cJSON_AddItemToArray(list,
                             record_json(srv->recent[(srv->recent_head + i) % FP_RECENT_MAX]));
    send_cjson(req, 200, doc);
}

static void admin_quality(fp_server *srv, struct evhttp_request *req)
{
    const fp_scenario *s = srv->scenario;
    cJSON *doc = cJSON_CreateObject();
    cJSON *models = cJSON_AddObjectToObject(doc, "models");
    for (size_t i = 0; i < s->n_models; i++)
        cJSON_AddNumberToObject(models, s->models[i].name, s->models[i].quality);
    cJSON_AddNumberToObject(doc, "default", s->defaults.quality);
    send_cjson(req, 200, doc);
}

static void install_scenario(fp_server *srv, fp_scenario *s, int keep_seed)
{
    fp_scenario_free(srv->scenario);
    srv->scenario = s;
    if (s->has_seed && !keep_seed) {
        srv->seed = s->seed;
        fp_rng_seed(srv->fault_rng, srv->latency_rng, srv->seed);
    }
}

static void admin_scenario(fp_server *srv, struct evhttp_request *req)
{
    struct evbuffer *in = evhttp_request_get_input_buffer(req);
    size_t len = evbuffer_get_length(in);
    const char *data = len ? (const char *)evbuffer_pullup(in, -1) : "";
    fp_scenario *s;
    sy_buf err = {0};
    if (fp_scenario_parse(data, len, &s, &err) != SY_OK) {
        send_admin_error(req, 400, err.data);
        sy_buf_free(&err);
        return;
    }
    install_scenario(srv, s, 0);
    cJSON *doc = cJSON_CreateObject();
    cJSON_AddBoolToObject(doc, "ok", 1);
    cJSON_AddNumberToObject(doc, "seed", (double)srv->seed);
    cJSON *names = cJSON_AddArrayToObject(doc, "models");
    for (size_t i = 0; i < s->n_models; i++)
        cJSON_AddItemToArray(names, cJSON_CreateString(s->models[i].name));
    send_cjson(req, 200, doc);
}

static void admin_reset(fp_server *srv, struct evhttp_request *req)
{
    stats_clear(srv);
    fp_rng_seed(srv->fault_rng, srv->latency_rng, srv->seed);
    cJSON *doc = cJSON_CreateObject();
    cJSON_AddBoolToObject(doc, "ok", 1);
    cJSON_AddNumberToObject(doc, "seed", (double)srv->seed);
    send_cjson(req, 200, doc);
}

static void handle_admin(fp_server *srv, struct evhttp_request *req, const char *path)
{
    enum evhttp_cmd_type m = evhttp_request_get_command(req);
    static const struct {
        const char *path;
        enum evhttp_cmd_type method;
        void (*fn)(fp_server *, struct evhttp_request *);
    } routes[] = {
        {"/_fake/stats", EVHTTP_REQ_GET, admin_stats},
        {"/_fake/reset", EVHTTP_REQ_POST, admin_reset},
        {"/_fake/quality", EVHTTP_REQ_GET, admin_quality},
        {"/_fake/scenario", EVHTTP_REQ_POST, admin_scenario},
    };
    for (size_t i = 0; i < SY_ARRAY_LEN(routes); i++) {
        if (strcmp(path, routes[i].path) != 0)
            continue;
        if (m != routes[i].method) {
            send_admin_error(req, 405, "method not allowed");
            return;
        }
        routes[i].fn(srv, req);
        return;
    }
    send_admin_error(req, 404, "unknown /_fake/ endpoint");
}

/* Every request enters here (evhttp generic callback). */
static void on_request(struct evhttp_request *req, void *arg)
{
    fp_server *srv = arg;
    const struct evhttp_uri *uri = evhttp_request_get_evhttp_uri(req);
    const char *path = uri ? evhttp_uri_get_path(uri) : NULL;
    if (!path || !*path)
        path = "/";
    if (strncmp(path, "/_fake/", 7) == 0) {
        handle_admin(srv, req, path);
        return;
    }
    enum evhttp_cmd_type m = evhttp_request_get_command(req);
    for (size_t i = 0; i < SY_ARRAY_LEN(fp_dialects); i++) {
        const fp_dialect *d = fp_dialects[i];
        fp_route_kind k = d->route(path);
        if (k == FP_ROUTE_CHAT && m == EVHTTP_REQ_POST) {
            handle_chat(srv, d, req, path);
            return;
        }
        if (k == FP_ROUTE_MODELS && m == EVHTTP_REQ_GET) {
            handle_models(srv, d, req);
            return;
        }
        if (k != FP_ROUTE_NONE) {
            send_error(req, d, FP_ERR_METHOD, NULL, -1);
            return;
        }
    }
    send_error(req, fp_dialects[0], FP_ERR_NOT_FOUND, NULL, -1);
}

/* ---- command line and main loop */

static void usage(FILE *f)
{
    fputs("usage: switchyard fake-provider [--scenario FILE] [--listen ADDR:PORT]\n"
          "                                [--port-file PATH] [--seed N]\n"
          "\n"
          "A scripted LLM provider for tests and benchmarks. Serves the OpenAI dialect\n"
          "(POST /v1/chat/completions, GET /v1/models), Gemini (POST\n"
          "/v1beta/models/M:generateContent and :streamGenerateContent) and Anthropic\n"
          "Messages (POST /v1/messages) with per-model latency, streaming\n"
          "pace, content and injected faults, and a control API under /_fake/ (stats,\n"
          "reset, quality, scenario). Runs until SIGTERM or SIGINT. See\n"
          "docs/fake-provider.md.\n"
          "\n"
          "  --scenario FILE    JSON scenario (models, latency, errors, api_key, seed).\n"
          "                     Without it every model name is accepted with defaults:\n"
          "                     no latency, 16 lorem tokens, no errors, no auth.\n"
          "  --listen ADDR:PORT address to bind (default " FP_DEFAULT_LISTEN "); port 0 picks\n"
          "                     a free port; IPv6 as [::1]:PORT.\n"
          "  --port-file PATH   once listening, write the bound port (decimal and a\n"
          "                     newline) to PATH, atomically (temp file + rename).\n"
          "  --seed N           seed for fault and latency draws; overrides the\n"
          "                     scenario's \"seed\" (default: scenario seed, else 0).\n"
          "  --help             show this help.\n"
          "\n"
          "Per-request test headers: x-fake-error: KIND, x-fake-latency-ms: MS,\n"
          "x-fake-tokens: N, x-fake-tps: N, x-fake-after-tokens: N.\n",
          f);
}

/* Read a whole file; 0 or SY_ERR_IO. */
static int read_file(const char *path, sy_buf *out)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return SY_ERR_IO;
    char chunk[8192];
    size_t n;
    while ((n = fread(chunk, 1, sizeof chunk, f)) > 0)
        sy_buf_append(out, chunk, n);
    int bad = ferror(f);
    fclose(f);
    return bad ? SY_ERR_IO : SY_OK;
}

/* "HOST:PORT" or "[V6]:PORT" into host (owned) and port; 0 or SY_ERR_INVALID. */
static int parse_listen(const char *spec, char **host, unsigned *port)
{
    const char *colon = strrchr(spec, ':');
    if (!colon || !colon[1])
        return SY_ERR_INVALID;
    char *end;
    unsigned long p = strtoul(colon + 1, &end, 10);
    if (*end || p > 65535)
        return SY_ERR_INVALID;
    const char *h = spec;
    size_t hl = (size_t)(colon - spec);
    if (hl >= 2 && h[0] == '[' && h[hl - 1] == ']') {
        h++;
        hl -= 2;
    }
    *host = hl ? sy_xstrndup(h, hl) : sy_xstrdup("127.0.0.1");
    *port = (unsigned)p;
    return SY_OK;
}

static int write_port_file(const char *path, unsigned port)
{
    sy_buf tmp = {0};
    sy_buf_printf(&tmp, "%s.tmp.%ld", path, (long)getpid());
    FILE *f = fopen(tmp.data, "w");
    int rc = SY_ERR_IO;
    if (f) {
        int ok = fprintf(f, "%u\n", port) > 0;
        ok &= fclose(f) == 0;
        if (ok && rename(tmp.data, path) == 0)
            rc = SY_OK;
        else
            unlink(tmp.data);
    }
    sy_buf_free(&tmp);
    return rc;
}

static void on_signal(evutil_socket_t sig, short what, void *arg)
{
    event_base_loopbreak(arg);
}

typedef struct fp_options {
    const char *scenario;
    const char *listen;
    const char *port_file;
    int has_seed;
    uint64_t seed;
} fp_options;

/* Parse flags ("--flag value" or "--flag=value"); 0, 1 for --help, or 2 on error. */
static int parse_args(int argc, char **argv, fp_options *o)
{
    o->listen = FP_DEFAULT_LISTEN;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0)
            return 1;
        const char *names[] = {"--scenario", "--listen", "--port-file", "--seed"};
        const char *val = NULL;
        size_t which = SY_ARRAY_LEN(names);
        for (size_t k = 0; k < SY_ARRAY_LEN(names); k++) {
            size_t nl = strlen(names[k]);
            if (strcmp(a, names[k]) == 0) {
                if (i + 1 >= argc) {
                    fprintf(stderr, "fake-provider: %s needs a value\n", a);
                    return 2;
                }
                val = argv[++i];
                which = k;
            } else if (strncmp(a, names[k], nl) == 0 && a[nl] == '=') {
                val = a + nl + 1;
                which = k;
            }
        }
        switch (which) {
        case 0:
            o->scenario = val;
            break;
        case 1:
            o->listen = val;
            break;
        case 2:
            o->port_file = val;
            break;
        case 3: {
            char *end;
            errno = 0;
            unsigned long long s = strtoull(val, &end, 10);
            if (!*val || *end || errno || val[0] == '-') {
                fprintf(stderr, "fake-provider: --seed: expected a non-negative integer\n");
                return 2;
            }
            o->has_seed = 1;
            o->seed = s;
            break;
        }
        default:
            fprintf(stderr, "fake-provider: unknown argument '%s' (see --help)\n", a);
            return 2;
        }
    }
    return 0;
}

/*
 * Bind, announce, serve until a signal. Every exit path frees what it made; the live
 * requests are abandoned (records closed, timers freed) before evhttp_free() tears down
 * their connections.
 */
int sy_cmd_fake_provider(int argc, char **argv)
{
    fp_options o = {0};
    int rc = parse_args(argc, argv, &o);
    if (rc == 1) {
        usage(stdout);
        return 0;
    }
    if (rc)
        return 2;

    fp_scenario *scenario = NULL;
    if (o.scenario) {
        sy_buf text = {0}, err = {0};
        if (read_file(o.scenario, &text) != SY_OK) {
            fprintf(stderr, "fake-provider: cannot read %s: %s\n", o.scenario, strerror(errno));
            sy_buf_free(&text);
            return 1;
        }
        rc = fp_scenario_parse(text.data ? text.data : "", text.len, &scenario, &err);
        if (rc)
            fprintf(stderr, "fake-provider: %s: %s\n", o.scenario, err.data);
        sy_buf_free(&text);
        sy_buf_free(&err);
        if (rc)
            return 1;
    } else {
        scenario = fp_scenario_new_default();
    }
    char *host = NULL;
    unsigned port = 0;
    if (parse_listen(o.listen, &host, &port) != SY_OK) {
        fprintf(stderr, "fake-provider: --listen: expected ADDR:PORT, got '%s'\n", o.listen);
        fp_scenario_free(scenario);
        return 2;
    }

    signal(SIGPIPE, SIG_IGN);
    fp_server srv = {0};
    srv.base = event_base_new();
    srv.http = evhttp_new(srv.base);
    srv.scratch = evbuffer_new();
    srv.fault_rng = gsl_rng_alloc(gsl_rng_mt19937);
    srv.latency_rng = gsl_rng_alloc(gsl_rng_mt19937);
    srv.devnull = open("/dev/null", O_RDWR | O_CLOEXEC);
    srv.id_nonce = sy_wall_ms() ^ ((uint64_t)getpid() << 32);
    srv.seed = o.has_seed ? o.seed : scenario->has_seed ? scenario->seed : 0;
    fp_rng_seed(srv.fault_rng, srv.latency_rng, srv.seed);
    install_scenario(&srv, scenario, 1);
    if (!srv.base || !srv.http || !srv.scratch || srv.devnull < 0) {
        fprintf(stderr, "fake-provider: cannot initialise the event loop\n");
        rc = 1;
        goto out;
    }
    evhttp_set_gencb(srv.http, on_request, &srv);
    evhttp_set_timeout(srv.http, FP_CONN_TIMEOUT_S);
    evhttp_set_max_body_size(srv.http, FP_MAX_BODY_BYTES);
    evhttp_set_allowed_methods(srv.http, EVHTTP_REQ_GET | EVHTTP_REQ_POST | EVHTTP_REQ_HEAD |
                                             EVHTTP_REQ_PUT | EVHTTP_REQ_DELETE |
                                             EVHTTP_REQ_OPTIONS | EVHTTP_REQ_PATCH);

    struct evhttp_bound_socket *bound =
        evhttp_bind_socket_with_handle(srv.http, host, (ev_uint16_t)port);
    if (!bound) {
        fprintf(stderr, "fake-provider: cannot listen on %s: %s\n", o.listen, strerror(errno));
        rc = 1;
        goto out;
    }
    struct sockaddr_storage ss;
    socklen_t sl = sizeof ss;
    if (getsockname(evhttp_bound_socket_get_fd(bound), (struct sockaddr *)&ss, &sl) == 0)
        port = ntohs(ss.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&ss)->sin6_port
                                              : ((struct sockaddr_in *)&ss)->sin_port);
    if (o.port_file && write_port_file(o.port_file, port) != SY_OK) {
        fprintf(stderr, "fake-provider: cannot write port file %s: %s\n", o.port_file,
                strerror(errno));
        rc = 1;
        goto out;
    }
    fprintf(stderr, "fake-provider: listening on %s port %u (%zu models, seed %llu)\n", host, port,
            srv.scenario->n_models, (unsigned long long)srv.seed);

    struct event *sigterm = evsignal_new(srv.base, SIGTERM, on_signal, srv.base);
    struct event *sigint = evsignal_new(srv.base, SIGINT, on_signal, srv.base);
    evsignal_add(sigterm, NULL);
    evsignal_add(sigint, NULL);
    event_base_dispatch(srv.base);
    event_free(sigterm);
    event_free(sigint);
    rc = 0;

out:
    srv.shutting_down = 1;
    while (srv.live) {
        fp_req *r = srv.live;
        r->req = NULL; /* still attached to its connection: evhttp_free frees it */
        req_finish(r, "client_closed");
    }
    if (srv.http)
        evhttp_free(srv.http);
    if (srv.scratch)
        evbuffer_free(srv.scratch);
    stats_clear(&srv);
    fp_scenario_free(srv.scenario);
    gsl_rng_free(srv.fault_rng);
    gsl_rng_free(srv.latency_rng);
    if (srv.devnull >= 0)
        close(srv.devnull);
    if (srv.base)
        event_base_free(srv.base);
    free(host);
    return rc;
}
