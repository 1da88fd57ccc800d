/*
 * feedback_token: the per-request feedback token (DESIGN.md §6). A response carries it
 * so that a browser widget can rate that one request without holding an API key: the
 * hex of the first 16 bytes of HMAC-SHA256(secret, request id). Pure: the secret's
 * HMAC context is prepared once by the caller (the server keys it with the store's
 * secret) and only copied here, so a token costs two SHA-256 blocks (with the CPU's SHA
 * extensions when it has them: common/sha256.c; bench/hash_bench.c measures it). The
 * format is unchanged by that, so every token ever issued still verifies.
 */
#ifndef SY_FEEDBACK_TOKEN_H
#define SY_FEEDBACK_TOKEN_H

#include "sha256.h"

#include <stddef.h>

#define SY_FEEDBACK_TOKEN_LEN 32 /* hex characters */

/* The token of request_id from `key` (sy_hmac_sha256_init with the secret; it is copied,
 * not changed), written with a NUL into out. */
void sy_feedback_token(const sy_hmac_sha256_ctx *key, const char *request_id,
                       char out[SY_FEEDBACK_TOKEN_LEN + 1]);

/* 1 when `token` (len bytes, hex in either case) is the token of request_id, compared in
 * constant time; 0 otherwise. */
int sy_feedback_token_valid(const sy_hmac_sha256_ctx *key, const char *request_id,
                            const char *token, size_t len);

#endif
