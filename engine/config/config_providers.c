/*
 * config_providers: the "providers" section — one upstream API per name, with its
 * dialect, base URL, the environment variable holding its key, a timeout, whether it
 * speaks OpenAI's Responses API (responses_api), and the certificates to trust for https
 * when not the system's.
 */
#include "config_schema.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define MAX_URL 2048

static const char *const k_dialects[] = {"openai", "anthropic", "gemini"};

const char *sy_dialect_name(sy_dialect d)
{
    if ((size_t)d < SY_ARRAY_LEN(k_dialects))
        return k_dialects[d];
    return "unknown";
}

static int read_dialect(sy_cfg_loader *l, const cJSON *v, void *out)
{
    const char *s;
    if (sy_cfg_string(l, v, &s) < 0)
        return -1;
    for (size_t i = 0; i < SY_ARRAY_LEN(k_dialects); i++)
        if (strcmp(s, k_dialects[i]) == 0) {
            *(sy_dialect *)out = (sy_dialect)i;
            return 0;
        }
    sy_cfg_err(l, "unknown dialect \"%s\" (known dialects: openai, anthropic, gemini)", s);
    return -1;
}

static int has_space_or_control(const char *s)
{
    for (; *s; s++)
        if ((unsigned char)*s <= 0x20 || *s == 0x7f)
            return 1;
    return 0;
}

/*
 * "base_url": stored without trailing slashes. Credentials, queries and fragments are
 * refused: paths are appended to the base, and secrets belong in the environment.
 */
static int read_base_url(sy_cfg_loader *l, const cJSON *v, void *out)
{
    const char *url;
    if (sy_cfg_string(l, v, &url) < 0)
        return -1;
    size_t scheme = strncmp(url, "https://", 8) == 0 ? 8 : strncmp(url, "http://", 7) == 0 ? 7 : 0;
    size_t n = strlen(url);
    size_t host_len = strcspn(url + scheme, "/");
    if (!scheme) {
        sy_cfg_err(l, "must start with http:// or https://");
    } else if (n > MAX_URL) {
        sy_cfg_err(l, "is longer than %d bytes", MAX_URL);
    } else if (has_space_or_control(url)) {
        sy_cfg_err(l, "must not contain spaces or control characters");
    } else if (host_len == 0) {
        sy_cfg_err(l, "has no host");
    } else if (memchr(url + scheme, '@', host_len)) {
        sy_cfg_err(l, "must not contain credentials (name the key's environment variable in "
                      "key_env)");
    } else if (strpbrk(url, "?#")) {
        sy_cfg_err(l, "must not contain a query or fragment");
    } else {
        while (n > scheme + host_len && url[n - 1] == '/')
            n--;
        *(char **)out = sy_xstrndup(url, n);
        return 0;
    }
    return -1;
}

static int is_env_name(const char *s)
{
    if (!((*s >= 'A' && *s <= 'Z') || (*s >= 'a' && *s <= 'z') || *s == '_'))
        return 0;
    for (s++; *s; s++)
        if (!((*s >= 'A' && *s <= 'Z') || (*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') ||
              *s == '_'))
            return 0;
    return 1;
}

/* "key_env" names the variable, never holds the key itself. */
static int check_key_env(sy_cfg_loader *l, const char *s, void *obj)
{
    if (*s && strlen(s) <= SY_CONFIG_MAX_NAME && is_env_name(s))
        return 0;
    sy_cfg_err(l,
               "must be the name of an environment variable ([A-Za-z_][A-Za-z0-9_]*, at most "
               "%d bytes), not the key itself",
               SY_CONFIG_MAX_NAME);
    return -1;
}

/* "ca_file": a readable file (its certificates are checked by TLS at the first call). */
static int check_ca_file(sy_cfg_loader *l, const char *s, void *obj)
{
    if (*s && access(s, R_OK) == 0)
        return 0;
    sy_cfg_err(l, "must name a readable file of PEM certificates");
    return -1;
}

/* "timeout_ms": 0 (use upstream.request_timeout_ms) or 100..86400000. */
static int read_timeout(sy_cfg_loader *l, const cJSON *v, void *out)
{
    long long t;
    if (sy_cfg_int(l, v, 0, 86400000, &t) < 0)
        return -1;
    if (t != 0 && t < 100) {
        sy_cfg_err(l, "must be 0 (use upstream.request_timeout_ms) or between 100 and 86400000");
        return -1;
    }
    *(unsigned *)out = (unsigned)t;
    return 0;
}

static const sy_cfg_field provider_fields[] = {
    {.key = "dialect",
     .type = SY_CFG_CUSTOM,
     .flags = SY_CFG_REQUIRED,
     .offset = offsetof(sy_provider_cfg, dialect),
     .read = read_dialect,
     .hint = "(one of openai, anthropic, gemini)"},
    {.key = "base_url",
     .type = SY_CFG_CUSTOM,
     .flags = SY_CFG_REQUIRED,
     .offset = offsetof(sy_provider_cfg, base_url),
     .read = read_base_url},
    {.key = "key_env",
     .type = SY_CFG_STRING,
     .flags = SY_CFG_NULLABLE,
     .offset = offsetof(sy_provider_cfg, key_env),
     .check = check_key_env},
    {.key = "timeout_ms",
     .type = SY_CFG_CUSTOM,
     .offset = offsetof(sy_provider_cfg, timeout_ms),
     .read = read_timeout},
    {.key = "responses_api",
     .type = SY_CFG_BOOL,
     .offset = offsetof(sy_provider_cfg, responses_api)},
    {.key = "ca_file",
     .type = SY_CFG_STRING,
     .flags = SY_CFG_NULLABLE,
     .offset = offsetof(sy_provider_cfg, ca_file),
     .check = check_ca_file},
};
static const sy_cfg_schema provider_schema = SY_CFG_SCHEMA(provider_fields);

/* One entry of "providers"; the current path is $.providers.<name>. */
static void parse_provider(sy_cfg_loader *l, const cJSON *v, void *out)
{
    sy_provider_cfg *p = out;
    p->name = sy_xstrdup(v->string);
    sy_cfg_check_text(l, v->string, SY_CONFIG_MAX_NAME, "provider name");
    sy_cfg_walk(l, v, &provider_schema, p);
    if (p->responses_api && p->dialect != SY_DIALECT_OPENAI)
        sy_cfg_errk(l, "responses_api",
                    "is only for providers of the openai dialect (others are "
                    "reached through the chat translation)");
}

int sy_cfg_read_providers(sy_cfg_loader *l, const cJSON *v, void *out)
{
    sy_config *cfg = out;
    cfg->providers =
        sy_cfg_map(l, v, "provider", parse_provider, sizeof(*cfg->providers), &cfg->n_providers);
    return 0;
}
