/*
 * http_server.c — see http_server.h for the contract.
 *
 * Lock rules: none. Every object here belongs to the thread running its event_base.
 *
 * Connection states:
 *   IDLE      waiting for the first byte of a request (idle timer armed)
 *   HEAD      reading the head (request deadline armed)
 *   BODY      reading the body (request deadline still armed)
 *   INFLIGHT  handed to the handler, no response bytes yet
 *   STREAMING chunked response started
 *   CLOSING   response queued, close once the output buffer is empty
 *   LINGER    after a protocol error: our side is shut down for writing and the rest of
 *             the client's request is read and discarded (bounded in time and bytes), so
 *             that closing does not reset the connection before the client reads the error
 * A completed response returns the connection to IDLE (keep-alive) or CLOSING.
 *
 * Output: responses and stream chunks are appended to the bufferevent's output buffer
 * with its write side disabled, and written by flush_cb, an event activated for the
 * same loop iteration: the handler finishes its bookkeeping before the client can see
 * the bytes, several writes of one callback leave in one writev, and nothing is asked
 * of epoll. Only what the socket does not take at once (or a closing connection) is
 * left to the bufferevent's write side, which is switched off again once it drains.
 */
#include "http_server.h"

#include "clock.h"

#include <cjson/cJSON.h>

#include <arpa/inet.h>
#include <errno.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event_struct.h>
#include <event2/listener.h>
#include <linux/sockios.h>
#include <malloc.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <stddef.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

enum { C_IDLE, C_HEAD, C_BODY, C_INFLIGHT, C_STREAMING, C_CLOSING, C_LINGER };

#define PIPELINE_INPUT_CAP (64 * 1024) /* unread bytes kept while a request is in flight */
#define WRITE_LOW_WATER    (16 * 1024)
#define LINGER_MS          2000               /* longest wait for the client to finish sending */
#define LINGER_MAX_BYTES   (64 * 1024 * 1024) /* most bytes discarded while lingering */

typedef struct sy_http_conn {
    sy_http_server *srv;
    struct bufferevent *bev;
    struct event timer;   /* request deadline or keep-alive idle timeout */
    struct event process; /* deferred parse of pipelined input */
    struct event flush;   /* deferred direct write of queued output (flush_cb) */
    int state;
    int keep_alive;
    int reading_paused;
    int linger;              /* close through LINGER (set by protocol_error) */
    size_t lingered;         /* bytes discarded while lingering */
    size_t idle_out_left;    /* output still queued at the idle timer's last expiry */
    size_t scan;             /* head-terminator search resumes here */
    size_t body_reserved;    /* bytes of the process-wide body budget this request holds */
    sy_buf headbuf;          /* copy of the current head (req.head points into it) */
    sy_buf pathbuf;          /* NUL-terminated path and query */
    uint64_t body_remaining; /* Content-Length bytes still to read */
    sy_chunked chunked;
    sy_http_req req;
    struct sy_http_conn *prev, *next;
} sy_http_conn;

struct sy_http_server {
    struct event_base *base;
    struct evconnlistener *listener;
    sy_http_limits limits;
    sy_http_handler handler;
    sy_http_head_check head_check; /* NULL: every head goes on to its body */
    void *handler_ud;
    sy_http_conn *conns;
    size_t n_conns;
    int draining;
    void (*on_idle)(void *);
    void *on_idle_ud;
    time_t date_sec; /* second for which date_hdr was formatted */
    char date_hdr[64];
};

static void conn_process(sy_http_conn *c);
static void conn_free(sy_http_conn *c);

/* "Date: ..." header for the current second, formatted at most once a second. */
static const char *date_header(sy_http_server *s)
{
    time_t now = time(NULL);
    if (now != s->date_sec) {
        struct tm tm;
        gmtime_r(&now, &tm);
        strftime(s->date_hdr, sizeof(s->date_hdr), "Date: %a, %d %b %Y %H:%M:%S GMT\r\n", &tm);
        s->date_sec = now;
    }
    return s->date_hdr;
}

static void arm_timer(sy_http_conn *c, unsigned ms)
{
    struct timeval tv = {ms / 1000, (ms % 1000) * 1000};
    evtimer_add(&c->timer, &tv);
}

