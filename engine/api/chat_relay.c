/*
 * chat_relay.c: stage 9 of the chat pipeline, the response side (DESIGN.md §3, §9): the
 * upstream's header and body callbacks, stream relay with backpressure and held-back
 * first events, the non-stream answer, and how a stream ends.
 */
#include "chat_call.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char SY_CHAT_TOO_LARGE[] = "upstream_response_too_large";

/* Arm the call's one timer. libevent measures the delay from the loop's cached time,
 * which lags by however long this loop iteration has run: refresh it first, or a
 * backoff that waits out a Retry-After could fire before the block ends. */
void sy_chat_arm_timer(sy_call *c, int kind, unsigned ms)
{
    struct timeval tv = {ms / 1000, (long)(ms % 1000) * 1000};
    c->att.timer_kind = kind;
    event_base_update_cache_time(c->w->base);
    evtimer_add(&c->att.timer, &tv);
}

/* Headers arrived: the first byte. A 2xx stream now runs on the idle timer; anything
 * else is read whole under the transfer's own timeout. */
void sy_chat_on_header(void *ud, long status)
{
    sy_call *c = ud;
    c->att.up_status = status;
    if (!c->rec.t_first_ns)
        c->rec.t_first_ns = sy_now_ns();
    if (c->att.timer_kind == T_TTFT) {
        evtimer_del(&c->att.timer);
        c->att.timer_kind = T_NONE;
        if (c->stream && status >= 200 && status < 300)
            sy_chat_arm_timer(c, T_IDLE, c->rt->cfg->reliability.idle_timeout_ms);
    }
}

int sy_chat_on_sse_event(void *ud, const sy_sse_event *ev)
{
    sy_call *c = ud;
    /* an ingress translates the adapter's OpenAI events into its client's API, unless
     * the adapter speaks that API natively; output guardrails check them first
     * (guard_stream.c; a call with guardrails never takes the native path) */
    int translate = c->ingress && !c->att.native;
    sy_buf *dst = translate ? &c->att.ing_raw : &c->att.out;
    sy_buf *sink = sy_guard_stream_sink(c, dst);
    size_t before = sink->len;
    c->att.ad->stream_event(ev->event, ev->event_len, ev->data, ev->data_len, ev->raw, ev->raw_len,
                            &c->att.rs, sink);
    if (sink->len > before) /* the response cache keeps what the adapter produced */
        sy_cache_capture_stream(c, sink->data + before, sink->len - before);
    sy_guard_stream_relay(c, dst);
    sy_chat_ingress_relay(c);
    return 0;
}

/* Give up on the current attempt from inside a curl callback: the transfer is cancelled
 * (and the next step taken) from the timer, outside curl. */
static void abandon_later(sy_call *c, const char *code)
{
    c->att.fail_code = code;
    evtimer_del(&c->att.timer);
    c->att.timer_kind = T_ABANDON;
    event_active(&c->att.timer, EV_TIMEOUT, 0);
}

/*
 * Upstream body bytes (inside a curl callback: no curl calls here). Streams are relayed
 * as they arrive, but the client's stream starts only with the first translated event
 * that is not an error, so that a provider failing in its first frame can still be
 * replaced by the next arm. When the client's output queue is above the high-water
 * mark the bytes are refused (the transfer pauses) and redelivered after call_drain.
 */
int sy_chat_on_data(void *ud, const char *data, size_t len)
{
    sy_call *c = ud;
    if (c->att.timer_kind == T_ABANDON)
        return 1; /* being abandoned: swallow */
    int ok2xx = c->att.up_status >= 200 && c->att.up_status < 300;
    if (!c->stream && ok2xx && c->att.resp.len + len > MAX_UPSTREAM_BODY) {
        /* Stop reading (issue 15: 110 MB were read whole and asked for twice more). The
         * provider bills what it generated: estimate it from the bytes seen, so the
         * record and the log carry an estimated usage and this error code. */
        c->att.rs.content_bytes = (int64_t)(c->att.resp.len + len);
        sy_buf_free(&c->att.resp);
        sy_log(SY_LOG_WARN,
               "request %s: provider '%s' answered more than %u bytes; stopped reading, not "
               "retried, usage estimated from the bytes seen",
               c->id, c->att.prov->name, MAX_UPSTREAM_BODY);
        abandon_later(c, SY_CHAT_TOO_LARGE);
        return 1;
    }
    if (!c->stream || !ok2xx) {
        if (c->att.resp.len + len > MAX_UPSTREAM_BODY)
            return 1; /* an error body: keep its start, the mapping needs no more */
        sy_buf_append(&c->att.resp, data, len);
        return 1;
    }
    if (c->att.started && sy_http_output_pending(c->req) > c->rt->cfg->upstream.stream_buffer_bytes)
        return 0;
    sy_chat_arm_timer(c, T_IDLE, c->rt->cfg->reliability.idle_timeout_ms);
    if (sy_sse_feed(&c->att.sse, data, len, sy_chat_on_sse_event, c) == SY_ERR_LIMIT)
        c->rec.error_code = "upstream_event_too_large";
    if (!c->att.started) {
        if (c->att.rs.saw_error_event || c->rec.error_code) {
            abandon_later(c, c->rec.error_code ? c->rec.error_code : "upstream_stream_error");
            return 1;
        }
        int committed = c->att.rs.content_chunks || c->att.rs.finish_reason[0] ||
                        c->att.rs.saw_done ||
                        c->att.out.len > MAX_HELD_BACK; /* bounded: a chatty preamble starts it */
        if (!c->att.out.len || !committed)
            return 1; /* nothing the client needs yet: keep it (and the fallback) open */
        sy_http_stream_start(c->req, 200, "text/event-stream", c->headers.data);
        c->att.started = 1;
        c->rec.status = 200;
    }
    if (c->att.out.len) {
        sy_http_stream_write(c->req, c->att.out.data, c->att.out.len);
        sy_buf_reset(&c->att.out);
    }
    return 1;
}

