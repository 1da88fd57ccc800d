/*
 * rating: what a rating means (DESIGN.md §6). An explicit rating is `"rating": "up"` (1)
 * or `"down"` (0), or a `"value"` in [0, 1]; exactly one of the two. An implicit signal
 * (a rephrase of the previous turn) is a rating of 0 with the route's implicit weight.
 */
#ifndef SY_RATING_H
#define SY_RATING_H

#include <cjson/cJSON.h>

/* The quality value of a feedback body, in [0, 1]; or -1 with the offending member in
 * *param and the reason in *message (static strings). */
double sy_rating_read(const cJSON *body, const char **param, const char **message);

/* The value and weight of the implicit negative a rephrase gives the previous answer. */
#define SY_RATING_IMPLICIT_VALUE 0.0

#endif
