/*
 * ingress.c: the table of client paths served through an ingress translation (ingress.h).
 */
#include "ingress.h"

#include "ingress_messages.h"

#include <string.h>

typedef struct ingress_path {
    const char *path;
    const sy_ingress *ingress;
} ingress_path;

static const ingress_path paths[] = {
    {"/v1/messages", &sy_ingress_messages},
    {"/messages", &sy_ingress_messages},
    {NULL, NULL},
};

const sy_ingress *sy_ingress_for_path(const char *path)
{
    for (const ingress_path *p = paths; p->path; p++)
        if (strcmp(path, p->path) == 0)
            return p->ingress;
    return NULL;
}
