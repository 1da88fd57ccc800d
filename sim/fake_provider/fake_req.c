/*
 * fake_req: the lifetime of an fp_req (fake_server.h): its timer, the release of the
 * sy_http_req for the last send, closing the connection the fault's way, and its end.
 */
#include "fake_server.h"

#include <stdlib.h>

void fp_req_finish(fp_req *r, const char *outcome)
{
    fp_server *srv = r->srv;
    fp_record_end(srv, r->rec, outcome);
    r->rec->bytes = r->queued;
    r->rec->live = NULL;
    fp_record_unref(r->rec);
    if (r->prev)
        r->prev->next_live = r->next_live;
    else
        srv->live = r->next_live;
    if (r->next_live)
        r->next_live->prev = r->prev;
    srv->n_live--;
    event_free(r->timer);
    fp_text_free(&r->text);
    free(r->model);
    free(r->tool_name);
    sy_buf_free(&r->tool_args);
    free(r);
}

sy_http_req *fp_req_release(fp_req *r)
{
    sy_http_req *req = r->hreq;
    r->hreq = NULL;
    return req;
}

void fp_req_arm(fp_req *r, double ms)
{
    if (ms < 0)
        ms = 0;
    struct timeval tv = {(time_t)(ms / 1000), (suseconds_t)((long)(ms * 1000) % 1000000)};
    evtimer_add(r->timer, &tv);
}

/* Close the connection the fault's way and end the request with that outcome. */
void fp_req_close(fp_req *r, sy_http_close_how how, const char *outcome)
{
    sy_http_close(fp_req_release(r), how);
    fp_req_finish(r, outcome);
}
