/* prompt_registry: see prompt_registry.h.
 *
 * Stored document of one prompt (key: its name):
 *   {"name": "...",
 *    "versions": [{"version": 1, "hash": "<sha256 hex>", "created_ms": ..., "definition": {...}}],
 *    "labels": {"production": 2, ...},
 *    "label_history": [{"label": "production", "from": 1, "to": 2, "ts_ms": ...}]}
 */
#include "prompt_registry.h"
#include "registry_names.h"

#include "sha256.h"

#include <cjson/cJSON.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_PROMPTS  4096
#define MAX_VERSIONS 10000

typedef struct prompt_entry {
    char *name;
    cJSON *doc;                 /* current document (swapped under lock) */
    sy_prompt_template **tmpls; /* index version-1; never freed before the registry */
    char (*hashes)[SY_SHA256_LEN * 2 + 1];
    size_t n_versions, cap;
} prompt_entry;

struct sy_prompt_registry {
    sy_store *store;
    pthread_rwlock_t lock;      /* readers: resolve; writer: the swap after a commit */
    pthread_mutex_t write_lock; /* serialises admin writers across their commit */
    prompt_entry *entries;
    size_t n, cap;
};

static int valid_name(const char *s)
{
    return sy_registry_valid_name(s, 64);
}

static prompt_entry *find(sy_prompt_registry *r, const char *name)
{
    for (size_t i = 0; i < r->n; i++)
        if (strcmp(r->entries[i].name, name) == 0)
            return &r->entries[i];
    return NULL;
}

/* Append a parsed version to an entry (caller holds the write side). */
static void add_version(prompt_entry *e, sy_prompt_template *t, const char *hash)
{
    if (e->n_versions == e->cap) {
        e->cap = e->cap ? e->cap * 2 : 4;
        e->tmpls = sy_xrealloc(e->tmpls, e->cap * sizeof(*e->tmpls));
        e->hashes = sy_xrealloc(e->hashes, e->cap * sizeof(*e->hashes));
    }
    e->tmpls[e->n_versions] = t;
    snprintf(e->hashes[e->n_versions], sizeof(e->hashes[0]), "%s", hash);
    e->n_versions++;
}

static prompt_entry *add_entry(sy_prompt_registry *r, const char *name)
{
    if (r->n == r->cap) {
        r->cap = r->cap ? r->cap * 2 : 16;
        r->entries = sy_xrealloc(r->entries, r->cap * sizeof(*r->entries));
    }
    prompt_entry *e = &r->entries[r->n++];
    memset(e, 0, sizeof(*e));
    e->name = sy_xstrdup(name);
    return e;
}

/* Load one stored document: every version must parse, or the prompt is skipped. */
static void load_one(void *ud, const char *key, const char *json, size_t len)
{
    sy_prompt_registry *r = ud;
    cJSON *doc = cJSON_ParseWithLength(json, len);
    cJSON *versions = cJSON_GetObjectItemCaseSensitive(doc, "versions");
    if (!cJSON_IsArray(versions) || !valid_name(key) || find(r, key)) {
        fprintf(stderr, "switchyard: prompts: skipping an unreadable stored prompt '%.64s'\n", key);
        cJSON_Delete(doc);
        return;
    }
    prompt_entry *e = add_entry(r, key);
    const cJSON *v;
    cJSON_ArrayForEach(v, versions)
    {
        sy_prompt_error err;
        const cJSON *hash = cJSON_GetObjectItemCaseSensitive(v, "hash");
        sy_prompt_template *t =
            sy_prompt_template_parse(cJSON_GetObjectItemCaseSensitive(v, "definition"), &err);
        if (!t || !cJSON_IsString(hash)) {
            fprintf(stderr, "switchyard: prompts: '%s' version %zu unreadable: %s\n", key,
                    e->n_versions + 1, t ? "no hash" : err.message);
            sy_prompt_template_free(t);
            t = NULL;
        }
        add_version(e, t, cJSON_IsString(hash) ? hash->valuestring : "");
    }
    e->doc = doc;
}

