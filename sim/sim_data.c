/*
 * sim_data: full-information datasets and their loaders (see sim_data.h).
 *
 * Tables are stored with a fixed row stride of SY_POLICY_MAX_ARMS so arms can be added
 * while a file is read (the generic JSONL names arms line by line). Numbers in cells are
 * parsed strictly: a cell that is neither empty nor a whole number is an error naming
 * file, line and column, because a silently misread score would bias every figure.
 */
#include "sim_data.h"

#include "sim_csv.h"
#include "sy_common.h"

#include <cjson/cJSON.h>
#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* ---- dataset builder ------------------------------------------------------------- */

void sy_sim_dataset_free(sy_sim_dataset *ds)
{
    for (size_t k = 0; k < ds->n_arms; k++)
        free(ds->arm_names[k]);
    for (size_t i = 0; i < ds->n; i++) {
        free(ds->text[i]);
        free(ds->task[i]);
    }
    free(ds->name);
    free(ds->text);
    free(ds->task);
    free(ds->turn);
    free(ds->bytes);
    free(ds->quality);
    free(ds->cost);
    free(ds->latency);
    free(ds->tokens);
    memset(ds, 0, sizeof(*ds));
}

int sy_sim_dataset_arm(sy_sim_dataset *ds, const char *name, int add)
{
    for (size_t k = 0; k < ds->n_arms; k++)
        if (strcmp(ds->arm_names[k], name) == 0)
            return (int)k;
    if (!add)
        return SY_ERR_NOTFOUND;
    if (ds->n_arms == SY_POLICY_MAX_ARMS)
        return SY_ERR_LIMIT;
    ds->arm_names[ds->n_arms] = sy_xstrdup(name);
    return (int)ds->n_arms++;
}

size_t sy_sim_dataset_add_row(sy_sim_dataset *ds, const char *text, size_t len, const char *task,
                              unsigned turn)
{
    if (ds->n == ds->cap) {
        ds->cap = ds->cap ? 2 * ds->cap : 1024;
        ds->text = sy_xrealloc(ds->text, ds->cap * sizeof(char *));
        ds->task = sy_xrealloc(ds->task, ds->cap * sizeof(char *));
        ds->turn = sy_xrealloc(ds->turn, ds->cap * sizeof(unsigned));
        ds->bytes = sy_xrealloc(ds->bytes, ds->cap * sizeof(size_t));
        size_t cells = ds->cap * SY_SIM_STRIDE * sizeof(double);
        ds->quality = sy_xrealloc(ds->quality, cells);
        ds->cost = sy_xrealloc(ds->cost, cells);
        ds->latency = sy_xrealloc(ds->latency, cells);
        ds->tokens = sy_xrealloc(ds->tokens, cells);
    }
    size_t i = ds->n++;
    ds->text[i] = sy_xstrndup(text, len);
    ds->task[i] = task ? sy_xstrdup(task) : NULL;
    ds->turn[i] = turn;
    ds->bytes[i] = len;
    for (size_t k = 0; k < SY_SIM_STRIDE; k++) {
        ds->quality[i * SY_SIM_STRIDE + k] = NAN;
        ds->cost[i * SY_SIM_STRIDE + k] = NAN;
        ds->latency[i * SY_SIM_STRIDE + k] = NAN;
        ds->tokens[i * SY_SIM_STRIDE + k] = NAN;
    }
    return i;
}

int sy_sim_dataset_eligible(const sy_sim_dataset *ds, size_t i, size_t k)
{
    size_t c = i * SY_SIM_STRIDE + k;
    return k < ds->n_arms && !isnan(ds->quality[c]) && !isnan(ds->cost[c]);
}

