/* learner: see learner.h. */
#include "learner.h"

#include "clock.h"
#include "activity.h"
#include "cluster_node.h"
#include "exp_tracker.h"
#include "id_window.h"
#include "key_limits.h"
#include "log.h"
#include "oneshot.h"
#include "runtime.h"
#include "server.h"
#include "store.h"
#include "worker.h"

#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define STAMP_SLOTS      65536 /* ratings whose stamp is remembered for a re-rating */
#define PUBLISH_EVERY_MS 5     /* at most one new snapshot set per this interval */

typedef struct route_state {
    char *name;
    size_t n_arms;
    char **models; /* model name per arm */
    sy_policy_state *st;
    char *warm_key;                   /* the warm start fed to st (file, weight, dim), or NULL */
    const sy_warm_data *warm_pending; /* not fed yet: before the first event (in l->rt) */
} route_state;

typedef struct stamp_slot {
    uint8_t id[16];
    double stamp;
    double value, weight; /* the rating learned (cluster mode resolves re-ratings with it) */
    int used, implicit;
} stamp_slot;

/* What an arm has learned from, local and remote (for /admin/routes and tests). */
typedef struct learned_arm {
    char route[SY_STORE_NAME_MAX], model[SY_STORE_NAME_MAX];
    sy_learner_arm_counts n;
} learned_arm;

struct sy_learner {
    sy_server *server;
    sy_runtime *rt; /* the configuration the states are built for (own reference) */
    route_state *routes;
    size_t n_routes;
    stamp_slot *stamps;     /* per slot of stamp_ids */
    sy_id_window stamp_ids; /* the last STAMP_SLOTS rated requests -> their slot */
    int dirty;
    uint64_t last_publish_ms;
    pthread_mutex_t ready_lock; /* replay done: the process may serve */
    pthread_cond_t ready_cond;
    int ready;
    int replaying;               /* the start-up replay: nothing is published to the cluster */
    pthread_mutex_t counts_lock; /* learned[], read by admin handlers */
    learned_arm *learned;
    size_t n_learned, cap_learned;
};

static void free_routes(route_state *r, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        for (size_t k = 0; k < r[i].n_arms; k++)
            free(r[i].models[k]);
        free(r[i].models);
        free(r[i].name);
        free(r[i].warm_key);
        sy_policy_state_free(r[i].st);
    }
    free(r);
}

/* Copy each arm's statistics from the old state of the same route, matched by model;
 * carried[k] says which arms were. */
static void carry_over(route_state *to, const route_state *from, unsigned char *carried)
{
    size_t len = sy_policy_state_export_len(from->st);
    if (len != sy_policy_state_export_len(to->st))
        return; /* the context dimension changed: nothing is comparable */
    double *buf = sy_xmalloc(sizeof(double) * len);
    for (size_t k = 0; k < to->n_arms; k++)
        for (size_t j = 0; j < from->n_arms; j++)
            if (strcmp(to->models[k], from->models[j]) == 0 &&
                sy_policy_state_export_arm(from->st, j, buf, len) == 0)
                carried[k] = sy_policy_state_import_arm(to->st, k, buf, len) == 0;
    free(buf);
}

/* Build a snapshot of every route and hand it to every worker, with `rt` (the runtime
 * the states were just rebuilt for) when it is not NULL. */
static void publish(sy_learner *l, sy_runtime *rt)
{
    sy_policy_set *set = sy_xcalloc(1, sizeof(*set));
    set->generation = l->rt->generation;
    set->n = l->n_routes;
    set->snap = sy_xcalloc(l->n_routes ? l->n_routes : 1, sizeof(sy_policy *));
    double now = (double)sy_wall_ms() / 1000.0;
    for (size_t i = 0; i < l->n_routes; i++)
        set->snap[i] = sy_policy_state_snapshot(l->routes[i].st, now);
    atomic_init(&set->refs, (int)l->server->n_workers);
    for (size_t i = 0; i < l->server->n_workers; i++) {
        if (rt)
            sy_worker_publish_with_policies(&l->server->workers[i], rt, set);
        else
            sy_worker_publish_policies(&l->server->workers[i], set);
    }
    l->dirty = 0;
    l->last_publish_ms = sy_wall_ms();
}

