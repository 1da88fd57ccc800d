/*
 * loadgen_stats: what `switchyard loadgen` counts — per model (requests, errors, ratings,
 * cost) and per kind of prompt (which model served what share, overall, over the kind's
 * first and last `window` answers, and the hidden quality of what it served) — and how
 * it prints it. The caller serialises every call (loadgen_internal.h).
 */
#include "loadgen_internal.h"

#include <stdlib.h>
#include <string.h>

static void window_init(lg_window *w, long cap)
{
    w->cap = cap;
    w->n = 0;
    w->last = sy_xcalloc((size_t)cap, sizeof *w->last);
    w->first = sy_xcalloc((size_t)cap, sizeof *w->first);
}

static void window_free(lg_window *w)
{
    free(w->last);
    free(w->first);
}

static void window_add(lg_window *w, int m)
{
    if (w->n < w->cap)
        w->first[w->n] = m;
    w->last[w->n % w->cap] = m;
    w->n++;
}

/* Each model's share of the window's last (or first) min(cap, n) answers. */
static void window_shares(const lg_window *w, int early, double *share)
{
    long n = w->n < w->cap ? w->n : w->cap;
    for (size_t i = 0; i < LG_MAX_MODELS; i++)
        share[i] = 0;
    for (long k = 0; k < n; k++) {
        int m = early ? w->first[k] : w->last[(w->n - 1 - k) % w->cap];
        share[m] += 1.0 / (double)n;
    }
}

void lg_stats_init(lg_stats *st, long window, const lg_mix *mix)
{
    memset(st, 0, sizeof *st);
    st->mix = mix;
    window_init(&st->win, window);
    if (mix) {
        st->kinds = sy_xcalloc(mix->n_kinds, sizeof *st->kinds);
        for (size_t k = 0; k < mix->n_kinds; k++)
            window_init(&st->kinds[k].win, window);
    }
}

void lg_stats_free(lg_stats *st)
{
    window_free(&st->win);
    for (size_t k = 0; st->mix && k < st->mix->n_kinds; k++)
        window_free(&st->kinds[k].win);
    free(st->kinds);
}

int lg_stats_model(lg_stats *st, const char *name, double base_quality)
{
    for (size_t i = 0; i < st->n_models; i++)
        if (strcmp(st->models[i].name, name) == 0)
            return (int)i;
    if (st->n_models == LG_MAX_MODELS)
        return -1;
    lg_model *m = &st->models[st->n_models];
    snprintf(m->name, sizeof(m->name), "%s", name);
    m->base_quality = base_quality;
    return (int)st->n_models++;
}

void lg_stats_served(lg_stats *st, int kind, int m, long status, double cost)
{
    lg_model *mm = &st->models[m];
    mm->requests++;
    mm->cost_usd += cost;
    if (status != 200)
        mm->errors++;
    window_add(&st->win, m);
    if (kind >= 0) {
        st->kinds[kind].requests++;
        st->kinds[kind].served[m]++;
        window_add(&st->kinds[kind].win, m);
    }
}

void lg_stats_rated(lg_stats *st, int kind, int m, double q, int up)
{
    if (up >= 0) {
        st->models[m].rated++;
        st->models[m].ups += (uint64_t)up;
    }
    if (kind < 0)
        return;
    lg_kind *k = &st->kinds[kind];
    if (up >= 0) {
        k->rated[m]++;
        k->ups[m] += (uint64_t)up;
    }
    if (q >= 0) {
        k->quality_sum[m] += q;
        k->quality_n[m]++;
    }
}

void lg_stats_report(const lg_stats *st, FILE *out)
{
    double share[LG_MAX_MODELS];
    window_shares(&st->win, 0, share);
    fprintf(out, "%6ld requests |", st->done);
    for (size_t i = 0; i < st->n_models; i++) {
        const lg_model *m = &st->models[i];
        fprintf(out, " %s %4.1f%% up %3.0f%% $%.4f |", m->name, 100 * share[i],
                m->rated ? 100.0 * (double)m->ups / (double)m->rated : 0.0, m->cost_usd);
    }
    fputc('\n', out);
    for (size_t k = 0; st->mix && k < st->mix->n_kinds; k++) {
        const lg_kind *kd = &st->kinds[k];
        if (!kd->requests)
            continue;
        window_shares(&kd->win, 0, share);
        fprintf(out, "         %-12s %5llu |", st->mix->kinds[k], (unsigned long long)kd->requests);
        for (size_t i = 0; i < st->n_models; i++)
            fprintf(out, " %s %3.0f%%", st->models[i].name, 100 * share[i]);
        fputc('\n', out);
    }
}

/* s as a JSON string. */
static void put_json(FILE *out, const char *s)
{
    sy_buf b = {0};
    sy_buf_json_string(&b, s, strlen(s));
    fputs(b.data, out);
    sy_buf_free(&b);
}

/* The "kinds" member of the summary. */
static void kinds_summary(const lg_stats *st, FILE *out)
{
    double early[LG_MAX_MODELS], late[LG_MAX_MODELS];
    fputs(",\"kinds\":{", out);
    for (size_t k = 0; k < st->mix->n_kinds; k++) {
        const lg_kind *kd = &st->kinds[k];
        window_shares(&kd->win, 1, early);
        window_shares(&kd->win, 0, late);
        fputs(k ? "," : "", out);
        put_json(out, st->mix->kinds[k]);
        fprintf(out, ":{\"requests\":%llu,\"models\":{", (unsigned long long)kd->requests);
        for (size_t i = 0; i < st->n_models; i++) {
            double mean_q = kd->quality_n[i] ? kd->quality_sum[i] / (double)kd->quality_n[i] : -1;
            fputs(i ? "," : "", out);
            put_json(out, st->models[i].name);
            fprintf(out,
                    ":{\"requests\":%llu,\"share\":%.6f,\"early_share\":%.6f,"
                    "\"recent_share\":%.6f,\"rated\":%llu,\"ups\":%llu,\"mean_quality\":",
                    (unsigned long long)kd->served[i],
                    kd->requests ? (double)kd->served[i] / (double)kd->requests : 0.0, early[i],
                    late[i], (unsigned long long)kd->rated[i], (unsigned long long)kd->ups[i]);
            if (mean_q < 0)
                fputs("null}", out);
            else
                fprintf(out, "%.6f}", mean_q);
        }
        fputs("}}", out);
    }
    fputc('}', out);
}

void lg_stats_summary(const lg_stats *st, FILE *out)
{
    double share[LG_MAX_MODELS];
    window_shares(&st->win, 0, share);
    fprintf(out, "{\"requests\":%ld,\"window\":%ld,\"models\":{", st->done, st->win.cap);
    for (size_t i = 0; i < st->n_models; i++) {
        const lg_model *m = &st->models[i];
        fputs(i ? "," : "", out);
        put_json(out, m->name);
        fprintf(out,
                ":{\"requests\":%llu,\"errors\":%llu,\"recent_share\":%.6f,"
                "\"hidden_quality\":%.6g,\"rated\":%llu,\"ups\":%llu,\"cost_usd\":%.9f}",
                (unsigned long long)m->requests, (unsigned long long)m->errors, share[i],
                m->base_quality, (unsigned long long)m->rated, (unsigned long long)m->ups,
                m->cost_usd);
    }
    fputc('}', out);
    if (st->mix)
        kinds_summary(st, out);
    fputs("}\n", out);
}
