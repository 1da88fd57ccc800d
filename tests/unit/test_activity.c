/*
 * The dashboard's in-memory history (engine/core/activity.h): bucket sums, the two
 * resolutions, ring wrap-around, old events, ratings and rephrases joined to recent
 * decisions, the filters and the windows refused.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "activity.h"

#define T0 1800000000000ull /* a wall-clock time, ms (a multiple of every bucket length) */

static sy_store_request req(unsigned n, uint64_t ts, const char *route, const char *model,
                            int status)
{
    sy_store_request r;
    memset(&r, 0, sizeof(r));
    r.id[0] = (uint8_t)(n >> 8);
    r.id[1] = (uint8_t)n;
    r.id[15] = 1;
    r.ts_ms = ts;
    snprintf(r.route, sizeof(r.route), "%s", route);
    snprintf(r.model, sizeof(r.model), "%s", model);
    snprintf(r.policy, sizeof(r.policy), "thompson");
    r.propensity = 0.25;
    r.status = status;
    r.latency_ms = 100;
    r.cost_usd = 0.5;
    return r;
}

static void put(sy_activity *a, const sy_store_request *r, uint64_t now)
{
    sy_store_obs o = {.req = r};
    sy_activity_observe(a, &o, now);
}

static void rate(sy_activity *a, const sy_store_request *r, double v, int implicit, uint64_t ts)
{
    sy_store_obs o = {.is_feedback = 1, .req = r, .value = v, .implicit = implicit, .ts_ms = ts};
    sy_activity_observe(a, &o, ts);
}

static const sy_activity_series *find(const sy_activity_window *w, const char *route,
                                      const char *model)
{
    for (size_t i = 0; i < w->n_series; i++)
        if (strcmp(w->series[i].route, route) == 0 && strcmp(w->series[i].model, model) == 0)
            return &w->series[i];
    return NULL;
}

static void buckets_sum_requests_errors_cost_latency(void **state)
{
    (void)state;
    sy_activity *a = sy_activity_new();
    uint64_t now = T0 + 59999;
    for (unsigned i = 0; i < 6; i++) { /* 3 in the first 10 s, 3 in the last */
        sy_store_request r =
            req(i, i < 3 ? T0 + 1000 * i : T0 + 50000 + i, "chat", "small", i == 5 ? 502 : 200);
        put(a, &r, now);
    }
    sy_activity_window w;
    assert_int_equal(sy_activity_window_get(a, NULL, now, 60, 10, &w), 0);
    assert_int_equal(w.n_cells, 6);
    assert_int_equal(w.start_ms, T0);
    const sy_activity_series *s = find(&w, "chat", "small");
    assert_non_null(s);
    assert_true(s->cells[0].requests == 3 && s->cells[5].requests == 3);
    assert_true(s->cells[1].requests == 0);
    assert_true(s->cells[5].errors == 1 && s->cells[0].errors == 0);
    assert_true(fabs(s->cells[0].cost_usd - 1.5) < 1e-12);
    assert_true(fabs(s->cells[0].latency_ms_sum - 300) < 1e-9);
    sy_activity_window_free(&w);
    /* the same minute read from the 1-minute ring */
    assert_int_equal(sy_activity_window_get(a, NULL, now, 7200, 60, &w), 0);
    s = find(&w, "chat", "small");
    assert_true(s->cells[w.n_cells - 1].requests == 6);
    sy_activity_window_free(&w);
    sy_activity_free(a);
}

