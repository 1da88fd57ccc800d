/*
 * dialect_test.h: helpers shared by the dialect adapter tests (test_gemini.c,
 * test_anthropic.c). The including file defines, before including it, `ad()` (the
 * adapter under test), `prov` and `model` (its configuration) and DIALECT_CLIENT_MODEL
 * (the model name the client used). JSON is compared parsed (member order is free);
 * generated ids and timestamps are normalised before comparing.
 */
#ifndef SY_DIALECT_TEST_H
#define SY_DIALECT_TEST_H

#include "provider.h"
#include "sse.h"

#include <cjson/cJSON.h>
#include <string.h>

/* Parse both texts and compare; on a mismatch print both. */
static void assert_json_eq(const char *actual, size_t len, const char *expected)
{
    cJSON *a = cJSON_ParseWithLength(actual, len);
    cJSON *e = cJSON_Parse(expected);
    if (!e)
        fail_msg("expected text is not JSON: %s", expected);
    if (!a || !cJSON_Compare(a, e, 1)) {
        char *ep = cJSON_PrintUnformatted(e);
        fail_msg("JSON differs\n  actual:   %.*s\n  expected: %s", (int)len, actual, ep);
    }
    cJSON_Delete(a);
    cJSON_Delete(e);
}

typedef struct built {
    int rc;
    sy_upstream_call call;
    sy_relay_state rs;
    const char *bad, *why;
} built;

static void build(const char *json, int stream, built *b)
{
    memset(b, 0, sizeof *b);
    cJSON *req = cJSON_Parse(json);
    if (!req)
        fail_msg("request is not JSON: %s", json);
    b->rs.client_model = DIALECT_CLIENT_MODEL;
    b->rc = ad()->build(&prov, &model, req, stream, &b->rs, &b->call, &b->bad, &b->why);
    cJSON_Delete(req);
}

static void built_free(built *b)
{
    sy_upstream_call_free(&b->call);
    ad()->release(&b->rs);
    assert_null(b->rs.priv);
}

static const char *header(const sy_upstream_call *c, const char *prefix)
{
    for (size_t i = 0; i < SY_ARRAY_LEN(c->headers) && c->headers[i]; i++)
        if (strncmp(c->headers[i], prefix, strlen(prefix)) == 0)
            return c->headers[i];
    return NULL;
}

/* Replace generated ids ("chatcmpl-…", "call_…", checked for their shape) and "created"
 * with fixed values, recursively. */
static void normalise(cJSON *j)
{
    for (cJSON *c = j ? j->child : NULL; c; c = c->next) {
        if (c->string && strcmp(c->string, "id") == 0 && cJSON_IsString(c)) {
            const char *v = c->valuestring;
            if (strncmp(v, "chatcmpl-", 9) == 0 && strlen(v) == 9 + 24)
                cJSON_SetValuestring(c, "chatcmpl-X");
            else if (strncmp(v, "call_", 5) == 0 && strlen(v) == 5 + 24)
                cJSON_SetValuestring(c, "call_X");
        } else if (c->string && strcmp(c->string, "created") == 0 && cJSON_IsNumber(c)) {
            assert_true(c->valuedouble > 1.7e9);
            cJSON_SetNumberValue(c, 0);
        }
        normalise(c);
    }
}

static void expect_normalised(const char *actual, size_t len, const char *expected)
{
    cJSON *a = cJSON_ParseWithLength(actual, len);
    if (!a)
        fail_msg("not JSON: %.*s", (int)len, actual);
    normalise(a);
    char *text = cJSON_PrintUnformatted(a);
    assert_json_eq(text, strlen(text), expected);
    cJSON_free(text);
    cJSON_Delete(a);
}

typedef struct feed_ctx {
    sy_relay_state *rs;
    sy_buf *out;
} feed_ctx;

static int on_event(void *ud, const sy_sse_event *ev)
{
    feed_ctx *f = ud;
    ad()->stream_event(ev->event, ev->event_len, ev->data, ev->data_len, ev->raw, ev->raw_len,
                       f->rs, f->out);
    return 0;
}

/* The client's events, each "data: X\n\n", normalised and joined by newlines. */
static void normalised_events(const sy_buf *out, sy_buf *joined)
{
    const char *p = out->data ? out->data : "", *end = p + out->len;
    while (p < end) {
        assert_memory_equal(p, "data: ", 6);
        const char *e = strstr(p, "\n\n");
        assert_non_null(e);
        const char *d = p + 6;
        if ((size_t)(e - d) == 6 && memcmp(d, "[DONE]", 6) == 0) {
            sy_buf_puts(joined, "[DONE]\n");
        } else {
            cJSON *j = cJSON_ParseWithLength(d, (size_t)(e - d));
            if (!j)
                fail_msg("event is not JSON: %.*s", (int)(e - d), d);
            normalise(j);
            char *s = cJSON_PrintUnformatted(j);
            sy_buf_printf(joined, "%s\n", s);
            cJSON_free(s);
            cJSON_Delete(j);
        }
        p = e + 2;
    }
}

#endif
