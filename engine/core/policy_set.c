/* policy_set: see policy_set.h. */
#include "policy_set.h"

#include <stdlib.h>

sy_policy_set *sy_policy_set_ref(sy_policy_set *s)
{
    atomic_fetch_add_explicit(&s->refs, 1, memory_order_relaxed);
    return s;
}

void sy_policy_set_unref(sy_policy_set *s)
{
    if (!s || atomic_fetch_sub_explicit(&s->refs, 1, memory_order_acq_rel) != 1)
        return;
    for (size_t i = 0; i < s->n; i++)
        sy_policy_free(s->snap[i]);
    free(s->snap);
    free(s);
}
