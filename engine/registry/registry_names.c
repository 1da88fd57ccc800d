/* registry_names: see registry_names.h. */
#include "registry_names.h"

#include "sy_common.h"

#include <string.h>

int sy_registry_valid_name(const char *s, size_t max)
{
    return sy_valid_name(s, max) && strcmp(s, ".") != 0 && strcmp(s, "..") != 0;
}
