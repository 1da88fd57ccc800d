/*
 * featurize: the context vector x ∈ R^d of a chat request (DESIGN.md §5), shared by the
 * server and the simulator so both compute bit-identical vectors.
 *
 * Callers extract plain values from the request (no JSON here) and get:
 *   x[0]  bias, always 1 (the policies rely on this)
 *   x[1]  ln(1 + total prompt bytes) / 10
 *   x[2]  ln(1 + latest user message bytes) / 10
 *   x[3]  ln(1 + turn) / ln(32)          turn = index of this user turn, 0 first
 *   x[4]  min(escalation, 4) / 4
 *   x[5]  code: a ``` fence, two distinct code-syntax markers, or programming words
 *   x[6]  math: LaTeX, an arithmetic expression, or mathematical words
 *   x[7]  tools: the request declares tools
 *   x[8]  system: the request has a system prompt
 *   x[9]  non-Latin script: over 30% of the message's bytes are non-ASCII
 *   x[10] multiple choice: lines starting "A)" and "B)" (or "A." / "(A)" …)
 *   x[11] more than two options: a line also starts with "C)" (a binary choice — yes/no,
 *         fill-in-the-blank between two candidates — is another kind of task than
 *         picking one of four or five)
 *   x[12 .. d)  hashed words: unigrams and bigrams of the latest user message,
 *         lower-cased ASCII alphanumeric runs (non-ASCII bytes join runs, all-digit
 *         runs become one <num> token), FNV-1a + splitmix64 hashed into d − 12 signed
 *         buckets (the "hashing trick", Weinberger et al. 2009), then L2-normalised.
 * Only the first SY_FEATURE_SCAN_BYTES of the message are read. Flags are 0 or 1.
 * The default d is SY_FEATURE_DEFAULT_DIM; everything is deterministic and
 * locale-independent.
 */
#ifndef SY_FEATURIZE_H
#define SY_FEATURIZE_H

#include <stddef.h>

enum sy_feature_index {
    SY_F_BIAS = 0,
    SY_F_LOG_PROMPT,
    SY_F_LOG_USER,
    SY_F_TURN,
    SY_F_ESCALATION,
    SY_F_CODE,
    SY_F_MATH,
    SY_F_TOOLS,
    SY_F_SYSTEM,
    SY_F_NON_LATIN,
    SY_F_CHOICE,
    SY_F_MANY_CHOICES,
    SY_FEATURE_DENSE /* first hashed bucket */
};

#define SY_FEATURE_DEFAULT_DIM 24
#define SY_FEATURE_SCAN_BYTES  65536

typedef struct sy_feature_input {
    const char *user_text; /* latest user message, UTF-8 (need not be NUL-terminated) */
    size_t user_len;
    size_t prompt_bytes; /* total bytes of all message contents */
    unsigned turn;       /* 0 for the first user turn of a conversation */
    unsigned escalation; /* escalation level from the route's rules, 0 = none */
    int has_system;      /* nonzero when a system (or developer) message is present */
    int has_tools;       /* nonzero when tools/functions are declared or tool messages sent */
} sy_feature_input;

/* Fill x[0..dim). SY_ERR_INVALID if dim ≤ SY_FEATURE_DENSE (no hashed bucket) or the
 * text pointer is NULL with a nonzero length. */
int sy_featurize(const sy_feature_input *in, double *x, size_t dim);

/* The text detectors behind the flags (each reads at most n bytes). */
int sy_text_has_code(const char *s, size_t n);
int sy_text_has_math(const char *s, size_t n);
int sy_text_is_non_latin(const char *s, size_t n);
int sy_text_has_choices(const char *s, size_t n);
/* Distinct option letters A–E that start lines (0 unless both A and B do). */
int sy_text_choice_options(const char *s, size_t n);

/* Tokenizer shared by the hashed features and the word lists: calls fn for each token
 * (lower-cased, at most 64 bytes kept, "<num>" for digit runs) in order. */
typedef void (*sy_token_fn)(const char *tok, size_t len, void *ctx);
void sy_text_tokens(const char *s, size_t n, sy_token_fn fn, void *ctx);

#endif
