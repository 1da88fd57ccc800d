/*
 * Unit tests for the Anthropic Messages dialect: the gateway adapter
 * (provider_anthropic.c) and fake-provider's Anthropic dialect (fake_anthropic.c).
 *
 * Requests: OpenAI bodies of many shapes are built and compared with the expected
 * Messages request (cJSON_Compare on parsed JSON, so member order is free), with the
 * URL, headers (x-api-key, anthropic-version) and refused parameters. Responses: Message
 * bodies and SSE streams translated to OpenAI shapes and compared after replacing the
 * generated ids and timestamps; every stream also goes through the sy_sse framer split
 * at every byte into two feeds, which must not change the output. Errors: status, code
 * and retryability. Cost: bills from translated usage (cache reads and writes), streamed
 * or not and for a stream cut before its end, against hand-computed micro-dollars.
 * Finally the fake's dialect routes, parses what the adapter sends, and renders what the
 * adapter reads.
 *
 * Expected JSON is written with single quotes for readability; J() turns them into
 * double quotes (no expected text here contains an apostrophe).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "cost.h"
#include "fake_dialect.h"
#include "provider.h"
#include "sse.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* s with every ' replaced by " (one of 8 rotating static buffers). */
static const char *J(const char *s)
{
    static char bufs[8][16384];
    static int next;
    char *b = bufs[next++ % 8];
    size_t n = strlen(s);
    assert_true(n < sizeof bufs[0]);
    for (size_t i = 0; i <= n; i++)
        b[i] = s[i] == '\'' ? '"' : s[i];
    return b;
}

static const sy_adapter *ad(void)
{
    const sy_adapter *a = sy_adapter_for(SY_DIALECT_ANTHROPIC);
    assert_non_null(a);
    return a;
}

static sy_provider_cfg prov = {.name = "a",
                               .dialect = SY_DIALECT_ANTHROPIC,
                               .base_url = "https://api.anthropic.com/v1",
                               .api_key = "sk-ant-secret-key"};
static sy_model_cfg model = {.name = "claude", .upstream_name = "claude-sonnet-4-5"};

#define DIALECT_CLIENT_MODEL "claude"
#include "dialect_test.h"

/* ---- requests */

/* Build (single-quoted JSON) and compare the upstream body with `expected`. */
static void expect_body_stream(const char *json, int stream, const char *expected)
{
    built b;
    char *req = strdup(J(json));
    build(req, stream, &b);
    if (b.rc != SY_OK)
        fail_msg("refused (%s: %s): %s", b.bad ? b.bad : "-", b.why ? b.why : "-", req);
    assert_json_eq(b.call.body.data, b.call.body.len, J(expected));
    built_free(&b);
    free(req);
}

static void expect_body(const char *json, const char *expected)
{
    expect_body_stream(json, 0, expected);
}

/* Build and expect a 400 naming `param`. */
static void expect_refused(const char *json, const char *param)
{
    built b;
    char *req = strdup(J(json));
    build(req, 0, &b);
    if (b.rc != SY_ERR_INVALID)
        fail_msg("accepted: %s", req);
    assert_non_null(b.why);
    if (!b.bad || strcmp(b.bad, param) != 0)
        fail_msg("refused %s naming '%s', expected '%s'", req, b.bad ? b.bad : "(null)", param);
    built_free(&b);
    free(req);
}

#define USER_HI "'messages':[{'role':'user','content':'Hi'}]"
#define MSGS_HI "'messages':[{'role':'user','content':[{'type':'text','text':'Hi'}]}]"
#define HEAD    "'model':'claude-sonnet-4-5','max_tokens':4096,"

static void test_url_and_headers(void **state)
{
    built b;
    build(J("{'model':'claude'," USER_HI "}"), 0, &b);
    assert_int_equal(b.rc, SY_OK);
    assert_string_equal(b.call.url.data, "https://api.anthropic.com/v1/messages");
    assert_string_equal(header(&b.call, "x-api-key:"), "x-api-key: sk-ant-secret-key");
    assert_string_equal(header(&b.call, "anthropic-version:"), "anthropic-version: 2023-06-01");
    assert_string_equal(header(&b.call, "Accept:"), "Accept: application/json");
    assert_string_equal(header(&b.call, "Content-Type:"), "Content-Type: application/json");
    assert_null(strstr(b.call.url.data, "secret"));
    assert_null(strstr(b.call.body.data, "secret"));
    built_free(&b);

    build(J("{'model':'claude','stream':true,'stream_options':{'include_usage':true}," USER_HI "}"),
          1, &b);
    assert_int_equal(b.rc, SY_OK);
    assert_string_equal(b.call.url.data, "https://api.anthropic.com/v1/messages");
    assert_string_equal(header(&b.call, "Accept:"), "Accept: text/event-stream");
    built_free(&b);

    /* no key configured, no key header */
    sy_provider_cfg keyless = prov;
    keyless.api_key = NULL;
    memset(&b, 0, sizeof b);
    cJSON *r = cJSON_Parse(J("{'model':'claude'," USER_HI "}"));
    assert_int_equal(ad()->build(&keyless, &model, r, 0, &b.rs, &b.call, &b.bad, &b.why), SY_OK);
    cJSON_Delete(r);
    assert_null(header(&b.call, "x-api-key:"));
    assert_non_null(header(&b.call, "anthropic-version:"));
    built_free(&b);
}

static void test_plain_and_system(void **state)
{
    /* shape 1: plain; max_tokens defaults to 4096 */
    expect_body("{'model':'claude'," USER_HI "}", "{" HEAD MSGS_HI "}");
    /* shape 2: system and developer → system blocks wherever they appear; sampling
     * parameters; user → metadata.user_id; no-op values and bookkeeping accepted */
    expect_body("{'model':'claude','messages':[{'role':'system','content':'Be terse.'},"
                "{'role':'developer','content':[{'type':'text','text':'No emoji.',"
                "'cache_control':{'type':'ephemeral'}}]},"
                "{'role':'user','content':'Hello'},{'role':'system','content':'Late.'}],"
                "'temperature':0.5,'top_p':0.9,'top_k':40,'max_tokens':100,"
                "'max_completion_tokens':50,'user':'u-1','n':1,'logprobs':false,"
                "'presence_penalty':0,'frequency_penalty':0,'logit_bias':{},"
                "'reasoning_effort':'none','modalities':['text'],'metadata':{'a':'b'},"
                "'store':false,'service_tier':'auto','prompt_cache_key':'k','stream':false}",
                "{'model':'claude-sonnet-4-5','max_tokens':50,"
                "'system':[{'type':'text','text':'Be terse.'},{'type':'text','text':'No emoji.',"
                "'cache_control':{'type':'ephemeral'}},{'type':'text','text':'Late.'}],"
                "'messages':[{'role':'user','content':[{'type':'text','text':'Hello'}]}],"
                "'temperature':0.5,'top_p':0.9,'top_k':40,'metadata':{'user_id':'u-1'}}");
    /* shape 3: safety_identifier wins over user; max_completion_tokens alone */
    expect_body("{'model':'claude'," USER_HI ",'user':'u','safety_identifier':'s-9',"
                "'max_completion_tokens':7}",
                "{'model':'claude-sonnet-4-5','max_tokens':7," MSGS_HI
                ",'metadata':{'user_id':'s-9'}}");
}

static void test_multi_turn(void **state)
{
    /* shape 4: consecutive turns of one role merge; refusal parts and empty text are
     * left out; an assistant message with nothing in it vanishes; a final assistant
     * message (prefill) stays */
    expect_body("{'model':'claude','messages':["
                "{'role':'user','content':'Hi'},"
                "{'role':'assistant','content':'Hello!'},"
                "{'role':'assistant','content':[{'type':'text','text':'How can I help?'},"
                "{'type':'refusal','refusal':'no'},{'type':'text','text':''}]},"
                "{'role':'user','content':'Tell me a joke.'},"
                "{'role':'user','content':[{'type':'text','text':'A short one.'}]},"
                "{'role':'assistant','content':null},"
                "{'role':'user','content':''},"
                "{'role':'assistant','content':'Why'}]}",
                "{" HEAD "'messages':["
                "{'role':'user','content':[{'type':'text','text':'Hi'}]},"
                "{'role':'assistant','content':[{'type':'text','text':'Hello!'},"
                "{'type':'text','text':'How can I help?'}]},"
                "{'role':'user','content':[{'type':'text','text':'Tell me a joke.'},"
                "{'type':'text','text':'A short one.'}]},"
                "{'role':'assistant','content':[{'type':'text','text':'Why'}]}]}");
}

#define WEATHER_TOOL                                                                               \
    "{'type':'function','function':{'name':'get_weather','description':'Weather now',"             \
    "'parameters':{'type':'object','properties':{'city':{'type':'string'}},"                       \
    "'required':['city'],'additionalProperties':false},'strict':true}}"
