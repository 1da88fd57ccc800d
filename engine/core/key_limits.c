/* key_limits: see key_limits.h. */
#include "key_limits.h"

#include "name_slots.h"
#include "sy_common.h"

#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

typedef struct slot {
    pthread_mutex_t lock;
    int init;
    double req_tokens, tok_tokens; /* bucket levels */
    uint64_t refilled_ms;
    int64_t day, month; /* UTC day number and year*12+month of the counters below */
    double spent_day, spent_month;
} slot;

/* Every slot's mutex, when the table creates it. */
static void init_slot(void *record)
{
    pthread_mutex_init(&((slot *)record)->lock, NULL);
}

/* One table for the process, no cap: a key name holds its slot until exit. */
static sy_name_table table = SY_NAME_TABLE_INIT(sizeof(slot), init_slot);

/* The slot of a key name, created when first seen. Never NULL. */
static slot *find(const char *key)
{
    return sy_name_table_get(&table, key, strlen(key));
}

static void calendar(uint64_t ms, int64_t *day, int64_t *month, uint64_t *next_day_ms,
                     uint64_t *next_month_ms)
{
    time_t t = (time_t)(ms / 1000);
    struct tm tm;
    gmtime_r(&t, &tm);
    *day = (int64_t)(ms / 86400000u);
    *month = (int64_t)(tm.tm_year + 1900) * 12 + tm.tm_mon;
    if (next_day_ms)
        *next_day_ms = (uint64_t)(*day + 1) * 86400000u;
    if (next_month_ms) {
        struct tm nm = {.tm_year = tm.tm_year + (tm.tm_mon == 11),
                        .tm_mon = (tm.tm_mon + 1) % 12,
                        .tm_mday = 1};
        *next_month_ms = (uint64_t)timegm(&nm) * 1000u;
    }
}

/* With s locked: refill the buckets and roll the budget periods to now. */
static void refresh(slot *s, const sy_key_limits *lim, uint64_t now)
{
    if (!s->init) {
        s->init = 1;
        s->req_tokens = lim->requests_per_minute;
        s->tok_tokens = lim->tokens_per_minute;
        s->refilled_ms = now;
    }
    double dt = now > s->refilled_ms ? (double)(now - s->refilled_ms) / 60000.0 : 0;
    s->req_tokens =
        fmin(s->req_tokens + dt * lim->requests_per_minute, (double)lim->requests_per_minute);
    s->tok_tokens =
        fmin(s->tok_tokens + dt * lim->tokens_per_minute, (double)lim->tokens_per_minute);
    s->refilled_ms = now;
    int64_t day, month;
    calendar(now, &day, &month, NULL, NULL);
    if (day != s->day) {
        s->day = day;
        s->spent_day = 0;
    }
    if (month != s->month) {
        s->month = month;
        s->spent_month = 0;
    }
}

static unsigned seconds_until(double missing, double per_minute)
{
    return per_minute > 0 ? (unsigned)ceil(missing * 60.0 / per_minute) : 60;
}

const char *sy_key_admit(const char *key, const sy_key_limits *lim, uint64_t now_ms,
                         unsigned *retry_after_s)
{
    if (!lim->requests_per_minute && !lim->tokens_per_minute && !lim->usd_per_day &&
        !lim->usd_per_month)
        return NULL;
    slot *s = find(key);
    const char *code = NULL;
    uint64_t next_day, next_month;
    int64_t d, m;
    calendar(now_ms, &d, &m, &next_day, &next_month);
    pthread_mutex_lock(&s->lock);
    refresh(s, lim, now_ms);
    if (lim->usd_per_day > 0 && s->spent_day >= lim->usd_per_day) {
        code = "budget_exceeded";
        *retry_after_s = (unsigned)((next_day - now_ms + 999) / 1000);
    } else if (lim->usd_per_month > 0 && s->spent_month >= lim->usd_per_month) {
        code = "budget_exceeded";
        *retry_after_s = (unsigned)((next_month - now_ms + 999) / 1000);
    } else if (lim->tokens_per_minute && s->tok_tokens < 0) {
        code = "token_limit_exceeded";
        *retry_after_s = seconds_until(-s->tok_tokens, lim->tokens_per_minute);
    } else if (lim->requests_per_minute && s->req_tokens < 1) {
        code = "rate_limit_exceeded";
        *retry_after_s = seconds_until(1 - s->req_tokens, lim->requests_per_minute);
    } else if (lim->requests_per_minute) {
        s->req_tokens -= 1;
    }
    pthread_mutex_unlock(&s->lock);
    if (code && *retry_after_s == 0)
        *retry_after_s = 1;
    return code;
}

void sy_key_charge(const char *key, const sy_key_limits *lim, int64_t tokens, double cost_usd,
                   uint64_t now_ms)
{
    if (!lim->tokens_per_minute && !lim->usd_per_day && !lim->usd_per_month)
        return;
    slot *s = find(key);
    pthread_mutex_lock(&s->lock);
    refresh(s, lim, now_ms);
    if (lim->tokens_per_minute)
        s->tok_tokens -= (double)(tokens > 0 ? tokens : 0);
    s->spent_day += cost_usd;
    s->spent_month += cost_usd;
    pthread_mutex_unlock(&s->lock);
}

void sy_key_restore_spend(const char *key, double cost_usd, uint64_t ts_ms, uint64_t now_ms)
{
    slot *s = find(key);
    if (!(cost_usd > 0))
        return;
    int64_t d, m, nd, nm;
    calendar(ts_ms, &d, &m, NULL, NULL);
    calendar(now_ms, &nd, &nm, NULL, NULL);
    pthread_mutex_lock(&s->lock);
    if (s->day != nd || s->month != nm) { /* first restore: start the periods at now */
        s->day = nd;
        s->month = nm;
    }
    if (d == nd)
        s->spent_day += cost_usd;
    if (m == nm)
        s->spent_month += cost_usd;
    pthread_mutex_unlock(&s->lock);
}
