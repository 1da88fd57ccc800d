/*
 * cache_call.c: the response cache's lookup, capture and store in the chat pipeline
 * (cache_call.h); replaying a hit is cache_replay.c.
 */
#include "cache_call.h"

#include "cache_internal.h"
#include "cache_key.h"
#include "cache_metrics.h"
#include "server.h"
#include "store_cache.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The cache block governing a request to `name` (a route's, or a model's when named
 * directly), or NULL. */
static const sy_cache_cfg *cache_cfg_for(const sy_config *cfg, const char *name, int *is_route)
{
    const sy_route_cfg *r = sy_config_find_route(cfg, name);
    *is_route = r != NULL;
    if (r)
        return r->hidden ? NULL : r->cache;
    const sy_model_cfg *m = sy_config_find_model(cfg, name);
    return m && !m->embedding ? m->cache : NULL;
}

/* The body's sampling allows caching under cc: its temperature, and n of 1. */
static int cacheable_body(const sy_cache_cfg *cc, const cJSON *root)
{
    const cJSON *n = cJSON_GetObjectItemCaseSensitive(root, "n");
    if (n && !(cJSON_IsNumber(n) && n->valuedouble == 1))
        return 0; /* n > 1: several samples are not one answer to replay */
    const cJSON *t = cJSON_GetObjectItemCaseSensitive(root, "temperature");
    if (t && cJSON_IsNull(t))
        t = NULL;
    switch (cc->temperatures) {
    case SY_CACHE_TEMP_DETERMINISTIC:
        return cJSON_IsNumber(t) && t->valuedouble == 0;
    case SY_CACHE_TEMP_ABSENT_OR_ZERO:
        return !t || (cJSON_IsNumber(t) && t->valuedouble == 0);
    case SY_CACHE_TEMP_ANY:
        return 1;
    }
    return 0;
}

int sy_cache_lookup(sy_call *c, sy_http_req *req, cJSON *root, const char *name,
                    const sy_cache_cont *cont)
{
    int is_route = 0;
    const sy_cache_cfg *cc = cache_cfg_for(c->rt->cfg, name, &is_route);
    if (!cc || !(cc->exact || cc->semantic) || !cacheable_body(cc, root))
        return 0;
    uint64_t t0 = sy_now_ns();
    sy_call_cache *k = sy_xcalloc(1, sizeof(*k));
    c->cache = k;
    k->cfg = cc;
    k->similarity = NAN;
    snprintf(k->ns, sizeof(k->ns), "%s", name);
    const cJSON *so = cJSON_GetObjectItemCaseSensitive(root, "stream_options");
    k->include_usage = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(so, "include_usage"));
    sy_cache_key_ctx ctx = {.ns = name,
                            .scope = cc->shared ? "" : c->key_name,
                            .prompt = c->ctx.prompt,
                            .prompt_version = c->ctx.prompt_version,
                            .variant = c->ctx.exp_route ? c->ctx.exp_route->name : ""};
    sy_cache_exact_key(root, &ctx, k->key); /* also the id of a semantic-only entry */
    if (cc->exact) {
        sy_store_cache_entry e;
        sy_buf answer = {0};
        if (sy_store_cache_get(c->w->server->store, k->key, NULL, sy_wall_ms(), &e, &answer) == 0) {
            k->outcome = SY_CACHE_HIT_EXACT;
            sy_cache_metrics_lookup(SY_CACHE_HIT_EXACT, (double)(sy_now_ns() - t0) / 1e9,
                                    e.cost_usd);
            sy_cache_replay(c, req, &e, &answer,
                            cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(root, "stream")));
            sy_buf_free(&answer);
            return 1;
        }
        sy_buf_free(&answer);
    }
    if (cc->semantic && sy_cache_semantic_prepare(c, root, &ctx) == 0) {
        k->lookup_ns = sy_now_ns() - t0;
        if (sy_cache_semantic_start(c, req, root, cont))
            return 2;
        t0 = sy_now_ns() - k->lookup_ns;
    }
    sy_cache_miss(c, (double)(sy_now_ns() - t0) / 1e9);
    return 0;
}

