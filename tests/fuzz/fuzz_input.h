/*
 * fuzz_input.h: what the request fuzz targets do to their input before parsing it as the
 * server would (fuzz_chat_request.c, fuzz_embed_request.c, fuzz_messages.c,
 * fuzz_responses.c).
 */
#ifndef SY_FUZZ_INPUT_H
#define SY_FUZZ_INPUT_H

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* 1 when the text's brackets nest deeper than 64: the server refuses such a body before
 * parsing it, so the targets skip it. */
static inline int fz_too_deep(const void *data, size_t size)
{
    const uint8_t *p = data;
    size_t depth = 0, max = 0;
    for (size_t i = 0; i < size; i++) {
        if (p[i] == '{' || p[i] == '[')
            max = ++depth > max ? depth : max;
        else if ((p[i] == '}' || p[i] == ']') && depth)
            depth--;
    }
    return max > 64;
}

/* A copy of data as the server's body buffer is: mutable and NUL-terminated (size + 1
 * bytes). The caller frees it. */
static inline char *fz_body_copy(const uint8_t *data, size_t size)
{
    char *buf = malloc(size + 1);
    memcpy(buf, data, size);
    buf[size] = '\0';
    return buf;
}

#endif