size_t sy_sim_dataset_compact(sy_sim_dataset *ds)
{
    size_t w = 0, gone = 0;
    for (size_t i = 0; i < ds->n; i++) {
        int any = 0;
        for (size_t k = 0; k < ds->n_arms && !any; k++)
            any = sy_sim_dataset_eligible(ds, i, k);
        if (!any) {
            free(ds->text[i]);
            free(ds->task[i]);
            gone++;
            continue;
        }
        if (w != i) {
            ds->text[w] = ds->text[i];
            ds->task[w] = ds->task[i];
            ds->turn[w] = ds->turn[i];
            ds->bytes[w] = ds->bytes[i];
            size_t sz = SY_SIM_STRIDE * sizeof(double);
            memcpy(ds->quality + w * SY_SIM_STRIDE, ds->quality + i * SY_SIM_STRIDE, sz);
            memcpy(ds->cost + w * SY_SIM_STRIDE, ds->cost + i * SY_SIM_STRIDE, sz);
            memcpy(ds->latency + w * SY_SIM_STRIDE, ds->latency + i * SY_SIM_STRIDE, sz);
            memcpy(ds->tokens + w * SY_SIM_STRIDE, ds->tokens + i * SY_SIM_STRIDE, sz);
        }
        w++;
    }
    ds->n = w;
    ds->dropped += gone;
    return gone;
}

/* ---- helpers --------------------------------------------------------------------- */

/* A cell as a number: 1 with *out set, 0 for an empty cell, -1 when it is not a number. */
static int cell_number(const sy_csv_field *f, double *out)
{
    if (f->len == 0)
        return 0;
    if (f->len == 4 && strcasecmp(f->s, "true") == 0) {
        *out = 1;
        return 1;
    }
    if (f->len == 5 && strcasecmp(f->s, "false") == 0) {
        *out = 0;
        return 1;
    }
    char *end;
    errno = 0;
    double v = strtod(f->s, &end);
    if (end != f->s + f->len || errno == ERANGE || !isfinite(v))
        return -1;
    *out = v;
    return 1;
}

static int ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), m = strlen(suffix);
    return n >= m && strcmp(s + n - m, suffix) == 0;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The *.csv files of a directory in name order (caller frees each and the array), or the
 * path itself when it is not a directory. */
static char **expand_csv(const char *path, size_t *n)
{
    struct stat st;
    *n = 0;
    if (stat(path, &st) != 0 || !S_ISDIR(st.st_mode)) {
        char **one = sy_xmalloc(sizeof(char *));
        one[0] = sy_xstrdup(path);
        *n = 1;
        return one;
    }
    DIR *d = opendir(path);
    char **list = NULL;
    size_t cap = 0;
    if (!d)
        return NULL;
    for (struct dirent *e; (e = readdir(d));) {
        if (!ends_with(e->d_name, ".csv"))
            continue;
        if (*n == cap) {
            cap = cap ? 2 * cap : 16;
            list = sy_xrealloc(list, cap * sizeof(char *));
        }
        sy_buf b = {0};
        sy_buf_printf(&b, "%s/%s", path, e->d_name);
        list[(*n)++] = b.data;
    }
    closedir(d);
    if (*n)
        qsort(list, *n, sizeof(char *), cmp_str);
    return list;
}

static void free_list(char **list, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(list[i]);
    free(list);
}

/* ---- RouterBench ----------------------------------------------------------------- */

int sy_sim_decode_pylist(const char *s, size_t n, char **latest, size_t *latest_len, size_t *total)
{
    size_t i = 0;
    if (n < 2 || s[0] != '[' || s[n - 1] != ']')
        return -1;
    sy_buf cur = {0};
    size_t sum = 0;
    int any = 0;
    i = 1;
    for (;;) {
        while (i < n && (s[i] == ' ' || s[i] == ','))
            i++;
        if (i >= n - 1)
            break;
        char q = s[i];
        if (q != '\'' && q != '"')
            goto bad;
        i++;
        sy_buf_reset(&cur);
        for (;;) {
            if (i >= n - 1)
                goto bad;
            char ch = s[i++];
            if (ch == q)
                break;
            if (ch == '\\') {
                if (i >= n - 1)
                    goto bad;
                char e = s[i++];
                ch = e == 'n' ? '\n' : e == 't' ? '\t' : e == 'r' ? '\r' : e;
            }
            sy_buf_append(&cur, &ch, 1);
        }
        sum += cur.len;
        any = 1;
    }
    if (!any)
        goto bad;
    *latest = cur.data ? cur.data : sy_xstrdup("");
    *latest_len = cur.len;
    *total = sum;
    return 0;
bad:
    sy_buf_free(&cur);
    return -1;
}

