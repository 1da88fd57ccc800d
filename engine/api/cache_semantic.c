/*
 * cache_semantic.c: the semantic tier of the response cache (docs/cache.md). After the
 * exact tier missed, the latest user turn (normalised by sy_cache_semantic_part) is
 * embedded by the route's embedding model: one non-stream POST through that model's
 * embeddings adapter on the worker's curl multi, bounded by the block's timeout_ms (and
 * the provider's own timeout), while the request waits. The vector is looked up in its
 * partition of the server's index (cache/sem_index.h: same scope, route, parameters,
 * prompt, earlier conversation and embedding model); the nearest entry is served when
 * its cosine similarity reaches the threshold (x-switchyard-cache: semantic), else the
 * request goes on as a miss and its answer is stored with this vector. An embedding
 * failure or timeout is a miss (fail open), counted. The embedding's tokens are billed
 * to the client key (its model's input price) and logged (cache_embed_cost_usd).
 *
 * Ownership: while the embedding call runs, the call's cache state holds the request
 * body (k->root) and the transfer is c->att.xfer, so the pipeline's abort path cancels
 * it like an attempt; sy_cache_semantic_free drops what is left when the call ends.
 */
#include "cache_index.h"
#include "cache_internal.h"
#include "json_body.h"
#include "key_limits.h"
#include "provider.h"
#include "server.h"
#include "sha256.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_EMBED_ANSWER (8u * 1024 * 1024) /* an embedding answer larger is a failure */

int sy_cache_semantic_prepare(sy_call *c, const cJSON *root, const sy_cache_key_ctx *ctx)
{
    sy_call_cache *k = c->cache;
    uint8_t part[SY_CACHE_KEY_LEN];
    if (sy_cache_semantic_part(root, ctx, part, &k->text) != 0)
        return -1;
    /* the embedding model joins the partition: another model's vectors are another space */
    const char *model = k->cfg->embedding_model;
    sy_sha256_ctx h;
    sy_sha256_init(&h);
    sy_sha256_update(&h, "semantic-model:", 15);
    sy_sha256_update(&h, model, strlen(model) + 1);
    sy_sha256_update(&h, part, sizeof(part));
    sy_sha256_final(&h, k->part);
    return 0;
}

void sy_cache_semantic_free(sy_call_cache *k)
{
    cJSON_Delete(k->root);
    k->root = NULL;
    sy_upstream_call_free(&k->up);
    sy_buf_free(&k->resp);
    sy_buf_free(&k->text);
    if (k->ad && k->ad->release)
        k->ad->release(&k->rs);
    k->ad = NULL;
    free(k->vec);
    k->vec = NULL;
}

static void on_header(void *ud, long status)
{
    sy_call *c = ud;
    c->cache->status = status;
}

static int on_data(void *ud, const char *data, size_t len)
{
    sy_call_cache *k = ((sy_call *)ud)->cache;
    if (k->resp.len + len > MAX_EMBED_ANSWER)
        return 0; /* abort the transfer: a failure */
    sy_buf_append(&k->resp, data, len);
    return 1;
}

/* The first vector of an OpenAI embeddings answer into k->vec; 0, or -1. */
static int parse_vector(sy_call_cache *k, const sy_buf *answer)
{
    cJSON *root = cJSON_ParseWithLength(answer->data ? answer->data : "", answer->len);
    const cJSON *emb = cJSON_GetObjectItemCaseSensitive(
        cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(root, "data"), 0), "embedding");
    int n = cJSON_IsArray(emb) ? cJSON_GetArraySize(emb) : 0;
    int rc = -1;
    if (n > 0 && n <= 65536) {
        k->vec = sy_xmalloc(sizeof(float) * (size_t)n);
        k->dim = (uint32_t)n;
        rc = 0;
        int i = 0;
        const cJSON *v;
        cJSON_ArrayForEach(v, emb)
        {
            if (!cJSON_IsNumber(v) || !isfinite(v->valuedouble))
                rc = -1;
            k->vec[i++] = (float)v->valuedouble;
        }
        if (rc != 0) {
            free(k->vec);
            k->vec = NULL;
            k->dim = 0;
        }
    }
    cJSON_Delete(root);
    return rc;
}

/* Bill the embedding's tokens to the key (its model's input price). */
static void bill_embedding(sy_call *c)
{
    sy_call_cache *k = c->cache;
    sy_bill bill;
    sy_bill_exchange(&k->emb->price, &k->rs, 1, k->text.len, &bill);
    k->embed_cost_usd = bill.cost_usd;
    sy_key_charge(c->key_name, &c->key->limits,
                  bill.usage.prompt_tokens + bill.usage.completion_tokens, bill.cost_usd,
                  sy_wall_ms());
}

/* The nearest entry of the partition, served when similar enough: 1 after answering,
 * 0 (a miss; k->similarity set when a neighbour was found). */
