/*
 * fake_lexical: the lexical stand-in embedder (see fake_lexical.h for what it is and is
 * not). Pure: no globals written, no allocation beyond the token list.
 */
#include "fake_lexical.h"

#include "sy_common.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define LEX_TOK_MAX 48 /* bytes kept of one token */

typedef struct lex_tok {
    char s[LEX_TOK_MAX + 1];
    size_t n;
    const char *prep; /* the direction word just before it ("to", "from", ...), or NULL */
} lex_tok;

/* Direction words: dropped as tokens, but the kept token after one gets a feature of
 * the pair, so "kilograms to pounds" and "pounds to kilograms" differ. */
static const char *direction(const char *s)
{
    static const char *const dirs[] = {"to", "from", "into", "than", "per", "vs", "versus", NULL};
    for (size_t i = 0; dirs[i]; i++)
        if (strcmp(s, dirs[i]) == 0)
            return dirs[i];
    return NULL;
}

/* Words that carry little of a question's meaning. Negations (not, no, never, without)
 * and when/where/who/why/which are deliberately absent: they change the question. */
static const char *const stop_words[] = {
    "a",      "an",      "the",     "is",       "are",   "was",    "were",    "be",     "been",
    "am",     "do",      "does",    "did",      "of",    "to",     "in",      "on",     "at",
    "for",    "by",      "with",    "from",     "about", "as",     "and",     "or",     "what",
    "whats",  "how",     "i",       "me",       "my",    "you",    "your",    "we",     "our",
    "it",     "its",     "this",    "that",     "these", "those",  "please",  "pls",    "can",
    "could",  "would",   "will",    "should",   "tell",  "give",   "show",    "kindly", "hey",
    "hi",     "hello",   "thanks",  "thank",    "there", "some",   "any",     "just",   "let",
    "us",     "so",      "know",    "want",     "need",  "wonder", "curious", "quick",  "question",
    "help",   "mind",    "explain", "describe", "into",  "out",    "up",      "really", "actually",
    "anyone", "someone", "much",    "many",     "one",   NULL,
};

static int is_stop(const char *s)
{
    for (size_t i = 0; stop_words[i]; i++)
        if (strcmp(s, stop_words[i]) == 0)
            return 1;
    return 0;
}

static int ends_with(const lex_tok *t, const char *suf)
{
    size_t k = strlen(suf);
    return t->n >= k && memcmp(t->s + t->n - k, suf, k) == 0;
}

static void cut(lex_tok *t, size_t k, const char *add)
{
    t->n -= k;
    size_t a = strlen(add);
    memcpy(t->s + t->n, add, a);
    t->n += a;
    t->s[t->n] = 0;
}

static int is_vowel(char c)
{
    return c == 'a' || c == 'e' || c == 'i' || c == 'o' || c == 'u';
}

/* Light suffix stemming: enough that "countries"/"country", "boiling"/"boil",
 * "planets"/"planet" meet; not a Porter stemmer. Digit tokens are left alone. */
static void stem(lex_tok *t)
{
    if (t->n < 4 || (t->s[0] >= '0' && t->s[0] <= '9'))
        return;
    if (ends_with(t, "ies") && t->n > 4)
        cut(t, 3, "y");
    else if (ends_with(t, "sses"))
        cut(t, 2, "");
    else if (ends_with(t, "ches") || ends_with(t, "shes") || ends_with(t, "xes"))
        cut(t, 2, "");
    else if (ends_with(t, "s") && !ends_with(t, "ss") && !ends_with(t, "us") && !ends_with(t, "is"))
        cut(t, 1, "");
    if (ends_with(t, "ing") && t->n > 5)
        cut(t, 3, "");
    else if (ends_with(t, "ed") && t->n > 4)
        cut(t, 2, "");
    /* "running" -> "runn" -> "run"; "stopped" -> "stopp" -> "stop" */
    if (t->n > 3 && t->s[t->n - 1] == t->s[t->n - 2] && !is_vowel(t->s[t->n - 1]) &&
        t->s[t->n - 1] != 'l' && t->s[t->n - 1] != 's')
        cut(t, 1, "");
}

static int word_byte(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           c >= 0x80 || c == '\'';
}

/* Append one raw word (lower-cased, contractions split) to toks. */
static void push_word(const char *w, size_t n, lex_tok **toks, size_t *nt, size_t *cap)
{
    lex_tok t = {0};
    for (size_t i = 0; i < n && t.n < LEX_TOK_MAX; i++) {
        char c = w[i];
        t.s[t.n++] = (c >= 'A' && c <= 'Z') ? (char)(c - 'A' + 'a') : c;
    }
    t.s[t.n] = 0;
    int neg = 0;
    if (ends_with(&t, "n't"))
        cut(&t, 3, ""), neg = 1;
    else if (ends_with(&t, "'s") || ends_with(&t, "'d") || ends_with(&t, "'m"))
        cut(&t, 2, "");
    else if (ends_with(&t, "'re") || ends_with(&t, "'ll") || ends_with(&t, "'ve"))
        cut(&t, 3, "");
    /* strip remaining apostrophes (quotes around a word, "o'clock" stays one token) */
    while (t.n && t.s[t.n - 1] == '\'')
        t.s[--t.n] = 0;
    size_t lead = 0;
    while (lead < t.n && t.s[lead] == '\'')
        lead++;
    if (lead) {
        memmove(t.s, t.s + lead, t.n - lead + 1);
        t.n -= lead;
    }
    lex_tok no = {.s = "not", .n = 3};
    for (int k = 0; k < 2; k++) {
        const lex_tok *add = k == 0 ? &t : &no;
        if ((k == 0 && !t.n) || (k == 1 && !neg))
            continue;
        if (*nt == *cap) {
            *cap = *cap ? *cap * 2 : 32;
            *toks = sy_xrealloc(*toks, *cap * sizeof **toks);
        }
        (*toks)[(*nt)++] = *add;
    }
}

