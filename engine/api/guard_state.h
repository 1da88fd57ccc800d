/*
 * guard_state: a call's guardrail state, shared by guard_call.c (input, answer, the
 * end) and guard_stream.c (streams); private to those two files.
 */
#ifndef SY_GUARD_STATE_H
#define SY_GUARD_STATE_H

#include "adapter.h"
#include "guard.h"
#include "guard_call.h"
#include "sse.h"
#include "upstream.h"

#include <cjson/cJSON.h>
#include <stdio.h>

/* The guardrails of one direction and what they did. */
typedef struct sy_guard_dir {
    const sy_guard **gs; /* borrowed from the runtime's config */
    size_t n;
    unsigned *hits; /* per guard: matches acted on */
    int ran;        /* the direction was checked (counted in the metrics) */
} sy_guard_dir;

typedef struct sy_call_guard {
    sy_guard_dir in, out;
    sy_guard_dir in_sys;  /* the input guards for system/developer messages (no injection) */
    sy_guard_masks masks; /* placeholders of this request (input redactions, then output) */
    /* streams: the adapter's events, parsed and checked per attempt */
    sy_buf raw;
    sy_sse_parser sse;
    unsigned attempt;     /* the attempt the stream state belongs to (0: none yet) */
    sy_guard_window *win; /* per choice index */
    size_t n_win;
    cJSON *tmpl; /* the last chunk's envelope (id, created, model) for held text */
    int blocked; /* a block was sent: nothing more is relayed */
    sy_buf *dst; /* where checked events go during a relay */
    /* the input judge (guard_judge.c), while it decides */
    const sy_guard *judge; /* the call's first judge guard, or NULL */
    size_t judge_index;    /* its index in `in` */
    cJSON *judge_root;     /* the request body, held until the verdict */
    const sy_guard_cont *judge_k;
    const sy_adapter *judge_ad;
    const sy_model_cfg *judge_model;
    sy_relay_state judge_rs;
    sy_upstream_call judge_up;
    sy_buf judge_resp;
    long judge_status;
    const char *verdict; /* "safe", "unsafe", or why it failed (static), for the log */
    double judge_cost_usd;
} sy_call_guard;

/* A run over direction d (restore: put placeholders back) into run. */
void sy_guard_run_init(sy_call_guard *g, sy_guard_dir *d, int restore, sy_guard_run *run);
/* 1 when a restorable placeholder exists (output then restores). */
int sy_guard_restoring(const sy_call_guard *g);
/* The message of a block by guard `name` (what: "request" or "answer"). */
static inline void sy_guard_block_message(const char *name, const char *what, char *msg, size_t cap)
{
    snprintf(msg, cap, "the %s was blocked by guardrail '%.128s'", what, name);
}

/* guard_judge.c: ask the call's judge about root (its messages). 1: the judge is under
 * way and owns root until it calls k->go_on (or answers); 0: it could not start and the
 * request goes on (fail-open); -1: it could not start and the request was refused
 * (fail-closed, 503 guardrail_unavailable). */
int sy_guard_judge_start(struct sy_call *c, sy_http_req *req, cJSON *root, const sy_guard_cont *k);
/* Drop what the judge holds (the call ends). */
void sy_guard_judge_free(sy_call_guard *g);

#endif