static const char *const k_rb_meta[] = {"", "sample_id", "prompt", "eval_name",
                                        "oracle_model_to_route_to"};

int sy_sim_parse_routerbench(const char *text, size_t len, const char *path, int first,
                             sy_sim_dataset *ds, char *err, size_t err_len)
{
    int rc = SY_OK;
    sy_csv c;
    sy_csv_init(&c, text, len);
    long q_col[SY_POLICY_MAX_ARMS], c_col[SY_POLICY_MAX_ARMS];
    long prompt_col = -1, task_col = -1;
    size_t n_cols = 0, n_models = 0;
    int got = sy_csv_next(&c);
    if (got <= 0) {
        snprintf(err, err_len, "%s: %s", path, got == 0 ? "empty file (no header row)" : c.err);
        rc = SY_ERR_INVALID;
        goto out;
    }
    n_cols = c.n_fields;
    for (size_t k = 0; k < SY_POLICY_MAX_ARMS; k++)
        q_col[k] = c_col[k] = -1;
    /* pass 1: score columns define the models */
    for (size_t j = 0; j < n_cols; j++) {
        const char *h = c.fields[j].s;
        if (strcmp(h, "prompt") == 0)
            prompt_col = (long)j;
        else if (strcmp(h, "eval_name") == 0)
            task_col = (long)j;
        int meta = 0;
        for (size_t m = 0; m < SY_ARRAY_LEN(k_rb_meta); m++)
            meta |= strcmp(h, k_rb_meta[m]) == 0;
        if (meta || strchr(h, '|'))
            continue;
        int k = sy_sim_dataset_arm(ds, h, first);
        if (k == SY_ERR_LIMIT) {
            snprintf(err, err_len, "%s: more than %d models", path, SY_POLICY_MAX_ARMS);
            rc = SY_ERR_LIMIT;
            goto out;
        }
        if (k < 0) {
            snprintf(err, err_len, "%s: model column \"%s\" is not in the first file", path, h);
            rc = SY_ERR_INVALID;
            goto out;
        }
        q_col[k] = (long)j;
        n_models++;
    }
    if (prompt_col < 0 || n_models == 0 || n_models != ds->n_arms) {
        snprintf(err, err_len,
                 "%s: not a RouterBench file (needs a \"prompt\" column and the same model "
                 "score columns as the other files)",
                 path);
        rc = SY_ERR_INVALID;
        goto out;
    }
    /* pass 2: "<model>|total_cost" */
    for (size_t j = 0; j < n_cols; j++) {
        const char *h = c.fields[j].s, *bar = strchr(h, '|');
        if (!bar || strcmp(bar, "|total_cost") != 0)
            continue;
        char name[256];
        snprintf(name, sizeof(name), "%.*s", (int)(bar - h), h);
        int k = sy_sim_dataset_arm(ds, name, 0);
        if (k >= 0)
            c_col[k] = (long)j;
    }
    for (size_t k = 0; k < ds->n_arms; k++)
        if (c_col[k] < 0) {
            snprintf(err, err_len, "%s: no \"%s|total_cost\" column", path, ds->arm_names[k]);
            rc = SY_ERR_INVALID;
            goto out;
        }
    while ((got = sy_csv_next_row(&c, n_cols)) == 1) {
        const sy_csv_field *pf = &c.fields[prompt_col];
        char *last;
        size_t last_len, total, i;
        if (sy_sim_decode_pylist(pf->s, pf->len, &last, &last_len, &total) == 0) {
            i = sy_sim_dataset_add_row(ds, last, last_len,
                                       task_col >= 0 ? c.fields[task_col].s : NULL, 0);
            ds->bytes[i] = total;
            free(last);
        } else {
            i = sy_sim_dataset_add_row(ds, pf->s, pf->len,
                                       task_col >= 0 ? c.fields[task_col].s : NULL, 0);
        }
        for (size_t k = 0; k < ds->n_arms; k++) {
            double q, cost;
            int a = cell_number(&c.fields[q_col[k]], &q);
            int b = cell_number(&c.fields[c_col[k]], &cost);
            if (a < 0 || b < 0 || (a > 0 && (q < 0 || q > 1)) || (b > 0 && cost < 0)) {
                snprintf(err, err_len,
                         "%s: line %zu: bad %s of \"%s\" (a score in [0,1] or a cost >= 0, "
                         "or empty for missing)",
                         path, c.record_line,
                         a < 0 || (a > 0 && (q < 0 || q > 1)) ? "score" : "cost", ds->arm_names[k]);
                rc = SY_ERR_INVALID;
                goto out;
            }
            if (a > 0)
                ds->quality[i * SY_SIM_STRIDE + k] = q;
            if (b > 0)
                ds->cost[i * SY_SIM_STRIDE + k] = cost;
        }
    }
    if (got < 0) {
        snprintf(err, err_len, "%s: %s", path, c.err);
        rc = SY_ERR_INVALID;
    }
out:
    sy_csv_free(&c);
    return rc;
}

