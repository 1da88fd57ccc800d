/*
 * Unit tests for the Anthropic Messages ingress (engine/proto/messages_*.c through the
 * sy_ingress object of engine/api/ingress_messages.c).
 *
 * Requests: Messages bodies translated to chat bodies and compared parsed (member order
 * free), refusals naming the member, and the chat body built by every upstream dialect
 * (for the Anthropic dialect the upstream body must say what the client said). Answers:
 * chat.completions as Messages. Errors: statuses to Anthropic types and bodies. Streams:
 * each upstream dialect's SSE bytes (text, then two tool calls), split at every byte,
 * through the adapter and the ingress as the pipeline runs them: the same events for
 * every split, a valid Anthropic event sequence, and the Message an SDK accumulates from
 * it. Cost: the micro-dollars billed and the usage the client sees for one exchange.
 *
 * Expected JSON is written with ' for " (J()).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "cost.h"
#include "ingress.h"
#include "json_test.h"
#include "messages_ingress.h"
#include "provider.h"
#include "sse.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The chat body for the Messages request `in` (J text), which must be accepted. */
static cJSON *to_chat(const char *in)
{
    cJSON *req = cJSON_Parse(J(in));
    if (!req)
        fail_msg("request is not JSON: %s", J(in));
    char param[128];
    const char *why = NULL;
    cJSON *chat = sy_messages_to_chat(req, 1, param, sizeof(param), &why);
    if (!chat)
        fail_msg("refused %s: %s", param, why);
    cJSON_Delete(req);
    return chat;
}

static void expect_chat(const char *in, const char *expected)
{
    cJSON *chat = to_chat(in);
    assert_tree_eq(chat, J(expected));
    cJSON_Delete(chat);
}

/* ---- requests */

#define HI "'messages':[{'role':'user','content':'Hi'}]"

static void test_request_full(void **state)
{
    (void)state;
    expect_chat(
        "{'model':'claude','max_tokens':512,'anthropic_version':null,"
        "'system':[{'type':'text','text':'Be brief.','cache_control':{'type':'ephemeral'}},"
        "{'type':'text','text':'Speak French.'}],"
        "'messages':["
        "{'role':'user','content':[{'type':'text','text':'Weather?'},"
        "{'type':'image','source':{'type':'base64','media_type':'image/png','data':'iVBO'}},"
        "{'type':'image','source':{'type':'url','url':'https://x/y.jpg'}},"
        "{'type':'document','source':{'type':'base64','media_type':'application/pdf',"
        "'data':'JVBE'},'title':'a.pdf'},"
        "{'type':'document','source':{'type':'text','media_type':'text/plain','data':'doc'}}]},"
        "{'role':'assistant','content':[{'type':'thinking','thinking':'hm','signature':'s'},"
        "{'type':'text','text':'Checking.'},"
        "{'type':'tool_use','id':'toolu_1','name':'get_weather','input':{'city':'Zürich'}},"
        "{'type':'tool_use','id':'toolu_2','name':'get_time','input':{}}]},"
        "{'role':'user','content':[{'type':'tool_result','tool_use_id':'toolu_1',"
        "'content':'12 C'},{'type':'tool_result','tool_use_id':'toolu_2','is_error':true,"
        "'content':[{'type':'text','text':'no clock','cache_control':{'type':'ephemeral'}}]},"
        "{'type':'text','text':'Thanks'}]},"
        "{'role':'assistant','content':'It is'}],"
        "'tools':[{'name':'get_weather','description':'Weather','input_schema':{'type':'object',"
        "'properties':{'city':{'type':'string'}}},'cache_control':{'type':'ephemeral'}},"
        "{'type':'custom','name':'get_time','input_schema':{'type':'object'}}],"
        "'tool_choice':{'type':'any','disable_parallel_tool_use':true},"
        "'stop_sequences':['END'],'temperature':0.5,'top_p':0.9,'top_k':40,"
        "'metadata':{'user_id':'u-1'},'service_tier':'auto','thinking':{'type':'disabled'}}",
        "{'model':'claude','messages':["
        "{'role':'system','content':[{'type':'text','text':'Be brief.','cache_control':"
        "{'type':'ephemeral'}},{'type':'text','text':'Speak French.'}]},"
        "{'role':'user','content':[{'type':'text','text':'Weather?'},"
        "{'type':'image_url','image_url':{'url':'data:image/png;base64,iVBO'}},"
        "{'type':'image_url','image_url':{'url':'https://x/y.jpg'}},"
        "{'type':'file','file':{'file_data':'data:application/pdf;base64,JVBE',"
        "'filename':'a.pdf'}},{'type':'text','text':'doc'}]},"
        "{'role':'assistant','content':'Checking.','tool_calls':["
        "{'id':'toolu_1','type':'function','function':{'name':'get_weather',"
        "'arguments':'{\\'city\\':\\'Zürich\\'}'}},"
        "{'id':'toolu_2','type':'function','function':{'name':'get_time','arguments':'{}'}}]},"
        "{'role':'tool','tool_call_id':'toolu_1','content':'12 C'},"
        "{'role':'tool','tool_call_id':'toolu_2','content':[{'type':'text','text':'no clock',"
        "'cache_control':{'type':'ephemeral'}}]},"
        "{'role':'user','content':[{'type':'text','text':'Thanks'}]},"
        "{'role':'assistant','content':'It is'}],"
        "'tools':[{'type':'function','function':{'name':'get_weather','description':'Weather',"
        "'parameters':{'type':'object','properties':{'city':{'type':'string'}}}},"
        "'cache_control':{'type':'ephemeral'}},"
        "{'type':'function','function':{'name':'get_time','parameters':{'type':'object'}}}],"
        "'tool_choice':'required','parallel_tool_calls':false,'max_tokens':512,"
        "'temperature':0.5,'top_p':0.9,'top_k':40,'stop':['END'],'user':'u-1'}");
}

