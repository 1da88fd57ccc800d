/* Escalation rule expressions: evaluation and precedence on a table of cases, and
 * load-time errors with their column. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "rule_expr.h"

static const sy_var_def vars[] = {
    {"turn", SY_VT_NUM},       {"rephrases", SY_VT_NUM}, {"thumbs_down", SY_VT_NUM},
    {"good_turns", SY_VT_NUM}, {"cost_usd", SY_VT_NUM},  {"tier", SY_VT_STR},
    {"escalated", SY_VT_BOOL},
};
/* turn=3 rephrases=2 thumbs_down=1 good_turns=0 cost=0.05 tier="fast" escalated=false */
static const sy_value vals[] = {{.num = 3},    {.num = 2},      {.num = 1},    {.num = 0},
                                {.num = 0.05}, {.str = "fast"}, {.boolean = 0}};

static const struct {
    const char *src;
    int want;
} ok_cases[] = {
    {"true", 1},
    {"false", 0},
    {"turn == 3", 1},
    {"turn != 3", 0},
    {"turn > 2", 1},
    {"turn >= 3", 1},
    {"turn < 3", 0},
    {"turn <= 3", 1},
    {"rephrases >= 2 && thumbs_down >= 1", 1},
    {"rephrases >= 3 || thumbs_down >= 1", 1},
    {"rephrases >= 3 || thumbs_down >= 2", 0},
    {"!escalated", 1},
    {"!!escalated", 0},
    {"! (turn > 5)", 1},
    {"tier == 'fast'", 1},
    {"tier != \"fast\"", 0},
    {"tier == 'strong' || turn == 3", 1},
    {"escalated == false", 1},
    {"escalated != true && good_turns == 0", 1},
    /* && binds tighter than || */
    {"true || false && false", 1},
    {"(true || false) && false", 0},
    {"false && true || true", 1},
    {"false && (true || true)", 0},
    {"cost_usd > 0.049 && cost_usd < 0.051", 1},
    {"cost_usd >= .05", 1},
    {"turn > -1", 1},
    {"1 < 2", 1},
    {"'a' == 'a'", 1},
    {"  ( ( turn == 3 ) )  ", 1},
    {"rephrases>=2&&!escalated&&tier=='fast'", 1},
    {"good_turns >= 2 || rephrases >= 2 && thumbs_down >= 1 && tier == 'fast'", 1},
    {"!(rephrases >= 2) || !(thumbs_down >= 1)", 0},
};

static const struct {
    const char *src;
    const char *err;
} bad_cases[] = {
    {"", "at 1: unexpected end of expression"},
    {"turn >", "at 7: unexpected end of expression"},
    {"(turn > 2", "at 10: expected ')'"},
    {"turn > 2)", "at 9: unexpected ')' after the expression"},
    {"turns > 2", "at 1: unknown variable 'turns'"},
    {"turn > 2 && mood == 'bad'", "at 13: unknown variable 'mood'"},
    {"turn", "at 1: a rule must be true or false, not a number"},
    {"tier", "at 1: a rule must be true or false, not a string"},
    {"tier > 'a'", "at 6: strings compare only with == and !="},
    {"tier == 3", "at 6: cannot compare a string with a number"},
    {"escalated < true", "at 11: booleans compare only with == and !="},
    {"turn && true", "at 1: && needs a boolean, not a number"},
    {"true || 3", "at 9: || needs a boolean, not a number"},
    {"!turn", "at 1: '!' needs a boolean, not a number"},
    {"tier == 'fast", "at 9: unterminated string"},
    {"turn = 3", "at 6: unexpected '=' after the expression"},
    {"turn == 3 & true", "at 11: unexpected '&' after the expression"},
    {"turn == #", "at 9: unexpected '#'"},
};

static void test_evaluation_and_precedence(void **state)
{
    char err[128];
    for (size_t i = 0; i < sizeof(ok_cases) / sizeof(ok_cases[0]); i++) {
        sy_expr *e = sy_expr_parse(ok_cases[i].src, vars, 7, err, sizeof(err));
        if (!e)
            fail_msg("'%s' did not parse: %s", ok_cases[i].src, err);
        if (sy_expr_eval(e, vals) != ok_cases[i].want)
            fail_msg("'%s' evaluated to %d", ok_cases[i].src, !ok_cases[i].want);
        sy_expr_free(e);
    }
}

static void test_errors_with_positions(void **state)
{
    char err[128];
    for (size_t i = 0; i < sizeof(bad_cases) / sizeof(bad_cases[0]); i++) {
        err[0] = '\0';
        sy_expr *e = sy_expr_parse(bad_cases[i].src, vars, 7, err, sizeof(err));
        if (e)
            fail_msg("'%s' parsed", bad_cases[i].src);
        if (strcmp(err, bad_cases[i].err) != 0)
            fail_msg("'%s': got \"%s\", want \"%s\"", bad_cases[i].src, err, bad_cases[i].err);
    }
}

static void test_values_change_results(void **state)
{
    char err[128];
    sy_expr *e = sy_expr_parse("rephrases >= 2 && tier != 'strong'", vars, 7, err, sizeof(err));
    assert_non_null(e);
    sy_value v[7];
    memcpy(v, vals, sizeof(v));
    assert_true(sy_expr_eval(e, v));
    v[1].num = 1;
    assert_false(sy_expr_eval(e, v));
    v[1].num = 5;
    v[5].str = "strong";
    assert_false(sy_expr_eval(e, v));
    v[5].str = NULL; /* an unset string compares as "" */
    assert_true(sy_expr_eval(e, v));
    sy_expr_free(e);
}

static void test_limits(void **state)
{
    char err[128], src[4096];
    size_t n = 0;
    for (int i = 0; i < 100; i++)
        n += (size_t)snprintf(src + n, sizeof(src) - n, "(");
    n += (size_t)snprintf(src + n, sizeof(src) - n, "true");
    for (int i = 0; i < 100; i++)
        n += (size_t)snprintf(src + n, sizeof(src) - n, ")");
    assert_null(sy_expr_parse(src, vars, 7, err, sizeof(err)));
    assert_non_null(strstr(err, "nesting deeper than"));
    n = 0;
    for (int i = 0; i < 300; i++)
        n += (size_t)snprintf(src + n, sizeof(src) - n, "%strue", i ? "||" : "");
    assert_null(sy_expr_parse(src, vars, 7, err, sizeof(err)));
    assert_non_null(strstr(err, "expression too long"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_evaluation_and_precedence),
        cmocka_unit_test(test_errors_with_positions),
        cmocka_unit_test(test_values_change_results),
        cmocka_unit_test(test_limits),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
