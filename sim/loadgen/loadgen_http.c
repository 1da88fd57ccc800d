/*
 * loadgen_http: one blocking HTTP exchange through a caller-owned libcurl handle, and
 * the gateway's response headers that loadgen reads (loadgen_internal.h).
 */
#include "loadgen_internal.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

static size_t on_body(char *p, size_t size, size_t n, void *ud)
{
    sy_buf_append(&((lg_resp *)ud)->body, p, size * n);
    return size * n;
}

/* Copy a header value (trimmed) when its name matches. */
static void header_value(const char *line, size_t len, const char *name, char *out, size_t cap)
{
    size_t nl = strlen(name);
    if (len <= nl + 1 || strncasecmp(line, name, nl) != 0 || line[nl] != ':')
        return;
    const char *v = line + nl + 1;
    size_t vl = len - nl - 1;
    while (vl && (*v == ' ' || *v == '\t'))
        v++, vl--;
    while (vl && (v[vl - 1] == '\r' || v[vl - 1] == '\n' || v[vl - 1] == ' '))
        vl--;
    snprintf(out, cap, "%.*s", (int)vl, v);
}

static size_t on_header(char *p, size_t size, size_t n, void *ud)
{
    lg_resp *r = ud;
    size_t len = size * n;
    char cost[64] = "";
    header_value(p, len, "x-switchyard-model", r->model, sizeof(r->model));
    header_value(p, len, "x-switchyard-upstream-model", r->upstream, sizeof(r->upstream));
    header_value(p, len, "x-switchyard-request-id", r->request_id, sizeof(r->request_id));
    header_value(p, len, "x-switchyard-feedback-token", r->token, sizeof(r->token));
    header_value(p, len, "x-switchyard-cost-usd", cost, sizeof(cost));
    if (cost[0])
        r->cost = strtod(cost, NULL);
    return len;
}

long lg_http(CURL *h, const char *url, const char *auth, const char *token, const char *body,
             lg_resp *r)
{
    struct curl_slist *hs = NULL;
    char line[512];
    hs = curl_slist_append(hs, "Content-Type: application/json");
    if (auth) {
        snprintf(line, sizeof(line), "Authorization: Bearer %s", auth);
        hs = curl_slist_append(hs, line);
    }
    if (token) {
        snprintf(line, sizeof(line), "x-switchyard-feedback-token: %s", token);
        hs = curl_slist_append(hs, line);
    }
    curl_easy_reset(h);
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, hs);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, r);
    curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(h, CURLOPT_HEADERDATA, r);
    curl_easy_setopt(h, CURLOPT_TIMEOUT, 60L);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    if (body)
        curl_easy_setopt(h, CURLOPT_POSTFIELDS, body);
    long status = -1;
    if (curl_easy_perform(h) == CURLE_OK)
        curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
    curl_slist_free_all(hs);
    return status;
}
