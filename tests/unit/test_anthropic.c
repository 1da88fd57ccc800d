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

#define DIALECT_ID SY_DIALECT_ANTHROPIC
static sy_provider_cfg prov = {.name = "a",
                               .dialect = DIALECT_ID,
                               .base_url = "https://api.anthropic.com/v1",
                               .api_key = "sk-ant-secret-key"};
static sy_model_cfg model = {.name = "claude", .upstream_name = "claude-sonnet-4-5"};

#define DIALECT_CLIENT_MODEL "claude"
#define DIALECT_SINGLE_QUOTES
#include "dialect_cases.h"

/* ---- requests */

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

#define WEATHER_TOOL                                                                               \
    "{'type':'function','function':{'name':'get_weather','description':'Weather now',"             \
    "'parameters':{'type':'object','properties':{'city':{'type':'string'}},"                       \
    "'required':['city'],'additionalProperties':false},'strict':true}}"
#define WEATHER_DECL                                                                               \
    "{'name':'get_weather','description':'Weather now','input_schema':{'type':'object',"           \
    "'properties':{'city':{'type':'string'}},'required':['city'],'additionalProperties':false}}"
#define NOOP_DECL "{'name':'noop','input_schema':{'type':'object','properties':{}}}"

/* "Hi" with more members after a comma, and its upstream body with more members */
#define REQ_HI(more)    "{'model':'claude'," USER_HI more "}"
#define EXP_HI(more)    "{" HEAD MSGS_HI more "}"
#define REQ_TOOLS(more) REQ_HI(",'tools':[" WEATHER_TOOL "]," more)
#define EXP_TOOLS(more) EXP_HI(",'tools':[" WEATHER_DECL "]" more)
#define REFUSED(member, param)                                                                     \
    {                                                                                              \
        REQ_HI("," member), NULL, param                                                            \
    }

