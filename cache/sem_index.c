/*
 * sem_index.c: the partitioned vector index of the semantic cache (sem_index.h). A
 * chained hash table of partitions by digest; each partition is a flat array of unit
 * vectors (searched exactly) until it outgrows SY_SEM_FLAT_MAX, then an ann.h index.
 */
#include "sem_index.h"

#include "ann.h"
#include "sy_common.h"

#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

typedef struct sem_part {
    struct sem_part *next; /* hash chain */
    uint8_t digest[32];
    int dim;
    size_t n, cap; /* flat: entries and room */
    uint64_t *ids; /* flat: n ids */
    float *vecs;   /* flat: n unit vectors of dim floats */
    sy_ann *ann;   /* promoted: the HNSW graph (ids and vecs freed) */
} sem_part;

struct sy_sem_index {
    pthread_rwlock_t lock;
    sem_part **buckets;
    size_t n_buckets, n_parts, n_hnsw;
    _Atomic size_t entries; /* promoted partitions change it under the read lock */
};

sy_sem_index *sy_sem_index_new(void)
{
    sy_sem_index *x = sy_xcalloc(1, sizeof(*x));
    pthread_rwlock_init(&x->lock, NULL);
    x->n_buckets = 64;
    x->buckets = sy_xcalloc(x->n_buckets, sizeof(*x->buckets));
    return x;
}

static void part_free(sem_part *p)
{
    sy_ann_free(p->ann);
    free(p->ids);
    free(p->vecs);
    free(p);
}

void sy_sem_index_free(sy_sem_index *x)
{
    if (!x)
        return;
    for (size_t i = 0; i < x->n_buckets; i++)
        for (sem_part *p = x->buckets[i], *next; p; p = next) {
            next = p->next;
            part_free(p);
        }
    free(x->buckets);
    pthread_rwlock_destroy(&x->lock);
    free(x);
}

static size_t bucket_of(const sy_sem_index *x, const uint8_t d[32])
{
    uint64_t h;
    memcpy(&h, d, 8); /* a SHA-256 digest: its bytes are already uniform */
    return (size_t)(h % x->n_buckets);
}

/* The partition of digest d, or NULL; *prev_next is its link (for unlinking). */
static sem_part *find(sy_sem_index *x, const uint8_t d[32], sem_part ***link)
{
    sem_part **l = &x->buckets[bucket_of(x, d)];
    for (; *l; l = &(*l)->next)
        if (memcmp((*l)->digest, d, 32) == 0)
            break;
    if (link)
        *link = l;
    return *l;
}

/* Double the buckets when partitions outnumber them twice (write lock held). */
static void maybe_grow(sy_sem_index *x)
{
    if (x->n_parts <= 2 * x->n_buckets)
        return;
    size_t old_n = x->n_buckets;
    sem_part **old = x->buckets;
    x->n_buckets = old_n * 2;
    x->buckets = sy_xcalloc(x->n_buckets, sizeof(*x->buckets));
    for (size_t i = 0; i < old_n; i++)
        for (sem_part *p = old[i], *next; p; p = next) {
            next = p->next;
            size_t b = bucket_of(x, p->digest);
            p->next = x->buckets[b];
            x->buckets[b] = p;
        }
    free(old);
}

/* vec normalised into out; 0, or -1 when zero or not finite. */
static int unit(const float *vec, int dim, float *out)
{
    double s = 0;
    for (int i = 0; i < dim; i++) {
        if (!isfinite(vec[i]))
            return -1;
        s += (double)vec[i] * vec[i];
    }
    if (!(s > 0))
        return -1;
    double inv = 1.0 / sqrt(s);
    for (int i = 0; i < dim; i++)
        out[i] = (float)(vec[i] * inv);
    return 0;
}

