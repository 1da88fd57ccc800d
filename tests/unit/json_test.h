/*
 * json_test.h: JSON helpers for unit tests that write their texts with ' for " (J()) and
 * compare JSON parsed, member order free (dialect_test.h, test_messages_ingress.c,
 * test_responses.c). Include after <cmocka.h>.
 */
#ifndef SY_JSON_TEST_H
#define SY_JSON_TEST_H

#include <cjson/cJSON.h>
#include <stddef.h>
#include <string.h>

/* s with every ' replaced by " (one of 8 rotating static buffers). */
static inline const char *J(const char *s)
{
    static char bufs[8][16384];
    static int next;
    char *b = bufs[next++ % 8];
    size_t n = strlen(s);
    assert_true(n < sizeof bufs[0]);
    for (size_t i = 0; i <= n; i++)
        b[i] = s[i] == '\'' ? '"' : s[i];
    return b;
}

/* Parse both texts and compare; on a mismatch print both. */
static inline void assert_json_eq(const char *actual, size_t len, const char *expected)
{
    cJSON *a = cJSON_ParseWithLength(actual, len);
    cJSON *e = cJSON_Parse(expected);
    if (!e)
        fail_msg("expected text is not JSON: %s", expected);
    if (!a || !cJSON_Compare(a, e, 1)) {
        char *ep = cJSON_PrintUnformatted(e);
        fail_msg("JSON differs\n  actual:   %.*s\n  expected: %s", (int)len, actual, ep);
    }
    cJSON_Delete(a);
    cJSON_Delete(e);
}

/* The tree printed and compared as assert_json_eq does. */
static inline void assert_tree_eq(const cJSON *actual, const char *expected)
{
    char *s = cJSON_PrintUnformatted(actual);
    assert_json_eq(s, strlen(s), expected);
    cJSON_free(s);
}

#endif