static const request_case request_cases[] = {
    /* shape 1: plain; max_tokens defaults to 4096 */
    {"{'model':'claude'," USER_HI "}", "{" HEAD MSGS_HI "}"},
    /* shape 2: system and developer → system blocks wherever they appear; sampling
     * parameters; user → metadata.user_id; no-op values and bookkeeping accepted */
    {"{'model':'claude','messages':[{'role':'system','content':'Be terse.'},"
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
     "'temperature':0.5,'top_p':0.9,'top_k':40,'metadata':{'user_id':'u-1'}}"},
    /* shape 3: safety_identifier wins over user; max_completion_tokens alone */
    {"{'model':'claude'," USER_HI ",'user':'u','safety_identifier':'s-9',"
     "'max_completion_tokens':7}",
     "{'model':'claude-sonnet-4-5','max_tokens':7," MSGS_HI ",'metadata':{'user_id':'s-9'}}"},
    /* shape 4: consecutive turns of one role merge; refusal parts and empty text are
     * left out; an assistant message with nothing in it vanishes; a final assistant
     * message (prefill) stays */
    {"{'model':'claude','messages':["
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
     "{'role':'assistant','content':[{'type':'text','text':'Why'}]}]}"},
    /* shape 5: tools; strict dropped; no parameters → the empty object schema */
    {"{'model':'claude'," USER_HI ",'tools':[" WEATHER_TOOL
     ",{'type':'function','function':{'name':'noop'}}]}",
     "{" HEAD MSGS_HI ",'tools':[" WEATHER_DECL "," NOOP_DECL "]}"},
    /* shapes 6-11: tool_choice variants and parallel_tool_calls */
    {REQ_TOOLS("'tool_choice':'auto'"), EXP_TOOLS(",'tool_choice':{'type':'auto'}")},
    {REQ_TOOLS("'tool_choice':'none'"), EXP_TOOLS(",'tool_choice':{'type':'none'}")},
    {REQ_TOOLS("'tool_choice':'required'"), EXP_TOOLS(",'tool_choice':{'type':'any'}")},
    {REQ_TOOLS("'tool_choice':{'type':'function','function':{'name':'get_weather'}}"),
     EXP_TOOLS(",'tool_choice':{'type':'tool','name':'get_weather'}")},
    {REQ_TOOLS("'parallel_tool_calls':false"),
     EXP_TOOLS(",'tool_choice':{'type':'auto','disable_parallel_tool_use':true}")},
    {REQ_TOOLS("'tool_choice':'required','parallel_tool_calls':false"),
     EXP_TOOLS(",'tool_choice':{'type':'any','disable_parallel_tool_use':true}")},
    {REQ_TOOLS("'tool_choice':'none','parallel_tool_calls':false"),
     EXP_TOOLS(",'tool_choice':{'type':'none'}")},
    {REQ_TOOLS("'parallel_tool_calls':true"), EXP_TOOLS("")},
    /* without tools "auto" and "none" say nothing; "required" cannot be honoured */
    {"{'model':'claude'," USER_HI ",'tools':[],'tool_choice':'none'}", "{" HEAD MSGS_HI "}"},
    {"{'model':'claude'," USER_HI ",'tool_choice':'auto','parallel_tool_calls':false}",
     "{" HEAD MSGS_HI "}"},
    {"{'model':'claude'," USER_HI ",'tool_choice':'required'}", NULL, "tool_choice"},
    {"{'model':'claude'," USER_HI ",'tools':[" WEATHER_TOOL
     "],'tool_choice':{'type':'allowed_tools'}}",
     NULL, "tool_choice"},
    {"{'model':'claude'," USER_HI
     ",'tools':[{'type':'function','function':{'name':'json_response'}}]}",
     NULL, "tools[0].function.name"},
    /* shape 12: two parallel calls and their results: tool_use blocks with the call ids
     * (characters Anthropic refuses become '_', alike on both sides), both tool_result
     * blocks in one user turn, then the next user text merged after them */
    {"{'model':'claude','tools':[" WEATHER_TOOL "],'messages':["
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
     "'tools':[" WEATHER_DECL "]}"},
    /* arguments that are not a JSON object's text: 400 naming the field */
    {"{'model':'claude','messages':[{'role':'user','content':'x'},"
     "{'role':'assistant','tool_calls':[{'id':'c','type':'function',"
     "'function':{'name':'f','arguments':'{not json'}}]}]}",
     NULL, "messages[1].tool_calls[0].function.arguments"},
    {"{'model':'claude','messages':[{'role':'user','content':'x'},"
     "{'role':'assistant','tool_calls':[{'id':'c','type':'function',"
     "'function':{'name':'f','arguments':'[1]'}}]}]}",
     NULL, "messages[1].tool_calls[0].function.arguments"},
    {"{'model':'claude','messages':[{'role':'user','content':'x'},"
     "{'role':'assistant','tool_calls':[{'type':'function',"
     "'function':{'name':'f','arguments':'{}'}}]}]}",
     NULL, "messages[1].tool_calls[0].id"},
    {"{'model':'claude','messages':[{'role':'user','content':'x'},"
     "{'role':'tool','content':'1'}]}",
     NULL, "messages[1].tool_call_id"},
    /* shape 13: images by URL and base64, a PDF file; detail dropped, cache_control kept */
    {"{'model':'claude','messages':[{'role':'user','content':["
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
     "'data':'JVBERi0='}}]}]}"},
    {"{'model':'claude','messages':[{'role':'user','content':["
     "{'type':'image_url','image_url':{'url':'data:image/bmp;base64,Qk0='}}]}]}",
     NULL, "messages[0].content[0].image_url.url"},
    {"{'model':'claude','messages':[{'role':'user','content':["
     "{'type':'text','text':'x'},"
     "{'type':'image_url','image_url':{'url':'ftp://example.com/a.png'}}]}]}",
     NULL, "messages[0].content[1].image_url.url"},
    {"{'model':'claude','messages':[{'role':'user','content':["
     "{'type':'image_url','image_url':{'url':'data:image/png,abc'}}]}]}",
     NULL, "messages[0].content[0].image_url.url"},
    {"{'model':'claude','messages':[{'role':'user','content':["
     "{'type':'input_audio','input_audio':{'data':'UklGRg==','format':'wav'}}]}]}",
     NULL, "messages[0].content[0].type"},
    {"{'model':'claude','messages':[{'role':'user','content':["
     "{'type':'file','file':{'file_id':'file-abc'}}]}]}",
     NULL, "messages[0].content[0].file"},
    /* shape 14: stop sequences */
    {"{'model':'claude'," USER_HI ",'stop':'END'}", "{" HEAD MSGS_HI ",'stop_sequences':['END']}"},
    {"{'model':'claude'," USER_HI ",'stop':['a','b','c','d']}",
     "{" HEAD MSGS_HI ",'stop_sequences':['a','b','c','d']}"},
    {"{'model':'claude'," USER_HI ",'stop':[]}", "{" HEAD MSGS_HI "}"},
    {"{'model':'claude'," USER_HI ",'stop':['a',1]}", NULL, "stop[1]"},
    {"{'model':'claude'," USER_HI ",'stop':5}", NULL, "stop"},
    /* shape 15: json_object → a forced call of json_response taking any object */
    {"{'model':'claude'," USER_HI ",'response_format':{'type':'json_object'}}",
     "{" HEAD MSGS_HI ",'tools':[{'name':'json_response','description':'Give the "
     "answer as this tool\\u0027s input: a JSON object.','input_schema':{'type':"
     "'object'}}],'tool_choice':{'type':'tool','name':'json_response'}}"},
    /* shape 16: json_schema → the schema as the input schema */
    {"{'model':'claude'," USER_HI ",'response_format':{'type':'json_schema',"
     "'json_schema':{'name':'r','description':'The result','strict':true,"
     "'schema':{'type':'object','properties':{'a':{'type':'integer'}},"
     "'additionalProperties':false}}}}",
     "{" HEAD MSGS_HI ",'tools':[{'name':'json_response','description':'The result',"
     "'input_schema':{'type':'object','properties':{'a':{'type':'integer'}},"
     "'additionalProperties':false}}],'tool_choice':{'type':'tool','name':"
     "'json_response'}}"},
    {"{'model':'claude'," USER_HI ",'response_format':{'type':'text'}}", "{" HEAD MSGS_HI "}"},
    {"{'model':'claude'," USER_HI ",'response_format':{'type':'xml'}}", NULL,
     "response_format.type"},
    {"{'model':'claude'," USER_HI ",'tools':[" WEATHER_TOOL "],"
     "'response_format':{'type':'json_object'}}",
     NULL, "response_format"},
    {"{'model':'claude'," USER_HI ",'response_format':{'type':'json_schema',"
     "'json_schema':{'name':'r','schema':{'type':'array'}}}}",
     NULL, "response_format.json_schema.schema"},
    /* shape 17: a streamed request says so in the body; stream_options stay here */
    {"{'model':'claude','stream':true,'stream_options':{'include_usage':true},"
     "'max_tokens':10," USER_HI "}",
     "{'model':'claude-sonnet-4-5','max_tokens':10,'stream':true," MSGS_HI "}", NULL, 1},
    /* shape 18: stream off: no stream member */
    {"{'model':'claude','stream':false," USER_HI "}", "{" HEAD MSGS_HI "}", NULL, 0},
    /* parameters Anthropic cannot honour */
    REFUSED("'n':2", "n"),
    REFUSED("'seed':42", "seed"),
    REFUSED("'presence_penalty':0.5", "presence_penalty"),
    REFUSED("'frequency_penalty':-1", "frequency_penalty"),
    REFUSED("'logprobs':true", "logprobs"),
    REFUSED("'top_logprobs':3", "top_logprobs"),
    REFUSED("'logit_bias':{'50256':-100}", "logit_bias"),
    REFUSED("'reasoning_effort':'high'", "reasoning_effort"),
    REFUSED("'modalities':['text','audio']", "modalities"),
    REFUSED("'functions':[{'name':'f'}]", "functions"),
    REFUSED("'audio':{'voice':'alloy'}", "audio"),
    REFUSED("'frobnicate':1", "frobnicate"),
    REFUSED("'temperature':1.5", "temperature"),
    REFUSED("'top_p':'x'", "top_p"),
    REFUSED("'top_k':0", "top_k"),
    REFUSED("'max_tokens':0", "max_tokens"),
    REFUSED("'user':5", "user"),
    REFUSED("'tools':[{'type':'custom','custom':{'name':'x'}}]", "tools[0].type"),
    /* a null member is absent */
    {"{'model':'claude'," USER_HI ",'seed':null,'functions':null,'temperature':null}",
     "{" HEAD MSGS_HI "}"},
    {"{'model':'claude','messages':[{'role':'system','content':'x'}]}", NULL, "messages"},
    {"{'model':'claude','messages':[{'role':'function','content':'x'}]}", NULL, "messages[0].role"},
    {"{'model':'claude','messages':[{'role':'user','content':5}]}", NULL, "messages[0].content"},
};

