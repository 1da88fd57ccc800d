/*
 * cmd_store.c — `switchyard store verify|backup`: the operator's tools for the LMDB
 * store (docs/operations.md): an integrity check and a hot, compacting backup.
 */
#include "commands.h"
#include "config.h"
#include "store.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char usage_text[] =
    "usage: switchyard store verify (--data-dir DIR | --config FILE)\n"
    "       switchyard store backup (--data-dir DIR | --config FILE) DEST\n"
    "\n"
    "verify  check the store without changing it: the meta pages, every page of every\n"
    "        database, and every record. Exit 0 when sound; 1 when damaged or when records\n"
    "        are lost (the description says what and what to do).\n"
    "backup  copy the store to the directory DEST (created; it must not hold a store) with\n"
    "        LMDB's compacting copy, while a server may be running; the source is checked\n"
    "        first and the copy afterwards. Restore: docs/operations.md.\n"
    "\n"
    "  -d, --data-dir DIR   the store directory (a config's data_dir)\n"
    "  -c, --config FILE    read data_dir from this configuration\n"
    "  -h, --help           show this help\n";

/* Print a verification report; returns the exit status (0 sound, 1 damaged or lossy). */
static int report(const char *dir, int rc, const sy_store_report *r)
{
    if (rc == 1) {
        fprintf(stderr, "switchyard store verify: no store in %s (no data.mdb)\n", dir);
        return 1;
    }
    if (rc < 0) {
        fprintf(stderr,
                "switchyard store verify: %s/data.mdb is DAMAGED: %s\n"
                "  The gateway refuses to start on it. Restore the latest backup "
                "(docs/operations.md, \"Restore\"),\n"
                "  or move %s aside to start with an empty store.\n",
                dir, r->problem, dir);
        return 1;
    }
    uint64_t lost = sy_store_report_lost(r);
    printf("%s/data.mdb: %s\n"
           "  requests %llu, ratings %llu, damaged records %llu (requests %llu, ratings %llu, "
           "other %llu)\n"
           "  %llu bytes, %llu pages (%llu free), transaction %llu, checked in %llu ms\n",
           dir, lost ? "records LOST" : "ok", (unsigned long long)r->requests,
           (unsigned long long)r->ratings, (unsigned long long)lost,
           (unsigned long long)r->lost_requests, (unsigned long long)r->lost_ratings,
           (unsigned long long)r->lost_other, (unsigned long long)r->file_bytes,
           (unsigned long long)r->pages, (unsigned long long)r->free_pages,
           (unsigned long long)r->txnid, (unsigned long long)r->elapsed_ms);
    if (lost)
        fprintf(stderr,
                "switchyard store verify: %llu damaged records in %s/data.mdb; a server skips "
                "them (and logs it). Restore the latest backup to recover them.\n",
                (unsigned long long)lost, dir);
    return lost ? 1 : 0;
}

/* The data directory from --data-dir or --config (cfg is returned to be freed). */
static const char *resolve_dir(const char *dir, const char *config, sy_config **cfg)
{
    *cfg = NULL;
    if (dir)
        return dir;
    sy_config_errors errs = {0};
    *cfg = sy_config_load(config, &errs);
    sy_config_errors_free(&errs);
    if (!*cfg) {
        fprintf(stderr,
                "switchyard store: %s is not a valid configuration (run switchyard "
                "check-config)\n",
                config);
        return NULL;
    }
    return (*cfg)->data_dir;
}

int sy_cmd_store(int argc, char **argv)
{
    static const struct option opts[] = {{"data-dir", required_argument, NULL, 'd'},
                                         {"config", required_argument, NULL, 'c'},
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    if (argc < 2 || !strcmp(argv[1], "-h") || !strcmp(argv[1], "--help")) {
        fputs(usage_text, argc < 2 ? stderr : stdout);
        return argc < 2 ? 2 : 0;
    }
    const char *action = argv[1], *dir = NULL, *config = NULL;
    int c;
    optind = 1;
    while ((c = getopt_long(argc - 1, argv + 1, "d:c:h", opts, NULL)) != -1) {
        if (c == 'd')
            dir = optarg;
        else if (c == 'c')
            config = optarg;
        else if (c == 'h') {
            fputs(usage_text, stdout);
            return 0;
        } else {
            fputs(usage_text, stderr);
            return 2;
        }
    }
    int is_verify = !strcmp(action, "verify"), is_backup = !strcmp(action, "backup");
    int want_args = is_backup ? 1 : 0;
    if ((!is_verify && !is_backup) || !dir == !config || argc - 1 - optind != want_args) {
        fputs(usage_text, stderr);
        return 2;
    }
    sy_config *cfg;
    dir = resolve_dir(dir, config, &cfg);
    if (!dir)
        return 1;
    int status;
    if (is_verify) {
        sy_store_report r;
        status = report(dir, sy_store_check_isolated(dir, &r), &r);
    } else {
        char err[1024];
        const char *dest = argv[1 + optind];
        status = sy_store_backup(dir, dest, err, sizeof(err)) == 0 ? 0 : 1;
        if (status)
            fprintf(stderr, "switchyard store backup: %s\n", err);
        else
            printf("backed up %s to %s/data.mdb\n", dir, dest);
    }
    sy_config_free(cfg);
    return status;
}
