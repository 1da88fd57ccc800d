/*
 * api_dashboard.c — the dashboard's embedded files (api_dashboard.h, dash_assets.h).
 */
#include "api_dashboard.h"

#include "api_common.h"
#include "dash_assets.h"

#include <string.h>

/* Nothing but the gateway's own origin: no inline script or style, no other host, no
 * framing; no referrer leaves; the browser keeps no stale copy after an upgrade. */
#define DASH_HEADERS                                                                               \
    "Content-Security-Policy: default-src 'self'; base-uri 'none'; form-action 'none'; "           \
    "frame-ancestors 'none'\r\n"                                                                   \
    "X-Content-Type-Options: nosniff\r\n"                                                          \
    "Referrer-Policy: no-referrer\r\n"                                                             \
    "Cache-Control: no-cache\r\n"

int sy_api_dashboard(sy_http_req *req)
{
    const char *p = req->path;
    if (strcmp(p, "/") != 0 && strcmp(p, "/index.html") != 0 && strncmp(p, "/ui/", 4) != 0)
        return 0;
    if (strcmp(p, "/index.html") == 0)
        p = "/";
    for (size_t i = 0; i < sy_dash_n_assets; i++) {
        const sy_dash_asset *a = &sy_dash_assets[i];
        if (strcmp(a->path, p) != 0)
            continue;
        if (!sy_http_req_method_is(req, "GET"))
            sy_api_method_not_allowed(req, "GET");
        else
            sy_http_respond(req, 200, a->content_type, DASH_HEADERS, (const char *)a->data, a->len);
        return 1;
    }
    sy_api_not_found(req);
    return 1;
}
