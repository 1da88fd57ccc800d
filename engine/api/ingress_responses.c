/*
 * ingress_responses.c: POST /v1/responses (OpenAI's Responses API) through the chat
 * pipeline (ingress.h). The translations are engine/proto/responses*.c; errors keep
 * OpenAI's shape. Providers configured with "responses_api": true are sent the client's
 * body natively (engine/providers/provider_responses.c); every other provider, of any
 * dialect, gets the chat translation.
 */
#include "ingress.h"

#include "provider.h"
#include "responses.h"

static sy_responses_meta meta(const sy_ingress_info *info)
{
    return (sy_responses_meta){.id = info->id, .model = info->model, .created = info->created};
}

static int answer(const char *body, size_t len, const sy_ingress_info *info, sy_buf *out)
{
    sy_responses_meta m = meta(info);
    return sy_responses_from_chat(body, len, &m, out);
}

static void *stream_open(const sy_ingress_info *info)
{
    sy_responses_meta m = meta(info);
    return sy_responses_stream_new(&m);
}

static void stream_chunk(void *st, const char *data, size_t len, sy_buf *out)
{
    sy_responses_stream_chunk(st, data, len, out);
}

static void stream_close(void *st, const char *code, const char *message, sy_buf *out)
{
    sy_responses_stream_close(st, code, message, out);
}

static void stream_free(void *st)
{
    sy_responses_stream_free(st);
}

const sy_ingress sy_ingress_responses = {
    .name = "responses",
    .error_body = sy_http_error_openai,
    .to_chat = sy_responses_to_chat,
    .answer = answer,
    .stream_open = stream_open,
    .stream_chunk = stream_chunk,
    .stream_close = stream_close,
    .stream_free = stream_free,
    .native = sy_responses_native_adapter,
};
