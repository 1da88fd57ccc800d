/*
 * cmd_serve.c — `switchyard serve`: process setup, listeners, workers and signals.
 */
#include "commands.h"

#include "api.h"
#include "clock.h"
#include "log.h"
#include "provider.h"
#include "cluster_node.h"
#include "learner.h"
#include "cache_index.h"
#include "activity.h"
#include "exp_tracker.h"
#include "experiments.h"
#include "prompt_registry.h"
#include "server.h"
#include "warm_start.h"

#include <curl/curl.h>
#include <errno.h>
#include <event2/thread.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char serve_usage[] =
    "usage: switchyard serve [options]\n"
    "\n"
    "Run the gateway.\n"
    "\n"
    "  -c, --config FILE    configuration file (default: ./switchyard.json)\n"
    "  -w, --workers N      override the number of worker threads\n"
    "      --port-file FILE after binding, write \"<client port> <admin port>\" to FILE\n"
    "                       (admin port 0 when the admin API is disabled); useful with\n"
    "                       port 0 in the config, which binds a free port\n"
    "  -h, --help           show this help\n"
    "\n"
    "Signals: SIGTERM/SIGINT stop accepting, drain in-flight requests (bounded by\n"
    "drain_timeout_ms) and exit 0; SIGHUP reloads the configuration file.\n";

static void print_errors(const char *path, const sy_config_errors *errs)
{
    for (size_t i = 0; i < errs->n; i++)
        fprintf(stderr, "%s: %s\n", path, errs->items[i]);
}

/* Warn about settings a reload cannot apply (they are bound at startup). */
static void restart_only_changes(const sy_config *old, const sy_config *new, sy_buf *out)
{
    if (strcmp(old->listen.address, new->listen.address) != 0 ||
        old->listen.port != new->listen.port || strcmp(old->admin.address, new->admin.address) ||
        old->admin.port != new->admin.port || old->admin_enabled != new->admin_enabled)
        sy_buf_puts(out, "warning: listener changes take effect after a restart\n");
    if (old->workers != new->workers)
        sy_buf_puts(out, "warning: a new worker count takes effect after a restart\n");
    if (strcmp(old->data_dir, new->data_dir) != 0)
        sy_buf_puts(out, "warning: a new data_dir takes effect after a restart\n");
}

/*
 * Build the configuration to serve from a file configuration (taking ownership of it)
 * and the experiment registry, and publish it to the workers and the learner. Caller
 * holds reload_lock. On failure nothing changes (file_cfg is freed when given).
 */
static void configure_tracker(void *ud, const char *id, sy_exp_unit unit, const char *control,
                              double tau)
{
    sy_exp_tracker_configure(ud, id, unit, control, tau);
}

static int publish_locked(sy_server *s, sy_config *file_cfg, int seed, sy_buf *errors)
{
    const sy_config *base = file_cfg ? file_cfg : s->file_cfg;
    if (seed && sy_exp_registry_seed(s->experiments, base, errors) != 0) {
        sy_config_free(file_cfg);
        return SY_ERR_INVALID;
    }
    sy_exp_table *table = NULL;
    sy_config *cfg = sy_exp_build_config(s->experiments, base, NULL, &table, errors);
    if (!cfg) {
        sy_config_free(file_cfg);
        return SY_ERR_INVALID;
    }
    if (s->rt)
        restart_only_changes(s->rt->cfg, cfg, errors);
    /* how the tracker analyses each experiment, stopped ones included (replay) */
    sy_exp_registry_each(s->experiments, configure_tracker, s->exp_tracker);
    sy_runtime *rt = sy_runtime_new(cfg, ++s->generation);
    rt->experiments = table;
    if (sy_warm_start_attach(rt, s->rt, errors) != SY_OK) { /* reads changed files only */
        sy_runtime_unref(rt);
        sy_config_free(file_cfg);
        s->generation--;
        return SY_ERR_INVALID;
    }
    if (file_cfg) {
        sy_config_free(s->file_cfg);
        s->file_cfg = file_cfg;
    }
    if (s->learner && s->workers_ready) {
        sy_learner_switch(s->learner, rt); /* runtime and learned snapshots together */
    } else {
        for (size_t i = 0; i < s->n_workers && s->workers_ready; i++)
            sy_worker_publish(&s->workers[i], rt);
        if (s->learner)
            sy_learner_reconfigure(s->learner, rt);
    }
    sy_runtime_unref(s->rt);
    s->rt = rt;
    return 0;
}

