/* Fuzz target: the Anthropic adapter on untrusted upstream bytes. The input is an SSE
 * stream framed at a fuzzer-chosen boundary (and byte by byte for short inputs), every
 * event translated as the pipeline does; both splits must yield the same client output
 * (after masking the generated response id and timestamp). The same bytes also go
 * through the non-stream response translation and the error mapping. The first input
 * byte picks the split point and whether the request asked for JSON mode. */
#include "dialect_fuzz.h"

DIALECT_FUZZ_TARGET(SY_DIALECT_ANTHROPIC, "a", "http://x/v1", "claude")