static int load_routerbench_file(const char *path, sy_sim_dataset *ds, int first, char *err,
                                 size_t err_len)
{
    char *text;
    size_t len;
    int rc = sy_sim_read_file(path, &text, &len, err, err_len);
    if (rc)
        return rc;
    rc = sy_sim_parse_routerbench(text, len, path, first, ds, err, err_len);
    free(text);
    return rc;
}

int sy_sim_load_routerbench(const char *const *paths, size_t n_paths, sy_sim_dataset *ds, char *err,
                            size_t err_len)
{
    int first = 1;
    for (size_t p = 0; p < n_paths; p++) {
        size_t n;
        char **files = expand_csv(paths[p], &n);
        if (!files || n == 0) {
            snprintf(err, err_len, "%s: no CSV files found", paths[p]);
            free_list(files, n);
            return SY_ERR_IO;
        }
        for (size_t f = 0; f < n; f++) {
            int rc = load_routerbench_file(files[f], ds, first, err, err_len);
            first = 0;
            if (rc) {
                free_list(files, n);
                return rc;
            }
        }
        free_list(files, n);
    }
    if (!ds->name)
        ds->name = sy_xstrdup("routerbench");
    sy_sim_dataset_compact(ds);
    if (ds->n == 0) {
        snprintf(err, err_len, "no prompt has an outcome for any model");
        return SY_ERR_INVALID;
    }
    return SY_OK;
}

/* ---- RouteLLM -------------------------------------------------------------------- */

/*
 * Public list prices, USD per million tokens, at the time the RouteLLM data was made
 * (2024): gpt-4-1106-preview from OpenAI's price list; Mixtral-8x7B-Instruct from
 * Together AI's serverless price (input and output alike).
 */
const sy_sim_price sy_sim_routellm_prices[] = {
    {"gpt-4-1106-preview", 10.0, 30.0},
    {"mistralai/Mixtral-8x7B-Instruct-v0.1", 0.60, 0.60},
};
const size_t sy_sim_routellm_n_prices = SY_ARRAY_LEN(sy_sim_routellm_prices);

double sy_sim_estimate_tokens(size_t bytes)
{
    double t = ceil((double)bytes / 4.0);
    return t < 1 ? 1 : t;
}

