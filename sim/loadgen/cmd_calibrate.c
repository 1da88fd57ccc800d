/*
 * cmd_calibrate.c — `switchyard loadgen cache-calibrate`: choose the semantic cache's
 * similarity threshold for YOUR embedding model. Embeds both sides of every labelled
 * pair through an OpenAI-compatible POST {url}/embeddings (the gateway's, or a
 * provider's), and reports precision and recall of "similarity >= t means the same
 * question" per threshold, and the lowest threshold whose precision reaches the target.
 * Blocking, single-threaded; the key is sent as a bearer token and never printed.
 */
#include "calibrate.h"
#include "loadgen.h"
#include "loadgen_internal.h"

#include <getopt.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

static const char usage_text[] =
    "usage: switchyard loadgen cache-calibrate --pairs FILE --url URL --key KEY --model M\n"
    "                                          [options]\n"
    "\n"
    "Calibrate the semantic cache's similarity threshold for an embedding model: embed\n"
    "both sides of every labelled pair through POST URL/embeddings, then report\n"
    "precision and recall of \"similarity >= t means the same question\" per threshold\n"
    "and the lowest threshold t whose precision is at least --min-precision.\n"
    "\n"
    "  --pairs FILE          JSONL, one {\"a\", \"b\", \"label\": \"same\"|\"different\",\n"
    "                        \"kind\"} per line (tests/fixtures/cache_pairs/*.jsonl)\n"
    "  --url URL             an OpenAI-compatible base URL ending in /v1, e.g.\n"
    "                        http://127.0.0.1:8080/v1 (the gateway) or a provider's\n"
    "  --key KEY             bearer key for that endpoint\n"
    "  --model M             the embedding model (the gateway's name for it)\n"
    "  --dimensions N        ask for N dimensions (default: the model's)\n"
    "  --min-precision P     target precision (default 0.95)\n"
    "  --threshold T         also report precision and recall at T (e.g. the threshold\n"
    "                        chosen on another half of the pairs)\n"
    "  --batch N             texts per embeddings request (default 64)\n"
    "  --json FILE           also write the results as JSON to FILE\n"
    "  -h, --help            show this help\n"
    "\n"
    "Exit status: 0 done (even when no threshold reaches the target: see \"lowest\"),\n"
    "1 a bad pairs file or a failed request, 2 a usage error.\n";

typedef struct cal_opts {
    const char *pairs, *url, *key, *model, *json;
    long dims, batch;
    double min_precision, at;
} cal_opts;

/* POST one batch [from, to) of texts and copy the vectors into vec (dim each; *dim is
 * set by the first answer and every later vector must match). -1 with err. */
static int embed_batch(CURL *h, const cal_opts *o, char **texts, size_t from, size_t to,
                       float **vec, long *dim, sy_buf *err)
{
    cJSON *body = cJSON_CreateObject();
    cJSON_AddStringToObject(body, "model", o->model);
    cJSON *in = cJSON_AddArrayToObject(body, "input");
    for (size_t i = from; i < to; i++)
        cJSON_AddItemToArray(in, cJSON_CreateString(texts[i]));
    if (o->dims > 0)
        cJSON_AddNumberToObject(body, "dimensions", (double)o->dims);
    char *js = cJSON_PrintUnformatted(body);
    cJSON_Delete(body);
    sy_buf url = {0};
    size_t ul = strlen(o->url);
    sy_buf_printf(&url, "%.*s/embeddings", (int)(ul && o->url[ul - 1] == '/' ? ul - 1 : ul),
                  o->url);
    lg_resp r = {0};
    long st = lg_http(h, url.data, o->key, NULL, js, &r);
    free(js);
    int rc = -1;
    cJSON *doc = st == 200 ? cJSON_ParseWithLength(r.body.data, r.body.len) : NULL;
    const cJSON *data = cJSON_GetObjectItemCaseSensitive(doc, "data");
    if (st != 200) {
        sy_buf_printf(err, "POST %s: %s %ld: %.300s", url.data, st < 0 ? "no answer" : "status", st,
                      r.body.data ? r.body.data : "");
    } else if (!cJSON_IsArray(data) || (size_t)cJSON_GetArraySize(data) != to - from) {
        sy_buf_printf(err, "POST %s: expected %zu embeddings in \"data\"", url.data, to - from);
    } else {
        rc = 0;
        size_t k = 0;
        for (const cJSON *it = data->child; it && !rc; it = it->next, k++) {
            const cJSON *ix = cJSON_GetObjectItemCaseSensitive(it, "index");
            const cJSON *e = cJSON_GetObjectItemCaseSensitive(it, "embedding");
            size_t slot = cJSON_IsNumber(ix) ? (size_t)ix->valuedouble : k;
            long n = cJSON_IsArray(e) ? cJSON_GetArraySize(e) : 0;
            if (*dim == 0)
                *dim = n;
            if (slot >= to - from || n < 1 || n != *dim) {
                sy_buf_printf(err, "POST %s: embedding %zu is missing or of another dimension",
                              url.data, k);
                rc = -1;
                break;
            }
            float *v = vec[from + slot] = sy_xcalloc((size_t)n, sizeof(float));
            long j = 0;
            for (const cJSON *x = e->child; x; x = x->next)
                v[j++] = cJSON_IsNumber(x) ? (float)x->valuedouble : NAN;
        }
    }
    cJSON_Delete(doc);
    sy_buf_free(&r.body);
    sy_buf_free(&url);
    return rc;
}

