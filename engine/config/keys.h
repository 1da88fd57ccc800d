/*
 * keys: authenticate bearer tokens against the key digests in the configuration.
 *
 * The file never holds a key, only its SHA-256 (client_keys[].sha256, admin.key_sha256).
 * A presented token is hashed and compared with every configured digest in constant
 * time, without stopping at the first match, so response timing reveals neither which
 * key matched nor how much of a digest agreed. Nothing here allocates or keeps state.
 */
#ifndef SY_KEYS_H
#define SY_KEYS_H

#include "config.h"

#include <stddef.h>
#include <stdint.h>

/* SHA-256 of the NUL-terminated token into out. Returns 0, or SY_ERR_INVALID when token
 * is NULL or empty (out untouched). */
int sy_keys_hash(const char *token, uint8_t out[32]);

/*
 * The client key whose digest equals SHA-256(token[0..len)), or NULL when none does or
 * len is 0. token need not be NUL-terminated. The returned pointer is owned by cfg.
 */
const sy_client_key_cfg *sy_keys_match(const sy_config *cfg, const char *token, size_t len);

/* 1 when the admin key is configured and SHA-256(token[0..len)) equals it, else 0. */
int sy_keys_admin_ok(const sy_config *cfg, const char *token, size_t len);

#endif
