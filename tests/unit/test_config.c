/*
 * test_config: loading switchyard.json — values, defaults, and the error report (JSON
 * path + message for every problem, all problems at once).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "commands.h"
#include "config.h"
#include "config_schema.h"
#include "sha256.h"
#include "sy_common.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define HEX_A "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
#define HEX_B "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
#define HEX_C "FEDCBA9876543210FEDCBA9876543210FEDCBA9876543210FEDCBA9876543210"

/* The smallest valid configuration, as three sections that tests recombine. */
#define PROVIDERS                                                                                  \
    "\"providers\": {\"openai\": {\"dialect\": \"openai\", \"base_url\": "                         \
    "\"https://api.openai.com/v1\"}}"
#define MODELS                                                                                     \
    "\"models\": {\"gpt-4o\": {\"provider\": \"openai\", \"price\": {\"input\": 2.5, \"output\": " \
    "10}}}"
#define KEYS        "\"client_keys\": [{\"name\": \"app\", \"sha256\": \"" HEX_A "\"}]"
#define BASE        PROVIDERS ", " MODELS ", " KEYS
#define WITH(extra) "{" BASE ", " extra "}"

static sy_config *parse(const char *text, sy_config_errors *errs)
{
    return sy_config_parse(text, strlen(text), "test.json", errs);
}

static void dump(const sy_config_errors *errs)
{
    for (size_t i = 0; i < errs->n; i++)
        fprintf(stderr, "    error[%zu]: %s\n", i, errs->items[i]);
}

/* Parse text that must be valid; fails the test with the messages otherwise. */
static sy_config *parse_ok(const char *text)
{
    sy_config_errors errs;
    sy_config *cfg = parse(text, &errs);
    if (!cfg || errs.n)
        dump(&errs);
    assert_non_null(cfg);
    assert_int_equal(errs.n, 0);
    sy_config_errors_free(&errs);
    return cfg;
}

static int has_error(const sy_config_errors *errs, const char *want)
{
    for (size_t i = 0; i < errs->n; i++)
        if (strstr(errs->items[i], want))
            return 1;
    return 0;
}

static void test_full_config(void **state)
{
    (void)state;
    setenv("SY_TEST_OPENAI_KEY", "sk-test-123", 1);
    unsetenv("SY_TEST_UNSET_KEY");
    const char *text =
        "{\n"
        "  \"listen\": {\"address\": \"0.0.0.0\", \"port\": 9000},\n"
        "  \"admin\": {\"address\": \"::1\", \"port\": 9001, \"key_sha256\": \"" HEX_C "\"},\n"
        "  \"workers\": 3,\n"
        "  \"data_dir\": \"/var/lib/switchyard\",\n"
        "  \"drain_timeout_ms\": 2500,\n"
        "  \"limits\": {\"max_body_bytes\": 2097152, \"max_header_bytes\": 8192,\n"
        "             \"max_headers\": 32, \"request_timeout_ms\": 5000,\n"
        "             \"idle_timeout_ms\": 30000, \"max_connections\": 1000,\n"
        "             \"max_json_depth\": 40},\n"
        "  \"upstream\": {\"connect_timeout_ms\": 1500, \"request_timeout_ms\": 60000,\n"
        "               \"stream_buffer_bytes\": 32768},\n"
        "  \"log\": {\"level\": \"debug\", \"path\": \"/var/log/sy.log\", \"requests\": false,\n"
        "          \"include_prompts\": true},\n"
        "  \"providers\": {\n"
        "    \"openai\": {\"dialect\": \"openai\", \"base_url\": \"https://api.openai.com/v1/\",\n"
        "               \"key_env\": \"SY_TEST_OPENAI_KEY\", \"timeout_ms\": 0},\n"
        "    \"claude\": {\"dialect\": \"anthropic\", \"base_url\": "
        "\"https://api.anthropic.com\",\n"
        "               \"key_env\": \"SY_TEST_UNSET_KEY\", \"timeout_ms\": 45000,\n"
        "               \"ca_file\": \"" SY_FIXTURES_DIR "/tls/cert.pem\"},\n"
        "    \"vllm\": {\"dialect\": \"openai\", \"base_url\": \"http://[::1]:8000/v1//\",\n"
        "             \"key_env\": null},\n"
        "    \"google\": {\"dialect\": \"gemini\", \"base_url\": \"https://g.example\"}\n"
        "  },\n"
        "  \"models\": {\n"
        "    \"gpt-4o\": {\"provider\": \"openai\", \"upstream_name\": \"gpt-4o-2024-08-06\",\n"
        "               \"price\": {\"input\": 2.5, \"cached_input\": 1.25, \"output\": 10},\n"
        "               \"tier\": \"strong\"},\n"
        "    \"gpt-4o-mini\": {\"provider\": \"openai\",\n"
        "                    \"price\": {\"input\": 0.15, \"output\": 0.6}},\n"
        "    \"sonnet\": {\"provider\": \"claude\", \"upstream_name\": \"claude-sonnet-4\",\n"
        "               \"price\": {\"input\": 3, \"cached_input\": 0.3, \"output\": 15},\n"
        "               \"tier\": \"strong\"},\n"
        "    \"llama\": {\"provider\": \"vllm\", \"price\": {\"input\": 0, \"output\": 0},\n"
        "              \"tier\": \"local\"}\n"
        "  },\n"
        "  \"routes\": {\n"
        "    \"chat\": {\"candidates\": [\"gpt-4o\", \"gpt-4o-mini\"], \"policy\": \"uniform\"},\n"
        "    \"cheap\": {\"candidates\": [\"llama\", \"gpt-4o-mini\", \"sonnet\"]}\n"
        "  },\n"
        "  \"client_keys\": [{\"name\": \"app\", \"sha256\": \"" HEX_A "\"},\n"
        "                  {\"name\": \"batch\", \"sha256\": \"" HEX_B "\"}]\n"
        "}\n";
    sy_config *cfg = parse_ok(text);

    assert_string_equal(cfg->path, "test.json");
    assert_string_equal(cfg->listen.address, "0.0.0.0");
    assert_int_equal(cfg->listen.port, 9000);
    assert_string_equal(cfg->admin.address, "::1");
    assert_int_equal(cfg->admin.port, 9001);
    assert_int_equal(cfg->admin_enabled, 1);
    assert_int_equal(cfg->admin_key_sha256[0], 0xfe);
    assert_int_equal(cfg->admin_key_sha256[1], 0xdc);
    assert_int_equal(cfg->admin_key_sha256[31], 0x10);
    assert_int_equal(cfg->workers, 3);
    assert_string_equal(cfg->data_dir, "/var/lib/switchyard");
    assert_int_equal(cfg->drain_timeout_ms, 2500);

    assert_int_equal(cfg->limits.max_body_bytes, 2097152);
    assert_int_equal(cfg->limits.max_header_bytes, 8192);
    assert_int_equal(cfg->limits.max_headers, 32);
    assert_int_equal(cfg->limits.request_timeout_ms, 5000);
    assert_int_equal(cfg->limits.idle_timeout_ms, 30000);
    assert_int_equal(cfg->limits.max_connections, 1000);
    assert_int_equal(cfg->limits.max_json_depth, 40);
    assert_int_equal(cfg->upstream.connect_timeout_ms, 1500);
    assert_int_equal(cfg->upstream.request_timeout_ms, 60000);
    assert_int_equal(cfg->upstream.stream_buffer_bytes, 32768);

    assert_string_equal(cfg->log.level, "debug");
    assert_string_equal(cfg->log.path, "/var/log/sy.log");
    assert_int_equal(cfg->log.requests, 0);
    assert_int_equal(cfg->log.include_prompts, 1);

    assert_int_equal(cfg->n_providers, 4);
    const sy_provider_cfg *p = &cfg->providers[0];
    assert_string_equal(p->name, "openai");
    assert_int_equal(p->dialect, SY_DIALECT_OPENAI);
    assert_string_equal(p->base_url, "https://api.openai.com/v1"); /* slash stripped */
    assert_string_equal(p->key_env, "SY_TEST_OPENAI_KEY");
    assert_string_equal(p->api_key, "sk-test-123");
    assert_int_equal(p->timeout_ms, 0);
    p = &cfg->providers[1];
    assert_string_equal(p->name, "claude");
    assert_int_equal(p->dialect, SY_DIALECT_ANTHROPIC);
    assert_string_equal(p->base_url, "https://api.anthropic.com");
    assert_string_equal(p->key_env, "SY_TEST_UNSET_KEY");
    assert_null(p->api_key);
    assert_int_equal(p->timeout_ms, 45000);
    assert_string_equal(p->ca_file, SY_FIXTURES_DIR "/tls/cert.pem");
    assert_null(cfg->providers[0].ca_file);
    p = &cfg->providers[2];
    assert_string_equal(p->base_url, "http://[::1]:8000/v1");
    assert_null(p->key_env);
    assert_null(p->api_key);
    assert_int_equal(cfg->providers[3].dialect, SY_DIALECT_GEMINI);
    assert_string_equal(sy_dialect_name(cfg->providers[3].dialect), "gemini");
    assert_string_equal(sy_dialect_name(SY_DIALECT_ANTHROPIC), "anthropic");

    assert_int_equal(cfg->n_models, 4);
    const sy_model_cfg *m = &cfg->models[0];
    assert_string_equal(m->name, "gpt-4o");
    assert_int_equal(m->provider, 0);
    assert_string_equal(m->upstream_name, "gpt-4o-2024-08-06");
    assert_true(m->price.input == 2.5);
    assert_true(m->price.cached_input == 1.25);
    assert_true(m->price.output == 10);
    assert_string_equal(m->tier, "strong");
    m = &cfg->models[1];
    assert_string_equal(m->upstream_name, "gpt-4o-mini"); /* defaults to the name */
    assert_true(m->price.cached_input == 0.15);           /* defaults to input */
    assert_true(m->price.cache_write == 0.15);            /* defaults to input */
    assert_string_equal(m->tier, "standard");
    assert_int_equal(cfg->models[2].provider, 1);
    assert_int_equal(cfg->models[3].provider, 2);
    assert_true(cfg->models[3].price.output == 0);

    assert_int_equal(cfg->n_routes, 2);
    const sy_route_cfg *r = &cfg->routes[0];
    assert_string_equal(r->name, "chat");
    assert_int_equal(r->n_candidates, 2);
    assert_int_equal(r->candidates[0], 0);
    assert_int_equal(r->candidates[1], 1);
    assert_string_equal(r->policy, "uniform");
    r = &cfg->routes[1];
    assert_int_equal(r->n_candidates, 3);
    assert_int_equal(r->candidates[0], 3);
    assert_int_equal(r->candidates[1], 1);
    assert_int_equal(r->candidates[2], 2);
    assert_string_equal(r->policy, "uniform");

    assert_int_equal(cfg->n_client_keys, 2);
    assert_string_equal(cfg->client_keys[0].name, "app");
    assert_int_equal(cfg->client_keys[0].sha256[0], 0xaa);
    assert_string_equal(cfg->client_keys[1].name, "batch");
    assert_int_equal(cfg->client_keys[1].sha256[0], 0x01);
    assert_int_equal(cfg->client_keys[1].sha256[31], 0xef);

    assert_ptr_equal(sy_config_find_model(cfg, "sonnet"), &cfg->models[2]);
    assert_null(sy_config_find_model(cfg, "chat"));
    assert_ptr_equal(sy_config_find_route(cfg, "cheap"), &cfg->routes[1]);
    assert_null(sy_config_find_route(cfg, "gpt-4o"));
    assert_null(sy_config_find_model(cfg, "GPT-4O")); /* names are case-sensitive */

    sy_config_free(cfg);
    unsetenv("SY_TEST_OPENAI_KEY");
}

