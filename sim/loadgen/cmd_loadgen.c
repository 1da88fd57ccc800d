/*
 * cmd_loadgen.c — `switchyard loadgen`: synthetic users for the learning demo and the
 * end-to-end learning tests. Each user thread sends realistic chat requests through a
 * route of the gateway and rates every answer thumbs-up with probability equal to the
 * hidden quality of the model that served it (read once from fake-provider's
 * GET /_fake/quality), using the response's feedback token like a browser widget.
 *
 * Threads share one `stats` under a mutex taken only to count (never across I/O).
 * Deterministic per seed except for the interleaving of the user threads.
 */
#include "loadgen.h"
#include "sy_common.h"

#include <cjson/cJSON.h>
#include <curl/curl.h>
#include <getopt.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#define MAX_MODELS 32
#define WINDOW     500 /* the summary's "recent" window, in requests */

static const char usage_text[] =
    "usage: switchyard loadgen --url URL --key KEY --route NAME --fake URL [options]\n"
    "\n"
    "Synthetic users: send chat requests through a route and rate each answer thumbs-up\n"
    "with probability equal to the hidden quality of the model that served it (from\n"
    "fake-provider's GET /_fake/quality). Prints each model's traffic share, thumbs-up\n"
    "rate and cost every --report-every seconds, and a summary at the end.\n"
    "\n"
    "  --url URL             the gateway, e.g. http://127.0.0.1:8080\n"
    "  --key KEY             a client key\n"
    "  --route NAME          the route (or model) to send requests to\n"
    "  --fake URL            fake-provider, for the hidden qualities\n"
    "  -n, --requests N      requests in all (default 1000)\n"
    "  -c, --concurrency N   user threads (default 4)\n"
    "  --seed N              random seed (default 1)\n"
    "  --report-every S      seconds between progress lines (default 2; 0 = none)\n"
    "  --feedback-rate P     probability that a user rates an answer (default 1)\n"
    "  --summary FILE        also write the summary as JSON to FILE\n"
    "  -h, --help            show this help\n";

typedef struct model_stats {
    char name[128]; /* the gateway model (x-switchyard-model) */
    double quality; /* hidden quality of its upstream, -1 if unknown */
    uint64_t requests, errors, ups, rated;
    double cost_usd;
} model_stats;

typedef struct shared {
    const char *url, *key, *route, *fake;
    long total, concurrency;
    double feedback_rate;
    unsigned long seed;
    pthread_mutex_t lock;
    long issued, done;
    model_stats models[MAX_MODELS];
    size_t n_models;
    int recent[WINDOW]; /* model index of the last WINDOW answers (ring) */
    long recent_n;
    cJSON *qualities; /* {"fake-x": q, ...} */
    double default_quality;
} shared;

typedef struct resp {
    sy_buf body;
    char model[128];
    char upstream[128]; /* x-switchyard-upstream-model: the fake provider's model name */
    char request_id[64];
    char token[64];
    double cost;
} resp;

static size_t on_body(char *p, size_t size, size_t n, void *ud)
{
    sy_buf_append(&((resp *)ud)->body, p, size * n);
    return size * n;
}

/* Copy a header value (trimmed) when its name matches. */
static void header_value(const char *line, size_t len, const char *name, char *out, size_t cap)
{
    size_t nl = strlen(name);
    if (len <= nl + 1 || strncasecmp(line, name, nl) != 0 || line[nl] != ':')
        return;
    const char *v = line + nl + 1;
    size_t vl = len - nl - 1;
    while (vl && (*v == ' ' || *v == '\t'))
        v++, vl--;
    while (vl && (v[vl - 1] == '\r' || v[vl - 1] == '\n' || v[vl - 1] == ' '))
        vl--;
    snprintf(out, cap, "%.*s", (int)vl, v);
}

static size_t on_header(char *p, size_t size, size_t n, void *ud)
{
    resp *r = ud;
    size_t len = size * n;
    char cost[64] = "";
    header_value(p, len, "x-switchyard-model", r->model, sizeof(r->model));
    header_value(p, len, "x-switchyard-upstream-model", r->upstream, sizeof(r->upstream));
    header_value(p, len, "x-switchyard-request-id", r->request_id, sizeof(r->request_id));
    header_value(p, len, "x-switchyard-feedback-token", r->token, sizeof(r->token));
    header_value(p, len, "x-switchyard-cost-usd", cost, sizeof(cost));
    if (cost[0])
        r->cost = strtod(cost, NULL);
    return len;
}

