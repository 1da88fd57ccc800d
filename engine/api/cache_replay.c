/*
 * cache_replay.c: serving a cache hit (cache_internal.h). The stored answer is an
 * OpenAI chat completion as the adapter produced it; a replay gives it this request's
 * id, a zero usage (nothing went upstream), runs the call's output guardrails over it
 * (placeholders are restored with this request's values), and sends it in the client's
 * API: a JSON answer, or a stream of chat.completion.chunk events (through the ingress's
 * stream translation for Messages and Responses clients). It also marks a miss
 * (sy_cache_miss), the other outcome both tiers end in.
 */
#include "cache_internal.h"

#include "metrics.h"
#include "sha256.h"
#include "server.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The stored answer with this request's id and time and a zero usage, into out.
 * -1 when it does not parse (a damaged entry: served as a miss would be better, but the
 * entry decoded; answered 502 by the caller). */
static int rewrite_answer(sy_call *c, const sy_buf *answer, sy_buf *out)
{
    cJSON *root = cJSON_ParseWithLength(answer->data ? answer->data : "", answer->len);
    if (!cJSON_IsObject(root)) {
        cJSON_Delete(root);
        return -1;
    }
    cJSON_DeleteItemFromObjectCaseSensitive(root, "id");
    cJSON_AddStringToObject(root, "id", c->id);
    cJSON_DeleteItemFromObjectCaseSensitive(root, "created");
    cJSON_AddNumberToObject(root, "created", (double)(sy_wall_ms() / 1000));
    cJSON_DeleteItemFromObjectCaseSensitive(root, "usage");
    cJSON *u = cJSON_AddObjectToObject(root, "usage");
    cJSON_AddNumberToObject(u, "prompt_tokens", 0);
    cJSON_AddNumberToObject(u, "completion_tokens", 0);
    cJSON_AddNumberToObject(u, "total_tokens", 0);
    char *s = cJSON_PrintUnformatted(root);
    cJSON_Delete(root);
    sy_buf_reset(out);
    sy_buf_puts(out, s ? s : "");
    free(s);
    return s ? 0 : -1;
}

/* One chunk of the replayed stream: envelope of the answer, choice 0 with delta (a
 * JSON text) and finish_reason (NULL: null), or the usage chunk (delta NULL). */
static void chunk(sy_buf *out, const cJSON *ans, const char *delta, const char *finish, int usage)
{
    const cJSON *id = cJSON_GetObjectItemCaseSensitive(ans, "id");
    const cJSON *model = cJSON_GetObjectItemCaseSensitive(ans, "model");
    const cJSON *created = cJSON_GetObjectItemCaseSensitive(ans, "created");
    sy_buf_puts(out, "{\"id\":");
    sy_buf_json_string(out, id->valuestring, strlen(id->valuestring));
    sy_buf_printf(out, ",\"object\":\"chat.completion.chunk\",\"created\":%.0f,\"model\":",
                  cJSON_IsNumber(created) ? created->valuedouble : 0);
    const char *m = cJSON_IsString(model) ? model->valuestring : "";
    sy_buf_json_string(out, m, strlen(m));
    if (usage) {
        sy_buf_puts(out, ",\"choices\":[],\"usage\":{\"prompt_tokens\":0,\"completion_tokens\":0,"
                         "\"total_tokens\":0}}");
        return;
    }
    sy_buf_printf(out, ",\"choices\":[{\"index\":0,\"delta\":%s,\"finish_reason\":", delta);
    if (finish)
        sy_buf_json_string(out, finish, strlen(finish));
    else
        sy_buf_puts(out, "null");
    sy_buf_puts(out, "}]}");
}

