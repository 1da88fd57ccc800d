/*
 * store: the LMDB store (DESIGN.md §2, §6). One environment with named databases
 * (decisions, outcomes, feedback, arm_stats, conversations, experiments, prompts,
 * keys, meta). Keys are fixed binary (16-byte request ids; 64-byte arm keys); values
 * start with a one-byte record version.
 *
 * Threads: sy_store_open() starts the store thread, the process's only LMDB writer.
 * Any thread may submit events; submission copies the event onto a queue under a short
 * mutex (never held across I/O) and returns at once, so workers never block on disk.
 * The store thread commits events in batches (every batch_ms or batch_max events).
 * Decisions and outcomes are committed without a forced sync (MDB_NOMETASYNC: a power
 * loss may undo the last batch, never corrupt); a batch holding feedback is synced to
 * disk before any of its acknowledgements is delivered, so an acknowledged rating
 * survives any crash.
 *
 * Ownership: the store copies everything it is given. Acknowledgement callbacks run on
 * the store thread and must only hand the result to their owner (e.g. wake a worker).
 */
#ifndef SY_STORE_H
#define SY_STORE_H

#include "conversation.h"

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define SY_STORE_SCHEMA_VERSION 1
#define SY_STORE_NAME_MAX       128

typedef struct sy_store sy_store;

typedef struct sy_store_opts {
    const char *dir;             /* created if missing */
    size_t map_size;             /* initial map size in bytes */
    size_t max_map_size;         /* MDB_MAP_FULL grows the map by doubling up to this */
    unsigned batch_ms;           /* longest an event waits for its commit */
    unsigned batch_max;          /* most events per transaction */
    uint64_t feedback_window_ms; /* feedback later than this after the request: 410 */
    uint64_t conv_ttl_ms;        /* conversation state expiry (0: 24 h) */
    size_t conv_max;             /* conversations kept at most (0: 1,000,000) */
    unsigned sweep_every_ms;     /* a pass over the conversations for expired ones, in
                                    bounded steps (0: every 10 s; tests set it shorter) */
    unsigned conv_flush_ms;      /* conversation states are written behind at least this
                                    often (0: every 1,000 ms), see "Conversation state" */
} sy_store_opts;

/* What was decided for one request and how it went (one event, two records). */
typedef struct sy_store_request {
    uint8_t id[16]; /* request id, binary (big-endian ULID) */
    uint64_t ts_ms; /* wall-clock time of the request */
    char key_name[SY_STORE_NAME_MAX];
    char route[SY_STORE_NAME_MAX]; /* "" when the client named a model */
    char model[SY_STORE_NAME_MAX];
    char policy[32];
    double propensity; /* NAN when no policy chose */
    uint32_t n_candidates;
    uint32_t dim;     /* context vector length (0 = none) */
    const double *x;  /* dim values, copied */
    uint8_t conv[16]; /* conversation id (all zero: none) */
    char rule[64];    /* the escalation rule that shaped the decision, "" none */
    char prompt[80];  /* the prompt the request was rendered from, "" none */
    uint32_t prompt_version;
    char
        experiments[1280]; /* "id:variant:allocation:unit-hash,…" (engine/registry/experiments.h) */
    /* outcome */
    int32_t status;
    int stream;
    double latency_ms, ttft_ms; /* ttft NAN when none */
    int64_t prompt_tokens, completion_tokens, cached_tokens;
    int usage_estimated;
    double cost_usd;
    char error[48];
} sy_store_request;

typedef struct sy_store_feedback {
    uint8_t id[16];
    char key_name[SY_STORE_NAME_MAX]; /* the key that sent it; "" with a feedback token */
    int by_token;                     /* authorised by the request's feedback token */
    double value;                     /* in [0,1]: "up" = 1, "down" = 0 */
    uint64_t ts_ms;
    const char *comment; /* may be NULL; copied (at most 4 KiB) */
    const char *tags;    /* JSON array text or NULL; copied (at most 4 KiB) */
    int implicit;        /* a signal (a rephrase), not a user's rating: it never replaces
                            an explicit rating, and is learned with `weight` */
    double weight;       /* learning weight, (0,1]; 0 means 1 */
} sy_store_feedback;

/* Verdict on a feedback event. status: 200 stored, 404 unknown request (or another
 * key's), 410 outside the window, 503 the store could not commit. `replaced` is 1 when
 * an earlier rating was corrected. */