static void test_defaults(void **state)
{
    (void)state;
    sy_config *cfg = parse_ok("{" BASE "}");
    long cpus = sysconf(_SC_NPROCESSORS_ONLN);
    assert_string_equal(cfg->listen.address, "127.0.0.1");
    assert_int_equal(cfg->listen.port, 8080);
    assert_string_equal(cfg->admin.address, "127.0.0.1");
    assert_int_equal(cfg->admin.port, 8081);
    assert_int_equal(cfg->admin_enabled, 0);
    assert_int_equal(cfg->workers, cpus < 1 ? 4 : cpus > 256 ? 256 : cpus);
    assert_string_equal(cfg->data_dir, "./switchyard-data");
    assert_int_equal(cfg->drain_timeout_ms, 10000);
    assert_int_equal(cfg->limits.max_body_bytes, 1048576);
    assert_int_equal(cfg->limits.max_header_bytes, 16384);
    assert_int_equal(cfg->limits.max_headers, 64);
    assert_int_equal(cfg->limits.request_timeout_ms, 10000);
    assert_int_equal(cfg->limits.idle_timeout_ms, 60000);
    assert_int_equal(cfg->limits.max_connections, 4096);
    assert_int_equal(cfg->limits.max_json_depth, 64);
    assert_int_equal(cfg->upstream.connect_timeout_ms, 5000);
    assert_int_equal(cfg->upstream.request_timeout_ms, 300000);
    assert_int_equal(cfg->upstream.stream_buffer_bytes, 65536);
    assert_string_equal(cfg->log.level, "info");
    assert_null(cfg->log.path);
    assert_int_equal(cfg->log.requests, 1);
    assert_int_equal(cfg->log.include_prompts, 0);
    assert_int_equal(cfg->n_providers, 1);
    assert_null(cfg->providers[0].key_env);
    assert_null(cfg->providers[0].api_key);
    assert_int_equal(cfg->providers[0].timeout_ms, 0);
    assert_string_equal(cfg->models[0].upstream_name, "gpt-4o");
    assert_string_equal(cfg->models[0].tier, "standard");
    assert_true(cfg->models[0].price.cached_input == 2.5);
    assert_int_equal(cfg->n_routes, 0);
    assert_null(cfg->routes);
    assert_null(cfg->cluster.redis_url); /* no section: one node, LMDB only */
    assert_null(cfg->cluster.node_id);
    assert_int_equal(cfg->cluster.summary_ttl_s, 3600);
    assert_true(cfg->cluster.budget_local_share == 0.1);
    sy_config_free(cfg);

    /* Empty optional sections keep every default; an empty routes object is fine. */
    cfg = parse_ok(WITH("\"listen\": {}, \"limits\": {}, \"upstream\": {}, \"log\": {\"path\": "
                        "null}, \"routes\": {}"));
    assert_int_equal(cfg->listen.port, 8080);
    assert_int_equal(cfg->limits.max_headers, 64);
    assert_null(cfg->log.path);
    assert_int_equal(cfg->n_routes, 0);
    sy_config_free(cfg);

    /* Without a path, cfg->path is NULL; a UTF-8 byte order mark is accepted. */
    const char *bom = "\xef\xbb\xbf{" BASE "}";
    sy_config_errors errs;
    cfg = sy_config_parse(bom, strlen(bom), NULL, &errs);
    assert_non_null(cfg);
    assert_null(cfg->path);
    assert_int_equal(errs.n, 0);
    sy_config_free(cfg);
}

/* One malformed configuration and the error it must produce. */
typedef struct bad_case {
    const char *text;
    const char *want; /* substring of one of the errors: "$.path: message" */
    size_t n;         /* exact number of errors expected */
} bad_case;

#define PROV_WITH(extra)                                                                           \
    "{\"providers\": {\"openai\": {\"dialect\": \"openai\", \"base_url\": "                        \
    "\"https://api.openai.com/v1\", " extra "}}, " MODELS ", " KEYS "}"
#define MODEL_WITH(body) "{" PROVIDERS ", \"models\": {\"gpt-4o\": " body "}, " KEYS "}"
#define ROUTE(body)      WITH("\"routes\": {\"chat\": " body "}")
#define ROUTE_NUL        WITH("\"routes\": {\"r\\u0000evil\": {\"candidates\": [\"gpt-4o\"]}}")

