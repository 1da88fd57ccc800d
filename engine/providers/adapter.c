/* adapter: what every dialect's adapter shares (declared in adapter.h): upstream call
 * cleanup, the HTTP status and transport error mapping, usage reading, random ids. */
#include "adapter.h"

#include "clock.h"

#include <stdlib.h>
#include <sys/random.h>

void sy_upstream_call_free(sy_upstream_call *c)
{
    sy_buf_free(&c->url);
    sy_buf_free(&c->body);
    for (size_t i = 0; i < SY_ARRAY_LEN(c->headers) && c->headers[i]; i++)
        free(c->headers[i]);
}

int sy_map_http_status(long status, int quota_exhausted, sy_mapped_error *out)
{
    out->type = "upstream_error";
    out->code = "upstream_error";
    out->retryable = 0;
    switch (status) {
    case 400:
    case 413:
    case 422:
        out->status = status == 413 ? 413 : 400;
        out->type = "invalid_request_error";
        out->code = "upstream_rejected_request";
        return 1;
    case 401:
    case 403:
        /* the gateway's credentials failed: not the client's fault, and not relayed */
        out->status = 502;
        out->code = "upstream_auth_failed";
        return 0;
    case 404:
        out->status = 502;
        out->code = "upstream_model_not_found";
        return 1;
    case 408:
    case 504:
        out->status = 504;
        out->code = "upstream_timeout";
        out->retryable = 1;
        return 1;
    case 429:
        out->status = 429;
        out->type = "rate_limit_error";
        out->code = quota_exhausted ? "upstream_quota_exhausted" : "upstream_rate_limited";
        out->retryable = !quota_exhausted; /* a spend limit: retrying cannot help */
        return 1;
    case 503:
    case 529:
        out->status = 503;
        out->code = "upstream_overloaded";
        out->retryable = 1;
        return 1;
    default:
        out->status = 502;
        out->retryable = status >= 500;
        return 1;
    }
}

void sy_mapped_error_free(sy_mapped_error *e)
{
    sy_buf_free(&e->message);
}

void sy_map_transport_error(int connect_failed, int timed_out, const char *provider,
                            sy_mapped_error *out)
{
    out->type = "upstream_error";
    out->retryable = 1;
    if (timed_out) {
        out->status = 504;
        out->code = "upstream_timeout";
        sy_buf_printf(&out->message, "provider '%s' did not answer in time", provider);
    } else if (connect_failed) {
        out->status = 502;
        out->code = "upstream_unreachable";
        sy_buf_printf(&out->message, "could not connect to provider '%s'", provider);
    } else {
        out->status = 502;
        out->code = "upstream_broken_response";
        sy_buf_printf(&out->message, "provider '%s' closed the connection mid-response", provider);
    }
}

int64_t sy_json_count(const cJSON *o, const char *name)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, name);
    return cJSON_IsNumber(v) && v->valuedouble >= 0 && v->valuedouble < SY_MAX_TOKEN_COUNT
               ? (int64_t)v->valuedouble
               : 0;
}

void sy_usage_from_openai(const cJSON *usage, sy_usage *u)
{
    if (!cJSON_IsObject(usage))
        return;
    u->prompt_tokens = sy_json_count(usage, "prompt_tokens");
    u->completion_tokens = sy_json_count(usage, "completion_tokens");
    const cJSON *details = cJSON_GetObjectItemCaseSensitive(usage, "prompt_tokens_details");
    u->cached_tokens = cJSON_IsObject(details) ? sy_json_count(details, "cached_tokens") : 0;
    u->have = 1;
}

void sy_random_hex(char *out, size_t ndigits)
{
    static _Thread_local uint64_t s;
    if (!s) {
        uint64_t seed = 0;
        if (getrandom(&seed, sizeof seed, GRND_NONBLOCK) != (ssize_t)sizeof seed)
            seed = 0;
        s = (seed ^ sy_now_ns() ^ (uint64_t)(uintptr_t)&s) | 1;
    }
    static const char hex[] = "0123456789abcdef";
    uint64_t z = 0;
    for (size_t i = 0; i < ndigits; i++) {
        if (i % 16 == 0) {
            s += 0x9e3779b97f4a7c15ull;
            z = s;
            z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
            z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
            z ^= z >> 31;
        }
        out[i] = hex[z & 15];
        z >>= 4;
    }
    out[ndigits] = '\0';
}