typedef struct sy_store_ack {
    int status;
    int replaced;
    int kept;                        /* an implicit signal left an explicit rating in place */
    int implicit, previous_implicit; /* the new and the replaced rating were signals */
    double previous;                 /* the replaced rating */
    double weight, previous_weight;
    char route[SY_STORE_NAME_MAX];
    char model[SY_STORE_NAME_MAX];
} sy_store_ack;
typedef void (*sy_store_ack_cb)(void *ud, const sy_store_ack *ack);

/* Additive statistics of one arm (route, model), read back for admin and tests. */
typedef struct sy_store_arm_stats {
    double requests, errors, latency_ms_sum, latency_ms_sq_sum, cost_usd_sum, cost_usd_sq_sum;
    double ratings, rating_sum, rating_sq_sum;
} sy_store_arm_stats;

/* Open (or create) the environment, check the schema, clear stale readers and start the
 * store thread. Returns NULL with a message in err on failure. */
sy_store *sy_store_open(const sy_store_opts *opts, char *err, size_t err_len);

/* Commit everything queued, acknowledge pending feedback, stop the thread, close. */
void sy_store_close(sy_store *s);

/* Queue a request record (decision + outcome). Never blocks on I/O. */
void sy_store_put_request(sy_store *s, const sy_store_request *r);

/* Queue feedback; cb(ud, ack) is called exactly once, on the store thread, after the
 * rating is committed and synced (200) or rejected. Without cb (an implicit signal that
 * nobody waits for) it is committed with the next batch like a request record: it
 * neither cuts the batch wait short nor forces a sync. */
void sy_store_put_feedback(sy_store *s, const sy_store_feedback *f, sy_store_ack_cb cb, void *ud);

/* The 32-byte secret for feedback tokens (created on first open, kept in meta). */
const uint8_t *sy_store_secret(const sy_store *s);

/*
 * Observing committed events (the learning loop). After each batch commits, the
 * observer is called on the store thread once per event, in queue order: every request
 * record, and every rating that was stored (status 200) together with the decision it
 * rates (its context vector included). sy_store_call() events run fn(ud) at their place
 * in that order, so a reconfiguration sees exactly the events queued before it.
 */
typedef struct sy_store_obs {
    int is_feedback;
    const sy_store_request *req; /* the request, or for feedback the rated decision */
    double value;                /* feedback: the new rating */
    int replaced;                /* feedback: it replaced `previous` */
    double previous;
    double weight, previous_weight;  /* feedback: learning weights of the new and old */
    int implicit, previous_implicit; /* feedback: the new / replaced rating was a signal */
    uint64_t ts_ms;                  /* feedback: when it was given */
} sy_store_obs;
/* obs is NULL once at the end of every committed batch. */
typedef void (*sy_store_observer)(void *ud, const sy_store_obs *obs);

/* Set before any event is queued (not thread-safe against running batches). */
void sy_store_set_observer(sy_store *s, sy_store_observer fn, void *ud);
/* Queue fn(ud) to run on the store thread after the events queued before it. */
void sy_store_call(sy_store *s, void (*fn)(void *ud), void *ud);

/*
 * Feed every stored request (decision + outcome, then its current rating if any) to fn
 * in request-id (= time) order, from one read transaction. For rebuilding learned state
 * after a restart; call it on the store thread (e.g. from sy_store_call) so that it is
 * ordered with live events. Returns the number of requests, or -1.
 */
long sy_store_replay(sy_store *s, sy_store_observer fn, void *ud);

/*
 * Conversation state (DESIGN.md §7), keyed by a 16-byte conversation id. It is soft
 * state (it steers escalation; no client was promised it) and lives apart from the
 * records: in its own LMDB environment, DIR/conversations/, committed without a forced
 * sync (MDB_NOSYNC), and written BEHIND: sy_store_put_conv() keeps the state in memory
 * (newest per conversation) and the store thread writes every pending state in one
 * transaction every conv_flush_ms (1 s) or once CONV_FLUSH_AT conversations are
 * pending, one write per conversation per flush, however many turns it had. Reads see
 * the newest state at once (cache, pending, then the environment). What a crash loses:
 * kill -9, the states of the last second; a power loss, possibly more (a damaged
 * conversation environment is replaced by an empty one at the next start). Ratings and
 * requests are never in it: their durability is unchanged.
 * Entries older than ttl_ms read as absent and are swept by the store thread; at most
 * max_entries are kept (new conversations beyond it are not stored, and counted).
 */
/* sy_conv_state: feedback/conversation.h (how a turn moves it is pure). */

int sy_store_conv_get(sy_store *s, const uint8_t id[16], uint64_t now_ms, sy_conv_state *out);
void sy_store_put_conv(sy_store *s, const uint8_t id[16], const sy_conv_state *st);

