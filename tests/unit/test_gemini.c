/*
 * Unit tests for the Gemini dialect: the gateway adapter (provider_gemini.c) and
 * fake-provider's Gemini dialect (fake_gemini.c).
 *
 * Requests: OpenAI bodies of many shapes are built and compared with the expected
 * GenerateContentRequest (cJSON_Compare on parsed JSON, so member order is free), with
 * the URL, headers (the key in x-goog-api-key, never in the URL) and refused parameters.
 * Responses: GenerateContentResponse bodies and SSE streams translated to OpenAI shapes
 * and compared after replacing the generated ids and timestamps; the stream also goes
 * through the sy_sse framer split at every byte into two feeds, which must not change
 * the output. Errors: status, code and retryability. Finally the fake's dialect routes,
 * parses what the adapter sends, and renders what the adapter reads.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "fake_dialect.h"
#include "provider.h"
#include "sse.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const sy_adapter *ad(void)
{
    const sy_adapter *a = sy_adapter_for(SY_DIALECT_GEMINI);
    assert_non_null(a);
    return a;
}

static sy_provider_cfg prov = {.name = "g",
                               .dialect = SY_DIALECT_GEMINI,
                               .base_url = "https://generativelanguage.googleapis.com/v1beta",
                               .api_key = "AIza-secret-key"};
static sy_model_cfg model = {.name = "gem", .upstream_name = "gemini-2.5-flash"};

#define DIALECT_CLIENT_MODEL "gem"
#include "dialect_test.h"

/* ---- requests */

/* Build and compare the upstream body with `expected`. */
static void expect_body(const char *json, const char *expected)
{
    built b;
    build(json, 0, &b);
    if (b.rc != SY_OK)
        fail_msg("refused (%s: %s): %s", b.bad ? b.bad : "-", b.why ? b.why : "-", json);
    assert_json_eq(b.call.body.data, b.call.body.len, expected);
    built_free(&b);
}

/* Build and expect a 400 naming `param`. */
static void expect_refused(const char *json, const char *param)
{
    built b;
    build(json, 0, &b);
    if (b.rc != SY_ERR_INVALID)
        fail_msg("accepted: %s", json);
    assert_non_null(b.why);
    if (!b.bad || strcmp(b.bad, param) != 0)
        fail_msg("refused %s naming '%s', expected '%s'", json, b.bad ? b.bad : "(null)", param);
    built_free(&b);
}

static void test_url_and_headers(void **state)
{
    static const char req[] =
        "{\"model\":\"gem\",\"messages\":[{\"role\":\"user\",\"content\":\"Hi\"}]}";
    built b;
    build(req, 0, &b);
    assert_int_equal(b.rc, SY_OK);
    assert_string_equal(b.call.url.data, "https://generativelanguage.googleapis.com/v1beta/models/"
                                         "gemini-2.5-flash:generateContent");
    assert_string_equal(header(&b.call, "x-goog-api-key:"), "x-goog-api-key: AIza-secret-key");
    assert_string_equal(header(&b.call, "Accept:"), "Accept: application/json");
    assert_string_equal(header(&b.call, "Content-Type:"), "Content-Type: application/json");
    assert_null(strstr(b.call.url.data, "secret"));
    assert_null(strstr(b.call.url.data, "key="));
    built_free(&b);

    build(req, 1, &b);
    assert_int_equal(b.rc, SY_OK);
    assert_string_equal(b.call.url.data, "https://generativelanguage.googleapis.com/v1beta/models/"
                                         "gemini-2.5-flash:streamGenerateContent?alt=sse");
    assert_string_equal(header(&b.call, "Accept:"), "Accept: text/event-stream");
    assert_null(strstr(b.call.url.data, "secret"));
    assert_null(strstr(b.call.url.data, "key="));
    built_free(&b);

    /* names outside [A-Za-z0-9._-] are escaped; no key configured, no key header */
    sy_model_cfg odd = {.name = "odd", .upstream_name = "tuned/my model?x"};
    sy_provider_cfg keyless = prov;
    keyless.api_key = NULL;
    memset(&b, 0, sizeof b);
    cJSON *r = cJSON_Parse(req);
    assert_int_equal(ad()->build(&keyless, &odd, r, 0, &b.rs, &b.call, &b.bad, &b.why), SY_OK);
    cJSON_Delete(r);
    assert_string_equal(b.call.url.data, "https://generativelanguage.googleapis.com/v1beta/models/"
                                         "tuned%2Fmy%20model%3Fx:generateContent");
    assert_null(header(&b.call, "x-goog-api-key:"));
    built_free(&b);
}

static void test_plain_and_system(void **state)
{
    expect_body("{\"model\":\"gem\",\"messages\":[{\"role\":\"user\",\"content\":\"Hello\"}]}",
                "{\"contents\":[{\"role\":\"user\",\"parts\":[{\"text\":\"Hello\"}]}]}");
    /* system and developer → systemInstruction; sampling parameters → generationConfig;
     * bookkeeping members dropped */
    expect_body(
        "{\"model\":\"gem\",\"messages\":[{\"role\":\"system\",\"content\":\"Be terse.\"},"
        "{\"role\":\"developer\",\"content\":[{\"type\":\"text\",\"text\":\"No emoji.\"}]},"
        "{\"role\":\"user\",\"content\":\"Hello\"}],"
        "\"temperature\":0.5,\"top_p\":0.9,\"max_tokens\":100,\"max_completion_tokens\":50,"
        "\"seed\":42,\"n\":2,\"presence_penalty\":0.5,\"frequency_penalty\":-0.25,"
        "\"user\":\"u-1\",\"parallel_tool_calls\":true,\"metadata\":{\"a\":\"b\"},"
        "\"store\":false,\"logprobs\":false,\"logit_bias\":{},\"stream\":false,"
        "\"top_k\":40,\"reasoning_effort\":\"low\",\"modalities\":[\"text\"]}",
        "{\"systemInstruction\":{\"parts\":[{\"text\":\"Be terse.\"},{\"text\":\"No emoji.\"}]},"
        "\"contents\":[{\"role\":\"user\",\"parts\":[{\"text\":\"Hello\"}]}],"
        "\"generationConfig\":{\"temperature\":0.5,\"topP\":0.9,\"topK\":40,"
        "\"maxOutputTokens\":50,\"seed\":42,\"candidateCount\":2,\"presencePenalty\":0.5,"
        "\"frequencyPenalty\":-0.25,\"thinkingConfig\":{\"thinkingBudget\":1024}}}");
}

static void test_multi_turn(void **state)
{
    /* assistant → model; consecutive turns of one role merge; empty assistant turns vanish */
    expect_body("{\"model\":\"gem\",\"messages\":["
                "{\"role\":\"user\",\"content\":\"Hi\"},"
                "{\"role\":\"assistant\",\"content\":\"Hello!\"},"
                "{\"role\":\"assistant\",\"content\":[{\"type\":\"text\",\"text\":\"How can I "
                "help?\"},{\"type\":\"refusal\",\"refusal\":\"no\"}]},"
                "{\"role\":\"user\",\"content\":\"Tell me a joke.\"},"
                "{\"role\":\"user\",\"content\":[{\"type\":\"text\",\"text\":\"A short one.\"}]},"
                "{\"role\":\"assistant\",\"content\":null}]}",
                "{\"contents\":["
                "{\"role\":\"user\",\"parts\":[{\"text\":\"Hi\"}]},"
                "{\"role\":\"model\",\"parts\":[{\"text\":\"Hello!\"},{\"text\":\"How can I "
                "help?\"}]},"
                "{\"role\":\"user\",\"parts\":[{\"text\":\"Tell me a joke.\"},{\"text\":\"A short "
                "one.\"}]}]}");
}

