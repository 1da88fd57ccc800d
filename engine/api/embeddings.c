/*
 * embeddings.c: POST /v1/embeddings. The chat pipeline's stages (pipeline.c) with an
 * embeddings adapter (engine/providers/embed_adapter.h): admit (key limits and budgets,
 * media type, parse) → validate (embed_request.c) → the target's kind, route decision
 * (chat_decide.c; no conversation, no experiments) → attempts with retries, fallback
 * and breakers (chat_attempt.c) → record (chat_record.c: log line, store, key charge).
 * The cost is the model's input price times usage.prompt_tokens.
 */
#include "pipeline.h"

#include "chat_call.h"

void sy_pipeline_embeddings(sy_worker *w, sy_http_req *req, const sy_client_key_cfg *key)
{
    sy_call *c = sy_call_new(w, req, key);
    c->embed = 1;
    sy_embed_summary sum;
    cJSON *root = sy_call_admit(c, req, 0); /* inputs never hold a NUL */
    if (!root)
        goto answered;
    if (!sy_embed_validate_body(req, root, &sum)) {
        c->rec.status = 400;
        c->rec.error_code = "invalid_request";
        goto answered;
    }
    /* the gateway's estimate when the provider reports no usage: ceil(bytes / 4) */
    c->rec.prompt_bytes = sy_embed_prompt_bytes(&sum);
    const char *name = cJSON_GetObjectItemCaseSensitive(root, "model")->valuestring;
    if (sy_call_target(c, req, name, root) != 0)
        goto answered;
    if (c->rt->cfg->log.include_prompts)
        c->rec.prompt_json =
            cJSON_PrintUnformatted(cJSON_GetObjectItemCaseSensitive(root, "input"));
    int held = sy_chat_budget_hold(c, req, root,
                                   sy_call_launch); /* cluster budgets: launched on the verdict */
    cJSON_Delete(root);
    if (!held)
        sy_call_launch(c, req);
    return;

answered:
    cJSON_Delete(root);
    sy_call_answered(c, req);
}
