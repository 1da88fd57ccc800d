/*
 * chat_context.c: stages 4 to 7 of the chat pipeline (DESIGN.md §3, §7, §8): experiment
 * enrolment, prompt rendering, the conversation's state with rephrase detection, and
 * the escalation rules over it.
 */
#include "chat_call.h"

#include "experiments.h"
#include "log.h"
#include "metrics.h"
#include "conversation.h"
#include "prompt_apply.h"
#include "rating.h"
#include "server.h"
#include "sha256.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* What experiment_user reads the unit from. */
typedef struct unit_lookup {
    const sy_http_req *req;
    const cJSON *root;
} unit_lookup;

static void conversation_id(const sy_call *c, const cJSON *root, uint8_t id[16]);

/* The user an experiment randomises on: the body's `user`, else its unit header. */
static const char *experiment_user(const sy_exp_rt *e, void *ud, size_t *len)
{
    const unit_lookup *u = ud;
    const cJSON *user = cJSON_GetObjectItemCaseSensitive(u->root, "user");
    if (cJSON_IsString(user) && user->valuestring[0]) {
        *len = strlen(user->valuestring);
        return user->valuestring;
    }
    const sy_http_header *h = sy_http_req_header(u->req, e->unit_header);
    *len = h ? h->value_len : 0;
    return h && h->value_len ? h->value : NULL;
}

/*
 * Enrol the request in the running experiments of its route (engine/registry/
 * experiments.h): the first experiment's variant picks the route that serves it, its
 * prompt version (when the request references the same prompt) and its parameters,
 * which replace the client's. Assignment is a pure function of the unit, so it needs no
 * state. A request without a unit of the experiment's kind (no user id) is not enrolled.
 */
void sy_chat_assign_experiments(sy_call *c, cJSON *root)
{
    const sy_exp_table *t = c->rt->experiments;
    if (!t || !t->n)
        return;
    const cJSON *model = cJSON_GetObjectItemCaseSensitive(root, "model");
    const char *name = cJSON_IsString(model) ? model->valuestring : NULL;
    cJSON *pref = cJSON_GetObjectItemCaseSensitive(root, "prompt");
    sy_prompt_resolved pr;
    if (!name && cJSON_IsObject(pref)) { /* the prompt version's model names the route */
        const cJSON *id = cJSON_GetObjectItemCaseSensitive(pref, "id");
        const cJSON *ver = cJSON_GetObjectItemCaseSensitive(pref, "version");
        const cJSON *lab = cJSON_GetObjectItemCaseSensitive(pref, "label");
        if (cJSON_IsString(id) &&
            sy_prompt_registry_resolve(
                c->w->server->prompts, id->valuestring,
                cJSON_IsNumber(ver) && ver->valuedouble >= 1 && ver->valuedouble <= 1e9
                    ? (unsigned)ver->valuedouble
                    : 0,
                cJSON_IsString(lab) ? lab->valuestring : "production", &pr) == 0)
            name = pr.tmpl->model;
    }
    const sy_route_cfg *r = name ? sy_config_find_route(c->rt->cfg, name) : NULL;
    if (!r || r->hidden)
        return;
    uint8_t conv[16];
    sy_exp_units units = {.request = c->id};
    for (size_t i = 0; i < t->n; i++) /* hash the conversation only when it is a unit */
        if (t->exps[i].base_route == (size_t)(r - c->rt->cfg->routes) &&
            t->exps[i].unit == SY_EXP_UNIT_CONVERSATION) {
            conversation_id(c, root, conv);
            units.conversation = conv;
            break;
        }
    unit_lookup ul = {c->req, root};
    sy_exp_assignment a[8];
    size_t n = sy_exp_assign(t, (size_t)(r - c->rt->cfg->routes), &units, experiment_user, &ul, a,
                             SY_ARRAY_LEN(a));
    if (!n)
        return;
    sy_exp_record(a, n, c->ctx.experiments, sizeof(c->ctx.experiments));
    sy_buf_puts(&c->headers, "x-switchyard-experiment: ");
    for (size_t i = 0; i < n; i++)
        sy_buf_printf(&c->headers, "%s%s=%s", i ? ", " : "", a[i].exp->id,
                      a[i].exp->variants[a[i].variant].name);
    sy_buf_puts(&c->headers, "\r\n");
    const sy_exp_variant_rt *v = &a[0].exp->variants[a[0].variant];
    c->ctx.exp_route = &c->rt->cfg->routes[v->route];
    sy_prompt_resolved vp;
    if (v->prompt_id[0] && cJSON_IsObject(pref)) {
        const cJSON *id = cJSON_GetObjectItemCaseSensitive(pref, "id");
        if (cJSON_IsString(id) && strcmp(id->valuestring, v->prompt_id) == 0 &&
            sy_prompt_registry_resolve(c->w->server->prompts, v->prompt_id, v->prompt_version,
                                       v->prompt_label, &vp) != 0) {
            /* the operator's reference is broken: serve the client's, and say so */
            sy_log(SY_LOG_WARN, "experiment %s: variant %s's prompt %s does not resolve",
                   a[0].exp->id, v->name, v->prompt_id);
        } else if (cJSON_IsString(id) && strcmp(id->valuestring, v->prompt_id) == 0) {
            cJSON_DeleteItemFromObjectCaseSensitive(pref, "version");
            cJSON_DeleteItemFromObjectCaseSensitive(pref, "label");
            if (v->prompt_version)
                cJSON_AddNumberToObject(pref, "version", v->prompt_version);
            else
                cJSON_AddStringToObject(pref, "label", v->prompt_label);
        }
    }
    for (const cJSON *p = v->parameters ? v->parameters->child : NULL; p; p = p->next) {
        c->ctx.exp_params = 1;
        cJSON_DeleteItemFromObjectCaseSensitive(root, p->string);
        cJSON_AddItemToObject(root, p->string, cJSON_Duplicate(p, 1));
    }
    if (v->parameters || v->prompt_id[0]) { /* later stages re-read the body */
        char *body = cJSON_PrintUnformatted(root);
        sy_buf_reset(&c->req->body);
        sy_buf_puts(&c->req->body, body);
        free(body);
    }
    return;
}

