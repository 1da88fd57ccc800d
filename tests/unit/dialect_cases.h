/*
 * dialect_cases.h: the dialect tests as tables, one runner per kind of case, shared by
 * test_anthropic.c and test_gemini.c. A dialect file writes only its data (request in,
 * upstream body out; upstream body in, OpenAI body out; stream in, chunks out; error in,
 * mapped error out; what its fake renders and reads) and the checks no other dialect has.
 * Texts are dj texts (see dialect_test.h); expectations on state are "key=value" lists
 * (see expect_fields). Include after defining what dialect_test.h needs.
 */
#ifndef SY_DIALECT_CASES_H
#define SY_DIALECT_CASES_H

#include "dialect_test.h"
#include "fake_dialect.h"

/* Tables leave trailing members out: zero means "not checked". */
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"

/* The number of elements of a compound-literal array of texts. */
#define TEXTS_N(...) (sizeof((const char *const[]){__VA_ARGS__}) / sizeof(const char *))
/* A list of expected client events, for stream_case.events. */
#define EVENTS(...) .events = (const char *const[]){__VA_ARGS__}, .n_events = TEXTS_N(__VA_ARGS__)

/* ---- requests */

/* A client request and what the adapter makes of it. */
typedef struct request_case {
    const char *request;  /* the client's body */
    const char *expected; /* the upstream body; NULL: refused */
    const char *refused;  /* with expected NULL: the parameter the 400 names */
    int stream;           /* built for a streamed answer */
} request_case;

/* Every case builds to its expected body, or is refused naming its parameter. */
static void expect_requests(const request_case *c, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (c[i].expected)
            expect_body_stream(c[i].request, c[i].stream, c[i].expected);
        else
            expect_refused(c[i].request, c[i].refused);
    }
}

/* ---- responses */

/* A whole upstream answer and its translation. */
typedef struct response_case {
    const char *request;  /* the client's (non-stream) request */
    const char *body;     /* the upstream body */
    int rc;               /* what ad()->response returns */
    const char *expected; /* the normalised client body, or NULL: not compared */
    const char *relay;    /* expect_relay() spec afterwards, or NULL */
} response_case;

/* A body ending for a reason that maps to the OpenAI `finish`, with no usage reported. */
#define FINISH_CASE(request, body, finish)                                                         \
    {                                                                                              \
        request, body, SY_OK, NULL, "finish=" finish " have=0"                                     \
    }
/* A body that is not an answer of the dialect. */
#define INVALID_RESPONSE(request, body)                                                            \
    {                                                                                              \
        request, body, SY_ERR_INVALID                                                              \
    }

/* Every case translates with its result code, client body and relay state. */
static void expect_responses(const response_case *c, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        sy_relay_state rs;
        sy_buf out = {0};
        assert_int_equal(respond(c[i].request, c[i].body, &rs, &out), c[i].rc);
        if (c[i].expected)
            expect_normalised(out.data, out.len, c[i].expected);
        if (c[i].relay)
            expect_relay(&rs, &out, c[i].relay);
        ad()->release(&rs);
        sy_buf_free(&out);
    }
}

/* ---- streams */

/* An upstream SSE stream and what the client is sent. */
typedef struct stream_case {
    const char *request;       /* the client's (stream) request */
    const char *stream;        /* the upstream bytes, as sent */
    const char *const *events; /* the normalised client events (EVENTS()), or NULL */
    size_t n_events;           /* how many */
    const char *relay;         /* expect_relay() spec afterwards, or NULL */
    const char *contains;      /* a text the client output holds, or NULL */
    const char *error_event;   /* the client's error event's JSON, or NULL */
    int every_split;           /* also: every split point gives the same events */
} stream_case;

/* Every case streams to its events, relay state, text and error event; where asked,
 * split at every byte the same. */
