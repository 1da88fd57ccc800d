/*
 * config: load and validate switchyard.json (docs/configuration.md is the reference).
 *
 * sy_config_load() parses a file into an immutable sy_config. Every problem found is
 * reported with the JSON path of the offending value ("$.models.gpt-4o.price.input: ...");
 * unknown keys are errors so that typos never pass silently. Secrets never live in the
 * file: provider keys are read from the environment variable the file names, client and
 * admin keys are stored as SHA-256 hex digests.
 *
 * Ownership: the sy_config owns every string and array below; sy_config_free() releases
 * all of it. A loaded config is never mutated, so worker threads may read it without
 * locks; a reload builds a new one and swaps it in (see engine/server.c).
 */
#ifndef SY_CONFIG_H
#define SY_CONFIG_H

#include "policy_params.h"
#include "rule_expr.h"

#include <stddef.h>
#include <stdint.h>

/* Bounds the loader enforces (docs/configuration.md lists every other bound). */
#define SY_CONFIG_MAX_NAME       128 /* bytes in a provider, model, route or key name */
#define SY_CONFIG_MAX_CANDIDATES 64  /* models per route; equals SY_POLICY_MAX_ARMS */

typedef enum { SY_DIALECT_OPENAI = 0, SY_DIALECT_ANTHROPIC, SY_DIALECT_GEMINI } sy_dialect;

typedef struct sy_listen_cfg {
    char *address; /* numeric IPv4/IPv6 address, default "127.0.0.1" */
    uint16_t port; /* 0 = pick a free port (tests), default 8080 (client) / 8081 (admin) */
    /* client listener only: the origins (scheme://host[:port], or "*") whose pages may
     * call the client API from a browser (CORS); none by default */
    char **cors_origins;
    size_t n_cors_origins;
} sy_listen_cfg;

typedef struct sy_limits_cfg {
    size_t max_body_bytes;       /* default 1 MiB; larger bodies get 413 */
    size_t max_header_bytes;     /* total request head, default 16 KiB; 431 */
    unsigned max_headers;        /* header count, default 64; 431 */
    unsigned request_timeout_ms; /* deadline to receive the whole request, default 10000; 408 */
    unsigned idle_timeout_ms;    /* keep-alive idle connection timeout, default 60000 */
    unsigned max_connections;    /* per worker, default 4096; excess connections are refused */
    unsigned max_json_depth;     /* default 64 */
} sy_limits_cfg;

typedef struct sy_upstream_cfg {
    unsigned connect_timeout_ms; /* default 5000 */
    unsigned request_timeout_ms; /* whole upstream exchange, default 300000 */
    size_t stream_buffer_bytes;  /* per-request relay high-water mark, default 64 KiB */
} sy_upstream_cfg;

typedef struct sy_store_cfg {
    unsigned map_size_mb;     /* initial LMDB map size, default 64 */
    unsigned max_map_size_mb; /* MDB_MAP_FULL doubles the map up to this, default 16384 */
    unsigned batch_ms;        /* longest an event waits for its commit, default 2 */
} sy_store_cfg;

/* Retries, fallbacks, timeouts and circuit breakers (docs/configuration.md). */
typedef struct sy_reliability_cfg {
    unsigned max_attempts;    /* upstream attempts per request, default 3 */
    double retry_budget;      /* retries per first attempt, process-wide, default 0.2 */
    unsigned backoff_base_ms; /* full-jitter backoff before retrying the same model */
    unsigned backoff_max_ms;
    unsigned retry_after_cap_ms; /* longest Retry-After waited for, default 10000 */
    unsigned deadline_ms;        /* no new attempt after this since the request began */
    unsigned ttft_timeout_ms;    /* first upstream byte, default 30000 */
    unsigned idle_timeout_ms;    /* between stream chunks, default 60000 */
    unsigned breaker_failures, breaker_window;
    double breaker_failure_rate;
    unsigned breaker_cooldown_ms, breaker_max_cooldown_ms;
} sy_reliability_cfg;

typedef struct sy_feedback_cfg {
    unsigned window_s; /* feedback later than this after the request gets 410, default 7 d */
} sy_feedback_cfg;

