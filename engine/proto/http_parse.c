#include "http_parse.h"

#include <string.h>
#include <strings.h>

/* RFC 9110 tchar: the characters allowed in a method and a header name. */
static int is_tchar(unsigned char c)
{
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'))
        return 1;
    return c != 0 && strchr("!#$%&'*+-.^_`|~", c) != NULL;
}

size_t sy_http_empty_lines(const char *buf, size_t len)
{
    size_t i = 0;
    for (;;) {
        if (i < len && buf[i] == '\n')
            i++;
        else if (i + 1 < len && buf[i] == '\r' && buf[i + 1] == '\n')
            i += 2;
        else
            return i;
    }
}

size_t sy_http_head_end(const char *buf, size_t len, size_t scan_from)
{
    /* A head ends at "\n\r\n" or "\n\n"; back up so a terminator split across reads
     * is still found. */
    size_t i = scan_from > 2 ? scan_from - 2 : 0;
    while (i < len) {
        const char *nl = memchr(buf + i, '\n', len - i);
        if (!nl)
            return 0;
        size_t at = (size_t)(nl - buf);
        if (at + 1 < len && buf[at + 1] == '\n')
            return at + 2;
        if (at + 2 < len && buf[at + 1] == '\r' && buf[at + 2] == '\n')
            return at + 3;
        i = at + 1;
    }
    return 0;
}

/* Next line of [p, end): sets *line_len to its length without the terminator and
 * returns the start of the following line, or NULL on a bare CR or missing LF. */
static const char *next_line(const char *p, const char *end, size_t *line_len)
{
    const char *nl = memchr(p, '\n', (size_t)(end - p));
    if (!nl)
        return NULL;
    const char *e = nl;
    if (e > p && e[-1] == '\r')
        e--;
    *line_len = (size_t)(e - p);
    return nl + 1;
}

static int token_eq(const char *s, size_t n, const char *lit)
{
    return strlen(lit) == n && strncasecmp(s, lit, n) == 0;
}

/* Walk the comma-separated tokens of a Connection value and apply keep-alive/close. */
static void apply_connection(sy_http_head *h, const char *v, size_t n)
{
    size_t i = 0;
    while (i < n) {
        while (i < n && (v[i] == ' ' || v[i] == '\t' || v[i] == ','))
            i++;
        size_t s = i;
        while (i < n && v[i] != ',' && v[i] != ' ' && v[i] != '\t')
            i++;
        if (token_eq(v + s, i - s, "close"))
            h->keep_alive = 0;
        else if (token_eq(v + s, i - s, "keep-alive"))
            h->keep_alive = 1;
    }
}

static int fail(const char **why, const char *msg, int code)
{
    *why = msg;
    return code;
}

/* Validate and record one "name: value" line. */
static int parse_header_line(sy_http_head *h, const char *line, size_t n, size_t max_headers,
                             const char **why)
{
    if (line[0] == ' ' || line[0] == '\t')
        return fail(why, "obsolete header line folding is not accepted", SY_HTTP_E_BAD);
    const char *colon = memchr(line, ':', n);
    if (!colon || colon == line)
        return fail(why, "malformed header line", SY_HTTP_E_BAD);
    size_t name_len = (size_t)(colon - line);
    for (size_t i = 0; i < name_len; i++)
        if (!is_tchar((unsigned char)line[i]))
            return fail(why, "invalid character in a header name", SY_HTTP_E_BAD);
    const char *v = colon + 1, *ve = line + n;
    for (const char *q = v; q < ve; q++) {
        unsigned char c = (unsigned char)*q;
        if ((c < 0x20 && c != '\t') || c == 0x7f)
            return fail(why, "control character in a header value", SY_HTTP_E_BAD);
    }
    while (v < ve && (*v == ' ' || *v == '\t'))
        v++;
    while (ve > v && (ve[-1] == ' ' || ve[-1] == '\t'))
        ve--;
    if (h->n_headers >= max_headers)
        return fail(why, "too many request headers", SY_HTTP_E_HEADERS);
    sy_http_header *hd = &h->headers[h->n_headers++];
    hd->name = line;
    hd->name_len = name_len;
    hd->value = v;
    hd->value_len = (size_t)(ve - v);
    return 0;
}

