/*
 * fake_stats: what fake-provider remembers about the requests it served — one fp_record
 * per chat request in a ring of the last FP_RECENT_MAX, counters by model and outcome —
 * and the /_fake/ control API that reads and resets it (docs/fake-provider.md).
 *
 * Records are reference counted: the ring holds one reference, a live fp_req another
 * (fake_server.h). A rendered record borrows its body and headers, so a response is
 * rendered and sent before the records can change.
 */
#include "fake_quality.h"
#include "fake_server.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FP_BODY_RAW_MAX 65536 /* non-JSON bodies are kept up to this many bytes */

void fp_counters_add(fp_counters *c, const char *name)
{
    for (size_t i = 0; i < c->n; i++) {
        if (strcmp(c->v[i].name, name) == 0) {
            c->v[i].n++;
            return;
        }
    }
    if (c->n == c->cap) {
        c->cap = c->cap ? c->cap * 2 : 8;
        c->v = sy_xrealloc(c->v, c->cap * sizeof *c->v);
    }
    c->v[c->n++] = (fp_counter){sy_xstrdup(name), 1};
}

static void counters_clear(fp_counters *c)
{
    for (size_t i = 0; i < c->n; i++)
        free(c->v[i].name);
    free(c->v);
    memset(c, 0, sizeof *c);
}

void fp_record_unref(fp_record *r)
{
    if (!r || --r->refs > 0)
        return;
    free(r->path);
    free(r->model);
    free(r->body_raw);
    free(r->tool_call);
    cJSON_Delete(r->body);
    cJSON_Delete(r->headers);
    free(r);
}

/* Push a record into the ring (taking one reference), evicting the oldest. */
static void recent_push(fp_server *srv, fp_record *rec)
{
    rec->refs++;
    if (srv->recent_len == FP_RECENT_MAX) {
        fp_record_unref(srv->recent[srv->recent_head]);
        srv->recent[srv->recent_head] = rec;
        srv->recent_head = (srv->recent_head + 1) % FP_RECENT_MAX;
    } else {
        srv->recent[(srv->recent_head + srv->recent_len) % FP_RECENT_MAX] = rec;
        srv->recent_len++;
    }
}

void fp_stats_clear(fp_server *srv)
{
    for (size_t i = 0; i < srv->recent_len; i++)
        fp_record_unref(srv->recent[(srv->recent_head + i) % FP_RECENT_MAX]);
    srv->recent_head = srv->recent_len = 0;
    srv->total = 0;
    counters_clear(&srv->by_model);
    counters_clear(&srv->by_outcome);
}

static int is_credential_header(const char *lower)
{
    return strcmp(lower, "authorization") == 0 || strcmp(lower, "x-api-key") == 0 ||
           strcmp(lower, "x-goog-api-key") == 0 || strcmp(lower, "proxy-authorization") == 0;
}

/* The request headers as a JSON object: names lower-cased (a repeated name keeps its
 * last value), credential values replaced by "present". */
static cJSON *headers_json(const sy_http_req *req)
{
    cJSON *o = cJSON_CreateObject();
    for (size_t k = 0; k < req->head.n_headers; k++) {
        const sy_http_header *h = &req->head.headers[k];
        char name[128];
        size_t i = 0;
        for (; i < h->name_len && i < sizeof name - 1; i++) {
            char ch = h->name[i];
            name[i] = (char)(ch >= 'A' && ch <= 'Z' ? ch + 32 : ch);
        }
        name[i] = '\0';
        cJSON_DeleteItemFromObjectCaseSensitive(o, name);
        if (is_credential_header(name)) {
            cJSON_AddStringToObject(o, name, "present");
        } else {
            char *value = sy_xstrndup(h->value, h->value_len);
            cJSON_AddStringToObject(o, name, value);
            free(value);
        }
    }
    return o;
}

fp_record *fp_record_start(fp_server *srv, const fp_dialect *d, const sy_http_req *req,
                           const cJSON **body_out)
{
    fp_record *rec = sy_xcalloc(1, sizeof *rec);
    rec->refs = 1;
    rec->seq = ++srv->seq;
    rec->dialect = d->name;
    rec->path = sy_xstrdup(req->path);
    rec->start_ms = fp_now_ms();
    rec->first_byte_ms = rec->end_ms = rec->client_closed_ms = -1;
    rec->headers = headers_json(req);

    size_t len = req->body.len;
    const char *data = req->body.data;
    rec->body = len ? cJSON_ParseWithLength(data, len) : NULL;
    if (!rec->body && len)
        rec->body_raw = sy_xstrndup(data, len < FP_BODY_RAW_MAX ? len : FP_BODY_RAW_MAX);
    *body_out = rec->body;

    srv->total++;
    recent_push(srv, rec);
    return rec;
}

