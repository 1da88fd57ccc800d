/* name_slots: see name_slots.h. */
#include "name_slots.h"

#include "sy_common.h"

#include <stdalign.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

typedef _Atomic(char *) key_ptr;

struct sy_name_node {
    sy_name_node *next; /* set before the node is published, never changed after */
    char *name;
    size_t len;
    _Alignas(max_align_t) unsigned char record[];
};

static uint64_t fnv1a(const char *key, size_t len)
{
    uint64_t h = 1469598103934665603ull;
    for (size_t i = 0; i < len; i++)
        h = (h ^ (uint8_t)key[i]) * 1099511628211ull;
    return h;
}

/* The node of name in the list from head down to (not including) stop, or NULL. */
static sy_name_node *scan(sy_name_node *head, const sy_name_node *stop, const char *name,
                          size_t len)
{
    for (sy_name_node *n = head; n && n != stop; n = n->next)
        if (n->len == len && memcmp(n->name, name, len) == 0)
            return n;
    return NULL;
}

void *sy_name_table_get(sy_name_table *t, const char *name, size_t len)
{
    _Atomic(sy_name_node *) *bucket = &t->buckets[fnv1a(name, len) % SY_NAME_TABLE_BUCKETS];
    sy_name_node *head = atomic_load_explicit(bucket, memory_order_acquire);
    sy_name_node *found = scan(head, NULL, name, len);
    if (found)
        return found->record;
    sy_name_node *mine = sy_xcalloc(1, sizeof(*mine) + t->size);
    mine->name = sy_xmalloc(len + 1);
    memcpy(mine->name, name, len);
    mine->name[len] = '\0';
    mine->len = len;
    if (t->init)
        t->init(mine->record);
    for (;;) {
        mine->next = head;
        if (atomic_compare_exchange_weak_explicit(bucket, &head, mine, memory_order_acq_rel,
                                                  memory_order_acquire))
            return mine->record;
        /* head is now the newer list: did another thread insert this name meanwhile? */
        found = scan(head, mine->next, name, len);
        if (found) {
            free(mine->name);
            free(mine); /* never published */
            return found->record;
        }
    }
}

size_t sy_name_slot(void *table, size_t n, size_t stride, const char *key, size_t len, int create)
{
    uint64_t h = fnv1a(key, len);
    for (size_t i = 0; i < n; i++) {
        size_t idx = (size_t)((h + i) % n);
        key_ptr *slot = (key_ptr *)((char *)table + idx * stride);
        char *k = atomic_load_explicit(slot, memory_order_acquire);
        if (!k) {
            if (!create)
                return n;
            char *mine = sy_xmalloc(len + 1), *expected = NULL;
            memcpy(mine, key, len);
            mine[len] = '\0';
            if (atomic_compare_exchange_strong(slot, &expected, mine))
                return idx;
            free(mine); /* another thread claimed this slot first */
            k = expected;
        }
        if (memcmp(k, key, len) == 0 && k[len] == '\0')
            return idx;
    }
    return n;
}
