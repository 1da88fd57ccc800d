/* Fuzz target: the escalation rule expression parser and evaluator (engine/proto/rule_expr.c).
 * Input: an expression; it is parsed against a fixed variable set and, when it parses,
 * evaluated on two states. */
#include "rule_expr.h"

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const sy_var_def vars[] = {{"turn", SY_VT_NUM},
                                      {"rephrases", SY_VT_NUM},
                                      {"tier", SY_VT_STR},
                                      {"escalated", SY_VT_BOOL}};
    char *src = malloc(size + 1);
    memcpy(src, data, size);
    src[size] = '\0';
    char err[160];
    sy_expr *e = sy_expr_parse(src, vars, 4, err, sizeof(err));
    if (e) {
        sy_value a[4] = {{.num = 3}, {.num = 2}, {.str = "fast"}, {.boolean = 1}};
        sy_value b[4] = {{.num = -1}, {.num = 0}, {.str = NULL}, {.boolean = 0}};
        sy_expr_eval(e, a);
        sy_expr_eval(e, b);
        sy_expr_free(e);
    }
    free(src);
    return 0;
}