/* ---- responses */

#define COMPLETION_HEAD                                                                            \
    "{'id':'chatcmpl-X','object':'chat.completion','created':0,'model':'claude',"
/* a Message "x" stopping for `reason` */
#define FINISH(reason, openai)                                                                     \
    FINISH_CASE(REQ_HI(""),                                                                        \
                "{'type':'message','content':[{'type':'text','text':'x'}],'stop_reason':'" reason  \
                "'}",                                                                              \
                openai)
#define NOT_A_MESSAGE(body) INVALID_RESPONSE(REQ_HI(""), body)

static const response_case response_cases[] = {
    /* text after a thinking block (not relayed); usage with cache reads and writes */
    {REQ_HI(""),
     "{'id':'msg_01','type':'message','role':'assistant','model':'claude-sonnet-4-5',"
     "'content':[{'type':'thinking','thinking':'Hmm','signature':'c2ln'},"
     "{'type':'text','text':'Hello '},{'type':'text','text':'there.'}],"
     "'stop_reason':'end_turn','stop_sequence':null,'usage':{'input_tokens':50,"
     "'cache_creation_input_tokens':1000,'cache_read_input_tokens':2000,"
     "'output_tokens':400,'service_tier':'standard'}}",
     SY_OK,
     COMPLETION_HEAD "'choices':[{'index':0,'message':{'role':'assistant',"
                     "'content':'Hello there.'},'logprobs':null,"
                     "'finish_reason':'stop'}],'usage':{'prompt_tokens':3050,"
                     "'completion_tokens':400,'total_tokens':3450,"
                     "'prompt_tokens_details':{'cached_tokens':2000,'cache_write_tokens':1000},"
                     "'completion_tokens_details':{'reasoning_tokens':0}}}",
     "have=1 prompt=3050 cached=2000 write=1000 completion=400 finish=stop"},
    /* tool_use blocks: their ids kept, or one generated */
    {REQ_HI(",'tools':[" WEATHER_TOOL "]"),
     "{'id':'msg_02','type':'message','role':'assistant','content':["
     "{'type':'text','text':'Checking.'},"
     "{'type':'tool_use','id':'toolu_A','name':'get_weather','input':{'city':'Paris'}},"
     "{'type':'tool_use','name':'get_weather','input':{'city':'Rome'}}],"
     "'stop_reason':'tool_use','usage':{'input_tokens':57,'output_tokens':20}}",
     SY_OK,
     COMPLETION_HEAD "'choices':[{'index':0,'message':{'role':'assistant','content':"
                     "'Checking.','tool_calls':[{'id':'toolu_A','type':'function',"
                     "'function':{'name':'get_weather','arguments':'{\\'city\\':"
                     "\\'Paris\\'}'}},{'id':'call_X','type':'function','function':{"
                     "'name':'get_weather','arguments':'{\\'city\\':\\'Rome\\'}'}}]},"
                     "'logprobs':null,'finish_reason':'tool_calls'}],'usage':{"
                     "'prompt_tokens':57,'completion_tokens':20,'total_tokens':77,"
                     "'prompt_tokens_details':{'cached_tokens':0},"
                     "'completion_tokens_details':{'reasoning_tokens':0}}}",
     "finish=tool_calls"},
    /* JSON mode: the forced call is the content */
    {REQ_HI(",'response_format':{'type':'json_object'}"),
     "{'type':'message','role':'assistant','content':[{'type':'tool_use','id':"
     "'toolu_B','name':'json_response','input':{'a':1,'b':[true]}}],"
     "'stop_reason':'tool_use','usage':{'input_tokens':5,'output_tokens':9}}",
     SY_OK,
     COMPLETION_HEAD "'choices':[{'index':0,'message':{'role':'assistant',"
                     "'content':'{\\'a\\':1,\\'b\\':[true]}'},'logprobs':null,"
                     "'finish_reason':'stop'}],'usage':{'prompt_tokens':5,"
                     "'completion_tokens':9,'total_tokens':14,"
                     "'prompt_tokens_details':{'cached_tokens':0},"
                     "'completion_tokens_details':{'reasoning_tokens':0}}}",
     "finish=stop"},
    FINISH("end_turn", "stop"),
    FINISH("stop_sequence", "stop"),
    FINISH("max_tokens", "length"),
    FINISH("model_context_window_exceeded", "length"),
    FINISH("pause_turn", "length"),
    FINISH("refusal", "content_filter"),
    FINISH("tool_use", "tool_calls"),
    FINISH("something_new", "stop"),
    /* empty content: null content */
    {REQ_HI(""), "{'type':'message','content':[],'stop_reason':'refusal'}", SY_OK,
     COMPLETION_HEAD "'choices':[{'index':0,'message':{'role':'assistant',"
                     "'content':null},'logprobs':null,'finish_reason':"
                     "'content_filter'}]}"},
    /* not a Message */
    NOT_A_MESSAGE(""),
    NOT_A_MESSAGE("[]"),
    NOT_A_MESSAGE("{}"),
    NOT_A_MESSAGE("{'type':'message','content':{}}"),
    NOT_A_MESSAGE("{'type':'error','error':{'type':'api_error','message':'x'},'content':[]}"),
    NOT_A_MESSAGE("{'type':'message','content':["),
};

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