/* POST (or GET when body is NULL) url; returns the HTTP status or -1. */
static long http(CURL *h, const char *url, const char *auth, const char *token, const char *body,
                 resp *r)
{
    struct curl_slist *hs = NULL;
    char line[512];
    hs = curl_slist_append(hs, "Content-Type: application/json");
    if (auth) {
        snprintf(line, sizeof(line), "Authorization: Bearer %s", auth);
        hs = curl_slist_append(hs, line);
    }
    if (token) {
        snprintf(line, sizeof(line), "x-switchyard-feedback-token: %s", token);
        hs = curl_slist_append(hs, line);
    }
    curl_easy_reset(h);
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, hs);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, r);
    curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(h, CURLOPT_HEADERDATA, r);
    curl_easy_setopt(h, CURLOPT_TIMEOUT, 60L);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    if (body)
        curl_easy_setopt(h, CURLOPT_POSTFIELDS, body);
    long status = -1;
    if (curl_easy_perform(h) == CURLE_OK)
        curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
    curl_slist_free_all(hs);
    return status;
}

/* A few realistic request shapes: system prompts, multi-turn, varied lengths. */
static const char *const topics[] = {
    "Explain the difference between a mutex and a semaphore.",
    "Summarise the causes of the 2008 financial crisis in three sentences.",
    "Write a SQL query that finds the top 5 customers by revenue last month.",
    "Translate 'the meeting is moved to Thursday afternoon' into French and German.",
    "What is the time complexity of building a binary heap from n elements, and why?",
    "Draft a polite email declining a vendor's proposal.",
    "Why does my Python list comprehension create a list of identical dicts?",
    "Give me three names for a coffee shop near a train station.",
    "How do I rotate a PostgreSQL password without downtime?",
    "Compare REST and gRPC for an internal microservice API.",
};

static char *make_request(shared *sh, unsigned *seed)
{
    cJSON *req = cJSON_CreateObject();
    cJSON_AddStringToObject(req, "model", sh->route);
    cJSON *msgs = cJSON_AddArrayToObject(req, "messages");
    if (rand_r(seed) % 2) {
        cJSON *sys = cJSON_CreateObject();
        cJSON_AddStringToObject(sys, "role", "system");
        cJSON_AddStringToObject(sys, "content", "You are a concise, accurate assistant.");
        cJSON_AddItemToArray(msgs, sys);
    }
    int turns = 1 + (int)(rand_r(seed) % 3);
    for (int t = 0; t < turns; t++) {
        cJSON *u = cJSON_CreateObject();
        cJSON_AddStringToObject(u, "role", "user");
        cJSON_AddStringToObject(u, "content", topics[rand_r(seed) % SY_ARRAY_LEN(topics)]);
        cJSON_AddItemToArray(msgs, u);
        if (t + 1 < turns) {
            cJSON *a = cJSON_CreateObject();
            cJSON_AddStringToObject(a, "role", "assistant");
            cJSON_AddStringToObject(a, "content", "Here is a short answer to that.");
            cJSON_AddItemToArray(msgs, a);
        }
    }
    cJSON_AddNumberToObject(req, "max_tokens", 64 + rand_r(seed) % 192);
    char *s = cJSON_PrintUnformatted(req);
    cJSON_Delete(req);
    return s;
}

static model_stats *model_slot(shared *sh, const char *name, const char *upstream)
{
    for (size_t i = 0; i < sh->n_models; i++)
        if (strcmp(sh->models[i].name, name) == 0)
            return &sh->models[i];
    if (sh->n_models == MAX_MODELS)
        return NULL;
    model_stats *m = &sh->models[sh->n_models++];
    snprintf(m->name, sizeof(m->name), "%s", name);
    const cJSON *q = cJSON_GetObjectItemCaseSensitive(sh->qualities, upstream);
    m->quality = cJSON_IsNumber(q) ? q->valuedouble : sh->default_quality;
    return m;
}

