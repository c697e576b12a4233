/*
 * static.h: the dashboard's files, served from the --dashboard directory
 * with no symbolic link followed below it and no path that leaves it.
 */
#ifndef SRE_SERVE_STATIC_H
#define SRE_SERVE_STATIC_H

#include "srv.h"

/* The Content-Type of path by its extension (.html .js .css .svg .json
 * .png .ico); application/octet-stream for any other. */
const char *sre_static_mime(const char *path);

/*
 * Answer GET url from the directory dir ("/" is /index.html): a 200 whose
 * a->fd is the open regular file (a->fd_size its size, a->ctype its type).
 * 404 when dir is NULL or there is no such regular file (or it is a
 * symbolic link); 400 when url is not a safe path (sre_serve_path_ok).
 */
void sre_static_open(const char *dir, const char *url, struct sre_answer *a);

#endif
