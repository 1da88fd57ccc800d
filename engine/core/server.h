/*
 * server: the state of the `switchyard serve` process that workers, the learner and the
 * API handlers share: workers, store, registries, the published runtime. The process
 * itself (engine/app/cmd_serve.c: listeners, signals, start and stop) owns it and fills
 * in what the layers below cannot call directly:
 *   - `control`: reload and rebuild, so that the admin API can ask for them without
 *     depending on the process that implements them;
 *   - `client_handler` / `admin_handler`: the API's entry points, which every worker
 *     hands to its HTTP servers without knowing the API.
 */
#ifndef SY_SERVER_H
#define SY_SERVER_H

#include "http_server.h"
#include "runtime.h"
#include "sha256.h"
#include "store.h"
#include "worker.h"

#include <pthread.h>
#include <stdint.h>

struct sy_server;

/* What the serve process implements for the layers below (see the top of this file). */
typedef struct sy_server_control {
    int (*reload)(struct sy_server *s, sy_buf *errors);
    int (*rebuild)(struct sy_server *s, sy_buf *errors);
} sy_server_control;

typedef struct sy_server {
    const sy_server_control *control; /* set before any worker starts */
    sy_http_handler client_handler;   /* ud: the sy_worker */
    sy_http_handler admin_handler;
    sy_http_head_check client_head_check; /* optional: may answer before the body is read */
    sy_http_head_check admin_head_check;
    char *config_path;
    sy_worker *workers;
    size_t n_workers;
    int workers_ready;   /* set once every worker is initialised (publishing reaches them) */
    uint16_t port;       /* client listener port actually bound */
    uint16_t admin_port; /* 0 when the admin API is disabled */
    uint64_t started_ms;
    pthread_mutex_t reload_lock; /* serialises reloads; held while reading the file */
    sy_runtime *rt;              /* latest published runtime (under reload_lock) */
    uint64_t generation;
    sy_store *store;              /* the LMDB store (data_dir); its thread is the only writer */
    struct sy_learner *learner;   /* runs on the store thread */
    struct sy_cluster *cluster;   /* cluster mode (engine/cluster), NULL when off */
    sy_hmac_sha256_ctx token_key; /* HMAC of feedback tokens, keyed with the store's secret */
    struct sy_prompt_registry *prompts;  /* prompt versions and labels (in memory + LMDB) */
    struct sy_exp_registry *experiments; /* experiment documents (in memory + LMDB) */
    struct sy_exp_tracker *exp_tracker;  /* experiment results, fed on the store thread */
    struct sy_activity *activity;        /* the dashboard's history, fed on the store thread */
    struct sy_sem_index *sem_index;      /* the semantic cache's vectors (cache_index.h) */
    sy_config *file_cfg; /* the configuration file as loaded (under reload_lock): runtimes
                            are built from it plus the running experiments */
} sy_server;

/*
 * Reload the config file (through s->control) and publish it to every worker. On failure nothing
 * changes and the errors are appended to `errors` (one per line). Thread-safe. Listener addresses,
 * ports, workers and data_dir need a restart; a change to them is reported as a warning
 * in `errors` while the rest of the new config is applied.
 */
int sy_server_reload(sy_server *s, sy_buf *errors);

/* Rebuild the served configuration from the loaded file and the experiment registry
 * (after an experiment starts, stops or changes allocation) and publish it. */
int sy_server_rebuild(sy_server *s, sy_buf *errors);

/* Generation of the runtime published last (for status endpoints). Thread-safe. */
uint64_t sy_server_generation(sy_server *s);

#endif
