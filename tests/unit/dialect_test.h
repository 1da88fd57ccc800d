/*
 * dialect_test.h: helpers shared by the dialect adapter tests (test_gemini.c,
 * test_anthropic.c). The including file defines, before including it, DIALECT_ID (the
 * sy_dialect under test), `prov` and `model` (its configuration) and DIALECT_CLIENT_MODEL
 * (the model name the client used); with DIALECT_SINGLE_QUOTES its test texts (requests,
 * upstream bodies, expected JSON) are written with ' for " and dj() turns them back.
 * JSON is compared parsed (member order is free); generated ids and timestamps are
 * normalised before comparing. The case tables and their runners are in dialect_cases.h.
 */
#ifndef SY_DIALECT_TEST_H
#define SY_DIALECT_TEST_H

#include "json_test.h"
#include "provider.h"
#include "sse.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The adapter under test (never NULL). */
static const sy_adapter *ad(void)
{
    const sy_adapter *a = sy_adapter_for(DIALECT_ID);
    assert_non_null(a);
    return a;
}

/* A test text of this dialect as the JSON it stands for: J(s) with
 * DIALECT_SINGLE_QUOTES, else s itself. */
static const char *dj(const char *s)
{
#ifdef DIALECT_SINGLE_QUOTES
    return J(s);
#else
    return s;
#endif
}

typedef struct built {
    int rc;
    sy_upstream_call call;
    sy_relay_state rs;
    const char *bad, *why;
} built;

/* Build `json` (plain JSON, not dj text) with the test's provider and model. */
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

/* Free the call and release the translation; the release must leave no private state. */
static void built_free(built *b)
{
    sy_upstream_call_free(&b->call);
    ad()->release(&b->rs);
    assert_null(b->rs.priv);
}

/* The first header line starting with `prefix`, or NULL. */
static const char *header(const sy_upstream_call *c, const char *prefix)
{
    for (size_t i = 0; i < SY_ARRAY_LEN(c->headers) && c->headers[i]; i++)
        if (strncmp(c->headers[i], prefix, strlen(prefix)) == 0)
            return c->headers[i];
    return NULL;
}

/* A fresh translation state from building dj text `request` (which must be accepted). */
static void translation(const char *request, int stream, sy_relay_state *rs)
{
    built b;
    build(dj(request), stream, &b);
    assert_int_equal(b.rc, SY_OK);
    sy_upstream_call_free(&b.call);
    *rs = b.rs;
}

/* ---- requests */

/* Build dj text `json` and compare the upstream body with dj text `expected`. */
static void expect_body_stream(const char *json, int stream, const char *expected)
{
    built b;
    char *req = strdup(dj(json));
    build(req, stream, &b);
    if (b.rc != SY_OK)
        fail_msg("refused (%s: %s): %s", b.bad ? b.bad : "-", b.why ? b.why : "-", req);
    assert_json_eq(b.call.body.data, b.call.body.len, dj(expected));
    built_free(&b);
    free(req);
}

/* Build dj text `json` and expect a 400 naming `param`. */
static void expect_refused(const char *json, const char *param)
{
    built b;
    char *req = strdup(dj(json));
    build(req, 0, &b);
    if (b.rc != SY_ERR_INVALID)
        fail_msg("accepted: %s", req);
    assert_non_null(b.why);
    if (!b.bad || strcmp(b.bad, param) != 0)
        fail_msg("refused %s naming '%s', expected '%s'", req, b.bad ? b.bad : "(null)", param);
    built_free(&b);
    free(req);
}

/* ---- responses */

/* Translate the upstream body (len bytes, as sent) after a non-stream build of dj text
 * `request`; rs is left for the caller to release. */
static int respond_raw(const char *request, const char *body, size_t len, sy_relay_state *rs,
                       sy_buf *out)
{
    translation(request, 0, rs);
    return ad()->response(body, len, rs, out);
}