static void test_request_variants(void **state)
{
    (void)state;
    /* a string system prompt; a stream asks for the usage chunk */
    expect_chat("{'model':'m','max_tokens':1,'system':'S','stream':true," HI "}",
                "{'model':'m','messages':[{'role':'system','content':'S'},"
                "{'role':'user','content':'Hi'}],'max_tokens':1,'stream':true,"
                "'stream_options':{'include_usage':true}}");
    /* stream false, an empty system array, empty stop_sequences, user_id null: nothing */
    expect_chat("{'model':'m','max_tokens':1,'system':[],'stream':false,'stop_sequences':[],"
                "'metadata':{'user_id':null}," HI "}",
                "{'model':'m','messages':[{'role':'user','content':'Hi'}],'max_tokens':1}");
    /* tool_choice: auto, none, tool (named) */
    expect_chat("{'model':'m','max_tokens':1,'tool_choice':{'type':'auto'}," HI "}",
                "{'model':'m'," HI ",'max_tokens':1,'tool_choice':'auto'}");
    expect_chat("{'model':'m','max_tokens':1,'tool_choice':{'type':'none',"
                "'disable_parallel_tool_use':true}," HI "}",
                "{'model':'m'," HI ",'max_tokens':1,'tool_choice':'none'}");
    expect_chat("{'model':'m','max_tokens':1,'tool_choice':{'type':'tool','name':'f'}," HI "}",
                "{'model':'m'," HI ",'max_tokens':1,'tool_choice':{'type':'function',"
                "'function':{'name':'f'}}}");
    /* an assistant turn of tool calls only has null content; an empty user array stays */
    expect_chat("{'model':'m','max_tokens':1,'messages':[{'role':'user','content':[]},"
                "{'role':'assistant','content':[{'type':'tool_use','id':'t','name':'f',"
                "'input':{'a':[1,2]}}]},{'role':'user','content':[{'type':'tool_result',"
                "'tool_use_id':'t'}]}]}",
                "{'model':'m','messages':[{'role':'user','content':[]},{'role':'assistant',"
                "'content':null,'tool_calls':[{'id':'t','type':'function','function':{'name':"
                "'f','arguments':'{\\'a\\':[1,2]}'}}]},{'role':'tool','tool_call_id':'t',"
                "'content':''}],'max_tokens':1}");
    /* count_tokens: max_tokens may be absent */
    cJSON *req = cJSON_Parse(J("{'model':'m'," HI "}"));
    char param[64];
    const char *why;
    assert_null(sy_messages_to_chat(req, 1, param, sizeof(param), &why));
    assert_string_equal(param, "max_tokens");
    cJSON *chat = sy_messages_to_chat(req, 0, param, sizeof(param), &why);
    assert_non_null(chat);
    char *s = cJSON_PrintUnformatted(chat);
    assert_int_equal(sy_messages_token_estimate(chat), (int64_t)((strlen(s) + 3) / 4));
    cJSON_free(s);
    cJSON_Delete(chat);
    cJSON_Delete(req);
}

static const struct {
    const char *body, *param;
} refused[] = {
    {"[1]", ""},
    {"{'max_tokens':1," HI "}", "model"},
    {"{'model':'','max_tokens':1," HI "}", "model"},
    {"{'model':'a\xC0\x80"
     "b','max_tokens':1," HI "}",
     "model"}, /* an escaped NUL */
    {"{'model':'m'," HI "}", "max_tokens"},
    {"{'model':'m','max_tokens':0," HI "}", "max_tokens"},
    {"{'model':'m','max_tokens':1.5," HI "}", "max_tokens"},
    {"{'model':'m','max_tokens':'9'," HI "}", "max_tokens"},
    {"{'model':'m','max_tokens':1}", "messages"},
    {"{'model':'m','max_tokens':1,'messages':[]}", "messages"},
    {"{'model':'m','max_tokens':1,'messages':{}}", "messages"},
    {"{'model':'m','max_tokens':1,'messages':[{'role':'system','content':'x'}]}",
     "messages[0].role"},
    {"{'model':'m','max_tokens':1,'messages':[7]}", "messages[0].role"},
    {"{'model':'m','max_tokens':1,'messages':[{'role':'user'}]}", "messages[0].content"},
    {"{'model':'m','max_tokens':1,'messages':[{'role':'user','content':5}]}",
     "messages[0].content"},
    {"{'model':'m','max_tokens':1,'messages':[{'role':'user','content':[{'text':'x'}]}]}",
     "messages[0].content[0]"},
    {"{'model':'m','max_tokens':1,'messages':[{'role':'user','content':[{'type':'text'}]}]}",
     "messages[0].content[0].text"},
    {"{'model':'m','max_tokens':1,'messages':[{'role':'user','content':[{'type':'tool_use',"
     "'id':'a','name':'b','input':{}}]}]}",
     "messages[0].content[0].type"},
    {"{'model':'m','max_tokens':1,'messages':[{'role':'user','content':[{'type':'image',"
     "'source':{'type':'file','file_id':'f'}}]}]}",
     "messages[0].content[0].source"},
    {"{'model':'m','max_tokens':1,'messages':[{'role':'user','content':[{'type':'image',"
     "'source':{'type':'base64','media_type':'image/png;x','data':'A'}}]}]}",
     "messages[0].content[0].source.media_type"},
    {"{'model':'m','max_tokens':1,'messages':[{'role':'user','content':[{'type':'image',"
     "'source':{'type':'base64','media_type':'image/png','data':''}}]}]}",
     "messages[0].content[0].source.data"},
    {"{'model':'m','max_tokens':1,'messages':[{'role':'user','content':[{'type':'document',"
     "'source':{'type':'url','url':'https://x'}}]}]}",
     "messages[0].content[0].source"},
    {"{'model':'m','max_tokens':1,'messages':[{'role':'user','content':[{'type':'tool_result',"
     "'tool_use_id':''}]}]}",
     "messages[0].content[0].tool_use_id"},
    {"{'model':'m','max_tokens':1,'messages':[{'role':'user','content':[{'type':'tool_result',"
     "'tool_use_id':'t','is_error':'yes'}]}]}",
     "messages[0].content[0].is_error"},
    {"{'model':'m','max_tokens':1,'messages':[{'role':'user','content':[{'type':'tool_result',"
     "'tool_use_id':'t','content':[{'type':'image','source':{}}]}]}]}",
     "messages[0].content[0].content[0].type"},
    {"{'model':'m','max_tokens':1,'messages':[{'role':'user','content':[{'type':'tool_result',"
     "'tool_use_id':'t','content':7}]}]}",
     "messages[0].content[0].content"},
    {"{'model':'m','max_tokens':1,'messages':[{'role':'assistant','content':[{'type':'tool_use',"
     "'id':'t','name':'f','input':[1]}]}]}",
     "messages[0].content[0].input"},
    {"{'model':'m','max_tokens':1,'messages':[{'role':'assistant','content':[{'type':'tool_use',"
     "'name':'f'}]}]}",
     "messages[0].content[0].id"},
    {"{'model':'m','max_tokens':1,'messages':[{'role':'assistant','content':[{'type':'tool_use',"
     "'id':'t','name':'f\xC0\x80'}]}]}",
     "messages[0].content[0].name"},
    {"{'model':'m','max_tokens':1,'messages':[{'role':'assistant','content':[{'type':'image',"
     "'source':{}}]}]}",
     "messages[0].content[0].type"},
    {"{'model':'m','max_tokens':1,'system':5," HI "}", "system"},
    {"{'model':'m','max_tokens':1,'system':[{'type':'image'}]," HI "}", "system[0].type"},
    {"{'model':'m','max_tokens':1,'tools':{}," HI "}", "tools"},
    {"{'model':'m','max_tokens':1,'tools':[{'name':'f'}]," HI "}", "tools[0].input_schema"},
    {"{'model':'m','max_tokens':1,'tools':[{'input_schema':{}}]," HI "}", "tools[0].name"},
    {"{'model':'m','max_tokens':1,'tools':[{'type':'web_search_20250305','name':'web_search'}]," HI
     "}",
     "tools[0].type"},
    {"{'model':'m','max_tokens':1,'tools':[{'name':'f','input_schema':{},'description':1}]," HI "}",
     "tools[0].description"},
    {"{'model':'m','max_tokens':1,'tool_choice':'auto'," HI "}", "tool_choice"},
    {"{'model':'m','max_tokens':1,'tool_choice':{'type':'required'}," HI "}", "tool_choice.type"},
    {"{'model':'m','max_tokens':1,'tool_choice':{'type':'tool'}," HI "}", "tool_choice.name"},
    {"{'model':'m','max_tokens':1,'tool_choice':{'type':'any','disable_parallel_tool_use':1}," HI
     "}",
     "tool_choice.disable_parallel_tool_use"},
    {"{'model':'m','max_tokens':1,'temperature':1.5," HI "}", "temperature"},
    {"{'model':'m','max_tokens':1,'top_p':-0.1," HI "}", "top_p"},
    {"{'model':'m','max_tokens':1,'top_k':0," HI "}", "top_k"},
    {"{'model':'m','max_tokens':1,'stop_sequences':'END'," HI "}", "stop_sequences"},
    {"{'model':'m','max_tokens':1,'stop_sequences':['a','b','c','d','e']," HI "}",
     "stop_sequences"},
    {"{'model':'m','max_tokens':1,'stop_sequences':['']," HI "}", "stop_sequences"},
    {"{'model':'m','max_tokens':1,'metadata':[]," HI "}", "metadata"},
    {"{'model':'m','max_tokens':1,'metadata':{'user_id':3}," HI "}", "metadata.user_id"},
    {"{'model':'m','max_tokens':1,'stream':'yes'," HI "}", "stream"},
    {"{'model':'m','max_tokens':1,'thinking':{'type':'enabled','budget_tokens':2048}," HI "}",
     "thinking"},
    {"{'model':'m','max_tokens':1,'service_tier':1," HI "}", "service_tier"},
    {"{'model':'m','max_tokens':1,'mcp_servers':[]," HI "}", "mcp_servers"},
    {"{'model':'m','max_tokens':1,'api_key':'k'," HI "}", "api_key"},
    {"{'model':'m','max_tokens':1,'messages':[{'role':'user','content':'x'}],'n':1}", "n"},
};

