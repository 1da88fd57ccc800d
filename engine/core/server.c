/* server: see server.h. The reload and rebuild themselves live in the serve process
 * (engine/app/cmd_serve.c), reached through s->control. */
#include "server.h"

int sy_server_reload(sy_server *s, sy_buf *errors)
{
    return s->control->reload(s, errors);
}

int sy_server_rebuild(sy_server *s, sy_buf *errors)
{
    return s->control->rebuild(s, errors);
}

uint64_t sy_server_generation(sy_server *s)
{
    pthread_mutex_lock(&s->reload_lock);
    uint64_t g = s->generation;
    pthread_mutex_unlock(&s->reload_lock);
    return g;
}