/* Reload the config file and publish it (sy_server_reload, through the control). */
static int serve_reload(sy_server *s, sy_buf *errors)
{
    pthread_mutex_lock(&s->reload_lock);
    sy_config_errors errs = {0};
    sy_config *cfg = sy_config_load(s->config_path, &errs);
    if (!cfg) {
        for (size_t i = 0; i < errs.n; i++)
            sy_buf_printf(errors, "%s\n", errs.items[i]);
        sy_config_errors_free(&errs);
        pthread_mutex_unlock(&s->reload_lock);
        return SY_ERR_INVALID;
    }
    if (sy_providers_unsupported(cfg, errors)) {
        sy_config_free(cfg);
        pthread_mutex_unlock(&s->reload_lock);
        return SY_ERR_INVALID;
    }
    int rc = publish_locked(s, cfg, 1, errors);
    pthread_mutex_unlock(&s->reload_lock);
    return rc;
}

/* Republish the loaded file with the running experiments (sy_server_rebuild). */
static int serve_rebuild(sy_server *s, sy_buf *errors)
{
    pthread_mutex_lock(&s->reload_lock);
    int rc = publish_locked(s, NULL, 0, errors);
    pthread_mutex_unlock(&s->reload_lock);
    return rc;
}

static const sy_server_control serve_control = {serve_reload, serve_rebuild};

/* Open the client listener once per worker on one port (SO_REUSEPORT), and the admin
 * listener. A config port of 0 binds a free port that every worker then shares. */
static int open_listeners(sy_server *s, const sy_config *cfg, int *http_fds, int *admin_fd)
{
    char err[256];
    uint16_t port = cfg->listen.port;
    for (size_t i = 0; i < s->n_workers; i++) {
        http_fds[i] = sy_http_listen_socket(cfg->listen.address, port, &port, err, sizeof(err));
        if (http_fds[i] < 0) {
            fprintf(stderr, "switchyard: %s\n", err);
            return SY_ERR_IO;
        }
    }
    s->port = port;
    *admin_fd = -1;
    if (cfg->admin_enabled) {
        *admin_fd = sy_http_listen_socket(cfg->admin.address, cfg->admin.port, &s->admin_port, err,
                                          sizeof(err));
        if (*admin_fd < 0) {
            fprintf(stderr, "switchyard: admin: %s\n", err);
            return SY_ERR_IO;
        }
    }
    return 0;
}

static int write_port_file(const char *path, const sy_server *s)
{
    char tmp[4096];
    snprintf(tmp, sizeof(tmp), "%s.tmp", path);
    FILE *f = fopen(tmp, "w");
    if (!f)
        return SY_ERR_IO;
    fprintf(f, "%u %u\n", s->port, s->admin_port);
    if (fclose(f) != 0 || rename(tmp, path) != 0)
        return SY_ERR_IO;
    return 0;
}

/* Main thread after startup: wait for signals and act on them until told to stop. */
static void signal_loop(sy_server *s, const sigset_t *set)
{
    for (;;) {
        int sig = 0;
        if (sigwait(set, &sig) != 0)
            continue;
        if (sig == SIGHUP) {
            sy_buf errs = {0};
            if (sy_server_reload(s, &errs) == 0)
                sy_log(SY_LOG_INFO, "configuration reloaded (generation %llu)%s%s",
                       (unsigned long long)sy_server_generation(s), errs.len ? ": " : "",
                       errs.len ? errs.data : "");
            else
                sy_log(SY_LOG_ERROR, "reload failed, keeping the running configuration: %s",
                       errs.data);
            sy_buf_free(&errs);
            continue;
        }
        sy_log(SY_LOG_INFO, "received %s: draining", sig == SIGTERM ? "SIGTERM" : "SIGINT");
        return;
    }
}

