/*
 * store_pages: a structural walk of an LMDB data file that reads it with pread(),
 * never through the memory map, so a damaged file is described instead of crashing
 * the process (SIGBUS on a truncated map, SIGSEGV or an assertion inside LMDB on a
 * damaged page).
 *
 * The walk checks both meta pages (magic, version, page size, transaction ids), every
 * page reachable from the chosen meta (in range, inside the file, not used twice, the
 * right kind, header and node offsets inside the page, keys in order and inside their
 * parent's bounds, all leaves at the recorded depth), the page and entry counts each
 * database records, and that every page is either in a tree, in the free list, or a
 * meta page. It depends on the on-disk layout of LMDB 0.9 (64-bit): PAGEHDRSZ 16,
 * 8-byte nodes, 48-byte database records.
 */
#ifndef SY_STORE_PAGES_H
#define SY_STORE_PAGES_H

#include <stddef.h>
#include <stdint.h>

/* Called for every leaf record of a named database, in key order. `name` is the
 * database's name; key and value are valid for the call only. */
typedef void (*sy_pages_record_fn)(void *ud, const char *name, const uint8_t *key, size_t klen,
                                   const uint8_t *val, size_t vlen);

typedef struct sy_pages_result {
    uint64_t txnid;      /* the transaction the walk read */
    uint64_t psize;      /* page size */
    uint64_t last_pg;    /* the last page in use according to the meta */
    uint64_t file_size;  /* bytes */
    uint64_t tree_pages; /* pages in the trees, meta pages excluded */
    uint64_t free_pages; /* pages in the free list */
    uint64_t dbs;        /* named databases */
} sy_pages_result;

/*
 * Read the meta pages of `path` (data.mdb) without LMDB. 0 when both are sound, -1 with
 * a description in problem. *newest_txnid is the newer meta's transaction id.
 */
int sy_pages_check_meta(const char *path, uint64_t *newest_txnid, char *problem,
                        size_t problem_len);

/*
 * Walk the snapshot of transaction `txnid` (the caller holds an LMDB read transaction
 * on it, so no writer reuses its pages meanwhile). Returns 0, or -1 with a description
 * of the first problem found, or -2 when neither meta page holds txnid any more (a
 * writer committed twice since the caller's snapshot began: take a new one). `fn` may
 * be NULL.
 */
int sy_pages_walk(const char *path, uint64_t txnid, sy_pages_record_fn fn, void *ud,
                  sy_pages_result *res, char *problem, size_t problem_len);

#endif