static void test_request_refused(void **state)
{
    (void)state;
    for (size_t i = 0; i < SY_ARRAY_LEN(refused); i++) {
        cJSON *req = cJSON_Parse(J(refused[i].body));
        if (!req)
            fail_msg("case %zu is not JSON", i);
        char param[128];
        const char *why = NULL;
        cJSON *chat = sy_messages_to_chat(req, 1, param, sizeof(param), &why);
        if (chat)
            fail_msg("case %zu accepted: %s", i, J(refused[i].body));
        assert_non_null(why);
        if (strcmp(param, refused[i].param) != 0)
            fail_msg("case %zu refused naming '%s' (%s), expected '%s'", i, param, why,
                     refused[i].param);
        cJSON_Delete(req);
    }
}

/* ---- the chat body through each upstream dialect */

static sy_provider_cfg provs[3] = {
    {.name = "o",
     .dialect = SY_DIALECT_OPENAI,
     .base_url = "https://api.openai.com/v1",
     .api_key = "k"},
    {.name = "a",
     .dialect = SY_DIALECT_ANTHROPIC,
     .base_url = "https://api.anthropic.com/v1",
     .api_key = "k"},
    {.name = "g",
     .dialect = SY_DIALECT_GEMINI,
     .base_url = "https://generativelanguage.googleapis.com/v1beta",
     .api_key = "k"},
};
static sy_model_cfg models[3] = {
    {.name = "gpt", .upstream_name = "gpt-4o"},
    {.name = "claude", .upstream_name = "claude-sonnet-4-5"},
    {.name = "gem", .upstream_name = "gemini-2.5-flash"},
};

/* Free an adapter's per-request state (the OpenAI dialect keeps none). */
static void release(const sy_adapter *ad, sy_relay_state *rs)
{
    if (ad->release)
        ad->release(rs);
}

/* Build the chat body of Messages request `in` for dialect d; the upstream body into
 * body (when not NULL); rs is the caller's to release. */
static void build_for(int d, const char *in, int stream, sy_relay_state *rs, sy_buf *body)
{
    cJSON *chat = to_chat(in);
    memset(rs, 0, sizeof(*rs));
    rs->client_model = models[d].name;
    sy_upstream_call call = {0};
    const char *bad = NULL, *why = NULL;
    const sy_adapter *ad = sy_adapter_for(provs[d].dialect);
    if (ad->build(&provs[d], &models[d], chat, stream, rs, &call, &bad, &why) != SY_OK)
        fail_msg("dialect %d refused %s: %s", d, bad ? bad : "-", why ? why : "-");
    if (body)
        sy_buf_append(body, call.body.data, call.body.len);
    sy_upstream_call_free(&call);
    cJSON_Delete(chat);
}

#define ROUND_TRIP                                                                                 \
    "{'model':'claude','max_tokens':300,'system':[{'type':'text','text':'Be brief.',"              \
    "'cache_control':{'type':'ephemeral'}}],'messages':[{'role':'user','content':[{'type':"        \
    "'text','text':'Weather?'},{'type':'image','source':{'type':'base64','media_type':"            \
    "'image/png','data':'iVBO'}}]},{'role':'assistant','content':[{'type':'text','text':"          \
    "'Checking.'},{'type':'tool_use','id':'toolu_1','name':'get_weather','input':{'city':"         \
    "'Paris'}}]},{'role':'user','content':[{'type':'tool_result','tool_use_id':'toolu_1',"         \
    "'content':'12 C'}]}],'tools':[{'name':'get_weather','description':'Weather',"                 \
    "'input_schema':{'type':'object'}}],'tool_choice':{'type':'any',"                              \
    "'disable_parallel_tool_use':true},'stop_sequences':['END'],'temperature':0.5,"                \
    "'top_k':5,'metadata':{'user_id':'u-1'}}"

