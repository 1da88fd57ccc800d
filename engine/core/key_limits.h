/*
 * key_limits: per-client-key request and token rates and USD budgets (DESIGN.md §9),
 * shared by every worker of the process.
 *
 * Rates are token buckets refilled continuously (capacity = the per-minute limit).
 * Tokens are charged when a request finishes (its billed usage), so a key may overdraw
 * once; while its bucket is negative further requests wait. Budgets count the billed
 * cost per UTC day and per UTC calendar month; at start they are rebuilt from the
 * store (the requests of the current day and month), so a restart does not reset them.
 *
 * Lock rules: one mutex per key slot, held for arithmetic only, never across I/O.
 */
#ifndef SY_KEY_LIMITS_H
#define SY_KEY_LIMITS_H

#include "config.h"

#include <stdint.h>

/* 0 when the request may go; else a 429 code ("rate_limit_exceeded",
 * "token_limit_exceeded", "budget_exceeded") and the seconds to wait. */
const char *sy_key_admit(const char *key, const sy_key_limits *lim, uint64_t now_ms,
                         unsigned *retry_after_s);
/* Charge a finished request's tokens and cost. */
void sy_key_charge(const char *key, const sy_key_limits *lim, int64_t tokens, double cost_usd,
                   uint64_t now_ms);
/* Add spend recorded before this process started (store replay); `ts_ms` is when. */
void sy_key_restore_spend(const char *key, double cost_usd, uint64_t ts_ms, uint64_t now_ms);

#endif
