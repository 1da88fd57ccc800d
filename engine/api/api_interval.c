/* api_interval: see api_interval.h. */
#include "api_interval.h"

#include "sy_common.h"

#include <gsl/gsl_cdf.h>
#include <math.h>

#define BETA_EXACT_MAX 1000.0

void sy_beta_interval95(double *alpha, double *beta, double *lo, double *hi)
{
    *alpha = isfinite(*alpha) && *alpha >= 1 ? *alpha : 1;
    *beta = isfinite(*beta) && *beta >= 1 ? *beta : 1;
    double a = *alpha, b = *beta;
    if (a + b <= BETA_EXACT_MAX) {
        *lo = gsl_cdf_beta_Pinv(0.025, a, b);
        *hi = gsl_cdf_beta_Pinv(0.975, a, b);
        if (isfinite(*lo) && isfinite(*hi))
            return;
    }
    double n = a + b, p = a / n, z = SY_Z95, z2 = z * z;
    double centre = (p + z2 / (2 * n)) / (1 + z2 / n);
    double half = z * sqrt(p * (1 - p) / n + z2 / (4 * n * n)) / (1 + z2 / n);
    *lo = fmax(0, centre - half);
    *hi = fmin(1, centre + half);
}