static const bad_case bad_cases[] = {
    /* cluster mode: a node id with the URL, and a redis:// URL */
    {WITH("\"cluster\": {\"redis_url\": \"redis://127.0.0.1:6379/0\"}"),
     "$.cluster.node_id: is required with redis_url", 1},
    {WITH("\"cluster\": {\"redis_url\": \"http://x\", \"node_id\": \"a\"}"),
     "$.cluster.redis_url: must look like redis://127.0.0.1:6379/0", 1},
    /* document level */
    {"", "$: the file is empty", 1},
    {"  \n ", "$: the file is empty", 1},
    {"{\"providers\": ", "$: invalid JSON near byte 14 (line 1, column 15)", 1},
    {"{\n  \"workers\": 2,,\n}", "$: invalid JSON near byte ", 1},
    {"{" BASE "} trailing", "$: invalid JSON near byte ", 1},
    {"{\"a\": \"\xc3\x28\"}", "$: invalid UTF-8 near byte 7", 1},
    {"[1, 2]", "$: expected an object", 1},
    {"{" MODELS ", " KEYS "}", "$: missing required key \"providers\"", 1},
    {"{" PROVIDERS ", " KEYS "}", "$: missing required key \"models\"", 1},
    {"{" PROVIDERS ", " MODELS "}", "$: missing required key \"client_keys\"", 1},
    {WITH("\"wrokers\": 2"), "$.wrokers: unknown key (did you mean \"workers\"?)", 1},
    {WITH("\"experiments\": {}"), "$.experiments: must be an array of experiment definitions", 1},
    {WITH("\"workers\": 2, \"workers\": 3"), "$.workers: duplicate key", 1},
    /* scalars */
    {WITH("\"workers\": 0"), "$.workers: must be between 1 and 256", 1},
    {WITH("\"workers\": 257"), "$.workers: must be between 1 and 256", 1},
    {WITH("\"workers\": 2.5"), "$.workers: expected an integer", 1},
    {WITH("\"workers\": \"4\""), "$.workers: expected an integer", 1},
    {WITH("\"data_dir\": \"\""), "$.data_dir: data_dir must not be empty", 1},
    {WITH("\"data_dir\": 7"), "$.data_dir: expected a string", 1},
    {WITH("\"drain_timeout_ms\": -1"), "$.drain_timeout_ms: must be between 0 and 3600000", 1},
    /* listeners */
    {WITH("\"listen\": []"), "$.listen: expected an object", 1},
    {WITH("\"listen\": {\"port\": 65536}"), "$.listen.port: must be between 0 and 65535", 1},
    {WITH("\"listen\": {\"port\": -1}"), "$.listen.port: must be between 0 and 65535", 1},
    {WITH("\"listen\": {\"port\": \"8080\"}"), "$.listen.port: expected an integer", 1},
    {WITH("\"listen\": {\"address\": \"localhost\"}"),
     "$.listen.address: must be a numeric IPv4 or IPv6 address", 1},
    {WITH("\"listen\": {\"address\": \"[::1]\"}"), "$.listen.address: must be a numeric", 1},
    {WITH("\"listen\": {\"key_sha256\": \"" HEX_B "\"}"),
     "$.listen.key_sha256: unknown key (known keys: address, port, cors_origins)", 1},
    {WITH("\"admin\": {\"key_sha256\": \"abc\"}"), "$.admin.key_sha256: expected 64 hex", 1},
    {WITH("\"admin\": {\"key_sha256\": \"" HEX_A "0\"}"), "$.admin.key_sha256: expected 64 hex", 1},
    {WITH("\"admin\": {\"key_sha256\": \"" HEX_A "\"}"),
     "$.admin.key_sha256: must differ from every client key (same as $.client_keys[0])", 1},
    {WITH("\"listen\": {\"port\": 9000}, \"admin\": {\"address\": \"0.0.0.0\", \"port\": 9000, "
          "\"key_sha256\": \"" HEX_B "\"}"),
     "$.admin.port: conflicts with $.listen", 1},
    /* limits, upstream, log */
    {WITH("\"limits\": {\"max_body_bytes\": 0}"),
     "$.limits.max_body_bytes: must be between 1024 and 1073741824", 1},
    {WITH("\"limits\": {\"max_json_depth\": 5000}"),
     "$.limits.max_json_depth: must be between 8 and 1000", 1},
    {WITH("\"limits\": {\"max_connections\": true}"),
     "$.limits.max_connections: expected an integer", 1},
    {WITH("\"upstream\": {\"request_timeout_ms\": 10}"),
     "$.upstream.request_timeout_ms: must be between 1000 and 86400000", 1},
    {WITH("\"upstream\": {\"stream_buffer\": 4096}"),
     "$.upstream.stream_buffer: unknown key (did you mean \"stream_buffer_bytes\"?)", 1},
    {WITH("\"log\": {\"level\": \"verbose\"}"),
     "$.log.level: must be one of debug, info, warn, error", 1},
    {WITH("\"log\": {\"requests\": 1}"), "$.log.requests: expected a boolean", 1},
    {WITH("\"log\": {\"path\": 3}"), "$.log.path: expected a string or null", 1},
    /* providers */
    {"{\"providers\": {}, " MODELS ", " KEYS "}", "$.providers: at least one provider is required",
     2 /* and gpt-4o's provider is unknown */},
    {"{\"providers\": [], " MODELS ", " KEYS "}", "$.providers: expected an object", 1},
    {PROV_WITH("\"dialect\": \"azure\""), "$.providers.openai.dialect: duplicate key", 1},
    {"{\"providers\": {\"openai\": {\"dialect\": \"azure\", \"base_url\": \"https://x\"}}, " MODELS
     ", " KEYS "}",
     "$.providers.openai.dialect: unknown dialect \"azure\" (known dialects: openai, anthropic, "
     "gemini)",
     1},
    {"{\"providers\": {\"openai\": {\"base_url\": \"https://x\"}}, " MODELS ", " KEYS "}",
     "$.providers.openai: missing required key \"dialect\"", 1},
    {"{\"providers\": {\"openai\": {\"dialect\": \"openai\"}}, " MODELS ", " KEYS "}",
     "$.providers.openai: missing required key \"base_url\"", 1},
    {"{\"providers\": {\"openai\": {\"dialect\": \"openai\", \"base_url\": \"ftp://x\"}}, " MODELS
     ", " KEYS "}",
     "$.providers.openai.base_url: must start with http:// or https://", 1},
    {"{\"providers\": {\"openai\": {\"dialect\": \"openai\", \"base_url\": "
     "\"https:///v1\"}}, " MODELS ", " KEYS "}",
     "$.providers.openai.base_url: has no host", 1},
    {"{\"providers\": {\"openai\": {\"dialect\": \"openai\", \"base_url\": "
     "\"https://u:p@h/v1\"}}, " MODELS ", " KEYS "}",
     "$.providers.openai.base_url: must not contain credentials", 1},
    {"{\"providers\": {\"openai\": {\"dialect\": \"openai\", \"base_url\": "
     "\"https://h/v1?k=1\"}}, " MODELS ", " KEYS "}",
     "$.providers.openai.base_url: must not contain a query or fragment", 1},
    {"{\"providers\": {\"openai\": {\"dialect\": \"openai\", \"base_url\": \"https://h "
     "/v1\"}}, " MODELS ", " KEYS "}",
     "$.providers.openai.base_url: must not contain spaces or control characters", 1},
    {PROV_WITH("\"key_env\": \"sk-abc123\""),
     "$.providers.openai.key_env: must be the name of an environment variable", 1},
    {PROV_WITH("\"key_env\": \"1KEY\""), "$.providers.openai.key_env: must be the name", 1},
    {PROV_WITH("\"key_env\": \"\""), "$.providers.openai.key_env: must be the name", 1},
    {PROV_WITH("\"timeout_ms\": 50"),
     "$.providers.openai.timeout_ms: must be 0 (use upstream.request_timeout_ms) or between 100",
     1},
    {PROV_WITH("\"api_key\": \"sk-secret\""),
     "$.providers.openai.api_key: unknown key (known keys: dialect, base_url, key_env, "
     "timeout_ms, responses_api, ca_file)",
     1},
    {PROV_WITH("\"responses_api\": \"yes\""),
     "$.providers.openai.responses_api: expected a boolean", 1},
    {"{\"providers\": {\"openai\": {\"dialect\": \"anthropic\", \"base_url\": "
     "\"https://h/v1\", \"responses_api\": true}}, " MODELS ", " KEYS "}",
     "$.providers.openai.responses_api: is only for providers of the openai dialect", 1},
    {PROV_WITH("\"ca_file\": \"/nonexistent/ca.pem\""),
     "$.providers.openai.ca_file: must name a readable file of PEM certificates", 1},
    {PROV_WITH("\"ca_file\": \"\""),
     "$.providers.openai.ca_file: must name a readable file of PEM certificates", 1},
    /* models */
    {"{" PROVIDERS ", \"models\": {}, " KEYS "}", "$.models: at least one model is required", 1},
    {MODEL_WITH("\"gpt-4o\""), "$.models.gpt-4o: expected an object", 1},
    {MODEL_WITH("{\"price\": {\"input\": 1, \"output\": 1}}"),
     "$.models.gpt-4o: missing required key \"provider\"", 1},
    {MODEL_WITH("{\"provider\": \"opneai\", \"price\": {\"input\": 1, \"output\": 1}}"),
     "$.models.gpt-4o.provider: unknown provider \"opneai\" (did you mean \"openai\"?)", 1},
    {MODEL_WITH("{\"provider\": \"azure\", \"price\": {\"input\": 1, \"output\": 1}}"),
     "$.models.gpt-4o.provider: unknown provider \"azure\" (it must be a key of $.providers)", 1},
    {MODEL_WITH("{\"provider\": \"openai\"}"), "$.models.gpt-4o: missing required key \"price\"",
     1},
    {MODEL_WITH("{\"provider\": \"openai\", \"price\": {\"output\": 1}}"),
     "$.models.gpt-4o.price: missing required key \"input\"", 1},
    {MODEL_WITH("{\"provider\": \"openai\", \"price\": {\"input\": -0.5, \"output\": 1}}"),
     "$.models.gpt-4o.price.input: must be between 0 and 1000000", 1},
    {MODEL_WITH("{\"provider\": \"openai\", \"price\": {\"input\": 1, \"output\": \"1\"}}"),
     "$.models.gpt-4o.price.output: expected a number", 1},
    {MODEL_WITH("{\"provider\": \"openai\", \"price\": {\"input\": 1, \"output\": 1, "
                "\"cached\": 1}}"),
     "$.models.gpt-4o.price.cached: unknown key (did you mean \"cached_input\"?)", 1},
    {MODEL_WITH("{\"provider\": \"openai\", \"price\": {\"input\": 1, \"output\": 1}, \"tier\": "
                "\"\"}"),
     "$.models.gpt-4o.tier: tier must not be empty", 1},
    {MODEL_WITH("{\"provider\": \"openai\", \"price\": {\"input\": 1, \"output\": 1}, "
                "\"upstream_name\": 4}"),
     "$.models.gpt-4o.upstream_name: expected a string", 1},
    {"{" PROVIDERS ", \"models\": {\"\": {\"provider\": \"openai\", \"price\": {\"input\": 1, "
     "\"output\": 1}}}, " KEYS "}",
     "$.models.: model name must not be empty", 1},
    {"{" PROVIDERS ", \"models\": {\"a\\tb\": {\"provider\": \"openai\", \"price\": {\"input\": 1, "
     "\"output\": 1}}}, " KEYS "}",
     "$.models.a?b: model name must not contain control characters", 1},
    /* routes */
    {ROUTE("{}"), "$.routes.chat: missing required key \"candidates\"", 1},
    {ROUTE("{\"candidates\": []}"), "$.routes.chat.candidates: must list at least one model", 1},
    {ROUTE("{\"candidates\": \"gpt-4o\"}"), "$.routes.chat.candidates: expected an array", 1},
    {ROUTE("{\"candidates\": [\"gpt-4o\", \"gpt-4o\"]}"),
     "$.routes.chat.candidates[1]: duplicate candidate \"gpt-4o\" (also at index 0)", 1},
    {ROUTE("{\"candidates\": [\"gpt4o\"]}"),
     "$.routes.chat.candidates[0]: unknown model \"gpt4o\" (did you mean \"gpt-4o\"?)", 1},
    {ROUTE("{\"candidates\": [\"claude\"]}"),
     "$.routes.chat.candidates[0]: unknown model \"claude\" (candidates must be keys of $.models)",
     1},
    {ROUTE("{\"candidates\": [42]}"), "$.routes.chat.candidates[0]: expected a string", 1},
    {ROUTE("{\"candidates\": [\"gpt-4o\"], \"policy\": \"thompsn\"}"),
     "$.routes.chat.policy: unknown policy \"thompsn\" (known policies: uniform, fixed, "
     "weighted, round_robin, epsilon_greedy, ucb1, linucb, thompson, linear_thompson, "
     "cluster_thompson)",
     1},
    {ROUTE("{\"candidates\": [\"gpt-4o\"], \"fallback\": true}"),
     "$.routes.chat.fallback: unknown key (known keys: candidates, policy, params, objective, "
     "half_life, priors, weights, rules, deescalate_after_good_turns, guardrails, warm_start, cache)",
     1},
    {ROUTE("{\"candidates\": [\"gpt-4o\"], \"warm_start\": {\"weight\": 2}}"),
     "$.routes.chat.warm_start: missing required key \"path\" (the full-information dataset to "
     "start from)",
     1},
    {ROUTE("{\"candidates\": [\"gpt-4o\"], \"warm_start\": {\"path\": \"w.jsonl\", "
           "\"weight\": 0}}"),
     "$.routes.chat.warm_start.weight: must be between 1e-06 and 1000000", 1},
    {ROUTE("{\"candidates\": [\"gpt-4o\"], \"policy\": \"thompson\", \"objective\": "
           "{\"cost_per_usd\": -1}}"),
     "$.routes.chat.objective.cost_per_usd: must be between 0 and 1000000000", 1},
    {ROUTE("{\"candidates\": [\"gpt-4o\"], \"policy\": \"thompson\", \"objective\": "
           "{\"cost_per_usd\": 5, \"cost_per_doubling\": 0.05}}"),
     "$.routes.chat.objective: give \"cost_per_usd\" (absolute) or \"cost_per_doubling\" "
     "(relative), not both",
     1},
    {ROUTE("{\"candidates\": [\"gpt-4o\"], \"objective\": {\"cost_per_doubling\": -1}}"),
     "$.routes.chat.objective.cost_per_doubling: must be between 0 and 1000000", 1},
    {ROUTE("{\"candidates\": [\"gpt-4o\"], \"objective\": {\"latency\": 1}}"),
     "$.routes.chat.objective.latency: unknown key", 1},
    {ROUTE("{\"candidates\": [\"gpt-4o\"], \"half_life\": {\"requests\": 10, "
           "\"seconds\": 5}}"),
     "$.routes.chat.half_life: give exactly one of \"requests\" and \"seconds\"", 1},
    {ROUTE("{\"candidates\": [\"gpt-4o\"], \"priors\": {\"gpt-5\": {\"quality\": 0.9}}}"),
     "$.routes.chat.priors.gpt-5: \"gpt-5\" is not a candidate of this route", 1},
    {ROUTE("{\"candidates\": [\"gpt-4o\"], \"priors\": {\"gpt-4o\": {\"quality\": 2}}}"),
     "$.routes.chat.priors.gpt-4o.quality: must be between 0 and 1", 1},
    {ROUTE("{\"candidates\": [\"gpt-4o\"], \"policy\": \"fixed\", \"params\": {\"fixed\": "
           "\"x\"}}"),
     "$.routes.chat.params.fixed: \"x\" is not a candidate of this route", 1},
    {ROUTE("{\"candidates\": [\"gpt-4o\"], \"policy\": \"thompson\", \"params\": {\"dim\": "
           "32}}"),
     "$.routes.chat.params: \"dim\" applies only to the contextual policies", 1},
    {ROUTE("{\"candidates\": [\"gpt-4o\"], \"policy\": \"epsilon_greedy\", \"params\": "
           "{\"epsilon\": 1.5}}"),
     "$.routes.chat.params.epsilon: must be between 0 and 1", 1},
    {ROUTE("{\"candidates\": [\"gpt-4o\"], \"rules\": [{\"when\": \"mood > 1\", \"then\": "
           "{\"deescalate\": true}}]}"),
     "$.routes.chat.rules[0].when: at 1: unknown variable 'mood'", 1},
    {ROUTE("{\"candidates\": [\"gpt-4o\"], \"rules\": [{\"when\": \"turn > 1\"}]}"),
     "$.routes.chat.rules[0]: missing required key \"then\"", 1},
    {ROUTE("{\"candidates\": [\"gpt-4o\"], \"rules\": [{\"when\": \"turn > 1\", \"then\": "
           "{\"escalate\": \"genius\"}}]}"),
     "$.routes.chat.rules[0].then.escalate: no candidate of this route has tier \"genius\"", 1},
    {ROUTE("{\"candidates\": [\"gpt-4o\"], \"rules\": [{\"when\": \"turn > 1\", \"then\": "
           "{\"pin\": \"o3\"}}]}"),
     "$.routes.chat.rules[0].then.pin: \"o3\" is not a candidate of this route", 1},
    {ROUTE("{\"candidates\": [\"gpt-4o\"], \"rules\": [{\"when\": \"turn >\", \"then\": "
           "{\"deescalate\": true}}]}"),
     "$.routes.chat.rules[0].when: at 7: unexpected end of expression", 1},
    {WITH("\"routes\": {\"gpt-4o\": {\"candidates\": [\"gpt-4o\"]}}"),
     "$.routes.gpt-4o: name is already used by a model", 1},
    /* client keys */
    {"{" PROVIDERS ", " MODELS ", \"client_keys\": []}",
     "$.client_keys: at least one client key is required", 1},
    {"{" PROVIDERS ", " MODELS ", \"client_keys\": {}}", "$.client_keys: expected an array", 1},
    {"{" PROVIDERS ", " MODELS ", \"client_keys\": [\"" HEX_A "\"]}",
     "$.client_keys[0]: expected an object", 1},
    {"{" PROVIDERS ", " MODELS ", \"client_keys\": [{\"name\": \"a\"}]}",
     "$.client_keys[0]: missing required key \"sha256\"", 1},
    {"{" PROVIDERS ", " MODELS ", \"client_keys\": [{\"sha256\": \"" HEX_A "\"}]}",
     "$.client_keys[0]: missing required key \"name\"", 1},
    {"{" PROVIDERS ", " MODELS ", \"client_keys\": [{\"name\": \"a\", \"sha256\": \"xyz\"}]}",
     "$.client_keys[0].sha256: expected 64 hex characters", 1},
    {"{" PROVIDERS ", " MODELS ", \"client_keys\": [{\"name\": \"a\", \"sha256\": \"" HEX_A
     "\"}, {\"name\": \"a\", \"sha256\": \"" HEX_B "\"}]}",
     "$.client_keys[1].name: duplicate client key name \"a\" (also at index 0)", 1},
    {"{" PROVIDERS ", " MODELS ", \"client_keys\": [{\"name\": \"a\", \"sha256\": \"" HEX_B
     "\"}, {\"name\": \"b\", \"sha256\": \"" HEX_B "\"}]}",
     "$.client_keys[1].sha256: same key as $.client_keys[0]", 1},
    {"{" PROVIDERS ", " MODELS ", \"client_keys\": [{\"name\": \"a\", \"sha256\": \"" HEX_A
     "\", \"key\": \"sk-1\"}]}",
     "$.client_keys[0].key: unknown key (known keys: name, sha256, limits, guardrails)", 1},
    {"{" PROVIDERS ", " MODELS ", \"client_keys\": [{\"name\": \"a\", \"sha256\": \"" HEX_A
     "\", \"limits\": {\"requests_per_minute\": -1}}]}",
     "$.client_keys[0].limits.requests_per_minute: must be between 0 and 100000000", 1},
    {"{" PROVIDERS ", " MODELS ", \"client_keys\": [{\"name\": \"a\", \"sha256\": \"" HEX_A
     "\", \"limits\": {\"usd_per_week\": 5}}]}",
     "$.client_keys[0].limits.usd_per_week: unknown key", 1},
};

