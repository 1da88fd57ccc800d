/*
 * fake_server: the state `switchyard fake-provider` shares between its files.
 *
 * One event_base, one thread, one sy_http_server (http_server.h). Nothing blocks; every
 * delay is a timer. The files:
 * from the top (each calls only the ones below it):
 *   fake_provider.c  command line, listening socket, main loop
 *   fake_server.c    routing, GET models
 *   fake_chat.c      a chat request: validation, the plan, the fp_req's timer and abort
 *   fake_faults.c    delivering the planned answer or fault when the response starts
 *   fake_stream.c    paced streaming with backpressure, and faults inside a stream
 *   fake_req.c       an fp_req's lifetime: release, close, end
 *   fake_stats.c     request records, counters and the /_fake/ control API
 *   fake_reply.c     the clock, plain responses, error bodies, authentication
 * Decisions come from fake_scenario.c / fake_plan.c (pure), hidden qualities from
 * fake_quality.c (pure); bodies from the dialects
 * (fake_dialect.h).
 *
 * Lifetimes and ownership:
 * - fp_server owns the scenario, the generators, the statistics and the list of live
 *   requests.
 * - An fp_req exists for each chat request that passed validation, from its arrival to
 *   its end (completed, fault delivered, client closed). It owns its timer, generated
 *   text and a reference on its fp_record. It borrows the sy_http_req (hreq) until the
 *   last send: whoever sends last clears hreq first, then calls fp_req_finish(). If the
 *   client goes away first, the server's abort callback (fp_req_on_abort) ends the
 *   fp_req and nothing refers to the sy_http_req afterwards.
 * - fp_record (one per chat request, rejected ones included) is shared by the
 *   statistics ring and the live fp_req, and freed when both let go.
 */
#ifndef SY_FAKE_SERVER_H
#define SY_FAKE_SERVER_H

#include "fake_dialect.h"
#include "fake_scenario.h"
#include "http_server.h"

#include <cjson/cJSON.h>
#include <event2/event.h>
#include <gsl/gsl_rng.h>
#include <stdint.h>

#define FP_RECENT_MAX         1000        /* requests kept in /_fake/stats */
#define FP_BACKPRESSURE_BYTES (64 * 1024) /* pause generation above this much unsent */

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
    sy_http_server *http;
    fp_scenario *scenario;
    uint64_t seed;
    gsl_rng *fault_rng, *latency_rng;
    uint64_t id_nonce; /* makes response ids differ across runs */
    int shutting_down;

    uint64_t seq, total;
    fp_record *recent[FP_RECENT_MAX]; /* ring, oldest at recent_head */
    size_t recent_head, recent_len;
    fp_counters by_model, by_outcome;
    fp_req *live; /* doubly linked through fp_req.prev/next_live */
    size_t n_live;
} fp_server;

typedef enum fp_phase {
    FP_PHASE_WAIT,    /* before the response starts (latency / TTFT timer) */
    FP_PHASE_STREAM,  /* sending chunks */
    FP_PHASE_STALLED, /* holding the connection, waiting for the client to go away */
} fp_phase;

