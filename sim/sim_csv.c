/*
 * sim_csv: RFC 4180 records from an in-memory file (see sim_csv.h).
 *
 * One pass per record: each field is copied, unquoted, into the scratch buffer and its
 * offset remembered; pointers are fixed up once the record is complete because the
 * scratch buffer may move while it grows.
 */
#include "sim_csv.h"

#include "sy_common.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void sy_csv_init(sy_csv *c, const char *text, size_t len)
{
    memset(c, 0, sizeof(*c));
    c->p = text;
    c->end = text + len;
    c->line = 1;
    if (len >= 3 && memcmp(text, "\xEF\xBB\xBF", 3) == 0)
        c->p += 3;
}

void sy_csv_free(sy_csv *c)
{
    free(c->scratch);
    free(c->fields);
    memset(c, 0, sizeof(*c));
}

static void scratch_put(sy_csv *c, size_t *used, char ch)
{
    if (*used + 1 >= c->scratch_cap) {
        c->scratch_cap = c->scratch_cap ? 2 * c->scratch_cap : 4096;
        c->scratch = sy_xrealloc(c->scratch, c->scratch_cap);
    }
    c->scratch[(*used)++] = ch;
}

static void field_push(sy_csv *c, size_t off, size_t len, int quoted)
{
    if (c->n_fields == c->fields_cap) {
        c->fields_cap = c->fields_cap ? 2 * c->fields_cap : 64;
        c->fields = sy_xrealloc(c->fields, c->fields_cap * sizeof(*c->fields));
    }
    /* s holds the offset until the record is complete */
    c->fields[c->n_fields++] =
        (sy_csv_field){.s = (const char *)(uintptr_t)off, .len = len, .quoted = quoted};
}

int sy_csv_next(sy_csv *c)
{
    /* skip blank lines between records */
    while (c->p < c->end && (*c->p == '\n' || *c->p == '\r')) {
        if (*c->p == '\n')
            c->line++;
        c->p++;
    }
    if (c->p >= c->end)
        return 0;
    c->record_line = c->line;
    c->n_fields = 0;
    size_t used = 0;
    for (;;) {
        size_t off = used;
        int quoted = 0;
        if (c->p < c->end && *c->p == '"') {
            quoted = 1;
            c->p++;
            for (;;) {
                if (c->p >= c->end) {
                    snprintf(c->err, sizeof(c->err),
                             "line %zu: quoted field not terminated before the end of the file",
                             c->record_line);
                    return SY_ERR_INVALID;
                }
                char ch = *c->p++;
                if (ch == '"') {
                    if (c->p < c->end && *c->p == '"') {
                        c->p++;
                        scratch_put(c, &used, '"');
                        continue;
                    }
                    break;
                }
                if (ch == '\n')
                    c->line++;
                scratch_put(c, &used, ch);
            }
            if (c->p < c->end && *c->p != ',' && *c->p != '\n' && *c->p != '\r') {
                snprintf(c->err, sizeof(c->err),
                         "line %zu: unexpected character after a closing quote", c->line);
                return SY_ERR_INVALID;
            }
        } else {
            while (c->p < c->end && *c->p != ',' && *c->p != '\n' && *c->p != '\r') {
                if (*c->p == '"') {
                    snprintf(c->err, sizeof(c->err),
                             "line %zu: a quote inside an unquoted field (RFC 4180 needs the "
                             "field quoted and the quote doubled)",
                             c->line);
                    return SY_ERR_INVALID;
                }
                scratch_put(c, &used, *c->p++);
            }
        }
        size_t len = used - off;
        scratch_put(c, &used, '\0');
        field_push(c, off, len, quoted);
        if (c->p < c->end && *c->p == ',') {
            c->p++;
            continue;
        }
        /* end of record: CRLF, LF, CR or end of input */
        if (c->p < c->end && *c->p == '\r')
            c->p++;
        if (c->p < c->end && *c->p == '\n') {
            c->p++;
            c->line++;
        }
        break;
    }
    for (size_t i = 0; i < c->n_fields; i++)
        c->fields[i].s = c->scratch + (uintptr_t)c->fields[i].s;
    return 1;
}

int sy_sim_read_file(const char *path, char **out, size_t *len, char *err, size_t err_len)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        snprintf(err, err_len, "cannot open %s: %s", path, strerror(errno));
        return SY_ERR_IO;
    }
    size_t cap = 1 << 16, n = 0;
    char *buf = sy_xmalloc(cap);
    for (;;) {
        if (cap - n < 4096) {
            cap *= 2;
            buf = sy_xrealloc(buf, cap);
        }
        size_t got = fread(buf + n, 1, cap - n - 1, f);
        n += got;
        if (got == 0)
            break;
    }
    int bad = ferror(f);
    fclose(f);
    if (bad) {
        free(buf);
        snprintf(err, err_len, "cannot read %s", path);
        return SY_ERR_IO;
    }
    buf[n] = '\0';
    *out = buf;
    *len = n;
    return SY_OK;
}

int sy_csv_next_row(sy_csv *c, size_t n_cols)
{
    int got = sy_csv_next(c);
    if (got == 1 && c->n_fields != n_cols) {
        snprintf(c->err, sizeof(c->err), "line %zu: %zu fields, the header has %zu", c->record_line,
                 c->n_fields, n_cols);
        return SY_ERR_INVALID;
    }
    return got;
}
