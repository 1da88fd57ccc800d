#include "keys.h"
#include "sha256.h"
#include "sy_common.h"

#include <string.h>

int sy_keys_hash(const char *token, uint8_t out[32])
{
    if (!token || !*token)
        return SY_ERR_INVALID;
    sy_sha256(token, strlen(token), out);
    return 0;
}

/*
 * Every configured digest is compared, whatever the outcome of earlier comparisons, and
 * the winner is selected without a data-dependent branch. Only the number of keys (which
 * is not secret) shapes the running time. Digests are unique (the loader rejects
 * duplicates), so at most one key matches.
 */
const sy_client_key_cfg *sy_keys_match(const sy_config *cfg, const char *token, size_t len)
{
    if (!cfg || !token || len == 0)
        return NULL;
    uint8_t digest[SY_SHA256_LEN];
    sy_sha256(token, len, digest);
    size_t found = 0; /* index + 1 of the matching key, 0 = none */
    for (size_t i = 0; i < cfg->n_client_keys; i++) {
        size_t eq = (size_t)sy_ct_equal(digest, cfg->client_keys[i].sha256, SY_SHA256_LEN);
        found |= (i + 1) & (0 - eq); /* mask is all ones when eq == 1 */
    }
    explicit_bzero(digest, sizeof(digest));
    return found ? &cfg->client_keys[found - 1] : NULL;
}

int sy_keys_admin_ok(const sy_config *cfg, const char *token, size_t len)
{
    if (!cfg || !cfg->admin_enabled || !token || len == 0)
        return 0;
    uint8_t digest[SY_SHA256_LEN];
    sy_sha256(token, len, digest);
    int ok = sy_ct_equal(digest, cfg->admin_key_sha256, SY_SHA256_LEN);
    explicit_bzero(digest, sizeof(digest));
    return ok;
}
