/* api_models: GET /v1/models/{id} (api_models.c). */
#ifndef SY_API_MODELS_H
#define SY_API_MODELS_H

#include "http_server.h"
#include "worker.h"

/* Answer GET /v1/models/{id} for the (percent-escaped) id: the model or route, or an
 * OpenAI-shaped 404 model_not_found. */
void sy_api_model_by_id(struct sy_worker *w, sy_http_req *req, const char *id_escaped);

#endif
