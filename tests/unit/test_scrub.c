/*
 * scrub (engine/providers/scrub.c) and every dialect's error mapping: credentials in a
 * provider's error text never reach the client; the useful part does.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "provider.h"
#include "scrub.h"

static char *scrub(const char *s, sy_buf *b)
{
    sy_buf_reset(b);
    sy_scrub_append(b, s, strlen(s));
    return b->data;
}

static void test_secrets_removed(void **state)
{
    (void)state;
    static const char *const secrets[] = {"sk-live-4f9a8b7c6d5e4f3a2b1c",
                                          "sk-canary-provider-key-DO-NOT-LEAK-7f3a9c",
                                          "AIzaSyD-9tSrke72PouQMnMX-a7eZSW0jkFMBWY",
                                          "ghp_16C7e42F292c6912E7710c838347Ae178B4a",
                                          "AKIAIOSFODNN7EXAMPLE",
                                          "Zq3x9LmN2pR7sT4vW8yB1cD5fG6hJ0kQ",
                                          "hunter2-password-value"};
    static const char *const templates[] = {"Incorrect API key provided: %s.",
                                            "Authorization: Bearer %s",
                                            "bad request to https://x/v1?key=%s",
                                            "{\"api_key\":\"%s\"}",
                                            "token=%s; retry later",
                                            "Basic %s",
                                            "x-goog-api-key:%s rejected"};
    sy_buf b = {0};
    char msg[512];
    for (size_t i = 0; i < SY_ARRAY_LEN(secrets); i++)
        for (size_t t = 0; t < SY_ARRAY_LEN(templates); t++) {
            snprintf(msg, sizeof(msg), templates[t], secrets[i]);
            const char *out = scrub(msg, &b);
            assert_null(strstr(out, secrets[i]));
            assert_non_null(strstr(out, SY_SCRUB_MARK));
        }
    sy_buf_free(&b);
}

static void test_useful_text_kept(void **state)
{
    (void)state;
    static const char *const keep[] = {
        "This model's maximum context length is 8192 tokens. However, your messages resulted "
        "in 9000 tokens. Please reduce the length of the messages.",
        "context_length_exceeded",
        "invalid_request_error",
        "Rate limit reached for gpt-4o",
        "The model `gpt-4o-mini` does not exist or you do not have access to it.",
        "messages.0.content: Input should be a valid string"};
    sy_buf b = {0};
    for (size_t i = 0; i < SY_ARRAY_LEN(keep); i++)
        assert_string_equal(scrub(keep[i], &b), keep[i]);
    sy_buf_free(&b);
}

/* Each dialect's error mapping of an upstream that echoes the key. */
static void test_dialects(void **state)
{
    (void)state;
    static const char key[] = "sk-live-0123456789abcdefSECRET";
    static const struct {
        sy_dialect d;
        const char *body;
    } cases[] = {
        {SY_DIALECT_OPENAI, "{\"error\":{\"message\":\"Incorrect API key provided: Bearer "
                            "sk-live-0123456789abcdefSECRET\",\"type\":\"invalid_request_error\","
                            "\"code\":\"invalid_api_key\"}}"},
        {SY_DIALECT_ANTHROPIC, "{\"type\":\"error\",\"error\":{\"type\":\"invalid_request_error\","
                               "\"message\":\"key sk-live-0123456789abcdefSECRET is bad\"}}"},
        {SY_DIALECT_GEMINI, "{\"error\":{\"code\":400,\"message\":\"API key "
                            "sk-live-0123456789abcdefSECRET not valid\",\"status\":"
                            "\"INVALID_ARGUMENT\"}}"},
    };
    long statuses[] = {400, 404, 422, 500};
    for (size_t i = 0; i < SY_ARRAY_LEN(cases); i++)
        for (size_t s = 0; s < SY_ARRAY_LEN(statuses); s++) {
            sy_mapped_error e = {0};
            sy_adapter_for(cases[i].d)
                ->error(statuses[s], cases[i].body, strlen(cases[i].body), NULL, &e);
            assert_non_null(e.message.data);
            assert_null(strstr(e.message.data, key));
            assert_null(strstr(e.message.data, "SECRET"));
            sy_mapped_error_free(&e);
        }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_secrets_removed),
        cmocka_unit_test(test_useful_text_kept),
        cmocka_unit_test(test_dialects),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
