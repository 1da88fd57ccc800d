/*
 * policy_set: the refcounted set of policy snapshots a configuration generation decides
 * on. The learner (store thread) builds one and hands a reference to each worker; a
 * worker swaps its set on its own loop and drops the old one. The last unref frees the
 * snapshots, on whichever thread that happens.
 */
#ifndef SY_POLICY_SET_H
#define SY_POLICY_SET_H

#include "policy.h"

#include <stdatomic.h>
#include <stdint.h>

/* Snapshots for every route of one configuration generation, indexed like cfg->routes. */
typedef struct sy_policy_set {
    atomic_int refs;
    uint64_t generation; /* the runtime generation the arms are ordered for */
    size_t n;
    sy_policy **snap; /* n entries, never NULL */
} sy_policy_set;

sy_policy_set *sy_policy_set_ref(sy_policy_set *s);
void sy_policy_set_unref(sy_policy_set *s);

#endif
