/*
 * test_responses: OpenAI's Responses API at the gateway (engine/proto/responses*.c and
 * engine/providers/provider_responses.c). Requests: every translated member and every
 * refusal with the parameter it names. Answers: text, tool calls, refusal, truncation,
 * usage. Streams: chat chunks from each upstream dialect's adapter (OpenAI, Anthropic,
 * Gemini) through the Responses event translation, with the upstream bytes split at
 * every byte into two feeds, which must not change a byte of the output; the native
 * relay likewise. Cost: exact micro-dollars from the usage of both paths.
 * Test texts use ' for " (J()).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include "cost.h"
#include "json_test.h"
#include "provider.h"
#include "responses.h"
#include "sse.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const sy_responses_meta META = {.id = "req_T", .model = "m", .created = 1700000000};

/* ---- requests */

static void expect_chat(const char *request, const char *expected)
{
    cJSON *in = cJSON_Parse(J(request));
    assert_non_null(in);
    const char *param = NULL;
    char why[256] = "";
    cJSON *out = sy_responses_to_chat(in, &param, why, sizeof(why));
    if (!out)
        fail_msg("refused (%s: %s): %s", param ? param : "-", why, J(request));
    char *s = cJSON_PrintUnformatted(out);
    assert_json_eq(s, strlen(s), J(expected));
    free(s);
    cJSON_Delete(out);
    cJSON_Delete(in);
}

static void expect_refused(const char *request, const char *param_expected, const char *why_has)
{
    cJSON *in = cJSON_Parse(J(request));
    assert_non_null(in);
    const char *param = NULL;
    char why[256] = "";
    cJSON *out = sy_responses_to_chat(in, &param, why, sizeof(why));
    if (out)
        fail_msg("accepted: %s", J(request));
    if (!param || strcmp(param, param_expected) != 0)
        fail_msg("refused naming '%s', expected '%s'", param ? param : "(null)", param_expected);
    if (!strstr(why, why_has))
        fail_msg("reason '%s' does not say '%s'", why, why_has);
    cJSON_Delete(in);
}

static void test_request_text(void **state)
{
    (void)state;
    expect_chat("{'model':'m','input':'hi','instructions':'be brief'}",
                "{'model':'m','messages':[{'role':'system','content':'be brief'},"
                "{'role':'user','content':'hi'}]}");
    expect_chat("{'model':'m','input':'hi','stream':true,'max_output_tokens':50,"
                "'temperature':0.5,'top_p':0.9,'user':'u1','metadata':{'conversation_id':'c'},"
                "'parallel_tool_calls':false,'reasoning':{'effort':'low'},'store':false,"
                "'include':['reasoning.encrypted_content'],'truncation':'disabled'}",
                "{'model':'m','messages':[{'role':'user','content':'hi'}],'temperature':0.5,"
                "'top_p':0.9,'user':'u1','metadata':{'conversation_id':'c'},"
                "'parallel_tool_calls':false,'max_completion_tokens':50,"
                "'reasoning_effort':'low','stream':true,'stream_options':{'include_usage':true}}");
    expect_chat("{'model':'m','input':'x','text':{'format':{'type':'json_schema','name':'r',"
                "'schema':{'type':'object'},'strict':true}}}",
                "{'model':'m','messages':[{'role':'user','content':'x'}],'response_format':"
                "{'type':'json_schema','json_schema':{'name':'r','schema':{'type':'object'},"
                "'strict':true}}}");
    expect_chat("{'model':'m','input':'x','text':{'format':{'type':'json_object'}}}",
                "{'model':'m','messages':[{'role':'user','content':'x'}],'response_format':"
                "{'type':'json_object'}}");
    expect_chat("{'model':'m','input':'x','text':{'format':{'type':'text'}}}",
                "{'model':'m','messages':[{'role':'user','content':'x'}]}");
    /* a prompt of the gateway's registry: the chat pipeline renders it; input optional */
    expect_chat("{'prompt':{'id':'support','version':2,'variables':{'a':'b'}}}",
                "{'messages':[],'prompt':{'id':'support','version':2,'variables':{'a':'b'}}}");
}