static void expect_streams(const stream_case *c, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        sy_relay_state rs;
        sy_buf out = {0};
        run_stream(c[i].request, c[i].stream, 0, &rs, &out);
        if (c[i].events)
            expect_events(&out, c[i].events, c[i].n_events);
        if (c[i].relay)
            expect_relay(&rs, &out, c[i].relay);
        if (c[i].contains)
            assert_non_null(strstr(out.data ? out.data : "", c[i].contains));
        if (c[i].error_event) {
            const char *err = strstr(out.data ? out.data : "", "data: {\"error\"");
            assert_non_null(err);
            assert_json_eq(err + 6, strlen(err + 6) - 2, dj(c[i].error_event));
        }
        ad()->release(&rs);
        sy_buf_free(&out);
        if (c[i].every_split)
            expect_every_split(c[i].request, c[i].stream);
    }
}

/* ---- errors */

/* An upstream error and how it is mapped. */
typedef struct error_case {
    long status;
    const char *body;        /* the upstream error body */
    const char *retry_after; /* the Retry-After header, or NULL */
    const char *mapped;      /* expect_mapped() spec */
    const char *message;     /* the whole mapped message, or NULL */
    const char *has, *lacks; /* a text the message holds / must not hold, or NULL */
} error_case;

/* Every case maps to its fields and message. */
static void expect_errors(const error_case *c, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        sy_mapped_error e;
        map(c[i].status, c[i].body, c[i].retry_after, &e);
        expect_mapped(&e, c[i].mapped);
        if (c[i].message)
            assert_string_equal(e.message.data, c[i].message);
        if (c[i].has)
            assert_non_null(strstr(e.message.data, c[i].has));
        if (c[i].lacks)
            assert_null(strstr(e.message.data, c[i].lacks));
        sy_mapped_error_free(&e);
    }
}

/* ---- the fake provider's side of the dialect */

/* A path and the route the fake gives it. */
typedef struct route_case {
    const char *path;
    fp_route_kind route;
} route_case;

static void expect_routes(const fp_dialect *fd, const route_case *c, size_t n)
{
    for (size_t i = 0; i < n; i++)
        assert_int_equal(fd->route(c[i].path), c[i].route);
}

/* A parsed chat's fields: model, stream, echo, prompt_bytes, max_tokens, tool,
 * last_tool (last_is_tool_result). */
static int chat_field(const void *obj, const char *key, field *f)
{
    const fp_chat *c = obj;
    if ((f->is_str = strcmp(key, "model") == 0))
        f->s = c->model;
    else if ((f->is_str = strcmp(key, "echo") == 0))
        f->s = c->echo.data;
    else if ((f->is_str = strcmp(key, "tool") == 0))
        f->s = c->tool_name;
    else if (strcmp(key, "stream") == 0)
        f->n = c->stream;
    else if (strcmp(key, "prompt_bytes") == 0)
        f->n = (long long)c->prompt_bytes;
    else if (strcmp(key, "max_tokens") == 0)
        f->n = c->max_tokens;
    else if (strcmp(key, "last_tool") == 0)
        f->n = c->last_is_tool_result;
    else
        return 0;
    return 1;
}

/* A client request the adapter builds and what the fake reads from the result. */
typedef struct fake_parse_case {
    const char *request; /* the client's body */
    int stream;
    const char *chat; /* expect_fields() spec of the fp_chat */
} fake_parse_case;

/* What the adapter sends, the fake reads: every case builds, parses, and matches. */
static void expect_fake_parses(const fp_dialect *fd, const fake_parse_case *c, size_t n)
{
    sy_buf err = {0};
    for (size_t i = 0; i < n; i++) {
        built b;
        build(dj(c[i].request), c[i].stream, &b);
        assert_int_equal(b.rc, SY_OK);
        cJSON *body = cJSON_ParseWithLength(b.call.body.data, b.call.body.len);
        fp_chat chat = {0};
        assert_int_equal(fd->parse_chat(body, &chat, &err), SY_OK);
        expect_fields("fake chat", &chat, chat_field, c[i].chat);
        fp_chat_free(&chat);
        cJSON_Delete(body);
        built_free(&b);
    }
    sy_buf_free(&err);
}

/* The fake refuses every one of these upstream bodies (dj texts) with a message. */
static void expect_fake_rejects(const fp_dialect *fd, const char *const *bad, size_t n)
{
    sy_buf err = {0};
    for (size_t i = 0; i < n; i++) {
        cJSON *body = cJSON_Parse(dj(bad[i]));
        assert_non_null(body);
        fp_chat c = {0};
        sy_buf_reset(&err);
        if (fd->parse_chat(body, &c, &err) != SY_ERR_INVALID || !err.len)
            fail_msg("accepted: %s", bad[i]);
        fp_chat_free(&c);
        cJSON_Delete(body);
    }
    sy_buf_free(&err);
}

