/* static.c: the dashboard's files (static.h). */
#include <sys/stat.h>

#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include "serve.h"
#include "static.h"

const char *
sre_static_mime(const char *path)
{
	static const char *const types[][2] = {
		{ ".html", "text/html; charset=utf-8" },
		{ ".js", "text/javascript; charset=utf-8" },
		{ ".css", "text/css; charset=utf-8" },
		{ ".svg", "image/svg+xml" },
		{ ".json", "application/json" },
		{ ".png", "image/png" },
		{ ".ico", "image/x-icon" },
		{ NULL, NULL }
	};
	const char *dot = strrchr(path, '.');
	int i;

	for (i = 0; dot != NULL && types[i][0] != NULL; i++)
		if (strcmp(dot, types[i][0]) == 0)
			return types[i][1];
	return "application/octet-stream";
}

void
sre_static_open(const char *dir, const char *url, struct sre_answer *a)
{
	struct stat sb;
	int dfd, fd;

	if (dir == NULL) {
		sre_answer_fail(a, R_STATIC, 0, 404, NULL,
		    "no dashboard (--dashboard)");
		return;
	}
	if (!sre_serve_path_ok(url)) {
		sre_answer_fail(a, R_STATIC, 0, 400, NULL, "bad path");
		return;
	}
	if (strcmp(url, "/") == 0)
		url = "/index.html";
	if ((dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0) {
		sre_answer_fail(a, R_STATIC, 0, 404, NULL, "no such file");
		return;
	}
	/* No symbolic link is followed below the directory. */
	fd = openat(dfd, url + 1, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	close(dfd);
	if (fd < 0 || fstat(fd, &sb) < 0 || !S_ISREG(sb.st_mode)) {
		if (fd >= 0)
			close(fd);
		sre_answer_fail(a, R_STATIC, 0, 404, NULL, "no such file");
		return;
	}
	a->code = 200;
	a->ctype = sre_static_mime(url);
	a->fd = fd;
	a->fd_size = (uint64_t)sb.st_size;
}