/*
 * The body budget (issue 15): request bodies being read or held by their handler may
 * take at most limits.max_body_memory bytes across every connection of every server in
 * the process, so that many unfinished uploads cannot exhaust memory even when each is
 * under max_body_bytes. A Content-Length body reserves its whole length before a byte
 * is read; a chunked one reserves as it grows. Released when the body is freed.
 */
static _Atomic size_t g_body_bytes;

static size_t body_budget(const sy_http_limits *lim)
{
    return lim->max_body_memory ? lim->max_body_memory : 64 * lim->max_body_bytes;
}

/* Reserve n more bytes for c's body; 0, or -1 when the budget has no room. */
static int body_reserve(sy_http_conn *c, size_t n)
{
    size_t before = atomic_fetch_add(&g_body_bytes, n);
    if (before + n > body_budget(&c->srv->limits)) {
        atomic_fetch_sub(&g_body_bytes, n);
        return -1;
    }
    c->body_reserved += n;
    return 0;
}

/* Free the request body and give its reservation back. Bodies of 128 KiB and more are
 * mmap'd (see sy_http_server_new), so their pages go back to the kernel here. */
static void body_release(sy_http_conn *c)
{
    sy_buf_free(&c->req.body);
    atomic_fetch_sub(&g_body_bytes, c->body_reserved);
    c->body_reserved = 0;
}

/* Numbers requests for sy_http_req.seq, across every server of the process. */
static _Atomic uint64_t g_req_seq;

size_t sy_http_body_memory(void)
{
    return atomic_load(&g_body_bytes);
}

/* Reset per-request state; keeps buffers' capacity for the next request. */
static void req_reset(sy_http_conn *c)
{
    body_release(c);
    /* Everything but the header array (8 KiB): only its first n_headers entries are
     * ever read, and the parser writes each one it counts. */
    const size_t hdrs = offsetof(sy_http_req, head.headers);
    const size_t after = offsetof(sy_http_req, head.n_headers);
    memset(&c->req, 0, hdrs);
    memset((char *)&c->req + after, 0, sizeof(c->req) - after);
    c->req.conn = c;
    sy_buf_reset(&c->headbuf);
    c->scan = 0;
    c->body_remaining = 0;
    memset(&c->chunked, 0, sizeof(c->chunked));
}

/*
 * The response is fully queued: go back to IDLE for the next request, or close. The
 * request's counters (status, bytes) stay readable until the next request starts,
 * which is never before the caller returns to the event loop; its body is freed now so
 * that idle keep-alive connections hold no request memory.
 */
static void finish_response(sy_http_conn *c)
{
    c->req.on_abort = c->req.on_drain = NULL;
    c->req.ud = NULL;
    body_release(c);
    if (!c->keep_alive || c->srv->draining) {
        c->state = C_CLOSING;
        bufferevent_disable(c->bev, EV_READ);
        evtimer_del(&c->timer);
        /* write_cb frees the connection once the output buffer is empty: the write side
         * sends what is queued and calls it; with nothing queued flush_cb calls it */
        if (evbuffer_get_length(bufferevent_get_output(c->bev)) > 0)
            bufferevent_enable(c->bev, EV_WRITE);
        else
            event_active(&c->flush, EV_TIMEOUT, 0);
        return;
    }
    c->state = C_IDLE;
    c->idle_out_left = SIZE_MAX;
    if (c->reading_paused) {
        c->reading_paused = 0;
        bufferevent_enable(c->bev, EV_READ);
    }
    if (evbuffer_get_length(bufferevent_get_input(c->bev)) > 0)
        event_active(&c->process, EV_TIMEOUT, 0); /* pipelined request: parse it later */
    else
        arm_timer(c, c->srv->limits.idle_timeout_ms);
}

/* Bytes were appended to the output buffer: have flush_cb write them after the current
 * callback returns, unless the bufferevent's write side already owns the output. */
static void output_queued(sy_http_conn *c)
{
    if (!(bufferevent_get_enabled(c->bev) & EV_WRITE))
        event_active(&c->flush, EV_TIMEOUT, 0);
}

static void write_cb(struct bufferevent *bev, void *arg);

/*
 * Write the queued output straight to the socket. What the socket does not take, or an
 * error, goes to the bufferevent's write side (which finishes the write, or reports the
 * error through event_cb). Once everything is out, write_cb runs as the write side would
 * run it: a stream's handler learns that the output drained, a closing connection closes.
 */