static void test_request_items(void **state)
{
    (void)state;
    /* messages with parts, then a tool round trip: the assistant's text and its calls
     * become one assistant message; outputs become tool messages */
    expect_chat("{'model':'m','input':["
                "{'role':'developer','content':'rules'},"
                "{'type':'message','role':'user','content':[{'type':'input_text','text':'look'},"
                "{'type':'input_image','image_url':'https://x/i.png','detail':'low'}]},"
                "{'type':'message','role':'assistant','content':[{'type':'output_text','text':'ok',"
                "'annotations':[]}]},"
                "{'type':'function_call','call_id':'c1','name':'f','arguments':'{}'},"
                "{'type':'function_call','call_id':'c2','name':'g','arguments':'{\\'a\\':1}'},"
                "{'type':'reasoning','id':'rs_1','summary':[]},"
                "{'type':'function_call_output','call_id':'c1','output':'r1'},"
                "{'type':'function_call_output','call_id':'c2','output':[{'type':'input_text',"
                "'text':'r2'}]},"
                "{'type':'function_call','call_id':'c3','name':'f','arguments':''}]}",
                "{'model':'m','messages':["
                "{'role':'system','content':'rules'},"
                "{'role':'user','content':[{'type':'text','text':'look'},{'type':'image_url',"
                "'image_url':{'url':'https://x/i.png','detail':'low'}}]},"
                "{'role':'assistant','content':'ok','tool_calls':["
                "{'id':'c1','type':'function','function':{'name':'f','arguments':'{}'}},"
                "{'id':'c2','type':'function','function':{'name':'g','arguments':'{\\'a\\':1}'}}]},"
                "{'role':'tool','tool_call_id':'c1','content':'r1'},"
                "{'role':'tool','tool_call_id':'c2','content':'r2'},"
                "{'role':'assistant','content':null,'tool_calls':[{'id':'c3','type':'function',"
                "'function':{'name':'f','arguments':''}}]}]}");
}

static void test_request_tools(void **state)
{
    (void)state;
    expect_chat("{'model':'m','input':'x','tools':[{'type':'function','name':'f',"
                "'description':'d','parameters':{'type':'object'},'strict':true}],"
                "'tool_choice':{'type':'function','name':'f'}}",
                "{'model':'m','messages':[{'role':'user','content':'x'}],'tools':[{'type':"
                "'function','function':{'name':'f','description':'d','parameters':{'type':"
                "'object'},'strict':true}}],'tool_choice':{'type':'function','function':"
                "{'name':'f'}}}");
    expect_chat("{'model':'m','input':'x','tools':[{'type':'function','name':'f',"
                "'parameters':null,'strict':null}],'tool_choice':'required'}",
                "{'model':'m','messages':[{'role':'user','content':'x'}],'tools':[{'type':"
                "'function','function':{'name':'f'}}],'tool_choice':'required'}");
}

static void test_request_refused(void **state)
{
    (void)state;
    expect_refused("{'model':'m','input':'x','previous_response_id':'resp_1'}",
                   "previous_response_id", "stores no responses");
    expect_refused("{'model':'m','input':'x','store':true}", "store", "store");
    expect_refused("{'model':'m','input':'x','background':true}", "background", "background");
    expect_refused("{'model':'m','input':'x','conversation':'conv_1'}", "conversation",
                   "conversations");
    expect_refused("{'model':'m','input':'x','tools':[{'type':'web_search'}]}", "tools[0].type",
                   "built-in tool 'web_search'");
    expect_refused("{'model':'m','input':'x','tools':[{'type':'function','name':'f'},"
                   "{'type':'file_search','vector_store_ids':['v']}]}",
                   "tools[1].type", "file_search");
    expect_refused("{'model':'m','input':'x','tools':[{'type':'function'}]}", "tools[0].name",
                   "name");
    expect_refused("{'model':'m','input':'x','tool_choice':{'type':'web_search_preview'}}",
                   "tool_choice", "built-in");
    expect_refused("{'model':'m','input':[{'type':'item_reference','id':'msg_1'}]}",
                   "input[0].type", "item_reference");
    expect_refused("{'model':'m','input':[{'role':'user','content':'a'},{'type':"
                   "'web_search_call','id':'w'}]}",
                   "input[1].type", "supported input items");
    expect_refused("{'model':'m','input':[{'role':'tool','content':'a'}]}", "input[0].role",
                   "role");
    expect_refused("{'model':'m','input':[{'role':'user','content':[{'type':'input_image',"
                   "'file_id':'f'}]}]}",
                   "input[0].content[0].image_url", "image_url");
    expect_refused("{'model':'m','input':[{'type':'function_call','name':'f'}]}",
                   "input[0].call_id", "call_id");
    expect_refused("{'model':'m','input':[{'type':'function_call_output','call_id':'c',"
                   "'output':[{'type':'input_image','image_url':'x'}]}]}",
                   "input[0].output[0]", "text parts");
    expect_refused("{'model':'m'}", "input", "input is required");
    expect_refused("{'model':'m','input':[]}", "input", "no message");
    expect_refused("{'model':'m','input':[5]}", "input[0]", "objects");
    expect_refused("{'model':'m','input':'x','max_output_tokens':0}", "max_output_tokens",
                   "positive integer");
    expect_refused("{'model':'m','input':'x','max_output_tokens':1.5}", "max_output_tokens",
                   "positive integer");
    expect_refused("{'model':'m','input':'x','stream':'yes'}", "stream", "boolean");
    expect_refused("{'model':'m','input':'x','instructions':[1]}", "instructions", "string");
    expect_refused("{'model':'m','input':'x','text':{'format':{'type':'xml'}}}", "text.format",
                   "json_schema");
    expect_refused("{'model':'m','input':'x','api_key':'sk-1'}", "api_key", "");
    expect_refused("{'model':'m','input':'x','base_url':'http://evil'}", "base_url", "");
}