static const sy_sim_price *price_of(const char *model)
{
    for (size_t i = 0; i < sy_sim_routellm_n_prices; i++)
        if (strcmp(sy_sim_routellm_prices[i].model, model) == 0)
            return &sy_sim_routellm_prices[i];
    return NULL;
}

static void set_priced(sy_sim_dataset *ds, size_t i, size_t k, double q, size_t prompt_bytes,
                       double out_tokens)
{
    const sy_sim_price *pr = price_of(ds->arm_names[k]);
    ds->quality[i * SY_SIM_STRIDE + k] = q;
    ds->tokens[i * SY_SIM_STRIDE + k] = out_tokens;
    ds->cost[i * SY_SIM_STRIDE + k] =
        (pr->input * sy_sim_estimate_tokens(prompt_bytes) + pr->output * out_tokens) * 1e-6;
}

/*
 * A RouteLLM CSV: "prompt", one True/False column per model, optionally
 * "<model>_response". Output tokens are estimated from the response, or `fixed_tokens`
 * when the file has none (MMLU: the answer is one letter).
 */
static int load_routellm_csv(const char *path, const char *task, double fixed_tokens,
                             sy_sim_dataset *ds, char *err, size_t err_len)
{
    char *text;
    size_t len;
    int rc = sy_sim_read_file(path, &text, &len, err, err_len);
    if (rc)
        return rc;
    sy_csv c;
    sy_csv_init(&c, text, len);
    long q_col[SY_POLICY_MAX_ARMS], r_col[SY_POLICY_MAX_ARMS];
    int arm_of[SY_POLICY_MAX_ARMS];
    size_t n_models = 0, n_cols;
    long prompt_col = -1;
    int got = sy_csv_next(&c);
    if (got <= 0) {
        snprintf(err, err_len, "%s: %s", path, got == 0 ? "empty file" : c.err);
        rc = SY_ERR_INVALID;
        goto out;
    }
    n_cols = c.n_fields;
    for (size_t j = 0; j < n_cols; j++) {
        const char *h = c.fields[j].s;
        if (strcmp(h, "prompt") == 0) {
            prompt_col = (long)j;
            continue;
        }
        if (ends_with(h, "_response") || !price_of(h) || n_models == SY_POLICY_MAX_ARMS)
            continue;
        int k = sy_sim_dataset_arm(ds, h, 1);
        arm_of[n_models] = k;
        q_col[n_models] = (long)j;
        r_col[n_models] = -1;
        char want[300];
        snprintf(want, sizeof(want), "%s_response", h);
        for (size_t m = 0; m < n_cols; m++)
            if (strcmp(c.fields[m].s, want) == 0)
                r_col[n_models] = (long)m;
        n_models++;
    }
    if (prompt_col < 0 || n_models == 0) {
        snprintf(err, err_len, "%s: needs a \"prompt\" column and a column per priced model", path);
        rc = SY_ERR_INVALID;
        goto out;
    }
    while ((got = sy_csv_next_row(&c, n_cols)) == 1) {
        const sy_csv_field *pf = &c.fields[prompt_col];
        size_t i = sy_sim_dataset_add_row(ds, pf->s, pf->len, task, 0);
        for (size_t m = 0; m < n_models; m++) {
            double q;
            int a = cell_number(&c.fields[q_col[m]], &q);
            if (a < 0 || (a > 0 && (q < 0 || q > 1))) {
                snprintf(err, err_len, "%s: line %zu: bad correctness cell for %s", path,
                         c.record_line, ds->arm_names[arm_of[m]]);
                rc = SY_ERR_INVALID;
                goto out;
            }
            if (a == 0)
                continue;
            double toks =
                r_col[m] >= 0 ? sy_sim_estimate_tokens(c.fields[r_col[m]].len) : fixed_tokens;
            set_priced(ds, i, (size_t)arm_of[m], q, pf->len, toks);
        }
    }
    if (got < 0) {
        snprintf(err, err_len, "%s: %s", path, c.err);
        rc = SY_ERR_INVALID;
    }
out:
    sy_csv_free(&c);
    free(text);
    return rc;
}

