/* Fuzz target: the Gemini adapter on untrusted upstream bytes (streamGenerateContent's
 * SSE chunks, a generateContent body, an error body), through the shared dialect
 * harness: both splits of the stream must give the client the same chunks. The first
 * input byte picks the split point and whether the request asked for JSON mode. */
#include "dialect_fuzz.h"

DIALECT_FUZZ_TARGET(SY_DIALECT_GEMINI, "g", "http://x/v1beta", "gemini")