/* ---- answers */

static void expect_answer(const char *chat, const char *expected)
{
    sy_buf out = {0};
    const char *body = J(chat);
    assert_int_equal(sy_responses_from_chat(body, strlen(body), &META, &out), 0);
    cJSON *a = cJSON_ParseWithLength(out.data, out.len);
    cJSON *e = cJSON_Parse(J(expected));
    assert_non_null(a);
    assert_non_null(e);
    /* compare the members the expectation names */
    for (cJSON *m = e->child; m; m = m->next) {
        cJSON *v = cJSON_GetObjectItemCaseSensitive(a, m->string);
        if (!v || !cJSON_Compare(v, m, 1)) {
            char *vs = v ? cJSON_PrintUnformatted(v) : NULL;
            char *ms = cJSON_PrintUnformatted(m);
            fail_msg("member %s: %s, expected %s", m->string, vs ? vs : "(absent)", ms);
        }
    }
    cJSON_Delete(a);
    cJSON_Delete(e);
    sy_buf_free(&out);
}

static void test_answer(void **state)
{
    (void)state;
    expect_answer(
        "{'id':'x','object':'chat.completion','choices':[{'index':0,'message':{'role':"
        "'assistant','content':'Hello'},'finish_reason':'stop'}],'usage':{'prompt_tokens':"
        "12,'completion_tokens':5,'prompt_tokens_details':{'cached_tokens':4},"
        "'completion_tokens_details':{'reasoning_tokens':2}}}",
        "{'id':'req_T','object':'response','created_at':1700000000,'model':'m','status':"
        "'completed','incomplete_details':null,'error':null,'output':[{'id':'msg_req_T','type':"
        "'message','status':'completed','role':'assistant','content':[{'type':'output_text',"
        "'text':'Hello','annotations':[],'logprobs':[]}]}],'usage':{'input_tokens':12,"
        "'input_tokens_details':{'cached_tokens':4},'output_tokens':5,"
        "'output_tokens_details':{'reasoning_tokens':2},'total_tokens':17}}");
    /* tool calls only: no message item */
    expect_answer("{'choices':[{'message':{'role':'assistant','content':null,'tool_calls':["
                  "{'id':'call_1','type':'function','function':{'name':'f','arguments':"
                  "'{}'}},{'type':'function','function':{'name':'g','arguments':'{\\'a\\':1}'}}"
                  "]},'finish_reason':'tool_calls'}]}",
                  "{'status':'completed','usage':null,'output':[{'id':'fc_req_T_0','type':"
                  "'function_call','status':'completed','call_id':'call_1','name':'f',"
                  "'arguments':'{}'},{'id':'fc_req_T_1','type':'function_call','status':"
                  "'completed','call_id':'call_req_T_1','name':'g','arguments':"
                  "'{\\'a\\':1}'}]}");
    expect_answer("{'choices':[{'message':{'content':'Hal'},'finish_reason':'length'}]}",
                  "{'status':'incomplete','incomplete_details':{'reason':'max_output_tokens'}}");
    expect_answer("{'choices':[{'message':{'content':null,'refusal':'no'},'finish_reason':"
                  "'stop'}]}",
                  "{'output':[{'id':'msg_req_T','type':'message','status':'completed','role':"
                  "'assistant','content':[{'type':'refusal','refusal':'no'}]}]}");
    sy_buf out = {0};
    assert_int_equal(sy_responses_from_chat("{\"x\":1}", 7, &META, &out), -1);
    assert_int_equal(sy_responses_from_chat("[", 1, &META, &out), -1);
    assert_int_equal(out.len, 0);
}

/* ---- streams */

/* Through one adapter: upstream SSE bytes -> adapter stream_event -> OpenAI chunks ->
 * the Responses translation (or, native, the relay itself). */
typedef struct chain {
    const sy_adapter *ad;
    sy_relay_state rs;
    sy_buf chat;              /* the adapter's output (OpenAI events) */
    sy_sse_parser chat_sse;   /* splits it */
    sy_responses_stream *rsp; /* NULL: native, the adapter's output is the answer */
    sy_buf out;
} chain;

static int on_chat_event(void *ud, const sy_sse_event *ev)
{
    chain *c = ud;
    if (ev->has_data)
        sy_responses_stream_chunk(c->rsp, ev->data, ev->data_len, &c->out);
    return 0;
}

static int on_upstream_event(void *ud, const sy_sse_event *ev)
{
    chain *c = ud;
    c->ad->stream_event(ev->event, ev->event_len, ev->data, ev->data_len, ev->raw, ev->raw_len,
                        &c->rs, c->rsp ? &c->chat : &c->out);
    if (c->rsp) {
        sy_sse_feed(&c->chat_sse, c->chat.data, c->chat.len, on_chat_event, c);
        sy_buf_reset(&c->chat);
    }
    return 0;
}