#define TEXT_EVENTS                                                                                \
    ROLE_CHUNK, CONTENT_CHUNK("The sky"), CONTENT_CHUNK(" is blue \\u00e9"), CONTENT_CHUNK("."),   \
        FINISH_CHUNK("stop")

#define STREAM_USAGE_REQ                                                                           \
    "{'model':'claude','stream':true,'stream_options':{'include_usage':true}," USER_HI "}"

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

/* JSON mode: the forced call's arguments arrive in pieces */
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

#define STREAM_REQ(more) "{'model':'claude','stream':true," USER_HI more "}"

static const stream_case stream_cases[] = {
    /* text; every split point gives the same events ("é" is two bytes) */
    {STREAM_USAGE_REQ, text_stream,
     EVENTS(TEXT_EVENTS,
            CHUNK_HEAD "'choices':[],'usage':{'prompt_tokens':325,'completion_tokens':15,"
                       "'total_tokens':340,'prompt_tokens_details':{'cached_tokens':200,"
                       "'cache_write_tokens':100},"
                       "'completion_tokens_details':{'reasoning_tokens':0}}}",
            "[DONE]"),
     .relay = "done=1 error=0 finish=stop chunks=3 bytes=19 prompt=325 cached=200 write=100 "
              "completion=15",
     .every_split = 1},
    /* without stream_options.include_usage: no usage chunk, usage still recorded */
    {STREAM_REQ(""), text_stream, EVENTS(TEXT_EVENTS, "[DONE]"), .relay = "have=1 completion=15"},
    /* text and two tool calls; message_delta may repeat input counters (cumulative): they
     * update the prompt side */
    {STREAM_REQ(",'tools':[" WEATHER_TOOL "]"), tool_stream,
     EVENTS(ROLE_CHUNK, CONTENT_CHUNK("Checking."),
            TOOLS_CHUNK("{'index':0,'id':'toolu_A','type':'function','function':{'name':"
                        "'get_weather','arguments':''}}"),
            TOOLS_CHUNK("{'index':0,'function':{'arguments':'{\\'city\\': \\'Pa'}}"),
            TOOLS_CHUNK("{'index':0,'function':{'arguments':'ris\\'}'}}"),
            TOOLS_CHUNK("{'index':1,'id':'toolu_B','type':'function','function':{'name':"
                        "'get_weather','arguments':''}}"),
            TOOLS_CHUNK("{'index':1,'function':{'arguments':'{\\'city\\':\\'Rome\\'}'}}"),
            FINISH_CHUNK("tool_calls"), "[DONE]"),
     .relay = "finish=tool_calls chunks=4 bytes=41 prompt=40 cached=10 completion=42",
     .every_split = 1},
    /* JSON mode: the forced call's arguments are the content */
    {STREAM_REQ(",'response_format':{'type':'json_object'}"), json_stream,
     EVENTS(ROLE_CHUNK, CONTENT_CHUNK("{\\'a\\':"), CONTENT_CHUNK("1}"), FINISH_CHUNK("stop"),
            "[DONE]"),
     .relay = "finish=stop"},
    /* an error event mid-stream: an OpenAI-shaped error event, nothing after it */
    {STREAM_REQ(""),
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
     "event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n",
     EVENTS(ROLE_CHUNK, CONTENT_CHUNK("Hi"),
            "{'error':{'message':'provider reported error 529 mid-stream (overloaded_error): "
            "Overloaded','type':'upstream_error','param':null,'code':'upstream_overloaded'}}"),
     .relay = "error=1 done=0 finish="},
    /* an error before anything (the pipeline can still try another arm) */
    {STREAM_REQ(""),
     "event: error\ndata: {\"type\":\"error\",\"error\":{\"type\":\"rate_limit_error\","
     "\"message\":\"slow down\"}}\n\n",
     .relay = "error=1", .contains = "\"code\":\"upstream_rate_limited\""},
    /* an undecodable first event, and a non-object */
    {STREAM_REQ(""), "event: message_start\ndata: {\"type\":\"message_start\",\"mess\n\n",
     .relay = "error=1", .contains = "\"code\":\"upstream_malformed_event\""},
    {STREAM_REQ(""), "data: [DONE]\n\n", .relay = "error=1",
     .contains = "\"code\":\"upstream_malformed_event\""},
    {STREAM_REQ(""), "data: {\"no_type\":1}\n\n", .relay = "error=1",
     .contains = "\"code\":\"upstream_malformed_event\""},
    /* unknown event types and hostile indexes are ignored; a message_stop without a stop
     * reason still finishes */
    {STREAM_REQ(""),
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
     EVENTS(ROLE_CHUNK, FINISH_CHUNK("stop"), "[DONE]"), .relay = "error=0 have=0"},
    /* deltas of the wrong kind for their block are not relayed */
    {STREAM_REQ(""),
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
     EVENTS(TOOLS_CHUNK("{'index':0,'id':'toolu_Z','type':'function',"
                        "'function':{'name':'f','arguments':''}}"),
            FINISH_CHUNK("tool_calls"), "[DONE]"),
     .relay = "chunks=0"},
};

