/*
 * The simulator's RFC 4180 reader and dataset loaders (sim/sim_csv.c, sim/sim_data.c,
 * sim/sim_log.c): quoted fields with commas, doubled quotes and line breaks, CRLF, empty
 * cells kept apart from zeros, malformed input reported with its line; RouterBench,
 * generic JSONL, RouteLLM, export and OBD fixtures; and the real RouterBench files when
 * ../shared/data is present (skipped otherwise).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include "sim_csv.h"
#include "sim_data.h"
#include "sy_common.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static int next(sy_csv *c)
{
    int rc = sy_csv_next(c);
    if (rc < 0)
        fprintf(stderr, "csv error: %s\n", c->err);
    return rc;
}

static void test_quoted_fields(void **state)
{
    (void)state;
    static const char text[] = "a,b,c\r\n"
                               "1,\"x, y\",\"say \"\"hi\"\"\"\r\n"
                               "2,\"two\nlines\r\nhere\",\r\n"
                               ",\"\",3\n";
    sy_csv c;
    sy_csv_init(&c, text, sizeof(text) - 1);
    assert_int_equal(next(&c), 1);
    assert_int_equal(c.n_fields, 3);
    assert_string_equal(c.fields[2].s, "c");
    assert_int_equal(next(&c), 1);
    assert_int_equal(c.record_line, 2);
    assert_string_equal(c.fields[1].s, "x, y");
    assert_string_equal(c.fields[2].s, "say \"hi\"");
    assert_int_equal(c.fields[2].len, 8);
    assert_int_equal(next(&c), 1);
    assert_int_equal(c.record_line, 3);
    assert_string_equal(c.fields[1].s, "two\nlines\r\nhere");
    assert_int_equal(c.n_fields, 3);
    assert_int_equal(c.fields[2].len, 0); /* empty trailing field */
    assert_int_equal(next(&c), 1);
    assert_int_equal(c.record_line, 6); /* two line breaks inside the previous record */
    assert_int_equal(c.fields[0].len, 0);
    assert_false(c.fields[0].quoted);
    assert_int_equal(c.fields[1].len, 0);
    assert_true(c.fields[1].quoted);
    assert_string_equal(c.fields[2].s, "3");
    assert_int_equal(next(&c), 0);
    sy_csv_free(&c);
}

static void expect_error(const char *text, const char *needle)
{
    sy_csv c;
    sy_csv_init(&c, text, strlen(text));
    int rc;
    while ((rc = sy_csv_next(&c)) == 1)
        ;
    assert_int_equal(rc, SY_ERR_INVALID);
    if (!strstr(c.err, needle))
        fail_msg("error \"%s\" lacks \"%s\"", c.err, needle);
    sy_csv_free(&c);
}

static void test_malformed(void **state)
{
    (void)state;
    expect_error("a,b\n1,\"open\n2,3\n", "line 2: quoted field not terminated");
    expect_error("a,b\n1,x\"y\n", "line 2: a quote inside an unquoted field");
    expect_error("a,b\n1,\"x\"y\n", "line 2: unexpected character after a closing quote");
}

static void test_bom_and_no_final_newline(void **state)
{
    (void)state;
    static const char text[] = "\xEF\xBB\xBFh1,h2\nv1,v2";
    sy_csv c;
    sy_csv_init(&c, text, sizeof(text) - 1);
    assert_int_equal(next(&c), 1);
    assert_string_equal(c.fields[0].s, "h1");
    assert_int_equal(next(&c), 1);
    assert_string_equal(c.fields[1].s, "v2");
    assert_int_equal(next(&c), 0);
    sy_csv_free(&c);
}

static void test_pylist(void **state)
{
    (void)state;
    char *last;
    size_t len, total;
    const char *s = "['first\\nturn', \"it's \\\"two\\\"\"]";
    assert_int_equal(sy_sim_decode_pylist(s, strlen(s), &last, &len, &total), 0);
    assert_string_equal(last, "it's \"two\"");
    assert_int_equal(total, strlen("first\nturn") + strlen("it's \"two\""));
    free(last);
    assert_int_equal(sy_sim_decode_pylist("plain text", 10, &last, &len, &total), -1);
    assert_int_equal(sy_sim_decode_pylist("['open", 6, &last, &len, &total), -1);
}

static void test_routerbench_fixture(void **state)
{
    (void)state;
    sy_sim_dataset ds = {0};
    char err[512];
    const char *path = SY_FIXTURES_DIR "/sim/routerbench_small.csv";
    assert_int_equal(sy_sim_load_routerbench(&path, 1, &ds, err, sizeof(err)), SY_OK);
    assert_int_equal(ds.n, 120);
    assert_int_equal(ds.n_arms, 3);
    assert_string_equal(ds.arm_names[0], "big-model");
    /* row 7 has an empty score for big-model: missing, not zero */
    assert_true(isnan(ds.quality[7 * SY_SIM_STRIDE + 0]));
    assert_false(sy_sim_dataset_eligible(&ds, 7, 0));
    assert_true(sy_sim_dataset_eligible(&ds, 7, 1));
    /* the Python-list prompt is decoded: real newlines, doubled quotes undone */
    assert_string_equal(ds.text[0],
                        "Write a Python function that returns the 2th Fibonacci number.\nUse "
                        "\"def\".");
    assert_string_equal(ds.task[1], "quiz");
    assert_true(ds.cost[0 * SY_SIM_STRIDE + 0] > 0.003);
    sy_sim_dataset_free(&ds);
}