static void old_events_and_wrapped_buckets_are_not_counted(void **state)
{
    (void)state;
    sy_activity *a = sy_activity_new();
    uint64_t now = T0;
    sy_store_request old = req(1, now - 25 * 3600 * 1000ull, "chat", "small", 200);
    put(a, &old, now); /* more than a day old: no series bucket */
    sy_store_request r = req(2, now - 3600 * 1000ull, "chat", "large", 200);
    put(a, &r, now); /* an hour ago: its 10 s slot is reused an hour later */
    sy_store_request r2 = req(3, now, "chat", "large", 200);
    put(a, &r2, now);
    sy_activity_window w;
    assert_int_equal(sy_activity_window_get(a, NULL, now, 600, 10, &w), 0);
    const sy_activity_series *s = find(&w, "chat", "large");
    double total = 0;
    for (size_t k = 0; k < w.n_cells; k++)
        total += s->cells[k].requests;
    assert_true(total == 1); /* the hour-old one is outside the window and was overwritten */
    assert_true(find(&w, "chat", "small") == NULL);
    sy_activity_window_free(&w);
    assert_int_equal(sy_activity_window_get(a, NULL, now, 86400, 3600, &w), 0);
    s = find(&w, "chat", "large");
    total = 0;
    for (size_t k = 0; k < w.n_cells; k++)
        total += s->cells[k].requests;
    assert_true(total == 2);
    sy_activity_window_free(&w);
    /* an event older than what a slot holds does not erase the newer bucket */
    sy_store_request late = req(4, now - 3600 * 1000ull, "chat", "large", 200);
    put(a, &late, now);
    assert_int_equal(sy_activity_window_get(a, NULL, now, 60, 10, &w), 0);
    s = find(&w, "chat", "large");
    assert_true(s->cells[w.n_cells - 1].requests == 1);
    sy_activity_window_free(&w);
    sy_activity_free(a);
}

static void ratings_and_rephrases_reach_series_and_decisions(void **state)
{
    (void)state;
    sy_activity *a = sy_activity_new();
    sy_store_request r1 = req(1, T0, "chat", "small", 200),
                     r2 = req(2, T0 + 1, "chat", "small", 200);
    put(a, &r1, T0);
    put(a, &r2, T0);
    rate(a, &r1, 0, 1, T0 + 5); /* a rephrase signal */
    rate(a, &r2, 1, 0, T0 + 6); /* a thumbs-up */
    rate(a, &r1, 1, 0, T0 + 7); /* an explicit rating replaces the signal */
    sy_store_obs again = {.is_feedback = 1,
                          .req = &r2,
                          .value = 0,
                          .replaced = 1,
                          .previous = 1,
                          .ts_ms = T0 + 8}; /* corrected to thumbs-down */
    sy_activity_observe(a, &again, T0 + 8);
    sy_activity_window w;
    assert_int_equal(sy_activity_window_get(a, "chat", T0 + 9, 60, 10, &w), 0);
    const sy_activity_series *s = find(&w, "chat", "small");
    sy_activity_cell c = s->cells[w.n_cells - 1];
    assert_true(c.rephrases == 1 && c.ratings == 2 && fabs(c.rating_sum - 1) < 1e-12);
    sy_activity_window_free(&w);
    sy_activity_decision d[4];
    assert_int_equal(sy_activity_recent(a, NULL, d, 4), 2);
    assert_true(d[0].id[1] == 2 && d[0].rated == 1 && d[0].rating == 0); /* newest first */
    assert_true(d[1].id[1] == 1 && d[1].rated == 1 && d[1].rating == 1);
    /* a later signal never hides an explicit rating */
    rate(a, &r1, 0, 1, T0 + 10);
    assert_int_equal(sy_activity_recent(a, NULL, d, 4), 2);
    assert_true(d[1].rated == 1 && d[1].rating == 1);
    sy_activity_free(a);
}

