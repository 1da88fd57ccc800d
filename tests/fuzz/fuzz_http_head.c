/*
 * Fuzz target: the HTTP/1.1 head parser and the chunked body decoder
 * (engine/proto/http_parse.c), with properties, not only crashes:
 *
 *  1. Verdicts agree with an independent reference reading of RFC 9112 (ref_verdict
 *     below, written from the RFC's grammar and the project's documented strictness,
 *     docs/api.md and http_parse.h, not from the parser): the parser accepts a head
 *     exactly when the reference finds no violation, and when it refuses, its status is
 *     one the reference found. Accepted heads must agree on method, target, version,
 *     header count, Content-Length, chunked and keep-alive.
 *  2. The chunked decoder gives the same verdict and body whether the input comes in
 *     one piece or in two.
 * A mismatch aborts (the replay of the committed corpus in CTest then fails).
 */
#include "http_parse.h"
#include "sy_common.h"

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define MAX_HEADERS 64

/* ---- reference reading of RFC 9112 (independent of http_parse.c) */

enum { V400 = 1, V415 = 2, V431 = 4, V501 = 8, V505 = 16 };

typedef struct ref_result {
    unsigned violations;         /* set of statuses that apply */
    const char *method, *target; /* into the head */
    size_t method_len, target_len;
    int minor, n_headers, chunked, keep_alive;
    long long content_length;
} ref_result;

static int ref_tchar(unsigned char c)
{
    static const char extra[] = "!#$%&'*+-.^_`|~";
    if (c >= '0' && c <= '9')
        return 1;
    if ((c | 0x20) >= 'a' && (c | 0x20) <= 'z')
        return 1;
    for (const char *e = extra; *e; e++)
        if (c == (unsigned char)*e)
            return 1;
    return 0;
}

/* Case-insensitive equality of s[0..n) and a lowercase literal. */
static int ref_ieq(const char *s, size_t n, const char *lit)
{
    size_t k = 0;
    for (; k < n && lit[k]; k++) {
        char c = s[k];
        if (c >= 'A' && c <= 'Z')
            c = (char)(c + 32);
        if (c != lit[k])
            return 0;
    }
    return k == n && lit[k] == '\0';
}

/* Trim optional whitespace (SP / HTAB) around a field value. */
static void ref_trim(const char **v, size_t *n)
{
    while (*n && ((*v)[0] == ' ' || (*v)[0] == '\t'))
        (*v)++, (*n)--;
    while (*n && ((*v)[*n - 1] == ' ' || (*v)[*n - 1] == '\t'))
        (*n)--;
}

/* request-line = method SP request-target SP HTTP-version (RFC 9112 §3). */
static void ref_request_line(const char *l, size_t n, ref_result *r)
{
    size_t i = 0;
    while (i < n && ref_tchar((unsigned char)l[i]))
        i++;
    size_t m = i;
    if (m == 0 || i >= n || l[i] != ' ') {
        r->violations |= V400;
        return;
    }
    size_t t0 = ++i;
    while (i < n && (unsigned char)l[i] > 0x20 && (unsigned char)l[i] < 0x7f)
        i++;
    size_t t1 = i;
    if (t1 == t0 || i >= n || l[i] != ' ') {
        r->violations |= V400;
        return;
    }
    const char *v = l + i + 1;
    size_t vn = n - i - 1;
    if (vn != 8 || strncmp(v, "HTTP/", 5) != 0 || v[5] < '0' || v[5] > '9' || v[6] != '.' ||
        v[7] < '0' || v[7] > '9') {
        r->violations |= V400;
        return;
    }
    if (!(v[5] == '1' && (v[7] == '0' || v[7] == '1'))) {
        r->violations |= V505;
        return;
    }
    r->minor = v[7] - '0';
    r->method = l;
    r->method_len = m;
    r->target = l + t0;
    r->target_len = t1 - t0;
}

