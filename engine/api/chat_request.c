/*
 * chat_request.c: stage 1 of the chat pipeline (DESIGN.md §3), what can be said of the
 * request before it is routed: media type, nesting depth, the schema checks, and the
 * features the policies see.
 */
#include "chat_call.h"

#include "chat_validate.h"

#include <string.h>
#include <strings.h>

/* Reject with an OpenAI-shaped 400 that names the parameter. */
void sy_chat_bad_request(sy_http_req *req, const char *param, const char *msg)
{
    sy_http_respond_error(req, 400, "invalid_request_error", "invalid_request", param, msg, NULL);
}

/* Content-Type must be application/json (parameters such as charset allowed). */
int sy_chat_is_json(const sy_http_req *req)
{
    const sy_http_header *h = sy_http_req_header(req, "content-type");
    if (!h || h->value_len < 16 || strncasecmp(h->value, "application/json", 16) != 0)
        return 0;
    return h->value_len == 16 || h->value[16] == ';' || h->value[16] == ' ';
}

/* Nesting depth of a JSON text, without parsing it; stops counting past `max`. */
unsigned sy_chat_json_depth(const char *s, size_t n, unsigned max)
{
    unsigned depth = 0, peak = 0;
    int in_str = 0;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (in_str) {
            if (c == '\\')
                i++;
            else if (c == '"')
                in_str = 0;
        } else if (c == '"') {
            in_str = 1;
        } else if (c == '{' || c == '[') {
            if (++depth > peak && (peak = depth) > max)
                return peak;
        } else if (c == '}' || c == ']') {
            if (depth)
                depth--;
        }
    }
    return peak;
}

/* Schema checks (engine/proto/chat_validate.c); answers the 400 itself. */
int sy_chat_validate_body(sy_http_req *req, cJSON *root)
{
    char param[96];
    const char *msg = NULL;
    if (sy_chat_validate(root, param, sizeof(param), &msg))
        return 1;
    sy_chat_bad_request(req, param[0] ? param : NULL, msg);
    return 0;
}

/* What the featurizer needs from a validated chat request (pointers into root). */
void sy_chat_request_features(const cJSON *root, sy_feature_input *fi)
{
    memset(fi, 0, sizeof(*fi));
    const cJSON *msgs = cJSON_GetObjectItemCaseSensitive(root, "messages");
    unsigned users = 0;
    for (const cJSON *m = msgs ? msgs->child : NULL; m; m = m->next) {
        const cJSON *role = cJSON_GetObjectItemCaseSensitive(m, "role");
        const cJSON *content = cJSON_GetObjectItemCaseSensitive(m, "content");
        const char *r = cJSON_IsString(role) ? role->valuestring : "";
        const char *text = NULL;
        if (cJSON_IsString(content)) {
            text = content->valuestring;
        } else if (cJSON_IsArray(content)) { /* multi-part: count every text part */
            for (const cJSON *p = content->child; p; p = p->next) {
                const cJSON *t = cJSON_GetObjectItemCaseSensitive(p, "text");
                if (cJSON_IsString(t)) {
                    fi->prompt_bytes += strlen(t->valuestring);
                    if (!text)
                        text = t->valuestring;
                }
            }
        }
        if (cJSON_IsString(content))
            fi->prompt_bytes += strlen(text);
        if (strcmp(r, "system") == 0 || strcmp(r, "developer") == 0)
            fi->has_system = 1;
        else if (strcmp(r, "tool") == 0)
            fi->has_tools = 1;
        else if (strcmp(r, "user") == 0 && text) {
            users++;
            fi->user_text = text;
            fi->user_len = strlen(text);
        }
    }
    fi->turn = users ? users - 1 : 0;
    if (cJSON_GetObjectItemCaseSensitive(root, "tools"))
        fi->has_tools = 1;
}
