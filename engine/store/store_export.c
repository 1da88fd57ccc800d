/*
 * store_export: `switchyard export` — every request as one JSON line, joined from the
 * decisions, outcomes and feedback databases, for the simulator and for analysis.
 * Opens the environment read-only (MDB_RDONLY): safe while a server writes to it.
 */
#include "store.h"
#include "store_codec.h"

#include <lmdb.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void num(sy_buf *b, const char *key, double v)
{
    if (isfinite(v))
        sy_buf_printf(b, ",\"%s\":%.17g", key, v);
    else
        sy_buf_printf(b, ",\"%s\":null", key);
}

static void str(sy_buf *b, const char *key, const char *s, size_t n)
{
    sy_buf_printf(b, ",\"%s\":", key);
    if (s && n)
        sy_buf_json_string(b, s, n);
    else
        sy_buf_puts(b, "null");
}

/* One request as a JSON object (no newline): decision k/v, then its outcome and its
 * current rating looked up in the same transaction. */
static void request_json(sy_buf *b, MDB_txn *txn, MDB_dbi outc, MDB_dbi fb, MDB_val k, MDB_val v,
                         sy_store_request *r, void (*format_id)(const uint8_t id[16], char *buf))
{
    char id[64];
    format_id(k.mv_data, id);
    sy_buf_printf(b, "{\"request_id\":\"%s\",\"ts_ms\":%llu", id, (unsigned long long)r->ts_ms);
    str(b, "key", r->key_name, strlen(r->key_name));
    str(b, "route", r->route, strlen(r->route));
    str(b, "model", r->model, strlen(r->model));
    str(b, "policy", r->policy, strlen(r->policy));
    str(b, "rule", r->rule, strlen(r->rule));
    if (r->prompt[0]) {
        sy_buf_puts(b, ",\"prompt\":{\"id\":");
        sy_buf_json_string(b, r->prompt, strlen(r->prompt));
        sy_buf_printf(b, ",\"version\":%u}", r->prompt_version);
    } else {
        sy_buf_puts(b, ",\"prompt\":null");
    }
    sy_buf_puts(b, ",\"experiments\":[");
    for (const char *e = r->experiments; *e;) { /* "id:variant:allocation:unit," */
        size_t len = strcspn(e, ","), id_len = strcspn(e, ":");
        const char *var = e + id_len + (id_len < len);
        size_t var_len = strcspn(var, ":");
        sy_buf_puts(b, e == r->experiments ? "{\"id\":" : ",{\"id\":");
        sy_buf_json_string(b, e, id_len < len ? id_len : len);
        sy_buf_puts(b, ",\"variant\":");
        sy_buf_json_string(b, var, var_len < (size_t)(e + len - var) ? var_len : 0);
        sy_buf_printf(b, ",\"allocation_version\":%ld}",
                      var + var_len < e + len ? strtol(var + var_len + 1, NULL, 10) : 0L);
        e += len + (e[len] == ',');
    }
    sy_buf_puts(b, "]");
    int has_conv = 0;
    for (int i = 0; i < 16; i++)
        has_conv |= r->conv[i];
    if (has_conv) {
        char hex[33];
        for (int i = 0; i < 16; i++)
            snprintf(hex + 2 * i, 3, "%02x", r->conv[i]);
        sy_buf_printf(b, ",\"conversation\":\"%s\"", hex);
    } else {
        sy_buf_puts(b, ",\"conversation\":null");
    }
    num(b, "propensity", r->propensity);
    sy_buf_printf(b, ",\"n_candidates\":%u,\"context\":[", r->n_candidates);
    const uint8_t *x;
    int dim = sy_store_decision_x(v.mv_data, v.mv_size, &x);
    for (int i = 0; i < dim; i++) {
        double d;
        memcpy(&d, x + 8 * i, 8);
        if (isfinite(d)) /* a damaged number is no reason for invalid JSON */
            sy_buf_printf(b, i ? ",%.17g" : "%.17g", d);
        else
            sy_buf_puts(b, i ? ",null" : "null");
    }
    sy_buf_puts(b, "]");
    MDB_val ov;
    if (mdb_get(txn, outc, &k, &ov) == 0 &&
        sy_store_decode_outcome(ov.mv_data, ov.mv_size, r) == 0) {
        sy_buf_printf(b, ",\"outcome\":{\"status\":%d,\"stream\":%s", r->status,
                      r->stream ? "true" : "false");
        num(b, "latency_ms", r->latency_ms);
        num(b, "ttft_ms", r->ttft_ms);
        sy_buf_printf(b,
                      ",\"prompt_tokens\":%lld,\"completion_tokens\":%lld,\"cached_tokens\":%lld",
                      (long long)r->prompt_tokens, (long long)r->completion_tokens,
                      (long long)r->cached_tokens);
        sy_buf_printf(b, ",\"usage_estimated\":%s", r->usage_estimated ? "true" : "false");
        num(b, "cost_usd", r->cost_usd);
        str(b, "error", r->error, strlen(r->error));
        sy_buf_puts(b, "}");
    } else {
        sy_buf_puts(b, ",\"outcome\":null");
    }
    MDB_val fv;
    sy_store_feedback_rec f;
    if (mdb_get(txn, fb, &k, &fv) == 0 &&
        sy_store_decode_feedback(fv.mv_data, fv.mv_size, &f) == 0) {
        sy_buf_puts(b, ",\"feedback\":{");
        sy_buf_printf(b, "\"value\":%.17g,\"ts_ms\":%llu,\"by_token\":%s", f.value,
                      (unsigned long long)f.ts_ms, f.by_token ? "true" : "false");
        sy_buf_printf(b, ",\"implicit\":%s,\"weight\":%.17g", f.implicit ? "true" : "false",
                      f.weight > 0 ? f.weight : 1);
        str(b, "comment", f.comment, f.comment_len);
        sy_buf_puts(b, ",\"tags\":");
        sy_buf_append(b, f.tags_len ? f.tags : "null", f.tags_len ? f.tags_len : 4);
        sy_buf_puts(b, "}");
    } else {
        sy_buf_puts(b, ",\"feedback\":null");
    }
}

