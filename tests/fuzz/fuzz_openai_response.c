/* Fuzz target: provider response normalisation — the OpenAI adapter reading an arbitrary
 * non-stream body (usage, finish reason) and mapping it as an error for every status. */
#include "provider.h"

#include <stddef.h>
#include <stdint.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const sy_adapter *ad = sy_adapter_for(SY_DIALECT_OPENAI);
    sy_relay_state rs = {.client_model = "m"};
    sy_buf out = {0};
    ad->response((const char *)data, size, &rs, &out);
    sy_buf_free(&out);
    static const long statuses[] = {400, 401, 404, 408, 413, 429, 500, 503, 529, 418};
    long st = statuses[(size ? data[0] : 0) % (sizeof(statuses) / sizeof(statuses[0]))];
    sy_mapped_error e = {0};
    ad->error(st, (const char *)data, size, size % 2 ? "3" : NULL, &e);
    sy_mapped_error_free(&e);
    return 0;
}
