/*
 * config_keys: the "client_keys" section — who may call the gateway: a name for logs,
 * the SHA-256 of the bearer token (never the token), and per-key abuse limits. Names
 * and digests are unique.
 */
#include "config_schema.h"

#include <stdlib.h>
#include <string.h>

/* The index of key k in the config being loaded. */
static size_t key_index(const sy_cfg_loader *l, const sy_client_key_cfg *k)
{
    return (size_t)(k - l->cfg->client_keys);
}

/* A name used by an earlier key is reported (and still stored, as the first one wins). */
static int check_name_unique(sy_cfg_loader *l, const char *s, void *obj)
{
    size_t i = key_index(l, obj);
    for (size_t j = 0; j < i; j++)
        if (l->cfg->client_keys[j].name && strcmp(l->cfg->client_keys[j].name, s) == 0) {
            sy_cfg_err(l, "duplicate client key name \"%s\" (also at index %zu)", s, j);
            break;
        }
    return 0;
}

/* "sha256": a digest, not the same as an earlier key's. */
static int read_digest(sy_cfg_loader *l, const cJSON *v, void *out)
{
    sy_client_key_cfg *k = out;
    size_t i = key_index(l, k);
    if (!sy_cfg_digest(l, v, k->sha256))
        return -1;
    l->key_valid[i] = 1;
    for (size_t j = 0; j < i; j++)
        if (l->key_valid[j] && memcmp(l->cfg->client_keys[j].sha256, k->sha256, 32) == 0) {
            sy_cfg_err(l, "same key as $.client_keys[%zu]", j);
            return -1;
        }
    return 0;
}

#define LIMIT(t, k, lo_, hi_)                                                                      \
    {                                                                                              \
        .key = #k, .type = t, .offset = offsetof(sy_key_limits, k), .lo = lo_, .hi = hi_           \
    }
static const sy_cfg_field limits_fields[] = {
    LIMIT(SY_CFG_UINT, requests_per_minute, 0, 100000000),
    LIMIT(SY_CFG_UINT, tokens_per_minute, 0, 4000000000u),
    LIMIT(SY_CFG_NUMBER, usd_per_day, 0, 1e9),
    LIMIT(SY_CFG_NUMBER, usd_per_month, 0, 1e9),
};
static const sy_cfg_schema limits_schema = SY_CFG_SCHEMA(limits_fields);

static const sy_cfg_field key_fields[] = {
    {.key = "name",
     .type = SY_CFG_STRING,
     .flags = SY_CFG_REQUIRED,
     .offset = offsetof(sy_client_key_cfg, name),
     .max_len = SY_CONFIG_MAX_NAME,
     .what = "key name",
     .check = check_name_unique},
    {.key = "sha256",
     .type = SY_CFG_CUSTOM,
     .flags = SY_CFG_REQUIRED,
     .read = read_digest,
     .pass = 1}, /* after the limits */
    {.key = "limits",
     .type = SY_CFG_OBJECT,
     .offset = offsetof(sy_client_key_cfg, limits),
     .sub = &limits_schema},
    {.key = "guardrails",
     .type = SY_CFG_CUSTOM,
     .offset = offsetof(sy_client_key_cfg, guardrails),
     .read = sy_cfg_read_guard_refs},
};
static const sy_cfg_schema key_schema = SY_CFG_SCHEMA(key_fields);

int sy_cfg_read_client_keys(sy_cfg_loader *l, const cJSON *v, void *out)
{
    sy_config *cfg = out;
    if (!cJSON_IsArray(v)) {
        sy_cfg_err(l, "expected an array");
        return -1;
    }
    size_t n = (size_t)cJSON_GetArraySize(v);
    if (n == 0) {
        sy_cfg_err(l, "at least one client key is required (make one with `switchyard hash-key "
                      "--generate`)");
        return -1;
    }
    cfg->client_keys = sy_xcalloc(n, sizeof(*cfg->client_keys));
    cfg->n_client_keys = n;
    l->key_valid = sy_xcalloc(n, 1);
    size_t i = 0;
    for (const cJSON *e = v->child; e; e = e->next, i++) {
        size_t mark = sy_cfg_push_index(l, i);
        sy_cfg_walk(l, e, &key_schema, &cfg->client_keys[i]);
        sy_cfg_pop(l, mark);
    }
    free(l->key_valid);
    l->key_valid = NULL;
    return 0;
}
