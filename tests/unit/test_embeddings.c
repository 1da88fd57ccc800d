/*
 * POST /v1/embeddings below the HTTP layer: the request validation (engine/proto/
 * embed_validate.c), base64 of little-endian float32, the OpenAI and Gemini translations
 * (engine/providers/embed_*.c) in both directions, and the cost to the micro-dollar.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "cost.h"
#include "embed_adapter.h"
#include "embed_validate.h"
#include "provider.h"

/* Validate a JSON text; returns 1/0 and the param in p. */
static int check(const char *json, sy_embed_summary *s, char *p, size_t n)
{
    cJSON *root = cJSON_Parse(json);
    const char *msg = NULL;
    int ok = sy_embed_validate(root, s, p, n, &msg);
    if (!ok)
        assert_non_null(msg);
    cJSON_Delete(root);
    return ok;
}

static void test_validate_forms(void **state)
{
    (void)state;
    sy_embed_summary s;
    char p[64];
    assert_true(check("{\"model\":\"m\",\"input\":\"hello\"}", &s, p, sizeof p));
    assert_int_equal(s.n_inputs, 1);
    assert_int_equal(s.text_bytes, 5);
    assert_false(s.tokens);
    assert_true(check("{\"model\":\"m\",\"input\":[\"a\",\"bc\"],\"encoding_format\":\"base64\","
                      "\"dimensions\":3,\"user\":\"u\"}",
                      &s, p, sizeof p));
    assert_int_equal(s.n_inputs, 2);
    assert_int_equal(s.text_bytes, 3);
    assert_true(s.base64);
    assert_int_equal(s.dimensions, 3);
    assert_true(check("{\"model\":\"m\",\"input\":[1,2,3]}", &s, p, sizeof p));
    assert_int_equal(s.n_inputs, 1);
    assert_int_equal(s.n_token_ids, 3);
    assert_true(s.tokens);
    assert_true(check("{\"model\":\"m\",\"input\":[[1],[2,3]]}", &s, p, sizeof p));
    assert_int_equal(s.n_inputs, 2);
    assert_int_equal(s.n_token_ids, 3);
    /* estimate: ceil(text / 4) + one per token id */
    assert_int_equal(sy_embed_estimate_tokens(&s), 3);
    assert_true(
        check("{\"model\":\"m\",\"input\":\"abcde\",\"encoding_format\":null}", &s, p, sizeof p));
    assert_int_equal(sy_embed_estimate_tokens(&s), 2);
}

