/*
 * json_body: how the gateway reads every JSON body it accepts (chat, feedback, admin),
 * and the byte-level JSON checks the relay needs. Pure: no I/O, no globals.
 *
 * One parse, three guarantees (issue 15):
 *   - the body is valid UTF-8 (RFC 3629), else 400;
 *   - no object, at any depth, holds the same member name twice, else 400 naming it:
 *     cJSON keeps both copies, the gateway would validate the first while an upstream
 *     that keeps the last acts on another value;
 *   - a JSON escape \u0000 survives. cJSON strings end at a NUL, so "a\u0000b" would
 *     become "a". Before parsing, each such escape is rewritten in place to the two
 *     bytes C0 80 (SY_JSON_NUL, "modified UTF-8"), which valid UTF-8 never contains:
 *     the tree then carries the NUL visibly, identifiers holding it can be refused
 *     (sy_json_str_has_nul), and sy_json_nul_restore() turns it back into \u0000 in what is
 *     sent upstream, so content is forwarded intact.
 */
#ifndef SY_JSON_BODY_H
#define SY_JSON_BODY_H

#include "sy_common.h"

#include <cjson/cJSON.h>
#include <stddef.h>

#define SY_JSON_NUL "\xC0\x80" /* an escaped NUL inside a parsed string */

typedef struct sy_json_error {
    const char *message; /* static, client-facing */
    char param[128];     /* offending member's path ("" when it is the body itself) */
} sy_json_error;

/* 1 when s[0..n) is well-formed UTF-8 (no overlongs, surrogates or code points over
 * U+10FFFF). Runs at memory speed on ASCII. */
int sy_utf8_valid(const char *s, size_t n);

/*
 * Parse the request body buf[0..*len) (NUL-terminated at buf[*len]) as exactly one JSON
 * document: UTF-8 checked, \u0000 escapes rewritten in place (*len may shrink),
 * trailing bytes other than whitespace refused, duplicate member names refused.
 * Returns the tree (caller owns it) or NULL with *err set. One pass over the bytes plus
 * one walk over the tree.
 */
cJSON *sy_json_body_parse(char *buf, size_t *len, sy_json_error *err);

/* Rewrite each escape \u0000 of the JSON text buf[0..*len) into SY_JSON_NUL, in place,
 * and check that every \u escape has four hex digits. Returns how many were rewritten,
 * or SY_ERR_INVALID. The text must be valid UTF-8 (checked first). */
int sy_json_nul_encode(char *buf, size_t *len);

/* Turn every SY_JSON_NUL in a JSON text printed from a tree back into \u0000. */
void sy_json_nul_restore(sy_buf *b);

/* 1 when the string holds an escaped NUL (identifiers must not). */
int sy_json_str_has_nul(const char *s);

/* Path of the first member name that occurs twice in one object, at any depth: returns
 * 1 with the path in param (e.g. "model", "messages[0].role"), else 0. */
int sy_json_find_duplicate(const cJSON *root, char *param, size_t param_len);

/* 1 when s[0..n) is one syntactically valid JSON text (RFC 8259, surrounding whitespace
 * allowed), nested at most 128 deep. No allocation: cheap enough for every SSE event. */
int sy_json_valid(const char *s, size_t n);

#endif