/*
 * Definitions kept by the admin API (prompts, experiments): small JSON documents keyed
 * by name in their own database. sy_store_put_def() queues the write like every other
 * event and WAITS for its commit and sync (so the caller may acknowledge it): it blocks
 * the calling thread for a batch interval, which is why only admin handlers call it.
 * Returns 0, or SY_ERR_IO when the store could not commit (map or disk full).
 * sy_store_defs_each() reads every document of a database in key order (a read
 * transaction; any thread).
 */
typedef enum { SY_STORE_DEF_PROMPTS, SY_STORE_DEF_EXPERIMENTS } sy_store_def_kind;
int sy_store_put_def(sy_store *s, sy_store_def_kind kind, const char *key, const char *json,
                     size_t len);
int sy_store_defs_each(sy_store *s, sy_store_def_kind kind,
                       void (*fn)(void *ud, const char *key, const char *json, size_t len),
                       void *ud);

/* Counters for /admin/status: events committed, batches, map size. Thread-safe. */
typedef struct sy_store_counters {
    uint64_t events, batches, feedback, map_grows, failed_batches, dropped_events;
    uint64_t conv_swept, conv_refused;
    uint64_t conv_flushes;    /* write-behind transactions of conversation states */
    uint64_t conv_unsaved;    /* states not saved: CONV_PENDING_MAX pending, or a failed write */
    uint64_t damaged_records; /* found damaged when the store was opened (and skipped) */
    size_t map_size;
} sy_store_counters;
void sy_store_counters_get(sy_store *s, sy_store_counters *out);

/* Read one arm's statistics (a read transaction; any thread). 0, or -1 when absent. */
int sy_store_arm_stats_get(sy_store *s, const char *route, const char *model,
                           sy_store_arm_stats *out);

/*
 * Export every request as one JSON line (decision, context vector, propensity, outcome
 * and the current feedback, if any), in request-id (= time) order, to out. Opens the
 * environment read-only; works while a server runs. `format_id` turns 16 bytes into
 * the printable request id. Returns the number of lines, or -1 with err set.
 */
long sy_store_export(const char *dir, FILE *out, void (*format_id)(const uint8_t id[16], char *buf),
                     char *err, size_t err_len);

/*
 * Integrity (docs/reliability.md, "A damaged store"). sy_store_check() reads
 * DIR/data.mdb without trusting it: the meta pages and every page of every tree are read
 * with pread() and checked before LMDB touches them (so a truncated or damaged file is
 * described, never a SIGBUS, SIGSEGV or assertion), then every record is decoded and
 * requests are joined with their outcomes and ratings. It pins its snapshot with a read
 * transaction, so it is safe while a server writes.
 *
 * Verdicts: structural damage (the file cannot be read safely) sets `damaged` and
 * `problem`; records that do not decode, or halves of a request whose other half is
 * gone, are counted as lost (the store can still be opened; they are skipped).
 */
typedef struct sy_store_report {
    int damaged;                /* 1: refuse this store; problem says what is wrong */
    char problem[384];          /* "" when sound */
    uint64_t requests, ratings; /* intact */
    uint64_t lost_requests, lost_ratings, lost_other; /* damaged records */
    uint64_t file_bytes, pages, free_pages, txnid;
    uint64_t elapsed_ms;
} sy_store_report;

/* 0: sound (possibly with lost records counted in r); 1: no store in dir (no
 * data.mdb); -1: damaged (r->problem). Never writes to the store. */
int sy_store_check(const char *dir, sy_store_report *r);
/* sy_store_check() in a child process, so that even a fault it did not foresee becomes
 * a verdict ("damaged: the check died by signal N") instead of the caller's death. Call
 * it before the caller opens the environment (LMDB environments must not cross fork). */
int sy_store_check_isolated(const char *dir, sy_store_report *r);
/* Total damaged records of a report. */
uint64_t sy_store_report_lost(const sy_store_report *r);

/* Hot backup: copy the store in dir to dest_dir (created; must hold no data.mdb) with
 * LMDB's compacting copy, after checking the source. 0, or -1 with err set. */
int sy_store_backup(const char *dir, const char *dest_dir, char *err, size_t err_len);

/* Where the store's error and warning messages go (default: a JSON line on stderr).
 * The process sets it once, before sy_store_open(), to route them into its log. level:
 * 0 info, 1 warning, 2 error. */
typedef void (*sy_store_log_fn)(int level, const char *msg);
void sy_store_set_log(sy_store_log_fn fn);

#endif