/* The answer (an OpenAI chat completion) as chunk payloads, each passed to emit. */
static void as_chunks(const cJSON *ans, int include_usage,
                      void (*emit)(void *ud, const char *data, size_t len), void *ud)
{
    const cJSON *choice = cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(ans, "choices"), 0);
    const cJSON *msg = cJSON_GetObjectItemCaseSensitive(choice, "message");
    const cJSON *fr = cJSON_GetObjectItemCaseSensitive(choice, "finish_reason");
    cJSON *delta = cJSON_CreateObject();
    cJSON_AddStringToObject(delta, "role", "assistant");
    const cJSON *content = cJSON_GetObjectItemCaseSensitive(msg, "content");
    if (cJSON_IsString(content))
        cJSON_AddStringToObject(delta, "content", content->valuestring);
    const cJSON *tools = cJSON_GetObjectItemCaseSensitive(msg, "tool_calls");
    if (cJSON_IsArray(tools)) { /* each call whole, with its index */
        cJSON *tc = cJSON_Duplicate(tools, 1);
        int i = 0;
        cJSON *t;
        cJSON_ArrayForEach(t, tc)
        {
            cJSON_DeleteItemFromObjectCaseSensitive(t, "index");
            cJSON_AddNumberToObject(t, "index", i++);
        }
        cJSON_AddItemToObject(delta, "tool_calls", tc);
    }
    char *d = cJSON_PrintUnformatted(delta);
    cJSON_Delete(delta);
    sy_buf b = {0};
    chunk(&b, ans, d ? d : "{}", NULL, 0);
    emit(ud, b.data, b.len);
    sy_buf_reset(&b);
    chunk(&b, ans, "{}", cJSON_IsString(fr) ? fr->valuestring : "stop", 0);
    emit(ud, b.data, b.len);
    if (include_usage) {
        sy_buf_reset(&b);
        chunk(&b, ans, NULL, NULL, 1);
        emit(ud, b.data, b.len);
    }
    emit(ud, "[DONE]", 6);
    sy_buf_free(&b);
    free(d);
}

typedef struct stream_out {
    sy_call *c;
    void *ing_state; /* the ingress's stream state, or NULL (OpenAI SSE) */
    sy_buf out;
} stream_out;

static void emit_event(void *ud, const char *data, size_t len)
{
    stream_out *so = ud;
    if (so->ing_state) {
        so->c->ingress->stream_chunk(so->ing_state, data, len, &so->out);
        return;
    }
    sy_buf_puts(&so->out, "data: ");
    sy_buf_append(&so->out, data, len);
    sy_buf_puts(&so->out, "\n\n");
}

/* A cache arm's answer (cache_arm_call.c): the route's decision, on the arm named
 * SY_CACHE_ARM_NAME, with the decision's context and propensity and the rule naming the
 * entry (its rating reaches the entry), at cost 0 (the arm is priced 0; the embedding
 * is in the log line and the key's spend, as for the models' answers on the route). */
static void record_arm(sy_call *c, sy_store_request *r, const sy_store_cache_entry *e)
{
    const sy_route_cfg *route = c->dec.route;
    snprintf(r->route, sizeof(r->route), "%s", route->name);
    snprintf(r->model, sizeof(r->model), "%s", SY_CACHE_ARM_NAME);
    snprintf(r->policy, sizeof(r->policy), "%s", c->dec.policy_name ? c->dec.policy_name : "");
    r->propensity = c->dec.propensity;
    r->n_candidates = (uint32_t)sy_route_n_arms(route);
    r->x = c->dec.x;
    r->dim = (uint32_t)c->dec.dim;
    if (c->conv.on)
        memcpy(r->conv, c->conv.id, 16);
    char id[17]; /* the entry's first 8 key bytes: its id in the semantic index */
    sy_hex_encode(e->key, 8, id);
    snprintf(r->rule, sizeof(r->rule), "%s%s", SY_CACHE_ARM_RULE, id);
    r->cost_usd = 0;
    sy_metrics_obs mo = {.route = route->name,
                         .model = SY_CACHE_ARM_NAME,
                         .status = 200,
                         .latency_s = r->latency_ms / 1e3,
                         .ttft_s = r->ttft_ms / 1e3};
    sy_metrics_observe(&mo);
}

/* Record the hit for the store: it has no model (never learned as an observation of
 * the model that made the answer) and the policy "cache"; its feedback token rates it.
 * A cache arm's answer is recorded on the route's cache arm instead (record_arm). */
