/*
 * loadgen: `switchyard loadgen`, synthetic users against a running gateway (demo,
 * benchmarks). A tool beside the server: it talks to it only over HTTP.
 * Same convention as the server's commands (engine/app/commands.h): argv[0] is the
 * command's name; returns 0 success, 1 failure, 2 usage error.
 */
#ifndef SY_LOADGEN_H
#define SY_LOADGEN_H

/* `switchyard loadgen --url U --key K --route R --fake F [...]`: synthetic users.
 * `switchyard loadgen cache-calibrate ...` runs sy_cmd_cache_calibrate instead. */
int sy_cmd_loadgen(int argc, char **argv);

/* `switchyard loadgen cache-calibrate --pairs F --url U --key K --model M [...]`: the
 * semantic cache's threshold for an embedding model (cmd_calibrate.c). argv[0] is
 * "cache-calibrate". */
int sy_cmd_cache_calibrate(int argc, char **argv);

#endif
