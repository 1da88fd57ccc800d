/*
 * fake_scenario: the pure half of `switchyard fake-provider` — scenario parsing, the
 * per-request plan (which fault fires, how long to wait, how fast to stream), generated
 * content and token counting. No sockets, no clocks, no global state: the server
 * (fake_provider.c) passes in the random generators and applies the plan with timers.
 *
 * Determinism contract: every chat request consumes exactly one uniform draw from the
 * fault generator and exactly two draws from the latency generator (latency and TTFT,
 * whatever their distributions), so given a seed, request order alone decides which
 * requests fail and how long each one waits. The scenario format is documented in
 * docs/fake-provider.md.
 */
#ifndef SY_FAKE_SCENARIO_H
#define SY_FAKE_SCENARIO_H

#include "sy_common.h"

#include <gsl/gsl_rng.h>
#include <stddef.h>
#include <stdint.h>

/* Injected faults. Names (fp_fault_name) are the scenario's and x-fake-error's values. */
typedef enum fp_fault {
    FP_FAULT_NONE = 0,
    FP_FAULT_HTTP_400,
    FP_FAULT_HTTP_429,
    FP_FAULT_HTTP_429_QUOTA,
    FP_FAULT_HTTP_500,
    FP_FAULT_HTTP_503,
    FP_FAULT_HTTP_529,
    FP_FAULT_RESET,
    FP_FAULT_STALL,
    FP_FAULT_MALFORMED_JSON,
    FP_FAULT_CUT_STREAM,
    FP_FAULT_ERROR_EVENT, /* stream: an in-band error event after after_tokens; else 500 */
    FP_FAULT_COUNT
} fp_fault;

const char *fp_fault_name(fp_fault f);               /* "none" for FP_FAULT_NONE */
int fp_fault_parse(const char *name, fp_fault *out); /* 0 or SY_ERR_INVALID */
int fp_fault_is_http(fp_fault f);                    /* one of the http_* kinds */
void fp_fault_list(sy_buf *b); /* the kinds' names, comma-separated, for error messages */

#define FP_DEFAULT_RETRY_AFTER 1           /* seconds, http_429 only */
#define FP_MAX_COUNT           100000000.0 /* token counts and the like */

/* Replace err with "path: message" (just the message when path is empty); returns
 * SY_ERR_INVALID. Shared by scenario parsing and the x-fake-* header parser. */