typedef struct ref_fields {
    int hosts, cls, tes, encoded;
} ref_fields;

/* field-line = field-name ":" OWS field-value OWS (RFC 9112 §5), plus the framing and
 * connection semantics of §6 and §9 as the project applies them. */
static void ref_field_line(const char *l, size_t n, ref_result *r, ref_fields *f)
{
    if (n && (l[0] == ' ' || l[0] == '\t')) { /* obs-fold: refused (§5.2) */
        r->violations |= V400;
        return;
    }
    size_t i = 0;
    while (i < n && l[i] != ':')
        i++;
    if (i == 0 || i == n) {
        r->violations |= V400;
        return;
    }
    for (size_t k = 0; k < i; k++)
        if (!ref_tchar((unsigned char)l[k])) { /* also: whitespace before the colon */
            r->violations |= V400;
            return;
        }
    for (size_t k = i + 1; k < n; k++) {
        unsigned char c = (unsigned char)l[k];
        if ((c < 0x20 && c != '\t') || c == 0x7f) {
            r->violations |= V400;
            return;
        }
    }
    if (++r->n_headers > MAX_HEADERS) {
        r->violations |= V431;
        return;
    }
    const char *v = l + i + 1;
    size_t vn = n - i - 1;
    ref_trim(&v, &vn);
    if (ref_ieq(l, i, "host")) {
        if (++f->hosts > 1)
            r->violations |= V400;
    } else if (ref_ieq(l, i, "content-length")) {
        int ok = vn > 0 && vn <= 15 && ++f->cls == 1;
        long long x = 0;
        for (size_t k = 0; ok && k < vn; k++)
            ok = v[k] >= '0' && v[k] <= '9', x = x * 10 + (v[k] - '0');
        if (!ok)
            r->violations |= V400;
        r->content_length = x;
    } else if (ref_ieq(l, i, "transfer-encoding")) {
        if (++f->tes > 1 || !ref_ieq(v, vn, "chunked"))
            r->violations |= V501;
        r->chunked = 1;
    } else if (ref_ieq(l, i, "expect")) {
        if (!ref_ieq(v, vn, "100-continue"))
            r->violations |= V400;
    } else if (ref_ieq(l, i, "content-encoding")) {
        f->encoded |= !ref_ieq(v, vn, "identity");
    } else if (ref_ieq(l, i, "connection")) {
        size_t k = 0;
        while (k < vn) { /* the last of close / keep-alive wins */
            while (k < vn && (v[k] == ',' || v[k] == ' ' || v[k] == '\t'))
                k++;
            size_t s = k;
            while (k < vn && v[k] != ',' && v[k] != ' ' && v[k] != '\t')
                k++;
            if (ref_ieq(v + s, k - s, "close"))
                r->keep_alive = 0;
            else if (ref_ieq(v + s, k - s, "keep-alive"))
                r->keep_alive = 1;
        }
    }
}

/* Verdict of the reference on a complete head h[0..n) (it ends with an empty line). */
static void ref_verdict(const char *h, size_t n, ref_result *r)
{
    memset(r, 0, sizeof(*r));
    r->content_length = -1;
    for (size_t i = 0; i < n; i++) /* a CR is only ever the first half of CRLF (§2.2) */
        if (h[i] == '\r' && (i + 1 >= n || h[i + 1] != '\n'))
            r->violations |= V400;
    size_t pos = 0;
    int seen_request_line = 0;
    ref_fields f = {0};
    while (pos < n) {
        size_t e = pos;
        while (e < n && h[e] != '\n')
            e++;
        size_t len = e - pos;
        if (len && h[pos + len - 1] == '\r')
            len--;
        const char *line = h + pos;
        pos = e + 1;
        if (!seen_request_line) {
            if (len == 0)
                continue; /* empty lines before the request line are ignored */
            seen_request_line = 1;
            unsigned before = r->violations;
            r->violations = 0;
            for (size_t k = 0; k < len; k++)
                if (line[k] == '\0')
                    r->violations |= V400;
            ref_request_line(line, len, r);
            r->keep_alive = r->minor == 1;
            int broken = r->violations != 0;
            r->violations |= before;
            if (broken)
                return; /* nothing after a broken request line is read */
            continue;
        }
        if (len == 0)
            break;
        ref_field_line(line, len, r, &f);
    }
    if (!seen_request_line)
        r->violations |= V400;
    if (f.cls && f.tes)
        r->violations |= V400;
    if (r->chunked && r->minor == 0)
        r->violations |= V400;
    if (seen_request_line && r->minor == 1 && f.hosts == 0)
        r->violations |= V400;
    if (f.encoded && (r->content_length > 0 || r->chunked))
        r->violations |= V415;
}

