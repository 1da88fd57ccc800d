/*
 * The PII detectors on a labelled corpus (tests/fixtures/guard_pii_corpus.tsv, written by
 * scripts/gen_guard_corpus.py): precision and recall per type, printed (docs/guardrails.md
 * quotes them) and held to a floor. A line is labelled with the one type it contains, or
 * none; a detection of type T on a line labelled T is a true positive, on any other line
 * a false positive; a line labelled T without a detection of T is a false negative.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "guard.h"

#define FLOOR 0.95 /* precision and recall required of every type */

static const struct {
    const char *type, *label; /* corpus label, placeholder label */
} types[] = {{"email", "EMAIL"},
             {"payment_card", "CARD"},
             {"iban", "IBAN"},
             {"us_ssn", "SSN"},
             {"phone", "PHONE"}};
#define N_TYPES (sizeof(types) / sizeof(types[0]))

static void test_corpus(void **state)
{
    (void)state;
    FILE *f = fopen(SY_FIXTURES_DIR "/guard_pii_corpus.tsv", "r");
    assert_non_null(f);
    sy_guard_spec spec = {.name = "pii", .kind = SY_GUARD_PII, .action = SY_GUARD_FLAG, .dirs = 3};
    char err[200];
    long bad;
    sy_guard *g = sy_guard_compile(&spec, err, sizeof(err), &bad);
    assert_non_null(g);
    unsigned tp[N_TYPES] = {0}, fp[N_TYPES] = {0}, fn[N_TYPES] = {0}, lines = 0;
    char line[1024];
    while (fgets(line, sizeof(line), f)) {
        if (line[0] == '#')
            continue;
        char *tab = strchr(line, '\t');
        assert_non_null(tab);
        *tab = '\0';
        char *text = tab + 1;
        text[strcspn(text, "\n")] = '\0';
        lines++;
        sy_guard_hits h = {0};
        sy_guard_scan(g, 0, text, strlen(text), 0, &h);
        for (size_t t = 0; t < N_TYPES; t++) {
            int found = 0, labelled = strcmp(line, types[t].type) == 0;
            for (size_t i = 0; i < h.n; i++)
                found |= strcmp(h.v[i].label, types[t].label) == 0;
            if (found && labelled)
                tp[t]++;
            else if (found)
                fp[t]++, printf("  false %s: %s (labelled %s)\n", types[t].type, text, line);
            else if (labelled)
                fn[t]++, printf("  missed %s: %s\n", types[t].type, text);
        }
        sy_guard_hits_free(&h);
    }
    fclose(f);
    sy_guard_free(g);
    assert_true(lines >= 300);
    printf("PII corpus: %u strings\n%-14s %5s %5s %5s %10s %8s\n", lines, "type", "tp", "fp", "fn",
           "precision", "recall");
    for (size_t t = 0; t < N_TYPES; t++) {
        double p = tp[t] + fp[t] ? (double)tp[t] / (tp[t] + fp[t]) : 1.0;
        double r = tp[t] + fn[t] ? (double)tp[t] / (tp[t] + fn[t]) : 1.0;
        printf("%-14s %5u %5u %5u %10.3f %8.3f\n", types[t].type, tp[t], fp[t], fn[t], p, r);
        assert_true(p >= FLOOR);
        assert_true(r >= FLOOR);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_corpus)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
