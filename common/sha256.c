#include "sha256.h"
#include "sy_common.h"

#include <string.h>

static const uint32_t k_round[64] = {
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
    0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
    0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
    0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
    0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
    0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
    0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
    0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
};

static uint32_t rotr(uint32_t x, unsigned n)
{
    return (x >> n) | (x << (32 - n));
}

static uint32_t load_be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | (uint32_t)p[3];
}

static void store_be32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

/* The FIPS 180-4 §6.2.2 compression function over one 64-byte block. */
static void compress(uint32_t h[8], const uint8_t *block)
{
    uint32_t w[64];
    for (int t = 0; t < 16; t++)
        w[t] = load_be32(block + 4 * t);
    for (int t = 16; t < 64; t++) {
        uint32_t s0 = rotr(w[t - 15], 7) ^ rotr(w[t - 15], 18) ^ (w[t - 15] >> 3);
        uint32_t s1 = rotr(w[t - 2], 17) ^ rotr(w[t - 2], 19) ^ (w[t - 2] >> 10);
        w[t] = w[t - 16] + s0 + w[t - 7] + s1;
    }
    uint32_t a = h[0], b = h[1], c = h[2], d = h[3], e = h[4], f = h[5], g = h[6], k = h[7];
    for (int t = 0; t < 64; t++) {
        uint32_t t1 =
            k + (rotr(e, 6) ^ rotr(e, 11) ^ rotr(e, 25)) + ((e & f) ^ (~e & g)) + k_round[t] + w[t];
        uint32_t t2 = (rotr(a, 2) ^ rotr(a, 13) ^ rotr(a, 22)) + ((a & b) ^ (a & c) ^ (b & c));
        k = g;
        g = f;
        f = e;
        e = d + t1;
        d = c;
        c = b;
        b = a;
        a = t1 + t2;
    }
    h[0] += a;
    h[1] += b;
    h[2] += c;
    h[3] += d;
    h[4] += e;
    h[5] += f;
    h[6] += g;
    h[7] += k;
}

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
#define SY_SHA_NI 1

/*
 * The same compression with the x86 SHA extensions (SHA-NI: AMD since Zen, Intel since
 * Ice Lake / Goldmont): ~10x fewer instructions per block. Two rounds per
 * sha256rnds2; the state is held as ABEF / CDGH; the message schedule runs in four
 * registers, one group of four words each (sha256msg1 / msg2). Chosen at start when the
 * CPU has it (sy_sha256_accelerated); the result is bit-identical (tests/unit/test_sha256.c
 * compares both paths).
 */
__attribute__((target("sha,sse4.1,ssse3"))) static void compress_shani(uint32_t h[8],
                                                                       const uint8_t *block)
{
    const __m128i bswap = _mm_set_epi64x(0x0c0d0e0f08090a0bULL, 0x0405060700010203ULL);
    __m128i tmp = _mm_loadu_si128((const __m128i *)&h[0]);
    __m128i st1 = _mm_loadu_si128((const __m128i *)&h[4]);
    tmp = _mm_shuffle_epi32(tmp, 0xB1);         /* CDAB */
    st1 = _mm_shuffle_epi32(st1, 0x1B);         /* EFGH */
    __m128i st0 = _mm_alignr_epi8(tmp, st1, 8); /* ABEF */
    st1 = _mm_blend_epi16(st1, tmp, 0xF0);      /* CDGH */
    const __m128i abef = st0, cdgh = st1;
    __m128i m[4];
    for (int g = 0; g < 16; g++) { /* rounds 4g .. 4g+3 */
        if (g < 4)
            m[g] = _mm_shuffle_epi8(_mm_loadu_si128((const __m128i *)(block + 16 * g)), bswap);
        __m128i msg = _mm_add_epi32(m[g & 3], _mm_loadu_si128((const __m128i *)&k_round[4 * g]));
        st1 = _mm_sha256rnds2_epu32(st1, st0, msg);
        if (g >= 3 && g <= 14) { /* finish the schedule of group g+1 */
            __m128i t = _mm_alignr_epi8(m[g & 3], m[(g - 1) & 3], 4);
            m[(g + 1) & 3] = _mm_sha256msg2_epu32(_mm_add_epi32(m[(g + 1) & 3], t), m[g & 3]);
        }
        msg = _mm_shuffle_epi32(msg, 0x0E);
        st0 = _mm_sha256rnds2_epu32(st0, st1, msg);
        if (g >= 1 && g <= 12) /* start the schedule of group g+3 */
            m[(g - 1) & 3] = _mm_sha256msg1_epu32(m[(g - 1) & 3], m[g & 3]);
    }
    st0 = _mm_add_epi32(st0, abef);
    st1 = _mm_add_epi32(st1, cdgh);
    tmp = _mm_shuffle_epi32(st0, 0x1B);    /* FEBA */
    st1 = _mm_shuffle_epi32(st1, 0xB1);    /* DCHG */
    st0 = _mm_blend_epi16(tmp, st1, 0xF0); /* DCBA */
    st1 = _mm_alignr_epi8(st1, tmp, 8);    /* HGFE */
    _mm_storeu_si128((__m128i *)&h[0], st0);
    _mm_storeu_si128((__m128i *)&h[4], st1);
}

