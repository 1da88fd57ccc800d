/*
 * main.c — the `switchyard` binary: process-wide settings, then dispatch to a
 * subcommand.
 */
#include "commands.h"
#include "fake_provider.h"
#include "loadgen.h"
#include "log.h"
#include "sim_cli.h"
#include "store.h"

#include <gsl/gsl_errno.h>
#include <stdio.h>
#include <string.h>

#ifndef SY_VERSION
#define SY_VERSION "0.0.0"
#endif

typedef struct subcommand {
    const char *name;
    int (*run)(int argc, char **argv);
    const char *summary;
} subcommand;

static int cmd_version(int argc, char **argv);
static int cmd_help(int argc, char **argv);

static const subcommand subcommands[] = {
    {"serve", sy_cmd_serve, "run the gateway"},
    {"fake-provider", sy_cmd_fake_provider, "run a scripted fake LLM provider (tests, demo)"},
    {"check-config", sy_cmd_check_config, "validate a configuration file"},
    {"export", sy_cmd_export, "dump logged requests, outcomes and feedback as JSON lines"},
    {"store", sy_cmd_store, "verify the LMDB store, or back it up while the gateway runs"},
    {"loadgen", sy_cmd_loadgen,
     "synthetic users: requests through a route, thumbs by hidden quality"},
    {"sim", sy_cmd_sim, "offline replay simulator: evaluate policies on benchmark data or logs"},
    {"hash-key", sy_cmd_hash_key, "hash (or generate) a client or admin key for the config"},
    {"version", cmd_version, "print the version"},
    {"help", cmd_help, "show this help, or a subcommand's help"},
};

static void usage(FILE *out)
{
    fputs("usage: switchyard <command> [options]\n\nCommands:\n", out);
    for (size_t i = 0; i < sizeof(subcommands) / sizeof(subcommands[0]); i++)
        fprintf(out, "  %-14s %s\n", subcommands[i].name, subcommands[i].summary);
    fputs("\nRun 'switchyard <command> --help' for the options of a command.\n", out);
}

static const subcommand *find(const char *name)
{
    for (size_t i = 0; i < sizeof(subcommands) / sizeof(subcommands[0]); i++)
        if (strcmp(subcommands[i].name, name) == 0)
            return &subcommands[i];
    return NULL;
}

static int cmd_version(int argc, char **argv)
{
    if (argc > 1 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
        puts("usage: switchyard version\n\nPrint the version and exit.");
        return 0;
    }
    printf("switchyard %s\n", SY_VERSION);
    return 0;
}

static int cmd_help(int argc, char **argv)
{
    if (argc > 1) {
        const subcommand *c = find(argv[1]);
        if (!c) {
            fprintf(stderr, "switchyard: unknown command '%s'\n", argv[1]);
            return 2;
        }
        char *args[] = {(char *)c->name, "--help", NULL};
        return c->run(2, args);
    }
    usage(stdout);
    return 0;
}

/* Store messages become lines of the JSON log (stderr until a command opens its log). */
static void store_log(int level, const char *msg)
{
    sy_log(level >= 2 ? SY_LOG_ERROR : level == 1 ? SY_LOG_WARN : SY_LOG_INFO, "%s", msg);
}

int main(int argc, char **argv)
{
    /* GSL's default handler aborts the process on a domain error: every caller checks
     * results instead (a request must never reach an abort). */
    gsl_set_error_handler_off();
    sy_store_set_log(store_log);
    if (argc < 2) {
        usage(stderr);
        return 2;
    }
    if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)
        return cmd_help(1, argv);
    if (strcmp(argv[1], "--version") == 0)
        return cmd_version(1, argv);
    const subcommand *c = find(argv[1]);
    if (!c) {
        fprintf(stderr, "switchyard: unknown command '%s'\n\n", argv[1]);
        usage(stderr);
        return 2;
    }
    return c->run(argc - 1, argv + 1);
}
