/*
 * guard: the guardrails' matching and redaction (docs/guardrails.md), pure: PCRE2 and
 * common/ only, no server types, no I/O, no clock.
 *
 * A guardrail (sy_guard) is compiled once from its specification when the config is
 * loaded: built-in detectors (PII, secrets, prompt-injection phrases) or the custom
 * regular expressions or word list it names, each a PCRE2 pattern JIT-compiled. A
 * compiled guard is immutable and may be used by any number of threads at once (each
 * scan allocates its own match data).
 *
 * sy_guard_window_feed() runs a set of guards over text that arrives in pieces (a stream)
 * or whole (final = 1): it reports blocks, counts matches, replaces redacted matches by
 * placeholders ("[EMAIL_1]") recorded in a sy_guard_masks table, and can restore the
 * placeholders a table knows to their originals. Ownership: a window, masks and hits
 * are owned by the caller and freed with their _free functions.
 */
#ifndef SY_GUARD_H
#define SY_GUARD_H

#include "sy_common.h"

#include <stddef.h>

typedef enum {
    SY_GUARD_PII = 0,
    SY_GUARD_SECRETS,
    SY_GUARD_INJECTION,
    SY_GUARD_REGEX,
    SY_GUARD_WORDS,
    SY_GUARD_JUDGE, /* a model decides (the pipeline calls it); no patterns here */
    SY_GUARD_KIND_COUNT
} sy_guard_kind;

typedef enum { SY_GUARD_BLOCK = 0, SY_GUARD_REDACT, SY_GUARD_FLAG } sy_guard_action;

enum { SY_GUARD_IN = 1u, SY_GUARD_OUT = 2u };

/* Streams: the text held back behind what was released (a match of at most this many
 * bytes split across chunks is still seen whole), and the most held back while a match
 * keeps growing at the end of the text seen so far. */
#define SY_GUARD_WINDOW   256
#define SY_GUARD_MAX_HOLD 1024

#define SY_GUARD_MAX_ITEMS   256      /* patterns or words of one guardrail */
#define SY_GUARD_MAX_PATTERN 1024     /* bytes of one pattern or word */
#define SY_GUARD_MAX_LABEL   24       /* bytes of a mask label ("EMAIL") */
#define SY_GUARD_MATCH_LIMIT 1000000u /* PCRE2 match limit: backtracking bound per scan */

typedef struct sy_guard_spec {
    const char *name;
    sy_guard_kind kind;
    sy_guard_action action;
    unsigned dirs;    /* SY_GUARD_IN | SY_GUARD_OUT */
    int restore;      /* redact: put the originals back into the answer */
    const char *mask; /* the placeholders' label, NULL: the detector's (EMAIL...) or NAME */
    /* pii, secrets: detector names (none: all of the kind); regex: patterns; words: the
     * words (whole words, case-insensitive; inner spaces match any white space) */
    const char *const *items;
    size_t n_items;
    /* judge: the model that decides (an index into the config's models), how long it may
     * take, whether its failure blocks (else the request goes on), what it looks for */
    size_t judge_model;
    unsigned judge_timeout_ms;
    int judge_fail_closed;
    const char *judge_instructions; /* NULL: the built-in safety instructions */
} sy_guard_spec;

typedef struct sy_guard sy_guard;

/*
 * Compile spec. Returns the guard, or NULL with a message in err and, when one item is
 * at fault (an unknown detector, a pattern that does not compile), its index in
 * *bad_item (else -1). The guard copies what it keeps from spec.
 */
sy_guard *sy_guard_compile(const sy_guard_spec *spec, char *err, size_t err_len, long *bad_item);
void sy_guard_free(sy_guard *g);

const char *sy_guard_name(const sy_guard *g);
sy_guard_kind sy_guard_kind_of(const sy_guard *g);
sy_guard_action sy_guard_action_of(const sy_guard *g);
unsigned sy_guard_dirs(const sy_guard *g);
int sy_guard_restores(const sy_guard *g);
/* A judge guard's settings (sy_guard_spec); 0 for the other kinds. */
int sy_guard_judge(const sy_guard *g, size_t *model, unsigned *timeout_ms, int *fail_closed,
                   const char **instructions);