/* Cluster mode on Redis (docs/scale-out.md); redis_url NULL: one node, LMDB only. */
typedef struct sy_cluster_cfg {
    char *redis_url;           /* "redis://host:port/db", NULL = cluster mode off */
    char *node_id;             /* this node's name in the cluster (required with redis_url) */
    char *username;            /* Redis ACL user (AUTH username password), NULL: "default" */
    char *password_env;        /* names the environment variable holding the Redis password */
    char *password;            /* its value, read at load (never logged), NULL: no AUTH */
    unsigned stream_maxlen;    /* observations kept in the shared stream, default 1000000 */
    unsigned backlog_max;      /* observations buffered while Redis is away, default 100000 */
    unsigned summary_ttl_s;    /* how long other nodes can accept a rating for a request
                                  served here (capped by feedback.window_s), default 3600 */
    double budget_local_share; /* share of a key's budget a node may spend alone while
                                  Redis is unreachable, default 0.1 */
    unsigned admin_wait_ms;    /* an admin change waits this long for the other live nodes
                                  to confirm it, default 2000 (0: answer at once) */
} sy_cluster_cfg;

typedef struct sy_log_cfg {
    char *level;         /* "debug" | "info" | "warn" | "error", default "info" */
    char *path;          /* NULL = stderr */
    int requests;        /* one JSON line per request, default 1 */
    int include_prompts; /* include prompt/response text in request lines, default 0 */
} sy_log_cfg;

typedef struct sy_provider_cfg {
    char *name;
    sy_dialect dialect;
    char *base_url;      /* e.g. "https://api.openai.com/v1"; no trailing slash */
    char *key_env;       /* name of the env var holding the key; NULL = no auth */
    char *api_key;       /* resolved from key_env at load time; NULL if unset. Never logged. */
    unsigned timeout_ms; /* 0 = use upstream.request_timeout_ms */
    int responses_api;   /* openai dialect: it serves POST /responses, so the gateway's
                            /v1/responses is forwarded natively (else translated to chat) */
    char *ca_file;       /* PEM certificates trusted for https instead of curl's default
                            bundle (a private CA); NULL = the default bundle */
} sy_provider_cfg;

typedef struct sy_price_cfg {
    double input;        /* USD per million input tokens */
    double cached_input; /* USD per million cached input tokens (defaults to input) */
    double cache_write;  /* USD per million input tokens written to a prompt cache
                            (Anthropic's cache_creation_input_tokens; defaults to input) */
    double output;       /* USD per million output tokens */
} sy_price_cfg;

/* A route's or model's response cache (docs/cache.md; engine/config/config_cache.c). */
typedef enum {
    SY_CACHE_TEMP_DETERMINISTIC = 0, /* only requests with "temperature": 0 (default) */
    SY_CACHE_TEMP_ABSENT_OR_ZERO,    /* also requests without a temperature */
    SY_CACHE_TEMP_ANY                /* every temperature (the answer is one sample) */
} sy_cache_temps;
/* How a semantic neighbour is used: "threshold" serves it when its similarity reaches
 * the threshold; "arm" (routes only) lets the route's policy choose between it (the
 * cache arm, policies/cache_arm.h) and the route's models. */
typedef enum { SY_CACHE_MODE_THRESHOLD = 0, SY_CACHE_MODE_ARM } sy_cache_mode;
/* The cache arm's name in the learner, the store's arm statistics and the admin API:
 * a cache-arm route may not have a candidate of that name. */
#define SY_CACHE_ARM_NAME "cache"
typedef struct sy_cache_cfg {
    int exact;                 /* the exact tier (default on) */
    int semantic;              /* a "semantic" block was given */
    char *embedding_model;     /* semantic: a model of kind "embedding" */
    double threshold;          /* semantic: least cosine similarity served, default 0.95 */
    double min_similarity;     /* semantic, mode arm: the candidate floor (default 0.8, or
                                  the threshold when lower) */
    unsigned embed_timeout_ms; /* semantic: the embedding call's bound (a miss after) */
    unsigned ttl_s;            /* an entry's life, default 3600 */
    size_t max_entries;        /* entries kept for this route or model, default 10000 */
    int shared;                /* "scope": "shared" (1) or "key" (0, default) */
    sy_cache_temps temperatures;
    sy_cache_mode mode;
} sy_cache_cfg;

