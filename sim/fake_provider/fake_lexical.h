/*
 * fake_lexical: a deterministic lexical text embedder for fake-provider's embedding
 * models that opt in with "embedding": "lexical" (docs/fake-provider.md).
 *
 * It is a STAND-IN for a real embedding model, good enough to exercise the semantic
 * cache end to end and to make its calibration tool meaningful: texts that share words
 * get close vectors, texts that do not get near-orthogonal ones. It knows no synonyms,
 * no word order beyond bigrams and no world knowledge, so it separates paraphrases from
 * near-misses far worse than a trained model would; calibrate the cache threshold with
 * the model you deploy (switchyard loadgen cache-calibrate), never with this one.
 *
 * Pipeline: ASCII lower-casing; tokens are runs of letters, digits and in-word
 * apostrophes (other bytes, including non-ASCII ones, are kept inside the run);
 * contractions ("n't" becomes the token "not"; "'s", "'re", ... are dropped); stop
 * words removed (negations and when/where/who/why are kept: they change the question;
 * a text of stop words only keeps them); light suffix stemming (plural s/es/ies, -ing,
 * -ed); then hashed features with signed buckets: each unigram (weight 1, numbers
 * FP_LEX_W_NUM, negations FP_LEX_W_NEG), each bigram of consecutive kept tokens
 * (FP_LEX_W_BIGRAM), the character trigrams of each other kept token with boundary
 * marks (FP_LEX_W_CHAR in all per token, so typos keep most of a word) and, after a
 * direction word (to, from, into, than, per, vs), the pair (FP_LEX_W_DIR: "kilograms
 * to pounds" is not "pounds to kilograms"). Term-frequency weights add up in the
 * buckets; the vector is L2-normalised. Pure and locale-free. The weights were tuned
 * on tests/fixtures/cache_pairs (docs/cache-evaluation.md).
 */
#ifndef SY_FAKE_LEXICAL_H
#define SY_FAKE_LEXICAL_H

#include <stddef.h>

#define FP_LEX_DEFAULT_DIM 256
#define FP_LEX_W_BIGRAM    0.5
#define FP_LEX_W_CHAR      1.0
#define FP_LEX_W_NUM       2.0
#define FP_LEX_W_DIR       2.0
#define FP_LEX_W_NEG       3.0

/* Fill out[0..dim) with the unit vector of text (all zeros when it has no word, e.g.
 * punctuation only). dim >= 1. */
void fp_embed_lexical(const char *text, size_t len, long dim, double *out);

#endif
