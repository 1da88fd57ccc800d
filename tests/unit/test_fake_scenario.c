/*
 * Unit tests for fake-provider's pure half: scenario parsing (valid documents,
 * inheritance from "defaults", one clear error per malformed field), seeded decisions
 * (fault selection is deterministic given seed and request order, rates are honoured,
 * draw counts are fixed), content generation and token counting, and the OpenAI
 * dialect's bodies (each is valid JSON with OpenAI's shape).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "fake_dialect.h"
#include "fake_scenario.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static fp_scenario *parse_ok(const char *json)
{
    fp_scenario *s = NULL;
    sy_buf err = {0};
    int rc = fp_scenario_parse(json, strlen(json), &s, &err);
    if (rc != SY_OK)
        fail_msg("unexpected parse error: %s", err.data);
    sy_buf_free(&err);
    assert_non_null(s);
    return s;
}

static const fp_model *model(const fp_scenario *s, const char *name)
{
    const fp_model *m = fp_scenario_lookup(s, name);
    assert_non_null(m);
    return m;
}

/* ---- parsing */

static void test_parse_full_scenario(void **state)
{
    const char *json =
        "{\"seed\": 42, \"api_key\": \"sk-test\", \"_comment\": \"ignored\","
        " \"defaults\": {\"tokens_per_second\": 50, \"quality\": 0.4,"
        "   \"errors\": [{\"kind\": \"http_500\", \"rate\": 0.01}]},"
        " \"models\": {"
        "  \"fast\": {\"latency_ms\": {\"dist\": \"lognormal\", \"median\": 200, \"sigma\": 0.3},"
        "    \"ttft_ms\": {\"dist\": \"uniform\", \"min\": 10, \"max\": 20},"
        "    \"content\": {\"mode\": \"canned\", \"text\": \"Hi there\"},"
        "    \"chunk_tokens\": 3, \"cached_tokens\": 7, \"quality\": 0.8,"
        "    \"errors\": [{\"kind\": \"http_429\", \"rate\": 0.1, \"retry_after_s\": 2},"
        "               {\"kind\": \"cut_stream\", \"rate\": 0.05, \"after_tokens\": 5}]},"
        "  \"plain\": {\"latency_ms\": 15}"
        " }}";
    fp_scenario *s = parse_ok(json);
    assert_true(s->has_seed);
    assert_int_equal(s->seed, 42);
    assert_string_equal(s->api_key, "sk-test");
    assert_int_equal(s->n_models, 2);

    const fp_model *f = model(s, "fast");
    assert_string_equal(f->name, "fast");
    assert_int_equal(f->latency.kind, FP_DIST_LOGNORMAL);
    assert_true(f->latency.a == 200 && f->latency.b == 0.3);
    assert_int_equal(f->ttft.kind, FP_DIST_UNIFORM);
    assert_true(f->ttft.a == 10 && f->ttft.b == 20);
    assert_true(f->tokens_per_second == 50); /* inherited */
    assert_int_equal(f->content_mode, FP_CONTENT_CANNED);
    assert_string_equal(f->content_text, "Hi there");
    assert_int_equal(f->chunk_tokens, 3);
    assert_int_equal(f->cached_tokens, 7);
    assert_true(f->quality == 0.8);
    assert_int_equal(f->n_errors, 2); /* replaces the defaults' list */
    assert_int_equal(f->errors[0].kind, FP_FAULT_HTTP_429);
    assert_int_equal(f->errors[0].retry_after_s, 2);
    assert_int_equal(f->errors[1].kind, FP_FAULT_CUT_STREAM);
    assert_int_equal(f->errors[1].after_tokens, 5);
    assert_int_equal(f->errors[1].retry_after_s, -1);

    const fp_model *p = model(s, "plain");
    assert_int_equal(p->latency.kind, FP_DIST_FIXED); /* bare number = fixed */
    assert_true(p->latency.a == 15);
    assert_true(p->quality == 0.4);
    assert_int_equal(p->n_errors, 1);
    assert_int_equal(p->errors[0].kind, FP_FAULT_HTTP_500);
    assert_int_equal(p->content_mode, FP_CONTENT_LOREM);
    assert_int_equal(p->content_tokens, 16);

    assert_null(fp_scenario_lookup(s, "unknown"));
    fp_scenario_free(s);
}

static void test_builtin_defaults(void **state)
{
    fp_scenario *s = fp_scenario_new_default();
    const fp_model *m = model(s, "any-name-at-all");
    assert_ptr_equal(m, &s->defaults);
    assert_null(s->api_key);
    assert_false(s->has_seed);
    assert_int_equal(m->latency.kind, FP_DIST_FIXED);
    assert_true(m->latency.a == 0 && m->ttft.a == 0 && m->tokens_per_second == 0);
    assert_int_equal(m->content_mode, FP_CONTENT_LOREM);
    assert_int_equal(m->content_tokens, 16);
    assert_int_equal(m->chunk_tokens, 1);
    assert_int_equal(m->cached_tokens, 0);
    assert_true(m->quality == 0.5);
    assert_int_equal(m->n_errors, 0);
    fp_scenario_free(s);

    /* An empty document and one without "models" accept every name too. */
    s = parse_ok("{\"defaults\": {\"content\": {\"mode\": \"echo\"}}}");
    assert_int_equal(model(s, "whatever")->content_mode, FP_CONTENT_ECHO);
    fp_scenario_free(s);
    s = parse_ok("{}");
    assert_non_null(fp_scenario_lookup(s, "x"));
    fp_scenario_free(s);
}