#define WEATHER_DECL                                                                               \
    "{'name':'get_weather','description':'Weather now','input_schema':{'type':'object',"           \
    "'properties':{'city':{'type':'string'}},'required':['city'],'additionalProperties':false}}"
#define NOOP_DECL "{'name':'noop','input_schema':{'type':'object','properties':{}}}"

static void test_tools(void **state)
{
    /* shape 5: tools; strict dropped; no parameters → the empty object schema */
    expect_body("{'model':'claude'," USER_HI ",'tools':[" WEATHER_TOOL
                ",{'type':'function','function':{'name':'noop'}}]}",
                "{" HEAD MSGS_HI ",'tools':[" WEATHER_DECL "," NOOP_DECL "]}");
    /* shapes 6-11: tool_choice variants and parallel_tool_calls */
    static const struct {
        const char *extra, *choice;
    } choices[] = {
        {"'tool_choice':'auto'", "'tool_choice':{'type':'auto'}"},
        {"'tool_choice':'none'", "'tool_choice':{'type':'none'}"},
        {"'tool_choice':'required'", "'tool_choice':{'type':'any'}"},
        {"'tool_choice':{'type':'function','function':{'name':'get_weather'}}",
         "'tool_choice':{'type':'tool','name':'get_weather'}"},
        {"'parallel_tool_calls':false",
         "'tool_choice':{'type':'auto','disable_parallel_tool_use':true}"},
        {"'tool_choice':'required','parallel_tool_calls':false",
         "'tool_choice':{'type':'any','disable_parallel_tool_use':true}"},
        {"'tool_choice':'none','parallel_tool_calls':false", "'tool_choice':{'type':'none'}"},
        {"'parallel_tool_calls':true", NULL},
    };
    for (size_t i = 0; i < SY_ARRAY_LEN(choices); i++) {
        char req[1024], exp[1024];
        snprintf(req, sizeof req, "{'model':'claude'," USER_HI ",'tools':[" WEATHER_TOOL "],%s}",
                 choices[i].extra);
        snprintf(exp, sizeof exp, "{" HEAD MSGS_HI ",'tools':[" WEATHER_DECL "]%s%s}",
                 choices[i].choice ? "," : "", choices[i].choice ? choices[i].choice : "");
        expect_body(req, exp);
    }
    /* without tools "auto" and "none" say nothing; "required" cannot be honoured */
    expect_body("{'model':'claude'," USER_HI ",'tools':[],'tool_choice':'none'}",
                "{" HEAD MSGS_HI "}");
    expect_body("{'model':'claude'," USER_HI ",'tool_choice':'auto','parallel_tool_calls':false}",
                "{" HEAD MSGS_HI "}");
    expect_refused("{'model':'claude'," USER_HI ",'tool_choice':'required'}", "tool_choice");
    expect_refused("{'model':'claude'," USER_HI ",'tools':[" WEATHER_TOOL
                   "],'tool_choice':{'type':'allowed_tools'}}",
                   "tool_choice");
    expect_refused("{'model':'claude'," USER_HI
                   ",'tools':[{'type':'function','function':{'name':'json_response'}}]}",
                   "tools[0].function.name");
}

static void test_tool_results(void **state)
{
    /* shape 12: two parallel calls and their results: tool_use blocks with the call ids
     * (characters Anthropic refuses become '_', alike on both sides), both tool_result
     * blocks in one user turn, then the next user text merged after them */
    expect_body(
        "{'model':'claude','tools':[" WEATHER_TOOL "],'messages':["
        "{'role':'user','content':'Weather in Paris and Rome?'},"
        "{'role':'assistant','content':'Checking.','tool_calls':["
        "{'id':'toolu_01A','type':'function','function':{'name':'get_weather',"
        "'arguments':'{\\'city\\':\\'Paris\\'}'}},"
        "{'id':'call.b:2','type':'function','function':{'name':'get_weather',"
        "'arguments':''}}]},"
        "{'role':'tool','tool_call_id':'toolu_01A','content':'{\\'temp\\':21}'},"
        "{'role':'tool','tool_call_id':'call.b:2','content':[{'type':'text','text':'sunny'}]},"
        "{'role':'user','content':'Thanks'}]}",
        "{" HEAD "'messages':["
        "{'role':'user','content':[{'type':'text','text':'Weather in Paris and Rome?'}]},"
        "{'role':'assistant','content':[{'type':'text','text':'Checking.'},"
        "{'type':'tool_use','id':'toolu_01A','name':'get_weather','input':{'city':'Paris'}},"
        "{'type':'tool_use','id':'call_b_2','name':'get_weather','input':{}}]},"
        "{'role':'user','content':["
        "{'type':'tool_result','tool_use_id':'toolu_01A','content':'{\\'temp\\':21}'},"
        "{'type':'tool_result','tool_use_id':'call_b_2','content':[{'type':'text',"
        "'text':'sunny'}]},"
        "{'type':'text','text':'Thanks'}]}],"
        "'tools':[" WEATHER_DECL "]}");
    /* arguments that are not a JSON object's text: 400 naming the field */
    expect_refused("{'model':'claude','messages':[{'role':'user','content':'x'},"
                   "{'role':'assistant','tool_calls':[{'id':'c','type':'function',"
                   "'function':{'name':'f','arguments':'{not json'}}]}]}",
                   "messages[1].tool_calls[0].function.arguments");
    expect_refused("{'model':'claude','messages':[{'role':'user','content':'x'},"
                   "{'role':'assistant','tool_calls':[{'id':'c','type':'function',"
                   "'function':{'name':'f','arguments':'[1]'}}]}]}",
                   "messages[1].tool_calls[0].function.arguments");
    expect_refused("{'model':'claude','messages':[{'role':'user','content':'x'},"
                   "{'role':'assistant','tool_calls':[{'type':'function',"
                   "'function':{'name':'f','arguments':'{}'}}]}]}",
                   "messages[1].tool_calls[0].id");
    expect_refused("{'model':'claude','messages':[{'role':'user','content':'x'},"
                   "{'role':'tool','content':'1'}]}",
                   "messages[1].tool_call_id");
}

static void test_images(void **state)
{
    /* shape 13: images by URL and base64, a PDF file; detail dropped, cache_control kept */
    expect_body("{'model':'claude','messages':[{'role':'user','content':["
                "{'type':'text','text':'What is in these?'},"
                "{'type':'image_url','image_url':{'url':'data:image/PNG;base64,iVBORw0KGgo=',"
                "'detail':'high'}},"
                "{'type':'image_url','image_url':{'url':'https://example.com/a/cat.jpg?w=1'},"
                "'cache_control':{'type':'ephemeral'}},"
                "{'type':'file','file':{'filename':'a.pdf','file_data':"
                "'data:application/pdf;base64,JVBERi0='}}]}]}",
                "{" HEAD "'messages':[{'role':'user','content':["
                "{'type':'text','text':'What is in these?'},"
                "{'type':'image','source':{'type':'base64','media_type':'image/png',"
                "'data':'iVBORw0KGgo='}},"
                "{'type':'image','source':{'type':'url','url':'https://example.com/a/cat.jpg?w=1'},"
                "'cache_control':{'type':'ephemeral'}},"
                "{'type':'document','source':{'type':'base64','media_type':'application/pdf',"
                "'data':'JVBERi0='}}]}]}");
    expect_refused("{'model':'claude','messages':[{'role':'user','content':["
                   "{'type':'image_url','image_url':{'url':'data:image/bmp;base64,Qk0='}}]}]}",
                   "messages[0].content[0].image_url.url");
    expect_refused("{'model':'claude','messages':[{'role':'user','content':["
                   "{'type':'text','text':'x'},"
                   "{'type':'image_url','image_url':{'url':'ftp://example.com/a.png'}}]}]}",
                   "messages[0].content[1].image_url.url");
    expect_refused("{'model':'claude','messages':[{'role':'user','content':["
                   "{'type':'image_url','image_url':{'url':'data:image/png,abc'}}]}]}",
                   "messages[0].content[0].image_url.url");
    expect_refused("{'model':'claude','messages':[{'role':'user','content':["
                   "{'type':'input_audio','input_audio':{'data':'UklGRg==','format':'wav'}}]}]}",
                   "messages[0].content[0].type");
    expect_refused("{'model':'claude','messages':[{'role':'user','content':["
                   "{'type':'file','file':{'file_id':'file-abc'}}]}]}",
                   "messages[0].content[0].file");
}

static void test_stop(void **state)
{
    /* shape 14: stop sequences */
    expect_body("{'model':'claude'," USER_HI ",'stop':'END'}",
                "{" HEAD MSGS_HI ",'stop_sequences':['END']}");
    expect_body("{'model':'claude'," USER_HI ",'stop':['a','b','c','d']}",
                "{" HEAD MSGS_HI ",'stop_sequences':['a','b','c','d']}");
    expect_body("{'model':'claude'," USER_HI ",'stop':[]}", "{" HEAD MSGS_HI "}");
    expect_refused("{'model':'claude'," USER_HI ",'stop':['a',1]}", "stop[1]");
    expect_refused("{'model':'claude'," USER_HI ",'stop':5}", "stop");
}