void fp_record_end(fp_server *srv, fp_record *rec, const char *outcome)
{
    if (rec->outcome[0])
        return;
    snprintf(rec->outcome, sizeof rec->outcome, "%s", outcome);
    rec->end_ms = fp_now_ms();
    fp_counters_add(&srv->by_outcome, outcome);
}

void fp_install_scenario(fp_server *srv, fp_scenario *s, int keep_seed)
{
    fp_scenario_free(srv->scenario);
    srv->scenario = s;
    if (s->has_seed && !keep_seed) {
        srv->seed = s->seed;
        fp_rng_seed(srv->fault_rng, srv->latency_rng, srv->seed);
    }
}

/* ---- /_fake/ control API */

static cJSON *ms_or_null(double ms)
{
    return ms < 0 ? cJSON_CreateNull() : cJSON_CreateNumber(ms);
}

static cJSON *string_or_null(const char *s)
{
    return s ? cJSON_CreateString(s) : cJSON_CreateNull();
}

/* Body bytes that reached the socket: for a live request, what was queued minus what
 * still waits in the connection's output buffer. */
static uint64_t bytes_sent(const fp_record *rec)
{
    if (!rec->live)
        return rec->bytes;
    uint64_t bytes = rec->live->queued;
    if (rec->live->hreq) {
        size_t unsent = sy_http_output_pending(rec->live->hreq);
        bytes -= unsent < bytes ? unsent : bytes;
    }
    return bytes;
}

/*
 * Render one record. Bodies and headers are added as references (no copy): the caller
 * deletes the returned tree before the record can change.
 */
static cJSON *record_json(const fp_record *rec)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddNumberToObject(o, "seq", (double)rec->seq);
    cJSON_AddStringToObject(o, "dialect", rec->dialect);
    cJSON_AddStringToObject(o, "path", rec->path);
    cJSON_AddItemToObject(o, "model", string_or_null(rec->model));
    cJSON_AddBoolToObject(o, "stream", rec->stream);
    cJSON_AddItemToObject(o, "fault", string_or_null(rec->fault));
    cJSON_AddItemToObject(o, "tool_call", string_or_null(rec->tool_call));
    cJSON_AddNumberToObject(o, "status", rec->status);
    cJSON_AddStringToObject(o, "outcome", rec->outcome[0] ? rec->outcome : "in_progress");
    cJSON_AddItemToObject(o, "start_ms", ms_or_null(rec->start_ms));
    cJSON_AddItemToObject(o, "first_byte_ms", ms_or_null(rec->first_byte_ms));
    cJSON_AddItemToObject(o, "end_ms", ms_or_null(rec->end_ms));
    cJSON_AddItemToObject(o, "client_closed_ms", ms_or_null(rec->client_closed_ms));
    cJSON_AddNumberToObject(o, "bytes_sent", (double)bytes_sent(rec));
    cJSON_AddNumberToObject(o, "tokens_sent", (double)rec->tokens);
    if (rec->body)
        cJSON_AddItemReferenceToObject(o, "body", rec->body);
    else
        cJSON_AddNullToObject(o, "body");
    if (rec->body_raw)
        cJSON_AddStringToObject(o, "body_raw", rec->body_raw);
    cJSON_AddItemReferenceToObject(o, "headers", rec->headers);
    return o;
}

static cJSON *counters_json(const fp_counters *c)
{
    cJSON *o = cJSON_CreateObject();
    for (size_t i = 0; i < c->n; i++)
        cJSON_AddNumberToObject(o, c->v[i].name, (double)c->v[i].n);
    return o;
}

/* Send doc (deleted here) as a JSON response. */
static void send_cjson(sy_http_req *req, int status, cJSON *doc)
{
    char *text = cJSON_PrintUnformatted(doc);
    sy_http_respond(req, status, "application/json", NULL, text, strlen(text));
    cJSON_free(text);
    cJSON_Delete(doc);
}