/* Patterns compiled (detectors, or one per regex; words are one pattern). */
size_t sy_guard_n_patterns(const sy_guard *g);

/* Names as in the config ("pii", "block"); NULL when out of range. */
const char *sy_guard_kind_name(sy_guard_kind k);
const char *sy_guard_action_name(sy_guard_action a);
/* The built-in detector names of a kind (pii, secrets), n = 0 for the others. */
const char *const *sy_guard_detectors(sy_guard_kind k, size_t *n);

/* One match: text[start, end), of guard `guard` (an index into the set scanned). */
typedef struct sy_guard_hit {
    size_t start, end;
    size_t guard;
    const char *label; /* static or the guard's: the placeholder's label */
} sy_guard_hit;

typedef struct sy_guard_hits {
    sy_guard_hit *v;
    size_t n, cap;
} sy_guard_hits;

void sy_guard_hits_free(sy_guard_hits *h);

/*
 * Append to out every validated match of g in text[from, len) (text[0, from) is only
 * seen by look-behinds), tagged with `index`. Matches of one pattern do not overlap;
 * those of different patterns may. Matches that fail a detector's check (Luhn, mod 97)
 * are dropped. Returns the number appended.
 */
size_t sy_guard_scan(const sy_guard *g, size_t index, const char *text, size_t len, size_t from,
                     sy_guard_hits *out);

/* Luhn and IBAN checks (exposed for tests): 1 when valid. Separators (space, '-') are
 * skipped. */
int sy_guard_luhn_ok(const char *s, size_t len);
int sy_guard_iban_ok(const char *s, size_t len);

/* ---- placeholders (guard_redact.c) ------------------------------------------------- */

typedef struct sy_guard_mask {
    char *orig, *mask;
    size_t orig_len, mask_len;
    int restorable; /* made by a guard with restore: the answer gets orig back */
} sy_guard_mask;

typedef struct sy_guard_masks {
    sy_guard_mask *v;
    size_t n, cap;
} sy_guard_masks;

/* The placeholder of orig under label ("[LABEL_n]", n counting per label from 1; the same
 * text and label always get the same one), appended to out. */
void sy_guard_mask_append(sy_guard_masks *m, const char *label, const char *orig, size_t len,
                          int restorable, sy_buf *out);
/* text with every restorable placeholder of m replaced by its original, into out. */
void sy_guard_restore(const sy_guard_masks *m, const char *text, size_t len, sy_buf *out);
void sy_guard_masks_free(sy_guard_masks *m);

/* ---- checking text (guard_window.c) ------------------------------------------------ */

/* One run of a set of guards over one direction of one request. */
typedef struct sy_guard_run {
    const sy_guard *const *gs; /* the guards that apply (borrowed) */
    size_t n;
    sy_guard_masks *masks; /* the request's placeholders (borrowed) */
    int restore;           /* put restorable placeholders back in what is released */
    unsigned *hits;        /* n counters: matches acted on per guard (caller zeroes) */
    long blocked;          /* the guard that blocked, or -1 (caller sets -1) */
} sy_guard_run;

/* Text not yet released, and a little released text kept as look-behind context. */
typedef struct sy_guard_window {
    sy_buf pending;
    char ctx[32];
    size_t ctx_len;
} sy_guard_window;

/*
 * Add text to the window and append to out what may be released: every match wholly in
 * it acted on (redact: placeholders; flag: counted; block: run->blocked set, nothing
 * more released, returns -1), then placeholders restored if run->restore. Without final,
 * SY_GUARD_WINDOW bytes stay held (more while a match reaches the end of the text, up
 * to SY_GUARD_MAX_HOLD), never cutting a UTF-8 character or a placeholder; with final
 * everything is released. Returns 0, or -1 when blocked.
 */
int sy_guard_window_feed(sy_guard_window *w, sy_guard_run *run, const char *text, size_t len,
                         int final, sy_buf *out);
/* The whole of text at once: sy_guard_window_feed on a fresh window with final. */
int sy_guard_check_text(sy_guard_run *run, const char *text, size_t len, sy_buf *out);
void sy_guard_window_free(sy_guard_window *w);

#endif