#define WEATHER_TOOL                                                                               \
    "{\"type\":\"function\",\"function\":{\"name\":\"get_weather\",\"description\":\"Weather "     \
    "now\",\"parameters\":{\"type\":\"object\",\"properties\":{\"city\":{\"type\":\"string\"}},"   \
    "\"required\":[\"city\"],\"additionalProperties\":false},\"strict\":true}}"
#define WEATHER_DECL                                                                               \
    "{\"name\":\"get_weather\",\"description\":\"Weather now\",\"parametersJsonSchema\":{"         \
    "\"type\":\"object\",\"properties\":{\"city\":{\"type\":\"string\"}},\"required\":[\"city\"]," \
    "\"additionalProperties\":false}}"
#define USER_HI     "\"messages\":[{\"role\":\"user\",\"content\":\"Hi\"}]"
#define CONTENTS_HI "\"contents\":[{\"role\":\"user\",\"parts\":[{\"text\":\"Hi\"}]}]"

static void test_tools(void **state)
{
    expect_body("{\"model\":\"gem\"," USER_HI ",\"tools\":[" WEATHER_TOOL
                ",{\"type\":\"function\",\"function\":{\"name\":\"noop\"}}]}",
                "{" CONTENTS_HI ",\"tools\":[{\"functionDeclarations\":[" WEATHER_DECL
                ",{\"name\":\"noop\"}]}]}");
    static const struct {
        const char *choice, *config;
    } choices[] = {
        {"\"auto\"", "{\"mode\":\"AUTO\"}"},
        {"\"none\"", "{\"mode\":\"NONE\"}"},
        {"\"required\"", "{\"mode\":\"ANY\"}"},
        {"{\"type\":\"function\",\"function\":{\"name\":\"get_weather\"}}",
         "{\"mode\":\"ANY\",\"allowedFunctionNames\":[\"get_weather\"]}"},
    };
    for (size_t i = 0; i < SY_ARRAY_LEN(choices); i++) {
        char req[1024], exp[1024];
        snprintf(req, sizeof req,
                 "{\"model\":\"gem\"," USER_HI ",\"tools\":[" WEATHER_TOOL "],"
                 "\"tool_choice\":%s}",
                 choices[i].choice);
        snprintf(exp, sizeof exp,
                 "{" CONTENTS_HI ",\"tools\":[{\"functionDeclarations\":[" WEATHER_DECL
                 "]}],\"toolConfig\":{\"functionCallingConfig\":%s}}",
                 choices[i].config);
        expect_body(req, exp);
    }
}

static void test_tool_results(void **state)
{
    /* two parallel calls and their results: functionCall parts (the first with the
     * signature sentinel), both functionResponses in one user turn, then the next user
     * text merged into it; JSON-object tool text is sent as an object */
    expect_body(
        "{\"model\":\"gem\",\"tools\":[" WEATHER_TOOL "],\"messages\":["
        "{\"role\":\"user\",\"content\":\"Weather in Paris and Rome?\"},"
        "{\"role\":\"assistant\",\"content\":null,\"tool_calls\":["
        "{\"id\":\"call_a\",\"type\":\"function\",\"function\":{\"name\":\"get_weather\","
        "\"arguments\":\"{\\\"city\\\":\\\"Paris\\\"}\"}},"
        "{\"id\":\"call_b\",\"type\":\"function\",\"function\":{\"name\":\"get_weather\","
        "\"arguments\":\"{\\\"city\\\":\\\"Rome\\\"}\"}}]},"
        "{\"role\":\"tool\",\"tool_call_id\":\"call_a\",\"content\":\"{\\\"temp\\\":21}\"},"
        "{\"role\":\"tool\",\"tool_call_id\":\"call_b\",\"content\":[{\"type\":\"text\","
        "\"text\":\"sunny\"}]},"
        "{\"role\":\"user\",\"content\":\"Thanks\"}]}",
        "{\"contents\":["
        "{\"role\":\"user\",\"parts\":[{\"text\":\"Weather in Paris and Rome?\"}]},"
        "{\"role\":\"model\",\"parts\":["
        "{\"functionCall\":{\"name\":\"get_weather\",\"args\":{\"city\":\"Paris\"}},"
        "\"thoughtSignature\":\"skip_thought_signature_validator\"},"
        "{\"functionCall\":{\"name\":\"get_weather\",\"args\":{\"city\":\"Rome\"}}}]},"
        "{\"role\":\"user\",\"parts\":["
        "{\"functionResponse\":{\"name\":\"get_weather\",\"response\":{\"content\":{\"temp\":21}}}}"
        ","
        "{\"functionResponse\":{\"name\":\"get_weather\",\"response\":{\"content\":\"sunny\"}}},"
        "{\"text\":\"Thanks\"}]}],"
        "\"tools\":[{\"functionDeclarations\":[" WEATHER_DECL "]}]}");
    /* a result for an unknown call, or arguments that are not an object */
    expect_refused("{\"model\":\"gem\",\"messages\":[{\"role\":\"user\",\"content\":\"x\"},"
                   "{\"role\":\"tool\",\"tool_call_id\":\"call_zz\",\"content\":\"1\"}]}",
                   "messages[1].tool_call_id");
    expect_refused("{\"model\":\"gem\",\"messages\":[{\"role\":\"user\",\"content\":\"x\"},"
                   "{\"role\":\"assistant\",\"tool_calls\":[{\"id\":\"c\",\"type\":\"function\","
                   "\"function\":{\"name\":\"f\",\"arguments\":\"[1]\"}}]}]}",
                   "messages[1].tool_calls[0].function.arguments");
}

static void test_images(void **state)
{
    expect_body(
        "{\"model\":\"gem\",\"messages\":[{\"role\":\"user\",\"content\":["
        "{\"type\":\"text\",\"text\":\"What is in these?\"},"
        "{\"type\":\"image_url\",\"image_url\":{\"url\":\"data:image/png;base64,iVBORw0KGgo=\","
        "\"detail\":\"high\"}},"
        "{\"type\":\"image_url\",\"image_url\":{\"url\":\"https://example.com/a/cat.JPG?w=1\"}},"
        "{\"type\":\"input_audio\",\"input_audio\":{\"data\":\"UklGRg==\",\"format\":\"wav\"}},"
        "{\"type\":\"file\",\"file\":{\"filename\":\"a.pdf\",\"file_data\":"
        "\"data:application/pdf;base64,JVBERi0=\"}}]}]}",
        "{\"contents\":[{\"role\":\"user\",\"parts\":["
        "{\"text\":\"What is in these?\"},"
        "{\"inlineData\":{\"mimeType\":\"image/png\",\"data\":\"iVBORw0KGgo=\"}},"
        "{\"fileData\":{\"mimeType\":\"image/jpeg\",\"fileUri\":"
        "\"https://example.com/a/cat.JPG?w=1\"}},"
        "{\"inlineData\":{\"mimeType\":\"audio/wav\",\"data\":\"UklGRg==\"}},"
        "{\"inlineData\":{\"mimeType\":\"application/pdf\",\"data\":\"JVBERi0=\"}}]}]}");
    expect_refused(
        "{\"model\":\"gem\",\"messages\":[{\"role\":\"user\",\"content\":["
        "{\"type\":\"image_url\",\"image_url\":{\"url\":\"https://example.com/img\"}}]}]}",
        "messages[0].content[0].image_url.url");
    expect_refused("{\"model\":\"gem\",\"messages\":[{\"role\":\"user\",\"content\":["
                   "{\"type\":\"text\",\"text\":\"x\"},"
                   "{\"type\":\"image_url\",\"image_url\":{\"url\":\"http://example.com/a.png\"}}"
                   "]}]}",
                   "messages[0].content[1].image_url.url");
    expect_refused("{\"model\":\"gem\",\"messages\":[{\"role\":\"user\",\"content\":["
                   "{\"type\":\"image_url\",\"image_url\":{\"url\":\"data:image/png,abc\"}}]}]}",
                   "messages[0].content[0].image_url.url");
}