long sy_store_export(const char *dir, FILE *out, void (*format_id)(const uint8_t id[16], char *buf),
                     char *err, size_t err_len)
{
    MDB_env *env = NULL;
    MDB_txn *txn = NULL;
    MDB_cursor *cur = NULL;
    MDB_dbi dec, outc, fb;
    long lines = 0;
    int rc = mdb_env_create(&env);
    if (rc == 0)
        rc = mdb_env_set_maxdbs(env, 16);
    if (rc == 0)
        rc = mdb_env_open(env, dir, MDB_RDONLY | MDB_NOTLS, 0600);
    if (rc == 0)
        rc = mdb_txn_begin(env, NULL, MDB_RDONLY, &txn);
    if (rc == 0)
        rc = mdb_dbi_open(txn, "decisions", 0, &dec);
    if (rc == 0)
        rc = mdb_dbi_open(txn, "outcomes", 0, &outc);
    if (rc == 0)
        rc = mdb_dbi_open(txn, "feedback", 0, &fb);
    if (rc == 0)
        rc = mdb_cursor_open(txn, dec, &cur);
    if (rc) {
        snprintf(err, err_len, "cannot read the store in %s: %s", dir, mdb_strerror(rc));
        lines = -1;
        goto done;
    }
    MDB_val k, v;
    sy_buf b = {0};
    for (rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST); rc == 0;
         rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
        sy_store_request r;
        if (k.mv_size != 16 || sy_store_decode_decision(v.mv_data, v.mv_size, &r) != 0)
            continue; /* not a record this build understands */
        sy_buf_reset(&b);
        request_json(&b, txn, outc, fb, k, v, &r, format_id);
        sy_buf_puts(&b, "}\n");
        if (fwrite(b.data, 1, b.len, out) != b.len) {
            snprintf(err, err_len, "write failed");
            lines = -1;
            break;
        }
        lines++;
    }
    sy_buf_free(&b);
done:
    if (cur)
        mdb_cursor_close(cur);
    if (txn)
        mdb_txn_abort(txn);
    if (env)
        mdb_env_close(env);
    return lines;
}