struct fp_req {
    fp_server *srv;
    sy_http_req *hreq; /* NULL once the last send was made or the client left */
    const fp_dialect *d;
    fp_record *rec;
    fp_phase phase;
    int stream;
    fp_exchange x;
    char *model;      /* x.model points here */
    char *tool_name;  /* a tool call answer: x.tool_name points here, else NULL */
    sy_buf tool_args; /* x.tool_args_json points here */
    char headers[64]; /* "x-request-id: …\r\n", sent with every response */
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

/* Monotonic milliseconds (the clock of every *_ms field). */
double fp_now_ms(void);

/* ---- fake_server.c */

/* The sy_http_server handler: every request enters here. */
void fp_on_request(sy_http_req *req, void *ud);

/* ---- fake_reply.c */

/* Send a complete JSON response; req is done afterwards. */
void fp_send_json(sy_http_req *req, int status, const char *headers, const sy_buf *b);
/* Send a dialect error (Retry-After when retry_after_s >= 0, plus the extra header
 * lines, may be NULL); returns the status sent. req is done afterwards. */
int fp_send_error(sy_http_req *req, const fp_dialect *d, fp_error_code code, const char *message,
                  int retry_after_s, const char *headers);

/* Whether the request carries the scenario's api_key the dialect's way. */
int fp_authorized(const fp_server *srv, const fp_dialect *d, const sy_http_req *req);

/* ---- fake_chat.c */

/* A chat request routed to dialect d: record, validate, plan, answer or arm the timer. */
void fp_handle_chat(fp_server *srv, const fp_dialect *d, sy_http_req *req);

/* fake_embed.c: 1 for OpenAI's /v1/embeddings, 2 for Gemini's
 * /v1beta/models/M:batchEmbedContents, 0 for any other path. */
int fp_embed_route(const char *path);
/* Answer an embeddings request of that kind (deterministic unit vectors). */
void fp_handle_embed(fp_server *srv, sy_http_req *req, int kind);
/* The deterministic unit vector (dim components) of a text. */
void fp_embed_vector(const char *text, size_t len, long dim, double *out);

/* ---- fake_req.c */

/*
 * End a request: record the outcome, unlink, free what it owns. hreq must already be
 * NULL (the last send was made, or the client left).
 */
void fp_req_finish(fp_req *r, const char *outcome);
/* Take the sy_http_req for the final send: the fp_req no longer refers to it. */
sy_http_req *fp_req_release(fp_req *r);
/* Arm the request's timer to fire in ms (clamped at 0). */
void fp_req_arm(fp_req *r, double ms);
/* Close the connection the fault's way (sy_http_close) and end the request. */
void fp_req_close(fp_req *r, sy_http_close_how how, const char *outcome);

/* ---- fake_stream.c */

/* Send the 200 head of a streamed (chunked) response with the given content type. */
void fp_stream_start(fp_req *r, const char *ctype);
/* Send the head and the dialect's stream open event. */
void fp_stream_open(fp_req *r);
/* Append body bytes to the started response (nothing for an empty buffer). */
void fp_stream_write(fp_req *r, const sy_buf *b);
/* Write tail (may be NULL), finish the chunked response, end the request. */
void fp_stream_end(fp_req *r, const sy_buf *tail, const char *outcome);
/* Produce chunks until the end, a fault, a pacing wait or backpressure (see the file). */
void fp_stream_pump(fp_req *r);

/* Fire the planned mid-stream fault now (r->next tokens have been sent). */
void fp_stream_fault(fp_req *r);
/* Whether f is delivered inside a stream (after some tokens) rather than up front. */
int fp_is_stream_fault(fp_fault f);

/* ---- fake_faults.c */

/* The response starts (timer or no delay): deliver the planned fault or the answer. */
void fp_req_start(fp_req *r);

/* ---- fake_stats.c */

/* Start the record of a chat request (headers redacted, body parsed when JSON). Returns
 * it with one reference for the caller, another held by the ring; *body_out borrows the
 * parsed body (owned by the record) or is NULL. */
fp_record *fp_record_start(fp_server *srv, const fp_dialect *d, const sy_http_req *req,
                           const cJSON **body_out);
/* Close a record: outcome, end time, counters. Idempotent on the outcome. */
void fp_record_end(fp_server *srv, fp_record *rec, const char *outcome);
void fp_record_unref(fp_record *r);
void fp_counters_add(fp_counters *c, const char *name);
/* Clear the statistics (ring, totals, counters). */
void fp_stats_clear(fp_server *srv);
/* Replace the scenario (taking ownership); reseeds unless keep_seed or it has no seed. */
void fp_install_scenario(fp_server *srv, fp_scenario *s, int keep_seed);
/* A request under /_fake/. */
void fp_handle_admin(fp_server *srv, sy_http_req *req);

#endif
