/* feedback_api: see feedback_api.h. */
#include "feedback_api.h"

#include "api_common.h"
#include "cluster_node.h"
#include "feedback_token.h"
#include "rating.h"
#include "keys.h"
#include "metrics.h"
#include "server.h"
#include "sha256.h"
#include "worker.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_COMMENT 4096
#define MAX_TAGS    32
#define MAX_TAG_LEN 64

typedef struct sy_fb_call {
    sy_worker_job job; /* first: the worker runs the verdict through its mailbox */
    sy_worker *w;
    sy_http_req *req; /* NULL once the client went away */
    char id[SY_REQID_LEN + 1];
    char key_name[SY_STORE_NAME_MAX]; /* for the log line; "" with a token */
    double value;
    sy_store_ack ack;
    /* cluster mode: the rating as stored, kept to store it again after a look-up */
    sy_store_feedback fb; /* comment and tags: the copies below */
    char *comment, *tags;
    int looked_up;            /* the look-up was done: a 404 now is final */
    int found;                /* look-up: 1 found, 0 unknown, -1 Redis unavailable */
    sy_store_request summary; /* the serving node's summary when found */
    double *x;                /* its context (summary.x) */
} sy_fb_call;

static void answer(sy_worker_job *job, int live);

static void bad(sy_http_req *req, const char *param, const char *msg)
{
    sy_http_respond_error(req, 400, "invalid_request_error", "invalid_request", param, msg, NULL);
}

static void fb_abort(sy_http_req *req, void *ud)
{
    sy_fb_call *f = ud;
    f->req = NULL;
}

/* Runs on the store thread: hand the verdict to the worker that owns the request. */
static void fb_ack(void *ud, const sy_store_ack *ack)
{
    sy_fb_call *f = ud;
    f->ack = *ack;
    sy_worker_post(f->w, &f->job);
}

static void fb_free(sy_fb_call *f)
{
    free(f->comment);
    free(f->tags);
    free(f->x);
    free(f);
}

/* On the cluster thread: keep what the look-up found and hand it to the worker. */
static void fb_looked_up(void *ud, int status, const sy_cluster_obs *found)
{
    sy_fb_call *f = ud;
    f->found = status;
    if (status == 1) {
        f->summary = found->req;
        f->x = found->req.dim ? sy_xmalloc(sizeof(double) * found->req.dim) : NULL;
        if (f->x)
            memcpy(f->x, found->req.x, sizeof(double) * found->req.dim);
        f->summary.x = f->x;
    }
    sy_worker_post(f->w, &f->job);
}

/*
 * On the worker, after a look-up: a request another node served, rated by its own key
 * or with its token, is copied into this node's store as a foreign record (the learner
 * does not learn it as an outcome again) and the rating is stored after it, so the
 * acknowledgement means what it means for a local request: synced to this node's LMDB.
 * The learner then publishes the rating to every node.
 */
static void fb_after_lookup(sy_worker_job *job, int live)
{
    sy_fb_call *f = (sy_fb_call *)job;
    f->job.run = answer;
    f->looked_up = 1;
    if (!live || !f->req) {
        fb_free(f);
        return;
    }
    if (f->found != 1 || (!f->fb.by_token && strcmp(f->summary.key_name, f->key_name) != 0)) {
        f->ack.status = f->found < 0 ? 503 : 404;
        answer(&f->job, 1);
        return;
    }
    sy_store_request r = f->summary;
    snprintf(r.error, sizeof(r.error), "%s", SY_CLUSTER_FOREIGN);
    r.cost_usd = 0; /* spent on the serving node: not this node's key spend */
    r.propensity = NAN;
    r.ttft_ms = NAN;
    sy_store_put_request(f->w->server->store, &r);
    sy_store_put_feedback(f->w->server->store, &f->fb, fb_ack, f);
}

/* Answer one verdict on the worker's loop (live), or only free it: the client is gone, or
 * the worker is (not live). In cluster mode an unknown request is first looked up. */
