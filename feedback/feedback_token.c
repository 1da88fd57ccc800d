/* feedback_token: see feedback_token.h. */
#include "feedback_token.h"

#include <stdint.h>
#include <string.h>

void sy_feedback_token(const sy_hmac_sha256_ctx *key, const char *request_id,
                       char out[SY_FEEDBACK_TOKEN_LEN + 1])
{
    uint8_t mac[SY_SHA256_LEN];
    sy_hmac_sha256_ctx c = *key; /* the pads were hashed once, by the caller */
    sy_hmac_sha256_update(&c, request_id, strlen(request_id));
    sy_hmac_sha256_final(&c, mac);
    sy_hex_encode(mac, SY_FEEDBACK_TOKEN_LEN / 2, out);
}

int sy_feedback_token_valid(const sy_hmac_sha256_ctx *key, const char *request_id,
                            const char *token, size_t len)
{
    if (len != SY_FEEDBACK_TOKEN_LEN)
        return 0;
    char want[SY_FEEDBACK_TOKEN_LEN + 1];
    sy_feedback_token(key, request_id, want);
    return sy_ct_equal(token, want, len);
}
