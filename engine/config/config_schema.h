/*
 * config_schema: the private machinery of the config loader (engine/config*.c).
 *
 * Each JSON object of switchyard.json is described once, by a table of sy_cfg_field:
 * key, type, required or optional, default, range, and where the value is stored (an
 * offset into the struct being filled, or a reader callback for the few complex
 * fields). sy_cfg_walk() reads an object against its table: it rejects unknown and
 * repeated keys (with a did-you-mean), wrong types and out-of-range values, reports
 * missing required keys, and stores what is valid. Every problem is reported with its
 * JSON path ("$.models.gpt-4o.price.input: ...") and the walk goes on, so one run shows
 * everything that is wrong.
 *
 * Ownership: the loader owns its path buffer; errors are appended to the caller's
 * sy_config_errors; strings stored by the walker are heap copies owned by the struct
 * filled (freed by sy_config_free / sy_route_cfg_free). cJSON values are borrowed.
 */
#ifndef SY_CONFIG_SCHEMA_H
#define SY_CONFIG_SCHEMA_H

#include "config.h"
#include "sy_common.h"

#include <cjson/cJSON.h>
#include <stddef.h>
#include <stdint.h>

#define SY_CFG_MAX_PATH_KEY 64   /* bytes of one key shown in an error path */
#define SY_CFG_MAX_TEXT     4096 /* data_dir, log.path */

/* Loader state: the config being filled, where errors go, and the current JSON path. */
typedef struct sy_cfg_loader {
    sy_config *cfg; /* NULL when parsing a route block on its own */
    sy_config_errors *errs;
    sy_buf path;            /* "$.models.gpt-4o.price"; always NUL-terminated */
    const cJSON *providers; /* the "providers" object, or NULL when absent/not an object */
    const cJSON *models;    /* the "models" object, likewise */
    sy_route_cfg *route;    /* the route being read (its candidates are known) */
    uint8_t *key_valid;     /* per client key: 1 when its digest parsed */
} sy_cfg_loader;

typedef enum {
    SY_CFG_UINT,   /* unsigned, integral JSON number in [lo, hi] */
    SY_CFG_SIZE,   /* size_t, likewise */
    SY_CFG_U16,    /* uint16_t, likewise */
    SY_CFG_NUMBER, /* double, finite JSON number in [lo, hi], stored divided by `div` */
    SY_CFG_BOOL,   /* int, 0 or 1 */
    SY_CFG_STRING, /* char *, an owned copy; see max_len/what/choices/check */
    SY_CFG_OBJECT, /* a nested struct at offset, described by `sub` */
    SY_CFG_CUSTOM, /* `read` does everything */
} sy_cfg_type;

enum {
    SY_CFG_REQUIRED = 1u << 0,    /* absent: "missing required key" (+ hint) */
    SY_CFG_NULLABLE = 1u << 1,    /* string: JSON null stores NULL */
    SY_CFG_DEFAULT = 1u << 2,     /* sy_cfg_defaults() stores def / def_str */
    SY_CFG_CALL_ABSENT = 1u << 3, /* custom: `read` is called with v == NULL when absent */
};

typedef struct sy_cfg_schema sy_cfg_schema;

/*
 * A custom reader. The current path is the member's ("$.routes.chat.candidates"); v is
 * its value (NULL only with SY_CFG_CALL_ABSENT); out points at offset bytes into the
 * struct being filled. Reports its own problems; returns 0 or -1 after reporting.
 */
typedef int (*sy_cfg_reader)(sy_cfg_loader *l, const cJSON *v, void *out);

/* Extra validation of a string value at the current path; `obj` is the struct being
 * filled. Reports and returns -1 to refuse the value, 0 to accept it. */
typedef int (*sy_cfg_string_check)(sy_cfg_loader *l, const char *s, void *obj);

typedef struct sy_cfg_field {
    const char *key;
    sy_cfg_type type;
    unsigned flags;
    size_t offset;       /* where the value goes, from the start of the struct being filled */
    double lo, hi;       /* UINT, SIZE, U16, NUMBER: the accepted range */
    double def;          /* UINT, SIZE, U16, NUMBER, BOOL with SY_CFG_DEFAULT */
    const char *def_str; /* STRING with SY_CFG_DEFAULT */
    double div;          /* NUMBER: stored as value / div (0 = as is) */
    size_t max_len;      /* STRING: longest value in bytes (with `what`) */
    const char *what;    /* STRING: the value's name in messages; checked as text */
    const char *const *choices; /* STRING: the accepted values, or NULL */
    size_t n_choices;           /* entries in choices */
    sy_cfg_string_check check;  /* STRING: extra validation, or NULL */
    const sy_cfg_schema *sub;   /* OBJECT */
    sy_cfg_reader read;         /* CUSTOM */
    const char *hint;           /* appended to "missing required key" */
    unsigned pass; /* reading order: pass 0 first, table order within a pass (the list of
                      known keys in messages is always in table order) */
} sy_cfg_field;

