/*
 * SHA-256 and HMAC-SHA256 (common/sha256.c): FIPS 180-4 and RFC 4231 vectors, and the
 * CPU's SHA extensions (SHA-NI, when it has them) give exactly the portable code's
 * digests for every length across block boundaries (issue 17).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "sha256.h"

static void hex_of(const void *data, size_t len, char *out)
{
    uint8_t d[SY_SHA256_LEN];
    sy_sha256(data, len, d);
    sy_hex_encode(d, sizeof(d), out);
}

/* Both code paths on the FIPS 180-4 examples. */
static void test_vectors(void **state)
{
    (void)state;
    char hex[SY_SHA256_HEX_LEN + 1];
    static char million[1000000];
    memset(million, 'a', sizeof(million));
    for (int accel = 0; accel <= 1; accel++) {
        sy_sha256_set_accelerated(accel);
        hex_of("", 0, hex);
        assert_string_equal(hex,
                            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
        hex_of("abc", 3, hex);
        assert_string_equal(hex,
                            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
        const char *two = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
        hex_of(two, strlen(two), hex);
        assert_string_equal(hex,
                            "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
        hex_of(million, sizeof(million), hex);
        assert_string_equal(hex,
                            "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
        uint8_t mac[SY_SHA256_LEN];
        const char *msg = "what do ya want for nothing?";
        sy_hmac_sha256("Jefe", 4, msg, strlen(msg), mac);
        sy_hex_encode(mac, sizeof(mac), hex);
        assert_string_equal(hex,
                            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
    }
    sy_sha256_set_accelerated(1);
}

/* Every length 0..400 of pseudo-random bytes, fed whole and in odd pieces: the same
 * digest from both paths. */
static void test_paths_agree(void **state)
{
    (void)state;
    if (!sy_sha256_set_accelerated(1))
        skip(); /* no SHA extensions on this CPU: one path only */
    uint8_t buf[400];
    uint32_t x = 12345;
    for (size_t i = 0; i < sizeof(buf); i++) {
        x = x * 1103515245u + 12345u;
        buf[i] = (uint8_t)(x >> 16);
    }
    for (size_t len = 0; len <= sizeof(buf); len++) {
        uint8_t a[SY_SHA256_LEN], b[SY_SHA256_LEN];
        sy_sha256_set_accelerated(1);
        sy_sha256_ctx c;
        sy_sha256_init(&c);
        for (size_t off = 0; off < len;) {
            size_t n = (off * 7 + 13) % 71 + 1;
            if (n > len - off)
                n = len - off;
            sy_sha256_update(&c, buf + off, n);
            off += n;
        }
        sy_sha256_final(&c, a);
        sy_sha256_set_accelerated(0);
        sy_sha256(buf, len, b);
        assert_memory_equal(a, b, SY_SHA256_LEN);
    }
    sy_sha256_set_accelerated(1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_vectors),
        cmocka_unit_test(test_paths_agree),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
