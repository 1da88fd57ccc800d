/*
 * request_id: ULID-style ids, "req_" + 26 Crockford base32 characters encoding 128 bits:
 *   48 bits  millisecond timestamp (held at the last value when the clock steps back)
 *    8 bits  node (worker index)
 *   24 bits  sequence within the millisecond (rolls the timestamp forward on overflow)
 *   48 bits  random (xorshift64*)
 * The fields are big-endian in that order, so lexicographic order is generation order
 * within one generator, and distinct nodes can never produce the same id.
 */
#include "request_id.h"

#include <string.h>

static const char crockford[] = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";

static uint64_t xorshift(uint64_t *s)
{
    uint64_t x = *s;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    *s = x;
    return x * 0x2545F4914F6CDD1Dull;
}

void sy_reqid_init(sy_reqid_gen *g, uint8_t node, uint64_t seed)
{
    memset(g, 0, sizeof(*g));
    g->node = node;
    g->rng = seed ? seed : 0x9E3779B97F4A7C15ull;
}

/* Write "req_" and the 128 bits hi:lo as 26 Crockford characters, NUL-terminated.
 * 26 characters × 5 bits = 130 bits: the first character carries the top 3 bits. */
static void encode(uint64_t hi, uint64_t lo, char out[SY_REQID_LEN + 1])
{
    memcpy(out, "req_", 4);
    for (int i = 25; i >= 0; i--) {
        out[4 + i] = crockford[lo & 31];
        lo = (lo >> 5) | (hi << 59);
        hi >>= 5;
    }
    out[SY_REQID_LEN] = '\0';
}

void sy_reqid_next(sy_reqid_gen *g, uint64_t now_ms, char out[SY_REQID_LEN + 1])
{
    now_ms &= (1ull << 48) - 1;
    if (now_ms > g->last_ms) {
        g->last_ms = now_ms;
        g->seq = 0;
    } else if (++g->seq >= (1u << 24)) {
        g->last_ms++; /* 16M ids in one millisecond: borrow the next one */
        g->seq = 0;
    }
    /* 128 bits as hi (64) and lo (64). */
    uint64_t rnd = xorshift(&g->rng) & ((1ull << 48) - 1);
    uint64_t hi = (g->last_ms << 16) | ((uint64_t)g->node << 8) | (g->seq >> 16);
    uint64_t lo = ((uint64_t)(g->seq & 0xFFFF) << 48) | rnd;
    encode(hi, lo, out);
}

/* crockford's characters: value + 1 (0: not one of them), a table lookup per character
 * (the strchr it replaces was ~1,200 instructions per id, three ids per request). */
static const uint8_t crockford_value[256] = {
    ['0'] = 1,  ['1'] = 2,  ['2'] = 3,  ['3'] = 4,  ['4'] = 5,  ['5'] = 6,  ['6'] = 7,  ['7'] = 8,
    ['8'] = 9,  ['9'] = 10, ['A'] = 11, ['B'] = 12, ['C'] = 13, ['D'] = 14, ['E'] = 15, ['F'] = 16,
    ['G'] = 17, ['H'] = 18, ['J'] = 19, ['K'] = 20, ['M'] = 21, ['N'] = 22, ['P'] = 23, ['Q'] = 24,
    ['R'] = 25, ['S'] = 26, ['T'] = 27, ['V'] = 28, ['W'] = 29, ['X'] = 30, ['Y'] = 31, ['Z'] = 32};

static int decode_char(char c)
{
    return (int)crockford_value[(unsigned char)c] - 1;
}

/* Decode an id into its 128 bits; -1 if it is not a valid id. */
static int decode(const char *id, uint64_t *hi_out, uint64_t *lo_out)
{
    if (!id || strncmp(id, "req_", 4) != 0 || strlen(id) != SY_REQID_LEN)
        return -1;
    uint64_t hi = 0, lo = 0;
    for (int i = 0; i < 26; i++) {
        int v = decode_char(id[4 + i]);
        if (v < 0 || (i == 0 && v > 7))
            return -1;
        hi = (hi << 5) | (lo >> 59);
        lo = (lo << 5) | (uint64_t)v;
    }
    *hi_out = hi;
    *lo_out = lo;
    return 0;
}

uint64_t sy_reqid_time_ms(const char *id)
{
    uint64_t hi, lo;
    return decode(id, &hi, &lo) == 0 ? hi >> 16 : 0;
}

int sy_reqid_to_bytes(const char *id, uint8_t out[16])
{
    uint64_t hi, lo;
    if (decode(id, &hi, &lo) != 0)
        return -1;
    for (int i = 0; i < 8; i++) {
        out[i] = (uint8_t)(hi >> (56 - 8 * i));
        out[8 + i] = (uint8_t)(lo >> (56 - 8 * i));
    }
    return 0;
}

void sy_reqid_from_bytes(const uint8_t in[16], char out[SY_REQID_LEN + 1])
{
    uint64_t hi = 0, lo = 0;
    for (int i = 0; i < 8; i++) {
        hi = (hi << 8) | in[i];
        lo = (lo << 8) | in[8 + i];
    }
    encode(hi, lo, out);
}
