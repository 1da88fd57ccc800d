/*
 * config_models: the "models" section — the public model names clients use, each on
 * one provider, with its upstream name, price and tier.
 */
#include "config_schema.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define MAX_UPSTREAM 256 /* bytes of an upstream model name */
#define MAX_PRICE    1e6 /* USD per million tokens */

/* "provider": a key of $.providers (not checked when that section is malformed). */
static int read_provider(sy_cfg_loader *l, const cJSON *v, void *out)
{
    const char *s;
    if (sy_cfg_string(l, v, &s) < 0 || !l->providers)
        return -1;
    long i = sy_cfg_member_index(l->providers, s);
    if (i >= 0) {
        *(size_t *)out = (size_t)i;
        return 0;
    }
    const char *hint = sy_cfg_suggest_key(s, l->providers);
    if (hint)
        sy_cfg_err(l, "unknown provider \"%s\" (did you mean \"%s\"?)", s, hint);
    else
        sy_cfg_err(l, "unknown provider \"%s\" (it must be a key of $.providers)", s);
    return -1;
}

#define PRICE(k, m, fl, d, h, p)                                                                   \
    {                                                                                              \
        .key = k, .type = SY_CFG_NUMBER, .flags = fl, .offset = offsetof(sy_price_cfg, m),         \
        .lo = 0, .hi = MAX_PRICE, .def = d, .hint = h, .pass = p                                   \
    }

/* cached_input and cache_write default to input: NAN until the model's after hook.
 * Required keys are read (and reported missing) first. */
static const sy_cfg_field price_fields[] = {
    PRICE("input", input, SY_CFG_REQUIRED, 0, "(USD per million input tokens)", 0),
    PRICE("cached_input", cached_input, SY_CFG_DEFAULT, NAN, NULL, 1),
    PRICE("cache_write", cache_write, SY_CFG_DEFAULT, NAN, NULL, 1),
    PRICE("output", output, SY_CFG_REQUIRED, 0, "(USD per million output tokens)", 0),
};
static const sy_cfg_schema price_schema = SY_CFG_SCHEMA(price_fields);

static const char *const k_kinds[] = {"chat", "embedding"};

/* The dialect name of provider `i` as written in $.providers (NULL when unreadable). */
static const char *provider_dialect(const sy_cfg_loader *l, size_t i)
{
    const cJSON *p = l->providers ? cJSON_GetArrayItem(l->providers, (int)i) : NULL;
    const cJSON *d = cJSON_GetObjectItemCaseSensitive(p, "dialect");
    return cJSON_IsString(d) ? d->valuestring : NULL;
}

/* The defaults that depend on other fields: upstream_name = name, cached prices = input;
 * an embedding model must be on a dialect that has embeddings (not Anthropic). */
static void model_after(sy_cfg_loader *l, const cJSON *obj, void *out)
{
    sy_model_cfg *m = out;
    m->embedding = m->kind && strcmp(m->kind, "embedding") == 0;
    const char *dialect = provider_dialect(l, m->provider);
    if (m->embedding && cJSON_GetObjectItemCaseSensitive(obj, "provider") && dialect &&
        strcmp(dialect, "anthropic") == 0)
        sy_cfg_errk(l, "kind",
                    "an embedding model cannot be on an anthropic provider (Anthropic has no "
                    "embeddings API)");
    if (m->embedding && m->cache)
        sy_cfg_errk(l, "cache",
                    "applies to chat models only (answers of an embedding model "
                    "are not cached)");
    if (!m->upstream_name)
        m->upstream_name = sy_xstrdup(m->name);
    if (isnan(m->price.cached_input))
        m->price.cached_input = m->price.input;
    if (isnan(m->price.cache_write))
        m->price.cache_write = m->price.input;
}

static const sy_cfg_field model_fields[] = {
    {.key = "provider",
     .type = SY_CFG_CUSTOM,
     .flags = SY_CFG_REQUIRED,
     .offset = offsetof(sy_model_cfg, provider),
     .read = read_provider},
    {.key = "upstream_name",
     .type = SY_CFG_STRING,
     .offset = offsetof(sy_model_cfg, upstream_name),
     .max_len = MAX_UPSTREAM,
     .what = "upstream model name"},
    {.key = "price",
     .type = SY_CFG_OBJECT,
     .flags = SY_CFG_REQUIRED,
     .offset = offsetof(sy_model_cfg, price),
     .sub = &price_schema,
     .hint = "(USD per million tokens; use {\"input\": 0, \"output\": 0} for a free model)"},
    {.key = "tier",
     .type = SY_CFG_STRING,
     .flags = SY_CFG_DEFAULT,
     .offset = offsetof(sy_model_cfg, tier),
     .def_str = "standard",
     .max_len = SY_CONFIG_MAX_NAME,
     .what = "tier"},
    {.key = "kind",
     .type = SY_CFG_STRING,
     .flags = SY_CFG_DEFAULT,
     .offset = offsetof(sy_model_cfg, kind),
     .def_str = "chat",
     .choices = k_kinds,
     .n_choices = SY_ARRAY_LEN(k_kinds)},
    {.key = "cache",
     .type = SY_CFG_CUSTOM,
     .offset = offsetof(sy_model_cfg, cache),
     .read = sy_cfg_read_cache},
};
static const sy_cfg_schema model_schema = {
    .fields = model_fields, .n_fields = SY_ARRAY_LEN(model_fields), .after = model_after};

/* One entry of "models"; the current path is $.models.<name>. */
static void parse_model(sy_cfg_loader *l, const cJSON *v, void *out)
{
    sy_model_cfg *m = out;
    m->name = sy_xstrdup(v->string);
    sy_cfg_check_text(l, v->string, SY_CONFIG_MAX_NAME, "model name");
    sy_cfg_defaults(&model_schema, m);
    sy_cfg_walk(l, v, &model_schema, m);
}

int sy_cfg_read_models(sy_cfg_loader *l, const cJSON *v, void *out)
{
    sy_config *cfg = out;
    cfg->models = sy_cfg_map(l, v, "model", parse_model, sizeof(*cfg->models), &cfg->n_models);
    return 0;
}