/* Empty partition p (flat and graph) and set its dim (write lock held). */
static void part_reset(sy_sem_index *x, sem_part *p, int dim)
{
    atomic_fetch_sub(&x->entries, p->ann ? sy_ann_count(p->ann) : p->n);
    if (p->ann)
        x->n_hnsw--;
    sy_ann_free(p->ann);
    free(p->ids);
    free(p->vecs);
    p->ann = NULL;
    p->ids = NULL;
    p->vecs = NULL;
    p->n = p->cap = 0;
    p->dim = dim;
}

/* Move a full flat partition into an HNSW graph (write lock held). -1 on failure (the
 * partition stays flat and grows). */
static int promote(sy_sem_index *x, sem_part *p)
{
    sy_ann *a = sy_ann_new(p->dim, p->n * 2);
    if (!a)
        return -1;
    for (size_t i = 0; i < p->n; i++)
        if (sy_ann_add(a, p->ids[i], p->vecs + i * (size_t)p->dim) != 0) {
            sy_ann_free(a);
            return -1;
        }
    free(p->ids);
    free(p->vecs);
    p->ids = NULL;
    p->vecs = NULL;
    p->n = p->cap = 0;
    p->ann = a;
    x->n_hnsw++;
    return 0;
}

/* The add under the write lock: creates, resets, appends, replaces or promotes. */
static int add_locked(sy_sem_index *x, const uint8_t part[32], uint64_t id, const float *u, int dim)
{
    sem_part *p = find(x, part, NULL);
    if (!p) {
        p = sy_xcalloc(1, sizeof(*p));
        memcpy(p->digest, part, 32);
        p->dim = dim;
        size_t b = bucket_of(x, part);
        p->next = x->buckets[b];
        x->buckets[b] = p;
        x->n_parts++;
        maybe_grow(x);
    } else if (p->dim != dim) {
        part_reset(x, p, dim);
    }
    if (p->ann) {
        size_t before = sy_ann_count(p->ann);
        int rc = sy_ann_add(p->ann, id, u);
        atomic_fetch_add(&x->entries, sy_ann_count(p->ann) - before);
        return rc;
    }
    for (size_t i = 0; i < p->n; i++)
        if (p->ids[i] == id) { /* replaced */
            memcpy(p->vecs + i * (size_t)dim, u, sizeof(float) * (size_t)dim);
            return 0;
        }
    if (p->n == p->cap) {
        p->cap = p->cap ? p->cap * 2 : 2;
        p->ids = sy_xrealloc(p->ids, p->cap * sizeof(*p->ids));
        p->vecs = sy_xrealloc(p->vecs, p->cap * (size_t)dim * sizeof(float));
    }
    p->ids[p->n] = id;
    memcpy(p->vecs + p->n * (size_t)dim, u, sizeof(float) * (size_t)dim);
    p->n++;
    atomic_fetch_add(&x->entries, 1);
    if (p->n > SY_SEM_FLAT_MAX)
        promote(x, p);
    return 0;
}

int sy_sem_index_add(sy_sem_index *x, const uint8_t part[32], uint64_t id, const float *vec,
                     int dim)
{
    if (!x || !vec || dim < 1 || dim > 65536)
        return -1;
    float *u = sy_xmalloc(sizeof(float) * (size_t)dim);
    if (unit(vec, dim, u) != 0) {
        free(u);
        return -1;
    }
    /* a promoted partition of the same dim takes the add under the read lock */
    int rc = 1;
    pthread_rwlock_rdlock(&x->lock);
    sem_part *p = find(x, part, NULL);
    if (p && p->ann && p->dim == dim) {
        size_t before = sy_ann_count(p->ann);
        rc = sy_ann_add(p->ann, id, u);
        atomic_fetch_add(&x->entries, sy_ann_count(p->ann) - before);
    }
    pthread_rwlock_unlock(&x->lock);
    if (rc == 1) {
        pthread_rwlock_wrlock(&x->lock);
        rc = add_locked(x, part, id, u, dim);
        pthread_rwlock_unlock(&x->lock);
    }
    free(u);
    return rc;
}

