/*
 * sim_data: the simulator's inputs (DESIGN.md §10, docs/simulator.md).
 *
 * A full-information dataset is a table of prompts × arms: for every prompt the outcome
 * of every arm (quality in [0,1], cost in USD, optionally latency and output tokens).
 * Missing cells are NAN, never zero: an arm whose quality or cost is missing for a prompt
 * is not eligible for it, and a prompt no arm can serve is dropped (counted in `dropped`).
 * Loaders exist for the RouterBench CSV schema, the RouteLLM files and the generic JSONL
 * format documented in docs/simulator.md. Every loader returns SY_OK or an error code
 * with a message naming the file and line in `err`; nothing here exits or prints.
 *
 * A log is what a deployed policy saw: per event the context vector, the arm chosen,
 * the propensity it was chosen with and what was observed. Loaders exist for the JSONL of
 * `switchyard export` and for the Open Bandit Dataset CSV.
 */
#ifndef SY_SIM_DATA_H
#define SY_SIM_DATA_H

#include "policy_params.h"

#include <stddef.h>

#define SY_SIM_STRIDE SY_POLICY_MAX_ARMS /* row stride of the per-arm tables */

typedef struct sy_sim_dataset {
    char *name;
    size_t n_arms;
    char *arm_names[SY_POLICY_MAX_ARMS];
    size_t n, cap; /* prompts */
    char **text;   /* prompt (latest user message) */
    char **task;   /* task label, for reports only (never shown to a policy); may be NULL */
    unsigned *turn;
    size_t
        *bytes; /* total prompt bytes (all turns); the text's length unless a loader knows more */
    double *quality; /* n × SY_SIM_STRIDE; NAN = missing */
    double *cost;    /* USD; NAN = missing */
    double *latency; /* seconds; NAN = not given */
    double *tokens;  /* output tokens; NAN = not given */
    size_t dropped;  /* prompts dropped because no arm had both quality and cost */
} sy_sim_dataset;

void sy_sim_dataset_free(sy_sim_dataset *ds);
/* Index of an arm by name, adding it when `add` (SY_ERR_LIMIT past SY_POLICY_MAX_ARMS);
 * SY_ERR_NOTFOUND when absent and not added. */
int sy_sim_dataset_arm(sy_sim_dataset *ds, const char *name, int add);
/* Append a prompt with every cell missing; returns its row. */
size_t sy_sim_dataset_add_row(sy_sim_dataset *ds, const char *text, size_t len, const char *task,
                              unsigned turn);
/* 1 if arm k can serve row i (quality and cost known). */
int sy_sim_dataset_eligible(const sy_sim_dataset *ds, size_t i, size_t k);
/* Drop rows no arm can serve; returns how many went. */
size_t sy_sim_dataset_compact(sy_sim_dataset *ds);

/*
 * RouterBench stores each prompt as a Python list literal of its turns ("['...', '...']"
 * with backslash escapes). Decode it: *latest gets the last turn (caller frees), *total the
 * bytes of all turns. Returns 0, or -1 when the text is not such a literal.
 */
int sy_sim_decode_pylist(const char *s, size_t n, char **latest, size_t *latest_len, size_t *total);

/* RouterBench: one or more CSV files with the RouterBench columns (a directory path
 * means every *.csv in it, in name order). All files must name the same models. */
int sy_sim_load_routerbench(const char *const *paths, size_t n_paths, sy_sim_dataset *ds, char *err,
                            size_t err_len);
/* The same from memory (fuzzing, tests): one RouterBench file's text (`path` names it in
 * messages; `first` = it defines the models), and a NUL-terminated JSONL text. The
 * caller compacts the RouterBench dataset (sy_sim_dataset_compact). */
int sy_sim_parse_routerbench(const char *text, size_t len, const char *path, int first,
                             sy_sim_dataset *ds, char *err, size_t err_len);
int sy_sim_parse_jsonl(const char *text, const char *path, sy_sim_dataset *ds, char *err,
                       size_t err_len);
/* RouteLLM: gsm8k_responses.csv, mmlu/ *.csv and mt_bench_{questions,judgements}.jsonl
 * under dir (whichever are present, at least one), priced by the table in sim_data.c. */
int sy_sim_load_routellm(const char *dir, sy_sim_dataset *ds, char *err, size_t err_len);
/* The generic full-information JSONL (docs/simulator.md). */
int sy_sim_load_jsonl(const char *path, sy_sim_dataset *ds, char *err, size_t err_len);

/* RouteLLM's price table (USD per million tokens) and token estimate. */
typedef struct sy_sim_price {
    const char *model;
    double input, output;
} sy_sim_price;
extern const sy_sim_price sy_sim_routellm_prices[];
extern const size_t sy_sim_routellm_n_prices;
double sy_sim_estimate_tokens(size_t bytes); /* bytes / 4, at least 1 */

/* ---- logged data ---------------------------------------------------------------- */

typedef struct sy_sim_log {
    size_t n_arms;
    char *arm_names[SY_POLICY_MAX_ARMS];
    size_t dim; /* context length (0 = none logged) */
    size_t n, cap;
    size_t *arm;
    double *propensity; /* P(logged arm | context) under the logging policy */
    double *quality;    /* rating / click; NAN = none */
    double *cost;       /* USD; NAN = unknown (counted as 0) */
    double *latency;    /* seconds; NAN = unknown (counted as 0) */
    double *x;          /* n × dim */
    unsigned *slot;     /* OBD position (0 when not applicable) */
    size_t skipped;     /* lines not usable (no propensity, failed request, ...) */
} sy_sim_log;

void sy_sim_log_free(sy_sim_log *lg);
/* `switchyard export` JSONL. `route` selects one route (NULL: the log must hold one).
 * Requests without a propensity, without a successful outcome or (when need_rating)
 * without feedback are skipped and counted. */
int sy_sim_load_export(const char *path, const char *route, int need_rating, sy_sim_log *lg,
                       char *err, size_t err_len);
/* Drop the events without a rating (quality NAN), counting them as skipped; returns how
 * many went. For objectives that value quality. */
size_t sy_sim_log_require_quality(sy_sim_log *lg);
/* Open Bandit Dataset CSV (item_id, position, click, propensity_score, user features):
 * arms = items, quality = click, context = bias + hashed user features (dim 24). */
int sy_sim_load_obd(const char *path, sy_sim_log *lg, char *err, size_t err_len);

#endif
