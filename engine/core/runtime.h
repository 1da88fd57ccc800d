/*
 * runtime: everything a request needs that is derived from one loaded configuration:
 * the config itself, one policy per route, and pre-rendered bodies (GET /v1/models).
 *
 * A runtime is immutable and reference-counted. Each worker holds a reference to the
 * current one and each request holds a reference for its whole life, so a reload (which
 * publishes a new runtime) never changes the ground under an in-flight request; the old
 * runtime is freed when its last request finishes.
 */
#ifndef SY_RUNTIME_H
#define SY_RUNTIME_H

#include "config.h"
#include "policy.h"
#include "sy_common.h"
#include "warm.h"

#include <stdatomic.h>

/* A route's warm start, loaded by the app before the runtime is published (shared by
 * runtimes whose route reads the same file the same way; reference-counted). */
typedef struct sy_route_warm {
    atomic_int refs;
    char *key; /* what it was built from (engine/app/warm_start.c): equal keys, equal data */
    sy_warm_data data; /* per row and candidate of the route, in candidate order */
} sy_route_warm;

sy_route_warm *sy_route_warm_new(char *key, const sy_warm_data *data); /* takes key and data over */
sy_route_warm *sy_route_warm_ref(sy_route_warm *w);
void sy_route_warm_unref(sy_route_warm *w);

typedef struct sy_runtime {
    atomic_int refs;
    sy_config *cfg;
    sy_policy **route_policies; /* one per cfg->routes[i] */
    sy_buf models_json;         /* body of GET /v1/models */
    uint64_t generation;        /* 1 for the first config, +1 per reload */
    struct sy_exp_table
        *experiments; /* running experiments (engine/registry/experiments.h), owned */
    sy_route_warm *
        *route_warm; /* NULL, or one per cfg->routes[i]: NULL = cold start (owned refs) */
} sy_runtime;

/* Build a runtime around cfg (ownership of cfg moves in). Starts with one reference. */
sy_runtime *sy_runtime_new(sy_config *cfg, uint64_t generation);
sy_runtime *sy_runtime_ref(sy_runtime *rt);
void sy_runtime_unref(sy_runtime *rt);

/* The policy parameters of a route with its arms' prices joined in: arms must hold
 * route->n_candidates entries; out->arms points to them. */
void sy_route_policy_params(const sy_config *cfg, const sy_route_cfg *route, sy_policy_params *out,
                            sy_arm_params *arms);

/* The GET /v1/models/{id} body for a model or a listed route (the same object as its
 * entry in models_json) appended to out; SY_ERR_NOTFOUND for any other id, hidden
 * routes included. */
int sy_runtime_model_json(const sy_runtime *rt, const char *id, sy_buf *out);

#endif
