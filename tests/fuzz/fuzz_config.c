/* Fuzz target: configuration loading on arbitrary bytes (every error path included). */
#include "config.h"

#include <stddef.h>
#include <stdint.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    sy_config_errors errs = {0};
    sy_config *cfg = sy_config_parse((const char *)data, size, "fuzz.json", &errs);
    sy_config_free(cfg);
    sy_config_errors_free(&errs);
    return 0;
}
