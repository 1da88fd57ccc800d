/*
 * provider: the dialect registry. Which adapter (adapter.h) translates for a provider's
 * dialect; the adapters themselves are provider_<dialect>.c.
 */
#ifndef SY_PROVIDER_H
#define SY_PROVIDER_H

#include "adapter.h"

/* The adapter of a dialect, or NULL when this build has none. */
const sy_adapter *sy_adapter_for(sy_dialect dialect);

/* The embeddings adapter of a dialect (embed_adapter.h), or NULL when the dialect has no
 * embeddings API (Anthropic). */
const sy_adapter *sy_embed_adapter_for(sy_dialect dialect);

/* The adapter that forwards OpenAI Responses API requests untranslated to prov
 * (provider_responses.c), or NULL when prov does not speak that API (only an openai
 * dialect provider with "responses_api": true does). */
const sy_adapter *sy_responses_native_adapter(const sy_provider_cfg *prov);

/*
 * Append one "$.providers.NAME.dialect: ..." line per provider whose dialect has no
 * adapter in this build. Returns the number of such providers (0 = servable).
 */
size_t sy_providers_unsupported(const sy_config *cfg, sy_buf *errs);

#endif
