/* cluster_codec: see cluster_codec.h. */
#include "cluster_codec.h"

#include "sha256.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define MAX_DIM 4096 /* a decoded context longer than this is refused */

static void put_str(sy_buf *b, const char *key, const char *v)
{
    sy_buf_printf(b, ",\"%s\":", key);
    sy_buf_json_string(b, v, strlen(v));
}

/* Doubles are written with 17 significant digits: decoding gives the same bits. */
static void put_num(sy_buf *b, const char *key, double v)
{
    if (isfinite(v))
        sy_buf_printf(b, ",\"%s\":%.17g", key, v);
}

void sy_cluster_encode(sy_buf *b, const char *node, uint64_t seq, uint64_t published_ms,
                       const sy_store_obs *o)
{
    const sy_store_request *r = o->req;
    char hex[33];
    sy_hex_encode(r->id, 16, hex);
    sy_buf_printf(b, "{\"v\":1,\"k\":\"%c\",\"id\":\"%s\",\"p\":%llu", o->is_feedback ? 'f' : 'o',
                  hex, (unsigned long long)published_ms);
    put_str(b, "n", node);
    sy_buf_printf(b, ",\"q\":%llu,\"ts\":%llu", (unsigned long long)seq,
                  (unsigned long long)r->ts_ms);
    put_str(b, "key", r->key_name);
    put_str(b, "r", r->route);
    put_str(b, "m", r->model);
    sy_buf_printf(b, ",\"s\":%d", (int)r->status);
    put_num(b, "l", r->latency_ms);
    sy_buf_printf(b, ",\"pt\":%lld,\"ct\":%lld", (long long)r->prompt_tokens,
                  (long long)r->completion_tokens);
    put_num(b, "c", r->cost_usd);
    if (r->dim && r->x) {
        sy_buf_puts(b, ",\"x\":[");
        for (uint32_t i = 0; i < r->dim; i++)
            sy_buf_printf(b, i ? ",%.17g" : "%.17g", isfinite(r->x[i]) ? r->x[i] : 0.0);
        sy_buf_puts(b, "]");
    }
    if (o->is_feedback) {
        put_num(b, "fv", o->value);
        put_num(b, "fw", o->weight > 0 ? o->weight : 1); /* 0 means 1 (store.h) */
        sy_buf_printf(b, ",\"ft\":%llu,\"fi\":%d,\"rp\":%d", (unsigned long long)o->ts_ms,
                      o->implicit, o->replaced);
        if (o->replaced) {
            put_num(b, "pv", o->previous);
            put_num(b, "pw", o->previous_weight > 0 ? o->previous_weight : 1);
            sy_buf_printf(b, ",\"pi\":%d", o->previous_implicit);
        }
    }
    sy_buf_puts(b, "}");
}

void sy_cluster_encode_conv(sy_buf *b, const char *node, uint64_t seq, uint64_t published_ms,
                            const uint8_t id[16], const sy_conv_state *st)
{
    char hex[33], last[33];
    sy_hex_encode(id, 16, hex);
    sy_hex_encode(st->last_request, 16, last);
    sy_buf_printf(b, "{\"v\":1,\"k\":\"c\",\"id\":\"%s\",\"p\":%llu", hex,
                  (unsigned long long)published_ms);
    put_str(b, "n", node);
    sy_buf_printf(b,
                  ",\"q\":%llu,\"turn\":%u,\"reph\":%u,\"repht\":%u,\"down\":%u,"
                  "\"good\":%u,\"rd\":%u,\"last\":%llu,\"lr\":\"%s\"",
                  (unsigned long long)seq, st->turn, st->rephrases, st->rephrases_total,
                  st->thumbs_down, st->good_turns, (unsigned)st->rated_down,
                  (unsigned long long)st->last_ts_ms, last);
    put_num(b, "c", st->cost_usd);
    put_str(b, "tier", st->tier);
    put_str(b, "pin", st->pinned);
    put_str(b, "rule", st->rule);
    put_str(b, "text", st->last_text);
    sy_buf_puts(b, "}");
}

void sy_cluster_encode_def(sy_buf *b, const char *node, uint64_t seq, uint64_t published_ms,
                           const char *what, const char *doc)
{
    sy_buf_printf(b, "{\"v\":1,\"k\":\"d\",\"p\":%llu,\"q\":%llu", (unsigned long long)published_ms,
                  (unsigned long long)seq);
    put_str(b, "n", node);
    put_str(b, "what", what);
    put_str(b, "doc", doc);
    sy_buf_puts(b, "}");
}

static double num(const cJSON *o, const char *k, double def)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
    return cJSON_IsNumber(v) ? v->valuedouble : def;
}

