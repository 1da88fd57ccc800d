/*
 * fake_faults: what fake-provider sends when a response starts — the planned fault or
 * the answer (the faults fired inside a stream are fake_stream.c's). The kinds
 * (docs/fake-provider.md):
 *   http_400/429/429_quota/500/503/529  a dialect error body (429: with Retry-After)
 *   reset           the connection is reset (RST) before any byte
 *   stall           nothing is sent; the request ends when the client gives up
 *   cut_stream      the body stops part-way and the connection closes (FIN)
 *   malformed_json  a syntactically broken body or stream event
 *   error_event     an in-stream error event (non-stream: a plain 500)
 * Resets and cuts use sy_http_close(); every other fault is an ordinary response.
 */
#include "fake_server.h"

#include <stdio.h>

/* An http_* fault: the dialect's error body with its status. */
static void send_http_fault(fp_req *r, fp_fault f)
{
    static const fp_error_code codes[FP_FAULT_COUNT] = {
        [FP_FAULT_HTTP_400] = FP_ERR_INJECTED_400, [FP_FAULT_HTTP_429] = FP_ERR_RATE_LIMIT,
        [FP_FAULT_HTTP_429_QUOTA] = FP_ERR_QUOTA,  [FP_FAULT_HTTP_500] = FP_ERR_SERVER,
        [FP_FAULT_HTTP_503] = FP_ERR_UNAVAILABLE,  [FP_FAULT_HTTP_529] = FP_ERR_OVERLOADED,
    };
    char outcome[48];
    snprintf(outcome, sizeof outcome, "error:%s", fp_fault_name(f));
    int retry = f == FP_FAULT_HTTP_429_QUOTA ? -1 : r->plan.retry_after_s;
    r->rec->first_byte_ms = fp_now_ms();
    r->rec->status = fp_send_error(fp_req_release(r), r->d, codes[f], NULL, retry, r->headers);
    fp_req_finish(r, outcome);
}

/* A complete non-stream body (the answer, or a malformed one) with status 200. */
static void send_body(fp_req *r, const sy_buf *b, long tokens, const char *outcome)
{
    r->queued = b->len;
    if (tokens >= 0)
        r->rec->tokens = tokens;
    r->rec->status = 200;
    r->rec->first_byte_ms = fp_now_ms();
    fp_send_json(fp_req_release(r), 200, r->headers, b);
    fp_req_finish(r, outcome);
}

/* The non-stream answer (or its first half for cut_stream), rendered into out. */
static void render_completion(const fp_req *r, sy_buf *out)
{
    const char *text = r->text.text.data ? r->text.text.data : "";
    r->d->render_completion(&r->x, text, r->text.text.len, out);
}

void fp_req_start(fp_req *r)
{
    fp_fault f = r->plan.fault;
    if (f == FP_FAULT_ERROR_EVENT && !r->stream)
        f = FP_FAULT_HTTP_500; /* a non-stream answer has no events: a plain 500 */
    if (fp_fault_is_http(f)) {
        send_http_fault(r, f);
        return;
    }
    if (f == FP_FAULT_RESET) {
        fp_req_close(r, SY_HTTP_CLOSE_RESET, "error:reset");
        return;
    }
    if (r->stream) {
        r->phase = FP_PHASE_STREAM;
        fp_stream_pump(r);
        return;
    }
    sy_buf b = {0};
    if (f == FP_FAULT_STALL) {
        r->phase = FP_PHASE_STALLED;
    } else if (f == FP_FAULT_MALFORMED_JSON) {
        r->d->render_malformed(&r->x, 0, &b);
        send_body(r, &b, -1, "error:malformed_json");
    } else if (f == FP_FAULT_CUT_STREAM) {
        /* non-stream: a chunked 200 carrying the first half of the body, then close */
        sy_buf full = {0};
        render_completion(r, &full);
        sy_buf_append(&b, full.data, full.len / 2);
        sy_buf_free(&full);
        fp_stream_start(r, "application/json");
        fp_stream_write(r, &b);
        fp_req_close(r, SY_HTTP_CLOSE_FLUSH, "error:cut_stream");
    } else {
        render_completion(r, &b);
        send_body(r, &b, (long)r->text.n, "completed");
    }
    sy_buf_free(&b);
}
