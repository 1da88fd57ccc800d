#include "policy_internal.h"

#include "sy_common.h"

size_t sy_policy_state_export_len(const sy_policy_state *st)
{
    return sy_arm_stats_len(st->params.dim);
}

int sy_policy_state_export_arm(const sy_policy_state *st, size_t arm, double *out, size_t len)
{
    if (arm >= st->params.n_arms || len != sy_policy_state_export_len(st))
        return SY_ERR_INVALID;
    sy_arm_stats_export(&st->stats[arm], st->params.dim, out);
    return SY_OK;
}

/* Keep the observation clocks at or beyond every stamp in the state, so that data
 * imported from a previous run is aged from where it left off. */
static void advance_clocks(sy_policy_state *st, const double *in)
{
    double tq, to;
    sy_arm_stats_stamps(in, st->params.dim, &tq, &to);
    if (st->params.discount.unit != SY_HALF_LIFE_OBSERVATIONS)
        return;
    if (tq > st->clock_q)
        st->clock_q = tq;
    if (to > st->clock_o)
        st->clock_o = to;
}

int sy_policy_state_import_arm(sy_policy_state *st, size_t arm, const double *in, size_t len)
{
    if (arm >= st->params.n_arms)
        return SY_ERR_INVALID;
    int rc = sy_arm_stats_import(&st->stats[arm], st->params.dim, in, len);
    if (rc == SY_OK)
        advance_clocks(st, in);
    return rc;
}

int sy_policy_state_merge_arm(sy_policy_state *st, size_t arm, const double *in, size_t len)
{
    if (arm >= st->params.n_arms)
        return SY_ERR_INVALID;
    sy_arm_stats delta;
    sy_arm_stats_init(&delta, st->params.dim);
    int rc = sy_arm_stats_import(&delta, st->params.dim, in, len);
    if (rc == SY_OK) {
        sy_arm_stats_merge(&st->stats[arm], &delta, st->params.dim, &st->params.discount);
        advance_clocks(st, in);
    }
    sy_arm_stats_free(&delta);
    return rc;
}
