/*
 * ann_bench: the semantic cache's lookup time (cache/ann.h, hnswlib) at N entries, for
 * embedding dimensions of real models (docs/cache-evaluation.md, issue 22's bar: p99 ≤ 2 ms
 * at 100k entries).
 * Usage: ann_bench [--entries N] [--dim D]... [--queries Q] [--k K] [--seed S]
 *
 * Data: embeddings are not uniform on the sphere, they cluster by topic, so the N stored
 * vectors are drawn around N/100 random topic centres (centre + Gaussian noise of the
 * same norm, normalised). Queries, half near-duplicates of a stored vector (a repeated
 * question: noise of a tenth of its norm) and half fresh draws around a random centre (a
 * new question on a known topic), are timed one by one, single-threaded, wall clock
 * (CLOCK_MONOTONIC: what a request waits) and this thread's CPU time (what the machine
 * spends, robust to a shared machine's preemption). Recall@1 against an exact scan of a
 * sample of queries is reported too: a fast index that misses the neighbour is no good.
 */
#include "ann.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double clock_s(clockid_t c)
{
    struct timespec ts;
    clock_gettime(c, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* xorshift64* and Box–Muller: reproducible, no dependency. */
static uint64_t rng_next(uint64_t *s)
{
    *s ^= *s >> 12, *s ^= *s << 25, *s ^= *s >> 27;
    return *s * 0x2545f4914f6cdd1dull;
}

static double gauss(uint64_t *s)
{
    double u = ((double)(rng_next(s) >> 11) + 0.5) / 9007199254740992.0;
    double v = ((double)(rng_next(s) >> 11) + 0.5) / 9007199254740992.0;
    return sqrt(-2 * log(u)) * cos(2 * M_PI * v);
}

/* out = normalise(base + scale·noise) (base NULL = pure noise). */
static void draw(const float *base, double scale, int dim, uint64_t *s, float *out)
{
    double n = 0;
    for (int i = 0; i < dim; i++) {
        out[i] = (float)((base ? base[i] : 0) + scale * gauss(s) / sqrt((double)dim));
        n += (double)out[i] * out[i];
    }
    n = sqrt(n);
    for (int i = 0; i < dim; i++)
        out[i] = (float)(out[i] / n);
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double pct(const double *sorted, size_t n, double p)
{
    size_t i = (size_t)ceil(p * (double)n) - 1;
    return sorted[i < n ? i : n - 1];
}

/* Why long: one benchmark run (build, time, check) reads best as one sequence. */
static int run(size_t n, int dim, size_t q, size_t k, uint64_t seed)
{
    size_t topics = n / 100 ? n / 100 : 1;
    float *centres = malloc(topics * (size_t)dim * sizeof(float));
    float *vecs = malloc(n * (size_t)dim * sizeof(float));
    float *qs = malloc(q * (size_t)dim * sizeof(float));
    double *wall = malloc(q * sizeof(double)), *cpu = malloc(q * sizeof(double));
    sy_ann *a = sy_ann_new(dim, n);
    if (!centres || !vecs || !qs || !wall || !cpu || !a) {
        fprintf(stderr, "ann_bench: out of memory\n");
        return 1;
    }
    uint64_t s = seed * 0x9e3779b97f4a7c15ull + 1;
    for (size_t t = 0; t < topics; t++)
        draw(NULL, 1, dim, &s, centres + t * (size_t)dim);
    double t0 = clock_s(CLOCK_MONOTONIC);
    for (size_t i = 0; i < n; i++) {
        draw(centres + (rng_next(&s) % topics) * (size_t)dim, 1.0, dim, &s, vecs + i * (size_t)dim);
        sy_ann_add(a, i, vecs + i * (size_t)dim);
    }
    double build = clock_s(CLOCK_MONOTONIC) - t0;
    for (size_t i = 0; i < q; i++) {
        if (i % 2 == 0)
            draw(vecs + (rng_next(&s) % n) * (size_t)dim, 0.1, dim, &s, qs + i * (size_t)dim);
        else
            draw(centres + (rng_next(&s) % topics) * (size_t)dim, 1.0, dim, &s,
                 qs + i * (size_t)dim);
    }
    sy_ann_hit hits[64];
    size_t found = 0, checked = 0, agree = 0;
    for (size_t i = 0; i < q; i++) {
        double w0 = clock_s(CLOCK_MONOTONIC), c0 = clock_s(CLOCK_THREAD_CPUTIME_ID);
        found += sy_ann_search(a, qs + i * (size_t)dim, k, hits) > 0;
        cpu[i] = (clock_s(CLOCK_THREAD_CPUTIME_ID) - c0) * 1e3;
        wall[i] = (clock_s(CLOCK_MONOTONIC) - w0) * 1e3;
        if (i % (q / 200 ? q / 200 : 1) == 0) { /* exact nearest neighbour of a sample */
            float bs = -2;
            uint64_t best = 0;
            for (size_t j = 0; j < n; j++) {
                float c = sy_ann_cosine(qs + i * (size_t)dim, vecs + j * (size_t)dim, dim);
                if (c > bs)
                    bs = c, best = j;
            }
            sy_ann_search(a, qs + i * (size_t)dim, 1, hits);
            checked++, agree += hits[0].id == best;
        }
    }
    qsort(wall, q, sizeof *wall, cmp_double);
    qsort(cpu, q, sizeof *cpu, cmp_double);
    printf("entries %zu dim %d k %zu: build %.1f s (%.0f adds/s); %zu queries: wall p50 %.3f ms "
           "p99 %.3f ms max %.3f ms; cpu p50 %.3f ms p99 %.3f ms; recall@1 %.3f (%zu/%zu "
           "against an exact scan)\n",
           n, dim, k, build, (double)n / build, q, pct(wall, q, 0.5), pct(wall, q, 0.99),
           wall[q - 1], pct(cpu, q, 0.5), pct(cpu, q, 0.99), (double)agree / (double)checked, agree,
           checked);
    int rc = found == q ? 0 : 1;
    if (rc)
        fprintf(stderr, "ann_bench: %zu queries found nothing\n", q - found);
    sy_ann_free(a);
    free(centres), free(vecs), free(qs), free(wall), free(cpu);
    return rc;
}

int main(int argc, char **argv)
{
    size_t n = 100000, q = 10000, k = 1;
    int dims[8], nd = 0;
    uint64_t seed = 1;
    for (int i = 1; i < argc; i++) {
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(argv[i], "--entries") == 0 && v)
            n = strtoul(v, NULL, 10), i++;
        else if (strcmp(argv[i], "--dim") == 0 && v && nd < 8)
            dims[nd++] = atoi(v), i++;
        else if (strcmp(argv[i], "--queries") == 0 && v)
            q = strtoul(v, NULL, 10), i++;
        else if (strcmp(argv[i], "--k") == 0 && v)
            k = strtoul(v, NULL, 10), i++;
        else if (strcmp(argv[i], "--seed") == 0 && v)
            seed = strtoull(v, NULL, 10), i++;
        else {
            fprintf(stderr, "usage: ann_bench [--entries N] [--dim D]... [--queries Q] [--k K] "
                            "[--seed S]\n");
            return 2;
        }
    }
    if (nd == 0)
        dims[nd++] = 256;
    if (n < 1 || q < 1 || k < 1 || k > 64)
        return 2;
    int rc = 0;
    for (int i = 0; i < nd; i++)
        rc |= run(n, dims[i], q, k, seed);
    return rc;
}
