/* assign: see assign.h. */
#include "assign.h"

#include <math.h>

uint64_t sy_exp_hash(const char *salt, const void *unit, size_t unit_len)
{
    uint64_t h = 0xcbf29ce484222325ull; /* FNV-1a offset basis */
    for (const unsigned char *p = (const unsigned char *)salt; *p; p++)
        h = (h ^ *p) * 0x100000001b3ull;
    h = (h ^ 0) * 0x100000001b3ull; /* separator: ("ab","c") differs from ("a","bc") */
    const unsigned char *u = unit;
    for (size_t i = 0; i < unit_len; i++)
        h = (h ^ u[i]) * 0x100000001b3ull;
    h ^= h >> 30; /* splitmix64 finaliser */
    h *= 0xbf58476d1ce4e5b9ull;
    h ^= h >> 27;
    h *= 0x94d049bb133111ebull;
    h ^= h >> 31;
    return h;
}

unsigned sy_exp_bucket(const char *salt, const void *unit, size_t unit_len)
{
    return (unsigned)(sy_exp_hash(salt, unit, unit_len) % SY_EXP_BUCKETS);
}

size_t sy_exp_pick(const double *weights, size_t k, unsigned bucket)
{
    double total = 0, cum = 0;
    for (size_t i = 0; i < k; i++)
        total += weights[i] > 0 ? weights[i] : 0;
    if (k == 0 || total <= 0)
        return 0;
    for (size_t i = 0; i < k; i++) {
        cum += weights[i] > 0 ? weights[i] : 0;
        if (bucket < (unsigned)lround(SY_EXP_BUCKETS * cum / total))
            return i;
    }
    return k - 1;
}
