/*
 * Unit tests for fake-provider's prompt-dependent qualities (fake_quality.c and the
 * "quality_rules" of a scenario): parsing and its errors, inheritance from "defaults",
 * rule matching by tag, keyword and format (first match wins, else the model's
 * quality), and the GET/POST /_fake/quality documents.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "fake_quality.h"
#include "fake_scenario.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <string.h>

static fp_scenario *parse_ok(const char *json)
{
    fp_scenario *s = NULL;
    sy_buf err = {0};
    if (fp_scenario_parse(json, strlen(json), &s, &err) != SY_OK)
        fail_msg("unexpected parse error: %s", err.data);
    sy_buf_free(&err);
    return s;
}

static const char *const rules_scenario =
    "{\"defaults\": {\"quality\": 0.5,"
    "   \"quality_rules\": [{\"match\": {\"tag\": \"legal\"}, \"quality\": 0.05}]},"
    " \"models\": {"
    "  \"coder\": {\"quality\": 0.3, \"quality_rules\": ["
    "     {\"match\": {\"tag\": [\"code\", \"sql\"]}, \"quality\": 0.9},"
    "     {\"match\": {\"format\": \"code\"}, \"quality\": 0.8},"
    "     {\"match\": {\"contains\": [\"haiku\", \"SONNET\"], \"tag\": \"poem\"}, \"quality\": "
    "0.7},"
    "     {\"match\": {\"format\": [\"math\", \"choice\"]}, \"quality\": 0.1}]},"
    "  \"plain\": {\"quality\": 0.6},"
    "  \"ruleless\": {\"quality\": 0.4, \"quality_rules\": []}"
    " }}";

static double q(const fp_scenario *s, const char *model, const char *tag, const char *text,
                int *rule)
{
    const fp_model *m = fp_scenario_lookup(s, model);
    assert_non_null(m);
    return fp_quality_for(m, tag, text, strlen(text), rule);
}

static void test_rules_match_in_order(void **state)
{
    (void)state;
    fp_scenario *s = parse_ok(rules_scenario);
    int rule = 99;
    /* tag: one of the list; a rule's tag beats a later format rule */
    assert_true(q(s, "coder", "code", "Say hello", &rule) == 0.9 && rule == 0);
    assert_true(q(s, "coder", "sql", "```select 1```", &rule) == 0.9 && rule == 0);
    /* no tag: the format rule (the router's code detector) */
    assert_true(q(s, "coder", NULL, "Write a Python function that reverses a list.", &rule) ==
                    0.8 &&
                rule == 1);
    /* every stated condition must hold: keyword (case-insensitive) and tag */
    assert_true(q(s, "coder", "poem", "Write a Haiku about rain", &rule) == 0.7 && rule == 2);
    assert_true(q(s, "coder", "poem", "write a sonnet", &rule) == 0.7);
    assert_true(q(s, "coder", "poem", "Write a limerick", &rule) == 0.3 && rule == -1);
    assert_true(q(s, "coder", NULL, "Write a haiku", &rule) == 0.3 && rule == -1);
    /* a format list is "any of" */
    assert_true(q(s, "coder", NULL, "Solve the equation 3 + 4 = x", &rule) == 0.1 && rule == 3);
    assert_true(q(s, "coder", NULL, "Pick one:\nA) red\nB) blue", &rule) == 0.1);
    assert_true(q(s, "coder", "chat", "What is a good name for a bakery?", &rule) == 0.3);
    /* a model without rules inherits the defaults' list; an empty list clears it */
    assert_true(q(s, "plain", "legal", "anything", &rule) == 0.05 && rule == 0);
    assert_true(q(s, "plain", "code", "anything", &rule) == 0.6 && rule == -1);
    assert_true(q(s, "ruleless", "legal", "anything", &rule) == 0.4 && rule == -1);
    /* only the text's first SY_FEATURE_SCAN_BYTES are read (as the router does) */
    size_t n = 70000;
    char *big = malloc(n + 1);
    memset(big, 'x', n);
    memcpy(big + n - 5, "haiku", 5);
    big[n] = 0;
    const fp_model *coder = fp_scenario_lookup(s, "coder");
    assert_true(fp_quality_for(coder, "poem", big, n, NULL) == 0.3);
    memcpy(big + 10, "haiku", 5);
    assert_true(fp_quality_for(coder, "poem", big, n, NULL) == 0.7);
    free(big);
    fp_scenario_free(s);
}

