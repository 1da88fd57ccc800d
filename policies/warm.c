/* warm: see warm.h. */
#include "warm.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

void sy_warm_data_free(sy_warm_data *w)
{
    free(w->x);
    free(w->quality);
    free(w->cost);
    memset(w, 0, sizeof(*w));
}

size_t sy_warm_feed(const sy_warm_data *w, sy_policy_state *st, int contextual,
                    const unsigned char *arms, double t)
{
    size_t fed = 0;
    for (size_t i = 0; i < w->n; i++)
        for (size_t k = 0; k < w->n_arms; k++) {
            double q = w->quality[i * w->n_arms + k];
            if (isnan(q) || (arms && !arms[k]))
                continue;
            sy_outcome_obs oo = {.arm = k,
                                 .latency_s = NAN,
                                 .output_tokens = NAN,
                                 .cost_usd = w->cost[i * w->n_arms + k],
                                 .t = t};
            sy_policy_state_observe_outcome(st, &oo);
            sy_quality_obs qo = {.arm = k,
                                 .x = contextual ? w->x + i * w->dim : NULL,
                                 .dim = contextual ? w->dim : 0,
                                 .reward = q,
                                 .weight = w->weight,
                                 .t = t};
            fed += sy_policy_state_observe_quality(st, &qo, NULL) == 0;
        }
    return fed;
}
