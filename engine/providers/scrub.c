/* scrub: see scrub.h. */
#include "scrub.h"

#include <ctype.h>
#include <string.h>
#include <strings.h>

/* Characters that end a word: whitespace, quotes, brackets, separators. */
static int is_sep(unsigned char c)
{
    return c <= 0x20 || c == 0x7f || strchr("\"'`(),;<>[]{}", c) != NULL;
}

static int is_name_char(unsigned char c)
{
    return isalnum(c) || c == '_' || c == '-';
}

/* "Bearer", "Basic", "Token" (a trailing ':' allowed): the next word is a credential. */
static int is_auth_scheme(const char *t, size_t n)
{
    if (n && t[n - 1] == ':')
        n--;
    return (n == 6 && strncasecmp(t, "bearer", 6) == 0) ||
           (n == 5 && strncasecmp(t, "basic", 5) == 0) ||
           (n == 5 && strncasecmp(t, "token", 5) == 0);
}

/* A member name that announces a credential (key=…, api_key:…, access_token=…). */
static int is_secret_name(const char *name, size_t n)
{
    static const char *const words[] = {"key",    "token", "secret",    "password",
                                        "passwd", "auth",  "signature", "credential"};
    char low[64];
    if (n == 0 || n >= sizeof(low))
        return 0;
    for (size_t i = 0; i < n; i++)
        low[i] = (char)tolower((unsigned char)name[i]);
    low[n] = '\0';
    for (size_t i = 0; i < SY_ARRAY_LEN(words); i++)
        if (strstr(low, words[i]))
            return 1;
    return 0;
}

/* Where the value of a secret-named pair starts inside the word, or n. */
static size_t pair_cut(const char *t, size_t n)
{
    for (size_t k = 1; k + 1 < n; k++) {
        if (t[k] != '=' && t[k] != ':')
            continue;
        size_t s = k;
        while (s > 0 && is_name_char((unsigned char)t[s - 1]))
            s--;
        if (is_secret_name(t + s, k - s))
            return k + 1;
    }
    return n;
}

/* Where a known key shape starts (at a word boundary, 10+ characters long), or n. */
static size_t prefix_cut(const char *t, size_t n)
{
    static const char *const prefixes[] = {"sk-",   "sk_",   "AIza",  "ghp_", "gho_",       "ghs_",
                                           "xoxb-", "xoxp-", "xapp-", "AKIA", "ASIA",       "hf_",
                                           "gsk_",  "rk_",   "pk_",   "eyJ",  "github_pat_"};
    for (size_t q = 0; q < n; q++) {
        if (q > 0 && isalnum((unsigned char)t[q - 1]))
            continue;
        for (size_t i = 0; i < SY_ARRAY_LEN(prefixes); i++) {
            size_t pl = strlen(prefixes[i]);
            if (n - q >= 10 && n - q >= pl && memcmp(t + q, prefixes[i], pl) == 0)
                return q;
        }
    }
    return n;
}

/* A long token made of key-alphabet characters that mixes at least three classes
 * (lower, upper, digit, symbol), or 32+ characters of letters and digits. */
static int high_entropy(const char *t, size_t n)
{
    while (n && strchr(".,:!?", t[n - 1]))
        n--;
    if (n < 24)
        return 0;
    int lower = 0, upper = 0, digit = 0, sym = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)t[i];
        if (islower(c))
            lower = 1;
        else if (isupper(c))
            upper = 1;
        else if (isdigit(c))
            digit = 1;
        else if (strchr("_-+/=.~", c))
            sym = 1;
        else
            return 0; /* not a key alphabet: prose, a URL with '?', … */
    }
    return lower + upper + digit + sym >= 3 || (n >= 32 && digit && (lower || upper));
}

/* Copy one word, replacing its secret part (if any) by the mark. */
static void scrub_word(sy_buf *out, const char *t, size_t n)
{
    size_t cut = pair_cut(t, n);
    size_t pc = prefix_cut(t, n);
    if (pc < cut)
        cut = pc;
    if (cut == n && high_entropy(t, n))
        cut = 0;
    sy_buf_append(out, t, cut);
    if (cut < n)
        sy_buf_puts(out, SY_SCRUB_MARK);
}

/* A word that names a secret and announces its value: "api_key:", "token=", or a bare
 * "api_key" that a ":" / "=" word follows (JSON and dict forms, where quotes split the
 * pair into words). */
static int names_secret(const char *t, size_t n, int *bare)
{
    *bare = 0;
    if (n > 1 && (t[n - 1] == ':' || t[n - 1] == '='))
        return is_secret_name(t, n - 1);
    for (size_t k = 0; k < n; k++)
        if (!is_name_char((unsigned char)t[k]))
            return 0;
    *bare = is_secret_name(t, n);
    return 0;
}

void sy_scrub_append(sy_buf *out, const char *s, size_t n)
{
    int after_scheme = 0, bare_name = 0;
    int recent = 0; /* words since a secret name: "API key provided: <secret>" */
    size_t i = 0;
    while (i < n) {
        unsigned char c = (unsigned char)s[i];
        if (is_sep(c)) {
            char ch = c < 0x20 || c == 0x7f ? ' ' : (char)c;
            sy_buf_append(out, &ch, 1);
            i++;
            continue;
        }
        size_t j = i;
        while (j < n && !is_sep((unsigned char)s[j]))
            j++;
        const char *w = s + i;
        size_t wn = j - i;
        if (after_scheme && is_auth_scheme(w, wn)) {
            sy_buf_append(out, w, wn); /* "Authorization: Bearer <secret>" */
        } else if (after_scheme) {
            sy_buf_puts(out, SY_SCRUB_MARK);
            after_scheme = 0;
        } else if (bare_name && (w[0] == ':' || w[0] == '=')) {
            /* the separator of a split pair; a value glued to it is the secret */
            sy_buf_append(out, w, 1);
            if (wn > 1)
                sy_buf_puts(out, SY_SCRUB_MARK);
            after_scheme = wn == 1;
        } else {
            int bare = 0;
            after_scheme = is_auth_scheme(w, wn) || names_secret(w, wn, &bare) ||
                           (recent > 0 && wn > 1 && w[wn - 1] == ':');
            bare_name = !after_scheme && bare;
            recent = bare ? 3 : recent > 0 ? recent - 1 : 0;
            scrub_word(out, w, wn);
            i = j;
            continue;
        }
        bare_name = 0;
        i = j;
    }
}