/* Derive framing and connection semantics from the parsed headers. */
static int apply_semantics(sy_http_head *h, const char **why)
{
    int n_cl = 0, n_te = 0, n_host = 0, encoded = 0;
    for (size_t i = 0; i < h->n_headers; i++) {
        const sy_http_header *hd = &h->headers[i];
        if (token_eq(hd->name, hd->name_len, "host")) {
            if (++n_host > 1) /* RFC 9112 §3.2: more than one Host is a 400 */
                return fail(why, "more than one Host header", SY_HTTP_E_BAD);
        } else if (token_eq(hd->name, hd->name_len, "content-encoding")) {
            encoded |= !token_eq(hd->value, hd->value_len, "identity");
        } else if (token_eq(hd->name, hd->name_len, "content-length")) {
            if (++n_cl > 1)
                return fail(why, "duplicate Content-Length header", SY_HTTP_E_BAD);
            if (hd->value_len == 0 || hd->value_len > 15)
                return fail(why, "invalid Content-Length", SY_HTTP_E_BAD);
            int64_t v = 0;
            for (size_t k = 0; k < hd->value_len; k++) {
                char c = hd->value[k];
                if (c < '0' || c > '9')
                    return fail(why, "invalid Content-Length", SY_HTTP_E_BAD);
                v = v * 10 + (c - '0');
            }
            h->content_length = v;
        } else if (token_eq(hd->name, hd->name_len, "transfer-encoding")) {
            if (++n_te > 1 || !token_eq(hd->value, hd->value_len, "chunked"))
                return fail(why, "only 'Transfer-Encoding: chunked' is supported", SY_HTTP_E_TE);
            h->chunked = 1;
        } else if (token_eq(hd->name, hd->name_len, "connection")) {
            apply_connection(h, hd->value, hd->value_len);
        } else if (token_eq(hd->name, hd->name_len, "expect")) {
            if (!token_eq(hd->value, hd->value_len, "100-continue"))
                return fail(why, "unsupported Expect header", SY_HTTP_E_BAD);
            h->expect_continue = 1;
        }
    }
    if (n_cl && n_te)
        return fail(why, "Transfer-Encoding together with Content-Length", SY_HTTP_E_BAD);
    if (h->chunked && h->version_minor == 0)
        return fail(why, "chunked transfer coding requires HTTP/1.1", SY_HTTP_E_BAD);
    if (h->version_minor == 1 && n_host == 0) /* RFC 9112 §3.2 */
        return fail(why, "an HTTP/1.1 request needs a Host header", SY_HTTP_E_BAD);
    if (encoded && (h->content_length > 0 || h->chunked)) /* RFC 9110 §8.4.1 */
        return fail(why, "compressed request bodies (Content-Encoding) are not accepted",
                    SY_HTTP_E_MEDIA);
    return 0;
}

/* Parse "METHOD SP target SP HTTP/1.x". */
static int parse_request_line(sy_http_head *h, const char *p, size_t n, const char **why)
{
    const char *end = p + n, *sp1 = memchr(p, ' ', n);
    if (!sp1 || sp1 == p)
        return fail(why, "malformed request line", SY_HTTP_E_BAD);
    for (const char *q = p; q < sp1; q++)
        if (!is_tchar((unsigned char)*q))
            return fail(why, "malformed request method", SY_HTTP_E_BAD);
    const char *t = sp1 + 1;
    const char *sp2 = memchr(t, ' ', (size_t)(end - t));
    if (!sp2 || sp2 == t)
        return fail(why, "malformed request line", SY_HTTP_E_BAD);
    for (const char *q = t; q < sp2; q++) /* RFC 3986: a URI is visible ASCII */
        if ((unsigned char)*q <= 0x20 || (unsigned char)*q >= 0x7f)
            return fail(why, "invalid character in the request target", SY_HTTP_E_BAD);
    const char *v = sp2 + 1;
    size_t vn = (size_t)(end - v);
    if (vn != 8 || memcmp(v, "HTTP/", 5) != 0 || v[6] != '.' || v[5] < '0' || v[5] > '9' ||
        v[7] < '0' || v[7] > '9')
        return fail(why, "malformed HTTP version", SY_HTTP_E_BAD);
    if (v[5] != '1' || (v[7] != '0' && v[7] != '1'))
        return fail(why, "only HTTP/1.0 and HTTP/1.1 are supported", SY_HTTP_E_VERSION);
    h->method = p;
    h->method_len = (size_t)(sp1 - p);
    h->target = t;
    h->target_len = (size_t)(sp2 - t);
    h->version_minor = v[7] - '0';
    h->keep_alive = h->version_minor == 1;
    return 0;
}

int sy_http_parse_head(const char *buf, size_t head_len, size_t max_headers, sy_http_head *out,
                       const char **why)
{
    const char *p = buf, *end = buf + head_len;
    size_t n;
    if (max_headers > SY_HTTP_HEADERS_CAP)
        max_headers = SY_HTTP_HEADERS_CAP;
    out->n_headers = 0;
    out->content_length = -1;
    out->chunked = out->expect_continue = 0;
    /* RFC 9112 §2.2: ignore at least one empty line before the request line. */
    p += sy_http_empty_lines(p, head_len);
    const char *next = next_line(p, end, &n);
    if (!next || n == 0)
        return fail(why, "malformed request line", SY_HTTP_E_BAD);
    if (memchr(p, '\r', n) || memchr(p, '\0', n))
        return fail(why, "control character in the request line", SY_HTTP_E_BAD);
    int rc = parse_request_line(out, p, n, why);
    if (rc)
        return rc;
    for (p = next; p < end; p = next) {
        next = next_line(p, end, &n);
        if (!next)
            return fail(why, "malformed header line", SY_HTTP_E_BAD);
        if (n == 0)
            break; /* the blank line that ends the head */
        rc = parse_header_line(out, p, n, max_headers, why);
        if (rc)
            return rc;
    }
    return apply_semantics(out, why);
}

