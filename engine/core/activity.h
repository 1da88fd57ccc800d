/*
 * activity: what the admin dashboard shows over time (docs/dashboard.md). Fed by the
 * learner on the store thread with every committed request and rating (the start-up
 * replay of the store included), it keeps, in memory:
 *   - per (route, model) series, time buckets of requests, errors, cost, latency,
 *     ratings and rephrases: 10-second buckets for the last hour and 1-minute buckets
 *     for the last day;
 *   - the last SY_ACTIVITY_RECENT decisions (context summary, chosen arm, propensity,
 *     outcome and the rating given since), newest last.
 * Nothing here runs on the request path: the workers never call it.
 *
 * Threads: sy_activity_observe() on the store thread only; the readers (admin handlers)
 * on any thread. One mutex guards the tables; it is held for a memory copy, never
 * across I/O.
 */
#ifndef SY_ACTIVITY_H
#define SY_ACTIVITY_H

#include "store.h"

#include <stddef.h>
#include <stdint.h>

#define SY_ACTIVITY_MAX_SERIES 128
#define SY_ACTIVITY_RECENT     4096
#define SY_ACTIVITY_DENSE      12 /* context features kept per decision (the dense ones) */
#define SY_ACTIVITY_FINE_S     10
#define SY_ACTIVITY_FINE_N     360 /* 10 s buckets: one hour */
#define SY_ACTIVITY_COARSE_S   60
#define SY_ACTIVITY_COARSE_N   1440 /* 1 min buckets: one day */

typedef struct sy_activity sy_activity;

/* One time bucket of one series (sums; the reader divides). */
typedef struct sy_activity_cell {
    double requests, errors, cost_usd, latency_ms_sum, ratings, rating_sum, rephrases;
} sy_activity_cell;

/* One series over the window asked for: n cells, oldest first. */
typedef struct sy_activity_series {
    char route[SY_STORE_NAME_MAX]; /* "" when the client named a model */
    char model[SY_STORE_NAME_MAX];
    sy_activity_cell *cells;
} sy_activity_series;

typedef struct sy_activity_window {
    uint64_t start_ms; /* the first bucket's start */
    unsigned step_s;
    size_t n_cells;
    sy_activity_series *series;
    size_t n_series;
} sy_activity_window;

/* One recent decision with its outcome and, once given, its rating. */
typedef struct sy_activity_decision {
    uint8_t id[16];
    uint64_t ts_ms;
    char key_name[64];
    char route[SY_STORE_NAME_MAX];
    char model[SY_STORE_NAME_MAX];
    char policy[32];
    double propensity; /* NAN when no policy chose */
    uint32_t n_candidates, dim;
    float dense[SY_ACTIVITY_DENSE]; /* the first min(dim, 12) context features */
    uint8_t conv[16];               /* all zero: none */
    char rule[64];
    char prompt[80];
    uint32_t prompt_version;
    char experiments[160]; /* "id:variant:allocation:…" as recorded (may be cut) */
    int32_t status;
    int stream;
    double latency_ms, ttft_ms, cost_usd;
    int64_t prompt_tokens, completion_tokens;
    char error[48];
    int rated; /* 0 none, 1 explicit rating, 2 implicit signal (a rephrase) */
    double rating;
} sy_activity_decision;

/* Which decisions to copy: every filter that is set must hold. */
typedef struct sy_activity_filter {
    const char *route;   /* the route or one of its experiment variants ("route~…"); NULL any */
    const uint8_t *conv; /* 16 bytes; NULL any */
} sy_activity_filter;

sy_activity *sy_activity_new(void);
void sy_activity_free(sy_activity *a);

/* One committed event (obs NULL: end of a batch, ignored). Events older than a day
 * before now_ms are not kept. Store thread only. */
void sy_activity_observe(sy_activity *a, const sy_store_obs *obs, uint64_t now_ms);

/*
 * The series of `route` (and its variants; NULL: every series) over the window_s
 * seconds ending with the bucket that holds now_ms, in step_s buckets. window_s must be
 * a multiple of step_s; step_s a multiple of 10 for windows up to an hour, else of 60;
 * window_s at most a day. Returns 0 and fills *out (free with sy_activity_window_free),
 * or -1 when the window is not one of those.
 */
int sy_activity_window_get(sy_activity *a, const char *route, uint64_t now_ms, unsigned window_s,
                           unsigned step_s, sy_activity_window *out);
void sy_activity_window_free(sy_activity_window *w);

/* Copy up to max decisions that pass f into out, newest first. Returns the count. */
size_t sy_activity_recent(sy_activity *a, const sy_activity_filter *f, sy_activity_decision *out,
                          size_t max);

/* Series that could not be kept (beyond SY_ACTIVITY_MAX_SERIES). */
uint64_t sy_activity_dropped(sy_activity *a);

#endif
