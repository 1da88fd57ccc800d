/*
 * Unit tests for tool calls in fake-provider's OpenAI dialect: parse_chat finds the
 * tool to call and notices a trailing tool result, and accepts the messages of a tool
 * round trip; render_completion and the stream events carry the call in OpenAI's
 * shapes (checked by parsing every body and event), the streamed arguments reassemble
 * to the full arguments text, and the finish reason is "tool_calls".
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "fake_dialect.h"

#include <cjson/cJSON.h>
#include <stdlib.h>
#include <string.h>

static const fp_dialect *const d = &fp_dialect_openai;

static cJSON *parse_json(const char *s, size_t len)
{
    cJSON *j = cJSON_ParseWithLength(s, len);
    if (!j)
        fail_msg("not JSON: %.*s", (int)len, s);
    return j;
}

/* parse_chat on a JSON text; the return code, with c filled. */
static int parse(const char *json, fp_chat *c, sy_buf *err)
{
    cJSON *body = cJSON_Parse(json);
    assert_non_null(body);
    memset(c, 0, sizeof *c);
    sy_buf_reset(err);
    int rc = d->parse_chat(body, c, err);
    cJSON_Delete(body);
    return rc;
}

#define TOOLS                                                                                      \
    "\"tools\": [{\"type\": \"function\", \"function\": {\"name\": \"get_weather\","               \
    " \"parameters\": {\"type\": \"object\"}}},"                                                   \
    " {\"type\": \"function\", \"function\": {\"name\": \"search\"}}]"

static void test_parse_tools(void **state)
{
    fp_chat c;
    sy_buf err = {0};

    /* the first function tool is the one called */
    assert_int_equal(
        parse("{\"model\": \"m\", \"messages\": [{\"role\": \"user\", \"content\": \"hi\"}], " TOOLS
              "}",
              &c, &err),
        SY_OK);
    assert_string_equal(c.tool_name, "get_weather");
    assert_false(c.last_is_tool_result);
    fp_chat_free(&c);

    /* no tools, or empty tools: none */
    assert_int_equal(
        parse("{\"model\": \"m\", \"messages\": [{\"role\": \"user\", \"content\": \"hi\"}]}", &c,
              &err),
        SY_OK);
    assert_null(c.tool_name);
    fp_chat_free(&c);
    assert_int_equal(parse("{\"model\": \"m\", \"tools\": [],"
                           " \"messages\": [{\"role\": \"user\", \"content\": \"hi\"}]}",
                           &c, &err),
                     SY_OK);
    assert_null(c.tool_name);
    fp_chat_free(&c);

    /* tool_choice "none" disables the call; a named function is called instead */
    assert_int_equal(parse("{\"model\": \"m\", \"tool_choice\": \"none\","
                           " \"messages\": [{\"role\": \"user\", \"content\": \"hi\"}], " TOOLS "}",
                           &c, &err),
                     SY_OK);
    assert_null(c.tool_name);
    fp_chat_free(&c);
    assert_int_equal(
        parse("{\"model\": \"m\","
              " \"tool_choice\": {\"type\": \"function\", \"function\": {\"name\": \"search\"}},"
              " \"messages\": [{\"role\": \"user\", \"content\": \"hi\"}], " TOOLS "}",
              &c, &err),
        SY_OK);
    assert_string_equal(c.tool_name, "search");
    fp_chat_free(&c);

    /* tools of other types are accepted and skipped */
    assert_int_equal(parse("{\"model\": \"m\", \"messages\": [{\"role\": \"user\"}],"
                           " \"tools\": [{\"type\": \"custom\", \"custom\": {\"name\": \"x\"}},"
                           "  {\"type\": \"function\", \"function\": {\"name\": \"f\"}}]}",
                           &c, &err),
                     SY_OK);
    assert_string_equal(c.tool_name, "f");
    fp_chat_free(&c);

    /* a whole tool round trip is accepted; a trailing tool result is noticed; tool text
     * counts towards the prompt, the echo is still the last user message */
    assert_int_equal(
        parse("{\"model\": \"m\", " TOOLS ", \"messages\": ["
              " {\"role\": \"user\", \"content\": \"weather?\"},"
              " {\"role\": \"assistant\", \"content\": null, \"tool_calls\": [{\"id\": \"call_1\","
              "   \"type\": \"function\", \"function\": {\"name\": \"get_weather\","
              "   \"arguments\": \"{}\"}}]},"
              " {\"role\": \"tool\", \"tool_call_id\": \"call_1\", \"content\": \"sunny\"}]}",
              &c, &err),
        SY_OK);
    assert_string_equal(c.tool_name, "get_weather");
    assert_true(c.last_is_tool_result);
    assert_int_equal(c.prompt_bytes, 8 + 5);
    assert_string_equal(c.echo.data, "weather?");
    fp_chat_free(&c);

    static const char *const bad[] = {
        "{\"model\": \"m\", \"messages\": [{\"role\": \"user\"}], \"tools\": {}}",
        "{\"model\": \"m\", \"messages\": [{\"role\": \"user\"}], \"tools\": [1]}",
        "{\"model\": \"m\", \"messages\": [{\"role\": \"user\"}],"
        " \"tools\": [{\"type\": \"function\"}]}",
        "{\"model\": \"m\", \"messages\": [{\"role\": \"user\"}],"
        " \"tools\": [{\"type\": \"function\", \"function\": {\"name\": \"\"}}]}",
    };
    for (size_t i = 0; i < SY_ARRAY_LEN(bad); i++) {
        if (parse(bad[i], &c, &err) != SY_ERR_INVALID || !err.len)
            fail_msg("accepted: %s", bad[i]);
        fp_chat_free(&c);
    }
    assert_non_null(strstr(err.data, "tools[0].function.name"));
    sy_buf_free(&err);
}

