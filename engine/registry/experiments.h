/*
 * experiments: A/B experiments over a route (DESIGN.md §8; docs/experiments.md).
 *
 * Three parts:
 *   - the registry: experiment documents (definition, status draft → running → stopped,
 *     allocation versions and their history, layer range), kept in memory and persisted
 *     in the store's `experiments` database. Admin calls change it (worker 0); config
 *     files seed it. Writers are serialised by the registry's mutex and wait for the
 *     synced commit (sy_store_put_def) before changing memory.
 *   - the merge: every variant of a running experiment is served by its own hidden route,
 *     a copy of the experiment's route with the variant's overrides (model or candidates,
 *     policy, params) named "<route>~<experiment>.<variant>". The configuration text is
 *     re-parsed with those routes added, so they are validated like any route and the
 *     learner keeps a separate policy state (bandit statistics) per variant.
 *   - the table: per runtime, the running experiments in assignment order, immutable,
 *     read by workers without locks (sy_exp_assign).
 */
#ifndef SY_EXPERIMENTS_H
#define SY_EXPERIMENTS_H

#include "config.h"
#include "store.h"
#include "sy_common.h"

#include <cjson/cJSON.h>
#include <stdint.h>

#define SY_EXP_MAX_VARIANTS       8
#define SY_EXP_MAX_PER_ROUTE      8  /* running experiments per route (a request's record) */
#define SY_EXP_MAX_ALLOC_VERSIONS 16 /* allocation versions per experiment */
#define SY_EXP_ID_MAX             64

typedef enum { SY_EXP_UNIT_USER, SY_EXP_UNIT_CONVERSATION, SY_EXP_UNIT_REQUEST } sy_exp_unit;

typedef struct sy_exp_variant_rt {
    char name[SY_EXP_ID_MAX];
    double weight;
    size_t route;                     /* its hidden route in cfg->routes */
    char prompt_id[SY_EXP_ID_MAX];    /* "" = no prompt override */
    unsigned prompt_version;          /* 0 = by label */
    char prompt_label[SY_EXP_ID_MAX]; /* "" = by version */
    cJSON *parameters;                /* request parameters the variant sets, or NULL */
} sy_exp_variant_rt;

typedef struct sy_exp_rt {
    char id[SY_EXP_ID_MAX];
    char salt[2 * SY_EXP_ID_MAX];
    char layer_salt[2 * SY_EXP_ID_MAX + 8];
    size_t base_route;
    sy_exp_unit unit;
    char unit_header[64];            /* lower-case header naming the user (unit "user") */
    unsigned layer_start, layer_end; /* its bucket range in the layer's hash */
    unsigned alloc_version;
    double msprt_tau; /* mixing scale of the sequential test */
    double weights[SY_EXP_MAX_VARIANTS];
    sy_exp_variant_rt variants[SY_EXP_MAX_VARIANTS];
    size_t n_variants;
} sy_exp_rt;

typedef struct sy_exp_table {
    sy_exp_rt *exps;
    size_t n;
} sy_exp_table;

void sy_exp_table_free(sy_exp_table *t);

/* The ids a request offers as units; NULL/0 when it has none of that kind. */
typedef struct sy_exp_units {
    const char *user; /* the body's `user` or the experiment's unit header */
    size_t user_len;
    const uint8_t *conversation; /* 16 bytes */
    const char *request;         /* the request id */
} sy_exp_units;

typedef struct sy_exp_assignment {
    const sy_exp_rt *exp;
    size_t variant;
    uint64_t unit_hash; /* identifies the unit in the decision record */
} sy_exp_assignment;

/* Enrol a request on route `route` in every running experiment of that route whose
 * layer range holds the unit: at most `max` assignments, in table order (the first one
 * decides the route and overrides; docs/experiments.md). The header lookup is the
 * caller's: `user_for(exp, ud)` returns the user id for an experiment whose unit is a
 * user (or NULL). Never allocates, never locks. */
