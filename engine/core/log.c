#include "log.h"

#include "clock.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
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

/* RFC 3339 UTC timestamp with milliseconds. Every request line starts with one, so the
 * "YYYY-MM-DDTHH:MM:SS" part is formatted once per second and thread, and the
 * milliseconds are written as three digits. */
static void put_ts(sy_buf *b)
{
    static _Thread_local time_t cached_s = -1;
    static _Thread_local char cached[32];
    static _Thread_local size_t cached_len;
    uint64_t ms = sy_wall_ms();
    time_t s = (time_t)(ms / 1000);
    if (s != cached_s) {
        struct tm tm;
        gmtime_r(&s, &tm);
        cached_len = strftime(cached, sizeof(cached), "{\"ts\":\"%Y-%m-%dT%H:%M:%S.", &tm);
        cached_s = s;
    }
    unsigned m = (unsigned)(ms % 1000);
    char tail[5] = {(char)('0' + m / 100), (char)('0' + m / 10 % 10), (char)('0' + m % 10), 'Z',
                    '"'};
    sy_buf_append(b, cached, cached_len);
    sy_buf_append(b, tail, sizeof(tail));
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

/*
 * value with exactly `decimals` digits after the point, the bytes printf("%.*f") would
 * write. Log lines carry a few such numbers and printf's float path was a tenth of a
 * request's formatting cost, so a scaled integer is written instead when that is
 * certainly the same: |value| × 10^decimals below 2^40 (its double has at least 12
 * fractional bits) and not within 1/1000 of a rounding tie. Anything else (ties, huge
 * or non-finite values) goes to printf.
 */
static void put_fixed(sy_buf *b, double value, int decimals)
{
    static const double pow10[] = {1, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9};
    double a = value < 0 ? -value : value;
    if (decimals >= 0 && decimals < (int)SY_ARRAY_LEN(pow10) && a == a) {
        double scaled = a * pow10[decimals];
        if (scaled < 1099511627776.0) { /* 2^40 */
            uint64_t whole = (uint64_t)scaled;
            double frac = scaled - (double)whole;
            if (frac < 0.499 || frac > 0.501) {
                uint64_t u = whole + (frac > 0.5);
                char digits[32], *e = digits + sizeof(digits), *q = e;
                for (int i = 0; i < decimals; i++, u /= 10)
                    *--q = (char)('0' + u % 10);
                if (decimals > 0)
                    *--q = '.';
                do
                    *--q = (char)('0' + u % 10);
                while (u /= 10);
                if (signbit(value))
                    *--q = '-';
                sy_buf_append(b, q, (size_t)(e - q));
                return;
            }
        }
    }
    sy_buf_printf(b, "%.*f", decimals, value);
}

void sy_logbuf_num(sy_logbuf *lb, const char *k, double value)
{
    key(lb, k);
    put_fixed(&lb->buf, value, 3);
}

void sy_logbuf_raw(sy_logbuf *lb, const char *k, const char *json)
{
    key(lb, k);
    sy_buf_puts(&lb->buf, json ? json : "null");
}

void sy_logbuf_num_prec(sy_logbuf *lb, const char *k, double value, int decimals)
{
    key(lb, k);
    put_fixed(&lb->buf, value, decimals);
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
