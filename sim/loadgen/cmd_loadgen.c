/*
 * cmd_loadgen.c — `switchyard loadgen`: synthetic users for the learning demo and the
 * end-to-end learning tests. Each user thread sends chat requests through a route of
 * the gateway and rates every answer thumbs-up with probability equal to its hidden
 * quality, using the response's feedback token like a browser widget. The quality comes
 * from fake-provider (one number per model, or per prompt with its quality rules) or,
 * with --mix, from the mix file's per-model outcomes.
 *
 * Request i (0-based) draws its prompt and its user's coins from a generator seeded by
 * (--seed, i) alone, so the prompt sequence and the ratings given a served model do not
 * depend on the interleaving of the user threads. Threads share one lg_stats under a
 * mutex taken only to count (never across I/O); the mix is read-only once loaded.
 */
#include "loadgen.h"
#include "loadgen_internal.h"

#include <getopt.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static const char usage_text[] =
    "usage: switchyard loadgen --url URL --key KEY --route NAME --fake URL [options]\n"
    "       switchyard loadgen cache-calibrate --pairs FILE --url URL --key KEY --model M\n"
    "\n"
    "Synthetic users: send chat requests through a route and rate each answer thumbs-up\n"
    "with probability equal to the hidden quality of the model that served it (from\n"
    "fake-provider's /_fake/quality, or the mix's outcomes). Prints each model's traffic\n"
    "share, thumbs-up rate and cost (and, with --mix, each kind of prompt's shares) every\n"
    "--report-every seconds, and a summary at the end.\n"
    "\n"
    "  --url URL             the gateway, e.g. http://127.0.0.1:8080\n"
    "  --key KEY             a client key\n"
    "  --route NAME          the route (or model) to send requests to\n"
    "  --fake URL            fake-provider, for the hidden qualities (optional with a\n"
    "                        --mix whose every line has outcomes)\n"
    "  --mix FILE            replay this prompt mix (JSONL, one {\"prompt\", \"kind\",\n"
    "                        \"outcomes\"} per line; docs/simulator.md): each request\n"
    "                        draws a line at random; shares are reported per kind\n"
    "  -n, --requests N      requests in all (default 1000)\n"
    "  -c, --concurrency N   user threads (default 4)\n"
    "  --seed N              random seed (default 1)\n"
    "  --window N            the \"recent\" (and per kind \"early\") window, in requests\n"
    "                        (default 500)\n"
    "  --report-every S      seconds between progress lines (default 2; 0 = none)\n"
    "  --feedback-rate P     probability that a user rates an answer (default 1)\n"
    "  --summary FILE        also write the summary as JSON to FILE\n"
    "  -h, --help            show this help\n";

typedef struct shared {
    const char *url, *key, *route, *fake;
    long total, concurrency;
    double feedback_rate;
    unsigned long seed;
    pthread_mutex_t lock;
    long issued;
    lg_stats st;
    lg_mix mix;       /* n == 0 without --mix */
    cJSON *qualities; /* GET /_fake/quality "models", NULL without --fake */
    double default_quality;
} shared;

