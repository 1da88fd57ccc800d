/* exp_assignment: which variant of the running experiments a request's unit is in, on
 * the workers (experiments.h): a pure function of the unit and the table. */
#include "experiments.h"

#include "assign.h"

#include <stdio.h>
#include <string.h>

size_t sy_exp_assign(const sy_exp_table *t, size_t route, const sy_exp_units *units,
                     const char *(*user_for)(const sy_exp_rt *exp, void *ud, size_t *len), void *ud,
                     sy_exp_assignment *out, size_t max)
{
    size_t n = 0;
    for (size_t i = 0; t && i < t->n && n < max; i++) {
        const sy_exp_rt *e = &t->exps[i];
        if (e->base_route != route)
            continue;
        const void *unit = NULL;
        size_t len = 0;
        switch (e->unit) {
        case SY_EXP_UNIT_USER:
            unit = user_for ? user_for(e, ud, &len) : NULL;
            break;
        case SY_EXP_UNIT_CONVERSATION:
            unit = units->conversation;
            len = unit ? 16 : 0;
            break;
        case SY_EXP_UNIT_REQUEST:
            unit = units->request;
            len = unit ? strlen(units->request) : 0;
            break;
        }
        if (!unit || !len)
            continue; /* no unit of this kind: not enrolled, served as usual */
        unsigned lb = sy_exp_bucket(e->layer_salt, unit, len);
        if (lb < e->layer_start || lb >= e->layer_end)
            continue;
        out[n].exp = e;
        out[n].variant = sy_exp_pick(e->weights, e->n_variants, sy_exp_bucket(e->salt, unit, len));
        out[n].unit_hash = sy_exp_hash("unit", unit, len);
        n++;
    }
    return n;
}

void sy_exp_record(const sy_exp_assignment *a, size_t n, char *out, size_t cap)
{
    size_t len = 0;
    out[0] = '\0';
    for (size_t i = 0; i < n; i++) {
        char entry[2 * SY_EXP_ID_MAX + 48];
        int w = snprintf(entry, sizeof(entry), "%s%s:%s:%u:%016llx", len ? "," : "", a[i].exp->id,
                         a[i].exp->variants[a[i].variant].name, a[i].exp->alloc_version,
                         (unsigned long long)a[i].unit_hash);
        if (w < 0 || len + (size_t)w + 1 > cap)
            break;
        memcpy(out + len, entry, (size_t)w + 1);
        len += (size_t)w;
    }
}
