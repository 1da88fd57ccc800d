/* Fuzz target: the Gemini adapter on untrusted upstream bytes (streamGenerateContent's
 * SSE chunks, a generateContent body, an error body), through the shared dialect
 * harness: both splits of the stream must give the client the same chunks. The first
 * input byte picks the split point and whether the request asked for JSON mode. */
#include "dialect_fuzz.h"

static const sy_provider_cfg prov = {
    .name = "g", .dialect = SY_DIALECT_GEMINI, .base_url = "http://x/v1beta"};
static const sy_model_cfg model = {.name = "m", .upstream_name = "gemini"};

static const char *const requests[] = {
    "{\"model\":\"m\",\"stream\":true,\"stream_options\":{\"include_usage\":true},"
    "\"messages\":[{\"role\":\"user\",\"content\":\"x\"}],\"tools\":[{\"type\":\"function\","
    "\"function\":{\"name\":\"f\"}}]}",
    "{\"model\":\"m\",\"stream\":true,\"messages\":[{\"role\":\"user\",\"content\":\"x\"}],"
    "\"response_format\":{\"type\":\"json_object\"}}",
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    return fuzz_dialect(&prov, &model, requests, data, size);
}
