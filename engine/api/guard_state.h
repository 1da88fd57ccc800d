/*
 * guard_state: a call's guardrail state, shared by guard_call.c (input, answer, the
 * end) and guard_stream.c (streams); private to those two files.
 */
#ifndef SY_GUARD_STATE_H
#define SY_GUARD_STATE_H

#include "guard.h"
#include "sse.h"

#include <cjson/cJSON.h>

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
} sy_call_guard;

/* A run over direction d (restore: put placeholders back) into run. */
void sy_guard_run_init(sy_call_guard *g, sy_guard_dir *d, int restore, sy_guard_run *run);
/* 1 when a restorable placeholder exists (output then restores). */
int sy_guard_restoring(const sy_call_guard *g);
/* The OpenAI-shaped error body of a block by guard `name` (what: "request"/"answer"). */
void sy_guard_block_message(const char *name, const char *what, char *msg, size_t cap);

#endif
