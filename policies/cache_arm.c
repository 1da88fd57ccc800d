/*
 * cache_arm: the cache arm's features, eligibility and parameters (cache_arm.h).
 */
#include "cache_arm.h"

#include "sy_common.h"

#include <math.h>

void sy_cache_arm_features(int has_candidate, double similarity, double tau, double *f)
{
    f[0] = f[1] = f[2] = 0;
    if (!has_candidate || !isfinite(similarity))
        return;
    double s = similarity < 0 ? 0 : similarity > 1 ? 1 : similarity;
    f[0] = s;
    if (tau >= 0 && tau < 1 && s > tau)
        f[1] = (s - tau) / (1 - tau);
    f[2] = s >= SY_CACHE_ARM_EXACT ? 1 : 0;
}

int sy_cache_arm_featurize(const sy_feature_input *in, int has_candidate, double similarity,
                           double tau, double *x, size_t dim)
{
    if (dim <= SY_FEATURE_DENSE + SY_CACHE_ARM_FEATURES)
        return SY_ERR_INVALID;
    size_t base = dim - SY_CACHE_ARM_FEATURES;
    int rc = sy_featurize(in, x, base);
    if (rc != SY_OK)
        return rc;
    sy_cache_arm_features(has_candidate, similarity, tau, x + base);
    return SY_OK;
}

void sy_cache_arm_eligible(uint8_t *eligible, size_t cache_arm, int has_candidate)
{
    eligible[cache_arm] = has_candidate ? 1 : 0;
}

void sy_cache_arm_params(sy_arm_params *ap)
{
    sy_arm_params_init(ap);
    ap->price_in_per_mtok = 0;
    ap->price_out_per_mtok = 0;
    /* priced at 0, not learned: a learned cost is a log-normal posterior whose mean stays
     * slightly above 0, and such a tiny cost would drag the relative objective's scale
     * (the geometric mean of the arms' positive costs) towards 0 */
    ap->cost_model = SY_COST_PRICED;
}