static void test_request_through_dialects(void **state)
{
    (void)state;
    /* Anthropic upstream: the request it gets says what the client said */
    sy_relay_state rs;
    sy_buf body = {0};
    build_for(1, ROUND_TRIP, 0, &rs, &body);
    assert_json_eq(
        body.data, body.len,
        J("{'model':'claude-sonnet-4-5','max_tokens':300,'temperature':0.5,'top_k':5,"
          "'stop_sequences':['END'],'metadata':{'user_id':'u-1'},'system':[{'type':'text',"
          "'text':'Be brief.','cache_control':{'type':'ephemeral'}}],'messages':[{'role':'user',"
          "'content':[{'type':'text','text':'Weather?'},{'type':'image','source':{'type':"
          "'base64','media_type':'image/png','data':'iVBO'}}]},{'role':'assistant','content':["
          "{'type':'text','text':'Checking.'},{'type':'tool_use','id':'toolu_1','name':"
          "'get_weather','input':{'city':'Paris'}}]},{'role':'user','content':[{'type':"
          "'tool_result','tool_use_id':'toolu_1','content':'12 C'}]}],'tools':[{'name':"
          "'get_weather','description':'Weather','input_schema':{'type':'object'}}],"
          "'tool_choice':{'type':'any','disable_parallel_tool_use':true}}"));
    release(sy_adapter_for(SY_DIALECT_ANTHROPIC), &rs);
    /* OpenAI and Gemini (without top_k, which the OpenAI dialect passes on verbatim) */
    for (int d = 0; d < 3; d += 2) {
        sy_buf_reset(&body);
        build_for(d, ROUND_TRIP, 1, &rs, &body);
        assert_true(body.len > 0);
        /* the call and its result: by id (OpenAI) or by name (Gemini) */
        assert_non_null(strstr(body.data, d == 0 ? "toolu_1" : "functionResponse"));
        assert_non_null(strstr(body.data, "get_weather"));
        release(sy_adapter_for(provs[d].dialect), &rs);
    }
    sy_buf_free(&body);
}

/* ---- answers */

static void expect_answer(const char *chat, const char *expected)
{
    sy_buf out = {0};
    const char *body = J(chat);
    assert_int_equal(sy_messages_answer(body, strlen(body), "req_1", "claude", &out), SY_OK);
    assert_json_eq(out.data, out.len, J(expected));
    sy_buf_free(&out);
}

#define MSG_HEAD "{'id':'req_1','type':'message','role':'assistant','model':'claude',"
#define USAGE(in, cw, cr, out)                                                                     \
    "'usage':{'input_tokens':" #in ",'cache_creation_input_tokens':" #cw                           \
    ",'cache_read_input_tokens':" #cr ",'output_tokens':" #out "}}"

static void test_answers(void **state)
{
    (void)state;
    expect_answer("{'id':'x','object':'chat.completion','model':'gpt','choices':[{'index':0,"
                  "'message':{'role':'assistant','content':'Hello'},'finish_reason':'stop'}],"
                  "'usage':{'prompt_tokens':30,'completion_tokens':5,'prompt_tokens_details':"
                  "{'cached_tokens':20,'cache_write_tokens':4}}}",
                  MSG_HEAD "'content':[{'type':'text','text':'Hello'}],'stop_reason':'end_turn',"
                           "'stop_sequence':null," USAGE(6, 4, 20, 5));
    /* text and two calls; arguments that are not an object become {}; no id → made up */
    expect_answer("{'choices':[{'message':{'role':'assistant','content':'Let me see.',"
                  "'tool_calls':[{'id':'call_1','type':'function','function':{'name':'f',"
                  "'arguments':'{\\'a\\':1}'}},{'type':'function','function':{'name':'g',"
                  "'arguments':'not json'}}]},'finish_reason':'tool_calls'}]}",
                  MSG_HEAD "'content':[{'type':'text','text':'Let me see.'},{'type':'tool_use',"
                           "'id':'call_1','name':'f','input':{'a':1}},{'type':'tool_use','id':"
                           "'toolu_req_1_1','name':'g','input':{}}],'stop_reason':'tool_use',"
                           "'stop_sequence':null," USAGE(0, 0, 0, 0));
    /* finish reasons; a stop with calls is tool_use; a refusal is text */
    expect_answer("{'choices':[{'message':{'content':'ab'},'finish_reason':'length'}]}",
                  MSG_HEAD "'content':[{'type':'text','text':'ab'}],'stop_reason':'max_tokens',"
                           "'stop_sequence':null," USAGE(0, 0, 0, 0));
    expect_answer("{'choices':[{'message':{'content':null,'refusal':'No.'},"
                  "'finish_reason':'content_filter'}]}",
                  MSG_HEAD "'content':[{'type':'text','text':'No.'}],'stop_reason':'refusal',"
                           "'stop_sequence':null," USAGE(0, 0, 0, 0));
    expect_answer("{'choices':[{'message':{'content':'','tool_calls':[{'id':'c','function':{"
                  "'name':'f','arguments':'{}'}}]},'finish_reason':'stop'}]}",
                  MSG_HEAD "'content':[{'type':'tool_use','id':'c','name':'f','input':{}}],"
                           "'stop_reason':'tool_use','stop_sequence':null," USAGE(0, 0, 0, 0));
    /* not a chat completion */
    static const char *const bad[] = {
        "", "[]", "{}", "{\"choices\":[]}", "{\"choices\":[{\"message\":1}]}", "{\"choices\":"};
    for (size_t i = 0; i < SY_ARRAY_LEN(bad); i++) {
        sy_buf out = {0};
        assert_int_equal(sy_messages_answer(bad[i], strlen(bad[i]), "r", "m", &out),
                         SY_ERR_INVALID);
        assert_int_equal(out.len, 0);
    }
}

/* ---- errors */

