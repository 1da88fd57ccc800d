/*
 * guard_detect: the built-in detectors (PII, secrets, prompt-injection phrases): a PCRE2
 * pattern each, and for the ones a pattern alone would over-match a check of the
 * matched text (Luhn for payment cards, mod 97 for IBANs, digit counts for phone
 * numbers). docs/guardrails.md lists what each one finds and misses.
 */
#include "guard_internal.h"

#include <ctype.h>
#include <string.h>

/* Digits of s (separators skipped) into d (at most cap), their count. */
static size_t digits_of(const char *s, size_t len, char *d, size_t cap)
{
    size_t n = 0;
    for (size_t i = 0; i < len; i++)
        if (isdigit((unsigned char)s[i])) {
            if (n == cap)
                return cap + 1;
            d[n++] = s[i];
        }
    return n;
}

int sy_guard_luhn_ok(const char *s, size_t len)
{
    char d[24];
    size_t n = digits_of(s, len, d, sizeof(d));
    if (n < 12 || n > 19)
        return 0;
    int sum = 0;
    for (size_t i = 0; i < n; i++) {
        int v = d[n - 1 - i] - '0';
        if (i % 2 == 1) {
            v *= 2;
            if (v > 9)
                v -= 9;
        }
        sum += v;
    }
    return sum % 10 == 0;
}

/* A payment card: 13 to 19 digits, a known issuer prefix, and the Luhn check. */
static int card_ok(const char *s, size_t len, size_t *keep)
{
    char d[24];
    size_t n = digits_of(s, len, d, sizeof(d));
    if (n < 13 || n > 19 || !sy_guard_luhn_ok(s, len))
        return 0;
    int p2 = (d[0] - '0') * 10 + (d[1] - '0');
    int p4 = p2 * 100 + (d[2] - '0') * 10 + (d[3] - '0');
    int known = d[0] == '4'                                      /* Visa */
                || (p2 >= 51 && p2 <= 55)                        /* Mastercard */
                || (p4 >= 2221 && p4 <= 2720)                    /* Mastercard 2-series */
                || p2 == 34 || p2 == 37                          /* American Express */
                || p4 == 6011 || p2 == 65                        /* Discover */
                || (p4 >= 6440 && p4 <= 6499) || p2 == 62        /* Discover, UnionPay */
                || p2 == 35 || p2 == 36 || p2 == 38 || p2 == 30; /* JCB, Diners */
    (void)keep;
    return known;
}

/* Lengths of the IBANs of the countries most seen (ISO 13616 registry); others: 15-34. */
static size_t iban_length(const char *cc)
{
    static const struct {
        char cc[3];
        unsigned char len;
    } t[] = {{"AT", 20}, {"BE", 16}, {"BG", 22}, {"CH", 21}, {"CY", 28}, {"CZ", 24}, {"DE", 22},
             {"DK", 18}, {"EE", 20}, {"ES", 24}, {"FI", 18}, {"FR", 27}, {"GB", 22}, {"GR", 27},
             {"HR", 21}, {"HU", 28}, {"IE", 22}, {"IS", 26}, {"IT", 27}, {"LI", 21}, {"LT", 20},
             {"LU", 20}, {"LV", 21}, {"MC", 27}, {"MT", 31}, {"NL", 18}, {"NO", 15}, {"PL", 28},
             {"PT", 25}, {"RO", 24}, {"SE", 24}, {"SI", 19}, {"SK", 24}, {"SM", 27}, {"TR", 26}};
    for (size_t i = 0; i < SY_ARRAY_LEN(t); i++)
        if (cc[0] == t[i].cc[0] && cc[1] == t[i].cc[1])
            return t[i].len;
    return 0;
}

/* mod 97 of the IBAN in a[0, n) (alphanumerics only), rearranged, letters as 10..35. */
static int iban_mod97(const char *a, size_t n)
{
    unsigned rem = 0;
    for (size_t k = 0; k < n; k++) {
        char c = a[(k + 4) % n];
        if (isdigit((unsigned char)c))
            rem = (rem * 10 + (unsigned)(c - '0')) % 97;
        else
            rem = (rem * 100 + (unsigned)(toupper((unsigned char)c) - 'A' + 10)) % 97;
    }
    return (int)rem;
}

/*
 * An IBAN in s: the country's length of alphanumerics (spaces skipped) and mod 97 == 1.
 * *keep is set to the bytes of s the IBAN spans (the pattern may take a word more).
 */
