/*
 * featurize_text: the cheap text heuristics behind the featurizer's flags, and its
 * tokenizer. Byte-oriented and locale-free, so results never depend on the process.
 */
#include "featurize.h"

#include "sy_common.h"

#include <stdint.h>
#include <string.h>

#define TOKEN_MAX 64

static int is_word_byte(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c >= 0x80;
}

/*
 * Split into maximal runs of ASCII letters/digits and non-ASCII bytes; lower-case ASCII;
 * keep the first TOKEN_MAX bytes of a longer run; map all-digit runs to "<num>".
 */
void sy_text_tokens(const char *s, size_t n, sy_token_fn fn, void *ctx)
{
    char tok[TOKEN_MAX];
    size_t i = 0;
    while (i < n) {
        while (i < n && !is_word_byte((unsigned char)s[i]))
            i++;
        size_t len = 0;
        int digits = 1;
        while (i < n && is_word_byte((unsigned char)s[i])) {
            unsigned char c = (unsigned char)s[i++];
            if (c < '0' || c > '9')
                digits = 0;
            if (c >= 'A' && c <= 'Z')
                c = (unsigned char)(c - 'A' + 'a');
            if (len < TOKEN_MAX)
                tok[len++] = (char)c;
        }
        if (len == 0)
            break;
        if (digits)
            fn("<num>", 5, ctx);
        else
            fn(tok, len, ctx);
    }
}

/*
 * Which of up to 64 markers occur in s[0..n): bit k of the result for markers[k]. One
 * pass over the text with the markers indexed by their first byte, so each position
 * compares only the markers that start with its byte (~50 separate memmem calls cost
 * several microseconds on a chat message; this costs a fraction of one).
 */
static uint64_t find_markers(const char *s, size_t n, const char *const *markers, size_t count)
{
    uint64_t by_first[256] = {0};
    size_t len[64];
    for (size_t k = 0; k < count; k++) {
        by_first[(unsigned char)markers[k][0]] |= 1ull << k;
        len[k] = strlen(markers[k]);
    }
    uint64_t found = 0;
    for (size_t i = 0; i < n; i++) {
        uint64_t m = by_first[(unsigned char)s[i]] & ~found;
        while (m) {
            int k = __builtin_ctzll(m);
            m &= m - 1;
            if (len[k] <= n - i && s[i + len[k] - 1] == markers[k][len[k] - 1] &&
                memcmp(s + i, markers[k], len[k]) == 0)
                found |= 1ull << k;
        }
    }
    return found;
}

/* A word of a list, its length known at compile time. */
typedef struct word {
    const char *s;
    size_t n;
} word;

#define W(lit)                                                                                     \
    {                                                                                              \
        lit, sizeof(lit) - 1                                                                       \
    }

#define WORD_MAX_LEN 16

typedef struct word_hit {
    const word *words;
    size_t count;
    uint32_t first[WORD_MAX_LEN + 1]; /* by length: bit c − 'a' for each first letter c */
    int hit;
} word_hit;

/* Token callback: mark a hit if the token is one of the listed words. The (length,
 * first letter) filter rejects almost every token without touching the list. */
static void match_word(const char *tok, size_t len, void *ctx)
{
    word_hit *w = ctx;
    unsigned c = (unsigned char)tok[0] - 'a';
    if (w->hit || len > WORD_MAX_LEN || c >= 26 || !(w->first[len] >> c & 1))
        return;
    for (size_t k = 0; k < w->count; k++)
        if (w->words[k].n == len && memcmp(w->words[k].s, tok, len) == 0)
            w->hit = 1;
}

/* Words must be lower-case ASCII, starting with a letter, at most WORD_MAX_LEN long. */
static int has_word(const char *s, size_t n, const word *words, size_t count)
{
    word_hit w = {.words = words, .count = count};
    for (size_t k = 0; k < count; k++)
        w.first[words[k].n] |= 1u << (words[k].s[0] - 'a');
    sy_text_tokens(s, n, match_word, &w);
    return w.hit;
}

/* Markers that say "code" on their own come first (CODE_STRONG of them); the rest count
 * only when two distinct ones occur. */
#define CODE_STRONG 4
static const char *const code_markers[] = {
    "```", "C++",  "c++",     "C#",      "#include", "def ",    "import ", "return ", "=>",
    "();", "){",   ") {",     "};",      "console.", "printf(", "print(",  "public ", "class ",
    "</",  "/>",   "SELECT ", "#!/",     "self.",    "::",      "!==",     "===",     "++",
    "+=",  " != ", " == ",    "lambda ", "var ",     "const ",  "let ",    "elif ",   "fn ",
};

static const word code_words[] = {
    W("python"), W("javascript"), W("typescript"),  W("java"),    W("golang"),
    W("rust"),   W("sql"),        W("bash"),        W("regex"),   W("function"),
    W("code"),   W("program"),    W("programming"), W("compile"), W("compiler"),
    W("debug"),  W("script"),     W("snippet"),     W("api"),     W("json"),
    W("html"),   W("css"),        W("cpp"),         W("kotlin"),  W("swift"),
};