/* splitmix64: request i's own generator, seeded from (seed, i). */
static uint64_t next64(uint64_t *s)
{
    uint64_t z = (*s += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static double unit(uint64_t *s)
{
    return (double)(next64(s) >> 11) * 0x1.0p-53;
}

/* A few realistic request shapes without a mix: system prompts, multi-turn, lengths. */
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

static void add_message(cJSON *msgs, const char *role, const char *content)
{
    cJSON *m = cJSON_CreateObject();
    cJSON_AddStringToObject(m, "role", role);
    cJSON_AddStringToObject(m, "content", content);
    cJSON_AddItemToArray(msgs, m);
}

/* The request body: the mix's prompt p, or a random built-in conversation. */
static char *make_request(const shared *sh, const lg_prompt *p, uint64_t *rng)
{
    cJSON *req = cJSON_CreateObject();
    cJSON_AddStringToObject(req, "model", sh->route);
    cJSON *msgs = cJSON_AddArrayToObject(req, "messages");
    if (p) {
        if (p->system)
            add_message(msgs, "system", p->system);
        add_message(msgs, "user", p->text);
    } else {
        if (next64(rng) % 2)
            add_message(msgs, "system", "You are a concise, accurate assistant.");
        int turns = 1 + (int)(next64(rng) % 3);
        for (int t = 0; t < turns; t++) {
            add_message(msgs, "user", topics[next64(rng) % SY_ARRAY_LEN(topics)]);
            if (t + 1 < turns)
                add_message(msgs, "assistant", "Here is a short answer to that.");
        }
    }
    cJSON_AddNumberToObject(req, "max_tokens", 64 + (double)(next64(rng) % 192));
    char *s = cJSON_PrintUnformatted(req);
    cJSON_Delete(req);
    return s;
}

/* fake-provider's base quality of an upstream model (GET /_fake/quality), -1 unknown. */
static double base_quality(const shared *sh, const char *upstream)
{
    if (!sh->qualities)
        return -1;
    const cJSON *q = cJSON_GetObjectItemCaseSensitive(sh->qualities, upstream);
    return cJSON_IsNumber(q) ? q->valuedouble : sh->default_quality;
}

/* Rate one answer (POST /v1/feedback): up with probability q, down for an error.
 * Returns 1 up, 0 down, -1 not rated. */
static int rate(const shared *sh, CURL *h, const lg_resp *r, long status, double q, uint64_t *rng)
{
    double u1 = unit(rng), u2 = unit(rng);
    if (!r->request_id[0] || !r->token[0] || u1 >= sh->feedback_rate || (status == 200 && q < 0))
        return -1;
    int up = status == 200 && u2 < q;
    char fb[256], url[1024];
    snprintf(url, sizeof(url), "%s/v1/feedback", sh->url);
    snprintf(fb, sizeof(fb), "{\"request_id\":\"%s\",\"rating\":\"%s\"}", r->request_id,
             up ? "up" : "down");
    lg_resp fr = {0};
    long fs = lg_http(h, url, NULL, r->token, fb, &fr);
    sy_buf_free(&fr.body);
    return fs == 200 ? up : -1;
}

static void *user_main(void *arg)
{
    shared *sh = arg;
    CURL *h = curl_easy_init();
    char url[1024];
    snprintf(url, sizeof(url), "%s/v1/chat/completions", sh->url);
    for (;;) {
        pthread_mutex_lock(&sh->lock);
        long mine = sh->issued < sh->total ? sh->issued++ : -1;
        pthread_mutex_unlock(&sh->lock);
        if (mine < 0)
            break;
        uint64_t rng = sh->seed * 0xd1342543de82ef95ull ^ (uint64_t)mine;
        next64(&rng);
        const lg_prompt *p = sh->mix.n ? &sh->mix.p[next64(&rng) % sh->mix.n] : NULL;
        int kind = p ? p->kind : -1;
        char *body = make_request(sh, p, &rng);
        lg_resp r = {0};
        long status = lg_http(h, url, sh->key, NULL, body, &r);
        free(body);
        double q = p ? lg_mix_quality(p, r.upstream, r.model) : base_quality(sh, r.upstream);
        pthread_mutex_lock(&sh->lock);
        int m = r.model[0] ? lg_stats_model(&sh->st, r.model, base_quality(sh, r.upstream)) : -1;
        if (m >= 0)
            lg_stats_served(&sh->st, kind, m, status, r.cost);
        pthread_mutex_unlock(&sh->lock);
        int up = m >= 0 ? rate(sh, h, &r, status, q, &rng) : -1;
        pthread_mutex_lock(&sh->lock);
        if (m >= 0)
            lg_stats_rated(&sh->st, kind, m, status == 200 ? q : -1, up);
        sh->st.done++;
        pthread_mutex_unlock(&sh->lock);
        sy_buf_free(&r.body);
    }
    curl_easy_cleanup(h);
    return NULL;
}

/* Fetch fake-provider's base qualities (GET /_fake/quality). */
static int load_qualities(shared *sh)
{
    CURL *h = curl_easy_init();
    char url[1024];
    snprintf(url, sizeof(url), "%s/_fake/quality", sh->fake);
    lg_resp r = {0};
    long status = lg_http(h, url, NULL, NULL, NULL, &r);
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

/* Load the mix and the qualities it needs; 0, or 1 after printing why not. */
static int prepare(shared *sh, const char *mix_path)
{
    sy_buf err = {0};
    int rc = 0;
    if (mix_path && lg_mix_load(mix_path, &sh->mix, &err) != 0)
        rc = 1;
    else if (mix_path && sh->mix.n_without_outcomes && !sh->fake) {
        sy_buf_printf(&err, "%s: %zu prompts have no outcomes: give --fake for their qualities",
                      mix_path, sh->mix.n_without_outcomes);
        rc = 1;
    } else if (sh->fake && load_qualities(sh) != 0) {
        sy_buf_printf(&err, "cannot read %s/_fake/quality", sh->fake);
        rc = 1;
    } else if (mix_path && sh->fake && lg_mix_fetch_qualities(&sh->mix, sh->fake, &err) != 0)
        rc = 1;
    if (rc)
        fprintf(stderr, "switchyard loadgen: %s\n", err.data ? err.data : "failed");
    sy_buf_free(&err);
    return rc;
}

/* Run the user threads, printing progress every `every` seconds, until all are done. */
static void run(shared *sh, double every)
{
    pthread_t *th = sy_xcalloc((size_t)sh->concurrency, sizeof(pthread_t));
    for (long i = 0; i < sh->concurrency; i++)
        pthread_create(&th[i], NULL, user_main, sh);
    struct timespec t0;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    double next = every;
    for (;;) {
        pthread_mutex_lock(&sh->lock);
        int finished = sh->st.done >= sh->total;
        pthread_mutex_unlock(&sh->lock);
        if (finished)
            break;
        usleep(50000);
        struct timespec t;
        clock_gettime(CLOCK_MONOTONIC, &t);
        double el = (double)(t.tv_sec - t0.tv_sec) + (double)(t.tv_nsec - t0.tv_nsec) / 1e9;
        if (every > 0 && el >= next) {
            pthread_mutex_lock(&sh->lock);
            lg_stats_report(&sh->st, stdout);
            pthread_mutex_unlock(&sh->lock);
            fflush(stdout);
            next += every;
        }
    }
    for (long i = 0; i < sh->concurrency; i++)
        pthread_join(th[i], NULL);
    free(th);
    lg_stats_report(&sh->st, stdout);
    fflush(stdout);
}

/* Why long: one switch over the options, then their checks. */
int sy_cmd_loadgen(int argc, char **argv)
{
    enum {
        O_URL = 256,
        O_KEY,
        O_ROUTE,
        O_FAKE,
        O_SEED,
        O_REPORT,
        O_RATE,
        O_SUMMARY,
        O_MIX,
        O_WINDOW
    };
    static const struct option opts[] = {{"url", required_argument, NULL, O_URL},
                                         {"key", required_argument, NULL, O_KEY},
                                         {"route", required_argument, NULL, O_ROUTE},
                                         {"fake", required_argument, NULL, O_FAKE},
                                         {"mix", required_argument, NULL, O_MIX},
                                         {"requests", required_argument, NULL, 'n'},
                                         {"concurrency", required_argument, NULL, 'c'},
                                         {"seed", required_argument, NULL, O_SEED},
                                         {"window", required_argument, NULL, O_WINDOW},
                                         {"report-every", required_argument, NULL, O_REPORT},
                                         {"feedback-rate", required_argument, NULL, O_RATE},
                                         {"summary", required_argument, NULL, O_SUMMARY},
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    shared sh = {.total = 1000, .concurrency = 4, .seed = 1, .feedback_rate = 1};
    double every = 2;
    long window = 500;
    const char *summary = NULL, *mix_path = NULL;
    int c;
    if (argc > 1 && strcmp(argv[1], "cache-calibrate") == 0)
        return sy_cmd_cache_calibrate(argc - 1, argv + 1);
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
        case O_MIX:
            mix_path = optarg;
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
        case O_WINDOW:
            window = strtol(optarg, NULL, 10);
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
    if (optind < argc || !sh.url || !sh.key || !sh.route || (!sh.fake && !mix_path) ||
        sh.total < 1 || sh.concurrency < 1 || sh.concurrency > 256 || window < 1 ||
        window > 1000000 || !(every >= 0) || !(sh.feedback_rate >= 0 && sh.feedback_rate <= 1)) {
        fputs(usage_text, stderr);
        return 2;
    }
    curl_global_init(CURL_GLOBAL_DEFAULT);
    int rc = prepare(&sh, mix_path);
    if (!rc) {
        pthread_mutex_init(&sh.lock, NULL);
        lg_stats_init(&sh.st, window, mix_path ? &sh.mix : NULL);
        run(&sh, every);
        FILE *f = summary ? fopen(summary, "w") : NULL;
        if (summary && !f) {
            perror(summary);
            rc = 1;
        } else if (f) {
            lg_stats_summary(&sh.st, f);
            fclose(f);
        }
        lg_stats_free(&sh.st);
        pthread_mutex_destroy(&sh.lock);
    }
    lg_mix_free(&sh.mix);
    cJSON_Delete(sh.qualities);
    curl_global_cleanup();
    return rc;
}
