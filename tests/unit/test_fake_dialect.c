/*
 * Unit tests for what fake-provider's three dialects share (fake_dialect.c): the
 * table-driven error bodies (every code of every dialect renders valid JSON with the
 * dialect's status, a caller's message replaces the default, Gemini has no 529), and
 * the small request helpers (positive limits, non-empty strings, the model check, id
 * prefixes, tool arguments).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "fake_dialect.h"

#include <cjson/cJSON.h>
#include <string.h>

static const fp_dialect *const dialects[] = {&fp_dialect_openai, &fp_dialect_anthropic,
                                             &fp_dialect_gemini};

/* The error message inside a rendered body, whatever the dialect's shape. */
static const char *error_message(const cJSON *doc)
{
    const cJSON *e = cJSON_GetObjectItemCaseSensitive(doc, "error");
    return cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(e, "message"));
}

static void test_error_bodies(void **state)
{
    (void)state;
    static const int statuses[][FP_ERR_COUNT] = {
        /* invalid 400i 401 404m 429 quota 500 503 529 404 405 */
        {400, 400, 401, 404, 429, 429, 500, 503, 529, 404, 405}, /* OpenAI */
        {400, 400, 401, 404, 429, 429, 500, 503, 529, 404, 405}, /* Anthropic */
        {400, 400, 401, 404, 429, 429, 500, 503, 503, 404, 405}, /* Gemini: no 529 */
    };
    for (size_t k = 0; k < SY_ARRAY_LEN(dialects); k++) {
        for (int code = 0; code < FP_ERR_COUNT; code++) {
            sy_buf b = {0};
            int status = dialects[k]->render_error((fp_error_code)code, NULL, &b);
            assert_int_equal(status, statuses[k][code]);
            cJSON *doc = cJSON_Parse(b.data);
            assert_non_null(doc);
            const char *msg = error_message(doc);
            assert_non_null(msg);
            assert_true(msg[0] != '\0');
            cJSON_Delete(doc);
            sy_buf_free(&b);
        }
        sy_buf b = {0};
        dialects[k]->render_error(FP_ERR_INVALID_REQUEST, "bad \"thing\"", &b);
        cJSON *doc = cJSON_Parse(b.data);
        assert_string_equal(error_message(doc), "bad \"thing\"");
        cJSON_Delete(doc);
        sy_buf_free(&b);
    }
}

static void test_error_details(void **state)
{
    (void)state;
    sy_buf b = {0};
    fp_dialect_anthropic.render_error(FP_ERR_QUOTA, NULL, &b);
    assert_non_null(strstr(b.data, "enforced_spend_limit_reached"));
    sy_buf_reset(&b);
    fp_dialect_gemini.render_error(FP_ERR_RATE_LIMIT, NULL, &b);
    assert_non_null(strstr(b.data, "google.rpc.RetryInfo"));
    sy_buf_reset(&b);
    fp_dialect_openai.render_error(FP_ERR_UNAUTHORIZED, NULL, &b);
    assert_non_null(strstr(b.data, "\"code\":\"invalid_api_key\""));
    sy_buf_free(&b);

    static const fp_error_row table[FP_ERR_COUNT] = {
        [FP_ERR_INVALID_REQUEST] = {400, "t", NULL, "default"},
        [FP_ERR_SERVER] = {500, "s", NULL, "server"},
    };
    fp_error_row r = fp_error_lookup(table, FP_ERR_SERVER, NULL);
    assert_int_equal(r.status, 500);
    assert_string_equal(r.message, "server");
    r = fp_error_lookup(table, FP_ERR_OVERLOADED, "why"); /* no row: the 400 one */
    assert_int_equal(r.status, 400);
    assert_string_equal(r.message, "why");
}

static void test_request_helpers(void **state)
{
    (void)state;
    cJSON *doc = cJSON_Parse("{\"a\":1,\"b\":0,\"c\":2.5,\"d\":\"x\",\"e\":1e12,\"s\":\"\"}");
    long v = -7;
    assert_true(fp_positive_int(cJSON_GetObjectItem(doc, "a"), &v));
    assert_int_equal(v, 1);
    assert_false(fp_positive_int(cJSON_GetObjectItem(doc, "b"), &v));
    assert_false(fp_positive_int(cJSON_GetObjectItem(doc, "c"), &v));
    assert_false(fp_positive_int(cJSON_GetObjectItem(doc, "d"), &v));
    assert_false(fp_positive_int(cJSON_GetObjectItem(doc, "e"), &v));
    assert_false(fp_positive_int(NULL, &v));
    assert_int_equal(v, 1);
    assert_string_equal(fp_nonempty_string(cJSON_GetObjectItem(doc, "d")), "x");
    assert_null(fp_nonempty_string(cJSON_GetObjectItem(doc, "s")));
    assert_null(fp_nonempty_string(cJSON_GetObjectItem(doc, "a")));

    fp_chat c = {0};
    sy_buf err = {0};
    assert_int_equal(fp_parse_model(doc, &c, "no model", &err), SY_ERR_INVALID);
    assert_string_equal(err.data, "no model");
    sy_buf_reset(&err);
    cJSON *arr = cJSON_Parse("[]");
    assert_int_equal(fp_parse_model(arr, &c, "no model", &err), SY_ERR_INVALID);
    assert_string_equal(err.data, "The request body must be a JSON object.");
    cJSON_Delete(arr);
    cJSON *ok = cJSON_Parse("{\"model\":\"m1\"}");
    assert_int_equal(fp_parse_model(ok, &c, "no model", &err), SY_OK);
    assert_string_equal(c.model, "m1");
    fp_chat_set_tool(&c, NULL);
    assert_null(c.tool_name);
    fp_chat_set_tool(&c, cJSON_GetObjectItem(ok, "model"));
    assert_string_equal(c.tool_name, "m1");
    fp_chat_free(&c);
    cJSON_Delete(ok);
    cJSON_Delete(doc);
    sy_buf_free(&err);

    sy_buf t = {0};
    assert_int_equal(fp_take_text("abc", NULL), 3);
    assert_int_equal(fp_take_text("de", &t), 2);
    assert_string_equal(t.data, "de");
    sy_buf_free(&t);
}

static void test_render_helpers(void **state)
{
    (void)state;
    assert_string_equal(fp_id_suffix("chatcmpl-abc", "chatcmpl-"), "abc");
    assert_string_equal(fp_id_suffix("xyz", "chatcmpl-"), "xyz");
    fp_exchange x = {0};
    assert_string_equal(fp_tool_args(&x), "{}");
    x.tool_args_json = "";
    assert_string_equal(fp_tool_args(&x), "{}");
    x.tool_args_json = "{\"q\":1}";
    assert_string_equal(fp_tool_args(&x), "{\"q\":1}");
    sy_buf b = {0};
    fp_put_string(&b, "a\"b");
    assert_string_equal(b.data, "\"a\\\"b\"");
    sy_buf_free(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_error_bodies),
        cmocka_unit_test(test_error_details),
        cmocka_unit_test(test_request_helpers),
        cmocka_unit_test(test_render_helpers),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
