/* cluster_link: the pieces of the cluster thread every other cluster file uses (the
 * count of commands in flight on `cmd`, the wake-up), so that the other cluster files
 * call down into this file and not each other. */
#include "cluster_internal.h"

#include "clock.h"

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