static void send_admin_error(sy_http_req *req, int status, const char *message)
{
    cJSON *doc = cJSON_CreateObject();
    cJSON *e = cJSON_AddObjectToObject(doc, "error");
    cJSON_AddStringToObject(e, "message", message);
    cJSON_AddStringToObject(e, "type", "invalid_request_error");
    send_cjson(req, status, doc);
}

static void admin_stats(fp_server *srv, sy_http_req *req)
{
    cJSON *doc = cJSON_CreateObject();
    cJSON_AddNumberToObject(doc, "now_ms", fp_now_ms());
    cJSON_AddNumberToObject(doc, "total_requests", (double)srv->total);
    cJSON_AddNumberToObject(doc, "in_flight", (double)srv->n_live);
    cJSON_AddItemToObject(doc, "by_model", counters_json(&srv->by_model));
    cJSON_AddItemToObject(doc, "by_outcome", counters_json(&srv->by_outcome));
    cJSON_AddNumberToObject(doc, "recent_limit", FP_RECENT_MAX);
    cJSON *list = cJSON_AddArrayToObject(doc, "requests");
    for (size_t i = 0; i < srv->recent_len; i++)
        cJSON_AddItemToArray(list,
                             record_json(srv->recent[(srv->recent_head + i) % FP_RECENT_MAX]));
    send_cjson(req, 200, doc);
}

/* GET: the per-model qualities and rules; POST: the qualities of a batch of prompts. */
static void admin_quality(fp_server *srv, sy_http_req *req)
{
    if (sy_http_req_method_is(req, "GET")) {
        send_cjson(req, 200, fp_quality_doc(srv->scenario));
        return;
    }
    cJSON *doc;
    sy_buf err = {0};
    if (fp_quality_batch(srv->scenario, req->body.data, req->body.len, &doc, &err) != SY_OK) {
        send_admin_error(req, 400, err.data);
        sy_buf_free(&err);
        return;
    }
    send_cjson(req, 200, doc);
}

static void admin_scenario(fp_server *srv, sy_http_req *req)
{
    const char *data = req->body.data ? req->body.data : "";
    fp_scenario *s;
    sy_buf err = {0};
    if (fp_scenario_parse(data, req->body.len, &s, &err) != SY_OK) {
        send_admin_error(req, 400, err.data);
        sy_buf_free(&err);
        return;
    }
    fp_install_scenario(srv, s, 0);
    cJSON *doc = cJSON_CreateObject();
    cJSON_AddBoolToObject(doc, "ok", 1);
    cJSON_AddNumberToObject(doc, "seed", (double)srv->seed);
    cJSON *names = cJSON_AddArrayToObject(doc, "models");
    for (size_t i = 0; i < s->n_models; i++)
        cJSON_AddItemToArray(names, cJSON_CreateString(s->models[i].name));
    send_cjson(req, 200, doc);
}

static void admin_reset(fp_server *srv, sy_http_req *req)
{
    fp_stats_clear(srv);
    fp_rng_seed(srv->fault_rng, srv->latency_rng, srv->seed);
    cJSON *doc = cJSON_CreateObject();
    cJSON_AddBoolToObject(doc, "ok", 1);
    cJSON_AddNumberToObject(doc, "seed", (double)srv->seed);
    send_cjson(req, 200, doc);
}

void fp_handle_admin(fp_server *srv, sy_http_req *req)
{
    static const struct {
        const char *path;
        const char *method;
        void (*fn)(fp_server *, sy_http_req *);
    } routes[] = {
        {"/_fake/stats", "GET", admin_stats},        {"/_fake/reset", "POST", admin_reset},
        {"/_fake/quality", "GET", admin_quality},    {"/_fake/quality", "POST", admin_quality},
        {"/_fake/scenario", "POST", admin_scenario},
    };
    int known_path = 0;
    for (size_t i = 0; i < SY_ARRAY_LEN(routes); i++) {
        if (strcmp(req->path, routes[i].path) != 0)
            continue;
        known_path = 1;
        if (sy_http_req_method_is(req, routes[i].method)) {
            routes[i].fn(srv, req);
            return;
        }
    }
    if (known_path)
        send_admin_error(req, 405, "method not allowed");
    else
        send_admin_error(req, 404, "unknown /_fake/ endpoint");
}
