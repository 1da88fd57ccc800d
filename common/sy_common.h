/*
 * sy_common: the handful of helpers every switchyard library shares.
 *
 * Allocation failure is fatal, through one wrapper: callers never check for NULL.
 * Nothing here performs I/O or reads clocks, so pure libraries may include it.
 */
#ifndef SY_COMMON_H
#define SY_COMMON_H

#include <stddef.h>
#include <stdint.h>

#define SY_ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

/* z_{0.975}: the standard normal quantile of two-sided 95% intervals. */
#define SY_Z95 1.959963984540054

/* The value of a hexadecimal digit of either case, or -1. */
static inline int sy_hex_digit(int c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* Error codes shared by all libraries (functions return 0 or one of these). */
enum {
    SY_OK = 0,
    SY_ERR_INVALID = -1,  /* bad argument or malformed input */
    SY_ERR_NOTFOUND = -2, /* lookup missed */
    SY_ERR_LIMIT = -3,    /* a configured limit was exceeded */
    SY_ERR_IO = -4,       /* an operating-system or library I/O call failed */
    SY_ERR_STATE = -5,    /* call not valid in the object's current state */
};

/* Allocate or abort the process with a message: never returns NULL. */
void *sy_xmalloc(size_t size);
void *sy_xcalloc(size_t count, size_t size);
void *sy_xrealloc(void *ptr, size_t size);
char *sy_xstrdup(const char *s);
char *sy_xstrndup(const char *s, size_t n);

/* 1 when s is an identifier of 1..max bytes of letters, digits, '_', '-' and '.'
 * (names of prompts, labels, experiments and variants). */
int sy_valid_name(const char *s, size_t max);

/* Growable byte buffer owned by its user; data is always NUL-terminated. */
typedef struct sy_buf {
    char *data;
    size_t len;
    size_t cap;
} sy_buf;

void sy_buf_reserve(sy_buf *b, size_t extra);
void sy_buf_append(sy_buf *b, const void *data, size_t len);
void sy_buf_puts(sy_buf *b, const char *s);
void sy_buf_printf(sy_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Append s as a JSON string literal, quotes included, escaping as RFC 8259 requires. */
void sy_buf_json_string(sy_buf *b, const char *s, size_t len);
/* Append a finite double in the shortest form that reads back as the same value (0.7,
 * not 0.69999999999999996); non-finite values as null (JSON has no NaN). */
void sy_buf_num(sy_buf *b, double v);
void sy_buf_reset(sy_buf *b); /* len = 0, keeps capacity */
void sy_buf_free(sy_buf *b);

#endif
