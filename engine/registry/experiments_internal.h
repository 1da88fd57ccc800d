/*
 * experiments_internal: what the files of the experiment registry share (private to
 * engine/registry/): the definition checks (exp_definition.c), building the served
 * configuration from the documents (exp_merge.c), and reading members of JSON documents.
 */
#ifndef SY_EXPERIMENTS_INTERNAL_H
#define SY_EXPERIMENTS_INTERNAL_H

#include "experiments.h"

#include <cjson/cJSON.h>

#define DEFAULT_UNIT_HEADER "x-switchyard-user"

/* A string member of obj, or dflt when it is missing or not a string. */
static inline const char *str_or(const cJSON *obj, const char *key, const char *dflt)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
    return cJSON_IsString(v) ? v->valuestring : dflt;
}

/* A number member of obj, or dflt when it is missing or not a number. */
static inline double num_or(const cJSON *obj, const char *key, double dflt)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
    return cJSON_IsNumber(v) ? v->valuedouble : dflt;
}

/* The layer an experiment's buckets are taken from: its "layer", else its own id. */
static inline const char *layer_of(const cJSON *def)
{
    return str_or(def, "layer", str_or(def, "id", ""));
}

/* exp_definition.c */
/* An experiment, variant, layer or prompt id: 1-63 letters, digits, '_', '-' or '.', and
 * not "." or "..". */
int sy_exp_valid_id(const char *s);
/* Fill an admin reply with an error status, the offending parameter and a message. */
void sy_exp_reply_error(sy_exp_reply *out, int status, const char *param, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* Check a definition's shape (routes and models are checked by the merge). Returns 0, or
 * -1 with the offending field in param and a static message in *why. */
int sy_exp_def_check(const cJSON *def, char *param, size_t plen, const char **why);

/* exp_merge.c */
/* The configuration served while the experiments of `docs` run: file_cfg with one hidden
 * route per variant, and the workers' assignment table (see sy_exp_build_config). */
sy_config *sy_exp_build_from_docs(const cJSON *docs, const sy_config *file_cfg, const cJSON *extra,
                                  sy_exp_table **table_out, sy_buf *errors);

#endif