/* Run upstream bytes split at `split` through a fresh chain of dialect d (native: the
 * Responses relay); the client's bytes into out, the relay state into rs. */
static void run_chain(sy_dialect d, int native, const char *chat_req, const char *upstream,
                      size_t split, sy_buf *out, sy_relay_state *rs)
{
    static sy_provider_cfg prov = {.name = "p", .base_url = "http://u/v1", .responses_api = 1};
    static sy_model_cfg model = {.name = "m", .upstream_name = "up"};
    chain c = {0};
    prov.dialect = d;
    c.ad = native ? sy_responses_native_adapter(&prov) : sy_adapter_for(d);
    assert_non_null(c.ad);
    c.rs.client_model = "m";
    c.rs.client_id = "req_T";
    cJSON *req = cJSON_Parse(J(chat_req));
    sy_upstream_call call = {0};
    const char *bad = NULL, *why = NULL;
    assert_int_equal(c.ad->build(&prov, &model, req, 1, &c.rs, &call, &bad, &why), 0);
    cJSON_Delete(req);
    sy_upstream_call_free(&call);
    if (!native)
        c.rsp = sy_responses_stream_new(&META);
    sy_sse_init(&c.chat_sse, 1 << 20);
    sy_sse_parser up;
    sy_sse_init(&up, 1 << 20);
    size_t n = strlen(upstream);
    sy_sse_feed(&up, upstream, split, on_upstream_event, &c);
    sy_sse_feed(&up, upstream + split, n - split, on_upstream_event, &c);
    sy_sse_finish(&up, on_upstream_event, &c);
    if (c.rsp) {
        sy_sse_finish(&c.chat_sse, on_chat_event, &c);
        sy_responses_stream_close(c.rsp, NULL, NULL, &c.out);
        sy_responses_stream_free(c.rsp);
    }
    sy_sse_free(&up);
    sy_sse_free(&c.chat_sse);
    sy_buf_free(&c.chat);
    *out = c.out;
    *rs = c.rs;
    if (c.ad->release)
        c.ad->release(rs);
}

/* The events of a Responses stream: their types joined by ' ', and the last event's
 * data (response.completed) parsed. Checks sequence numbers count from 0. */
static cJSON *events(const sy_buf *out, sy_buf *types)
{
    cJSON *last = NULL;
    long want = 0;
    const char *p = out->data, *end = out->data + out->len;
    while (p && p < end) {
        const char *d = strstr(p, "\ndata: ");
        if (!d)
            break;
        d += 7;
        const char *e = strstr(d, "\n\n");
        cJSON_Delete(last);
        last = cJSON_ParseWithLength(d, (size_t)(e - d));
        assert_non_null(last);
        const cJSON *type = cJSON_GetObjectItemCaseSensitive(last, "type");
        const cJSON *seq = cJSON_GetObjectItemCaseSensitive(last, "sequence_number");
        assert_true(cJSON_IsString(type));
        if (!cJSON_IsNumber(seq) || seq->valuedouble != (double)want)
            fail_msg("event %ld (%s): sequence_number is not %ld", want, type->valuestring, want);
        want++;
        sy_buf_printf(types, "%s%s", types->len ? " " : "", type->valuestring);
        p = e + 2;
    }
    return last;
}

/* Generated tool call ids ("call_" + 24 hex digits, Gemini's) as "call_XXX…" in place. */
static void fix_call_ids(sy_buf *b)
{
    for (char *p = b->data; p && (p = strstr(p, "\"call_"));) {
        p += 6;
        size_t n = strspn(p, "0123456789abcdef");
        if (n == 24 && p[n] == '"')
            memset(p, 'X', n);
    }
}

/* Every split of upstream gives the bytes of the unsplit run; returns those. */
static void every_split(sy_dialect d, int native, const char *chat_req, const char *upstream,
                        sy_buf *whole, sy_relay_state *rs)
{
    char *copy = strdup(upstream); /* J() buffers rotate */
    upstream = copy;
    size_t n = strlen(upstream);
    run_chain(d, native, chat_req, upstream, n, whole, rs);
    fix_call_ids(whole);
    for (size_t split = 0; split < n; split++) {
        sy_buf out;
        sy_relay_state rs2;
        run_chain(d, native, chat_req, upstream, split, &out, &rs2);
        fix_call_ids(&out);
        if (out.len != whole->len || memcmp(out.data, whole->data, out.len) != 0) {
            size_t at = 0;
            while (at < out.len && at < whole->len && out.data[at] == whole->data[at])
                at++;
            fail_msg("split at %zu changed the stream at byte %zu:\n%.300s\n---\n%.300s", split, at,
                     out.data + (at > 100 ? at - 100 : 0), whole->data + (at > 100 ? at - 100 : 0));
        }
        assert_int_equal(rs2.usage.prompt_tokens, rs->usage.prompt_tokens);
        sy_buf_free(&out);
    }
    free(copy);
}

