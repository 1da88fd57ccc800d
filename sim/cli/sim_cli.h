/*
 * sim_cli: `switchyard sim`, the command line of the offline replay simulator
 * (docs/simulator.md). It reads route blocks with the gateway's config loader and drives
 * the pure simulator library (sim/). Same convention as the server's commands
 * (engine/app/commands.h): returns 0 success, 1 failure, 2 usage error.
 */
#ifndef SY_SIM_CLI_H
#define SY_SIM_CLI_H

/* `switchyard sim DATA [...]`: offline replay simulator (docs/simulator.md). */
int sy_cmd_sim(int argc, char **argv);

#endif
