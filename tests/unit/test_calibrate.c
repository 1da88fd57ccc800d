/* sim/loadgen/calibrate: precision and recall per threshold, the lowest threshold that
 * reaches a target precision (evaluated at the printed, rounded-down value), and the
 * pairs file's validation. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "calibrate.h"

static cal_set make(const double *sim, const int *same, size_t n)
{
    cal_set s = {0};
    s.pairs = calloc(n, sizeof *s.pairs);
    s.n = n;
    for (size_t i = 0; i < n; i++)
        s.pairs[i].sim = sim[i], s.pairs[i].same = same[i];
    return s;
}

static void test_points_and_lowest(void **state)
{
    (void)state;
    /* sorted by similarity: S S S D S S D D D D */
    const double sim[] = {0.99, 0.95, 0.93, 0.91, 0.88, 0.80, 0.75, 0.6, 0.5, 0.4};
    const int same[] = {1, 1, 1, 0, 1, 1, 0, 0, 0, 0};
    cal_set s = make(sim, same, 10);
    cal_point p;
    cal_at(&s, 0.9, &p);
    assert_true(p.tp == 3 && p.fp == 1 && p.fn == 2 && p.tn == 4);
    assert_true(fabs(p.precision - 0.75) < 1e-12 && fabs(p.recall - 0.6) < 1e-12);
    cal_at(&s, 1.0, &p);
    assert_true(isnan(p.precision) && p.recall == 0);
    assert_int_equal(cal_lowest(&s, 1.0, &p), 0);
    assert_true(fabs(p.threshold - 0.93) < 1e-9 && p.tp == 3 && p.fp == 0);
    /* 0.8: 5 same of 6 predicted = 0.833 */
    assert_int_equal(cal_lowest(&s, 0.8, &p), 0);
    assert_true(fabs(p.threshold - 0.80) < 1e-9 && p.tp == 5 && p.fp == 1);
    assert_int_equal(cal_lowest(&s, 0.5, &p), 0);
    assert_true(fabs(p.threshold - 0.4) < 1e-9 && p.tp == 5 && p.fp == 5); /* 5 of 10 */
    free(s.pairs);
    /* a different pair on top: precision 1 is never reached */
    const double sim2[] = {0.99, 0.5};
    const int same2[] = {0, 1};
    s = make(sim2, same2, 2);
    assert_int_equal(cal_lowest(&s, 1.0, &p), -1);
    free(s.pairs);
    /* thresholds are the similarities rounded down to 4 decimals, evaluated as such */
    const double sim3[] = {0.912345, 0.91233};
    const int same3[] = {1, 0};
    s = make(sim3, same3, 2);
    assert_int_equal(cal_lowest(&s, 0.95, &p), -1); /* both round down to 0.9123 */
    free(s.pairs);
}

static void test_load(void **state)
{
    (void)state;
    char path[] = "/tmp/sy_cal_XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    FILE *f = fdopen(fd, "w");
    fputs("{\"a\": \"x\", \"b\": \"y\", \"label\": \"same\", \"kind\": \"k\"}\n\n"
          "{\"a\": \"y\", \"b\": \"z\", \"label\": \"different\"}\n",
          f);
    fclose(f);
    cal_set s;
    sy_buf err = {0};
    assert_int_equal(cal_set_load(path, &s, &err), 0);
    assert_int_equal(s.n, 2);
    assert_int_equal(s.n_texts, 3); /* "y" is embedded once */
    assert_true(s.pairs[0].same == 1 && s.pairs[1].same == 0);
    assert_string_equal(s.pairs[0].kind, "k");
    assert_int_equal(s.pairs[1].a, s.pairs[0].b);
    cal_set_free(&s);
    f = fopen(path, "w");
    fputs("{\"a\": \"x\", \"b\": \"y\", \"label\": \"same\"}\n{\"a\": \"x\", \"b\": 3, "
          "\"label\": \"same\"}\n",
          f);
    fclose(f);
    assert_int_equal(cal_set_load(path, &s, &err), -1);
    assert_non_null(strstr(err.data, ":2: "));
    sy_buf_free(&err);
    f = fopen(path, "w");
    fclose(f);
    assert_int_equal(cal_set_load(path, &s, &err), -1);
    assert_non_null(strstr(err.data, "no pairs"));
    sy_buf_free(&err);
    remove(path);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_points_and_lowest),
        cmocka_unit_test(test_load),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
