/*
 * breaker: per-model circuit breakers and Retry-After blocks, shared by all workers
 * (DESIGN.md §9), and the process-wide retry budget.
 *
 * A breaker opens after `failures` consecutive failures, or when at least failure_rate
 * of the last `window` outcomes failed; it then stays open for a cooldown that grows
 * (×2 per consecutive opening, capped, ±20% jitter). When the cooldown has passed one
 * request may probe (half-open): success closes the breaker, failure reopens it with a
 * longer cooldown. A 429 with Retry-After blocks the model until then, without counting
 * as a breaker failure. So an open model gets at most one request per cooldown.
 *
 * Lock rules: one mutex per slot, held for a few loads and stores, never across I/O.
 * Slots are claimed once per model name (like metrics) and never freed.
 */
#ifndef SY_BREAKER_H
#define SY_BREAKER_H

#include <stdint.h>

typedef struct sy_breaker_cfg {
    unsigned failures;    /* consecutive failures that open it */
    unsigned window;      /* outcomes in the failure-rate window (0 = rate off) */
    double failure_rate;  /* share of failures in a full window that opens it */
    unsigned cooldown_ms; /* first cooldown */
    unsigned max_cooldown_ms;
} sy_breaker_cfg;

typedef enum { SY_BREAKER_CLOSED = 0, SY_BREAKER_OPEN, SY_BREAKER_HALF_OPEN } sy_breaker_state;

/* 1 when `model` may be tried now without claiming anything (closed and not blocked,
 * or open with its cooldown over and no probe in flight). */
int sy_breaker_available(const char *model, uint64_t now_ms);
/* Claim the right to send to `model` now: 1 granted (a half-open probe is claimed),
 * 0 refused. Every grant must be followed by exactly one sy_breaker_record(). */
int sy_breaker_acquire(const char *model, uint64_t now_ms);
/* Record the outcome of a granted attempt (ok: the upstream answered usably). */
void sy_breaker_record(const char *model, int ok, uint64_t now_ms, const sy_breaker_cfg *cfg,
                       uint64_t jitter_seed);
/* A granted attempt ended without an outcome (the client left): a half-open probe is
 * released so that the next request may probe. */
void sy_breaker_cancel(const char *model);
/* A 429 with Retry-After: no request to `model` before until_ms. */
void sy_breaker_block(const char *model, uint64_t until_ms);
/* Earliest time `model` can be tried (now_ms when available). */
uint64_t sy_breaker_ready_at(const char *model, uint64_t now_ms);

typedef struct sy_breaker_info {
    sy_breaker_state state;
    unsigned consecutive_failures;
    unsigned openings; /* consecutive openings (cooldown exponent) */
    uint64_t open_until_ms, blocked_until_ms;
} sy_breaker_info;
void sy_breaker_get(const char *model, sy_breaker_info *out);

/*
 * Retry budget: every first attempt deposits `ratio` tokens (capped at 100), a retry or
 * fallback withdraws one; with none left the request fails with its last error. The
 * bucket starts with 10 tokens so that a quiet process can still retry.
 */
void sy_retry_budget_deposit(double ratio);
int sy_retry_budget_withdraw(void);

#endif
