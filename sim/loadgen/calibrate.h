/*
 * calibrate: the pure half of `switchyard loadgen cache-calibrate` (cmd_calibrate.c):
 * the labelled pairs file and precision/recall per similarity threshold. No I/O beyond
 * reading the pairs file; the embeddings come from the command's HTTP client.
 */
#ifndef SY_LOADGEN_CALIBRATE_H
#define SY_LOADGEN_CALIBRATE_H

#include "sy_common.h"

#include <stddef.h>

/* One labelled pair: a and b are indexes into the unique texts; same = 1 when both ask
 * the same question (label "same"), 0 for "different". */
typedef struct cal_pair {
    size_t a, b;
    int same;
    char kind[48]; /* the line's "kind" ("" when absent) */
    double sim;    /* cosine similarity, filled by the caller */
} cal_pair;

typedef struct cal_set {
    cal_pair *pairs;
    size_t n;
    char **texts; /* unique texts, owned */
    size_t n_texts;
} cal_set;

/* Read a JSONL file of {"a", "b", "label": "same"|"different", "kind"?} objects (blank
 * lines skipped). -1 with "FILE:LINE: message" in err on any problem. */
int cal_set_load(const char *path, cal_set *s, sy_buf *err);
void cal_set_free(cal_set *s);

/* Counts at one threshold: a pair is predicted "same" when sim >= threshold. */
typedef struct cal_point {
    double threshold;
    size_t tp, fp, fn, tn;
    double precision; /* NAN when nothing is predicted same */
    double recall;    /* NAN when the set has no "same" pair */
} cal_point;

void cal_at(const cal_set *s, double threshold, cal_point *out);

/*
 * The lowest threshold whose precision is at least min_precision, among the pairs'
 * similarities rounded down to 4 decimals (so the printed value is exactly the one
 * evaluated). Returns 0 and fills out, or -1 when no threshold reaches it.
 */
int cal_lowest(const cal_set *s, double min_precision, cal_point *out);

#endif
