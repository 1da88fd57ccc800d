/* cache/cache_key: the semantic tier's partition and normalised latest user turn
 * (sy_cache_semantic_part), and the exact key's canonical form it builds on. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "cache_key.h"

static const sy_cache_key_ctx CTX = {
    .ns = "assistant", .scope = "alice", .prompt = "", .prompt_version = 0, .variant = ""};

/* The partition and text of a JSON body; returns sy_cache_semantic_part's result. */
static int part_of(const char *json, const sy_cache_key_ctx *ctx, uint8_t part[32], sy_buf *text)
{
    cJSON *b = cJSON_Parse(json);
    assert_non_null(b);
    char *before = cJSON_PrintUnformatted(b);
    int rc = sy_cache_semantic_part(b, ctx, part, text);
    char *after = cJSON_PrintUnformatted(b);
    assert_string_equal(before, after); /* the body is not modified */
    free(before);
    free(after);
    cJSON_Delete(b);
    return rc;
}

static void test_normalises_the_latest_user_turn(void **state)
{
    (void)state;
    uint8_t p[32];
    sy_buf t = {0};
    assert_int_equal(part_of("{\"messages\":[{\"role\":\"user\",\"content\":"
                             "\"  What IS\\tthe\\n\\n capital   of Austria? \"}]}",
                             &CTX, p, &t),
                     0);
    assert_string_equal(t.data, "what is the capital of austria?");
    /* non-ASCII bytes are kept as they are (only ASCII letters are lower-cased) */
    assert_int_equal(part_of("{\"messages\":[{\"role\":\"user\",\"content\":\"\xc3\x89T\xc3\x89 "
                             "Caf\xc3\xa9\"}]}",
                             &CTX, p, &t),
                     0);
    assert_string_equal(t.data, "\xc3\x89t\xc3\x89 caf\xc3\xa9");
    /* content parts: the text parts joined by a newline (which normalises to a space) */
    assert_int_equal(part_of("{\"messages\":[{\"role\":\"user\",\"content\":["
                             "{\"type\":\"text\",\"text\":\"Look at\"},"
                             "{\"type\":\"image_url\",\"image_url\":{\"url\":\"http://x/y.png\"}},"
                             "{\"type\":\"text\",\"text\":\"THIS\"}]}]}",
                             &CTX, p, &t),
                     0);
    assert_string_equal(t.data, "look at this");
    sy_buf_free(&t);
}

static void test_does_not_apply(void **state)
{
    (void)state;
    uint8_t p[32];
    sy_buf t = {0};
    const char *bodies[] = {
        "{}",
        "{\"messages\":[]}",
        "{\"messages\":[{\"role\":\"user\",\"content\":\"hi\"},"
        "{\"role\":\"assistant\",\"content\":\"hello\"}]}",
        "{\"messages\":[{\"role\":\"user\",\"content\":\"   \\n\\t \"}]}",
        "{\"messages\":[{\"role\":\"user\",\"content\":[{\"type\":\"image_url\","
        "\"image_url\":{\"url\":\"http://x/y.png\"}}]}]}",
        "{\"messages\":[{\"role\":\"user\",\"content\":null}]}",
        "{\"messages\":[{\"role\":\"tool\",\"content\":\"42\",\"tool_call_id\":\"a\"}]}",
    };
    for (size_t i = 0; i < sizeof(bodies) / sizeof(bodies[0]); i++)
        assert_int_equal(part_of(bodies[i], &CTX, p, &t), -1);
    sy_buf_free(&t);
}

#define TURN(x) "{\"role\":\"user\",\"content\":\"" x "\"}"

