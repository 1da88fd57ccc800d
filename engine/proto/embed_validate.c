/* embed_validate: see embed_validate.h. */
#include "embed_validate.h"
#include "validate_fail.h"

#include "chat_validate.h"

#include <float.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

/* A token id: an integral number in [0, 2^32). */
static int is_token_id(const cJSON *v)
{
    return cJSON_IsNumber(v) && v->valuedouble >= 0 && v->valuedouble <= SY_EMBED_MAX_TOKEN_ID &&
           floor(v->valuedouble) == v->valuedouble;
}

/* A non-empty array of token ids; counts them into s. */
static int token_array_ok(const cJSON *a, sy_embed_summary *s)
{
    if (!cJSON_IsArray(a) || !a->child)
        return 0;
    for (const cJSON *t = a->child; t; t = t->next) {
        if (!is_token_id(t))
            return 0;
        s->n_token_ids++;
    }
    return 1;
}

#define INPUT_MSG                                                                                  \
    "'input' must be a non-empty string, an array of non-empty strings, an array of token ids "    \
    "or an array of non-empty token-id arrays (at most 2048 entries)"

/* "input" in one of its four forms, all entries of one form. */
static int input_ok(const cJSON *in, sy_embed_summary *s, char *param, size_t n, const char **msg)
{
    if (cJSON_IsString(in)) {
        if (!in->valuestring[0])
            return sy_validate_fail(param, n, msg, INPUT_MSG, "input");
        s->n_inputs = 1;
        s->text_bytes = strlen(in->valuestring);
        s->first_text = in->valuestring;
        return 1;
    }
    if (!cJSON_IsArray(in) || !in->child)
        return sy_validate_fail(param, n, msg, INPUT_MSG, "input");
    if (cJSON_IsNumber(in->child)) { /* one token-id array */
        if (!token_array_ok(in, s))
            return sy_validate_fail(param, n, msg,
                                    "token ids must be integers from 0 to 4294967295", "input");
        s->tokens = 1;
        s->n_inputs = 1;
        return 1;
    }
    int strings = cJSON_IsString(in->child);
    size_t i = 0;
    for (const cJSON *e = in->child; e; e = e->next, i++) {
        if (i >= SY_EMBED_MAX_INPUTS)
            return sy_validate_fail(param, n, msg, INPUT_MSG, "input");
        if (strings && cJSON_IsString(e) && e->valuestring[0]) {
            s->text_bytes += strlen(e->valuestring);
            if (!s->first_text)
                s->first_text = e->valuestring;
        } else if (strings || !token_array_ok(e, s)) {
            return sy_validate_fail(param, n, msg, INPUT_MSG, "input[%zu]", i);
        }
    }
    s->tokens = !strings;
    s->n_inputs = i;
    return 1;
}

/* The optional members: dimensions, encoding_format, user. */
static int options_ok(const cJSON *root, sy_embed_summary *s, char *param, size_t n,
                      const char **msg)
{
    const cJSON *d = cJSON_GetObjectItemCaseSensitive(root, "dimensions");
    if (d && !cJSON_IsNull(d)) {
        if (!cJSON_IsNumber(d) || d->valuedouble < 1 || d->valuedouble > SY_EMBED_MAX_DIMENSIONS ||
            floor(d->valuedouble) != d->valuedouble)
            return sy_validate_fail(
                param, n, msg, "'dimensions' must be an integer from 1 to 65536", "dimensions");
        s->dimensions = (long)d->valuedouble;
    }
    const cJSON *f = cJSON_GetObjectItemCaseSensitive(root, "encoding_format");
    if (f && !cJSON_IsNull(f)) {
        if (!cJSON_IsString(f) ||
            (strcmp(f->valuestring, "float") != 0 && strcmp(f->valuestring, "base64") != 0))
            return sy_validate_fail(param, n, msg,
                                    "'encoding_format' must be \"float\" or \"base64\"",
                                    "encoding_format");
        s->base64 = strcmp(f->valuestring, "base64") == 0;
    }
    const cJSON *u = cJSON_GetObjectItemCaseSensitive(root, "user");
    if (u && !cJSON_IsString(u))
        return sy_validate_fail(param, n, msg, "'user' must be a string", "user");
    return 1;
}

int sy_embed_validate(const cJSON *root, sy_embed_summary *s, char *param, size_t param_len,
                      const char **message)
{
    memset(s, 0, sizeof(*s));
    param[0] = '\0';
    if (!sy_request_envelope_ok(root, param, param_len, message))
        return 0;
    const cJSON *in = cJSON_GetObjectItemCaseSensitive(root, "input");
    if (!in)
        return sy_validate_fail(param, param_len, message, "'input' is required", "input");
    if (!input_ok(in, s, param, param_len, message))
        return 0;
    return options_ok(root, s, param, param_len, message);
}

size_t sy_embed_prompt_bytes(const sy_embed_summary *s)
{
    return s->text_bytes + 4 * s->n_token_ids;
}

int64_t sy_embed_estimate_tokens(const sy_embed_summary *s)
{
    return (int64_t)((sy_embed_prompt_bytes(s) + 3) / 4);
}

void sy_embed_base64_f32(const double *v, size_t n, sy_buf *out)
{
    static const char abc[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    uint8_t tri[3];
    size_t have = 0;
    sy_buf_reserve(out, (n * 4 + 2) / 3 * 4 + 1);
    for (size_t i = 0; i < n; i++) {
        double d = v[i] > FLT_MAX ? FLT_MAX : v[i] < -FLT_MAX ? -FLT_MAX : v[i];
        float f = isnan(d) ? 0.0f : (float)d; /* out-of-range conversions are undefined */
        uint32_t u;
        memcpy(&u, &f, sizeof(u));
        for (int b = 0; b < 4; b++) { /* little-endian whatever the host */
            tri[have++] = (uint8_t)(u >> (8 * b));
            if (have == 3) {
                char q[4] = {abc[tri[0] >> 2], abc[((tri[0] & 3) << 4) | (tri[1] >> 4)],
                             abc[((tri[1] & 15) << 2) | (tri[2] >> 6)], abc[tri[2] & 63]};
                sy_buf_append(out, q, 4);
                have = 0;
            }
        }
    }
    if (have) {
        if (have == 1)
            tri[1] = 0;
        char q[4] = {abc[tri[0] >> 2], abc[((tri[0] & 3) << 4) | (tri[1] >> 4)],
                     have == 2 ? abc[(tri[1] & 15) << 2] : '=', '='};
        sy_buf_append(out, q, 4);
    }
}