static void test_stop(void **state)
{
    expect_body("{\"model\":\"gem\"," USER_HI ",\"stop\":\"END\"}",
                "{" CONTENTS_HI ",\"generationConfig\":{\"stopSequences\":[\"END\"]}}");
    expect_body("{\"model\":\"gem\"," USER_HI ",\"stop\":[\"a\",\"b\",\"c\",\"d\",\"e\"]}",
                "{" CONTENTS_HI ",\"generationConfig\":{\"stopSequences\":[\"a\",\"b\",\"c\","
                "\"d\",\"e\"]}}");
    expect_body("{\"model\":\"gem\"," USER_HI ",\"stop\":[]}", "{" CONTENTS_HI "}");
    expect_refused("{\"model\":\"gem\"," USER_HI ",\"stop\":[\"a\",\"b\",\"c\",\"d\",\"e\",\"f\"]}",
                   "stop");
    expect_refused("{\"model\":\"gem\"," USER_HI ",\"stop\":[\"a\",1]}", "stop[1]");
}

static void test_json_mode(void **state)
{
    expect_body("{\"model\":\"gem\"," USER_HI ",\"response_format\":{\"type\":\"json_object\"}}",
                "{" CONTENTS_HI ",\"generationConfig\":{\"responseMimeType\":"
                "\"application/json\"}}");
    expect_body("{\"model\":\"gem\"," USER_HI ",\"response_format\":{\"type\":\"json_schema\","
                "\"json_schema\":{\"name\":\"r\",\"strict\":true,\"schema\":{\"type\":\"object\","
                "\"properties\":{\"a\":{\"type\":\"integer\"}},\"additionalProperties\":false}}}}",
                "{" CONTENTS_HI ",\"generationConfig\":{\"responseMimeType\":\"application/json\","
                "\"responseJsonSchema\":{\"type\":\"object\",\"properties\":{\"a\":{\"type\":"
                "\"integer\"}},\"additionalProperties\":false}}}");
    expect_body("{\"model\":\"gem\"," USER_HI ",\"response_format\":{\"type\":\"text\"}}",
                "{" CONTENTS_HI "}");
    expect_refused("{\"model\":\"gem\"," USER_HI ",\"response_format\":{\"type\":\"xml\"}}",
                   "response_format.type");
}

static void test_refused_parameters(void **state)
{
    static const struct {
        const char *member, *param;
    } cases[] = {
        {"\"logprobs\":true", "logprobs"},
        {"\"top_logprobs\":3", "top_logprobs"},
        {"\"logit_bias\":{\"50256\":-100}", "logit_bias"},
        {"\"functions\":[{\"name\":\"f\"}]", "functions"},
        {"\"audio\":{\"voice\":\"alloy\"}", "audio"},
        {"\"modalities\":[\"text\",\"audio\"]", "modalities"},
        {"\"frobnicate\":1", "frobnicate"},
        {"\"n\":9", "n"},
        {"\"temperature\":3", "temperature"},
        {"\"temperature\":\"hot\"", "temperature"},
        {"\"max_tokens\":0", "max_tokens"},
        {"\"seed\":12345678901", "seed"},
        {"\"reasoning_effort\":\"extreme\"", "reasoning_effort"},
        {"\"tool_choice\":\"sometimes\"", "tool_choice"},
        {"\"tools\":[{\"type\":\"custom\",\"custom\":{\"name\":\"x\"}}]", "tools[0].type"},
    };
    for (size_t i = 0; i < SY_ARRAY_LEN(cases); i++) {
        char req[512];
        snprintf(req, sizeof req, "{\"model\":\"gem\"," USER_HI ",%s}", cases[i].member);
        expect_refused(req, cases[i].param);
    }
    /* a null member is absent */
    expect_body("{\"model\":\"gem\"," USER_HI ",\"logit_bias\":null,\"functions\":null,"
                "\"temperature\":null}",
                "{" CONTENTS_HI "}");
    expect_refused("{\"model\":\"gem\",\"messages\":[{\"role\":\"system\",\"content\":\"x\"}]}",
                   "messages");
    expect_refused("{\"model\":\"gem\",\"messages\":[{\"role\":\"function\",\"content\":\"x\"}]}",
                   "messages[0].role");
}

/* ---- responses */

/* Translate a non-stream body after a build with `request`. */
static int respond(const char *request, const char *body, sy_relay_state *rs, sy_buf *out)
{
    built b;
    build(request, 0, &b);
    assert_int_equal(b.rc, SY_OK);
    sy_upstream_call_free(&b.call);
    *rs = b.rs;
    return ad()->response(body, strlen(body), rs, out);
}

static void test_response_text(void **state)
{
    sy_relay_state rs;
    sy_buf out = {0};
    assert_int_equal(
        respond(
            "{\"model\":\"gem\"," USER_HI "}",
            "{\"candidates\":[{\"content\":{\"parts\":[{\"text\":\"Let me think\","
            "\"thought\":true},{\"text\":\"Hello \"},{\"text\":\"there.\"}],\"role\":\"model\"},"
            "\"finishReason\":\"STOP\",\"index\":0,\"safetyRatings\":[]}],"
            "\"usageMetadata\":{\"promptTokenCount\":120,\"candidatesTokenCount\":5,"
            "\"totalTokenCount\":155,\"cachedContentTokenCount\":100,"
            "\"thoughtsTokenCount\":30,\"promptTokensDetails\":[{\"modality\":\"TEXT\","
            "\"tokenCount\":120}]},\"modelVersion\":\"gemini-2.5-flash\",\"responseId\":\"r1\"}",
            &rs, &out),
        SY_OK);
    expect_normalised(out.data, out.len,
                      "{\"id\":\"chatcmpl-X\",\"object\":\"chat.completion\",\"created\":0,"
                      "\"model\":\"gem\",\"choices\":[{\"index\":0,\"message\":{\"role\":"
                      "\"assistant\",\"content\":\"Hello there.\"},\"logprobs\":null,"
                      "\"finish_reason\":\"stop\"}],\"usage\":{\"prompt_tokens\":120,"
                      "\"completion_tokens\":35,\"total_tokens\":155,\"prompt_tokens_details\":{"
                      "\"cached_tokens\":100},\"completion_tokens_details\":{"
                      "\"reasoning_tokens\":30}}}");
    assert_true(rs.usage.have);
    assert_int_equal(rs.usage.prompt_tokens, 120);
    assert_int_equal(rs.usage.cached_tokens, 100);
    assert_int_equal(rs.usage.completion_tokens, 35);
    assert_int_equal(rs.usage.reasoning_tokens, 30);
    assert_string_equal(rs.finish_reason, "stop");
    ad()->release(&rs);
    sy_buf_free(&out);
}

/* Counts an integer cannot hold read as 0 (found by fuzz_gemini: converting 6.7e72 to
 * int64_t is undefined behaviour). */