static void test_malformed_table(void **state)
{
    (void)state;
    assert_true(SY_ARRAY_LEN(bad_cases) >= 25);
    for (size_t i = 0; i < SY_ARRAY_LEN(bad_cases); i++) {
        const bad_case *c = &bad_cases[i];
        sy_config_errors errs;
        sy_config *cfg = parse(c->text, &errs);
        int ok = !cfg && has_error(&errs, c->want) && errs.n == c->n;
        if (!ok) {
            fprintf(stderr, "case %zu: want %zu error(s) including \"%s\" for:\n  %s\n  got %zu:\n",
                    i, c->n, c->want, c->text, errs.n);
            dump(&errs);
        }
        assert_null(cfg);
        assert_true(ok);
        sy_config_errors_free(&errs);
    }
}

/* Every problem in a file is reported in one pass, in document order. */
static void test_multiple_errors(void **state)
{
    (void)state;
    const char *text =
        "{\"listen\": {\"port\": 70000, \"adress\": \"1.2.3.4\"},\n"
        " \"workers\": 0,\n"
        " \"providers\": {\"openai\": {\"dialect\": \"openia\", \"base_url\": "
        "\"api.openai.com\"}},\n"
        " \"models\": {\"gpt-4o\": {\"provider\": \"openai\", \"prcie\": {}},\n"
        "            \"mini\": {\"provider\": \"openai\", \"price\": {\"input\": -1, "
        "\"output\": 1}}},\n"
        " \"routes\": {\"chat\": {\"candidates\": [\"mini\", \"mini\", \"nano\"], \"policy\": "
        "\"best\"}},\n"
        " \"client_keys\": [{\"name\": \"app\", \"sha256\": \"nothex\"}],\n"
        " \"extra\": 1}";
    const char *want[] = {
        "$.listen.adress: unknown key (did you mean \"address\"?)",
        "$.listen.port: must be between 0 and 65535",
        "$.workers: must be between 1 and 256",
        "$.providers.openai.dialect: unknown dialect \"openia\"",
        "$.providers.openai.base_url: must start with http:// or https://",
        "$.models.gpt-4o.prcie: unknown key (did you mean \"price\"?)",
        "$.models.gpt-4o: missing required key \"price\"",
        "$.models.mini.price.input: must be between 0 and 1000000",
        "$.routes.chat.candidates[1]: duplicate candidate \"mini\"",
        "$.routes.chat.candidates[2]: unknown model \"nano\"",
        "$.routes.chat.policy: unknown policy \"best\"",
        "$.client_keys[0].sha256: expected 64 hex characters",
        "$.extra: unknown key",
    };
    sy_config_errors errs;
    sy_config *cfg = parse(text, &errs);
    assert_null(cfg);
    if (errs.n != SY_ARRAY_LEN(want))
        dump(&errs);
    assert_int_equal(errs.n, SY_ARRAY_LEN(want));
    for (size_t i = 0; i < SY_ARRAY_LEN(want); i++) {
        if (strncmp(errs.items[i], want[i], strlen(want[i])) != 0)
            dump(&errs);
        assert_true(strncmp(errs.items[i], want[i], strlen(want[i])) == 0);
    }
    sy_config_errors_free(&errs);
    assert_null(errs.items);
    assert_int_equal(errs.n, 0);
}

