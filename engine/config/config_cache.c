/*
 * config_cache: the "cache" block of a route or a model (docs/cache.md): the exact tier,
 * the semantic tier (an embedding model and a similarity threshold), the entries' life
 * and bound, who may see an entry (scope) and which temperatures are cached.
 *
 * Ownership: the block is read into a heap sy_cache_cfg owned by the route or model
 * (freed by sy_cfg_cache_free); its strings are owned by it.
 */
#include "config_schema.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static const char *const k_scopes[] = {"key", "shared"};
static const char *const k_temps[] = {"deterministic", "absent_or_zero", "any"};
static const char *const k_modes[] = {"threshold", "arm"};

/* A string among `choices` into *(int *)out as its index; reports anything else. */
static int read_choice(sy_cfg_loader *l, const cJSON *v, int *out, const char *const *choices,
                       size_t n)
{
    const char *s;
    if (sy_cfg_string(l, v, &s) < 0)
        return -1;
    for (size_t i = 0; i < n; i++)
        if (strcmp(s, choices[i]) == 0) {
            *out = (int)i;
            return 0;
        }
    sy_buf known = {0};
    sy_cfg_join(&known, choices, n);
    sy_cfg_err(l, "unknown value \"%s\" (one of: %s)", s, known.data);
    sy_buf_free(&known);
    return -1;
}

static int read_scope(sy_cfg_loader *l, const cJSON *v, void *out)
{
    return read_choice(l, v, out, k_scopes, SY_ARRAY_LEN(k_scopes));
}
static int read_temps(sy_cfg_loader *l, const cJSON *v, void *out)
{
    int t = 0;
    int rc = read_choice(l, v, &t, k_temps, SY_ARRAY_LEN(k_temps));
    *(sy_cache_temps *)out = (sy_cache_temps)t;
    return rc;
}
static int read_mode(sy_cfg_loader *l, const cJSON *v, void *out)
{
    int m = 0;
    int rc = read_choice(l, v, &m, k_modes, SY_ARRAY_LEN(k_modes));
    *(sy_cache_mode *)out = (sy_cache_mode)m;
    return rc;
}

/* semantic.embedding_model: a model of $.models whose kind is "embedding". */
static int check_embedding_model(sy_cfg_loader *l, const char *s, void *obj)
{
    (void)obj;
    if (!l->models)
        return 0; /* "models" is missing or malformed: already reported */
    const cJSON *m = sy_cfg_get(l->models, s);
    if (!m) {
        const char *hint = sy_cfg_suggest_key(s, l->models);
        if (hint)
            sy_cfg_err(l, "unknown model \"%s\" (did you mean \"%s\"?)", s, hint);
        else
            sy_cfg_err(l, "unknown model \"%s\" (must be a key of $.models)", s);
        return -1;
    }
    const cJSON *k = sy_cfg_get(m, "kind");
    if (!cJSON_IsString(k) || strcmp(k->valuestring, "embedding") != 0) {
        sy_cfg_err(l,
                   "\"%s\" is a chat model; the semantic tier needs a model of kind "
                   "\"embedding\"",
                   s);
        return -1;
    }
    return 0;
}

static const sy_cfg_field semantic_fields[] = {
    {.key = "embedding_model",
     .type = SY_CFG_STRING,
     .flags = SY_CFG_REQUIRED,
     .offset = offsetof(sy_cache_cfg, embedding_model),
     .max_len = SY_CONFIG_MAX_NAME,
     .what = "model name",
     .check = check_embedding_model,
     .hint = "(a model of kind \"embedding\" that embeds the latest user turn)"},
    {.key = "threshold",
     .type = SY_CFG_NUMBER,
     .flags = SY_CFG_DEFAULT,
     .offset = offsetof(sy_cache_cfg, threshold),
     .lo = 0.5,
     .hi = 1,
     .def = 0.95},
    {.key = "min_similarity", /* mode arm only; NAN until given (cache_after) */
     .type = SY_CFG_NUMBER,
     .offset = offsetof(sy_cache_cfg, min_similarity),
     .lo = 0,
     .hi = 1},
    {.key = "timeout_ms",
     .type = SY_CFG_UINT,
     .flags = SY_CFG_DEFAULT,
     .offset = offsetof(sy_cache_cfg, embed_timeout_ms),
     .lo = 10,
     .hi = 60000,
     .def = 1000},
};
/* The semantic block fills the cache struct itself (its fields are flat there). */
static const sy_cfg_schema semantic_schema = SY_CFG_SCHEMA(semantic_fields);

