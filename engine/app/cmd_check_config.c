/*
 * cmd_check_config.c — `switchyard check-config`: load a configuration exactly as the
 * server would and report every problem with its JSON path.
 */
#include "commands.h"
#include "config.h"
#include "provider.h"
#include "sy_common.h"
#include "warm_start.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char check_config_usage[] =
    "usage: switchyard check-config [options] FILE\n"
    "\n"
    "Validate a configuration file (FILE may be - for standard input) without starting\n"
    "the gateway. Every problem is printed on stderr as \"FILE: $.json.path: message\".\n"
    "Provider key_env (and cluster.password_env) variables missing from the current\n"
    "environment are reported as warnings (\"FILE: warning: ...\"): the file is valid,\n"
    "but `switchyard serve` would refuse to start in this environment (connect to Redis\n"
    "without AUTH). A route's warm_start file is read as serve would read it.\n"
    "\n"
    "  -q, --quiet          print errors only: no summary line, no warnings\n"
    "  -h, --help           show this help\n"
    "\n"
    "Exit status: 0 when the file is valid (a summary such as \"ok: 2 providers,\n"
    "5 models, 1 route, 1 client key\" goes to stdout), 1 when it has errors or cannot\n"
    "be read, 2 on a usage error.\n";

static const char *plural(size_t n, const char *one, const char *many)
{
    return n == 1 ? one : many;
}

/* Read all of standard input and parse it; errors as sy_config_load() reports them. */
static sy_config *load_stdin(sy_config_errors *errs)
{
    sy_buf b = {0};
    char chunk[65536];
    size_t n;
    while ((n = fread(chunk, 1, sizeof(chunk), stdin)) > 0)
        sy_buf_append(&b, chunk, n);
    sy_config *cfg = NULL;
    if (ferror(stdin)) {
        *errs = (sy_config_errors){0};
        errs->items = sy_xmalloc(sizeof(*errs->items));
        errs->items[0] = sy_xstrdup("$: cannot read standard input");
        errs->n = 1;
    } else {
        cfg = sy_config_parse(b.data ? b.data : "", b.len, "-", errs);
    }
    sy_buf_free(&b);
    return cfg;
}

/*
 * Problems a valid file can still have in this build and environment: a dialect whose
 * adapter is not compiled in is an error (the server could not serve it); an unset key
 * variable is a warning (the environment at serve time may differ). Returns the number
 * of errors printed.
 */
static size_t check_runtime(const char *name, const sy_config *cfg, int quiet)
{
    sy_buf unsupported = {0};
    size_t errors = sy_providers_unsupported(cfg, &unsupported);
    for (char *line = unsupported.data, *nl; errors && line && (nl = strchr(line, '\n'));
         line = nl + 1)
        fprintf(stderr, "%s: %.*s\n", name, (int)(nl - line), line);
    sy_buf_free(&unsupported);
    sy_buf warm = {0}; /* every route's warm_start file, read as serve would */
    size_t warm_errors = sy_warm_start_check(cfg, &warm);
    for (char *line = warm.data, *nl; warm_errors && line && (nl = strchr(line, '\n'));
         line = nl + 1)
        fprintf(stderr, "%s: %.*s\n", name, (int)(nl - line), line);
    sy_buf_free(&warm);
    errors += warm_errors;
    for (size_t i = 0; i < cfg->n_providers; i++) {
        const sy_provider_cfg *p = &cfg->providers[i];
        if (quiet || !p->key_env)
            continue;
        const char *v = getenv(p->key_env);
        if (!v)
            fprintf(stderr,
                    "%s: warning: $.providers.%s.key_env: environment variable %s is not set "
                    "(switchyard serve would refuse to start)\n",
                    name, p->name, p->key_env);
        else if (!*v)
            fprintf(stderr,
                    "%s: warning: $.providers.%s.key_env: environment variable %s is empty\n", name,
                    p->name, p->key_env);
    }
    if (!quiet && cfg->cluster.redis_url && cfg->cluster.password_env && !cfg->cluster.password)
        fprintf(stderr,
                "%s: warning: $.cluster.password_env: environment variable %s is not set or "
                "empty (switchyard serve would connect to Redis without AUTH)\n",
                name, cfg->cluster.password_env);
    return errors;
}

int sy_cmd_check_config(int argc, char **argv)
{
    static const struct option opts[] = {
        {"quiet", no_argument, 0, 'q'}, {"help", no_argument, 0, 'h'}, {0, 0, 0, 0}};
    int quiet = 0, c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "qh", opts, NULL)) != -1) {
        switch (c) {
        case 'q':
            quiet = 1;
            break;
        case 'h':
            fputs(check_config_usage, stdout);
            return 0;
        default:
            fputs(check_config_usage, stderr);
            return 2;
        }
    }
    if (argc - optind != 1) {
        fprintf(stderr, "switchyard check-config: %s\n\n",
                optind >= argc ? "missing FILE" : "expected exactly one FILE");
        fputs(check_config_usage, stderr);
        return 2;
    }
    const char *path = argv[optind];
    int from_stdin = strcmp(path, "-") == 0;
    const char *name = from_stdin ? "<stdin>" : path;

    sy_config_errors errs = {0};
    sy_config *cfg = from_stdin ? load_stdin(&errs) : sy_config_load(path, &errs);
    for (size_t i = 0; i < errs.n; i++)
        fprintf(stderr, "%s: %s\n", name, errs.items[i]);
    sy_config_errors_free(&errs);
    if (!cfg)
        return 1;

    size_t errors = check_runtime(name, cfg, quiet);
    if (!errors && !quiet)
        printf("ok: %zu %s, %zu %s, %zu %s, %zu %s\n", cfg->n_providers,
               plural(cfg->n_providers, "provider", "providers"), cfg->n_models,
               plural(cfg->n_models, "model", "models"), cfg->n_routes,
               plural(cfg->n_routes, "route", "routes"), cfg->n_client_keys,
               plural(cfg->n_client_keys, "client key", "client keys"));
    sy_config_free(cfg);
    return errors ? 1 : 0;
}