static void test_errors(void **state)
{
    (void)state;
    static const struct {
        int status;
        const char *type;
    } cases[] = {{400, "invalid_request_error"},
                 {401, "authentication_error"},
                 {402, "billing_error"},
                 {403, "permission_error"},
                 {404, "not_found_error"},
                 {405, "invalid_request_error"},
                 {413, "request_too_large"},
                 {415, "invalid_request_error"},
                 {429, "rate_limit_error"},
                 {500, "api_error"},
                 {502, "api_error"},
                 {503, "overloaded_error"},
                 {504, "timeout_error"},
                 {529, "overloaded_error"}};
    for (size_t i = 0; i < SY_ARRAY_LEN(cases); i++) {
        assert_string_equal(sy_anthropic_error_type(cases[i].status), cases[i].type);
        if (cases[i].status != 405 && cases[i].status != 415 && cases[i].status != 502 &&
            cases[i].status != 503)
            assert_int_equal(sy_anthropic_error_status(cases[i].type), cases[i].status);
    }
    assert_int_equal(sy_anthropic_error_status("new_error"), 500);
    /* the ingress's error body: Anthropic's shape, the message JSON-escaped */
    const sy_ingress *ing = sy_ingress_for_path("/v1/messages");
    assert_non_null(ing);
    assert_ptr_equal(ing, sy_ingress_for_path("/messages"));
    assert_null(sy_ingress_for_path("/v1/messages/count_tokens"));
    sy_buf b = {0};
    ing->error_body(&b, 404, "invalid_request_error", "model_not_found", "model",
                    "The model \"x\" does not exist");
    assert_json_eq(b.data, b.len,
                   J("{'type':'error','error':{'type':'not_found_error','message':"
                     "'model: The model \\'x\\' does not exist'}}"));
    sy_buf_reset(&b);
    ing->error_body(&b, 529, "upstream_error", "upstream_overloaded", NULL, "busy");
    assert_string_equal(b.data, J("{'type':'error','error':{'type':'overloaded_error',"
                                  "'message':'busy'}}"));
    sy_buf_free(&b);
    assert_string_equal(sy_messages_stream_error_type("upstream_overloaded"), "overloaded_error");
    assert_string_equal(sy_messages_stream_error_type("upstream_rate_limited"), "rate_limit_error");
    assert_string_equal(sy_messages_stream_error_type("upstream_idle_timeout"), "timeout_error");
    assert_string_equal(sy_messages_stream_error_type("upstream_stream_cut"), "api_error");
    assert_string_equal(sy_messages_stream_error_type(NULL), "api_error");
}

/* ---- streams */

/* One dialect's upstream stream through its adapter and the ingress, as chat_relay.c and
 * chat_ingress.c run them. */
typedef struct chain {
    const sy_adapter *ad;
    const sy_ingress *ing;
    sy_relay_state rs;
    sy_buf chat; /* the adapter's OpenAI events, not yet split */
    sy_sse_parser chat_sse;
    void *st;
    sy_buf out; /* the client's events */
} chain;

static int on_chat_event(void *ud, const sy_sse_event *ev)
{
    chain *c = ud;
    if (ev->has_data) {
        if (!c->st) {
            sy_ingress_info info = {.id = "req_1", .model = "claude", .created = 1};
            c->st = c->ing->stream_open(&info);
        }
        c->ing->stream_chunk(c->st, ev->data, ev->data_len, &c->out);
    }
    return 0;
}

static int on_upstream_event(void *ud, const sy_sse_event *ev)
{
    chain *c = ud;
    c->ad->stream_event(ev->event, ev->event_len, ev->data, ev->data_len, ev->raw, ev->raw_len,
                        &c->rs, &c->chat);
    sy_sse_feed(&c->chat_sse, c->chat.data, c->chat.len, on_chat_event, c);
    sy_buf_reset(&c->chat);
    return 0;
}

#define TOOL_REQ                                                                                   \
    "{'model':'claude','max_tokens':100,'stream':true,'messages':[{'role':'user','content':"       \
    "'Weather?'}],'tools':[{'name':'get_weather','input_schema':{'type':'object'}},{'name':"       \
    "'get_time','input_schema':{'type':'object'}}]}"

/* The upstream stream of dialect d split at `split`, closed as complete; events in out. */
static void run_chain(int d, const char *up, size_t split, sy_buf *out)
{
    chain c = {.ad = sy_adapter_for(provs[d].dialect), .ing = sy_ingress_for_path("/v1/messages")};
    build_for(d, TOOL_REQ, 1, &c.rs, NULL);
    sy_sse_parser p;
    sy_sse_init(&p, 1 << 20);
    sy_sse_init(&c.chat_sse, 1 << 20);
    size_t len = strlen(up);
    assert_int_equal(sy_sse_feed(&p, up, split, on_upstream_event, &c), 0);
    assert_int_equal(sy_sse_feed(&p, up + split, len - split, on_upstream_event, &c), 0);
    assert_int_equal(sy_sse_finish(&p, on_upstream_event, &c), 0);
    assert_true(c.rs.saw_done || c.rs.finish_reason[0]); /* the pipeline: complete */
    if (!c.st) {
        sy_ingress_info info = {.id = "req_1", .model = "claude", .created = 1};
        c.st = c.ing->stream_open(&info);
    }
    c.ing->stream_close(c.st, NULL, NULL, &c.out);
    c.ing->stream_close(c.st, "upstream_stream_cut", "late", &c.out); /* writes nothing */
    c.ing->stream_free(c.st);
    sy_sse_free(&p);
    sy_sse_free(&c.chat_sse);
    release(c.ad, &c.rs);
    sy_buf_free(&c.chat);
    sy_buf_append(out, c.out.data, c.out.len);
    sy_buf_free(&c.out);
}

/* Generated tool ids ("call_" + 24 hex digits, from the Gemini dialect) masked. */
static void normalise_ids(sy_buf *b)
{
    for (size_t i = 0; i + 31 <= b->len; i++) {
        char *q = b->data + i;
        if (memcmp(q, "\"call_", 6) != 0 || q[30] != '"')
            continue;
        size_t k = 6;
        while (k < 30 && sy_hex_digit((unsigned char)q[k]) >= 0)
            k++;
        if (k == 30)
            memset(q + 6, 'x', 24);
    }
}

/*
 * Check the event grammar an SDK relies on and accumulate the Message as the SDK does:
 * message_start first; each block started at the next index, deltas of its own type to
 * it while open, stopped once; message_delta, then message_stop last. Returns the
 * Message (caller frees).
 */
