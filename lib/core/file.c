/* file.c: replacing a file whole, through a temporary file and rename(2). */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "file.h"

int
sre_file_replace(const char *path, const void *buf, size_t len, mode_t mode)
{
	char tmp[PATH_MAX];
	const char *p = buf;
	size_t off = 0;
	int fd, e;

	const char *slash = strrchr(path, '/');
	int dn = slash != NULL ? (int)(slash - path + 1) : 0;

	/* A hidden name beside the target: .NAME.XXXXXX */
	if (snprintf(tmp, sizeof(tmp), "%.*s.%s.XXXXXX", dn, path,
	    path + dn) >= (int)sizeof(tmp)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	if ((fd = mkostemp(tmp, O_CLOEXEC)) < 0)
		return -1;
	while (off < len) {
		ssize_t w = write(fd, p + off, len - off);

		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			goto fail;
		off += (size_t)w;
	}
	if (fchmod(fd, mode) < 0 || fsync(fd) < 0)
		goto fail;
	if (close(fd) < 0) {
		fd = -1;
		goto fail;
	}
	fd = -1;
	if (rename(tmp, path) < 0)
		goto fail;
	return 0;
fail:
	e = errno;
	if (fd >= 0)
		close(fd);
	unlink(tmp);
	errno = e;
	return -1;
}
