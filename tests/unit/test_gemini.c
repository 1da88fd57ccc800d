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

#define DIALECT_ID SY_DIALECT_GEMINI
static sy_provider_cfg prov = {.name = "g",
                               .dialect = DIALECT_ID,
                               .base_url = "https://generativelanguage.googleapis.com/v1beta",
                               .api_key = "AIza-secret-key"};
static sy_model_cfg model = {.name = "gem", .upstream_name = "gemini-2.5-flash"};

#define DIALECT_CLIENT_MODEL "gem"
#include "dialect_cases.h"

/* ---- requests */

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
/* "Hi" with more members, and its upstream body with more members */
#define REQ_HI(more)    "{\"model\":\"gem\"," USER_HI more "}"
#define CONTENTS(more)  "{" CONTENTS_HI more "}"
#define REQ_TOOLS(more) REQ_HI(",\"tools\":[" WEATHER_TOOL "]" more)
#define CHOICE(openai, gemini)                                                                     \
    {                                                                                              \
        REQ_TOOLS(",\"tool_choice\":" openai),                                                     \
            CONTENTS(",\"tools\":[{\"functionDeclarations\":[" WEATHER_DECL "]}],"                 \
                     "\"toolConfig\":{\"functionCallingConfig\":" gemini "}")                      \
    }
#define REFUSED(member, param)                                                                     \
    {                                                                                              \
        REQ_HI("," member), NULL, param                                                            \
    }