static void test_http_429_default_retry_after(void **state)
{
    fp_scenario *s =
        parse_ok("{\"models\": {\"m\": {\"errors\": ["
                 "{\"kind\": \"http_429\", \"rate\": 0.5},"
                 "{\"kind\": \"http_503\", \"rate\": 0.1},"
                 "{\"kind\": \"http_429\", \"rate\": 0.1, \"retry_after_s\": null}]}}}");
    const fp_model *m = model(s, "m");
    assert_int_equal(m->errors[0].retry_after_s, 1);  /* 429 gets Retry-After: 1 */
    assert_int_equal(m->errors[1].retry_after_s, -1); /* others only when given */
    assert_int_equal(m->errors[2].retry_after_s, -1); /* explicit null: no header */
    fp_scenario_free(s);
}

/* Each malformed document fails with a message naming the offending path. */
static void test_parse_errors(void **state)
{
    static const struct {
        const char *json;
        const char *expect;
    } cases[] = {
        {"{\"seed\": 1,", "not valid JSON"},
        {"[1, 2]", "scenario must be a JSON object, got an array"},
        {"{\"modles\": {}}", "modles: unknown field (expected one of: seed, api_key"},
        {"{\"seed\": 1, \"seed\": 2}", "seed: duplicate field"},
        {"{\"seed\": -1}", "seed: must be between 0 and"},
        {"{\"seed\": 1.5}", "seed: must be an integer, got 1.5"},
        {"{\"seed\": \"7\"}", "seed: expected a number, got a string"},
        {"{\"api_key\": 5}", "api_key: expected a non-empty string or null"},
        {"{\"api_key\": \"\"}", "api_key: expected a non-empty string or null"},
        {"{\"models\": [\"a\"]}", "models: expected an object mapping model names"},
        {"{\"models\": {\"\": {}}}", "models: model names must not be empty"},
        {"{\"models\": {\"m\": {}, \"m\": {}}}", "models.m: duplicate model"},
        {"{\"models\": {\"m\": 3}}", "models.m: expected an object, got a number"},
        {"{\"models\": {\"m\": {\"latency\": 3}}}", "models.m.latency: unknown field"},
        {"{\"models\": {\"m\": {\"latency_ms\": {\"median\": 3}}}}",
         "models.m.latency_ms.dist: required: one of fixed, uniform, lognormal"},
        {"{\"models\": {\"m\": {\"latency_ms\": {\"dist\": \"gauss\"}}}}",
         "models.m.latency_ms.dist: unknown distribution \"gauss\""},
        {"{\"models\": {\"m\": {\"latency_ms\": {\"dist\": \"fixed\"}}}}",
         "models.m.latency_ms.value: required for dist \"fixed\""},
        {"{\"models\": {\"m\": {\"latency_ms\": {\"dist\": \"fixed\", \"value\": -5}}}}",
         "models.m.latency_ms.value: must be between 0 and"},
        {"{\"models\": {\"m\": {\"latency_ms\": {\"dist\": \"fixed\", \"value\": 1, \"sigma\": "
         "1}}}}",
         "models.m.latency_ms.sigma: unknown field (expected one of: dist, value)"},
        {"{\"models\": {\"m\": {\"ttft_ms\": {\"dist\": \"uniform\", \"min\": 5}}}}",
         "models.m.ttft_ms.max: required for dist \"uniform\""},
        {"{\"models\": {\"m\": {\"ttft_ms\": {\"dist\": \"uniform\", \"min\": 5, \"max\": 2}}}}",
         "models.m.ttft_ms.max: must be >= min (5), got 2"},
        {"{\"models\": {\"m\": {\"latency_ms\": {\"dist\": \"lognormal\", \"median\": 0, "
         "\"sigma\": 1}}}}",
         "models.m.latency_ms.median: must be > 0"},
        {"{\"models\": {\"m\": {\"latency_ms\": {\"dist\": \"lognormal\", \"median\": 10}}}}",
         "models.m.latency_ms.sigma: required for dist \"lognormal\""},
        {"{\"models\": {\"m\": {\"tokens_per_second\": -1}}}",
         "models.m.tokens_per_second: must be between 0 and"},
        {"{\"models\": {\"m\": {\"content\": \"hello\"}}}",
         "models.m.content: expected an object like"},
        {"{\"models\": {\"m\": {\"content\": {\"mode\": \"poem\"}}}}",
         "models.m.content.mode: unknown content mode \"poem\""},
        {"{\"models\": {\"m\": {\"content\": {\"mode\": \"canned\"}}}}",
         "models.m.content.text: required for mode \"canned\""},
        {"{\"models\": {\"m\": {\"content\": {\"mode\": \"echo\", \"text\": \"x\"}}}}",
         "models.m.content.text: unknown field (expected one of: mode)"},
        {"{\"models\": {\"m\": {\"content\": {\"mode\": \"lorem\", \"tokens\": 2.5}}}}",
         "models.m.content.tokens: must be an integer, got 2.5"},
        {"{\"models\": {\"m\": {\"chunk_tokens\": 0}}}",
         "models.m.chunk_tokens: must be between 1 and"},
        {"{\"models\": {\"m\": {\"cached_tokens\": \"3\"}}}",
         "models.m.cached_tokens: expected a number, got a string"},
        {"{\"models\": {\"m\": {\"cache_write_tokens\": -1}}}",
         "models.m.cache_write_tokens: must be between 0 and"},
        {"{\"models\": {\"m\": {\"quality\": 1.5}}}", "models.m.quality: must be between 0 and 1"},
        {"{\"models\": {\"m\": {\"errors\": {}}}}",
         "models.m.errors: expected an array of {\"kind\",\"rate\"} objects, got an object"},
        {"{\"models\": {\"m\": {\"errors\": [7]}}}", "models.m.errors[0]: expected an object"},
        {"{\"models\": {\"m\": {\"errors\": [{\"kind\": \"http_418\", \"rate\": 0.1}]}}}",
         "models.m.errors[0].kind: unknown error kind \"http_418\" (expected one of: http_400"},
        {"{\"models\": {\"m\": {\"errors\": [{\"rate\": 0.1}]}}}",
         "models.m.errors[0].kind: required: one of http_400"},
        {"{\"models\": {\"m\": {\"errors\": [{\"kind\": \"reset\"}]}}}",
         "models.m.errors[0].rate: required"},
        {"{\"models\": {\"m\": {\"errors\": [{\"kind\": \"reset\", \"rate\": 0.1},"
         "{\"kind\": \"stall\", \"rate\": 2}]}}}",
         "models.m.errors[1].rate: must be between 0 and 1, got 2"},
        {"{\"models\": {\"m\": {\"errors\": [{\"kind\": \"reset\", \"rate\": 0.7},"
         "{\"kind\": \"stall\", \"rate\": 0.6}]}}}",
         "models.m.errors: error rates add up to 1.3, more than 1"},
        {"{\"models\": {\"m\": {\"errors\": [{\"kind\": \"reset\", \"rate\": 0.1, "
         "\"retry_after_s\": 3}]}}}",
         "models.m.errors[0].retry_after_s: only allowed for http_400/429/500/503/529"},
        {"{\"models\": {\"m\": {\"errors\": [{\"kind\": \"http_429_quota\", \"rate\": 0.1, "
         "\"retry_after_s\": 3}]}}}",
         "models.m.errors[0].retry_after_s: only allowed"},
        {"{\"models\": {\"m\": {\"errors\": [{\"kind\": \"stall\", \"rate\": 0.1, "
         "\"after_tokens\": -1}]}}}",
         "models.m.errors[0].after_tokens: must be between 0 and"},
        {"{\"models\": {\"m\": {\"errors\": [{\"kind\": \"stall\", \"rate\": 0.1, "
         "\"when\": 1}]}}}",
         "models.m.errors[0].when: unknown field"},
        {"{\"defaults\": {\"quality\": -0.1}}", "defaults.quality: must be between 0 and 1"},
        {"{\"defaults\": []}", "defaults: expected an object, got an array"},
    };
    for (size_t i = 0; i < SY_ARRAY_LEN(cases); i++) {
        fp_scenario *s = (fp_scenario *)1;
        sy_buf err = {0};
        int rc = fp_scenario_parse(cases[i].json, strlen(cases[i].json), &s, &err);
        if (rc != SY_ERR_INVALID)
            fail_msg("case %zu (%s): expected SY_ERR_INVALID, got %d", i, cases[i].json, rc);
        assert_null(s);
        if (!err.data || !strstr(err.data, cases[i].expect))
            fail_msg("case %zu (%s):\n  message  \"%s\"\n  expected \"%s\"", i, cases[i].json,
                     err.data ? err.data : "(none)", cases[i].expect);
        sy_buf_free(&err);
    }
}