sy_prompt_registry *sy_prompt_registry_open(sy_store *store)
{
    sy_prompt_registry *r = sy_xcalloc(1, sizeof(*r));
    r->store = store;
    pthread_rwlock_init(&r->lock, NULL);
    pthread_mutex_init(&r->write_lock, NULL);
    if (store)
        sy_store_defs_each(store, SY_STORE_DEF_PROMPTS, load_one, r);
    return r;
}

void sy_prompt_registry_free(sy_prompt_registry *r)
{
    if (!r)
        return;
    for (size_t i = 0; i < r->n; i++) {
        prompt_entry *e = &r->entries[i];
        for (size_t v = 0; v < e->n_versions; v++)
            sy_prompt_template_free(e->tmpls[v]);
        free(e->tmpls);
        free(e->hashes);
        cJSON_Delete(e->doc);
        free(e->name);
    }
    free(r->entries);
    pthread_rwlock_destroy(&r->lock);
    pthread_mutex_destroy(&r->write_lock);
    free(r);
}

int sy_prompt_registry_resolve(sy_prompt_registry *r, const char *name, unsigned version,
                               const char *label, sy_prompt_resolved *out)
{
    int rc = SY_ERR_NOTFOUND;
    pthread_rwlock_rdlock(&r->lock);
    prompt_entry *e = find(r, name);
    if (e && !version && label) {
        const cJSON *l = cJSON_GetObjectItemCaseSensitive(
            cJSON_GetObjectItemCaseSensitive(e->doc, "labels"), label);
        version = cJSON_IsNumber(l) ? (unsigned)l->valuedouble : 0;
    }
    if (e && version >= 1 && version <= e->n_versions && e->tmpls[version - 1]) {
        out->tmpl = e->tmpls[version - 1];
        out->version = version;
        snprintf(out->hash, sizeof(out->hash), "%.16s", e->hashes[version - 1]);
        rc = 0;
    }
    pthread_rwlock_unlock(&r->lock);
    return rc;
}

static void reply_error(sy_prompt_reply *out, int status, const char *param, const char *msg)
{
    out->status = status;
    snprintf(out->param, sizeof(out->param), "%s", param ? param : "");
    snprintf(out->message, sizeof(out->message), "%s", msg);
}

static void reply_json(sy_prompt_reply *out, int status, cJSON *body)
{
    char *s = cJSON_PrintUnformatted(body);
    out->status = status;
    sy_buf_puts(&out->body, s);
    free(s);
}

/*
 * Persist `next` as the prompt's document, then publish it (and `tmpl` as a new
 * version when given). Caller holds write_lock; ownership of next and tmpl moves in.
 * Returns 0, or SY_ERR_IO when the store refused (nothing changed).
 */
static int commit_doc(sy_prompt_registry *r, const char *name, cJSON *next,
                      sy_prompt_template *tmpl, const char *hash)
{
    char *json = cJSON_PrintUnformatted(next);
    int rc =
        r->store ? sy_store_put_def(r->store, SY_STORE_DEF_PROMPTS, name, json, strlen(json)) : 0;
    free(json);
    if (rc) {
        cJSON_Delete(next);
        sy_prompt_template_free(tmpl);
        return rc;
    }
    pthread_rwlock_wrlock(&r->lock);
    prompt_entry *e = find(r, name);
    if (!e)
        e = add_entry(r, name);
    cJSON_Delete(e->doc); /* readers only look at it under the shared lock */
    e->doc = next;
    if (tmpl)
        add_version(e, tmpl, hash);
    pthread_rwlock_unlock(&r->lock);
    return 0;
}

/* A copy of the prompt's current document, or a new empty one. Caller holds write_lock
 * (so the document cannot change underneath). */
static cJSON *doc_copy(sy_prompt_registry *r, const char *name)
{
    pthread_rwlock_rdlock(&r->lock);
    prompt_entry *e = find(r, name);
    cJSON *doc = e && e->doc ? cJSON_Duplicate(e->doc, 1) : NULL;
    pthread_rwlock_unlock(&r->lock);
    if (!doc) {
        doc = cJSON_CreateObject();
        cJSON_AddStringToObject(doc, "name", name);
        cJSON_AddArrayToObject(doc, "versions");
        cJSON_AddObjectToObject(doc, "labels");
        cJSON_AddArrayToObject(doc, "label_history");
    }
    return doc;
}