static cJSON *accumulate(const sy_buf *out)
{
    const char *p = out->data, *end = p + out->len;
    cJSON *msg = NULL;
    sy_buf json[16] = {{0}};
    int open = -1, stopped = 0, deltas = 0;
    while (p < end) {
        const char *nl = strchr(p, '\n'), *e = strstr(p, "\n\n");
        assert_non_null(e);
        assert_memory_equal(p, "event: ", 7);
        assert_memory_equal(nl + 1, "data: ", 6);
        cJSON *ev = cJSON_ParseWithLength(nl + 7, (size_t)(e - nl - 7));
        const cJSON *type = cJSON_GetObjectItemCaseSensitive(ev, "type");
        assert_true(cJSON_IsString(type));
        assert_int_equal(strlen(type->valuestring), (size_t)(nl - p - 7));
        assert_memory_equal(p + 7, type->valuestring, strlen(type->valuestring));
        const char *t = type->valuestring;
        int idx = (int)cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(ev, "index"));
        cJSON *content = cJSON_GetObjectItemCaseSensitive(msg, "content");
        assert_true(msg != NULL || strcmp(t, "message_start") == 0);
        assert_false(stopped);
        if (strcmp(t, "message_start") == 0) {
            assert_null(msg);
            msg = cJSON_Duplicate(cJSON_GetObjectItemCaseSensitive(ev, "message"), 1);
        } else if (strcmp(t, "content_block_start") == 0) {
            assert_int_equal(open, -1);
            assert_int_equal(idx, cJSON_GetArraySize(content));
            assert_true(idx < 16);
            cJSON_AddItemToArray(
                content, cJSON_Duplicate(cJSON_GetObjectItemCaseSensitive(ev, "content_block"), 1));
            open = idx;
        } else if (strcmp(t, "content_block_delta") == 0) {
            assert_int_equal(idx, open);
            const cJSON *d = cJSON_GetObjectItemCaseSensitive(ev, "delta");
            cJSON *blk = cJSON_GetArrayItem(content, idx);
            if (strcmp(cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(d, "type")),
                       "text_delta") == 0) {
                cJSON *tx = cJSON_GetObjectItemCaseSensitive(blk, "text");
                sy_buf s = {0};
                sy_buf_puts(&s, tx->valuestring);
                sy_buf_puts(&s, cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(d, "text")));
                cJSON_SetValuestring(tx, s.data);
                sy_buf_free(&s);
            } else {
                assert_string_equal(
                    cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(blk, "type")),
                    "tool_use");
                sy_buf_puts(&json[idx], cJSON_GetStringValue(
                                            cJSON_GetObjectItemCaseSensitive(d, "partial_json")));
            }
            deltas++;
        } else if (strcmp(t, "content_block_stop") == 0) {
            assert_int_equal(idx, open);
            cJSON *blk = cJSON_GetArrayItem(content, idx);
            if (json[idx].len) {
                cJSON *in = cJSON_Parse(json[idx].data);
                assert_true(cJSON_IsObject(in));
                cJSON_ReplaceItemInObjectCaseSensitive(blk, "input", in);
            }
            open = -1;
        } else if (strcmp(t, "message_delta") == 0) {
            assert_int_equal(open, -1);
            const cJSON *d = cJSON_GetObjectItemCaseSensitive(ev, "delta");
            cJSON_ReplaceItemInObjectCaseSensitive(
                msg, "stop_reason",
                cJSON_Duplicate(cJSON_GetObjectItemCaseSensitive(d, "stop_reason"), 1));
            cJSON_ReplaceItemInObjectCaseSensitive(
                msg, "usage", cJSON_Duplicate(cJSON_GetObjectItemCaseSensitive(ev, "usage"), 1));
        } else if (strcmp(t, "message_stop") == 0) {
            stopped = 1;
        } else {
            fail_msg("unexpected event %s", t);
        }
        cJSON_Delete(ev);
        p = e + 2;
    }
    assert_true(stopped);
    for (int i = 0; i < 16; i++)
        sy_buf_free(&json[i]);
    return msg;
}

/* The three dialects' streams: text, then get_weather {"city":"Zürich"} in pieces, then
 * get_time {}; cache reads 8 of 20 prompt tokens, 12 output tokens. */
#define OA_CHUNK(x)                                                                                \
    "data: {\"id\":\"u\",\"object\":\"chat.completion.chunk\",\"created\":1,\"model\":\"gpt-4o\"," \
    "\"choices\":[{\"index\":0,\"delta\":{" x "},\"finish_reason\":null}]}\n\n"
static const char openai_stream[] = OA_CHUNK("\"role\":\"assistant\",\"content\":\"\"")
    OA_CHUNK("\"content\":\"Let me \"") OA_CHUNK("\"content\":\"check.\"")
        OA_CHUNK("\"tool_calls\":[{\"index\":0,\"id\":\"call_a\",\"type\":"
                 "\"function\",\"function\":{"
                 "\"name\":\"get_weather\",\"arguments\":\"\"}}]")
            OA_CHUNK("\"tool_calls\":[{\"index\":0,\"function\":{\"arguments\":\"{"
                     "\\\"city\\\":\"}}]")
                OA_CHUNK("\"tool_calls\":[{\"index\":0,\"function\":{\"arguments\":"
                         "\"\\\"Zürich\\\"}\"}}]")
                    OA_CHUNK("\"tool_calls\":[{\"index\":1,\"id\":\"call_b\",\"type\":"
                             "\"function\","
                             "\"function\":{\"name\":\"get_time\",\"arguments\":\"{}\"}}"
                             "]") "data: "
                                  "{\"id\":\"u\",\"object\":\"chat.completion.chunk\","
                                  "\"created\":1,\"model\":\"gpt-4o\","
                                  "\"choices\":[{\"index\":0,\"delta\":{},\"finish_"
                                  "reason\":\"tool_calls\"}]}\n\n"
                                  "data: "
                                  "{\"id\":\"u\",\"object\":\"chat.completion.chunk\","
                                  "\"created\":1,\"model\":\"gpt-4o\","
                                  "\"choices\":[],\"usage\":{\"prompt_tokens\":20,"
                                  "\"completion_tokens\":12,\"total_tokens\":32,"
                                  "\"prompt_tokens_details\":{\"cached_tokens\":8}}}\n\n"
                                  "data: [DONE]\n\n";