static int iban_ok_keep(const char *s, size_t len, size_t *keep)
{
    char a[40];
    size_t pos[40], n = 0;
    for (size_t i = 0; i < len && n < sizeof(a); i++)
        if (isalnum((unsigned char)s[i])) {
            pos[n] = i;
            a[n++] = s[i];
        }
    if (n < 15)
        return 0;
    size_t want = iban_length(a);
    size_t lo = want ? want : 15, hi = want ? want : (n < 34 ? n : 34);
    if (n < lo)
        return 0;
    for (size_t l = hi; l >= lo; l--) { /* longest first */
        if (iban_mod97(a, l) == 1) {
            if (keep)
                *keep = pos[l - 1] + 1;
            return 1;
        }
    }
    return 0;
}

int sy_guard_iban_ok(const char *s, size_t len)
{
    size_t keep = 0;
    return iban_ok_keep(s, len, &keep) && keep == len;
}

/* "YYYY-MM" (or . or /) with a year 1000-2999 and a month 01-12. */
static int looks_like_date(const char *s, size_t len)
{
    if (len < 7 || (s[0] != '1' && s[0] != '2') || !s[4] || !strchr("-./", s[4]))
        return 0;
    for (size_t i = 1; i < 7; i++)
        if (i != 4 && !isdigit((unsigned char)s[i]))
            return 0;
    int month = (s[5] - '0') * 10 + (s[6] - '0');
    return month >= 1 && month <= 12;
}

/*
 * A phone number: 8 to 15 digits (E.164) after a '+', else 10 to 12 (a national number
 * with its trunk or country prefix); not a date ("2024-01-15 10") or a dotted IPv4
 * address, which the pattern also takes.
 */
static int phone_ok(const char *s, size_t len, size_t *keep)
{
    char d[24];
    size_t n = digits_of(s, len, d, sizeof(d));
    (void)keep;
    if (s[0] == '+' ? n < 8 || n > 15 : n < 10 || n > 12)
        return 0;
    if (looks_like_date(s, len))
        return 0;
    size_t groups = 1, longest = 0, cur = 0;
    int only_dots = 1;
    for (size_t i = 0; i < len; i++) {
        if (isdigit((unsigned char)s[i])) {
            cur++;
            longest = cur > longest ? cur : longest;
            continue;
        }
        if (s[i] != '.')
            only_dots = 0;
        if (cur)
            groups++;
        cur = 0;
    }
    return !(only_dots && groups == 4 && longest <= 3);
}

/* An e-mail address: no empty dot-separated part in its local part. */
static int email_ok(const char *s, size_t len, size_t *keep)
{
    const char *at = memchr(s, '@', len);
    (void)keep;
    if (!at || at == s || s[0] == '.' || at[-1] == '.')
        return 0;
    for (const char *p = s; p + 1 < at; p++)
        if (p[0] == '.' && p[1] == '.')
            return 0;
    return 1;
}

/* Word boundaries that do not depend on PCRE2's \b (ASCII letters, digits, '_'). Each
 * pattern that begins with a look-behind is preceded by a look-ahead of its possible
 * first characters: else the look-behind hides them from PCRE2's start-of-match
 * optimisation, which makes a scan several times slower. */
#define NW_BEFORE "(?<![A-Za-z0-9_])"
#define NW_AFTER  "(?![A-Za-z0-9_])"

static const sy_guard_detector pii[] = {
    {"email", "EMAIL",
     "(?<![A-Za-z0-9._%+-])[A-Za-z0-9._%+-]{1,64}+@[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
     "(?:\\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*\\.[A-Za-z]{2,24}(?![A-Za-z0-9-])",
     0, email_ok, '@'},
    {"payment_card", "CARD", "(?=[0-9])(?<![0-9-])[0-9](?:[ -]?[0-9]){12,18}(?![0-9])", 0, card_ok,
     0},
    {"iban", "IBAN", "(?=[A-Z])" NW_BEFORE "[A-Z]{2}[0-9]{2}(?: ?[A-Z0-9]){11,30}" NW_AFTER, 0,
     iban_ok_keep, 0},
    {"us_ssn", "SSN",
     "(?=[0-9])(?<![0-9-])(?!000|666|9[0-9][0-9])[0-9]{3}-(?!00)[0-9]{2}-(?!0000)[0-9]{4}"
     "(?![0-9-])",
     0, NULL, 0},
    {"phone", "PHONE",
     "(?=[0-9+(])(?<![A-Za-z0-9_+])(?<![0-9][ .-])(?:\\+[1-9][0-9]{0,2}[ .-]?)?"
     "(?:\\([0-9]{1,4}\\)[ .-]?)?[0-9]{1,4}(?:[ .-]?[0-9]{2,4}){1,5}(?![0-9])",
     0, phone_ok, 0},
};