static int search_and_serve(sy_call *c, sy_http_req *req, const cJSON *root)
{
    sy_call_cache *k = c->cache;
    uint64_t id;
    float sim;
    if (!sy_sem_index_nearest(c->w->server->sem_index, k->part, k->vec, (int)k->dim, &id, &sim))
        return 0;
    k->similarity = sim;
    int arm = k->cfg->mode == SY_CACHE_MODE_ARM; /* the route's policy decides */
    if (sim < (arm ? k->cfg->min_similarity : k->cfg->threshold))
        return 0;
    uint8_t id8[8];
    sy_cache_index_id_bytes(id, id8);
    sy_store_cache_entry e;
    sy_buf answer = {0};
    int hit = sy_store_cache_get(c->w->server->store, NULL, id8, sy_wall_ms(), &e, &answer) == 0 &&
              memcmp(e.part, k->part, sizeof(e.part)) == 0; /* expired or replaced: a miss */
    if (hit && arm) { /* a candidate for the cache arm, not served yet */
        sy_cache_arm_hold(k, &e, &answer);
        return 0;
    }
    if (hit) {
        k->outcome = SY_CACHE_HIT_SEMANTIC;
        sy_buf_printf(&c->headers, "x-switchyard-cache-similarity: %.4f\r\n", k->similarity);
        sy_cache_metrics_lookup(SY_CACHE_HIT_SEMANTIC, (double)k->lookup_ns / 1e9, e.cost_usd);
        sy_cache_replay(c, req, &e, &answer,
                        cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(root, "stream")));
    }
    sy_buf_free(&answer);
    return hit;
}

/* The embedding call ended: serve a neighbour, or go on as a miss. */
static void on_done(void *ud, sy_upstream_result res, const char *detail)
{
    (void)detail;
    sy_call *c = ud;
    sy_call_cache *k = c->cache;
    sy_http_req *req = c->req;
    cJSON *root = k->root;
    const sy_cache_cont *cont = k->cont;
    k->root = NULL;
    c->att.xfer = NULL;
    int ok = res == SY_UP_OK && k->status >= 200 && k->status < 300;
    sy_buf answer = {0};
    int parsed =
        ok && k->ad->response(k->resp.data ? k->resp.data : "", k->resp.len, &k->rs, &answer) == 0;
    if (ok)
        bill_embedding(c); /* with the usage the answer reported, else the estimate */
    ok = parsed && parse_vector(k, &answer) == 0;
    sy_buf_free(&answer);
    if (!ok) {
        sy_cache_metrics_embed_failed();
        sy_log(SY_LOG_WARN, "request %s: the semantic cache could not embed (%s); a miss", c->id,
               res == SY_UP_TIMEOUT                  ? "timeout"
               : res != SY_UP_OK                     ? "unreachable"
               : k->status < 200 || k->status >= 300 ? "error status"
                                                     : "no vector");
    }
    req->ud = NULL; /* the pipeline takes the request back (launch sets its own) */
    req->on_abort = NULL;
    uint64_t t1 = sy_now_ns();
    int served = ok && search_and_serve(c, req, root);
    k->lookup_ns += sy_now_ns() - t1;
    if (served) {
        cJSON_Delete(root);
        cont->answered(c, req);
        return;
    }
    if (!k->arm_pending) /* a held candidate is a hit or a miss by the route's decision */
        sy_cache_miss(c, (double)k->lookup_ns / 1e9);
    cont->go_on(c, req, root);
}

static const sy_upstream_cbs embed_cbs = {on_header, on_data, on_done};

/* The embeddings request for k->text through the model's adapter; 0, or -1. */
static int build_request(sy_call *c)
{
    sy_call_cache *k = c->cache;
    const sy_config *cfg = c->rt->cfg;
    k->emb = sy_config_find_model(cfg, k->cfg->embedding_model);
    if (!k->emb || !k->emb->embedding)
        return -1;
    const sy_provider_cfg *prov = &cfg->providers[k->emb->provider];
    const sy_adapter *ad = sy_embed_adapter_for(prov->dialect);
    if (!ad)
        return -1;
    k->rs.client_model = k->emb->name;
    k->rs.client_id = c->id;
    cJSON *body = cJSON_CreateObject();
    cJSON_AddStringToObject(body, "model", k->emb->name);
    cJSON_AddStringToObject(body, "input", k->text.data);
    const char *bad_param = NULL, *why = NULL;
    int rc = ad->build(prov, k->emb, body, 0, &k->rs, &k->up, &bad_param, &why);
    cJSON_Delete(body);
    k->ad = ad; /* release runs also after a failed build */
    if (rc != 0)
        return -1;
    sy_json_nul_restore(&k->up.body);
    return 0;
}

int sy_cache_semantic_start(sy_call *c, sy_http_req *req, cJSON *root, const sy_cache_cont *cont)
{
    sy_call_cache *k = c->cache;
    const sy_config *cfg = c->rt->cfg;
    k->semantic = 1;
    if (!c->w->server->sem_index || build_request(c) != 0) {
        sy_cache_metrics_embed_failed();
        return 0;
    }
    const sy_provider_cfg *prov = &cfg->providers[k->emb->provider];
    unsigned timeout = k->cfg->embed_timeout_ms;
    sy_upstream_req ur = {
        .url = k->up.url.data,
        .headers = (const char *const *)k->up.headers,
        .body = k->up.body.data,
        .body_len = k->up.body.len,
        .connect_timeout_ms =
            cfg->upstream.connect_timeout_ms < timeout ? cfg->upstream.connect_timeout_ms : timeout,
        .timeout_ms = prov->timeout_ms && prov->timeout_ms < timeout ? prov->timeout_ms : timeout,
        .ca_file = prov->ca_file};
    c->att.xfer = sy_upstream_start(c->w->up, &ur, &embed_cbs, c);
    if (!c->att.xfer) {
        sy_cache_metrics_embed_failed();
        return 0;
    }
    k->root = root;
    k->cont = cont;
    req->ud = c; /* the client leaving cancels the embedding (the pipeline's abort path) */
    req->on_abort = cont->on_abort;
    return 1;
}
