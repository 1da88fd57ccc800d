/*
 * fake_provider: `switchyard fake-provider`, a scripted LLM provider for tests,
 * benchmarks, the demo and the simulator's live mode (DESIGN.md §4, §14).
 *
 * One single-threaded libevent loop serves the provider dialects (OpenAI Chat
 * Completions today; one file per dialect, see fake_dialect.h) with per-model latency,
 * time to first token, pacing, content and injected faults read from a JSON scenario,
 * plus a test-only control surface under /_fake/ (stats, reset, quality, scenario
 * replacement). Behaviour, flags and the scenario format: docs/fake-provider.md.
 * The pure decision logic lives in fake_scenario.h.
 */
#ifndef SY_FAKE_PROVIDER_H
#define SY_FAKE_PROVIDER_H

/*
 * Run the subcommand; argv[0] is "fake-provider". Blocks until SIGTERM or SIGINT, then
 * frees everything and returns the process exit status: 0 after a signal or --help,
 * 1 when startup fails (unreadable or invalid scenario, bind error, port file not
 * writable), 2 on a command-line error. Installs SIGPIPE=ignore for the process.
 */
int sy_cmd_fake_provider(int argc, char **argv);

#endif
