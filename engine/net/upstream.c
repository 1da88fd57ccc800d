/*
 * upstream.c — see upstream.h.
 *
 * Lock rules: none; a sy_upstream and its transfers belong to one worker thread.
 *
 * curl tells us which sockets to watch (socket_cb) and when to call it back
 * (timer_cb); libevent events feed readiness back through curl_multi_socket_action(),
 * after which finished transfers are collected in check_done(). Completion callbacks
 * run only from check_done(), never from inside curl.
 *
 * Easy handles are kept for the next transfer once one finishes (up to EASY_POOL_MAX
 * per worker): creating and destroying one per request was a measurable part of a
 * request's cost (bench/callgrind.py). Every option a transfer depends on is set again
 * in sy_upstream_start, so nothing of the previous transfer's settings is relied on.
 *
 * Per request, curl parsed the URL string again (curl_url_set, then curl_url_get of
 * every part). A worker talks to a handful of URLs (one per model and endpoint): each is
 * parsed once into a CURLU kept by the worker (up to URL_CACHE_MAX; curl reads a CURLU
 * without changing it) and handed to the transfer with CURLOPT_CURLU.
 *
 * One curl share, process-wide, holds the DNS cache and the TLS session cache of every
 * worker: a new connection to a provider resumes a TLS session any worker negotiated
 * instead of a full handshake (connections themselves stay per worker: curl does not
 * share a connection pool between threads).
 */
#include "upstream.h"

#include "sy_common.h"

#include <curl/curl.h>
#include <pthread.h>
#include <event2/event_struct.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define EASY_POOL_MAX 64
#define URL_CACHE_MAX 64

typedef struct url_entry {
    char *url;
    CURLU *h;
} url_entry;

struct sy_upstream {
    struct event_base *base;
    CURLM *multi;
    struct event timer;
    size_t active;
    int in_check;              /* check_done is running: frees are safe, recursion is not */
    int starting;              /* sy_upstream_start is adding a transfer (timer_cb) */
    CURL *pool[EASY_POOL_MAX]; /* finished easy handles, ready for reuse */
    size_t n_pool;
    url_entry urls[URL_CACHE_MAX]; /* parsed upstream URLs */
    size_t n_urls;
};

/* The process-wide share (DNS, TLS sessions) and its locks, one per kind of data. */
static CURLSH *g_share;
static const char *g_default_ca; /* curl's built-in CA bundle (NULL: none) */
static pthread_mutex_t g_share_locks[CURL_LOCK_DATA_LAST];
static pthread_once_t g_share_once = PTHREAD_ONCE_INIT;

static void share_lock(CURL *h, curl_lock_data data, curl_lock_access access, void *ud)
{
    pthread_mutex_lock(&g_share_locks[data]);
}

static void share_unlock(CURL *h, curl_lock_data data, void *ud)
{
    pthread_mutex_unlock(&g_share_locks[data]);
}

static void share_init(void)
{
    g_default_ca = curl_version_info(CURLVERSION_NOW)->cainfo;
    for (int i = 0; i < CURL_LOCK_DATA_LAST; i++)
        pthread_mutex_init(&g_share_locks[i], NULL);
    g_share = curl_share_init();
    if (!g_share)
        return; /* every transfer then keeps its own caches, as without a share */
    curl_share_setopt(g_share, CURLSHOPT_LOCKFUNC, share_lock);
    curl_share_setopt(g_share, CURLSHOPT_UNLOCKFUNC, share_unlock);
    curl_share_setopt(g_share, CURLSHOPT_SHARE, CURL_LOCK_DATA_DNS);
    curl_share_setopt(g_share, CURLSHOPT_SHARE, CURL_LOCK_DATA_SSL_SESSION);
}

/* A new easy handle, attached to the share (a pooled handle keeps it). */
static CURL *easy_new(void)
{
    CURL *e = curl_easy_init();
    if (e && g_share)
        curl_easy_setopt(e, CURLOPT_SHARE, g_share);
    return e;
}

/* The worker's parsed form of url, or NULL when it cannot keep one (then the transfer
 * is given the string). */
