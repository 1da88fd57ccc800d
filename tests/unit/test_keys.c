/*
 * test_keys: SHA-256 against the FIPS 180-4 / NIST example vectors, HMAC-SHA256 against
 * RFC 4231, hex coding, constant-time comparison, and bearer-key matching.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "config.h"
#include "keys.h"
#include "sha256.h"
#include "sy_common.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void digest_hex(const uint8_t d[SY_SHA256_LEN], char out[SY_SHA256_HEX_LEN + 1])
{
    sy_hex_encode(d, SY_SHA256_LEN, out);
}

static void assert_sha256(const void *data, size_t len, const char *want)
{
    uint8_t d[SY_SHA256_LEN];
    char hex[SY_SHA256_HEX_LEN + 1];
    sy_sha256(data, len, d);
    digest_hex(d, hex);
    assert_string_equal(hex, want);
}

/* FIPS 180-4 examples (NIST CSRC "SHA256.pdf") plus the empty message. */
static void test_sha256_vectors(void **state)
{
    (void)state;
    assert_sha256("", 0, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    assert_sha256("abc", 3, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    const char *m448 = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
    assert_sha256(m448, strlen(m448),
                  "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
    const char *m896 =
        "abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmnoijklmnopjklmno"
        "pqklmnopqrlmnopqrsmnopqrstnopqrstu";
    assert_sha256(m896, strlen(m896),
                  "cf5b16a778af8380036ce59e7b0492370b249b11e8f07a51afac45037afee9d1");
}

static void test_sha256_million_a(void **state)
{
    (void)state;
    char *a = malloc(1000000);
    memset(a, 'a', 1000000);
    assert_sha256(a, 1000000, "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
    /* The same message fed in uneven pieces must give the same digest. */
    sy_sha256_ctx c;
    sy_sha256_init(&c);
    size_t off = 0, step = 1;
    while (off < 1000000) {
        size_t n = step < 1000000 - off ? step : 1000000 - off;
        sy_sha256_update(&c, a + off, n);
        off += n;
        step = step * 7 % 1000 + 1;
    }
    uint8_t d[SY_SHA256_LEN];
    char hex[SY_SHA256_HEX_LEN + 1];
    sy_sha256_final(&c, d);
    digest_hex(d, hex);
    assert_string_equal(hex, "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
    free(a);
}

/* Every split point of messages around the padding boundaries (55, 56, 63, 64 bytes). */
static void test_sha256_incremental_boundaries(void **state)
{
    (void)state;
    uint8_t msg[130];
    for (size_t i = 0; i < sizeof(msg); i++)
        msg[i] = (uint8_t)(i * 31 + 7);
    for (size_t len = 0; len <= sizeof(msg); len++) {
        uint8_t want[SY_SHA256_LEN];
        sy_sha256(msg, len, want);
        for (size_t cut = 0; cut <= len; cut++) {
            sy_sha256_ctx c;
            uint8_t got[SY_SHA256_LEN];
            sy_sha256_init(&c);
            sy_sha256_update(&c, msg, cut);
            sy_sha256_update(&c, msg + cut, len - cut);
            sy_sha256_final(&c, got);
            assert_memory_equal(got, want, SY_SHA256_LEN);
        }
    }
    /* 55 and 56 bytes straddle the one-block / two-block padding decision. */
    assert_sha256("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", 55,
                  "9f4390f8d30c2dd92ec9f095b65e2b9ae9b0a925a5258e241c9f1e910f734318");
    assert_sha256("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", 56,
                  "b35439a4ac6f0948b6d6f9e3c6af0f5f590ce20f1bde7090ef7970686ec6738a");
}

static void assert_hmac(const void *key, size_t klen, const void *data, size_t dlen,
                        const char *want)
{
    uint8_t d[SY_SHA256_LEN];
    char hex[SY_SHA256_HEX_LEN + 1];
    sy_hmac_sha256(key, klen, data, dlen, d);
    digest_hex(d, hex);
    assert_string_equal(hex, want);
}

/* RFC 4231 §4.2-4.5, 4.7, 4.8 (test case 5 is a truncated output, not used here). */
static void test_hmac_rfc4231(void **state)
{
    (void)state;
    uint8_t key[131], data[50];

    memset(key, 0x0b, 20);
    assert_hmac(key, 20, "Hi There", 8,
                "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7");

    assert_hmac("Jefe", 4, "what do ya want for nothing?", 28,
                "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");

    memset(key, 0xaa, 20);
    memset(data, 0xdd, 50);
    assert_hmac(key, 20, data, 50,
                "773ea91e36800e46854db8ebd09181a72959098b3ef8c122d9635514ced565fe");

    for (int i = 0; i < 25; i++)
        key[i] = (uint8_t)(i + 1);
    memset(data, 0xcd, 50);
    assert_hmac(key, 25, data, 50,
                "82558a389a443c0ea4cc819899f2083a85f0faa3e578f8077a2e3ff46729665b");

    memset(key, 0xaa, 131);
    const char *t6 = "Test Using Larger Than Block-Size Key - Hash Key First";
    assert_hmac(key, 131, t6, strlen(t6),
                "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54");

    const char *t7 = "This is a test using a larger than block-size key and a larger than "
                     "block-size data. The key needs to be hashed before being used by the HMAC "
                     "algorithm.";
    assert_hmac(key, 131, t7, strlen(t7),
                "9b09ffa71b942fcb27635fbcd5b0e944bfdc63644f0713938a7f51535c3a35e2");

    /* Streaming interface: test case 7 fed in three pieces. */
    sy_hmac_sha256_ctx c;
    uint8_t d[SY_SHA256_LEN];
    char hex[SY_SHA256_HEX_LEN + 1];
    sy_hmac_sha256_init(&c, key, 131);
    sy_hmac_sha256_update(&c, t7, 10);
    sy_hmac_sha256_update(&c, t7 + 10, 70);
    sy_hmac_sha256_update(&c, t7 + 80, strlen(t7) - 80);
    sy_hmac_sha256_final(&c, d);
    digest_hex(d, hex);
    assert_string_equal(hex, "9b09ffa71b942fcb27635fbcd5b0e944bfdc63644f0713938a7f51535c3a35e2");
}

static void test_hex_round_trip(void **state)
{
    (void)state;
    uint8_t bytes[256], back[256];
    char hex[513];
    for (int i = 0; i < 256; i++)
        bytes[i] = (uint8_t)i;
    sy_hex_encode(bytes, 256, hex);
    assert_int_equal(strlen(hex), 512);
    assert_memory_equal(hex, "000102", 6);
    assert_string_equal(hex + 506, "fdfeff");
    assert_int_equal(sy_hex_decode(hex, 512, back, 256), 0);
    assert_memory_equal(back, bytes, 256);

    uint8_t two[2];
    assert_int_equal(sy_hex_decode("AbCd", 4, two, 2), 0); /* either case */
    assert_int_equal(two[0], 0xab);
    assert_int_equal(two[1], 0xcd);
    assert_int_equal(sy_hex_decode("abc", 3, two, 2), SY_ERR_INVALID);    /* odd length */
    assert_int_equal(sy_hex_decode("abcdef", 6, two, 2), SY_ERR_INVALID); /* too long */
    assert_int_equal(sy_hex_decode("abcg", 4, two, 2), SY_ERR_INVALID);   /* not hex */
    assert_int_equal(sy_hex_decode("ab c", 4, two, 2), SY_ERR_INVALID);
    sy_hex_encode(bytes, 0, hex);
    assert_string_equal(hex, "");
}

static void test_ct_equal(void **state)
{
    (void)state;
    uint8_t a[32], b[32];
    memset(a, 0x5a, sizeof(a));
    memcpy(b, a, sizeof(b));
    assert_int_equal(sy_ct_equal(a, b, 32), 1);
    assert_int_equal(sy_ct_equal(a, b, 0), 1);
    for (size_t i = 0; i < 32; i++) {
        for (int bit = 0; bit < 8; bit++) {
            b[i] ^= (uint8_t)(1u << bit);
            assert_int_equal(sy_ct_equal(a, b, 32), 0);
            b[i] ^= (uint8_t)(1u << bit);
        }
    }
    b[31] = 0xa5;
    assert_int_equal(sy_ct_equal(a, b, 31), 1); /* only the first n bytes count */
}

/* A config with two client keys and an admin key, made from their plaintext tokens. */
static sy_config *keys_config(void)
{
    const char *tokens[] = {"sk-sy-first-client-key-0123456789", "sk-sy-second-client-key-abcdef",
                            "sk-sy-admin-key-zyxwvutsrqponm"};
    char hex[3][SY_SHA256_HEX_LEN + 1];
    for (int i = 0; i < 3; i++) {
        uint8_t d[SY_SHA256_LEN];
        assert_int_equal(sy_keys_hash(tokens[i], d), 0);
        sy_hex_encode(d, sizeof(d), hex[i]);
    }
    char text[2048];
    snprintf(
        text, sizeof(text),
        "{\"admin\": {\"key_sha256\": \"%s\"},"
        " \"providers\": {\"p\": {\"dialect\": \"openai\", \"base_url\": \"http://h\"}},"
        " \"models\": {\"m\": {\"provider\": \"p\", \"price\": {\"input\": 1, \"output\": 2}}},"
        " \"client_keys\": [{\"name\": \"first\", \"sha256\": \"%s\"},"
        "                   {\"name\": \"second\", \"sha256\": \"%s\"}]}",
        hex[2], hex[0], hex[1]);
    sy_config_errors errs;
    sy_config *cfg = sy_config_parse(text, strlen(text), NULL, &errs);
    for (size_t i = 0; i < errs.n; i++)
        fprintf(stderr, "unexpected: %s\n", errs.items[i]);
    assert_non_null(cfg);
    sy_config_errors_free(&errs);
    return cfg;
}

static void test_keys_hash(void **state)
{
    (void)state;
    uint8_t d[SY_SHA256_LEN];
    char hex[SY_SHA256_HEX_LEN + 1];
    assert_int_equal(sy_keys_hash("abc", d), 0);
    digest_hex(d, hex);
    assert_string_equal(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    assert_int_equal(sy_keys_hash("", d), SY_ERR_INVALID);
    assert_int_equal(sy_keys_hash(NULL, d), SY_ERR_INVALID);
}

static void test_keys_match(void **state)
{
    (void)state;
    sy_config *cfg = keys_config();
    const char *first = "sk-sy-first-client-key-0123456789";
    const char *second = "sk-sy-second-client-key-abcdef";

    const sy_client_key_cfg *k = sy_keys_match(cfg, first, strlen(first));
    assert_non_null(k);
    assert_string_equal(k->name, "first");
    k = sy_keys_match(cfg, second, strlen(second));
    assert_non_null(k);
    assert_string_equal(k->name, "second");
    assert_ptr_equal(k, &cfg->client_keys[1]);

    /* A token that is not NUL-terminated where len ends still matches on len bytes. */
    char padded[64];
    snprintf(padded, sizeof(padded), "%sXYZ", first);
    k = sy_keys_match(cfg, padded, strlen(first));
    assert_non_null(k);
    assert_string_equal(k->name, "first");

    assert_null(sy_keys_match(cfg, padded, strlen(padded)));               /* extra bytes */
    assert_null(sy_keys_match(cfg, first, strlen(first) - 1));             /* prefix */
    assert_null(sy_keys_match(cfg, "sk-sy-wrong", strlen("sk-sy-wrong"))); /* wrong */
    assert_null(sy_keys_match(cfg, "", 0));                                /* empty */
    assert_null(sy_keys_match(cfg, NULL, 0));
    /* The admin key is not a client key, and a client key is not the admin key. */
    const char *admin = "sk-sy-admin-key-zyxwvutsrqponm";
    assert_null(sy_keys_match(cfg, admin, strlen(admin)));
    assert_int_equal(sy_keys_admin_ok(cfg, admin, strlen(admin)), 1);
    assert_int_equal(sy_keys_admin_ok(cfg, first, strlen(first)), 0);
    assert_int_equal(sy_keys_admin_ok(cfg, admin, strlen(admin) - 1), 0);
    assert_int_equal(sy_keys_admin_ok(cfg, "", 0), 0);
    cfg->admin_enabled = 0;
    assert_int_equal(sy_keys_admin_ok(cfg, admin, strlen(admin)), 0);
    sy_config_free(cfg);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sha256_vectors),
        cmocka_unit_test(test_sha256_million_a),
        cmocka_unit_test(test_sha256_incremental_boundaries),
        cmocka_unit_test(test_hmac_rfc4231),
        cmocka_unit_test(test_hex_round_trip),
        cmocka_unit_test(test_ct_equal),
        cmocka_unit_test(test_keys_hash),
        cmocka_unit_test(test_keys_match),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
