/*
 * embed_request.c: stage 1 of POST /v1/embeddings (DESIGN.md §3): the schema checks
 * (engine/proto/embed_validate.c) and the features a route's policy sees.
 */
#include "chat_call.h"

#include <string.h>

/* Schema checks; answers the 400 itself. */
int sy_embed_validate_body(sy_http_req *req, const cJSON *root, sy_embed_summary *s)
{
    char param[96];
    const char *msg = NULL;
    if (sy_embed_validate(root, s, param, sizeof(param), &msg))
        return 1;
    sy_chat_bad_request(req, param[0] ? param : NULL, msg);
    return 0;
}

/* The first text input stands for the "user message"; token input has no text. */
void sy_embed_request_features(const cJSON *root, sy_feature_input *fi)
{
    sy_embed_summary s;
    char param[8];
    const char *msg;
    memset(fi, 0, sizeof(*fi));
    if (!sy_embed_validate(root, &s, param, sizeof(param), &msg))
        return;
    fi->prompt_bytes = sy_embed_prompt_bytes(&s);
    if (s.first_text) {
        fi->user_text = s.first_text;
        fi->user_len = strlen(s.first_text);
    }
}
