#include "log.h"

#include "clock.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define LOGBUF_FLUSH_BYTES (32 * 1024)

static int log_fd = 2;
static sy_log_level log_min = SY_LOG_INFO;
static const char *level_names[] = {"debug", "info", "warn", "error"};

int sy_log_open(const char *path, const char *level)
{
    for (size_t i = 0; level && i < SY_ARRAY_LEN(level_names); i++)
        if (strcmp(level, level_names[i]) == 0)
            log_min = (sy_log_level)i;
    if (!path)
        return 0;
    int fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640);
    if (fd < 0) {
        fprintf(stderr, "switchyard: cannot open log %s: %s\n", path, strerror(errno));
        return SY_ERR_IO;
    }
    log_fd = fd;
    return 0;
}

void sy_log_close(void)
{
    if (log_fd > 2)
        close(log_fd);
    log_fd = 2;
}

/* Write all of buf (a whole number of lines) in as few write() calls as possible. */
static void write_all(const char *p, size_t n)
{
    while (n > 0) {
        ssize_t w = write(log_fd, p, n);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            return; /* a broken log destination must not stop serving */
        }
        p += w;
        n -= (size_t)w;
    }
}

/* RFC 3339 UTC timestamp with milliseconds. */
static void put_ts(sy_buf *b)
{
    uint64_t ms = sy_wall_ms();
    time_t s = (time_t)(ms / 1000);
    struct tm tm;
    gmtime_r(&s, &tm);
    char ts[40];
    strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%S", &tm);
    sy_buf_printf(b, "{\"ts\":\"%s.%03uZ\"", ts, (unsigned)(ms % 1000));
}

void sy_log(sy_log_level level, const char *fmt, ...)
{
    if (level < log_min)
        return;
    char msg[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    sy_buf b = {0};
    put_ts(&b);
    sy_buf_printf(&b, ",\"level\":\"%s\",\"msg\":", level_names[level]);
    sy_buf_json_string(&b, msg, strlen(msg));
    sy_buf_puts(&b, "}\n");
    write_all(b.data, b.len);
    sy_buf_free(&b);
}

void sy_logbuf_begin(sy_logbuf *lb)
{
    put_ts(&lb->buf);
    sy_buf_puts(&lb->buf, ",\"level\":\"info\",\"msg\":\"request\"");
}

static void key(sy_logbuf *lb, const char *k)
{
    sy_buf_append(&lb->buf, ",\"", 2);
    sy_buf_puts(&lb->buf, k);
    sy_buf_append(&lb->buf, "\":", 2);
}

void sy_logbuf_str(sy_logbuf *lb, const char *k, const char *value)
{
    key(lb, k);
    if (value)
        sy_buf_json_string(&lb->buf, value, strlen(value));
    else
        sy_buf_puts(&lb->buf, "null");
}

void sy_logbuf_int(sy_logbuf *lb, const char *k, long long value)
{
    key(lb, k);
    char digits[24], *p = digits + sizeof(digits);
    unsigned long long u = value < 0 ? 0ull - (unsigned long long)value : (unsigned long long)value;
    do
        *--p = (char)('0' + u % 10);
    while (u /= 10);
    if (value < 0)
        *--p = '-';
    sy_buf_append(&lb->buf, p, (size_t)(digits + sizeof(digits) - p));
}

void sy_logbuf_num(sy_logbuf *lb, const char *k, double value)
{
    key(lb, k);
    sy_buf_printf(&lb->buf, "%.3f", value);
}

void sy_logbuf_raw(sy_logbuf *lb, const char *k, const char *json)
{
    key(lb, k);
    sy_buf_puts(&lb->buf, json ? json : "null");
}

void sy_logbuf_num_prec(sy_logbuf *lb, const char *k, double value, int decimals)
{
    key(lb, k);
    sy_buf_printf(&lb->buf, "%.*f", decimals, value);
}

void sy_logbuf_bool(sy_logbuf *lb, const char *k, int value)
{
    key(lb, k);
    sy_buf_puts(&lb->buf, value ? "true" : "false");
}

void sy_logbuf_end(sy_logbuf *lb)
{
    sy_buf_append(&lb->buf, "}\n", 2);
    if (lb->buf.len >= LOGBUF_FLUSH_BYTES)
        sy_logbuf_flush(lb);
}

void sy_logbuf_flush(sy_logbuf *lb)
{
    if (lb->buf.len == 0)
        return;
    write_all(lb->buf.data, lb->buf.len);
    sy_buf_reset(&lb->buf);
}
