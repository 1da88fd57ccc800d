/*
 * json_body (engine/proto/json_body.c): how every JSON body is read — UTF-8, raw NULs,
 * duplicate member names at any depth (with the path in param), \u0000 kept through a
 * parse/print round trip — and the allocation-free syntax check used on stream events.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "json_body.h"

/* Parse a copy of s as a request body; returns the tree or NULL with *err. */
static cJSON *parse(const char *s, sy_json_error *err)
{
    size_t len = strlen(s);
    char *buf = malloc(len + 1);
    memcpy(buf, s, len + 1);
    cJSON *root = sy_json_body_parse(buf, &len, err);
    free(buf);
    return root;
}

static void test_utf8(void **state)
{
    (void)state;
    static const char *const good[] = {"",
                                       "plain ascii text, long enough for the fast path",
                                       "caf\xc3\xa9",
                                       "\xe2\x82\xac",
                                       "\xf0\x9f\x98\x80",
                                       "\xf4\x8f\xbf\xbf"};
    static const char *const bad[] = {
        "\xff",         "\xc0\x80",         "\xc1\xbf",         "\xe0\x80\x80",
        "\xed\xa0\x80", "\xf4\x90\x80\x80", "\xf5\x80\x80\x80", "caf\xc3",
        "abcdefgh\x80"};
    for (size_t i = 0; i < SY_ARRAY_LEN(good); i++)
        assert_true(sy_utf8_valid(good[i], strlen(good[i])));
    for (size_t i = 0; i < SY_ARRAY_LEN(bad); i++)
        assert_false(sy_utf8_valid(bad[i], strlen(bad[i])));
}

static void test_duplicates(void **state)
{
    (void)state;
    static const struct {
        const char *body, *param;
    } cases[] = {
        {"{\"model\":\"mcap\",\"model\":\"o1-pro\"}", "model"},
        {"{\"max_tokens\":1,\"a\":0,\"max_tokens\":100000}", "max_tokens"},
        {"{\"messages\":[{\"role\":\"user\"},{\"role\":\"user\",\"content\":1,\"role\":\"system\"}]"
         "}",
         "messages[1].role"},
        {"{\"a\":{\"b\":{\"c\":1,\"c\":2}}}", "a.b.c"},
    };
    for (size_t i = 0; i < SY_ARRAY_LEN(cases); i++) {
        sy_json_error err;
        assert_null(parse(cases[i].body, &err));
        assert_string_equal(err.param, cases[i].param);
        assert_non_null(strstr(err.message, "twice"));
    }
    /* a large object is checked by sorting: 5,000 members, the duplicate at the end */
    sy_buf b = {0};
    sy_buf_puts(&b, "{");
    for (int i = 0; i < 5000; i++)
        sy_buf_printf(&b, "\"k%d\":%d,", i, i);
    sy_buf_puts(&b, "\"k17\":0}");
    sy_json_error err;
    assert_null(parse(b.data, &err));
    assert_string_equal(err.param, "k17");
    sy_buf_reset(&b);
    sy_buf_puts(&b, "{");
    for (int i = 0; i < 5000; i++)
        sy_buf_printf(&b, "\"k%d\":%d,", i, i);
    sy_buf_puts(&b, "\"last\":0}");
    cJSON *ok = parse(b.data, &err);
    assert_non_null(ok);
    cJSON_Delete(ok);
    sy_buf_free(&b);
    /* same name in different objects is fine */
    ok = parse("{\"a\":{\"x\":1},\"b\":{\"x\":1},\"c\":[{\"x\":1},{\"x\":2}]}", &err);
    assert_non_null(ok);
    cJSON_Delete(ok);
}

static void test_nul(void **state)
{
    (void)state;
    sy_json_error err;
    cJSON *root = parse("{\"c\":\"a\\u0000bcdef\",\"k\\u0000\":1,\"e\":\"x\\\\u0000y\"}", &err);
    assert_non_null(root);
    const cJSON *c = cJSON_GetObjectItemCaseSensitive(root, "c");
    assert_string_equal(c->valuestring, "a" SY_JSON_NUL "bcdef");
    assert_true(sy_json_str_has_nul(c->valuestring));
    /* an escaped backslash followed by u0000 is text, not a NUL */
    const cJSON *e = cJSON_GetObjectItemCaseSensitive(root, "e");
    assert_string_equal(e->valuestring, "x\\u0000y");
    assert_false(sy_json_str_has_nul(e->valuestring));
    /* printed and restored: the upstream sees the escape again */
    char *printed = cJSON_PrintUnformatted(root);
    sy_buf b = {0};
    sy_buf_puts(&b, printed);
    free(printed);
    sy_json_nul_restore(&b);
    assert_string_equal(b.data, "{\"c\":\"a\\u0000bcdef\",\"k\\u0000\":1,\"e\":\"x\\\\u0000y\"}");
    sy_buf_free(&b);
    cJSON_Delete(root);
    /* a raw NUL byte and invalid UTF-8 are refused */
    char raw[] = "{\"c\":\"a\0b\"}";
    size_t len = sizeof(raw) - 1;
    assert_null(sy_json_body_parse(raw, &len, &err));
    assert_non_null(strstr(err.message, "NUL"));
    assert_null(parse("{\"c\":\"\xff\"}", &err));
    assert_non_null(strstr(err.message, "UTF-8"));
    assert_null(parse("{\"c\":1} x", &err));
    /* cJSON reads a bad hex digit as 0: "\u00zz" would be a NUL that ends the string */
    assert_null(parse("{\"model\":\"ma\\u00zzzz\"}", &err));
    assert_null(parse("{\"c\":\"\\u12\"}", &err));
}

static void test_valid(void **state)
{
    (void)state;
    static const char *const good[] = {
        "{}",    "[]", " {\"a\":[1,-2.5e+3,true,false,null,\"x\\u00e9\\n\"]} ",
        "\"s\"", "0",  "{\"choices\":[{\"delta\":{\"content\":\"hi\"}}]}"};
    static const char *const bad[] = {
        "",           "{",           "{\"a\":1,}",
        "[1,]",       "{\"a\" 1}",   "01",
        "1.",         "\"\\x\"",     "tru",
        "{\"a\":1}}", "\"a\nb\"",    "{'a':1}",
        "[1] [2]",    "\"\\u12g4\"", "{\"choices\":[{\"delta\":{\"content\":\"hi"};
    for (size_t i = 0; i < SY_ARRAY_LEN(good); i++)
        assert_true(sy_json_valid(good[i], strlen(good[i])));
    for (size_t i = 0; i < SY_ARRAY_LEN(bad); i++)
        assert_false(sy_json_valid(bad[i], strlen(bad[i])));
    char deep[400];
    memset(deep, '[', 200);
    memset(deep + 200, ']', 200);
    assert_false(sy_json_valid(deep, sizeof(deep))); /* deeper than 128 */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_utf8),
        cmocka_unit_test(test_duplicates),
        cmocka_unit_test(test_nul),
        cmocka_unit_test(test_valid),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