static const char STREAM_REQ[] = "{'model':'m','messages':[{'role':'user','content':'hi'}],"
                                 "'tools':[{'type':'function','function':{'name':'get_weather',"
                                 "'parameters':{'type':'object'}}}],'stream':true,"
                                 "'stream_options':{'include_usage':true}}";

static const char TOOL_EVENTS[] =
    "response.created response.in_progress response.output_item.added "
    "response.content_part.added response.output_text.delta response.output_text.done "
    "response.content_part.done response.output_item.done response.output_item.added "
    "response.function_call_arguments.delta response.function_call_arguments.delta "
    "response.function_call_arguments.done response.output_item.done response.completed";

/* The completed response of a text + get_weather({"city":"Paris"}) stream. */
static void expect_tool_stream(const sy_buf *out, const char *call_id, int in, int outp)
{
    sy_buf types = {0};
    cJSON *done = events(out, &types);
    if (strcmp(types.data, TOOL_EVENTS) != 0)
        fail_msg("events: %s", types.data);
    char want[1024];
    snprintf(want, sizeof(want),
             J("{'id':'req_T','status':'completed','model':'m','output':[{'id':'msg_req_T_0',"
               "'type':'message','status':'completed','role':'assistant','content':[{'type':"
               "'output_text','text':'Let me check \xc3\xa9.','annotations':[],'logprobs':[]}]},"
               "{'id':'fc_req_T_1','type':'function_call','status':'completed','call_id':'%s',"
               "'name':'get_weather','arguments':'{\\'city\\':\\'Paris\\'}'}],'usage':"
               "{'input_tokens':%d,'input_tokens_details':{'cached_tokens':0},'output_tokens':"
               "%d,'output_tokens_details':{'reasoning_tokens':0},'total_tokens':%d}}"),
             call_id, in, outp, in + outp);
    cJSON *r = cJSON_GetObjectItemCaseSensitive(done, "response");
    cJSON *e = cJSON_Parse(want);
    for (cJSON *m = e->child; m; m = m->next)
        if (!cJSON_Compare(cJSON_GetObjectItemCaseSensitive(r, m->string), m, 1))
            fail_msg("response.%s differs: %s", m->string, cJSON_PrintUnformatted(r));
    cJSON_Delete(e);
    cJSON_Delete(done);
    sy_buf_free(&types);
}

static void test_stream_openai(void **state)
{
    (void)state;
    const char *up =
        J("data: {'id':'c','object':'chat.completion.chunk','model':'up','choices':[{'index':0,"
          "'delta':{'role':'assistant','content':''},'finish_reason':null}]}\n\n"
          "data: {'id':'c','object':'chat.completion.chunk','model':'up','choices':[{'index':0,"
          "'delta':{'content':'Let me check \xc3\xa9.'},'finish_reason':null}]}\n\n"
          "data: {'id':'c','object':'chat.completion.chunk','model':'up','choices':[{'index':0,"
          "'delta':{'tool_calls':[{'index':0,'id':'call_9','type':'function','function':"
          "{'name':'get_weather','arguments':''}}]},'finish_reason':null}]}\n\n"
          "data: {'id':'c','object':'chat.completion.chunk','model':'up','choices':[{'index':0,"
          "'delta':{'tool_calls':[{'index':0,'function':{'arguments':'{\\'city\\':'}}]},"
          "'finish_reason':null}]}\n\n"
          "data: {'id':'c','object':'chat.completion.chunk','model':'up','choices':[{'index':0,"
          "'delta':{'tool_calls':[{'index':0,'function':{'arguments':'\\'Paris\\'}'}}]},"
          "'finish_reason':null}]}\n\n"
          "data: {'id':'c','object':'chat.completion.chunk','model':'up','choices':[{'index':0,"
          "'delta':{},'finish_reason':'tool_calls'}]}\n\n"
          "data: {'id':'c','object':'chat.completion.chunk','model':'up','choices':[],'usage':"
          "{'prompt_tokens':10,'completion_tokens':20,'total_tokens':30}}\n\n"
          "data: [DONE]\n\n");
    sy_buf out;
    sy_relay_state rs;
    every_split(SY_DIALECT_OPENAI, 0, STREAM_REQ, up, &out, &rs);
    expect_tool_stream(&out, "call_9", 10, 20);
    sy_buf_free(&out);
}

