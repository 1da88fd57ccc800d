#include "nig.h"

#include <math.h>

void sy_nig_prior_make(sy_nig_prior *pr, double center, double spread, double strength)
{
    pr->m0 = center;
    pr->kappa0 = strength;
    pr->a0 = strength / 2;
    pr->b0 = pr->a0 * spread * spread;
}

void sy_nig_add(sy_nig_stats *s, double y, double w)
{
    s->n += w;
    s->s1 += w * y;
    s->s2 += w * y * y;
}

void sy_nig_scale(sy_nig_stats *s, double f)
{
    s->n *= f;
    s->s1 *= f;
    s->s2 *= f;
}

void sy_nig_posterior(const sy_nig_prior *pr, const sy_nig_stats *s, sy_nig_post *out)
{
    double n = s->n > 0 ? s->n : 0;
    double s1 = s->n > 0 ? s->s1 : 0;
    double s2 = s->n > 0 ? s->s2 : 0;
    out->kappa = pr->kappa0 + n;
    out->m = (pr->kappa0 * pr->m0 + s1) / out->kappa;
    out->a = pr->a0 + n / 2;
    double b = pr->b0 + 0.5 * (s2 + pr->kappa0 * pr->m0 * pr->m0 - out->kappa * out->m * out->m);
    out->b = b > pr->b0 ? b : pr->b0;
}

void sy_nig_lognormal_mean(const sy_nig_post *p, sy_lognormal_mean *out)
{
    double var = p->b / p->a;
    out->base = p->m + var / 2;
    out->sd = sqrt(var / p->kappa);
}

double sy_lognormal_expect(const sy_lognormal_mean *l)
{
    return exp(l->base + l->sd * l->sd / 2);
}