static int read_semantic(sy_cfg_loader *l, const cJSON *v, void *out)
{
    sy_cache_cfg *c = out;
    if (sy_cfg_walk(l, v, &semantic_schema, c) != 0)
        return -1;
    c->semantic = c->embedding_model != NULL;
    return 0;
}

static const sy_cfg_field cache_fields[] = {
    {.key = "exact",
     .type = SY_CFG_BOOL,
     .flags = SY_CFG_DEFAULT,
     .offset = offsetof(sy_cache_cfg, exact),
     .def = 1},
    {.key = "semantic", .type = SY_CFG_CUSTOM, .read = read_semantic},
    {.key = "ttl_s",
     .type = SY_CFG_UINT,
     .flags = SY_CFG_DEFAULT,
     .offset = offsetof(sy_cache_cfg, ttl_s),
     .lo = 1,
     .hi = 365 * 86400,
     .def = 3600},
    {.key = "max_entries",
     .type = SY_CFG_SIZE,
     .flags = SY_CFG_DEFAULT,
     .offset = offsetof(sy_cache_cfg, max_entries),
     .lo = 1,
     .hi = 10000000,
     .def = 10000},
    {.key = "scope",
     .type = SY_CFG_CUSTOM,
     .offset = offsetof(sy_cache_cfg, shared),
     .read = read_scope},
    {.key = "temperatures",
     .type = SY_CFG_CUSTOM,
     .offset = offsetof(sy_cache_cfg, temperatures),
     .read = read_temps},
    {.key = "mode",
     .type = SY_CFG_CUSTOM,
     .offset = offsetof(sy_cache_cfg, mode),
     .read = read_mode},
};

/* A block that caches nothing is a mistake worth naming; mode "arm" needs a route (its
 * policy) and the semantic tier, and min_similarity means something only there. The
 * route's policy kind is checked with the route (config_routes.c). */
static void cache_after(sy_cfg_loader *l, const cJSON *obj, void *out)
{
    sy_cache_cfg *c = out;
    if (!c->exact && !c->semantic)
        sy_cfg_err(l, "caches nothing: set \"exact\": true or give a \"semantic\" block (or "
                      "remove \"cache\")");
    int given = !isnan(c->min_similarity);
    if (c->mode != SY_CACHE_MODE_ARM) {
        if (given)
            sy_cfg_err(l, "\"semantic.min_similarity\" applies only with \"mode\": \"arm\"");
        return;
    }
    if (!l->route)
        sy_cfg_err(l, "\"mode\": \"arm\" needs a route's policy: a model's cache block can only "
                      "use \"threshold\"");
    else if (!sy_cfg_get(obj, "semantic")) /* a bad block was reported at its path */
        sy_cfg_err(l, "\"mode\": \"arm\" needs the semantic tier: give a \"semantic\" block "
                      "with an \"embedding_model\"");
    if (!given)
        c->min_similarity = c->threshold < 0.8 ? c->threshold : 0.8;
    else if (c->min_similarity > c->threshold)
        sy_cfg_err(l,
                   "\"semantic.min_similarity\" (%g) must not exceed \"semantic.threshold\" "
                   "(%g)",
                   c->min_similarity, c->threshold);
}

static const sy_cfg_schema cache_schema = {
    .fields = cache_fields, .n_fields = SY_ARRAY_LEN(cache_fields), .after = cache_after};

int sy_cfg_read_cache(sy_cfg_loader *l, const cJSON *v, void *out)
{
    sy_cache_cfg **slot = out;
    if (!sy_cfg_want_object(l, v))
        return -1;
    sy_cache_cfg *c = sy_xcalloc(1, sizeof(*c));
    sy_cfg_defaults(&cache_schema, c);
    c->threshold = 0.95;
    c->embed_timeout_ms = 1000;
    c->min_similarity = NAN;
    sy_cfg_walk(l, v, &cache_schema, c);
    sy_cfg_cache_free(*slot);
    *slot = c;
    return 0;
}

void sy_cfg_cache_free(sy_cache_cfg *c)
{
    if (!c)
        return;
    free(c->embedding_model);
    free(c);
}
