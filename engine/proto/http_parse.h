/*
 * http_parse: strict, allocation-free parsing of HTTP/1.1 request heads and chunked
 * request bodies (RFC 9112). Pure functions over caller buffers, so they can be
 * fuzzed and unit-tested without sockets.
 *
 * Strictness is deliberate (request smuggling, DESIGN.md §9): obsolete line folding,
 * whitespace before a header colon, control characters (NUL, bare CR, ...) inside a
 * header, Transfer-Encoding together with Content-Length, more than one
 * Content-Length, a Transfer-Encoding other than "chunked", an HTTP/1.1 request without
 * exactly one Host, a compressed body (Content-Encoding) and a bare CR anywhere in the
 * framing (head or chunk lines) are all rejected. Empty lines before the request line
 * are ignored (RFC 9112 §2.2).
 */
#ifndef SY_HTTP_PARSE_H
#define SY_HTTP_PARSE_H

#include "sy_common.h"

#include <stddef.h>
#include <stdint.h>

#define SY_HTTP_HEADERS_CAP 256 /* hard upper bound on limits.max_headers */

typedef struct sy_http_header {
    const char *name;
    size_t name_len;
    const char *value; /* leading/trailing whitespace trimmed */
    size_t value_len;
} sy_http_header;

typedef struct sy_http_head {
    const char *method;
    size_t method_len;
    const char *target;
    size_t target_len;
    int version_minor; /* HTTP/1.<minor>, 0 or 1 */
    sy_http_header headers[SY_HTTP_HEADERS_CAP];
    size_t n_headers;
    int64_t content_length; /* -1 when absent */
    int chunked;            /* Transfer-Encoding: chunked */
    int keep_alive;         /* after the Connection header and version defaults */
    int expect_continue;    /* Expect: 100-continue */
} sy_http_head;

/* Parse outcomes other than success (> 0) and "need more" (0). */
typedef enum {
    SY_HTTP_E_BAD = -400,       /* malformed or ambiguous: 400 and close */
    SY_HTTP_E_TOO_LARGE = -413, /* body over the limit: 413 and close */
    SY_HTTP_E_MEDIA = -415,     /* a Content-Encoding on the body: 415 and close */
    SY_HTTP_E_HEADERS = -431,   /* too many headers: 431 and close */
    SY_HTTP_E_TE = -501,        /* unsupported transfer coding: 501 and close */
    SY_HTTP_E_VERSION = -505,   /* not HTTP/1.x: 505 and close */
} sy_http_parse_err;

/* Bytes of complete empty lines (CRLF or LF) at the start of buf[0..len): what a server
 * skips before a request line. */
size_t sy_http_empty_lines(const char *buf, size_t len);

/*
 * Find the end of a request head in buf[0..len). `scan_from` lets a caller resume
 * where the previous (shorter) search stopped. Returns the head length including the
 * blank line, or 0 when the head is not complete yet.
 */
size_t sy_http_head_end(const char *buf, size_t len, size_t scan_from);

/*
 * Parse a complete head of head_len bytes (as returned by sy_http_head_end). Pointers
 * in *out point into buf. Returns 0, or a sy_http_parse_err with *why set to a short
 * static explanation suitable for a client-facing error message.
 */
int sy_http_parse_head(const char *buf, size_t head_len, size_t max_headers, sy_http_head *out,
                       const char **why);

/* Case-insensitive header lookup; returns the first match or NULL. */
const sy_http_header *sy_http_find_header(const sy_http_head *h, const char *name);

/* Incremental decoder for a chunked request body (trailers are read and discarded). */
typedef struct sy_chunked {
    int state;
    uint64_t remaining; /* bytes left in the current chunk */
    size_t line_len;    /* length of the size/trailer line being read */
} sy_chunked;

/*
 * Decode from in[0..len): decoded bytes are appended to out. Sets *consumed to the input
 * bytes used. Returns 1 when the body is complete (input after it is left unconsumed),
 * 0 when more input is needed, SY_HTTP_E_BAD on malformed framing, or SY_HTTP_E_TOO_LARGE
 * when the decoded body would exceed max_out bytes.
 */
int sy_chunked_decode(sy_chunked *c, const char *in, size_t len, size_t *consumed, sy_buf *out,
                      size_t max_out);

#endif