void sy_cache_hold_plain(sy_call *c, const sy_buf *body)
{
    sy_call_cache *k = c->cache;
    if (!k || !k->store || c->att.native)
        return;
    sy_buf_reset(&k->answer);
    sy_buf_append(&k->answer, body->data, body->len);
    k->have_plain = 1;
}

/* One OpenAI chunk of a stream being captured: its content and finish reason. Tool
 * calls, refusals and choices other than 0 are not reassembled: the stream is then not
 * stored. */
static void capture_chunk(sy_call_cache *k, const char *data, size_t len)
{
    if (len == 6 && memcmp(data, "[DONE]", 6) == 0)
        return;
    cJSON *ch = cJSON_ParseWithLength(data, len);
    const cJSON *choices = cJSON_GetObjectItemCaseSensitive(ch, "choices");
    if (!ch || cJSON_GetObjectItemCaseSensitive(ch, "error")) {
        k->stream_bad = 1;
    } else {
        const cJSON *choice;
        cJSON_ArrayForEach(choice, choices)
        {
            const cJSON *idx = cJSON_GetObjectItemCaseSensitive(choice, "index");
            const cJSON *delta = cJSON_GetObjectItemCaseSensitive(choice, "delta");
            const cJSON *content = cJSON_GetObjectItemCaseSensitive(delta, "content");
            const cJSON *fr = cJSON_GetObjectItemCaseSensitive(choice, "finish_reason");
            if ((idx && !(cJSON_IsNumber(idx) && idx->valueint == 0)) ||
                cJSON_GetObjectItemCaseSensitive(delta, "tool_calls") ||
                cJSON_GetObjectItemCaseSensitive(delta, "function_call"))
                k->stream_bad = 1;
            if (cJSON_IsString(content))
                sy_buf_puts(&k->answer, content->valuestring);
            if (cJSON_IsString(fr))
                snprintf(k->finish, sizeof(k->finish), "%s", fr->valuestring);
        }
        if (k->answer.len > SY_CACHE_MAX_ANSWER)
            k->stream_bad = 1;
    }
    cJSON_Delete(ch);
}

void sy_cache_capture_stream(sy_call *c, const char *data, size_t len)
{
    sy_call_cache *k = c->cache;
    if (!k || !k->store || k->stream_bad || c->att.native || !len)
        return;
    if (k->stream_attempt != c->att.attempts) { /* a new attempt starts afresh */
        k->stream_attempt = c->att.attempts;
        sy_buf_reset(&k->answer);
        sy_buf_reset(&k->line);
        k->finish[0] = '\0';
    }
    sy_buf_append(&k->line, data, len);
    size_t start = 0;
    for (size_t i = 0; i < k->line.len; i++) {
        if (k->line.data[i] != '\n')
            continue;
        const char *l = k->line.data + start;
        size_t n = i - start;
        if (n && l[n - 1] == '\r')
            n--;
        if (n > 5 && memcmp(l, "data:", 5) == 0) {
            size_t skip = l[5] == ' ' ? 6 : 5;
            capture_chunk(k, l + skip, n - skip);
        }
        start = i + 1;
    }
    memmove(k->line.data, k->line.data + start, k->line.len - start);
    k->line.len -= start;
    if (k->line.data)
        k->line.data[k->line.len] = '\0';
}

/* The captured stream as an OpenAI chat completion into out. */
static void stream_as_answer(sy_call *c, sy_buf *out)
{
    sy_call_cache *k = c->cache;
    sy_buf_printf(out, "{\"id\":\"%s\",\"object\":\"chat.completion\",\"created\":%llu,\"model\":",
                  c->id, (unsigned long long)(sy_wall_ms() / 1000));
    sy_buf_json_string(out, c->att.model->name, strlen(c->att.model->name));
    sy_buf_puts(out, ",\"choices\":[{\"index\":0,\"message\":{\"role\":\"assistant\",\"content\":");
    sy_buf_json_string(out, k->answer.data ? k->answer.data : "", k->answer.len);
    sy_buf_puts(out, "},\"finish_reason\":");
    sy_buf_json_string(out, k->finish, strlen(k->finish));
    sy_buf_puts(out, "}]}");
}