static int use_shani;

/* Once, before main: does the CPU have SHA-NI (and the SSE it needs)? */
__attribute__((constructor)) static void detect_shani(void)
{
    __builtin_cpu_init();
    use_shani = __builtin_cpu_supports("sha") && __builtin_cpu_supports("sse4.1") &&
                __builtin_cpu_supports("ssse3");
}
#endif

/* One block, by the fastest code this CPU runs. */
static void compress_block(uint32_t h[8], const uint8_t *block)
{
#ifdef SY_SHA_NI
    if (use_shani) {
        compress_shani(h, block);
        return;
    }
#endif
    compress(h, block);
}

int sy_sha256_accelerated(void)
{
#ifdef SY_SHA_NI
    return use_shani;
#else
    return 0;
#endif
}

int sy_sha256_set_accelerated(int on)
{
#ifdef SY_SHA_NI
    if (on) {
        detect_shani();
    } else {
        use_shani = 0;
    }
    return use_shani;
#else
    (void)on;
    return 0;
#endif
}

void sy_sha256_init(sy_sha256_ctx *c)
{
    static const uint32_t iv[8] = {0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
                                   0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19};
    memcpy(c->h, iv, sizeof(iv));
    c->total = 0;
    c->used = 0;
}

/* Buffer input until a block is full; whole blocks in the input are compressed in place. */
void sy_sha256_update(sy_sha256_ctx *c, const void *data, size_t len)
{
    const uint8_t *p = data;
    c->total += len;
    if (c->used) {
        size_t take = SY_SHA256_BLOCK_LEN - c->used;
        if (take > len)
            take = len;
        memcpy(c->block + c->used, p, take);
        c->used += take;
        p += take;
        len -= take;
        if (c->used < SY_SHA256_BLOCK_LEN)
            return;
        compress_block(c->h, c->block);
        c->used = 0;
    }
    for (; len >= SY_SHA256_BLOCK_LEN; p += SY_SHA256_BLOCK_LEN, len -= SY_SHA256_BLOCK_LEN)
        compress_block(c->h, p);
    if (len) {
        memcpy(c->block, p, len);
        c->used = len;
    }
}

/* Pad (0x80, zeros, 64-bit big-endian bit length), emit the state, wipe the context. */
void sy_sha256_final(sy_sha256_ctx *c, uint8_t out[SY_SHA256_LEN])
{
    uint64_t bits = c->total * 8;
    c->block[c->used++] = 0x80;
    if (c->used > SY_SHA256_BLOCK_LEN - 8) {
        memset(c->block + c->used, 0, SY_SHA256_BLOCK_LEN - c->used);
        compress_block(c->h, c->block);
        c->used = 0;
    }
    memset(c->block + c->used, 0, SY_SHA256_BLOCK_LEN - 8 - c->used);
    for (int i = 0; i < 8; i++)
        c->block[SY_SHA256_BLOCK_LEN - 1 - i] = (uint8_t)(bits >> (8 * i));
    compress_block(c->h, c->block);
    for (int i = 0; i < 8; i++)
        store_be32(out + 4 * i, c->h[i]);
    explicit_bzero(c, sizeof(*c));
}

