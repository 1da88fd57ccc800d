/*
 * store_log.c — where the store's messages go (store.h, sy_store_set_log): one JSON line
 * on stderr unless the process routes them into its log. Any thread; the destination is
 * an atomic pointer set once before the store opens.
 */
#include "store.h"

#include "store_internal.h"
#include "sy_common.h"

#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>

/* Default destination of store messages: one JSON line on stderr. */
static void log_stderr(int level, const char *msg)
{
    static const char *const names[] = {"info", "warn", "error"};
    sy_buf b = {0};
    sy_buf_printf(&b, "{\"level\":\"%s\",\"msg\":", names[level < 0 ? 0 : level > 2 ? 2 : level]);
    sy_buf_json_string(&b, msg, strlen(msg));
    sy_buf_puts(&b, "}\n");
    fwrite(b.data, 1, b.len, stderr);
    sy_buf_free(&b);
}

static _Atomic(sy_store_log_fn) log_fn = log_stderr;

void sy_store_set_log(sy_store_log_fn fn)
{
    atomic_store(&log_fn, fn ? fn : log_stderr);
}

void sy_store_log(int level, const char *fmt, ...)
{
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    atomic_load (&log_fn)(level, msg);
}