/* FNV-1a of a kind byte and a byte string. */
static uint64_t fnv(char kind, const char *s, size_t n, const char *s2, size_t n2)
{
    uint64_t h = 0xcbf29ce484222325ull;
    h = (h ^ (unsigned char)kind) * 0x100000001b3ull;
    for (size_t i = 0; i < n; i++)
        h = (h ^ (unsigned char)s[i]) * 0x100000001b3ull;
    h = (h ^ 0x1f) * 0x100000001b3ull;
    for (size_t i = 0; i < n2; i++)
        h = (h ^ (unsigned char)s2[i]) * 0x100000001b3ull;
    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdull;
    h ^= h >> 33;
    return h;
}

/* Add weight w to the signed bucket of a feature. */
static void add(double *out, long dim, uint64_t h, double w)
{
    out[h % (uint64_t)dim] += (h >> 63) ? -w : w;
}

/* A negation flips the question: its unigram weighs FP_LEX_W_NEG. */
static int is_negation(const lex_tok *t)
{
    static const char *const neg[] = {"not", "no", "never", "without", "cannot", "nor", NULL};
    for (size_t i = 0; neg[i]; i++)
        if (strcmp(t->s, neg[i]) == 0)
            return 1;
    return 0;
}

/* The features of the kept tokens: unigrams (numbers weigh FP_LEX_W_NUM, negations
 * FP_LEX_W_NEG, and neither gets character trigrams: "2014" and "2018" are different
 * questions, not a typo), bigrams, character trigrams. */
static void features(const lex_tok *t, size_t n, long dim, double *out)
{
    for (size_t i = 0; i < n; i++) {
        int num = t[i].s[0] >= '0' && t[i].s[0] <= '9', neg = is_negation(&t[i]);
        double wu = num ? FP_LEX_W_NUM : neg ? FP_LEX_W_NEG : 1.0;
        add(out, dim, fnv('u', t[i].s, t[i].n, "", 0), wu);
        if (t[i].prep)
            add(out, dim, fnv('p', t[i].prep, strlen(t[i].prep), t[i].s, t[i].n), FP_LEX_W_DIR);
        if (i + 1 < n)
            add(out, dim, fnv('b', t[i].s, t[i].n, t[i + 1].s, t[i + 1].n), FP_LEX_W_BIGRAM);
        if (num || neg)
            continue;
        char m[LEX_TOK_MAX + 3];
        m[0] = '#';
        memcpy(m + 1, t[i].s, t[i].n);
        m[t[i].n + 1] = '#';
        size_t mn = t[i].n + 2, tri = mn - 2;
        double w = FP_LEX_W_CHAR / sqrt((double)tri);
        for (size_t k = 0; k + 3 <= mn; k++)
            add(out, dim, fnv('c', m + k, 3, "", 0), w);
    }
}

void fp_embed_lexical(const char *text, size_t len, long dim, double *out)
{
    memset(out, 0, (size_t)dim * sizeof *out);
    lex_tok *toks = NULL;
    size_t nt = 0, cap = 0;
    for (size_t i = 0; i < len;) {
        if (!word_byte((unsigned char)text[i])) {
            i++;
            continue;
        }
        size_t j = i;
        while (j < len && word_byte((unsigned char)text[j]))
            j++;
        push_word(text + i, j - i, &toks, &nt, &cap);
        i = j;
    }
    /* drop stop words, unless nothing else is left (then keep every token) */
    size_t kept = 0;
    for (size_t i = 0; i < nt; i++)
        kept += !is_stop(toks[i].s);
    size_t w = 0;
    const char *prep = NULL;
    for (size_t i = 0; i < nt; i++) {
        if (kept && is_stop(toks[i].s)) {
            prep = direction(toks[i].s) ? direction(toks[i].s) : prep;
            continue;
        }
        toks[w] = toks[i];
        toks[w].prep = prep;
        prep = NULL;
        stem(&toks[w]);
        w++;
    }
    features(toks, w, dim, out);
    free(toks);
    double norm = 0;
    for (long i = 0; i < dim; i++)
        norm += out[i] * out[i];
    norm = sqrt(norm);
    for (long i = 0; norm > 0 && i < dim; i++)
        out[i] /= norm;
}