static void flush_cb(evutil_socket_t fd, short what, void *arg)
{
    sy_http_conn *c = arg;
    (void)fd;
    (void)what;
    if (bufferevent_get_enabled(c->bev) & EV_WRITE)
        return; /* the write side owns the output until it drains */
    struct evbuffer *out = bufferevent_get_output(c->bev);
    if (evbuffer_get_length(out) > 0) {
        /* a socket bufferevent keeps its output's front frozen; it thaws it to write too */
        evbuffer_unfreeze(out, 1);
        int n = evbuffer_write(out, bufferevent_getfd(c->bev));
        evbuffer_freeze(out, 1);
        if (n < 0 || evbuffer_get_length(out) > 0) {
            bufferevent_enable(c->bev, EV_WRITE);
            return;
        }
    }
    write_cb(c->bev, c); /* may free c */
}

/* Queue status line and headers. `framing` is the Content-Length or TE line. */
static void write_head(sy_http_conn *c, int status, const char *content_type, const char *headers,
                       const char *framing)
{
    sy_buf *b = &c->pathbuf; /* reuse: the path is no longer needed once answering */
    sy_buf_reset(b);
    /* plain appends: printf was most of this function's cost (bench/callgrind.py) */
    char code[4] = {(char)('0' + status / 100 % 10), (char)('0' + status / 10 % 10),
                    (char)('0' + status % 10), ' '};
    sy_buf_append(b, "HTTP/1.1 ", 9);
    sy_buf_append(b, code, sizeof(code));
    sy_buf_puts(b, sy_http_status_text(status));
    sy_buf_append(b, "\r\n", 2);
    sy_buf_puts(b, date_header(c->srv));
    if (content_type) {
        sy_buf_append(b, "Content-Type: ", 14);
        sy_buf_puts(b, content_type);
        sy_buf_append(b, "\r\n", 2);
    }
    sy_buf_puts(b, framing);
    if (c->req.id[0]) {
        sy_buf_append(b, "x-switchyard-request-id: ", 25);
        sy_buf_puts(b, c->req.id);
        sy_buf_append(b, "\r\n", 2);
    }
    if (c->req.cors_origin) {
        sy_buf_puts(b, "Access-Control-Allow-Origin: ");
        sy_buf_append(b, c->req.cors_origin, c->req.cors_origin_len);
        sy_buf_puts(b, "\r\nVary: Origin\r\n");
        if (c->req.cors_expose)
            sy_buf_printf(b, "Access-Control-Expose-Headers: %s\r\n", c->req.cors_expose);
    }
    if (headers)
        sy_buf_puts(b, headers);
    int ka = c->keep_alive && !c->srv->draining;
    sy_buf_puts(b, ka ? "Connection: keep-alive\r\n\r\n" : "Connection: close\r\n\r\n");
    evbuffer_add(bufferevent_get_output(c->bev), b->data, b->len);
    c->req.bytes_out += b->len;
    c->req.status = status;
    c->req.path = c->req.query = "";
}

void sy_http_respond(sy_http_req *req, int status, const char *content_type, const char *headers,
                     const char *body, size_t body_len)
{
    sy_http_conn *c = req->conn;
    char framing[48];
    snprintf(framing, sizeof(framing), "Content-Length: %zu\r\n", body_len);
    write_head(c, status, content_type, headers, framing);
    if (body_len)
        evbuffer_add(bufferevent_get_output(c->bev), body, body_len);
    req->bytes_out += body_len;
    output_queued(c);
    finish_response(c);
}

void sy_http_error_openai(sy_buf *b, int status, const char *type, const char *code,
                          const char *param, const char *message)
{
    (void)status;
    sy_buf_puts(b, "{\"error\":{\"message\":");
    sy_buf_json_string(b, message, strlen(message));
    sy_buf_puts(b, ",\"type\":");
    sy_buf_json_string(b, type, strlen(type));
    sy_buf_puts(b, ",\"param\":");
    if (param)
        sy_buf_json_string(b, param, strlen(param));
    else
        sy_buf_puts(b, "null");
    sy_buf_puts(b, ",\"code\":");
    if (code)
        sy_buf_json_string(b, code, strlen(code));
    else
        sy_buf_puts(b, "null");
    sy_buf_puts(b, "}}");
}