static unsigned status_bit(int rc)
{
    switch (-rc) {
    case 400:
        return V400;
    case 415:
        return V415;
    case 431:
        return V431;
    case 501:
        return V501;
    case 505:
        return V505;
    }
    return 0x8000; /* a status the reference never gives */
}

static void check(int ok, const char *what, const char *head, size_t n)
{
    if (ok)
        return;
    fprintf(stderr, "fuzz_http_head: %s for head:\n%.*s\n", what, (int)n, head);
    abort();
}

/* Property 1: the parser against the reference. */
static void check_head(const char *p, size_t size)
{
    size_t skip = sy_http_empty_lines(p, size); /* what the server drops first */
    size_t end = sy_http_head_end(p + skip, size - skip, 0);
    if (!end)
        return;
    const char *h = p + skip;
    sy_http_head *head = malloc(sizeof(*head));
    const char *why = NULL;
    int rc = sy_http_parse_head(h, end, MAX_HEADERS, head, &why);
    ref_result r;
    ref_verdict(h, end, &r);
    check((rc == 0) == (r.violations == 0),
          rc ? "parser refuses, reference accepts" : "parser accepts, reference refuses", h, end);
    if (rc) {
        check((status_bit(rc) & r.violations) != 0, "status not one the reference found", h, end);
    } else {
        check(head->method_len == r.method_len &&
                  memcmp(head->method, r.method, head->method_len) == 0,
              "method differs", h, end);
        check(head->target_len == r.target_len &&
                  memcmp(head->target, r.target, head->target_len) == 0,
              "target differs", h, end);
        check(head->version_minor == r.minor, "version differs", h, end);
        check((int)head->n_headers == r.n_headers, "header count differs", h, end);
        check(head->content_length == r.content_length, "Content-Length differs", h, end);
        check(head->chunked == r.chunked, "chunked differs", h, end);
        check(head->keep_alive == r.keep_alive, "keep-alive differs", h, end);
    }
    free(head);
}

/* Property 2: chunked decoding does not depend on where the input is split. */
static void check_chunked(const char *p, size_t size)
{
    sy_chunked a, b;
    memset(&a, 0, sizeof(a));
    memset(&b, 0, sizeof(b));
    sy_buf whole = {0}, split = {0};
    size_t used_a = 0, used1 = 0, used2 = 0, half = size / 2;
    int ra = sy_chunked_decode(&a, p, size, &used_a, &whole, 1 << 20);
    int rb = sy_chunked_decode(&b, p, half, &used1, &split, 1 << 20);
    if (rb == 0) {
        rb = sy_chunked_decode(&b, p + used1, size - used1, &used2, &split, 1 << 20);
        used1 += used2;
    }
    check(ra == rb, "chunked verdict depends on the split", p, size);
    if (ra == 1)
        check(used_a == used1 && whole.len == split.len &&
                  (whole.len == 0 || memcmp(whole.data, split.data, whole.len) == 0),
              "chunked body depends on the split", p, size);
    sy_buf_free(&whole);
    sy_buf_free(&split);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    check_head((const char *)data, size);
    check_chunked((const char *)data, size);
    return 0;
}
