/*
 * http_server: a strict HTTP/1.1 server on a libevent event_base (one per worker).
 *
 * Why not evhttp: libevent 2.1's evhttp answers oversize bodies and parse errors with
 * its own HTML pages, has no whole-request deadline, no connection cap and no hook to
 * reject ambiguous framing before it interprets the body (docs/architecture.md).
 *
 * Life of a request. The server reads and validates the head and body (limits, framing,
 * deadline) and answers protocol errors itself with OpenAI-shaped JSON. A complete
 * request is handed to the handler. The handler answers with sy_http_respond(), or
 * streams with sy_http_stream_start()/write()/end(); until it does, the request is "in
 * flight". If the client goes away while a request is in flight, the server calls the
 * request's abort callback exactly once and then frees the request: the handler must
 * drop every pointer to it inside that callback (this is where an upstream transfer is
 * cancelled). A request that was answered is freed by the server; the handler never
 * frees it.
 *
 * Keep-alive and pipelining: one request per connection is in flight at a time; bytes
 * of a pipelined next request wait in the input buffer (bounded) until the response is
 * complete. Reading stays enabled while a request is in flight so that a client's close
 * is noticed at once.
 *
 * Backpressure: sy_http_output_pending() tells how many response bytes are queued for
 * the client; the drain callback fires when the queue falls to the low-water mark.
 *
 * Threading: a server, its connections and requests belong to the thread that runs the
 * event_base. Nothing here is locked.
 */
#ifndef SY_HTTP_SERVER_H
#define SY_HTTP_SERVER_H

#include "http_parse.h"
#include "json_body.h"
#include "sy_common.h"

#include <event2/event.h>
#include <stddef.h>
#include <stdint.h>

typedef struct sy_http_server sy_http_server;
typedef struct sy_http_req sy_http_req;

typedef void (*sy_http_handler)(sy_http_req *req, void *ud);
typedef void (*sy_http_req_cb)(sy_http_req *req, void *req_ud);
/* Called with a request whose head is parsed (path and query set) and whose body is not
 * read yet. Return 0 to go on, or answer the request (sy_http_respond*) and return 1:
 * the connection is then closed without the body being stored (no 100 Continue). */
typedef int (*sy_http_head_check)(sy_http_req *req, void *ud);
/* Writes the JSON body of an error answer in the shape the request's API speaks (set by
 * the handler or its head check, e.g. Anthropic's {"type":"error",...}); the default is
 * OpenAI's {"error":{message,type,param,code}}. */
typedef void (*sy_http_error_body)(sy_buf *out, int status, const char *type, const char *code,
                                   const char *param, const char *message);

typedef struct sy_http_limits {
    size_t max_body_bytes;
    size_t max_header_bytes;
    unsigned max_headers;
    unsigned request_timeout_ms; /* first byte of the head to the last byte of the body */
    unsigned idle_timeout_ms;    /* keep-alive wait for the next request */
    unsigned max_connections;
    size_t max_body_memory; /* request bodies of all connections of the process together;
                               0 = 64 x max_body_bytes. Over it: 503 with Retry-After */
} sy_http_limits;

struct sy_http_req {
    sy_http_head head;       /* pointers into the connection's head copy */
    const char *path;        /* target without query string (NUL-terminated copy) */
    const char *query;       /* after '?', or "" */
    sy_buf body;             /* complete request body */
    uint64_t t_start_ns;     /* monotonic time the head's first byte arrived */
    uint64_t seq;            /* unique among the process's requests (never 0) */
    uint64_t bytes_in;       /* head + body bytes */
    uint64_t bytes_out;      /* response bytes queued so far */
    int status;              /* response status once answered, else 0 */
    char id[32];             /* request id set by the handler; when non-empty every
                                response carries it as x-switchyard-request-id */
    const char *cors_origin; /* set by the handler (or its head check): every response
                                carries Access-Control-Allow-Origin with this origin
                                (cors_origin_len bytes, e.g. into the head) and Vary:
                                Origin, plus Access-Control-Expose-Headers: cors_expose */
    size_t cors_origin_len;
    const char *cors_expose;
    sy_http_error_body error_body; /* NULL: the OpenAI error shape (reset per request) */
    void *ud;                      /* the handler's per-request state */
    sy_http_req_cb on_abort;       /* client went away while in flight */
    sy_http_req_cb on_drain;       /* output fell to the low-water mark while streaming */
    struct sy_http_conn *conn;
};