static void test_rules_parse_errors(void **state)
{
    (void)state;
    static const struct {
        const char *json;
        const char *expect;
    } cases[] = {
        {"{\"models\": {\"m\": {\"quality_rules\": {}}}}",
         "models.m.quality_rules: expected an array of {\"match\",\"quality\"} objects"},
        {"{\"models\": {\"m\": {\"quality_rules\": [3]}}}",
         "models.m.quality_rules[0]: expected an object, got a number"},
        {"{\"models\": {\"m\": {\"quality_rules\": [{\"quality\": 0.5}]}}}",
         "models.m.quality_rules[0].match: required"},
        {"{\"models\": {\"m\": {\"quality_rules\": [{\"match\": {\"tag\": \"a\"}}]}}}",
         "models.m.quality_rules[0].quality: required"},
        {"{\"models\": {\"m\": {\"quality_rules\": [{\"match\": {}, \"quality\": 1}]}}}",
         "models.m.quality_rules[0].match: needs at least one of tag, contains, format"},
        {"{\"models\": {\"m\": {\"quality_rules\": [{\"match\": {\"tags\": \"a\"}, \"quality\": "
         "1}]}}}",
         "models.m.quality_rules[0].match.tags: unknown field"},
        {"{\"models\": {\"m\": {\"quality_rules\": [{\"match\": {\"tag\": \"a\"}, \"quality\": "
         "1.5}]}}}",
         "models.m.quality_rules[0].quality: must be between 0 and 1, got 1.5"},
        {"{\"models\": {\"m\": {\"quality_rules\": [{\"match\": {\"tag\": \"\"}, \"quality\": "
         "1}]}}}",
         "models.m.quality_rules[0].match.tag: must not be empty"},
        {"{\"models\": {\"m\": {\"quality_rules\": [{\"match\": {\"contains\": []}, "
         "\"quality\": 1}]}}}",
         "models.m.quality_rules[0].match.contains: expected a string or a non-empty array "
         "of strings, got an empty array"},
        {"{\"models\": {\"m\": {\"quality_rules\": [{\"match\": {\"contains\": [\"a\", 2]}, "
         "\"quality\": 1}]}}}",
         "models.m.quality_rules[0].match.contains[1]: expected a non-empty string, got a "
         "number"},
        {"{\"models\": {\"m\": {\"quality_rules\": [{\"match\": {\"format\": \"prose\"}, "
         "\"quality\": 1}]}}}",
         "models.m.quality_rules[0].match.format: unknown format \"prose\" (expected one of: "
         "code, math, choice, non_latin)"},
        {"{\"models\": {\"m\": {\"quality_rules\": [{\"match\": {\"tag\": \"a\"}, \"quality\": "
         "1, \"weight\": 2}]}}}",
         "models.m.quality_rules[0].weight: unknown field"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        fp_scenario *s = NULL;
        sy_buf err = {0};
        int rc = fp_scenario_parse(cases[i].json, strlen(cases[i].json), &s, &err);
        if (rc != SY_ERR_INVALID || !err.data || !strstr(err.data, cases[i].expect))
            fail_msg("case %zu: want \"%s\", got rc %d \"%s\"", i, cases[i].expect, rc,
                     err.data ? err.data : "");
        assert_null(s);
        sy_buf_free(&err);
    }
}

static void test_quality_documents(void **state)
{
    (void)state;
    fp_scenario *s = parse_ok(rules_scenario);
    cJSON *doc = fp_quality_doc(s);
    char *text = cJSON_PrintUnformatted(doc);
    /* the base qualities as before, and the rules in the scenario's own syntax */
    assert_non_null(strstr(text, "\"models\":{\"coder\":0.3,\"plain\":0.6,\"ruleless\":0.4}"));
    assert_non_null(strstr(text, "\"default\":0.5"));
    assert_non_null(strstr(text, "{\"match\":{\"tag\":[\"code\",\"sql\"]},\"quality\":0.9}"));
    assert_non_null(strstr(text, "{\"match\":{\"format\":[\"math\",\"choice\"]},\"quality\":0.1}"));
    assert_non_null(strstr(text, "\"plain\":[{\"match\":{\"tag\":\"legal\"},\"quality\":0.05}]"));
    assert_null(strstr(text, "\"ruleless\":["));
    cJSON_free(text);
    cJSON_Delete(doc);

    const char *body = "{\"prompts\": [{\"text\": \"Write a haiku\", \"tag\": \"poem\"},"
                       " {\"text\": \"hello\"}, {\"text\": \"x\", \"tag\": null}]}";
    sy_buf err = {0};
    assert_int_equal(fp_quality_batch(s, body, strlen(body), &doc, &err), SY_OK);
    const cJSON *list = cJSON_GetObjectItem(doc, "qualities");
    assert_int_equal(cJSON_GetArraySize(list), 3);
    const cJSON *first = cJSON_GetArrayItem(list, 0);
    assert_true(cJSON_GetObjectItem(cJSON_GetObjectItem(first, "models"), "coder")->valuedouble ==
                0.7);
    assert_true(cJSON_GetObjectItem(cJSON_GetObjectItem(first, "models"), "plain")->valuedouble ==
                0.6);
    assert_true(cJSON_GetObjectItem(first, "default")->valuedouble == 0.5);
    cJSON_Delete(doc);

    static const char *const bad[][2] = {
        {"[]", "body must be a JSON object"},
        {"{\"prompt\": []}", "prompts: required"},
        {"{\"prompts\": [{\"tag\": \"a\"}]}", "prompts[0]: expected {\"text\""},
        {"{\"prompts\": [{\"text\": \"a\"}, {\"text\": \"b\", \"tag\": 3}]}", "prompts[1]:"},
        {"not json", "body must be a JSON object"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        doc = NULL;
        assert_int_equal(fp_quality_batch(s, bad[i][0], strlen(bad[i][0]), &doc, &err),
                         SY_ERR_INVALID);
        assert_null(doc);
        if (!strstr(err.data, bad[i][1]))
            fail_msg("batch case %zu: want \"%s\", got \"%s\"", i, bad[i][1], err.data);
    }
    sy_buf_free(&err);
    fp_scenario_free(s);
}

/* A scenario without rules behaves exactly as before: every prompt gets `quality`. */
static void test_no_rules_is_one_number(void **state)
{
    (void)state;
    fp_scenario *s = parse_ok("{\"models\": {\"a\": {\"quality\": 0.8}}}");
    assert_true(q(s, "a", "code", "```x```", NULL) == 0.8);
    fp_scenario_free(s);
    s = fp_scenario_new_default();
    assert_true(fp_quality_for(&s->defaults, NULL, NULL, 0, NULL) == 0.5);
    fp_scenario_free(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rules_match_in_order),
        cmocka_unit_test(test_rules_parse_errors),
        cmocka_unit_test(test_quality_documents),
        cmocka_unit_test(test_no_rules_is_one_number),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