/* ---- decisions */

static void test_pick_error_bands(void **state)
{
    const fp_error_rule rules[] = {
        {FP_FAULT_HTTP_429, 0.1, 1, 0},
        {FP_FAULT_RESET, 0.0, -1, 0},
        {FP_FAULT_STALL, 0.2, -1, 3},
    };
    assert_ptr_equal(fp_pick_error(rules, 3, 0.0), &rules[0]);
    assert_ptr_equal(fp_pick_error(rules, 3, 0.0999), &rules[0]);
    assert_ptr_equal(fp_pick_error(rules, 3, 0.1), &rules[2]); /* zero-width band skipped */
    assert_ptr_equal(fp_pick_error(rules, 3, 0.2999), &rules[2]);
    assert_null(fp_pick_error(rules, 3, 0.3001));
    assert_null(fp_pick_error(rules, 3, 0.99));
    assert_null(fp_pick_error(NULL, 0, 0.0));
}

typedef struct rngs {
    gsl_rng *fault, *latency;
} rngs;

static rngs rngs_new(uint64_t seed)
{
    rngs r = {gsl_rng_alloc(gsl_rng_mt19937), gsl_rng_alloc(gsl_rng_mt19937)};
    fp_rng_seed(r.fault, r.latency, seed);
    return r;
}

static void rngs_free(rngs *r)
{
    gsl_rng_free(r->fault);
    gsl_rng_free(r->latency);
}

static const char *flaky_json =
    "{\"models\": {\"m\": {\"latency_ms\": {\"dist\": \"lognormal\", \"median\": 100, "
    "\"sigma\": 0.5}, \"errors\": [{\"kind\": \"http_429\", \"rate\": 0.1, \"retry_after_s\": 2},"
    "{\"kind\": \"http_500\", \"rate\": 0.05}, {\"kind\": \"cut_stream\", \"rate\": 0.05, "
    "\"after_tokens\": 4}]}}}";

