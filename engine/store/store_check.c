/*
 * store_check.c — integrity check, isolated check and hot backup of the store (see
 * store.h, "Integrity"). The page-level walk is store_pages.c; this file decodes the
 * records the walk hands it and joins requests with their outcomes and ratings.
 */
#include "store.h"

#include "clock.h"
#include "store_codec.h"
#include "store_pages.h"
#include "sy_common.h"

#include <errno.h>
#include <lmdb.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

/* 16-byte keys in key order, each with "decodes" flag. */
typedef struct keyset {
    uint8_t (*key)[16];
    uint8_t *ok;
    size_t n, cap;
} keyset;

typedef struct checker {
    keyset dec, out, fb;
    uint64_t lost_other, odd_keys;
} checker;

static void keyset_add(keyset *s, const uint8_t *key, int ok)
{
    if (s->n == s->cap) {
        s->cap = s->cap ? 2 * s->cap : 1024;
        s->key = sy_xrealloc(s->key, s->cap * 16);
        s->ok = sy_xrealloc(s->ok, s->cap);
    }
    memcpy(s->key[s->n], key, 16);
    s->ok[s->n++] = (uint8_t)ok;
}

static void keyset_free(keyset *s)
{
    free(s->key);
    free(s->ok);
}

/* One record of a named database: does it decode? (called in key order) */
static void check_record(void *ud, const char *db, const uint8_t *key, size_t klen,
                         const uint8_t *val, size_t vlen)
{
    checker *c = ud;
    sy_store_request r;
    if (!strcmp(db, "decisions") || !strcmp(db, "outcomes") || !strcmp(db, "feedback")) {
        if (klen != 16) {
            c->odd_keys++;
            return;
        }
        if (db[0] == 'd') {
            const uint8_t *x;
            keyset_add(&c->dec, key,
                       sy_store_decode_decision(val, vlen, &r) == 0 &&
                           sy_store_decision_x(val, vlen, &x) >= 0);
        } else if (db[0] == 'o') {
            keyset_add(&c->out, key, sy_store_decode_outcome(val, vlen, &r) == 0);
        } else {
            sy_store_feedback_rec f;
            keyset_add(&c->fb, key, sy_store_decode_feedback(val, vlen, &f) == 0);
        }
    } else if (!strcmp(db, "arm_stats")) {
        sy_store_arm_stats a;
        c->lost_other += klen != SY_ARM_KEY_LEN || sy_store_decode_arm_stats(val, vlen, &a) != 0;
    } else if (!strcmp(db, "conversations")) {
        sy_conv_state cs;
        c->lost_other += klen != 16 || sy_store_decode_conv(val, vlen, &cs) != 0;
    } else if (!strcmp(db, "prompts") || !strcmp(db, "experiments")) {
        c->lost_other += klen == 0 || vlen == 0 || val[0] != '{';
    } else if (!strcmp(db, "meta")) {
        int schema = klen == 6 && !memcmp(key, "schema", 6);
        int secret = klen == 15 && !memcmp(key, "feedback_secret", 15);
        c->lost_other += (schema && vlen != 4) || (secret && vlen != 32);
    }
}

static int key_order(const uint8_t *a, const uint8_t *b)
{
    return memcmp(a, b, 16);
}

/* Join decisions, outcomes and ratings: a request is intact when both halves decode. */
static void join(checker *c, sy_store_report *r)
{
    size_t i = 0, j = 0, k = 0;
    r->lost_requests = c->odd_keys;
    while (i < c->dec.n || j < c->out.n) {
        int cmp = i == c->dec.n ? 1 : j == c->out.n ? -1 : key_order(c->dec.key[i], c->out.key[j]);
        const uint8_t *key = cmp <= 0 ? c->dec.key[i] : c->out.key[j];
        int intact = cmp == 0 && c->dec.ok[i] && c->out.ok[j];
        if (intact)
            r->requests++;
        else
            r->lost_requests++;
        for (; k < c->fb.n && key_order(c->fb.key[k], key) <= 0; k++) {
            int here = key_order(c->fb.key[k], key) == 0;
            if (here && intact && c->fb.ok[k])
                r->ratings++;
            else
                r->lost_ratings++;
        }
        i += cmp <= 0;
        j += cmp >= 0;
    }
    r->lost_ratings += c->fb.n - k; /* ratings of requests that are gone */
    r->lost_other = c->lost_other;
}

uint64_t sy_store_report_lost(const sy_store_report *r)
{
    return r->lost_requests + r->lost_ratings + r->lost_other;
}

/* Open dir read-only and begin a read transaction that pins the newest snapshot. */
static int pin_snapshot(const char *dir, MDB_env **env, MDB_txn **txn, char *problem, size_t len)
{
    *env = NULL;
    *txn = NULL;
    int rc = mdb_env_create(env);
    if (rc == 0)
        rc = mdb_env_set_maxdbs(*env, 16);
    if (rc == 0)
        rc = mdb_env_open(*env, dir, MDB_RDONLY | MDB_NOTLS, 0600);
    if (rc == 0)
        rc = mdb_txn_begin(*env, NULL, MDB_RDONLY, txn);
    if (rc) {
        snprintf(problem, len, "LMDB cannot open it: %s", mdb_strerror(rc));
        if (*env)
            mdb_env_close(*env);
        *env = NULL;
        return -1;
    }
    return 0;
}

