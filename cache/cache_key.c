/*
 * cache_key.c: canonical form and keys of the response cache (cache_key.h). Pure.
 */
#include "cache_key.h"

#include "sha256.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Top-level members that do not change the answer's content. */
static const char *const k_delivery[] = {"model",    "stream", "stream_options", "user",
                                         "metadata", "store",  "service_tier"};

static int is_delivery(const char *name)
{
    for (size_t i = 0; i < SY_ARRAY_LEN(k_delivery); i++)
        if (strcmp(name, k_delivery[i]) == 0)
            return 1;
    return 0;
}

static int by_name(const void *a, const void *b)
{
    return strcmp((*(const cJSON *const *)a)->string, (*(const cJSON *const *)b)->string);
}

static void put_string(sy_buf *out, const char *s)
{
    sy_buf_json_string(out, s, strlen(s));
}

void sy_cache_canonical(const cJSON *v, int top, sy_buf *out)
{
    if (cJSON_IsObject(v)) {
        size_t n = 0;
        for (const cJSON *m = v->child; m; m = m->next)
            n++;
        const cJSON **ms = sy_xcalloc(n ? n : 1, sizeof(*ms));
        n = 0;
        for (const cJSON *m = v->child; m; m = m->next)
            if (!(top && is_delivery(m->string)))
                ms[n++] = m;
        qsort(ms, n, sizeof(*ms), by_name);
        sy_buf_puts(out, "{");
        for (size_t i = 0; i < n; i++) {
            if (i)
                sy_buf_puts(out, ",");
            put_string(out, ms[i]->string);
            sy_buf_puts(out, ":");
            sy_cache_canonical(ms[i], 0, out);
        }
        sy_buf_puts(out, "}");
        free(ms);
    } else if (cJSON_IsArray(v)) {
        sy_buf_puts(out, "[");
        for (const cJSON *m = v->child; m; m = m->next) {
            sy_cache_canonical(m, 0, out);
            if (m->next)
                sy_buf_puts(out, ",");
        }
        sy_buf_puts(out, "]");
    } else if (cJSON_IsString(v)) {
        put_string(out, v->valuestring);
    } else if (cJSON_IsNumber(v)) {
        sy_buf_printf(out, "%.17g", v->valuedouble); /* 0, 0.0 and 0e0 are one value */
    } else if (cJSON_IsBool(v)) {
        sy_buf_puts(out, cJSON_IsTrue(v) ? "true" : "false");
    } else {
        sy_buf_puts(out, "null");
    }
}

/* The context's fields, each length-prefixed so that no two contexts run together. */
static void hash_ctx(sy_sha256_ctx *h, const char *tag, const sy_cache_key_ctx *ctx)
{
    const char *parts[] = {tag, ctx->ns ? ctx->ns : "", ctx->scope ? ctx->scope : "",
                           ctx->prompt ? ctx->prompt : "", ctx->variant ? ctx->variant : ""};
    for (size_t i = 0; i < SY_ARRAY_LEN(parts); i++) {
        char len[24];
        int n = snprintf(len, sizeof(len), "%zu:", strlen(parts[i]));
        sy_sha256_update(h, len, (size_t)n);
        sy_sha256_update(h, parts[i], strlen(parts[i]));
    }
    char ver[24];
    int n = snprintf(ver, sizeof(ver), "v%u;", ctx->prompt_version);
    sy_sha256_update(h, ver, (size_t)n);
}

/* SHA-256 over tier, the context and body's canonical form: the one digest both tiers'
 * keys are made of (an exact key and a semantic partition never collide: tier differs). */
static void digest(const cJSON *body, const char *tier, const sy_cache_key_ctx *ctx,
                   uint8_t out[32])
{
    sy_buf c = {0};
    sy_cache_canonical(body, 1, &c);
    sy_sha256_ctx h;
    sy_sha256_init(&h);
    hash_ctx(&h, tier, ctx);
    sy_sha256_update(&h, c.data ? c.data : "", c.len);
    sy_sha256_final(&h, out);
    sy_buf_free(&c);
}

void sy_cache_exact_key(const cJSON *body, const sy_cache_key_ctx *ctx, uint8_t key[32])
{
    digest(body, "exact", ctx, key);
}

/* The text of a message's content (a string, or the text parts of an array joined by
 * newlines) appended to out; 0 when it has none. */
static int content_text(const cJSON *content, sy_buf *out)
{
    if (cJSON_IsString(content)) {
        sy_buf_puts(out, content->valuestring);
        return 1;
    }
    int any = 0;
    const cJSON *p;
    cJSON_ArrayForEach(p, content)
    {
        const cJSON *t = cJSON_GetObjectItemCaseSensitive(p, "text");
        if (!cJSON_IsString(t))
            continue;
        if (any)
            sy_buf_puts(out, "\n");
        sy_buf_puts(out, t->valuestring);
        any = 1;
    }
    return any;
}

/* White space runs become one space, the ends are trimmed, ASCII letters lower-cased. */
static void normalise(const char *s, size_t n, sy_buf *out)
{
    int space = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char ch = (unsigned char)s[i];
        if (isspace(ch)) {
            space = out->len > 0;
            continue;
        }
        if (space)
            sy_buf_append(out, " ", 1);
        space = 0;
        char lc = (char)(ch < 0x80 ? tolower(ch) : ch);
        sy_buf_append(out, &lc, 1);
    }
}

int sy_cache_semantic_part(const cJSON *body, const sy_cache_key_ctx *ctx, uint8_t part[32],
                           sy_buf *text)
{
    sy_buf_reset(text);
    const cJSON *msgs = cJSON_GetObjectItemCaseSensitive(body, "messages");
    int n = cJSON_GetArraySize(msgs);
    const cJSON *last = n > 0 ? cJSON_GetArrayItem(msgs, n - 1) : NULL;
    const cJSON *role = cJSON_GetObjectItemCaseSensitive(last, "role");
    if (!cJSON_IsString(role) || strcmp(role->valuestring, "user") != 0)
        return -1;
    sy_buf raw = {0};
    if (!content_text(cJSON_GetObjectItemCaseSensitive(last, "content"), &raw)) {
        sy_buf_free(&raw);
        return -1;
    }
    normalise(raw.data ? raw.data : "", raw.len, text);
    sy_buf_free(&raw);
    if (!text->len)
        return -1;
    /* the body with the earlier messages only: the partition */
    cJSON *copy = cJSON_Duplicate(body, 1);
    cJSON *cm = cJSON_GetObjectItemCaseSensitive(copy, "messages");
    cJSON_DeleteItemFromArray(cm, n - 1);
    digest(copy, "semantic", ctx, part);
    cJSON_Delete(copy);
    return 0;
}
