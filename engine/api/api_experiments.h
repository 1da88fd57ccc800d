/*
 * api_experiments: experiments over HTTP (docs/api.md, "Experiments").
 */
#ifndef SY_API_EXPERIMENTS_H
#define SY_API_EXPERIMENTS_H

#include "http_server.h"
#include "worker.h"

/* /admin/experiments[/...] (engine/api/api_experiments.c); rest as for prompts. */
void sy_api_admin_experiments(struct sy_worker *w, sy_http_req *req, const char *rest);

#endif
