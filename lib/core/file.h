/*
 * file.h: replacing a file whole.  Readers see the old file or the new one,
 * never half of one: the text goes to a temporary file beside the target
 * (.NAME.XXXXXX in the same directory, so rename(2) is atomic), is flushed with fsync(2), gets
 * its mode, and is renamed over the target.  On failure the temporary file
 * is removed and the target is left as it was.
 */
#ifndef SRE_FILE_H
#define SRE_FILE_H

#include <stddef.h>
#include <sys/types.h>

/*
 * Replace path with the len bytes at buf, the file's mode set to mode
 * (exactly: the umask does not apply).  Returns 0, or -1 with errno set
 * (ENAMETOOLONG when path leaves no room for the temporary name).
 */
int sre_file_replace(const char *path, const void *buf, size_t len,
    mode_t mode);

#endif