/*
 * The route's warm start (engine/app/warm_start.c loaded w into the runtime; policies/
 * warm.h feeds it). Arms carried over from a state fed the same file, weight and dim keep
 * what they had; the others are fed now at the wall clock (a reload) or, before the
 * start-up replay is done, marked pending: fed on the clock of the route's first event,
 * so that a time half-life counts them as older than all history (feed_pending).
 */
static void warm_start(sy_learner *l, route_state *rs, const route_state *old,
                       const sy_route_cfg *r, const sy_route_warm *w, const unsigned char *carried)
{
    if (!w)
        return;
    size_t dim = sy_policy_state_params(rs->st)->dim;
    size_t len = strlen(r->warm_start.path) + 64;
    char *key = sy_xmalloc(len);
    snprintf(key, len, "%.17g %zu %s", r->warm_start.weight, dim, r->warm_start.path);
    rs->warm_key = key;
    int same = old && old->warm_key && strcmp(old->warm_key, key) == 0;
    if (!l->ready || (same && old->warm_pending)) {
        rs->warm_pending = &w->data;
        return;
    }
    unsigned char arms[SY_POLICY_MAX_ARMS];
    size_t fresh = 0;
    for (size_t k = 0; k < rs->n_arms; k++)
        fresh += arms[k] = !(same && carried[k]);
    if (!fresh)
        return; /* every arm has it already */
    size_t n = sy_warm_feed(&w->data, rs->st, dim > 0, arms, (double)sy_wall_ms() / 1000.0);
    sy_log(SY_LOG_INFO, "learner: route '%s' warm-started with %zu ratings from %s", rs->name, n,
           r->warm_start.path);
}

/* Feed a pending warm start at clock t (seconds). */
static void feed_pending(sy_learner *l, route_state *rs, double t)
{
    size_t dim = sy_policy_state_params(rs->st)->dim;
    size_t n = sy_warm_feed(rs->warm_pending, rs->st, dim > 0, NULL, t);
    rs->warm_pending = NULL;
    l->dirty = 1;
    sy_log(SY_LOG_INFO, "learner: route '%s' warm-started with %zu ratings", rs->name, n);
}

typedef struct reconfig_job {
    sy_learner *l;
    sy_runtime *rt;
    sy_oneshot *wait; /* hand rt to the workers with the snapshots, then signal */
} reconfig_job;

/* On the store thread: rebuild the states for job->rt, keeping what was learned. */
static void reconfigure(void *ud)
{
    reconfig_job *job = ud;
    sy_learner *l = job->l;
    const sy_config *cfg = job->rt->cfg;
    route_state *next = sy_xcalloc(cfg->n_routes ? cfg->n_routes : 1, sizeof(*next));
    for (size_t i = 0; i < cfg->n_routes; i++) {
        const sy_route_cfg *r = &cfg->routes[i];
        route_state *rs = &next[i];
        rs->name = sy_xstrdup(r->name);
        rs->n_arms = sy_route_n_arms(r);
        rs->models = sy_xcalloc(rs->n_arms, sizeof(char *));
        for (size_t k = 0; k < r->n_candidates; k++)
            rs->models[k] = sy_xstrdup(cfg->models[r->candidates[k]].name);
        if (sy_route_has_cache_arm(r)) /* the cache arm learns under its reserved name */
            rs->models[r->n_candidates] = sy_xstrdup(SY_CACHE_ARM_NAME);
        sy_policy_params pp;
        sy_arm_params *arms = sy_xcalloc(rs->n_arms, sizeof(*arms));
        sy_route_policy_params(cfg, r, &pp, arms);
        if (sy_policy_state_new(&pp, &rs->st) != 0) {
            /* the loader validated the parameters; fall back to defaults defensively */
            sy_policy_params_init(&pp, SY_POLICY_UNIFORM, rs->n_arms, 0);
            sy_policy_state_new(&pp, &rs->st);
        }
        free(arms);
        unsigned char carried[SY_POLICY_MAX_ARMS] = {0};
        const route_state *old = NULL;
        for (size_t j = 0; j < l->n_routes; j++)
            if (strcmp(l->routes[j].name, rs->name) == 0) {
                old = &l->routes[j];
                carry_over(rs, old, carried);
            }
        warm_start(l, rs, old, r, job->rt->route_warm ? job->rt->route_warm[i] : NULL, carried);
    }
    free_routes(l->routes, l->n_routes);
    l->routes = next;
    l->n_routes = cfg->n_routes;
    sy_runtime_unref(l->rt);
    l->rt = job->rt;
    sy_oneshot *wait = job->wait;
    free(job);
    publish(l, wait ? l->rt : NULL);
    if (wait)
        sy_oneshot_signal(wait, 0);
}