static void test_stream_anthropic(void **state)
{
    (void)state;
    const char *up =
        J("event: message_start\ndata: {'type':'message_start','message':{'id':'msg_1','type':"
          "'message','role':'assistant','model':'claude','content':[],'stop_reason':null,"
          "'usage':{'input_tokens':10,'output_tokens':1}}}\n\n"
          "event: content_block_start\ndata: {'type':'content_block_start','index':0,"
          "'content_block':{'type':'text','text':''}}\n\n"
          "event: content_block_delta\ndata: {'type':'content_block_delta','index':0,'delta':"
          "{'type':'text_delta','text':'Let me check \xc3\xa9.'}}\n\n"
          "event: content_block_stop\ndata: {'type':'content_block_stop','index':0}\n\n"
          "event: content_block_start\ndata: {'type':'content_block_start','index':1,"
          "'content_block':{'type':'tool_use','id':'toolu_1','name':'get_weather','input':{}}}\n\n"
          "event: content_block_delta\ndata: {'type':'content_block_delta','index':1,'delta':"
          "{'type':'input_json_delta','partial_json':'{\\'city\\':'}}\n\n"
          "event: content_block_delta\ndata: {'type':'content_block_delta','index':1,'delta':"
          "{'type':'input_json_delta','partial_json':'\\'Paris\\'}'}}\n\n"
          "event: content_block_stop\ndata: {'type':'content_block_stop','index':1}\n\n"
          "event: message_delta\ndata: {'type':'message_delta','delta':{'stop_reason':"
          "'tool_use'},'usage':{'output_tokens':20}}\n\n"
          "event: message_stop\ndata: {'type':'message_stop'}\n\n");
    sy_buf out;
    sy_relay_state rs;
    every_split(SY_DIALECT_ANTHROPIC, 0, STREAM_REQ, up, &out, &rs);
    expect_tool_stream(&out, "toolu_1", 10, 20);
    sy_buf_free(&out);
}

static void test_stream_gemini(void **state)
{
    (void)state;
    const char *up =
        J("data: {'candidates':[{'content':{'role':'model','parts':[{'text':'Let me check "
          "\xc3\xa9.'}]}}],'modelVersion':'g'}\n\n"
          "data: {'candidates':[{'content':{'role':'model','parts':[{'functionCall':{'name':"
          "'get_weather','args':{'city':'Paris'}}}]},'finishReason':'STOP'}],'usageMetadata':"
          "{'promptTokenCount':10,'candidatesTokenCount':20,'totalTokenCount':30}}\n\n");
    sy_buf out;
    sy_relay_state rs;
    every_split(SY_DIALECT_GEMINI, 0, STREAM_REQ, up, &out, &rs);
    sy_buf types = {0};
    cJSON *done = events(&out, &types);
    const cJSON *r = cJSON_GetObjectItemCaseSensitive(done, "response");
    const cJSON *fc = cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(r, "output"), 1);
    assert_string_equal(cJSON_GetObjectItemCaseSensitive(fc, "name")->valuestring, "get_weather");
    assert_json_eq(cJSON_GetObjectItemCaseSensitive(fc, "arguments")->valuestring,
                   strlen(cJSON_GetObjectItemCaseSensitive(fc, "arguments")->valuestring),
                   "{\"city\":\"Paris\"}");
    assert_int_equal((int)cJSON_GetObjectItemCaseSensitive(
                         cJSON_GetObjectItemCaseSensitive(r, "usage"), "total_tokens")
                         ->valuedouble,
                     30);
    assert_non_null(strstr(types.data, "response.completed"));
    cJSON_Delete(done);
    sy_buf_free(&types);
    sy_buf_free(&out);
}

/* A cut stream and an adapter's in-band error: an error event, response.failed, and
 * nothing after. */
static void test_stream_errors(void **state)
{
    (void)state;
    sy_buf out = {0}, types = {0};
    sy_responses_stream *s = sy_responses_stream_new(&META);
    const char *c1 = J("{'choices':[{'index':0,'delta':{'content':'Hi'}}]}");
    sy_responses_stream_chunk(s, c1, strlen(c1), &out);
    sy_responses_stream_close(s, "upstream_stream_cut", "the provider stopped", &out);
    sy_responses_stream_close(s, NULL, NULL, &out);
    sy_responses_stream_free(s);
    cJSON *last = events(&out, &types);
    assert_string_equal(types.data, "response.created response.in_progress "
                                    "response.output_item.added response.content_part.added "
                                    "response.output_text.delta error response.failed");
    assert_non_null(strstr(out.data, "\"code\":\"upstream_stream_cut\""));
    assert_string_equal(cJSON_GetObjectItemCaseSensitive(
                            cJSON_GetObjectItemCaseSensitive(last, "response"), "status")
                            ->valuestring,
                        "failed");
    cJSON_Delete(last);
    sy_buf_reset(&out);
    sy_buf_reset(&types);
    s = sy_responses_stream_new(&META);
    const char *err = J("{'error':{'message':'boom','type':'upstream_error','code':'x_code'}}");
    sy_responses_stream_chunk(s, err, strlen(err), &out);
    sy_responses_stream_chunk(s, c1, strlen(c1), &out);
    sy_responses_stream_close(s, NULL, NULL, &out);
    sy_responses_stream_free(s);
    cJSON_Delete(events(&out, &types));
    assert_string_equal(types.data, "error"); /* before anything started: only the error */
    assert_non_null(strstr(out.data, "\"code\":\"x_code\""));
    sy_buf_free(&out);
    sy_buf_free(&types);
}