static cJSON *version_summary(const cJSON *v, const char *name)
{
    cJSON *o = cJSON_Duplicate(v, 1);
    cJSON_AddStringToObject(o, "name", name);
    return o;
}

void sy_prompt_registry_create_version(sy_prompt_registry *r, const char *name,
                                       const cJSON *definition, uint64_t now_ms,
                                       sy_prompt_reply *out)
{
    memset(out, 0, sizeof(*out));
    if (!valid_name(name))
        return reply_error(out, 400, "name",
                           "a prompt name is 1-64 letters, digits, '_', '-' or '.'");
    sy_prompt_error err;
    sy_prompt_template *t = sy_prompt_template_parse(definition, &err);
    if (!t)
        return reply_error(out, 400, err.param, err.message);
    char *canon = cJSON_PrintUnformatted(definition);
    uint8_t digest[SY_SHA256_LEN];
    char hash[SY_SHA256_LEN * 2 + 1];
    sy_sha256(canon, strlen(canon), digest);
    sy_hex_encode(digest, SY_SHA256_LEN, hash);
    free(canon);

    pthread_mutex_lock(&r->write_lock);
    cJSON *doc = doc_copy(r, name);
    cJSON *versions = cJSON_GetObjectItemCaseSensitive(doc, "versions");
    int n = cJSON_GetArraySize(versions);
    const cJSON *latest = n ? cJSON_GetArrayItem(versions, n - 1) : NULL;
    const cJSON *lh = cJSON_GetObjectItemCaseSensitive(latest, "hash");
    if (cJSON_IsString(lh) && strcmp(lh->valuestring, hash) == 0) { /* same content */
        cJSON *o = version_summary(latest, name);
        cJSON_AddFalseToObject(o, "created");
        reply_json(out, 200, o);
        cJSON_Delete(o);
        cJSON_Delete(doc);
        sy_prompt_template_free(t);
        pthread_mutex_unlock(&r->write_lock);
        return;
    }
    if (n >= MAX_VERSIONS || (n == 0 && r->n >= MAX_PROMPTS)) {
        cJSON_Delete(doc);
        sy_prompt_template_free(t);
        pthread_mutex_unlock(&r->write_lock);
        return reply_error(out, 400, "name", "too many prompts or versions");
    }
    cJSON *v = cJSON_CreateObject();
    cJSON_AddNumberToObject(v, "version", n + 1);
    cJSON_AddStringToObject(v, "hash", hash);
    cJSON_AddNumberToObject(v, "created_ms", (double)now_ms);
    cJSON_AddItemToObject(v, "definition", cJSON_Duplicate(definition, 1));
    cJSON *summary = version_summary(v, name);
    cJSON_AddTrueToObject(summary, "created");
    cJSON_AddItemToArray(versions, v);
    if (commit_doc(r, name, doc, t, hash) != 0)
        reply_error(out, 503, NULL, "the store could not commit the new version; retry later");
    else
        reply_json(out, 201, summary);
    cJSON_Delete(summary);
    pthread_mutex_unlock(&r->write_lock);
}

