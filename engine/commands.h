/*
 * commands: the entry points of `switchyard <command>` (engine/main.c dispatches).
 *
 * Each takes the arguments that follow the program name, so argv[0] is the command's own
 * name, and returns the process exit status: 0 success, 1 failure, 2 usage error. Every
 * command accepts -h/--help (usage on stdout, exit 0); a usage error prints the usage on
 * stderr and returns 2.
 */
#ifndef SY_COMMANDS_H
#define SY_COMMANDS_H

/* `switchyard check-config [--quiet] FILE`: validate a configuration file. */
int sy_cmd_check_config(int argc, char **argv);

/* `switchyard hash-key [--generate] [--name NAME]`: make a key digest for the config. */
int sy_cmd_hash_key(int argc, char **argv);

/* `switchyard serve [--config FILE] [--workers N] [--port-file FILE]`: run the gateway. */
int sy_cmd_serve(int argc, char **argv);

/* `switchyard export (--data-dir DIR | --config FILE) [--output FILE]`: dump the store. */
int sy_cmd_export(int argc, char **argv);

/* `switchyard loadgen --url U --key K --route R --fake F [...]`: synthetic users. */
int sy_cmd_loadgen(int argc, char **argv);

/* `switchyard sim DATA [...]`: offline replay simulator (docs/simulator.md). */
int sy_cmd_sim(int argc, char **argv);

#endif