typedef struct sy_model_cfg {
    char *name;          /* public name clients use in "model" */
    size_t provider;     /* index into sy_config.providers */
    char *upstream_name; /* name sent upstream, defaults to name */
    sy_price_cfg price;
    char *tier;          /* free-form tier label, default "standard" */
    char *kind;          /* "chat" (default) or "embedding": which endpoint the model serves */
    int embedding;       /* kind is "embedding" (set by the loader from kind) */
    sy_cache_cfg *cache; /* "cache" when the client names this model, or NULL (owned) */
} sy_model_cfg;

/* An escalation rule (DESIGN.md §7): when `when` holds, restrict the candidates. */
typedef enum { SY_RULE_ESCALATE = 0, SY_RULE_PIN, SY_RULE_DEESCALATE } sy_rule_action;
typedef struct sy_rule_cfg {
    char *name;     /* "rule<N>" unless named */
    sy_expr *when;  /* compiled (engine/proto/rule_expr.h) */
    char *when_src; /* as written (admin API) */
    sy_rule_action action;
    char *target; /* tier (escalate) or model name (pin) */
    int sticky;   /* the restriction stays with the conversation */
} sy_rule_cfg;

/* Guardrails a route or a client key applies (docs/guardrails.md): the names as written,
 * and their indices into sy_config.guardrails (resolved once the whole file is read). */
typedef struct sy_guard_refs {
    char **names;
    size_t *idx;
    size_t n;
} sy_guard_refs;

/* "warm_start": a full-information dataset the route's learner is fed before its first
 * live event (docs/policies.md#warm-start; loaded by engine/app/warm_start.c). */
typedef struct sy_warm_start_cfg {
    char *path;    /* .jsonl file, RouteLLM folder or RouterBench CSV; NULL = cold start */
    double weight; /* weight of each warm rating (a live rating weighs 1), default 1 */
} sy_warm_start_cfg;

typedef struct sy_route_cfg {
    char *name;
    size_t *candidates; /* indices into sy_config.models, at least one, no duplicates */
    size_t n_candidates;
    char *policy; /* policy kind name (policies/policy_params.h), default "uniform" */
    /* The route's policy as the policies library takes it: kind, dim, objective,
     * discount and the kind's parameters. params.arms is NULL here: the learner joins
     * `arms` with the models' prices. */
    sy_policy_params params;
    sy_arm_params *arms; /* n_candidates: priors and weights as configured (prices 0) */
    sy_rule_cfg *rules;  /* evaluated in order; the first that holds applies */
    size_t n_rules;
    unsigned deescalate_after_good_turns; /* 0 = a sticky escalation stays */
    sy_warm_start_cfg warm_start;
    int hidden; /* an experiment variant's route (engine/registry/experiments.c): not listed in
                   /v1/models and not addressable by clients */
    sy_guard_refs guardrails;
    sy_cache_cfg *cache; /* "cache", or NULL: none (owned) */
} sy_route_cfg;

/* The state variables rules may use, in the order of their values (pipeline). */
enum {
    SY_RV_TURN = 0,
    SY_RV_REPHRASES,
    SY_RV_REPHRASES_TOTAL,
    SY_RV_THUMBS_DOWN,
    SY_RV_GOOD_TURNS,
    SY_RV_COST_USD,
    SY_RV_IDLE_S,
    SY_RV_TIER,
    SY_RV_ESCALATED,
    SY_RV_COUNT
};
extern const sy_var_def sy_rule_vars[SY_RV_COUNT];

typedef struct sy_conversation_cfg {
    unsigned ttl_s;         /* state expires after this long idle, default 86400 */
    unsigned max;           /* conversations kept, default 1000000 */
    double implicit_weight; /* learning weight of a rephrase's negative reward, 0.3 */
} sy_conversation_cfg;

/* Per-key abuse limits; 0 = unlimited (docs/configuration.md). */
typedef struct sy_key_limits {
    unsigned requests_per_minute;
    unsigned tokens_per_minute; /* prompt + completion tokens */
    double usd_per_day;         /* UTC day */
    double usd_per_month;       /* UTC calendar month */
} sy_key_limits;