/* Unknown keys are caught at every depth, each with a suggestion when one is close. */
static void test_unknown_keys_at_depth(void **state)
{
    (void)state;
    const char *text =
        "{\"listen\": {\"prot\": 1},\n"
        " \"limits\": {\"max_body\": 1},\n"
        " \"log\": {\"lvel\": \"info\"},\n"
        " \"providers\": {\"openai\": {\"dialect\": \"openai\", \"base_url\": \"https://h\", "
        "\"keyenv\": \"X\"}},\n"
        " \"models\": {\"gpt-4o\": {\"provider\": \"openai\", \"price\": {\"input\": 1, "
        "\"ouput\": 2, \"output\": 2}, \"teir\": \"x\"}},\n"
        " \"routes\": {\"chat\": {\"candidates\": [\"gpt-4o\"], \"polcy\": \"uniform\"}},\n"
        " \"client_keys\": [{\"name\": \"a\", \"sha256\": \"" HEX_A "\", \"nmae\": \"b\"}],\n"
        " \"provider\": {}}";
    const char *want[] = {
        "$.listen.prot: unknown key (did you mean \"port\"?)",
        "$.limits.max_body: unknown key (did you mean \"max_body_bytes\"?)",
        "$.log.lvel: unknown key (did you mean \"level\"?)",
        "$.providers.openai.keyenv: unknown key (did you mean \"key_env\"?)",
        "$.models.gpt-4o.teir: unknown key (did you mean \"tier\"?)",
        "$.models.gpt-4o.price.ouput: unknown key (did you mean \"output\"?)",
        "$.routes.chat.polcy: unknown key (did you mean \"policy\"?)",
        "$.client_keys[0].nmae: unknown key (did you mean \"name\"?)",
        "$.provider: unknown key (did you mean \"providers\"?)",
    };
    sy_config_errors errs;
    assert_null(parse(text, &errs));
    if (errs.n != SY_ARRAY_LEN(want))
        dump(&errs);
    assert_int_equal(errs.n, SY_ARRAY_LEN(want));
    for (size_t i = 0; i < SY_ARRAY_LEN(want); i++) {
        if (!has_error(&errs, want[i]))
            fprintf(stderr, "missing: %s\n", want[i]);
        assert_true(has_error(&errs, want[i]));
    }
    sy_config_errors_free(&errs);
}

/* Provider keys come from the environment at load time, never from the file. */
static void test_env_key_resolution(void **state)
{
    (void)state;
    const char *with_a = "{\"providers\": {\"a\": {\"dialect\": \"openai\", \"base_url\": "
                         "\"https://a\", \"key_env\": \"SY_TEST_KEY_A\"}}, "
                         "\"models\": {\"m\": {\"provider\": \"a\", \"price\": {\"input\": 0, "
                         "\"output\": 0}}}, " KEYS "}";
    setenv("SY_TEST_KEY_A", "sk-from-env-a", 1);
    unsetenv("SY_TEST_KEY_B");
    sy_config *cfg = parse_ok(with_a);
    assert_string_equal(cfg->providers[0].api_key, "sk-from-env-a");
    sy_config_free(cfg);

    const char *three = "{\"providers\": {"
                        "\"a\": {\"dialect\": \"openai\", \"base_url\": \"https://a\", "
                        "\"key_env\": \"SY_TEST_KEY_A\"},"
                        "\"b\": {\"dialect\": \"anthropic\", \"base_url\": \"https://b\", "
                        "\"key_env\": \"SY_TEST_KEY_B\"},"
                        "\"c\": {\"dialect\": \"openai\", \"base_url\": \"https://c\"}}, "
                        "\"models\": {\"m\": {\"provider\": \"c\", \"price\": {\"input\": 0, "
                        "\"output\": 0}}}, " KEYS "}";
    cfg = parse_ok(three);
    assert_string_equal(cfg->providers[0].key_env, "SY_TEST_KEY_A");
    assert_string_equal(cfg->providers[0].api_key, "sk-from-env-a");
    assert_string_equal(cfg->providers[1].key_env, "SY_TEST_KEY_B");
    assert_null(cfg->providers[1].api_key); /* unset: NULL, not an error */
    assert_null(cfg->providers[2].key_env);
    assert_null(cfg->providers[2].api_key);
    assert_int_equal(cfg->models[0].provider, 2);
    sy_config_free(cfg);

    /* The key is read at load time: a later change needs a reload. */
    setenv("SY_TEST_KEY_B", "sk-b", 1);
    cfg = parse_ok(three);
    assert_string_equal(cfg->providers[1].api_key, "sk-b");
    setenv("SY_TEST_KEY_B", "changed", 1);
    assert_string_equal(cfg->providers[1].api_key, "sk-b");
    sy_config_free(cfg);
    unsetenv("SY_TEST_KEY_A");
    unsetenv("SY_TEST_KEY_B");
}