#define AN_EVENT(name, data) "event: " name "\ndata: " data "\n\n"
static const char anthropic_stream[] = AN_EVENT(
    "message_start",
    "{\"type\":\"message_start\",\"message\":{\"id\":\"msg_1\",\"type\":"
    "\"message\",\"role\":\"assistant\",\"model\":\"claude\",\"content\":"
    "[],\"stop_reason\":null,\"usage\":{\"input_tokens\":10,"
    "\"cache_read_input_tokens\":8,\"cache_creation_input_tokens\":2,"
    "\"output_tokens\":1}}}") AN_EVENT("content_block_start",
                                       "{\"type\":\"content_block_start\",\"index\":0,"
                                       "\"content_block\":{\"type\":\"text\",\"text\":\"\"}}")
    AN_EVENT("ping", "{\"type\":\"ping\"}") AN_EVENT(
        "content_block_delta", "{\"type\":\"content_block_delta\",\"index\":0,\"delta\":{"
                               "\"type\":\"text_delta\",\"text\":\"Let me \"}}")
        AN_EVENT("content_block_delta",
                 "{\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":"
                 "\"text_delta\",\"text\":\"check.\"}}")
            AN_EVENT("content_block_stop", "{\"type\":\"content_block_stop\",\"index\":0}")
                AN_EVENT("content_block_start",
                         "{\"type\":\"content_block_start\",\"index\":1,"
                         "\"content_block\":{\"type\":\"tool_use\",\"id\":\"call_a\","
                         "\"name\":\"get_weather\",\"input\":{}}}")
                    AN_EVENT("content_block_delta",
                             "{\"type\":\"content_block_delta\",\"index\":1,\"delta\":{"
                             "\"type\":\"input_json_delta\",\"partial_json\":"
                             "\"{\\\"city\\\":\"}}")
                        AN_EVENT("content_block_delta",
                                 "{\"type\":\"content_block_delta\",\"index\":1,\"delta\":{"
                                 "\"type\":\"input_json_delta\",\"partial_json\":"
                                 "\"\\\"Zürich\\\"}\"}}") AN_EVENT("content_block_stop",
                                                                   "{\"type\":\"content_block_"
                                                                   "stop\",\"index\":1}")
                            AN_EVENT("content_block_start",
                                     "{\"type\":\"content_block_start\",\"index\":2,"
                                     "\"content_block\":{\"type\":\"tool_use\",\"id\":\"call_b\","
                                     "\"name\":\"get_time\",\"input\":{}}}")
                                AN_EVENT("content_block_stop",
                                         "{\"type\":\"content_block_stop\",\"index\":2}")
                                    AN_EVENT(
                                        "message_delta",
                                        "{\"type\":\"message_delta\",\"delta\":{\"stop_reason\":"
                                        "\"tool_use\",\"stop_sequence\":null},\"usage\":{"
                                        "\"output_tokens\":12}}")
                                        AN_EVENT("message_stop", "{\"type\":\"message_stop\"}");

static const char gemini_stream[] =
    "data: {\"candidates\":[{\"content\":{\"parts\":[{\"text\":\"Let me \"}],\"role\":\"model\"},"
    "\"index\":0}]}\r\n\r\n"
    "data: {\"candidates\":[{\"content\":{\"parts\":[{\"text\":\"check.\"}],\"role\":\"model\"},"
    "\"index\":0}]}\r\n\r\n"
    "data: {\"candidates\":[{\"content\":{\"parts\":[{\"functionCall\":{\"name\":\"get_weather\","
    "\"args\":{\"city\":\"Zürich\"}}},{\"functionCall\":{\"name\":\"get_time\",\"args\":{}}}],"
    "\"role\":\"model\"},\"finishReason\":\"STOP\",\"index\":0}],\"usageMetadata\":{"
    "\"promptTokenCount\":20,\"candidatesTokenCount\":12,\"totalTokenCount\":32,"
    "\"cachedContentTokenCount\":8}}\r\n\r\n";

/* The Message an SDK accumulates from every dialect's stream (cache writes only from
 * Anthropic, which reports them). */
#define STREAMED_MESSAGE(cw, in)                                                                   \
    "{'id':'req_1','type':'message','role':'assistant','model':'claude','content':[{'type':"       \
    "'text','text':'Let me check.'},{'type':'tool_use','id':'call_a','name':'get_weather',"        \
    "'input':{'city':'Zürich'}},{'type':'tool_use','id':'call_b','name':'get_time','input':{}}]," \
    "'stop_reason':'tool_use','stop_sequence':null,'usage':{'input_tokens':" #in                   \
    ",'cache_creation_input_tokens':" #cw ",'cache_read_input_tokens':8,'output_tokens':12}}"

static void test_streams_every_dialect(void **state)
{
    (void)state;
    const char *const streams[3] = {openai_stream, anthropic_stream, gemini_stream};
    for (int d = 0; d < 3; d++) {
        sy_buf ref = {0};
        run_chain(d, streams[d], 0, &ref);
        normalise_ids(&ref);
        size_t len = strlen(streams[d]);
        for (size_t split = 1; split < len; split++) {
            sy_buf o = {0};
            run_chain(d, streams[d], split, &o);
            normalise_ids(&o);
            if (o.len != ref.len || memcmp(o.data, ref.data, o.len) != 0)
                fail_msg("dialect %d, split at %zu differs:\n%s\nvs\n%s", d, split, o.data,
                         ref.data);
            sy_buf_free(&o);
        }
        cJSON *msg = accumulate(&ref);
        if (d == 2) { /* Gemini's calls have no ids: the dialect makes them up */
            cJSON *content = cJSON_GetObjectItemCaseSensitive(msg, "content");
            cJSON_SetValuestring(
                cJSON_GetObjectItemCaseSensitive(cJSON_GetArrayItem(content, 1), "id"), "call_a");
            cJSON_SetValuestring(
                cJSON_GetObjectItemCaseSensitive(cJSON_GetArrayItem(content, 2), "id"), "call_b");
        }
        assert_tree_eq(msg, d == 1 ? J(STREAMED_MESSAGE(2, 10)) : J(STREAMED_MESSAGE(0, 12)));
        cJSON_Delete(msg);
        sy_buf_free(&ref);
    }
}

/* The OpenAI dialect's events one by one: the exact sequence. */
static void test_stream_events_exact(void **state)
{
    (void)state;
    sy_buf out = {0};
    run_chain(0, openai_stream, 0, &out);
    const char *expected =
        "event: message_start\ndata: {'type':'message_start','message':{'id':'req_1','type':"
        "'message','role':'assistant','model':'claude','content':[],'stop_reason':null,"
        "'stop_sequence':null,'usage':{'input_tokens':0,'cache_creation_input_tokens':0,"
        "'cache_read_input_tokens':0,'output_tokens':0}}}\n\n"
        "event: content_block_start\ndata: {'type':'content_block_start','index':0,"
        "'content_block':{'type':'text','text':''}}\n\n"
        "event: content_block_delta\ndata: {'type':'content_block_delta','index':0,'delta':"
        "{'type':'text_delta','text':'Let me '}}\n\n"
        "event: content_block_delta\ndata: {'type':'content_block_delta','index':0,'delta':"
        "{'type':'text_delta','text':'check.'}}\n\n"
        "event: content_block_stop\ndata: {'type':'content_block_stop','index':0}\n\n"
        "event: content_block_start\ndata: {'type':'content_block_start','index':1,"
        "'content_block':{'type':'tool_use','id':'call_a','name':'get_weather','input':{}}}\n\n"
        "event: content_block_delta\ndata: {'type':'content_block_delta','index':1,'delta':"
        "{'type':'input_json_delta','partial_json':'{\\'city\\':'}}\n\n"
        "event: content_block_delta\ndata: {'type':'content_block_delta','index':1,'delta':"
        "{'type':'input_json_delta','partial_json':'\\'Zürich\\'}'}}\n\n"
        "event: content_block_stop\ndata: {'type':'content_block_stop','index':1}\n\n"
        "event: content_block_start\ndata: {'type':'content_block_start','index':2,"
        "'content_block':{'type':'tool_use','id':'call_b','name':'get_time','input':{}}}\n\n"
        "event: content_block_delta\ndata: {'type':'content_block_delta','index':2,'delta':"
        "{'type':'input_json_delta','partial_json':'{}'}}\n\n"
        "event: content_block_stop\ndata: {'type':'content_block_stop','index':2}\n\n"
        "event: message_delta\ndata: {'type':'message_delta','delta':{'stop_reason':'tool_use',"
        "'stop_sequence':null},'usage':{'input_tokens':12,'cache_creation_input_tokens':0,"
        "'cache_read_input_tokens':8,'output_tokens':12}}\n\n"
        "event: message_stop\ndata: {'type':'message_stop'}\n\n";
    assert_string_equal(out.data, J(expected));
    sy_buf_free(&out);
}