static void test_json_mode(void **state)
{
    /* shape 15: json_object → a forced call of json_response taking any object */
    expect_body("{'model':'claude'," USER_HI ",'response_format':{'type':'json_object'}}",
                "{" HEAD MSGS_HI ",'tools':[{'name':'json_response','description':'Give the "
                "answer as this tool\\u0027s input: a JSON object.','input_schema':{'type':"
                "'object'}}],'tool_choice':{'type':'tool','name':'json_response'}}");
    /* shape 16: json_schema → the schema as the input schema */
    expect_body("{'model':'claude'," USER_HI ",'response_format':{'type':'json_schema',"
                "'json_schema':{'name':'r','description':'The result','strict':true,"
                "'schema':{'type':'object','properties':{'a':{'type':'integer'}},"
                "'additionalProperties':false}}}}",
                "{" HEAD MSGS_HI ",'tools':[{'name':'json_response','description':'The result',"
                "'input_schema':{'type':'object','properties':{'a':{'type':'integer'}},"
                "'additionalProperties':false}}],'tool_choice':{'type':'tool','name':"
                "'json_response'}}");
    expect_body("{'model':'claude'," USER_HI ",'response_format':{'type':'text'}}",
                "{" HEAD MSGS_HI "}");
    expect_refused("{'model':'claude'," USER_HI ",'response_format':{'type':'xml'}}",
                   "response_format.type");
    expect_refused("{'model':'claude'," USER_HI ",'tools':[" WEATHER_TOOL "],"
                   "'response_format':{'type':'json_object'}}",
                   "response_format");
    expect_refused("{'model':'claude'," USER_HI ",'response_format':{'type':'json_schema',"
                   "'json_schema':{'name':'r','schema':{'type':'array'}}}}",
                   "response_format.json_schema.schema");
}

static void test_stream_flag(void **state)
{
    /* shape 17: a streamed request says so in the body; stream_options stay here */
    expect_body_stream("{'model':'claude','stream':true,'stream_options':{'include_usage':true},"
                       "'max_tokens':10," USER_HI "}",
                       1,
                       "{'model':'claude-sonnet-4-5','max_tokens':10,'stream':true," MSGS_HI "}");
    /* shape 18: stream off: no stream member */
    expect_body_stream("{'model':'claude','stream':false," USER_HI "}", 0, "{" HEAD MSGS_HI "}");
}

static void test_refused_parameters(void **state)
{
    static const struct {
        const char *member, *param;
    } cases[] = {
        {"'n':2", "n"},
        {"'seed':42", "seed"},
        {"'presence_penalty':0.5", "presence_penalty"},
        {"'frequency_penalty':-1", "frequency_penalty"},
        {"'logprobs':true", "logprobs"},
        {"'top_logprobs':3", "top_logprobs"},
        {"'logit_bias':{'50256':-100}", "logit_bias"},
        {"'reasoning_effort':'high'", "reasoning_effort"},
        {"'modalities':['text','audio']", "modalities"},
        {"'functions':[{'name':'f'}]", "functions"},
        {"'audio':{'voice':'alloy'}", "audio"},
        {"'frobnicate':1", "frobnicate"},
        {"'temperature':1.5", "temperature"},
        {"'top_p':'x'", "top_p"},
        {"'top_k':0", "top_k"},
        {"'max_tokens':0", "max_tokens"},
        {"'user':5", "user"},
        {"'tools':[{'type':'custom','custom':{'name':'x'}}]", "tools[0].type"},
    };
    for (size_t i = 0; i < SY_ARRAY_LEN(cases); i++) {
        char req[512];
        snprintf(req, sizeof req, "{'model':'claude'," USER_HI ",%s}", cases[i].member);
        expect_refused(req, cases[i].param);
    }
    /* a null member is absent */
    expect_body("{'model':'claude'," USER_HI ",'seed':null,'functions':null,'temperature':null}",
                "{" HEAD MSGS_HI "}");
    expect_refused("{'model':'claude','messages':[{'role':'system','content':'x'}]}", "messages");
    expect_refused("{'model':'claude','messages':[{'role':'function','content':'x'}]}",
                   "messages[0].role");
    expect_refused("{'model':'claude','messages':[{'role':'user','content':5}]}",
                   "messages[0].content");
}

/* ---- responses */

/* Translate a non-stream body (single-quoted) after a build with `request`. */
static int respond(const char *request, const char *body, sy_relay_state *rs, sy_buf *out)
{
    built b;
    build(J(request), 0, &b);
    assert_int_equal(b.rc, SY_OK);
    sy_upstream_call_free(&b.call);
    *rs = b.rs;
    const char *text = J(body);
    return ad()->response(text, strlen(text), rs, out);
}

#define COMPLETION_HEAD                                                                            \
    "{'id':'chatcmpl-X','object':'chat.completion','created':0,'model':'claude',"

static void test_response_text(void **state)
{
    sy_relay_state rs;
    sy_buf out = {0};
    assert_int_equal(
        respond("{'model':'claude'," USER_HI "}",
                "{'id':'msg_01','type':'message','role':'assistant','model':'claude-sonnet-4-5',"
                "'content':[{'type':'thinking','thinking':'Hmm','signature':'c2ln'},"
                "{'type':'text','text':'Hello '},{'type':'text','text':'there.'}],"
                "'stop_reason':'end_turn','stop_sequence':null,'usage':{'input_tokens':50,"
                "'cache_creation_input_tokens':1000,'cache_read_input_tokens':2000,"
                "'output_tokens':400,'service_tier':'standard'}}",
                &rs, &out),
        SY_OK);
    expect_normalised(out.data, out.len,
                      J(COMPLETION_HEAD "'choices':[{'index':0,'message':{'role':'assistant',"
                                        "'content':'Hello there.'},'logprobs':null,"
                                        "'finish_reason':'stop'}],'usage':{'prompt_tokens':3050,"
                                        "'completion_tokens':400,'total_tokens':3450,"
                                        "'prompt_tokens_details':{'cached_tokens':2000},"
                                        "'completion_tokens_details':{'reasoning_tokens':0}}}"));
    assert_true(rs.usage.have);
    assert_int_equal(rs.usage.prompt_tokens, 3050);
    assert_int_equal(rs.usage.cached_tokens, 2000);
    assert_int_equal(rs.usage.cache_write_tokens, 1000);
    assert_int_equal(rs.usage.completion_tokens, 400);
    assert_string_equal(rs.finish_reason, "stop");
    ad()->release(&rs);
    sy_buf_free(&out);
}

static void test_response_tool_use(void **state)
{
    sy_relay_state rs;
    sy_buf out = {0};
    assert_int_equal(
        respond("{'model':'claude'," USER_HI ",'tools':[" WEATHER_TOOL "]}",
                "{'id':'msg_02','type':'message','role':'assistant','content':["
                "{'type':'text','text':'Checking.'},"
                "{'type':'tool_use','id':'toolu_A','name':'get_weather','input':{'city':'Paris'}},"
                "{'type':'tool_use','name':'get_weather','input':{'city':'Rome'}}],"
                "'stop_reason':'tool_use','usage':{'input_tokens':57,'output_tokens':20}}",
                &rs, &out),
        SY_OK);
    expect_normalised(out.data, out.len,
                      J(COMPLETION_HEAD
                        "'choices':[{'index':0,'message':{'role':'assistant','content':"
                        "'Checking.','tool_calls':[{'id':'toolu_A','type':'function',"
                        "'function':{'name':'get_weather','arguments':'{\\'city\\':"
                        "\\'Paris\\'}'}},{'id':'call_X','type':'function','function':{"
                        "'name':'get_weather','arguments':'{\\'city\\':\\'Rome\\'}'}}]},"
                        "'logprobs':null,'finish_reason':'tool_calls'}],'usage':{"
                        "'prompt_tokens':57,'completion_tokens':20,'total_tokens':77,"
                        "'prompt_tokens_details':{'cached_tokens':0},"
                        "'completion_tokens_details':{'reasoning_tokens':0}}}"));
    assert_string_equal(rs.finish_reason, "tool_calls");
    ad()->release(&rs);
    sy_buf_free(&out);

    /* JSON mode: the forced call is the content */
    sy_buf_reset(&out);
    assert_int_equal(
        respond("{'model':'claude'," USER_HI ",'response_format':{'type':'json_object'}}",
                "{'type':'message','role':'assistant','content':[{'type':'tool_use','id':"
                "'toolu_B','name':'json_response','input':{'a':1,'b':[true]}}],"
                "'stop_reason':'tool_use','usage':{'input_tokens':5,'output_tokens':9}}",
                &rs, &out),
        SY_OK);
    expect_normalised(out.data, out.len,
                      J(COMPLETION_HEAD "'choices':[{'index':0,'message':{'role':'assistant',"
                                        "'content':'{\\'a\\':1,\\'b\\':[true]}'},'logprobs':null,"
                                        "'finish_reason':'stop'}],'usage':{'prompt_tokens':5,"
                                        "'completion_tokens':9,'total_tokens':14,"
                                        "'prompt_tokens_details':{'cached_tokens':0},"
                                        "'completion_tokens_details':{'reasoning_tokens':0}}}"));
    assert_string_equal(rs.finish_reason, "stop");
    ad()->release(&rs);
    sy_buf_free(&out);
}

