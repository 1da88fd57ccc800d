/* Fuzz target: POST /v1/responses (engine/proto/responses*.c, engine/providers/
 * provider_responses.c). The input is, in turn: a client's Responses request (JSON parse
 * with the server's nesting limit, the translation to a chat body, and for an accepted
 * request the native adapter's build); a chat.completion answer translated to a Response;
 * a stream of chat chunks translated to Responses events, and a Responses upstream stream
 * through the native relay, each fed whole and split in two, which must give the same
 * bytes; and a native non-stream answer. */
#include "fuzz_input.h"
#include "provider.h"
#include "responses.h"
#include "sse.h"

#include <cjson/cJSON.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static const sy_provider_cfg prov = {.name = "p",
                                     .dialect = SY_DIALECT_OPENAI,
                                     .base_url = "http://127.0.0.1:1/v1",
                                     .api_key = "k",
                                     .responses_api = 1};
static const sy_model_cfg model = {.name = "m", .upstream_name = "u"};
static const sy_responses_meta meta = {.id = "req_F", .model = "m", .created = 1};

typedef struct run_ctx {
    sy_responses_stream *rsp; /* chat chunks -> Responses events, or NULL: native relay */
    sy_relay_state rs;
    sy_buf out;
} run_ctx;

static int on_event(void *ud, const sy_sse_event *ev)
{
    run_ctx *c = ud;
    if (c->rsp) {
        if (ev->has_data)
            sy_responses_stream_chunk(c->rsp, ev->data, ev->data_len, &c->out);
    } else {
        sy_responses_native_adapter(&prov)->stream_event(ev->event, ev->event_len, ev->data,
                                                         ev->data_len, ev->raw, ev->raw_len, &c->rs,
                                                         &c->out);
    }
    return 0;
}

/* The stream p[0..size) fed in two pieces cut at `cut`: the client's bytes into out. */
static void run(const char *p, size_t size, size_t cut, int native, sy_buf *out)
{
    run_ctx c = {.rsp = native ? NULL : sy_responses_stream_new(&meta),
                 .rs = {.client_id = "req_F", .client_model = "m"}};
    sy_sse_parser sse;
    sy_sse_init(&sse, 1 << 20);
    sy_sse_feed(&sse, p, cut, on_event, &c);
    sy_sse_feed(&sse, p + cut, size - cut, on_event, &c);
    sy_sse_finish(&sse, on_event, &c);
    sy_sse_free(&sse);
    if (c.rsp) {
        sy_responses_stream_close(c.rsp, NULL, NULL, &c.out);
        sy_responses_stream_free(c.rsp);
    } else {
        sy_responses_native_adapter(&prov)->release(&c.rs);
    }
    *out = c.out;
}

static void split_twice(const char *p, size_t size, int native)
{
    sy_buf whole, cut;
    run(p, size, size, native, &whole);
    run(p, size, size / 2, native, &cut);
    if (whole.len != cut.len || (whole.len && memcmp(whole.data, cut.data, whole.len) != 0))
        abort(); /* the split changed what the client would see */
    sy_buf_free(&whole);
    sy_buf_free(&cut);
}

static void request(const char *p, size_t size)
{
    if (fz_too_deep(p, size)) /* the server refuses deep nesting before parsing */
        return;
    cJSON *root = cJSON_ParseWithLength(p, size);
    const char *param = NULL;
    char why[256];
    cJSON *chat = root ? sy_responses_to_chat(root, &param, why, sizeof(why)) : NULL;
    if (chat) {
        const sy_adapter *ad = sy_responses_native_adapter(&prov);
        sy_relay_state rs = {.client_model = "m"};
        sy_upstream_call up = {0};
        const char *bad = NULL, *w = NULL;
        ad->build(&prov, &model, root, 1, &rs, &up, &bad, &w);
        sy_upstream_call_free(&up);
        ad->release(&rs);
    }
    cJSON_Delete(chat);
    cJSON_Delete(root);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 1 << 20)
        return 0;
    const char *p = (const char *)data;
    request(p, size);
    sy_buf out = {0};
    sy_responses_from_chat(p, size, &meta, &out);
    sy_buf_free(&out);
    sy_relay_state rs = {.client_id = "req_F", .client_model = "m"};
    const sy_adapter *ad = sy_responses_native_adapter(&prov);
    ad->response(p, size, &rs, &out);
    ad->release(&rs);
    sy_buf_free(&out);
    split_twice(p, size, 0);
    split_twice(p, size, 1);
    return 0;
}