/*
 * One JSON object. Member names are checked first (all of them, in document order),
 * then `before` may veto reading the values, then the fields are read in table order
 * (pass by pass, see sy_cfg_field.pass), then `after` runs for checks across fields. With
 * `doc_order` (the top level) each member is checked and read in document order instead, and
 * missing required keys are reported after all members.
 */
struct sy_cfg_schema {
    const sy_cfg_field *fields;
    size_t n_fields;
    int doc_order;
    int (*before)(sy_cfg_loader *l, const cJSON *obj, void *out); /* <0: skip the fields */
    void (*after)(sy_cfg_loader *l, const cJSON *obj, void *out);
    void (*init)(void *out); /* dynamic defaults, after the table's (sy_cfg_defaults) */
};

/* Initializer of a schema with no hooks: SY_CFG_SCHEMA(fields). */
#define SY_CFG_SCHEMA(table)                                                                       \
    {                                                                                              \
        .fields = (table), .n_fields = SY_ARRAY_LEN(table)                                         \
    }

/* ---- the walker (config_schema.c) ------------------------------------------------ */

/* Store every SY_CFG_DEFAULT field's default into out, nested objects included, then
 * run the schema's init hook. Strings are heap copies (any previous value is freed). */
void sy_cfg_defaults(const sy_cfg_schema *s, void *out);

/* Read object v into out against s; "expected an object" when v is not one. Returns 0,
 * or -1 when v is not an object (everything else is reported and skipped). */
int sy_cfg_walk(sy_cfg_loader *l, const cJSON *v, const sy_cfg_schema *s, void *out);

/*
 * Check member m of obj: a repeat of an earlier member is reported; so is (with s) a
 * name that is not a field of s, with a did-you-mean or the list of known keys.
 * Returns 1 when the member should be examined further.
 */
int sy_cfg_check_member(sy_cfg_loader *l, const cJSON *obj, const cJSON *m, const sy_cfg_schema *s);

/* ---- errors and paths (config_schema.c) ------------------------------------------ */