void sy_http_respond_error(sy_http_req *req, int status, const char *type, const char *code,
                           const char *param, const char *message, const char *headers)
{
    sy_buf b = {0};
    (req->error_body ? req->error_body : sy_http_error_openai)(&b, status, type, code, param,
                                                               message);
    sy_http_respond(req, status, "application/json", headers, b.data, b.len);
    sy_buf_free(&b);
}

void sy_http_stream_start(sy_http_req *req, int status, const char *content_type,
                          const char *headers)
{
    sy_http_conn *c = req->conn;
    write_head(c, status, content_type, headers, "Transfer-Encoding: chunked\r\n");
    output_queued(c);
    c->state = C_STREAMING;
}

void sy_http_stream_write(sy_http_req *req, const char *data, size_t len)
{
    if (len == 0)
        return;
    struct evbuffer *out = bufferevent_get_output(req->conn->bev);
    char size_line[24];
    int n = snprintf(size_line, sizeof(size_line), "%zx\r\n", len);
    evbuffer_add(out, size_line, (size_t)n);
    evbuffer_add(out, data, len);
    evbuffer_add(out, "\r\n", 2);
    req->bytes_out += (size_t)n + len + 2;
    output_queued(req->conn);
}

void sy_http_stream_end(sy_http_req *req, const char *trailers)
{
    sy_http_conn *c = req->conn;
    struct evbuffer *out = bufferevent_get_output(c->bev);
    evbuffer_add(out, "0\r\n", 3);
    if (trailers)
        evbuffer_add(out, trailers, strlen(trailers));
    evbuffer_add(out, "\r\n", 2);
    req->bytes_out += 5 + (trailers ? strlen(trailers) : 0);
    output_queued(c);
    finish_response(c);
}