static route_state *find_route(sy_learner *l, const char *name, const char *model, size_t *arm)
{
    for (size_t i = 0; i < l->n_routes; i++) {
        if (strcmp(l->routes[i].name, name) != 0)
            continue;
        for (size_t k = 0; k < l->routes[i].n_arms; k++)
            if (strcmp(l->routes[i].models[k], model) == 0) {
                *arm = k;
                return &l->routes[i];
            }
        return NULL;
    }
    return NULL;
}

static stamp_slot *stamp_slot_for(sy_learner *l, const uint8_t id[16])
{
    /* its own slot while it is among the last STAMP_SLOTS rated requests; otherwise the
     * slot a new rating takes (the oldest one's, claimed with sy_id_window_add) */
    long s = sy_id_window_find(&l->stamp_ids, sy_id_window_key16(id));
    return &l->stamps[s >= 0 ? (size_t)s : l->stamp_ids.pos];
}

/* Count what an arm learned from (store thread). */
static void count(sy_learner *l, const sy_store_request *r, double requests, double ratings,
                  double rating_sum)
{
    pthread_mutex_lock(&l->counts_lock);
    learned_arm *a = NULL;
    for (size_t i = 0; i < l->n_learned && !a; i++)
        if (strcmp(l->learned[i].route, r->route) == 0 &&
            strcmp(l->learned[i].model, r->model) == 0)
            a = &l->learned[i];
    if (!a) {
        if (l->n_learned == l->cap_learned) {
            l->cap_learned = l->cap_learned ? 2 * l->cap_learned : 16;
            l->learned = sy_xrealloc(l->learned, l->cap_learned * sizeof(*l->learned));
        }
        a = &l->learned[l->n_learned++];
        memset(a, 0, sizeof(*a));
        snprintf(a->route, sizeof(a->route), "%s", r->route);
        snprintf(a->model, sizeof(a->model), "%s", r->model);
    }
    a->n.requests += requests;
    a->n.ratings += ratings;
    a->n.rating_sum += rating_sum;
    pthread_mutex_unlock(&l->counts_lock);
}

int sy_learner_learned(sy_learner *l, const char *route, const char *model,
                       sy_learner_arm_counts *out)
{
    int rc = -1;
    pthread_mutex_lock(&l->counts_lock);
    for (size_t i = 0; i < l->n_learned && rc; i++)
        if (strcmp(l->learned[i].route, route) == 0 && strcmp(l->learned[i].model, model) == 0) {
            *out = l->learned[i].n;
            rc = 0;
        }
    pthread_mutex_unlock(&l->counts_lock);
    return rc;
}

/*
 * Learn from one observation, local or remote (store thread). In cluster mode a rating
 * replaces the one this learner learned for the same request, wherever each was given
 * (the stamp slot remembers it); otherwise the store's verdict on `replaced` decides.
 */