void sy_cfg_errors_add(sy_config_errors *e, char *msg); /* takes msg */
void sy_cfg_err(sy_cfg_loader *l, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* sy_cfg_err() at member `key` of the current path. */
void sy_cfg_errk(sy_cfg_loader *l, const char *key, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Descend into member `key` (shown sanitised and cut) or index i; pop with the mark. */
size_t sy_cfg_push_key(sy_cfg_loader *l, const char *key);
size_t sy_cfg_push_index(sy_cfg_loader *l, size_t i);
void sy_cfg_pop(sy_cfg_loader *l, size_t mark);

/* ---- values (config_schema.c) ---------------------------------------------------- */

const cJSON *sy_cfg_get(const cJSON *obj, const char *key);
int sy_cfg_want_object(sy_cfg_loader *l, const cJSON *v);
/* Integer value v at the current path within [lo, hi]: 1 with *out, -1 after reporting. */
int sy_cfg_int(sy_cfg_loader *l, const cJSON *v, long long lo, long long hi, long long *out);
/* Finite number value within [lo, hi]: 1 with *out, -1 after reporting. */
int sy_cfg_number(sy_cfg_loader *l, const cJSON *v, double lo, double hi, double *out);
/* String value: 1 with *out (owned by the tree), -1 after "expected a string". */
int sy_cfg_string(sy_cfg_loader *l, const cJSON *v, const char **out);
/* Non-empty, at most max bytes, no control characters; `what` names the value. */
int sy_cfg_check_text(sy_cfg_loader *l, const char *s, size_t max, const char *what);
/* SHA-256 hex digest value into out: 1 when valid, 0 after reporting. */
int sy_cfg_digest(sy_cfg_loader *l, const cJSON *v, uint8_t out[32]);

/* The candidate closest to word when it is plausibly a typo of it, else NULL. */
const char *sy_cfg_suggest(const char *word, const char *const *cands, size_t n);
/* Like sy_cfg_suggest(), over the member names of a JSON object (NULL: none). */
const char *sy_cfg_suggest_key(const char *word, const cJSON *obj);
void sy_cfg_join(sy_buf *b, const char *const *list, size_t n);
/* Index of the first member of obj named name, or -1. */
long sy_cfg_member_index(const cJSON *obj, const char *name);

/*
 * An object keyed by name ("providers", "models", "routes"): one zeroed entry of `elem`
 * bytes per member, repeats included (entry i is member i), each first occurrence read
 * by parse_one at its path. An empty object is an error naming `what` unless `what` is
 * NULL. Returns the array (owned by the caller) with *n_out, or NULL.
 */
void *sy_cfg_map(sy_cfg_loader *l, const cJSON *v, const char *what,
                 void (*parse_one)(sy_cfg_loader *, const cJSON *, void *), size_t elem,
                 size_t *n_out);

/* ---- the sections (config_*.c) --------------------------------------------------- */

extern const sy_cfg_schema sy_cfg_root_schema;   /* config_root.c */
extern const sy_cfg_schema sy_cfg_listen_schema; /* config_sections.c */
extern const sy_cfg_schema sy_cfg_admin_schema;
extern const sy_cfg_schema sy_cfg_limits_schema;
extern const sy_cfg_schema sy_cfg_upstream_schema;
extern const sy_cfg_schema sy_cfg_store_schema;
extern const sy_cfg_schema sy_cfg_reliability_schema;
extern const sy_cfg_schema sy_cfg_conversations_schema;
extern const sy_cfg_schema sy_cfg_feedback_schema;
extern const sy_cfg_schema sy_cfg_log_schema;
extern const sy_cfg_schema sy_cfg_cluster_schema;
extern const sy_cfg_schema sy_cfg_rule_schema; /* config_rules.c */

int sy_cfg_read_providers(sy_cfg_loader *l, const cJSON *v, void *cfg);   /* config_providers.c */
int sy_cfg_read_models(sy_cfg_loader *l, const cJSON *v, void *cfg);      /* config_models.c */
int sy_cfg_read_routes(sy_cfg_loader *l, const cJSON *v, void *cfg);      /* config_routes.c */
int sy_cfg_read_client_keys(sy_cfg_loader *l, const cJSON *v, void *cfg); /* config_keys.c */
int sy_cfg_read_rules(sy_cfg_loader *l, const cJSON *v, void *route);     /* config_rules.c */
/* config_guardrails.c: the "guardrails" section; a route's or key's "guardrails" list of
 * names (into a sy_guard_refs), resolved with the whole config by resolve_guard_refs */
int sy_cfg_read_guardrails(sy_cfg_loader *l, const cJSON *v, void *cfg);
int sy_cfg_read_guard_refs(sy_cfg_loader *l, const cJSON *v, void *refs);
void sy_cfg_resolve_guard_refs(sy_cfg_loader *l, const cJSON *root, sy_config *cfg);
void sy_cfg_guard_refs_free(sy_guard_refs *r);
void sy_cfg_guardrails_free(sy_config *cfg);

/* config_cache.c: a route's or model's "cache" block into a sy_cache_cfg * (replacing
 * and freeing any earlier one) */
int sy_cfg_read_cache(sy_cfg_loader *l, const cJSON *v, void *slot);
void sy_cfg_cache_free(sy_cache_cfg *c);

/* One route block at the current path into r (config_routes.c). */
void sy_cfg_parse_route(sy_cfg_loader *l, const cJSON *v, sy_route_cfg *r);
/* Index of model `name` among the current route's candidates, or -1. */
long sy_cfg_candidate_index(sy_cfg_loader *l, const char *name);
void sy_cfg_route_free_members(sy_route_cfg *r);

/* ---- input checks (config_input.c) ----------------------------------------------- */

/*
 * Check raw text before parsing: NUL bytes and invalid UTF-8 are reported at "$" with
 * their offset, line and column. Returns 0 when the text may be parsed.
 */
int sy_cfg_check_raw(sy_cfg_loader *l, const char *text, size_t len);
/* Report "$: <what> near byte N (line L, column C)". */
void sy_cfg_err_at_offset(sy_cfg_loader *l, const char *what, const char *text, size_t off);
/*
 * Report every string (member name or value) of the parsed document that held a
 * "\u0000" escape, which cJSON silently truncates, at its JSON path. `text` (len bytes)
 * is the text root was parsed from. Returns the number reported.
 */
size_t sy_cfg_check_nul_escapes(sy_cfg_loader *l, const cJSON *root, const char *text, size_t len);

#endif