/* ---- errors */

#define STATUS_ONLY(status, mapped)                                                                \
    {                                                                                              \
        status, "<html>not json</html>", NULL, mapped                                              \
    }

static const error_case error_cases[] = {
    {529, "{'type':'error','error':{'type':'overloaded_error','message':'Overloaded'}}", NULL,
     "status=503 code=upstream_overloaded retryable=1",
     "provider returned HTTP 529 (overloaded_error): Overloaded"},
    {429,
     "{'type':'error','error':{'type':'rate_limit_error','message':'Number of request "
     "tokens has exceeded your per-minute rate limit'},'request_id':'req_1'}",
     "12", "status=429 type=rate_limit_error code=upstream_rate_limited retryable=1"},
    /* a spend limit is a 429 too, but waiting does not help */
    {429,
     "{'type':'error','error':{'type':'rate_limit_error','message':'You have reached your "
     "specified API usage limits.','details':{'error_code':'enforced_spend_limit_reached'}}}",
     NULL, "status=429 code=upstream_quota_exhausted retryable=0"},
    {400,
     "{'type':'error','error':{'type':'invalid_request_error','message':'messages.0: all "
     "messages must have non-empty content'}}",
     NULL, "status=400 type=invalid_request_error code=upstream_rejected_request retryable=0",
     .has = "non-empty content"},
    /* a bad key: never relay the message (it could quote the key) */
    {401,
     "{'type':'error','error':{'type':'authentication_error','message':'invalid x-api-key "
     "sk-ant-secret-key'}}",
     NULL, "status=502 code=upstream_auth_failed retryable=0",
     "provider returned HTTP 401 (authentication_error)", .lacks = "sk-ant"},
    {403, "{'type':'error','error':{'type':'permission_error','message':'key sk-ant-secret-key'}}",
     NULL, "status=502", .lacks = "sk-ant"},
    /* a type that is not a plain word is not quoted */
    {500, "{'type':'error','error':{'type':'Bad Type: sk-ant','message':'boom'}}", NULL, "",
     "provider returned HTTP 500: boom"},
    /* bodies that are not Anthropic errors: the status decides */
    STATUS_ONLY(404, "status=502 code=upstream_model_not_found retryable=0"),
    STATUS_ONLY(500, "status=502 code=upstream_error retryable=1"),
    STATUS_ONLY(504, "status=504 code=upstream_timeout retryable=1"),
    STATUS_ONLY(529, "status=503 code=upstream_overloaded retryable=1"),
    STATUS_ONLY(503, "status=503 code=upstream_overloaded retryable=1"),
    STATUS_ONLY(413, "status=413 code=upstream_rejected_request retryable=0"),
    STATUS_ONLY(402, "status=502 code=upstream_error retryable=0"),
    STATUS_ONLY(429, "status=429 code=upstream_rate_limited retryable=1"),
};

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