_Static_assert(SY_ARRAY_LEN(code_markers) <= 64, "find_markers takes at most 64 markers");

/* A fenced block, C++ or C#, two distinct syntax markers, or a programming word. */
int sy_text_has_code(const char *s, size_t n)
{
    uint64_t found = find_markers(s, n, code_markers, SY_ARRAY_LEN(code_markers));
    uint64_t strong = (1ull << CODE_STRONG) - 1;
    if ((found & strong) || __builtin_popcountll(found & ~strong) >= 2)
        return 1;
    return has_word(s, n, code_words, SY_ARRAY_LEN(code_words));
}

static const char *const latex_markers[] = {
    "\\frac",  "\\sqrt", "\\sum", "\\int", "\\cdot", "\\times", "\\pi",
    "\\alpha", "$$",     "\\(",   "\\[",   "^{",     "_{",
};

static const word math_words[] = {
    W("equation"),  W("solve"),      W("integral"), W("derivative"), W("probability"),
    W("calculate"), W("arithmetic"), W("theorem"),  W("proof"),      W("algebra"),
    W("geometry"),  W("polynomial"), W("matrix"),   W("percent"),    W("percentage"),
    W("fraction"),  W("ratio"),      W("sum"),
};

static int is_digit(char c)
{
    return c >= '0' && c <= '9';
}

/* digit [space] op [space] digit, op one of + * / ^ = (and " - " with spaces). */
static int has_arithmetic(const char *s, size_t n)
{
    for (size_t i = 0; i + 2 < n; i++) {
        if (!is_digit(s[i]))
            continue;
        size_t j = i + 1;
        int space = j < n && s[j] == ' ';
        j += (size_t)space;
        if (j + 1 >= n)
            break;
        char op = s[j];
        int ok =
            op == '+' || op == '*' || op == '/' || op == '^' || op == '=' || (op == '-' && space);
        if (!ok)
            continue;
        j++;
        if (j < n && s[j] == ' ')
            j++;
        else if (op == '-')
            continue;
        if (j < n && is_digit(s[j]))
            return 1;
    }
    return 0;
}

int sy_text_has_math(const char *s, size_t n)
{
    return find_markers(s, n, latex_markers, SY_ARRAY_LEN(latex_markers)) != 0 ||
           has_arithmetic(s, n) || has_word(s, n, math_words, SY_ARRAY_LEN(math_words));
}

/* Non-ASCII bytes make up over 30% of the text (CJK, Cyrillic, Arabic … but not
 * accented Latin, which stays well below). */
int sy_text_is_non_latin(const char *s, size_t n)
{
    if (n < 4)
        return 0;
    size_t high = 0;
    for (size_t i = 0; i < n; i++)
        high += (unsigned char)s[i] >= 0x80;
    return high * 10 > n * 3;
}

/* Letter option at a line start: [spaces] ["("] A–E (")" | "." | ":") then a space,
 * tab, newline or the end. Returns the option index 0–4 or -1. */
static int option_at(const char *s, size_t n, size_t i)
{
    while (i < n && (s[i] == ' ' || s[i] == '\t'))
        i++;
    if (i < n && s[i] == '(')
        i++;
    if (i + 1 >= n || s[i] < 'A' || s[i] > 'E')
        return -1;
    char c = s[i + 1];
    if (c != ')' && c != '.' && c != ':')
        return -1;
    if (i + 2 < n && s[i + 2] != ' ' && s[i + 2] != '\t' && s[i + 2] != '\n' && s[i + 2] != '\\')
        return -1;
    return s[i] - 'A';
}

/* Bit k for each option letter 'A' + k that starts a line (a literal backslash-n, as in
 * prompts stored as escaped strings, also counts as a line break); stops early once A
 * and B are seen when `early` is set. */
static unsigned option_letters(const char *s, size_t n, int early)
{
    unsigned seen = 0;
    for (size_t i = 0; i < n; i++) {
        size_t start;
        if (i == 0)
            start = 0;
        else if (s[i - 1] == '\n')
            start = i;
        else if (i >= 2 && s[i - 2] == '\\' && s[i - 1] == 'n')
            start = i;
        else
            continue;
        int opt = option_at(s, n, start);
        if (opt >= 0)
            seen |= 1u << opt;
        if (early && (seen & 3u) == 3u)
            break;
    }
    return seen;
}

/* Options "A" and "B" both start lines. */
int sy_text_has_choices(const char *s, size_t n)
{
    return (option_letters(s, n, 1) & 3u) == 3u;
}

int sy_text_choice_options(const char *s, size_t n)
{
    unsigned seen = option_letters(s, n, 0);
    return (seen & 3u) == 3u ? __builtin_popcount(seen) : 0;
}