/* The assistant's answer inside a judge prompt (its last turn for multi-turn judges). */
static size_t judged_answer_bytes(const char *p)
{
    static const struct {
        const char *start, *end;
    } marks[] = {{"[The Start of Assistant's Answer]", "[The End of Assistant's Answer]"},
                 {"### Assistant A:", "<|The End of Assistant A's Conversation with User|>"}};
    for (size_t m = 0; m < SY_ARRAY_LEN(marks); m++) {
        const char *s = NULL;
        for (const char *q = strstr(p, marks[m].start); q; q = strstr(q + 1, marks[m].start))
            s = q; /* the last one */
        if (!s)
            continue;
        s += strlen(marks[m].start);
        const char *e = strstr(s, marks[m].end);
        if (e)
            return (size_t)(e - s);
    }
    return 1024; /* not found: about 256 tokens */
}

static int load_mt_bench(const char *qpath, const char *jpath, sy_sim_dataset *ds, char *err,
                         size_t err_len)
{
    char *qt = NULL, *jt = NULL;
    size_t ql, jl;
    int rc = sy_sim_read_file(qpath, &qt, &ql, err, err_len);
    if (rc == 0)
        rc = sy_sim_read_file(jpath, &jt, &jl, err, err_len);
    /* question id -> row of each turn */
    enum { MAXQ = 4096 };
    long *row = NULL;
    if (rc)
        goto out;
    row = sy_xmalloc(sizeof(long) * MAXQ * 2);
    for (size_t i = 0; i < MAXQ * 2; i++)
        row[i] = -1;
    size_t lineno = 0;
    for (char *p = qt, *e; *p; p = e + (*e != 0)) {
        e = strchr(p, '\n');
        if (!e)
            e = p + strlen(p);
        lineno++;
        if (e == p)
            continue;
        cJSON *o = cJSON_ParseWithLength(p, (size_t)(e - p));
        cJSON *id = o ? cJSON_GetObjectItem(o, "question_id") : NULL;
        cJSON *turns = o ? cJSON_GetObjectItem(o, "turns") : NULL;
        cJSON *cat = o ? cJSON_GetObjectItem(o, "category") : NULL;
        if (!cJSON_IsNumber(id) || id->valueint < 0 || id->valueint >= MAXQ ||
            !cJSON_IsArray(turns)) {
            snprintf(err, err_len, "%s: line %zu: expected {\"question_id\", \"turns\": [...]}",
                     qpath, lineno);
            cJSON_Delete(o);
            rc = SY_ERR_INVALID;
            goto out;
        }
        char task[128];
        snprintf(task, sizeof(task), "mt_bench/%s",
                 cJSON_IsString(cat) ? cat->valuestring : "unknown");
        int t = 0;
        for (cJSON *tt = turns->child; tt && t < 2; tt = tt->next, t++)
            if (cJSON_IsString(tt))
                row[id->valueint * 2 + t] = (long)sy_sim_dataset_add_row(
                    ds, tt->valuestring, strlen(tt->valuestring), task, (unsigned)t);
        cJSON_Delete(o);
    }
    lineno = 0;
    for (char *p = jt, *e; *p; p = e + (*e != 0)) {
        e = strchr(p, '\n');
        if (!e)
            e = p + strlen(p);
        lineno++;
        if (e == p)
            continue;
        cJSON *o = cJSON_ParseWithLength(p, (size_t)(e - p));
        cJSON *id = o ? cJSON_GetObjectItem(o, "question_id") : NULL;
        cJSON *model = o ? cJSON_GetObjectItem(o, "model") : NULL;
        cJSON *score = o ? cJSON_GetObjectItem(o, "score") : NULL;
        cJSON *turn = o ? cJSON_GetObjectItem(o, "turn") : NULL;
        cJSON *up = o ? cJSON_GetObjectItem(o, "user_prompt") : NULL;
        if (!cJSON_IsNumber(id) || !cJSON_IsString(model) || !cJSON_IsNumber(score) ||
            !cJSON_IsNumber(turn) || id->valueint < 0 || id->valueint >= MAXQ ||
            turn->valueint < 1 || turn->valueint > 2 || score->valuedouble < 1 ||
            score->valuedouble > 10) {
            snprintf(err, err_len,
                     "%s: line %zu: expected question_id, model, score (1-10) and turn (1-2)",
                     jpath, lineno);
            cJSON_Delete(o);
            rc = SY_ERR_INVALID;
            goto out;
        }
        long i = row[id->valueint * 2 + turn->valueint - 1];
        if (i >= 0 && price_of(model->valuestring)) {
            int k = sy_sim_dataset_arm(ds, model->valuestring, 1);
            size_t ans = cJSON_IsString(up) ? judged_answer_bytes(up->valuestring) : 1024;
            /* a second turn carries the whole conversation as input */
            size_t in_bytes = strlen(ds->text[i]);
            if (turn->valueint == 2 && row[id->valueint * 2] >= 0)
                in_bytes += strlen(ds->text[row[id->valueint * 2]]) + ans;
            set_priced(ds, (size_t)i, (size_t)k, (score->valuedouble - 1) / 9, in_bytes,
                       sy_sim_estimate_tokens(ans));
        }
        cJSON_Delete(o);
    }
out:
    free(row);
    free(qt);
    free(jt);
    return rc;
}

