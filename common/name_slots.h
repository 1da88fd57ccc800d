/*
 * name_slots: records by name shared by threads without a table lock.
 *
 * sy_name_table (per-model breakers, per-key limits): a hash table of never-freed
 * records with no cap. A lookup walks a bucket's list lock-free; a new name is inserted
 * at its bucket's head by compare-and-swap, and its record lives (at a fixed address)
 * for the life of the process. Every distinct name therefore holds memory until exit:
 * callers use it only for names from the configuration or the store (key and model
 * names), never for names a client makes up.
 *
 * sy_name_slot (metric series): find-or-claim a slot in a fixed, open-addressed table.
 *
 * Each slot begins with an `_Atomic(char *)` key. A slot is claimed once, by a
 * compare-and-swap of a private copy of the key, and never released, so a slot found
 * stays that name's for the life of the process. Keys may hold NUL bytes (len given).
 */
#ifndef SY_NAME_SLOTS_H
#define SY_NAME_SLOTS_H

#include <stdatomic.h>
#include <stddef.h>

#define SY_NAME_TABLE_BUCKETS 1024

typedef struct sy_name_node sy_name_node;
typedef struct sy_name_table {
    size_t size;                /* bytes of each record */
    void (*init)(void *record); /* run once on a new, zeroed record (e.g. its mutex) */
    _Atomic(sy_name_node *) buckets[SY_NAME_TABLE_BUCKETS];
} sy_name_table;
#define SY_NAME_TABLE_INIT(record_size, init_fn)                                                   \
    {                                                                                              \
        .size = (record_size), .init = (init_fn)                                                   \
    }

/* The record of name[0..len), created (zeroed, then init) when absent. Never NULL. */
void *sy_name_table_get(sy_name_table *t, const char *name, size_t len);

/* Index of the slot of key[0..len) in table (n slots of `stride` bytes each, the key
 * pointer first), claiming a free one if `create`; n when absent (or the table full). */
size_t sy_name_slot(void *table, size_t n, size_t stride, const char *key, size_t len, int create);

#endif
