#include "featurize.h"

#include "sy_common.h"

#include <math.h>
#include <stdint.h>
#include <string.h>

/* FNV-1a over the bytes, then the splitmix64 finaliser so every output bit (the bucket
 * from the low bits, the sign from the top bit) depends on every input byte. */
static uint64_t hash_bytes(const char *s, size_t n, uint64_t seed)
{
    uint64_t h = 0xcbf29ce484222325ULL ^ seed;
    for (size_t i = 0; i < n; i++) {
        h ^= (unsigned char)s[i];
        h *= 0x100000001b3ULL;
    }
    h ^= h >> 30;
    h *= 0xbf58476d1ce4e5b9ULL;
    h ^= h >> 27;
    h *= 0x94d049bb133111ebULL;
    h ^= h >> 31;
    return h;
}

typedef struct hash_ctx {
    double *block;
    size_t m;
    uint64_t prev;
    int have_prev;
} hash_ctx;

static void add_hashed(hash_ctx *c, uint64_t h)
{
    c->block[h % c->m] += (h >> 63) ? -1.0 : 1.0;
}

/* Token callback: the unigram, and the bigram with the previous token (hashed from the
 * two tokens' hashes, little-endian byte by byte so the vector is the same on every
 * machine, and seeded apart so bigrams never collide systematically with unigrams). */
static void hash_token(const char *tok, size_t len, void *ctx)
{
    hash_ctx *c = ctx;
    uint64_t h = hash_bytes(tok, len, 0);
    add_hashed(c, h);
    if (c->have_prev) {
        char pair[16];
        for (int i = 0; i < 8; i++) {
            pair[i] = (char)(unsigned char)(c->prev >> (8 * i));
            pair[8 + i] = (char)(unsigned char)(h >> (8 * i));
        }
        add_hashed(c, hash_bytes(pair, sizeof(pair), 0x9e3779b97f4a7c15ULL));
    }
    c->prev = h;
    c->have_prev = 1;
}

/*
 * Dense block then hashed block, as documented in featurize.h. The hashed block is
 * all zeros for an empty message; otherwise its L2 norm is 1 (unless every count
 * cancelled out, when it stays 0).
 */
int sy_featurize(const sy_feature_input *in, double *x, size_t dim)
{
    if (dim <= SY_FEATURE_DENSE || (!in->user_text && in->user_len))
        return SY_ERR_INVALID;
    const char *s = in->user_text ? in->user_text : "";
    size_t n = in->user_len < SY_FEATURE_SCAN_BYTES ? in->user_len : SY_FEATURE_SCAN_BYTES;

    memset(x, 0, dim * sizeof(double));
    x[SY_F_BIAS] = 1.0;
    x[SY_F_LOG_PROMPT] = log1p((double)in->prompt_bytes) / 10.0;
    x[SY_F_LOG_USER] = log1p((double)in->user_len) / 10.0;
    x[SY_F_TURN] = log1p((double)in->turn) / log(32.0);
    x[SY_F_ESCALATION] = (in->escalation < 4 ? in->escalation : 4) / 4.0;
    x[SY_F_CODE] = sy_text_has_code(s, n);
    x[SY_F_MATH] = sy_text_has_math(s, n);
    x[SY_F_TOOLS] = in->has_tools != 0;
    x[SY_F_SYSTEM] = in->has_system != 0;
    x[SY_F_NON_LATIN] = sy_text_is_non_latin(s, n);
    int options = sy_text_choice_options(s, n);
    x[SY_F_CHOICE] = options >= 2;
    x[SY_F_MANY_CHOICES] = options >= 3;

    hash_ctx c = {.block = x + SY_FEATURE_DENSE, .m = dim - SY_FEATURE_DENSE};
    sy_text_tokens(s, n, hash_token, &c);
    double ss = 0;
    for (size_t i = 0; i < c.m; i++)
        ss += c.block[i] * c.block[i];
    if (ss > 0) {
        double inv = 1.0 / sqrt(ss);
        for (size_t i = 0; i < c.m; i++)
            c.block[i] *= inv;
    }
    return SY_OK;
}
