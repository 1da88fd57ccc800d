/*
 * validate_fail: how the request validators of engine/proto/ report a refusal: the
 * offending parameter (printf-style) into param, a static message into *message.
 */
#ifndef SY_VALIDATE_FAIL_H
#define SY_VALIDATE_FAIL_H

#include <stdarg.h>
#include <stdio.h>

/* Set param and *message; returns 0 (invalid) so a validator can `return fail(...)`. */
static inline int sy_validate_fail(char *param, size_t n, const char **message, const char *msg,
                                   const char *fmt, ...) __attribute__((format(printf, 5, 6)));
static inline int sy_validate_fail(char *param, size_t n, const char **message, const char *msg,
                                   const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(param, n, fmt, ap);
    va_end(ap);
    *message = msg;
    return 0;
}

#endif
