/*
 * http_parse (engine/proto/http_parse.c): the RFC 9112 points of issue 15 — Host
 * required once in HTTP/1.1, empty lines before the request line, a bare CR in chunk
 * framing, a compressed body (415) and non-ASCII bytes in the target.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "http_parse.h"

/* Status of parsing a head as the server does (empty lines skipped first); 0 = ok. */
static int head_status(const char *s)
{
    size_t n = strlen(s), skip = sy_http_empty_lines(s, n);
    size_t end = sy_http_head_end(s + skip, n - skip, 0);
    assert_true(end > 0);
    sy_http_head *h = malloc(sizeof(*h));
    const char *why = NULL;
    int rc = sy_http_parse_head(s + skip, end, 64, h, &why);
    free(h);
    return -rc;
}

static void test_heads(void **state)
{
    (void)state;
    static const struct {
        const char *head;
        int status;
    } cases[] = {
        {"GET / HTTP/1.1\r\nHost: x\r\n\r\n", 0},
        {"\r\nGET / HTTP/1.1\r\nHost: x\r\n\r\n", 0},
        {"\r\n\r\n\nGET / HTTP/1.1\r\nHost: x\r\n\r\n", 0},
        {"GET / HTTP/1.1\r\n\r\n", 400},
        {"GET / HTTP/1.0\r\n\r\n", 0},
        {"GET / HTTP/1.1\r\nHost: a\r\nHost: a\r\n\r\n", 400},
        {"GET / HTTP/1.0\r\nHost: a\r\nHOST: b\r\n\r\n", 400},
        {"GET /caf\xc3\xa9 HTTP/1.1\r\nHost: x\r\n\r\n", 400},
        {"POST / HTTP/1.1\r\nHost: x\r\nContent-Encoding: gzip\r\nContent-Length: 4\r\n\r\n", 415},
        {"POST / HTTP/1.1\r\nHost: x\r\nContent-Encoding: identity\r\nContent-Length: 4\r\n\r\n",
         0},
        {"POST / HTTP/1.1\r\nHost: x\r\nContent-Encoding: gzip\r\nTransfer-Encoding: "
         "chunked\r\n\r\n",
         415},
    };
    for (size_t i = 0; i < SY_ARRAY_LEN(cases); i++)
        assert_int_equal(head_status(cases[i].head), cases[i].status);
}

/* Decode a whole chunked body; returns the decoder's verdict. */
static int chunked(const char *s, size_t n, sy_buf *out)
{
    sy_chunked c;
    memset(&c, 0, sizeof(c));
    size_t used = 0;
    return sy_chunked_decode(&c, s, n, &used, out, 1 << 20);
}

static void test_chunked_bare_cr(void **state)
{
    (void)state;
    sy_buf b = {0};
    assert_int_equal(chunked("5\r\nhello\r\n0\r\n\r\n", 15, &b), 1);
    assert_string_equal(b.data, "hello");
    sy_buf_reset(&b);
    assert_int_equal(chunked("5\nhello\n0\n\n", 11, &b), 1);
    static const char *const bad[] = {
        "5\rX\nhello\r\n0\r\n\r\n",           /* bare CR in the size line */
        "5;a=b\rX\nhello\r\n0\r\n\r\n",       /* bare CR in an extension */
        "5\r\nhello\r\n0\r\nT: x\rY\r\n\r\n", /* bare CR in a trailer */
        "5\r\nhello\r\n0\r\n\r\r\n",          /* bare CR in the last line */
    };
    for (size_t i = 0; i < SY_ARRAY_LEN(bad); i++) {
        sy_buf_reset(&b);
        assert_int_equal(chunked(bad[i], strlen(bad[i]), &b), SY_HTTP_E_BAD);
    }
    sy_buf_free(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_heads),
        cmocka_unit_test(test_chunked_bare_cr),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
