/*
 * api_interval: the central 95% interval of a Beta posterior shown by the admin API
 * (GET /admin/routes), safe for any counts: it never reaches a GSL error handler and
 * never takes more than microseconds.
 */
#ifndef SY_API_INTERVAL_H
#define SY_API_INTERVAL_H

/* Clamp alpha and beta to finite values >= 1 (damaged statistics), then set [lo, hi],
 * always within [0, 1]. Exact (gsl_cdf_beta_Pinv) up to 1,000 pseudo-counts; beyond,
 * and whenever GSL gives no finite answer, the Wilson score interval of the same
 * proportion (GSL's inverse fails or spins for seconds on counts of 10^5 and more). */
void sy_beta_interval95(double *alpha, double *beta, double *lo, double *hi);

#endif
