/*
 * sse: incremental Server-Sent Events framer. See sse.h for the contract.
 *
 * Bytes are appended to p->raw; p->scan marks where the current line starts. Each
 * complete line is interpreted at once (its field goes into data/event), so a feed that
 * splits a line, a field name or a "\r\n" pair just leaves the tail for the next feed.
 * A blank line ended by "\r" cannot be emitted until the next byte shows whether a "\n"
 * belongs to it (end_pending); sy_sse_finish() settles that at end of stream.
 */
#include "sse.h"

#include <stdlib.h>
#include <string.h>

void sy_sse_init(sy_sse_parser *p, size_t max_event_bytes)
{
    memset(p, 0, sizeof(*p));
    p->max_event_bytes = max_event_bytes;
}

void sy_sse_free(sy_sse_parser *p)
{
    sy_buf_free(&p->raw);
    sy_buf_free(&p->data);
    sy_buf_free(&p->event);
    memset(p, 0, sizeof(*p));
}

static void reset_event(sy_sse_parser *p)
{
    sy_buf_reset(&p->raw);
    sy_buf_reset(&p->data);
    sy_buf_reset(&p->event);
    p->scan = 0;
    p->has_data = 0;
}

/* Apply one line (without its terminator) to the event in progress. */
static void apply_line(sy_sse_parser *p, const char *line, size_t len)
{
    if (len > 0 && line[0] == ':')
        return; /* comment: kept in raw only */
    const char *colon = memchr(line, ':', len);
    size_t name_len = colon ? (size_t)(colon - line) : len;
    const char *value = colon ? colon + 1 : line + len;
    size_t value_len = colon ? len - name_len - 1 : 0;
    if (value_len > 0 && value[0] == ' ') {
        value++;
        value_len--;
    }
    if (name_len == 4 && memcmp(line, "data", 4) == 0) {
        if (p->has_data)
            sy_buf_append(&p->data, "\n", 1);
        sy_buf_append(&p->data, value, value_len);
        p->has_data = 1;
    } else if (name_len == 5 && memcmp(line, "event", 5) == 0) {
        sy_buf_reset(&p->event);
        sy_buf_append(&p->event, value, value_len);
    }
    /* "id", "retry" and unknown fields are kept in raw only. */
}

/*
 * The blank line that ends the event has been appended to raw. Hand the event to cb
 * (unless `empty`: raw holds nothing but that blank line) and start a new one.
 */
static int emit(sy_sse_parser *p, int empty, sy_sse_cb cb, void *ud)
{
    int rc = 0;
    if (!empty) {
        sy_sse_event ev = {
            .raw = p->raw.data,
            .raw_len = p->raw.len,
            .event = p->event.len ? p->event.data : NULL,
            .event_len = p->event.len,
            .data = p->data.len ? p->data.data : "",
            .data_len = p->data.len,
            .has_data = p->has_data,
        };
        rc = cb(ud, &ev);
    }
    reset_event(p);
    return rc;
}

int sy_sse_feed(sy_sse_parser *p, const char *buf, size_t len, sy_sse_cb cb, void *ud)
{
    for (size_t i = 0; i < len; i++) {
        char c = buf[i];
        if (p->end_pending) {
            p->end_pending = 0;
            p->cr_pending = 0;
            if (c == '\n') {
                sy_buf_append(&p->raw, "\n", 1);
                int rc = emit(p, p->pending_empty, cb, ud);
                if (rc)
                    return rc;
                continue;
            }
            int rc = emit(p, p->pending_empty, cb, ud);
            if (rc)
                return rc;
        }
        if (p->cr_pending && c == '\n') {
            /* the "\n" of a "\r\n" whose "\r" already ended the line */
            p->cr_pending = 0;
            sy_buf_append(&p->raw, "\n", 1);
            p->scan = p->raw.len;
            continue;
        }
        p->cr_pending = 0;
        if (p->raw.len + 1 > p->max_event_bytes)
            return SY_ERR_LIMIT;
        sy_buf_append(&p->raw, &c, 1);
        if (c != '\n' && c != '\r')
            continue;
        size_t line_start = p->scan;
        size_t line_len = p->raw.len - 1 - line_start;
        p->scan = p->raw.len;
        if (line_len == 0) {
            if (c == '\r') {
                p->end_pending = 1; /* wait: a "\n" may still belong to this event */
                p->pending_empty = line_start == 0;
                continue;
            }
            int rc = emit(p, line_start == 0, cb, ud);
            if (rc)
                return rc;
            continue;
        }
        if (c == '\r')
            p->cr_pending = 1;
        apply_line(p, p->raw.data + line_start, line_len);
    }
    return 0;
}

int sy_sse_finish(sy_sse_parser *p, sy_sse_cb cb, void *ud)
{
    if (p->end_pending) {
        p->end_pending = 0;
        p->cr_pending = 0;
        int rc = emit(p, p->pending_empty, cb, ud);
        if (rc)
            return rc;
    }
    return 0;
}

int sy_sse_has_partial(const sy_sse_parser *p)
{
    return p->raw.len > 0 && !p->end_pending;
}
