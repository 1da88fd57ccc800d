/*
 * config: switchyard.json -> sy_config, with every problem reported by JSON path.
 *
 * The entry points live here; the work is split by job:
 *   config_schema.c     the table walker and the helpers every section shares
 *   config_input.c      raw-text checks (NUL bytes, UTF-8, "\u0000" escapes)
 *   config_root.c       the top level and checks across sections
 *   config_sections.c   the plain sections (listen, admin, limits, log, ...)
 *   config_providers.c, config_models.c, config_routes.c, config_rules.c, config_keys.c
 *
 * The loader walks the cJSON tree once, validating each value as it copies it into a
 * zero-initialised sy_config that starts out holding the schema's defaults. Problems are
 * appended to the caller's error list and the walk goes on, so one run of `switchyard
 * check-config` shows everything that is wrong. Cross references (a model's provider, a
 * route's candidates, the shared model/route namespace) are resolved against the
 * "providers" and "models" objects looked up before the walk, so the order of sections
 * in the file does not matter. Only a config without a single error is returned;
 * anything else is freed through the one free path, sy_config_free().
 *
 * A value of the wrong type is reported once and not examined further; a section that
 * is not an object suppresses checks that would only repeat the same problem (models
 * are not matched against a "providers" that is not an object).
 */
#include "config.h"

#include "config_schema.h"
#include "rule_expr.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_FILE_BYTES (16u << 20) /* a config larger than this is surely a mistake */

/*
 * Parse the document (after the raw checks) and report what cJSON cannot see: NUL
 * escapes. Returns the tree (owned by the caller) or NULL after reporting.
 */
static cJSON *parse_document(sy_cfg_loader *l, const char *text, size_t len)
{
    size_t skip = (len >= 3 && memcmp(text, "\xef\xbb\xbf", 3) == 0) ? 3 : 0; /* UTF-8 BOM */
    if (sy_cfg_check_raw(l, text, len) < 0)
        return NULL;
    size_t first = skip; /* first byte that is not JSON whitespace */
    while (first < len && text[first] && strchr(" \t\r\n", text[first]))
        first++;
    if (first == len) {
        sy_cfg_err(l, "the file is empty (expected a JSON object)");
        return NULL;
    }
    char *copy = sy_xstrndup(text, len);
    const char *end = NULL;
    cJSON *root = cJSON_ParseWithLengthOpts(copy + skip, len - skip + 1, &end, 1);
    if (!root) {
        size_t off = end ? (size_t)(end - copy) : skip;
        if (off > len)
            off = len;
        sy_cfg_err_at_offset(l, "invalid JSON", copy, off);
    } else {
        sy_cfg_check_nul_escapes(l, root, text + skip, len - skip);
    }
    free(copy);
    return root;
}

/*
 * Parse text into a fresh config. The text is copied (cJSON needs a terminator), checked
 * for NUL bytes and UTF-8 validity, parsed, then validated against the root schema. The
 * config is returned only when no error was recorded; errs receives every message.
 */
sy_config *sy_config_parse(const char *text, size_t len, const char *path, sy_config_errors *errs)
{
    sy_config_errors local = {0};
    if (!errs)
        errs = &local;
    *errs = (sy_config_errors){0};
    sy_cfg_loader l = {.errs = errs};
    sy_buf_puts(&l.path, "$");

    cJSON *root = parse_document(&l, text, len);
    sy_config *cfg = NULL;
    if (root) {
        cfg = sy_xcalloc(1, sizeof(*cfg));
        cfg->path = path ? sy_xstrdup(path) : NULL;
        cfg->text = sy_xstrndup(text, len);
        cfg->text_len = len;
        sy_cfg_defaults(&sy_cfg_root_schema, cfg);
        l.cfg = cfg;
        if (cJSON_IsObject(root)) {
            const cJSON *p = sy_cfg_get(root, "providers"), *m = sy_cfg_get(root, "models");
            l.providers = cJSON_IsObject(p) ? p : NULL;
            l.models = cJSON_IsObject(m) ? m : NULL;
        }
        sy_cfg_walk(&l, root, &sy_cfg_root_schema, cfg);
        cJSON_Delete(root);
    }
    sy_buf_free(&l.path);

    if (cfg && errs->n == 0) {
        for (size_t i = 0; i < cfg->n_providers; i++) {
            sy_provider_cfg *p = &cfg->providers[i];
            const char *key = p->key_env ? getenv(p->key_env) : NULL;
            p->api_key = key ? sy_xstrdup(key) : NULL;
        }
        const char *pw = cfg->cluster.password_env ? getenv(cfg->cluster.password_env) : NULL;
        cfg->cluster.password = pw && pw[0] ? sy_xstrdup(pw) : NULL;
        return cfg;
    }
    sy_config_free(cfg);
    sy_config_errors_free(&local);
    return NULL;
}

/* Read the whole file (at most MAX_FILE_BYTES) and hand it to sy_config_parse(). */
sy_config *sy_config_load(const char *path, sy_config_errors *errs)
{
    sy_config_errors local = {0};
    if (!errs)
        errs = &local;
    *errs = (sy_config_errors){0};
    sy_buf b = {0};
    const char *problem = NULL;
    int saved = 0;
    FILE *f = path ? fopen(path, "rb") : NULL;
    if (!path) {
        problem = "no configuration file given";
    } else if (!f) {
        saved = errno;
    } else {
        char chunk[65536];
        size_t n;
        while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0) {
            sy_buf_append(&b, chunk, n);
            if (b.len > MAX_FILE_BYTES)
                break;
        }
        if (ferror(f))
            saved = errno ? errno : EIO;
        fclose(f);
        if (!saved && b.len > MAX_FILE_BYTES)
            problem = "the file is larger than 16 MiB";
    }
    if (problem || saved) {
        sy_buf msg = {0};
        if (problem)
            sy_buf_printf(&msg, "$: %s", problem);
        else
            sy_buf_printf(&msg, "$: cannot read %s: %s", path, strerror(saved));
        sy_cfg_errors_add(errs, sy_xstrdup(msg.data));
        sy_buf_free(&msg);
        sy_buf_free(&b);
        sy_config_errors_free(&local);
        return NULL;
    }
    sy_config *cfg = sy_config_parse(b.data ? b.data : "", b.len, path, errs);
    sy_buf_free(&b);
    return cfg;
}