void sy_prompt_registry_move_label(sy_prompt_registry *r, const char *name, const char *label,
                                   const cJSON *body, uint64_t now_ms, sy_prompt_reply *out)
{
    memset(out, 0, sizeof(*out));
    const cJSON *ver = cJSON_GetObjectItemCaseSensitive(body, "version");
    if (!valid_name(label))
        return reply_error(out, 400, "label", "a label is 1-64 letters, digits, '_', '-' or '.'");
    if (!cJSON_IsNumber(ver) || ver->valuedouble < 1 || ver->valuedouble > MAX_VERSIONS ||
        ver->valuedouble != (double)(int)ver->valuedouble)
        return reply_error(out, 400, "version", "body must be {\"version\": <version number>}");
    int to = (int)ver->valuedouble;
    pthread_mutex_lock(&r->write_lock);
    pthread_rwlock_rdlock(&r->lock);
    prompt_entry *e = find(r, name);
    int exists = e && (size_t)to <= e->n_versions && e->tmpls[to - 1];
    pthread_rwlock_unlock(&r->lock);
    if (!exists) {
        pthread_mutex_unlock(&r->write_lock);
        return reply_error(out, 404, e ? "version" : "name",
                           e ? "no such version of this prompt" : "no such prompt");
    }
    cJSON *doc = doc_copy(r, name);
    cJSON *labels = cJSON_GetObjectItemCaseSensitive(doc, "labels");
    const cJSON *cur = cJSON_GetObjectItemCaseSensitive(labels, label);
    int from = cJSON_IsNumber(cur) ? (int)cur->valuedouble : 0;
    cJSON *move = cJSON_CreateObject();
    cJSON_AddStringToObject(move, "label", label);
    if (from)
        cJSON_AddNumberToObject(move, "from", from);
    else
        cJSON_AddNullToObject(move, "from");
    cJSON_AddNumberToObject(move, "to", to);
    cJSON_AddNumberToObject(move, "ts_ms", (double)now_ms);
    cJSON *reply = cJSON_Duplicate(move, 1);
    cJSON_AddStringToObject(reply, "name", name);
    cJSON_AddItemToArray(cJSON_GetObjectItemCaseSensitive(doc, "label_history"), move);
    if (cur)
        cJSON_ReplaceItemInObjectCaseSensitive(labels, label, cJSON_CreateNumber(to));
    else
        cJSON_AddNumberToObject(labels, label, to);
    if (commit_doc(r, name, doc, NULL, NULL) != 0)
        reply_error(out, 503, NULL, "the store could not commit the label move; retry later");
    else
        reply_json(out, 200, reply);
    cJSON_Delete(reply);
    pthread_mutex_unlock(&r->write_lock);
}

char *sy_prompt_registry_doc_json(sy_prompt_registry *r, const char *name)
{
    pthread_rwlock_rdlock(&r->lock);
    prompt_entry *e = find(r, name);
    char *json = e && e->doc ? cJSON_PrintUnformatted(e->doc) : NULL;
    pthread_rwlock_unlock(&r->lock);
    return json;
}

/* Parse versions [from, n) of a remote document into tmpls/hashes; 0, or -1 (freed). */
static int parse_versions(const cJSON *versions, size_t from, size_t n, sy_prompt_template **tmpls,
                          const char **hashes)
{
    for (size_t i = from; i < n; i++) {
        const cJSON *v = cJSON_GetArrayItem(versions, (int)i);
        const cJSON *hash = cJSON_GetObjectItemCaseSensitive(v, "hash");
        sy_prompt_error err;
        tmpls[i - from] =
            sy_prompt_template_parse(cJSON_GetObjectItemCaseSensitive(v, "definition"), &err);
        hashes[i - from] = cJSON_IsString(hash) ? hash->valuestring : NULL;
        if (!tmpls[i - from] || !hashes[i - from]) {
            for (size_t k = from; k <= i; k++)
                sy_prompt_template_free(tmpls[k - from]);
            return -1;
        }
    }
    return 0;
}

