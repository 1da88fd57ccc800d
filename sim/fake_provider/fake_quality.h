/*
 * fake_quality: the hidden quality of a model for one prompt (the scenario's `quality`
 * and `quality_rules`, docs/fake-provider.md) and the JSON documents of
 * GET/POST /_fake/quality. Pure: no sockets, no clocks, no global state.
 *
 * Synthetic users (switchyard loadgen) rate an answer up with the probability given
 * here, so a scenario can make each kind of prompt best served by a different model.
 */
#ifndef SY_FAKE_QUALITY_H
#define SY_FAKE_QUALITY_H

#include "fake_scenario.h"

#include <cjson/cJSON.h>
#include <stddef.h>

/*
 * The hidden quality of model m for one prompt: the quality of the first of m's rules
 * that matches (tag may be NULL; text is the prompt's latest user message, of which the
 * first SY_FEATURE_SCAN_BYTES are judged, as the router does), else m->quality.
 * *rule (may be NULL) gets the matching rule's index, or -1.
 */
double fp_quality_for(const fp_model *m, const char *tag, const char *text, size_t len, int *rule);

/*
 * GET /_fake/quality: {"models": {name: quality}, "default": q, "rules": {name: [rule]}}
 * ("rules" lists only models that have rules, in the scenario's syntax). The caller
 * owns the document.
 */
cJSON *fp_quality_doc(const fp_scenario *s);

/*
 * POST /_fake/quality: body {"prompts": [{"text": "...", "tag": "code"}, ...]} (tag
 * optional, at most FP_QUALITY_MAX_PROMPTS prompts). On success *out is
 * {"qualities": [{"models": {name: q}, "default": q}, ...]}, one entry per prompt in
 * order, and 0 is returned; otherwise SY_ERR_INVALID with a message naming the field.
 */
#define FP_QUALITY_MAX_PROMPTS 1000000
int fp_quality_batch(const fp_scenario *s, const char *body, size_t len, cJSON **out, sy_buf *err);

#endif