/* Copy a string member into dst (cap bytes); -1 when it is missing or too long. */
static int str(const cJSON *o, const char *k, char *dst, size_t cap)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
    if (!cJSON_IsString(v) || strlen(v->valuestring) >= cap)
        return -1;
    memcpy(dst, v->valuestring, strlen(v->valuestring) + 1);
    return 0;
}

/* The context vector, when there is one. */
static int read_x(const cJSON *root, sy_cluster_obs *out)
{
    const cJSON *x = cJSON_GetObjectItemCaseSensitive(root, "x");
    if (!x)
        return 0;
    int n = cJSON_GetArraySize(x);
    if (!cJSON_IsArray(x) || n <= 0 || n > MAX_DIM)
        return -1;
    out->x = sy_xmalloc(sizeof(double) * (size_t)n);
    int i = 0;
    for (const cJSON *e = x->child; e; e = e->next, i++) {
        if (!cJSON_IsNumber(e))
            return -1;
        out->x[i] = e->valuedouble;
    }
    out->req.x = out->x;
    out->req.dim = (uint32_t)n;
    return 0;
}

/* A conversation entry's fields into out (its id is decoded by the caller). */
static int read_conv(const cJSON *root, sy_cluster_obs *out)
{
    sy_conv_state *st = &out->conv;
    char last[40];
    if (str(root, "tier", st->tier, sizeof(st->tier)) ||
        str(root, "pin", st->pinned, sizeof(st->pinned)) ||
        str(root, "rule", st->rule, sizeof(st->rule)) ||
        str(root, "text", st->last_text, sizeof(st->last_text)) ||
        str(root, "lr", last, sizeof(last)) || strlen(last) != 32 ||
        sy_hex_decode(last, 32, st->last_request, 16) != 0)
        return -1;
    st->turn = (uint32_t)num(root, "turn", 0);
    st->rephrases = (uint32_t)num(root, "reph", 0);
    st->rephrases_total = (uint32_t)num(root, "repht", 0);
    st->thumbs_down = (uint32_t)num(root, "down", 0);
    st->good_turns = (uint32_t)num(root, "good", 0);
    st->rated_down = num(root, "rd", 0) != 0;
    st->last_ts_ms = (uint64_t)num(root, "last", 0);
    st->cost_usd = num(root, "c", 0);
    out->is_conv = 1;
    return 0;
}

/* Why long: one check per field of the format, in the order they are written. */
int sy_cluster_decode(const char *text, size_t len, sy_cluster_obs *out)
{
    memset(out, 0, sizeof(*out));
    cJSON *root = cJSON_ParseWithLength(text, len);
    int rc = -1;
    char hex[40], kind[4];
    if (cJSON_IsObject(root) && num(root, "v", 0) == 1 && !str(root, "k", kind, sizeof(kind)) &&
        strcmp(kind, "c") == 0) { /* a conversation */
        if (!str(root, "id", hex, sizeof(hex)) && strlen(hex) == 32 &&
            sy_hex_decode(hex, 32, out->conv_id, 16) == 0 &&
            !str(root, "n", out->node, sizeof(out->node)) && read_conv(root, out) == 0) {
            out->published_ms = (uint64_t)num(root, "p", 0);
            out->seq = (uint64_t)num(root, "q", 0);
            rc = 0;
        }
        goto done;
    }
    if (cJSON_IsObject(root) && num(root, "v", 0) == 1 && !str(root, "k", kind, sizeof(kind)) &&
        strcmp(kind, "d") == 0) { /* a definition */
        const cJSON *doc = cJSON_GetObjectItemCaseSensitive(root, "doc");
        if (!str(root, "n", out->node, sizeof(out->node)) &&
            !str(root, "what", out->def_what, sizeof(out->def_what)) && cJSON_IsString(doc)) {
            out->def = sy_xstrdup(doc->valuestring);
            out->is_def = 1;
            out->published_ms = (uint64_t)num(root, "p", 0);
            out->seq = (uint64_t)num(root, "q", 0);
            rc = 0;
        }
        goto done;
    }
    if (!cJSON_IsObject(root) || num(root, "v", 0) != 1 || str(root, "k", kind, sizeof(kind)) ||
        (strcmp(kind, "o") != 0 && strcmp(kind, "f") != 0) || str(root, "id", hex, sizeof(hex)) ||
        strlen(hex) != 32 || sy_hex_decode(hex, 32, out->req.id, 16) != 0 ||
        str(root, "n", out->node, sizeof(out->node)) ||
        str(root, "key", out->req.key_name, sizeof(out->req.key_name)) ||
        str(root, "r", out->req.route, sizeof(out->req.route)) ||
        str(root, "m", out->req.model, sizeof(out->req.model)) || read_x(root, out) != 0)
        goto done;
    out->published_ms = (uint64_t)num(root, "p", 0);
    const cJSON *q = cJSON_GetObjectItemCaseSensitive(root, "q");
    if (!cJSON_IsNumber(q) || !(q->valuedouble >= 0) || q->valuedouble > 9007199254740992.0)
        goto done; /* an exact integer in a double: µs since 1970 fit until year 2255 */
    out->seq = (uint64_t)q->valuedouble;
    sy_store_request *r = &out->req;
    r->ts_ms = (uint64_t)num(root, "ts", 0);
    r->status = (int32_t)num(root, "s", 0);
    r->latency_ms = num(root, "l", 0);
    r->ttft_ms = NAN;
    r->propensity = NAN;
    r->prompt_tokens = (int64_t)num(root, "pt", 0);
    r->completion_tokens = (int64_t)num(root, "ct", 0);
    r->cost_usd = num(root, "c", 0);
    sy_store_obs *o = &out->obs;
    o->req = r;
    o->is_feedback = kind[0] == 'f';
    if (o->is_feedback) {
        o->value = num(root, "fv", -1);
        o->weight = num(root, "fw", 1);
        o->ts_ms = (uint64_t)num(root, "ft", 0);
        o->implicit = num(root, "fi", 0) != 0;
        o->replaced = num(root, "rp", 0) != 0;
        o->previous = num(root, "pv", 0);
        o->previous_weight = num(root, "pw", 1);
        o->previous_implicit = num(root, "pi", 0) != 0;
        if (!(o->value >= 0 && o->value <= 1) || !(o->weight > 0 && o->weight <= 1))
            goto done;
    }
    rc = 0;
done:
    cJSON_Delete(root);
    if (rc != 0)
        sy_cluster_obs_clear(out);
    return rc;
}