void sy_http_close(sy_http_req *req, sy_http_close_how how)
{
    sy_http_conn *c = req->conn;
    c->keep_alive = 0;
    c->linger = 0;
    if (how == SY_HTTP_CLOSE_RESET) {
        struct evbuffer *out = bufferevent_get_output(c->bev);
        struct linger lg = {1, 0};
        setsockopt(bufferevent_getfd(c->bev), SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
        evbuffer_unfreeze(out, 1); /* as in flush_cb: the front is frozen */
        evbuffer_drain(out, evbuffer_get_length(out));
        evbuffer_freeze(out, 1);
        bufferevent_disable(c->bev, EV_WRITE);
    }
    finish_response(c); /* closing: once the output is empty, write_cb frees c */
}

size_t sy_http_output_pending(const sy_http_req *req)
{
    return evbuffer_get_length(bufferevent_get_output(req->conn->bev));
}

struct cJSON *sy_http_req_json(sy_http_req *req, sy_json_error *err)
{
    return sy_json_body_parse(req->body.data, &req->body.len, err);
}

const sy_http_header *sy_http_req_header(const sy_http_req *req, const char *name)
{
    return sy_http_find_header(&req->head, name);
}

int sy_http_req_method_is(const sy_http_req *req, const char *method)
{
    size_t n = strlen(method);
    return req->head.method_len == n && memcmp(req->head.method, method, n) == 0;
}

/* Answer a protocol-level error and close the connection afterwards. */
static void protocol_error(sy_http_conn *c, int status, const char *message)
{
    const char *type = status == 408   ? "timeout_error"
                       : status == 503 ? "server_error"
                                       : "invalid_request_error";
    const char *code = status == 413   ? "request_too_large"
                       : status == 415 ? "unsupported_media_type"
                       : status == 431 ? "headers_too_large"
                       : status == 408 ? "request_timeout"
                       : status == 503 ? "server_busy"
                       : status == 505 ? "http_version_not_supported"
                       : status == 501 ? "not_implemented"
                                       : "bad_request";
    c->keep_alive = 0;
    c->linger = 1;
    c->state = C_INFLIGHT;
    sy_http_respond_error(&c->req, status, type, code, NULL, message,
                          status == 503 ? "Retry-After: 1\r\n" : NULL);
}

/* Split the target into NUL-terminated path and query (the head is parsed). */
static void split_target(sy_http_conn *c)
{
    sy_http_req *r = &c->req;
    sy_buf_reset(&c->pathbuf);
    sy_buf_append(&c->pathbuf, r->head.target, r->head.target_len);
    sy_buf_append(&c->pathbuf, "", 1); /* room for splitting path and query */
    char *q = memchr(c->pathbuf.data, '?', r->head.target_len);
    if (q) {
        *q = '\0';
        r->query = q + 1;
    } else {
        r->query = "";
    }
    r->path = c->pathbuf.data;
}

/* The body is complete: hand the request to the handler. */
static void dispatch(sy_http_conn *c)
{
    evtimer_del(&c->timer);
    c->state = C_INFLIGHT;
    c->srv->handler(&c->req, c->srv->handler_ud);
}

/*
 * The head is valid: let the head check answer it before the body is read (a wrong key
 * gets its 401 without a 100 Continue and without its body being stored; the rest of
 * the body is discarded while lingering). Returns 1 when the request goes on to its body.
 */
static int head_accepted(sy_http_conn *c)
{
    split_target(c);
    if (!c->srv->head_check)
        return 1;
    int keep_alive = c->keep_alive;
    if (c->req.head.content_length > 0 || c->req.head.chunked) {
        c->keep_alive = 0; /* an answer here closes: the body is unread, discarded */
        c->linger = 1;
    }
    c->state = C_INFLIGHT;
    if (c->srv->head_check(&c->req, c->srv->handler_ud) != 0)
        return 0; /* answered (finish_response moved the connection on) */
    c->keep_alive = keep_alive;
    c->linger = 0;
    c->state = C_HEAD;
    return 1;
}

/* Parse the head in the input buffer; returns 1 when a head was consumed. */
static int read_head(sy_http_conn *c, struct evbuffer *in)
{
    const sy_http_limits *lim = &c->srv->limits;
    size_t avail = evbuffer_get_length(in);
    size_t look = avail < lim->max_header_bytes ? avail : lim->max_header_bytes;
    const char *p = (const char *)evbuffer_pullup(in, (ev_ssize_t)look);
    /* RFC 9112 §2.2: empty lines before a request line are ignored (the head always
     * starts at the buffer's start, so this costs one byte compare once it has begun) */
    size_t skip = sy_http_empty_lines(p, look);
    if (skip) {
        evbuffer_drain(in, skip);
        c->scan = 0;
        return read_head(c, in);
    }
    size_t end = sy_http_head_end(p, look, c->scan);
    if (end == 0) {
        if (look >= lim->max_header_bytes)
            protocol_error(c, 431, "request head exceeds the configured limit");
        c->scan = look;
        return 0;
    }
    sy_buf_reset(&c->headbuf);
    sy_buf_append(&c->headbuf, p, end);
    evbuffer_drain(in, end);
    c->req.bytes_in = end;
    const char *why = NULL;
    int rc = sy_http_parse_head(c->headbuf.data, end, lim->max_headers, &c->req.head, &why);
    if (rc < 0) {
        protocol_error(c, -rc, why);
        return 0;
    }
    c->keep_alive = c->req.head.keep_alive;
    if (c->req.head.target[0] != '/') {
        protocol_error(c, 400, "request target must be an absolute path");
        return 0;
    }
    int64_t cl = c->req.head.content_length;
    /* the head check first: it refuses a wrong key, and it sets the error shape of the
     * request's API (an ingress's 413 speaks that API) */
    if (!head_accepted(c))
        return 0;
    if (cl > 0 && (uint64_t)cl > lim->max_body_bytes) {
        protocol_error(c, 413, "request body exceeds the configured limit");
        return 0;
    }
    if (cl > 0 && body_reserve(c, (size_t)cl) != 0) {
        protocol_error(c, 503, "too many request bodies in flight; retry shortly");
        return 0;
    }
    if (cl > 0) /* the exact size at once: no growth copies, no slack */
        sy_buf_reserve(&c->req.body, (size_t)cl);
    if (c->req.head.expect_continue && (cl > 0 || c->req.head.chunked)) {
        evbuffer_add(bufferevent_get_output(c->bev), "HTTP/1.1 100 Continue\r\n\r\n", 25);
        output_queued(c);
    }
    c->body_remaining = cl > 0 ? (uint64_t)cl : 0;
    c->state = C_BODY;
    return 1;
}

/* Move body bytes from the input buffer; returns 1 when the body is complete. */
static int read_body(sy_http_conn *c, struct evbuffer *in)
{
    sy_http_req *r = &c->req;
    size_t avail = evbuffer_get_length(in);
    if (!r->head.chunked) {
        size_t take = avail < c->body_remaining ? avail : (size_t)c->body_remaining;
        if (take) {
            sy_buf_reserve(&r->body, take);
            evbuffer_remove(in, r->body.data + r->body.len, take);
            r->body.len += take;
            r->body.data[r->body.len] = '\0';
            c->body_remaining -= take;
            r->bytes_in += take;
        }
        return c->body_remaining == 0;
    }
    if (avail == 0)
        return 0;
    const char *p = (const char *)evbuffer_pullup(in, -1);
    size_t used = 0;
    /* a chunked body reserves what it may grow to with these bytes */
    size_t grow =
        r->body.len + avail > c->body_reserved ? r->body.len + avail - c->body_reserved : 0;
    if (grow && body_reserve(c, grow) != 0) {
        protocol_error(c, 503, "too many request bodies in flight; retry shortly");
        return 0;
    }
    int rc =
        sy_chunked_decode(&c->chunked, p, avail, &used, &r->body, c->srv->limits.max_body_bytes);
    if (rc < 0) {
        protocol_error(c, rc == SY_HTTP_E_TOO_LARGE ? 413 : 400,
                       rc == SY_HTTP_E_TOO_LARGE ? "request body exceeds the configured limit"
                                                 : "malformed chunked request body");
        return 0;
    }
    evbuffer_drain(in, used);
    r->bytes_in += used;
    if (!r->body.data)
        sy_buf_reserve(&r->body, 0);
    return rc == 1;
}

/*
 * Parse whatever the input buffer holds, dispatching complete requests. Runs until it
 * needs more bytes or a request is in flight; a response given synchronously by the
 * handler lets the loop continue with a pipelined request.
 */
static void conn_process(sy_http_conn *c)
{
    struct evbuffer *in = bufferevent_get_input(c->bev);
    for (;;) {
        if (c->state == C_IDLE) {
            if (evbuffer_get_length(in) == 0)
                return;
            req_reset(c);
            c->state = C_HEAD;
            c->req.t_start_ns = sy_now_ns();
            c->req.seq = atomic_fetch_add(&g_req_seq, 1) + 1;
            arm_timer(c, c->srv->limits.request_timeout_ms);
        }
        if (c->state == C_HEAD && !read_head(c, in))
            return;
        if (c->state != C_BODY || !read_body(c, in))
            return;
        dispatch(c);
        if (c->state != C_IDLE)
            return; /* in flight, streaming or closing */
        evtimer_del(&c->timer);
        if (evbuffer_get_length(in) == 0) {
            arm_timer(c, c->srv->limits.idle_timeout_ms);
            return;
        }
    }
}

static void read_cb(struct bufferevent *bev, void *arg)
{
    sy_http_conn *c = arg;
    if (c->state == C_INFLIGHT || c->state == C_STREAMING) {
        /* pipelined bytes: keep a bounded amount, stop reading past it */
        if (evbuffer_get_length(bufferevent_get_input(bev)) > PIPELINE_INPUT_CAP) {
            bufferevent_disable(bev, EV_READ);
            c->reading_paused = 1;
        }
        return;
    }
    if (c->state == C_LINGER) {
        struct evbuffer *in = bufferevent_get_input(bev);
        c->lingered += evbuffer_get_length(in);
        evbuffer_drain(in, evbuffer_get_length(in));
        if (c->lingered > LINGER_MAX_BYTES)
            conn_free(c);
        return;
    }
    if (c->state == C_CLOSING)
        return;
    conn_process(c);
}

static void write_cb(struct bufferevent *bev, void *arg)
{
    sy_http_conn *c = arg;
    if (c->state == C_CLOSING) {
        if (evbuffer_get_length(bufferevent_get_output(bev)) != 0)
            return;
        if (!c->linger) {
            conn_free(c);
            return;
        }
        /* Everything is sent: stop writing, swallow the rest of the request, close on
         * the client's EOF, LINGER_MAX_BYTES or LINGER_MS, whichever comes first. */
        c->state = C_LINGER;
        shutdown(bufferevent_getfd(bev), SHUT_WR);
        evbuffer_drain(bufferevent_get_input(bev), evbuffer_get_length(bufferevent_get_input(bev)));
        bufferevent_enable(bev, EV_READ);
        arm_timer(c, LINGER_MS);
        return;
    }
    if (evbuffer_get_length(bufferevent_get_output(bev)) == 0)
        bufferevent_disable(bev, EV_WRITE); /* drained: back to flush_cb's direct writes */
    if (c->state == C_STREAMING && c->req.on_drain)
        c->req.on_drain(&c->req, c->req.ud);
}

static void event_cb(struct bufferevent *bev, short what, void *arg)
{
    sy_http_conn *c = arg;
    (void)bev;
    (void)what; /* EOF, error: either way the client is gone */
    conn_free(c);
}

/*
 * At the idle timeout: is an answer still leaving, and did it progress since the last
 * expiry? A slow reader of a large answer keeps its connection; one that stopped
 * reading for a whole idle period does not. Progress counts the kernel's send queue
 * too (SIOCOUTQ: bytes not yet acknowledged), which can hold megabytes that the output
 * buffer waits behind. Bytes that are all in the kernel need no connection: closing
 * still delivers them.
 */
static int still_sending(sy_http_conn *c)
{
    size_t left = evbuffer_get_length(bufferevent_get_output(c->bev));
    int queued = 0;
    if (left && ioctl(bufferevent_getfd(c->bev), SIOCOUTQ, &queued) == 0 && queued > 0)
        left += (size_t)queued;
    int progressed = left > 0 && left < c->idle_out_left;
    c->idle_out_left = left;
    return progressed;
}

static void timer_cb(evutil_socket_t fd, short what, void *arg)
{
    sy_http_conn *c = arg;
    if (c->state == C_HEAD || c->state == C_BODY)
        protocol_error(c, 408, "request not received within the configured deadline");
    else if (c->state == C_IDLE && still_sending(c))
        arm_timer(c, c->srv->limits.idle_timeout_ms);
    else if (c->state == C_IDLE || c->state == C_LINGER)
        conn_free(c);
}

static void process_cb(evutil_socket_t fd, short what, void *arg)
{
    sy_http_conn *c = arg;
    if (c->state == C_IDLE)
        conn_process(c);
}

/*
 * Free a connection. If a request is in flight its abort callback runs first, so the
 * handler can cancel its upstream work; afterwards nothing may refer to the request.
 */
static void conn_free(sy_http_conn *c)
{
    sy_http_server *s = c->srv;
    if ((c->state == C_INFLIGHT || c->state == C_STREAMING) && c->req.on_abort) {
        sy_http_req_cb cb = c->req.on_abort;
        c->req.on_abort = NULL;
        cb(&c->req, c->req.ud);
    }
    evtimer_del(&c->timer);
    event_del(&c->process);
    event_del(&c->flush);
    bufferevent_free(c->bev);
    sy_buf_free(&c->headbuf);
    sy_buf_free(&c->pathbuf);
    body_release(c);
    if (c->prev)
        c->prev->next = c->next;
    else
        s->conns = c->next;
    if (c->next)
        c->next->prev = c->prev;
    s->n_conns--;
    free(c);
    if (s->draining && s->n_conns == 0 && s->on_idle) {
        void (*cb)(void *) = s->on_idle;
        s->on_idle = NULL;
        cb(s->on_idle_ud);
    }
}

static void accept_cb(struct evconnlistener *l, evutil_socket_t fd, struct sockaddr *sa,
                      int socklen, void *arg)
{
    sy_http_server *s = arg;
    if (s->n_conns >= s->limits.max_connections) {
        /* Content-Length is the body's size, counted by the compiler (issue 15: it once
         * said 125 for 122 bytes) */
#define BUSY_BODY                                                                                  \
    "{\"error\":{\"message\":\"server is at its connection limit\",\"type\":"                      \
    "\"server_error\",\"param\":null,\"code\":\"too_many_connections\"}}"
        char busy[256];
        int n = snprintf(busy, sizeof(busy),
                         "HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json\r\n"
                         "Content-Length: %zu\r\nRetry-After: 1\r\nConnection: close\r\n\r\n%s",
                         sizeof(BUSY_BODY) - 1, BUSY_BODY);
#undef BUSY_BODY
        ssize_t w = send(fd, busy, (size_t)n, MSG_NOSIGNAL | MSG_DONTWAIT);
        (void)w;
        close(fd);
        return;
    }
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    sy_http_conn *c = sy_xcalloc(1, sizeof(*c));
    c->srv = s;
    c->bev = bufferevent_socket_new(s->base, fd, BEV_OPT_CLOSE_ON_FREE);
    if (!c->bev) {
        close(fd);
        free(c);
        return;
    }
    evtimer_assign(&c->timer, s->base, timer_cb, c);
    event_assign(&c->process, s->base, -1, 0, process_cb, c);
    event_assign(&c->flush, s->base, -1, 0, flush_cb, c);
    bufferevent_setcb(c->bev, read_cb, write_cb, event_cb, c);
    bufferevent_setwatermark(c->bev, EV_WRITE, WRITE_LOW_WATER, 0);
    /* writes go through flush_cb (see the top of the file); a new bufferevent has its
     * write side enabled */
    bufferevent_disable(c->bev, EV_WRITE);
    bufferevent_enable(c->bev, EV_READ);
    c->req.conn = c;
    c->state = C_IDLE;
    c->next = s->conns;
    if (s->conns)
        s->conns->prev = c;
    s->conns = c;
    s->n_conns++;
    arm_timer(c, s->limits.request_timeout_ms); /* first request must arrive in time */
}

/*
 * glibc raises its mmap threshold each time an mmap'd block is freed, so after the first
 * large request body every later one comes from the heap arenas and stays in the
 * process when freed (issue 15: 1 GB kept after 2,000 bodies of 1 MiB). Pinning the
 * threshold keeps bodies of 128 KiB and more mmap'd: freeing them returns the memory.
 */
static void fix_mmap_threshold(void)
{
    mallopt(M_MMAP_THRESHOLD, 128 * 1024);
}

void sy_http_server_set_head_check(sy_http_server *s, sy_http_head_check check)
{
    s->head_check = check;
}

sy_http_server *sy_http_server_new(struct event_base *base, int listen_fd,
                                   const sy_http_limits *limits, sy_http_handler handler,
                                   void *handler_ud)
{
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    pthread_once(&once, fix_mmap_threshold);
    sy_http_server *s = sy_xcalloc(1, sizeof(*s));
    s->base = base;
    s->limits = *limits;
    s->handler = handler;
    s->handler_ud = handler_ud;
    s->listener = evconnlistener_new(base, accept_cb, s, LEV_OPT_CLOSE_ON_FREE, -1, listen_fd);
    if (!s->listener) {
        fprintf(stderr, "switchyard: cannot create listener\n");
        close(listen_fd);
        free(s);
        return NULL;
    }
    return s;
}

void sy_http_server_set_limits(sy_http_server *s, const sy_http_limits *limits)
{
    s->limits = *limits;
}

void sy_http_server_drain(sy_http_server *s, void (*on_idle)(void *ud), void *ud)
{
    s->draining = 1;
    s->on_idle = on_idle;
    s->on_idle_ud = ud;
    if (s->listener) {
        evconnlistener_free(s->listener);
        s->listener = NULL;
    }
    sy_http_conn *c = s->conns;
    while (c) {
        sy_http_conn *next = c->next;
        if (c->state == C_IDLE && evbuffer_get_length(bufferevent_get_output(c->bev)) > 0) {
            /* an answer is still leaving: close once it is out (write_cb) */
            c->state = C_CLOSING;
            bufferevent_disable(c->bev, EV_READ);
            evtimer_del(&c->timer);
            bufferevent_enable(c->bev, EV_WRITE);
        } else if (c->state == C_IDLE) {
            conn_free(c); /* may call on_idle when it was the last one */
        }
        c = next;
    }
    if (s->n_conns == 0 && s->on_idle) {
        s->on_idle = NULL;
        on_idle(ud);
    }
}

size_t sy_http_server_connections(const sy_http_server *s)
{
    return s->n_conns;
}

void sy_http_server_free(sy_http_server *s)
{
    if (!s)
        return;
    s->on_idle = NULL;
    while (s->conns)
        conn_free(s->conns);
    if (s->listener)
        evconnlistener_free(s->listener);
    free(s);
}