/*
 * examples/switchyard.json in the source tree, found from SY_FIXTURES_DIR by string
 * manipulation only (tests/fixtures may be absent in a checkout: Git keeps no empty
 * directories).
 */
static const char *example_path(void)
{
    static char path[4096];
    const char *fixtures = SY_FIXTURES_DIR;
    size_t n = strlen(fixtures) - strlen("/tests/fixtures");
    assert_string_equal(fixtures + n, "/tests/fixtures");
    snprintf(path, sizeof(path), "%.*s/examples/switchyard.json", (int)n, fixtures);
    return path;
}

/* Files: the shipped example is valid; unreadable files are reported at "$". */
static void test_load_files(void **state)
{
    (void)state;
    sy_config_errors errs;
    sy_config *cfg = sy_config_load(example_path(), &errs);
    if (!cfg)
        dump(&errs);
    assert_non_null(cfg);
    assert_int_equal(errs.n, 0);
    assert_true(strstr(cfg->path, "examples/switchyard.json") != NULL);
    assert_int_equal(cfg->n_providers, 2);
    assert_int_equal(cfg->n_models, 3);
    assert_int_equal(cfg->n_routes, 1);
    assert_int_equal(cfg->n_client_keys, 1);
    assert_int_equal(cfg->admin_enabled, 1);
    /* The example's documented demo keys match its digests. */
    uint8_t d[SY_SHA256_LEN];
    const char *client = "sk-sy-example-client-key-replace-me";
    sy_sha256(client, strlen(client), d);
    assert_memory_equal(d, cfg->client_keys[0].sha256, SY_SHA256_LEN);
    const char *admin = "sk-sy-example-admin-key-replace-me";
    sy_sha256(admin, strlen(admin), d);
    assert_memory_equal(d, cfg->admin_key_sha256, SY_SHA256_LEN);
    sy_config_free(cfg);

    cfg = sy_config_load("/nonexistent/switchyard.json", &errs);
    assert_null(cfg);
    assert_int_equal(errs.n, 1);
    assert_string_equal(errs.items[0],
                        "$: cannot read /nonexistent/switchyard.json: No such file or directory");
    sy_config_errors_free(&errs);

    cfg = sy_config_load("/", &errs); /* a directory */
    assert_null(cfg);
    assert_int_equal(errs.n, 1);
    assert_true(strncmp(errs.items[0], "$: cannot read ", 15) == 0);
    sy_config_errors_free(&errs);

    /* errs may be NULL when the caller only wants success or failure. */
    assert_null(sy_config_load("/nonexistent/switchyard.json", NULL));
    assert_null(sy_config_parse("{}", 2, NULL, NULL));
}

/* Text is taken by length: no terminator needed, embedded NUL bytes rejected. */
static void test_length_and_nul(void **state)
{
    (void)state;
    const char *full = "{" BASE "}GARBAGE";
    size_t len = strlen(full) - strlen("GARBAGE");
    sy_config_errors errs;
    sy_config *cfg = sy_config_parse(full, len, NULL, &errs);
    assert_non_null(cfg);
    sy_config_free(cfg);

    char with_nul[] = "{\"workers\": 2}\0{}";
    cfg = sy_config_parse(with_nul, sizeof(with_nul) - 1, NULL, &errs);
    assert_null(cfg);
    assert_int_equal(errs.n, 1);
    assert_string_equal(errs.items[0],
                        "$: invalid JSON (NUL byte) near byte 14 (line 1, column 15)");
    sy_config_errors_free(&errs);
}

/* Long and odd keys are shown safely in paths; near-misses of long names get no hint. */
static void test_paths_are_sanitised(void **state)
{
    (void)state;
    char name[300];
    memset(name, 'x', sizeof(name) - 1);
    name[sizeof(name) - 1] = '\0';
    char text[1024];
    snprintf(text, sizeof(text),
             "{" PROVIDERS ", \"models\": {\"%s\": {\"provider\": \"openai\", \"price\": "
             "{\"input\": 1, \"output\": 1}}}, " KEYS "}",
             name);
    sy_config_errors errs;
    assert_null(parse(text, &errs));
    assert_int_equal(errs.n, 1);
    /* 64 bytes of the key, then "..." */
    assert_true(strstr(errs.items[0], "$.models.xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
                                      "xxxxxxxxxxxxxx...: model name is longer than 128 bytes"));
    sy_config_errors_free(&errs);
}

/* A "\u0000" escape would silently cut a name short (cJSON decodes it to a NUL byte):
 * every string holding one is refused at its JSON path; an escaped backslash is not one. */
static void test_nul_escapes(void **state)
{
    (void)state;
    static const struct {
        const char *text;
        const char *want;
    } cases[] = {
        {ROUTE_NUL, "$.routes.r\\u0000evil: name contains a NUL character (\\u0000)"},
        {"{" PROVIDERS ", \"models\": {\"gpt\\u0000-4o\": {\"provider\": \"openai\", \"price\": "
         "{\"input\": 1, \"output\": 1}}}, " KEYS "}",
         "$.models.gpt\\u0000-4o: name contains a NUL character (\\u0000)"},
        {"{\"providers\": {\"op\\u0000enai\": {\"dialect\": \"openai\", \"base_url\": "
         "\"https://h\"}}, \"models\": {}, " KEYS "}",
         "$.providers.op\\u0000enai: name contains a NUL character"},
        {"{" PROVIDERS ", " MODELS
         ", \"client_keys\": [{\"name\": \"a\\u0000pp\", \"sha256\": \"" HEX_A "\"}]}",
         "$.client_keys[0].name: contains a NUL character (\\u0000)"},
        {WITH("\"routes\": {\"chat\": {\"candidates\": [\"gpt-4o\"], \"rules\": [{\"name\": "
              "\"x\\u0000y\", \"when\": \"turn > 1\", \"then\": {\"pin\": \"gpt-4o\"}}]}}"),
         "$.routes.chat.rules[0].name: contains a NUL character"},
        {WITH("\"data_dir\": \"/tmp/a\\u0000b\""), "$.data_dir: contains a NUL character"},
    };
    for (size_t i = 0; i < SY_ARRAY_LEN(cases); i++) {
        sy_config_errors errs;
        sy_config *cfg = parse(cases[i].text, &errs);
        if (cfg || !has_error(&errs, cases[i].want)) {
            fprintf(stderr, "case %zu: want %s\n", i, cases[i].want);
            dump(&errs);
        }
        assert_null(cfg);
        assert_true(has_error(&errs, cases[i].want));
        sy_config_errors_free(&errs);
    }
    /* "\\u0000" is a backslash followed by "u0000": a legal (if odd) name. */
    sy_config *cfg =
        parse_ok("{" PROVIDERS ", " MODELS
                 ", \"client_keys\": [{\"name\": \"a\\\\u0000pp\", \"sha256\": \"" HEX_A "\"}]}");
    assert_string_equal(cfg->client_keys[0].name, "a\\u0000pp");
    sy_config_free(cfg);
}

/* ---- the schema walker, on a schema of its own ------------------------------------ */

typedef struct demo {
    unsigned count;
    size_t bytes;
    uint16_t port;
    double ratio;
    int flag;
    char *name;
    char *level;
    char *req;
    struct {
        unsigned a;
    } sub;
} demo;

static const char *const k_demo_levels[] = {"low", "high"};

static const sy_cfg_field demo_sub_fields[] = {
    {.key = "a",
     .type = SY_CFG_UINT,
     .flags = SY_CFG_DEFAULT,
     .offset = 0,
     .lo = 0,
     .hi = 9,
     .def = 7},
};
static const sy_cfg_schema demo_sub_schema = SY_CFG_SCHEMA(demo_sub_fields);