static void answer(sy_worker_job *job, int live)
{
    sy_fb_call *f = (sy_fb_call *)job;
    sy_http_req *req = live ? f->req : NULL;
    if (req && f->ack.status == 404 && !f->looked_up && f->w->server->cluster) {
        f->job.run = fb_after_lookup;
        sy_cluster_lookup(f->w->server->cluster, f->fb.id, fb_looked_up, f);
        return;
    }
    if (req) {
        req->on_abort = NULL;
        req->ud = NULL;
        char msg[160];
        switch (f->ack.status) {
        case 200: {
            sy_metrics_feedback(f->ack.route, f->ack.model, f->value);
            sy_buf b = {0};
            sy_buf_printf(&b, "{\"object\":\"feedback\",\"request_id\":\"%s\",\"value\":", f->id);
            sy_buf_num(&b, f->value);
            sy_buf_printf(&b, ",\"replaced\":%s", f->ack.replaced ? "true" : "false");
            if (f->ack.replaced) {
                sy_buf_puts(&b, ",\"previous_value\":");
                sy_buf_num(&b, f->ack.previous);
            }
            sy_buf_puts(&b, ",\"route\":");
            if (f->ack.route[0])
                sy_buf_json_string(&b, f->ack.route, strlen(f->ack.route));
            else
                sy_buf_puts(&b, "null");
            sy_buf_puts(&b, ",\"model\":");
            sy_buf_json_string(&b, f->ack.model, strlen(f->ack.model));
            sy_buf_puts(&b, "}");
            sy_http_respond(req, 200, "application/json", NULL, b.data, b.len);
            sy_buf_free(&b);
            break;
        }
        case 404:
            snprintf(msg, sizeof(msg), "no request %s for this key", f->id);
            sy_http_respond_error(req, 404, "invalid_request_error", "request_not_found",
                                  "request_id", msg, NULL);
            break;
        case 503:
            if (!f->looked_up || f->found >= 0)
                goto store_failed;
            sy_http_respond_error(req, 503, "server_error", "cluster_unavailable", "request_id",
                                  "this node does not know the request and the cluster cannot be "
                                  "reached; retry, or send the rating to the node that served it",
                                  "Retry-After: 1\r\n");
            break;
        case 410:
            snprintf(msg, sizeof(msg), "request %s is older than the feedback window", f->id);
            sy_http_respond_error(req, 410, "invalid_request_error", "feedback_window_expired",
                                  "request_id", msg, NULL);
            break;
        default:
        store_failed:
            sy_http_respond_error(req, 503, "server_error", "store_unavailable", NULL,
                                  "the rating could not be stored; retry", "Retry-After: 1\r\n");
        }
        sy_api_note note = {"POST", "/v1/feedback"};
        sy_api_log_answered(f->w, req, &note, "client", f->key_name[0] ? f->key_name : NULL);
    }
    fb_free(f);
}

/* The rating as a value in [0,1] (feedback/rating.h); -1 after answering the 400. */
static double read_value(sy_http_req *req, const cJSON *root)
{
    const char *param = NULL, *message = NULL;
    double v = sy_rating_read(root, &param, &message);
    if (v < 0)
        bad(req, param, message);
    return v;
}

