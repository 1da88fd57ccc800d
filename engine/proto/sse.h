/*
 * sse: an incremental Server-Sent Events framer (WHATWG HTML §9.2 event stream).
 *
 * Bytes arrive from upstream in arbitrary pieces; sy_sse_feed() buffers only the tail
 * of an unfinished event and calls back once per complete event (terminated by a blank
 * line). Line endings may be "\n", "\r\n" or "\r", also when a "\r\n" pair is split
 * across two feeds. Comment lines (":...") are kept in `raw` but contribute no field.
 *
 * Ownership: the parser owns its buffers; the event passed to the callback points into
 * them (or into the caller's input) and is valid only during the callback.
 */
#ifndef SY_SSE_H
#define SY_SSE_H

#include "sy_common.h"

#include <stddef.h>

typedef struct sy_sse_event {
    const char *raw; /* the event's bytes exactly as received, blank line included */
    size_t raw_len;
    const char *event; /* value of the last "event:" field, NULL when absent */
    size_t event_len;
    const char *data; /* "data:" values joined with "\n" (no trailing "\n"); "" if none */
    size_t data_len;
    int has_data; /* 1 when at least one data field was present */
} sy_sse_event;

/* Return 0 to continue, nonzero to stop: sy_sse_feed() then returns that value. */
typedef int (*sy_sse_cb)(void *ud, const sy_sse_event *ev);

typedef struct sy_sse_parser {
    size_t max_event_bytes; /* an event longer than this fails with SY_ERR_LIMIT */
    sy_buf raw;             /* bytes of the event in progress */
    sy_buf data;            /* joined data of the event in progress */
    sy_buf event;           /* event-type of the event in progress */
    size_t scan;            /* bytes of `raw` already split into lines */
    int has_data;
    int cr_pending;    /* last byte seen was '\r' (a following '\n' belongs to it) */
    int end_pending;   /* a blank line ended by '\r' awaits the next byte */
    int pending_empty; /* ... and the event it ends holds nothing else */
} sy_sse_parser;

void sy_sse_init(sy_sse_parser *p, size_t max_event_bytes);
void sy_sse_free(sy_sse_parser *p);

/*
 * Feed len bytes. Calls cb for each event completed by them, in order. Returns 0,
 * SY_ERR_LIMIT when an event exceeds max_event_bytes (the parser is then unusable),
 * or the callback's nonzero return value.
 */
int sy_sse_feed(sy_sse_parser *p, const char *buf, size_t len, sy_sse_cb cb, void *ud);

/*
 * At end of stream: deliver an event whose final blank line ended with a bare "\r" at
 * the very end of the input (it was held back in case a "\n" followed). Returns 0 or
 * the callback's nonzero value.
 */
int sy_sse_finish(sy_sse_parser *p, sy_sse_cb cb, void *ud);

/* After sy_sse_finish(): 1 if an unterminated event is pending (a cut stream), else 0. */
int sy_sse_has_partial(const sy_sse_parser *p);

#endif