/*
 * A route block on its own, for the simulator: the models it may name are the dataset's
 * arms. The block goes through sy_cfg_parse_route() itself, so it means exactly what it
 * means in a config file; "candidates" defaults to every arm. Errors are reported at
 * paths under "$.route".
 */
sy_route_cfg *sy_route_block_parse(const char *text, size_t len, const char *const *arm_names,
                                   size_t n_arms, sy_config_errors *errs)
{
    sy_cfg_loader l = {.errs = errs};
    sy_buf_puts(&l.path, "$");
    cJSON *root = cJSON_ParseWithLength(text, len);
    sy_route_cfg *r = NULL;
    cJSON *models = cJSON_CreateObject();
    for (size_t k = 0; k < n_arms; k++)
        cJSON_AddItemToObject(models, arm_names[k], cJSON_CreateObject());
    l.models = models;
    if (!root) {
        sy_cfg_err(&l, "the route block is not valid JSON (near byte %zu)",
                   cJSON_GetErrorPtr() ? (size_t)(cJSON_GetErrorPtr() - text) : (size_t)0);
        goto done;
    }
    if (!cJSON_IsObject(root)) {
        sy_cfg_err(&l, "the route block must be a JSON object");
        goto done;
    }
    size_t mark = sy_cfg_push_key(&l, "route");
    sy_cfg_check_nul_escapes(&l, root, text, len);
    if (!sy_cfg_get(root, "candidates")) {
        cJSON *c = cJSON_CreateArray();
        for (size_t k = 0; k < n_arms; k++)
            cJSON_AddItemToArray(c, cJSON_CreateString(arm_names[k]));
        cJSON_AddItemToObject(root, "candidates", c);
    }
    cJSON *wrap = cJSON_CreateObject();
    cJSON_AddItemToObject(wrap, "route", root);
    root = wrap;
    r = sy_xcalloc(1, sizeof(*r));
    sy_cfg_parse_route(&l, wrap->child, r);
    sy_cfg_pop(&l, mark);
    if (errs->n) {
        sy_route_cfg_free(r);
        r = NULL;
    }
done:
    cJSON_Delete(root);
    cJSON_Delete(models);
    sy_buf_free(&l.path);
    return r;
}

void sy_route_cfg_free(sy_route_cfg *r)
{
    if (!r)
        return;
    sy_cfg_route_free_members(r);
    free(r);
}

/* Free a config and everything it owns; accepts NULL and partially filled configs. */
void sy_config_free(sy_config *cfg)
{
    if (!cfg)
        return;
    free(cfg->path);
    free(cfg->text);
    free(cfg->listen.address);
    for (size_t i = 0; i < cfg->listen.n_cors_origins; i++)
        free(cfg->listen.cors_origins[i]);
    free(cfg->listen.cors_origins);
    free(cfg->admin.address);
    free(cfg->data_dir);
    free(cfg->log.level);
    free(cfg->log.path);
    free(cfg->cluster.redis_url);
    free(cfg->cluster.node_id);
    free(cfg->cluster.username);
    free(cfg->cluster.password_env);
    free(cfg->cluster.password);
    for (size_t i = 0; i < cfg->n_providers; i++) {
        sy_provider_cfg *p = &cfg->providers[i];
        free(p->name);
        free(p->base_url);
        free(p->key_env);
        free(p->ca_file);
        if (p->api_key)
            explicit_bzero(p->api_key, strlen(p->api_key));
        free(p->api_key);
    }
    free(cfg->providers);
    for (size_t i = 0; i < cfg->n_models; i++) {
        free(cfg->models[i].name);
        free(cfg->models[i].upstream_name);
        free(cfg->models[i].tier);
        free(cfg->models[i].kind);
        sy_cfg_cache_free(cfg->models[i].cache);
    }
    free(cfg->models);
    for (size_t i = 0; i < cfg->n_routes; i++)
        sy_cfg_route_free_members(&cfg->routes[i]);
    free(cfg->routes);
    for (size_t i = 0; i < cfg->n_client_keys; i++) {
        free(cfg->client_keys[i].name);
        sy_cfg_guard_refs_free(&cfg->client_keys[i].guardrails);
    }
    free(cfg->client_keys);
    sy_cfg_guardrails_free(cfg);
    free(cfg);
}

void sy_config_errors_free(sy_config_errors *errs)
{
    if (!errs)
        return;
    for (size_t i = 0; i < errs->n; i++)
        free(errs->items[i]);
    free(errs->items);
    errs->items = NULL;
    errs->n = 0;
}

const sy_model_cfg *sy_config_find_model(const sy_config *cfg, const char *name)
{
    for (size_t i = 0; i < cfg->n_models; i++)
        if (strcmp(cfg->models[i].name, name) == 0)
            return &cfg->models[i];
    return NULL;
}

const sy_route_cfg *sy_config_find_route(const sy_config *cfg, const char *name)
{
    for (size_t i = 0; i < cfg->n_routes; i++)
        if (strcmp(cfg->routes[i].name, name) == 0)
            return &cfg->routes[i];
    return NULL;
}