static const sy_guard_detector secrets[] = {
    {"anthropic_key", "ANTHROPIC_KEY", "(?=s)(?<![A-Za-z0-9_-])sk-ant-[A-Za-z0-9_-]{20,}", 0, NULL,
     0},
    {"openai_key", "OPENAI_KEY",
     "(?=s)(?<![A-Za-z0-9_-])sk-(?:proj-|svcacct-|admin-)?[A-Za-z0-9_-]{20,}", 0, NULL, 0},
    {"aws_access_key", "AWS_KEY", "(?=A)" NW_BEFORE "(?:AKIA|ASIA)[0-9A-Z]{16}" NW_AFTER, 0, NULL,
     0},
    {"github_token", "GITHUB_TOKEN",
     "(?=g)" NW_BEFORE "(?:gh[pousr]_[A-Za-z0-9]{36,255}|github_pat_[A-Za-z0-9_]{22,255})" NW_AFTER,
     0, NULL, 0},
    {"slack_token", "SLACK_TOKEN", "(?=x)" NW_BEFORE "xox[abposr]-[A-Za-z0-9-]{10,}", 0, NULL, 0},
    {"google_api_key", "GOOGLE_KEY", "(?=A)" NW_BEFORE "AIza[0-9A-Za-z_-]{35}" NW_AFTER, 0, NULL,
     0},
    {"private_key", "PRIVATE_KEY",
     "-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY-----(?:[\\s\\S]{0,16384}?-----END (?:[A-Z0-9]+ )*"
     "PRIVATE KEY-----)?",
     0, NULL, 0},
};

/* Phrases of instruction-override attempts (case-insensitive). */
static const sy_guard_detector injection[] = {
    {"ignore_instructions", "INJECTION",
     "(?=[idfob])\\b(?:ignore|disregard|forget|override|bypass)\\s+(?:(?:all|any|the|your|my|"
     "every|of|these)\\s+)*(?:previous|prior|above|earlier|preceding|former|system|original)\\s+"
     "(?:instructions?|prompts?|rules|directions|directives|guidelines|messages?|context)\\b",
     1, NULL, 0},
    {"reveal_prompt", "INJECTION",
     "(?=[rspoltd])\\b(?:reveal|show|print|repeat|output|leak|tell\\s+me|display)\\s+(?:me\\s+)?"
     "(?:your|the)\\s+(?:(?:full|entire|original|hidden|secret)\\s+)?(?:system\\s+prompt|"
     "initial\\s+instructions|hidden\\s+instructions|instructions\\s+above)\\b",
     1, NULL, 0},
    {"persona_override", "INJECTION",
     "(?=y)\\byou\\s+are\\s+(?:now\\s+)?(?:DAN|in\\s+(?:developer|god|jailbreak)\\s+mode|"
     "jailbroken|no\\s+longer\\s+bound|free\\s+from\\s+(?:all\\s+)?(?:rules|restrictions))\\b",
     1, NULL, 0},
    {"mode_switch", "INJECTION",
     "(?=[dgj])\\b(?:developer|god|jailbreak|DAN)\\s+mode\\s+(?:is\\s+)?(?:enabled|activated|on)"
     "\\b",
     1, NULL, 0},
    {"template_tokens", "INJECTION",
     "<\\|im_(?:start|end)\\|>|</?(?:system|im_start|im_end)>|\\[/?INST\\]|<<SYS>>", 1, NULL, 0},
    {"new_instructions", "INJECTION",
     "(?=[nur])\\b(?:new|updated|real)\\s+(?:system\\s+)?instructions?\\s*:", 1, NULL, 0},
};

const sy_guard_detector *sy_guard_builtin(sy_guard_kind k, size_t *n)
{
    switch (k) {
    case SY_GUARD_PII:
        *n = SY_ARRAY_LEN(pii);
        return pii;
    case SY_GUARD_SECRETS:
        *n = SY_ARRAY_LEN(secrets);
        return secrets;
    case SY_GUARD_INJECTION:
        *n = SY_ARRAY_LEN(injection);
        return injection;
    default:
        *n = 0;
        return NULL;
    }
}

const char *const *sy_guard_detectors(sy_guard_kind k, size_t *n)
{
    /* the names of the tables above, in their order (a unit test checks they agree) */
    static const char *const pii_names[] = {"email", "payment_card", "iban", "us_ssn", "phone"};
    static const char *const secret_names[] = {"anthropic_key", "openai_key",  "aws_access_key",
                                               "github_token",  "slack_token", "google_api_key",
                                               "private_key"};
    _Static_assert(SY_ARRAY_LEN(pii_names) == SY_ARRAY_LEN(pii), "pii names");
    _Static_assert(SY_ARRAY_LEN(secret_names) == SY_ARRAY_LEN(secrets), "secret names");
    if (k == SY_GUARD_PII) {
        *n = SY_ARRAY_LEN(pii_names);
        return pii_names;
    }
    if (k == SY_GUARD_SECRETS) {
        *n = SY_ARRAY_LEN(secret_names);
        return secret_names;
    }
    *n = 0;
    return NULL;
}
