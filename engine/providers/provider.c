/* provider: the dialect registry (which adapter serves a provider), above the
 * adapters themselves (provider_<dialect>.c). */
#include "provider.h"

extern const sy_adapter sy_adapter_openai;
extern const sy_adapter sy_adapter_gemini;
extern const sy_adapter sy_adapter_anthropic;
extern const sy_adapter sy_embed_openai;
extern const sy_adapter sy_embed_gemini;

const sy_adapter *sy_adapter_for(sy_dialect dialect)
{
    switch (dialect) {
    case SY_DIALECT_OPENAI:
        return &sy_adapter_openai;
    case SY_DIALECT_GEMINI:
        return &sy_adapter_gemini;
    case SY_DIALECT_ANTHROPIC:
        return &sy_adapter_anthropic;
    }
    return NULL;
}

const sy_adapter *sy_embed_adapter_for(sy_dialect dialect)
{
    switch (dialect) {
    case SY_DIALECT_OPENAI:
        return &sy_embed_openai;
    case SY_DIALECT_GEMINI:
        return &sy_embed_gemini;
    case SY_DIALECT_ANTHROPIC: /* Anthropic has no embeddings API */
        return NULL;
    }
    return NULL;
}

size_t sy_providers_unsupported(const sy_config *cfg, sy_buf *errs)
{
    size_t n = 0;
    for (size_t i = 0; i < cfg->n_providers; i++) {
        const sy_provider_cfg *p = &cfg->providers[i];
        if (sy_adapter_for(p->dialect))
            continue;
        sy_buf_printf(errs,
                      "$.providers.%s.dialect: dialect \"%s\" is not supported by this build yet\n",
                      p->name, sy_dialect_name(p->dialect));
        n++;
    }
    return n;
}
