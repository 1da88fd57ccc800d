/*
 * pipeline: POST /v1/chat/completions, the request pipeline of DESIGN.md §3
 * (validate, authenticate, resolve, conversation, experiment, prompt, escalate,
 * decide, call upstream, record).
 */
#ifndef SY_PIPELINE_H
#define SY_PIPELINE_H

#include "config.h"
#include "http_server.h"
#include "ingress.h"
#include "worker.h"

/* POST /v1/chat/completions: answers req (at once or when the upstream call ends).
 * ingress: the client's API when it is not OpenAI chat (ingress.h), else NULL. */
void sy_pipeline_chat(struct sy_worker *w, sy_http_req *req, const sy_client_key_cfg *key,
                      const sy_ingress *ingress);

/* POST /v1/embeddings (embeddings.c): the same stages with an embeddings adapter. */
void sy_pipeline_embeddings(struct sy_worker *w, sy_http_req *req, const sy_client_key_cfg *key);

#endif