static const route_case route_cases[] = {
    {"/v1/messages", FP_ROUTE_CHAT},
    {"/v1/messages/count_tokens", FP_ROUTE_NONE},
    {"/v1/chat/completions", FP_ROUTE_NONE},
    {"/v1/models", FP_ROUTE_NONE}, /* the OpenAI dialect's */
};

/* The dialect has one path: no model in it; the key comes in x-api-key. */
static void test_fake_paths(void **state)
{
    assert_null(fd->parse_path);
    assert_string_equal(fd->auth_header, "x-api-key");
}

static const fake_parse_case fake_parse_cases[] = {
    {"{'model':'claude','max_tokens':7,'tools':[" WEATHER_TOOL "],'messages':["
     "{'role':'system','content':'sys'},"
     "{'role':'user','content':'weather?'}]}",
     1,
     "model=claude-sonnet-4-5 stream=1 echo=weather? prompt_bytes=11 max_tokens=7 "
     "tool=get_weather last_tool=0"},
    /* tool_choice none: no tool */
    {"{'model':'claude','tools':[" WEATHER_TOOL "],'tool_choice':'none','messages':["
     "{'role':'user','content':'weather?'},"
     "{'role':'assistant','tool_calls':[{'id':'c1','type':'function',"
     "'function':{'name':'get_weather','arguments':'{}'}}]},"
     "{'role':'tool','tool_call_id':'c1','content':'rain'}]}",
     0, "last_tool=1 tool=(null) echo=weather? max_tokens=4096 prompt_bytes=12"},
    /* a forced tool (JSON mode) is the one called */
    {REQ_HI(",'response_format':{'type':'json_object'}"), 0, "tool=json_response"},
};