static void filters_route_variants_and_conversation(void **state)
{
    (void)state;
    sy_activity *a = sy_activity_new();
    sy_store_request r1 = req(1, T0, "chat", "small", 200);
    sy_store_request r2 = req(2, T0, "chat~exp.big", "large", 200);
    sy_store_request r3 = req(3, T0, "chatty", "large", 200);
    sy_store_request r4 = req(4, T0, "", "large", 200);
    memset(r2.conv, 7, 16);
    put(a, &r1, T0);
    put(a, &r2, T0);
    put(a, &r3, T0);
    put(a, &r4, T0);
    sy_activity_decision d[8];
    sy_activity_filter f = {.route = "chat"};
    assert_int_equal(sy_activity_recent(a, &f, d, 8), 2); /* chat and its variant, not chatty */
    f.route = "";
    assert_int_equal(sy_activity_recent(a, &f, d, 8), 1);
    uint8_t conv[16];
    memset(conv, 7, 16);
    sy_activity_filter fc = {.conv = conv};
    assert_int_equal(sy_activity_recent(a, &fc, d, 8), 1);
    assert_string_equal(d[0].route, "chat~exp.big");
    assert_int_equal(sy_activity_recent(a, NULL, d, 3), 3); /* max holds */
    sy_activity_window w;
    assert_int_equal(sy_activity_window_get(a, "chat", T0, 60, 10, &w), 0);
    assert_int_equal(w.n_series, 2);
    sy_activity_window_free(&w);
    sy_activity_free(a);
}

static void the_recent_ring_keeps_the_newest(void **state)
{
    (void)state;
    sy_activity *a = sy_activity_new();
    for (unsigned i = 0; i < SY_ACTIVITY_RECENT + 10; i++) {
        sy_store_request r = req(i, T0 + i, "chat", "small", 200);
        put(a, &r, T0 + i);
    }
    static sy_activity_decision d[SY_ACTIVITY_RECENT + 10];
    size_t n = sy_activity_recent(a, NULL, d, SY_ACTIVITY_RECENT + 10);
    assert_int_equal(n, SY_ACTIVITY_RECENT);
    assert_int_equal(d[0].ts_ms, T0 + SY_ACTIVITY_RECENT + 9);
    assert_int_equal(d[n - 1].ts_ms, T0 + 10);
    sy_activity_free(a);
}

static void series_beyond_the_table_are_dropped_and_counted(void **state)
{
    (void)state;
    sy_activity *a = sy_activity_new();
    char model[32];
    for (unsigned i = 0; i < SY_ACTIVITY_MAX_SERIES + 3; i++) {
        snprintf(model, sizeof(model), "m%u", i);
        sy_store_request r = req(i, T0, "chat", model, 200);
        put(a, &r, T0);
    }
    assert_int_equal(sy_activity_dropped(a), 3);
    sy_activity_free(a);
}

static void windows_that_do_not_fit_are_refused(void **state)
{
    (void)state;
    sy_activity *a = sy_activity_new();
    sy_activity_window w;
    assert_int_equal(sy_activity_window_get(a, NULL, T0, 60, 7, &w), -1);     /* step not 10 s */
    assert_int_equal(sy_activity_window_get(a, NULL, T0, 65, 10, &w), -1);    /* not a multiple */
    assert_int_equal(sy_activity_window_get(a, NULL, T0, 7200, 10, &w), -1);  /* > 1 h at 10 s */
    assert_int_equal(sy_activity_window_get(a, NULL, T0, 90000, 60, &w), -1); /* > 1 day */
    assert_int_equal(sy_activity_window_get(a, NULL, T0, 60, 0, &w), -1);
    assert_int_equal(sy_activity_window_get(a, NULL, T0, 86400, 1800, &w), 0);
    assert_int_equal(w.n_cells, 48);
    assert_int_equal(w.n_series, 0);
    sy_activity_window_free(&w);
    sy_activity_free(a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(buckets_sum_requests_errors_cost_latency),
        cmocka_unit_test(old_events_and_wrapped_buckets_are_not_counted),
        cmocka_unit_test(ratings_and_rephrases_reach_series_and_decisions),
        cmocka_unit_test(filters_route_variants_and_conversation),
        cmocka_unit_test(the_recent_ring_keeps_the_newest),
        cmocka_unit_test(series_beyond_the_table_are_dropped_and_counted),
        cmocka_unit_test(windows_that_do_not_fit_are_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
