/*
 * name_slots: find-or-claim a slot by name in a fixed, open-addressed table shared by
 * threads without a table lock (per-model breakers, per-key limits, metric series).
 *
 * Each slot begins with an `_Atomic(char *)` key. A slot is claimed once, by a
 * compare-and-swap of a private copy of the key, and never released, so a slot found
 * stays that name's for the life of the process. Keys may hold NUL bytes (len given).
 */
#ifndef SY_NAME_SLOTS_H
#define SY_NAME_SLOTS_H

#include <stdatomic.h>
#include <stddef.h>

/* Index of the slot of key[0..len) in table (n slots of `stride` bytes each, the key
 * pointer first), claiming a free one if `create`; n when absent (or the table full). */
size_t sy_name_slot(void *table, size_t n, size_t stride, const char *key, size_t len, int create);

#endif
