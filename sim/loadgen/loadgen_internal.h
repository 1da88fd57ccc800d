/*
 * loadgen_internal: what the files of `switchyard loadgen` share.
 *   cmd_loadgen.c    command line, user threads, the request loop
 *   loadgen_mix.c    the prompt mix file and each prompt's hidden qualities
 *   loadgen_stats.c  counters per model and per kind of prompt, progress lines, summary
 *   loadgen_http.c   one blocking HTTP exchange with libcurl, response headers
 * Ownership: the command owns the mix (read-only once loaded, so user threads read it
 * without a lock) and the stats (mutated only under the command's lock).
 */
#ifndef SY_LOADGEN_INTERNAL_H
#define SY_LOADGEN_INTERNAL_H

#include "sy_common.h"

#include <cjson/cJSON.h>
#include <curl/curl.h>
#include <stdint.h>
#include <stdio.h>

#define LG_MAX_MODELS 32
#define LG_MAX_KINDS  64
#define LG_MAX_MIX    1000000 /* prompts in a mix file */

/* ---- loadgen_http.c */

typedef struct lg_resp {
    sy_buf body;
    char model[128];    /* x-switchyard-model: the gateway's model that answered */
    char upstream[128]; /* x-switchyard-upstream-model: the provider's model name */
    char request_id[64];
    char token[64]; /* x-switchyard-feedback-token */
    double cost;    /* x-switchyard-cost-usd */
} lg_resp;

/* POST body to url (GET when body is NULL) with an optional bearer key and feedback
 * token; fills r (the caller frees r->body). Returns the HTTP status, or -1 when no
 * response arrived. */
long lg_http(CURL *h, const char *url, const char *auth, const char *token, const char *body,
             lg_resp *r);

/* ---- loadgen_mix.c */

typedef struct lg_prompt {
    char *text;       /* the user message */
    char *system;     /* optional system message, NULL for none */
    int kind;         /* index into lg_mix.kinds */
    cJSON *outcomes;  /* the line's {"<model>": {"quality": q} | q}, or NULL */
    cJSON *qualities; /* fake-provider's {"models": {...}, "default": q}, or NULL */
} lg_prompt;

typedef struct lg_mix {
    lg_prompt *p;
    size_t n;
    char *kinds[LG_MAX_KINDS];     /* in order of first appearance */
    int kind_tagged[LG_MAX_KINDS]; /* the kind came from the file (sent to the fake as tag) */
    size_t n_kinds;
    size_t n_without_outcomes; /* lines that need fake-provider's qualities */
} lg_mix;

/* Read a JSONL mix (docs/simulator.md): one {"prompt", "kind" (or "task"), "system",
 * "outcomes"} object per line, blank lines skipped. On failure returns -1 with a message
 * naming the line in err, and *mix is left empty. */
int lg_mix_load(const char *path, lg_mix *mix, sy_buf *err);

/* Ask fake-provider (POST /_fake/quality) for every prompt's hidden quality per model,
 * tagged with its kind. Returns 0, or -1 with a message in err. */
int lg_mix_fetch_qualities(lg_mix *mix, const char *fake_url, sy_buf *err);

/*
 * The hidden quality of an answer to prompt p: the line's outcome for the upstream
 * model, else for the gateway model, else fake-provider's quality for the upstream
 * model (its default when it lists none by that name). -1 when nothing knows.
 */
double lg_mix_quality(const lg_prompt *p, const char *upstream, const char *model);

void lg_mix_free(lg_mix *mix);

/* ---- loadgen_stats.c */

typedef struct lg_model {
    char name[128];      /* the gateway model (x-switchyard-model) */
    double base_quality; /* GET /_fake/quality of its upstream, -1 if unknown */
    uint64_t requests, errors, ups, rated;
    double cost_usd;
} lg_model;

/* A ring of the model indices of the last `cap` answers, plus the first `cap`. */
typedef struct lg_window {
    int *last, *first;
    long cap, n;
} lg_window;

typedef struct lg_kind {
    uint64_t requests;
    uint64_t served[LG_MAX_MODELS], ups[LG_MAX_MODELS], rated[LG_MAX_MODELS];
    double quality_sum[LG_MAX_MODELS]; /* hidden quality of the answers served */
    uint64_t quality_n[LG_MAX_MODELS];
    lg_window win;
} lg_kind;

typedef struct lg_stats {
    lg_model models[LG_MAX_MODELS];
    size_t n_models;
    lg_window win; /* every answer */
    lg_kind *kinds;
    const lg_mix *mix; /* kind names; NULL without a mix */
    long done;
} lg_stats;

void lg_stats_init(lg_stats *st, long window, const lg_mix *mix);
void lg_stats_free(lg_stats *st);
/* The model's slot (created with base_quality on first sight); -1 when full. */
int lg_stats_model(lg_stats *st, const char *name, double base_quality);
/* One answer from model slot m to a prompt of the kind (-1 without a mix). */
void lg_stats_served(lg_stats *st, int kind, int m, long status, double cost);
/* Its hidden quality (q < 0: unknown) and its rating (up < 0: not rated). */
void lg_stats_rated(lg_stats *st, int kind, int m, double q, int up);
/* One progress line, and one per kind of prompt with a mix. */
void lg_stats_report(const lg_stats *st, FILE *out);
/* The summary as one JSON object (docs/simulator.md). */
void lg_stats_summary(const lg_stats *st, FILE *out);

#endif