void sy_sha256(const void *data, size_t len, uint8_t out[SY_SHA256_LEN])
{
    sy_sha256_ctx c;
    sy_sha256_init(&c);
    sy_sha256_update(&c, data, len);
    sy_sha256_final(&c, out);
}

/*
 * RFC 2104: inner = H((K ^ ipad) || m), outer = H((K ^ opad) || inner). The padded key
 * only ever lives on this stack frame and is wiped before returning.
 */
void sy_hmac_sha256_init(sy_hmac_sha256_ctx *c, const void *key, size_t key_len)
{
    uint8_t k[SY_SHA256_BLOCK_LEN] = {0};
    if (key_len > SY_SHA256_BLOCK_LEN)
        sy_sha256(key, key_len, k);
    else if (key_len)
        memcpy(k, key, key_len);
    uint8_t pad[SY_SHA256_BLOCK_LEN];
    for (size_t i = 0; i < sizeof(pad); i++)
        pad[i] = k[i] ^ 0x36;
    sy_sha256_init(&c->inner);
    sy_sha256_update(&c->inner, pad, sizeof(pad));
    for (size_t i = 0; i < sizeof(pad); i++)
        pad[i] = k[i] ^ 0x5c;
    sy_sha256_init(&c->outer);
    sy_sha256_update(&c->outer, pad, sizeof(pad));
    explicit_bzero(k, sizeof(k));
    explicit_bzero(pad, sizeof(pad));
}

void sy_hmac_sha256_update(sy_hmac_sha256_ctx *c, const void *data, size_t len)
{
    sy_sha256_update(&c->inner, data, len);
}

void sy_hmac_sha256_final(sy_hmac_sha256_ctx *c, uint8_t out[SY_SHA256_LEN])
{
    uint8_t inner[SY_SHA256_LEN];
    sy_sha256_final(&c->inner, inner);
    sy_sha256_update(&c->outer, inner, sizeof(inner));
    sy_sha256_final(&c->outer, out);
    explicit_bzero(inner, sizeof(inner));
}

void sy_hmac_sha256(const void *key, size_t key_len, const void *data, size_t len,
                    uint8_t out[SY_SHA256_LEN])
{
    sy_hmac_sha256_ctx c;
    sy_hmac_sha256_init(&c, key, key_len);
    sy_hmac_sha256_update(&c, data, len);
    sy_hmac_sha256_final(&c, out);
}

void sy_hex_encode(const void *data, size_t len, char *out)
{
    static const char digits[] = "0123456789abcdef";
    const uint8_t *p = data;
    for (size_t i = 0; i < len; i++) {
        out[2 * i] = digits[p[i] >> 4];
        out[2 * i + 1] = digits[p[i] & 0xf];
    }
    out[2 * len] = '\0';
}

int sy_hex_decode(const char *hex, size_t hex_len, uint8_t *out, size_t out_len)
{
    if (hex_len != 2 * out_len)
        return SY_ERR_INVALID;
    for (size_t i = 0; i < out_len; i++) {
        int hi = sy_hex_digit((unsigned char)hex[2 * i]);
        int lo = sy_hex_digit((unsigned char)hex[2 * i + 1]);
        if (hi < 0 || lo < 0)
            return SY_ERR_INVALID;
        out[i] = (uint8_t)(hi << 4 | lo);
    }
    return 0;
}

/* OR together every byte difference so the loop never depends on the data. */
int sy_ct_equal(const void *a, const void *b, size_t n)
{
    const volatile uint8_t *x = a;
    const volatile uint8_t *y = b;
    uint8_t diff = 0;
    for (size_t i = 0; i < n; i++)
        diff |= x[i] ^ y[i];
    return (int)(1 & ((uint32_t)diff - 1) >> 8);
}
