#include "guard_metrics.h"

#include "metrics.h"
#include "name_slots.h"

#include <stdatomic.h>
#include <stdint.h>
#include <string.h>

typedef struct gseries {
    _Atomic(char *) key; /* "name\0direction\0action", claimed once, never freed */
    _Atomic uint64_t checks, hits;
} gseries;

static gseries table[SY_GUARD_METRICS_MAX];

void sy_guard_metrics_count(const char *name, const char *direction, const char *action, int hit)
{
    char key[256];
    size_t nl = strlen(name), dl = strlen(direction), al = strlen(action);
    if (nl + dl + al + 2 > sizeof(key))
        return;
    memcpy(key, name, nl + 1);
    memcpy(key + nl + 1, direction, dl + 1);
    memcpy(key + nl + dl + 2, action, al);
    size_t i = sy_name_slot(table, SY_GUARD_METRICS_MAX, sizeof(gseries), key, nl + dl + al + 2, 1);
    if (i >= SY_GUARD_METRICS_MAX)
        return;
    atomic_fetch_add_explicit(&table[i].checks, 1, memory_order_relaxed);
    if (hit)
        atomic_fetch_add_explicit(&table[i].hits, 1, memory_order_relaxed);
}

/* One family: every claimed series with its labels and the counter at `hits`. */
static void family(sy_buf *out, const char *metric, int hits)
{
    for (size_t i = 0; i < SY_GUARD_METRICS_MAX; i++) {
        char *k = atomic_load_explicit(&table[i].key, memory_order_acquire);
        if (!k)
            continue;
        const char *dir = k + strlen(k) + 1, *action = dir + strlen(dir) + 1;
        sy_buf_printf(out, "%s{", metric);
        sy_metrics_label(out, "guardrail", k, 1);
        sy_metrics_label(out, "direction", dir, 0);
        sy_metrics_label(out, "action", action, 0); /* a reload may change it */
        uint64_t v =
            atomic_load_explicit(hits ? &table[i].hits : &table[i].checks, memory_order_relaxed);
        sy_buf_printf(out, "} %llu\n", (unsigned long long)v);
    }
}

void sy_guard_metrics_render(sy_buf *out)
{
    sy_buf_puts(out, "# HELP switchyard_guardrail_checks_total Requests a guardrail checked, by "
                     "direction and action.\n# TYPE switchyard_guardrail_checks_total counter\n");
    family(out, "switchyard_guardrail_checks_total", 0);
    sy_buf_puts(out, "# HELP switchyard_guardrail_hits_total Requests where a guardrail matched, "
                     "by direction and action.\n# TYPE switchyard_guardrail_hits_total counter\n");
    family(out, "switchyard_guardrail_hits_total", 1);
}
