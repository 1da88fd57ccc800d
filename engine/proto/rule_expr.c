/* rule_expr: see rule_expr.h. A recursive-descent parser into a flat node array. */
#include "rule_expr.h"

#include "sy_common.h"

#include <ctype.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_NODES 256
#define MAX_DEPTH 64

typedef enum { N_NUM, N_STR, N_BOOL, N_VAR, N_NOT, N_AND, N_OR, N_CMP } node_kind;
typedef enum { C_EQ, C_NE, C_LT, C_LE, C_GT, C_GE } cmp_op;

typedef struct node {
    node_kind kind;
    sy_vtype type; /* the value's type */
    int a, b;      /* children (node indices) */
    cmp_op op;
    double num;
    int var;
    size_t str; /* offset into the string pool */
} node;

struct sy_expr {
    node nodes[MAX_NODES];
    int n, root;
    char *pool; /* string literals, NUL-separated */
    size_t pool_len;
};

typedef struct parser {
    const char *src, *p;
    const sy_var_def *vars;
    size_t n_vars;
    sy_expr *e;
    char *err;
    size_t err_len;
    int failed, depth;
} parser;

static int error(parser *ps, const char *at, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int error(parser *ps, const char *at, const char *fmt, ...)
{
    if (ps->failed)
        return -1;
    ps->failed = 1;
    int col = (int)(at - ps->src) + 1;
    int n = snprintf(ps->err, ps->err_len, "at %d: ", col);
    va_list ap;
    va_start(ap, fmt);
    if (n >= 0 && (size_t)n < ps->err_len)
        vsnprintf(ps->err + n, ps->err_len - (size_t)n, fmt, ap);
    va_end(ap);
    return -1;
}

static void skip(parser *ps)
{
    while (isspace((unsigned char)*ps->p))
        ps->p++;
}

static int add(parser *ps, node nd)
{
    if (ps->e->n == MAX_NODES)
        return error(ps, ps->p, "expression too long (at most %d terms)", MAX_NODES);
    ps->e->nodes[ps->e->n] = nd;
    return ps->e->n++;
}

static int parse_or(parser *ps);

static const char *type_name(sy_vtype t)
{
    return t == SY_VT_NUM ? "number" : t == SY_VT_STR ? "string" : "boolean";
}

static int parse_primary(parser *ps)
{
    skip(ps);
    const char *at = ps->p;
    char c = *ps->p;
    if (c == '(') {
        if (++ps->depth > MAX_DEPTH)
            return error(ps, at, "nesting deeper than %d", MAX_DEPTH);
        ps->p++;
        int i = parse_or(ps);
        if (i < 0)
            return -1;
        skip(ps);
        if (*ps->p != ')')
            return error(ps, ps->p, "expected ')'");
        ps->p++;
        ps->depth--;
        return i;
    }
    if (isdigit((unsigned char)c) || (c == '.' && isdigit((unsigned char)ps->p[1])) ||
        (c == '-' && (isdigit((unsigned char)ps->p[1]) || ps->p[1] == '.'))) {
        char *end;
        double v = strtod(ps->p, &end);
        if (end == ps->p || !isfinite(v))
            return error(ps, at, "bad number");
        ps->p = end;
        return add(ps, (node){.kind = N_NUM, .type = SY_VT_NUM, .num = v});
    }
    if (c == '\'' || c == '"') {
        const char *s = ++ps->p;
        while (*ps->p && *ps->p != c)
            ps->p++;
        if (!*ps->p)
            return error(ps, at, "unterminated string");
        size_t len = (size_t)(ps->p - s);
        ps->p++;
        sy_expr *e = ps->e;
        e->pool = sy_xrealloc(e->pool, e->pool_len + len + 1);
        memcpy(e->pool + e->pool_len, s, len);
        e->pool[e->pool_len + len] = '\0';
        node nd = {.kind = N_STR, .type = SY_VT_STR, .str = e->pool_len};
        e->pool_len += len + 1;
        return add(ps, nd);
    }
    if (isalpha((unsigned char)c) || c == '_') {
        const char *s = ps->p;
        while (isalnum((unsigned char)*ps->p) || *ps->p == '_')
            ps->p++;
        size_t len = (size_t)(ps->p - s);
        if (len == 4 && memcmp(s, "true", 4) == 0)
            return add(ps, (node){.kind = N_BOOL, .type = SY_VT_BOOL, .num = 1});
        if (len == 5 && memcmp(s, "false", 5) == 0)
            return add(ps, (node){.kind = N_BOOL, .type = SY_VT_BOOL, .num = 0});
        for (size_t v = 0; v < ps->n_vars; v++)
            if (strlen(ps->vars[v].name) == len && memcmp(ps->vars[v].name, s, len) == 0)
                return add(ps, (node){.kind = N_VAR, .type = ps->vars[v].type, .var = (int)v});
        return error(ps, at, "unknown variable '%.*s'", (int)(len > 64 ? 64 : len), s);
    }
    if (!c)
        return error(ps, at, "unexpected end of expression");
    return error(ps, at, "unexpected '%c'", c);
}

static int parse_cmp(parser *ps)
{
    int l = parse_primary(ps);
    if (l < 0)
        return -1;
    skip(ps);
    static const struct {
        const char *tok;
        cmp_op op;
    } ops[] = {{"==", C_EQ}, {"!=", C_NE}, {"<=", C_LE}, {">=", C_GE}, {"<", C_LT}, {">", C_GT}};
    const char *at = ps->p;
    for (size_t i = 0; i < SY_ARRAY_LEN(ops); i++) {
        size_t n = strlen(ops[i].tok);
        if (strncmp(ps->p, ops[i].tok, n) != 0)
            continue;
        ps->p += n;
        int r = parse_primary(ps);
        if (r < 0)
            return -1;
        sy_vtype lt = ps->e->nodes[l].type, rt = ps->e->nodes[r].type;
        if (lt != rt)
            return error(ps, at, "cannot compare a %s with a %s", type_name(lt), type_name(rt));
        if (lt != SY_VT_NUM && ops[i].op != C_EQ && ops[i].op != C_NE)
            return error(ps, at, "%ss compare only with == and !=", type_name(lt));
        return add(ps, (node){.kind = N_CMP, .type = SY_VT_BOOL, .a = l, .b = r, .op = ops[i].op});
    }
    return l;
}

static int want_bool(parser *ps, int i, const char *at, const char *what)
{
    if (i >= 0 && ps->e->nodes[i].type != SY_VT_BOOL)
        return error(ps, at, "%s needs a boolean, not a %s", what, type_name(ps->e->nodes[i].type));
    return i;
}

static int parse_unary(parser *ps)
{
    skip(ps);
    if (*ps->p == '!' && ps->p[1] != '=') {
        const char *at = ps->p++;
        if (++ps->depth > MAX_DEPTH)
            return error(ps, at, "nesting deeper than %d", MAX_DEPTH);
        int a = want_bool(ps, parse_unary(ps), at, "'!'");
        ps->depth--;
        if (a < 0)
            return -1;
        return add(ps, (node){.kind = N_NOT, .type = SY_VT_BOOL, .a = a});
    }
    return parse_cmp(ps);
}

static int parse_binary(parser *ps, const char *tok, node_kind kind, int (*sub)(parser *))
{
    const char *at = ps->p;
    int l = sub(ps);
    for (;;) {
        if (l < 0)
            return -1;
        skip(ps);
        if (strncmp(ps->p, tok, 2) != 0)
            return l;
        ps->p += 2;
        if (want_bool(ps, l, at, tok) < 0)
            return -1;
        skip(ps);
        const char *rat = ps->p;
        int r = want_bool(ps, sub(ps), rat, tok);
        if (r < 0)
            return -1;
        l = add(ps, (node){.kind = kind, .type = SY_VT_BOOL, .a = l, .b = r});
    }
}

static int parse_and(parser *ps)
{
    return parse_binary(ps, "&&", N_AND, parse_unary);
}

static int parse_or(parser *ps)
{
    return parse_binary(ps, "||", N_OR, parse_and);
}

sy_expr *sy_expr_parse(const char *src, const sy_var_def *vars, size_t n_vars, char *err,
                       size_t err_len)
{
    sy_expr *e = sy_xcalloc(1, sizeof(*e));
    parser ps = {.src = src,
                 .p = src,
                 .vars = vars,
                 .n_vars = n_vars,
                 .e = e,
                 .err = err,
                 .err_len = err_len};
    int root = parse_or(&ps);
    if (root >= 0) {
        skip(&ps);
        if (*ps.p)
            root = error(&ps, ps.p, "unexpected '%c' after the expression", *ps.p);
        else if (e->nodes[root].type != SY_VT_BOOL)
            root = error(&ps, src, "a rule must be true or false, not a %s",
                         type_name(e->nodes[root].type));
    }
    if (root < 0) {
        sy_expr_free(e);
        return NULL;
    }
    e->root = root;
    return e;
}

static double num_of(const sy_expr *e, const node *n, const sy_value *vals)
{
    return n->kind == N_VAR ? vals[n->var].num : n->num;
}

static const char *str_of(const sy_expr *e, const node *n, const sy_value *vals)
{
    const char *s = n->kind == N_VAR ? vals[n->var].str : e->pool + n->str;
    return s ? s : "";
}

static int eval(const sy_expr *e, int i, const sy_value *vals)
{
    const node *n = &e->nodes[i];
    switch (n->kind) {
    case N_BOOL:
        return n->num != 0;
    case N_VAR:
        return vals[n->var].boolean != 0;
    case N_NOT:
        return !eval(e, n->a, vals);
    case N_AND:
        return eval(e, n->a, vals) && eval(e, n->b, vals);
    case N_OR:
        return eval(e, n->a, vals) || eval(e, n->b, vals);
    case N_CMP: {
        const node *l = &e->nodes[n->a], *r = &e->nodes[n->b];
        int c;
        if (l->type == SY_VT_NUM) {
            double x = num_of(e, l, vals), y = num_of(e, r, vals);
            c = x < y ? -1 : x > y ? 1 : 0;
        } else if (l->type == SY_VT_STR) {
            c = strcmp(str_of(e, l, vals), str_of(e, r, vals)) != 0;
        } else {
            c = eval(e, n->a, vals) != eval(e, n->b, vals);
        }
        switch (n->op) {
        case C_EQ:
            return c == 0;
        case C_NE:
            return c != 0;
        case C_LT:
            return c < 0;
        case C_LE:
            return c <= 0;
        case C_GT:
            return c > 0;
        case C_GE:
            return c >= 0;
        }
        return 0;
    }
    default:
        return 0; /* numbers and strings are never evaluated as conditions */
    }
}

int sy_expr_eval(const sy_expr *e, const sy_value *vals)
{
    return eval(e, e->root, vals);
}

void sy_expr_free(sy_expr *e)
{
    if (!e)
        return;
    free(e->pool);
    free(e);
}
