#include "arm_stats.h"

#include "discount.h"
#include "sy_common.h"

#include <math.h>
#include <string.h>

void sy_arm_stats_init(sy_arm_stats *s, size_t d)
{
    memset(s, 0, sizeof(*s));
    sy_linreg_stats_init(&s->q, d);
}

void sy_arm_stats_free(sy_arm_stats *s)
{
    sy_linreg_stats_free(&s->q);
}

void sy_arm_stats_decay_q(sy_linreg_stats *q, size_t d, const sy_discount *disc, double t)
{
    if (!(t > q->t))
        return;
    double f = sy_discount_factor(disc, t - q->t);
    if (f != 1.0)
        sy_linreg_scale(q, d, f);
    q->t = t;
}

void sy_arm_stats_decay_nig(sy_nig_stats *s, const sy_discount *disc, double t)
{
    if (!(t > s->t))
        return;
    double f = sy_discount_factor(disc, t - s->t);
    if (f != 1.0)
        sy_nig_scale(s, f);
    s->t = t;
}

size_t sy_arm_stats_len(size_t d)
{
    return 2 + 4 + d + sy_linreg_packed_len(d) + 3 * 4;
}

static double *put_nig(double *o, const sy_nig_stats *s)
{
    o[0] = s->t;
    o[1] = s->n;
    o[2] = s->s1;
    o[3] = s->s2;
    return o + 4;
}

static const double *get_nig(const double *in, sy_nig_stats *s)
{
    s->t = in[0];
    s->n = in[1];
    s->s1 = in[2];
    s->s2 = in[3];
    return in + 4;
}

void sy_arm_stats_export(const sy_arm_stats *s, size_t d, double *out)
{
    size_t np = sy_linreg_packed_len(d);
    double *o = out;
    *o++ = SY_ARM_STATS_VERSION;
    *o++ = (double)d;
    *o++ = s->q.t;
    *o++ = s->q.n;
    *o++ = s->q.sum_r;
    *o++ = s->q.sum_rr;
    if (d) {
        memcpy(o, s->q.xr, d * sizeof(double));
        memcpy(o + d, s->q.xx, np * sizeof(double));
    }
    o += d + np;
    o = put_nig(o, &s->lat);
    o = put_nig(o, &s->tok);
    put_nig(o, &s->cost);
}

int sy_arm_stats_import(sy_arm_stats *s, size_t d, const double *in, size_t len)
{
    if (len != sy_arm_stats_len(d) || in[0] != SY_ARM_STATS_VERSION || in[1] != (double)d)
        return SY_ERR_INVALID;
    for (size_t i = 0; i < len; i++)
        if (!isfinite(in[i]))
            return SY_ERR_INVALID;
    size_t np = sy_linreg_packed_len(d);
    const double *p = in + 2;
    s->q.t = p[0];
    s->q.n = p[1];
    s->q.sum_r = p[2];
    s->q.sum_rr = p[3];
    p += 4;
    if (d) {
        memcpy(s->q.xr, p, d * sizeof(double));
        memcpy(s->q.xx, p + d, np * sizeof(double));
    }
    p += d + np;
    p = get_nig(p, &s->lat);
    p = get_nig(p, &s->tok);
    get_nig(p, &s->cost);
    return SY_OK;
}

void sy_arm_stats_stamps(const double *in, size_t d, double *t_quality, double *t_outcome)
{
    const double *o = in + 6 + d + sy_linreg_packed_len(d);
    *t_quality = in[2];
    double t = o[0];
    if (o[4] > t)
        t = o[4];
    if (o[8] > t)
        t = o[8];
    *t_outcome = t;
}

/* Decay both blocks to the later stamp, then add src into dst. */
static void merge_nig(sy_nig_stats *dst, sy_nig_stats src, const sy_discount *disc)
{
    double t = src.t > dst->t ? src.t : dst->t;
    sy_arm_stats_decay_nig(dst, disc, t);
    sy_arm_stats_decay_nig(&src, disc, t);
    dst->n += src.n;
    dst->s1 += src.s1;
    dst->s2 += src.s2;
}

void sy_arm_stats_merge(sy_arm_stats *dst, const sy_arm_stats *src, size_t d,
                        const sy_discount *disc)
{
    double t = src->q.t > dst->q.t ? src->q.t : dst->q.t;
    double fs = sy_discount_factor(disc, t - src->q.t);
    sy_arm_stats_decay_q(&dst->q, d, disc, t);
    dst->q.n += fs * src->q.n;
    dst->q.sum_r += fs * src->q.sum_r;
    dst->q.sum_rr += fs * src->q.sum_rr;
    for (size_t i = 0; i < d; i++)
        dst->q.xr[i] += fs * src->q.xr[i];
    size_t np = sy_linreg_packed_len(d);
    for (size_t k = 0; k < np; k++)
        dst->q.xx[k] += fs * src->q.xx[k];
    merge_nig(&dst->lat, src->lat, disc);
    merge_nig(&dst->tok, src->tok, disc);
    merge_nig(&dst->cost, src->cost, disc);
}

double sy_y_latency(double latency_s)
{
    return log(latency_s > 1e-3 ? latency_s : 1e-3);
}

double sy_y_tokens(double tokens)
{
    return log1p(tokens);
}

double sy_y_cost(double cost_usd)
{
    return log1p(cost_usd * 1e6);
}

double sy_tokens_from_y(double e_y)
{
    return e_y - 1;
}

double sy_cost_from_y(double e_y)
{
    return (e_y - 1) * 1e-6;
}