static void test_response_finish_reasons(void **state)
{
    static const struct {
        const char *anthropic, *openai;
    } cases[] = {
        {"end_turn", "stop"},       {"stop_sequence", "stop"},
        {"max_tokens", "length"},   {"model_context_window_exceeded", "length"},
        {"pause_turn", "length"},   {"refusal", "content_filter"},
        {"tool_use", "tool_calls"}, {"something_new", "stop"},
    };
    for (size_t i = 0; i < SY_ARRAY_LEN(cases); i++) {
        char body[512];
        snprintf(body, sizeof body,
                 "{'type':'message','content':[{'type':'text','text':'x'}],'stop_reason':'%s'}",
                 cases[i].anthropic);
        sy_relay_state rs;
        sy_buf out = {0};
        assert_int_equal(respond("{'model':'claude'," USER_HI "}", body, &rs, &out), SY_OK);
        assert_string_equal(rs.finish_reason, cases[i].openai);
        assert_false(rs.usage.have); /* no usage */
        ad()->release(&rs);
        sy_buf_free(&out);
    }

    /* empty content: null content */
    sy_relay_state rs;
    sy_buf out = {0};
    assert_int_equal(respond("{'model':'claude'," USER_HI "}",
                             "{'type':'message','content':[],'stop_reason':'refusal'}", &rs, &out),
                     SY_OK);
    expect_normalised(out.data, out.len,
                      J(COMPLETION_HEAD "'choices':[{'index':0,'message':{'role':'assistant',"
                                        "'content':null},'logprobs':null,'finish_reason':"
                                        "'content_filter'}]}"));
    ad()->release(&rs);

    /* not a Message */
    static const char *const bad[] = {
        "",
        "[]",
        "{}",
        "{'type':'message','content':{}}",
        "{'type':'error','error':{'type':'api_error','message':'x'},'content':[]}",
        "{'type':'message','content':[",
    };
    for (size_t i = 0; i < SY_ARRAY_LEN(bad); i++) {
        sy_buf_reset(&out);
        assert_int_equal(respond("{'model':'claude'," USER_HI "}", bad[i], &rs, &out),
                         SY_ERR_INVALID);
        ad()->release(&rs);
    }
    sy_buf_free(&out);
}

/* ---- streams */

/* A realistic Messages stream: usage in message_start (cache reads and writes), a ping, a
 * thinking block (not relayed), a text block in pieces, a ping between deltas, and the
 * stop reason and output usage in message_delta; "\r\n" line ends in places. */
static const char text_stream[] =
    "event: message_start\n"
    "data: {\"type\":\"message_start\",\"message\":{\"id\":\"msg_1\",\"type\":\"message\","
    "\"role\":\"assistant\",\"content\":[],\"model\":\"claude-sonnet-4-5\",\"stop_reason\":null,"
    "\"stop_sequence\":null,\"usage\":{\"input_tokens\":25,\"cache_creation_input_tokens\":100,"
    "\"cache_read_input_tokens\":200,\"output_tokens\":1}}}\n\n"
    "event: ping\ndata: {\"type\": \"ping\"}\n\n"
    "event: content_block_start\n"
    "data: {\"type\":\"content_block_start\",\"index\":0,\"content_block\":{\"type\":"
    "\"thinking\",\"thinking\":\"\"}}\n\n"
    "event: content_block_delta\n"
    "data: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"thinking_delta\","
    "\"thinking\":\"Let me see\"}}\n\n"
    "event: content_block_delta\n"
    "data: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":"
    "\"signature_delta\",\"signature\":\"c2ln\"}}\n\n"
    "event: content_block_stop\r\ndata: {\"type\":\"content_block_stop\",\"index\":0}\r\n\r\n"
    "event: content_block_start\n"
    "data: {\"type\":\"content_block_start\",\"index\":1,\"content_block\":{\"type\":\"text\","
    "\"text\":\"\"}}\n\n"
    "event: content_block_delta\n"
    "data: {\"type\":\"content_block_delta\",\"index\":1,\"delta\":{\"type\":\"text_delta\","
    "\"text\":\"The sky\"}}\n\n"
    "event: ping\ndata: {\"type\": \"ping\"}\n\n"
    "event: content_block_delta\n"
    "data: {\"type\":\"content_block_delta\",\"index\":1,\"delta\":{\"type\":\"text_delta\","
    "\"text\":\" is blue \\u00e9\"}}\n\n"
    "event: content_block_delta\n"
    "data: {\"type\":\"content_block_delta\",\"index\":1,\"delta\":{\"type\":\"text_delta\","
    "\"text\":\".\"}}\n\n"
    "event: content_block_stop\ndata: {\"type\":\"content_block_stop\",\"index\":1}\n\n"
    "event: message_delta\n"
    "data: {\"type\":\"message_delta\",\"delta\":{\"stop_reason\":\"end_turn\","
    "\"stop_sequence\":null},\"usage\":{\"output_tokens\":15}}\n\n"
    "event: message_stop\r\ndata: {\"type\":\"message_stop\"}\r\n\r\n";

#define CHUNK_HEAD                                                                                 \
    "{'id':'chatcmpl-X','object':'chat.completion.chunk','created':0,'model':'claude',"
#define ROLE_CHUNK                                                                                 \
    CHUNK_HEAD "'choices':[{'index':0,'delta':{'role':'assistant','content':''},'logprobs':null,"  \
               "'finish_reason':null}]}"
#define CONTENT_CHUNK(text)                                                                        \
    CHUNK_HEAD "'choices':[{'index':0,'delta':{'content':'" text "'},'logprobs':null,"             \
               "'finish_reason':null}]}"
#define FINISH_CHUNK(reason)                                                                       \
    CHUNK_HEAD "'choices':[{'index':0,'delta':{},'logprobs':null,'finish_reason':'" reason "'}]}"

static const char *const text_expected[] = {
    ROLE_CHUNK,
    CONTENT_CHUNK("The sky"),
    CONTENT_CHUNK(" is blue \\u00e9"),
    CONTENT_CHUNK("."),
    FINISH_CHUNK("stop"),
    CHUNK_HEAD "'choices':[],'usage':{'prompt_tokens':325,'completion_tokens':15,"
               "'total_tokens':340,'prompt_tokens_details':{'cached_tokens':200},"
               "'completion_tokens_details':{'reasoning_tokens':0}}}",
    "[DONE]",
};

/* Feed `stream` (len bytes) through the SSE framer in two pieces split at `split` into a
 * fresh translation built from `request` (single-quoted); the client's events into out.
 * `finish`: whether the framer is finished (a cut stream is not). */
