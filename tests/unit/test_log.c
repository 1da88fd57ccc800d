/*
 * test_log: request log lines. Numbers must read exactly as printf("%.*f") would write
 * them (log.c formats most of them as scaled integers); the timestamp keeps its RFC 3339
 * shape; the OpenAI adapter's non-stream scanner agrees with cJSON on what it reads.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "log.h"
#include "provider.h"
#include "sy_common.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The text sy_logbuf_num_prec writes for value, without the key. */
static void logged(double value, int decimals, char *out, size_t cap)
{
    sy_logbuf lb = {0};
    sy_logbuf_num_prec(&lb, "k", value, decimals);
    const char *v = strstr(lb.buf.data, "\":") + 2;
    snprintf(out, cap, "%.*s", (int)(lb.buf.len - (size_t)(v - lb.buf.data)), v);
    sy_buf_free(&lb.buf);
}

static void assert_like_printf(double value, int decimals)
{
    char got[128], want[128];
    logged(value, decimals, got, sizeof(got));
    snprintf(want, sizeof(want), "%.*f", decimals, value);
    if (strcmp(got, want) != 0)
        fail_msg("%.17g with %d decimals: got %s, printf %s", value, decimals, got, want);
}

static void test_numbers_match_printf(void **state)
{
    (void)state;
    static const double fixed[] = {
        0,         -0.0,         0.0005,  0.0015,      0.0025,       1.0005, 2.5,
        -2.5,      0.4999,       123.456, -0.0004,     1e-12,        1e6,    1e9,
        1e12,      1e15,         1e300,   -1e300,      0.1,          0.7,    999.9995,
        1234.5678, 3.0000000005, 4.49999, 0.000000001, 0.0000000005, 17.25};
    for (size_t i = 0; i < SY_ARRAY_LEN(fixed); i++)
        for (int d = 0; d <= 10; d++)
            assert_like_printf(fixed[i], d);
    assert_like_printf(NAN, 3);
    assert_like_printf(INFINITY, 3);
    assert_like_printf(-INFINITY, 9);
    /* latencies in ms (3 decimals), costs in USD (9 decimals), propensities */
    srand(7);
    for (int i = 0; i < 200000; i++) {
        double r = (double)rand() / RAND_MAX;
        assert_like_printf(r * 1e4, 3);
        assert_like_printf(r * 1e-3, 9);
        assert_like_printf(r, 3);
        assert_like_printf(-r * 100, 6);
        assert_like_printf((double)(rand() % 100000) / 1000.0 + 0.0005, 3);
    }
}

static void test_line_shape(void **state)
{
    (void)state;
    sy_logbuf lb = {0};
    sy_logbuf_begin(&lb);
    sy_logbuf_num(&lb, "latency_ms", 0.123456);
    sy_logbuf_end(&lb);
    sy_buf_append(&lb.buf, "", 1);
    const char *s = lb.buf.data;
    /* {"ts":"YYYY-MM-DDTHH:MM:SS.mmmZ","level":"info",... */
    assert_int_equal(strncmp(s, "{\"ts\":\"", 7), 0);
    const char *ts = s + 7;
    assert_true(ts[4] == '-' && ts[7] == '-' && ts[10] == 'T' && ts[13] == ':' && ts[16] == ':' &&
                ts[19] == '.' && ts[23] == 'Z' && ts[24] == '"');
    assert_non_null(strstr(s, "\"latency_ms\":0.123}\n"));
    sy_buf_free(&lb.buf);
}

/* What the adapter reads from a non-stream answer. */
typedef struct {
    int rc;
    sy_usage usage;
    char finish[64];
} read_result;

static read_result read_answer(const char *body)
{
    const sy_adapter *ad = sy_adapter_for(SY_DIALECT_OPENAI);
    sy_relay_state rs = {0}; /* no id or model to put in: the answer is relayed verbatim */
    sy_buf out = {0};
    read_result r = {0};
    r.rc = ad->response(body, strlen(body), &rs, &out);
    if (r.rc == 0)
        assert_memory_equal(out.data, body, strlen(body)); /* relayed verbatim */
    r.usage = rs.usage;
    snprintf(r.finish, sizeof(r.finish), "%s", rs.finish_reason);
    sy_buf_free(&out);
    return r;
}

/* With the request id and the client's model name, the answer's top-level "id" and
 * "model" are theirs; nothing else changes (nested ids, e.g. tool calls', stay). */