static const request_case request_cases[] = {
    /* plain */
    {"{\"model\":\"gem\",\"messages\":[{\"role\":\"user\",\"content\":\"Hello\"}]}",
     "{\"contents\":[{\"role\":\"user\",\"parts\":[{\"text\":\"Hello\"}]}]}"},
    /* system and developer → systemInstruction; sampling parameters → generationConfig;
     * bookkeeping members dropped */
    {"{\"model\":\"gem\",\"messages\":[{\"role\":\"system\",\"content\":\"Be terse.\"},"
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
     "\"frequencyPenalty\":-0.25,\"thinkingConfig\":{\"thinkingBudget\":1024}}}"},
    /* multi-turn: assistant → model; consecutive turns of one role merge; empty assistant
     * turns vanish */
    {"{\"model\":\"gem\",\"messages\":["
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
     "one.\"}]}]}"},
    /* tools and tool_choice */
    {REQ_HI(",\"tools\":[" WEATHER_TOOL ",{\"type\":\"function\",\"function\":{\"name\":"
            "\"noop\"}}]"),
     CONTENTS(",\"tools\":[{\"functionDeclarations\":[" WEATHER_DECL ",{\"name\":\"noop\"}]}]")},
    CHOICE("\"auto\"", "{\"mode\":\"AUTO\"}"),
    CHOICE("\"none\"", "{\"mode\":\"NONE\"}"),
    CHOICE("\"required\"", "{\"mode\":\"ANY\"}"),
    CHOICE("{\"type\":\"function\",\"function\":{\"name\":\"get_weather\"}}",
           "{\"mode\":\"ANY\",\"allowedFunctionNames\":[\"get_weather\"]}"),
    /* two parallel calls and their results: functionCall parts (the first with the
     * signature sentinel), both functionResponses in one user turn, then the next user
     * text merged into it; JSON-object tool text is sent as an object */
    {"{\"model\":\"gem\",\"tools\":[" WEATHER_TOOL "],\"messages\":["
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
     "\"tools\":[{\"functionDeclarations\":[" WEATHER_DECL "]}]}"},
    /* a result for an unknown call, or arguments that are not an object */
    {"{\"model\":\"gem\",\"messages\":[{\"role\":\"user\",\"content\":\"x\"},"
     "{\"role\":\"tool\",\"tool_call_id\":\"call_zz\",\"content\":\"1\"}]}",
     NULL, "messages[1].tool_call_id"},
    {"{\"model\":\"gem\",\"messages\":[{\"role\":\"user\",\"content\":\"x\"},"
     "{\"role\":\"assistant\",\"tool_calls\":[{\"id\":\"c\",\"type\":\"function\","
     "\"function\":{\"name\":\"f\",\"arguments\":\"[1]\"}}]}]}",
     NULL, "messages[1].tool_calls[0].function.arguments"},
    /* images, audio and files */
    {"{\"model\":\"gem\",\"messages\":[{\"role\":\"user\",\"content\":["
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
     "{\"inlineData\":{\"mimeType\":\"application/pdf\",\"data\":\"JVBERi0=\"}}]}]}"},
    {"{\"model\":\"gem\",\"messages\":[{\"role\":\"user\",\"content\":["
     "{\"type\":\"image_url\",\"image_url\":{\"url\":\"https://example.com/img\"}}]}]}",
     NULL, "messages[0].content[0].image_url.url"},
    {"{\"model\":\"gem\",\"messages\":[{\"role\":\"user\",\"content\":["
     "{\"type\":\"text\",\"text\":\"x\"},"
     "{\"type\":\"image_url\",\"image_url\":{\"url\":\"http://example.com/a.png\"}}]}]}",
     NULL, "messages[0].content[1].image_url.url"},
    {"{\"model\":\"gem\",\"messages\":[{\"role\":\"user\",\"content\":["
     "{\"type\":\"image_url\",\"image_url\":{\"url\":\"data:image/png,abc\"}}]}]}",
     NULL, "messages[0].content[0].image_url.url"},
    /* stop sequences */
    {REQ_HI(",\"stop\":\"END\""), CONTENTS(",\"generationConfig\":{\"stopSequences\":[\"END\"]}")},
    {REQ_HI(",\"stop\":[\"a\",\"b\",\"c\",\"d\",\"e\"]"),
     CONTENTS(",\"generationConfig\":{\"stopSequences\":[\"a\",\"b\",\"c\",\"d\",\"e\"]}")},
    {REQ_HI(",\"stop\":[]"), CONTENTS("")},
    REFUSED("\"stop\":[\"a\",\"b\",\"c\",\"d\",\"e\",\"f\"]", "stop"),
    REFUSED("\"stop\":[\"a\",1]", "stop[1]"),
    /* JSON mode */
    {REQ_HI(",\"response_format\":{\"type\":\"json_object\"}"),
     CONTENTS(",\"generationConfig\":{\"responseMimeType\":\"application/json\"}")},
    {REQ_HI(",\"response_format\":{\"type\":\"json_schema\",\"json_schema\":{\"name\":\"r\","
            "\"strict\":true,\"schema\":{\"type\":\"object\",\"properties\":{\"a\":{\"type\":"
            "\"integer\"}},\"additionalProperties\":false}}}"),
     CONTENTS(",\"generationConfig\":{\"responseMimeType\":\"application/json\","
              "\"responseJsonSchema\":{\"type\":\"object\",\"properties\":{\"a\":{\"type\":"
              "\"integer\"}},\"additionalProperties\":false}}")},
    {REQ_HI(",\"response_format\":{\"type\":\"text\"}"), CONTENTS("")},
    REFUSED("\"response_format\":{\"type\":\"xml\"}", "response_format.type"),
    /* parameters Gemini cannot honour */
    REFUSED("\"logprobs\":true", "logprobs"),
    REFUSED("\"top_logprobs\":3", "top_logprobs"),
    REFUSED("\"logit_bias\":{\"50256\":-100}", "logit_bias"),
    REFUSED("\"functions\":[{\"name\":\"f\"}]", "functions"),
    REFUSED("\"audio\":{\"voice\":\"alloy\"}", "audio"),
    REFUSED("\"modalities\":[\"text\",\"audio\"]", "modalities"),
    REFUSED("\"frobnicate\":1", "frobnicate"),
    REFUSED("\"n\":9", "n"),
    REFUSED("\"temperature\":3", "temperature"),
    REFUSED("\"temperature\":\"hot\"", "temperature"),
    REFUSED("\"max_tokens\":0", "max_tokens"),
    REFUSED("\"seed\":12345678901", "seed"),
    REFUSED("\"reasoning_effort\":\"extreme\"", "reasoning_effort"),
    REFUSED("\"tool_choice\":\"sometimes\"", "tool_choice"),
    REFUSED("\"tools\":[{\"type\":\"custom\",\"custom\":{\"name\":\"x\"}}]", "tools[0].type"),
    /* a null member is absent */
    {REQ_HI(",\"logit_bias\":null,\"functions\":null,\"temperature\":null"), CONTENTS("")},
    {"{\"model\":\"gem\",\"messages\":[{\"role\":\"system\",\"content\":\"x\"}]}", NULL,
     "messages"},
    {"{\"model\":\"gem\",\"messages\":[{\"role\":\"function\",\"content\":\"x\"}]}", NULL,
     "messages[0].role"},
};