/* The same seed and request order give the same faults and latencies, request by request. */
static void test_seeded_decisions_are_deterministic(void **state)
{
    fp_scenario *s = parse_ok(flaky_json);
    const fp_model *m = model(s, "m");
    rngs a = rngs_new(42), b = rngs_new(42), c = rngs_new(43);
    int differs = 0;
    for (int i = 0; i < 500; i++) {
        fp_plan pa, pb, pc;
        fp_plan_make(m, i % 2, NULL, a.fault, a.latency, &pa);
        fp_plan_make(m, i % 2, NULL, b.fault, b.latency, &pb);
        fp_plan_make(m, i % 2, NULL, c.fault, c.latency, &pc);
        assert_int_equal(pa.fault, pb.fault);
        assert_true(pa.delay_ms == pb.delay_ms);
        assert_int_equal(pa.retry_after_s, pb.retry_after_s);
        differs |= pa.fault != pc.fault;
    }
    assert_true(differs); /* another seed, another sequence */
    rngs_free(&a);
    rngs_free(&b);
    rngs_free(&c);
    fp_scenario_free(s);
}

/* Over many requests each fault fires at about its rate and carries its rule's fields. */
static void test_fault_rates(void **state)
{
    fp_scenario *s = parse_ok(flaky_json);
    const fp_model *m = model(s, "m");
    rngs r = rngs_new(7);
    int counts[FP_FAULT_COUNT] = {0};
    const int n = 20000;
    for (int i = 0; i < n; i++) {
        fp_plan p;
        fp_plan_make(m, 0, NULL, r.fault, r.latency, &p);
        counts[p.fault]++;
        if (p.fault == FP_FAULT_HTTP_429)
            assert_int_equal(p.retry_after_s, 2);
        if (p.fault == FP_FAULT_HTTP_500)
            assert_int_equal(p.retry_after_s, -1);
        if (p.fault == FP_FAULT_CUT_STREAM)
            assert_int_equal(p.after_tokens, 4);
    }
    /* binomial sd for p=0.1, n=20000 is ~0.002; allow 5 sd */
    assert_true(fabs(counts[FP_FAULT_HTTP_429] / (double)n - 0.10) < 0.011);
    assert_true(fabs(counts[FP_FAULT_HTTP_500] / (double)n - 0.05) < 0.008);
    assert_true(fabs(counts[FP_FAULT_CUT_STREAM] / (double)n - 0.05) < 0.008);
    assert_true(fabs(counts[FP_FAULT_NONE] / (double)n - 0.80) < 0.014);
    rngs_free(&r);
    fp_scenario_free(s);
}

/*
 * Forcing a fault or a latency on one request must not shift the random decisions of
 * the requests after it: draw counts are fixed per request.
 */
static void test_overrides_do_not_shift_draws(void **state)
{
    fp_scenario *s = parse_ok(flaky_json);
    const fp_model *m = model(s, "m");
    rngs a = rngs_new(99), b = rngs_new(99);
    fp_overrides ov;
    sy_buf err = {0};
    assert_int_equal(fp_overrides_parse("stall", "5", "3", "10", "2", &ov, &err), SY_OK);
    for (int i = 0; i < 200; i++) {
        fp_plan pa, pb;
        fp_plan_make(m, 0, i % 3 == 0 ? &ov : NULL, a.fault, a.latency, &pa);
        fp_plan_make(m, 0, NULL, b.fault, b.latency, &pb);
        if (i % 3 == 0) {
            assert_int_equal(pa.fault, FP_FAULT_STALL);
            assert_true(pa.delay_ms == 5);
            assert_int_equal(pa.tokens, 3);
            assert_true(pa.tps == 10);
            assert_int_equal(pa.after_tokens, 2);
        } else {
            assert_int_equal(pa.fault, pb.fault);
            assert_true(pa.delay_ms == pb.delay_ms);
        }
    }
    /* A fixed latency still consumes its draw: switching distributions keeps alignment. */
    fp_dist fixed = {FP_DIST_FIXED, 12, 0};
    rngs c = rngs_new(5), d = rngs_new(5);
    assert_true(fp_dist_sample(&fixed, c.latency) == 12);
    gsl_rng_uniform_pos(d.latency);
    assert_true(gsl_rng_uniform(c.latency) == gsl_rng_uniform(d.latency));
    rngs_free(&a);
    rngs_free(&b);
    rngs_free(&c);
    rngs_free(&d);
    sy_buf_free(&err);
    fp_scenario_free(s);
}