/* ---- the native relay */

static const char NATIVE_REQ[] = "{'model':'m','input':'hi','stream':true}";

static void test_native_stream(void **state)
{
    (void)state;
    const char *up =
        J("event: response.created\ndata: {'type':'response.created','sequence_number':0,"
          "'response':{'id':'resp_up','object':'response','status':'in_progress','model':'up',"
          "'output':[]}}\n\n"
          "event: response.output_text.delta\ndata: {'type':'response.output_text.delta',"
          "'sequence_number':1,'item_id':'msg_1','output_index':0,'content_index':0,'delta':"
          "'Hello \xc3\xa9'}\n\n"
          "event: response.completed\ndata: {'type':'response.completed','sequence_number':2,"
          "'response':{'id':'resp_up','object':'response','status':'completed','model':'up',"
          "'output':[],'usage':{'input_tokens':1200,'input_tokens_details':{'cached_tokens':"
          "200},'output_tokens':300,'output_tokens_details':{'reasoning_tokens':50},"
          "'total_tokens':1500}}}\n\n");
    sy_buf out;
    sy_relay_state rs;
    every_split(SY_DIALECT_OPENAI, 1, NATIVE_REQ, up, &out, &rs);
    sy_buf types = {0};
    cJSON *done = events(&out, &types);
    assert_string_equal(types.data,
                        "response.created response.output_text.delta response.completed");
    const cJSON *r = cJSON_GetObjectItemCaseSensitive(done, "response");
    assert_string_equal(cJSON_GetObjectItemCaseSensitive(r, "id")->valuestring, "req_T");
    assert_string_equal(cJSON_GetObjectItemCaseSensitive(r, "model")->valuestring, "m");
    assert_null(strstr(out.data, "resp_up")); /* the upstream's id never reaches the client */
    assert_int_equal(rs.usage.prompt_tokens, 1200);
    assert_int_equal(rs.usage.cached_tokens, 200);
    assert_int_equal(rs.usage.completion_tokens, 300);
    assert_int_equal(rs.usage.reasoning_tokens, 50);
    assert_string_equal(rs.finish_reason, "stop");
    assert_int_equal(rs.content_chunks, 1);
    cJSON_Delete(done);
    sy_buf_free(&types);
    sy_buf_free(&out);

    /* an upstream error event before content: one scrubbed in-band error, a fallback
     * signal, nothing relayed after it */
    const char *bad = J("event: error\ndata: {'type':'error','sequence_number':0,'code':'x',"
                        "'message':'bad key sk-abcdefghijklmnopqrstuvwxyz0123456789'}\n\n"
                        "event: response.output_text.delta\ndata: {'type':"
                        "'response.output_text.delta','sequence_number':1,'delta':'x'}\n\n");
    every_split(SY_DIALECT_OPENAI, 1, NATIVE_REQ, bad, &out, &rs);
    assert_true(rs.saw_error_event);
    assert_string_equal(rs.error_sent, "upstream_stream_error");
    assert_null(strstr(out.data, "abcdefghijklmnop"));
    assert_null(strstr(out.data, "output_text.delta"));
    sy_buf_free(&out);
    /* not JSON: the malformed-event error */
    every_split(SY_DIALECT_OPENAI, 1, NATIVE_REQ, "data: {\"type\":\n\n", &out, &rs);
    assert_string_equal(rs.error_sent, "upstream_malformed_event");
    sy_buf_free(&out);
}

static void test_native_build(void **state)
{
    (void)state;
    sy_provider_cfg prov = {.name = "p",
                            .dialect = SY_DIALECT_OPENAI,
                            .base_url = "http://u/v1",
                            .api_key = "sk-up",
                            .responses_api = 1};
    sy_model_cfg model = {.name = "m", .upstream_name = "gpt-up"};
    const sy_adapter *ad = sy_responses_native_adapter(&prov);
    assert_non_null(ad);
    sy_relay_state rs = {0};
    sy_upstream_call call = {0};
    const char *bad = NULL, *why = NULL;
    cJSON *req = cJSON_Parse(J("{'model':'m','input':'hi','tools':[{'type':'function',"
                               "'name':'f'}]}"));
    assert_int_equal(ad->build(&prov, &model, req, 0, &rs, &call, &bad, &why), 0);
    assert_string_equal(call.url.data, "http://u/v1/responses");
    assert_json_eq(call.body.data, call.body.len,
                   J("{'model':'gpt-up','input':'hi','tools':[{'type':'function','name':'f'}],"
                     "'store':false}"));
    int auth = 0;
    for (size_t i = 0; call.headers[i]; i++)
        auth |= strcmp(call.headers[i], "Authorization: Bearer sk-up") == 0;
    assert_true(auth);
    cJSON_Delete(req);
    sy_upstream_call_free(&call);
    ad->release(&rs);
    assert_null(rs.priv);
    /* only openai-dialect providers that say so */
    prov.responses_api = 0;
    assert_null(sy_responses_native_adapter(&prov));
    prov.responses_api = 1;
    prov.dialect = SY_DIALECT_ANTHROPIC;
    assert_null(sy_responses_native_adapter(&prov));
}

