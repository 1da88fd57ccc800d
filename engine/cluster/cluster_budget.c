/* cluster_budget: see cluster_budget.h. */
#include "cluster_budget.h"

#include "cluster_internal.h"

#include "clock.h"
#include "sha256.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* KEYS: day hash, month hash, reservations hash, reservations expiry zset.
 * ARGV: request id, amount, day limit, month limit, now ms, reservation ttl ms.
 * Returns {1 admitted | 0 refused, day spent+reserved, month spent+reserved}. */
const char SY_BUDGET_RESERVE_LUA[] =
    "local function num(k, f) return tonumber(redis.call('HGET', k, f) or '0') end\n"
    "local now = tonumber(ARGV[5])\n"
    "for _, id in ipairs(redis.call('ZRANGEBYSCORE', KEYS[4], '-inf', now)) do\n"
    "  local a = redis.call('HGET', KEYS[3], id)\n"
    "  if a and a ~= 's' then\n"
    "    redis.call('HINCRBYFLOAT', KEYS[1], 'reserved', -tonumber(a))\n"
    "    redis.call('HINCRBYFLOAT', KEYS[2], 'reserved', -tonumber(a))\n"
    "  end\n"
    "  redis.call('HDEL', KEYS[3], id)\n"
    "  redis.call('ZREM', KEYS[4], id)\n"
    "end\n"
    "local d = num(KEYS[1], 'spent') + num(KEYS[1], 'reserved')\n"
    "local m = num(KEYS[2], 'spent') + num(KEYS[2], 'reserved')\n"
    "if redis.call('HEXISTS', KEYS[3], ARGV[1]) == 1 then\n"
    "  return {1, tostring(d), tostring(m)}\n"
    "end\n"
    "local dl, ml = tonumber(ARGV[3]), tonumber(ARGV[4])\n"
    "if (dl > 0 and d >= dl) or (ml > 0 and m >= ml) then\n"
    "  return {0, tostring(d), tostring(m)}\n"
    "end\n"
    "local a = tonumber(ARGV[2])\n"
    "redis.call('HSET', KEYS[3], ARGV[1], ARGV[2])\n"
    "redis.call('ZADD', KEYS[4], now + tonumber(ARGV[6]), ARGV[1])\n"
    "redis.call('HINCRBYFLOAT', KEYS[1], 'reserved', a)\n"
    "redis.call('HINCRBYFLOAT', KEYS[2], 'reserved', a)\n"
    "redis.call('PEXPIRE', KEYS[1], 172800000)\n"
    "redis.call('PEXPIRE', KEYS[2], 2764800000)\n"
    "redis.call('PEXPIRE', KEYS[3], 172800000)\n"
    "redis.call('PEXPIRE', KEYS[4], 172800000)\n"
    "return {1, tostring(d + a), tostring(m + a)}\n";

/* KEYS as above. ARGV: request id, billed cost, now ms.
 * Returns 1 settled, 0 already settled (nothing counted). */
const char SY_BUDGET_SETTLE_LUA[] =
    "local a = redis.call('HGET', KEYS[3], ARGV[1])\n"
    "if a == 's' then return 0 end\n"
    "if a then\n"
    "  redis.call('HINCRBYFLOAT', KEYS[1], 'reserved', -tonumber(a))\n"
    "  redis.call('HINCRBYFLOAT', KEYS[2], 'reserved', -tonumber(a))\n"
    "end\n"
    "local cost = tonumber(ARGV[2])\n"
    "if cost > 0 then\n"
    "  redis.call('HINCRBYFLOAT', KEYS[1], 'spent', cost)\n"
    "  redis.call('HINCRBYFLOAT', KEYS[2], 'spent', cost)\n"
    "end\n"
    "redis.call('HSET', KEYS[3], ARGV[1], 's')\n"
    "redis.call('ZADD', KEYS[4], tonumber(ARGV[3]) + 172800000, ARGV[1])\n"
    "redis.call('PEXPIRE', KEYS[1], 172800000)\n"
    "redis.call('PEXPIRE', KEYS[2], 2764800000)\n"
    "redis.call('PEXPIRE', KEYS[3], 172800000)\n"
    "redis.call('PEXPIRE', KEYS[4], 172800000)\n"
    "return 1\n";

void sy_cluster_budget_keys(const char *key_name, uint64_t at_ms, char keys[4][320])
{
    char hex[2 * SY_STORE_NAME_MAX + 1];
    size_t n = strlen(key_name);
    if (n > SY_STORE_NAME_MAX)
        n = SY_STORE_NAME_MAX;
    sy_hex_encode(key_name, n, hex);
    time_t t = (time_t)(at_ms / 1000);
    struct tm tm;
    gmtime_r(&t, &tm);
    long long day = (long long)(at_ms / 86400000u), month = (tm.tm_year + 1900LL) * 12 + tm.tm_mon;
    snprintf(keys[0], 320, "sy:bud:{%s}:d:%lld", hex, day);
    snprintf(keys[1], 320, "sy:bud:{%s}:m:%lld", hex, month);
    snprintf(keys[2], 320, "sy:bud:{%s}:rs:%lld", hex, day);
    snprintf(keys[3], 320, "sy:bud:{%s}:rz:%lld", hex, day);
}

typedef struct sy_budget_job {
    struct sy_budget_job *next;
    char keys[4][320];
    char id[64];
    char args[5][32]; /* amount, day limit, month limit, now, ttl */
    sy_cluster_budget_cb cb;
    void *ud;
} sy_budget_job;

