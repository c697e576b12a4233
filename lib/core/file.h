/*
 * file.h: replacing a file whole, and making a directory with its parents.
 *
 * A replaced file is seen whole: readers see the old file or the new one,
 * never half of one: the text goes to a temporary file beside the target
 * (.NAME.XXXXXX in the same directory, so rename(2) is atomic), is flushed
 * with fsync(2), gets its mode, and is renamed over the target.  On failure
 * the temporary file is removed and the target is left as it was.
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

/*
 * Make the directory dir and any missing parent (mode 0777 less the
 * umask), as mkdir -p does; one that exists already is fine (so is a
 * file named dir: the caller's open of it fails).  Returns 0, or -1 with
 * errno set (ENAMETOOLONG when dir is over 4095 bytes).
 */
int sre_mkdirs(const char *dir);

#endif
