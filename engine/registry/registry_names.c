/* registry_names: see registry_names.h. */
#include "registry_names.h"

#include "sy_common.h"

#include <string.h>

int sy_registry_valid_name(const char *s, size_t max)
{
    return sy_valid_name(s, max) && strcmp(s, ".") != 0 && strcmp(s, "..") != 0;
}

int sy_json_has_nul(const char *text, size_t len)
{
    int in_string = 0;
    for (size_t i = 0; i < len; i++) {
        char c = text[i];
        if (c == '\0')
            return 1;
        if (c == '"') {
            in_string = !in_string;
        } else if (in_string && c == '\\' && i + 1 < len) {
            if (text[i + 1] == 'u' && i + 5 < len && memcmp(text + i + 2, "0000", 4) == 0)
                return 1;
            i++; /* the escaped character (a quote or a backslash included) */
        }
    }
    return 0;
}