static void test_response_absurd_counts(void **state)
{
    sy_relay_state rs;
    sy_buf out = {0};
    assert_int_equal(respond("{\"model\":\"gem\"," USER_HI "}",
                             "{\"candidates\":[{\"content\":{\"parts\":[{\"text\":\"x\"}]},"
                             "\"finishReason\":\"STOP\"}],\"usageMetadata\":{"
                             "\"promptTokenCount\":6.66667e72,\"candidatesTokenCount\":1e300,"
                             "\"cachedContentTokenCount\":-5,\"thoughtsTokenCount\":2}}",
                             &rs, &out),
                     SY_OK);
    assert_int_equal(rs.usage.prompt_tokens, 0);
    assert_int_equal(rs.usage.cached_tokens, 0);
    assert_int_equal(rs.usage.completion_tokens, 2);
    ad()->release(&rs);
    sy_buf_free(&out);
}

static void test_response_function_call(void **state)
{
    sy_relay_state rs;
    sy_buf out = {0};
    assert_int_equal(
        respond("{\"model\":\"gem\"," USER_HI ",\"tools\":[" WEATHER_TOOL "]}",
                "{\"candidates\":[{\"content\":{\"parts\":[{\"text\":\"Checking.\"},"
                "{\"functionCall\":{\"name\":\"get_weather\",\"args\":{\"city\":\"Paris\"}},"
                "\"thoughtSignature\":\"c2ln\"},{\"functionCall\":{\"name\":\"get_weather\","
                "\"args\":{\"city\":\"Rome\"}}}],\"role\":\"model\"},\"finishReason\":\"STOP\","
                "\"index\":0}],\"usageMetadata\":{\"promptTokenCount\":50,"
                "\"candidatesTokenCount\":20,\"toolUsePromptTokenCount\":7,"
                "\"totalTokenCount\":77}}",
                &rs, &out),
        SY_OK);
    expect_normalised(
        out.data, out.len,
        "{\"id\":\"chatcmpl-X\",\"object\":\"chat.completion\",\"created\":0,\"model\":\"gem\","
        "\"choices\":[{\"index\":0,\"message\":{\"role\":\"assistant\",\"content\":\"Checking.\","
        "\"tool_calls\":[{\"id\":\"call_X\",\"type\":\"function\",\"function\":{\"name\":"
        "\"get_weather\",\"arguments\":\"{\\\"city\\\":\\\"Paris\\\"}\"}},{\"id\":\"call_X\","
        "\"type\":\"function\",\"function\":{\"name\":\"get_weather\",\"arguments\":"
        "\"{\\\"city\\\":\\\"Rome\\\"}\"}}]},\"logprobs\":null,\"finish_reason\":\"tool_calls\"}],"
        "\"usage\":{\"prompt_tokens\":57,\"completion_tokens\":20,\"total_tokens\":77,"
        "\"prompt_tokens_details\":{\"cached_tokens\":0},\"completion_tokens_details\":{"
        "\"reasoning_tokens\":0}}}");
    /* the two calls got different ids */
    cJSON *o = cJSON_ParseWithLength(out.data, out.len);
    const cJSON *calls = cJSON_GetObjectItem(
        cJSON_GetObjectItem(cJSON_GetArrayItem(cJSON_GetObjectItem(o, "choices"), 0), "message"),
        "tool_calls");
    assert_string_not_equal(cJSON_GetObjectItem(cJSON_GetArrayItem(calls, 0), "id")->valuestring,
                            cJSON_GetObjectItem(cJSON_GetArrayItem(calls, 1), "id")->valuestring);
    cJSON_Delete(o);
    assert_string_equal(rs.finish_reason, "tool_calls");
    ad()->release(&rs);
    sy_buf_free(&out);
}

static void test_response_finish_reasons(void **state)
{
    static const struct {
        const char *gemini, *openai;
    } cases[] = {
        {"STOP", "stop"},
        {"MAX_TOKENS", "length"},
        {"SAFETY", "content_filter"},
        {"RECITATION", "content_filter"},
        {"BLOCKLIST", "content_filter"},
        {"PROHIBITED_CONTENT", "content_filter"},
        {"SPII", "content_filter"},
        {"OTHER", "stop"},
        {"MALFORMED_FUNCTION_CALL", "stop"},
    };
    for (size_t i = 0; i < SY_ARRAY_LEN(cases); i++) {
        char body[512];
        snprintf(body, sizeof body,
                 "{\"candidates\":[{\"content\":{\"parts\":[{\"text\":\"x\"}],\"role\":\"model\"},"
                 "\"finishReason\":\"%s\",\"index\":0}]}",
                 cases[i].gemini);
        sy_relay_state rs;
        sy_buf out = {0};
        assert_int_equal(respond("{\"model\":\"gem\"," USER_HI "}", body, &rs, &out), SY_OK);
        assert_string_equal(rs.finish_reason, cases[i].openai);
        assert_false(rs.usage.have); /* no usageMetadata */
        ad()->release(&rs);
        sy_buf_free(&out);
    }

    /* a blocked prompt has no candidates */
    sy_relay_state rs;
    sy_buf out = {0};
    assert_int_equal(respond("{\"model\":\"gem\"," USER_HI "}",
                             "{\"promptFeedback\":{\"blockReason\":\"SAFETY\"},"
                             "\"usageMetadata\":{\"promptTokenCount\":9,\"totalTokenCount\":9}}",
                             &rs, &out),
                     SY_OK);
    expect_normalised(out.data, out.len,
                      "{\"id\":\"chatcmpl-X\",\"object\":\"chat.completion\",\"created\":0,"
                      "\"model\":\"gem\",\"choices\":[{\"index\":0,\"message\":{\"role\":"
                      "\"assistant\",\"content\":null},\"logprobs\":null,\"finish_reason\":"
                      "\"content_filter\"}],\"usage\":{\"prompt_tokens\":9,\"completion_tokens\":0,"
                      "\"total_tokens\":9,\"prompt_tokens_details\":{\"cached_tokens\":0},"
                      "\"completion_tokens_details\":{\"reasoning_tokens\":0}}}");
    assert_string_equal(rs.finish_reason, "content_filter");
    ad()->release(&rs);
    sy_buf_free(&out);

    /* not a response */
    static const char *const bad[] = {"", "[]", "{\"candidates\":[]}", "{\"candidates\":[{"};
    for (size_t i = 0; i < SY_ARRAY_LEN(bad); i++) {
        sy_buf_reset(&out);
        assert_int_equal(respond("{\"model\":\"gem\"," USER_HI "}", bad[i], &rs, &out),
                         SY_ERR_INVALID);
        ad()->release(&rs);
    }
    sy_buf_free(&out);
}

/* ---- streams */

/* A realistic streamGenerateContent answer: a thought, text in pieces, usage on every
 * chunk and the totals with finishReason on the last; "\r\n" line ends as Google sends. */
