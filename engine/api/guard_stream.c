/*
 * guard_stream.c: the output guardrails of a stream (guard_call.h). The adapter's
 * OpenAI chunks are parsed here; each choice's delta.content goes through a window
 * (engine/guard: SY_GUARD_WINDOW bytes held back, so a match split across chunks is
 * seen whole), and the chunk is re-emitted with the text the window released. Held text
 * is released before any chunk that is not content (finish_reason, usage, [DONE]). A
 * block ends the client's stream with one in-band error (code guardrail_blocked) and
 * nothing after it. The state is per attempt: a retried attempt starts afresh.
 */
#include "chat_call.h"
#include "guard_state.h"

#include <stdlib.h>
#include <string.h>

#define MAX_CHOICES 1024 /* choice indices checked; content of higher ones is dropped */

static void reset_stream(sy_call_guard *g, unsigned attempt)
{
    for (size_t i = 0; i < g->n_win; i++)
        sy_guard_window_free(&g->win[i]);
    free(g->win);
    g->win = NULL;
    g->n_win = 0;
    cJSON_Delete(g->tmpl);
    g->tmpl = NULL;
    sy_sse_free(&g->sse);
    sy_sse_init(&g->sse, MAX_SSE_EVENT);
    sy_buf_reset(&g->raw);
    g->blocked = 0;
    g->attempt = attempt;
}

sy_buf *sy_guard_stream_sink(sy_call *c, sy_buf *dst)
{
    sy_call_guard *g = c->guard;
    if (!g || (!g->out.n && !sy_guard_restoring(g)))
        return dst;
    if (g->attempt != c->att.attempts)
        reset_stream(g, c->att.attempts);
    return &g->raw;
}

/* The window of choice idx (grown on demand), or NULL past MAX_CHOICES. */
static sy_guard_window *window(sy_call_guard *g, long idx)
{
    if (idx < 0 || idx >= MAX_CHOICES)
        return NULL;
    if ((size_t)idx >= g->n_win) {
        g->win = sy_xrealloc(g->win, ((size_t)idx + 1) * sizeof(*g->win));
        memset(g->win + g->n_win, 0, ((size_t)idx + 1 - g->n_win) * sizeof(*g->win));
        g->n_win = (size_t)idx + 1;
    }
    return &g->win[idx];
}

static void write_event(sy_buf *dst, const cJSON *j)
{
    char *s = cJSON_PrintUnformatted(j);
    sy_buf_puts(dst, "data: ");
    sy_buf_puts(dst, s ? s : "{}");
    sy_buf_puts(dst, "\n\n");
    free(s);
}

/* The stream's one in-band error for a block by guard gd; nothing is relayed after. */
static void send_block(sy_call *c, const sy_guard *gd)
{
    sy_call_guard *g = c->guard;
    char msg[200];
    sy_guard_block_message(sy_guard_name(gd), "answer", msg, sizeof(msg));
    cJSON *e = cJSON_CreateObject();
    cJSON *err = cJSON_AddObjectToObject(e, "error");
    cJSON_AddStringToObject(err, "message", msg);
    cJSON_AddStringToObject(err, "type", "invalid_request_error");
    cJSON_AddNullToObject(err, "param");
    cJSON_AddStringToObject(err, "code", "guardrail_blocked");
    write_event(g->dst, e);
    cJSON_Delete(e);
    g->blocked = 1;
    c->att.rs.error_sent = "guardrail_blocked";
}

/* Feed one choice's text (final: its last) and return the released text in rel; -1
 * after sending the block. */
static int feed(sy_call *c, sy_guard_window *w, const char *text, size_t len, int final,
                sy_buf *rel)
{
    sy_call_guard *g = c->guard;
    sy_guard_run run;
    sy_guard_run_init(g, &g->out, sy_guard_restoring(g), &run);
    g->out.ran = g->out.n > 0;
    if (sy_guard_window_feed(w, &run, text, len, final, rel) == 0)
        return 0;
    send_block(c, g->out.gs[run.blocked]);
    return -1;
}

/* Keep the envelope of a chunk (all but its choices and usage) for held text. */
static void keep_template(sy_call_guard *g, const cJSON *j)
{
    cJSON_Delete(g->tmpl);
    g->tmpl = cJSON_Duplicate(j, 1);
    cJSON_DeleteItemFromObjectCaseSensitive(g->tmpl, "choices");
    cJSON_DeleteItemFromObjectCaseSensitive(g->tmpl, "usage");
}