/*
 * A request that references a prompt version (`prompt`: id, version or label,
 * variables) is rendered from the registry in memory, and the rendered JSON replaces
 * the request's body: every later stage (validation, each attempt's translation) sees
 * the request as if the client had sent the rendered messages. Answers 400/404 itself
 * and returns -1 on a client error.
 */
int sy_chat_render_prompt(sy_call *c, sy_http_req *req, cJSON *root)
{
    sy_api_prompt_result pr;
    int rc =
        sy_api_apply_prompt(c->w->server->prompts, root, c->rt->cfg->limits.max_body_bytes, &pr);
    if (rc < 0) {
        c->rec.status = pr.status;
        c->rec.error_code = pr.status == 404 ? "prompt_not_found" : "invalid_request";
        sy_http_respond_error(req, pr.status, "invalid_request_error", c->rec.error_code,
                              pr.err.param[0] ? pr.err.param : NULL, pr.err.message,
                              c->headers.data);
        return -1;
    }
    if (rc == 1) {
        char *body = cJSON_PrintUnformatted(root);
        sy_buf_reset(&req->body);
        sy_buf_puts(&req->body, body);
        free(body);
        snprintf(c->ctx.prompt, sizeof(c->ctx.prompt), "%s", pr.name);
        c->ctx.prompt_version = pr.resolved.version;
        sy_buf_printf(&c->headers, "x-switchyard-prompt: %s@%u\r\n", pr.name, pr.resolved.version);
    }
    return 0;
}

/* The conversation's id: X-Conversation-Id, metadata.conversation_id, or (derived)
 * SHA-256 of the key name and the first user message; the first 16 bytes. */
