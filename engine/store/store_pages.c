/* store_pages: see store_pages.h. The constants below are LMDB 0.9's on-disk format. */
#include "store_pages.h"

#include "sy_common.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define PAGEHDRSZ   16
#define NODESZ      8
#define DBREC       48
#define P_BRANCH    0x01
#define P_LEAF      0x02
#define P_OVERFLOW  0x04
#define P_META      0x08
#define P_LEAF2     0x20
#define F_BIGDATA   0x01
#define F_SUBDATA   0x02
#define F_DUPDATA   0x04
#define INTEGERKEY  0x08
#define MDB_MAGIC   0xBEEFC0DEu
#define P_INVALID   (~(uint64_t)0)
#define MAX_DEPTH   32
#define MAX_DBS     32
#define MAX_OVERSZ  (64u << 20) /* a larger record is not one of ours */
#define META_TXNID  128         /* offsets inside the meta, after the page header */
#define META_LASTPG 120
#define META_DBS    24

typedef struct dbrec {
    uint32_t pad;
    uint16_t flags, depth;
    uint64_t branch, leaf, overflow, entries, root;
} dbrec;

typedef struct walker {
    int fd;
    uint64_t psize, last_pg, file_size;
    uint8_t *seen; /* one bit per page 0..last_pg */
    uint8_t *bufs[MAX_DEPTH + 1];
    uint8_t *over; /* an overflow record */
    size_t over_cap;
    char *problem;
    size_t problem_len;
    const char *db;
    int intkey;
    uint64_t branch, leaf, overflow, entries;
    int leaf_depth;
    sy_pages_record_fn fn;
    void *ud;
    char named[MAX_DBS][64];
    dbrec named_rec[MAX_DBS];
    size_t n_named;
    int collect_named; /* walking the main database */
    int free_list;     /* walking the free list */
    uint64_t free_pages;
} walker;