static double cosine(const float *x, const float *y, long dim)
{
    double xy = 0, xx = 0, yy = 0;
    for (long i = 0; i < dim; i++)
        xy += (double)x[i] * y[i], xx += (double)x[i] * x[i], yy += (double)y[i] * y[i];
    return xx > 0 && yy > 0 ? xy / sqrt(xx * yy) : 0;
}

static void point_json(cJSON *o, const cal_point *p)
{
    cJSON_AddNumberToObject(o, "threshold", p->threshold);
    if (isnan(p->precision))
        cJSON_AddNullToObject(o, "precision");
    else
        cJSON_AddNumberToObject(o, "precision", p->precision);
    if (isnan(p->recall))
        cJSON_AddNullToObject(o, "recall");
    else
        cJSON_AddNumberToObject(o, "recall", p->recall);
    cJSON_AddNumberToObject(o, "tp", (double)p->tp);
    cJSON_AddNumberToObject(o, "fp", (double)p->fp);
    cJSON_AddNumberToObject(o, "fn", (double)p->fn);
    cJSON_AddNumberToObject(o, "tn", (double)p->tn);
}

static void print_point(const char *label, const cal_point *p)
{
    printf("%-10s %9.4f %9.3f %7.3f %5zu %5zu %5zu %5zu\n", label, p->threshold, p->precision,
           p->recall, p->tp, p->fp, p->fn, p->tn);
}

/* Per kind of pair at threshold t: how many, and how many were predicted "same". */
static void by_kind(const cal_set *s, double t, cJSON *root)
{
    cJSON *bk = cJSON_AddObjectToObject(root, "by_kind");
    printf("\nby kind at %.4f (same pairs: recall; different pairs: false accepts)\n", t);
    for (size_t i = 0; i < s->n; i++) {
        if (cJSON_GetObjectItemCaseSensitive(bk, s->pairs[i].kind))
            continue;
        size_t n = 0, acc = 0;
        for (size_t j = i; j < s->n; j++)
            if (strcmp(s->pairs[j].kind, s->pairs[i].kind) == 0)
                n++, acc += s->pairs[j].sim >= t;
        cJSON *k = cJSON_AddObjectToObject(bk, s->pairs[i].kind);
        cJSON_AddStringToObject(k, "label", s->pairs[i].same ? "same" : "different");
        cJSON_AddNumberToObject(k, "pairs", (double)n);
        cJSON_AddNumberToObject(k, "predicted_same", (double)acc);
        printf("  %-24s %-9s %3zu pairs, %3zu predicted same\n",
               s->pairs[i].kind[0] ? s->pairs[i].kind : "(none)",
               s->pairs[i].same ? "same" : "different", n, acc);
    }
}

/* Why long: the report is one sequence (table, the lowest threshold, --threshold, kinds,
 * JSON) that reads best in order. */
static int report(const cal_set *s, const cal_opts *o, long dim)
{
    cJSON *root = cJSON_CreateObject();
    size_t pos = 0;
    for (size_t i = 0; i < s->n; i++)
        pos += s->pairs[i].same;
    cJSON_AddNumberToObject(root, "pairs", (double)s->n);
    cJSON_AddNumberToObject(root, "same_pairs", (double)pos);
    cJSON_AddNumberToObject(root, "dimensions", (double)dim);
    cJSON_AddNumberToObject(root, "min_precision", o->min_precision);
    printf("%zu pairs (%zu same, %zu different), model %s, %ld dimensions\n\n", s->n, pos,
           s->n - pos, o->model, dim);
    printf("%-10s %9s %9s %7s %5s %5s %5s %5s\n", "", "threshold", "precision", "recall", "tp",
           "fp", "fn", "tn");
    cJSON *curve = cJSON_AddArrayToObject(root, "curve");
    for (int k = 0; k <= 20; k++) {
        cal_point p;
        cal_at(s, 0.5 + 0.025 * k, &p);
        print_point("", &p);
        cJSON *c = cJSON_CreateObject();
        point_json(c, &p);
        cJSON_AddItemToArray(curve, c);
    }
    cal_point low;
    int found = cal_lowest(s, o->min_precision, &low) == 0;
    printf("\n");
    if (found) {
        print_point("lowest", &low);
        printf("lowest threshold with precision >= %.3f: %.4f (recall %.3f)\n", o->min_precision,
               low.threshold, low.recall);
        point_json(cJSON_AddObjectToObject(root, "lowest"), &low);
    } else {
        printf("no threshold reaches precision %.3f on these pairs\n", o->min_precision);
        cJSON_AddNullToObject(root, "lowest");
    }
    if (!isnan(o->at)) {
        cal_point p;
        cal_at(s, o->at, &p);
        print_point("at", &p);
        printf("at threshold %.4f: precision %.3f, recall %.3f\n", o->at, p.precision, p.recall);
        point_json(cJSON_AddObjectToObject(root, "at"), &p);
    }
    by_kind(s, !isnan(o->at) ? o->at : found ? low.threshold : 1.0, root);
    int rc = 0;
    if (o->json) {
        FILE *f = fopen(o->json, "w");
        char *js = cJSON_Print(root);
        if (!f || fputs(js, f) < 0) {
            perror(o->json);
            rc = 1;
        }
        if (f)
            fclose(f);
        free(js);
    }
    cJSON_Delete(root);
    return rc;
}