static void test_openai_answer_identity(void **state)
{
    (void)state;
    const sy_adapter *ad = sy_adapter_for(SY_DIALECT_OPENAI);
    const char *body = "{\"id\":\"chatcmpl-up\",\"object\":\"chat.completion\",\"model\":"
                       "\"fake-nano\",\"choices\":[{\"index\":0,\"message\":{\"role\":"
                       "\"assistant\",\"tool_calls\":[{\"id\":\"call_1\"}]},"
                       "\"finish_reason\":\"stop\"}]}";
    const char *want = "{\"id\":\"req_X\",\"object\":\"chat.completion\",\"model\":"
                       "\"nano\",\"choices\":[{\"index\":0,\"message\":{\"role\":"
                       "\"assistant\",\"tool_calls\":[{\"id\":\"call_1\"}]},"
                       "\"finish_reason\":\"stop\"}]}";
    sy_relay_state rs = {.client_model = "nano", .client_id = "req_X"};
    sy_buf out = {0};
    assert_int_equal(ad->response(body, strlen(body), &rs, &out), 0);
    assert_int_equal(out.len, strlen(want));
    assert_memory_equal(out.data, want, out.len);
    sy_buf_free(&out);
    /* a stream chunk: the same, and the bytes around the data are kept */
    const char *chunk = "{\"model\":\"fake-nano\",\"id\":\"chatcmpl-up\",\"choices\":[]}";
    char raw[256];
    snprintf(raw, sizeof(raw), "data: %s\n\n", chunk);
    sy_relay_state rs2 = {.client_model = "nano", .client_id = "req_X"};
    ad->stream_event(NULL, 0, raw + 6, strlen(chunk), raw, strlen(raw), &rs2, &out);
    sy_buf_append(&out, "", 1);
    assert_string_equal(out.data, "data: {\"model\":\"nano\",\"id\":\"req_X\",\"choices\":[]}\n\n");
    sy_buf_free(&out);
    assert_null(ad->release); /* the OpenAI adapter keeps no per-request state */
}

static void test_openai_answer_scan(void **state)
{
    (void)state;
    read_result r = read_answer(
        "\xEF\xBB\xBF {\"id\":\"x\",\"choices\":[{\"index\":0,\"message\":{\"role\":\"assistant\","
        "\"content\":\"a \\\"quoted\\\" \\u00e9 text\"},\"finish_reason\":\"length\"},"
        "{\"finish_reason\":\"stop\"}],\"usage\":{\"prompt_tokens\":14,\"completion_tokens\":"
        "40,\"total_tokens\":54,\"prompt_tokens_details\":{\"cached_tokens\":3}},"
        "\"usage\":{\"prompt_tokens\":99}} trailing");
    assert_int_equal(r.rc, 0);
    assert_int_equal(r.usage.have, 1);
    assert_int_equal(r.usage.prompt_tokens, 14); /* the first of duplicate members */
    assert_int_equal(r.usage.completion_tokens, 40);
    assert_int_equal(r.usage.cached_tokens, 3);
    assert_string_equal(r.finish, "length");

    r = read_answer("{\"choices\":[],\"usage\":null}");
    assert_int_equal(r.rc, 0);
    assert_int_equal(r.usage.have, 0);
    assert_string_equal(r.finish, "");

    /* escaped member names take the cJSON path, which decodes them */
    r = read_answer("{\"cho\\u0069ces\":[{\"finish_reason\":\"st\\u006fp\"}],"
                    "\"usage\":{\"prompt_tokens\":1e1,\"completion_tokens\":2.5}}");
    assert_int_equal(r.rc, 0);
    assert_int_equal(r.usage.prompt_tokens, 10);
    assert_int_equal(r.usage.completion_tokens, 2);
    assert_string_equal(r.finish, "stop");

    static const char *invalid[] = {
        "",
        "[]",
        "{\"choices\":{}}",
        "{\"usage\":{}}",
        "{\"choices\":[1,]}",
        "{\"choices\":[],}",
        "{\"choices\":[\"\\x\"]}",
        "{\"choices\":[tru]}",
        "{\"choices\":[-]}",
        "{\"choices\":[1.]}",
        "{\"choices\":[1e]}",
        "{\"choices\":[\"unterminated]}",
        "{\"choices\" []}",
        "{\"choices\":[]",
        "{\"choices\":[\"\\u12\"]}",
    };
    for (size_t i = 0; i < SY_ARRAY_LEN(invalid); i++) {
        r = read_answer(invalid[i]);
        if (r.rc == 0)
            fail_msg("accepted: %s", invalid[i]);
    }
    /* nesting: as deep as cJSON allows, and no deeper */
    sy_buf deep = {0};
    sy_buf_puts(&deep, "{\"choices\":[],\"x\":");
    for (int i = 0; i < 998; i++)
        sy_buf_append(&deep, "[", 1);
    for (int i = 0; i < 998; i++)
        sy_buf_append(&deep, "]", 1);
    sy_buf_append(&deep, "}", 2);
    assert_int_equal(read_answer(deep.data).rc, 0);
    sy_buf_reset(&deep);
    sy_buf_puts(&deep, "{\"choices\":[],\"x\":");
    for (int i = 0; i < 1000; i++)
        sy_buf_append(&deep, "[", 1);
    for (int i = 0; i < 1000; i++)
        sy_buf_append(&deep, "]", 1);
    sy_buf_append(&deep, "}", 2);
    assert_int_not_equal(read_answer(deep.data).rc, 0);
    sy_buf_free(&deep);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_numbers_match_printf),
        cmocka_unit_test(test_line_shape),
        cmocka_unit_test(test_openai_answer_scan),
        cmocka_unit_test(test_openai_answer_identity),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