static const char text_stream[] =
    "data: {\"candidates\":[{\"content\":{\"parts\":[{\"text\":\"Considering\",\"thought\":true}],"
    "\"role\":\"model\"},\"index\":0}],\"usageMetadata\":{\"promptTokenCount\":12,"
    "\"totalTokenCount\":12},\"modelVersion\":\"gemini-2.5-flash\",\"responseId\":\"abc\"}\r\n\r\n"
    "data: {\"candidates\":[{\"content\":{\"parts\":[{\"text\":\"The sky\"}],\"role\":\"model\"},"
    "\"index\":0}],\"usageMetadata\":{\"promptTokenCount\":12,\"totalTokenCount\":12},"
    "\"modelVersion\":\"gemini-2.5-flash\",\"responseId\":\"abc\"}\r\n\r\n"
    "data: {\"candidates\":[{\"content\":{\"parts\":[{\"text\":\" is blue \\u00e9\"}],"
    "\"role\":\"model\"},\"index\":0}],\"usageMetadata\":{\"promptTokenCount\":12,"
    "\"totalTokenCount\":12},\"modelVersion\":\"gemini-2.5-flash\",\"responseId\":\"abc\"}\r\n\r\n"
    "data: {\"candidates\":[{\"content\":{\"parts\":[{\"text\":\".\"}],\"role\":\"model\"},"
    "\"finishReason\":\"STOP\",\"index\":0}],\"usageMetadata\":{\"promptTokenCount\":12,"
    "\"candidatesTokenCount\":6,\"totalTokenCount\":26,\"cachedContentTokenCount\":4,"
    "\"thoughtsTokenCount\":8},\"modelVersion\":\"gemini-2.5-flash\",\"responseId\":\"abc\"}"
    "\r\n\r\n";

#define CHUNK_HEAD                                                                                 \
    "{\"id\":\"chatcmpl-X\",\"object\":\"chat.completion.chunk\",\"created\":0,\"model\":\"gem\","

static const char *const text_expected[] = {
    CHUNK_HEAD "\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\"},\"logprobs\":null,"
               "\"finish_reason\":null}]}",
    CHUNK_HEAD "\"choices\":[{\"index\":0,\"delta\":{\"content\":\"The sky\"},\"logprobs\":null,"
               "\"finish_reason\":null}]}",
    CHUNK_HEAD "\"choices\":[{\"index\":0,\"delta\":{\"content\":\" is blue \\u00e9\"},"
               "\"logprobs\":null,\"finish_reason\":null}]}",
    CHUNK_HEAD "\"choices\":[{\"index\":0,\"delta\":{\"content\":\".\"},\"logprobs\":null,"
               "\"finish_reason\":null}]}",
    CHUNK_HEAD "\"choices\":[{\"index\":0,\"delta\":{},\"logprobs\":null,\"finish_reason\":"
               "\"stop\"}]}",
    CHUNK_HEAD "\"choices\":[],\"usage\":{\"prompt_tokens\":12,\"completion_tokens\":14,"
               "\"total_tokens\":26,\"prompt_tokens_details\":{\"cached_tokens\":4},"
               "\"completion_tokens_details\":{\"reasoning_tokens\":8}}}",
    "[DONE]",
};

/* Feed `stream` through the SSE framer in two pieces split at `split` into a fresh
 * translation built from `request`; the client's events into out. */
static void run_stream(const char *request, const char *stream, size_t split, sy_relay_state *rs,
                       sy_buf *out)
{
    built b;
    build(request, 1, &b);
    assert_int_equal(b.rc, SY_OK);
    sy_upstream_call_free(&b.call);
    *rs = b.rs;
    sy_sse_parser p;
    sy_sse_init(&p, 1 << 20);
    feed_ctx f = {rs, out};
    size_t len = strlen(stream);
    assert_int_equal(sy_sse_feed(&p, stream, split, on_event, &f), 0);
    assert_int_equal(sy_sse_feed(&p, stream + split, len - split, on_event, &f), 0);
    assert_int_equal(sy_sse_finish(&p, on_event, &f), 0);
    assert_false(sy_sse_has_partial(&p));
    sy_sse_free(&p);
}

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
            assert_json_eq(p, (size_t)(nl - p), expected[i]);
        p = nl + 1;
    }
    if (*p)
        fail_msg("extra events:\n%s", p);
    sy_buf_free(&joined);
}

static void test_stream_text(void **state)
{
    static const char req[] = "{\"model\":\"gem\",\"stream\":true,\"stream_options\":{"
                              "\"include_usage\":true}," USER_HI "}";
    sy_relay_state rs;
    sy_buf out = {0}, reference = {0};
    run_stream(req, text_stream, 0, &rs, &out);
    expect_events(&out, text_expected, SY_ARRAY_LEN(text_expected));
    assert_true(rs.saw_done);
    assert_false(rs.saw_error_event);
    assert_string_equal(rs.finish_reason, "stop");
    assert_int_equal(rs.content_chunks, 3);
    assert_int_equal(rs.content_bytes, 7 + 11 + 1); /* "é" is two bytes */
    assert_int_equal(rs.usage.prompt_tokens, 12);
    assert_int_equal(rs.usage.completion_tokens, 14);
    assert_int_equal(rs.usage.cached_tokens, 4);
    normalised_events(&out, &reference);
    ad()->release(&rs);

    /* every split point gives the same events */
    size_t len = strlen(text_stream);
    for (size_t split = 1; split < len; split++) {
        sy_buf o = {0}, n = {0};
        run_stream(req, text_stream, split, &rs, &o);
        normalised_events(&o, &n);
        if (n.len != reference.len || memcmp(n.data, reference.data, n.len) != 0)
            fail_msg("split at %zu differs:\n%s\nvs\n%s", split, n.data, reference.data);
        ad()->release(&rs);
        sy_buf_free(&o);
        sy_buf_free(&n);
    }
    sy_buf_free(&reference);

    /* without stream_options.include_usage: no usage chunk, usage still recorded */
    sy_buf_reset(&out);
    run_stream("{\"model\":\"gem\",\"stream\":true," USER_HI "}", text_stream, 0, &rs, &out);
    expect_events(&out,
                  (const char *const[]){text_expected[0], text_expected[1], text_expected[2],
                                        text_expected[3], text_expected[4], "[DONE]"},
                  6);
    assert_true(rs.usage.have);
    assert_int_equal(rs.usage.completion_tokens, 14);
    ad()->release(&rs);
    sy_buf_free(&out);
}

static void test_stream_tool_call(void **state)
{
    static const char stream[] =
        "data: "
        "{\"candidates\":[{\"content\":{\"parts\":[{\"functionCall\":{\"name\":\"get_weather\","
        "\"args\":{\"city\":\"Paris\"}},\"thoughtSignature\":\"c2ln\"}],\"role\":\"model\"},"
        "\"index\":0}],\"usageMetadata\":{\"promptTokenCount\":30,\"totalTokenCount\":30}}\r\n\r\n"
        "data: "
        "{\"candidates\":[{\"content\":{\"parts\":[{\"functionCall\":{\"name\":\"get_weather\","
        "\"args\":{\"city\":\"Rome\"}}}],\"role\":\"model\"},\"finishReason\":\"STOP\",\"index\":0}"
        "],"
        "\"usageMetadata\":{\"promptTokenCount\":30,\"candidatesTokenCount\":10,"
        "\"totalTokenCount\":40}}\r\n\r\n";
    static const char *const expected[] = {
        CHUNK_HEAD "\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\",\"tool_calls\":[{"
                   "\"index\":0,\"id\":\"call_X\",\"type\":\"function\",\"function\":{\"name\":"
                   "\"get_weather\",\"arguments\":\"{\\\"city\\\":\\\"Paris\\\"}\"}}]},"
                   "\"logprobs\":null,\"finish_reason\":null}]}",
        CHUNK_HEAD "\"choices\":[{\"index\":0,\"delta\":{\"tool_calls\":[{\"index\":1,\"id\":"
                   "\"call_X\",\"type\":\"function\",\"function\":{\"name\":\"get_weather\","
                   "\"arguments\":\"{\\\"city\\\":\\\"Rome\\\"}\"}}]},\"logprobs\":null,"
                   "\"finish_reason\":null}]}",
        CHUNK_HEAD "\"choices\":[{\"index\":0,\"delta\":{},\"logprobs\":null,\"finish_reason\":"
                   "\"tool_calls\"}]}",
        "[DONE]",
    };
    sy_relay_state rs;
    sy_buf out = {0};
    run_stream("{\"model\":\"gem\",\"stream\":true," USER_HI ",\"tools\":[" WEATHER_TOOL "]}",
               stream, 0, &rs, &out);
    expect_events(&out, expected, SY_ARRAY_LEN(expected));
    assert_string_equal(rs.finish_reason, "tool_calls");
    assert_int_equal(rs.content_chunks, 2);
    assert_int_equal(rs.content_bytes, 16 + 15);
    assert_int_equal(rs.usage.completion_tokens, 10);
    ad()->release(&rs);
    sy_buf_free(&out);
}

