/*
 * ann_hnsw: sy_ann (ann.h) on hnswlib's HierarchicalNSW with the inner-product space
 * over normalised vectors, so 1 - distance is the cosine similarity. The index owns
 * copies of the vectors; removal uses hnswlib's delete marks and slot replacement
 * (allow_replace_deleted is not in 0.6, so a removed id's slot is reused only when the
 * same id comes back). When marked slots outnumber live ones (and exceed a floor), the
 * next add rebuilds the graph from the live vectors under the write lock: a cache that
 * evicts keeps a graph proportional to what it holds. Every hnswlib call is inside
 * try/catch. The distance is our own (DotSpace): hnswlib picks its SIMD kernels at compile
 * time, which for a portable x86-64 build means SSE; ours picks AVX2 with FMA at run time
 * when the CPU has them (1.5-2x faster distances at 1536 dimensions).
 */
#include "ann.h"

#include <hnswlib/hnswlib.h>

#include <cmath>
#include <cstring>
#include <new>
#include <pthread.h>
#include <unordered_set>
#include <vector>
#if defined(__x86_64__)
#include <immintrin.h>
#endif

namespace
{
const size_t kDefaultCapacity = 1024;
const size_t kM = 16;               /* graph degree: hnswlib's usual default */
const size_t kEfConstruction = 200; /* build-time beam: quality over build speed */
const size_t kEfSearchMin = 64;     /* search beam, at least k */

/* 1 - <a, b> over dim floats, four partial sums (no over-read: exactly dim floats). */
float dot_distance_portable(const void *pa, const void *pb, const void *pdim)
{
    const float *a = (const float *)pa, *b = (const float *)pb;
    size_t n = *(const size_t *)pdim, i = 0;
    float s0 = 0, s1 = 0, s2 = 0, s3 = 0;
    for (; i + 4 <= n; i += 4) {
        s0 += a[i] * b[i];
        s1 += a[i + 1] * b[i + 1];
        s2 += a[i + 2] * b[i + 2];
        s3 += a[i + 3] * b[i + 3];
    }
    for (; i < n; i++)
        s0 += a[i] * b[i];
    return 1.0f - ((s0 + s1) + (s2 + s3));
}

#if defined(__x86_64__) && !defined(NO_MANUAL_VECTORIZATION)
/* The same with AVX2 and FMA: 32 floats a step in four accumulators, then the tail. */
__attribute__((target("avx2,fma"))) float dot_distance_avx2(const void *pa, const void *pb,
                                                            const void *pdim)
{
    const float *a = (const float *)pa, *b = (const float *)pb;
    size_t n = *(const size_t *)pdim, i = 0;
    __m256 s0 = _mm256_setzero_ps(), s1 = _mm256_setzero_ps(), s2 = _mm256_setzero_ps(),
           s3 = _mm256_setzero_ps();
    for (; i + 32 <= n; i += 32) {
        s0 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i), s0);
        s1 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i + 8), _mm256_loadu_ps(b + i + 8), s1);
        s2 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i + 16), _mm256_loadu_ps(b + i + 16), s2);
        s3 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i + 24), _mm256_loadu_ps(b + i + 24), s3);
    }
    for (; i + 8 <= n; i += 8)
        s0 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i), s0);
    __m256 s = _mm256_add_ps(_mm256_add_ps(s0, s1), _mm256_add_ps(s2, s3));
    __m128 h = _mm_add_ps(_mm256_castps256_ps128(s), _mm256_extractf128_ps(s, 1));
    h = _mm_add_ps(h, _mm_movehl_ps(h, h));
    h = _mm_add_ss(h, _mm_shuffle_ps(h, h, 1));
    float sum = _mm_cvtss_f32(h);
    for (; i < n; i++)
        sum += a[i] * b[i];
    return 1.0f - sum;
}
#endif

/* Inner-product distance over normalised vectors, its kernel chosen once per index by
 * what the CPU runs. */
class DotSpace : public hnswlib::SpaceInterface<float>
{
    size_t dim_;
    hnswlib::DISTFUNC<float> fn_;

  public:
    explicit DotSpace(size_t dim) : dim_(dim), fn_(dot_distance_portable)
    {
#if defined(__x86_64__) && !defined(NO_MANUAL_VECTORIZATION)
        if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"))
            fn_ = dot_distance_avx2;
#endif
    }
    size_t get_data_size() override
    {
        return dim_ * sizeof(float);
    }
    hnswlib::DISTFUNC<float> get_dist_func() override
    {
        return fn_;
    }
    void *get_dist_func_param() override
    {
        return &dim_;
    }
};
} // namespace

struct sy_ann {
    int dim;
    DotSpace space;
    hnswlib::HierarchicalNSW<float> *index;
    std::unordered_set<uint64_t> live;
    std::unordered_set<uint64_t> deleted; /* ids still in the graph under a delete mark */
    pthread_rwlock_t lock;

    explicit sy_ann(int d) : dim(d), space((size_t)d), index(nullptr)
    {
        pthread_rwlock_init(&lock, nullptr);
    }
    ~sy_ann()
    {
        delete index;
        pthread_rwlock_destroy(&lock);
    }
};

