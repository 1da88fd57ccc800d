/*
 * registry_names: what an id or a name of the admin registries (prompts, experiments)
 * may be. A name is 1..max characters of [A-Za-z0-9_.-], and neither "." nor ".." (they
 * mean something in every path they may end up in). NUL never reaches these checks as a
 * character: cJSON ends a string at a \u0000 escape ("a\u0000../../etc" reads as "a"),
 * so a body that holds one is refused before it is parsed (sy_json_has_nul).
 */
#ifndef SY_REGISTRY_NAMES_H
#define SY_REGISTRY_NAMES_H

#include <stddef.h>

int sy_registry_valid_name(const char *s, size_t max);

/* Does JSON text hold a NUL: a \u0000 escape inside a string, or a raw 0 byte? */
int sy_json_has_nul(const char *text, size_t len);

#endif