/* Embed every unique text, then score every pair and report. */
static int calibrate(const cal_opts *o)
{
    cal_set s;
    sy_buf err = {0};
    if (cal_set_load(o->pairs, &s, &err) != 0) {
        fprintf(stderr, "cache-calibrate: %s\n", err.data);
        sy_buf_free(&err);
        return 1;
    }
    float **vec = sy_xcalloc(s.n_texts, sizeof *vec);
    long dim = 0;
    int rc = 0;
    CURL *h = curl_easy_init();
    for (size_t i = 0; i < s.n_texts && !rc; i += (size_t)o->batch) {
        size_t to = i + (size_t)o->batch < s.n_texts ? i + (size_t)o->batch : s.n_texts;
        rc = embed_batch(h, o, s.texts, i, to, vec, &dim, &err);
    }
    curl_easy_cleanup(h);
    if (rc) {
        fprintf(stderr, "cache-calibrate: %s\n", err.data);
    } else {
        for (size_t i = 0; i < s.n; i++)
            s.pairs[i].sim = cosine(vec[s.pairs[i].a], vec[s.pairs[i].b], dim);
        rc = report(&s, o, dim);
    }
    for (size_t i = 0; i < s.n_texts; i++)
        free(vec[i]);
    free(vec);
    sy_buf_free(&err);
    cal_set_free(&s);
    return rc ? 1 : 0;
}

int sy_cmd_cache_calibrate(int argc, char **argv)
{
    enum { O_PAIRS = 256, O_URL, O_KEY, O_MODEL, O_DIMS, O_MINP, O_AT, O_BATCH, O_JSON };
    static const struct option opts[] = {{"pairs", required_argument, NULL, O_PAIRS},
                                         {"url", required_argument, NULL, O_URL},
                                         {"key", required_argument, NULL, O_KEY},
                                         {"model", required_argument, NULL, O_MODEL},
                                         {"dimensions", required_argument, NULL, O_DIMS},
                                         {"min-precision", required_argument, NULL, O_MINP},
                                         {"threshold", required_argument, NULL, O_AT},
                                         {"batch", required_argument, NULL, O_BATCH},
                                         {"json", required_argument, NULL, O_JSON},
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    cal_opts o = {.batch = 64, .min_precision = 0.95, .at = NAN};
    int c, bad = 0;
    char *end;
    optind = 1;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case O_PAIRS:
            o.pairs = optarg;
            break;
        case O_URL:
            o.url = optarg;
            break;
        case O_KEY:
            o.key = optarg;
            break;
        case O_MODEL:
            o.model = optarg;
            break;
        case O_JSON:
            o.json = optarg;
            break;
        case O_DIMS:
            o.dims = strtol(optarg, &end, 10), bad |= *end || o.dims < 1;
            break;
        case O_BATCH:
            o.batch = strtol(optarg, &end, 10), bad |= *end || o.batch < 1;
            break;
        case O_MINP:
            o.min_precision = strtod(optarg, &end);
            bad |= *end || !(o.min_precision > 0 && o.min_precision <= 1);
            break;
        case O_AT:
            o.at = strtod(optarg, &end), bad |= *end || !isfinite(o.at);
            break;
        case 'h':
            fputs(usage_text, stdout);
            return 0;
        default:
            bad = 1;
        }
    }
    if (bad || optind < argc || !o.pairs || !o.url || !o.key || !o.model) {
        fputs(usage_text, stderr);
        return 2;
    }
    curl_global_init(CURL_GLOBAL_DEFAULT);
    int rc = calibrate(&o);
    curl_global_cleanup();
    return rc;
}