const sy_http_header *sy_http_find_header(const sy_http_head *h, const char *name)
{
    for (size_t i = 0; i < h->n_headers; i++)
        if (token_eq(h->headers[i].name, h->headers[i].name_len, name))
            return &h->headers[i];
    return NULL;
}

enum {
    CH_SIZE = 0, /* reading hex digits of a chunk size */
    CH_EXT,      /* reading ";ext" up to the end of the size line */
    CH_SIZE_LF,  /* a CR ended the size line: only LF may follow (no bare CR) */
    CH_DATA,     /* copying chunk data */
    CH_DATA_CR,  /* expecting CRLF after chunk data */
    CH_DATA_LF,
    CH_TRAILER,    /* reading a trailer line (discarded) */
    CH_TRAILER_LF, /* a CR ended a trailer line: only LF may follow */
    CH_DONE,
};

/* The size line is complete: move to data, or to trailers for the last chunk. */
static int end_size_line(sy_chunked *c)
{
    if (c->line_len == 0)
        return SY_HTTP_E_BAD; /* no digits */
    c->line_len = 0;
    c->state = c->remaining ? CH_DATA : CH_TRAILER;
    return 0;
}

/* One byte of the trailer section (trailers are read and discarded): a line ends at
 * LF or CRLF, never at a bare CR; an empty line ends the body. */
static int trailer_byte(sy_chunked *c, char ch)
{
    if (c->state == CH_TRAILER_LF && ch != '\n')
        return SY_HTTP_E_BAD;
    if (ch == '\n') {
        c->state = c->line_len == 0 ? CH_DONE : CH_TRAILER;
        c->line_len = 0;
    } else if (ch == '\r') {
        c->state = CH_TRAILER_LF;
    } else if (ch == '\0' || ++c->line_len > 8192) {
        return SY_HTTP_E_BAD;
    }
    return 0;
}

int sy_chunked_decode(sy_chunked *c, const char *in, size_t len, size_t *consumed, sy_buf *out,
                      size_t max_out)
{
    size_t i = 0;
    int rc = 0;
    while (i < len && c->state != CH_DONE) {
        char ch = in[i];
        switch (c->state) {
        case CH_SIZE: {
            int hv = sy_hex_digit((unsigned char)ch);
            if (hv >= 0) {
                if (c->line_len >= 15)
                    return SY_HTTP_E_BAD; /* absurd size: refuse before it overflows */
                c->remaining = c->remaining * 16 + (uint64_t)hv;
                c->line_len++;
                i++;
            } else if (ch == ';' || ch == ' ' || ch == '\t') {
                c->state = CH_EXT;
                i++;
            } else if (ch == '\r') {
                i++;
                c->state = CH_SIZE_LF;
            } else if (ch == '\n') {
                i++;
                if ((rc = end_size_line(c)))
                    return rc;
            } else {
                return SY_HTTP_E_BAD;
            }
            break;
        }
        case CH_EXT:
            if (ch == '\n') {
                i++;
                if ((rc = end_size_line(c)))
                    return rc;
            } else if (ch == '\r') {
                i++;
                c->state = CH_SIZE_LF;
            } else if (((unsigned char)ch < 0x20 && ch != '\t') || ch == 0x7f) {
                return SY_HTTP_E_BAD;
            } else {
                i++;
            }
            break;
        case CH_SIZE_LF: /* "5\rX\n" must not parse as a size line (RFC 9112 §2.2) */
            if (ch != '\n')
                return SY_HTTP_E_BAD;
            i++;
            if ((rc = end_size_line(c)))
                return rc;
            break;
        case CH_DATA: {
            size_t take = len - i;
            if (take > c->remaining)
                take = (size_t)c->remaining;
            if (out->len + take > max_out)
                return SY_HTTP_E_TOO_LARGE;
            sy_buf_append(out, in + i, take);
            i += take;
            c->remaining -= take;
            if (c->remaining == 0)
                c->state = CH_DATA_CR;
            break;
        }
        case CH_DATA_CR:
            if (ch == '\r') {
                c->state = CH_DATA_LF;
                i++;
                break;
            }
            /* tolerate a bare LF */
            __attribute__((fallthrough));
        case CH_DATA_LF:
            if (ch != '\n')
                return SY_HTTP_E_BAD;
            i++;
            c->state = CH_SIZE;
            break;
        case CH_TRAILER:
        case CH_TRAILER_LF:
            if ((rc = trailer_byte(c, ch)))
                return rc;
            i++;
            break;
        }
    }
    *consumed = i;
    return c->state == CH_DONE;
}
