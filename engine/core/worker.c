#include "worker.h"

#include "clock.h"
#include "server.h"

#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#define LOG_FLUSH_MS 100

void sy_worker_http_limits(const sy_config *cfg, sy_http_limits *out)
{
    out->max_body_bytes = cfg->limits.max_body_bytes;
    out->max_header_bytes = cfg->limits.max_header_bytes;
    out->max_headers = cfg->limits.max_headers;
    out->request_timeout_ms = cfg->limits.request_timeout_ms;
    out->idle_timeout_ms = cfg->limits.idle_timeout_ms;
    out->max_connections = cfg->limits.max_connections;
    out->max_body_memory = 0; /* the default: 64 x max_body_bytes (http_server.h) */
}

static void flush_cb(evutil_socket_t fd, short what, void *arg)
{
    sy_worker *w = arg;
    sy_logbuf_flush(&w->log);
}

/* One of the worker's servers has no connection left. */
static void server_idle(void *arg)
{
    sy_worker *w = arg;
    if (--w->open_servers == 0)
        event_base_loopexit(w->base, NULL);
}

static void drain_deadline_cb(evutil_socket_t fd, short what, void *arg)
{
    sy_worker *w = arg;
    sy_log(SY_LOG_WARN, "worker %zu: drain deadline passed with %zu requests in flight", w->index,
           w->inflight);
    event_base_loopbreak(w->base);
}

/* Stop accepting, let in-flight requests finish, exit the loop when idle or at the
 * configured deadline. */
static void begin_drain(sy_worker *w)
{
    if (w->draining)
        return;
    w->draining = 1;
    unsigned ms = w->rt->cfg->drain_timeout_ms;
    struct timeval tv = {ms / 1000, (ms % 1000) * 1000};
    evtimer_add(&w->drain_deadline_ev, &tv);
    w->open_servers = 1 + (w->admin != NULL);
    if (w->admin)
        sy_http_server_drain(w->admin, server_idle, w);
    sy_http_server_drain(w->http, server_idle, w);
}

/* Run a list of posted jobs (newest first) in the order they were posted. */
static void run_jobs(sy_worker_job *jobs, int live)
{
    sy_worker_job *fifo = NULL;
    while (jobs) {
        sy_worker_job *next = jobs->next;
        jobs->next = fifo;
        fifo = jobs;
        jobs = next;
    }
    while (fifo) {
        sy_worker_job *next = fifo->next;
        fifo->run(fifo, live);
        fifo = next;
    }
}

static void cmd_cb(evutil_socket_t fd, short what, void *arg)
{
    sy_worker *w = arg;
    pthread_mutex_lock(&w->cmd_lock);
    sy_runtime *rt = w->cmd_runtime;
    int shutdown = w->cmd_shutdown;
    sy_worker_job *jobs = w->cmd_jobs;
    struct sy_policy_set *set = w->cmd_policies;
    w->cmd_runtime = NULL;
    w->cmd_jobs = NULL;
    w->cmd_policies = NULL;
    pthread_mutex_unlock(&w->cmd_lock);
    if (set) {
        sy_policy_set_unref(w->policies);
        w->policies = set;
    }
    run_jobs(jobs, 1);
    if (rt) {
        sy_runtime_unref(w->rt);
        w->rt = rt;
        sy_http_limits lim;
        sy_worker_http_limits(rt->cfg, &lim);
        sy_http_server_set_limits(w->http, &lim);
        if (w->admin)
            sy_http_server_set_limits(w->admin, &lim);
    }
    if (shutdown)
        begin_drain(w);
}

void sy_worker_init(sy_worker *w, struct sy_server *server, size_t index, int http_fd, int admin_fd,
                    sy_runtime *rt, uint64_t seed)
{
    w->index = index;
    w->server = server;
    w->http_fd = http_fd;
    w->admin_fd = admin_fd;
    w->base = event_base_new();
    if (!w->base) {
        fprintf(stderr, "switchyard: event_base_new failed\n");
        abort();
    }
    w->up = sy_upstream_new(w->base);
    w->rng = gsl_rng_alloc(gsl_rng_mt19937);
    gsl_rng_set(w->rng, (unsigned long)(seed + index * 7919));
    sy_reqid_init(&w->ids, (uint8_t)index, seed ^ (index * 0x9e3779b97f4a7c15ull));
    w->rt = sy_runtime_ref(rt);
    pthread_mutex_init(&w->cmd_lock, NULL);
    event_assign(&w->cmd_ev, w->base, -1, 0, cmd_cb, w);
    event_assign(&w->flush_ev, w->base, -1, EV_PERSIST, flush_cb, w);
    evtimer_assign(&w->drain_deadline_ev, w->base, drain_deadline_cb, w);
}

