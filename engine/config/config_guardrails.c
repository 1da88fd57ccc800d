/*
 * config_guardrails: the "guardrails" section (docs/guardrails.md) — named checks of
 * what goes to and comes from models — and the "guardrails" lists of routes and client
 * keys that name them. Each guardrail is compiled here (engine/guard, PCRE2), so a
 * pattern that does not compile is a config error with its path, and the compiled form
 * lives as long as the config (one per runtime).
 */
#include "config_schema.h"

#include "guard.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* One guardrail's members as read, before compiling. */
typedef struct guard_doc {
    char *kind, *direction, *action, *mask;
    char *model, *on_error, *instructions; /* judge */
    unsigned timeout_ms;
    int restore, restore_set;
    sy_guard_refs detectors, patterns, words; /* names only (the lists' strings) */
} guard_doc;

/* A list of strings: non-empty, each non-empty and at most max bytes, into refs->names.
 * `what` names an entry in messages. */
static int read_strings(sy_cfg_loader *l, const cJSON *v, sy_guard_refs *refs, size_t max,
                        const char *what, int allow_control)
{
    if (!cJSON_IsArray(v)) {
        sy_cfg_err(l, "expected an array of strings");
        return -1;
    }
    size_t n = (size_t)cJSON_GetArraySize(v);
    if (n == 0 || n > SY_GUARD_MAX_ITEMS) {
        sy_cfg_err(l, "expected 1 to %d %ss", SY_GUARD_MAX_ITEMS, what);
        return -1;
    }
    refs->names = sy_xcalloc(n, sizeof(char *));
    size_t i = 0;
    int rc = 0;
    for (const cJSON *e = v->child; e; e = e->next, i++) {
        size_t mark = sy_cfg_push_index(l, i);
        const char *s;
        if (sy_cfg_string(l, e, &s) < 0) {
            rc = -1;
        } else if (allow_control ? (!*s || strlen(s) > max) : !sy_cfg_check_text(l, s, max, what)) {
            if (allow_control)
                sy_cfg_err(l, "%s must be 1 to %zu bytes", what, max);
            rc = -1;
        } else {
            for (size_t j = 0; j < refs->n; j++)
                if (strcmp(refs->names[j], s) == 0)
                    sy_cfg_err(l, "\"%s\" is listed twice (also at index %zu)", s, j), rc = -1;
            refs->names[refs->n++] = sy_xstrdup(s);
        }
        sy_cfg_pop(l, mark);
    }
    return rc;
}

static int read_detectors(sy_cfg_loader *l, const cJSON *v, void *out)
{
    return read_strings(l, v, out, SY_CONFIG_MAX_NAME, "detector", 0);
}

static int read_patterns(sy_cfg_loader *l, const cJSON *v, void *out)
{
    return read_strings(l, v, out, SY_GUARD_MAX_PATTERN, "pattern", 1);
}

static int read_words(sy_cfg_loader *l, const cJSON *v, void *out)
{
    return read_strings(l, v, out, SY_GUARD_MAX_PATTERN, "word", 0);
}

static int read_restore(sy_cfg_loader *l, const cJSON *v, void *out)
{
    guard_doc *d = (guard_doc *)((char *)out - offsetof(guard_doc, restore));
    if (!cJSON_IsBool(v)) {
        sy_cfg_err(l, "expected a boolean");
        return -1;
    }
    d->restore = cJSON_IsTrue(v);
    d->restore_set = 1;
    return 0;
}

/* "mask": the placeholders' label, [A-Z0-9_]. */
static int check_mask(sy_cfg_loader *l, const char *s, void *obj)
{
    size_t n = strlen(s);
    for (size_t i = 0; i < n; i++)
        if (!((s[i] >= 'A' && s[i] <= 'Z') || (s[i] >= '0' && s[i] <= '9') || s[i] == '_')) {
            sy_cfg_err(l, "must be upper-case letters, digits and '_' (placeholders read "
                          "\"[MASK_1]\")");
            return -1;
        }
    return 0;
}

static const char *const kinds[] = {"pii",   "secrets", "prompt_injection",
                                    "regex", "words",   "judge"};
static const char *const on_errors[] = {"allow", "block"};
static const char *const directions[] = {"input", "output", "both"};
static const char *const actions[] = {"block", "redact", "flag"};