int sy_sim_load_routellm(const char *dir, sy_sim_dataset *ds, char *err, size_t err_len)
{
    sy_buf p = {0};
    struct stat st;
    int found = 0, rc = SY_OK;
    sy_buf_printf(&p, "%s/gsm8k_responses.csv", dir);
    if (stat(p.data, &st) == 0) {
        found = 1;
        rc = load_routellm_csv(p.data, "gsm8k", 0, ds, err, err_len);
    }
    sy_buf_reset(&p);
    sy_buf_printf(&p, "%s/mmlu", dir);
    if (rc == 0 && stat(p.data, &st) == 0 && S_ISDIR(st.st_mode)) {
        size_t n;
        char **files = expand_csv(p.data, &n);
        for (size_t f = 0; rc == 0 && f < n; f++) {
            found = 1;
            const char *base = strrchr(files[f], '/') + 1;
            char task[200];
            snprintf(task, sizeof(task), "mmlu/%.*s", (int)(strlen(base) - 4), base);
            rc = load_routellm_csv(files[f], task, 2, ds, err, err_len);
        }
        free_list(files, n);
    }
    sy_buf_reset(&p);
    sy_buf_printf(&p, "%s/mt_bench_questions.jsonl", dir);
    sy_buf j = {0};
    sy_buf_printf(&j, "%s/mt_bench_judgements.jsonl", dir);
    if (rc == 0 && stat(p.data, &st) == 0 && stat(j.data, &st) == 0) {
        found = 1;
        rc = load_mt_bench(p.data, j.data, ds, err, err_len);
    }
    sy_buf_free(&j);
    sy_buf_free(&p);
    if (rc)
        return rc;
    if (!found) {
        snprintf(err, err_len,
                 "%s: no RouteLLM files (gsm8k_responses.csv, mmlu/, mt_bench_*.jsonl)", dir);
        return SY_ERR_IO;
    }
    ds->name = sy_xstrdup("routellm");
    sy_sim_dataset_compact(ds);
    return ds->n ? SY_OK : SY_ERR_INVALID;
}

/* ---- generic JSONL --------------------------------------------------------------- */

/* Optional number member: 1 set, 0 absent/null, -1 wrong type or out of range. */
static int opt_number(const cJSON *o, const char *key, double lo, double hi, double *out)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    if (!v || cJSON_IsNull(v))
        return 0;
    if (!cJSON_IsNumber(v) || !isfinite(v->valuedouble) || v->valuedouble < lo ||
        v->valuedouble > hi)
        return -1;
    *out = v->valuedouble;
    return 1;
}

