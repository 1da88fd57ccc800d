/*
 * store_bench: throughput of the LMDB store thread (DESIGN.md §15).
 *
 *   build/bench/store_bench [requests] [ratings]
 *
 * 1. Request records: `requests` decision+outcome events (24-dim context) are queued as
 *    fast as one producer can, and the time until the store thread has committed all
 *    of them gives events per second (batched transactions, MDB_NOMETASYNC).
 * 2. Ratings: `ratings` feedback events, each waiting for its acknowledgement (commit +
 *    fsync) before the next, give the acknowledgement latency p50/p99; then the same
 *    number with 64 in flight gives acknowledged ratings per second.
 * 3. Conversations (issue 17): a second thread puts new conversation states at 5,000/s
 *    for 3 s (written behind by the store thread, store_conv.c) while ratings are
 *    acknowledged one at a time: their latency beside the write-behind, how many states
 *    each write-behind transaction held, and whether any state was not saved.
 * Runs in a fresh directory under /tmp; prints one line per figure.
 */
#include "request_id.h"
#include "store.h"

#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

typedef struct acks {
    pthread_mutex_t m;
    pthread_cond_t c;
    long done;
} acks;

static void on_ack(void *ud, const sy_store_ack *a)
{
    acks *k = ud;
    pthread_mutex_lock(&k->m);
    k->done++;
    pthread_cond_signal(&k->c);
    pthread_mutex_unlock(&k->m);
}

