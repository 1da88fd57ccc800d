/*
 * prompt_registry: named prompts with immutable, numbered, content-hashed versions and
 * movable labels (DESIGN.md §8), persisted in the store's `prompts` database.
 *
 * Threads and locks: one registry per process, created before the workers start.
 * Readers (workers resolving a request's `prompt`) take `lock` shared for a lookup in
 * memory and never touch LMDB. Admin writers (worker 0) are serialised by `write_lock`:
 * each builds the prompt's next document, commits it to LMDB with sy_store_put_def()
 * (which waits for the sync) holding only `write_lock`, and then swaps the document in
 * under `lock` held exclusively for a pointer swap. So a label move is visible to the
 * very next request, and no lock the request path takes is ever held across I/O.
 *
 * Ownership: versions and their parsed templates are never freed before the registry,
 * so a resolved sy_prompt_resolved stays valid for the life of the process.
 */
#ifndef SY_PROMPT_REGISTRY_H
#define SY_PROMPT_REGISTRY_H

#include "prompt_template.h"
#include "store.h"
#include "sy_common.h"

#include <stdint.h>

typedef struct sy_prompt_registry sy_prompt_registry;

/* Load every stored prompt. A stored document this build cannot parse is skipped with
 * a warning on stderr (never fatal). */
sy_prompt_registry *sy_prompt_registry_open(sy_store *store);
void sy_prompt_registry_free(sy_prompt_registry *r);

/* A version as a request uses it. */
typedef struct sy_prompt_resolved {
    const sy_prompt_template *tmpl;
    unsigned version;
    char hash[16 + 1]; /* first 16 hex digits of the content SHA-256 */
} sy_prompt_resolved;

/* Resolve name at a version (> 0) or else at a label. SY_ERR_NOTFOUND when the prompt,
 * the version or the label does not exist. */
int sy_prompt_registry_resolve(sy_prompt_registry *r, const char *name, unsigned version,
                               const char *label, sy_prompt_resolved *out);

/* The outcome of an admin call: an HTTP status with a JSON body, or an error. */
typedef struct sy_prompt_reply {
    int status;        /* 200, 201, 400, 404, 503 */
    sy_buf body;       /* JSON on success */
    char param[128];   /* on error */
    char message[384]; /* on error */
} sy_prompt_reply;

/* POST /admin/prompts/{name}/versions: a new version from its definition (identical
 * content to the latest version returns that version with 200 instead of 201). */
void sy_prompt_registry_create_version(sy_prompt_registry *r, const char *name,
                                       const struct cJSON *definition, uint64_t now_ms,
                                       sy_prompt_reply *out);
/* PUT /admin/prompts/{name}/labels/{label} with {"version": n}: move (or create) a label;
 * the move is appended to the prompt's label history. */
void sy_prompt_registry_move_label(sy_prompt_registry *r, const char *name, const char *label,
                                   const struct cJSON *body, uint64_t now_ms, sy_prompt_reply *out);
/* Cluster mode: take a prompt's whole document as another node committed it (JSON text)
 * and commit it here, so that its versions and labels resolve identically on every node.
 * Versions are append-only and label moves are appended to label_history, so the
 * document that has come further (more versions, or as many and a longer label history)
 * wins. 0 adopted; 1 this node's document has come as far (an older change read late, or
 * a resend); -1 text that is not a prompt document, or versions that differ from this
 * node's (a version created on two nodes at once: not merged, logged by the caller);
 * SY_ERR_IO the store could not commit. Thread-safe (takes write_lock). */
int sy_prompt_registry_adopt(sy_prompt_registry *r, const char *json, size_t len);
/* The prompt's document as JSON text (malloc'd) for publishing, or NULL. */
char *sy_prompt_registry_doc_json(sy_prompt_registry *r, const char *name);
/* GET /admin/prompts (list) and GET /admin/prompts/{name} (the whole document). */
void sy_prompt_registry_list(sy_prompt_registry *r, sy_prompt_reply *out);
void sy_prompt_registry_get(sy_prompt_registry *r, const char *name, sy_prompt_reply *out);

#endif
