/*
 * api_prompts: the prompt registry over HTTP (docs/api.md, "Prompts").
 */
#ifndef SY_API_PROMPTS_H
#define SY_API_PROMPTS_H

#include "http_server.h"
#include "worker.h"

/* /admin/prompts[/...] (engine/api/api_prompts.c); rest is what follows "/admin/prompts/"
 * (NULL or "" for the list). */
void sy_api_admin_prompts(struct sy_worker *w, sy_http_req *req, const char *rest);

#endif
