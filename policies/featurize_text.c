/*
 * featurize_text: the cheap text heuristics behind the featurizer's flags, and its
 * tokenizer. Byte-oriented and locale-free, so results never depend on the process.
 */
#include "featurize.h"

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

/* Does haystack[0..n) contain needle? */
static int contains(const char *s, size_t n, const char *needle)
{
    size_t m = strlen(needle);
    if (m > n)
        return 0;
    return memmem(s, n, needle, m) != NULL;
}

typedef struct word_hit {
    const char *const *words;
    int hit;
} word_hit;

/* Token callback: mark a hit if the token is one of the listed words. */
static void match_word(const char *tok, size_t len, void *ctx)
{
    word_hit *w = ctx;
    for (size_t k = 0; !w->hit && w->words[k]; k++)
        if (strlen(w->words[k]) == len && memcmp(w->words[k], tok, len) == 0)
            w->hit = 1;
}

static int has_word(const char *s, size_t n, const char *const *words)
{
    word_hit w = {words, 0};
    sy_text_tokens(s, n, match_word, &w);
    return w.hit;
}

static const char *const code_markers[] = {
    "#include", "def ",     "import ", "return ", "=>",      "();",    "){",    ") {",
    "};",       "console.", "printf(", "print(",  "public ", "class ", "</",    "/>",
    "SELECT ",  "#!/",      "self.",   "::",      "!==",     "===",    "++",    "+=",
    " != ",     " == ",     "lambda ", "var ",    "const ",  "let ",   "elif ", "fn ",
};

static const char *const code_words[] = {
    "python",   "javascript", "typescript", "java",    "golang",  "rust",        "sql",
    "bash",     "regex",      "function",   "code",    "program", "programming", "compile",
    "compiler", "debug",      "script",     "snippet", "api",     "json",        "html",
    "css",      "cpp",        "kotlin",     "swift",   NULL,
};

/* A fenced block, two distinct syntax markers, or a programming word (incl. C++/C#). */
int sy_text_has_code(const char *s, size_t n)
{
    if (contains(s, n, "```"))
        return 1;
    int markers = 0;
    for (size_t k = 0; k < sizeof(code_markers) / sizeof(*code_markers) && markers < 2; k++)
        markers += contains(s, n, code_markers[k]);
    if (markers >= 2)
        return 1;
    return contains(s, n, "C++") || contains(s, n, "c++") || contains(s, n, "C#") ||
           has_word(s, n, code_words);
}

static const char *const latex_markers[] = {
    "\\frac",  "\\sqrt", "\\sum", "\\int", "\\cdot", "\\times", "\\pi",
    "\\alpha", "$$",     "\\(",   "\\[",   "^{",     "_{",
};

static const char *const math_words[] = {
    "equation",   "solve",    "integral", "derivative", "probability", "calculate", "arithmetic",
    "theorem",    "proof",    "algebra",  "geometry",   "polynomial",  "matrix",    "percent",
    "percentage", "fraction", "ratio",    "sum",        NULL,
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
    for (size_t k = 0; k < sizeof(latex_markers) / sizeof(*latex_markers); k++)
        if (contains(s, n, latex_markers[k]))
            return 1;
    return has_arithmetic(s, n) || has_word(s, n, math_words);
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

/* Options "A" and "B" both start lines. A literal backslash-n (prompts stored as
 * escaped strings) also counts as a line break. */
int sy_text_has_choices(const char *s, size_t n)
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
        if ((seen & 3u) == 3u)
            return 1;
    }
    return 0;
}
