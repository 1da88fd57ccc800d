/* breaker: see breaker.h. */
#include "breaker.h"

#include "name_slots.h"
#include "sy_common.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#define MAX_WINDOW 256

typedef struct slot {
    pthread_mutex_t lock;
    sy_breaker_state state;
    unsigned consecutive, openings;
    uint64_t open_until, blocked_until;
    int probing;
    uint8_t ring[MAX_WINDOW]; /* 1 = failure */
    unsigned ring_n, ring_pos, ring_failures;
} slot;

/* Every slot's mutex, when the table creates it. */
static void init_slot(void *record)
{
    pthread_mutex_init(&((slot *)record)->lock, NULL);
}

/* One table for the process, no cap: a model name holds its slot until exit. */
static sy_name_table table = SY_NAME_TABLE_INIT(sizeof(slot), init_slot);

/* The slot of a model name, created when first seen. Never NULL. */
static slot *find(const char *model)
{
    return sy_name_table_get(&table, model, strlen(model));
}

/* With s locked: may a request go now, and would it be a probe? */
static int can_go(const slot *s, uint64_t now, int *probe)
{
    *probe = 0;
    if (now < s->blocked_until)
        return 0;
    if (s->state == SY_BREAKER_CLOSED)
        return 1;
    if (s->probing || now < s->open_until)
        return 0;
    *probe = 1;
    return 1;
}

int sy_breaker_available(const char *model, uint64_t now_ms)
{
    slot *s = find(model);
    int probe;
    pthread_mutex_lock(&s->lock);
    int ok = can_go(s, now_ms, &probe);
    pthread_mutex_unlock(&s->lock);
    return ok;
}

int sy_breaker_acquire(const char *model, uint64_t now_ms)
{
    slot *s = find(model);
    int probe;
    pthread_mutex_lock(&s->lock);
    int ok = can_go(s, now_ms, &probe);
    if (ok && probe) {
        s->state = SY_BREAKER_HALF_OPEN;
        s->probing = 1;
    }
    pthread_mutex_unlock(&s->lock);
    return ok;
}

/* Open with the next cooldown: cooldown × 2^(openings−1), capped, ±20% jitter. */
static void open_breaker(slot *s, uint64_t now, const sy_breaker_cfg *cfg, uint64_t seed)
{
    s->openings++;
    double cd = cfg->cooldown_ms;
    for (unsigned i = 1; i < s->openings && cd < cfg->max_cooldown_ms; i++)
        cd *= 2;
    if (cd > cfg->max_cooldown_ms)
        cd = cfg->max_cooldown_ms;
    seed = seed * 6364136223846793005ull + 1442695040888963407ull;
    double jitter = 0.8 + 0.4 * (double)(seed >> 11) / (double)(1ull << 53);
    s->state = SY_BREAKER_OPEN;
    s->open_until = now + (uint64_t)(cd * jitter);
    s->ring_n = s->ring_pos = s->ring_failures = 0;
}

void sy_breaker_record(const char *model, int ok, uint64_t now_ms, const sy_breaker_cfg *cfg,
                       uint64_t jitter_seed)
{
    slot *s = find(model);
    unsigned window = cfg->window < MAX_WINDOW ? cfg->window : MAX_WINDOW;
    pthread_mutex_lock(&s->lock);
    if (s->state == SY_BREAKER_HALF_OPEN) {
        s->probing = 0;
        if (ok) {
            s->state = SY_BREAKER_CLOSED;
            s->openings = 0;
            s->consecutive = 0;
        } else {
            open_breaker(s, now_ms, cfg, jitter_seed);
        }
        pthread_mutex_unlock(&s->lock);
        return;
    }
    if (s->state == SY_BREAKER_OPEN) { /* a request that started before it opened */
        pthread_mutex_unlock(&s->lock);
        return;
    }
    s->consecutive = ok ? 0 : s->consecutive + 1;
    if (window) {
        if (s->ring_n == window)
            s->ring_failures -= s->ring[s->ring_pos];
        else
            s->ring_n++;
        s->ring[s->ring_pos] = (uint8_t)!ok;
        s->ring_failures += (unsigned)!ok;
        s->ring_pos = (s->ring_pos + 1) % window;
    }
    int rate_trip = window && s->ring_n == window &&
                    (double)s->ring_failures >= cfg->failure_rate * (double)window;
    if ((cfg->failures && s->consecutive >= cfg->failures) || rate_trip)
        open_breaker(s, now_ms, cfg, jitter_seed);
    pthread_mutex_unlock(&s->lock);
}

void sy_breaker_cancel(const char *model)
{
    slot *s = find(model);
    pthread_mutex_lock(&s->lock);
    if (s->state == SY_BREAKER_HALF_OPEN) {
        s->state = SY_BREAKER_OPEN; /* cooldown already over: the next request probes */
        s->probing = 0;
    }
    pthread_mutex_unlock(&s->lock);
}

void sy_breaker_block(const char *model, uint64_t until_ms)
{
    slot *s = find(model);
    pthread_mutex_lock(&s->lock);
    if (until_ms > s->blocked_until)
        s->blocked_until = until_ms;
    pthread_mutex_unlock(&s->lock);
}

uint64_t sy_breaker_ready_at(const char *model, uint64_t now_ms)
{
    slot *s = find(model);
    pthread_mutex_lock(&s->lock);
    uint64_t t = now_ms;
    if (s->blocked_until > t)
        t = s->blocked_until;
    if (s->state != SY_BREAKER_CLOSED && s->open_until > t)
        t = s->open_until;
    pthread_mutex_unlock(&s->lock);
    return t;
}

void sy_breaker_get(const char *model, sy_breaker_info *out)
{
    memset(out, 0, sizeof(*out));
    slot *s = find(model);
    pthread_mutex_lock(&s->lock);
    out->state = s->state;
    out->consecutive_failures = s->consecutive;
    out->openings = s->openings;
    out->open_until_ms = s->open_until;
    out->blocked_until_ms = s->blocked_until;
    pthread_mutex_unlock(&s->lock);
}

/* Milli-tokens, so that fractional deposits add up exactly. */
static _Atomic int64_t budget_milli = 10000;

void sy_retry_budget_deposit(double ratio)
{
    int64_t add = (int64_t)(ratio * 1000.0 + 0.5);
    int64_t cur = atomic_load_explicit(&budget_milli, memory_order_relaxed);
    for (;;) {
        int64_t next = cur + add > 100000 ? 100000 : cur + add;
        if (atomic_compare_exchange_weak(&budget_milli, &cur, next))
            return;
    }
}

int sy_retry_budget_withdraw(void)
{
    int64_t cur = atomic_load_explicit(&budget_milli, memory_order_relaxed);
    while (cur >= 1000)
        if (atomic_compare_exchange_weak(&budget_milli, &cur, cur - 1000))
            return 1;
    return 0;
}