static CURLU *url_handle(sy_upstream *u, const char *url)
{
    for (size_t i = 0; i < u->n_urls; i++)
        if (strcmp(u->urls[i].url, url) == 0)
            return u->urls[i].h;
    if (u->n_urls == URL_CACHE_MAX)
        return NULL;
    CURLU *h = curl_url();
    if (!h || curl_url_set(h, CURLUPART_URL, url, 0) != CURLUE_OK) {
        curl_url_cleanup(h);
        return NULL; /* curl reports the bad URL when it is given the string */
    }
    u->urls[u->n_urls++] = (url_entry){sy_xstrdup(url), h};
    return h;
}

/* Keep a finished (already removed from the multi) easy handle for the next transfer. */
static void easy_release(sy_upstream *u, CURL *e)
{
    if (u->n_pool < EASY_POOL_MAX)
        u->pool[u->n_pool++] = e;
    else
        curl_easy_cleanup(e);
}

struct sy_upstream_xfer {
    sy_upstream *u;
    CURL *easy;
    struct curl_slist *headers;
    sy_upstream_cbs cbs;
    void *ud;
    int header_sent; /* on_header delivered */
    int paused;
    char retry_after[32];
    char errbuf[CURL_ERROR_SIZE];
};

/* Per-socket watcher that curl asked for. */
typedef struct sock_watch {
    struct event ev;
    sy_upstream *u;
} sock_watch;

static void check_done(sy_upstream *u)
{
    CURLMsg *msg;
    int left;
    while ((msg = curl_multi_info_read(u->multi, &left))) {
        if (msg->msg != CURLMSG_DONE)
            continue;
        sy_upstream_xfer *x = NULL;
        curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **)&x);
        CURLcode rc = msg->data.result;
        sy_upstream_result res = SY_UP_OK;
        switch (rc) {
        case CURLE_OK:
            res = SY_UP_OK;
            break;
        case CURLE_COULDNT_CONNECT:
        case CURLE_COULDNT_RESOLVE_HOST:
        case CURLE_COULDNT_RESOLVE_PROXY:
            res = SY_UP_CONNECT;
            break;
        case CURLE_OPERATION_TIMEDOUT:
            res = SY_UP_TIMEOUT;
            break;
        case CURLE_RECV_ERROR:
        case CURLE_PARTIAL_FILE:
        case CURLE_GOT_NOTHING:
        case CURLE_SEND_ERROR:
            res = SY_UP_RECV;
            break;
        default:
            res = SY_UP_OTHER;
        }
        if (rc == CURLE_OK && !x->header_sent) {
            long status = 0;
            curl_easy_getinfo(x->easy, CURLINFO_RESPONSE_CODE, &status);
            x->header_sent = 1;
            x->cbs.on_header(x->ud, status);
        }
        const char *detail = x->errbuf[0] ? x->errbuf : curl_easy_strerror(rc);
        curl_multi_remove_handle(u->multi, x->easy);
        u->active--;
        x->cbs.on_done(x->ud, res, detail);
        easy_release(u, x->easy);
        curl_slist_free_all(x->headers);
        free(x);
    }
}

static void socket_event_cb(evutil_socket_t fd, short what, void *arg)
{
    sock_watch *w = arg;
    sy_upstream *u = w->u;
    int action =
        ((what & EV_READ) ? CURL_CSELECT_IN : 0) | ((what & EV_WRITE) ? CURL_CSELECT_OUT : 0);
    int running;
    curl_multi_socket_action(u->multi, fd, action, &running);
    check_done(u);
}

static void timer_event_cb(evutil_socket_t fd, short what, void *arg)
{
    sy_upstream *u = arg;
    int running;
    curl_multi_socket_action(u->multi, CURL_SOCKET_TIMEOUT, 0, &running);
    check_done(u);
}