static void test_stream_errors(void **state)
{
    /* an error object mid-stream: an OpenAI-shaped error event, nothing after it */
    static const char stream[] =
        "data: {\"candidates\":[{\"content\":{\"parts\":[{\"text\":\"Hi\"}],\"role\":\"model\"},"
        "\"index\":0}]}\r\n\r\n"
        "data: {\"error\":{\"code\":503,\"message\":\"The model is overloaded.\",\"status\":"
        "\"UNAVAILABLE\"}}\r\n\r\n"
        "data: {\"candidates\":[{\"content\":{\"parts\":[{\"text\":\"more\"}],\"role\":\"model\"},"
        "\"finishReason\":\"STOP\",\"index\":0}]}\r\n\r\n";
    sy_relay_state rs;
    sy_buf out = {0};
    run_stream("{\"model\":\"gem\",\"stream\":true," USER_HI "}", stream, 0, &rs, &out);
    const char *err = strstr(out.data, "data: {\"error\"");
    assert_non_null(err);
    assert_json_eq(err + 6, strlen(err + 6) - 2,
                   "{\"error\":{\"message\":\"provider reported error 503 mid-stream: The model is "
                   "overloaded.\",\"type\":\"upstream_error\",\"param\":null,\"code\":"
                   "\"upstream_overloaded\"}}");
    assert_true(rs.saw_error_event);
    assert_false(rs.saw_done);
    assert_string_equal(rs.finish_reason, "");
    ad()->release(&rs);

    /* an undecodable first event */
    sy_buf_reset(&out);
    run_stream("{\"model\":\"gem\",\"stream\":true," USER_HI "}",
               "data: {\"candidates\":[{\"content\r\n\r\n", 0, &rs, &out);
    assert_true(rs.saw_error_event);
    /* one in-band error, never the broken bytes (issue 15) */
    assert_non_null(strstr(out.data, "\"code\":\"upstream_malformed_event\""));
    assert_string_equal(rs.error_sent, "upstream_malformed_event");
    ad()->release(&rs);

    /* a blocked prompt */
    sy_buf_reset(&out);
    run_stream("{\"model\":\"gem\",\"stream\":true," USER_HI "}",
               "data: {\"promptFeedback\":{\"blockReason\":\"PROHIBITED_CONTENT\"},"
               "\"usageMetadata\":{\"promptTokenCount\":5,\"totalTokenCount\":5}}\r\n\r\n",
               0, &rs, &out);
    expect_events(&out,
                  (const char *const[]){
                      CHUNK_HEAD "\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\","
                                 "\"content\":null},\"logprobs\":null,\"finish_reason\":"
                                 "\"content_filter\"}]}",
                      "[DONE]"},
                  2);
    assert_string_equal(rs.finish_reason, "content_filter");
    assert_true(rs.saw_done);
    ad()->release(&rs);
    sy_buf_free(&out);
}

/* ---- errors */

static void map(long status, const char *body, const char *retry_after, sy_mapped_error *e)
{
    memset(e, 0, sizeof *e);
    ad()->error(status, body, strlen(body), retry_after, e);
}

static void test_errors(void **state)
{
    sy_mapped_error e;
    map(429,
        "{\"error\":{\"code\":429,\"message\":\"You exceeded your current quota, please check "
        "your plan and billing details.\",\"status\":\"RESOURCE_EXHAUSTED\",\"details\":[{"
        "\"@type\":\"type.googleapis.com/google.rpc.QuotaFailure\",\"violations\":[]},{\"@type\":"
        "\"type.googleapis.com/google.rpc.RetryInfo\",\"retryDelay\":\"7s\"}]}}",
        NULL, &e);
    assert_int_equal(e.status, 429);
    assert_string_equal(e.code, "upstream_rate_limited");
    assert_string_equal(e.type, "rate_limit_error");
    assert_true(e.retryable);
    assert_non_null(strstr(e.message.data, "retry in 7s"));
    sy_mapped_error_free(&e);

    /* the generic quota text alone is still a retryable rate limit ... */
    map(429,
        "{\"error\":{\"code\":429,\"message\":\"You exceeded your current quota, please check "
        "your plan and billing details.\",\"status\":\"RESOURCE_EXHAUSTED\"}}",
        NULL, &e);
    assert_true(e.retryable);
    sy_mapped_error_free(&e);
    /* ... a message about billing is not */
    map(429,
        "{\"error\":{\"code\":429,\"message\":\"Your prepayment credits are depleted. Please go "
        "to AI Studio to manage your project and billing.\",\"status\":\"RESOURCE_EXHAUSTED\"}}",
        NULL, &e);
    assert_int_equal(e.status, 429);
    assert_string_equal(e.code, "upstream_quota_exhausted");
    assert_false(e.retryable);
    sy_mapped_error_free(&e);

    map(503,
        "{\"error\":{\"code\":503,\"message\":\"The model is overloaded. Please try again "
        "later.\",\"status\":\"UNAVAILABLE\"}}",
        NULL, &e);
    assert_int_equal(e.status, 503);
    assert_string_equal(e.code, "upstream_overloaded");
    assert_true(e.retryable);
    assert_string_equal(e.message.data,
                        "provider returned HTTP 503: The model is overloaded. Please try again "
                        "later.");
    sy_mapped_error_free(&e);

    map(400,
        "{\"error\":{\"code\":400,\"message\":\"* GenerateContentRequest.contents: contents is "
        "not specified\",\"status\":\"INVALID_ARGUMENT\"}}",
        NULL, &e);
    assert_int_equal(e.status, 400);
    assert_string_equal(e.type, "invalid_request_error");
    assert_string_equal(e.code, "upstream_rejected_request");
    assert_false(e.retryable);
    assert_non_null(strstr(e.message.data, "contents is not specified"));
    sy_mapped_error_free(&e);

    /* a bad key: Gemini says 400 with API_KEY_INVALID; never relay its message */
    map(400,
        "{\"error\":{\"code\":400,\"message\":\"API key not valid. Please pass a valid API key "
        "AIza-secret.\",\"status\":\"INVALID_ARGUMENT\",\"details\":[{\"@type\":"
        "\"type.googleapis.com/google.rpc.ErrorInfo\",\"reason\":\"API_KEY_INVALID\"}]}}",
        NULL, &e);
    assert_int_equal(e.status, 502);
    assert_string_equal(e.code, "upstream_auth_failed");
    assert_null(strstr(e.message.data, "AIza"));
    sy_mapped_error_free(&e);
    map(403,
        "{\"error\":{\"code\":403,\"message\":\"Method doesn't allow unregistered callers "
        "AIza-secret\",\"status\":\"PERMISSION_DENIED\"}}",
        NULL, &e);
    assert_int_equal(e.status, 502);
    assert_string_equal(e.code, "upstream_auth_failed");
    assert_false(e.retryable);
    assert_null(strstr(e.message.data, "AIza"));
    sy_mapped_error_free(&e);

    static const struct {
        long status;
        int mapped;
        const char *code;
        int retryable;
    } cases[] = {
        {404, 502, "upstream_model_not_found", 0}, {500, 502, "upstream_error", 1},
        {504, 504, "upstream_timeout", 1},         {529, 503, "upstream_overloaded", 1},
        {502, 502, "upstream_error", 1},           {413, 413, "upstream_rejected_request", 0},
    };
    for (size_t i = 0; i < SY_ARRAY_LEN(cases); i++) {
        map(cases[i].status, "not json", NULL, &e);
        assert_int_equal(e.status, cases[i].mapped);
        assert_string_equal(e.code, cases[i].code);
        assert_int_equal(e.retryable, cases[i].retryable);
        sy_mapped_error_free(&e);
    }
}

