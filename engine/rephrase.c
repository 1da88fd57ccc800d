/* rephrase: see rephrase.h. Fixed-size arrays only: no allocation. */
#include "rephrase.h"

#include <ctype.h>
#include <stdint.h>
#include <string.h>

#define MAX_WORDS 256
#define MAX_WORD  32
#define MAX_GRAMS 1024

/* Function words and chat boilerplate: sharing them says nothing about the question. */
static const char *const stop[] = {
    "a",     "an",    "the",    "is",      "are",    "was",   "were",  "be",    "been", "to",
    "of",    "in",    "on",     "for",     "with",   "and",   "or",    "but",   "i",    "me",
    "my",    "we",    "our",    "you",     "your",   "it",    "its",   "this",  "that", "these",
    "those", "can",   "could",  "would",   "should", "will",  "do",    "does",  "did",  "please",
    "pls",   "help",  "tell",   "explain", "give",   "show",  "want",  "need",  "like", "know",
    "just",  "again", "really", "so",      "about",  "some",  "any",   "there", "what", "whats",
    "how",   "hi",    "hello",  "hey",     "thanks", "thank", "ok",    "okay",  "im",   "am",
    "at",    "by",    "from",   "as",      "if",     "then",  "not",   "no",    "yes",  "get",
    "let",   "mean",  "meant",  "sorry",   "try",    "way",   "which", "one",   "up",   "out",
};

static int is_stop(const char *w)
{
    for (size_t i = 0; i < sizeof(stop) / sizeof(stop[0]); i++)
        if (strcmp(w, stop[i]) == 0)
            return 1;
    return 0;
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

double sy_rephrase_similarity(const char *a, size_t a_len, const char *b, size_t b_len)
{
    static __thread words wa, wb; /* large: per thread, not on the stack */
    content_words(a, a_len, &wa);
    content_words(b, b_len, &wb);
    if (!wa.n || !wb.n)
        return 0;
    double w = word_jaccard(&wa, &wb), g = gram_jaccard(&wa, &wb);
    return w > g ? w : g;
}

int sy_is_rephrase(const char *a, size_t a_len, const char *b, size_t b_len)
{
    return sy_rephrase_similarity(a, a_len, b, b_len) >= SY_REPHRASE_THRESHOLD;
}