static void test_partition_is_everything_but_the_latest_turn(void **state)
{
    (void)state;
    uint8_t a[32], b[32];
    sy_buf t = {0};
    /* the latest turn's text is not in the partition */
    part_of("{\"temperature\":0,\"messages\":[" TURN("one") "]}", &CTX, a, &t);
    part_of("{\"temperature\":0,\"messages\":[" TURN("something else") "]}", &CTX, b, &t);
    assert_memory_equal(a, b, 32);
    /* delivery members (model, stream, user, ...) and member order are not either */
    part_of("{\"model\":\"x\",\"stream\":true,\"user\":\"u\",\"messages\":[" TURN(
                "one") "],\"temperature\":0.0}",
            &CTX, b, &t);
    assert_memory_equal(a, b, 32);
    /* every other member is: parameters, earlier conversation */
    const char *others[] = {
        "{\"temperature\":0,\"max_tokens\":5,\"messages\":[" TURN("one") "]}",
        "{\"temperature\":0.5,\"messages\":[" TURN("one") "]}",
        "{\"temperature\":0,\"messages\":[{\"role\":\"system\",\"content\":\"terse\"}," TURN(
            "one") "]}",
        "{\"temperature\":0,\"messages\":[" TURN("earlier") "," TURN("one") "]}",
        "{\"temperature\":0,\"tools\":[],\"messages\":[" TURN("one") "]}",
    };
    for (size_t i = 0; i < sizeof(others) / sizeof(others[0]); i++) {
        assert_int_equal(part_of(others[i], &CTX, b, &t), 0);
        assert_memory_not_equal(a, b, 32);
    }
    /* and the context: scope, route, prompt and version, experiment variant */
    sy_cache_key_ctx ctxs[] = {
        {.ns = "assistant", .scope = "bob", .prompt = "", .variant = ""},
        {.ns = "assistant", .scope = "", .prompt = "", .variant = ""},
        {.ns = "other", .scope = "alice", .prompt = "", .variant = ""},
        {.ns = "assistant", .scope = "alice", .prompt = "p", .variant = ""},
        {.ns = "assistant", .scope = "alice", .prompt = "p", .prompt_version = 2, .variant = ""},
        {.ns = "assistant", .scope = "alice", .prompt = "", .variant = "v"},
        /* fields do not run together: "assistan" + "talice" is not "assistant" + "alice" */
        {.ns = "assistan", .scope = "talice", .prompt = "", .variant = ""},
    };
    for (size_t i = 0; i < sizeof(ctxs) / sizeof(ctxs[0]); i++) {
        part_of("{\"temperature\":0,\"messages\":[" TURN("one") "]}", &ctxs[i], b, &t);
        assert_memory_not_equal(a, b, 32);
    }
    sy_buf_free(&t);
}

static void test_partition_is_not_an_exact_key(void **state)
{
    (void)state;
    /* the body without its latest turn hashed as an exact key differs: another domain */
    cJSON *whole = cJSON_Parse("{\"messages\":[" TURN("a") "," TURN("b") "]}");
    cJSON *prefix = cJSON_Parse("{\"messages\":[" TURN("a") "]}");
    uint8_t part[32], key[32];
    sy_buf t = {0};
    assert_int_equal(sy_cache_semantic_part(whole, &CTX, part, &t), 0);
    assert_string_equal(t.data, "b");
    sy_cache_exact_key(prefix, &CTX, key);
    assert_memory_not_equal(part, key, 32);
    /* the exact key of two texts that normalise alike differs (the semantic tier's case) */
    cJSON *x = cJSON_Parse("{\"messages\":[" TURN("Hello  there") "]}");
    cJSON *y = cJSON_Parse("{\"messages\":[" TURN("hello there") "]}");
    uint8_t kx[32], ky[32], px[32], py[32];
    sy_cache_exact_key(x, &CTX, kx);
    sy_cache_exact_key(y, &CTX, ky);
    assert_memory_not_equal(kx, ky, 32);
    sy_cache_semantic_part(x, &CTX, px, &t);
    sy_cache_semantic_part(y, &CTX, py, &t);
    assert_memory_equal(px, py, 32);
    assert_string_equal(t.data, "hello there");
    cJSON_Delete(whole);
    cJSON_Delete(prefix);
    cJSON_Delete(x);
    cJSON_Delete(y);
    sy_buf_free(&t);
}

static void test_canonical_form(void **state)
{
    (void)state;
    cJSON *b = cJSON_Parse("{\"z\":1.0,\"model\":\"m\",\"a\":{\"y\":[0e0,true,null],\"b\":\"s\"}}");
    sy_buf out = {0};
    sy_cache_canonical(b, 1, &out);
    assert_string_equal(out.data, "{\"a\":{\"b\":\"s\",\"y\":[0,true,null]},\"z\":1}");
    cJSON_Delete(b);
    sy_buf_free(&out);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_normalises_the_latest_user_turn),
        cmocka_unit_test(test_does_not_apply),
        cmocka_unit_test(test_partition_is_everything_but_the_latest_turn),
        cmocka_unit_test(test_partition_is_not_an_exact_key),
        cmocka_unit_test(test_canonical_form),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