/* An error the fake renders and how the adapter maps it. */
typedef struct fake_error_case {
    fp_error_code code;
    int fake_status;         /* the HTTP status the fake answers with */
    const char *type;        /* the dialect's error type in the body, or NULL */
    const char *retry_after; /* the Retry-After the adapter is given, or NULL */
    const char *mapped;      /* expect_mapped() spec */
} fake_error_case;

/* The dialect's own checks of a rendered error body. */
typedef void (*fake_error_body_fn)(const cJSON *body, int status, const fake_error_case *c);

/* Every case renders with its status and a body the dialect accepts, and maps as said. */
static void expect_fake_errors(const fp_dialect *fd, const fake_error_case *c, size_t n,
                               fake_error_body_fn check_body)
{
    for (size_t i = 0; i < n; i++) {
        sy_buf b = {0};
        int status = fd->render_error(c[i].code, NULL, &b);
        assert_int_equal(status, c[i].fake_status);
        cJSON *j = cJSON_Parse(b.data);
        check_body(j, status, &c[i]);
        cJSON_Delete(j);
        sy_mapped_error m = {0};
        ad()->error(status, b.data, b.len, c[i].retry_after, &m);
        expect_mapped(&m, c[i].mapped);
        sy_mapped_error_free(&m);
        sy_buf_free(&b);
    }
}

/* The exchange the fake renders in the tests: fixed id, time, model and counts. */
static fp_exchange fake_exchange(long cache_write_tokens)
{
    fp_exchange x = {.created = 1700000000,
                     .model = "fake-small",
                     .prompt_tokens = 10,
                     .cached_tokens = 4,
                     .cache_write_tokens = cache_write_tokens,
                     .completion_tokens = 3};
    strcpy(x.id, "chatcmpl-0123456789abcdef");
    strcpy(x.tool_call_id, "call_0123");
    return x;
}

/* The fake's text stream "Hi", " there" (open, two deltas, close), into a reset body. */
static void render_text_stream(const fp_dialect *fd, const fp_exchange *x, sy_buf *body)
{
    sy_buf_reset(body);
    fd->render_stream_open(x, body);
    fd->render_stream_delta(x, "Hi", 2, body);
    fd->render_stream_delta(x, " there", 6, body);
    fd->render_stream_close(x, body);
}

/* The fake's tool-call stream (open, the call, close), into a reset body. */
static void render_tool_stream(const fp_dialect *fd, const fp_exchange *x, sy_buf *body)
{
    sy_buf_reset(body);
    fd->render_stream_open(x, body);
    fd->render_stream_tool_call(x, body);
    fd->render_stream_close(x, body);
}

/* The fake's in-stream error (after the opening events with `open_first`) and its
 * malformed event each reach the client of `request` as an error; the first one's
 * output holds `contains` (unless NULL). */
static void expect_fake_stream_errors(const fp_dialect *fd, const fp_exchange *x,
                                      const char *request, int open_first, const char *contains)
{
    sy_buf body = {0}, out = {0};
    sy_relay_state rs;
    if (open_first)
        fd->render_stream_open(x, &body);
    fd->render_stream_error(x, &body);
    run_stream(request, body.data, 0, &rs, &out);
    expect_relay(&rs, &out, "error=1");
    if (contains)
        assert_non_null(strstr(out.data, contains));
    ad()->release(&rs);
    sy_buf_reset(&body);
    sy_buf_reset(&out);
    fd->render_malformed(x, 1, &body);
    run_stream(request, body.data, 0, &rs, &out);
    expect_relay(&rs, &out, "error=1");
    ad()->release(&rs);
    sy_buf_free(&body);
    sy_buf_free(&out);
}

/* ---- the suite: one dialect's tables, run by the shared tests below */

