/*
 * cmd_export.c — `switchyard export`: dump the store's requests (decision, context,
 * propensity, outcome, feedback) as JSON lines for the simulator and for analysis.
 */
#include "commands.h"
#include "config.h"
#include "request_id.h"
#include "store.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char usage_text[] =
    "usage: switchyard export (--data-dir DIR | --config FILE) [--output FILE]\n"
    "\n"
    "Write every request in the LMDB store as one JSON line, in time order: request_id,\n"
    "ts_ms, key, route, model, policy, propensity, n_candidates, context (the feature\n"
    "vector the policy saw), outcome (status, latency, tokens, cost) and the current\n"
    "feedback (value, comment, tags) or null. Safe while a server is running.\n"
    "\n"
    "  -d, --data-dir DIR   the store directory (a config's data_dir)\n"
    "  -c, --config FILE    read data_dir from this configuration\n"
    "  -o, --output FILE    write here instead of standard output\n"
    "  -h, --help           show this help\n";

static void format_id(const uint8_t id[16], char *buf)
{
    sy_reqid_from_bytes(id, buf);
}

int sy_cmd_export(int argc, char **argv)
{
    static const struct option opts[] = {{"data-dir", required_argument, NULL, 'd'},
                                         {"config", required_argument, NULL, 'c'},
                                         {"output", required_argument, NULL, 'o'},
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    const char *dir = NULL, *config = NULL, *output = NULL;
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "d:c:o:h", opts, NULL)) != -1) {
        switch (c) {
        case 'd':
            dir = optarg;
            break;
        case 'c':
            config = optarg;
            break;
        case 'o':
            output = optarg;
            break;
        case 'h':
            fputs(usage_text, stdout);
            return 0;
        default:
            fputs(usage_text, stderr);
            return 2;
        }
    }
    if (optind < argc || (!dir == !config)) {
        fputs(usage_text, stderr);
        return 2;
    }
    sy_config *cfg = NULL;
    if (config) {
        sy_config_errors errs = {0};
        cfg = sy_config_load(config, &errs);
        sy_config_errors_free(&errs);
        if (!cfg) {
            fprintf(stderr,
                    "switchyard export: %s is not a valid configuration "
                    "(run switchyard check-config)\n",
                    config);
            return 1;
        }
        dir = cfg->data_dir;
    }
    /* Never map a damaged file: check it first, in a child process. */
    sy_store_report rep;
    int check = sy_store_check_isolated(dir, &rep);
    if (check < 0) {
        fprintf(stderr,
                "switchyard export: the store %s/data.mdb is damaged: %s. Nothing was "
                "exported; restore the latest backup (docs/operations.md, \"Restore\")\n",
                dir, rep.problem);
        sy_config_free(cfg);
        return 1;
    }
    if (check == 0 && sy_store_report_lost(&rep))
        fprintf(stderr,
                "switchyard export: warning: %llu damaged records in %s/data.mdb are skipped "
                "(requests %llu, ratings %llu, other %llu); see switchyard store verify\n",
                (unsigned long long)sy_store_report_lost(&rep), dir,
                (unsigned long long)rep.lost_requests, (unsigned long long)rep.lost_ratings,
                (unsigned long long)rep.lost_other);
    FILE *out = output ? fopen(output, "w") : stdout;
    if (!out) {
        perror(output);
        sy_config_free(cfg);
        return 1;
    }
    char err[512];
    long n = sy_store_export(dir, out, format_id, err, sizeof(err));
    if (output)
        fclose(out);
    else
        fflush(stdout);
    sy_config_free(cfg);
    if (n < 0) {
        fprintf(stderr, "switchyard export: %s\n", err);
        return 1;
    }
    fprintf(stderr, "exported %ld requests\n", n);
    return 0;
}
