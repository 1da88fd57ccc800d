/* store_codec: see store_codec.h. */
#include "store_codec.h"

#include <math.h>
#include <string.h>

/* Decision records: version 1 had no prompt fields; version 2 adds them after the
 * rule. Both are read. */
enum { V_DECISION_1 = 1, V_DECISION = 2, V_OUTCOME = 1, V_FEEDBACK = 1, V_ARM = 1 };

static void put_u8(sy_buf *b, uint8_t v)
{
    sy_buf_append(b, &v, 1);
}

static void put_u64(sy_buf *b, uint64_t v)
{
    uint8_t t[8];
    for (int i = 0; i < 8; i++)
        t[i] = (uint8_t)(v >> (8 * i));
    sy_buf_append(b, t, 8);
}

static void put_f64(sy_buf *b, double d)
{
    uint64_t v;
    memcpy(&v, &d, 8);
    put_u64(b, v);
}

static void put_str(sy_buf *b, const char *s, size_t max)
{
    size_t n = s ? strnlen(s, max) : 0;
    uint8_t t[2] = {(uint8_t)n, (uint8_t)(n >> 8)};
    sy_buf_append(b, t, 2);
    if (n)
        sy_buf_append(b, s, n);
}

typedef struct reader {
    const uint8_t *p, *end;
    int bad;
} reader;

static const uint8_t *take(reader *r, size_t n)
{
    if (r->bad || (size_t)(r->end - r->p) < n) {
        r->bad = 1;
        return NULL;
    }
    const uint8_t *q = r->p;
    r->p += n;
    return q;
}

static uint64_t get_u64(reader *r)
{
    const uint8_t *q = take(r, 8);
    uint64_t v = 0;
    for (int i = 0; q && i < 8; i++)
        v |= (uint64_t)q[i] << (8 * i);
    return v;
}

static double get_f64(reader *r)
{
    uint64_t v = get_u64(r);
    double d;
    memcpy(&d, &v, 8);
    return d;
}

static uint8_t get_u8(reader *r)
{
    const uint8_t *q = take(r, 1);
    return q ? *q : 0;
}

/* A string: pointer into the value and its length. */
static const char *get_str(reader *r, size_t *len)
{
    const uint8_t *l = take(r, 2);
    size_t n = l ? (size_t)l[0] | ((size_t)l[1] << 8) : 0;
    const uint8_t *q = take(r, n);
    *len = q ? n : 0; /* a short value yields "" (and marks the reader bad) */
    return q ? (const char *)q : "";
}

static void get_str_into(reader *r, char *out, size_t cap)
{
    size_t n;
    const char *s = get_str(r, &n);
    if (n >= cap)
        n = cap - 1;
    memcpy(out, s, n);
    out[n] = '\0';
}

void sy_store_encode_decision(sy_buf *b, const sy_store_request *r)
{
    put_u8(b, V_DECISION);
    put_u64(b, r->ts_ms);
    put_str(b, r->key_name, SY_STORE_NAME_MAX);
    put_str(b, r->route, SY_STORE_NAME_MAX);
    put_str(b, r->model, SY_STORE_NAME_MAX);
    put_str(b, r->policy, sizeof(r->policy));
    put_f64(b, r->propensity);
    put_u64(b, r->n_candidates);
    sy_buf_append(b, r->conv, 16);
    put_str(b, r->rule, sizeof(r->rule));
    put_str(b, r->prompt, sizeof(r->prompt));
    put_u64(b, r->prompt_version);
    put_str(b, r->experiments, sizeof(r->experiments));
    put_u64(b, r->dim);
    for (uint32_t i = 0; i < r->dim; i++)
        put_f64(b, r->x[i]);
}

int sy_store_decode_decision(const void *v, size_t n, sy_store_request *r)
{
    reader rd = {v, (const uint8_t *)v + n, 0};
    memset(r, 0, sizeof(*r));
    uint8_t ver = get_u8(&rd);
    if (ver != V_DECISION && ver != V_DECISION_1)
        return -1;
    r->ts_ms = get_u64(&rd);
    get_str_into(&rd, r->key_name, sizeof(r->key_name));
    get_str_into(&rd, r->route, sizeof(r->route));
    get_str_into(&rd, r->model, sizeof(r->model));
    get_str_into(&rd, r->policy, sizeof(r->policy));
    r->propensity = get_f64(&rd);
    r->n_candidates = (uint32_t)get_u64(&rd);
    const uint8_t *conv = take(&rd, 16);
    if (conv)
        memcpy(r->conv, conv, 16);
    get_str_into(&rd, r->rule, sizeof(r->rule));
    if (ver == V_DECISION) {
        get_str_into(&rd, r->prompt, sizeof(r->prompt));
        r->prompt_version = (uint32_t)get_u64(&rd);
        get_str_into(&rd, r->experiments, sizeof(r->experiments));
    }
    r->dim = (uint32_t)get_u64(&rd);
    if (rd.bad || (size_t)(rd.end - rd.p) != (size_t)r->dim * 8)
        return -1;
    return 0;
}