/* Cut streams and in-band errors: one error event after what was sent, nothing after. */
static void test_stream_errors(void **state)
{
    (void)state;
    const sy_ingress *ing = sy_ingress_for_path("/v1/messages");
    sy_ingress_info info = {.id = "req_2", .model = "m"};
    sy_buf out = {0};
    void *st = ing->stream_open(&info);
    const char *c1 = "{\"choices\":[{\"index\":0,\"delta\":{\"content\":\"Hi\"}}]}";
    ing->stream_chunk(st, c1, strlen(c1), &out);
    ing->stream_close(st, "upstream_idle_timeout", "the provider stalled", &out);
    ing->stream_close(st, NULL, NULL, &out);
    ing->stream_chunk(st, c1, strlen(c1), &out);
    const char *tail = strstr(out.data, "event: error\n");
    assert_non_null(tail);
    assert_string_equal(tail, J("event: error\ndata: {'type':'error','error':{'type':"
                                "'timeout_error','message':'the provider stalled'}}\n\n"));
    ing->stream_free(st);
    sy_buf_reset(&out);
    /* an in-band chat error (the adapter's) becomes the error event */
    st = ing->stream_open(&info);
    const char *e = "{\"error\":{\"message\":\"provider reported error 529 mid-stream\","
                    "\"type\":\"upstream_error\",\"param\":null,\"code\":\"upstream_overloaded\"}}";
    ing->stream_chunk(st, e, strlen(e), &out);
    ing->stream_chunk(st, c1, strlen(c1), &out);
    ing->stream_close(st, NULL, NULL, &out);
    assert_string_equal(out.data, J("event: error\ndata: {'type':'error','error':{'type':"
                                    "'overloaded_error','message':'provider reported error 529 "
                                    "mid-stream'}}\n\n"));
    ing->stream_free(st);
    sy_buf_reset(&out);
    /* an empty complete stream: a well-formed empty message; garbage is ignored */
    st = ing->stream_open(&info);
    ing->stream_chunk(st, "nope", 4, &out);
    ing->stream_chunk(st, "[DONE]", 6, &out);
    ing->stream_close(st, NULL, NULL, &out);
    cJSON *msg = accumulate(&out);
    assert_tree_eq(msg, J("{'id':'req_2','type':'message','role':'assistant','model':'m',"
                          "'content':[],'stop_reason':'end_turn','stop_sequence':null,"
                          "'usage':{'input_tokens':0,'cache_creation_input_tokens':0,"
                          "'cache_read_input_tokens':0,'output_tokens':0}}"));
    cJSON_Delete(msg);
    ing->stream_free(st);
    sy_buf_free(&out);
}

/* ---- cost */

/*
 * One exchange with an Anthropic upstream: 1000 input tokens, 4000 read from the cache,
 * 2000 written to it, 300 output at $3 / $0.30 / $3.75 / $15 per million:
 * 1000×3 + 4000×0.3 + 2000×3.75 + 300×15 = 3000 + 1200 + 7500 + 4500 = 16200 µ$; the
 * client sees Anthropic's own four counters back.
 */
static void test_cost_exact(void **state)
{
    (void)state;
    sy_relay_state rs;
    build_for(1, "{'model':'claude','max_tokens':10," HI "}", 0, &rs, NULL);
    const char *up = "{\"id\":\"msg_1\",\"type\":\"message\",\"role\":\"assistant\",\"content\":"
                     "[{\"type\":\"text\",\"text\":\"Hello\"}],\"stop_reason\":\"end_turn\","
                     "\"usage\":{\"input_tokens\":1000,\"cache_read_input_tokens\":4000,"
                     "\"cache_creation_input_tokens\":2000,\"output_tokens\":300}}";
    sy_buf chat = {0}, out = {0};
    const sy_adapter *ad = sy_adapter_for(SY_DIALECT_ANTHROPIC);
    assert_int_equal(ad->response(up, strlen(up), &rs, &chat), SY_OK);
    sy_price_cfg price = {.input = 3, .cached_input = 0.3, .cache_write = 3.75, .output = 15};
    sy_bill bill;
    sy_bill_exchange(&price, &rs, 1, 100, &bill);
    assert_false(bill.estimated);
    assert_int_equal((int64_t)(bill.cost_usd * 1e6 + 0.5), 16200);
    assert_true(bill.cost_usd == 16200 / 1e6);
    const sy_ingress *ing = sy_ingress_for_path("/v1/messages");
    sy_ingress_info info = {.id = "req_3", .model = "claude"};
    assert_int_equal(ing->answer(chat.data, chat.len, &info, &out), SY_OK);
    assert_json_eq(out.data, out.len,
                   J("{'id':'req_3','type':'message','role':'assistant','model':'claude',"
                     "'content':[{'type':'text','text':'Hello'}],'stop_reason':'end_turn',"
                     "'stop_sequence':null,'usage':{'input_tokens':1000,"
                     "'cache_creation_input_tokens':2000,'cache_read_input_tokens':4000,"
                     "'output_tokens':300}}"));
    release(ad, &rs);
    sy_buf_free(&chat);
    sy_buf_free(&out);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_request_full),
        cmocka_unit_test(test_request_variants),
        cmocka_unit_test(test_request_refused),
        cmocka_unit_test(test_request_through_dialects),
        cmocka_unit_test(test_answers),
        cmocka_unit_test(test_errors),
        cmocka_unit_test(test_streams_every_dialect),
        cmocka_unit_test(test_stream_events_exact),
        cmocka_unit_test(test_stream_errors),
        cmocka_unit_test(test_cost_exact),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