static void conversation_id(const sy_call *c, const cJSON *root, uint8_t id[16])
{
    uint8_t digest[SY_SHA256_LEN];
    const sy_http_header *h = sy_http_req_header(c->req, "x-conversation-id");
    const cJSON *meta = cJSON_GetObjectItemCaseSensitive(root, "metadata");
    const cJSON *mc = cJSON_GetObjectItemCaseSensitive(meta, "conversation_id");
    sy_sha256_ctx ctx;
    sy_sha256_init(&ctx);
    if (h && h->value_len) {
        sy_sha256_update(&ctx, "h:", 2);
        sy_sha256_update(&ctx, h->value, h->value_len);
    } else if (cJSON_IsString(mc) && mc->valuestring[0]) {
        sy_sha256_update(&ctx, "h:", 2);
        sy_sha256_update(&ctx, mc->valuestring, strlen(mc->valuestring));
    } else {
        sy_sha256_update(&ctx, "d:", 2);
        sy_sha256_update(&ctx, c->key_name, strlen(c->key_name) + 1);
        const cJSON *m;
        cJSON_ArrayForEach(m, cJSON_GetObjectItemCaseSensitive(root, "messages"))
        {
            const cJSON *role = cJSON_GetObjectItemCaseSensitive(m, "role");
            const cJSON *content = cJSON_GetObjectItemCaseSensitive(m, "content");
            if (cJSON_IsString(role) && strcmp(role->valuestring, "user") == 0 &&
                cJSON_IsString(content)) {
                sy_sha256_update(&ctx, content->valuestring, strlen(content->valuestring));
                break;
            }
        }
    }
    sy_sha256_final(&ctx, digest);
    memcpy(id, digest, 16);
}

/*
 * Stage 4 and 7 (DESIGN.md §3, §7): load the conversation, detect a rephrase of the
 * previous user turn (which records a weak negative reward for the decision that
 * answered it), and apply the route's first rule that holds, or a sticky one from an
 * earlier turn. Sets *tier or *pin when the candidates are to be restricted.
 */
void sy_chat_conversation_stage(sy_call *c, const sy_route_cfg *r, const cJSON *root,
                                sy_feature_input *fi, const char **tier, const char **pin)
{
    const sy_config *cfg = c->rt->cfg;
    sy_store *store = c->w->server->store;
    uint64_t now = sy_wall_ms();
    c->conv.on = 1;
    conversation_id(c, root, c->conv.id);
    sy_conv_state *st = &c->conv.state;
    int known = sy_store_conv_get(store, c->conv.id, now, st) == 0;
    sy_conv_turn turn;
    sy_conv_begin_turn(st, known, fi->user_text, fi->user_len, now, &turn);
    if (turn.rate_previous) { /* the previous answer did not satisfy: a weak negative */
        sy_store_feedback fb = {.by_token = 1,
                                .value = SY_RATING_IMPLICIT_VALUE,
                                .ts_ms = now,
                                .implicit = 1,
                                .weight = cfg->conversations.implicit_weight,
                                .comment = "implicit: the user rephrased"};
        memcpy(fb.id, st->last_request, 16);
        sy_store_put_feedback(store, &fb, NULL, NULL);
    }
    sy_value vals[SY_RV_COUNT] = {
        [SY_RV_TURN] = {.num = st->turn},
        [SY_RV_REPHRASES] = {.num = st->rephrases},
        [SY_RV_REPHRASES_TOTAL] = {.num = st->rephrases_total},
        [SY_RV_THUMBS_DOWN] = {.num = st->thumbs_down},
        [SY_RV_GOOD_TURNS] = {.num = st->good_turns},
        [SY_RV_COST_USD] = {.num = st->cost_usd},
        [SY_RV_IDLE_S] = {.num = turn.idle_s},
        [SY_RV_TIER] = {.str = st->tier},
        [SY_RV_ESCALATED] = {.boolean = st->tier[0] || st->pinned[0]},
    };
    const sy_rule_cfg *fired = NULL;
    for (size_t i = 0; i < r->n_rules && !fired; i++)
        if (r->rules[i].when && sy_expr_eval(r->rules[i].when, vals))
            fired = &r->rules[i];
    sy_conv_rule rule = {0};
    if (fired) {
        sy_metrics_rule_fired(r->name, fired->name);
        rule = (sy_conv_rule){.name = fired->name,
                              .action = fired->action == SY_RULE_ESCALATE ? SY_CONV_ESCALATE
                                        : fired->action == SY_RULE_PIN    ? SY_CONV_PIN
                                                                          : SY_CONV_DEESCALATE,
                              .target = fired->target,
                              .sticky = fired->sticky};
    }
    sy_conv_escalation esc;
    fi->escalation = sy_conv_apply_rule(st, &rule, r->deescalate_after_good_turns, &esc);
    *tier = esc.tier;
    *pin = esc.pin;
    c->dec.rule_name = esc.rule;
}