/* Unlink and free an empty partition (write lock held). */
static void drop_if_empty(sy_sem_index *x, const uint8_t part[32])
{
    sem_part **link;
    sem_part *p = find(x, part, &link);
    if (!p || (p->ann ? sy_ann_count(p->ann) : p->n) > 0)
        return;
    *link = p->next;
    if (p->ann)
        x->n_hnsw--;
    part_free(p);
    x->n_parts--;
}

int sy_sem_index_remove(sy_sem_index *x, const uint8_t part[32], uint64_t id)
{
    if (!x)
        return -1;
    int rc = -1, empty = 0;
    pthread_rwlock_rdlock(&x->lock);
    sem_part *p = find(x, part, NULL);
    int flat = p && !p->ann;
    if (p && p->ann) {
        rc = sy_ann_remove(p->ann, id);
        if (rc == 0)
            atomic_fetch_sub(&x->entries, 1);
        empty = sy_ann_count(p->ann) == 0;
    }
    pthread_rwlock_unlock(&x->lock);
    if (!flat && !empty)
        return rc;
    pthread_rwlock_wrlock(&x->lock);
    p = find(x, part, NULL);
    if (p && !p->ann) {
        for (size_t i = 0; i < p->n; i++)
            if (p->ids[i] == id) { /* the last one takes its place */
                p->n--;
                p->ids[i] = p->ids[p->n];
                memmove(p->vecs + i * (size_t)p->dim, p->vecs + p->n * (size_t)p->dim,
                        sizeof(float) * (size_t)p->dim);
                atomic_fetch_sub(&x->entries, 1);
                rc = 0;
                break;
            }
    }
    drop_if_empty(x, part);
    pthread_rwlock_unlock(&x->lock);
    return rc;
}

/* The dot product of two unit vectors (their cosine), in eight running sums so that the
 * compiler can use vector instructions without reassociating a single sum. */
static float dot_unit(const float *a, const float *b, int dim)
{
    float s[8] = {0};
    int j = 0;
    for (; j + 8 <= dim; j += 8)
        for (int l = 0; l < 8; l++)
            s[l] += a[j + l] * b[j + l];
    for (; j < dim; j++)
        s[0] += a[j] * b[j];
    return ((s[0] + s[1]) + (s[2] + s[3])) + ((s[4] + s[5]) + (s[6] + s[7]));
}

int sy_sem_index_nearest(sy_sem_index *x, const uint8_t part[32], const float *vec, int dim,
                         uint64_t *id, float *similarity)
{
    if (!x || !vec || dim < 1 || dim > 65536)
        return 0;
    float *u = sy_xmalloc(sizeof(float) * (size_t)dim);
    int found = 0;
    if (unit(vec, dim, u) == 0) {
        pthread_rwlock_rdlock(&x->lock);
        sem_part *p = find(x, part, NULL);
        if (p && p->dim == dim && p->ann) {
            sy_ann_hit h;
            if (sy_ann_search(p->ann, u, 1, &h) == 1) {
                *id = h.id;
                *similarity = h.similarity;
                found = 1;
            }
        } else if (p && p->dim == dim) {
            float best = -2;
            for (size_t i = 0; i < p->n; i++) {
                float dot = dot_unit(u, p->vecs + i * (size_t)dim, dim);
                if (dot > best) {
                    best = dot;
                    *id = p->ids[i];
                    found = 1;
                }
            }
            if (found)
                *similarity = best > 1 ? 1 : best;
        }
        pthread_rwlock_unlock(&x->lock);
    }
    free(u);
    return found;
}

void sy_sem_index_stats_get(sy_sem_index *x, sy_sem_index_stats *out)
{
    memset(out, 0, sizeof(*out));
    if (!x)
        return;
    pthread_rwlock_rdlock(&x->lock);
    out->entries = atomic_load(&x->entries);
    out->partitions = x->n_parts;
    out->hnsw = x->n_hnsw;
    pthread_rwlock_unlock(&x->lock);
}
