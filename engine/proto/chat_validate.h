/*
 * chat_validate: the schema checks of POST /v1/chat/completions (DESIGN.md §3 stage 1).
 * Pure: no I/O, no allocation. Fields the gateway does not know pass through untouched;
 * the standard ones must have the types and ranges OpenAI documents, so that a client's
 * mistake gets a 400 that names the field instead of a provider's error.
 */
#ifndef SY_CHAT_VALIDATE_H
#define SY_CHAT_VALIDATE_H

#include <cjson/cJSON.h>
#include <stddef.h>

/* 1 when root is a valid chat request; else 0 with the offending field's path in param
 * (e.g. "messages[2].content", or "" for the body itself) and a static message. */
int sy_chat_validate(const cJSON *root, char *param, size_t param_len, const char **message);

/* The first member of root that would choose an upstream or its credentials (api_key,
 * base_url, …), which no request may set, or NULL. */
const char *sy_request_forbidden_field(const cJSON *root);
#define SY_FORBIDDEN_FIELD_MSG                                                                     \
    "upstream endpoints and credentials come from the gateway's configuration and cannot be "      \
    "set by a request"

/* What every request body of the client API must be (chat, embeddings): a JSON object,
 * no field that would choose an upstream or a credential, and a non-empty string
 * `model`. Returns 1, or 0 with the offending member in param and *message set. */
int sy_request_envelope_ok(const cJSON *root, char *param, size_t param_len, const char **message);

#endif
