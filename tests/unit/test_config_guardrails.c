/*
 * test_config_guardrails: the "guardrails" section and the lists of routes and client
 * keys that name it (engine/config/config_guardrails.c): what a valid file compiles to,
 * and every refusal with its JSON path.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "config.h"
#include "guard.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define HEX_A "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
#define HEX_B "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
#define PROVIDERS                                                                                  \
    "\"providers\": {\"p\": {\"dialect\": \"openai\", \"base_url\": \"http://127.0.0.1:9/v1\"}}"
#define MODELS                                                                                     \
    "\"models\": {\"m\": {\"provider\": \"p\", \"price\": {\"input\": 1, \"output\": 1}}, "        \
    "\"e\": {\"provider\": \"p\", \"kind\": \"embedding\", \"price\": {\"input\": 1, "             \
    "\"output\": 0}}}"

static sy_config *parse(const char *text, sy_config_errors *errs)
{
    return sy_config_parse(text, strlen(text), "test.json", errs);
}

static void expect_error(const char *text, const char *want)
{
    sy_config_errors errs;
    sy_config *cfg = parse(text, &errs);
    int found = 0;
    for (size_t i = 0; i < errs.n; i++)
        found |= strstr(errs.items[i], want) != NULL;
    if (!found || cfg) {
        for (size_t i = 0; i < errs.n; i++)
            fprintf(stderr, "    error[%zu]: %s\n", i, errs.items[i]);
        fail_msg("wanted an error containing: %s", want);
    }
    sy_config_errors_free(&errs);
}

static void test_valid(void **state)
{
    (void)state;
    const char *text =
        "{" PROVIDERS ", " MODELS ", "
        "\"routes\": {\"r\": {\"candidates\": [\"m\"], \"guardrails\": [\"sec\", \"cards\"]}},"
        "\"client_keys\": [{\"name\": \"a\", \"sha256\": \"" HEX_A "\", \"guardrails\": "
        "[\"words\", \"sec\"]}, {\"name\": \"b\", \"sha256\": \"" HEX_B "\"}],"
        "\"guardrails\": {"
        " \"sec\": {\"kind\": \"secrets\", \"action\": \"block\"},"
        " \"cards\": {\"kind\": \"pii\", \"detectors\": [\"payment_card\", \"iban\"], "
        "\"action\": \"redact\", \"restore\": true, \"direction\": \"input\"},"
        " \"words\": {\"kind\": \"words\", \"words\": [\"darn\"], \"action\": \"flag\", "
        "\"direction\": \"output\", \"mask\": \"RUDE\"},"
        " \"inj\": {\"kind\": \"prompt_injection\", \"action\": \"flag\"},"
        " \"re\": {\"kind\": \"regex\", \"patterns\": [\"A[0-9]+\", \"(?i)b\"], \"action\": "
        "\"redact\"},"
        " \"jm\": {\"kind\": \"judge\", \"model\": \"m\", \"action\": \"flag\"}}}";
    sy_config_errors errs;
    sy_config *cfg = parse(text, &errs);
    for (size_t i = 0; i < errs.n; i++)
        fprintf(stderr, "    error[%zu]: %s\n", i, errs.items[i]);
    assert_non_null(cfg);
    assert_int_equal(cfg->n_guardrails, 6);
    long sec = sy_config_find_guardrail(cfg, "sec"), cards = sy_config_find_guardrail(cfg, "cards");
    assert_true(sec >= 0 && cards >= 0);
    assert_int_equal(sy_config_find_guardrail(cfg, "nope"), -1);
    const struct sy_guard *c = cfg->guardrails[cards];
    assert_int_equal(sy_guard_kind_of(c), SY_GUARD_PII);
    assert_int_equal(sy_guard_action_of(c), SY_GUARD_REDACT);
    assert_int_equal(sy_guard_dirs(c), SY_GUARD_IN);
    assert_true(sy_guard_restores(c));
    assert_int_equal(sy_guard_n_patterns(c), 2);
    assert_int_equal(sy_guard_dirs(cfg->guardrails[sec]), SY_GUARD_IN | SY_GUARD_OUT);
    assert_int_equal(sy_guard_n_patterns(cfg->guardrails[sy_config_find_guardrail(cfg, "re")]), 2);
    const sy_route_cfg *r = sy_config_find_route(cfg, "r");
    assert_int_equal(r->guardrails.n, 2);
    assert_int_equal(r->guardrails.idx[0], (size_t)sec);
    assert_int_equal(r->guardrails.idx[1], (size_t)cards);
    assert_int_equal(cfg->client_keys[0].guardrails.n, 2);
    assert_int_equal(cfg->client_keys[1].guardrails.n, 0);
    long jm = sy_config_find_guardrail(cfg, "jm");
    size_t model = 99;
    unsigned timeout = 0;
    int closed = -1;
    const char *instr = "x";
    assert_true(sy_guard_judge(cfg->guardrails[jm], &model, &timeout, &closed, &instr));
    assert_int_equal(model, 0); /* "m" */
    assert_int_equal(timeout, 5000);
    assert_int_equal(closed, 0);
    assert_null(instr);
    assert_int_equal(sy_guard_dirs(cfg->guardrails[jm]), SY_GUARD_IN);
    assert_false(sy_guard_judge(cfg->guardrails[sec], &model, &timeout, &closed, &instr));
    sy_config_free(cfg);
    sy_config_errors_free(&errs);
}