size_t sy_exp_assign(const sy_exp_table *t, size_t route, const sy_exp_units *units,
                     const char *(*user_for)(const sy_exp_rt *exp, void *ud, size_t *len), void *ud,
                     sy_exp_assignment *out, size_t max);

/* Append "id:variant:allocation:unit-hash" entries (comma-separated) for the decision
 * record; bounded by cap, never cut mid-entry. */
void sy_exp_record(const sy_exp_assignment *a, size_t n, char *out, size_t cap);

typedef struct sy_exp_registry sy_exp_registry;

sy_exp_registry *sy_exp_registry_open(sy_store *store);
void sy_exp_registry_free(sy_exp_registry *r);

/*
 * Seed the registry from a configuration's `experiments` array: an experiment the store
 * does not know yet is created with the file's `status` (default "running"); a known one
 * takes the file's definition, and a changed allocation becomes a new allocation version.
 * The result is validated (the configuration it would serve is built) before anything
 * is committed. Problems are appended to errors ("$.experiments[i]...: message" lines).
 * Returns 0, or SY_ERR_INVALID (nothing changed) / SY_ERR_IO (the store refused a write;
 * memory is unchanged, earlier writes of this seed may be on disk).
 */
int sy_exp_registry_seed(sy_exp_registry *r, const sy_config *file_cfg, sy_buf *errors);

/*
 * Build the configuration to serve: file_cfg's text with a hidden route per variant of
 * every running experiment, parsed and validated, and the runtime's experiment table.
 * `extra` (may be NULL) is one more definition to include as running, for validating a
 * definition before it is stored. Returns the new config (caller owns) and *table, or
 * NULL with errors appended.
 */
sy_config *sy_exp_build_config(sy_exp_registry *r, const sy_config *file_cfg, const cJSON *extra,
                               sy_exp_table **table, sy_buf *errors);

/* The outcome of an admin call (status, JSON body or error). */
typedef struct sy_exp_reply {
    int status;
    sy_buf body;
    char param[128];
    char message[512];
} sy_exp_reply;

/* Admin operations (docs/api.md); each returns with reply filled. Creating and starting
 * validate the definition against file_cfg (the variants' routes are built and parsed);
 * a new allocation keeps the variants, so it needs no such check. When *changed is set
 * the caller must publish a rebuilt configuration. Callers hold the server's
 * reload_lock (lock order: reload_lock, then the registry's lock). */
struct sy_server;
void sy_exp_admin_create(sy_exp_registry *r, const sy_config *file_cfg, const cJSON *def,
                         uint64_t now_ms, sy_exp_reply *out);
void sy_exp_admin_transition(sy_exp_registry *r, const sy_config *file_cfg, const char *id,
                             const char *action, uint64_t now_ms, sy_exp_reply *out, int *changed);
void sy_exp_admin_allocation(sy_exp_registry *r, const char *id, const cJSON *body, uint64_t now_ms,
                             sy_exp_reply *out, int *changed);
void sy_exp_admin_get(sy_exp_registry *r, const char *id, sy_exp_reply *out);
void sy_exp_admin_list(sy_exp_registry *r, sy_exp_reply *out);

/* Call fn for every experiment, whatever its status, with how it is analysed (its unit,
 * its control variant, its mSPRT scale). fn runs under the registry's lock. */
void sy_exp_registry_each(sy_exp_registry *r,
                          void (*fn)(void *ud, const char *id, sy_exp_unit unit,
                                     const char *control, double tau),
                          void *ud);

/* Cluster mode: take an experiment's document as another node committed it (JSON text),
 * replacing the one with the same id or adding it, and commit it to the store. The
 * caller then rebuilds the served configuration. 0; 1 when the registry's document has
 * come further (a later allocation version or status: an older change read late); -1 for
 * text that is not a document with an id; or SY_ERR_IO. Thread-safe (takes its lock). */
int sy_exp_registry_adopt(sy_exp_registry *r, const char *json, size_t len);

/* A copy of an experiment's document (caller frees), or NULL. Thread-safe. */
cJSON *sy_exp_registry_doc(sy_exp_registry *r, const char *id);

#endif