/* choices[0].message of an OpenAI-shaped body as compact JSON (malloc'd), or NULL. */
static char *answer_message_json(const sy_buf *body)
{
    cJSON *root = cJSON_ParseWithLength(body->data ? body->data : "", body->len);
    const cJSON *msg = cJSON_GetObjectItemCaseSensitive(
        cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(root, "choices"), 0), "message");
    char *out = msg ? cJSON_PrintUnformatted(msg) : NULL;
    cJSON_Delete(root);
    return out;
}

/* A successful non-stream answer: relay the translated body with its cost (in the
 * client's API when it came through an ingress). */
void sy_chat_answer_plain(sy_call *c, sy_buf *body)
{
    sy_cache_hold_plain(c, body);        /* before the output guardrails: they run on each replay */
    if (sy_guard_answer(c, body) != 0) { /* output guardrails: blocked (guard_call.c) */
        sy_chat_detach(c);
        return;
    }
    sy_buf translated = {0};
    int translate = c->ingress && !c->att.native; /* a native answer is the client's already */
    if (translate && sy_chat_ingress_answer(c, body, &translated) != 0) {
        sy_buf_free(&translated);
        c->rec.status = 502;
        c->rec.error_code = "upstream_malformed_response";
        sy_http_respond_error(c->req, 502, "upstream_error", c->rec.error_code, NULL,
                              "the provider's answer could not be translated", c->headers.data);
        sy_chat_detach(c);
        return;
    }
    c->rec.status = 200;
    c->rec.completed = 1;
    if (c->rt->cfg->log.include_prompts)
        c->rec.answer_json = answer_message_json(body);
    /* The whole answer is known: its cost goes into a header (streams: the log). */
    sy_bill bill;
    sy_bill_exchange(&c->att.model->price, &c->att.rs, 1, c->rec.prompt_bytes, &bill);
    sy_buf_printf(&c->headers, "x-switchyard-cost-usd: %.9f\r\n", bill.cost_usd);
    const sy_buf *out = translate ? &translated : body;
    sy_http_respond(c->req, 200, "application/json", c->headers.data, out->data, out->len);
    sy_buf_free(&translated);
    sy_chat_detach(c);
}

/* A finished streaming exchange that started: close it, in-band error if it was cut. */
void sy_chat_finish_stream(sy_call *c, sy_upstream_result res, const char *detail)
{
    sy_sse_finish(&c->att.sse, sy_chat_on_sse_event, c);
    if (c->att.out.len) {
        sy_http_stream_write(c->req, c->att.out.data, c->att.out.len);
        sy_buf_reset(&c->att.out);
    }
    if (c->att.rs.error_sent) {
        /* the adapter already ended the stream with its one in-band error (an upstream
         * error event or an undecodable chunk): nothing more but the end (issue 15) */
        c->rec.error_code = c->att.rs.error_sent;
    } else if (res != SY_UP_OK || sy_sse_has_partial(&c->att.sse) || c->rec.error_code ||
               (!c->att.rs.saw_done && !c->att.rs.finish_reason[0])) {
        char msg[256];
        snprintf(msg, sizeof(msg), "the provider's stream ended prematurely (%s)",
                 res != SY_UP_OK ? detail : "incomplete stream");
        sy_chat_stream_error(c, c->rec.error_code ? c->rec.error_code : "upstream_stream_cut", msg);
    } else {
        c->rec.completed = 1;
        sy_chat_ingress_close(c, NULL, NULL, &c->att.out); /* the API's closing events */
        sy_http_stream_write(c->req, c->att.out.data, c->att.out.len);
        sy_buf_reset(&c->att.out);
    }
    sy_http_stream_end(c->req, NULL);
    sy_chat_detach(c);
}

/* An error after the stream started: tell the client in-band, then end the stream. */
void sy_chat_stream_error(sy_call *c, const char *code, const char *message)
{
    sy_buf ev = {0};
    if (c->ingress) {
        sy_chat_ingress_close(c, code, message, &ev);
        sy_http_stream_write(c->req, ev.data, ev.len);
        sy_buf_free(&ev);
        c->rec.error_code = code;
        return;
    }
    sy_buf_puts(&ev, "data: {\"error\":{\"message\":");
    sy_buf_json_string(&ev, message, strlen(message));
    sy_buf_puts(&ev, ",\"type\":\"upstream_error\",\"param\":null,\"code\":");
    sy_buf_json_string(&ev, code, strlen(code));
    sy_buf_puts(&ev, "}}\n\n");
    sy_http_stream_write(c->req, ev.data, ev.len);
    sy_buf_free(&ev);
    c->rec.error_code = code;
}