static int fail(walker *w, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int fail(walker *w, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(w->problem, w->problem_len, fmt, ap);
    va_end(ap);
    return -1;
}

static uint16_t u16at(const uint8_t *p)
{
    uint16_t v;
    memcpy(&v, p, 2);
    return v;
}

static uint64_t u64at(const uint8_t *p)
{
    uint64_t v;
    memcpy(&v, p, 8);
    return v;
}

static void dbrec_read(const uint8_t *p, dbrec *d)
{
    memcpy(&d->pad, p, 4);
    d->flags = u16at(p + 4);
    d->depth = u16at(p + 6);
    d->branch = u64at(p + 8);
    d->leaf = u64at(p + 16);
    d->overflow = u64at(p + 24);
    d->entries = u64at(p + 32);
    d->root = u64at(p + 40);
}

/* Read `n` pages starting at pgno into buf after range, truncation and reuse checks. */
static int read_pages(walker *w, uint64_t pgno, uint64_t n, uint8_t *buf, size_t cap)
{
    if (pgno < 2 || pgno > w->last_pg || n > w->last_pg - pgno + 1)
        return fail(w, "%s: page %llu is outside the file's pages (2..%llu)", w->db,
                    (unsigned long long)pgno, (unsigned long long)w->last_pg);
    uint64_t end = (pgno + n) * w->psize;
    if (end > w->file_size)
        return fail(w,
                    "%s: page %llu lies at offset %llu but data.mdb is only %llu bytes: "
                    "the file was truncated",
                    w->db, (unsigned long long)(pgno + n - 1),
                    (unsigned long long)((pgno + n - 1) * w->psize),
                    (unsigned long long)w->file_size);
    for (uint64_t p = pgno; p < pgno + n; p++) {
        if (w->seen[p >> 3] & (1u << (p & 7)))
            return fail(w, "%s: page %llu is used twice", w->db, (unsigned long long)p);
        w->seen[p >> 3] |= (uint8_t)(1u << (p & 7));
    }
    size_t want = buf ? (size_t)(n * w->psize < cap ? n * w->psize : cap) : 0;
    if (want && pread(w->fd, buf, want, (off_t)(pgno * w->psize)) != (ssize_t)want)
        return fail(w, "%s: cannot read page %llu: %s", w->db, (unsigned long long)pgno,
                    strerror(errno));
    return 0;
}

/* LMDB's default order: bytes, then the shorter first; INTEGERKEY: native u64. */
static int key_cmp(const walker *w, const uint8_t *a, size_t an, const uint8_t *b, size_t bn)
{
    if (w->intkey && an == 8 && bn == 8) {
        uint64_t x = u64at(a), y = u64at(b);
        return x < y ? -1 : x > y;
    }
    int c = memcmp(a, b, an < bn ? an : bn);
    return c ? c : (an < bn ? -1 : an > bn);
}

typedef struct bound {
    const uint8_t *key;
    size_t len;
} bound;

/* The node at index i of page p: its offset checked against the page. */
static const uint8_t *node_at(walker *w, const uint8_t *p, unsigned i, uint16_t upper,
                              uint64_t pgno)
{
    uint16_t off = u16at(p + PAGEHDRSZ + 2 * i);
    if (off < upper || (size_t)off + NODESZ > w->psize || (off & 1)) {
        fail(w, "%s: page %llu: node %u at a bad offset %u", w->db, (unsigned long long)pgno, i,
             off);
        return NULL;
    }
    uint16_t ksize = u16at(p + off + 6);
    if ((size_t)off + NODESZ + ksize > w->psize) {
        fail(w, "%s: page %llu: key of node %u runs past the page", w->db, (unsigned long long)pgno,
             i);
        return NULL;
    }
    return p + off;
}

static int in_bounds(walker *w, const uint8_t *k, size_t kn, bound lo, bound hi)
{
    return (!lo.key || key_cmp(w, k, kn, lo.key, lo.len) >= 0) &&
           (!hi.key || key_cmp(w, k, kn, hi.key, hi.len) < 0);
}

static int leaf_value(walker *w, const uint8_t *p, const uint8_t *node, uint64_t pgno,
                      const uint8_t **val, size_t *vlen);
static int leaf_record(walker *w, const uint8_t *key, size_t klen, const uint8_t *val, size_t vlen,
                       uint16_t nflags, uint64_t pgno);

/* Check one leaf page's records (keys ordered and inside [lo, hi)). */
static int walk_leaf(walker *w, const uint8_t *p, unsigned nkeys, uint16_t upper, uint64_t pgno,
                     bound lo, bound hi)
{
    const uint8_t *prev = NULL;
    size_t prev_len = 0;
    for (unsigned i = 0; i < nkeys; i++) {
        const uint8_t *n = node_at(w, p, i, upper, pgno);
        if (!n)
            return -1;
        uint16_t nflags = u16at(n + 4), ksize = u16at(n + 6);
        const uint8_t *key = n + NODESZ;
        if (!in_bounds(w, key, ksize, lo, hi) ||
            (prev && key_cmp(w, prev, prev_len, key, ksize) >= 0))
            return fail(w, "%s: page %llu: keys out of order", w->db, (unsigned long long)pgno);
        prev = key;
        prev_len = ksize;
        const uint8_t *val = NULL;
        size_t vlen = 0;
        if (leaf_value(w, p, n, pgno, &val, &vlen) != 0 ||
            leaf_record(w, key, ksize, val, vlen, nflags, pgno) != 0)
            return -1;
        w->entries++;
    }
    return 0;
}

/* The value of a leaf node: inline, or read from its overflow pages. */
static int leaf_value(walker *w, const uint8_t *p, const uint8_t *n, uint64_t pgno,
                      const uint8_t **val, size_t *vlen)
{
    uint16_t nflags = u16at(n + 4), ksize = u16at(n + 6);
    uint64_t dsize = (uint64_t)u16at(n) | (uint64_t)u16at(n + 2) << 16;
    const uint8_t *data = n + NODESZ + ksize;
    uint64_t room = w->psize - (uint64_t)(data - p); /* node_at checked data <= page end */
    if ((nflags & F_BIGDATA) ? room < 8 : dsize > room)
        return fail(w, "%s: page %llu: a value runs past the page", w->db,
                    (unsigned long long)pgno);
    if (nflags & F_DUPDATA)
        return fail(w, "%s: page %llu: a duplicate-data node in a database without them", w->db,
                    (unsigned long long)pgno);
    if (!(nflags & F_BIGDATA)) {
        *val = data;
        *vlen = (size_t)dsize;
        return 0;
    }
    uint64_t opg = u64at(data);
    uint64_t pages = (PAGEHDRSZ - 1 + dsize) / w->psize + 1;
    if (dsize > MAX_OVERSZ)
        return fail(w, "%s: page %llu: a record of %llu bytes", w->db, (unsigned long long)pgno,
                    (unsigned long long)dsize);
    if (w->over_cap < pages * w->psize) {
        w->over_cap = pages * w->psize;
        w->over = sy_xrealloc(w->over, w->over_cap);
    }
    if (read_pages(w, opg, pages, w->over, pages * w->psize) != 0)
        return -1;
    if (u64at(w->over) != opg || !(u16at(w->over + 10) & P_OVERFLOW) ||
        (uint64_t)u16at(w->over + 12) + ((uint64_t)u16at(w->over + 14) << 16) != pages)
        return fail(w, "%s: overflow page %llu: bad header", w->db, (unsigned long long)opg);
    w->overflow += pages;
    *val = w->over + PAGEHDRSZ;
    *vlen = (size_t)dsize;
    return 0;
}

/* What a leaf record means in the database being walked. */
static int leaf_record(walker *w, const uint8_t *key, size_t klen, const uint8_t *val, size_t vlen,
                       uint16_t nflags, uint64_t pgno)
{
    if (w->collect_named) { /* the main database: names of sub-databases */
        if (!(nflags & F_SUBDATA) || vlen != DBREC || klen == 0 || klen >= 64 ||
            w->n_named == MAX_DBS)
            return fail(w, "main database: page %llu: a record that is not a database",
                        (unsigned long long)pgno);
        memcpy(w->named[w->n_named], key, klen);
        w->named[w->n_named][klen] = '\0';
        dbrec_read(val, &w->named_rec[w->n_named++]);
        return 0;
    }
    if (nflags & F_SUBDATA)
        return fail(w, "%s: page %llu: an unexpected sub-database", w->db,
                    (unsigned long long)pgno);
    if (w->free_list) { /* [count, pgno...] */
        uint64_t cnt = vlen >= 8 ? u64at(val) : 0;
        if (vlen < 8 || vlen % 8 || cnt > vlen / 8 - 1)
            return fail(w, "free list: page %llu: a damaged entry", (unsigned long long)pgno);
        for (uint64_t i = 0; i < cnt; i++) {
            uint64_t fp = u64at(val + 8 * (i + 1));
            if (fp < 2 || fp > w->last_pg)
                return fail(w, "free list: page %llu is out of range", (unsigned long long)fp);
            if (w->seen[fp >> 3] & (1u << (fp & 7)))
                return fail(w, "free list: page %llu is both free and in use",
                            (unsigned long long)fp);
            w->seen[fp >> 3] |= (uint8_t)(1u << (fp & 7));
            w->free_pages++;
        }
        return 0;
    }
    if (w->fn)
        w->fn(w->ud, w->db, key, klen, val, vlen);
    return 0;
}

/* Walk the subtree rooted at pgno (depth 1 = the root) within key bounds [lo, hi). */
static int walk_page(walker *w, uint64_t pgno, int depth, bound lo, bound hi)
{
    if (depth > MAX_DEPTH)
        return fail(w, "%s: the tree is deeper than %d levels", w->db, MAX_DEPTH);
    if (!w->bufs[depth])
        w->bufs[depth] = sy_xmalloc(w->psize);
    uint8_t *p = w->bufs[depth];
    if (read_pages(w, pgno, 1, p, w->psize) != 0)
        return -1;
    uint16_t flags = u16at(p + 10), lower = u16at(p + 12), upper = u16at(p + 14);
    if (u64at(p) != pgno)
        return fail(w, "%s: page %llu carries the number %llu", w->db, (unsigned long long)pgno,
                    (unsigned long long)u64at(p));
    if (lower < PAGEHDRSZ || lower > upper || upper > w->psize || (lower & 1))
        return fail(w, "%s: page %llu: a damaged page header", w->db, (unsigned long long)pgno);
    unsigned nkeys = (unsigned)(lower - PAGEHDRSZ) / 2;
    if ((flags & (P_BRANCH | P_LEAF | P_OVERFLOW | P_META | P_LEAF2)) == P_LEAF) {
        if (w->leaf_depth && depth != w->leaf_depth)
            return fail(w, "%s: page %llu: a leaf at the wrong depth", w->db,
                        (unsigned long long)pgno);
        w->leaf_depth = depth;
        w->leaf++;
        return walk_leaf(w, p, nkeys, upper, pgno, lo, hi);
    }
    if ((flags & (P_BRANCH | P_LEAF | P_OVERFLOW | P_META | P_LEAF2)) != P_BRANCH)
        return fail(w, "%s: page %llu is neither a branch nor a leaf page (flags 0x%x)", w->db,
                    (unsigned long long)pgno, flags);
    if (nkeys < 1)
        return fail(w, "%s: page %llu: an empty branch page", w->db, (unsigned long long)pgno);
    w->branch++;
    for (unsigned i = 0; i < nkeys; i++) {
        const uint8_t *n = node_at(w, p, i, upper, pgno), *next = NULL;
        if (!n || (i + 1 < nkeys && !(next = node_at(w, p, i + 1, upper, pgno))))
            return -1;
        bound clo = lo, chi = hi;
        if (i > 0) {
            clo = (bound){n + NODESZ, u16at(n + 6)};
            if (!in_bounds(w, clo.key, clo.len, lo, hi))
                return fail(w, "%s: page %llu: keys out of order", w->db, (unsigned long long)pgno);
        }
        if (next)
            chi = (bound){next + NODESZ, u16at(next + 6)};
        uint64_t child =
            (uint64_t)u16at(n) | (uint64_t)u16at(n + 2) << 16 | (uint64_t)u16at(n + 4) << 32;
        if (walk_page(w, child, depth + 1, clo, chi) != 0)
            return -1;
        p = w->bufs[depth]; /* unchanged: deeper levels use their own buffers */
    }
    return 0;
}

/* Walk one database from its record and compare what was found with what it records. */
static int walk_db(walker *w, const char *name, const dbrec *d, uint16_t want_flags)
{
    w->db = name;
    /* LMDB acts on these flags (key order, duplicates as sub-databases): every database
     * of the store has known ones, so any other value is damage, not a choice */
    if (d->flags != want_flags)
        return fail(w, "%s: database flags 0x%x, expected 0x%x", name, d->flags, want_flags);
    w->intkey = (d->flags & INTEGERKEY) != 0;
    w->branch = w->leaf = w->overflow = w->entries = 0;
    w->leaf_depth = 0;
    if (d->root == P_INVALID) {
        if (d->entries || d->depth)
            return fail(w, "%s: empty, yet it records %llu entries", name,
                        (unsigned long long)d->entries);
        return 0;
    }
    if (walk_page(w, d->root, 1, (bound){0}, (bound){0}) != 0)
        return -1;
    if (w->branch != d->branch || w->leaf != d->leaf || w->overflow != d->overflow ||
        w->entries != d->entries || w->leaf_depth != d->depth)
        return fail(w,
                    "%s: found %llu entries in %llu+%llu+%llu pages at depth %d, but it records "
                    "%llu entries in %llu+%llu+%llu pages at depth %u",
                    name, (unsigned long long)w->entries, (unsigned long long)w->branch,
                    (unsigned long long)w->leaf, (unsigned long long)w->overflow, w->leaf_depth,
                    (unsigned long long)d->entries, (unsigned long long)d->branch,
                    (unsigned long long)d->leaf, (unsigned long long)d->overflow, d->depth);
    return 0;
}

/* Read and check both meta pages; pick the one with txnid (or the newer if 0). */
static int read_metas(int fd, uint64_t file_size, uint8_t meta[2][160], uint64_t *psize,
                      char *problem, size_t len)
{
    if (file_size == 0) {
        snprintf(problem, len, "data.mdb is empty (0 bytes): the file was truncated");
        return -1;
    }
    uint64_t ps = 0;
    for (int i = 0; i < 2; i++) {
        uint64_t off = (uint64_t)i * ps;
        if (off + 160 > file_size || pread(fd, meta[i], 160, (off_t)off) != 160) {
            snprintf(problem, len,
                     "data.mdb is only %llu bytes, too short for its meta pages: the file was "
                     "truncated",
                     (unsigned long long)file_size);
            return -1;
        }
        uint32_t magic, version;
        memcpy(&magic, meta[i] + PAGEHDRSZ, 4);
        memcpy(&version, meta[i] + PAGEHDRSZ + 4, 4);
        uint32_t pad;
        memcpy(&pad, meta[i] + PAGEHDRSZ + META_DBS, 4);
        if (u64at(meta[i]) != (uint64_t)i || !(u16at(meta[i] + 10) & P_META) ||
            magic != MDB_MAGIC || version != 1 || pad < 512 || pad > 65536 || (pad & (pad - 1)) ||
            (i == 1 && pad != ps)) {
            snprintf(problem, len, "meta page %d of data.mdb is damaged (not an LMDB meta page)",
                     i);
            return -1;
        }
        ps = pad;
    }
    *psize = ps;
    return 0;
}

static uint64_t meta_txnid(const uint8_t *m)
{
    return u64at(m + PAGEHDRSZ + META_TXNID);
}

int sy_pages_check_meta(const char *path, uint64_t *newest_txnid, char *problem, size_t problem_len)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) != 0) {
        snprintf(problem, problem_len, "cannot read %s: %s", path, strerror(errno));
        if (fd >= 0)
            close(fd);
        return -1;
    }
    uint8_t meta[2][160];
    uint64_t psize;
    int rc = read_metas(fd, (uint64_t)st.st_size, meta, &psize, problem, problem_len);
    close(fd);
    if (rc)
        return -1;
    /* Transaction t writes meta page t % 2, so the two are consecutive ids. */
    uint64_t t0 = meta_txnid(meta[0]), t1 = meta_txnid(meta[1]);
    uint64_t hi = t0 > t1 ? t0 : t1, lo = t0 > t1 ? t1 : t0;
    if (!(hi == 0 && lo == 0) && (hi - lo != 1 || (hi & 1) != (t1 > t0))) {
        snprintf(problem, problem_len,
                 "the meta pages of data.mdb disagree (transactions %llu and %llu): one is "
                 "damaged",
                 (unsigned long long)t0, (unsigned long long)t1);
        return -1;
    }
    *newest_txnid = hi;
    return 0;
}