#define WITH(routes, guards)                                                                       \
    "{" PROVIDERS ", " MODELS ", \"routes\": " routes ", \"client_keys\": [{\"name\": \"a\", "     \
    "\"sha256\": \"" HEX_A "\"}], \"guardrails\": " guards "}"
#define R0 "{\"r\": {\"candidates\": [\"m\"]}}"

static void test_errors(void **state)
{
    (void)state;
    expect_error(WITH(R0, "{\"g\": {\"action\": \"block\"}}"),
                 "$.guardrails.g: missing required key \"kind\"");
    expect_error(WITH(R0, "{\"g\": {\"kind\": \"pii\"}}"),
                 "$.guardrails.g: missing required key \"action\"");
    expect_error(
        WITH(R0, "{\"g\": {\"kind\": \"ssn\", \"action\": \"block\"}}"),
        "$.guardrails.g.kind: must be one of pii, secrets, prompt_injection, regex, words");
    expect_error(WITH(R0, "{\"g\": {\"kind\": \"pii\", \"action\": \"mask\"}}"),
                 "$.guardrails.g.action: must be one of block, redact, flag");
    expect_error(WITH(R0, "{\"g\": {\"kind\": \"pii\", \"action\": \"block\", \"direction\": "
                          "\"in\"}}"),
                 "$.guardrails.g.direction: must be one of input, output, both");
    expect_error(WITH(R0, "{\"g\": {\"kind\": \"pii\", \"detectors\": [\"email\", \"passport\"], "
                          "\"action\": \"block\"}}"),
                 "$.guardrails.g.detectors[1]: unknown detector \"passport\"");
    expect_error(WITH(R0, "{\"g\": {\"kind\": \"pii\", \"detectors\": [\"email\", \"email\"], "
                          "\"action\": \"block\"}}"),
                 "$.guardrails.g.detectors[1]: \"email\" is listed twice");
    expect_error(WITH(R0, "{\"g\": {\"kind\": \"pii\", \"detectors\": [], \"action\": \"block\"}}"),
                 "$.guardrails.g.detectors: expected 1 to 256 detectors");
    expect_error(WITH(R0, "{\"g\": {\"kind\": \"regex\", \"action\": \"flag\"}}"),
                 "$.guardrails.g: missing required key \"patterns\" (kind \"regex\")");
    expect_error(WITH(R0, "{\"g\": {\"kind\": \"regex\", \"patterns\": [\"ok\", \"x{2,1}\"], "
                          "\"action\": \"flag\"}}"),
                 "$.guardrails.g.patterns[1]: invalid regular expression at offset");
    expect_error(WITH(R0, "{\"g\": {\"kind\": \"words\", \"action\": \"flag\"}}"),
                 "$.guardrails.g: missing required key \"words\" (kind \"words\")");
    expect_error(WITH(R0, "{\"g\": {\"kind\": \"secrets\", \"action\": \"block\", \"patterns\": "
                          "[\"x\"]}}"),
                 "$.guardrails.g.patterns: does not apply to kind \"secrets\"");
    expect_error(WITH(R0, "{\"g\": {\"kind\": \"pii\", \"action\": \"block\", \"restore\": true}}"),
                 "$.guardrails.g.restore: applies only to action \"redact\"");
    expect_error(
        WITH(R0, "{\"g\": {\"kind\": \"pii\", \"action\": \"redact\", \"mask\": \"e-mail\"}}"),
        "$.guardrails.g.mask: must be upper-case letters, digits and '_'");
    expect_error(WITH(R0, "{\"g\": {\"kind\": \"pii\", \"action\": \"redact\", \"restor\": true}}"),
                 "$.guardrails.g.restor: unknown key (did you mean \"restore\"?)");
    expect_error(WITH(R0, "[]"), "$.guardrails: expected an object");
    expect_error(WITH("{\"r\": {\"candidates\": [\"m\"], \"guardrails\": [\"secret\"]}}",
                      "{\"secrets\": {\"kind\": \"secrets\", \"action\": \"block\"}}"),
                 "$.routes.r.guardrails[0]: no guardrail named \"secret\" in $.guardrails (did "
                 "you mean \"secrets\"?)");
    expect_error(WITH("{\"r\": {\"candidates\": [\"m\"], \"guardrails\": \"secrets\"}}",
                      "{\"secrets\": {\"kind\": \"secrets\", \"action\": \"block\"}}"),
                 "$.routes.r.guardrails: expected an array of strings");
    expect_error(WITH("{\"r\": {\"candidates\": [\"e\"], \"guardrails\": [\"secrets\"]}}",
                      "{\"secrets\": {\"kind\": \"secrets\", \"action\": \"block\"}}"),
                 "$.routes.r.guardrails: applies to chat routes only");
    /* judges */
    expect_error(WITH(R0, "{\"j\": {\"kind\": \"judge\", \"action\": \"block\"}}"),
                 "$.guardrails.j: missing required key \"model\" (kind \"judge\")");
    expect_error(
        WITH(R0, "{\"j\": {\"kind\": \"judge\", \"model\": \"x\", \"action\": \"block\"}}"),
        "$.guardrails.j.model: no model named \"x\" in $.models");
    expect_error(
        WITH(R0, "{\"j\": {\"kind\": \"judge\", \"model\": \"e\", \"action\": \"block\"}}"),
        "$.guardrails.j.model: must be a chat model");
    expect_error(WITH(R0, "{\"j\": {\"kind\": \"judge\", \"model\": \"m\", \"action\": "
                          "\"redact\"}}"),
                 "$.guardrails.j.action: a judge blocks or flags; it cannot redact");
    expect_error(WITH(R0, "{\"j\": {\"kind\": \"judge\", \"model\": \"m\", \"action\": "
                          "\"flag\", \"direction\": \"both\"}}"),
                 "$.guardrails.j.direction: a judge checks the input only");
    expect_error(WITH(R0, "{\"j\": {\"kind\": \"judge\", \"model\": \"m\", \"action\": "
                          "\"flag\", \"timeout_ms\": 10}}"),
                 "$.guardrails.j.timeout_ms: must be between 100 and 120000");
    expect_error(WITH(R0, "{\"j\": {\"kind\": \"judge\", \"model\": \"m\", \"action\": "
                          "\"flag\", \"on_error\": \"open\"}}"),
                 "$.guardrails.j.on_error: must be one of allow, block");
    expect_error(WITH(R0, "{\"g\": {\"kind\": \"pii\", \"action\": \"flag\", \"model\": \"m\"}}"),
                 "$.guardrails.g.model: applies only to kind \"judge\"");
    /* a key naming a guardrail that is not there; routes may come before the section */
    const char *keyed = "{\"guardrails\": {}, " PROVIDERS ", " MODELS
                        ", \"client_keys\": [{\"name\": \"a\", \"sha256\": \"" HEX_A
                        "\", \"guardrails\": [\"x\"]}]}";
    expect_error(keyed, "$.client_keys[0].guardrails[0]: no guardrail named \"x\"");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_valid),
        cmocka_unit_test(test_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