/* Normalise `in` into `out`; false when the vector is zero or not finite. */
static bool normalise(const float *in, int dim, std::vector<float> &out)
{
    double s = 0;
    for (int i = 0; i < dim; i++) {
        if (!std::isfinite(in[i]))
            return false;
        s += (double)in[i] * in[i];
    }
    if (!(s > 0))
        return false;
    double inv = 1.0 / std::sqrt(s);
    out.resize((size_t)dim);
    for (int i = 0; i < dim; i++)
        out[(size_t)i] = (float)(in[i] * inv);
    return true;
}

sy_ann *sy_ann_new(int dim, size_t capacity)
{
    if (dim < 1 || dim > 65536)
        return nullptr;
    try {
        sy_ann *a = new sy_ann(dim);
        a->index = new hnswlib::HierarchicalNSW<float>(
            &a->space, capacity ? capacity : kDefaultCapacity, kM, kEfConstruction);
        a->index->setEf(kEfSearchMin);
        return a;
    } catch (...) {
        return nullptr;
    }
}

void sy_ann_free(sy_ann *a)
{
    delete a;
}

/* Rebuild the graph from the live vectors when delete marks dominate. Write lock held;
 * on failure the old graph stays (it is still correct, only larger). */
static void compact_if_worn(sy_ann *a)
{
    const size_t floor = 1024;
    if (a->deleted.size() <= floor || a->deleted.size() <= a->live.size())
        return;
    size_t cap = a->live.size() * 2 > kDefaultCapacity ? a->live.size() * 2 : kDefaultCapacity;
    hnswlib::HierarchicalNSW<float> *fresh = nullptr;
    try {
        fresh = new hnswlib::HierarchicalNSW<float>(&a->space, cap, kM, kEfConstruction);
        fresh->setEf(kEfSearchMin);
        for (uint64_t id : a->live) {
            std::vector<float> v = a->index->getDataByLabel<float>((hnswlib::labeltype)id);
            fresh->addPoint(v.data(), (hnswlib::labeltype)id);
        }
    } catch (...) {
        delete fresh;
        return;
    }
    delete a->index;
    a->index = fresh;
    a->deleted.clear();
}

/* Make room for one more element: double the capacity when full. Write lock held. */
static void reserve_one(sy_ann *a)
{
    size_t cap = a->index->max_elements_;
    if (a->index->cur_element_count < cap)
        return;
    a->index->resizeIndex(cap * 2);
}

int sy_ann_add(sy_ann *a, uint64_t id, const float *vec)
{
    std::vector<float> v;
    if (!a || !vec || !normalise(vec, a->dim, v))
        return -1;
    int rc = 0;
    pthread_rwlock_wrlock(&a->lock);
    try {
        bool known = a->live.count(id) || a->deleted.count(id);
        if (!known) {
            compact_if_worn(a);
            reserve_one(a);
        }
        /* addPoint on a known label updates its vector in place (and clears a delete mark). */
        a->index->addPoint(v.data(), (hnswlib::labeltype)id);
        a->deleted.erase(id);
        a->live.insert(id);
    } catch (...) {
        rc = -1;
    }
    pthread_rwlock_unlock(&a->lock);
    return rc;
}

int sy_ann_remove(sy_ann *a, uint64_t id)
{
    if (!a)
        return -1;
    int rc = -1;
    pthread_rwlock_wrlock(&a->lock);
    try {
        if (a->live.erase(id)) {
            a->index->markDelete((hnswlib::labeltype)id);
            a->deleted.insert(id);
            rc = 0;
        }
    } catch (...) {
        rc = -1;
    }
    pthread_rwlock_unlock(&a->lock);
    return rc;
}

size_t sy_ann_search(sy_ann *a, const float *vec, size_t k, sy_ann_hit *out)
{
    std::vector<float> v;
    if (!a || !vec || !out || k == 0 || !normalise(vec, a->dim, v))
        return 0;
    size_t n = 0;
    pthread_rwlock_rdlock(&a->lock);
    try {
        if (!a->live.empty()) {
            size_t want = k < a->live.size() ? k : a->live.size();
            /* searchKnn returns a max-heap on distance: pop into out from the back. */
            auto heap = a->index->searchKnn(v.data(), want);
            n = heap.size() < k ? heap.size() : k;
            while (heap.size() > n)
                heap.pop();
            for (size_t i = n; i-- > 0;) {
                out[i].id = (uint64_t)heap.top().second;
                out[i].similarity = 1.0f - heap.top().first;
                heap.pop();
            }
        }
    } catch (...) {
        n = 0;
    }
    pthread_rwlock_unlock(&a->lock);
    return n;
}

size_t sy_ann_count(sy_ann *a)
{
    if (!a)
        return 0;
    pthread_rwlock_rdlock(&a->lock);
    size_t n = a->live.size();
    pthread_rwlock_unlock(&a->lock);
    return n;
}

int sy_ann_dim(const sy_ann *a)
{
    return a ? a->dim : 0;
}

float sy_ann_cosine(const float *x, const float *y, int dim)
{
    double xy = 0, xx = 0, yy = 0;
    for (int i = 0; i < dim; i++) {
        xy += (double)x[i] * y[i];
        xx += (double)x[i] * x[i];
        yy += (double)y[i] * y[i];
    }
    if (!(xx > 0) || !(yy > 0))
        return 0;
    return (float)(xy / std::sqrt(xx * yy));
}
