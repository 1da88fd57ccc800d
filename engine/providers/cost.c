/* cost: see cost.h. */
#include "cost.h"

static int64_t nonneg(int64_t v)
{
    return v < 0 ? 0 : v;
}

double sy_cost_usd(const sy_price_cfg *price, const sy_usage *u)
{
    int64_t cached = nonneg(u->cached_tokens);
    int64_t written = nonneg(u->cache_write_tokens);
    int64_t plain = nonneg(u->prompt_tokens - cached - written);
    double micro = (double)plain * price->input + (double)cached * price->cached_input +
                   (double)written * price->cache_write +
                   (double)nonneg(u->completion_tokens) * price->output;
    return micro / 1e6;
}

void sy_bill_exchange(const sy_price_cfg *price, const sy_relay_state *rs, int completed,
                      size_t prompt_bytes, sy_bill *out)
{
    out->usage = rs->usage;
    out->estimated = 0;
    if (!completed || !rs->usage.have) {
        int64_t est = (rs->content_bytes + 3) / 4;
        if (rs->content_chunks > est)
            est = rs->content_chunks;
        if (est > out->usage.completion_tokens) {
            out->usage.completion_tokens = est;
            out->estimated = 1;
        }
        if (out->usage.prompt_tokens == 0 && prompt_bytes > 0) {
            out->usage.prompt_tokens = (int64_t)((prompt_bytes + 3) / 4);
            out->estimated = 1;
        }
    }
    out->cost_usd = sy_cost_usd(price, &out->usage);
}