static void run_stream_n(const char *request, const char *stream, size_t len, size_t split,
                         int finish, sy_relay_state *rs, sy_buf *out)
{
    built b;
    build(J(request), 1, &b);
    assert_int_equal(b.rc, SY_OK);
    sy_upstream_call_free(&b.call);
    *rs = b.rs;
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

static void run_stream(const char *request, const char *stream, size_t split, sy_relay_state *rs,
                       sy_buf *out)
{
    run_stream_n(request, stream, strlen(stream), split, 1, rs, out);
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
            assert_json_eq(p, (size_t)(nl - p), J(expected[i]));
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

#define STREAM_USAGE_REQ                                                                           \
    "{'model':'claude','stream':true,'stream_options':{'include_usage':true}," USER_HI "}"

static void test_stream_text(void **state)
{
    sy_relay_state rs;
    sy_buf out = {0};
    run_stream(STREAM_USAGE_REQ, text_stream, 0, &rs, &out);
    expect_events(&out, text_expected, SY_ARRAY_LEN(text_expected));
    assert_true(rs.saw_done);
    assert_false(rs.saw_error_event);
    assert_string_equal(rs.finish_reason, "stop");
    assert_int_equal(rs.content_chunks, 3);
    assert_int_equal(rs.content_bytes, 7 + 11 + 1); /* "é" is two bytes */
    assert_int_equal(rs.usage.prompt_tokens, 325);
    assert_int_equal(rs.usage.cached_tokens, 200);
    assert_int_equal(rs.usage.cache_write_tokens, 100);
    assert_int_equal(rs.usage.completion_tokens, 15);
    ad()->release(&rs);

    expect_every_split(STREAM_USAGE_REQ, text_stream);

    /* without stream_options.include_usage: no usage chunk, usage still recorded */
    sy_buf_reset(&out);
    run_stream("{'model':'claude','stream':true," USER_HI "}", text_stream, 0, &rs, &out);
    expect_events(&out,
                  (const char *const[]){text_expected[0], text_expected[1], text_expected[2],
                                        text_expected[3], text_expected[4], "[DONE]"},
                  6);
    assert_true(rs.usage.have);
    assert_int_equal(rs.usage.completion_tokens, 15);
    ad()->release(&rs);
    sy_buf_free(&out);
}

/* Text, then two tool calls whose arguments arrive in pieces (an empty one first). */
static const char tool_stream[] =
    "event: message_start\n"
    "data: {\"type\":\"message_start\",\"message\":{\"id\":\"msg_2\",\"type\":\"message\","
    "\"role\":\"assistant\",\"content\":[],\"stop_reason\":null,\"usage\":{\"input_tokens\":30,"
    "\"output_tokens\":1}}}\n\n"
    "event: content_block_start\n"
    "data: {\"type\":\"content_block_start\",\"index\":0,\"content_block\":{\"type\":\"text\","
    "\"text\":\"\"}}\n\n"
    "event: content_block_delta\n"
    "data: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\","
    "\"text\":\"Checking.\"}}\n\n"
    "event: content_block_stop\ndata: {\"type\":\"content_block_stop\",\"index\":0}\n\n"
    "event: content_block_start\n"
    "data: {\"type\":\"content_block_start\",\"index\":1,\"content_block\":{\"type\":"
    "\"tool_use\",\"id\":\"toolu_A\",\"name\":\"get_weather\",\"input\":{}}}\n\n"
    "event: content_block_delta\n"
    "data: {\"type\":\"content_block_delta\",\"index\":1,\"delta\":{\"type\":"
    "\"input_json_delta\",\"partial_json\":\"\"}}\n\n"
    "event: content_block_delta\n"
    "data: {\"type\":\"content_block_delta\",\"index\":1,\"delta\":{\"type\":"
    "\"input_json_delta\",\"partial_json\":\"{\\\"city\\\": \\\"Pa\"}}\n\n"
    "event: content_block_delta\n"
    "data: {\"type\":\"content_block_delta\",\"index\":1,\"delta\":{\"type\":"
    "\"input_json_delta\",\"partial_json\":\"ris\\\"}\"}}\n\n"
    "event: content_block_stop\ndata: {\"type\":\"content_block_stop\",\"index\":1}\n\n"
    "event: content_block_start\n"
    "data: {\"type\":\"content_block_start\",\"index\":2,\"content_block\":{\"type\":"
    "\"tool_use\",\"id\":\"toolu_B\",\"name\":\"get_weather\",\"input\":{}}}\n\n"
    "event: content_block_delta\n"
    "data: {\"type\":\"content_block_delta\",\"index\":2,\"delta\":{\"type\":"
    "\"input_json_delta\",\"partial_json\":\"{\\\"city\\\":\\\"Rome\\\"}\"}}\n\n"
    "event: content_block_stop\ndata: {\"type\":\"content_block_stop\",\"index\":2}\n\n"
    "event: message_delta\n"
    "data: {\"type\":\"message_delta\",\"delta\":{\"stop_reason\":\"tool_use\","
    "\"stop_sequence\":null},\"usage\":{\"output_tokens\":42,\"cache_read_input_tokens\":"
    "10}}\n\n"
    "event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n";

#define TOOLS_CHUNK(calls)                                                                         \
    CHUNK_HEAD "'choices':[{'index':0,'delta':{'tool_calls':[" calls "]},'logprobs':null,"         \
               "'finish_reason':null}]}"

static void test_stream_tool_call(void **state)
{
    static const char *const expected[] = {
        ROLE_CHUNK,
        CONTENT_CHUNK("Checking."),
        TOOLS_CHUNK("{'index':0,'id':'toolu_A','type':'function','function':{'name':"
                    "'get_weather','arguments':''}}"),
        TOOLS_CHUNK("{'index':0,'function':{'arguments':'{\\'city\\': \\'Pa'}}"),
        TOOLS_CHUNK("{'index':0,'function':{'arguments':'ris\\'}'}}"),
        TOOLS_CHUNK("{'index':1,'id':'toolu_B','type':'function','function':{'name':"
                    "'get_weather','arguments':''}}"),
        TOOLS_CHUNK("{'index':1,'function':{'arguments':'{\\'city\\':\\'Rome\\'}'}}"),
        FINISH_CHUNK("tool_calls"),
        "[DONE]",
    };
    static const char req[] =
        "{'model':'claude','stream':true," USER_HI ",'tools':[" WEATHER_TOOL "]}";
    sy_relay_state rs;
    sy_buf out = {0};
    run_stream(req, tool_stream, 0, &rs, &out);
    expect_events(&out, expected, SY_ARRAY_LEN(expected));
    assert_string_equal(rs.finish_reason, "tool_calls");
    assert_int_equal(rs.content_chunks, 4);
    assert_int_equal(rs.content_bytes, 9 + 12 + 5 + 15);
    /* message_delta may repeat input counters (cumulative): they update the prompt side */
    assert_int_equal(rs.usage.prompt_tokens, 40);
    assert_int_equal(rs.usage.cached_tokens, 10);
    assert_int_equal(rs.usage.completion_tokens, 42);
    ad()->release(&rs);
    sy_buf_free(&out);
    expect_every_split(req, tool_stream);

    /* JSON mode: the forced call's arguments are the content */
    static const char json_stream[] =
        "event: message_start\n"
        "data: {\"type\":\"message_start\",\"message\":{\"usage\":{\"input_tokens\":9,"
        "\"output_tokens\":1}}}\n\n"
        "event: content_block_start\n"
        "data: {\"type\":\"content_block_start\",\"index\":0,\"content_block\":{\"type\":"
        "\"tool_use\",\"id\":\"toolu_J\",\"name\":\"json_response\",\"input\":{}}}\n\n"
        "event: content_block_delta\n"
        "data: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":"
        "\"input_json_delta\",\"partial_json\":\"{\\\"a\\\":\"}}\n\n"
        "event: content_block_delta\n"
        "data: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":"
        "\"input_json_delta\",\"partial_json\":\"1}\"}}\n\n"
        "event: content_block_stop\ndata: {\"type\":\"content_block_stop\",\"index\":0}\n\n"
        "event: message_delta\n"
        "data: {\"type\":\"message_delta\",\"delta\":{\"stop_reason\":\"tool_use\"},"
        "\"usage\":{\"output_tokens\":6}}\n\n"
        "event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n";
    sy_buf_reset(&out);
    run_stream("{'model':'claude','stream':true," USER_HI
               ",'response_format':{'type':'json_object'}}",
               json_stream, 0, &rs, &out);
    expect_events(&out,
                  (const char *const[]){ROLE_CHUNK, CONTENT_CHUNK("{\\'a\\':"), CONTENT_CHUNK("1}"),
                                        FINISH_CHUNK("stop"), "[DONE]"},
                  5);
    assert_string_equal(rs.finish_reason, "stop");
    ad()->release(&rs);
    sy_buf_free(&out);
}

static void test_stream_errors(void **state)
{
    /* an error event mid-stream: an OpenAI-shaped error event, nothing after it */
    static const char stream[] =
        "event: message_start\n"
        "data: {\"type\":\"message_start\",\"message\":{\"usage\":{\"input_tokens\":3,"
        "\"output_tokens\":1}}}\n\n"
        "event: content_block_start\n"
        "data: {\"type\":\"content_block_start\",\"index\":0,\"content_block\":{\"type\":"
        "\"text\",\"text\":\"\"}}\n\n"
        "event: content_block_delta\n"
        "data: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":"
        "\"text_delta\",\"text\":\"Hi\"}}\n\n"
        "event: error\n"
        "data: {\"type\":\"error\",\"error\":{\"type\":\"overloaded_error\",\"message\":"
        "\"Overloaded\"}}\n\n"
        "event: content_block_delta\n"
        "data: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":"
        "\"text_delta\",\"text\":\"more\"}}\n\n"
        "event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n";
    sy_relay_state rs;
    sy_buf out = {0};
    run_stream("{'model':'claude','stream':true," USER_HI "}", stream, 0, &rs, &out);
    expect_events(&out,
                  (const char *const[]){ROLE_CHUNK, CONTENT_CHUNK("Hi"),
                                        "{'error':{'message':'provider reported error 529 "
                                        "mid-stream (overloaded_error): Overloaded','type':"
                                        "'upstream_error','param':null,'code':"
                                        "'upstream_overloaded'}}"},
                  3);
    assert_true(rs.saw_error_event);
    assert_false(rs.saw_done);
    assert_string_equal(rs.finish_reason, "");
    ad()->release(&rs);

    /* an error before anything (the pipeline can still try another arm) */
    sy_buf_reset(&out);
    run_stream("{'model':'claude','stream':true," USER_HI "}",
               "event: error\ndata: {\"type\":\"error\",\"error\":{\"type\":\"rate_limit_error\","
               "\"message\":\"slow down\"}}\n\n",
               0, &rs, &out);
    assert_true(rs.saw_error_event);
    assert_non_null(strstr(out.data, "\"code\":\"upstream_rate_limited\""));
    ad()->release(&rs);

    /* an undecodable first event, and a non-object */
    static const char *const broken[] = {
        "event: message_start\ndata: {\"type\":\"message_start\",\"mess\n\n",
        "data: [DONE]\n\n",
        "data: {\"no_type\":1}\n\n",
    };
    for (size_t i = 0; i < SY_ARRAY_LEN(broken); i++) {
        sy_buf_reset(&out);
        run_stream("{'model':'claude','stream':true," USER_HI "}", broken[i], 0, &rs, &out);
        assert_true(rs.saw_error_event);
        /* one in-band error, never the broken bytes (issue 15) */
        assert_non_null(strstr(out.data, "\"code\":\"upstream_malformed_event\""));
        assert_string_equal(rs.error_sent, "upstream_malformed_event");
        ad()->release(&rs);
    }

    /* unknown event types and hostile indexes are ignored; a message_stop without a stop
     * reason still finishes */
    sy_buf_reset(&out);
    run_stream("{'model':'claude','stream':true," USER_HI "}",
               "event: message_start\ndata: {\"type\":\"message_start\",\"message\":{}}\n\n"
               "event: brand_new\ndata: {\"type\":\"brand_new\",\"x\":1}\n\n"
               "data: {\"type\":\"content_block_start\",\"index\":1e12,\"content_block\":"
               "{\"type\":\"text\",\"text\":\"x\"}}\n\n"
               "data: {\"type\":\"content_block_delta\",\"index\":-1,\"delta\":{\"type\":"
               "\"text_delta\",\"text\":\"x\"}}\n\n"
               "data: {\"type\":\"content_block_delta\",\"index\":7,\"delta\":{\"type\":"
               "\"text_delta\",\"text\":\"unopened\"}}\n\n"
               "data: {\"type\":\"content_block_delta\",\"index\":\"0\"}\n\n"
               "data: {\"type\":\"message_stop\"}\n\n",
               0, &rs, &out);
    expect_events(&out, (const char *const[]){ROLE_CHUNK, FINISH_CHUNK("stop"), "[DONE]"}, 3);
    assert_false(rs.saw_error_event);
    assert_false(rs.usage.have);
    ad()->release(&rs);

    /* deltas of the wrong kind for their block are not relayed */
    sy_buf_reset(&out);
    run_stream("{'model':'claude','stream':true," USER_HI "}",
               "data: {\"type\":\"content_block_start\",\"index\":0,\"content_block\":"
               "{\"type\":\"tool_use\",\"id\":\"toolu_Z\",\"name\":\"f\"}}\n\n"
               "data: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":"
               "\"text_delta\",\"text\":\"not args\"}}\n\n"
               "data: {\"type\":\"content_block_start\",\"index\":1,\"content_block\":"
               "{\"type\":\"text\",\"text\":\"\"}}\n\n"
               "data: {\"type\":\"content_block_delta\",\"index\":1,\"delta\":{\"type\":"
               "\"input_json_delta\",\"partial_json\":\"{}\"}}\n\n"
               "data: {\"type\":\"message_delta\",\"delta\":{\"stop_reason\":\"end_turn\"}}\n\n"
               "data: {\"type\":\"message_stop\"}\n\n",
               0, &rs, &out);
    expect_events(&out,
                  (const char *const[]){TOOLS_CHUNK("{'index':0,'id':'toolu_Z','type':'function',"
                                                    "'function':{'name':'f','arguments':''}}"),
                                        FINISH_CHUNK("tool_calls"), "[DONE]"},
                  3);
    assert_int_equal(rs.content_chunks, 0);
    ad()->release(&rs);
    sy_buf_free(&out);
}

/* ---- errors */

static void map(long status, const char *body, const char *retry_after, sy_mapped_error *e)
{
    memset(e, 0, sizeof *e);
    const char *b = J(body);
    ad()->error(status, b, strlen(b), retry_after, e);
}

static void test_errors(void **state)
{
    sy_mapped_error e;
    map(529, "{'type':'error','error':{'type':'overloaded_error','message':'Overloaded'}}", NULL,
        &e);
    assert_int_equal(e.status, 503);
    assert_string_equal(e.code, "upstream_overloaded");
    assert_true(e.retryable);
    assert_string_equal(e.message.data,
                        "provider returned HTTP 529 (overloaded_error): Overloaded");
    sy_mapped_error_free(&e);

    map(429,
        "{'type':'error','error':{'type':'rate_limit_error','message':'Number of request "
        "tokens has exceeded your per-minute rate limit'},'request_id':'req_1'}",
        "12", &e);
    assert_int_equal(e.status, 429);
    assert_string_equal(e.type, "rate_limit_error");
    assert_string_equal(e.code, "upstream_rate_limited");
    assert_true(e.retryable);
    sy_mapped_error_free(&e);

    /* a spend limit is a 429 too, but waiting does not help */
    map(429,
        "{'type':'error','error':{'type':'rate_limit_error','message':'You have reached your "
        "specified API usage limits.','details':{'error_code':'enforced_spend_limit_reached'}}}",
        NULL, &e);
    assert_int_equal(e.status, 429);
    assert_string_equal(e.code, "upstream_quota_exhausted");
    assert_false(e.retryable);
    sy_mapped_error_free(&e);

    map(400,
        "{'type':'error','error':{'type':'invalid_request_error','message':'messages.0: all "
        "messages must have non-empty content'}}",
        NULL, &e);
    assert_int_equal(e.status, 400);
    assert_string_equal(e.type, "invalid_request_error");
    assert_string_equal(e.code, "upstream_rejected_request");
    assert_false(e.retryable);
    assert_non_null(strstr(e.message.data, "non-empty content"));
    sy_mapped_error_free(&e);

    /* a bad key: never relay the message (it could quote the key) */
    map(401,
        "{'type':'error','error':{'type':'authentication_error','message':'invalid x-api-key "
        "sk-ant-secret-key'}}",
        NULL, &e);
    assert_int_equal(e.status, 502);
    assert_string_equal(e.code, "upstream_auth_failed");
    assert_false(e.retryable);
    assert_null(strstr(e.message.data, "sk-ant"));
    assert_string_equal(e.message.data, "provider returned HTTP 401 (authentication_error)");
    sy_mapped_error_free(&e);
    map(403,
        "{'type':'error','error':{'type':'permission_error','message':'key sk-ant-secret-key'}}",
        NULL, &e);
    assert_int_equal(e.status, 502);
    assert_null(strstr(e.message.data, "sk-ant"));
    sy_mapped_error_free(&e);
    /* a type that is not a plain word is not quoted */
    map(500, "{'type':'error','error':{'type':'Bad Type: sk-ant','message':'boom'}}", NULL, &e);
    assert_string_equal(e.message.data, "provider returned HTTP 500: boom");
    sy_mapped_error_free(&e);

    static const struct {
        long status;
        int mapped;
        const char *code;
        int retryable;
    } cases[] = {
        {404, 502, "upstream_model_not_found", 0}, {500, 502, "upstream_error", 1},
        {504, 504, "upstream_timeout", 1},         {529, 503, "upstream_overloaded", 1},
        {503, 503, "upstream_overloaded", 1},      {413, 413, "upstream_rejected_request", 0},
        {402, 502, "upstream_error", 0},           {429, 429, "upstream_rate_limited", 1},
    };
    for (size_t i = 0; i < SY_ARRAY_LEN(cases); i++) {
        map(cases[i].status, "<html>not json</html>", NULL, &e);
        assert_int_equal(e.status, cases[i].mapped);
        assert_string_equal(e.code, cases[i].code);
        assert_int_equal(e.retryable, cases[i].retryable);
        sy_mapped_error_free(&e);
    }
}

/* ---- cost */

#define MICRO 1e-6

static void assert_usd(double got, double want)
{
    if (fabs(got - want) >= 0.5 * MICRO)
        fail_msg("cost %.9f USD, expected %.9f USD", got, want);
}

/* claude-sonnet-like: 3 in, 0.30 cache read, 3.75 cache write, 15 out per million. */
static const sy_price_cfg sonnet = {
    .input = 3, .cached_input = 0.3, .cache_write = 3.75, .output = 15};

static void test_cost(void **state)
{
    /* non-stream: input 50, cache write 1000, cache read 2000, output 400:
     * 50 × 3 + 2000 × 0.3 + 1000 × 3.75 + 400 × 15 = 150 + 600 + 3750 + 6000 = 10500 µ$ */
    sy_relay_state rs;
    sy_buf out = {0};
    assert_int_equal(
        respond("{'model':'claude'," USER_HI "}",
                "{'type':'message','content':[{'type':'text','text':'ok'}],'stop_reason':"
                "'end_turn','usage':{'input_tokens':50,'cache_creation_input_tokens':1000,"
                "'cache_read_input_tokens':2000,'output_tokens':400}}",
                &rs, &out),
        SY_OK);
    sy_bill bill;
    sy_bill_exchange(&sonnet, &rs, 1, 999, &bill);
    assert_false(bill.estimated);
    assert_usd(bill.cost_usd, 10500 * MICRO);
    ad()->release(&rs);
    sy_buf_free(&out);

    /* the text stream: input 25, cache write 100, cache read 200, output 15:
     * 25 × 3 + 200 × 0.3 + 100 × 3.75 + 15 × 15 = 75 + 60 + 375 + 225 = 735 µ$,
     * the same whether the client asked for the usage chunk or not */
    for (int with_usage = 0; with_usage < 2; with_usage++) {
        run_stream(with_usage ? STREAM_USAGE_REQ : "{'model':'claude','stream':true," USER_HI "}",
                   text_stream, 0, &rs, &out);
        sy_bill_exchange(&sonnet, &rs, 1, 999, &bill);
        assert_false(bill.estimated);
        assert_usd(bill.cost_usd, 735 * MICRO);
        ad()->release(&rs);
        sy_buf_reset(&out);
    }

    /* a stream cut after "The sky" and " is blue é" (before message_delta): the input side
     * is as message_start reported it; output_tokens said 1, but two content events of
     * 7 + 11 bytes went out: completion = max(1, 2, ceil(18 / 4) = 5) = 5.
     * 25 × 3 + 200 × 0.3 + 100 × 3.75 + 5 × 15 = 75 + 60 + 375 + 75 = 585 µ$ */
    const char *cut = strstr(text_stream, "event: content_block_delta\n"
                                          "data: {\"type\":\"content_block_delta\",\"index\":1,"
                                          "\"delta\":{\"type\":\"text_delta\",\"text\":\".\"}}");
    assert_non_null(cut);
    size_t cut_len = (size_t)(cut - text_stream) + 20; /* into the next event */
    for (size_t split = 0; split <= cut_len; split += 97) {
        run_stream_n(STREAM_USAGE_REQ, text_stream, cut_len, split, 0, &rs, &out);
        assert_false(rs.saw_done);
        assert_int_equal(rs.content_chunks, 2);
        sy_bill_exchange(&sonnet, &rs, 0, 4000, &bill);
        assert_true(bill.estimated);
        assert_int_equal(bill.usage.prompt_tokens, 325);
        assert_int_equal(bill.usage.completion_tokens, 5);
        assert_usd(bill.cost_usd, 585 * MICRO);
        ad()->release(&rs);
        sy_buf_reset(&out);
    }

    /* cut before message_start: nothing reported; the prompt is estimated from the
     * request's 410 bytes (103 tokens) and nothing was produced: 103 × 3 = 309 µ$ */
    run_stream_n(STREAM_USAGE_REQ, text_stream, 30, 0, 0, &rs, &out);
    sy_bill_exchange(&sonnet, &rs, 0, 410, &bill);
    assert_true(bill.estimated);
    assert_usd(bill.cost_usd, 309 * MICRO);
    ad()->release(&rs);
    sy_buf_free(&out);
}

/* ---- fake-provider's Anthropic dialect */

static const fp_dialect *const fd = &fp_dialect_anthropic;

static void test_fake_routes(void **state)
{
    assert_int_equal(fd->route("/v1/messages"), FP_ROUTE_CHAT);
    assert_int_equal(fd->route("/v1/messages/count_tokens"), FP_ROUTE_NONE);
    assert_int_equal(fd->route("/v1/chat/completions"), FP_ROUTE_NONE);
    assert_int_equal(fd->route("/v1/models"), FP_ROUTE_NONE); /* the OpenAI dialect's */
    assert_null(fd->parse_path);
    assert_string_equal(fd->auth_header, "x-api-key");
}

/* What the adapter sends, the fake reads. */
static void test_fake_parses_adapter_requests(void **state)
{
    built b;
    build(J("{'model':'claude','max_tokens':7,'tools':[" WEATHER_TOOL "],'messages':["
            "{'role':'system','content':'sys'},"
            "{'role':'user','content':'weather?'}]}"),
          1, &b);
    assert_int_equal(b.rc, SY_OK);
    cJSON *body = cJSON_ParseWithLength(b.call.body.data, b.call.body.len);
    fp_chat c = {0};
    sy_buf err = {0};
    assert_int_equal(fd->parse_chat(body, &c, &err), SY_OK);
    assert_string_equal(c.model, "claude-sonnet-4-5");
    assert_true(c.stream);
    assert_string_equal(c.echo.data, "weather?");
    assert_int_equal(c.prompt_bytes, 3 + 8);
    assert_int_equal(c.max_tokens, 7);
    assert_string_equal(c.tool_name, "get_weather");
    assert_false(c.last_is_tool_result);
    fp_chat_free(&c);
    cJSON_Delete(body);
    built_free(&b);

    build(J("{'model':'claude','tools':[" WEATHER_TOOL "],'tool_choice':'none','messages':["
            "{'role':'user','content':'weather?'},"
            "{'role':'assistant','tool_calls':[{'id':'c1','type':'function',"
            "'function':{'name':'get_weather','arguments':'{}'}}]},"
            "{'role':'tool','tool_call_id':'c1','content':'rain'}]}"),
          0, &b);
    assert_int_equal(b.rc, SY_OK);
    body = cJSON_ParseWithLength(b.call.body.data, b.call.body.len);
    memset(&c, 0, sizeof c);
    assert_int_equal(fd->parse_chat(body, &c, &err), SY_OK);
    assert_true(c.last_is_tool_result);
    assert_null(c.tool_name); /* tool_choice none */
    assert_string_equal(c.echo.data, "weather?");
    assert_int_equal(c.max_tokens, 4096);
    assert_int_equal(c.prompt_bytes, 8 + 4);
    fp_chat_free(&c);
    cJSON_Delete(body);
    built_free(&b);

    /* a forced tool (JSON mode) is the one called */
    build(J("{'model':'claude'," USER_HI ",'response_format':{'type':'json_object'}}"), 0, &b);
    body = cJSON_ParseWithLength(b.call.body.data, b.call.body.len);
    memset(&c, 0, sizeof c);
    assert_int_equal(fd->parse_chat(body, &c, &err), SY_OK);
    assert_string_equal(c.tool_name, "json_response");
    fp_chat_free(&c);
    cJSON_Delete(body);
    built_free(&b);

    static const char *const bad[] = {
        "{}",
        "{'model':'m','messages':[{'role':'user','content':'x'}]}",
        "{'model':'m','max_tokens':0,'messages':[{'role':'user','content':'x'}]}",
        "{'model':'m','max_tokens':5,'messages':[]}",
        "{'model':'m','max_tokens':5,'messages':[{'role':'system','content':'x'}]}",
        "{'model':'m','max_tokens':5,'messages':[{'role':'user','content':''}]}",
        "{'model':'m','max_tokens':5,'messages':[{'role':'user','content':'x'}],'stream':1}",
        "{'model':'m','max_tokens':5,'messages':[{'role':'user','content':'x'}],"
        "'tools':[{'name':'t'}]}",
        "{'model':'m','max_tokens':5,'messages':[{'role':'user','content':'x'}],'system':5}",
    };
    for (size_t i = 0; i < SY_ARRAY_LEN(bad); i++) {
        body = cJSON_Parse(J(bad[i]));
        assert_non_null(body);
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
                     .cache_write_tokens = 2,
                     .completion_tokens = 3};
    strcpy(x.id, "chatcmpl-0123456789abcdef");
    strcpy(x.tool_call_id, "call_0123");
    return x;
}

/* What the fake renders, the adapter reads: a completion, a text stream and a tool-call
 * stream (through the SSE framer), the error event and a malformed event. */
static void test_fake_renders_for_adapter(void **state)
{
    fp_exchange x = exchange();
    sy_buf body = {0}, out = {0};
    fd->render_completion(&x, "Hi there", 8, &body);
    assert_json_eq(body.data, body.len,
                   J("{'id':'msg_0123456789abcdef','type':'message','role':'assistant',"
                     "'model':'fake-small','content':[{'type':'text','text':'Hi there'}],"
                     "'stop_reason':'end_turn','stop_sequence':null,'usage':{'input_tokens':4,"
                     "'cache_creation_input_tokens':2,'cache_read_input_tokens':4,"
                     "'output_tokens':3,'service_tier':'standard'}}"));
    sy_relay_state rs;
    built b;
    build(J("{'model':'claude'," USER_HI "}"), 0, &b);
    sy_upstream_call_free(&b.call);
    rs = b.rs;
    assert_int_equal(ad()->response(body.data, body.len, &rs, &out), SY_OK);
    assert_int_equal(rs.usage.cache_write_tokens, 2);
    expect_normalised(out.data, out.len,
                      J(COMPLETION_HEAD "'choices':[{'index':0,'message':{'role':'assistant',"
                                        "'content':'Hi there'},'logprobs':null,'finish_reason':"
                                        "'stop'}],'usage':{'prompt_tokens':10,"
                                        "'completion_tokens':3,'total_tokens':13,"
                                        "'prompt_tokens_details':{'cached_tokens':4},"
                                        "'completion_tokens_details':{'reasoning_tokens':0}}}"));
    ad()->release(&rs);

    /* truncated text: max_tokens → length */
    x.truncated = 1;
    sy_buf_reset(&body);
    sy_buf_reset(&out);
    fd->render_completion(&x, "Hi", 2, &body);
    assert_non_null(strstr(body.data, "\"stop_reason\":\"max_tokens\""));
    x.truncated = 0;

    /* a text stream: the real event sequence */
    sy_buf_reset(&body);
    fd->render_stream_open(&x, &body);
    fd->render_stream_delta(&x, "Hi", 2, &body);
    fd->render_stream_delta(&x, " there", 6, &body);
    fd->render_stream_close(&x, &body);
    static const char *const order[] = {
        "message_start",       "content_block_start", "ping",          "content_block_delta",
        "content_block_delta", "content_block_stop",  "message_delta", "message_stop"};
    const char *p = body.data;
    for (size_t i = 0; i < SY_ARRAY_LEN(order); i++) {
        char line[64];
        snprintf(line, sizeof line, "event: %s\ndata: {\"type\":\"%s\"", order[i], order[i]);
        p = strstr(p, line);
        if (!p)
            fail_msg("event %zu (%s) missing or out of order:\n%s", i, order[i], body.data);
        p++;
    }
    expect_every_split(STREAM_USAGE_REQ, body.data);
    run_stream(STREAM_USAGE_REQ, body.data, body.len / 2, &rs, &out);
    expect_events(&out,
                  (const char *const[]){
                      ROLE_CHUNK, CONTENT_CHUNK("Hi"), CONTENT_CHUNK(" there"),
                      FINISH_CHUNK("stop"),
                      CHUNK_HEAD "'choices':[],'usage':{'prompt_tokens':10,'completion_tokens':3,"
                                 "'total_tokens':13,'prompt_tokens_details':{'cached_tokens':4},"
                                 "'completion_tokens_details':{'reasoning_tokens':0}}}",
                      "[DONE]"},
                  6);
    ad()->release(&rs);

    /* a tool-call answer, whole and streamed */
    x.tool_name = "get_weather";
    x.tool_args_json = "{\"city\":\"Paris \xc3\xa9\"}";
    sy_buf_reset(&body);
    sy_buf_reset(&out);
    fd->render_completion(&x, "", 0, &body);
    build(J("{'model':'claude'," USER_HI "}"), 0, &b);
    sy_upstream_call_free(&b.call);
    rs = b.rs;
    assert_int_equal(ad()->response(body.data, body.len, &rs, &out), SY_OK);
    assert_string_equal(rs.finish_reason, "tool_calls");
    assert_non_null(strstr(out.data, "\"id\":\"toolu_0123\""));
    assert_non_null(strstr(out.data, "\"arguments\":\"{\\\"city\\\":\\\"Paris \xc3\xa9\\\"}\""));
    ad()->release(&rs);
    sy_buf_reset(&body);
    sy_buf_reset(&out);
    fd->render_stream_open(&x, &body);
    fd->render_stream_tool_call(&x, &body);
    fd->render_stream_close(&x, &body);
    assert_null(strstr(body.data, "\"type\":\"text\"")); /* no text block opened */
    run_stream("{'model':'claude','stream':true," USER_HI "}", body.data, 1, &rs, &out);
    expect_events(
        &out,
        (const char *const[]){ROLE_CHUNK,
                              TOOLS_CHUNK("{'index':0,'id':'toolu_0123','type':'function',"
                                          "'function':{'name':'get_weather','arguments':''}}"),
                              TOOLS_CHUNK("{'index':0,'function':{'arguments':'{\\'city\\':\\''}}"),
                              TOOLS_CHUNK("{'index':0,'function':{'arguments':'Paris "
                                          "\xc3\xa9\\'}'}}"),
                              FINISH_CHUNK("tool_calls"), "[DONE]"},
        6);
    assert_true(rs.saw_done);
    ad()->release(&rs);
    x.tool_name = NULL;

    /* the in-stream error and a malformed event */
    sy_buf_reset(&body);
    sy_buf_reset(&out);
    fd->render_stream_open(&x, &body);
    fd->render_stream_error(&x, &body);
    run_stream("{'model':'claude','stream':true," USER_HI "}", body.data, 0, &rs, &out);
    assert_true(rs.saw_error_event);
    assert_non_null(strstr(out.data, "\"code\":\"upstream_overloaded\""));
    ad()->release(&rs);
    sy_buf_reset(&body);
    sy_buf_reset(&out);
    fd->render_malformed(&x, 1, &body);
    run_stream("{'model':'claude','stream':true," USER_HI "}", body.data, 0, &rs, &out);
    assert_true(rs.saw_error_event);
    ad()->release(&rs);
    sy_buf_reset(&body);
    sy_buf_reset(&out);
    fd->render_malformed(&x, 0, &body);
    build(J("{'model':'claude'," USER_HI "}"), 0, &b);
    sy_upstream_call_free(&b.call);
    rs = b.rs;
    assert_int_equal(ad()->response(body.data, body.len, &rs, &out), SY_ERR_INVALID);
    ad()->release(&rs);
    sy_buf_free(&body);
    sy_buf_free(&out);
}

static void test_fake_errors_for_adapter(void **state)
{
    static const struct {
        fp_error_code code;
        int fake_status, mapped;
        const char *type, *mapped_code;
        int retryable;
    } cases[] = {
        {FP_ERR_OVERLOADED, 529, 503, "overloaded_error", "upstream_overloaded", 1},
        {FP_ERR_RATE_LIMIT, 429, 429, "rate_limit_error", "upstream_rate_limited", 1},
        {FP_ERR_QUOTA, 429, 429, "rate_limit_error", "upstream_quota_exhausted", 0},
        {FP_ERR_SERVER, 500, 502, "api_error", "upstream_error", 1},
        {FP_ERR_UNAVAILABLE, 503, 503, "api_error", "upstream_overloaded", 1},
        {FP_ERR_INJECTED_400, 400, 400, "invalid_request_error", "upstream_rejected_request", 0},
        {FP_ERR_INVALID_REQUEST, 400, 400, "invalid_request_error", "upstream_rejected_request", 0},
        {FP_ERR_UNAUTHORIZED, 401, 502, "authentication_error", "upstream_auth_failed", 0},
        {FP_ERR_MODEL_NOT_FOUND, 404, 502, "not_found_error", "upstream_model_not_found", 0},
    };
    for (size_t i = 0; i < SY_ARRAY_LEN(cases); i++) {
        sy_buf b = {0};
        int status = fd->render_error(cases[i].code, NULL, &b);
        assert_int_equal(status, cases[i].fake_status);
        cJSON *j = cJSON_Parse(b.data);
        assert_string_equal(cJSON_GetObjectItem(j, "type")->valuestring, "error");
        const cJSON *e = cJSON_GetObjectItem(j, "error");
        assert_string_equal(cJSON_GetObjectItem(e, "type")->valuestring, cases[i].type);
        assert_true(cJSON_IsString(cJSON_GetObjectItem(e, "message")));
        cJSON_Delete(j);
        sy_mapped_error m = {0};
        ad()->error(status, b.data, b.len, cases[i].retryable ? "1" : NULL, &m);
        assert_int_equal(m.status, cases[i].mapped);
        assert_string_equal(m.code, cases[i].mapped_code);
        assert_int_equal(m.retryable, cases[i].retryable);
        sy_mapped_error_free(&m);
        sy_buf_free(&b);
    }
    /* a message given by the server replaces the default */
    sy_buf b = {0};
    assert_int_equal(fd->render_error(FP_ERR_MODEL_NOT_FOUND, "model: x \"y\"", &b), 404);
    assert_json_eq(b.data, b.len,
                   J("{'type':'error','error':{'type':'not_found_error','message':"
                     "'model: x \\'y\\''},'request_id':'req_fake'}"));
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
        cmocka_unit_test(test_stream_flag),
        cmocka_unit_test(test_refused_parameters),
        cmocka_unit_test(test_response_text),
        cmocka_unit_test(test_response_tool_use),
        cmocka_unit_test(test_response_finish_reasons),
        cmocka_unit_test(test_stream_text),
        cmocka_unit_test(test_stream_tool_call),
        cmocka_unit_test(test_stream_errors),
        cmocka_unit_test(test_errors),
        cmocka_unit_test(test_cost),
        cmocka_unit_test(test_fake_routes),
        cmocka_unit_test(test_fake_parses_adapter_requests),
        cmocka_unit_test(test_fake_renders_for_adapter),
        cmocka_unit_test(test_fake_errors_for_adapter),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
