/* name_slots: see name_slots.h. */
#include "name_slots.h"

#include "sy_common.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

typedef _Atomic(char *) key_ptr;

size_t sy_name_slot(void *table, size_t n, size_t stride, const char *key, size_t len, int create)
{
    uint64_t h = 1469598103934665603ull; /* FNV-1a */
    for (size_t i = 0; i < len; i++)
        h = (h ^ (uint8_t)key[i]) * 1099511628211ull;
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