static void test_plan_fields(void **state)
{
    fp_scenario *s = parse_ok(
        "{\"models\": {\"m\": {\"latency_ms\": 300, \"ttft_ms\": 40, \"tokens_per_second\": 25,"
        " \"chunk_tokens\": 2, \"cached_tokens\": 9, \"cache_write_tokens\": 11,"
        " \"errors\": [{\"kind\": \"http_503\", \"rate\": 0, \"retry_after_s\": 4}]}}}");
    const fp_model *m = model(s, "m");
    rngs r = rngs_new(1);
    fp_plan p;
    fp_plan_make(m, 0, NULL, r.fault, r.latency, &p);
    assert_int_equal(p.fault, FP_FAULT_NONE); /* rate 0 never fires */
    assert_true(p.delay_ms == 300);           /* non-stream: latency */
    assert_true(p.tps == 25);
    assert_int_equal(p.chunk_tokens, 2);
    assert_int_equal(p.cached_tokens, 9);
    assert_int_equal(p.cache_write_tokens, 11);
    assert_int_equal(p.tokens, -1);
    fp_plan_make(m, 1, NULL, r.fault, r.latency, &p);
    assert_true(p.delay_ms == 40); /* stream: TTFT */

    fp_overrides ov;
    sy_buf err = {0};
    /* forced kinds take the model's rule fields, else the built-in ones */
    assert_int_equal(fp_overrides_parse("http_503", NULL, NULL, NULL, NULL, &ov, &err), SY_OK);
    fp_plan_make(m, 0, &ov, r.fault, r.latency, &p);
    assert_int_equal(p.fault, FP_FAULT_HTTP_503);
    assert_int_equal(p.retry_after_s, 4);
    assert_int_equal(fp_overrides_parse("http_429", NULL, NULL, NULL, NULL, &ov, &err), SY_OK);
    fp_plan_make(m, 0, &ov, r.fault, r.latency, &p);
    assert_int_equal(p.retry_after_s, 1);
    assert_int_equal(fp_overrides_parse("http_429_quota", NULL, NULL, NULL, NULL, &ov, &err),
                     SY_OK);
    fp_plan_make(m, 0, &ov, r.fault, r.latency, &p);
    assert_int_equal(p.retry_after_s, -1);
    assert_int_equal(fp_overrides_parse(NULL, "0", NULL, "0", NULL, &ov, &err), SY_OK);
    fp_plan_make(m, 1, &ov, r.fault, r.latency, &p);
    assert_true(p.delay_ms == 0 && p.tps == 0);
    rngs_free(&r);
    sy_buf_free(&err);
    fp_scenario_free(s);
}

static void test_overrides_parse_errors(void **state)
{
    fp_overrides ov;
    sy_buf err = {0};
    assert_int_equal(fp_overrides_parse(NULL, NULL, NULL, NULL, NULL, &ov, &err), SY_OK);
    assert_false(ov.has_fault || ov.has_latency || ov.has_tps);
    assert_int_equal(ov.tokens, -1);
    assert_int_equal(ov.after_tokens, -1);

    assert_int_equal(fp_overrides_parse("teapot", NULL, NULL, NULL, NULL, &ov, &err),
                     SY_ERR_INVALID);
    assert_non_null(strstr(err.data, "x-fake-error: unknown error kind \"teapot\""));
    assert_int_equal(fp_overrides_parse(NULL, "-3", NULL, NULL, NULL, &ov, &err), SY_ERR_INVALID);
    assert_non_null(strstr(err.data, "x-fake-latency-ms"));
    assert_int_equal(fp_overrides_parse(NULL, NULL, "1.5", NULL, NULL, &ov, &err), SY_ERR_INVALID);
    assert_non_null(strstr(err.data, "x-fake-tokens"));
    assert_int_equal(fp_overrides_parse(NULL, NULL, NULL, "fast", NULL, &ov, &err), SY_ERR_INVALID);
    assert_non_null(strstr(err.data, "x-fake-tps"));
    assert_int_equal(fp_overrides_parse(NULL, NULL, NULL, NULL, "", &ov, &err), SY_ERR_INVALID);
    assert_non_null(strstr(err.data, "x-fake-after-tokens"));
    assert_int_equal(fp_overrides_parse("reset", "12.5", "0", "7.5", "4", &ov, &err), SY_OK);
    assert_true(ov.has_fault && ov.fault == FP_FAULT_RESET);
    assert_true(ov.latency_ms == 12.5 && ov.tps == 7.5);
    assert_int_equal(ov.tokens, 0);
    assert_int_equal(ov.after_tokens, 4);
    sy_buf_free(&err);
}

static void test_dist_sampling(void **state)
{
    rngs r = rngs_new(3);
    fp_dist u = {FP_DIST_UNIFORM, 10, 20};
    fp_dist ln = {FP_DIST_LOGNORMAL, 200, 0.3};
    double v[2001];
    for (int i = 0; i < 2001; i++) {
        double x = fp_dist_sample(&u, r.latency);
        assert_true(x >= 10 && x <= 20);
        v[i] = fp_dist_sample(&ln, r.latency);
        assert_true(v[i] > 0);
    }
    int below = 0;
    for (int i = 0; i < 2001; i++)
        below += v[i] < 200;
    assert_true(below > 900 && below < 1100); /* the median is the median */
    fp_dist zero = {FP_DIST_LOGNORMAL, 50, 0};
    assert_true(fabs(fp_dist_sample(&zero, r.latency) - 50) < 1e-9);
    rngs_free(&r);
}

/* ---- content and tokens */

static char *text_of(const fp_text *t)
{
    return sy_xstrndup(t->text.data ? t->text.data : "", t->text.len);
}

