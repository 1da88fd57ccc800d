/* rephrase: see rephrase.h. Fixed-size arrays only: no allocation. */
#include "rephrase.h"

#include <ctype.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define MAX_WORDS 256
#define MAX_WORD  32
#define MAX_GRAMS 1024

/* Function words and chat boilerplate: sharing them says nothing about the question.
 * Sorted (strcmp order) for binary search. */
static const char *const stop[] = {
    "a",     "about", "again", "am",    "an",    "and",    "any",   "are",    "as",     "at",
    "be",    "been",  "but",   "by",    "can",   "could",  "did",   "do",     "does",   "explain",
    "for",   "from",  "get",   "give",  "hello", "help",   "hey",   "hi",     "how",    "i",
    "if",    "im",    "in",    "is",    "it",    "its",    "just",  "know",   "let",    "like",
    "me",    "mean",  "meant", "my",    "need",  "no",     "not",   "of",     "ok",     "okay",
    "on",    "one",   "or",    "our",   "out",   "please", "pls",   "really", "should", "show",
    "so",    "some",  "sorry", "tell",  "thank", "thanks", "that",  "the",    "then",   "there",
    "these", "this",  "those", "to",    "try",   "up",     "want",  "was",    "way",    "we",
    "were",  "what",  "whats", "which", "will",  "with",   "would", "yes",    "you",    "your",
};

static int cmp_word(const void *key, const void *elem)
{
    return strcmp((const char *)key, *(const char *const *)elem);
}

static int is_stop(const char *w)
{
    return bsearch(w, stop, sizeof(stop) / sizeof(stop[0]), sizeof(stop[0]), cmp_word) != NULL;
}

/* Strip a common suffix from words long enough to keep a stem. */
static void stem(char *w)
{
    size_t n = strlen(w);
    static const char *const suf[] = {"ing", "ed", "es", "s"};
    for (size_t i = 0; i < 4; i++) {
        size_t k = strlen(suf[i]);
        if (n > k + 3 && strcmp(w + n - k, suf[i]) == 0) {
            w[n - k] = '\0';
            return;
        }
    }
}

typedef struct words {
    char w[MAX_WORDS][MAX_WORD];
    size_t n;
} words;

/* Content words of s, stemmed and deduplicated. */
static void content_words(const char *s, size_t len, words *out)
{
    out->n = 0;
    if (len > SY_REPHRASE_SCAN)
        len = SY_REPHRASE_SCAN;
    size_t i = 0;
    while (i < len && out->n < MAX_WORDS) {
        while (i < len && !isalnum((unsigned char)s[i]))
            i++;
        char w[MAX_WORD];
        size_t k = 0;
        while (i < len && (isalnum((unsigned char)s[i]) || s[i] == '\'')) {
            if (s[i] != '\'' && k < MAX_WORD - 1)
                w[k++] = (char)tolower((unsigned char)s[i]);
            i++;
        }
        w[k] = '\0';
        if (!k || is_stop(w))
            continue;
        stem(w);
        size_t j = 0;
        while (j < out->n && strcmp(out->w[j], w) != 0)
            j++;
        if (j == out->n)
            memcpy(out->w[out->n++], w, sizeof(w));
    }
}

static double word_jaccard(const words *a, const words *b)
{
    size_t inter = 0;
    for (size_t i = 0; i < a->n; i++)
        for (size_t j = 0; j < b->n; j++)
            if (strcmp(a->w[i], b->w[j]) == 0) {
                inter++;
                break;
            }
    size_t uni = a->n + b->n - inter;
    return uni ? (double)inter / (double)uni : 0;
}

/* Character 3-grams of each word (with boundary marks), as a sorted set of codes. */
static size_t grams(const words *ws, uint32_t *out)
{
    size_t n = 0;
    for (size_t i = 0; i < ws->n; i++) {
        char buf[MAX_WORD + 2];
        size_t len = strlen(ws->w[i]);
        buf[0] = '^';
        memcpy(buf + 1, ws->w[i], len);
        buf[len + 1] = '$';
        for (size_t k = 0; k + 3 <= len + 2 && n < MAX_GRAMS; k++)
            out[n++] = (uint32_t)(uint8_t)buf[k] << 16 | (uint32_t)(uint8_t)buf[k + 1] << 8 |
                       (uint8_t)buf[k + 2];
    }
    for (size_t i = 1; i < n; i++) { /* insertion sort, then unique */
        uint32_t v = out[i];
        size_t j = i;
        while (j && out[j - 1] > v) {
            out[j] = out[j - 1];
            j--;
        }
        out[j] = v;
    }
    size_t m = 0;
    for (size_t i = 0; i < n; i++)
        if (!m || out[m - 1] != out[i])
            out[m++] = out[i];
    return m;
}

static double gram_jaccard(const words *a, const words *b)
{
    uint32_t ga[MAX_GRAMS], gb[MAX_GRAMS];
    size_t na = grams(a, ga), nb = grams(b, gb), i = 0, j = 0, inter = 0;
    while (i < na && j < nb) {
        if (ga[i] == gb[j])
            inter++, i++, j++;
        else if (ga[i] < gb[j])
            i++;
        else
            j++;
    }
    size_t uni = na + nb - inter;
    return uni ? (double)inter / (double)uni : 0;
}

/* 1 when u and v are the same word written differently: one contains the other (3 or
 * more letters: "null"/"nullpointer", "dict"/"dictionari") or they share at least 40%
 * of their character 3-grams ("summarize"/"summarise"). */
static int same_word(const char *u, const char *v)
{
    size_t nu = strlen(u), nv = strlen(v);
    if ((nu >= 3 && strstr(v, u)) || (nv >= 3 && strstr(u, v)))
        return 1;
    static __thread words one_u, one_v;
    one_u.n = one_v.n = 1;
    memcpy(one_u.w[0], u, nu + 1);
    memcpy(one_v.w[0], v, nv + 1);
    return gram_jaccard(&one_u, &one_v) >= 0.4;
}

/* 1 when a has a content word with no counterpart in b. */
static int has_unmatched(const words *a, const words *b)
{
    for (size_t i = 0; i < a->n; i++) {
        size_t j = 0;
        while (j < b->n && !same_word(a->w[i], b->w[j]))
            j++;
        if (j == b->n)
            return 1;
    }
    return 0;
}

double sy_rephrase_similarity(const char *a, size_t a_len, const char *b, size_t b_len)
{
    static __thread words wa, wb; /* large: per thread, not on the stack */
    content_words(a, a_len, &wa);
    content_words(b, b_len, &wb);
    if (!wa.n || !wb.n)
        return 0;
    double w = word_jaccard(&wa, &wb), g = gram_jaccard(&wa, &wb);
    if (w < SY_REPHRASE_SUBSTITUTION_OVERLAP && has_unmatched(&wa, &wb) && has_unmatched(&wb, &wa))
        return 0; /* one thing swapped for another: "Who wrote Macbeth?" / "... Othello?" */
    return w > g ? w : g;
}

int sy_is_rephrase(const char *a, size_t a_len, const char *b, size_t b_len)
{
    return sy_rephrase_similarity(a, a_len, b, b_len) >= SY_REPHRASE_THRESHOLD;
}
