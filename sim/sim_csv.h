/*
 * sim_csv: an RFC 4180 reader for the simulator's datasets (RouterBench, RouteLLM, OBD).
 *
 * Records are separated by CRLF or LF; a field is either bare (no quote inside) or
 * enclosed in double quotes, in which case it may contain commas, line breaks and
 * doubled quotes ("" = one quote). An empty field — bare or "" — is returned with
 * len 0 and `quoted` telling the two apart, so loaders can treat an empty cell as
 * missing rather than zero. The reader works on a caller-owned buffer holding the whole
 * file and unquotes fields into its own scratch space; a record's fields stay valid until
 * the next call. Errors (an unterminated quoted field, a quote inside a bare field, text
 * after a closing quote) are reported with the 1-based line where the record started.
 */
#ifndef SY_SIM_CSV_H
#define SY_SIM_CSV_H

#include <stddef.h>

typedef struct sy_csv_field {
    const char *s; /* NUL-terminated, unquoted */
    size_t len;
    int quoted;
} sy_csv_field;

typedef struct sy_csv {
    const char *p, *end;
    size_t line;        /* line of the next record */
    size_t record_line; /* line where the last record returned started */
    char *scratch;      /* unquoted text of the current record */
    size_t scratch_cap;
    sy_csv_field *fields;
    size_t n_fields, fields_cap;
    char err[160];
} sy_csv;

/* Read from text[0..len); the text must outlive the reader. A UTF-8 BOM is skipped. */
void sy_csv_init(sy_csv *c, const char *text, size_t len);
void sy_csv_free(sy_csv *c);

/*
 * Next record: 1 with c->fields/c->n_fields set, 0 at the end of the input, or
 * SY_ERR_INVALID with c->err describing the problem. A blank line is skipped.
 */
int sy_csv_next(sy_csv *c);
/* The next data record of a table whose header has n_cols columns: as sy_csv_next, and
 * a record of another width is SY_ERR_INVALID too (c->err names its line). */
int sy_csv_next_row(sy_csv *c, size_t n_cols);

/* Read a whole file into a NUL-terminated buffer (the caller frees it). SY_ERR_IO with
 * err filled when it cannot be read. */
int sy_sim_read_file(const char *path, char **out, size_t *len, char *err, size_t err_len);

#endif
