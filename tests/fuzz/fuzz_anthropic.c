/* Fuzz target: the Anthropic adapter on untrusted upstream bytes. The input is an SSE
 * stream framed at a fuzzer-chosen boundary (and byte by byte for short inputs), every
 * event translated as the pipeline does; both splits must yield the same client output
 * (after masking the generated response id and timestamp). The same bytes also go
 * through the non-stream response translation and the error mapping. The first input
 * byte picks the split point and whether the request asked for JSON mode. */
#include "dialect_fuzz.h"

static const sy_provider_cfg prov = {
    .name = "a", .dialect = SY_DIALECT_ANTHROPIC, .base_url = "http://x/v1"};
static const sy_model_cfg model = {.name = "m", .upstream_name = "claude"};

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
