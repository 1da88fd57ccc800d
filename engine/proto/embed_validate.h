/*
 * embed_validate: the schema checks of POST /v1/embeddings (DESIGN.md §3 stage 1) and the
 * wire helpers every embeddings dialect shares: the prompt-size estimate and OpenAI's
 * base64 encoding of a vector. Pure: no I/O.
 *
 * OpenAI's request: "model", "input" (a string, an array of strings, an array of token
 * ids, or an array of token-id arrays), optional "dimensions", "encoding_format"
 * ("float" | "base64") and "user". Other members pass through untouched, as for chat.
 */
#ifndef SY_EMBED_VALIDATE_H
#define SY_EMBED_VALIDATE_H

#include "sy_common.h"

#include <cjson/cJSON.h>
#include <stddef.h>
#include <stdint.h>

#define SY_EMBED_MAX_INPUTS     2048  /* entries of "input", as OpenAI */
#define SY_EMBED_MAX_DIMENSIONS 65536 /* "dimensions" */
#define SY_EMBED_MAX_TOKEN_ID   4294967295.0

/* What a valid request asks for (pointers into the request's cJSON tree). */
typedef struct sy_embed_summary {
    size_t n_inputs;        /* embeddings asked for */
    int tokens;             /* the input is token ids (1) or text (0) */
    size_t text_bytes;      /* bytes of text input */
    size_t n_token_ids;     /* token ids given */
    int base64;             /* encoding_format "base64" */
    long dimensions;        /* 0: the model's default */
    const char *first_text; /* the first text input (the policies' context), or NULL */
} sy_embed_summary;

/* 1 when root is a valid embeddings request (s filled); else 0 with the offending
 * field's path in param (e.g. "input[3]", or "" for the body) and a static message. */
int sy_embed_validate(const cJSON *root, sy_embed_summary *s, char *param, size_t param_len,
                      const char **message);

/* The request's size in "prompt bytes" for the gateway's estimate (ceil(bytes / 4)
 * tokens): text bytes plus 4 per token id, so token ids count one token each. */
size_t sy_embed_prompt_bytes(const sy_embed_summary *s);

/* The prompt-token estimate used when a provider reports no usage. */
int64_t sy_embed_estimate_tokens(const sy_embed_summary *s);

/* Append base64 (RFC 4648, padded) of the vector as little-endian IEEE-754 float32s,
 * which is what OpenAI returns for encoding_format "base64". */
void sy_embed_base64_f32(const double *v, size_t n, sy_buf *out);

#endif
