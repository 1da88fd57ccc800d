/*
 * SSE framer: every stream is fed whole, one byte at a time, and split at every byte
 * boundary (two feeds); all must yield the same events with the same raw bytes.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sse.h"

typedef struct collected {
    sy_buf log; /* "event|data|has_data|raw\n" per event, for comparison */
    size_t n;
    size_t stop_after; /* 0 = never stop */
} collected;

static int collect(void *ud, const sy_sse_event *ev)
{
    collected *c = ud;
    sy_buf_printf(&c->log, "[%.*s|%.*s|%d|", (int)ev->event_len, ev->event ? ev->event : "",
                  (int)ev->data_len, ev->data, ev->has_data);
    sy_buf_append(&c->log, ev->raw, ev->raw_len);
    sy_buf_append(&c->log, "]", 1);
    c->n++;
    return c->stop_after && c->n >= c->stop_after ? 7 : 0;
}

/* Parse `in` as pieces cut at the given offsets; returns the collected log (caller frees). */
static char *parse_split(const char *in, size_t len, size_t cut, int bytewise, int *partial)
{
    sy_sse_parser p;
    sy_sse_init(&p, 1 << 20);
    collected c = {0};
    if (bytewise) {
        for (size_t i = 0; i < len; i++)
            assert_int_equal(sy_sse_feed(&p, in + i, 1, collect, &c), 0);
    } else {
        assert_int_equal(sy_sse_feed(&p, in, cut, collect, &c), 0);
        assert_int_equal(sy_sse_feed(&p, in + cut, len - cut, collect, &c), 0);
    }
    assert_int_equal(sy_sse_finish(&p, collect, &c), 0);
    if (partial)
        *partial = sy_sse_has_partial(&p);
    sy_sse_free(&p);
    sy_buf_append(&c.log, "", 0);
    char *out = strdup(c.log.data ? c.log.data : "");
    sy_buf_free(&c.log);
    return out;
}

static void check_all_splits(const char *in, const char *expected, int expect_partial)
{
    size_t len = strlen(in);
    for (size_t cut = 0; cut <= len; cut++) {
        int partial = -1;
        char *got = parse_split(in, len, cut, 0, &partial);
        if (strcmp(got, expected) != 0)
            fail_msg("split at %zu:\n got: %s\nwant: %s", cut, got, expected);
        assert_int_equal(partial, expect_partial);
        free(got);
    }
    int partial = -1;
    char *got = parse_split(in, len, 0, 1, &partial);
    assert_string_equal(got, expected);
    assert_int_equal(partial, expect_partial);
    free(got);
}

static void test_openai_stream(void **state)
{
    const char *in = "data: {\"a\":1}\n\n"
                     "data: {\"b\":2}\n\n"
                     "data: [DONE]\n\n";
    check_all_splits(in,
                     "[|{\"a\":1}|1|data: {\"a\":1}\n\n]"
                     "[|{\"b\":2}|1|data: {\"b\":2}\n\n]"
                     "[|[DONE]|1|data: [DONE]\n\n]",
                     0);
}

static void test_crlf_and_cr_endings(void **state)
{
    check_all_splits("event: ping\r\ndata: x\r\n\r\nevent: e2\rdata: y\r\r",
                     "[ping|x|1|event: ping\r\ndata: x\r\n\r\n]"
                     "[e2|y|1|event: e2\rdata: y\r\r]",
                     0);
}

static void test_multiline_data_comments_and_fields(void **state)
{
    check_all_splits(
        ": keep-alive\n\n"
        "id: 7\nretry: 10\ndata: one\ndata\ndata:two\nevent: a\nevent: b\n\n",
        "[||0|: keep-alive\n\n]"
        "[b|one\n\ntwo|1|id: 7\nretry: 10\ndata: one\ndata\ndata:two\nevent: a\nevent: "
        "b\n\n]",
        0);
}

static void test_leading_blank_lines_dispatch_nothing(void **state)
{
    check_all_splits("\n\r\n\ndata: z\n\n", "[|z|1|data: z\n\n]", 0);
}

static void test_cut_stream_is_partial(void **state)
{
    check_all_splits("data: whole\n\ndata: cut", "[|whole|1|data: whole\n\n]", 1);
    check_all_splits("data: whole\n\ndata: cut\n", "[|whole|1|data: whole\n\n]", 1);
}

static void test_event_limit(void **state)
{
    sy_sse_parser p;
    sy_sse_init(&p, 16);
    collected c = {0};
    assert_int_equal(sy_sse_feed(&p, "data: 12345\n\n", 13, collect, &c), 0);
    assert_int_equal(c.n, 1);
    assert_int_equal(sy_sse_feed(&p, "data: 1234567890123\n\n", 21, collect, &c), SY_ERR_LIMIT);
    sy_sse_free(&p);
    sy_buf_free(&c.log);
}

static void test_callback_stop(void **state)
{
    sy_sse_parser p;
    sy_sse_init(&p, 1024);
    collected c = {.stop_after = 1};
    assert_int_equal(sy_sse_feed(&p, "data: a\n\ndata: b\n\n", 18, collect, &c), 7);
    assert_int_equal(c.n, 1);
    sy_sse_free(&p);
    sy_buf_free(&c.log);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_openai_stream),
        cmocka_unit_test(test_crlf_and_cr_endings),
        cmocka_unit_test(test_multiline_data_comments_and_fields),
        cmocka_unit_test(test_leading_blank_lines_dispatch_nothing),
        cmocka_unit_test(test_cut_stream_is_partial),
        cmocka_unit_test(test_event_limit),
        cmocka_unit_test(test_callback_stop),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