int sy_store_decision_x(const void *v, size_t n, const uint8_t **x)
{
    sy_store_request r;
    if (sy_store_decode_decision(v, n, &r) != 0)
        return -1;
    *x = (const uint8_t *)v + n - (size_t)r.dim * 8;
    return (int)r.dim;
}

void sy_store_encode_outcome(sy_buf *b, const sy_store_request *r)
{
    put_u8(b, V_OUTCOME);
    put_u64(b, (uint64_t)(int64_t)r->status);
    put_u8(b, (uint8_t)(r->stream != 0));
    put_f64(b, r->latency_ms);
    put_f64(b, r->ttft_ms);
    put_u64(b, (uint64_t)r->prompt_tokens);
    put_u64(b, (uint64_t)r->completion_tokens);
    put_u64(b, (uint64_t)r->cached_tokens);
    put_u8(b, (uint8_t)(r->usage_estimated != 0));
    put_f64(b, r->cost_usd);
    put_str(b, r->error, sizeof(r->error));
}

int sy_store_decode_outcome(const void *v, size_t n, sy_store_request *r)
{
    reader rd = {v, (const uint8_t *)v + n, 0};
    if (get_u8(&rd) != V_OUTCOME)
        return -1;
    r->status = (int32_t)(int64_t)get_u64(&rd);
    r->stream = get_u8(&rd);
    r->latency_ms = get_f64(&rd);
    r->ttft_ms = get_f64(&rd);
    r->prompt_tokens = (int64_t)get_u64(&rd);
    r->completion_tokens = (int64_t)get_u64(&rd);
    r->cached_tokens = (int64_t)get_u64(&rd);
    r->usage_estimated = get_u8(&rd);
    r->cost_usd = get_f64(&rd);
    get_str_into(&rd, r->error, sizeof(r->error));
    return rd.bad ? -1 : 0;
}

void sy_store_encode_feedback(sy_buf *b, const sy_store_feedback *f)
{
    put_u8(b, V_FEEDBACK);
    put_f64(b, f->value);
    put_u64(b, f->ts_ms);
    put_u8(b, (uint8_t)(f->by_token != 0));
    put_str(b, f->key_name, SY_STORE_NAME_MAX);
    put_str(b, f->comment, 4096);
    put_str(b, f->tags, 4096);
    put_u8(b, (uint8_t)(f->implicit != 0));
    put_f64(b, f->weight > 0 ? f->weight : 1);
}

/* A JSON syntax check (no values built), for the tags a rating stores as JSON text.
 * Returns the end of the value at p, or NULL. Depth is bounded. */
