/*
 * api_dashboard: the admin dashboard's static files on the admin listener
 * (docs/dashboard.md): GET / and GET /ui/<file>, no key needed (the files hold no data;
 * every call they make carries the admin key), served with a Content-Security-Policy
 * that allows nothing but the gateway's own origin.
 */
#ifndef SY_API_DASHBOARD_H
#define SY_API_DASHBOARD_H

#include "http_server.h"

/* 1 when path is one of the dashboard's (answered: the file, or 404/405); 0 otherwise. */
int sy_api_dashboard(sy_http_req *req);

#endif