static fp_exchange tool_exchange(const char *args)
{
    fp_exchange x = {.created = 1700000000,
                     .model = "m",
                     .prompt_tokens = 10,
                     .completion_tokens = 4,
                     .tool_name = "get_weather",
                     .tool_args_json = args};
    strcpy(x.id, "chatcmpl-test");
    strcpy(x.tool_call_id, "call_0123456789abcdef01234567");
    return x;
}

static void test_render_tool_call_completion(void **state)
{
    const char *args = "{\"query\":\"weather in \\\"Paris\\\"\"}";
    fp_exchange x = tool_exchange(args);
    sy_buf b = {0};
    d->render_completion(&x, "ignored", 7, &b);
    cJSON *j = parse_json(b.data, b.len);
    cJSON *choice = cJSON_GetArrayItem(cJSON_GetObjectItem(j, "choices"), 0);
    assert_string_equal(cJSON_GetObjectItem(choice, "finish_reason")->valuestring, "tool_calls");
    cJSON *msg = cJSON_GetObjectItem(choice, "message");
    assert_string_equal(cJSON_GetObjectItem(msg, "role")->valuestring, "assistant");
    assert_true(cJSON_IsNull(cJSON_GetObjectItem(msg, "content")));
    cJSON *calls = cJSON_GetObjectItem(msg, "tool_calls");
    assert_int_equal(cJSON_GetArraySize(calls), 1);
    cJSON *call = cJSON_GetArrayItem(calls, 0);
    assert_string_equal(cJSON_GetObjectItem(call, "id")->valuestring, x.tool_call_id);
    assert_string_equal(cJSON_GetObjectItem(call, "type")->valuestring, "function");
    cJSON *fn = cJSON_GetObjectItem(call, "function");
    assert_string_equal(cJSON_GetObjectItem(fn, "name")->valuestring, "get_weather");
    cJSON *a = cJSON_GetObjectItem(fn, "arguments");
    assert_true(cJSON_IsString(a)); /* a JSON text inside a string, as OpenAI sends it */
    assert_string_equal(a->valuestring, args);
    cJSON *parsed = parse_json(a->valuestring, strlen(a->valuestring));
    assert_string_equal(cJSON_GetObjectItem(parsed, "query")->valuestring, "weather in \"Paris\"");
    cJSON_Delete(parsed);
    assert_int_equal(
        cJSON_GetObjectItem(cJSON_GetObjectItem(j, "usage"), "completion_tokens")->valueint, 4);
    assert_null(strstr(b.data, "ignored"));
    cJSON_Delete(j);
    sy_buf_free(&b);
}

/*
 * Render a whole tool-call stream (open, call, close) and check every event; returns
 * the number of argument pieces and the reassembled arguments in joined.
 */