int sy_sim_parse_jsonl(const char *text, const char *path, sy_sim_dataset *ds, char *err,
                       size_t err_len)
{
    int rc = SY_OK;
    size_t lineno = 0;
    for (const char *p = text, *e; *p && rc == 0; p = e + (*e != 0)) {
        e = strchr(p, '\n');
        if (!e)
            e = p + strlen(p);
        lineno++;
        size_t n = (size_t)(e - p);
        while (n && (p[n - 1] == '\r' || p[n - 1] == ' '))
            n--;
        if (n == 0)
            continue;
        cJSON *o = cJSON_ParseWithLength(p, n);
        const cJSON *prompt = o ? cJSON_GetObjectItemCaseSensitive(o, "prompt") : NULL;
        const cJSON *outc = o ? cJSON_GetObjectItemCaseSensitive(o, "outcomes") : NULL;
        const cJSON *task = o ? cJSON_GetObjectItemCaseSensitive(o, "task") : NULL;
        double turn = 0;
        if (!cJSON_IsObject(o) || !cJSON_IsString(prompt) || !cJSON_IsObject(outc) ||
            (task && !cJSON_IsString(task) && !cJSON_IsNull(task)) ||
            opt_number(o, "turn", 0, 1e6, &turn) < 0) {
            snprintf(err, err_len,
                     "%s: line %zu: expected {\"prompt\": string, \"outcomes\": {model: {...}}, "
                     "optional \"task\": string, \"turn\": integer}",
                     path, lineno);
            cJSON_Delete(o);
            rc = SY_ERR_INVALID;
            break;
        }
        size_t i =
            sy_sim_dataset_add_row(ds, prompt->valuestring, strlen(prompt->valuestring),
                                   cJSON_IsString(task) ? task->valuestring : NULL, (unsigned)turn);
        for (const cJSON *m = outc->child; m; m = m->next) {
            int k = sy_sim_dataset_arm(ds, m->string, 1);
            double q = NAN, c = NAN, lat_ms = NAN, toks = NAN;
            if (k < 0 || !cJSON_IsObject(m) || opt_number(m, "quality", 0, 1, &q) < 0 ||
                opt_number(m, "cost_usd", 0, 1e6, &c) < 0 ||
                opt_number(m, "latency_ms", 0, 1e9, &lat_ms) < 0 ||
                opt_number(m, "output_tokens", 0, 1e9, &toks) < 0) {
                snprintf(err, err_len,
                         k < 0 ? "%s: line %zu: more than 64 models"
                               : "%s: line %zu: outcome of \"%s\": expected quality in [0,1], "
                                 "cost_usd >= 0, latency_ms >= 0, output_tokens >= 0 "
                                 "(numbers or null)",
                         path, lineno, m->string);
                rc = SY_ERR_INVALID;
                break;
            }
            size_t cell = i * SY_SIM_STRIDE + (size_t)k;
            ds->quality[cell] = q;
            ds->cost[cell] = c;
            ds->latency[cell] = lat_ms / 1000;
            ds->tokens[cell] = toks;
        }
        cJSON_Delete(o);
    }
    if (rc)
        return rc;
    const char *base = strrchr(path, '/');
    ds->name = sy_xstrdup(base ? base + 1 : path);
    sy_sim_dataset_compact(ds);
    if (ds->n == 0) {
        snprintf(err, err_len, "%s: no prompt with an outcome (quality and cost_usd)", path);
        return SY_ERR_INVALID;
    }
    return SY_OK;
}

int sy_sim_load_jsonl(const char *path, sy_sim_dataset *ds, char *err, size_t err_len)
{
    char *text;
    size_t len;
    int rc = sy_sim_read_file(path, &text, &len, err, err_len);
    if (rc)
        return rc;
    rc = sy_sim_parse_jsonl(text, path, ds, err, err_len);
    free(text);
    return rc;
}