static void test_tokenize(void **state)
{
    fp_text t = {0};
    fp_tokenize("Hello there,  world!\n", 21, &t);
    assert_int_equal(t.n, 3);
    size_t len;
    const char *tok = fp_text_token(&t, 1, &len);
    assert_int_equal(len, 7);
    assert_memory_equal(tok, " there,", 7);
    tok = fp_text_token(&t, 2, &len);
    assert_memory_equal(tok, "  world!\n", 9); /* trailing whitespace joins the last */
    fp_text_free(&t);

    fp_tokenize("   ", 3, &t);
    assert_int_equal(t.n, 1);
    fp_text_free(&t);
    fp_tokenize("", 0, &t);
    assert_int_equal(t.n, 0);
    fp_text_free(&t);
}

static void test_content_build(void **state)
{
    fp_scenario *s = parse_ok("{\"models\": {"
                              "\"c\": {\"content\": {\"mode\": \"canned\", \"text\": \"a b c\"}},"
                              "\"e\": {\"content\": {\"mode\": \"echo\"}},"
                              "\"l\": {\"content\": {\"mode\": \"lorem\", \"tokens\": 5}}}}");
    fp_text t = {0};
    int trunc;
    char *x;

    fp_content_build(model(s, "c"), NULL, 0, -1, -1, &t, &trunc);
    assert_int_equal(t.n, 3);
    assert_false(trunc);
    x = text_of(&t);
    assert_string_equal(x, "a b c");
    free(x);
    fp_text_free(&t);

    fp_content_build(model(s, "c"), NULL, 0, 7, -1, &t, &trunc); /* x-fake-tokens cycles */
    assert_int_equal(t.n, 7);
    x = text_of(&t);
    assert_string_equal(x, "a b c a b c a");
    free(x);
    fp_text_free(&t);

    fp_content_build(model(s, "c"), NULL, 0, 7, 2, &t, &trunc); /* max_tokens wins */
    assert_int_equal(t.n, 2);
    assert_true(trunc);
    fp_text_free(&t);

    fp_content_build(model(s, "e"), "say  this back", 14, -1, -1, &t, &trunc);
    assert_int_equal(t.n, 3);
    x = text_of(&t);
    assert_string_equal(x, "say  this back");
    free(x);
    fp_text_free(&t);

    fp_content_build(model(s, "e"), "", 0, -1, -1, &t, &trunc); /* nothing to echo */
    assert_int_equal(t.n, 0);
    fp_text_free(&t);
    fp_content_build(model(s, "e"), "", 0, 4, -1, &t, &trunc); /* forced: lorem fills */
    assert_int_equal(t.n, 4);
    fp_text_free(&t);

    fp_content_build(model(s, "l"), NULL, 0, -1, -1, &t, &trunc);
    assert_int_equal(t.n, 5);
    x = text_of(&t);
    assert_string_equal(x, "Lorem ipsum dolor sit amet,");
    free(x);
    fp_text_free(&t);

    fp_content_build(model(s, "l"), NULL, 0, 0, -1, &t, &trunc);
    assert_int_equal(t.n, 0);
    fp_text_free(&t);
    fp_scenario_free(s);
}

static void test_prompt_tokens(void **state)
{
    assert_int_equal(fp_prompt_tokens(0), 1);
    assert_int_equal(fp_prompt_tokens(1), 1);
    assert_int_equal(fp_prompt_tokens(4), 1);
    assert_int_equal(fp_prompt_tokens(5), 2);
    assert_int_equal(fp_prompt_tokens(400), 100);
}

/* ---- tool calls */

/* The query member of a tool call's arguments (asserting they are {"query": string}). */
static char *tool_query(const sy_buf *args)
{
    cJSON *j = cJSON_ParseWithLength(args->data, args->len);
    if (!j)
        fail_msg("arguments are not JSON: %s", args->data);
    assert_int_equal(cJSON_GetArraySize(j), 1);
    cJSON *q = cJSON_GetObjectItemCaseSensitive(j, "query");
    assert_true(cJSON_IsString(q));
    char *out = strdup(q->valuestring);
    cJSON_Delete(j);
    return out;
}

static void test_tool_call_decision(void **state)
{
    sy_buf args = {0};
    /* no tools offered, or the last message is a tool result: text, args untouched */
    assert_int_equal(fp_tool_call_args(NULL, 0, "hi", 2, &args), 0);
    assert_int_equal(fp_tool_call_args("lookup", 1, "hi", 2, &args), 0);
    assert_int_equal(args.len, 0);

    /* tools offered: a call whose query echoes the last user message, JSON-escaped */
    const char *echo = "say \"hi\"\n\\ now";
    assert_int_equal(fp_tool_call_args("lookup", 0, echo, strlen(echo), &args), 1);
    char *q = tool_query(&args);
    assert_string_equal(q, echo);
    free(q);

    /* no user message: an empty query */
    sy_buf_reset(&args);
    assert_int_equal(fp_tool_call_args("lookup", 0, NULL, 0, &args), 1);
    assert_string_equal(args.data, "{\"query\":\"\"}");

    /* at most FP_TOOL_QUERY_MAX bytes, never cutting a UTF-8 character: "a" then 40
     * two-byte "é" puts byte 64 inside a character, so the query keeps 63 bytes */
    sy_buf long_echo = {0};
    sy_buf_puts(&long_echo, "a");
    for (int i = 0; i < 40; i++)
        sy_buf_puts(&long_echo, "\xc3\xa9");
    sy_buf_reset(&args);
    assert_int_equal(fp_tool_call_args("lookup", 0, long_echo.data, long_echo.len, &args), 1);
    q = tool_query(&args);
    assert_int_equal(strlen(q), 63);
    assert_memory_equal(q, long_echo.data, 63);
    free(q);
    /* ASCII is cut at exactly 64 */
    sy_buf_reset(&long_echo);
    for (int i = 0; i < 100; i++)
        sy_buf_puts(&long_echo, "x");
    sy_buf_reset(&args);
    fp_tool_call_args("lookup", 0, long_echo.data, long_echo.len, &args);
    q = tool_query(&args);
    assert_int_equal(strlen(q), FP_TOOL_QUERY_MAX);
    free(q);

    /* the completion tokens of a call are the tokens of its arguments text */
    sy_buf_reset(&args);
    fp_tool_call_args("lookup", 0, "weather in Paris", 16, &args);
    fp_text t = {0};
    fp_tokenize(args.data, args.len, &t);
    assert_int_equal(t.n, 3); /* {"query":"weather, ␣in, ␣Paris"} */
    fp_text_free(&t);
    sy_buf_free(&long_echo);
    sy_buf_free(&args);
}