/* serve's command line. Returns -1 to go on, else the exit status (help, usage error). */
static int parse_args(int argc, char **argv, const char **config_path, const char **port_file,
                      long *workers_override)
{
    static const struct option opts[] = {{"config", required_argument, 0, 'c'},
                                         {"workers", required_argument, 0, 'w'},
                                         {"port-file", required_argument, 0, 'p'},
                                         {"help", no_argument, 0, 'h'},
                                         {0, 0, 0, 0}};
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "c:w:h", opts, NULL)) != -1) {
        switch (c) {
        case 'c':
            *config_path = optarg;
            break;
        case 'w':
            *workers_override = strtol(optarg, NULL, 10);
            if (*workers_override < 1 || *workers_override > 256) {
                fprintf(stderr, "switchyard serve: --workers must be 1..256\n");
                return 2;
            }
            break;
        case 'p':
            *port_file = optarg;
            break;
        case 'h':
            fputs(serve_usage, stdout);
            return 0;
        default:
            fputs(serve_usage, stderr);
            return 2;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "switchyard serve: unexpected argument '%s'\n", argv[optind]);
        return 2;
    }
    return -1;
}

/* Load the configuration and check what serving needs beyond its validity: an adapter
 * for every dialect, every provider key in the environment, the log. NULL on failure
 * (reported on stderr). */
static sy_config *load_servable(const char *config_path)
{
    sy_config_errors errs = {0};
    sy_config *cfg = sy_config_load(config_path, &errs);
    if (!cfg) {
        print_errors(config_path, &errs);
        sy_config_errors_free(&errs);
        return NULL;
    }
    sy_buf unsupported = {0};
    if (sy_providers_unsupported(cfg, &unsupported)) {
        fprintf(stderr, "%s: %s", config_path, unsupported.data);
        sy_buf_free(&unsupported);
        sy_config_free(cfg);
        return NULL;
    }
    for (size_t i = 0; i < cfg->n_providers; i++)
        if (cfg->providers[i].key_env && !cfg->providers[i].api_key) {
            fprintf(stderr, "switchyard: provider '%s': environment variable %s is not set\n",
                    cfg->providers[i].name, cfg->providers[i].key_env);
            sy_config_free(cfg);
            return NULL;
        }
    if (sy_log_open(cfg->log.path, cfg->log.level) != 0) {
        sy_config_free(cfg);
        return NULL;
    }
    return cfg;
}

/* Another node committed an experiment or a prompt through its admin API: adopt the same
 * document (same allocation version; same versions and labels) and serve it (on the
 * cluster thread). */
static void adopt_definition(void *ud, const char *what, const char *doc)
{
    sy_server *s = ud;
    if (strcmp(what, "prompt") == 0) { /* resolved from the registry: nothing to rebuild */
        int rc = sy_prompt_registry_adopt(s->prompts, doc, strlen(doc));
        if (rc < 0)
            sy_log(SY_LOG_WARN,
                   "cluster: a prompt from another node could not be adopted "
                   "(%s)",
                   rc == SY_ERR_IO ? "the store could not commit it"
                                   : "unreadable, or its versions differ from this node's");
        return;
    }
    if (strcmp(what, "experiment") != 0)
        return;
    int rc = sy_exp_registry_adopt(s->experiments, doc, strlen(doc));
    if (rc != 0) {
        if (rc != 1)
            sy_log(SY_LOG_WARN, "cluster: an experiment from another node could not be stored");
        return;
    }
    sy_buf errs = {0};
    if (sy_server_rebuild(s, &errs) != 0)
        sy_log(SY_LOG_WARN, "cluster: an experiment from another node could not be applied: %s",
               errs.data ? errs.data : "unknown error");
    sy_buf_free(&errs);
}

/*
 * Cluster mode (cfg->cluster.redis_url): start the link to Redis and adopt the cluster's
 * feedback-token secret, so that a token is valid on every node. Without the section,
 * or with Redis unreachable at start, the store's own secret. 0, or 1 after reporting.
 */
