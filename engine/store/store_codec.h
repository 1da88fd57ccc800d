/*
 * store_codec: the binary record formats of the LMDB store. Every value starts with a
 * one-byte version; integers and doubles are little-endian fixed width; strings are a
 * u16 length and the bytes. Decoders check every length against the value's size and
 * return -1 on anything short or unknown, so a damaged value is reported, not trusted.
 */
#ifndef SY_STORE_CODEC_H
#define SY_STORE_CODEC_H

#include "store.h"
#include "sy_common.h"

#define SY_ARM_KEY_LEN (2 * SY_STORE_NAME_MAX) /* route and model, zero-padded */

/* A decoded feedback value; strings point into the LMDB value (valid in its txn). */
typedef struct sy_store_feedback_rec {
    double value;
    uint64_t ts_ms;
    int by_token;
    const char *key_name, *comment, *tags;
    size_t key_name_len, comment_len, tags_len;
    int implicit;
    double weight;
} sy_store_feedback_rec;

void sy_store_encode_decision(sy_buf *b, const sy_store_request *r);
void sy_store_encode_outcome(sy_buf *b, const sy_store_request *r);
void sy_store_encode_feedback(sy_buf *b, const sy_store_feedback *f);
void sy_store_encode_arm_stats(sy_buf *b, const sy_store_arm_stats *a);

/* Decode into r (strings copied, x left NULL: the context is read with
 * sy_store_decision_x). */
int sy_store_decode_decision(const void *v, size_t n, sy_store_request *r);
/* The context vector of a decision value: *x points into v (unaligned-safe copy made by
 * the caller with memcpy), returns dim or -1. */
int sy_store_decision_x(const void *v, size_t n, const uint8_t **x);
int sy_store_decode_outcome(const void *v, size_t n, sy_store_request *r);
int sy_store_decode_feedback(const void *v, size_t n, sy_store_feedback_rec *f);
int sy_store_decode_arm_stats(const void *v, size_t n, sy_store_arm_stats *a);

void sy_store_encode_conv(sy_buf *b, const sy_conv_state *c);
int sy_store_decode_conv(const void *v, size_t n, sy_conv_state *c);

/* The fixed arm key of (route, model). */
void sy_store_arm_key(const char *route, const char *model, uint8_t key[SY_ARM_KEY_LEN]);

#endif
