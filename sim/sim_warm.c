#include "sim_warm.h"

#include "featurize.h"
#include "sy_common.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static int ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), m = strlen(suffix);
    return n >= m && strcmp(s + n - m, suffix) == 0;
}

/* A folder holding one of the RouteLLM files (read by sy_sim_load_routellm). */
static int is_routellm_dir(const char *path)
{
    static const char *const files[] = {"gsm8k_responses.csv", "mmlu", "mt_bench_judgements.jsonl"};
    for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
        char p[4096];
        struct stat st;
        if ((size_t)snprintf(p, sizeof(p), "%s/%s", path, files[i]) < sizeof(p) &&
            stat(p, &st) == 0)
            return 1;
    }
    return 0;
}

int sy_sim_warm_load(const char *path, char *const *arm_names, size_t n_arms, size_t dim,
                     double weight, sy_sim_warm *out, char *err, size_t err_len)
{
    return sy_sim_warm_load_alias(path, arm_names, NULL, n_arms, dim, weight, out, err, err_len);
}

int sy_sim_warm_load_alias(const char *path, char *const *arm_names, char *const *alt_names,
                           size_t n_arms, size_t dim, double weight, sy_sim_warm *out, char *err,
                           size_t err_len)
{
    sy_sim_dataset ds;
    memset(&ds, 0, sizeof(ds));
    int rc = ends_with(path, ".jsonl") ? sy_sim_load_jsonl(path, &ds, err, err_len)
             : is_routellm_dir(path)   ? sy_sim_load_routellm(path, &ds, err, err_len)
                                       : sy_sim_load_routerbench(&path, 1, &ds, err, err_len);
    if (rc == SY_OK)
        rc = sy_sim_warm_build_alias(&ds, arm_names, alt_names, n_arms, dim, weight, out, err,
                                     err_len);
    sy_sim_dataset_free(&ds);
    return rc;
}

int sy_sim_warm_build(const sy_sim_dataset *warm, char *const *arm_names, size_t n_arms, size_t dim,
                      double weight, sy_sim_warm *out, char *err, size_t err_len)
{
    return sy_sim_warm_build_alias(warm, arm_names, NULL, n_arms, dim, weight, out, err, err_len);
}

/* Index of the warm model named `name`, or -1. */
static long warm_arm(const sy_sim_dataset *warm, const char *name)
{
    for (size_t j = 0; name && j < warm->n_arms; j++)
        if (strcmp(name, warm->arm_names[j]) == 0)
            return (long)j;
    return -1;
}

/*
 * Rows × evaluated arms: the warm model of the same name (else of the alternative name) where it
 * has both a quality and a cost for the row (what makes an arm eligible in a dataset), NAN
 * elsewhere. The context of each row is featurised as the evaluated dataset's rows are (sim_run.c).
 */
int sy_sim_warm_build_alias(const sy_sim_dataset *warm, char *const *arm_names,
                            char *const *alt_names, size_t n_arms, size_t dim, double weight,
                            sy_sim_warm *out, char *err, size_t err_len)
{
    memset(out, 0, sizeof(*out));
    long map[SY_POLICY_MAX_ARMS]; /* evaluated arm -> warm arm */
    for (size_t k = 0; k < n_arms; k++) {
        map[k] = warm_arm(warm, arm_names[k]);
        if (map[k] < 0 && alt_names)
            map[k] = warm_arm(warm, alt_names[k]);
    }
    size_t n = warm->n;
    out->n = n;
    out->dim = dim;
    out->n_arms = n_arms;
    out->weight = weight;
    out->x = sy_xmalloc((n ? n : 1) * (dim ? dim : 1) * sizeof(double));
    out->quality = sy_xmalloc((n ? n : 1) * (n_arms ? n_arms : 1) * sizeof(double));
    out->cost = sy_xmalloc((n ? n : 1) * (n_arms ? n_arms : 1) * sizeof(double));
    size_t seen[SY_POLICY_MAX_ARMS] = {0};
    for (size_t i = 0; i < n; i++) {
        if (dim) {
            sy_feature_input fi = {.user_text = warm->text[i],
                                   .user_len = strlen(warm->text[i]),
                                   .prompt_bytes = warm->bytes[i],
                                   .turn = warm->turn[i]};
            if (sy_featurize(&fi, out->x + i * dim, dim) != SY_OK) {
                snprintf(err, err_len, "warm start: cannot featurize with dim %zu", dim);
                sy_sim_warm_free(out);
                return SY_ERR_INVALID;
            }
        }
        for (size_t k = 0; k < n_arms; k++) {
            long j = map[k];
            int ok = j >= 0 && sy_sim_dataset_eligible(warm, i, (size_t)j);
            out->quality[i * n_arms + k] = ok ? warm->quality[i * SY_SIM_STRIDE + j] : NAN;
            out->cost[i * n_arms + k] = ok ? warm->cost[i * SY_SIM_STRIDE + j] : NAN;
            seen[k] += ok;
        }
    }
    for (size_t k = 0; k < n_arms; k++)
        out->matched += seen[k] > 0;
    if (!out->matched) {
        snprintf(err, err_len, "warm start: no model of the warm data is a model of the route");
        sy_sim_warm_free(out);
        return SY_ERR_INVALID;
    }
    return SY_OK;
}

void sy_sim_warm_free(sy_sim_warm *w)
{
    sy_warm_data_free(w);
}

void sy_sim_warm_feed(const sy_sim_warm *w, sy_policy_state *st, int contextual)
{
    sy_warm_feed(w, st, contextual, NULL, 0);
}
