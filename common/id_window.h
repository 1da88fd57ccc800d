/*
 * id_window: the last n distinct 64-bit keys seen, each with a slot number in [0, n), in
 * a FIFO window: a key is forgotten only when n newer keys have been added after it
 * (never because an unrelated key happened to hash to the same place). Open addressing
 * (linear probing, at most half full, backward-shift deletion) over a ring of keys.
 * Not thread-safe: one owner thread. Key 0 is reserved (never stored).
 */
#ifndef SY_ID_WINDOW_H
#define SY_ID_WINDOW_H

#include <stddef.h>
#include <stdint.h>

typedef struct sy_id_window {
    uint64_t *ring; /* key per slot, 0 = free; slots are reused oldest first */
    size_t n, pos, count;
    uint32_t *tab; /* slot + 1 per table cell, 0 = empty */
    size_t mask;
} sy_id_window;

void sy_id_window_init(sy_id_window *w, size_t n);
void sy_id_window_free(sy_id_window *w);
/* The key's slot, or -1 when it is not in the window. */
long sy_id_window_find(const sy_id_window *w, uint64_t key);
/* Add a key that is not in the window: returns its slot, which was the oldest key's when
 * the window is full (that key is forgotten). */
size_t sy_id_window_add(sy_id_window *w, uint64_t key);
/* A 64-bit key for a 16-byte id (a full mix of both halves). */
uint64_t sy_id_window_key16(const uint8_t id[16]);

#endif