void sy_cluster_obs_clear(sy_cluster_obs *o)
{
    free(o->def);
    o->def = NULL;
    free(o->x);
    o->x = NULL;
    o->req.x = NULL;
    o->req.dim = 0;
}

static uint64_t fnv(uint64_t h, const void *p, size_t n)
{
    const uint8_t *b = p;
    for (size_t i = 0; i < n; i++)
        h = (h ^ b[i]) * 1099511628211ull;
    return h;
}

uint64_t sy_cluster_event_id(const sy_cluster_obs *o)
{
    const sy_store_obs *e = &o->obs;
    if (o->is_def) { /* a definition: its publisher's event */
        uint64_t h = fnv(1469598103934665603ull, o->node, strlen(o->node) + 1);
        h = fnv(h, &o->seq, sizeof(o->seq));
        return h ? h : 1;
    }
    if (o->is_conv) { /* a conversation's state: its id and the turn's time */
        uint64_t h = fnv(1469598103934665603ull, "c", 1);
        h = fnv(h, o->conv_id, 16);
        h = fnv(h, &o->conv.last_ts_ms, sizeof(o->conv.last_ts_ms));
        h = fnv(h, &o->conv.turn, sizeof(o->conv.turn));
        return h ? h : 1;
    }
    uint64_t h = fnv(1469598103934665603ull, e->is_feedback ? "f" : "o", 1);
    h = fnv(h, o->req.id, 16); /* one outcome per request */
    if (e->is_feedback) {      /* a rating: what the store kept of it */
        uint8_t implicit = e->implicit != 0;
        h = fnv(h, &e->ts_ms, sizeof(e->ts_ms));
        h = fnv(h, &e->value, sizeof(e->value));
        h = fnv(h, &e->weight, sizeof(e->weight));
        h = fnv(h, &implicit, 1);
    }
    return h ? h : 1; /* 0 marks an empty slot */
}

void sy_cluster_seen_init(sy_cluster_seen *s, size_t slots)
{
    sy_id_window_init(&s->w, slots);
}

void sy_cluster_seen_free(sy_cluster_seen *s)
{
    sy_id_window_free(&s->w);
}

int sy_cluster_seen_check(sy_cluster_seen *s, uint64_t id)
{
    if (!id || sy_id_window_find(&s->w, id) >= 0)
        return id != 0;
    sy_id_window_add(&s->w, id);
    return 0;
}

int sy_cluster_transient_error(const char *msg)
{
    static const char *const prefixes[] = {"LOADING",  "BUSY",       "TRYAGAIN", "MASTERDOWN",
                                           "READONLY", "OOM",        "MISCONF",  "NOAUTH",
                                           "NOSCRIPT", "CLUSTERDOWN"};
    if (!msg)
        return 0;
    for (size_t i = 0; i < SY_ARRAY_LEN(prefixes); i++) {
        size_t n = strlen(prefixes[i]);
        if (strncmp(msg, prefixes[i], n) == 0 && (msg[n] == ' ' || msg[n] == 0))
            return 1;
    }
    return 0;
}
