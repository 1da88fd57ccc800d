/* Fuzz target: the SSE framer split at a fuzzer-chosen boundary (and byte by byte for
 * short inputs), with every event translated by the OpenAI adapter as the pipeline does;
 * both splits must yield the same translated output. */
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

static int on_event(void *ud, const sy_sse_event *ev)
{
    sink *s = ud;
    sy_adapter_for(SY_DIALECT_OPENAI)
        ->stream_event(ev->event, ev->event_len, ev->data, ev->data_len, ev->raw, ev->raw_len,
                       &s->rs, &s->out);
    return 0;
}

static void run(const char *p, size_t size, size_t cut, int bytewise, sink *s)
{
    sy_sse_parser parser;
    sy_sse_init(&parser, 1 << 16);
    memset(s, 0, sizeof(*s));
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

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1 || size > 1 << 16)
        return 0;
    size_t cut = data[0] % size;
    const char *p = (const char *)data + 1;
    size--;
    sink a, b;
    run(p, size, cut > size ? size : cut, 0, &a);
    run(p, size, 0, size <= 512, &b);
    if (size <= 512 &&
        (a.out.len != b.out.len || (a.out.len && memcmp(a.out.data, b.out.data, a.out.len) != 0)))
        abort(); /* the split changed what the client would see */
    sy_buf_free(&a.out);
    sy_buf_free(&b.out);
    return 0;
}