int sy_store_check(const char *dir, sy_store_report *r)
{
    memset(r, 0, sizeof(*r));
    uint64_t t0 = sy_mono_ms();
    char path[4096];
    snprintf(path, sizeof(path), "%s/data.mdb", dir);
    struct stat st;
    if (stat(path, &st) != 0)
        return 1;
    r->file_bytes = (uint64_t)st.st_size;
    uint64_t newest;
    if (sy_pages_check_meta(path, &newest, r->problem, sizeof(r->problem)) != 0) {
        r->damaged = 1;
        return -1;
    }
    checker c = {0};
    sy_pages_result pr = {0};
    int rc = -2;
    for (int attempt = 0; rc == -2 && attempt < 8; attempt++) { /* see sy_pages_walk */
        MDB_env *env;
        MDB_txn *txn;
        if (pin_snapshot(dir, &env, &txn, r->problem, sizeof(r->problem)) != 0) {
            rc = -1;
            break;
        }
        keyset_free(&c.dec);
        keyset_free(&c.out);
        keyset_free(&c.fb);
        memset(&c, 0, sizeof(c));
        rc = sy_pages_walk(path, (uint64_t)mdb_txn_id(txn), check_record, &c, &pr, r->problem,
                           sizeof(r->problem));
        mdb_txn_abort(txn);
        mdb_env_close(env);
    }
    if (rc == 0)
        join(&c, r);
    keyset_free(&c.dec);
    keyset_free(&c.out);
    keyset_free(&c.fb);
    r->pages = pr.last_pg + 1;
    r->free_pages = pr.free_pages;
    r->txnid = pr.txnid;
    r->elapsed_ms = sy_mono_ms() - t0;
    r->damaged = rc != 0;
    return rc ? -1 : 0;
}

int sy_store_check_isolated(const char *dir, sy_store_report *r)
{
    int fds[2];
    if (pipe(fds) != 0)
        return sy_store_check(dir, r);
    fflush(NULL); /* the child must not repeat buffered output */
    pid_t pid = fork();
    if (pid < 0) {
        close(fds[0]);
        close(fds[1]);
        return sy_store_check(dir, r);
    }
    if (pid == 0) {
        close(fds[0]);
        signal(SIGPIPE, SIG_IGN);
        int rc = sy_store_check(dir, r);
        ssize_t w = write(fds[1], r, sizeof(*r));
        _exit(w == (ssize_t)sizeof(*r) ? (rc < 0 ? 2 : rc) : 3);
    }
    close(fds[1]);
    memset(r, 0, sizeof(*r));
    size_t got = 0;
    while (got < sizeof(*r)) {
        ssize_t n = read(fds[0], (char *)r + got, sizeof(*r) - got);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        got += (size_t)n;
    }
    close(fds[0]);
    int status = 0;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    if (WIFSIGNALED(status) || got != sizeof(*r)) {
        memset(r, 0, sizeof(*r));
        r->damaged = 1;
        if (WIFSIGNALED(status))
            snprintf(r->problem, sizeof(r->problem),
                     "reading data.mdb killed the integrity check (signal %d, %s): the file is "
                     "damaged",
                     WTERMSIG(status), strsignal(WTERMSIG(status)));
        else
            snprintf(r->problem, sizeof(r->problem), "the integrity check failed to report");
        return -1;
    }
    return WEXITSTATUS(status) == 2 ? -1 : WEXITSTATUS(status);
}

int sy_store_backup(const char *dir, const char *dest, char *err, size_t err_len)
{
    sy_store_report r;
    int rc = sy_store_check_isolated(dir, &r);
    if (rc == 1) {
        snprintf(err, err_len, "no store in %s (no data.mdb)", dir);
        return -1;
    }
    if (rc < 0) {
        snprintf(err, err_len, "%s/data.mdb is damaged, not backing it up: %s", dir, r.problem);
        return -1;
    }
    char path[4096];
    snprintf(path, sizeof(path), "%s/data.mdb", dest);
    struct stat st;
    if (stat(path, &st) == 0) {
        snprintf(err, err_len, "%s already holds a store; back up into an empty directory", dest);
        return -1;
    }
    if (mkdir(dest, 0700) != 0 && errno != EEXIST) {
        snprintf(err, err_len, "cannot create %s: %s", dest, strerror(errno));
        return -1;
    }
    MDB_env *env = NULL;
    int mrc = mdb_env_create(&env);
    if (mrc == 0)
        mrc = mdb_env_set_maxdbs(env, 16);
    if (mrc == 0)
        mrc = mdb_env_open(env, dir, MDB_RDONLY | MDB_NOTLS, 0600);
    if (mrc == 0)
        mrc = mdb_env_copy2(env, dest, MDB_CP_COMPACT);
    if (env)
        mdb_env_close(env);
    if (mrc) {
        snprintf(err, err_len, "cannot copy %s to %s: %s", dir, dest, mdb_strerror(mrc));
        return -1;
    }
    sy_store_report b;
    if (sy_store_check_isolated(dest, &b) != 0 || b.requests < r.requests ||
        b.ratings < r.ratings) {
        snprintf(err, err_len, "the copy in %s does not verify: %s", dest,
                 b.problem[0] ? b.problem : "records missing");
        return -1;
    }
    return 0;
}