static void test_tool_call_id(void **state)
{
    char a[48], b[48], c[48], d[48];
    fp_tool_call_id(42, 1, a, sizeof a);
    fp_tool_call_id(42, 1, b, sizeof b);
    fp_tool_call_id(42, 2, c, sizeof c);
    fp_tool_call_id(43, 1, d, sizeof d);
    assert_string_equal(a, b); /* reproducible from seed and request number */
    assert_string_not_equal(a, c);
    assert_string_not_equal(a, d);
    assert_int_equal(strlen(a), 29);
    assert_memory_equal(a, "call_", 5);
    for (size_t i = 5; i < 29; i++)
        assert_non_null(strchr("0123456789abcdef", a[i]));
}

/* ---- OpenAI dialect */

static cJSON *parse_json(const char *s, size_t len)
{
    cJSON *j = cJSON_ParseWithLength(s, len);
    if (!j)
        fail_msg("not JSON: %.*s", (int)len, s);
    return j;
}

static void test_openai_parse_chat(void **state)
{
    const fp_dialect *d = &fp_dialect_openai;
    assert_int_equal(d->route("/v1/chat/completions"), FP_ROUTE_CHAT);
    assert_int_equal(d->route("/v1/models"), FP_ROUTE_MODELS);
    assert_int_equal(d->route("/v1/completions"), FP_ROUTE_NONE);

    cJSON *body = cJSON_Parse(
        "{\"model\": \"m\", \"stream\": true, \"stream_options\": {\"include_usage\": true},"
        " \"max_tokens\": 50, \"max_completion_tokens\": 20,"
        " \"messages\": [{\"role\": \"system\", \"content\": \"abcd\"},"
        "  {\"role\": \"user\", \"content\": [{\"type\": \"text\", \"text\": \"hello\"},"
        "   {\"type\": \"image_url\", \"image_url\": {\"url\": \"x\"}}]},"
        "  {\"role\": \"assistant\", \"content\": null}]}");
    fp_chat c = {0};
    sy_buf err = {0};
    assert_int_equal(d->parse_chat(body, &c, &err), SY_OK);
    assert_string_equal(c.model, "m");
    assert_true(c.stream && c.include_usage);
    assert_int_equal(c.prompt_bytes, 9);
    assert_string_equal(c.echo.data, "hello");
    assert_int_equal(c.max_tokens, 20);
    fp_chat_free(&c);
    cJSON_Delete(body);

    static const char *const bad[] = {
        "[]",
        "{\"messages\": []}",
        "{\"model\": \"m\"}",
        "{\"model\": \"m\", \"messages\": []}",
        "{\"model\": \"m\", \"messages\": [1]}",
        "{\"model\": \"m\", \"messages\": [{\"role\": \"user\"}], \"stream\": \"yes\"}",
        "{\"model\": \"m\", \"messages\": [{\"role\": \"user\"}], \"stream_options\": {}}",
        "{\"model\": \"m\", \"messages\": [{\"role\": \"user\"}], \"max_tokens\": 0}",
    };
    for (size_t i = 0; i < SY_ARRAY_LEN(bad); i++) {
        body = cJSON_Parse(bad[i]);
        memset(&c, 0, sizeof c);
        sy_buf_reset(&err);
        if (d->parse_chat(body, &c, &err) != SY_ERR_INVALID || !err.len)
            fail_msg("accepted: %s", bad[i]);
        fp_chat_free(&c);
        cJSON_Delete(body);
    }
    sy_buf_free(&err);
}