/* ---- fake-provider's Gemini dialect */

static const fp_dialect *const fd = &fp_dialect_gemini;

static void test_fake_routes(void **state)
{
    assert_int_equal(fd->route("/v1beta/models/gemini-2.5-flash:generateContent"), FP_ROUTE_CHAT);
    assert_int_equal(fd->route("/v1beta/models/x:streamGenerateContent"), FP_ROUTE_CHAT);
    assert_int_equal(fd->route("/v1/models/x:generateContent"), FP_ROUTE_CHAT);
    assert_int_equal(fd->route("/v1beta/models"), FP_ROUTE_MODELS);
    assert_int_equal(fd->route("/v1beta/models/x:countTokens"), FP_ROUTE_NONE);
    assert_int_equal(fd->route("/v1beta/models/:generateContent"), FP_ROUTE_NONE);
    assert_int_equal(fd->route("/v1/chat/completions"), FP_ROUTE_NONE);
    assert_int_equal(fd->route("/v1/models"), FP_ROUTE_NONE);

    fp_chat c = {0};
    sy_buf err = {0};
    assert_int_equal(
        fd->parse_path("/v1beta/models/tuned%2Fmy%20model:streamGenerateContent", &c, &err), SY_OK);
    assert_string_equal(c.model, "tuned/my model");
    assert_true(c.stream);
    fp_chat_free(&c);
    assert_int_equal(fd->parse_path("/v1beta/models/m:generateContent", &c, &err), SY_OK);
    assert_string_equal(c.model, "m");
    assert_false(c.stream);
    fp_chat_free(&c);
    sy_buf_free(&err);
}

/* What the adapter sends, the fake reads. */
static void test_fake_parses_adapter_requests(void **state)
{
    built b;
    build("{\"model\":\"gem\",\"max_tokens\":7,\"tools\":[" WEATHER_TOOL "],\"messages\":["
          "{\"role\":\"system\",\"content\":\"sys\"},"
          "{\"role\":\"user\",\"content\":\"weather?\"}]}",
          1, &b);
    assert_int_equal(b.rc, SY_OK);
    cJSON *body = cJSON_ParseWithLength(b.call.body.data, b.call.body.len);
    fp_chat c = {0};
    sy_buf err = {0};
    assert_int_equal(fd->parse_chat(body, &c, &err), SY_OK);
    assert_string_equal(c.echo.data, "weather?");
    assert_int_equal(c.prompt_bytes, 3 + 8);
    assert_int_equal(c.max_tokens, 7);
    assert_string_equal(c.tool_name, "get_weather");
    assert_false(c.last_is_tool_result);
    fp_chat_free(&c);
    cJSON_Delete(body);
    built_free(&b);

    build("{\"model\":\"gem\",\"tools\":[" WEATHER_TOOL "],\"tool_choice\":\"none\",\"messages\":["
          "{\"role\":\"user\",\"content\":\"weather?\"},"
          "{\"role\":\"assistant\",\"tool_calls\":[{\"id\":\"c1\",\"type\":\"function\","
          "\"function\":{\"name\":\"get_weather\",\"arguments\":\"{}\"}}]},"
          "{\"role\":\"tool\",\"tool_call_id\":\"c1\",\"content\":\"rain\"}]}",
          0, &b);
    assert_int_equal(b.rc, SY_OK);
    body = cJSON_ParseWithLength(b.call.body.data, b.call.body.len);
    memset(&c, 0, sizeof c);
    assert_int_equal(fd->parse_chat(body, &c, &err), SY_OK);
    assert_true(c.last_is_tool_result);
    assert_null(c.tool_name); /* mode NONE */
    assert_string_equal(c.echo.data, "weather?");
    assert_int_equal(c.max_tokens, -1);
    fp_chat_free(&c);
    cJSON_Delete(body);
    built_free(&b);

    static const char *const bad[] = {
        "{}",
        "{\"contents\":[]}",
        "{\"contents\":[{\"role\":\"user\",\"parts\":[]}]}",
        "{\"contents\":[{\"parts\":[{\"text\":\"x\"}]}],\"generationConfig\":{"
        "\"maxOutputTokens\":0}}",
        "{\"contents\":[{\"parts\":[{\"text\":\"x\"}]}],\"tools\":[{\"functionDeclarations\":["
        "{\"description\":\"x\"}]}]}",
    };
    for (size_t i = 0; i < SY_ARRAY_LEN(bad); i++) {
        body = cJSON_Parse(bad[i]);
        memset(&c, 0, sizeof c);
        sy_buf_reset(&err);
        if (fd->parse_chat(body, &c, &err) != SY_ERR_INVALID || !err.len)
            fail_msg("accepted: %s", bad[i]);
        fp_chat_free(&c);
        cJSON_Delete(body);
    }
    sy_buf_free(&err);
}

static fp_exchange exchange(void)
{
    fp_exchange x = {.created = 1700000000,
                     .model = "fake-small",
                     .prompt_tokens = 10,
                     .cached_tokens = 4,
                     .completion_tokens = 3};
    strcpy(x.id, "chatcmpl-0123456789abcdef");
    strcpy(x.tool_call_id, "call_0123");
    return x;
}

/* What the fake renders, the adapter reads: a completion, a text stream and a tool-call
 * stream (through the SSE framer). */
