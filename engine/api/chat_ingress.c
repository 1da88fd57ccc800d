/*
 * chat_ingress.c: where the chat pipeline meets an ingress (ingress.h). The call keeps
 * the OpenAI form inside; these functions translate its answer and its stream at the
 * edge, per attempt. Nothing here runs for OpenAI chat requests (c->ingress == NULL).
 */
#include "chat_call.h"

#include <string.h>
#include <time.h>

static sy_ingress_info call_info(const sy_call *c)
{
    return (sy_ingress_info){.id = c->id,
                             .model = c->att.rs.client_model ? c->att.rs.client_model : "",
                             .created = (int64_t)time(NULL)};
}

/* One OpenAI event of the adapter's output: the ingress translates its data. */
static int on_openai_event(void *ud, const sy_sse_event *ev)
{
    sy_call *c = ud;
    if (!ev->has_data)
        return 0;
    if (!c->att.ing_state) {
        sy_ingress_info info = call_info(c);
        c->att.ing_state = c->ingress->stream_open(&info);
    }
    c->ingress->stream_chunk(c->att.ing_state, ev->data, ev->data_len, &c->att.out);
    return 0;
}

/* The adapter writes whole events, so ing_raw never ends inside one for long; the
 * parser is bounded like the upstream's. */
void sy_chat_ingress_relay(sy_call *c)
{
    if (!c->ingress || !c->att.ing_raw.len)
        return;
    if (!c->att.ing_sse.max_event_bytes)
        sy_sse_init(&c->att.ing_sse, MAX_SSE_EVENT);
    sy_sse_feed(&c->att.ing_sse, c->att.ing_raw.data, c->att.ing_raw.len, on_openai_event, c);
    sy_buf_reset(&c->att.ing_raw);
}

void sy_chat_ingress_close(sy_call *c, const char *code, const char *message, sy_buf *out)
{
    if (!c->ingress)
        return;
    if (!c->att.ing_state) {
        sy_ingress_info info = call_info(c);
        c->att.ing_state = c->ingress->stream_open(&info);
    }
    c->ingress->stream_close(c->att.ing_state, code, message, out);
}

int sy_chat_ingress_answer(sy_call *c, const sy_buf *body, sy_buf *out)
{
    sy_ingress_info info = call_info(c);
    return c->ingress->answer(body->data ? body->data : "", body->len, &info, out);
}

void sy_chat_ingress_reset(sy_call *c)
{
    if (!c->ingress)
        return;
    if (c->att.ing_state)
        c->ingress->stream_free(c->att.ing_state);
    c->att.ing_state = NULL;
    sy_sse_free(&c->att.ing_sse);
    memset(&c->att.ing_sse, 0, sizeof(c->att.ing_sse));
    sy_buf_free(&c->att.ing_raw);
}