static int start_cluster(sy_server *s, const sy_config *cfg)
{
    const uint8_t *secret = sy_store_secret(s->store);
    uint8_t shared[32];
    if (cfg->cluster.redis_url) {
        char err[256];
        unsigned ttl = cfg->cluster.summary_ttl_s < cfg->feedback.window_s
                           ? cfg->cluster.summary_ttl_s
                           : cfg->feedback.window_s;
        s->cluster = sy_cluster_start(&cfg->cluster, ttl, cfg->data_dir, err, sizeof(err));
        if (!s->cluster) {
            fprintf(stderr, "switchyard: %s\n", err);
            return 1;
        }
        if (cfg->cluster.password_env && !cfg->cluster.password)
            sy_log(SY_LOG_WARN,
                   "cluster: environment variable %s (cluster.password_env) is not "
                   "set: connecting to Redis without AUTH",
                   cfg->cluster.password_env);
        sy_cluster_on_def(s->cluster, adopt_definition, s);
        if (sy_cluster_shared_secret(&cfg->cluster, secret, shared) == 0)
            secret = shared;
        else
            sy_log(SY_LOG_WARN, "cluster: Redis unreachable at start; feedback tokens of this "
                                "node are valid on this node only until a restart");
        sy_log(SY_LOG_INFO, "cluster: node %s on %s", cfg->cluster.node_id, cfg->cluster.redis_url);
    }
    sy_hmac_sha256_init(&s->token_key, secret, 32);
    return 0;
}

/*
 * Open the store, the registries on it, and publish the first runtime (which takes
 * cfg over, also on failure). Returns 0, or 1 after reporting on stderr; what was
 * opened stays in s for close_server.
 */
static int open_state(sy_server *s, sy_config *cfg)
{
    char serr[512];
    sy_store_opts so = {.dir = cfg->data_dir,
                        .map_size = (size_t)cfg->store.map_size_mb << 20,
                        .max_map_size = (size_t)cfg->store.max_map_size_mb << 20,
                        .batch_ms = cfg->store.batch_ms,
                        .batch_max = 256,
                        .feedback_window_ms = (uint64_t)cfg->feedback.window_s * 1000,
                        .conv_ttl_ms = (uint64_t)cfg->conversations.ttl_s * 1000,
                        .conv_max = cfg->conversations.max};
    s->store = sy_store_open(&so, serr, sizeof(serr));
    if (!s->store) {
        fprintf(stderr, "switchyard: %s\n", serr);
        sy_config_free(cfg);
        return 1;
    }
    if (start_cluster(s, cfg) != 0) {
        sy_config_free(cfg);
        return 1;
    }
    s->prompts = sy_prompt_registry_open(s->store);
    s->experiments = sy_exp_registry_open(s->store);
    s->exp_tracker = sy_exp_tracker_new();
    s->activity = sy_activity_new();
    s->sem_index = sy_cache_index_open(s->store); /* the store thread feeds it from now on */
    sy_buf exp_errors = {0};
    int rc = 0;
    if (publish_locked(s, cfg, 1, &exp_errors) != 0) { /* cfg is freed by it */
        fprintf(stderr, "%s", exp_errors.data ? exp_errors.data : "experiments: invalid\n");
        rc = 1;
    }
    sy_buf_free(&exp_errors);
    return rc;
}

/*
 * Start the learner and the workers on the open listeners, serve until a signal says
 * stop, then drain and stop them. Returns the exit status.
 */
