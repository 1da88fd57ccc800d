/*
 * upstream: HTTP calls to providers through one CURLM per worker, driven by the
 * worker's event_base (the pattern of curl's docs/examples/hiperfifo.c).
 *
 * A transfer reports through three callbacks:
 *   on_header(ud, status)      once, when the status line and headers are in;
 *   on_data(ud, data, len)     for each piece of the body; return 1 to accept it, or 0
 *                              to pause: the same bytes are delivered again after
 *                              sy_upstream_resume();
 *   on_done(ud, result)        once, at the end, never from inside a curl callback.
 * on_header/on_data run inside curl callbacks: they must not call any sy_upstream_*
 * function or any curl function. on_done may (it runs from the multi's message loop).
 *
 * Ownership: the transfer belongs to the upstream until on_done returns, after which it
 * is freed; sy_upstream_cancel() frees it immediately without calling on_done (the
 * connection is closed, not returned to the pool).
 */
#ifndef SY_UPSTREAM_H
#define SY_UPSTREAM_H

#include <event2/event.h>
#include <stddef.h>

typedef struct sy_upstream sy_upstream;
typedef struct sy_upstream_xfer sy_upstream_xfer;

typedef enum {
    SY_UP_OK = 0,  /* complete HTTP exchange (any status) */
    SY_UP_CONNECT, /* could not connect / resolve */
    SY_UP_TIMEOUT, /* connect or total timeout */
    SY_UP_RECV,    /* connection broken while receiving (reset, cut body) */
    SY_UP_OTHER,
} sy_upstream_result;

typedef struct sy_upstream_cbs {
    void (*on_header)(void *ud, long status);
    int (*on_data)(void *ud, const char *data, size_t len);
    void (*on_done)(void *ud, sy_upstream_result result, const char *detail);
} sy_upstream_cbs;

typedef struct sy_upstream_req {
    const char *url;
    const char *const *headers; /* NULL-terminated "Name: value" lines */
    const char *body;           /* not copied: must outlive the transfer */
    size_t body_len;
    unsigned connect_timeout_ms;
    unsigned timeout_ms; /* whole exchange; 0 = none */
    const char *ca_file; /* PEM file of trusted certificates; NULL = curl's default */
} sy_upstream_req;

sy_upstream *sy_upstream_new(struct event_base *base);
/* Cancel every transfer (no on_done) and free the multi handle. */
void sy_upstream_free(sy_upstream *u);

/* Start a POST. Returns NULL if curl refuses the request (on_done is then not called). */
sy_upstream_xfer *sy_upstream_start(sy_upstream *u, const sy_upstream_req *req,
                                    const sy_upstream_cbs *cbs, void *ud);
void sy_upstream_cancel(sy_upstream_xfer *x);
void sy_upstream_resume(sy_upstream_xfer *x);
int sy_upstream_paused(const sy_upstream_xfer *x);

/* Response header value captured for names the caller may need (retry-after), or NULL. */
const char *sy_upstream_retry_after(const sy_upstream_xfer *x);

size_t sy_upstream_active(const sy_upstream *u);

#endif