/* respond_raw() of dj text `body`. */
static int respond(const char *request, const char *body, sy_relay_state *rs, sy_buf *out)
{
    const char *text = dj(body);
    return respond_raw(request, text, strlen(text), rs, out);
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

/* The client body, normalised, equals dj text `expected`. */
static void expect_normalised(const char *actual, size_t len, const char *expected)
{
    cJSON *a = cJSON_ParseWithLength(actual, len);
    if (!a)
        fail_msg("not JSON: %.*s", (int)len, actual);
    normalise(a);
    char *text = cJSON_PrintUnformatted(a);
    assert_json_eq(text, strlen(text), dj(expected));
    cJSON_free(text);
    cJSON_Delete(a);
}

/* ---- streams */

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

/* Feed `stream` (len bytes, as sent) through the SSE framer in two pieces split at
 * `split` into a fresh translation built from dj text `request`; the client's events
 * into out. `finish`: whether the framer is finished (a cut stream is not), and then
 * nothing may be left partial. */
static void run_stream_n(const char *request, const char *stream, size_t len, size_t split,
                         int finish, sy_relay_state *rs, sy_buf *out)
{
    translation(request, 1, rs);
    sy_sse_parser p;
    sy_sse_init(&p, 1 << 20);
    feed_ctx f = {rs, out};
    assert_int_equal(sy_sse_feed(&p, stream, split, on_event, &f), 0);
    assert_int_equal(sy_sse_feed(&p, stream + split, len - split, on_event, &f), 0);
    if (finish) {
        assert_int_equal(sy_sse_finish(&p, on_event, &f), 0);
        assert_false(sy_sse_has_partial(&p));
    }
    sy_sse_free(&p);
}

/* run_stream_n() of the whole NUL-terminated stream, finished. */
static void run_stream(const char *request, const char *stream, size_t split, sy_relay_state *rs,
                       sy_buf *out)
{
    run_stream_n(request, stream, strlen(stream), split, 1, rs, out);
}

/* The client's events, normalised, are exactly the n dj texts `expected` ("[DONE]" for
 * the terminator), in order, and nothing else. */
static void expect_events(const sy_buf *out, const char *const *expected, size_t n)
{
    sy_buf joined = {0};
    normalised_events(out, &joined);
    const char *p = joined.data ? joined.data : "";
    for (size_t i = 0; i < n; i++) {
        const char *nl = strchr(p, '\n');
        if (!nl)
            fail_msg("event %zu missing; got:\n%s", i, joined.data ? joined.data : "");
        if (strcmp(expected[i], "[DONE]") == 0)
            assert_memory_equal(p, "[DONE]\n", 7);
        else
            assert_json_eq(p, (size_t)(nl - p), dj(expected[i]));
        p = nl + 1;
    }
    if (*p)
        fail_msg("extra events:\n%s", p);
    sy_buf_free(&joined);
}

/* The stream split at every byte gives the same client events as in one piece. */
static void expect_every_split(const char *request, const char *stream)
{
    sy_relay_state rs;
    sy_buf out = {0}, reference = {0};
    run_stream(request, stream, 0, &rs, &out);
    normalised_events(&out, &reference);
    ad()->release(&rs);
    size_t len = strlen(stream);
    for (size_t split = 1; split < len; split++) {
        sy_buf o = {0}, n = {0};
        run_stream(request, stream, split, &rs, &o);
        normalised_events(&o, &n);
        if (n.len != reference.len || memcmp(n.data, reference.data, n.len) != 0)
            fail_msg("split at %zu differs:\n%s\nvs\n%s", split, n.data, reference.data);
        ad()->release(&rs);
        sy_buf_free(&o);
        sy_buf_free(&n);
    }
    sy_buf_free(&out);
    sy_buf_free(&reference);
}

/* ---- errors */

/* Map an upstream error whose body is dj text `body`. */
static void map(long status, const char *body, const char *retry_after, sy_mapped_error *e)
{
    memset(e, 0, sizeof *e);
    const char *b = dj(body);
    ad()->error(status, b, strlen(b), retry_after, e);
}

/* ---- expectations written as "key=value key=value" */

/* One field of an object under test: a number, or a string (NULL allowed). */
typedef struct field {
    int is_str;
    long long n;
    const char *s;
} field;

/* Look `key` up in obj; 0 when the key is unknown. */
typedef int (*field_fn)(const void *obj, const char *key, field *f);

/* Every "key=value" of `spec` (space-separated) holds of obj: numbers compared as
 * integers, strings exactly ("(null)" for NULL); one assertion per key, named on failure. */
static void expect_fields(const char *what, const void *obj, field_fn lookup, const char *spec)
{
    for (const char *p = spec; *p;) {
        while (*p == ' ')
            p++;
        const char *eq = strchr(p, '='), *end = eq ? strchr(eq, ' ') : NULL;
        if (!eq)
            fail_msg("%s: bad expectation '%s'", what, p);
        if (!end)
            end = eq + strlen(eq);
        char key[32], val[96];
        snprintf(key, sizeof key, "%.*s", (int)(eq - p), p);
        snprintf(val, sizeof val, "%.*s", (int)(end - eq - 1), eq + 1);
        field f = {0};
        if (!lookup(obj, key, &f))
            fail_msg("%s: no field '%s'", what, key);
        if (f.is_str && strcmp(val, "(null)") == 0) {
            if (f.s)
                print_message("%s %s: '%s', expected NULL\n", what, key, f.s);
            assert_null(f.s);
        } else if (f.is_str) {
            if (!f.s || strcmp(f.s, val) != 0)
                print_message("%s %s:\n", what, key);
            assert_string_equal(f.s ? f.s : "(null)", val);
        } else {
            if (f.n != strtoll(val, NULL, 10))
                print_message("%s %s:\n", what, key);
            assert_int_equal(f.n, strtoll(val, NULL, 10));
        }
        p = end;
    }
}

typedef struct relay_view {
    const sy_relay_state *rs;
    const sy_buf *out;
} relay_view;

/* The relay state's fields: finish, done, error, chunks, bytes, have, prompt, cached,
 * write, completion, reasoning; and out (bytes sent to the client). */
static int relay_field(const void *obj, const char *key, field *f)
{
    const relay_view *v = obj;
    const sy_relay_state *rs = v->rs;
    const sy_usage *u = &rs->usage;
    if (strcmp(key, "finish") == 0) {
        f->is_str = 1;
        f->s = rs->finish_reason;
    } else if (strcmp(key, "done") == 0)
        f->n = rs->saw_done;
    else if (strcmp(key, "error") == 0)
        f->n = rs->saw_error_event;
    else if (strcmp(key, "chunks") == 0)
        f->n = rs->content_chunks;
    else if (strcmp(key, "bytes") == 0)
        f->n = rs->content_bytes;
    else if (strcmp(key, "have") == 0)
        f->n = u->have;
    else if (strcmp(key, "prompt") == 0)
        f->n = u->prompt_tokens;
    else if (strcmp(key, "cached") == 0)
        f->n = u->cached_tokens;
    else if (strcmp(key, "write") == 0)
        f->n = u->cache_write_tokens;
    else if (strcmp(key, "completion") == 0)
        f->n = u->completion_tokens;
    else if (strcmp(key, "reasoning") == 0)
        f->n = u->reasoning_tokens;
    else if (strcmp(key, "out") == 0)
        f->n = (long long)v->out->len;
    else
        return 0;
    return 1;
}

/* The relay state (and the client output's length) after a translation match `spec`. */
static void expect_relay(const sy_relay_state *rs, const sy_buf *out, const char *spec)
{
    relay_view v = {rs, out};
    expect_fields("relay", &v, relay_field, spec);
}

/* A mapped error's fields: status, type, code, retryable. */
static int mapped_field(const void *obj, const char *key, field *f)
{
    const sy_mapped_error *e = obj;
    if (strcmp(key, "status") == 0)
        f->n = e->status;
    else if (strcmp(key, "retryable") == 0)
        f->n = e->retryable;
    else if ((f->is_str = strcmp(key, "type") == 0))
        f->s = e->type;
    else if ((f->is_str = strcmp(key, "code") == 0))
        f->s = e->code;
    else
        return 0;
    return 1;
}

/* The mapped error matches `spec`. */
static void expect_mapped(const sy_mapped_error *e, const char *spec)
{
    expect_fields("mapped error", e, mapped_field, spec);
}

#endif
