/*
 * rule_expr: the expression language of escalation rules (DESIGN.md §7).
 *
 *   expr    := or
 *   or      := and ("||" and)*
 *   and     := unary ("&&" unary)*
 *   unary   := "!" unary | cmp
 *   cmp     := primary (("=="|"!="|"<"|"<="|">"|">=") primary)?
 *   primary := NUMBER | STRING ('…' or "…") | true | false | IDENT | "(" expr ")"
 *
 * Identifiers name state variables declared by the caller with a type (number, string
 * or boolean); anything else is an error at load time, as are type mismatches (strings
 * and booleans compare only with == and !=, && || ! take booleans, the whole expression
 * must be boolean). Errors name the 1-based column: "at 14: expected ')'".
 *
 * A parsed expression is an immutable array of nodes; evaluation walks it without
 * allocating and may run on any number of threads at once.
 */
#ifndef SY_RULE_EXPR_H
#define SY_RULE_EXPR_H

#include <stddef.h>

typedef enum { SY_VT_NUM = 0, SY_VT_STR, SY_VT_BOOL } sy_vtype;

typedef struct sy_var_def {
    const char *name;
    sy_vtype type;
} sy_var_def;

/* A variable's value at evaluation time (the member of its declared type is read). */
typedef struct sy_value {
    double num;
    const char *str;
    int boolean;
} sy_value;

typedef struct sy_expr sy_expr;

/* Parse src against the declared variables. NULL with a message in err on error. */
sy_expr *sy_expr_parse(const char *src, const sy_var_def *vars, size_t n_vars, char *err,
                       size_t err_len);
/* Evaluate with vals[i] the value of vars[i]: 1 true, 0 false. */
int sy_expr_eval(const sy_expr *e, const sy_value *vals);
void sy_expr_free(sy_expr *e);

#endif