static void *user_main(void *arg)
{
    shared *sh = arg;
    CURL *h = curl_easy_init();
    char url[1024], fb_url[1024];
    snprintf(url, sizeof(url), "%s/v1/chat/completions", sh->url);
    snprintf(fb_url, sizeof(fb_url), "%s/v1/feedback", sh->url);
    pthread_mutex_lock(&sh->lock);
    unsigned seed = (unsigned)(sh->seed * 2654435761u + (unsigned long)sh->issued * 40503u);
    pthread_mutex_unlock(&sh->lock);
    for (;;) {
        pthread_mutex_lock(&sh->lock);
        long mine = sh->issued < sh->total ? sh->issued++ : -1;
        pthread_mutex_unlock(&sh->lock);
        if (mine < 0)
            break;
        char *body = make_request(sh, &seed);
        resp r = {0};
        long status = http(h, url, sh->key, NULL, body, &r);
        free(body);
        const char *upstream = r.upstream; /* whose hidden quality rates the answer */
        int up = -1;
        double quality = -1;
        pthread_mutex_lock(&sh->lock);
        model_stats *m = r.model[0] ? model_slot(sh, r.model, upstream) : NULL;
        if (m) {
            m->requests++;
            m->cost_usd += r.cost;
            if (status != 200)
                m->errors++;
            quality = m->quality;
            sh->recent[sh->recent_n % WINDOW] = (int)(m - sh->models);
            sh->recent_n++;
        }
        pthread_mutex_unlock(&sh->lock);
        /* A user rates a good answer up with probability = hidden quality; errors down. */
        double u1 = (double)rand_r(&seed) / ((double)RAND_MAX + 1);
        double u2 = (double)rand_r(&seed) / ((double)RAND_MAX + 1);
        if (m && r.request_id[0] && r.token[0] && u1 < sh->feedback_rate) {
            up = status == 200 && u2 < quality;
            char fb[256];
            snprintf(fb, sizeof(fb), "{\"request_id\":\"%s\",\"rating\":\"%s\"}", r.request_id,
                     up ? "up" : "down");
            resp fr = {0};
            long fs = http(h, fb_url, NULL, r.token, fb, &fr);
            sy_buf_free(&fr.body);
            if (fs != 200)
                up = -1;
        }
        pthread_mutex_lock(&sh->lock);
        if (m && up >= 0) {
            m->rated++;
            m->ups += (uint64_t)up;
        }
        sh->done++;
        pthread_mutex_unlock(&sh->lock);
        sy_buf_free(&r.body);
    }
    curl_easy_cleanup(h);
    return NULL;
}

/* Share of each model among the last min(WINDOW, n) answers. */
static void recent_shares(const shared *sh, double *share)
{
    long n = sh->recent_n < WINDOW ? sh->recent_n : WINDOW;
    for (size_t i = 0; i < sh->n_models; i++)
        share[i] = 0;
    for (long k = 0; k < n; k++)
        share[sh->recent[(sh->recent_n - 1 - k) % WINDOW]] += 1.0 / (double)n;
}

static void report(shared *sh, FILE *out)
{
    double share[MAX_MODELS];
    pthread_mutex_lock(&sh->lock);
    recent_shares(sh, share);
    fprintf(out, "%6ld requests |", sh->done);
    for (size_t i = 0; i < sh->n_models; i++) {
        model_stats *m = &sh->models[i];
        fprintf(out, " %s %4.1f%% up %3.0f%% $%.4f |", m->name, 100 * share[i],
                m->rated ? 100.0 * (double)m->ups / (double)m->rated : 0.0, m->cost_usd);
    }
    fputc('\n', out);
    pthread_mutex_unlock(&sh->lock);
    fflush(out);
}

static void write_summary(shared *sh, FILE *out)
{
    double share[MAX_MODELS];
    recent_shares(sh, share);
    fprintf(out, "{\"requests\":%ld,\"window\":%d,\"models\":{", sh->done, WINDOW);
    for (size_t i = 0; i < sh->n_models; i++) {
        model_stats *m = &sh->models[i];
        fprintf(out,
                "%s\"%s\":{\"requests\":%llu,\"errors\":%llu,\"recent_share\":%.6f,"
                "\"hidden_quality\":%.6g,\"rated\":%llu,\"ups\":%llu,\"cost_usd\":%.9f}",
                i ? "," : "", m->name, (unsigned long long)m->requests,
                (unsigned long long)m->errors, share[i], m->quality, (unsigned long long)m->rated,
                (unsigned long long)m->ups, m->cost_usd);
    }
    fputs("}}\n", out);
}