static void test_openai_bodies(void **state)
{
    const fp_dialect *d = &fp_dialect_openai;
    fp_exchange x = {.created = 1700000000,
                     .model = "fast \"model\"",
                     .include_usage = 1,
                     .prompt_tokens = 10,
                     .cached_tokens = 4,
                     .completion_tokens = 3};
    strcpy(x.id, "chatcmpl-test");
    sy_buf b = {0};

    d->render_completion(&x, "Hi\n\"there\"", 11, &b);
    cJSON *j = parse_json(b.data, b.len);
    assert_string_equal(cJSON_GetObjectItem(j, "object")->valuestring, "chat.completion");
    assert_string_equal(cJSON_GetObjectItem(j, "model")->valuestring, "fast \"model\"");
    cJSON *choice = cJSON_GetArrayItem(cJSON_GetObjectItem(j, "choices"), 0);
    assert_string_equal(
        cJSON_GetObjectItem(cJSON_GetObjectItem(choice, "message"), "content")->valuestring,
        "Hi\n\"there\"");
    assert_string_equal(cJSON_GetObjectItem(choice, "finish_reason")->valuestring, "stop");
    assert_true(cJSON_IsNull(cJSON_GetObjectItem(choice, "logprobs")));
    cJSON *usage = cJSON_GetObjectItem(j, "usage");
    assert_int_equal(cJSON_GetObjectItem(usage, "total_tokens")->valueint, 13);
    assert_int_equal(
        cJSON_GetObjectItem(cJSON_GetObjectItem(usage, "prompt_tokens_details"), "cached_tokens")
            ->valueint,
        4);
    cJSON_Delete(j);

    /* stream: every event is "data: <json>\n\n", the usage chunk has empty choices */
    sy_buf_reset(&b);
    d->render_stream_open(&x, &b);
    d->render_stream_delta(&x, "Hi", 2, &b);
    x.truncated = 1;
    d->render_stream_close(&x, &b);
    const char *p = b.data;
    int events = 0, saw_usage = 0, saw_done = 0;
    while (*p) {
        assert_memory_equal(p, "data: ", 6);
        const char *end = strstr(p, "\n\n");
        assert_non_null(end);
        if (strncmp(p + 6, "[DONE]", 6) == 0) {
            saw_done = 1;
        } else {
            j = parse_json(p + 6, (size_t)(end - p - 6));
            assert_string_equal(cJSON_GetObjectItem(j, "object")->valuestring,
                                "chat.completion.chunk");
            cJSON *choices = cJSON_GetObjectItem(j, "choices");
            if (cJSON_GetArraySize(choices) == 0) {
                saw_usage = 1;
                assert_int_equal(
                    cJSON_GetObjectItem(cJSON_GetObjectItem(j, "usage"), "completion_tokens")
                        ->valueint,
                    3);
            } else {
                assert_true(cJSON_IsNull(cJSON_GetObjectItem(j, "usage")));
                cJSON *fr = cJSON_GetObjectItem(cJSON_GetArrayItem(choices, 0), "finish_reason");
                if (events == 2)
                    assert_string_equal(fr->valuestring, "length");
                else
                    assert_true(cJSON_IsNull(fr));
            }
            cJSON_Delete(j);
        }
        events++;
        p = end + 2;
    }
    assert_int_equal(events, 5); /* open, delta, finish, usage, [DONE] */
    assert_true(saw_usage && saw_done);

    /* without include_usage: no usage member, no usage chunk */
    x.include_usage = 0;
    sy_buf_reset(&b);
    d->render_stream_close(&x, &b);
    assert_null(strstr(b.data, "usage"));

    /* malformed bodies are not JSON */
    sy_buf_reset(&b);
    d->render_malformed(&x, 0, &b);
    assert_null(cJSON_ParseWithLength(b.data, b.len));

    sy_buf_reset(&b);
    assert_int_equal(d->render_error(FP_ERR_RATE_LIMIT, NULL, &b), 429);
    j = parse_json(b.data, b.len);
    assert_string_equal(cJSON_GetObjectItem(cJSON_GetObjectItem(j, "error"), "code")->valuestring,
                        "rate_limit_exceeded");
    cJSON_Delete(j);
    sy_buf_reset(&b);
    assert_int_equal(d->render_error(FP_ERR_QUOTA, NULL, &b), 429);
    assert_non_null(strstr(b.data, "\"code\":\"insufficient_quota\""));
    sy_buf_reset(&b);
    assert_int_equal(d->render_error(FP_ERR_MODEL_NOT_FOUND, "no such model", &b), 404);
    assert_non_null(strstr(b.data, "\"code\":\"model_not_found\""));
    assert_non_null(strstr(b.data, "no such model"));
    sy_buf_reset(&b);
    assert_int_equal(d->render_error(FP_ERR_OVERLOADED, NULL, &b), 529);
    sy_buf_reset(&b);
    assert_int_equal(d->render_error(FP_ERR_UNAUTHORIZED, NULL, &b), 401);

    const char *names[] = {"a", "b"};
    sy_buf_reset(&b);
    d->render_models(names, 2, 1, &b);
    j = parse_json(b.data, b.len);
    assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(j, "data")), 2);
    cJSON_Delete(j);
    sy_buf_free(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_full_scenario),
        cmocka_unit_test(test_builtin_defaults),
        cmocka_unit_test(test_http_429_default_retry_after),
        cmocka_unit_test(test_parse_errors),
        cmocka_unit_test(test_pick_error_bands),
        cmocka_unit_test(test_seeded_decisions_are_deterministic),
        cmocka_unit_test(test_fault_rates),
        cmocka_unit_test(test_overrides_do_not_shift_draws),
        cmocka_unit_test(test_plan_fields),
        cmocka_unit_test(test_overrides_parse_errors),
        cmocka_unit_test(test_dist_sampling),
        cmocka_unit_test(test_tokenize),
        cmocka_unit_test(test_content_build),
        cmocka_unit_test(test_prompt_tokens),
        cmocka_unit_test(test_tool_call_decision),
        cmocka_unit_test(test_tool_call_id),
        cmocka_unit_test(test_openai_parse_chat),
        cmocka_unit_test(test_openai_bodies),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