/* Release every window's held text as content chunks (before a non-content event). */
static int flush_all(sy_call *c)
{
    sy_call_guard *g = c->guard;
    for (size_t i = 0; i < g->n_win; i++) {
        if (!g->win[i].pending.len)
            continue;
        sy_buf rel = {0};
        if (feed(c, &g->win[i], "", 0, 1, &rel) < 0) {
            sy_buf_free(&rel);
            return -1;
        }
        if (rel.len) {
            cJSON *j = g->tmpl ? cJSON_Duplicate(g->tmpl, 1) : cJSON_CreateObject();
            cJSON *ch = cJSON_CreateObject();
            cJSON_AddNumberToObject(ch, "index", (double)i);
            cJSON *delta = cJSON_AddObjectToObject(ch, "delta");
            cJSON_AddStringToObject(delta, "content", rel.data);
            cJSON_AddNullToObject(ch, "finish_reason");
            cJSON *arr = cJSON_AddArrayToObject(j, "choices");
            cJSON_AddItemToArray(arr, ch);
            write_event(c->guard->dst, j);
            cJSON_Delete(j);
        }
        sy_buf_free(&rel);
    }
    return 0;
}

/*
 * One choice of a chunk: its content through its window. *emit is set when the chunk
 * carries something for the client. -1 after a block.
 */
static int check_choice(sy_call *c, cJSON *ch, long pos, int *emit)
{
    const cJSON *ix = cJSON_GetObjectItemCaseSensitive(ch, "index");
    long idx = cJSON_IsNumber(ix) ? (long)ix->valuedouble : pos;
    cJSON *delta = cJSON_GetObjectItemCaseSensitive(ch, "delta");
    cJSON *content = cJSON_GetObjectItemCaseSensitive(delta, "content");
    const cJSON *fin = cJSON_GetObjectItemCaseSensitive(ch, "finish_reason");
    int final = cJSON_IsString(fin);
    for (const cJSON *m = delta ? delta->child : NULL; m; m = m->next)
        if (strcmp(m->string, "content") != 0)
            *emit = 1; /* role, tool calls, refusal... */
    *emit |= final;
    if (!cJSON_IsString(content) && !final)
        return 0;
    sy_guard_window *w = window(c->guard, idx);
    sy_buf rel = {0};
    const char *text = cJSON_IsString(content) ? content->valuestring : "";
    if (w && feed(c, w, text, strlen(text), final, &rel) < 0) {
        sy_buf_free(&rel);
        return -1;
    }
    if (cJSON_IsString(content))
        cJSON_SetValuestring(content, rel.data ? rel.data : "");
    else if (rel.len && cJSON_IsObject(delta))
        cJSON_AddStringToObject(delta, "content", rel.data);
    *emit |= rel.len > 0;
    sy_buf_free(&rel);
    return 0;
}

/* One OpenAI event of the adapter's output, checked, onto g->dst. */
static int on_event(void *ud, const sy_sse_event *ev)
{
    sy_call *c = ud;
    sy_call_guard *g = c->guard;
    if (g->blocked)
        return 0;
    cJSON *j = ev->has_data ? cJSON_ParseWithLength(ev->data, ev->data_len) : NULL;
    cJSON *choices = cJSON_GetObjectItemCaseSensitive(j, "choices");
    if (!cJSON_IsArray(choices) || !cJSON_GetArraySize(choices)) {
        /* [DONE], usage, an error, a comment: what was held goes first */
        if (flush_all(c) == 0)
            sy_buf_append(g->dst, ev->raw, ev->raw_len);
        cJSON_Delete(j);
        return 0;
    }
    keep_template(g, j);
    int emit = 0;
    long pos = 0;
    cJSON *ch;
    cJSON_ArrayForEach(ch, choices)
    {
        if (check_choice(c, ch, pos++, &emit) < 0) {
            cJSON_Delete(j);
            return 0;
        }
    }
    const cJSON *usage = cJSON_GetObjectItemCaseSensitive(j, "usage");
    if (emit || (usage && !cJSON_IsNull(usage)))
        write_event(g->dst, j);
    cJSON_Delete(j);
    return 0;
}

void sy_guard_stream_relay(sy_call *c, sy_buf *dst)
{
    sy_call_guard *g = c->guard;
    if (!g || !g->raw.len)
        return;
    g->dst = dst;
    sy_sse_feed(&g->sse, g->raw.data, g->raw.len, on_event, c);
    sy_buf_reset(&g->raw);
}