static void write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

static void test_routerbench_errors(void **state)
{
    (void)state;
    char path[] = "/tmp/sy_test_rb_XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    sy_sim_dataset ds = {0};
    char err[512];
    const char *p = path;
    write_file(path, ",prompt,m1,m1|total_cost\n0,hi,0.5,abc\n");
    assert_int_equal(sy_sim_load_routerbench(&p, 1, &ds, err, sizeof(err)), SY_ERR_INVALID);
    assert_non_null(strstr(err, "line 2: bad cost of \"m1\""));
    sy_sim_dataset_free(&ds);
    write_file(path, ",prompt,m1,m1|total_cost\n0,hi,1.5,0.1\n");
    assert_int_equal(sy_sim_load_routerbench(&p, 1, &ds, err, sizeof(err)), SY_ERR_INVALID);
    assert_non_null(strstr(err, "bad score"));
    sy_sim_dataset_free(&ds);
    write_file(path, ",prompt,m1\n0,hi,1\n");
    assert_int_equal(sy_sim_load_routerbench(&p, 1, &ds, err, sizeof(err)), SY_ERR_INVALID);
    assert_non_null(strstr(err, "no \"m1|total_cost\" column"));
    sy_sim_dataset_free(&ds);
    write_file(path, ",prompt,m1,m1|total_cost\n0,hi,1\n");
    assert_int_equal(sy_sim_load_routerbench(&p, 1, &ds, err, sizeof(err)), SY_ERR_INVALID);
    assert_non_null(strstr(err, "line 2: 3 fields, the header has 4"));
    sy_sim_dataset_free(&ds);
    /* a prompt where every model is missing is dropped; then nothing is left */
    write_file(path, ",prompt,m1,m1|total_cost\n0,hi,,0.1\n");
    assert_int_equal(sy_sim_load_routerbench(&p, 1, &ds, err, sizeof(err)), SY_ERR_INVALID);
    assert_int_equal(ds.dropped, 1);
    sy_sim_dataset_free(&ds);
    unlink(path);
}

static void test_jsonl(void **state)
{
    (void)state;
    sy_sim_dataset ds = {0};
    char err[512];
    assert_int_equal(sy_sim_load_jsonl(SY_FIXTURES_DIR "/sim/generic.jsonl", &ds, err, sizeof(err)),
                     SY_OK);
    assert_int_equal(ds.n, 90);
    assert_int_equal(ds.n_arms, 3);
    int mid = sy_sim_dataset_arm(&ds, "mid-model", 0);
    assert_true(mid >= 0);
    assert_true(isnan(ds.quality[9 * SY_SIM_STRIDE + (size_t)mid])); /* null quality */
    assert_true(fabs(ds.latency[0 * SY_SIM_STRIDE + 0] - 2.0) < 1e-12);
    sy_sim_dataset_free(&ds);

    char path[] = "/tmp/sy_test_jsonl_XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    write_file(path, "{\"prompt\": \"x\", \"outcomes\": {\"a\": {\"quality\": 2}}}\n");
    assert_int_equal(sy_sim_load_jsonl(path, &ds, err, sizeof(err)), SY_ERR_INVALID);
    assert_non_null(strstr(err, "line 1: outcome of \"a\""));
    sy_sim_dataset_free(&ds);
    write_file(path, "{\"prompt\": \"x\", \"outcomes\": {}}\nnot json\n");
    assert_int_equal(sy_sim_load_jsonl(path, &ds, err, sizeof(err)), SY_ERR_INVALID);
    assert_non_null(strstr(err, "line 2"));
    sy_sim_dataset_free(&ds);
    unlink(path);
}

static void test_routellm_fixture(void **state)
{
    (void)state;
    sy_sim_dataset ds = {0};
    char err[512];
    assert_int_equal(sy_sim_load_routellm(SY_FIXTURES_DIR "/sim/routellm", &ds, err, sizeof(err)),
                     SY_OK);
    assert_int_equal(ds.n, 20 + 20 + 6);
    assert_int_equal(ds.n_arms, 2);
    int g = sy_sim_dataset_arm(&ds, "gpt-4-1106-preview", 0);
    assert_true(g >= 0);
    /* gsm8k row 0: input ceil(bytes/4) tokens at $10/M, output from the response at $30/M */
    double in = sy_sim_estimate_tokens(strlen(ds.text[0]));
    double out = sy_sim_estimate_tokens(strlen("The answer is 3."));
    assert_true(fabs(ds.cost[(size_t)g] - (10 * in + 30 * out) * 1e-6) < 1e-12);
    /* MT-Bench scores 1..10 map to (s - 1) / 9 */
    for (size_t i = 0; i < ds.n; i++)
        if (ds.task[i] && strncmp(ds.task[i], "mt_bench", 8) == 0) {
            double q = ds.quality[i * SY_SIM_STRIDE + (size_t)g];
            assert_true(q >= 0 && q <= 1);
        }
    sy_sim_dataset_free(&ds);
}