static int run_workers(sy_server *s, int *http_fds, int admin_fd, const char *port_file,
                       const sigset_t *set)
{
    const sy_config *cfg = s->rt->cfg;
    int rc = 0;
    uint64_t seed = sy_wall_ms() ^ ((uint64_t)getpid() << 32);
    for (size_t i = 0; i < s->n_workers; i++)
        sy_worker_init(&s->workers[i], s, i, http_fds[i], i == 0 ? admin_fd : -1, s->rt, seed);
    s->workers_ready = 1; /* from now on, a new runtime is published to each worker */
    s->learner = sy_learner_start(s, s->rt);
    sy_learner_wait_ready(s->learner); /* serve only with learned state and spend restored */
    sy_learner_follow_cluster(s->learner);
    if (s->cluster && sy_cluster_wait_up(s->cluster, 2000) != 0)
        sy_log(SY_LOG_WARN, "cluster: Redis unreachable; serving alone until it answers "
                            "(budgets on the local share)");
    size_t started = 0;
    for (; started < s->n_workers; started++)
        if (sy_worker_start(&s->workers[started]) != 0) {
            rc = 1;
            break;
        }
    if (rc == 0) {
        sy_log(SY_LOG_INFO, "listening on %s:%u with %zu workers%s", cfg->listen.address, s->port,
               s->n_workers, cfg->admin_enabled ? "" : " (admin API disabled: no admin key)");
        if (cfg->admin_enabled)
            sy_log(SY_LOG_INFO, "admin API on %s:%u", cfg->admin.address, s->admin_port);
        if (port_file && write_port_file(port_file, s) != 0) {
            fprintf(stderr, "switchyard: cannot write %s: %s\n", port_file, strerror(errno));
            rc = 1;
        } else {
            signal_loop(s, set);
        }
    }
    for (size_t i = 0; i < started; i++)
        sy_worker_shutdown(&s->workers[i]);
    for (size_t i = 0; i < started; i++)
        sy_worker_join(&s->workers[i]);
    sy_cluster_unfollow(s->cluster); /* no remote batch is queued on the store any more */
    sy_store_close(s->store);        /* commits what is queued; late acks only free */
    s->store = NULL;
    sy_cluster_stop(s->cluster); /* flushes what the last batches published */
    s->cluster = NULL;
    sy_learner_free(s->learner);
    s->learner = NULL;
    for (size_t i = 0; i < s->n_workers; i++)
        sy_worker_free(&s->workers[i]);
    sy_log(SY_LOG_INFO, "stopped");
    return rc;
}

/* Free what open_state and sy_cmd_serve set up (each part may be missing). */
static void close_server(sy_server *s)
{
    sy_cluster_stop(s->cluster); /* NULL-safe, like the store below */
    sy_store_close(s->store);    /* NULL-safe: still set only when serving never started */
    sy_cache_index_free(s->sem_index); /* after the store: its thread fed the index */
    s->sem_index = NULL;
    sy_prompt_registry_free(s->prompts);
    sy_exp_registry_free(s->experiments);
    sy_exp_tracker_free(s->exp_tracker);
    sy_activity_free(s->activity);
    sy_config_free(s->file_cfg);
    free(s->workers);
    sy_runtime_unref(s->rt);
    free(s->config_path);
    pthread_mutex_destroy(&s->reload_lock);
}

int sy_cmd_serve(int argc, char **argv)
{
    const char *config_path = "switchyard.json", *port_file = NULL;
    long workers_override = 0;
    int rc = parse_args(argc, argv, &config_path, &port_file, &workers_override);
    if (rc >= 0)
        return rc;
    sy_config *cfg = load_servable(config_path);
    if (!cfg)
        return 1;

    /* Signals go to this thread only: block them before any worker exists. */
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGHUP);
    pthread_sigmask(SIG_BLOCK, &set, NULL);
    signal(SIGPIPE, SIG_IGN);
    evthread_use_pthreads();
    curl_global_init(CURL_GLOBAL_DEFAULT);

    sy_server s = {.control = &serve_control,
                   .client_handler = sy_api_client_handler,
                   .admin_handler = sy_api_admin_handler,
                   .client_head_check = sy_api_client_head,
                   .admin_head_check = sy_api_admin_head};
    s.config_path = sy_xstrdup(config_path);
    s.n_workers = workers_override ? (size_t)workers_override : cfg->workers;
    s.started_ms = sy_wall_ms();
    pthread_mutex_init(&s.reload_lock, NULL);
    s.workers = sy_xcalloc(s.n_workers, sizeof(sy_worker));
    int *http_fds = sy_xcalloc(s.n_workers, sizeof(int));
    int admin_fd = -1;
    rc = open_state(&s, cfg); /* cfg belongs to s from here on */
    if (rc == 0)
        rc = open_listeners(&s, s.rt->cfg, http_fds, &admin_fd) != 0;
    if (rc == 0)
        rc = run_workers(&s, http_fds, admin_fd, port_file, &set);
    free(http_fds);
    close_server(&s);
    curl_global_cleanup();
    sy_log_close();
    return rc;
}