typedef struct dialect_suite {
    const request_case *requests;
    size_t n_requests;
    const response_case *responses;
    size_t n_responses;
    const stream_case *streams;
    size_t n_streams;
    const error_case *errors;
    size_t n_errors;
    const fp_dialect *fake; /* the fake provider's side of the dialect */
    const route_case *routes;
    size_t n_routes;
    const fake_parse_case *fake_parses;
    size_t n_fake_parses;
    const char *const *fake_bad; /* upstream bodies the fake refuses */
    size_t n_fake_bad;
    const fake_error_case *fake_errors;
    size_t n_fake_errors;
    fake_error_body_fn fake_error_body;
} dialect_suite;

/* A table and its length, for a dialect_suite initialiser: SUITE_TABLE(requests, t). */
#define SUITE_TABLE(member, table) .member = (table), .n_##member = SY_ARRAY_LEN(table)

static void test_requests(void **state)
{
    const dialect_suite *s = *state;
    expect_requests(s->requests, s->n_requests);
}

static void test_responses(void **state)
{
    const dialect_suite *s = *state;
    expect_responses(s->responses, s->n_responses);
}

static void test_streams(void **state)
{
    const dialect_suite *s = *state;
    expect_streams(s->streams, s->n_streams);
}

static void test_errors(void **state)
{
    const dialect_suite *s = *state;
    expect_errors(s->errors, s->n_errors);
}

static void test_fake_routes(void **state)
{
    const dialect_suite *s = *state;
    expect_routes(s->fake, s->routes, s->n_routes);
}

/* What the adapter sends, the fake reads; what is not a request, it refuses. */
static void test_fake_parses_adapter_requests(void **state)
{
    const dialect_suite *s = *state;
    expect_fake_parses(s->fake, s->fake_parses, s->n_fake_parses);
    expect_fake_rejects(s->fake, s->fake_bad, s->n_fake_bad);
}

/* What the fake renders as an error, the adapter maps. */
static void test_fake_errors_for_adapter(void **state)
{
    const dialect_suite *s = *state;
    expect_fake_errors(s->fake, s->fake_errors, s->n_fake_errors, s->fake_error_body);
}

/* The shared tests of a dialect_suite, as cmocka_unit_test entries. */
#define DIALECT_SUITE_TESTS(suite)                                                                 \
    cmocka_unit_test_prestate(test_requests, (void *)(suite)),                                     \
        cmocka_unit_test_prestate(test_responses, (void *)(suite)),                                \
        cmocka_unit_test_prestate(test_streams, (void *)(suite)),                                  \
        cmocka_unit_test_prestate(test_errors, (void *)(suite)),                                   \
        cmocka_unit_test_prestate(test_fake_routes, (void *)(suite)),                              \
        cmocka_unit_test_prestate(test_fake_parses_adapter_requests, (void *)(suite)),             \
        cmocka_unit_test_prestate(test_fake_errors_for_adapter, (void *)(suite))

/* The suite of a dialect file whose tables have the conventional names (request_cases,
 * response_cases, stream_cases, error_cases, route_cases, fake_parse_cases,
 * fake_bad_requests, fake_error_cases) and whose check_fake_error_body() checks its fake's
 * error bodies; `fake_dialect` is its fake provider's side. */
#define DIALECT_SUITE(fake_dialect)                                                                \
    static const dialect_suite suite = {                                                           \
        SUITE_TABLE(requests, request_cases),                                                      \
        SUITE_TABLE(responses, response_cases),                                                    \
        SUITE_TABLE(streams, stream_cases),                                                        \
        SUITE_TABLE(errors, error_cases),                                                          \
        .fake = &(fake_dialect),                                                                   \
        SUITE_TABLE(routes, route_cases),                                                          \
        SUITE_TABLE(fake_parses, fake_parse_cases),                                                \
        SUITE_TABLE(fake_bad, fake_bad_requests),                                                  \
        SUITE_TABLE(fake_errors, fake_error_cases),                                                \
        .fake_error_body = check_fake_error_body,                                                  \
    }

/* main(): the shared tests of `suite`, then the dialect's own (cmocka_unit_test entries). */
#define DIALECT_MAIN(...)                                                                          \
    int main(void)                                                                                 \
    {                                                                                              \
        const struct CMUnitTest tests[] = {DIALECT_SUITE_TESTS(&suite), __VA_ARGS__};              \
        return cmocka_run_group_tests(tests, NULL, NULL);                                          \
    }

#endif