static void test_export_and_obd(void **state)
{
    (void)state;
    sy_sim_log lg = {0};
    char err[512];
    assert_int_equal(
        sy_sim_load_export(SY_FIXTURES_DIR "/sim/export.jsonl", NULL, 0, &lg, err, sizeof(err)),
        SY_ERR_INVALID);
    assert_non_null(strstr(err, "several routes"));
    sy_sim_log_free(&lg);
    assert_int_equal(
        sy_sim_load_export(SY_FIXTURES_DIR "/sim/export.jsonl", "chat", 0, &lg, err, sizeof(err)),
        SY_OK);
    assert_int_equal(lg.n, 298); /* 300 − one without propensity − one of another route */
    assert_int_equal(lg.skipped, 1);
    assert_int_equal(lg.dim, 12);
    assert_true(fabs(lg.propensity[0] - 1.0 / 3) < 1e-12);
    size_t unrated = sy_sim_log_require_quality(&lg);
    assert_int_equal(unrated, 30);
    assert_int_equal(lg.n, 268);
    sy_sim_log_free(&lg);

    char path[] = "/tmp/sy_test_export_XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    write_file(path, "{\"route\": \"r\", \"model\": \"m\", \"propensity\": 0.5, \"context\": [1, "
                     "\"x\"], \"outcome\": {\"status\": 200}}\n");
    assert_int_equal(sy_sim_load_export(path, NULL, 0, &lg, err, sizeof(err)), SY_ERR_INVALID);
    assert_non_null(strstr(err, "line 1: \"context\" must be an array of numbers"));
    sy_sim_log_free(&lg);
    write_file(path, "{\"route\": \"r\", \"model\": \"m\", \"propensity\": 0.5, \"context\": [1], "
                     "\"outcome\": {\"status\": 502, \"error\": \"upstream\"}}\n");
    assert_int_equal(sy_sim_load_export(path, NULL, 0, &lg, err, sizeof(err)), SY_ERR_INVALID);
    assert_non_null(strstr(err, "no usable request"));
    sy_sim_log_free(&lg);
    unlink(path);

    assert_int_equal(sy_sim_load_obd(SY_FIXTURES_DIR "/sim/obd_small.csv", &lg, err, sizeof(err)),
                     SY_OK);
    assert_int_equal(lg.n, 400);
    assert_int_equal(lg.n_arms, 5);
    assert_true(lg.x[0] == 1.0);
    assert_true(lg.slot[0] >= 1 && lg.slot[0] <= 3);
    sy_sim_log_free(&lg);
}

/* The real RouterBench files: 3,178 prompts, 11 models, 14 empty score cells each. */
static void test_shared_routerbench(void **state)
{
    (void)state;
    struct stat st;
    if (stat(SY_SHARED_DATA_DIR "/routerbench", &st) != 0) {
        fprintf(stderr, "skipped: %s/routerbench is not present\n", SY_SHARED_DATA_DIR);
        skip();
    }
    sy_sim_dataset ds = {0};
    char err[512];
    const char *path = SY_SHARED_DATA_DIR "/routerbench";
    assert_int_equal(sy_sim_load_routerbench(&path, 1, &ds, err, sizeof(err)), SY_OK);
    assert_int_equal(ds.n, 3178);
    assert_int_equal(ds.n_arms, 11);
    int g = sy_sim_dataset_arm(&ds, "gpt-4-1106-preview", 0);
    assert_true(g >= 0);
    size_t missing = 0, n = 0;
    double q = 0, c = 0;
    for (size_t i = 0; i < ds.n; i++) {
        c += ds.cost[i * SY_SIM_STRIDE + (size_t)g]; /* every cost cell is filled */
        if (!sy_sim_dataset_eligible(&ds, i, (size_t)g)) {
            missing++;
            continue;
        }
        q += ds.quality[i * SY_SIM_STRIDE + (size_t)g];
        n++;
    }
    assert_int_equal(missing, 14);
    /* mean score 0.880 over the scored prompts, $0.00504 per prompt over all */
    assert_true(fabs(q / (double)n - 0.880) < 0.001);
    assert_true(fabs(c / (double)ds.n - 0.00504) < 0.00001);
    sy_sim_dataset_free(&ds);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_quoted_fields),
        cmocka_unit_test(test_malformed),
        cmocka_unit_test(test_bom_and_no_final_newline),
        cmocka_unit_test(test_pylist),
        cmocka_unit_test(test_routerbench_fixture),
        cmocka_unit_test(test_routerbench_errors),
        cmocka_unit_test(test_jsonl),
        cmocka_unit_test(test_routellm_fixture),
        cmocka_unit_test(test_export_and_obd),
        cmocka_unit_test(test_shared_routerbench),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