/* Fetch fake-provider's hidden qualities. */
static int load_qualities(shared *sh)
{
    CURL *h = curl_easy_init();
    char url[1024];
    snprintf(url, sizeof(url), "%s/_fake/quality", sh->fake);
    resp r = {0};
    long status = http(h, url, NULL, NULL, NULL, &r);
    curl_easy_cleanup(h);
    cJSON *root = status == 200 ? cJSON_ParseWithLength(r.body.data, r.body.len) : NULL;
    sy_buf_free(&r.body);
    if (!root)
        return -1;
    sh->qualities = cJSON_DetachItemFromObjectCaseSensitive(root, "models");
    const cJSON *d = cJSON_GetObjectItemCaseSensitive(root, "default");
    sh->default_quality = cJSON_IsNumber(d) ? d->valuedouble : 0.5;
    cJSON_Delete(root);
    return sh->qualities ? 0 : -1;
}

int sy_cmd_loadgen(int argc, char **argv)
{
    enum { O_URL = 256, O_KEY, O_ROUTE, O_FAKE, O_SEED, O_REPORT, O_RATE, O_SUMMARY };
    static const struct option opts[] = {{"url", required_argument, NULL, O_URL},
                                         {"key", required_argument, NULL, O_KEY},
                                         {"route", required_argument, NULL, O_ROUTE},
                                         {"fake", required_argument, NULL, O_FAKE},
                                         {"requests", required_argument, NULL, 'n'},
                                         {"concurrency", required_argument, NULL, 'c'},
                                         {"seed", required_argument, NULL, O_SEED},
                                         {"report-every", required_argument, NULL, O_REPORT},
                                         {"feedback-rate", required_argument, NULL, O_RATE},
                                         {"summary", required_argument, NULL, O_SUMMARY},
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    shared sh = {.total = 1000, .concurrency = 4, .seed = 1, .feedback_rate = 1};
    double every = 2;
    const char *summary = NULL;
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "n:c:h", opts, NULL)) != -1) {
        switch (c) {
        case O_URL:
            sh.url = optarg;
            break;
        case O_KEY:
            sh.key = optarg;
            break;
        case O_ROUTE:
            sh.route = optarg;
            break;
        case O_FAKE:
            sh.fake = optarg;
            break;
        case 'n':
            sh.total = strtol(optarg, NULL, 10);
            break;
        case 'c':
            sh.concurrency = strtol(optarg, NULL, 10);
            break;
        case O_SEED:
            sh.seed = strtoul(optarg, NULL, 10);
            break;
        case O_REPORT:
            every = strtod(optarg, NULL);
            break;
        case O_RATE:
            sh.feedback_rate = strtod(optarg, NULL);
            break;
        case O_SUMMARY:
            summary = optarg;
            break;
        case 'h':
            fputs(usage_text, stdout);
            return 0;
        default:
            fputs(usage_text, stderr);
            return 2;
        }
    }
    if (optind < argc || !sh.url || !sh.key || !sh.route || !sh.fake || sh.total < 1 ||
        sh.concurrency < 1 || sh.concurrency > 256 || !(every >= 0) ||
        !(sh.feedback_rate >= 0 && sh.feedback_rate <= 1)) {
        fputs(usage_text, stderr);
        return 2;
    }
    curl_global_init(CURL_GLOBAL_DEFAULT);
    if (load_qualities(&sh) != 0) {
        fprintf(stderr, "switchyard loadgen: cannot read %s/_fake/quality\n", sh.fake);
        return 1;
    }
    pthread_mutex_init(&sh.lock, NULL);
    pthread_t *th = sy_xcalloc((size_t)sh.concurrency, sizeof(pthread_t));
    for (long i = 0; i < sh.concurrency; i++)
        pthread_create(&th[i], NULL, user_main, &sh);
    struct timespec t0;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    double next = every;
    for (;;) {
        pthread_mutex_lock(&sh.lock);
        int finished = sh.done >= sh.total;
        pthread_mutex_unlock(&sh.lock);
        if (finished)
            break;
        usleep(50000);
        struct timespec t;
        clock_gettime(CLOCK_MONOTONIC, &t);
        double el = (double)(t.tv_sec - t0.tv_sec) + (double)(t.tv_nsec - t0.tv_nsec) / 1e9;
        if (every > 0 && el >= next) {
            report(&sh, stdout);
            next += every;
        }
    }
    for (long i = 0; i < sh.concurrency; i++)
        pthread_join(th[i], NULL);
    free(th);
    report(&sh, stdout);
    if (summary) {
        FILE *f = fopen(summary, "w");
        if (!f) {
            perror(summary);
            return 1;
        }
        write_summary(&sh, f);
        fclose(f);
    }
    cJSON_Delete(sh.qualities);
    pthread_mutex_destroy(&sh.lock);
    curl_global_cleanup();
    return 0;
}