int fp_bad(sy_buf *err, const char *path, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

typedef enum fp_dist_kind { FP_DIST_FIXED, FP_DIST_UNIFORM, FP_DIST_LOGNORMAL } fp_dist_kind;

/* A non-negative duration distribution in milliseconds. */
typedef struct fp_dist {
    fp_dist_kind kind;
    double a; /* fixed: value; uniform: min; lognormal: median */
    double b; /* uniform: max; lognormal: sigma (of the log) */
} fp_dist;

typedef enum fp_content_mode {
    FP_CONTENT_LOREM,
    FP_CONTENT_CANNED,
    FP_CONTENT_ECHO
} fp_content_mode;

typedef struct fp_error_rule {
    fp_fault kind;
    double rate;       /* probability per request, in [0,1] */
    int retry_after_s; /* Retry-After header value; -1 = no header */
    long after_tokens; /* stream faults: content tokens sent before the fault fires */
} fp_error_rule;

/* Prompt formats a quality rule can ask for, judged by the router's own detectors
 * (policies/featurize.h), so a format rule matches exactly what the router can see. */
typedef enum fp_format {
    FP_FORMAT_CODE = 1u << 0,      /* sy_text_has_code */
    FP_FORMAT_MATH = 1u << 1,      /* sy_text_has_math */
    FP_FORMAT_CHOICE = 1u << 2,    /* sy_text_has_choices: lines starting A) and B) */
    FP_FORMAT_NON_LATIN = 1u << 3, /* sy_text_is_non_latin */
    FP_FORMAT_LAST = FP_FORMAT_NON_LATIN
} fp_format;

/* A format's name ("code", "math", "choice", "non_latin") → its bit; 0 when unknown. */
unsigned fp_format_parse(const char *name);
/* The name of one format bit ("" for anything else). */
const char *fp_format_name(unsigned bit);

/*
 * One prompt-dependent quality: `quality` applies to a prompt when every condition the
 * rule states holds — its tag is one of `tags`, its text contains one of `contains`
 * (ASCII case-insensitive), it has one of the `formats`. A list left out (n = 0,
 * formats = 0) is no condition. A prompt without a tag never matches a tag condition.
 */
typedef struct fp_quality_rule {
    char **tags; /* owned strings */
    size_t n_tags;
    char **contains; /* owned strings, non-empty */
    size_t n_contains;
    unsigned formats; /* fp_format bits; 0 = any */
    double quality;
} fp_quality_rule;

/* How an embedding model turns text into a vector (fake_embed.c). */
typedef enum fp_embedding {
    FP_EMBED_RANDOM = 0, /* a random unit vector seeded by the text: no meaning */
    FP_EMBED_LEXICAL,    /* fake_lexical.h: shared words give close vectors */
} fp_embedding;

/* One model's behaviour; every field is always set (missing ones come from "defaults"). */
typedef struct fp_model {
    char *name; /* NULL for the defaults entry */
    fp_dist latency;
    fp_dist ttft;
    double tokens_per_second; /* 0 = unpaced */
    fp_content_mode content_mode;
    char *content_text;  /* canned text (owned), NULL otherwise */
    long content_tokens; /* lorem length */
    long chunk_tokens;   /* >= 1 */
    long cached_tokens;
    long cache_write_tokens; /* prompt tokens reported as written to a cache (Anthropic) */
    double quality;          /* hidden quality when no rule matches */
    fp_quality_rule *qrules; /* owned; first match wins (fp_quality_for) */
    size_t n_qrules;
    fp_error_rule *errors; /* owned */
    size_t n_errors;
    fp_embedding embedding; /* /v1/embeddings only */
} fp_model;

typedef struct fp_scenario {
    int has_seed;
    uint64_t seed;
    char *api_key; /* NULL = no authentication */
    fp_model defaults;
    fp_model *models; /* owned; n_models == 0 means "accept every model name" */
    size_t n_models;
} fp_scenario;

/*
 * Parse and validate a scenario document. On success *out owns a new scenario (free it
 * with fp_scenario_free) and 0 is returned. On failure returns SY_ERR_INVALID, leaves
 * *out NULL and writes one message to err naming the JSON path ("models.fast.errors[1].
 * rate: ...").
 */
int fp_scenario_parse(const char *json, size_t len, fp_scenario **out, sy_buf *err);

/* The scenario used without --scenario: no key, no models listed, built-in defaults. */
fp_scenario *fp_scenario_new_default(void);

void fp_scenario_free(fp_scenario *s);

/*
 * The behaviour for a requested model name: the listed model, or the defaults when the
 * scenario lists no models. NULL when models are listed and name is not among them
 * (the caller answers 404 model_not_found). The pointer lives as long as the scenario.
 */
const fp_model *fp_scenario_lookup(const fp_scenario *s, const char *name);

/* Draw one duration in ms (always >= 0). Consumes exactly one uniform draw whatever the
 * distribution (lognormal uses the inverse normal CDF), so switching a model from fixed
 * to lognormal does not shift the draws of later requests. */
double fp_dist_sample(const fp_dist *d, gsl_rng *rng);

/*
 * The rule hit by uniform draw u in [0,1): rules occupy consecutive bands of width
 * rate in list order; NULL when u falls past the last band (no fault).
 */
const fp_error_rule *fp_pick_error(const fp_error_rule *rules, size_t n, double u);

/* Per-request overrides taken from x-fake-* headers (see fp_overrides_parse). */
typedef struct fp_overrides {
    int has_fault;
    fp_fault fault;
    int has_latency;
    double latency_ms;
    long tokens; /* -1 = not given */
    int has_tps;
    double tps;
    long after_tokens; /* -1 = not given */
} fp_overrides;

/*
 * Fill ov from the header values (NULL = header absent): x-fake-error, x-fake-latency-ms,
 * x-fake-tokens, x-fake-tps, x-fake-after-tokens. Returns 0, or SY_ERR_INVALID with a
 * message in err naming the header.
 */
int fp_overrides_parse(const char *error, const char *latency_ms, const char *tokens,
                       const char *tps, const char *after_tokens, fp_overrides *ov, sy_buf *err);

/* What the server does with one chat request. */
typedef struct fp_plan {
    fp_fault fault;
    int retry_after_s;       /* -1 = no Retry-After header */
    long after_tokens;       /* for stall/cut_stream/malformed_json on streams */
    double delay_ms;         /* wait before the response starts: latency (non-stream) or TTFT */
    double tps;              /* stream pacing, 0 = unpaced */
    long chunk_tokens;       /* content tokens per stream chunk */
    long tokens;             /* forced response length, -1 = from the content mode */
    long cached_tokens;      /* configured; the caller caps it at prompt_tokens */
    long cache_write_tokens; /* configured; capped at what the prompt has left */
} fp_plan;

/*
 * Decide a request's plan. Draws exactly one uniform from fault_rng (even when the
 * fault is forced or the model has no error rules) and exactly two values from
 * latency_rng (latency then TTFT), so decisions depend only on seed and request order.
 * A forced fault takes retry_after_s / after_tokens from the model's first rule of the
 * same kind, else the built-in defaults (Retry-After 1 s for http_429, none otherwise;
 * after_tokens 0); x-fake-after-tokens overrides after_tokens either way.
 */
void fp_plan_make(const fp_model *m, int stream, const fp_overrides *ov, gsl_rng *fault_rng,
                  gsl_rng *latency_rng, fp_plan *out);

/* Generated response text split into tokens: token i is text[ends[i-1] .. ends[i]). */
typedef struct fp_text {
    sy_buf text;
    size_t *ends;
    size_t n;
    size_t cap;
} fp_text;

void fp_text_free(fp_text *t);
/* Bytes of token i and its start. */
static inline const char *fp_text_token(const fp_text *t, size_t i, size_t *len)
{
    size_t start = i ? t->ends[i - 1] : 0;
    *len = t->ends[i] - start;
    return t->text.data + start;
}

/*
 * Split s into tokens: each token is a run of whitespace followed by a run of
 * non-whitespace ("Hello", " world", "!\n" stays with its word); trailing whitespace
 * joins the last token. Appends to out.
 */
void fp_tokenize(const char *s, size_t len, fp_text *out);

/*
 * Build the response text for a request. The base sequence comes from the content mode
 * (canned text, the echoed last user message, or `content_tokens` lorem-ipsum words);
 * `forced` >= 0 (x-fake-tokens) sets the length by truncating or cycling the base
 * (lorem when the base is empty). Then `max_tokens` >= 0 (the request's limit) caps the
 * length and sets *truncated. out must be zeroed; the caller frees it.
 */
void fp_content_build(const fp_model *m, const char *echo, size_t echo_len, long forced,
                      long max_tokens, fp_text *out, int *truncated);

/* Prompt tokens from the byte count of all message text: ceil(bytes / 4), at least 1. */
long fp_prompt_tokens(size_t text_bytes);

/* Longest query (bytes of the echoed user text) put into a tool call's arguments. */
#define FP_TOOL_QUERY_MAX 64

/*
 * Decide whether a chat request is answered with a tool call instead of text: it is
 * when the request offers tools (tool_name, the first offered tool's name, is not NULL)
 * and its last message is not a tool result. Then appends the call's arguments to args
 * and returns 1: the JSON object {"query":"<q>"}, q being echo (the last user message)
 * cut to at most FP_TOOL_QUERY_MAX bytes at a UTF-8 character boundary, JSON-escaped.
 * Otherwise returns 0 and leaves args alone. Pure: no draws, so tool calls never shift
 * the fault and latency sequences.
 */
int fp_tool_call_args(const char *tool_name, int last_is_tool_result, const char *echo,
                      size_t echo_len, sy_buf *args);

/*
 * The id of the tool call answering request number seq (the stats' "seq") under seed:
 * "call_" and 24 lower-case hex digits, a hash of both, so it is reproducible from the
 * seed and request order and distinct between requests. out must hold 30 bytes.
 */
void fp_tool_call_id(uint64_t seed, uint64_t seq, char *out, size_t cap);

/* Seed the two generators used by fp_plan_make (fault: seed; latency: seed + 1). */
void fp_rng_seed(gsl_rng *fault_rng, gsl_rng *latency_rng, uint64_t seed);

#endif
