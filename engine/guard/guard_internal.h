/*
 * guard_internal: what the guard files share (private to engine/guard/): the built-in
 * detector tables and the compiled guard's layout.
 */
#ifndef SY_GUARD_INTERNAL_H
#define SY_GUARD_INTERNAL_H

#define PCRE2_CODE_UNIT_WIDTH 8
#include "guard.h"

#include <pcre2.h>

/* A check of a match the pattern alone over-matches: 1 to keep it. *keep (preset to the
 * match's length) may be shortened to the bytes that really matched. */
typedef int (*sy_guard_check_fn)(const char *s, size_t len, size_t *keep);

typedef struct sy_guard_detector {
    const char *name;  /* in the config's "detectors" */
    const char *label; /* the placeholder's label */
    const char *pattern;
    int caseless;
    sy_guard_check_fn check; /* NULL: the pattern suffices */
    char need; /* a byte every match contains ('@'): a text without it is not scanned */
} sy_guard_detector;

/* The built-in detectors of a kind (pii, secrets, prompt_injection), n = 0 otherwise. */
const sy_guard_detector *sy_guard_builtin(sy_guard_kind k, size_t *n);

typedef struct sy_guard_pat {
    pcre2_code *re;
    sy_guard_check_fn check;
    char need;         /* as the detector's, or 0 */
    const char *label; /* static, or the guard's own label */
} sy_guard_pat;

struct sy_guard {
    char *name;
    sy_guard_kind kind;
    sy_guard_action action;
    unsigned dirs;
    int restore;
    char *label; /* the mask label of regex and words guards, or the configured mask */
    sy_guard_pat *pats;
    size_t n_pats;
    pcre2_match_context *mctx; /* the match limit; read-only once built */
    size_t judge_model;        /* kind judge (sy_guard_spec) */
    unsigned judge_timeout_ms;
    int judge_fail_closed;
    char *judge_instructions; /* owned, or NULL */
};

#endif
