/*
 * fake_chat: one chat request of fake-provider from arrival to end — validation (auth,
 * JSON, the dialect's schema, the model, x-fake-* headers), the plan and the generated
 * answer, and the fp_req that carries it across timers: its timer callback, the
 * server's abort and drain callbacks (its release and end are fake_req.c's). Delivering the answer
 * is fake_faults.c and fake_stream.c; ownership rules are in fake_server.h.
 */
#include "fake_server.h"

#include "clock.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void req_timer_cb(evutil_socket_t fd, short what, void *arg)
{
    fp_req *r = arg;
    (void)fd;
    (void)what;
    if (r->phase == FP_PHASE_WAIT)
        fp_req_start(r);
    else if (r->phase == FP_PHASE_STREAM)
        fp_stream_pump(r);
}

/*
 * The client went away (sy_http_server's abort callback): what was still unsent never
 * reached it. A stalled request ends with its fault's outcome, any other as
 * client_closed. The sy_http_req is freed by the server right after this returns.
 */
static void req_on_abort(sy_http_req *req, void *ud)
{
    fp_req *r = ud;
    size_t unsent = sy_http_output_pending(req);
    if (!r->srv->shutting_down)
        r->rec->client_closed_ms = fp_now_ms();
    r->queued -= unsent < r->queued ? unsent : r->queued;
    r->hreq = NULL;
    fp_req_finish(r, r->phase == FP_PHASE_STALLED ? "error:stall" : "client_closed");
}

/* The output drained to the low-water mark: resume a paused stream, from the timer so
 * that nothing is written inside the server's write callback. */
static void req_on_drain(sy_http_req *req, void *ud)
{
    fp_req *r = ud;
    (void)req;
    if (r->phase == FP_PHASE_STREAM && r->paused) {
        r->paused = 0;
        fp_req_arm(r, 0);
    }
}

/* A new live request for rec (taking a reference), attached to req's callbacks. */
static fp_req *req_new(fp_server *srv, const fp_dialect *d, sy_http_req *req, fp_record *rec,
                       int stream)
{
    fp_req *r = sy_xcalloc(1, sizeof *r);
    r->srv = srv;
    r->hreq = req;
    r->d = d;
    r->rec = rec;
    rec->refs++;
    rec->live = r;
    r->stream = stream;
    r->phase = FP_PHASE_WAIT;
    r->timer = evtimer_new(srv->base, req_timer_cb, r);
    r->next_live = srv->live;
    if (srv->live)
        srv->live->prev = r;
    srv->live = r;
    srv->n_live++;
    req->ud = r;
    req->on_abort = req_on_abort;
    req->on_drain = req_on_drain;
    return r;
}

/* ---- validation */

/* Answer a recorded request that is refused before any fp_req exists. */
static void reject(fp_server *srv, fp_record *rec, sy_http_req *req, const fp_dialect *d,
                   fp_error_code code, const char *message, const char *outcome)
{
    rec->status = fp_send_error(req, d, code, message, -1, NULL);
    rec->first_byte_ms = fp_now_ms();
    fp_record_end(srv, rec, outcome);
}

/* A request header as an owned NUL-terminated string, or NULL when absent. */
static char *header_dup(const sy_http_req *req, const char *name)
{
    const sy_http_header *h = sy_http_req_header(req, name);
    return h ? sy_xstrndup(h->value, h->value_len) : NULL;
}

/* The x-fake-* test headers; 0 or SY_ERR_INVALID with a message in err. */
static int parse_overrides(const sy_http_req *req, fp_overrides *ov, sy_buf *err)
{
    static const char *const names[] = {"x-fake-error", "x-fake-latency-ms", "x-fake-tokens",
                                        "x-fake-tps", "x-fake-after-tokens"};
    char *v[SY_ARRAY_LEN(names)];
    for (size_t i = 0; i < SY_ARRAY_LEN(names); i++)
        v[i] = header_dup(req, names[i]);
    int rc = fp_overrides_parse(v[0], v[1], v[2], v[3], v[4], ov, err);
    for (size_t i = 0; i < SY_ARRAY_LEN(names); i++)
        free(v[i]);
    return rc;
}

/*
 * Validate a recorded chat request: auth, JSON, the dialect's schema and path, the
 * model, the x-fake-* headers. Returns the model's behaviour with chat and ov filled,
 * or NULL after answering the rejection.
 */