/* Why long: checks, then the commit and the swap, each under the lock it needs. */
int sy_prompt_registry_adopt(sy_prompt_registry *r, const char *json, size_t len)
{
    cJSON *doc = cJSON_ParseWithLength(json, len);
    const cJSON *name = cJSON_GetObjectItemCaseSensitive(doc, "name");
    const cJSON *versions = cJSON_GetObjectItemCaseSensitive(doc, "versions");
    const cJSON *history = cJSON_GetObjectItemCaseSensitive(doc, "label_history");
    if (!cJSON_IsString(name) || !valid_name(name->valuestring) || !cJSON_IsArray(versions) ||
        !cJSON_IsArray(history) || cJSON_GetArraySize(versions) > MAX_VERSIONS) {
        cJSON_Delete(doc);
        return -1;
    }
    size_t n = (size_t)cJSON_GetArraySize(versions), h = (size_t)cJSON_GetArraySize(history);
    pthread_mutex_lock(&r->write_lock);
    pthread_rwlock_rdlock(&r->lock);
    prompt_entry *e = find(r, name->valuestring);
    size_t have = e ? e->n_versions : 0, have_h = 0;
    int rc = 0;
    if (e && e->doc)
        have_h =
            (size_t)cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(e->doc, "label_history"));
    if (n < have || (n == have && h <= have_h))
        rc = 1; /* this node's has come as far */
    for (size_t i = 0; rc == 0 && i < have; i++) {
        const cJSON *hash =
            cJSON_GetObjectItemCaseSensitive(cJSON_GetArrayItem(versions, (int)i), "hash");
        if (!cJSON_IsString(hash) || strcmp(hash->valuestring, e->hashes[i]) != 0)
            rc = -1; /* the same version number with other content */
    }
    if (rc == 0 && !e && r->n >= MAX_PROMPTS)
        rc = -1;
    pthread_rwlock_unlock(&r->lock);
    size_t fresh = rc == 0 ? n - have : 0; /* versions this node does not have yet */
    sy_prompt_template **tmpls = sy_xcalloc(fresh + 1, sizeof(*tmpls));
    const char **hashes = sy_xcalloc(fresh + 1, sizeof(*hashes));
    if (rc == 0 && parse_versions(versions, have, n, tmpls, hashes) != 0)
        rc = -1;
    if (rc == 0 && r->store &&
        sy_store_put_def(r->store, SY_STORE_DEF_PROMPTS, name->valuestring, json, len) != 0) {
        for (size_t i = have; i < n; i++)
            sy_prompt_template_free(tmpls[i - have]);
        rc = SY_ERR_IO;
    }
    if (rc == 0) {
        pthread_rwlock_wrlock(&r->lock);
        e = find(r, name->valuestring);
        if (!e)
            e = add_entry(r, name->valuestring);
        for (size_t i = have; i < n; i++)
            add_version(e, tmpls[i - have], hashes[i - have]);
        cJSON_Delete(e->doc);
        e->doc = doc;
        doc = NULL;
        pthread_rwlock_unlock(&r->lock);
    }
    pthread_mutex_unlock(&r->write_lock);
    free(tmpls);
    free(hashes);
    cJSON_Delete(doc);
    return rc;
}

void sy_prompt_registry_list(sy_prompt_registry *r, sy_prompt_reply *out)
{
    memset(out, 0, sizeof(*out));
    cJSON *list = cJSON_CreateArray();
    pthread_rwlock_rdlock(&r->lock);
    for (size_t i = 0; i < r->n; i++) {
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "name", r->entries[i].name);
        cJSON_AddNumberToObject(o, "latest_version", (double)r->entries[i].n_versions);
        cJSON_AddItemToObject(
            o, "labels",
            cJSON_Duplicate(cJSON_GetObjectItemCaseSensitive(r->entries[i].doc, "labels"), 1));
        cJSON_AddItemToArray(list, o);
    }
    pthread_rwlock_unlock(&r->lock);
    cJSON *body = cJSON_CreateObject();
    cJSON_AddStringToObject(body, "object", "list");
    cJSON_AddItemToObject(body, "data", list);
    reply_json(out, 200, body);
    cJSON_Delete(body);
}

void sy_prompt_registry_get(sy_prompt_registry *r, const char *name, sy_prompt_reply *out)
{
    memset(out, 0, sizeof(*out));
    pthread_rwlock_rdlock(&r->lock);
    prompt_entry *e = find(r, name);
    cJSON *doc = e ? cJSON_Duplicate(e->doc, 1) : NULL;
    pthread_rwlock_unlock(&r->lock);
    if (!doc)
        return reply_error(out, 404, "name", "no such prompt");
    reply_json(out, 200, doc);
    cJSON_Delete(doc);
}
