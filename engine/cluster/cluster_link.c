/* cluster_link: the pieces of the cluster thread every other cluster file uses (the
 * backlog's queue, the count of commands in flight on `cmd`, the wake-up), so that
 * cluster_node.c and cluster_budget.c both call down into this file and not each other. */
#include "cluster_internal.h"

#include "clock.h"

#include <stdlib.h>

/* Queue one formatted command (any thread). 1: queued, and the caller must wake the
 * cluster thread (nothing was in flight, so no acknowledgement will flush it); 0: queued,
 * the next acknowledgement (or the tick, while Redis is away) flushes it, so that under
 * load commands go out in batches without a wake-up each; -1: the backlog is full (an
 * observation is then counted as dropped). */
int sy_cluster_push(sy_cluster *c, char *cmd, int len, int obs)
{
    pthread_mutex_lock(&c->lock);
    int ok = !c->stopping && c->count < c->cap, wake = c->count == 0;
    if (ok) {
        c->ring[(c->head + c->count) % c->cap] = (cl_entry){cmd, len, obs};
        c->count++;
        c->st.backlog = c->count;
    } else {
        c->st.dropped += obs;
    }
    pthread_mutex_unlock(&c->lock);
    if (!ok)
        free(cmd);
    return ok ? wake : -1;
}

void sy_cluster_cmd_sent(sy_cluster *c)
{
    if (c->cmd_pending++ == 0)
        c->cmd_sent_ms = sy_wall_ms();
}

void sy_cluster_cmd_answered(sy_cluster *c)
{
    if (c->cmd_pending && --c->cmd_pending == 0)
        c->cmd_sent_ms = 0;
    else
        c->cmd_sent_ms = sy_wall_ms(); /* the next one has been waiting at most since now */
}

void sy_cluster_wake(sy_cluster *c)
{
    event_active(c->wake, 0, 0);
}