/* ---- responses */

#define COMPLETION_HEAD                                                                            \
    "{\"id\":\"chatcmpl-X\",\"object\":\"chat.completion\",\"created\":0,\"model\":\"gem\","
/* a one-candidate answer "x" ending for `reason` */
#define FINISH(reason, openai)                                                                     \
    FINISH_CASE(REQ_HI(""),                                                                        \
                "{\"candidates\":[{\"content\":{\"parts\":[{\"text\":\"x\"}],\"role\":\"model\"}," \
                "\"finishReason\":\"" reason "\",\"index\":0}]}",                                  \
                openai)
#define NOT_A_RESPONSE(body) INVALID_RESPONSE(REQ_HI(""), body)

static const response_case response_cases[] = {
    /* text after a thought (not relayed); usage with cached and thought tokens */
    {REQ_HI(""),
     "{\"candidates\":[{\"content\":{\"parts\":[{\"text\":\"Let me think\","
     "\"thought\":true},{\"text\":\"Hello \"},{\"text\":\"there.\"}],\"role\":\"model\"},"
     "\"finishReason\":\"STOP\",\"index\":0,\"safetyRatings\":[]}],"
     "\"usageMetadata\":{\"promptTokenCount\":120,\"candidatesTokenCount\":5,"
     "\"totalTokenCount\":155,\"cachedContentTokenCount\":100,"
     "\"thoughtsTokenCount\":30,\"promptTokensDetails\":[{\"modality\":\"TEXT\","
     "\"tokenCount\":120}]},\"modelVersion\":\"gemini-2.5-flash\",\"responseId\":\"r1\"}",
     SY_OK,
     COMPLETION_HEAD "\"choices\":[{\"index\":0,\"message\":{\"role\":"
                     "\"assistant\",\"content\":\"Hello there.\"},\"logprobs\":null,"
                     "\"finish_reason\":\"stop\"}],\"usage\":{\"prompt_tokens\":120,"
                     "\"completion_tokens\":35,\"total_tokens\":155,\"prompt_tokens_details\":{"
                     "\"cached_tokens\":100},\"completion_tokens_details\":{"
                     "\"reasoning_tokens\":30}}}",
     "have=1 prompt=120 cached=100 completion=35 reasoning=30 finish=stop"},
    /* counts an integer cannot hold read as 0 (found by fuzz_gemini: converting 6.7e72 to
     * int64_t is undefined behaviour) */
    {REQ_HI(""),
     "{\"candidates\":[{\"content\":{\"parts\":[{\"text\":\"x\"}]},"
     "\"finishReason\":\"STOP\"}],\"usageMetadata\":{"
     "\"promptTokenCount\":6.66667e72,\"candidatesTokenCount\":1e300,"
     "\"cachedContentTokenCount\":-5,\"thoughtsTokenCount\":2}}",
     SY_OK, NULL, "prompt=0 cached=0 completion=2"},
    FINISH("STOP", "stop"),
    FINISH("MAX_TOKENS", "length"),
    FINISH("SAFETY", "content_filter"),
    FINISH("RECITATION", "content_filter"),
    FINISH("BLOCKLIST", "content_filter"),
    FINISH("PROHIBITED_CONTENT", "content_filter"),
    FINISH("SPII", "content_filter"),
    FINISH("OTHER", "stop"),
    FINISH("MALFORMED_FUNCTION_CALL", "stop"),
    /* a blocked prompt has no candidates */
    {REQ_HI(""),
     "{\"promptFeedback\":{\"blockReason\":\"SAFETY\"},"
     "\"usageMetadata\":{\"promptTokenCount\":9,\"totalTokenCount\":9}}",
     SY_OK,
     COMPLETION_HEAD "\"choices\":[{\"index\":0,\"message\":{\"role\":"
                     "\"assistant\",\"content\":null},\"logprobs\":null,\"finish_reason\":"
                     "\"content_filter\"}],\"usage\":{\"prompt_tokens\":9,\"completion_tokens\":0,"
                     "\"total_tokens\":9,\"prompt_tokens_details\":{\"cached_tokens\":0},"
                     "\"completion_tokens_details\":{\"reasoning_tokens\":0}}}",
     "finish=content_filter"},
    /* not a response */
    NOT_A_RESPONSE(""),
    NOT_A_RESPONSE("[]"),
    NOT_A_RESPONSE("{\"candidates\":[]}"),
    NOT_A_RESPONSE("{\"candidates\":[{"),
};