static void learn(sy_learner *l, const sy_store_obs *o)
{
    const sy_store_request *r = o->req;
    size_t arm;
    route_state *rs = r->route[0] ? find_route(l, r->route, r->model, &arm) : NULL;
    if (!rs)
        return;
    /* the event's own time (request or rating), so that a replayed history decays by
     * its age under a time half-life; the wall clock only when an event has none */
    uint64_t ts = o->is_feedback ? o->ts_ms : r->ts_ms;
    double t = (double)(ts ? ts : sy_wall_ms()) / 1000.0;
    if (rs->warm_pending) /* the warm start comes first, on this clock */
        feed_pending(l, rs, t);
    if (!o->is_feedback) {
        if (r->status != 200 || strcmp(r->error, SY_CLUSTER_FOREIGN) == 0)
            return; /* errors carry no latency or token evidence; a foreign record was
                       learned from on the node that served it */
        sy_outcome_obs oo = {.arm = arm,
                             .latency_s = r->latency_ms / 1000.0,
                             .output_tokens = (double)r->completion_tokens,
                             .cost_usd = r->cost_usd,
                             .t = t};
        if (sy_policy_state_observe_outcome(rs->st, &oo) == 0) {
            l->dirty = 1;
            count(l, r, 1, 0, 0);
        }
        return;
    }
    size_t dim = sy_policy_state_params(rs->st)->dim;
    if (dim && r->dim != dim)
        return; /* decided under another context definition: not comparable */
    sy_quality_obs q = {.arm = arm, .x = dim ? r->x : NULL, .dim = dim, .t = t};
    stamp_slot *slot = stamp_slot_for(l, r->id);
    int known = slot->used && memcmp(slot->id, r->id, 16) == 0;
    int replaced = o->replaced;
    double previous = o->previous, previous_weight = o->previous_weight;
    if (l->server->cluster && known) {
        if (o->implicit && !slot->implicit)
            return; /* a signal never overrides what a user said, on any node */
        replaced = 1;
        previous = slot->value;
        previous_weight = slot->weight;
    }
    if (replaced) {
        q.reward = previous;
        q.weight = previous_weight > 0 ? previous_weight : 1;
        /* without the stamp (evicted, or rated before a restart) retract as if fresh */
        sy_policy_state_retract_quality(rs->st, &q, known ? slot->stamp : t);
        count(l, r, 0, -q.weight, -q.weight * q.reward);
    }
    q.reward = o->value;
    q.weight = o->weight > 0 ? o->weight : 1; /* implicit signals weigh less */
    double stamp = t;
    if (sy_policy_state_observe_quality(rs->st, &q, &stamp) == 0) {
        if (!known) /* remembered from now on (a direct-mapped slot forgot by collision) */
            slot = &l->stamps[sy_id_window_add(&l->stamp_ids, sy_id_window_key16(r->id))];
        memcpy(slot->id, r->id, 16);
        slot->stamp = stamp;
        slot->value = q.reward;
        slot->weight = q.weight;
        slot->implicit = o->implicit;
        slot->used = 1;
        l->dirty = 1;
        count(l, r, 0, q.weight, q.weight * q.reward);
    }
}

/* Replayed at start after an unclean stop: an event of the last minutes, which may have
 * been in the killed process's backlog. Other nodes recognise what they already learned
 * (engine/cluster/cluster_codec.h, identity). */
static int republish(const sy_cluster *cl, const sy_store_obs *o)
{
    uint64_t since = sy_cluster_republish_since_ms(cl);
    return since && (o->is_feedback ? o->ts_ms : o->req->ts_ms) >= since;
}

/* The store's observer: one committed event, or NULL at the end of a batch. Live local
 * events are also published to the cluster (a foreign record never: it is another
 * node's request, copied here to accept its rating). */
static void observe(void *ud, const sy_store_obs *o)
{
    sy_learner *l = ud;
    if (l->server->exp_tracker) /* experiment results learn from the same events */
        sy_exp_tracker_observe(l->server->exp_tracker, o);
    if (l->server->activity) /* and the dashboard's history (engine/core/activity.h) */
        sy_activity_observe(l->server->activity, o, sy_wall_ms());
    if (!o) {
        if (l->dirty && sy_wall_ms() - l->last_publish_ms >= PUBLISH_EVERY_MS)
            publish(l, NULL);
        return;
    }
    sy_cluster *cl = l->server->cluster;
    if (cl && (o->is_feedback || strcmp(o->req->error, SY_CLUSTER_FOREIGN) != 0) &&
        (!l->replaying || republish(cl, o)))
        sy_cluster_publish(cl, o);
    learn(l, o);
}

typedef struct remote_job {
    sy_learner *l;
    sy_cluster_obs *obs;
    size_t n;
} remote_job;

/* On the store thread: learn from other nodes' observations, in stream order, through
 * the same path as local ones, then publish the new snapshots. */
static void apply_remote(void *ud)
{
    remote_job *job = ud;
    sy_learner *l = job->l;
    uint64_t now = sy_wall_ms();
    for (size_t i = 0; i < job->n; i++) {
        learn(l, &job->obs[i].obs);
        sy_cluster_note_applied(l->server->cluster, job->obs[i].published_ms, now);
        sy_cluster_obs_clear(&job->obs[i]);
    }
    if (l->dirty)
        publish(l, NULL);
    free(job->obs);
    free(job);
}

