/*
 * log: structured JSON logging (one object per line).
 *
 * Process messages (startup, reload, errors) are written at once. Per-request lines are
 * appended to a per-worker sy_logbuf and written in batches (when 32 KiB accumulate or
 * on the worker's 100 ms flush timer), so the request path makes no write() of its own.
 * Lines are never split across writes; the log fd is opened with O_APPEND.
 *
 * Secrets never reach this module: callers pass key *names*, never keys, and prompt
 * text only when log.include_prompts is on.
 */
#ifndef SY_LOG_H
#define SY_LOG_H

#include "sy_common.h"

typedef enum { SY_LOG_DEBUG = 0, SY_LOG_INFO, SY_LOG_WARN, SY_LOG_ERROR } sy_log_level;

/* Open the log destination (NULL = stderr). Returns 0 or SY_ERR_IO. Not thread-safe:
 * call before workers start. */
int sy_log_open(const char *path, const char *level);
void sy_log_close(void);

/* Write one message line now: {"ts":...,"level":...,"msg":...}. Thread-safe. */
void sy_log(sy_log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Per-worker batch of request lines. */
typedef struct sy_logbuf {
    sy_buf buf;
} sy_logbuf;

/* Start a request line in lb (writes {"ts":..,"level":"info","msg":"request"). */
void sy_logbuf_begin(sy_logbuf *lb);
void sy_logbuf_str(sy_logbuf *lb, const char *key, const char *value); /* NULL -> null */
void sy_logbuf_int(sy_logbuf *lb, const char *key, long long value);
void sy_logbuf_num(sy_logbuf *lb, const char *key, double value);
/* `json` must be valid JSON text (cJSON output); NULL -> null. */
void sy_logbuf_raw(sy_logbuf *lb, const char *key, const char *json);
void sy_logbuf_num_prec(sy_logbuf *lb, const char *key, double value, int decimals);
void sy_logbuf_bool(sy_logbuf *lb, const char *key, int value);
/* Close the line; flushes when the batch is large. */
void sy_logbuf_end(sy_logbuf *lb);
/* Write out whatever is batched (worker timer, shutdown). */
void sy_logbuf_flush(sy_logbuf *lb);

#endif
