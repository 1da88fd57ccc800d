/* Fuzz target: the HTTP/1.1 head parser and the chunked body decoder (engine/proto/http_parse.c)
 * on arbitrary bytes. Any crash, leak or sanitizer report is a finding. */
#include "http_parse.h"
#include "sy_common.h"

#include <stddef.h>
#include <stdint.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *p = (const char *)data;
    size_t end = sy_http_head_end(p, size, 0);
    if (end) {
        sy_http_head head;
        const char *why = NULL;
        sy_http_parse_head(p, end, 64, &head, &why);
    }
    /* the rest as a chunked body, fed in two pieces */
    sy_chunked ch;
    memset(&ch, 0, sizeof(ch));
    sy_buf body = {0};
    size_t used = 0, half = size / 2;
    int rc = sy_chunked_decode(&ch, p, half, &used, &body, 1 << 20);
    if (rc == 0)
        sy_chunked_decode(&ch, p + used, size - used, &used, &body, 1 << 20);
    sy_buf_free(&body);
    return 0;
}
