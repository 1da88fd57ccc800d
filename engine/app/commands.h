/*
 * commands: the entry points of `switchyard <command>` that belong to the server process
 * (engine/app/main.c dispatches; the tools in sim/ declare theirs in their own headers).
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

/* `switchyard store (verify|backup) (--data-dir DIR | --config FILE) [DEST]`. */
int sy_cmd_store(int argc, char **argv);

#endif