/* The cluster thread's delivery: queue the batch behind the store's events. */
static void deliver_remote(void *ud, sy_cluster_obs *obs, size_t n)
{
    sy_learner *l = ud;
    remote_job *job = sy_xcalloc(1, sizeof(*job));
    job->l = l;
    job->obs = obs;
    job->n = n;
    sy_store_call(l->server->store, apply_remote, job);
}

void sy_learner_follow_cluster(sy_learner *l)
{
    if (l->server->cluster)
        sy_cluster_follow(l->server->cluster, l->server->store, deliver_remote, l);
}

/* Replay: a stored request also restores its key's spend of the current budget periods. */
static void observe_replayed(void *ud, const sy_store_obs *o)
{
    if (o && !o->is_feedback && o->req->key_name[0])
        sy_key_restore_spend(o->req->key_name, o->req->cost_usd, o->req->ts_ms, sy_wall_ms());
    observe(ud, o);
}

/* On the store thread, right after the first configuration: relearn from the store. */
static void replay(void *ud)
{
    sy_learner *l = ud;
    uint64_t t0 = sy_wall_ms();
    l->replaying = 1;
    long n = sy_store_replay(l->server->store, observe_replayed, l);
    for (size_t i = 0; i < l->n_routes; i++) /* routes without history: warm from now */
        if (l->routes[i].warm_pending)
            feed_pending(l, &l->routes[i], (double)t0 / 1000.0);
    l->replaying = 0;
    if (l->dirty)
        publish(l, NULL);
    if (n > 0)
        sy_log(SY_LOG_INFO, "learner: replayed %ld stored requests in %llu ms", n,
               (unsigned long long)(sy_wall_ms() - t0));
    pthread_mutex_lock(&l->ready_lock);
    l->ready = 1;
    pthread_cond_broadcast(&l->ready_cond);
    pthread_mutex_unlock(&l->ready_lock);
}

void sy_learner_wait_ready(sy_learner *l)
{
    pthread_mutex_lock(&l->ready_lock);
    while (!l->ready)
        pthread_cond_wait(&l->ready_cond, &l->ready_lock);
    pthread_mutex_unlock(&l->ready_lock);
}

sy_learner *sy_learner_start(sy_server *server, sy_runtime *rt)
{
    sy_learner *l = sy_xcalloc(1, sizeof(*l));
    l->server = server;
    l->stamps = sy_xcalloc(STAMP_SLOTS, sizeof(stamp_slot));
    sy_id_window_init(&l->stamp_ids, STAMP_SLOTS);
    pthread_mutex_init(&l->ready_lock, NULL);
    pthread_cond_init(&l->ready_cond, NULL);
    pthread_mutex_init(&l->counts_lock, NULL);
    sy_store_set_observer(server->store, observe, l);
    sy_learner_reconfigure(l, rt);
    sy_store_call(server->store, replay, l);
    return l;
}

void sy_learner_reconfigure(sy_learner *l, sy_runtime *rt)
{
    reconfig_job *job = sy_xcalloc(1, sizeof(*job));
    job->l = l;
    job->rt = sy_runtime_ref(rt);
    sy_store_call(l->server->store, reconfigure, job);
}

void sy_learner_switch(sy_learner *l, sy_runtime *rt)
{
    sy_oneshot wait = SY_ONESHOT_INIT;
    reconfig_job *job = sy_xcalloc(1, sizeof(*job));
    job->l = l;
    job->rt = sy_runtime_ref(rt);
    job->wait = &wait;
    sy_store_call(l->server->store, reconfigure, job);
    sy_oneshot_wait(&wait);
}

void sy_learner_free(sy_learner *l)
{
    if (!l)
        return;
    free_routes(l->routes, l->n_routes);
    sy_runtime_unref(l->rt);
    free(l->stamps);
    sy_id_window_free(&l->stamp_ids);
    pthread_mutex_destroy(&l->ready_lock);
    pthread_cond_destroy(&l->ready_cond);
    pthread_mutex_destroy(&l->counts_lock);
    free(l->learned);
    free(l);
}