typedef struct sy_client_key_cfg {
    char *name;         /* label used in logs, never the key itself */
    uint8_t sha256[32]; /* SHA-256 of the bearer token */
    sy_key_limits limits;
    sy_guard_refs guardrails;
} sy_client_key_cfg;

typedef struct sy_config {
    char *path; /* file this config was loaded from */
    char *text; /* the text it was parsed from (owned), for rebuilding with experiments */
    size_t text_len;
    sy_listen_cfg listen;
    sy_listen_cfg admin;
    int admin_enabled; /* 1 when an admin key is configured */
    uint8_t admin_key_sha256[32];
    unsigned workers;          /* default: number of online CPUs */
    char *data_dir;            /* default "./switchyard-data" */
    unsigned drain_timeout_ms; /* SIGTERM drain bound, default 10000 */
    sy_limits_cfg limits;
    sy_upstream_cfg upstream;
    sy_store_cfg store;
    sy_feedback_cfg feedback;
    sy_reliability_cfg reliability;
    sy_conversation_cfg conversations;
    sy_log_cfg log;
    sy_cluster_cfg cluster;
    sy_provider_cfg *providers;
    size_t n_providers;
    sy_model_cfg *models;
    size_t n_models;
    sy_route_cfg *routes;
    size_t n_routes;
    sy_client_key_cfg *client_keys;
    size_t n_client_keys;
    /* "guardrails": compiled once here (engine/guard/guard.h), owned */
    struct sy_guard **guardrails;
    size_t n_guardrails;
} sy_config;

/* Problems found while loading, one entry per problem, in document order. */
typedef struct sy_config_errors {
    char **items; /* "$.json.path: message" */
    size_t n;
} sy_config_errors;

/*
 * Parse and validate `text` (len bytes, need not be NUL-terminated). On success returns
 * a new config and leaves `errs` empty; on failure returns NULL and fills `errs` with
 * every problem found (not just the first). `errs` is an out-parameter: it is
 * overwritten (not appended to) and may be NULL to discard the messages; free it with
 * sy_config_errors_free() after every call. `path` is copied into cfg->path (may be
 * NULL, which cfg->path then is too). Provider keys are looked up with getenv() on
 * success.
 */
sy_config *sy_config_parse(const char *text, size_t len, const char *path, sy_config_errors *errs);

/* Read `path` and parse it; an unreadable file is reported as an error at path "$".
 * `errs` as for sy_config_parse(). */
sy_config *sy_config_load(const char *path, sy_config_errors *errs);

void sy_config_free(sy_config *cfg);

/*
 * One route block (what a config's "routes" maps a name to), for `switchyard sim`: the
 * models it may name are `arm_names`, and "candidates" defaults to all of them. Returns
 * the route (free with sy_route_cfg_free) or NULL with the problems in errs.
 */
sy_route_cfg *sy_route_block_parse(const char *text, size_t len, const char *const *arm_names,
                                   size_t n_arms, sy_config_errors *errs);
void sy_route_cfg_free(sy_route_cfg *r);
void sy_config_errors_free(sy_config_errors *errs);

/* Lookups by public name; NULL when absent. Models and routes share one namespace. */
const sy_model_cfg *sy_config_find_model(const sy_config *cfg, const char *name);
const sy_route_cfg *sy_config_find_route(const sy_config *cfg, const char *name);
/* 1 when the route's policy has the cache arm ("cache": {"mode": "arm"}): its arms are
 * the candidates, then the cache arm (index n_candidates). */
static inline int sy_route_has_cache_arm(const sy_route_cfg *r)
{
    return r->cache && r->cache->mode == SY_CACHE_MODE_ARM;
}
/* The route policy's arm count: its candidates, plus the cache arm when it has one. */
static inline size_t sy_route_n_arms(const sy_route_cfg *r)
{
    return r->n_candidates + (size_t)sy_route_has_cache_arm(r);
}
/* Index of guardrail `name` in cfg->guardrails, or -1. */
long sy_config_find_guardrail(const sy_config *cfg, const char *name);

const char *sy_dialect_name(sy_dialect d);

#endif
