/*
 * scrub: remove credentials from provider text before a client sees it (issue 15: an
 * upstream that echoed "Incorrect API key provided: Bearer sk-live-…" handed the
 * provider's key to the client).
 *
 * Pure. Every dialect's error mapping quotes the provider's message only through
 * sy_scrub_append, which copies it with anything that is or looks like a credential
 * replaced by "[redacted]": the word after Bearer/Basic/Token, known key shapes (sk-…,
 * AIza…, ghp_…, xox…-, AKIA…, hf_…, gsk_…), the value of key=…/token:…/secret=… style
 * pairs, and long high-entropy tokens (24+ characters mixing letters, digits and
 * symbols). Everything else (type, code, a context-length message) is kept.
 */
#ifndef SY_SCRUB_H
#define SY_SCRUB_H

#include "sy_common.h"

#include <stddef.h>

#define SY_SCRUB_MARK "[redacted]"

/* Append s[0..n) to out with credentials replaced by SY_SCRUB_MARK; control
 * characters become spaces. */
void sy_scrub_append(sy_buf *out, const char *s, size_t n);

#endif
