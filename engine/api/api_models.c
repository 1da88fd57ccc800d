/*
 * api_models.c — GET /v1/models/{id}: one model or route in OpenAI's model shape with the
 * switchyard extension object /v1/models gives it (engine/core/runtime.c renders both).
 * Hidden routes (experiment variants) are unknown ids here as in the list.
 */
#include "api_models.h"

#include "sy_common.h"

#include <stdio.h>
#include <string.h>

/* Percent-decode a path segment into out (cap bytes with the NUL); -1 when it does not
 * fit, is badly escaped or decodes to a NUL. SDKs send ids such as "org/model" escaped. */
static int percent_decode(const char *s, char *out, size_t cap)
{
    size_t n = 0;
    for (; *s; s++) {
        int c = (unsigned char)*s;
        if (c == '%') {
            int hi = sy_hex_digit((unsigned char)s[1]),
                lo = hi < 0 ? -1 : sy_hex_digit((unsigned char)s[2]);
            if (lo < 0)
                return -1;
            c = hi * 16 + lo;
            s += 2;
        }
        if (c == 0 || n + 1 >= cap)
            return -1;
        out[n++] = (char)c;
    }
    out[n] = '\0';
    return 0;
}

void sy_api_model_by_id(sy_worker *w, sy_http_req *req, const char *id_escaped)
{
    char id[SY_CONFIG_MAX_NAME + 1];
    sy_buf b = {0};
    if (percent_decode(id_escaped, id, sizeof(id)) == 0 &&
        sy_runtime_model_json(w->rt, id, &b) == 0) {
        sy_http_respond(req, 200, "application/json", NULL, b.data, b.len);
        sy_buf_free(&b);
        return;
    }
    char msg[300];
    snprintf(msg, sizeof(msg), "The model '%.200s' does not exist", id_escaped);
    sy_http_respond_error(req, 404, "invalid_request_error", "model_not_found", "model", msg, NULL);
}
