/*
 * fake_stream: paced streaming for fake-provider. A streamed answer leaves in chunks of
 * plan.chunk_tokens tokens, at most plan.tps tokens a second (a timer waits between
 * chunks), and generation pauses while more than FP_BACKPRESSURE_BYTES wait unsent
 * (the server's drain callback resumes it, fake_chat.c). A mid-stream fault fires after
 * plan.after_tokens tokens (fake_faults.c).
 */
#include "fake_server.h"

#include <stdint.h>
#include <string.h>

void fp_stream_start(fp_req *r, const char *ctype)
{
    sy_buf h = {0};
    sy_buf_puts(&h, r->headers);
    if (r->stream)
        sy_buf_puts(&h, "Cache-Control: no-cache\r\nX-Accel-Buffering: no\r\n");
    sy_http_stream_start(r->hreq, 200, ctype, h.data);
    sy_buf_free(&h);
    r->started = 1;
    r->rec->status = 200;
    r->rec->first_byte_ms = fp_now_ms();
}

void fp_stream_open(fp_req *r)
{
    sy_buf b = {0};
    fp_stream_start(r, r->d->stream_content_type);
    r->d->render_stream_open(&r->x, &b);
    fp_stream_write(r, &b);
    sy_buf_free(&b);
}

void fp_stream_write(fp_req *r, const sy_buf *b)
{
    if (!b->len)
        return;
    sy_http_stream_write(r->hreq, b->data, b->len);
    r->queued += b->len;
}

void fp_stream_end(fp_req *r, const sy_buf *tail, const char *outcome)
{
    if (tail)
        fp_stream_write(r, tail);
    sy_http_stream_end(fp_req_release(r), NULL);
    fp_req_finish(r, outcome);
}

/* The token index at which the planned fault fires, SIZE_MAX for none. A tool call is
 * one event: a fault fires before it (after_tokens 0) or after it. */
static size_t fault_index(const fp_req *r)
{
    if (!fp_is_stream_fault(r->plan.fault))
        return SIZE_MAX;
    size_t at = (size_t)r->plan.after_tokens;
    if (at > r->text.n)
        at = r->text.n;
    if (r->x.tool_name && at > 0)
        at = r->text.n;
    return at;
}

/* Send the next chunk of at most n tokens, stopping short of token `stop`. */
static void send_chunk(fp_req *r, size_t stop, double now)
{
    size_t n = r->x.tool_name ? r->text.n : (size_t)r->plan.chunk_tokens;
    if (n > stop - r->next)
        n = stop - r->next;
    if (!r->started)
        fp_stream_open(r);
    sy_buf b = {0};
    if (r->x.tool_name) {
        r->d->render_stream_tool_call(&r->x, &b);
    } else {
        size_t len0, len1;
        const char *s = fp_text_token(&r->text, r->next, &len0);
        const char *e = fp_text_token(&r->text, r->next + n - 1, &len1);
        r->d->render_stream_delta(&r->x, s, (size_t)(e + len1 - s), &b);
    }
    fp_stream_write(r, &b);
    sy_buf_free(&b);
    r->next += n;
    r->rec->tokens = (long)r->next;
    if (r->plan.tps > 0)
        r->due_ms = now + (double)n * 1000.0 / r->plan.tps;
    if (sy_http_output_pending(r->hreq) > FP_BACKPRESSURE_BYTES)
        r->paused = 1;
}

/*
 * Produce stream chunks until the response ends, a fault fires, pacing asks to wait
 * (timer armed) or backpressure does (paused until the drain callback). The response
 * headers and the open event go out together with the first content chunk, so a fault
 * at 0 tokens means nothing was sent at all.
 */
void fp_stream_pump(fp_req *r)
{
    size_t fault_at = fault_index(r);
    for (;;) {
        if (r->paused)
            return;
        if (r->next == fault_at) {
            fp_stream_fault(r);
            return;
        }
        if (r->next == r->text.n) {
            sy_buf b = {0};
            if (!r->started)
                fp_stream_open(r);
            r->d->render_stream_close(&r->x, &b);
            fp_stream_end(r, &b, "completed");
            sy_buf_free(&b);
            return;
        }
        double now = fp_now_ms();
        if (r->due_ms > now) {
            fp_req_arm(r, r->due_ms - now);
            return;
        }
        send_chunk(r, fault_at < r->text.n ? fault_at : r->text.n, now);
    }
}

int fp_is_stream_fault(fp_fault f)
{
    return f == FP_FAULT_STALL || f == FP_FAULT_CUT_STREAM || f == FP_FAULT_MALFORMED_JSON ||
           f == FP_FAULT_ERROR_EVENT;
}

/* Fire the planned mid-stream fault now (r->next tokens have been sent). */
void fp_stream_fault(fp_req *r)
{
    sy_buf b = {0};
    switch (r->plan.fault) {
    case FP_FAULT_STALL:
        r->phase = FP_PHASE_STALLED;
        break;
    case FP_FAULT_CUT_STREAM:
        fp_req_close(r, SY_HTTP_CLOSE_FLUSH, "error:cut_stream");
        break;
    case FP_FAULT_ERROR_EVENT:
        if (!r->started)
            fp_stream_open(r);
        r->d->render_stream_error(&r->x, &b);
        fp_stream_end(r, &b, "error:error_event");
        break;
    case FP_FAULT_MALFORMED_JSON:
    default:
        if (!r->started)
            fp_stream_open(r);
        r->d->render_malformed(&r->x, 1, &b);
        sy_buf_puts(&b, "data: [DONE]\n\n");
        fp_stream_end(r, &b, "error:malformed_json");
        break;
    }
    sy_buf_free(&b);
}
