/*
 * cluster_budget: a client key's USD budgets shared by every node (docs/scale-out.md,
 * "Budgets"). Each request reserves its maximum cost before it goes upstream and
 * settles its billed cost when it ends, both by request id in one Lua script each
 * (EVALSHA), so that:
 *   - a reservation is refused once spent + reserved reaches the budget, so the cluster
 *     spends at most the budget plus one request's maximum cost;
 *   - reserving or settling the same request id twice (a retry, a resend after a lost
 *     acknowledgement) counts once;
 *   - a reservation that is never settled (its node died) expires after 10 minutes.
 * Keys: sy:bud:{<hex key name>}:d:<UTC day>, :m:<UTC month>, :rs:<day> (request id ->
 * reserved amount, or "s" once settled) and :rz:<day> (their expiry): one hash tag per
 * client key, so each script touches one Redis Cluster slot.
 *
 * The scripts' text and SHA-1 are here (pure) so that tests can run them against a
 * redis-server and the backlog can hold EVALSHA commands before a link exists.
 */
#ifndef SY_CLUSTER_BUDGET_H
#define SY_CLUSTER_BUDGET_H

#include "cluster_node.h"

#include <stdint.h>

extern const char SY_BUDGET_RESERVE_LUA[];
extern const char SY_BUDGET_SETTLE_LUA[];
#define SY_BUDGET_RESERVATION_TTL_MS 600000

/* SHA-1 of text as 40 hex digits (what SCRIPT LOAD answers). */
void sy_cluster_sha1_hex(const char *text, size_t len, char out[41]);

/* The four keys of a key name's budget on the UTC day of at_ms (see above). */
void sy_cluster_budget_keys(const char *key_name, uint64_t at_ms, char keys[4][320]);

/*
 * Reserve `amount` USD for request `id` of key `key_name` against its day and month
 * budgets (0 = none) at now_ms. cb runs once on the cluster thread: 1 admitted, 0 the
 * budget is spent, -1 Redis unavailable (the caller applies its local share).
 */
typedef void (*sy_cluster_budget_cb)(void *ud, int verdict);
void sy_cluster_budget_reserve(sy_cluster *c, const char *key_name, const char *id, double amount,
                               double day_limit, double month_limit, uint64_t now_ms,
                               sy_cluster_budget_cb cb, void *ud);
/* Settle request `id` reserved at reserved_ms with its billed cost (any thread, never
 * blocks): queued in the backlog, so it reaches Redis once it is back. */
void sy_cluster_budget_settle(sy_cluster *c, const char *key_name, const char *id, double cost,
                              uint64_t reserved_ms);
/* A budget decision was taken without Redis (counted in the status). */
void sy_cluster_budget_note_fallback(sy_cluster *c);

#endif
