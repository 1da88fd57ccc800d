/*
 * fake_server: the request entry of fake-provider — routing to the /_fake/ control API
 * or to the dialect that owns a path, and the model list. See fake_server.h for the
 * whole picture and the ownership rules.
 */
#include "fake_server.h"

#include "clock.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static const fp_dialect *const fp_dialects[] = {&fp_dialect_openai, &fp_dialect_gemini,
                                                &fp_dialect_anthropic, &fp_dialect_responses};

static void handle_models(fp_server *srv, const fp_dialect *d, sy_http_req *req)
{
    if (!fp_authorized(srv, d, req)) {
        fp_send_error(req, d, FP_ERR_UNAUTHORIZED, NULL, -1, NULL);
        return;
    }
    const fp_scenario *s = srv->scenario;
    const char **names = sy_xcalloc(s->n_models + 1, sizeof *names);
    for (size_t i = 0; i < s->n_models; i++)
        names[i] = s->models[i].name;
    sy_buf b = {0};
    d->render_models(names, s->n_models, (int64_t)(sy_wall_ms() / 1000), &b);
    fp_send_json(req, 200, NULL, &b);
    sy_buf_free(&b);
    free(names);
}

/*
 * Every request enters here. The first dialect whose route() knows the path owns it:
 * POST for a chat path, GET for a model list, 405 otherwise; an unknown path is a 404 in
 * the first dialect's (OpenAI's) shape.
 */
void fp_on_request(sy_http_req *req, void *ud)
{
    fp_server *srv = ud;
    if (strncmp(req->path, "/_fake/", 7) == 0) {
        fp_handle_admin(srv, req);
        return;
    }
    int post = sy_http_req_method_is(req, "POST"), get = sy_http_req_method_is(req, "GET");
    int embed = fp_embed_route(req->path);
    if (embed && post) {
        fp_handle_embed(srv, req, embed);
        return;
    }
    if (embed) {
        fp_send_error(req, fp_dialects[embed - 1], FP_ERR_METHOD, NULL, -1, NULL);
        return;
    }
    for (size_t i = 0; i < SY_ARRAY_LEN(fp_dialects); i++) {
        const fp_dialect *d = fp_dialects[i];
        fp_route_kind k = d->route(req->path);
        if (k == FP_ROUTE_CHAT && post) {
            fp_handle_chat(srv, d, req);
            return;
        }
        if (k == FP_ROUTE_MODELS && get) {
            handle_models(srv, d, req);
            return;
        }
        if (k != FP_ROUTE_NONE) {
            fp_send_error(req, d, FP_ERR_METHOD, NULL, -1, NULL);
            return;
        }
    }
    fp_send_error(req, fp_dialects[0], FP_ERR_NOT_FOUND, NULL, -1, NULL);
}
