/*
 * request_id: unique, time-ordered request identifiers.
 *
 * An id is "req_" followed by 26 Crockford base32 characters (a ULID): a 48-bit
 * millisecond timestamp, then 80 bits made of the generator's node number (worker
 * index, 8 bits), a sequence that strictly increases within a generator, and random
 * bits. Ids from one generator sort lexicographically in generation order, also when
 * the clock stands still or steps back (the timestamp is then held at the last value
 * used); ids from different generators never collide because the node differs.
 *
 * A generator belongs to one thread; there is no locking.
 */
#ifndef SY_REQUEST_ID_H
#define SY_REQUEST_ID_H

#include <stdint.h>

#define SY_REQID_LEN 30 /* "req_" + 26 */

typedef struct sy_reqid_gen {
    uint64_t last_ms;
    uint32_t seq; /* sequence within last_ms */
    uint8_t node;
    uint64_t rng; /* xorshift state for the random bits */
} sy_reqid_gen;

void sy_reqid_init(sy_reqid_gen *g, uint8_t node, uint64_t seed);

/* Write the next id and a terminating NUL into out (SY_REQID_LEN + 1 bytes). */
void sy_reqid_next(sy_reqid_gen *g, uint64_t now_ms, char out[SY_REQID_LEN + 1]);

/* Timestamp (ms since the epoch) encoded in an id, or 0 if `id` is not a valid id. */
uint64_t sy_reqid_time_ms(const char *id);

/* The id's 128 bits, big-endian (byte order = sort order): 0, or -1 if not an id. */
int sy_reqid_to_bytes(const char *id, uint8_t out[16]);
/* Inverse of sy_reqid_to_bytes. */
void sy_reqid_from_bytes(const uint8_t in[16], char out[SY_REQID_LEN + 1]);

#endif