static const fp_model *validate(fp_server *srv, const fp_dialect *d, sy_http_req *req,
                                fp_record *rec, const cJSON *body, fp_chat *chat, fp_overrides *ov)
{
    sy_buf err = {0};
    const fp_model *m = NULL;
    if (!fp_authorized(srv, d, req)) {
        reject(srv, rec, req, d, FP_ERR_UNAUTHORIZED, NULL, "rejected:invalid_api_key");
    } else if (!body) {
        reject(srv, rec, req, d, FP_ERR_INVALID_REQUEST,
               "We could not parse the JSON body of your request.", "rejected:invalid_json");
    } else if (d->parse_chat(body, chat, &err) != SY_OK ||
               (d->parse_path && d->parse_path(req->path, chat, &err) != SY_OK)) {
        reject(srv, rec, req, d, FP_ERR_INVALID_REQUEST, err.data, "rejected:invalid_request");
    } else {
        rec->model = sy_xstrdup(chat->model);
        rec->stream = chat->stream;
        fp_counters_add(&srv->by_model, chat->model);
        m = fp_scenario_lookup(srv->scenario, chat->model);
        if (!m) {
            char msg[512];
            snprintf(msg, sizeof msg,
                     "The model `%s` does not exist or you do not have access to it.", chat->model);
            reject(srv, rec, req, d, FP_ERR_MODEL_NOT_FOUND, msg, "rejected:model_not_found");
        } else if (parse_overrides(req, ov, &err) != SY_OK) {
            reject(srv, rec, req, d, FP_ERR_INVALID_REQUEST, err.data, "rejected:invalid_request");
            m = NULL;
        }
    }
    sy_buf_free(&err);
    return m;
}

/* ---- the answer */

static void make_id(fp_server *srv, uint64_t seq, char *out, size_t cap, const char *prefix)
{
    uint64_t z = seq * 0x9e3779b97f4a7c15ull + srv->id_nonce;
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    z ^= z >> 31;
    snprintf(out, cap, "%s%016llx%08llx", prefix, (unsigned long long)z,
             (unsigned long long)(seq & 0xffffffffull));
}

/*
 * The answer: a tool call (its tokens are those of the arguments text, so usage and
 * tokens_sent stay consistent), or text. A dialect that cannot render a streamed call
 * never answers with one. Takes chat->tool_name when it calls the tool.
 */
static void build_answer(fp_req *r, const fp_model *m, fp_chat *chat)
{
    int truncated = 0;
    if (r->d->render_stream_tool_call &&
        fp_tool_call_args(chat->tool_name, chat->last_is_tool_result, chat->echo.data,
                          chat->echo.len, &r->tool_args)) {
        fp_tokenize(r->tool_args.data, r->tool_args.len, &r->text);
        r->tool_name = chat->tool_name;
        chat->tool_name = NULL;
        r->x.tool_name = r->tool_name;
        r->x.tool_args_json = r->tool_args.data;
        fp_tool_call_id(r->srv->seed, r->rec->seq, r->x.tool_call_id, sizeof r->x.tool_call_id);
        r->rec->tool_call = sy_xstrdup(r->tool_name);
    } else {
        fp_content_build(m, chat->echo.data, chat->echo.len, r->plan.tokens, chat->max_tokens,
                         &r->text, &truncated);
    }
    r->x.truncated = truncated;
    r->x.completion_tokens = (long)r->text.n;
}

/* What the renderers need besides the answer: ids, model, usage. Takes chat->model. */
static void build_exchange(fp_req *r, fp_chat *chat)
{
    fp_exchange *x = &r->x;
    make_id(r->srv, r->rec->seq, x->id, sizeof x->id, "chatcmpl-");
    x->created = (int64_t)(sy_wall_ms() / 1000);
    r->model = chat->model;
    chat->model = NULL;
    x->model = r->model;
    x->include_usage = chat->include_usage;
    x->text = r->text.text.data;
    x->text_len = r->text.text.len;
    x->seq = &r->seq;
    x->prompt_tokens = fp_prompt_tokens(chat->prompt_bytes);
    x->cached_tokens =
        r->plan.cached_tokens < x->prompt_tokens ? r->plan.cached_tokens : x->prompt_tokens;
    long uncached = x->prompt_tokens - x->cached_tokens;
    x->cache_write_tokens =
        r->plan.cache_write_tokens < uncached ? r->plan.cache_write_tokens : uncached;

    char rid[48];
    make_id(r->srv, r->rec->seq ^ 0x5bd1e995ull, rid, sizeof rid, "req_");
    snprintf(r->headers, sizeof r->headers, "x-request-id: %s\r\n", rid);
}

void fp_handle_chat(fp_server *srv, const fp_dialect *d, sy_http_req *req)
{
    const cJSON *body;
    fp_record *rec = fp_record_start(srv, d, req, &body);
    fp_chat chat = {0};
    fp_overrides ov;
    const fp_model *m = validate(srv, d, req, rec, body, &chat, &ov);
    if (m) {
        fp_req *r = req_new(srv, d, req, rec, chat.stream);
        fp_plan_make(m, chat.stream, &ov, srv->fault_rng, srv->latency_rng, &r->plan);
        rec->fault = r->plan.fault ? fp_fault_name(r->plan.fault) : NULL;
        build_answer(r, m, &chat);
        build_exchange(r, &chat);
        if (r->plan.delay_ms > 0)
            fp_req_arm(r, r->plan.delay_ms);
        else
            fp_req_start(r);
    }
    fp_record_unref(rec);
    fp_chat_free(&chat);
}
