#include "discount.h"

#include <math.h>

double sy_discount_factor(const sy_discount *d, double elapsed)
{
    if (d->half_life <= 0 || !(elapsed > 0))
        return 1.0;
    return exp2(-elapsed / d->half_life);
}