static void walker_free(walker *w)
{
    for (int i = 0; i <= MAX_DEPTH; i++)
        free(w->bufs[i]);
    free(w->over);
    free(w->seen);
    if (w->fd >= 0)
        close(w->fd);
}

/* The trees of the chosen meta: free list, main database, every named database. */
static int walk_all(walker *w, const uint8_t *m, sy_pages_result *res)
{
    dbrec free_db, main_db;
    dbrec_read(m + PAGEHDRSZ + META_DBS, &free_db);
    dbrec_read(m + PAGEHDRSZ + META_DBS + DBREC, &main_db);
    w->collect_named = 1;
    if (walk_db(w, "main database", &main_db, 0) != 0)
        return -1;
    w->collect_named = 0;
    uint64_t tree = w->branch + w->leaf + w->overflow;
    for (size_t i = 0; i < w->n_named; i++) {
        if (walk_db(w, w->named[i], &w->named_rec[i], 0) != 0)
            return -1;
        tree += w->branch + w->leaf + w->overflow;
    }
    w->free_list = 1;
    if (walk_db(w, "free list", &free_db, INTEGERKEY) != 0)
        return -1;
    w->free_list = 0;
    tree += w->branch + w->leaf + w->overflow;
    res->tree_pages = tree;
    res->free_pages = w->free_pages;
    res->dbs = w->n_named;
    uint64_t accounted = 2 + tree + w->free_pages;
    if (accounted != w->last_pg + 1)
        return fail(w,
                    "%llu of the %llu pages of data.mdb belong to no tree and are not free: the "
                    "file's page accounting is damaged",
                    (unsigned long long)(w->last_pg + 1 - accounted),
                    (unsigned long long)(w->last_pg + 1));
    return 0;
}