static const char *json_skip_ws(const char *p, const char *end)
{
    while (p < end && (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r'))
        p++;
    return p;
}

static const char *json_value(const char *p, const char *end, int depth);

static const char *json_string(const char *p, const char *end)
{
    for (p++; p < end; p++) {
        unsigned char c = (unsigned char)*p;
        if (c == '"')
            return p + 1;
        if (c < 0x20)
            return NULL;
        if (c == '\\') {
            if (++p >= end || !strchr("\"\\/bfnrtu", *p))
                return NULL;
            if (*p == 'u')
                for (int i = 0; i < 4; i++)
                    if (++p >= end || !strchr("0123456789abcdefABCDEF", *p))
                        return NULL;
        }
    }
    return NULL;
}

static const char *json_container(const char *p, const char *end, int depth, char close)
{
    p = json_skip_ws(p + 1, end);
    if (p < end && *p == close)
        return p + 1;
    for (;;) {
        if (close == '}') {
            if (p >= end || *p != '"' || !(p = json_string(p, end)))
                return NULL;
            p = json_skip_ws(p, end);
            if (p >= end || *p++ != ':')
                return NULL;
        }
        if (!(p = json_value(p, end, depth + 1)))
            return NULL;
        p = json_skip_ws(p, end);
        if (p < end && *p == close)
            return p + 1;
        if (p >= end || *p++ != ',')
            return NULL;
        p = json_skip_ws(p, end);
    }
}

static const char *json_value(const char *p, const char *end, int depth)
{
    p = json_skip_ws(p, end);
    if (p >= end || depth > 32)
        return NULL;
    if (*p == '"')
        return json_string(p, end);
    if (*p == '[' || *p == '{')
        return json_container(p, end, depth, *p == '[' ? ']' : '}');
    static const char *const words[] = {"true", "false", "null"};
    for (int i = 0; i < 3; i++) {
        size_t n = strlen(words[i]);
        if ((size_t)(end - p) >= n && memcmp(p, words[i], n) == 0)
            return p + n;
    }
    const char *q = p;
    if (q < end && *q == '-')
        q++;
    if (q >= end || *q < '0' || *q > '9')
        return NULL;
    while (q < end && strchr("0123456789.eE+-", *q))
        q++;
    return q;
}

static int json_valid(const char *s, size_t n)
{
    const char *end = s + n, *p = json_value(s, end, 0);
    return p && json_skip_ws(p, end) == end;
}

int sy_store_decode_feedback(const void *v, size_t n, sy_store_feedback_rec *f)
{
    reader rd = {v, (const uint8_t *)v + n, 0};
    if (get_u8(&rd) != V_FEEDBACK)
        return -1;
    f->value = get_f64(&rd);
    f->ts_ms = get_u64(&rd);
    f->by_token = get_u8(&rd);
    f->key_name = get_str(&rd, &f->key_name_len);
    f->comment = get_str(&rd, &f->comment_len);
    f->tags = get_str(&rd, &f->tags_len);
    f->implicit = get_u8(&rd);
    f->weight = get_f64(&rd);
    /* what the gateway writes: value in [0,1], weight 0 (= 1) or in (0,1], tags a JSON
     * document; anything else is a damaged record, not a rating to learn from */
    if (rd.bad || !(f->value >= 0 && f->value <= 1) || !(f->weight >= 0 && f->weight <= 1) ||
        (f->tags_len && !json_valid(f->tags, f->tags_len)))
        return -1;
    return 0;
}

void sy_store_encode_arm_stats(sy_buf *b, const sy_store_arm_stats *a)
{
    put_u8(b, V_ARM);
    put_f64(b, a->requests);
    put_f64(b, a->errors);
    put_f64(b, a->latency_ms_sum);
    put_f64(b, a->latency_ms_sq_sum);
    put_f64(b, a->cost_usd_sum);
    put_f64(b, a->cost_usd_sq_sum);
    put_f64(b, a->ratings);
    put_f64(b, a->rating_sum);
    put_f64(b, a->rating_sq_sum);
}

int sy_store_decode_arm_stats(const void *v, size_t n, sy_store_arm_stats *a)
{
    reader rd = {v, (const uint8_t *)v + n, 0};
    if (get_u8(&rd) != V_ARM)
        return -1;
    a->requests = get_f64(&rd);
    a->errors = get_f64(&rd);
    a->latency_ms_sum = get_f64(&rd);
    a->latency_ms_sq_sum = get_f64(&rd);
    a->cost_usd_sum = get_f64(&rd);
    a->cost_usd_sq_sum = get_f64(&rd);
    a->ratings = get_f64(&rd);
    a->rating_sum = get_f64(&rd);
    a->rating_sq_sum = get_f64(&rd);
    return rd.bad ? -1 : 0;
}

void sy_store_arm_key(const char *route, const char *model, uint8_t key[SY_ARM_KEY_LEN])
{
    memset(key, 0, SY_ARM_KEY_LEN);
    memcpy(key, route, strnlen(route, SY_STORE_NAME_MAX - 1));
    memcpy(key + SY_STORE_NAME_MAX, model, strnlen(model, SY_STORE_NAME_MAX - 1));
}

enum { V_CONV_1 = 1, V_CONV = 2 }; /* 2 adds rated_down */

void sy_store_encode_conv(sy_buf *b, const sy_conv_state *c)
{
    put_u8(b, V_CONV);
    put_u64(b, c->turn);
    put_u64(b, c->rephrases);
    put_u64(b, c->rephrases_total);
    put_u64(b, c->thumbs_down);
    put_u64(b, c->good_turns);
    put_f64(b, c->cost_usd);
    put_u64(b, c->last_ts_ms);
    put_str(b, c->tier, sizeof(c->tier));
    put_str(b, c->pinned, sizeof(c->pinned));
    put_str(b, c->rule, sizeof(c->rule));
    sy_buf_append(b, c->last_request, 16);
    put_str(b, c->last_text, sizeof(c->last_text));
    put_u8(b, c->rated_down ? 1 : 0);
}

int sy_store_decode_conv(const void *v, size_t n, sy_conv_state *c)
{
    reader rd = {v, (const uint8_t *)v + n, 0};
    memset(c, 0, sizeof(*c));
    uint8_t version = get_u8(&rd);
    if (version != V_CONV && version != V_CONV_1)
        return -1;
    c->turn = (uint32_t)get_u64(&rd);
    c->rephrases = (uint32_t)get_u64(&rd);
    c->rephrases_total = (uint32_t)get_u64(&rd);
    c->thumbs_down = (uint32_t)get_u64(&rd);
    c->good_turns = (uint32_t)get_u64(&rd);
    c->cost_usd = get_f64(&rd);
    c->last_ts_ms = get_u64(&rd);
    get_str_into(&rd, c->tier, sizeof(c->tier));
    get_str_into(&rd, c->pinned, sizeof(c->pinned));
    get_str_into(&rd, c->rule, sizeof(c->rule));
    const uint8_t *lr = take(&rd, 16);
    if (lr)
        memcpy(c->last_request, lr, 16);
    get_str_into(&rd, c->last_text, sizeof(c->last_text));
    if (version >= V_CONV)
        c->rated_down = get_u8(&rd) != 0;
    return rd.bad ? -1 : 0;
}
