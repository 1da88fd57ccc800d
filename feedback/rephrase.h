/*
 * rephrase: is a user message a rephrasing of the previous one? (DESIGN.md §7)
 *
 * Both messages are normalised (ASCII lower case, punctuation to spaces), common
 * function words and conversational boilerplate ("can you", "please", "help me with"…)
 * are dropped, and the remaining content words are lightly stemmed. The similarity is
 * the larger of the Jaccard index of the content-word sets and that of their character
 * 3-gram shingles (which absorbs typos and small edits). A substitution is a new
 * question, however similar the rest: when each message has a content word with no
 * counterpart in the other (the same word written differently counts as a counterpart)
 * and the content words overlap less than SY_REPHRASE_SUBSTITUTION_OVERLAP, the
 * similarity is 0 ("Who wrote Macbeth?" then "Who wrote Othello?"). A pair is a
 * rephrase when the similarity reaches SY_REPHRASE_THRESHOLD. Pure; at most SY_REPHRASE_SCAN bytes
 * of each message are read.
 */
#ifndef SY_REPHRASE_H
#define SY_REPHRASE_H

#include <stddef.h>

#define SY_REPHRASE_THRESHOLD            0.5
#define SY_REPHRASE_SCAN                 4096
#define SY_REPHRASE_SUBSTITUTION_OVERLAP 0.7

/* Similarity in [0,1] of two messages (0 when either has no content words). */
double sy_rephrase_similarity(const char *a, size_t a_len, const char *b, size_t b_len);
/* 1 when b rephrases a (similarity ≥ SY_REPHRASE_THRESHOLD). */
int sy_is_rephrase(const char *a, size_t a_len, const char *b, size_t b_len);

#endif
