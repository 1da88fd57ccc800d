/*
 * ingress_messages.c: the Messages API ingress (ingress_messages.h): the sy_ingress
 * object whose translations are engine/proto/messages_*.c, and count_tokens.
 */
#include "ingress_messages.h"

#include "api_common.h"
#include "chat_call.h"
#include "messages_ingress.h"
#include "worker.h"

#include <stdio.h>
#include <string.h>

/* The refused member's path must outlive the request body (pipeline.c reports it after
 * freeing it): one buffer per worker thread, read before the thread's next request. */
static _Thread_local char refused_param[128];

static cJSON *to_chat(const cJSON *in, const char **param, char *why, size_t why_len)
{
    const char *msg = NULL;
    cJSON *chat = sy_messages_to_chat(in, 1, refused_param, sizeof(refused_param), &msg);
    if (!chat) {
        *param = refused_param[0] ? refused_param : NULL;
        snprintf(why, why_len, "%s", msg ? msg : "invalid request body");
    }
    return chat;
}

static int answer(const char *body, size_t len, const sy_ingress_info *info, sy_buf *out)
{
    return sy_messages_answer(body, len, info->id, info->model, out);
}

static void *stream_open(const sy_ingress_info *info)
{
    return sy_messages_stream_new(info->id, info->model);
}

static void stream_chunk(void *st, const char *data, size_t len, sy_buf *out)
{
    sy_messages_stream_chunk(st, data, len, out);
}

static void stream_close(void *st, const char *code, const char *message, sy_buf *out)
{
    sy_messages_stream_close(st, code, message, out);
}

static void stream_free(void *st)
{
    sy_messages_stream_free(st);
}

const sy_ingress sy_ingress_messages = {
    .name = "messages",
    .error_body = sy_messages_error_body,
    .to_chat = to_chat,
    .answer = answer,
    .stream_open = stream_open,
    .stream_chunk = stream_chunk,
    .stream_close = stream_close,
    .stream_free = stream_free,
};

int sy_messages_count_path(const char *path)
{
    return strcmp(path, "/v1/messages/count_tokens") == 0 ||
           strcmp(path, "/messages/count_tokens") == 0;
}

/* The chat model a name stands for (a route's first candidate: all are of one kind), or
 * NULL for an unknown name or a hidden route. */
static const sy_model_cfg *target_model(const sy_config *cfg, const char *name)
{
    const sy_model_cfg *m = sy_config_find_model(cfg, name);
    const sy_route_cfg *r = m ? NULL : sy_config_find_route(cfg, name);
    if (r && !r->hidden)
        m = &cfg->models[r->candidates[0]];
    return m;
}

void sy_messages_count_tokens(sy_worker *w, sy_http_req *req)
{
    const sy_config *cfg = w->rt->cfg;
    if (!sy_chat_is_json(req)) {
        sy_http_respond_error(req, 415, "invalid_request_error", "unsupported_media_type", NULL,
                              "Content-Type must be application/json", NULL);
        return;
    }
    if (sy_chat_json_depth(req->body.data ? req->body.data : "", req->body.len,
                           cfg->limits.max_json_depth) > cfg->limits.max_json_depth) {
        sy_chat_bad_request(req, NULL, "JSON nesting exceeds the configured depth limit");
        return;
    }
    cJSON *root = sy_api_json_body(req, NULL, 1);
    if (!root)
        return;
    char param[128];
    const char *why = NULL;
    cJSON *chat = sy_messages_to_chat(root, 0, param, sizeof(param), &why);
    cJSON_Delete(root);
    if (!chat) {
        sy_chat_bad_request(req, param[0] ? param : NULL, why);
        return;
    }
    const char *name = cJSON_GetObjectItemCaseSensitive(chat, "model")->valuestring;
    const sy_model_cfg *m = target_model(cfg, name);
    char msg[300];
    if (!m || m->embedding) {
        snprintf(msg, sizeof(msg),
                 m ? "'%.200s' is an embedding model" : "The model '%.200s' does not exist", name);
        sy_http_respond_error(req, m ? 400 : 404, "invalid_request_error",
                              m ? "wrong_model_kind" : "model_not_found", "model", msg, NULL);
    } else {
        snprintf(msg, sizeof(msg), "{\"input_tokens\":%lld}",
                 (long long)sy_messages_token_estimate(chat));
        sy_http_respond(req, 200, "application/json", NULL, msg, strlen(msg));
    }
    cJSON_Delete(chat);
}
