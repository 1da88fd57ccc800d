/*
 * sha256: SHA-256 (FIPS 180-4), HMAC-SHA256 (RFC 2104), hex coding and constant-time
 * comparison. Self-contained: no OpenSSL, no allocation, no global state, so every
 * function is safe to call from any thread on its own context.
 *
 * Used for client/admin key digests (engine/config/keys.c) and for HMAC tokens (feedback
 * tokens). Contexts live wherever the caller puts them (usually the stack); nothing
 * here owns memory.
 */
#ifndef SY_SHA256_H
#define SY_SHA256_H

#include <stddef.h>
#include <stdint.h>

#define SY_SHA256_LEN       32 /* digest bytes */
#define SY_SHA256_HEX_LEN   64 /* digest as lowercase hex, without the NUL */
#define SY_SHA256_BLOCK_LEN 64

typedef struct sy_sha256_ctx {
    uint32_t h[8];
    uint64_t total;                     /* bytes hashed so far */
    uint8_t block[SY_SHA256_BLOCK_LEN]; /* pending partial block */
    size_t used;                        /* bytes pending in block */
} sy_sha256_ctx;

void sy_sha256_init(sy_sha256_ctx *c);
void sy_sha256_update(sy_sha256_ctx *c, const void *data, size_t len);
/* Write the digest to out; the context is wiped and must be re-initialised for reuse. */
void sy_sha256_final(sy_sha256_ctx *c, uint8_t out[SY_SHA256_LEN]);
/* One-shot digest of len bytes. */
void sy_sha256(const void *data, size_t len, uint8_t out[SY_SHA256_LEN]);

/* 1 when blocks are compressed with the CPU's SHA extensions (x86 SHA-NI), detected
 * at start; the digests are the same either way. */
int sy_sha256_accelerated(void);
/* For tests and benchmarks, before any other thread hashes: 0 forces the portable code,
 * 1 uses the extensions again if the CPU has them. Returns sy_sha256_accelerated(). */
int sy_sha256_set_accelerated(int on);

typedef struct sy_hmac_sha256_ctx {
    sy_sha256_ctx inner;
    sy_sha256_ctx outer;
} sy_hmac_sha256_ctx;

/* Keys longer than one block are hashed first, as RFC 2104 prescribes. */
void sy_hmac_sha256_init(sy_hmac_sha256_ctx *c, const void *key, size_t key_len);
void sy_hmac_sha256_update(sy_hmac_sha256_ctx *c, const void *data, size_t len);
void sy_hmac_sha256_final(sy_hmac_sha256_ctx *c, uint8_t out[SY_SHA256_LEN]);
void sy_hmac_sha256(const void *key, size_t key_len, const void *data, size_t len,
                    uint8_t out[SY_SHA256_LEN]);

/* Write len bytes as 2*len lowercase hex digits plus a NUL into out (2*len+1 bytes). */
void sy_hex_encode(const void *data, size_t len, char *out);
/*
 * Decode exactly 2*out_len hex digits (either case) from hex (hex_len bytes, no NUL
 * needed) into out. Returns 0, or SY_ERR_INVALID when hex_len != 2*out_len or a byte
 * is not a hex digit (out is then unspecified).
 */
int sy_hex_decode(const char *hex, size_t hex_len, uint8_t *out, size_t out_len);

/*
 * 1 when the n bytes at a and b are equal, else 0. Runs in time that depends only on n,
 * never on where the first difference is: use it for every comparison of secrets.
 */
int sy_ct_equal(const void *a, const void *b, size_t n);

#endif