static const char *const fake_bad_requests[] = {
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

/* What the fake renders, the adapter reads: a completion, a text stream and a tool-call
 * stream (through the SSE framer), the error event and a malformed event. */
static void test_fake_renders_for_adapter(void **state)
{
    fp_exchange x = fake_exchange(2);
    sy_buf body = {0}, out = {0};
    fd->render_completion(&x, "Hi there", 8, &body);
    assert_json_eq(body.data, body.len,
                   J("{'id':'msg_0123456789abcdef','type':'message','role':'assistant',"
                     "'model':'fake-small','content':[{'type':'text','text':'Hi there'}],"
                     "'stop_reason':'end_turn','stop_sequence':null,'usage':{'input_tokens':4,"
                     "'cache_creation_input_tokens':2,'cache_read_input_tokens':4,"
                     "'output_tokens':3,'service_tier':'standard'}}"));
    sy_relay_state rs;
    assert_int_equal(respond_raw(REQ_HI(""), body.data, body.len, &rs, &out), SY_OK);
    assert_int_equal(rs.usage.cache_write_tokens, 2);
    expect_normalised(out.data, out.len,
                      J(COMPLETION_HEAD "'choices':[{'index':0,'message':{'role':'assistant',"
                                        "'content':'Hi there'},'logprobs':null,'finish_reason':"
                                        "'stop'}],'usage':{'prompt_tokens':10,"
                                        "'completion_tokens':3,'total_tokens':13,"
                                        "'prompt_tokens_details':{'cached_tokens':4,"
                                        "'cache_write_tokens':2},"
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
    render_text_stream(fd, &x, &body);
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
                                 "'total_tokens':13,'prompt_tokens_details':{'cached_tokens':4,"
                                 "'cache_write_tokens':2},"
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
    assert_int_equal(respond_raw(REQ_HI(""), body.data, body.len, &rs, &out), SY_OK);
    assert_string_equal(rs.finish_reason, "tool_calls");
    assert_non_null(strstr(out.data, "\"id\":\"toolu_0123\""));
    assert_non_null(strstr(out.data, "\"arguments\":\"{\\\"city\\\":\\\"Paris \xc3\xa9\\\"}\""));
    ad()->release(&rs);
    sy_buf_reset(&out);
    render_tool_stream(fd, &x, &body);
    assert_null(strstr(body.data, "\"type\":\"text\"")); /* no text block opened */
    run_stream(STREAM_REQ(""), body.data, 1, &rs, &out);
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
    expect_fake_stream_errors(fd, &x, STREAM_REQ(""), 1, "\"code\":\"upstream_overloaded\"");
    sy_buf_reset(&body);
    sy_buf_reset(&out);
    fd->render_malformed(&x, 0, &body);
    assert_int_equal(respond_raw(REQ_HI(""), body.data, body.len, &rs, &out), SY_ERR_INVALID);
    ad()->release(&rs);
    sy_buf_free(&body);
    sy_buf_free(&out);
}

/* An Anthropic error body: type "error", the error's type as the case says, a message. */
static void check_fake_error_body(const cJSON *j, int status, const fake_error_case *c)
{
    assert_string_equal(cJSON_GetObjectItem(j, "type")->valuestring, "error");
    const cJSON *e = cJSON_GetObjectItem(j, "error");
    assert_string_equal(cJSON_GetObjectItem(e, "type")->valuestring, c->type);
    assert_true(cJSON_IsString(cJSON_GetObjectItem(e, "message")));
}

/* retryable ones are given a Retry-After */
static const fake_error_case fake_error_cases[] = {
    {FP_ERR_OVERLOADED, 529, "overloaded_error", "1",
     "status=503 code=upstream_overloaded retryable=1"},
    {FP_ERR_RATE_LIMIT, 429, "rate_limit_error", "1",
     "status=429 code=upstream_rate_limited retryable=1"},
    {FP_ERR_QUOTA, 429, "rate_limit_error", NULL,
     "status=429 code=upstream_quota_exhausted retryable=0"},
    {FP_ERR_SERVER, 500, "api_error", "1", "status=502 code=upstream_error retryable=1"},
    {FP_ERR_UNAVAILABLE, 503, "api_error", "1", "status=503 code=upstream_overloaded retryable=1"},
    {FP_ERR_INJECTED_400, 400, "invalid_request_error", NULL,
     "status=400 code=upstream_rejected_request retryable=0"},
    {FP_ERR_INVALID_REQUEST, 400, "invalid_request_error", NULL,
     "status=400 code=upstream_rejected_request retryable=0"},
    {FP_ERR_UNAUTHORIZED, 401, "authentication_error", NULL,
     "status=502 code=upstream_auth_failed retryable=0"},
    {FP_ERR_MODEL_NOT_FOUND, 404, "not_found_error", NULL,
     "status=502 code=upstream_model_not_found retryable=0"},
};

/* A message given by the server replaces the default. */
static void test_fake_error_text(void **state)
{
    sy_buf b = {0};
    assert_int_equal(fd->render_error(FP_ERR_MODEL_NOT_FOUND, "model: x \"y\"", &b), 404);
    assert_json_eq(b.data, b.len,
                   J("{'type':'error','error':{'type':'not_found_error','message':"
                     "'model: x \\'y\\''},'request_id':'req_fake'}"));
    sy_buf_free(&b);
}

DIALECT_SUITE(fp_dialect_anthropic);

DIALECT_MAIN(cmocka_unit_test(test_url_and_headers), cmocka_unit_test(test_cost),
             cmocka_unit_test(test_fake_paths), cmocka_unit_test(test_fake_renders_for_adapter),
             cmocka_unit_test(test_fake_error_text))
