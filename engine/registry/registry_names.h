/*
 * registry_names: what an id or a name of the admin registries (prompts, experiments)
 * may be. A name is 1..max characters of [A-Za-z0-9_.-], and neither "." nor ".." (they
 * mean something in every path they may end up in). NUL never reaches these checks as a
 * character: the admin bodies are read with engine/proto/json_body.h, which refuses a
 * \u0000 escape anywhere in them (cJSON would end the string there: "a\u0000../../etc"
 * would read as "a").
 */
#ifndef SY_REGISTRY_NAMES_H
#define SY_REGISTRY_NAMES_H

#include <stddef.h>

int sy_registry_valid_name(const char *s, size_t max);

#endif
