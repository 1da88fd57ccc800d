/*
 * dash_assets: the dashboard's files (dashboard/), embedded in the binary at build time
 * by scripts/embed_dashboard.cmake, which writes the table below into the build folder
 * (dash_assets.c). Served by engine/api/api_dashboard.c.
 */
#ifndef SY_DASH_ASSETS_H
#define SY_DASH_ASSETS_H

#include <stddef.h>

typedef struct sy_dash_asset {
    const char *path;         /* "/" for index.html, else "/ui/<file name>" */
    const char *content_type; /* from the file's extension */
    const unsigned char *data;
    size_t len;
} sy_dash_asset;

extern const sy_dash_asset sy_dash_assets[];
extern const size_t sy_dash_n_assets;

#endif
