/*
 * Fuzz target: the Anthropic Messages ingress (engine/proto/messages_*.c) on untrusted
 * bytes. The first byte picks what the rest is:
 *
 *   0  a client's Messages request body, read as the server reads it: translated with
 *      max_tokens required and not; a translated body must pass the chat validator (the
 *      client would otherwise get a 400 naming a member it never sent) and every
 *      upstream dialect's build must take or refuse it without crashing;
 *   1  an OpenAI chat.completion from an adapter: a translated answer must be one JSON
 *      object of type "message";
 *   2  the adapter's OpenAI SSE stream: split at a byte chosen by the second byte and
 *      byte by byte, the client's events must be identical, each "event: T\ndata: J\n\n"
 *      with J a JSON object of type T.
 *
 * A violated property aborts.
 */
#include "chat_validate.h"
#include "fuzz_input.h"
#include "json_body.h"
#include "messages_ingress.h"
#include "provider.h"
#include "sse.h"

#include <cjson/cJSON.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void check(int ok, const char *what)
{
    if (ok)
        return;
    fprintf(stderr, "fuzz_messages: %s\n", what);
    abort();
}

/* Every dialect builds the chat body or refuses it. */
static void build_all(const cJSON *chat)
{
    static const sy_provider_cfg provs[3] = {
        {.name = "o", .dialect = SY_DIALECT_OPENAI, .base_url = "http://x/v1", .api_key = "k"},
        {.name = "a", .dialect = SY_DIALECT_ANTHROPIC, .base_url = "http://x/v1", .api_key = "k"},
        {.name = "g", .dialect = SY_DIALECT_GEMINI, .base_url = "http://x/v1", .api_key = "k"},
    };
    static const sy_model_cfg model = {.name = "m", .upstream_name = "u"};
    for (size_t d = 0; d < 3; d++) {
        const sy_adapter *ad = sy_adapter_for(provs[d].dialect);
        sy_relay_state rs = {.client_model = "m", .client_id = "req_1"};
        sy_upstream_call up = {0};
        const char *bad = NULL, *why = NULL;
        cJSON *work = cJSON_Duplicate(chat, 1);
        int stream = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(work, "stream"));
        ad->build(&provs[d], &model, work, stream, &rs, &up, &bad, &why);
        cJSON_Delete(work);
        sy_upstream_call_free(&up);
        if (ad->release)
            ad->release(&rs);
    }
}

static void fuzz_request(const uint8_t *data, size_t size)
{
    char *buf = fz_body_copy(data, size); /* as the server's body buffer */
    size_t len = size;
    sy_json_error err;
    cJSON *root = sy_json_body_parse(buf, &len, &err);
    for (int need = 0; root && need < 2; need++) {
        char param[128], vparam[96];
        const char *why = NULL, *vwhy = NULL;
        cJSON *chat = sy_messages_to_chat(root, need, param, sizeof(param), &why);
        if (!chat) {
            check(why != NULL, "a refusal without a reason");
            continue;
        }
        check(sy_chat_validate(chat, vparam, sizeof(vparam), &vwhy),
              "the chat validator refused a translated body");
        check(!sy_json_find_duplicate(chat, vparam, sizeof(vparam)), "a duplicate member");
        check(sy_messages_token_estimate(chat) > 0, "an empty estimate");
        build_all(chat);
        cJSON_Delete(chat);
    }
    cJSON_Delete(root);
    free(buf);
}

static void fuzz_answer(const uint8_t *data, size_t size)
{
    sy_buf out = {0};
    if (sy_messages_answer((const char *)data, size, "req_1", "m", &out) == SY_OK) {
        cJSON *m = cJSON_ParseWithLength(out.data, out.len);
        check(cJSON_IsObject(m), "the answer is not a JSON object");
        const cJSON *t = cJSON_GetObjectItemCaseSensitive(m, "type");
        check(cJSON_IsString(t) && strcmp(t->valuestring, "message") == 0, "not a message");
        cJSON_Delete(m);
    } else {
        check(out.len == 0, "a failed answer wrote bytes");
    }
    sy_buf_free(&out);
}

static int on_event(void *ud, const sy_sse_event *ev)
{
    void **ctx = ud;
    if (ev->has_data)
        sy_messages_stream_chunk(ctx[0], ev->data, ev->data_len, ctx[1]);
    return 0;
}

/* The stream's events, split at cut (bytewise: one byte at a time), closed complete. */
static void run_stream(const char *p, size_t size, size_t cut, int bytewise, sy_buf *out)
{
    sy_messages_stream *st = sy_messages_stream_new("req_1", "m");
    void *ctx[2] = {st, out};
    sy_sse_parser parser;
    sy_sse_init(&parser, 1 << 16);
    if (bytewise) {
        for (size_t i = 0; i < size; i++)
            if (sy_sse_feed(&parser, p + i, 1, on_event, ctx))
                break;
    } else if (sy_sse_feed(&parser, p, cut, on_event, ctx) == 0) {
        sy_sse_feed(&parser, p + cut, size - cut, on_event, ctx);
    }
    sy_sse_finish(&parser, on_event, ctx);
    sy_sse_free(&parser);
    sy_messages_stream_close(st, NULL, NULL, out);
    sy_messages_stream_free(st);
}

/* Each event is "event: T\ndata: J\n\n" with J an object whose type is T. */
static void check_events(const sy_buf *out)
{
    const char *p = out->data, *end = p + out->len;
    while (p && p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        check(nl && (size_t)(end - p) > 7 && memcmp(p, "event: ", 7) == 0, "not an event line");
        const char *stop = strstr(nl, "\n\n");
        check(stop && memcmp(nl + 1, "data: ", 6) == 0, "not a data line");
        cJSON *j = cJSON_ParseWithLength(nl + 7, (size_t)(stop - nl - 7));
        const cJSON *t = cJSON_GetObjectItemCaseSensitive(j, "type");
        check(cJSON_IsString(t) && strlen(t->valuestring) == (size_t)(nl - p - 7) &&
                  memcmp(t->valuestring, p + 7, (size_t)(nl - p - 7)) == 0,
              "event name and data type differ");
        cJSON_Delete(j);
        p = stop + 2;
    }
}

static void fuzz_stream(const uint8_t *data, size_t size)
{
    size_t cut = size ? data[0] % (size + 1) : 0;
    sy_buf a = {0}, b = {0};
    run_stream((const char *)data, size, cut, 0, &a);
    run_stream((const char *)data, size, 0, size <= 4096, &b);
    check(a.len == b.len && (!a.len || memcmp(a.data, b.data, a.len) == 0),
          "the events depend on how the stream was split");
    check_events(&a);
    sy_buf_free(&a);
    sy_buf_free(&b);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1 || size > 1 << 20)
        return 0;
    if (fz_too_deep(data + 1, size - 1)) /* the server refuses deep nesting before parsing */
        return 0;
    switch (data[0] % 3) {
    case 0:
        fuzz_request(data + 1, size - 1);
        break;
    case 1:
        fuzz_answer(data + 1, size - 1);
        break;
    default:
        fuzz_stream(data + 1, size - 1);
        break;
    }
    return 0;
}