/* Function calls: each gets an id of its own (Gemini sends none). */
static void test_response_function_call(void **state)
{
    sy_relay_state rs;
    sy_buf out = {0};
    assert_int_equal(
        respond(REQ_TOOLS(""),
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
        COMPLETION_HEAD
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
    expect_relay(&rs, &out, "finish=tool_calls");
    ad()->release(&rs);
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

/* the tool-call stream: two calls in two chunks */
static const char tool_stream[] =
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

#define CHUNK_HEAD                                                                                 \
    "{\"id\":\"chatcmpl-X\",\"object\":\"chat.completion.chunk\",\"created\":0,\"model\":\"gem\","
#define CONTENT_CHUNK(delta)                                                                       \
    CHUNK_HEAD "\"choices\":[{\"index\":0,\"delta\":{" delta "},\"logprobs\":null,"                \
               "\"finish_reason\":null}]}"
#define FINISH_CHUNK(reason)                                                                       \
    CHUNK_HEAD "\"choices\":[{\"index\":0,\"delta\":{},\"logprobs\":null,\"finish_reason\":"       \
               "\"" reason "\"}]}"
#define TEXT_EVENTS                                                                                \
    CONTENT_CHUNK("\"role\":\"assistant\""), CONTENT_CHUNK("\"content\":\"The sky\""),             \
        CONTENT_CHUNK("\"content\":\" is blue \\u00e9\""), CONTENT_CHUNK("\"content\":\".\""),     \
        FINISH_CHUNK("stop")
#define STREAM_REQ(more) "{\"model\":\"gem\",\"stream\":true," USER_HI more "}"
#define STREAM_USAGE_REQ                                                                           \
    "{\"model\":\"gem\",\"stream\":true,\"stream_options\":{\"include_usage\":true}," USER_HI "}"

static const stream_case stream_cases[] = {
    /* text; every split point gives the same events */
    {STREAM_USAGE_REQ, text_stream,
     EVENTS(TEXT_EVENTS,
            CHUNK_HEAD "\"choices\":[],\"usage\":{\"prompt_tokens\":12,\"completion_tokens\":14,"
                       "\"total_tokens\":26,\"prompt_tokens_details\":{\"cached_tokens\":4},"
                       "\"completion_tokens_details\":{\"reasoning_tokens\":8}}}",
            "[DONE]"),
     /* "é" is two bytes */
     .relay = "done=1 error=0 finish=stop chunks=3 bytes=19 prompt=12 completion=14 cached=4",
     .every_split = 1},
    /* without stream_options.include_usage: no usage chunk, usage still recorded */
    {STREAM_REQ(""), text_stream, EVENTS(TEXT_EVENTS, "[DONE]"), .relay = "have=1 completion=14"},
    /* two function calls */
    {STREAM_REQ(",\"tools\":[" WEATHER_TOOL "]"), tool_stream,
     EVENTS(CONTENT_CHUNK("\"role\":\"assistant\",\"tool_calls\":[{"
                          "\"index\":0,\"id\":\"call_X\",\"type\":\"function\",\"function\":{"
                          "\"name\":\"get_weather\",\"arguments\":"
                          "\"{\\\"city\\\":\\\"Paris\\\"}\"}}]"),
            CONTENT_CHUNK("\"tool_calls\":[{\"index\":1,\"id\":"
                          "\"call_X\",\"type\":\"function\",\"function\":{\"name\":\"get_weather\","
                          "\"arguments\":\"{\\\"city\\\":\\\"Rome\\\"}\"}}]"),
            FINISH_CHUNK("tool_calls"), "[DONE]"),
     .relay = "finish=tool_calls chunks=2 bytes=31 completion=10"},
    /* an error object mid-stream: an OpenAI-shaped error event, nothing after it */
    {STREAM_REQ(""),
     "data: {\"candidates\":[{\"content\":{\"parts\":[{\"text\":\"Hi\"}],\"role\":\"model\"},"
     "\"index\":0}]}\r\n\r\n"
     "data: {\"error\":{\"code\":503,\"message\":\"The model is overloaded.\",\"status\":"
     "\"UNAVAILABLE\"}}\r\n\r\n"
     "data: {\"candidates\":[{\"content\":{\"parts\":[{\"text\":\"more\"}],\"role\":\"model\"},"
     "\"finishReason\":\"STOP\",\"index\":0}]}\r\n\r\n",
     .error_event = "{\"error\":{\"message\":\"provider reported error 503 mid-stream: The model "
                    "is overloaded.\",\"type\":\"upstream_error\",\"param\":null,\"code\":"
                    "\"upstream_overloaded\"}}",
     .relay = "error=1 done=0 finish="},
    /* an undecodable first event */
    {STREAM_REQ(""), "data: {\"candidates\":[{\"content\r\n\r\n", .relay = "error=1",
     .contains = "\"code\":\"upstream_malformed_event\""},
    /* a blocked prompt */
    {STREAM_REQ(""),
     "data: {\"promptFeedback\":{\"blockReason\":\"PROHIBITED_CONTENT\"},"
     "\"usageMetadata\":{\"promptTokenCount\":5,\"totalTokenCount\":5}}\r\n\r\n",
     EVENTS(CHUNK_HEAD "\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\","
                       "\"content\":null},\"logprobs\":null,\"finish_reason\":"
                       "\"content_filter\"}]}",
            "[DONE]"),
     .relay = "finish=content_filter done=1"},
};

/* ---- errors */

#define STATUS_ONLY(status, mapped)                                                                \
    {                                                                                              \
        status, "not json", NULL, mapped                                                           \
    }

static const error_case error_cases[] = {
    {429,
     "{\"error\":{\"code\":429,\"message\":\"You exceeded your current quota, please check "
     "your plan and billing details.\",\"status\":\"RESOURCE_EXHAUSTED\",\"details\":[{"
     "\"@type\":\"type.googleapis.com/google.rpc.QuotaFailure\",\"violations\":[]},{\"@type\":"
     "\"type.googleapis.com/google.rpc.RetryInfo\",\"retryDelay\":\"7s\"}]}}",
     NULL, "status=429 code=upstream_rate_limited type=rate_limit_error retryable=1",
     .has = "retry in 7s"},
    /* the generic quota text alone is still a retryable rate limit ... */
    {429,
     "{\"error\":{\"code\":429,\"message\":\"You exceeded your current quota, please check "
     "your plan and billing details.\",\"status\":\"RESOURCE_EXHAUSTED\"}}",
     NULL, "retryable=1"},
    /* ... a message about billing is not */
    {429,
     "{\"error\":{\"code\":429,\"message\":\"Your prepayment credits are depleted. Please go "
     "to AI Studio to manage your project and billing.\",\"status\":\"RESOURCE_EXHAUSTED\"}}",
     NULL, "status=429 code=upstream_quota_exhausted retryable=0"},
    {503,
     "{\"error\":{\"code\":503,\"message\":\"The model is overloaded. Please try again "
     "later.\",\"status\":\"UNAVAILABLE\"}}",
     NULL, "status=503 code=upstream_overloaded retryable=1",
     "provider returned HTTP 503: The model is overloaded. Please try again later."},
    {400,
     "{\"error\":{\"code\":400,\"message\":\"* GenerateContentRequest.contents: contents is "
     "not specified\",\"status\":\"INVALID_ARGUMENT\"}}",
     NULL, "status=400 type=invalid_request_error code=upstream_rejected_request retryable=0",
     .has = "contents is not specified"},
    /* a bad key: Gemini says 400 with API_KEY_INVALID; never relay its message */
    {400,
     "{\"error\":{\"code\":400,\"message\":\"API key not valid. Please pass a valid API key "
     "AIza-secret.\",\"status\":\"INVALID_ARGUMENT\",\"details\":[{\"@type\":"
     "\"type.googleapis.com/google.rpc.ErrorInfo\",\"reason\":\"API_KEY_INVALID\"}]}}",
     NULL, "status=502 code=upstream_auth_failed", .lacks = "AIza"},
    {403,
     "{\"error\":{\"code\":403,\"message\":\"Method doesn't allow unregistered callers "
     "AIza-secret\",\"status\":\"PERMISSION_DENIED\"}}",
     NULL, "status=502 code=upstream_auth_failed retryable=0", .lacks = "AIza"},
    /* bodies that are not Gemini errors: the status decides */
    STATUS_ONLY(404, "status=502 code=upstream_model_not_found retryable=0"),
    STATUS_ONLY(500, "status=502 code=upstream_error retryable=1"),
    STATUS_ONLY(504, "status=504 code=upstream_timeout retryable=1"),
    STATUS_ONLY(529, "status=503 code=upstream_overloaded retryable=1"),
    STATUS_ONLY(502, "status=502 code=upstream_error retryable=1"),
    STATUS_ONLY(413, "status=413 code=upstream_rejected_request retryable=0"),
};

/* ---- fake-provider's Gemini dialect */

static const fp_dialect *const fd = &fp_dialect_gemini;

static const route_case route_cases[] = {
    {"/v1beta/models/gemini-2.5-flash:generateContent", FP_ROUTE_CHAT},
    {"/v1beta/models/x:streamGenerateContent", FP_ROUTE_CHAT},
    {"/v1/models/x:generateContent", FP_ROUTE_CHAT},
    {"/v1beta/models", FP_ROUTE_MODELS},
    {"/v1beta/models/x:countTokens", FP_ROUTE_NONE},
    {"/v1beta/models/:generateContent", FP_ROUTE_NONE},
    {"/v1/chat/completions", FP_ROUTE_NONE},
    {"/v1/models", FP_ROUTE_NONE},
};

/* The model and the stream flag are in the path. */
static void test_fake_paths(void **state)
{
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

static const fake_parse_case fake_parse_cases[] = {
    {"{\"model\":\"gem\",\"max_tokens\":7,\"tools\":[" WEATHER_TOOL "],\"messages\":["
     "{\"role\":\"system\",\"content\":\"sys\"},"
     "{\"role\":\"user\",\"content\":\"weather?\"}]}",
     1, "echo=weather? prompt_bytes=11 max_tokens=7 tool=get_weather last_tool=0"},
    /* mode NONE: no tool */
    {"{\"model\":\"gem\",\"tools\":[" WEATHER_TOOL "],\"tool_choice\":\"none\",\"messages\":["
     "{\"role\":\"user\",\"content\":\"weather?\"},"
     "{\"role\":\"assistant\",\"tool_calls\":[{\"id\":\"c1\",\"type\":\"function\","
     "\"function\":{\"name\":\"get_weather\",\"arguments\":\"{}\"}}]},"
     "{\"role\":\"tool\",\"tool_call_id\":\"c1\",\"content\":\"rain\"}]}",
     0, "last_tool=1 tool=(null) echo=weather? max_tokens=-1"},
};

static const char *const fake_bad_requests[] = {
    "{}",
    "{\"contents\":[]}",
    "{\"contents\":[{\"role\":\"user\",\"parts\":[]}]}",
    "{\"contents\":[{\"parts\":[{\"text\":\"x\"}]}],\"generationConfig\":{"
    "\"maxOutputTokens\":0}}",
    "{\"contents\":[{\"parts\":[{\"text\":\"x\"}]}],\"tools\":[{\"functionDeclarations\":["
    "{\"description\":\"x\"}]}]}",
};

/* What the fake renders, the adapter reads: a completion, a text stream and a tool-call
 * stream (through the SSE framer). */
static void test_fake_renders_for_adapter(void **state)
{
    fp_exchange x = fake_exchange(0);
    sy_buf body = {0}, out = {0};
    sy_relay_state rs;
    fd->render_completion(&x, "Hi there", 8, &body);
    assert_int_equal(respond_raw(REQ_HI(""), body.data, body.len, &rs, &out), SY_OK);
    expect_normalised(out.data, out.len,
                      COMPLETION_HEAD
                      "\"choices\":[{\"index\":0,\"message\":{\"role\":"
                      "\"assistant\",\"content\":\"Hi there\"},\"logprobs\":null,"
                      "\"finish_reason\":\"stop\"}],\"usage\":{\"prompt_tokens\":10,"
                      "\"completion_tokens\":3,\"total_tokens\":13,"
                      "\"prompt_tokens_details\":{\"cached_tokens\":4},"
                      "\"completion_tokens_details\":{\"reasoning_tokens\":0}}}");
    ad()->release(&rs);

    /* truncated text: MAX_TOKENS → length */
    x.truncated = 1;
    sy_buf_reset(&body);
    sy_buf_reset(&out);
    fd->render_completion(&x, "Hi", 2, &body);
    assert_int_equal(respond_raw(REQ_HI(""), body.data, body.len, &rs, &out), SY_OK);
    expect_relay(&rs, &out, "finish=length");
    ad()->release(&rs);
    x.truncated = 0;

    /* a text stream */
    sy_buf_reset(&body);
    sy_buf_reset(&out);
    fd->render_stream_open(&x, &body);
    assert_int_equal(body.len, 0); /* Gemini streams have no opening event */
    render_text_stream(fd, &x, &body);
    assert_non_null(strstr(body.data, "}\r\n\r\ndata: "));
    run_stream(STREAM_USAGE_REQ, body.data, body.len / 2, &rs, &out);
    expect_events(&out,
                  (const char *const[]){
                      CONTENT_CHUNK("\"role\":\"assistant\",\"content\":\"Hi\""),
                      CONTENT_CHUNK("\"content\":\" there\""), FINISH_CHUNK("stop"),
                      CHUNK_HEAD
                      "\"choices\":[],\"usage\":{\"prompt_tokens\":10,\"completion_tokens\":3,"
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
    assert_int_equal(respond_raw(REQ_HI(""), body.data, body.len, &rs, &out), SY_OK);
    expect_relay(&rs, &out, "finish=tool_calls");
    assert_non_null(strstr(out.data, "\"arguments\":\"{\\\"city\\\":\\\"Paris\\\"}\""));
    ad()->release(&rs);
    sy_buf_reset(&out);
    render_tool_stream(fd, &x, &body);
    run_stream(STREAM_REQ(""), body.data, 1, &rs, &out);
    expect_relay(&rs, &out, "done=1 finish=tool_calls chunks=1");
    ad()->release(&rs);

    /* the in-stream error and a malformed event */
    expect_fake_stream_errors(fd, &x, STREAM_REQ(""), 0, NULL);
    sy_buf_free(&body);
    sy_buf_free(&out);
}

/* A Gemini error body: error.code repeats the HTTP status, error.status names it. */
static void check_fake_error_body(const cJSON *j, int status, const fake_error_case *c)
{
    const cJSON *e = cJSON_GetObjectItem(j, "error");
    assert_int_equal(cJSON_GetObjectItem(e, "code")->valueint, status);
    assert_true(cJSON_IsString(cJSON_GetObjectItem(e, "status")));
}

static const fake_error_case fake_error_cases[] = {
    {FP_ERR_RATE_LIMIT, 429, .mapped = "status=429 code=upstream_rate_limited retryable=1"},
    {FP_ERR_QUOTA, 429, .mapped = "status=429 code=upstream_quota_exhausted retryable=0"},
    {FP_ERR_SERVER, 500, .mapped = "status=502 code=upstream_error retryable=1"},
    {FP_ERR_UNAVAILABLE, 503, .mapped = "status=503 code=upstream_overloaded retryable=1"},
    {FP_ERR_OVERLOADED, 503, .mapped = "status=503 code=upstream_overloaded retryable=1"},
    {FP_ERR_INJECTED_400, 400, .mapped = "status=400 code=upstream_rejected_request retryable=0"},
    {FP_ERR_UNAUTHORIZED, 401, .mapped = "status=502 code=upstream_auth_failed retryable=0"},
    {FP_ERR_MODEL_NOT_FOUND, 404, .mapped = "status=502 code=upstream_model_not_found retryable=0"},
};

/* The models list, names escaped. */
static void test_fake_models(void **state)
{
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

DIALECT_SUITE(fp_dialect_gemini);

DIALECT_MAIN(cmocka_unit_test(test_url_and_headers), cmocka_unit_test(test_response_function_call),
             cmocka_unit_test(test_fake_paths), cmocka_unit_test(test_fake_renders_for_adapter),
             cmocka_unit_test(test_fake_models))