static void test_validate_rejects(void **state)
{
    (void)state;
    static const struct {
        const char *json, *param;
    } bad[] = {
        {"[]", ""},
        {"{\"input\":\"x\"}", "model"},
        {"{\"model\":\"\",\"input\":\"x\"}", "model"},
        {"{\"model\":\"m\"}", "input"},
        {"{\"model\":\"m\",\"input\":\"\"}", "input"},
        {"{\"model\":\"m\",\"input\":[]}", "input"},
        {"{\"model\":\"m\",\"input\":{}}", "input"},
        {"{\"model\":\"m\",\"input\":[\"a\",\"\"]}", "input[1]"},
        {"{\"model\":\"m\",\"input\":[\"a\",[1]]}", "input[1]"},
        {"{\"model\":\"m\",\"input\":[[1],\"a\"]}", "input[1]"},
        {"{\"model\":\"m\",\"input\":[[1],[]]}", "input[1]"},
        {"{\"model\":\"m\",\"input\":[[[1]]]}", "input[0]"},
        {"{\"model\":\"m\",\"input\":[1,-1]}", "input"},
        {"{\"model\":\"m\",\"input\":[1.5]}", "input"},
        {"{\"model\":\"m\",\"input\":[4294967296]}", "input"},
        {"{\"model\":\"m\",\"input\":\"x\",\"dimensions\":0}", "dimensions"},
        {"{\"model\":\"m\",\"input\":\"x\",\"dimensions\":2.5}", "dimensions"},
        {"{\"model\":\"m\",\"input\":\"x\",\"dimensions\":\"8\"}", "dimensions"},
        {"{\"model\":\"m\",\"input\":\"x\",\"dimensions\":1e300}", "dimensions"},
        {"{\"model\":\"m\",\"input\":\"x\",\"encoding_format\":\"int8\"}", "encoding_format"},
        {"{\"model\":\"m\",\"input\":\"x\",\"user\":1}", "user"},
        {"{\"model\":\"m\",\"input\":\"x\",\"api_key\":\"k\"}", "api_key"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        sy_embed_summary s;
        char p[64];
        if (check(bad[i].json, &s, p, sizeof p))
            fail_msg("accepted %s", bad[i].json);
        if (strcmp(p, bad[i].param) != 0)
            fail_msg("%s: param '%s', expected '%s'", bad[i].json, p, bad[i].param);
    }
    /* 2048 inputs pass, 2049 do not */
    cJSON *root = cJSON_CreateObject();
    cJSON_AddStringToObject(root, "model", "m");
    cJSON *in = cJSON_AddArrayToObject(root, "input");
    for (int i = 0; i < SY_EMBED_MAX_INPUTS; i++)
        cJSON_AddItemToArray(in, cJSON_CreateString("a"));
    sy_embed_summary s;
    char p[64];
    const char *msg;
    assert_true(sy_embed_validate(root, &s, p, sizeof p, &msg));
    cJSON_AddItemToArray(in, cJSON_CreateString("a"));
    assert_false(sy_embed_validate(root, &s, p, sizeof p, &msg));
    cJSON_Delete(root);
}

static void b64(const double *v, size_t n, const char *want)
{
    sy_buf b = {0};
    sy_embed_base64_f32(v, n, &b);
    assert_non_null(b.data);
    assert_string_equal(b.data, want);
    sy_buf_free(&b);
}

static void test_base64_float32_le(void **state)
{
    (void)state;
    /* 1.0f = 00 00 80 3f; -2.0f = 00 00 00 c0; 0.5f = 00 00 00 3f */
    const double v[] = {1.0, -2.0, 0.5};
    b64(v, 1, "AACAPw==");
    b64(v, 2, "AACAPwAAAMA=");
    b64(v, 3, "AACAPwAAAMAAAAA/");
    /* 0.1 rounds to float32 0x3dcccccd: cd cc cc 3d */
    const double tenth = 0.1;
    b64(&tenth, 1, "zczMPQ==");
}

/* ---- the translations */

static sy_provider_cfg oai_prov = {.name = "o",
                                   .dialect = SY_DIALECT_OPENAI,
                                   .base_url = "https://api.example/v1",
                                   .api_key = "sk-up"};
static sy_provider_cfg gem_prov = {.name = "g",
                                   .dialect = SY_DIALECT_GEMINI,
                                   .base_url = "https://gl.example/v1beta",
                                   .api_key = "AIza"};
static sy_model_cfg model = {.name = "embed",
                             .upstream_name = "text-embedding-3-small",
                             .price = {.input = 0.02, .cached_input = 0.02, .output = 0},
                             .embedding = 1};

/* Build with adapter ad; returns its rc and leaves the upstream call in up. */
static int build(const sy_adapter *ad, const sy_provider_cfg *prov, const char *json,
                 sy_relay_state *rs, sy_upstream_call *up, const char **bad)
{
    cJSON *req = cJSON_Parse(json);
    const char *why = NULL;
    memset(rs, 0, sizeof *rs);
    memset(up, 0, sizeof *up);
    rs->client_model = "embed";
    int rc = ad->build(prov, &model, req, 0, rs, up, bad, &why);
    cJSON_Delete(req);
    return rc;
}

static int has_header(const sy_upstream_call *up, const char *line)
{
    for (int i = 0; up->headers[i]; i++)
        if (strcmp(up->headers[i], line) == 0)
            return 1;
    return 0;
}

static void test_openai_round_trip(void **state)
{
    (void)state;
    const sy_adapter *ad = sy_embed_adapter_for(SY_DIALECT_OPENAI);
    assert_non_null(ad);
    assert_null(sy_embed_adapter_for(SY_DIALECT_ANTHROPIC));
    sy_relay_state rs;
    sy_upstream_call up;
    const char *bad = NULL;
    assert_int_equal(build(ad, &oai_prov,
                           "{\"model\":\"embed\",\"input\":[\"a\",\"b\"],"
                           "\"encoding_format\":\"base64\",\"dimensions\":2,\"user\":\"u\"}",
                           &rs, &up, &bad),
                     0);
    assert_string_equal(up.url.data, "https://api.example/v1/embeddings");
    assert_true(has_header(&up, "Authorization: Bearer sk-up"));
    cJSON *body = cJSON_Parse(up.body.data);
    assert_string_equal(cJSON_GetObjectItem(body, "model")->valuestring, "text-embedding-3-small");
    assert_string_equal(cJSON_GetObjectItem(body, "encoding_format")->valuestring, "float");
    assert_int_equal(cJSON_GetObjectItem(body, "dimensions")->valueint, 2);
    assert_string_equal(cJSON_GetObjectItem(body, "user")->valuestring, "u");
    cJSON_Delete(body);
    /* the answer, out of order: placed by index, encoded as the client asked */
    const char *ans = "{\"object\":\"list\",\"data\":["
                      "{\"object\":\"embedding\",\"index\":1,\"embedding\":[0.5,0]},"
                      "{\"object\":\"embedding\",\"index\":0,\"embedding\":[1,-2]}],"
                      "\"model\":\"text-embedding-3-small\","
                      "\"usage\":{\"prompt_tokens\":1000,\"total_tokens\":1000}}";
    sy_buf out = {0};
    assert_int_equal(ad->response(ans, strlen(ans), &rs, &out), 0);
    assert_string_equal(out.data, "{\"object\":\"list\",\"data\":["
                                  "{\"object\":\"embedding\",\"index\":0,\"embedding\":"
                                  "\"AACAPwAAAMA=\"},"
                                  "{\"object\":\"embedding\",\"index\":1,\"embedding\":"
                                  "\"AAAAPwAAAAA=\"}],\"model\":\"embed\","
                                  "\"usage\":{\"prompt_tokens\":1000,\"total_tokens\":1000}}");
    /* cost: 1000 tokens × $0.02 per million = 20 µ$ */
    sy_bill bill;
    sy_bill_exchange(&model.price, &rs, 1, 2, &bill);
    assert_false(bill.estimated);
    assert_true(fabs(bill.cost_usd - 20e-6) < 1e-12);
    sy_buf_free(&out);
    /* malformed answers: a missing index, a count that does not match, a string value */
    static const char *const broken[] = {
        "{\"data\":[{\"index\":0,\"embedding\":[1]}]}",
        "{\"data\":[{\"index\":0,\"embedding\":[1]},{\"index\":0,\"embedding\":[1]}]}",
        "{\"data\":[{\"index\":0,\"embedding\":[1]},{\"index\":1,\"embedding\":[\"x\"]}]}",
        "{\"data\":[{\"index\":0,\"embedding\":[]},{\"index\":1,\"embedding\":[1]}]}",
        "{\"data\":[{\"index\":7,\"embedding\":[1]},{\"index\":1,\"embedding\":[1]}]}",
        "not json",
    };
    for (size_t i = 0; i < sizeof broken / sizeof broken[0]; i++) {
        sy_buf o = {0};
        if (ad->response(broken[i], strlen(broken[i]), &rs, &o) == 0)
            fail_msg("accepted %s", broken[i]);
        sy_buf_free(&o);
    }
    ad->release(&rs);
    sy_upstream_call_free(&up);
}

static void test_gemini_round_trip(void **state)
{
    (void)state;
    const sy_adapter *ad = sy_embed_adapter_for(SY_DIALECT_GEMINI);
    sy_relay_state rs;
    sy_upstream_call up;
    const char *bad = NULL;
    assert_int_equal(build(ad, &gem_prov,
                           "{\"model\":\"embed\",\"input\":[\"hello\",\"abc\"],\"dimensions\":2}",
                           &rs, &up, &bad),
                     0);
    assert_string_equal(up.url.data, "https://gl.example/v1beta/models/"
                                     "text-embedding-3-small:batchEmbedContents");
    assert_null(strstr(up.url.data, "AIza")); /* never a key in the URL */
    assert_true(has_header(&up, "x-goog-api-key: AIza"));
    assert_string_equal(up.body.data, "{\"requests\":[{\"model\":\"models/text-embedding-3-small\","
                                      "\"content\":{\"parts\":[{\"text\":\"hello\"}]},"
                                      "\"outputDimensionality\":2},"
                                      "{\"model\":\"models/text-embedding-3-small\","
                                      "\"content\":{\"parts\":[{\"text\":\"abc\"}]},"
                                      "\"outputDimensionality\":2}]}");
    /* no usage from the provider: the estimate, ceil(8 / 4) = 2, billed as estimated */
    const char *ans = "{\"embeddings\":[{\"values\":[1,0]},{\"values\":[0,1]}]}";
    sy_buf out = {0};
    assert_int_equal(ad->response(ans, strlen(ans), &rs, &out), 0);
    assert_string_equal(out.data, "{\"object\":\"list\",\"data\":["
                                  "{\"object\":\"embedding\",\"index\":0,\"embedding\":[1,0]},"
                                  "{\"object\":\"embedding\",\"index\":1,\"embedding\":[0,1]}],"
                                  "\"model\":\"embed\","
                                  "\"usage\":{\"prompt_tokens\":2,\"total_tokens\":2}}");
    sy_bill bill;
    sy_bill_exchange(&model.price, &rs, 1, 8, &bill);
    assert_true(bill.estimated);
    assert_int_equal(bill.usage.prompt_tokens, 2);
    sy_buf_free(&out);
    /* usage reported: used as is */
    const char *with = "{\"embeddings\":[{\"values\":[1]},{\"values\":[2]}],"
                       "\"usageMetadata\":{\"promptTokenCount\":7}}";
    assert_int_equal(ad->response(with, strlen(with), &rs, &out), 0);
    assert_non_null(strstr(out.data, "\"prompt_tokens\":7"));
    sy_buf_free(&out);
    /* one vector for two inputs */
    const char *short_ans = "{\"embeddings\":[{\"values\":[1]}]}";
    assert_int_not_equal(ad->response(short_ans, strlen(short_ans), &rs, &out), 0);
    sy_buf_free(&out);
    ad->release(&rs);
    sy_upstream_call_free(&up);
    /* token ids: Gemini embeds text only */
    assert_int_not_equal(
        build(ad, &gem_prov, "{\"model\":\"embed\",\"input\":[1,2]}", &rs, &up, &bad), 0);
    assert_string_equal(bad, "input");
    ad->release(&rs);
    sy_upstream_call_free(&up);
}

/* ---- "kind" in the configuration */

#define CFG_HEAD                                                                                   \
    "{\"providers\": {\"o\": {\"dialect\": \"openai\", \"base_url\": \"http://x/v1\"},"            \
    " \"a\": {\"dialect\": \"anthropic\", \"base_url\": \"http://x/v1\"}},"                        \
    " \"client_keys\": [{\"name\": \"k\", \"sha256\": "                                            \
    "\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\"}], "
#define PRICE "\"price\": {\"input\": 1, \"output\": 1}"

/* Parse a configuration; returns it (NULL on errors) and 1 in *found when an error
 * message contains `want`. */
static sy_config *parse_cfg(const char *text, const char *want, int *found)
{
    sy_config_errors errs;
    sy_config *cfg = sy_config_parse(text, strlen(text), "t.json", &errs);
    *found = 0;
    for (size_t i = 0; i < errs.n; i++) {
        if (want && strstr(errs.items[i], want))
            *found = 1;
        else
            fprintf(stderr, "    error: %s\n", errs.items[i]);
    }
    if (errs.n && cfg) {
        sy_config_free(cfg);
        cfg = NULL;
    }
    sy_config_errors_free(&errs);
    return cfg;
}

static void test_config_kind(void **state)
{
    (void)state;
    int found;
    sy_config *cfg =
        parse_cfg(CFG_HEAD "\"models\": {\"c\": {\"provider\": \"o\", " PRICE "},"
                           " \"e\": {\"provider\": \"o\", \"kind\": \"embedding\", " PRICE
                           "}}, \"routes\": {\"r\": {\"candidates\": [\"e\"]}}}",
                  NULL, &found);
    assert_non_null(cfg);
    assert_false(sy_config_find_model(cfg, "c")->embedding);
    assert_string_equal(sy_config_find_model(cfg, "c")->kind, "chat");
    assert_true(sy_config_find_model(cfg, "e")->embedding);
    sy_config_free(cfg);
    /* an unknown kind, an embedding model on Anthropic, a route of mixed kinds */
    assert_null(parse_cfg(
        CFG_HEAD "\"models\": {\"e\": {\"provider\": \"o\", \"kind\": \"vector\", " PRICE "}}}",
        "$.models.e.kind", &found));
    assert_true(found);
    assert_null(parse_cfg(CFG_HEAD "\"models\": {\"e\": {\"provider\": \"a\", \"kind\": "
                                   "\"embedding\", " PRICE "}}}",
                          "anthropic", &found));
    assert_true(found);
    assert_null(parse_cfg(CFG_HEAD "\"models\": {\"c\": {\"provider\": \"o\", " PRICE "},"
                                   " \"e\": {\"provider\": \"o\", \"kind\": \"embedding\", " PRICE
                                   "}}, \"routes\": {\"r\": {\"candidates\": [\"c\", \"e\"]}}}",
                          "$.routes.r.candidates[1]: \"e\" is an embedding model but \"c\" is a "
                          "chat one",
                          &found));
    assert_true(found);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_validate_forms),    cmocka_unit_test(test_validate_rejects),
        cmocka_unit_test(test_base64_float32_le), cmocka_unit_test(test_openai_round_trip),
        cmocka_unit_test(test_gemini_round_trip), cmocka_unit_test(test_config_kind),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