/* The finish reason of a plain answer's first choice (and 1 when it has exactly one). */
static int plain_finish(const sy_buf *body, char *finish, size_t cap)
{
    cJSON *root = cJSON_ParseWithLength(body->data ? body->data : "", body->len);
    const cJSON *choices = cJSON_GetObjectItemCaseSensitive(root, "choices");
    const cJSON *fr =
        cJSON_GetObjectItemCaseSensitive(cJSON_GetArrayItem(choices, 0), "finish_reason");
    int one = cJSON_GetArraySize(choices) == 1;
    snprintf(finish, cap, "%s", cJSON_IsString(fr) ? fr->valuestring : "");
    cJSON_Delete(root);
    return one;
}

/* Queue the completed answer of a miss for the store. Only whole answers that ended
 * with stop or tool_calls are stored. */
static void store_answer(sy_call *c)
{
    sy_call_cache *k = c->cache;
    if (!k->store || !c->att.model || !c->rec.completed || c->rec.status != 200 ||
        c->rec.error_code || c->att.native)
        return;
    sy_buf body = {0};
    char finish[32] = "";
    int ok;
    if (c->stream) {
        ok = !k->stream_bad && k->stream_attempt == c->att.attempts;
        snprintf(finish, sizeof(finish), "%s", k->finish);
        if (ok)
            stream_as_answer(c, &body);
        ok = ok && strcmp(finish, "stop") == 0;
    } else {
        ok = k->have_plain && k->answer.len <= SY_CACHE_MAX_ANSWER &&
             plain_finish(&k->answer, finish, sizeof(finish)) &&
             (strcmp(finish, "stop") == 0 || strcmp(finish, "tool_calls") == 0);
        if (ok)
            sy_buf_append(&body, k->answer.data, k->answer.len);
    }
    if (ok) {
        sy_store_cache_entry e = {0};
        memcpy(e.key, k->key, sizeof(e.key));
        snprintf(e.ns, sizeof(e.ns), "%s", k->ns);
        snprintf(e.model, sizeof(e.model), "%s", c->att.model->name);
        snprintf(e.prompt, sizeof(e.prompt), "%s", c->ctx.prompt);
        e.prompt_version = c->ctx.prompt_version;
        e.created_ms = sy_wall_ms();
        e.expires_ms = e.created_ms + 1000ull * k->cfg->ttl_s;
        e.cost_usd = c->rec.bill.cost_usd;
        e.prompt_tokens = c->rec.bill.usage.prompt_tokens;
        e.completion_tokens = c->rec.bill.usage.completion_tokens;
        e.answer = body.data;
        e.answer_len = body.len;
        if (k->vec) { /* the semantic tier's vector of the miss: no second embedding */
            e.vec = k->vec;
            e.dim = k->dim;
            memcpy(e.part, k->part, sizeof(e.part));
        }
        sy_store_cache_put(c->w->server->store, &e, k->cfg->max_entries);
    }
    sy_buf_free(&body);
}

void sy_cache_log_field(const sy_call *c, sy_logbuf *lb)
{
    if (!c->cache)
        return;
    static const char *const names[] = {"miss", "hit", "semantic"};
    sy_logbuf_str(lb, "cache", names[c->cache->outcome]);
    if (c->cache->outcome != SY_CACHE_MISS)
        sy_logbuf_num_prec(lb, "cache_saved_usd", c->cache->saved_usd, 9);
    if (!isnan(c->cache->similarity))
        sy_logbuf_num_prec(lb, "cache_similarity", c->cache->similarity, 4);
    if (c->cache->semantic)
        sy_logbuf_num_prec(lb, "cache_embed_cost_usd", c->cache->embed_cost_usd, 9);
}

void sy_cache_call_end(sy_call *c)
{
    sy_call_cache *k = c->cache;
    if (!k)
        return;
    store_answer(c);
    sy_cache_semantic_free(k);
    sy_buf_free(&k->cand_answer);
    sy_buf_free(&k->answer);
    sy_buf_free(&k->line);
    free(k);
    c->cache = NULL;
}