static void test_fake_renders_for_adapter(void **state)
{
    fp_exchange x = exchange();
    sy_buf body = {0}, out = {0};
    fd->render_completion(&x, "Hi there", 8, &body);
    sy_relay_state rs;
    assert_int_equal(respond("{\"model\":\"gem\"," USER_HI "}", body.data, &rs, &out), SY_OK);
    expect_normalised(
        out.data, out.len,
        "{\"id\":\"chatcmpl-X\",\"object\":\"chat.completion\",\"created\":0,"
        "\"model\":\"gem\",\"choices\":[{\"index\":0,\"message\":{\"role\":"
        "\"assistant\",\"content\":\"Hi there\"},\"logprobs\":null,"
        "\"finish_reason\":\"stop\"}],\"usage\":{\"prompt_tokens\":10,"
        "\"completion_tokens\":3,\"total_tokens\":13,\"prompt_tokens_details\":{"
        "\"cached_tokens\":4},\"completion_tokens_details\":{\"reasoning_tokens\":0}}}");
    ad()->release(&rs);

    /* truncated text: MAX_TOKENS → length */
    x.truncated = 1;
    sy_buf_reset(&body);
    sy_buf_reset(&out);
    fd->render_completion(&x, "Hi", 2, &body);
    assert_int_equal(respond("{\"model\":\"gem\"," USER_HI "}", body.data, &rs, &out), SY_OK);
    assert_string_equal(rs.finish_reason, "length");
    ad()->release(&rs);
    x.truncated = 0;

    /* a text stream */
    sy_buf_reset(&body);
    sy_buf_reset(&out);
    fd->render_stream_open(&x, &body);
    assert_int_equal(body.len, 0); /* Gemini streams have no opening event */
    fd->render_stream_delta(&x, "Hi", 2, &body);
    fd->render_stream_delta(&x, " there", 6, &body);
    fd->render_stream_close(&x, &body);
    assert_non_null(strstr(body.data, "}\r\n\r\ndata: "));
    run_stream(
        "{\"model\":\"gem\",\"stream\":true,\"stream_options\":{\"include_usage\":true}," USER_HI
        "}",
        body.data, body.len / 2, &rs, &out);
    expect_events(
        &out,
        (const char *const[]){
            CHUNK_HEAD "\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\",\"content\":"
                       "\"Hi\"},\"logprobs\":null,\"finish_reason\":null}]}",
            CHUNK_HEAD "\"choices\":[{\"index\":0,\"delta\":{\"content\":\" there\"},"
                       "\"logprobs\":null,\"finish_reason\":null}]}",
            CHUNK_HEAD "\"choices\":[{\"index\":0,\"delta\":{},\"logprobs\":null,"
                       "\"finish_reason\":\"stop\"}]}",
            CHUNK_HEAD "\"choices\":[],\"usage\":{\"prompt_tokens\":10,\"completion_tokens\":3,"
                       "\"total_tokens\":13,\"prompt_tokens_details\":{\"cached_tokens\":4},"
                       "\"completion_tokens_details\":{\"reasoning_tokens\":0}}}",
            "[DONE]"},
        5);
    ad()->release(&rs);

    /* a tool-call answer, whole and streamed */
    x.tool_name = "get_weather";
    x.tool_args_json = "{\"city\":\"Paris\"}";
    sy_buf_reset(&body);
    sy_buf_reset(&out);
    fd->render_completion(&x, "", 0, &body);
    assert_int_equal(respond("{\"model\":\"gem\"," USER_HI "}", body.data, &rs, &out), SY_OK);
    assert_string_equal(rs.finish_reason, "tool_calls");
    assert_non_null(strstr(out.data, "\"arguments\":\"{\\\"city\\\":\\\"Paris\\\"}\""));
    ad()->release(&rs);
    sy_buf_reset(&body);
    sy_buf_reset(&out);
    fd->render_stream_open(&x, &body);
    fd->render_stream_tool_call(&x, &body);
    fd->render_stream_close(&x, &body);
    run_stream("{\"model\":\"gem\",\"stream\":true," USER_HI "}", body.data, 1, &rs, &out);
    assert_true(rs.saw_done);
    assert_string_equal(rs.finish_reason, "tool_calls");
    assert_int_equal(rs.content_chunks, 1);
    ad()->release(&rs);

    /* the in-stream error and a malformed event */
    sy_buf_reset(&body);
    sy_buf_reset(&out);
    fd->render_stream_error(&x, &body);
    run_stream("{\"model\":\"gem\",\"stream\":true," USER_HI "}", body.data, 0, &rs, &out);
    assert_true(rs.saw_error_event);
    ad()->release(&rs);
    sy_buf_reset(&body);
    sy_buf_reset(&out);
    fd->render_malformed(&x, 1, &body);
    run_stream("{\"model\":\"gem\",\"stream\":true," USER_HI "}", body.data, 0, &rs, &out);
    assert_true(rs.saw_error_event);
    ad()->release(&rs);
    sy_buf_free(&body);
    sy_buf_free(&out);
}

static void test_fake_errors_for_adapter(void **state)
{
    static const struct {
        fp_error_code code;
        int fake_status, mapped;
        const char *mapped_code;
        int retryable;
    } cases[] = {
        {FP_ERR_RATE_LIMIT, 429, 429, "upstream_rate_limited", 1},
        {FP_ERR_QUOTA, 429, 429, "upstream_quota_exhausted", 0},
        {FP_ERR_SERVER, 500, 502, "upstream_error", 1},
        {FP_ERR_UNAVAILABLE, 503, 503, "upstream_overloaded", 1},
        {FP_ERR_OVERLOADED, 503, 503, "upstream_overloaded", 1},
        {FP_ERR_INJECTED_400, 400, 400, "upstream_rejected_request", 0},
        {FP_ERR_UNAUTHORIZED, 401, 502, "upstream_auth_failed", 0},
        {FP_ERR_MODEL_NOT_FOUND, 404, 502, "upstream_model_not_found", 0},
    };
    for (size_t i = 0; i < SY_ARRAY_LEN(cases); i++) {
        sy_buf b = {0};
        int status = fd->render_error(cases[i].code, NULL, &b);
        assert_int_equal(status, cases[i].fake_status);
        cJSON *j = cJSON_Parse(b.data);
        const cJSON *e = cJSON_GetObjectItem(j, "error");
        assert_int_equal(cJSON_GetObjectItem(e, "code")->valueint, status);
        assert_true(cJSON_IsString(cJSON_GetObjectItem(e, "status")));
        cJSON_Delete(j);
        sy_mapped_error m;
        map(status, b.data, NULL, &m);
        assert_int_equal(m.status, cases[i].mapped);
        assert_string_equal(m.code, cases[i].mapped_code);
        assert_int_equal(m.retryable, cases[i].retryable);
        sy_mapped_error_free(&m);
        sy_buf_free(&b);
    }
    sy_buf b = {0};
    const char *names[] = {"fake-small", "a\"b"};
    fd->render_models(names, 2, 0, &b);
    assert_json_eq(b.data, b.len,
                   "{\"models\":[{\"name\":\"models/fake-small\",\"version\":\"001\","
                   "\"displayName\":\"fake-small\",\"description\":\"A fake-provider model.\","
                   "\"inputTokenLimit\":1048576,\"outputTokenLimit\":65536,"
                   "\"supportedGenerationMethods\":[\"generateContent\",\"countTokens\"]},"
                   "{\"name\":\"models/a\\\"b\",\"version\":\"001\",\"displayName\":\"a\\\"b\","
                   "\"description\":\"A fake-provider model.\",\"inputTokenLimit\":1048576,"
                   "\"outputTokenLimit\":65536,\"supportedGenerationMethods\":["
                   "\"generateContent\",\"countTokens\"]}]}");
    sy_buf_free(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_url_and_headers),
        cmocka_unit_test(test_plain_and_system),
        cmocka_unit_test(test_multi_turn),
        cmocka_unit_test(test_tools),
        cmocka_unit_test(test_tool_results),
        cmocka_unit_test(test_images),
        cmocka_unit_test(test_stop),
        cmocka_unit_test(test_json_mode),
        cmocka_unit_test(test_refused_parameters),
        cmocka_unit_test(test_response_text),
        cmocka_unit_test(test_response_absurd_counts),
        cmocka_unit_test(test_response_function_call),
        cmocka_unit_test(test_response_finish_reasons),
        cmocka_unit_test(test_stream_text),
        cmocka_unit_test(test_stream_tool_call),
        cmocka_unit_test(test_stream_errors),
        cmocka_unit_test(test_errors),
        cmocka_unit_test(test_fake_routes),
        cmocka_unit_test(test_fake_parses_adapter_requests),
        cmocka_unit_test(test_fake_renders_for_adapter),
        cmocka_unit_test(test_fake_errors_for_adapter),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
