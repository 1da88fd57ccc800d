#include "policy_internal.h"

#include "discount.h"
#include "sy_common.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

int sy_policy_state_new(const sy_policy_params *params, sy_policy_state **out)
{
    if (sy_policy_params_check(params) != SY_OK)
        return SY_ERR_INVALID;
    sy_policy_state *st = sy_xcalloc(1, sizeof(*st));
    st->params = *params;
    st->arms = sy_xcalloc(params->n_arms, sizeof(*st->arms));
    st->stats = sy_xcalloc(params->n_arms, sizeof(*st->stats));
    for (size_t k = 0; k < params->n_arms; k++) {
        if (params->arms)
            st->arms[k] = params->arms[k];
        else
            sy_arm_params_init(&st->arms[k]);
        sy_arm_stats_init(&st->stats[k], params->dim);
    }
    st->params.arms = st->arms;
    if (params->dim) {
        size_t np = sy_linreg_packed_len(params->dim);
        st->memo = sy_xcalloc(params->n_arms, sizeof(*st->memo));
        for (size_t k = 0; k < params->n_arms; k++) {
            st->memo[k].sums = sy_xcalloc(params->dim + np, sizeof(double));
            st->memo[k].post = sy_xcalloc(np + 2 * params->dim, sizeof(double));
        }
    }
    if (params->kind == SY_POLICY_CLUSTER_THOMPSON)
        st->cl =
            sy_xcalloc(params->n_arms * SY_CLUSTER_LEVELS * SY_CLUSTER_SLOTS * 3, sizeof(double));
    *out = st;
    return SY_OK;
}

void sy_policy_state_free(sy_policy_state *st)
{
    if (!st)
        return;
    for (size_t k = 0; k < st->params.n_arms; k++) {
        sy_arm_stats_free(&st->stats[k]);
        if (st->memo) {
            free(st->memo[k].sums);
            free(st->memo[k].post);
        }
    }
    free(st->memo);
    free(st->stats);
    free(st->arms);
    free(st->cl);
    free(st);
}

const sy_policy_params *sy_policy_state_params(const sy_policy_state *st)
{
    return &st->params;
}

int sy_policy_state_set_arm(sy_policy_state *st, size_t arm, const sy_arm_params *ap)
{
    if (arm >= st->params.n_arms || sy_arm_params_check(ap) != SY_OK)
        return SY_ERR_INVALID;
    st->arms[arm] = *ap;
    return SY_OK;
}

/* Observation mode ignores the caller's clock: the state counts observations. */
static int counts_observations(const sy_policy_state *st)
{
    return st->params.discount.unit == SY_HALF_LIFE_OBSERVATIONS;
}

/* Value is NAN (skip) or finite and ≥ 0. */
static int skip_or_nonneg(double v)
{
    return isnan(v) || (isfinite(v) && v >= 0);
}

/*
 * Decay the arm's outcome blocks to now and add the observed signals. Latency 0 is
 * accepted and floored at 1 ms; a negative or infinite value rejects the whole
 * observation before anything changes.
 */
int sy_policy_state_observe_outcome(sy_policy_state *st, const sy_outcome_obs *o)
{
    if (o->arm >= st->params.n_arms || !skip_or_nonneg(o->latency_s) ||
        !skip_or_nonneg(o->output_tokens) || !skip_or_nonneg(o->cost_usd) ||
        (!counts_observations(st) && !isfinite(o->t)))
        return SY_ERR_INVALID;
    double now = counts_observations(st) ? ++st->clock_o : o->t;
    sy_arm_stats *s = &st->stats[o->arm];
    const sy_discount *disc = &st->params.discount;
    sy_arm_stats_decay_nig(&s->lat, disc, now);
    sy_arm_stats_decay_nig(&s->tok, disc, now);
    sy_arm_stats_decay_nig(&s->cost, disc, now);
    if (!isnan(o->latency_s))
        sy_nig_add(&s->lat, sy_y_latency(o->latency_s), 1.0);
    if (!isnan(o->output_tokens))
        sy_nig_add(&s->tok, sy_y_tokens(o->output_tokens), 1.0);
    if (!isnan(o->cost_usd))
        sy_nig_add(&s->cost, sy_y_cost(o->cost_usd), 1.0);
    return SY_OK;
}

/* A rating is usable: arm in range, reward in [0,1], weight > 0, finite context of the
 * state's dimension (or none needed), finite time unless observations are counted. */
static int quality_ok(const sy_policy_state *st, const sy_quality_obs *q)
{
    if (q->arm >= st->params.n_arms || !(q->reward >= 0 && q->reward <= 1) ||
        !(isfinite(q->weight) && q->weight > 0) || (!counts_observations(st) && !isfinite(q->t)))
        return 0;
    size_t d = st->params.dim;
    if (d == 0)
        return 1;
    if (!q->x || q->dim != d)
        return 0;
    for (size_t i = 0; i < d; i++)
        if (!isfinite(q->x[i]))
            return 0;
    return 1;
}

/* Decay the arm's rating block to now and add the rating with weight w. */
static void add_quality(sy_policy_state *st, const sy_quality_obs *q, double now, double w)
{
    sy_linreg_stats *qs = &st->stats[q->arm].q;
    size_t d = st->params.dim;
    sy_arm_stats_decay_q(qs, d, &st->params.discount, now);
    if (d)
        sy_linreg_add(qs, d, q->x, q->reward, w);
    else
        sy_linreg_add(qs, 0, NULL, q->reward, w);
    if (st->cl) { /* the rating's two cluster slots, decayed like the rating block */
        size_t slot[SY_CLUSTER_LEVELS];
        sy_cluster_slots(q->x, d, slot);
        for (size_t lv = 0; lv < SY_CLUSTER_LEVELS; lv++) {
            double *c =
                st->cl + 3 * ((q->arm * SY_CLUSTER_LEVELS + lv) * SY_CLUSTER_SLOTS + slot[lv]);
            if (now > c[0]) {
                double f = sy_discount_factor(&st->params.discount, now - c[0]);
                c[1] *= f;
                c[2] *= f;
                c[0] = now;
            }
            c[1] += w;
            c[2] += w * q->reward;
        }
    }
}

int sy_policy_state_observe_quality(sy_policy_state *st, const sy_quality_obs *q, double *stamp)
{
    if (!quality_ok(st, q))
        return SY_ERR_INVALID;
    double now = counts_observations(st) ? ++st->clock_q : q->t;
    add_quality(st, q, now, q->weight);
    if (stamp)
        *stamp = now;
    return SY_OK;
}

/*
 * Subtract what is left of a rating recorded at `stamp`: its weight times the discount
 * accrued since. Retraction does not advance the observation clock: it corrects an
 * observation rather than making one.
 */
int sy_policy_state_retract_quality(sy_policy_state *st, const sy_quality_obs *q, double stamp)
{
    if (!quality_ok(st, q) || !isfinite(stamp))
        return SY_ERR_INVALID;
    double now = counts_observations(st) ? st->clock_q : q->t;
    double left = sy_discount_factor(&st->params.discount, now - stamp);
    add_quality(st, q, now, -q->weight * left);
    return SY_OK;
}