static void wait_acks(acks *k, long n)
{
    pthread_mutex_lock(&k->m);
    while (k->done < n)
        pthread_cond_wait(&k->c, &k->m);
    pthread_mutex_unlock(&k->m);
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

typedef struct conv_load {
    sy_store *s;
    long rate, seconds, put;
} conv_load;

/* Put new conversation states at l->rate per second for l->seconds (paced per 50). */
static void *conv_producer(void *arg)
{
    conv_load *l = arg;
    double t0 = now_s();
    long total = l->rate * l->seconds;
    for (long i = 0; i < total; i++) {
        uint8_t id[16] = {0x42};
        memcpy(id + 8, &i, sizeof(i));
        id[3] = (uint8_t)(i * 131);
        id[5] = (uint8_t)(i >> 3);
        sy_conv_state st = {.turn = 1, .last_ts_ms = 1795000000000ull};
        snprintf(st.last_text, sizeof(st.last_text),
                 "Explain the difference between a mutex and a semaphore (%ld)", i);
        sy_store_put_conv(l->s, id, &st);
        l->put++;
        if (i % 50 == 49) {
            double ahead = (double)(i + 1) / (double)l->rate - (now_s() - t0);
            if (ahead > 0) {
                struct timespec ts = {0, (long)(ahead * 1e9)};
                nanosleep(&ts, NULL);
            }
        }
    }
    return NULL;
}

/* Part 3: rating acknowledgements one at a time beside the conversation write-behind. */
static void conversations(sy_store *s, uint8_t (*ids)[16], long n_req, acks *k, double *lat,
                          long n_lat)
{
    sy_store_counters c0, c1;
    sy_store_counters_get(s, &c0);
    conv_load l = {.s = s, .rate = 5000, .seconds = 3};
    pthread_t t;
    pthread_create(&t, NULL, conv_producer, &l);
    sy_store_feedback f = {.value = 1, .ts_ms = 1795000000001ull, .key_name = "bench"};
    long n = 0, base = k->done;
    double end = now_s() + (double)l.seconds;
    while (n < n_lat && now_s() < end) {
        memcpy(f.id, ids[(n * 13) % n_req], 16);
        double a = now_s();
        sy_store_put_feedback(s, &f, on_ack, k);
        wait_acks(k, base + n + 1);
        lat[n++] = now_s() - a;
    }
    pthread_join(t, NULL);
    for (int i = 0; i < 300; i++) { /* the last write-behind: at most ~1 s later */
        sy_store_counters_get(s, &c1);
        if (c1.conv_flushes > c0.conv_flushes && i > 150)
            break;
        struct timespec ts = {0, 10000000};
        nanosleep(&ts, NULL);
    }
    sy_store_counters_get(s, &c1);
    qsort(lat, (size_t)n, sizeof(double), cmp_double);
    uint64_t flushes = c1.conv_flushes - c0.conv_flushes;
    printf("conversations: %ld new states put at %ld/s, written in %llu write-behind "
           "transactions (%.0f states each), %llu not saved; rating acknowledgement beside "
           "them: p50 %.2f ms, p99 %.2f ms (%ld ratings)\n",
           l.put, l.rate, (unsigned long long)flushes,
           (double)l.put / (double)(flushes ? flushes : 1),
           (unsigned long long)(c1.conv_unsaved - c0.conv_unsaved), 1e3 * lat[n / 2],
           1e3 * lat[(long)((double)n * 0.99)], n);
}

int main(int argc, char **argv)
{
    long n_req = argc > 1 ? atol(argv[1]) : 200000;
    long n_fb = argc > 2 ? atol(argv[2]) : 2000;
    char dir[] = "/tmp/sy-store-bench-XXXXXX";
    if (!mkdtemp(dir))
        return 1;
    sy_store_opts o = {.dir = dir,
                       .map_size = 64u << 20,
                       .max_map_size = 16384ull << 20,
                       .batch_ms = 2,
                       .batch_max = 256,
                       .feedback_window_ms = 0};
    char err[256];
    sy_store *s = sy_store_open(&o, err, sizeof(err));
    if (!s) {
        fprintf(stderr, "%s\n", err);
        return 1;
    }
    sy_reqid_gen g;
    sy_reqid_init(&g, 0, 1);
    double x[24];
    for (int i = 0; i < 24; i++)
        x[i] = i / 24.0;
    uint8_t(*ids)[16] = malloc(sizeof(*ids) * (size_t)n_req);
    sy_store_request r = {.route = "chat",
                          .policy = "thompson",
                          .propensity = 0.4,
                          .n_candidates = 11,
                          .dim = 24,
                          .x = x,
                          .status = 200,
                          .latency_ms = 420,
                          .ttft_ms = 80,
                          .prompt_tokens = 900,
                          .completion_tokens = 250,
                          .cost_usd = 0.0021};
    snprintf(r.key_name, sizeof(r.key_name), "bench");
    double t0 = now_s();
    for (long i = 0; i < n_req; i++) {
        char id[SY_REQID_LEN + 1];
        sy_reqid_next(&g, 1795000000000ull + (uint64_t)i / 1000, id);
        sy_reqid_to_bytes(id, ids[i]);
        memcpy(r.id, ids[i], 16);
        r.ts_ms = 1795000000000ull;
        snprintf(r.model, sizeof(r.model), "model-%ld", i % 11);
        sy_store_put_request(s, &r);
    }
    double t_queued = now_s();
    /* One synced rating after them: its ack means every request before it is committed. */
    acks k = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0};
    sy_store_feedback f = {.value = 1, .ts_ms = 1795000000001ull, .key_name = "bench"};
    memcpy(f.id, ids[n_req - 1], 16);
    sy_store_put_feedback(s, &f, on_ack, &k);
    wait_acks(&k, 1);
    double t_req = now_s() - t0;
    printf("request records: %ld in %.3f s = %.0f events/s committed (producer queued them in "
           "%.3f s)\n",
           n_req, t_req, (double)n_req / t_req, t_queued - t0);

    double *lat = malloc(sizeof(double) * (size_t)n_fb);
    for (long i = 0; i < n_fb; i++) {
        memcpy(f.id, ids[i % n_req], 16);
        f.value = (double)(i % 2);
        double a = now_s();
        sy_store_put_feedback(s, &f, on_ack, &k);
        wait_acks(&k, 2 + i);
        lat[i] = now_s() - a;
    }
    qsort(lat, (size_t)n_fb, sizeof(double), cmp_double);
    printf("rating acknowledgement (commit + fsync), one at a time: p50 %.2f ms, p99 %.2f ms\n",
           1e3 * lat[n_fb / 2], 1e3 * lat[(long)(n_fb * 0.99)]);
    long base = k.done;
    double t1 = now_s();
    for (long i = 0; i < n_fb; i++) {
        memcpy(f.id, ids[(i * 7) % n_req], 16);
        sy_store_put_feedback(s, &f, on_ack, &k);
        if (i >= 64)
            wait_acks(&k, base + i - 63);
    }
    wait_acks(&k, base + n_fb);
    double t_fb = now_s() - t1;
    printf("ratings with 64 in flight: %ld in %.3f s = %.0f acknowledged ratings/s\n", n_fb, t_fb,
           (double)n_fb / t_fb);
    conversations(s, ids, n_req, &k, lat, n_fb);
    sy_store_counters c;
    sy_store_counters_get(s, &c);
    printf("batches %llu (%.1f events per transaction), map %zu MiB after %llu growths\n",
           (unsigned long long)c.batches, (double)c.events / (double)(c.batches ? c.batches : 1),
           c.map_size >> 20, (unsigned long long)c.map_grows);
    sy_store_close(s);
    free(lat);
    free(ids);
    char cmd[128];
    snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
    return system(cmd) == 0 ? 0 : 1;
}