#define GSTR(k, m, fl, ch)                                                                         \
    {                                                                                              \
        .key = k, .type = SY_CFG_STRING, .flags = fl, .offset = offsetof(guard_doc, m),            \
        .choices = ch, .n_choices = SY_ARRAY_LEN(ch)                                               \
    }
#define GLIST(k, m, reader)                                                                        \
    {                                                                                              \
        .key = k, .type = SY_CFG_CUSTOM, .offset = offsetof(guard_doc, m), .read = reader          \
    }

static const sy_cfg_field guard_fields[] = {
    GSTR("kind", kind, SY_CFG_REQUIRED, kinds),
    GSTR("action", action, SY_CFG_REQUIRED, actions),
    {.key = "direction",
     .type = SY_CFG_STRING,
     .flags = SY_CFG_DEFAULT,
     .offset = offsetof(guard_doc, direction),
     .def_str = "both",
     .choices = directions,
     .n_choices = SY_ARRAY_LEN(directions)},
    GLIST("detectors", detectors, read_detectors),
    GLIST("patterns", patterns, read_patterns),
    GLIST("words", words, read_words),
    {.key = "restore",
     .type = SY_CFG_CUSTOM,
     .offset = offsetof(guard_doc, restore),
     .read = read_restore},
    {.key = "mask",
     .type = SY_CFG_STRING,
     .offset = offsetof(guard_doc, mask),
     .max_len = SY_GUARD_MAX_LABEL,
     .what = "mask",
     .check = check_mask},
    {.key = "model",
     .type = SY_CFG_STRING,
     .offset = offsetof(guard_doc, model),
     .max_len = SY_CONFIG_MAX_NAME,
     .what = "model name"},
    {.key = "timeout_ms",
     .type = SY_CFG_UINT,
     .flags = SY_CFG_DEFAULT,
     .offset = offsetof(guard_doc, timeout_ms),
     .lo = 100,
     .hi = 120000,
     .def = 5000},
    {.key = "on_error",
     .type = SY_CFG_STRING,
     .flags = SY_CFG_DEFAULT,
     .offset = offsetof(guard_doc, on_error),
     .def_str = "allow",
     .choices = on_errors,
     .n_choices = SY_ARRAY_LEN(on_errors)},
    {.key = "instructions",
     .type = SY_CFG_STRING,
     .offset = offsetof(guard_doc, instructions),
     .max_len = 4096,
     .what = "instructions"},
};
static const sy_cfg_schema guard_schema = SY_CFG_SCHEMA(guard_fields);

static long index_of(const char *s, const char *const *list, size_t n)
{
    for (size_t i = 0; s && i < n; i++)
        if (strcmp(s, list[i]) == 0)
            return (long)i;
    return -1;
}

/*
 * A judge: a chat model of $.models, the input only, block or flag. The judge-only keys
 * are refused on the other kinds (check_lists). Returns 0 or -1 after reporting.
 */
static int check_judge(sy_cfg_loader *l, const cJSON *v, const guard_doc *d)
{
    int rc = 0;
    if (!d->model) {
        sy_cfg_err(l, "missing required key \"model\" (kind \"judge\")");
        rc = -1;
    } else {
        const cJSON *m = l->models ? sy_cfg_get(l->models, d->model) : NULL;
        const cJSON *kind = m ? sy_cfg_get(m, "kind") : NULL;
        if (!m)
            sy_cfg_errk(l, "model", "no model named \"%s\" in $.models", d->model), rc = -1;
        else if (cJSON_IsString(kind) && strcmp(kind->valuestring, "chat") != 0)
            sy_cfg_errk(l, "model", "must be a chat model"), rc = -1;
    }
    const cJSON *dir = sy_cfg_get(v, "direction"); /* default: input */
    if (dir && cJSON_IsString(dir) && strcmp(dir->valuestring, "input") != 0)
        sy_cfg_errk(l, "direction", "a judge checks the input only"), rc = -1;
    if (d->action && strcmp(d->action, "redact") == 0)
        sy_cfg_errk(l, "action", "a judge blocks or flags; it cannot redact"), rc = -1;
    return rc;
}

/* The lists a kind takes: exactly its own (detectors optional, patterns and words
 * required). 0 when consistent, after reporting otherwise. */
