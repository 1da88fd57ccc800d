/*
 * prompt_apply: a chat request's `prompt` reference ({"id", "version" | "label",
 * "variables"}), resolved from the prompt registry's memory and rendered into the
 * request. Used by the pipeline and by the admin render preview; never touches LMDB.
 */
#ifndef SY_PROMPT_APPLY_H
#define SY_PROMPT_APPLY_H

#include "prompt_registry.h"

#include <cjson/cJSON.h>

/* A chat request's `prompt` reference, resolved and rendered . */
typedef struct sy_api_prompt_result {
    int status; /* on error: 400 or 404 */
    sy_prompt_error err;
    sy_prompt_resolved resolved;
    char name[SY_PROMPT_NAME_MAX + 16];
} sy_api_prompt_result;
struct sy_prompt_registry;
/* Detach root's `prompt`, resolve it (from memory) and render it into root. Returns 0
 * when there is none, 1 when rendered (out->name/resolved say which version), -1 on a
 * client error described by out. Never touches LMDB. */
int sy_api_apply_prompt(struct sy_prompt_registry *reg, cJSON *root, size_t max_bytes,
                        sy_api_prompt_result *out);

/*
 * Read {"id"?, "version"?, "label"?} into name/version/label (label defaults to
 * "production"). The id is read only when *name is NULL (the admin render names the
 * prompt in its path).
 * Returns 0, or -1 with the offending field in *param.
 */
int sy_prompt_ref(const cJSON *ref, const char **name, unsigned *version, const char **label,
                  const char **param);

#endif
