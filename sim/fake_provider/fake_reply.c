/*
 * fake_reply: what every part of fake-provider sends or checks the same way — the clock,
 * plain (non-streamed) JSON responses, dialect error bodies, authentication. The bottom
 * of the fake's files (see fake_server.h).
 */
#include "fake_server.h"

#include "clock.h"

#include <string.h>
#include <strings.h>

double fp_now_ms(void)
{
    return (double)sy_now_ns() / 1e6;
}

void fp_send_json(sy_http_req *req, int status, const char *headers, const sy_buf *b)
{
    sy_http_respond(req, status, "application/json", headers, b->data ? b->data : "", b->len);
}

int fp_send_error(sy_http_req *req, const fp_dialect *d, fp_error_code code, const char *message,
                  int retry_after_s, const char *headers)
{
    sy_buf b = {0}, h = {0};
    int status = d->render_error(code, message, &b);
    if (retry_after_s >= 0)
        sy_buf_printf(&h, "Retry-After: %d\r\n", retry_after_s);
    if (headers)
        sy_buf_puts(&h, headers);
    fp_send_json(req, status, h.data, &b);
    sy_buf_free(&b);
    sy_buf_free(&h);
    return status;
}

/* Whether the request carries the scenario's api_key in the dialect's header (always
 * true when the scenario sets none). */
int fp_authorized(const fp_server *srv, const fp_dialect *d, const sy_http_req *req)
{
    const char *key = srv->scenario->api_key;
    if (!key)
        return 1;
    const sy_http_header *h = sy_http_req_header(req, d->auth_header);
    size_t sl = strlen(d->auth_scheme), kl = strlen(key);
    if (!h || h->value_len != sl + kl || strncasecmp(h->value, d->auth_scheme, sl) != 0)
        return 0;
    return memcmp(h->value + sl, key, kl) == 0;
}