/*
 * Create a server that accepts on listen_fd (already bound and listening, non-blocking;
 * the server takes ownership and closes it). The handler is called once per complete
 * request. Returns NULL with a message on stderr if the listener cannot be set up.
 */
sy_http_server *sy_http_server_new(struct event_base *base, int listen_fd,
                                   const sy_http_limits *limits, sy_http_handler handler,
                                   void *handler_ud);

/* Install a head check (before the first connection); its ud is the handler's. */
void sy_http_server_set_head_check(sy_http_server *s, sy_http_head_check check);

/* Bytes of request bodies the process holds right now (see max_body_memory). */
size_t sy_http_body_memory(void);

/* Apply new limits to connections accepted from now on (config reload). */
void sy_http_server_set_limits(sy_http_server *s, const sy_http_limits *limits);

/*
 * Stop accepting, close idle connections, and mark busy ones to close after their
 * response. `on_idle` is called (once) when no connection remains.
 */
void sy_http_server_drain(sy_http_server *s, void (*on_idle)(void *ud), void *ud);

/* Connections and requests in flight right now. */
size_t sy_http_server_connections(const sy_http_server *s);

/* Close everything immediately (in-flight requests get their abort callback). */
void sy_http_server_free(sy_http_server *s);

/*
 * Create a non-blocking listening socket with SO_REUSEADDR and SO_REUSEPORT on
 * address:port (port 0 = any free port). Returns the fd, or -1 with a message in err.
 * *bound_port receives the port actually bound.
 */
int sy_http_listen_socket(const char *address, uint16_t port, uint16_t *bound_port, char *err,
                          size_t err_len);

/* The body as one JSON document (sy_json_body_parse: UTF-8 checked, duplicate member
 * names and trailing bytes refused, \u0000 kept as SY_JSON_NUL; the body is rewritten in
 * place), or NULL with *err set. The caller owns the result. */
struct cJSON *sy_http_req_json(sy_http_req *req, sy_json_error *err);

/* Request header lookup (case-insensitive); NULL when absent. */
const sy_http_header *sy_http_req_header(const sy_http_req *req, const char *name);
int sy_http_req_method_is(const sy_http_req *req, const char *method);

/*
 * Send a complete response. `headers` is a block of "Name: value\r\n" lines (or NULL);
 * Content-Length, Date and Connection are added here. The request is done afterwards:
 * the caller must not touch it again.
 */
void sy_http_respond(sy_http_req *req, int status, const char *content_type, const char *headers,
                     const char *body, size_t body_len);

/* The OpenAI error shape {"error":{"message","type","param","code"}} into b. */
void sy_http_error_openai(sy_buf *b, int status, const char *type, const char *code,
                          const char *param, const char *message);

/* Send an error in the request's shape (req->error_body; OpenAI's by default). */
void sy_http_respond_error(sy_http_req *req, int status, const char *type, const char *code,
                           const char *param, const char *message, const char *headers);

/* Start a chunked streaming response; `headers` as for sy_http_respond. */
void sy_http_stream_start(sy_http_req *req, int status, const char *content_type,
                          const char *headers);
/* Queue one chunk (len > 0). */
void sy_http_stream_write(sy_http_req *req, const char *data, size_t len);
/* Finish the stream with optional trailer lines ("Name: value\r\n"); request is done. */
void sy_http_stream_end(sy_http_req *req, const char *trailers);

size_t sy_http_output_pending(const sy_http_req *req);

/* How sy_http_close() ends a connection. */
typedef enum sy_http_close_how {
    SY_HTTP_CLOSE_FLUSH, /* send what is queued, then close (FIN): a truncated response */
    SY_HTTP_CLOSE_RESET, /* drop what is queued, close with SO_LINGER 0: the peer sees RST */
} sy_http_close_how;

/*
 * End a request without completing its response by closing its connection: for fault
 * injection (a stream cut mid-body, a connection reset before any byte), answered or
 * not, streaming or not. The abort callback is not called and the request is done
 * afterwards: the caller must not touch it again. The close itself happens after the
 * current callback returns, so the handler may call this from inside its callback.
 */
void sy_http_close(sy_http_req *req, sy_http_close_how how);

const char *sy_http_status_text(int status);

#endif
