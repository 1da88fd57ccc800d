/*
 * cost: what a request is billed, from the usage a provider reported or, when it never
 * reported any (an aborted or failed stream), from what was actually relayed.
 *
 * Prices are USD per million tokens, so tokens × price is micro-dollars exactly; the
 * only rounding is the final double. Pure functions: no I/O, no globals.
 */
#ifndef SY_COST_H
#define SY_COST_H

#include "config.h"
#include "adapter.h"

#include <stddef.h>

typedef struct sy_bill {
    sy_usage usage;  /* the tokens billed (reported, estimated, or a mix) */
    int estimated;   /* 1 when any count was estimated rather than reported */
    double cost_usd; /* sy_cost_usd(price, &usage) */
} sy_bill;

/* Cost of `u` under `price`: uncached prompt tokens at input, cached ones at
 * cached_input, cache writes at cache_write, completion tokens at output. */
double sy_cost_usd(const sy_price_cfg *price, const sy_usage *u);

/*
 * Bill a finished exchange. With complete reported usage the bill is exactly that. When
 * the exchange did not complete (`completed` 0: cut, aborted, failed mid-stream) the
 * completion side is at least the estimate from relayed content, max(content chunks,
 * ceil(content bytes / 4)), because providers stop counting when the connection goes;
 * a prompt side never reported is estimated as ceil(prompt_bytes / 4).
 */
void sy_bill_exchange(const sy_price_cfg *price, const sy_relay_state *rs, int completed,
                      size_t prompt_bytes, sy_bill *out);

#endif
