#include "policy.h"

#include "sy_common.h"

#include <stdlib.h>

typedef enum { SY_POLICY_UNIFORM } sy_policy_kind;

struct sy_policy {
    sy_policy_kind kind;
};

sy_policy *sy_policy_new_uniform(void)
{
    sy_policy *p = sy_xcalloc(1, sizeof(*p));
    p->kind = SY_POLICY_UNIFORM;
    return p;
}

void sy_policy_free(sy_policy *p)
{
    free(p);
}

const char *sy_policy_name(const sy_policy *p)
{
    switch (p->kind) {
    case SY_POLICY_UNIFORM: return "uniform";
    }
    return "unknown";
}

/* Collect eligible arms into out->ranking in index order; returns how many. */
static size_t collect_eligible(const sy_decide_in *in, sy_decide_out *out)
{
    size_t n = 0;
    for (size_t a = 0; a < in->n_arms; a++)
        if (!in->eligible || in->eligible[a])
            out->ranking[n++] = a;
    return n;
}

/* A uniformly random permutation (Fisher-Yates): each arm leads with probability 1/n. */
static void decide_uniform(const sy_decide_in *in, sy_decide_out *out, size_t n)
{
    for (size_t i = n - 1; i > 0; i--) {
        size_t j = (size_t)gsl_rng_uniform_int(in->rng, i + 1);
        size_t t = out->ranking[i];
        out->ranking[i] = out->ranking[j];
        out->ranking[j] = t;
    }
    out->n_ranked = n;
    out->propensity = 1.0 / (double)n;
}

int sy_policy_decide(const sy_policy *p, const sy_decide_in *in, sy_decide_out *out)
{
    if (in->n_arms == 0 || in->n_arms > SY_POLICY_MAX_ARMS)
        return SY_ERR_INVALID;
    sy_decide_out tmp;
    size_t n = collect_eligible(in, &tmp);
    if (n == 0)
        return SY_ERR_INVALID;
    switch (p->kind) {
    case SY_POLICY_UNIFORM: decide_uniform(in, &tmp, n); break;
    }
    *out = tmp;
    return SY_OK;
}