/* CURLMOPT_SOCKETFUNCTION: (re)arm or drop the libevent watcher for one socket. */
static int socket_cb(CURL *easy, curl_socket_t s, int what, void *userp, void *socketp)
{
    sy_upstream *u = userp;
    sock_watch *w = socketp;
    if (what == CURL_POLL_REMOVE) {
        if (w) {
            event_del(&w->ev);
            free(w);
            curl_multi_assign(u->multi, s, NULL);
        }
        return 0;
    }
    short kind = (short)(((what & CURL_POLL_IN) ? EV_READ : 0) |
                         ((what & CURL_POLL_OUT) ? EV_WRITE : 0) | EV_PERSIST);
    if (!w) {
        w = sy_xcalloc(1, sizeof(*w));
        w->u = u;
        curl_multi_assign(u->multi, s, w);
    } else {
        event_del(&w->ev);
    }
    event_assign(&w->ev, u->base, s, kind, socket_event_cb, w);
    event_add(&w->ev, NULL);
    return 0;
}

/*
 * CURLMOPT_TIMERFUNCTION: curl wants to be called after timeout_ms (-1 = never). The "at
 * once" that starts a new transfer runs later in this loop iteration, without another
 * epoll_wait. Every other timeout, 0 included, waits for the next iteration: a resumed
 * stream also asks for 0, and run in the same pass it would alternate with the client
 * writes it causes and keep the loop from ever polling its other sockets.
 */
static int timer_cb(CURLM *multi, long timeout_ms, void *userp)
{
    sy_upstream *u = userp;
    if (timeout_ms < 0) {
        evtimer_del(&u->timer);
        return 0;
    }
    if (timeout_ms == 0 && u->starting) {
        evtimer_del(&u->timer);
        event_active(&u->timer, EV_TIMEOUT, 0);
        return 0;
    }
    struct timeval tv = {timeout_ms / 1000, (timeout_ms % 1000) * 1000};
    evtimer_add(&u->timer, &tv);
    return 0;
}

static size_t write_cb(char *ptr, size_t size, size_t nmemb, void *userdata)
{
    sy_upstream_xfer *x = userdata;
    size_t len = size * nmemb;
    if (!x->header_sent) {
        long status = 0;
        curl_easy_getinfo(x->easy, CURLINFO_RESPONSE_CODE, &status);
        x->header_sent = 1;
        x->cbs.on_header(x->ud, status);
    }
    if (len == 0)
        return 0;
    if (!x->cbs.on_data(x->ud, ptr, len)) {
        x->paused = 1;
        return CURL_WRITEFUNC_PAUSE;
    }
    return len;
}

/* Capture the few response headers the gateway acts on. */
static size_t header_cb(char *buf, size_t size, size_t nitems, void *userdata)
{
    sy_upstream_xfer *x = userdata;
    size_t len = size * nitems;
    static const char ra[] = "retry-after:";
    if (len > sizeof(ra) && strncasecmp(buf, ra, sizeof(ra) - 1) == 0) {
        const char *v = buf + sizeof(ra) - 1;
        size_t n = len - (sizeof(ra) - 1);
        while (n && (*v == ' ' || *v == '\t'))
            v++, n--;
        while (n && (v[n - 1] == '\r' || v[n - 1] == '\n' || v[n - 1] == ' '))
            n--;
        if (n >= sizeof(x->retry_after))
            n = sizeof(x->retry_after) - 1;
        memcpy(x->retry_after, v, n);
        x->retry_after[n] = '\0';
    }
    return len;
}

sy_upstream *sy_upstream_new(struct event_base *base)
{
    pthread_once(&g_share_once, share_init);
    sy_upstream *u = sy_xcalloc(1, sizeof(*u));
    u->base = base;
    u->multi = curl_multi_init();
    if (!u->multi) {
        fprintf(stderr, "switchyard: curl_multi_init failed\n");
        abort();
    }
    evtimer_assign(&u->timer, base, timer_event_cb, u);
    curl_multi_setopt(u->multi, CURLMOPT_SOCKETFUNCTION, socket_cb);
    curl_multi_setopt(u->multi, CURLMOPT_SOCKETDATA, u);
    curl_multi_setopt(u->multi, CURLMOPT_TIMERFUNCTION, timer_cb);
    curl_multi_setopt(u->multi, CURLMOPT_TIMERDATA, u);
    curl_multi_setopt(u->multi, CURLMOPT_MAXCONNECTS, 1024L);
    return u;
}