static char shas[2][41];
static pthread_once_t shas_once = PTHREAD_ONCE_INIT;

static void init_shas(void)
{
    sy_cluster_sha1_hex(SY_BUDGET_RESERVE_LUA, strlen(SY_BUDGET_RESERVE_LUA), shas[0]);
    sy_cluster_sha1_hex(SY_BUDGET_SETTLE_LUA, strlen(SY_BUDGET_SETTLE_LUA), shas[1]);
}

/* The SHA-1 of the reserve (0) or settle (1) script. */
static const char *script_sha(int settle)
{
    pthread_once(&shas_once, init_shas);
    return shas[settle];
}

static void on_loaded(redisAsyncContext *ac, void *r, void *priv)
{
    if (r)
        sy_cluster_cmd_answered(ac->data);
}

void sy_cluster_budget_load(sy_cluster *c)
{
    const char *texts[] = {SY_BUDGET_RESERVE_LUA, SY_BUDGET_SETTLE_LUA};
    for (int i = 0; i < 2; i++) {
        const char *argv[] = {"SCRIPT", "LOAD", texts[i]};
        redisAsyncCommandArgv(c->cmd, on_loaded, NULL, 3, argv, NULL);
        sy_cluster_cmd_sent(c);
    }
}

/* The reserve script's answer: {1|0, ...}; anything else (an error, the link lost) is
 * "unavailable" and the caller falls back to its local share. */
static void on_reserved(redisAsyncContext *ac, void *r, void *priv)
{
    sy_budget_job *j = priv;
    redisReply *reply = r;
    int verdict = -1;
    if (reply) {
        sy_cluster_cmd_answered(ac->data);
        if (reply->type == REDIS_REPLY_ARRAY && reply->elements >= 1 &&
            reply->element[0]->type == REDIS_REPLY_INTEGER)
            verdict = reply->element[0]->integer == 1;
    }
    if (verdict < 0)
        sy_cluster_budget_note_fallback(ac->data);
    j->cb(j->ud, verdict);
    free(j);
}

void sy_cluster_budget_reserve(sy_cluster *c, const char *key_name, const char *id, double amount,
                               double day_limit, double month_limit, uint64_t now_ms,
                               sy_cluster_budget_cb cb, void *ud)
{
    sy_budget_job *j = sy_xcalloc(1, sizeof(*j));
    sy_cluster_budget_keys(key_name, now_ms, j->keys);
    snprintf(j->id, sizeof(j->id), "%s", id);
    snprintf(j->args[0], sizeof(j->args[0]), "%.17g", amount > 0 ? amount : 0);
    snprintf(j->args[1], sizeof(j->args[1]), "%.17g", day_limit);
    snprintf(j->args[2], sizeof(j->args[2]), "%.17g", month_limit);
    snprintf(j->args[3], sizeof(j->args[3]), "%llu", (unsigned long long)now_ms);
    snprintf(j->args[4], sizeof(j->args[4]), "%d", SY_BUDGET_RESERVATION_TTL_MS);
    j->cb = cb;
    j->ud = ud;
    pthread_mutex_lock(&c->lock);
    j->next = c->budget_jobs;
    c->budget_jobs = j;
    pthread_mutex_unlock(&c->lock);
    sy_cluster_wake(c);
}

void sy_cluster_budget_pump(sy_cluster *c)
{
    pthread_mutex_lock(&c->lock);
    sy_budget_job *j = c->budget_jobs, *rev = NULL;
    c->budget_jobs = NULL;
    pthread_mutex_unlock(&c->lock);
    while (j) { /* oldest first */
        sy_budget_job *next = j->next;
        j->next = rev;
        rev = j;
        j = next;
    }
    for (j = rev; j;) {
        sy_budget_job *next = j->next;
        if (!c->cmd_ready) {
            sy_cluster_budget_note_fallback(c);
            j->cb(j->ud, -1);
            free(j);
        } else {
            const char *argv[] = {"EVALSHA",  script_sha(0), "4",       j->keys[0], j->keys[1],
                                  j->keys[2], j->keys[3],    j->id,     j->args[0], j->args[1],
                                  j->args[2], j->args[3],    j->args[4]};
            redisAsyncCommandArgv(c->cmd, on_reserved, j, 13, argv, NULL);
            sy_cluster_cmd_sent(c);
        }
        j = next;
    }
}

void sy_cluster_budget_settle(sy_cluster *c, const char *key_name, const char *id, double cost,
                              uint64_t reserved_ms)
{
    char keys[4][320], amount[32], now[32];
    sy_cluster_budget_keys(key_name, reserved_ms, keys);
    snprintf(amount, sizeof(amount), "%.17g", cost > 0 ? cost : 0);
    snprintf(now, sizeof(now), "%llu", (unsigned long long)sy_wall_ms());
    const char *argv[] = {"EVALSHA", script_sha(1), "4", keys[0], keys[1],
                          keys[2],   keys[3],       id,  amount,  now};
    char *cmd;
    int len = redisFormatCommandArgv(&cmd, 10, argv, NULL);
    if (len > 0 && sy_cluster_push(c, cmd, len, 0) == 1)
        sy_cluster_wake(c);
}

void sy_cluster_budget_note_fallback(sy_cluster *c)
{
    pthread_mutex_lock(&c->lock);
    c->st.budget_fallbacks++;
    pthread_mutex_unlock(&c->lock);
}
