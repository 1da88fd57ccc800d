/*
 * cache_arm: the cache arm's features, eligibility and parameters (cache_arm.h).
 */
#include "cache_arm.h"

#include "sy_common.h"

#include <math.h>

void sy_cache_arm_features(const sy_cache_candidate *c, const double *plain, double *f)
{
    for (size_t i = 0; i < SY_CACHE_ARM_FEATURES; i++)
        f[i] = 0;
    if (!c || !c->has || !isfinite(c->similarity))
        return;
    double s = c->similarity < 0 ? 0 : c->similarity > 1 ? 1 : c->similarity, tau = c->tau;
    f[0] = s;
    if (tau >= 0 && tau < 1 && s > tau)
        f[1] = (s - tau) / (1 - tau);
    f[2] = s >= SY_CACHE_ARM_EXACT ? 1 : 0;
    double n = c->rating_n, r = c->rating_sum;
    if (isfinite(n) && isfinite(r) && n > 0) {
        r = r < 0 ? 0 : r > n ? n : r;
        f[3] = n / (n + SY_CACHE_ARM_PRIOR_N);
        f[4] = (r - SY_CACHE_ARM_PRIOR_MEAN * n) / (n + SY_CACHE_ARM_PRIOR_N);
    }
    if (!plain)
        return;
    static const size_t flag[] = {SY_F_CODE, SY_F_MATH, SY_F_CHOICE};
    for (size_t j = 0; j < SY_ARRAY_LEN(flag); j++) {
        double on = plain[flag[j]] != 0 ? 1 : 0;
        f[5 + 2 * j] = f[0] * on;
        f[6 + 2 * j] = f[1] * on;
    }
}

int sy_cache_arm_featurize(const sy_feature_input *in, const sy_cache_candidate *c, double *x,
                           size_t dim)
{
    if (dim <= SY_FEATURE_DENSE + SY_CACHE_ARM_FEATURES)
        return SY_ERR_INVALID;
    size_t base = dim - SY_CACHE_ARM_FEATURES;
    int rc = sy_featurize(in, x, base);
    if (rc != SY_OK)
        return rc;
    sy_cache_arm_features(c, x, x + base);
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