static void *worker_main(void *arg)
{
    sy_worker *w = arg;
    struct timeval flush = {0, LOG_FLUSH_MS * 1000};
    event_add(&w->flush_ev, &flush);
    event_base_dispatch(w->base);
    event_del(&w->flush_ev);
    /* Whatever is still open after the deadline is closed now (abort callbacks run). */
    sy_http_server_free(w->http);
    sy_http_server_free(w->admin);
    w->http = w->admin = NULL;
    sy_logbuf_flush(&w->log);
    return NULL;
}

int sy_worker_start(sy_worker *w)
{
    sy_http_limits lim;
    sy_worker_http_limits(w->rt->cfg, &lim);
    w->http = sy_http_server_new(w->base, w->http_fd, &lim, w->server->client_handler, w);
    w->http_fd = -1;
    if (!w->http)
        return SY_ERR_IO;
    if (w->server->client_head_check)
        sy_http_server_set_head_check(w->http, w->server->client_head_check);
    if (w->admin_fd >= 0) {
        w->admin = sy_http_server_new(w->base, w->admin_fd, &lim, w->server->admin_handler, w);
        w->admin_fd = -1;
        if (!w->admin)
            return SY_ERR_IO;
        if (w->server->admin_head_check)
            sy_http_server_set_head_check(w->admin, w->server->admin_head_check);
    }
    if (pthread_create(&w->thread, NULL, worker_main, w) != 0)
        return SY_ERR_IO;
    pthread_setname_np(w->thread, "sy-worker"); /* for top, perf and bench/syscalls.py */
    return 0;
}

void sy_worker_publish(sy_worker *w, sy_runtime *rt)
{
    pthread_mutex_lock(&w->cmd_lock);
    if (w->cmd_runtime)
        sy_runtime_unref(w->cmd_runtime);
    w->cmd_runtime = sy_runtime_ref(rt);
    pthread_mutex_unlock(&w->cmd_lock);
    event_active(&w->cmd_ev, EV_TIMEOUT, 0);
}

void sy_worker_shutdown(sy_worker *w)
{
    pthread_mutex_lock(&w->cmd_lock);
    w->cmd_shutdown = 1;
    pthread_mutex_unlock(&w->cmd_lock);
    event_active(&w->cmd_ev, EV_TIMEOUT, 0);
}

void sy_worker_publish_with_policies(sy_worker *w, sy_runtime *rt, struct sy_policy_set *set)
{
    pthread_mutex_lock(&w->cmd_lock); /* cmd_cb takes both in one go */
    if (w->cmd_runtime)
        sy_runtime_unref(w->cmd_runtime);
    w->cmd_runtime = sy_runtime_ref(rt);
    struct sy_policy_set *old = w->cmd_policies;
    w->cmd_policies = set;
    pthread_mutex_unlock(&w->cmd_lock);
    sy_policy_set_unref(old);
    event_active(&w->cmd_ev, EV_TIMEOUT, 0);
}

void sy_worker_publish_policies(sy_worker *w, struct sy_policy_set *set)
{
    pthread_mutex_lock(&w->cmd_lock);
    struct sy_policy_set *old = w->cmd_policies; /* never picked up: superseded */
    w->cmd_policies = set;
    pthread_mutex_unlock(&w->cmd_lock);
    sy_policy_set_unref(old);
    event_active(&w->cmd_ev, EV_TIMEOUT, 0);
}

void sy_worker_post(sy_worker *w, sy_worker_job *job)
{
    pthread_mutex_lock(&w->cmd_lock);
    job->next = w->cmd_jobs;
    w->cmd_jobs = job;
    pthread_mutex_unlock(&w->cmd_lock);
    event_active(&w->cmd_ev, EV_TIMEOUT, 0);
}

void sy_worker_join(sy_worker *w)
{
    pthread_join(w->thread, NULL);
}

void sy_worker_free(sy_worker *w)
{
    run_jobs(w->cmd_jobs, 0); /* the loop is gone: this only frees */
    w->cmd_jobs = NULL;
    sy_policy_set_unref(w->cmd_policies);
    sy_policy_set_unref(w->policies);
    w->cmd_policies = w->policies = NULL;
    event_del(&w->cmd_ev);
    event_del(&w->drain_deadline_ev);
    sy_upstream_free(w->up);
    gsl_rng_free(w->rng);
    sy_runtime_unref(w->rt);
    if (w->cmd_runtime)
        sy_runtime_unref(w->cmd_runtime);
    sy_buf_free(&w->log.buf);
    event_base_free(w->base);
    pthread_mutex_destroy(&w->cmd_lock);
}