static int check_stream(fp_exchange *x, sy_buf *joined)
{
    sy_buf b = {0};
    d->render_stream_open(x, &b);
    d->render_stream_tool_call(x, &b);
    d->render_stream_close(x, &b);
    const char *p = b.data;
    int event = 0, pieces = 0, saw_finish = 0, saw_usage = 0, saw_done = 0;
    while (*p) {
        assert_memory_equal(p, "data: ", 6);
        const char *end = strstr(p, "\n\n");
        assert_non_null(end);
        if (strncmp(p + 6, "[DONE]", 6) == 0) {
            saw_done = 1;
            p = end + 2;
            event++;
            continue;
        }
        cJSON *j = parse_json(p + 6, (size_t)(end - p - 6));
        assert_string_equal(cJSON_GetObjectItem(j, "object")->valuestring, "chat.completion.chunk");
        cJSON *choices = cJSON_GetObjectItem(j, "choices");
        if (cJSON_GetArraySize(choices) == 0) {
            saw_usage = 1;
            cJSON_Delete(j);
            p = end + 2;
            event++;
            continue;
        }
        cJSON *choice = cJSON_GetArrayItem(choices, 0);
        cJSON *delta = cJSON_GetObjectItem(choice, "delta");
        cJSON *fr = cJSON_GetObjectItem(choice, "finish_reason");
        cJSON *calls = cJSON_GetObjectItem(delta, "tool_calls");
        if (event == 0) {
            /* the role event: content null ahead of a call */
            assert_string_equal(cJSON_GetObjectItem(delta, "role")->valuestring, "assistant");
            assert_true(cJSON_IsNull(cJSON_GetObjectItem(delta, "content")));
            assert_null(calls);
            assert_true(cJSON_IsNull(fr));
        } else if (event == 1) {
            /* announces the call: index, id, type, name, empty arguments */
            assert_int_equal(cJSON_GetArraySize(calls), 1);
            cJSON *call = cJSON_GetArrayItem(calls, 0);
            assert_int_equal(cJSON_GetObjectItem(call, "index")->valueint, 0);
            assert_string_equal(cJSON_GetObjectItem(call, "id")->valuestring, x->tool_call_id);
            assert_string_equal(cJSON_GetObjectItem(call, "type")->valuestring, "function");
            cJSON *fn = cJSON_GetObjectItem(call, "function");
            assert_string_equal(cJSON_GetObjectItem(fn, "name")->valuestring, x->tool_name);
            assert_string_equal(cJSON_GetObjectItem(fn, "arguments")->valuestring, "");
            assert_true(cJSON_IsNull(fr));
        } else if (calls) {
            /* an argument piece: only index and function.arguments */
            cJSON *call = cJSON_GetArrayItem(calls, 0);
            assert_int_equal(cJSON_GetArraySize(call), 2);
            assert_int_equal(cJSON_GetObjectItem(call, "index")->valueint, 0);
            cJSON *fn = cJSON_GetObjectItem(call, "function");
            assert_int_equal(cJSON_GetArraySize(fn), 1);
            const char *piece = cJSON_GetObjectItem(fn, "arguments")->valuestring;
            assert_true(piece[0] != '\0');
            /* never split inside a UTF-8 character */
            assert_true(((unsigned char)piece[0] & 0xC0) != 0x80);
            sy_buf_puts(joined, piece);
            pieces++;
            assert_false(saw_finish);
            assert_true(cJSON_IsNull(fr));
        } else {
            assert_int_equal(cJSON_GetArraySize(delta), 0);
            assert_string_equal(fr->valuestring, "tool_calls");
            saw_finish = 1;
        }
        cJSON_Delete(j);
        p = end + 2;
        event++;
    }
    assert_true(saw_finish && saw_done);
    assert_int_equal(saw_usage, x->include_usage);
    sy_buf_free(&b);
    return pieces;
}

static void test_render_tool_call_stream(void **state)
{
    sy_buf joined = {0};
    const char *args = "{\"query\":\"what is the weather in Paris today?\"}";
    fp_exchange x = tool_exchange(args);
    x.include_usage = 1;
    assert_int_equal(check_stream(&x, &joined), 3);
    assert_string_equal(joined.data, args);

    /* multi-byte characters around the cut points, no usage */
    sy_buf_reset(&joined);
    args = "{\"query\":\"\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xe2\x82\xac\xe2\x82\xac\xe2\x82\xac\"}";
    x = tool_exchange(args);
    int pieces = check_stream(&x, &joined);
    assert_true(pieces >= 2);
    assert_string_equal(joined.data, args);

    /* very short arguments still reassemble */
    sy_buf_reset(&joined);
    x = tool_exchange("{}");
    assert_true(check_stream(&x, &joined) >= 1);
    assert_string_equal(joined.data, "{}");
    sy_buf_free(&joined);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_tools),
        cmocka_unit_test(test_render_tool_call_completion),
        cmocka_unit_test(test_render_tool_call_stream),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