static void record_hit(sy_call *c, const sy_store_cache_entry *e)
{
    sy_store_request r = {0};
    if (sy_reqid_to_bytes(c->id, r.id) != 0)
        return;
    r.ts_ms = sy_reqid_time_ms(c->id);
    snprintf(r.key_name, sizeof(r.key_name), "%s", c->key_name);
    if (sy_config_find_route(c->rt->cfg, c->cache->ns))
        snprintf(r.route, sizeof(r.route), "%s", c->cache->ns);
    snprintf(r.policy, sizeof(r.policy), "cache");
    r.propensity = NAN;
    r.n_candidates = 1;
    snprintf(r.prompt, sizeof(r.prompt), "%s", c->ctx.prompt);
    r.prompt_version = c->ctx.prompt_version;
    snprintf(r.experiments, sizeof(r.experiments), "%s", c->ctx.experiments);
    r.status = c->rec.status;
    r.stream = c->stream;
    r.cost_usd = c->cache->embed_cost_usd; /* the semantic tier's embedding, else 0 */
    r.latency_ms = (double)(sy_now_ns() - c->rec.t_start_ns) / 1e6;
    r.ttft_ms = r.latency_ms;
    snprintf(r.rule, sizeof(r.rule), "cache:%s",
             c->cache->outcome == SY_CACHE_HIT_SEMANTIC ? "semantic" : "hit");
    if (c->cache->arm_served)
        record_arm(c, &r, e);
    sy_store_put_request(c->w->server->store, &r);
}

void sy_cache_replay(sy_call *c, sy_http_req *req, const sy_store_cache_entry *e, sy_buf *answer,
                     int stream)
{
    sy_call_cache *k = c->cache;
    k->saved_usd = e->cost_usd;
    c->stream = stream;
    sy_buf body = {0};
    if (rewrite_answer(c, answer, &body) != 0 || sy_guard_answer(c, &body) != 0) {
        if (c->req && !c->rec.status) { /* a damaged answer (a block has answered) */
            c->rec.status = 502;
            c->rec.error_code = "cache_entry_damaged";
            sy_http_respond_error(req, 502, "upstream_error", c->rec.error_code, NULL,
                                  "the cached answer could not be read", c->headers.data);
        }
        sy_buf_free(&body);
        return;
    }
    sy_buf_printf(&c->headers,
                  "x-switchyard-cache: %s\r\nx-switchyard-model: %s\r\n"
                  "x-switchyard-cost-usd: %.9f\r\nx-switchyard-cache-saved-usd: %.9f\r\n",
                  k->outcome == SY_CACHE_HIT_SEMANTIC ? "semantic" : "hit", e->model,
                  k->embed_cost_usd, e->cost_usd);
    if (sy_config_find_route(c->rt->cfg, k->ns))
        sy_buf_printf(&c->headers, "x-switchyard-route: %s\r\n", k->ns);
    c->rec.t_first_ns = sy_now_ns();
    c->rec.status = 200;
    c->rec.completed = 1;
    sy_ingress_info info = {.id = c->id, .model = k->ns, .created = (int64_t)(sy_wall_ms() / 1000)};
    if (!stream) {
        sy_buf translated = {0};
        if (c->ingress)
            c->ingress->answer(body.data, body.len, &info, &translated);
        const sy_buf *out = c->ingress ? &translated : &body;
        sy_http_respond(req, 200, "application/json", c->headers.data, out->data, out->len);
        sy_buf_free(&translated);
    } else {
        cJSON *ans = cJSON_ParseWithLength(body.data, body.len);
        stream_out so = {.c = c, .ing_state = c->ingress ? c->ingress->stream_open(&info) : NULL};
        as_chunks(ans, k->include_usage || c->ingress, emit_event, &so);
        if (so.ing_state) {
            c->ingress->stream_close(so.ing_state, NULL, NULL, &so.out);
            c->ingress->stream_free(so.ing_state);
        }
        cJSON_Delete(ans);
        sy_http_stream_start(req, 200, "text/event-stream", c->headers.data);
        sy_http_stream_write(req, so.out.data, so.out.len);
        sy_http_stream_end(req, NULL);
        sy_buf_free(&so.out);
    }
    sy_buf_free(&body);
    record_hit(c, e);
}

/* A miss: its outcome and headers (the nearest neighbour's similarity when the semantic
 * tier found one short of the threshold), marked for storing, counted. */
void sy_cache_miss(sy_call *c, double lookup_s)
{
    sy_call_cache *k = c->cache;
    k->outcome = SY_CACHE_MISS;
    k->store = 1;
    sy_cache_metrics_lookup(SY_CACHE_MISS, lookup_s, 0);
    sy_buf_puts(&c->headers, "x-switchyard-cache: miss\r\n");
    if (!isnan(k->similarity)) /* the nearest neighbour fell short */
        sy_buf_printf(&c->headers, "x-switchyard-cache-similarity: %.4f\r\n", k->similarity);
}