sy_upstream_xfer *sy_upstream_start(sy_upstream *u, const sy_upstream_req *req,
                                    const sy_upstream_cbs *cbs, void *ud)
{
    sy_upstream_xfer *x = sy_xcalloc(1, sizeof(*x));
    x->u = u;
    x->cbs = *cbs;
    x->ud = ud;
    x->easy = u->n_pool ? u->pool[--u->n_pool] : easy_new();
    if (!x->easy) {
        free(x);
        return NULL;
    }
    for (const char *const *h = req->headers; h && *h; h++)
        x->headers = curl_slist_append(x->headers, *h);
    /* curl would otherwise add "Expect: 100-continue" to larger bodies: one round trip */
    x->headers = curl_slist_append(x->headers, "Expect:");
    CURL *e = x->easy;
    CURLU *uh = url_handle(u, req->url);
    curl_easy_setopt(e, CURLOPT_CURLU, uh); /* NULL: none, the string below counts */
    curl_easy_setopt(e, CURLOPT_URL, uh ? NULL : req->url);
    curl_easy_setopt(e, CURLOPT_HTTPHEADER, x->headers);
    curl_easy_setopt(e, CURLOPT_POST, 1L);
    curl_easy_setopt(e, CURLOPT_POSTFIELDS, req->body);
    curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)req->body_len);
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, write_cb);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, x);
    curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, header_cb);
    curl_easy_setopt(e, CURLOPT_HEADERDATA, x);
    curl_easy_setopt(e, CURLOPT_PRIVATE, x);
    curl_easy_setopt(e, CURLOPT_ERRORBUFFER, x->errbuf);
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(e, CURLOPT_TCP_NODELAY, 1L);
    curl_easy_setopt(e, CURLOPT_TCP_KEEPALIVE, 1L);
    curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(e, CURLOPT_ACCEPT_ENCODING, NULL); /* relay bytes exactly as sent */
    curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, (long)req->connect_timeout_ms);
    curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, (long)req->timeout_ms); /* 0: none */
    /* a pooled handle may come from a provider with its own ca_file: always set it */
    curl_easy_setopt(e, CURLOPT_CAINFO, req->ca_file ? req->ca_file : g_default_ca);
    u->starting = 1;
    CURLMcode added = curl_multi_add_handle(u->multi, e);
    u->starting = 0;
    if (added != CURLM_OK) {
        curl_easy_cleanup(e);
        curl_slist_free_all(x->headers);
        free(x);
        return NULL;
    }
    u->active++;
    return x;
}

void sy_upstream_cancel(sy_upstream_xfer *x)
{
    if (!x)
        return;
    sy_upstream *u = x->u;
    curl_multi_remove_handle(u->multi, x->easy); /* closes a half-used connection */
    curl_easy_cleanup(x->easy);
    curl_slist_free_all(x->headers);
    u->active--;
    free(x);
}

void sy_upstream_resume(sy_upstream_xfer *x)
{
    if (!x->paused)
        return;
    x->paused = 0;
    /* May deliver buffered data to write_cb right away; on_data may pause again. */
    curl_easy_pause(x->easy, CURLPAUSE_CONT);
}

int sy_upstream_paused(const sy_upstream_xfer *x)
{
    return x->paused;
}

const char *sy_upstream_retry_after(const sy_upstream_xfer *x)
{
    return x->retry_after[0] ? x->retry_after : NULL;
}

size_t sy_upstream_active(const sy_upstream *u)
{
    return u->active;
}

void sy_upstream_free(sy_upstream *u)
{
    if (!u)
        return;
    /* Transfers still attached belong to requests that are being torn down by the
     * HTTP server's close path; by the time a worker frees its upstream none remain. */
    evtimer_del(&u->timer);
    while (u->n_pool)
        curl_easy_cleanup(u->pool[--u->n_pool]);
    curl_multi_cleanup(u->multi);
    for (size_t i = 0; i < u->n_urls; i++) {
        curl_url_cleanup(u->urls[i].h);
        free(u->urls[i].url);
    }
    free(u);
}