/* ---- cost */

static const sy_price_cfg PRICE = {.input = 2.5, .cached_input = 1.25, .output = 10};

/* 1000 uncached x 2.5 + 200 cached x 1.25 + 300 x 10 = 5750 micro-dollars. */
#define EXPECTED_MICRO 5750.0

static void test_cost_native(void **state)
{
    (void)state;
    sy_provider_cfg prov = {
        .dialect = SY_DIALECT_OPENAI, .base_url = "http://u", .responses_api = 1};
    const sy_adapter *ad = sy_responses_native_adapter(&prov);
    sy_relay_state rs = {.client_id = "req_T", .client_model = "m"};
    const char *body =
        J("{'id':'resp_up','object':'response','status':'completed','model':'up','output':[],"
          "'usage':{'input_tokens':1200,'input_tokens_details':{'cached_tokens':200},"
          "'output_tokens':300,'output_tokens_details':{'reasoning_tokens':50},"
          "'total_tokens':1500}}");
    sy_buf out = {0};
    assert_int_equal(ad->response(body, strlen(body), &rs, &out), 0);
    cJSON *r = cJSON_ParseWithLength(out.data, out.len);
    assert_string_equal(cJSON_GetObjectItemCaseSensitive(r, "id")->valuestring, "req_T");
    assert_string_equal(cJSON_GetObjectItemCaseSensitive(r, "model")->valuestring, "m");
    cJSON_Delete(r);
    sy_bill bill;
    sy_bill_exchange(&PRICE, &rs, 1, 999, &bill);
    assert_false(bill.estimated);
    assert_true(bill.cost_usd * 1e6 == EXPECTED_MICRO);
    assert_int_equal(bill.usage.reasoning_tokens, 50);
    if (ad->release)
        ad->release(&rs);
    sy_buf_free(&out);
    /* not a Response */
    sy_relay_state rs2 = {0};
    assert_int_equal(ad->response("{\"choices\":[]}", 14, &rs2, &out), SY_ERR_INVALID);
    if (ad->release)
        ad->release(&rs2);
}

static void test_cost_translated(void **state)
{
    (void)state;
    /* the chat answer an OpenAI provider sends, through its adapter, then as a Response */
    const sy_adapter *ad = sy_adapter_for(SY_DIALECT_OPENAI);
    sy_relay_state rs = {.client_id = "req_T", .client_model = "m"};
    const char *body = J("{'id':'c','object':'chat.completion','model':'up','choices':[{'index':"
                         "0,'message':{'role':'assistant','content':'x'},'finish_reason':"
                         "'stop'}],'usage':{'prompt_tokens':1200,'completion_tokens':300,"
                         "'prompt_tokens_details':{'cached_tokens':200}}}");
    sy_buf chat = {0}, out = {0};
    assert_int_equal(ad->response(body, strlen(body), &rs, &chat), 0);
    sy_bill bill;
    sy_bill_exchange(&PRICE, &rs, 1, 999, &bill);
    assert_false(bill.estimated);
    assert_true(bill.cost_usd * 1e6 == EXPECTED_MICRO);
    assert_int_equal(sy_responses_from_chat(chat.data, chat.len, &META, &out), 0);
    cJSON *r = cJSON_ParseWithLength(out.data, out.len);
    const cJSON *u = cJSON_GetObjectItemCaseSensitive(r, "usage");
    assert_int_equal((int)cJSON_GetObjectItemCaseSensitive(u, "input_tokens")->valuedouble, 1200);
    assert_int_equal(
        (int)cJSON_GetObjectItemCaseSensitive(
            cJSON_GetObjectItemCaseSensitive(u, "input_tokens_details"), "cached_tokens")
            ->valuedouble,
        200);
    assert_int_equal((int)cJSON_GetObjectItemCaseSensitive(u, "output_tokens")->valuedouble, 300);
    assert_int_equal((int)cJSON_GetObjectItemCaseSensitive(u, "total_tokens")->valuedouble, 1500);
    cJSON_Delete(r);
    sy_buf_free(&chat);
    sy_buf_free(&out);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_request_text),     cmocka_unit_test(test_request_items),
        cmocka_unit_test(test_request_tools),    cmocka_unit_test(test_request_refused),
        cmocka_unit_test(test_answer),           cmocka_unit_test(test_stream_openai),
        cmocka_unit_test(test_stream_anthropic), cmocka_unit_test(test_stream_gemini),
        cmocka_unit_test(test_stream_errors),    cmocka_unit_test(test_native_stream),
        cmocka_unit_test(test_native_build),     cmocka_unit_test(test_cost_native),
        cmocka_unit_test(test_cost_translated),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
