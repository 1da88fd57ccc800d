/*
 * Fuzz target: a client's chat request body as the gateway reads it (sy_json_body_parse:
 * UTF-8, duplicate member names, \u0000 kept), the schema checks (chat_validate.c), and
 * for valid requests the OpenAI adapter's translation to an upstream call.
 *
 * Property, not only crashes: what is forwarded equals what was validated. The upstream
 * body, read back the way an upstream would, must be one JSON document without
 * duplicate member names whose members are exactly the validated request's, except
 * "model" (the configured upstream name) and, for streams, "stream_options" (usage
 * asked for). Every \u0000 the client sent survives. A mismatch aborts.
 */
#include "chat_validate.h"
#include "fuzz_input.h"
#include "json_body.h"
#include "provider.h"

#include <cjson/cJSON.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void check(int ok, const char *what, const char *in, size_t n)
{
    if (ok)
        return;
    fprintf(stderr, "fuzz_chat_request: %s for body:\n%.*s\n", what, (int)n, in);
    abort();
}

/* The tree minus the members the adapter may legitimately change. */
static cJSON *comparable(const cJSON *root, int stream)
{
    cJSON *c = cJSON_Duplicate(root, 1);
    cJSON_DeleteItemFromObjectCaseSensitive(c, "model");
    if (stream)
        cJSON_DeleteItemFromObjectCaseSensitive(c, "stream_options");
    return c;
}

/* Count \u0000 escapes (not preceded by an escaping backslash) in a JSON text. */
static size_t count_nul_escapes(const char *s, size_t n)
{
    size_t count = 0;
    for (size_t i = 0; i + 6 <= n; i++) {
        if (s[i] == '\\') {
            if (memcmp(s + i, "\\u0000", 6) == 0)
                count++;
            i++; /* skip the escaped character */
        }
    }
    return count;
}

static void check_forwarded(const cJSON *root, const char *in, size_t size)
{
    sy_provider_cfg prov = {.name = "p",
                            .base_url = "http://127.0.0.1:1/v1",
                            .api_key = "k",
                            .dialect = SY_DIALECT_OPENAI};
    sy_model_cfg model = {.name = "m", .upstream_name = "u"};
    sy_relay_state rs = {.client_model = "m"};
    sy_upstream_call up = {0};
    const char *bad = NULL, *why = NULL;
    const sy_adapter *ad = sy_adapter_for(SY_DIALECT_OPENAI);
    int stream = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(root, "stream"));
    cJSON *work = cJSON_Duplicate(root, 1); /* the adapter edits its input */
    int rc = ad->build(&prov, &model, work, stream, &rs, &up, &bad, &why);
    cJSON_Delete(work);
    if (rc == 0) {
        sy_json_nul_restore(&up.body); /* as the pipeline does before sending */
        size_t nul_in = count_nul_escapes(in, size);
        size_t nul_out = count_nul_escapes(up.body.data, up.body.len);
        check(nul_out >= nul_in, "a \\u0000 was lost on the way upstream", in, size);
        sy_json_error err;
        size_t len = up.body.len;
        cJSON *sent = sy_json_body_parse(up.body.data, &len, &err);
        check(sent != NULL, "the upstream body does not read back as one document", in, size);
        cJSON *a = comparable(root, stream), *b = comparable(sent, stream);
        check(cJSON_Compare(a, b, 1), "forwarded members differ from the validated ones", in, size);
        const cJSON *m = cJSON_GetObjectItemCaseSensitive(sent, "model");
        check(cJSON_IsString(m) && strcmp(m->valuestring, "u") == 0, "model not substituted", in,
              size);
        cJSON_Delete(a);
        cJSON_Delete(b);
        cJSON_Delete(sent);
    }
    sy_upstream_call_free(&up);
    if (ad->release)
        ad->release(&rs);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 1 << 20)
        return 0;
    if (fz_too_deep(data, size)) /* the server refuses deep nesting before parsing */
        return 0;
    char *buf = fz_body_copy(data, size); /* as the server's body buffer */
    size_t len = size;
    sy_json_error err;
    cJSON *root = sy_json_body_parse(buf, &len, &err);
    char param[96];
    const char *msg;
    if (root) {
        check(!sy_json_find_duplicate(root, param, sizeof(param)), "duplicate accepted",
              (const char *)data, size);
        if (sy_chat_validate(root, param, sizeof(param), &msg))
            check_forwarded(root, (const char *)data, size);
    }
    cJSON_Delete(root);
    free(buf);
    return 0;
}
