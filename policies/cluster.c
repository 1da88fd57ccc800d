#include "cluster.h"

#include "featurize.h"

#include <stdint.h>

/* splitmix64 finaliser: slots of distinct keys spread evenly. */
static uint64_t mix(uint64_t h)
{
    h ^= h >> 30;
    h *= 0xbf58476d1ce4e5b9ULL;
    h ^= h >> 27;
    h *= 0x94d049bb133111ebULL;
    h ^= h >> 31;
    return h;
}

/* Format bits from the dense flags (see featurize.h); the level-2 key adds the length
 * class of the latest user message (x[SY_F_LOG_USER] = ln(1 + bytes) / 10). */
void sy_cluster_slots(const double *x, size_t dim, size_t slot[SY_CLUSTER_LEVELS])
{
    static const int flags[] = {SY_F_CODE,  SY_F_MATH,      SY_F_CHOICE, SY_F_MANY_CHOICES,
                                SY_F_TOOLS, SY_F_NON_LATIN, SY_F_SYSTEM};
    uint64_t key = 0;
    for (size_t i = 0; i < sizeof(flags) / sizeof(flags[0]); i++)
        if ((size_t)flags[i] < dim && x[flags[i]] > 0.5)
            key |= 1ull << i;
    if (dim > SY_F_TURN && x[SY_F_TURN] > 0)
        key |= 1ull << 7;
    double lu = dim > SY_F_LOG_USER ? x[SY_F_LOG_USER] * 10 : 0; /* ln(1 + bytes) */
    uint64_t len = lu < 5.55 ? 0 : lu < 8.32 ? 1 : 2;            /* 256 B, 4 KiB */
    slot[0] = (size_t)(mix(key + 1) % SY_CLUSTER_SLOTS);
    slot[1] = (size_t)(mix((key | len << 8) + 0x9e3779b97f4a7c15ULL) % SY_CLUSTER_SLOTS);
}

void sy_cluster_beta(double alpha0, double beta0, const double *cl, const size_t *slot, double pool,
                     double *alpha, double *beta)
{
    double a = alpha0, b = beta0;
    for (size_t lv = 0; lv < SY_CLUSTER_LEVELS; lv++) {
        const double *c = cl + 2 * (lv * SY_CLUSTER_SLOTS + slot[lv]);
        double n = c[0] > 0 ? c[0] : 0;
        double s = c[1] < 0 ? 0 : c[1] > n ? n : c[1];
        double m = a + b < pool ? a + b : pool, mean = a / (a + b);
        a = m * mean + s;
        b = m * (1 - mean) + (n - s);
        if (a < 1e-3)
            a = 1e-3;
        if (b < 1e-3)
            b = 1e-3;
    }
    *alpha = a;
    *beta = b;
}