static const sy_cfg_field demo_fields[] = {
    {.key = "count",
     .type = SY_CFG_UINT,
     .flags = SY_CFG_DEFAULT,
     .offset = offsetof(demo, count),
     .lo = 1,
     .hi = 10,
     .def = 5},
    {.key = "bytes", .type = SY_CFG_SIZE, .offset = offsetof(demo, bytes), .lo = 0, .hi = 1e9},
    {.key = "port", .type = SY_CFG_U16, .offset = offsetof(demo, port), .lo = 0, .hi = 65535},
    {.key = "ratio",
     .type = SY_CFG_NUMBER,
     .flags = SY_CFG_DEFAULT,
     .offset = offsetof(demo, ratio),
     .lo = 0,
     .hi = 1,
     .def = 0.25},
    {.key = "flag",
     .type = SY_CFG_BOOL,
     .flags = SY_CFG_DEFAULT,
     .offset = offsetof(demo, flag),
     .def = 1},
    {.key = "name",
     .type = SY_CFG_STRING,
     .flags = SY_CFG_DEFAULT | SY_CFG_NULLABLE,
     .offset = offsetof(demo, name),
     .def_str = "anon",
     .max_len = 8,
     .what = "name"},
    {.key = "level",
     .type = SY_CFG_STRING,
     .offset = offsetof(demo, level),
     .choices = k_demo_levels,
     .n_choices = 2},
    {.key = "req",
     .type = SY_CFG_STRING,
     .flags = SY_CFG_REQUIRED,
     .offset = offsetof(demo, req),
     .hint = "(say something)"},
    {.key = "sub", .type = SY_CFG_OBJECT, .offset = offsetof(demo, sub), .sub = &demo_sub_schema},
};
static const sy_cfg_schema demo_schema = SY_CFG_SCHEMA(demo_fields);

/* Defaults, then the object in `json` read into *d at path "$.demo"; returns the errors. */
static sy_config_errors walk_demo(const char *json, demo *d)
{
    sy_config_errors errs = {0};
    sy_cfg_loader l = {.errs = &errs};
    sy_buf_puts(&l.path, "$.demo");
    memset(d, 0, sizeof(*d));
    sy_cfg_defaults(&demo_schema, d);
    cJSON *v = cJSON_Parse(json);
    assert_non_null(v);
    sy_cfg_walk(&l, v, &demo_schema, d);
    cJSON_Delete(v);
    assert_string_equal(l.path.data, "$.demo"); /* every push was popped */
    sy_buf_free(&l.path);
    return errs;
}

static void demo_free(demo *d)
{
    free(d->name);
    free(d->level);
    free(d->req);
}

/* Asserts the errors are exactly `want` (n of them), in order. */
static void expect_errors(sy_config_errors *errs, const char *const *want, size_t n)
{
    if (errs->n != n)
        dump(errs);
    assert_int_equal(errs->n, n);
    for (size_t i = 0; i < n; i++)
        assert_string_equal(errs->items[i], want[i]);
    sy_config_errors_free(errs);
}

static void test_schema_defaults_and_values(void **state)
{
    (void)state;
    demo d;
    sy_config_errors errs = walk_demo("{\"req\": \"hi\"}", &d);
    expect_errors(&errs, NULL, 0);
    assert_int_equal(d.count, 5); /* defaults applied */
    assert_true(d.ratio == 0.25);
    assert_int_equal(d.flag, 1);
    assert_string_equal(d.name, "anon");
    assert_null(d.level);
    assert_int_equal(d.sub.a, 7); /* nested defaults too, with the object absent */
    assert_string_equal(d.req, "hi");
    demo_free(&d);

    errs = walk_demo("{\"req\": \"r\", \"count\": 10, \"bytes\": 4096, \"port\": 65535, "
                     "\"ratio\": 1, \"flag\": false, \"name\": null, \"level\": \"high\", "
                     "\"sub\": {\"a\": 0}}",
                     &d);
    expect_errors(&errs, NULL, 0);
    assert_int_equal(d.count, 10);
    assert_int_equal(d.bytes, 4096);
    assert_int_equal(d.port, 65535);
    assert_true(d.ratio == 1);
    assert_int_equal(d.flag, 0);
    assert_null(d.name); /* nullable: null stores NULL over the default */
    assert_string_equal(d.level, "high");
    assert_int_equal(d.sub.a, 0);
    demo_free(&d);
}

static void test_schema_unknown_and_duplicate_keys(void **state)
{
    (void)state;
    demo d;
    sy_config_errors errs = walk_demo(
        "{\"req\": \"r\", \"cuont\": 1, \"zzz\": 2, \"sub\": {\"zz\": 1, \"a\": 1, \"a\": 2}, "
        "\"req\": \"s\"}",
        &d);
    const char *want[] = {
        "$.demo.cuont: unknown key (did you mean \"count\"?)",
        "$.demo.zzz: unknown key (known keys: count, bytes, port, ratio, flag, name, level, "
        "req, sub)",
        "$.demo.req: duplicate key (only the first one would be used)",
        "$.demo.sub.zz: unknown key (known keys: a)",
        "$.demo.sub.a: duplicate key (only the first one would be used)",
    };
    expect_errors(&errs, want, SY_ARRAY_LEN(want));
    assert_string_equal(d.req, "r"); /* the first occurrence wins */
    assert_int_equal(d.sub.a, 1);
    demo_free(&d);
}

static void test_schema_wrong_types(void **state)
{
    (void)state;
    demo d;
    sy_config_errors errs =
        walk_demo("{\"count\": \"5\", \"bytes\": 1.5, \"port\": true, \"ratio\": \"x\", "
                  "\"flag\": 1, \"name\": 3, \"level\": null, \"req\": [], \"sub\": []}",
                  &d);
    const char *want[] = {
        "$.demo.count: expected an integer", "$.demo.bytes: expected an integer",
        "$.demo.port: expected an integer",  "$.demo.ratio: expected a number",
        "$.demo.flag: expected a boolean",   "$.demo.name: expected a string or null",
        "$.demo.level: expected a string",   "$.demo.req: expected a string",
        "$.demo.sub: expected an object",
    };
    expect_errors(&errs, want, SY_ARRAY_LEN(want));
    assert_int_equal(d.count, 5); /* a refused value leaves the default */
    assert_string_equal(d.name, "anon");
    demo_free(&d);

    sy_cfg_loader l = {.errs = &errs};
    sy_buf_puts(&l.path, "$");
    cJSON *v = cJSON_Parse("[1]");
    assert_int_equal(sy_cfg_walk(&l, v, &demo_schema, &d), -1);
    cJSON_Delete(v);
    sy_buf_free(&l.path);
    const char *want_top[] = {"$: expected an object"};
    expect_errors(&errs, want_top, 1);
}

static void test_schema_ranges_and_required(void **state)
{
    (void)state;
    demo d;
    sy_config_errors errs =
        walk_demo("{\"count\": 11, \"bytes\": -1, \"port\": 65536, \"ratio\": 1.5, "
                  "\"name\": \"much too long\", \"level\": \"mid\", \"sub\": {\"a\": 10}}",
                  &d);
    const char *want[] = {
        "$.demo.count: must be between 1 and 10",
        "$.demo.bytes: must be between 0 and 1000000000",
        "$.demo.port: must be between 0 and 65535",
        "$.demo.ratio: must be between 0 and 1",
        "$.demo.name: name is longer than 8 bytes",
        "$.demo.level: must be one of low, high (got \"mid\")",
        "$.demo: missing required key \"req\" (say something)",
        "$.demo.sub.a: must be between 0 and 9",
    };
    expect_errors(&errs, want, SY_ARRAY_LEN(want));
    assert_int_equal(d.count, 5);
    assert_true(d.ratio == 0.25);
    assert_int_equal(d.sub.a, 7);
    assert_null(d.req);
    demo_free(&d);

    errs = walk_demo("{\"req\": \"\", \"name\": \"a\\tb\"}", &d);
    const char *want_text[] = {"$.demo.name: name must not contain control characters"};
    expect_errors(&errs, want_text, 1); /* req has no text rules: "" is a value */
    demo_free(&d);
}

/* Output of one command run: exit status plus everything it wrote to stdout and stderr. */
typedef struct run_result {
    int status;
    char out[8192];
    char err[8192];
} run_result;

static void read_all(int fd, char *buf, size_t cap)
{
    lseek(fd, 0, SEEK_SET);
    ssize_t n = read(fd, buf, cap - 1);
    buf[n > 0 ? n : 0] = '\0';
}