static int check_lists(sy_cfg_loader *l, const cJSON *v, const guard_doc *d, sy_guard_kind k)
{
    static const struct {
        const char *key;
        int kinds; /* bit per kind that takes it */
    } lists[] = {{"detectors", 1 << SY_GUARD_PII | 1 << SY_GUARD_SECRETS},
                 {"patterns", 1 << SY_GUARD_REGEX},
                 {"words", 1 << SY_GUARD_WORDS}};
    int rc = 0;
    for (size_t i = 0; i < SY_ARRAY_LEN(lists); i++)
        if (sy_cfg_get(v, lists[i].key) && !(lists[i].kinds & (1 << k))) {
            sy_cfg_errk(l, lists[i].key, "does not apply to kind \"%s\"", kinds[k]);
            rc = -1;
        }
    static const char *const judge_keys[] = {"model", "timeout_ms", "on_error", "instructions"};
    for (size_t i = 0; i < SY_ARRAY_LEN(judge_keys) && k != SY_GUARD_JUDGE; i++)
        if (sy_cfg_get(v, judge_keys[i])) {
            sy_cfg_errk(l, judge_keys[i], "applies only to kind \"judge\"");
            rc = -1;
        }
    if (k == SY_GUARD_REGEX && !sy_cfg_get(v, "patterns"))
        sy_cfg_err(l, "missing required key \"patterns\" (kind \"regex\")"), rc = -1;
    if (k == SY_GUARD_WORDS && !sy_cfg_get(v, "words"))
        sy_cfg_err(l, "missing required key \"words\" (kind \"words\")"), rc = -1;
    if (d->restore_set && d->action && strcmp(d->action, "redact") != 0)
        sy_cfg_errk(l, "restore", "applies only to action \"redact\""), rc = -1;
    return rc < 0 ? rc : k == SY_GUARD_JUDGE ? check_judge(l, v, d) : 0;
}

static void free_doc(guard_doc *d)
{
    free(d->kind);
    free(d->direction);
    free(d->action);
    free(d->mask);
    free(d->model);
    free(d->on_error);
    free(d->instructions);
    sy_cfg_guard_refs_free(&d->detectors);
    sy_cfg_guard_refs_free(&d->patterns);
    sy_cfg_guard_refs_free(&d->words);
}

/* One guardrail at the current path: read, checked, compiled into *out (NULL on error). */
static void parse_guard(sy_cfg_loader *l, const cJSON *v, void *out)
{
    struct sy_guard **slot = out;
    if (!sy_cfg_check_text(l, v->string, SY_CONFIG_MAX_NAME, "guardrail name"))
        return;
    guard_doc d = {0};
    sy_cfg_defaults(&guard_schema, &d);
    size_t before = l->errs ? l->errs->n : 0;
    sy_cfg_walk(l, v, &guard_schema, &d);
    long k = index_of(d.kind, kinds, SY_ARRAY_LEN(kinds));
    long dir = index_of(d.direction, directions, SY_ARRAY_LEN(directions));
    long act = index_of(d.action, actions, SY_ARRAY_LEN(actions));
    int ok =
        cJSON_IsObject(v) && (!l->errs || l->errs->n == before) && k >= 0 && act >= 0 && dir >= 0;
    if (ok && check_lists(l, v, &d, (sy_guard_kind)k) == 0) {
        const sy_guard_refs *items = k == SY_GUARD_REGEX   ? &d.patterns
                                     : k == SY_GUARD_WORDS ? &d.words
                                                           : &d.detectors;
        sy_guard_spec spec = {.name = v->string,
                              .kind = (sy_guard_kind)k,
                              .action = (sy_guard_action)act,
                              .dirs = dir == 0 || k == SY_GUARD_JUDGE ? SY_GUARD_IN
                                      : dir == 1                      ? SY_GUARD_OUT
                                                                      : SY_GUARD_IN | SY_GUARD_OUT,
                              .restore = d.restore,
                              .mask = d.mask,
                              .items = (const char *const *)items->names,
                              .n_items = items->n,
                              .judge_timeout_ms = d.timeout_ms,
                              .judge_fail_closed = d.on_error && strcmp(d.on_error, "block") == 0,
                              .judge_instructions = d.instructions};
        if (k == SY_GUARD_JUDGE)
            spec.judge_model = (size_t)sy_cfg_member_index(l->models, d.model);
        char err[256];
        long bad;
        *slot = sy_guard_compile(&spec, err, sizeof(err), &bad);
        if (!*slot && bad >= 0) {
            size_t mark = sy_cfg_push_key(l, k == SY_GUARD_REGEX   ? "patterns"
                                             : k == SY_GUARD_WORDS ? "words"
                                                                   : "detectors");
            size_t m2 = sy_cfg_push_index(l, (size_t)bad);
            sy_cfg_err(l, "%s", err);
            sy_cfg_pop(l, m2);
            sy_cfg_pop(l, mark);
        } else if (!*slot) {
            sy_cfg_err(l, "%s", err);
        }
    }
    free_doc(&d);
}