int sy_pages_walk(const char *path, uint64_t txnid, sy_pages_record_fn fn, void *ud,
                  sy_pages_result *res, char *problem, size_t problem_len)
{
    memset(res, 0, sizeof(*res));
    walker w = {.fd = open(path, O_RDONLY | O_CLOEXEC),
                .problem = problem,
                .problem_len = problem_len,
                .fn = fn,
                .ud = ud};
    struct stat st;
    if (w.fd < 0 || fstat(w.fd, &st) != 0) {
        snprintf(problem, problem_len, "cannot read %s: %s", path, strerror(errno));
        walker_free(&w);
        return -1;
    }
    w.file_size = (uint64_t)st.st_size;
    uint8_t meta[2][160];
    if (read_metas(w.fd, w.file_size, meta, &w.psize, problem, problem_len) != 0) {
        walker_free(&w);
        return -1;
    }
    int which = meta_txnid(meta[0]) == txnid ? 0 : meta_txnid(meta[1]) == txnid ? 1 : -1;
    if (which < 0) {
        snprintf(problem, problem_len, "no meta page of data.mdb holds transaction %llu",
                 (unsigned long long)txnid);
        walker_free(&w);
        return -2;
    }
    const uint8_t *m = meta[which];
    w.last_pg = u64at(m + PAGEHDRSZ + META_LASTPG);
    res->txnid = txnid;
    res->psize = w.psize;
    res->last_pg = w.last_pg;
    res->file_size = w.file_size;
    if (w.last_pg < 1 || w.last_pg > (uint64_t)1 << 40) {
        snprintf(problem, problem_len, "meta page %d of data.mdb records %llu pages: damaged",
                 which, (unsigned long long)w.last_pg + 1);
        walker_free(&w);
        return -1;
    }
    w.seen = sy_xcalloc((size_t)(w.last_pg / 8 + 1), 1);
    w.seen[0] |= 3; /* the meta pages */
    int rc = walk_all(&w, m, res);
    walker_free(&w);
    return rc;
}