/* Run cmd with argv (NULL-terminated), stdin from `input` (or /dev/null), capturing output. */
static void run(int (*cmd)(int, char **), const char *const *argv, const char *input, run_result *r)
{
    char out_path[] = "/tmp/sy_test_out_XXXXXX", err_path[] = "/tmp/sy_test_err_XXXXXX";
    char in_path[] = "/tmp/sy_test_in_XXXXXX";
    int out_fd = mkstemp(out_path), err_fd = mkstemp(err_path), in_fd = mkstemp(in_path);
    assert_true(out_fd >= 0 && err_fd >= 0 && in_fd >= 0);
    if (input)
        assert_int_equal(write(in_fd, input, strlen(input)), (ssize_t)strlen(input));
    lseek(in_fd, 0, SEEK_SET);
    fflush(stdout);
    fflush(stderr);
    int saved[3] = {dup(0), dup(1), dup(2)};
    dup2(in_fd, 0);
    dup2(out_fd, 1);
    dup2(err_fd, 2);
    clearerr(stdin);
    int argc = 0;
    char *args[16];
    while (argv[argc]) {
        args[argc] = (char *)argv[argc];
        argc++;
    }
    args[argc] = NULL;
    r->status = cmd(argc, args);
    fflush(stdout);
    fflush(stderr);
    for (int i = 0; i < 3; i++) {
        dup2(saved[i], i);
        close(saved[i]);
    }
    clearerr(stdin);
    read_all(out_fd, r->out, sizeof(r->out));
    read_all(err_fd, r->err, sizeof(r->err));
    close(out_fd);
    close(err_fd);
    close(in_fd);
    unlink(out_path);
    unlink(err_path);
    unlink(in_path);
}

static void write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

static void test_cmd_check_config(void **state)
{
    (void)state;
    run_result r;
    const char *example = example_path();

    unsetenv("OPENAI_API_KEY");
    run(sy_cmd_check_config, (const char *[]){"check-config", example, NULL}, NULL, &r);
    assert_int_equal(r.status, 0);
    assert_string_equal(r.out, "ok: 2 providers, 3 models, 1 route, 1 client key\n");
    assert_non_null(strstr(r.err, "switchyard.json: warning: $.providers.openai.key_env: "
                                  "environment variable OPENAI_API_KEY is not set"));

    setenv("OPENAI_API_KEY", "sk-test", 1);
    run(sy_cmd_check_config, (const char *[]){"check-config", example, NULL}, NULL, &r);
    assert_int_equal(r.status, 0);
    assert_string_equal(r.err, "");
    run(sy_cmd_check_config, (const char *[]){"check-config", "--quiet", example, NULL}, NULL, &r);
    assert_int_equal(r.status, 0);
    assert_string_equal(r.out, "");
    unsetenv("OPENAI_API_KEY");
    run(sy_cmd_check_config, (const char *[]){"check-config", "-q", example, NULL}, NULL, &r);
    assert_int_equal(r.status, 0);
    assert_string_equal(r.err, ""); /* --quiet drops warnings too */

    char bad[] = "/tmp/sy_test_cfg_XXXXXX";
    int fd = mkstemp(bad);
    assert_true(fd >= 0);
    close(fd);
    write_file(bad, WITH("\"workers\": 0, \"log\": {\"lvel\": \"info\"}"));
    run(sy_cmd_check_config, (const char *[]){"check-config", bad, NULL}, NULL, &r);
    assert_int_equal(r.status, 1);
    assert_string_equal(r.out, "");
    char want[512];
    snprintf(want, sizeof(want),
             "%s: $.workers: must be between 1 and 256\n"
             "%s: $.log.lvel: unknown key (did you mean \"level\"?)\n",
             bad, bad);
    assert_string_equal(r.err, want);
    unlink(bad);

    /* Standard input, shown as <stdin>; singular counts. */
    run(sy_cmd_check_config, (const char *[]){"check-config", "-", NULL}, "{" BASE "}", &r);
    assert_int_equal(r.status, 0);
    assert_string_equal(r.out, "ok: 1 provider, 1 model, 0 routes, 1 client key\n");
    run(sy_cmd_check_config, (const char *[]){"check-config", "-", NULL}, "{", &r);
    assert_int_equal(r.status, 1);
    assert_non_null(strstr(r.err, "<stdin>: $: invalid JSON near byte"));

    /* A dialect without an adapter in this build is an error, not a crash at serve time. */
    run(sy_cmd_check_config, (const char *[]){"check-config", "-", NULL},
        "{\"providers\": {\"openai\": {\"dialect\": \"openai\", \"base_url\": \"https://x\"}, "
        "\"g\": {\"dialect\": \"gemini\", \"base_url\": \"https://g\"}}, " MODELS ", " KEYS "}",
        &r);
    if (r.status == 1)
        assert_non_null(strstr(r.err, "$.providers.g.dialect: dialect \"gemini\" is not "
                                      "supported by this build yet"));
    else
        assert_int_equal(r.status, 0);

    run(sy_cmd_check_config, (const char *[]){"check-config", "/nonexistent.json", NULL}, NULL, &r);
    assert_int_equal(r.status, 1);
    assert_string_equal(r.err, "/nonexistent.json: $: cannot read /nonexistent.json: No such "
                               "file or directory\n");

    run(sy_cmd_check_config, (const char *[]){"check-config", "--help", NULL}, NULL, &r);
    assert_int_equal(r.status, 0);
    assert_non_null(strstr(r.out, "usage: switchyard check-config [options] FILE"));
    assert_non_null(strstr(r.out, "--quiet"));
    run(sy_cmd_check_config, (const char *[]){"check-config", NULL}, NULL, &r);
    assert_int_equal(r.status, 2);
    run(sy_cmd_check_config, (const char *[]){"check-config", "a", "b", NULL}, NULL, &r);
    assert_int_equal(r.status, 2);
    run(sy_cmd_check_config, (const char *[]){"check-config", "--bogus", example, NULL}, NULL, &r);
    assert_int_equal(r.status, 2);
}

static void test_cmd_hash_key(void **state)
{
    (void)state;
    run_result r;
    /* SHA-256("abc"), newline stripped */
    run(sy_cmd_hash_key, (const char *[]){"hash-key", NULL}, "abc\n", &r);
    assert_int_equal(r.status, 0);
    assert_string_equal(
        r.out, "sha256: ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad\n");
    assert_non_null(strstr(r.err, "easy to guess")); /* short key warning */
    run(sy_cmd_hash_key, (const char *[]){"hash-key", "--name", "app", NULL}, "abc\r\n", &r);
    assert_int_equal(r.status, 0);
    assert_non_null(strstr(r.out,
                           "{\"name\": \"app\", \"sha256\": "
                           "\"ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
                           "\"}\n"));
    run(sy_cmd_hash_key, (const char *[]){"hash-key", NULL}, "", &r);
    assert_int_equal(r.status, 1);
    run(sy_cmd_hash_key, (const char *[]){"hash-key", NULL}, "\n", &r);
    assert_int_equal(r.status, 1);
    run(sy_cmd_hash_key, (const char *[]){"hash-key", NULL}, "two words\n", &r);
    assert_int_equal(r.status, 1);

    /* Generated keys: prefix + 43 base64url characters, digest of exactly that key. */
    run(sy_cmd_hash_key, (const char *[]){"hash-key", "--generate", NULL}, NULL, &r);
    assert_int_equal(r.status, 0);
    char key[128], hex[128];
    assert_int_equal(sscanf(r.out, "key: %127s\nsha256: %127s", key, hex), 2);
    assert_int_equal(strlen(key), 6 + 43);
    assert_memory_equal(key, "sk-sy-", 6);
    assert_int_equal(
        strspn(key + 6, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"), 43);
    uint8_t d[SY_SHA256_LEN];
    char want[SY_SHA256_HEX_LEN + 1];
    sy_sha256(key, strlen(key), d);
    sy_hex_encode(d, sizeof(d), want);
    assert_string_equal(hex, want);
    char key2[128];
    run(sy_cmd_hash_key, (const char *[]){"hash-key", "-g", NULL}, NULL, &r);
    assert_int_equal(sscanf(r.out, "key: %127s", key2), 1);
    assert_string_not_equal(key, key2);

    run(sy_cmd_hash_key, (const char *[]){"hash-key", "--help", NULL}, NULL, &r);
    assert_int_equal(r.status, 0);
    assert_non_null(strstr(r.out, "--generate"));
    run(sy_cmd_hash_key, (const char *[]){"hash-key", "extra", NULL}, NULL, &r);
    assert_int_equal(r.status, 2);
    run(sy_cmd_hash_key, (const char *[]){"hash-key", "--name", "a\"b", NULL}, "abc\n", &r);
    assert_int_equal(r.status, 2);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_full_config),
        cmocka_unit_test(test_defaults),
        cmocka_unit_test(test_malformed_table),
        cmocka_unit_test(test_multiple_errors),
        cmocka_unit_test(test_unknown_keys_at_depth),
        cmocka_unit_test(test_env_key_resolution),
        cmocka_unit_test(test_load_files),
        cmocka_unit_test(test_length_and_nul),
        cmocka_unit_test(test_paths_are_sanitised),
        cmocka_unit_test(test_nul_escapes),
        cmocka_unit_test(test_schema_defaults_and_values),
        cmocka_unit_test(test_schema_unknown_and_duplicate_keys),
        cmocka_unit_test(test_schema_wrong_types),
        cmocka_unit_test(test_schema_ranges_and_required),
        cmocka_unit_test(test_cmd_check_config),
        cmocka_unit_test(test_cmd_hash_key),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