int sy_cfg_read_guardrails(sy_cfg_loader *l, const cJSON *v, void *out)
{
    sy_config *cfg = out;
    cfg->guardrails =
        sy_cfg_map(l, v, NULL, parse_guard, sizeof(*cfg->guardrails), &cfg->n_guardrails);
    return 0;
}

int sy_cfg_read_guard_refs(sy_cfg_loader *l, const cJSON *v, void *out)
{
    return read_strings(l, v, out, SY_CONFIG_MAX_NAME, "guardrail name", 0);
}

long sy_config_find_guardrail(const sy_config *cfg, const char *name)
{
    for (size_t i = 0; i < cfg->n_guardrails; i++)
        if (cfg->guardrails[i] && strcmp(sy_guard_name(cfg->guardrails[i]), name) == 0)
            return (long)i;
    return -1;
}

/* The names of refs into indices; an unknown name is reported at its path (a guardrail
 * that exists but has errors was reported where it is defined). */
static void resolve(sy_cfg_loader *l, const cJSON *defs, const sy_config *cfg, sy_guard_refs *refs)
{
    if (!refs->n)
        return;
    refs->idx = sy_xcalloc(refs->n, sizeof(size_t));
    for (size_t i = 0; i < refs->n; i++) {
        long g = sy_config_find_guardrail(cfg, refs->names[i]);
        if (g >= 0) {
            refs->idx[i] = (size_t)g;
            continue;
        }
        if (cJSON_IsObject(defs) && sy_cfg_get(defs, refs->names[i]))
            continue;
        size_t mark = sy_cfg_push_key(l, "guardrails");
        size_t m2 = sy_cfg_push_index(l, i);
        const char *hint = cJSON_IsObject(defs) ? sy_cfg_suggest_key(refs->names[i], defs) : NULL;
        if (hint)
            sy_cfg_err(l, "no guardrail named \"%s\" in $.guardrails (did you mean \"%s\"?)",
                       refs->names[i], hint);
        else
            sy_cfg_err(l, "no guardrail named \"%s\" in $.guardrails", refs->names[i]);
        sy_cfg_pop(l, m2);
        sy_cfg_pop(l, mark);
    }
}

void sy_cfg_resolve_guard_refs(sy_cfg_loader *l, const cJSON *root, sy_config *cfg)
{
    const cJSON *defs = sy_cfg_get(root, "guardrails");
    for (size_t i = 0; i < cfg->n_routes; i++) {
        sy_route_cfg *r = &cfg->routes[i];
        if (!r->name || !r->guardrails.n)
            continue;
        size_t mark = sy_cfg_push_key(l, "routes");
        size_t m2 = sy_cfg_push_key(l, r->name);
        resolve(l, defs, cfg, &r->guardrails);
        if (r->n_candidates && r->candidates[0] < cfg->n_models &&
            cfg->models[r->candidates[0]].embedding)
            sy_cfg_errk(l, "guardrails", "applies to chat routes only (this route embeds)");
        sy_cfg_pop(l, m2);
        sy_cfg_pop(l, mark);
    }
    for (size_t i = 0; i < cfg->n_client_keys; i++) {
        size_t mark = sy_cfg_push_key(l, "client_keys");
        size_t m2 = sy_cfg_push_index(l, i);
        resolve(l, defs, cfg, &cfg->client_keys[i].guardrails);
        sy_cfg_pop(l, m2);
        sy_cfg_pop(l, mark);
    }
}

void sy_cfg_guard_refs_free(sy_guard_refs *r)
{
    for (size_t i = 0; i < r->n; i++)
        free(r->names[i]);
    free(r->names);
    free(r->idx);
    memset(r, 0, sizeof(*r));
}

void sy_cfg_guardrails_free(sy_config *cfg)
{
    for (size_t i = 0; i < cfg->n_guardrails; i++)
        sy_guard_free(cfg->guardrails[i]);
    free(cfg->guardrails);
}
