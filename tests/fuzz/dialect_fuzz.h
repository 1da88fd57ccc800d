/*
 * dialect_fuzz.h: the body of the provider-dialect fuzz targets (fuzz_anthropic.c,
 * fuzz_gemini.c): upstream bytes as an SSE stream split two ways (the client output must
 * not depend on the split), as a whole response and as an error body. Included by one
 * target each; the generated ids and timestamps are masked before comparing.
 */
#ifndef SY_DIALECT_FUZZ_H
#define SY_DIALECT_FUZZ_H

#include "provider.h"
#include "sse.h"

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

typedef struct sink {
    sy_relay_state rs;
    sy_buf out;
} sink;

/* The dialect under test and its configuration, set by the target before each run. */
static const sy_provider_cfg *fz_prov;
static const sy_model_cfg *fz_model;

static const sy_adapter *ad(void)
{
    return sy_adapter_for(fz_prov->dialect);
}

/* A fresh translation state, as the pipeline makes one per attempt. */
static void start(sink *s, const char *request, int stream)
{
    memset(s, 0, sizeof(*s));
    s->rs.client_model = "m";
    cJSON *req = cJSON_Parse(request);
    sy_upstream_call call = {0};
    const char *bad = NULL, *why = NULL;
    if (ad()->build(fz_prov, fz_model, req, stream, &s->rs, &call, &bad, &why) != SY_OK)
        abort(); /* the requests above are valid */
    sy_upstream_call_free(&call);
    cJSON_Delete(req);
}

static void finish(sink *s)
{
    ad()->release(&s->rs);
    sy_buf_free(&s->out);
}

static int on_event(void *ud, const sy_sse_event *ev)
{
    sink *s = ud;
    ad()->stream_event(ev->event, ev->event_len, ev->data, ev->data_len, ev->raw, ev->raw_len,
                       &s->rs, &s->out);
    return 0;
}

static void run(const char *p, size_t size, size_t cut, int bytewise, sink *s)
{
    sy_sse_parser parser;
    sy_sse_init(&parser, 1 << 16);
    if (bytewise) {
        for (size_t i = 0; i < size; i++)
            if (sy_sse_feed(&parser, p + i, 1, on_event, s))
                break;
    } else if (sy_sse_feed(&parser, p, cut, on_event, s) == 0) {
        sy_sse_feed(&parser, p + cut, size - cut, on_event, s);
    }
    sy_sse_finish(&parser, on_event, s);
    sy_sse_free(&parser);
}

/* Mask what differs between two translations of the same bytes: the 24 hex digits of
 * each generated id ("chatcmpl-…", and "call_…" for a tool_use block without an id) and
 * the digits of each "created". */
static void mask(sy_buf *b)
{
    if (!b->len)
        return;
    char *end = b->data + b->len;
    for (char *q = b->data; q < end; q++) {
        if ((size_t)(end - q) > 9 + 24 && memcmp(q, "chatcmpl-", 9) == 0)
            memset(q + 9, 'x', 24);
        if ((size_t)(end - q) > 5 + 24 && memcmp(q, "call_", 5) == 0)
            memset(q + 5, 'x', 24);
        if ((size_t)(end - q) > 10 && memcmp(q, "\"created\":", 10) == 0)
            for (char *d = q + 10; d < end && *d >= '0' && *d <= '9'; d++)
                *d = '0';
    }
}

/* The client's requests, both valid for every dialect: a stream with usage and a tool,
 * and a stream in JSON mode. */
static const char *const fz_requests[2] = {
    "{\"model\":\"m\",\"stream\":true,\"stream_options\":{\"include_usage\":true},"
    "\"messages\":[{\"role\":\"user\",\"content\":\"x\"}],\"tools\":[{\"type\":\"function\","
    "\"function\":{\"name\":\"f\"}}]}",
    "{\"model\":\"m\",\"stream\":true,\"messages\":[{\"role\":\"user\",\"content\":\"x\"}],"
    "\"response_format\":{\"type\":\"json_object\"}}",
};

/*
 * One input against one dialect: the SSE stream split at a fuzzer-chosen byte and byte
 * by byte must translate identically; the same bytes also go through the non-stream
 * response translation and the error mapping. fz_requests[data[0] & 1] is the client's
 * request.
 */
static int fuzz_dialect(const sy_provider_cfg *prov, const sy_model_cfg *model, const uint8_t *data,
                        size_t size)
{
    if (size < 1 || size > 1 << 16)
        return 0;
    fz_prov = prov;
    fz_model = model;
    const char *request = fz_requests[data[0] & 1];
    size_t cut = (data[0] >> 1) % size;
    const char *p = (const char *)data + 1;
    size--;
    sink a, b;
    start(&a, request, 1);
    start(&b, request, 1);
    run(p, size, cut > size ? size : cut, 0, &a);
    run(p, size, 0, size <= 512, &b);
    mask(&a.out);
    mask(&b.out);
    if (size <= 512 &&
        (a.out.len != b.out.len || (a.out.len && memcmp(a.out.data, b.out.data, a.out.len) != 0)))
        abort(); /* the split changed what the client would see */
    finish(&a);
    finish(&b);

    /* the same bytes as a whole response body, and as an error body */
    sink c;
    start(&c, request, 0);
    ad()->response(p, size, &c.rs, &c.out);
    finish(&c);
    sy_mapped_error e = {0};
    ad()->error(429 + (long)(data[0] % 200), p, size, NULL, &e);
    sy_mapped_error_free(&e);
    return 0;
}

/* Define the fuzz target for one dialect: its provider (named `name`, at `base_url`) and
 * a model whose upstream name is `upstream`. */
#define DIALECT_FUZZ_TARGET(dialect_, name_, base_url_, upstream_)                                 \
    int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)                                   \
    {                                                                                              \
        static const sy_provider_cfg prov = {                                                      \
            .name = name_, .dialect = dialect_, .base_url = base_url_};                            \
        static const sy_model_cfg model = {.name = "m", .upstream_name = upstream_};               \
        return fuzz_dialect(&prov, &model, data, size);                                            \
    }

#endif
