/*
 * calibrate: labelled pairs and precision/recall per threshold (calibrate.h).
 */
#include "calibrate.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The index of text t among the unique texts, adding it when new (linear: calibration
 * sets are hundreds of pairs, not millions). */
static size_t text_index(cal_set *s, const char *t)
{
    for (size_t i = 0; i < s->n_texts; i++)
        if (strcmp(s->texts[i], t) == 0)
            return i;
    s->texts = sy_xrealloc(s->texts, (s->n_texts + 1) * sizeof *s->texts);
    s->texts[s->n_texts] = sy_xstrdup(t);
    return s->n_texts++;
}

/* One line's pair; -1 with a message (without the location) in err. */
static int parse_line(cal_set *s, const char *line, sy_buf *err)
{
    cJSON *o = cJSON_Parse(line);
    const cJSON *a = cJSON_GetObjectItemCaseSensitive(o, "a");
    const cJSON *b = cJSON_GetObjectItemCaseSensitive(o, "b");
    const cJSON *l = cJSON_GetObjectItemCaseSensitive(o, "label");
    const cJSON *k = cJSON_GetObjectItemCaseSensitive(o, "kind");
    int rc = -1;
    if (!cJSON_IsObject(o))
        sy_buf_puts(err, "not a JSON object");
    else if (!cJSON_IsString(a) || !a->valuestring[0] || !cJSON_IsString(b) || !b->valuestring[0])
        sy_buf_puts(err, "\"a\" and \"b\" must be non-empty strings");
    else if (!cJSON_IsString(l) ||
             (strcmp(l->valuestring, "same") != 0 && strcmp(l->valuestring, "different") != 0))
        sy_buf_puts(err, "\"label\" must be \"same\" or \"different\"");
    else if (k && !cJSON_IsString(k))
        sy_buf_puts(err, "\"kind\" must be a string");
    else
        rc = 0;
    if (rc == 0) {
        s->pairs = sy_xrealloc(s->pairs, (s->n + 1) * sizeof *s->pairs);
        cal_pair *p = &s->pairs[s->n++];
        memset(p, 0, sizeof *p);
        p->a = text_index(s, a->valuestring);
        p->b = text_index(s, b->valuestring);
        p->same = strcmp(l->valuestring, "same") == 0;
        snprintf(p->kind, sizeof p->kind, "%s", k ? k->valuestring : "");
    }
    cJSON_Delete(o);
    return rc;
}

int cal_set_load(const char *path, cal_set *s, sy_buf *err)
{
    memset(s, 0, sizeof *s);
    FILE *f = fopen(path, "r");
    if (!f) {
        sy_buf_printf(err, "%s: cannot open", path);
        return -1;
    }
    char *line = NULL;
    size_t cap = 0;
    long no = 0;
    int rc = 0;
    while (getline(&line, &cap, f) >= 0) {
        no++;
        size_t i = strspn(line, " \t\r\n");
        if (!line[i])
            continue;
        sy_buf msg = {0};
        if (parse_line(s, line, &msg) != 0) {
            sy_buf_printf(err, "%s:%ld: %s", path, no, msg.data);
            sy_buf_free(&msg);
            rc = -1;
            break;
        }
    }
    free(line);
    fclose(f);
    if (!rc && s->n == 0) {
        sy_buf_printf(err, "%s: no pairs", path);
        rc = -1;
    }
    if (rc)
        cal_set_free(s);
    return rc;
}

void cal_set_free(cal_set *s)
{
    for (size_t i = 0; i < s->n_texts; i++)
        free(s->texts[i]);
    free(s->texts);
    free(s->pairs);
    memset(s, 0, sizeof *s);
}

void cal_at(const cal_set *s, double threshold, cal_point *out)
{
    memset(out, 0, sizeof *out);
    out->threshold = threshold;
    for (size_t i = 0; i < s->n; i++) {
        int pred = s->pairs[i].sim >= threshold;
        if (s->pairs[i].same)
            pred ? out->tp++ : out->fn++;
        else
            pred ? out->fp++ : out->tn++;
    }
    out->precision = out->tp + out->fp ? (double)out->tp / (double)(out->tp + out->fp) : NAN;
    out->recall = out->tp + out->fn ? (double)out->tp / (double)(out->tp + out->fn) : NAN;
}

int cal_lowest(const cal_set *s, double min_precision, cal_point *out)
{
    int found = 0;
    for (size_t i = 0; i < s->n; i++) {
        double t = floor(s->pairs[i].sim * 1e4) / 1e4;
        if (found && t >= out->threshold)
            continue;
        cal_point p;
        cal_at(s, t, &p);
        if (!isnan(p.precision) && p.precision >= min_precision) {
            *out = p;
            found = 1;
        }
    }
    return found ? 0 : -1;
}