/* Check the optional fields; on success *tags is a compact JSON array (malloc'd) or NULL. */
static int read_extras(sy_http_req *req, const cJSON *root, const char **comment, char **tags)
{
    static const char *const known[] = {"request_id", "rating", "value",
                                        "comment",    "tags",   "feedback_token"};
    for (const cJSON *m = root->child; m; m = m->next) {
        size_t i = 0;
        while (i < SY_ARRAY_LEN(known) && strcmp(m->string, known[i]) != 0)
            i++;
        if (i == SY_ARRAY_LEN(known)) {
            char msg[200];
            snprintf(msg, sizeof(msg), "unknown field \"%.100s\"", m->string);
            bad(req, m->string, msg);
            return -1;
        }
    }
    const cJSON *c = cJSON_GetObjectItemCaseSensitive(root, "comment");
    *comment = NULL;
    if (c && !cJSON_IsNull(c)) {
        if (!cJSON_IsString(c) || strlen(c->valuestring) > MAX_COMMENT) {
            bad(req, "comment", "\"comment\" must be a string of at most 4096 bytes");
            return -1;
        }
        *comment = c->valuestring;
    }
    const cJSON *t = cJSON_GetObjectItemCaseSensitive(root, "tags");
    *tags = NULL;
    if (t && !cJSON_IsNull(t)) {
        int ok = cJSON_IsArray(t) && cJSON_GetArraySize(t) <= MAX_TAGS;
        for (const cJSON *e = ok ? t->child : NULL; e; e = e->next)
            ok = ok && cJSON_IsString(e) && e->valuestring[0] &&
                 strlen(e->valuestring) <= MAX_TAG_LEN;
        if (!ok) {
            bad(req, "tags",
                "\"tags\" must be an array of at most 32 non-empty strings of at most "
                "64 bytes");
            return -1;
        }
        *tags = cJSON_PrintUnformatted(t);
    }
    return 0;
}

int sy_feedback_handle(sy_worker *w, sy_http_req *req, const char *key_name)
{
    int handed = 0;
    sy_store *store = w->server->store;
    cJSON *root = sy_api_json_body(req, NULL, 0); /* answers a malformed body itself */
    char *tags = NULL;
    if (!root)
        goto done;
    if (!cJSON_IsObject(root)) {
        bad(req, NULL, "the body must be a JSON object");
        goto done;
    }
    const cJSON *rid = cJSON_GetObjectItemCaseSensitive(root, "request_id");
    uint8_t id[16];
    if (!cJSON_IsString(rid) || sy_reqid_to_bytes(rid->valuestring, id) != 0) {
        bad(req, "request_id", "\"request_id\" must be an x-switchyard-request-id value");
        goto done;
    }
    /* Authorised by the key that made the request (checked by the store) or by the
     * request's feedback token (header or body). */
    int by_token = 0;
    const sy_http_header *th = sy_http_req_header(req, "x-switchyard-feedback-token");
    const cJSON *tb = cJSON_GetObjectItemCaseSensitive(root, "feedback_token");
    const char *token = th ? th->value : cJSON_IsString(tb) ? tb->valuestring : NULL;
    size_t token_len = th ? th->value_len : token ? strlen(token) : 0;
    if (token) {
        by_token =
            sy_feedback_token_valid(&w->server->token_key, rid->valuestring, token, token_len);
        if (!by_token && !key_name) {
            sy_api_unauthorized(req, "invalid feedback token for this request");
            goto done;
        }
    }
    if (!key_name && !by_token) {
        sy_api_unauthorized(req, "send the client key (Authorization: Bearer) or the request's "
                                 "x-switchyard-feedback-token");
        goto done;
    }
    const char *comment;
    if (read_extras(req, root, &comment, &tags) != 0) /* an unknown field is named first */
        goto done;
    double value = read_value(req, root);
    if (value < 0)
        goto done;

    sy_fb_call *f = sy_xcalloc(1, sizeof(*f));
    f->job.run = answer;
    f->w = w;
    f->req = req;
    f->value = value;
    snprintf(f->id, sizeof(f->id), "%s", rid->valuestring);
    snprintf(f->key_name, sizeof(f->key_name), "%s", key_name ? key_name : "");
    req->ud = f;
    req->on_abort = fb_abort;
    sy_store_feedback fb = {.by_token = by_token, .value = value, .comment = comment, .tags = tags};
    memcpy(fb.id, id, 16);
    snprintf(fb.key_name, sizeof(fb.key_name), "%s", key_name ? key_name : "");
    if (w->server->cluster) { /* kept to store it again after a look-up */
        f->fb = fb;
        f->fb.comment = f->comment = comment ? sy_xstrdup(comment) : NULL;
        f->fb.tags = f->tags = tags ? sy_xstrdup(tags) : NULL;
    }
    sy_store_put_feedback(store, &fb, fb_ack, f);
    handed = 1;
done:
    free(tags);
    cJSON_Delete(root);
    return handed;
}
