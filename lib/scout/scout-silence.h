/*
 * scout-silence.h: silences and maintenance windows for sre-scout.
 *
 * A silences file holds one matcher per line, as a JSON object:
 *
 *	{"service":"pricing-engine","signal":"latency",
 *	 "start":"2023-11-14T22:00:00Z","end":1700003600000,
 *	 "comment":"planned re-index"}
 *
 * service, operation and signal are shell patterns (fnmatch(3): "*",
 * "?", "[...]"); a missing one matches anything; an anomaly without an
 * operation matches only an operation pattern of "*" (or none).  start
 * and end are event times, epoch milliseconds or RFC 3339 text (UTC "Z"
 * or an offset); a missing start is the beginning of time, a missing end
 * the end of it; the window is [start, end).  Other members ("comment",
 * "id", "by") are ignored.  Blank lines and lines whose first non-blank
 * character is '#' are skipped.
 *
 * The file is watched: sre_silences_poll() re-reads it when its mtime,
 * size or inode changed (a stat(2) per call).  A file that cannot be read
 * or parsed keeps the previous silences in force and says why.
 */
#ifndef SRE_SCOUT_SILENCE_H
#define SRE_SCOUT_SILENCE_H

#include <stddef.h>
#include <stdint.h>

struct sre_silences;

/* Watch path (copied).  Nothing is read yet.  NULL if out of memory. */
struct sre_silences *sre_silences_new(const char *path);
void sre_silences_free(struct sre_silences *s);

/*
 * Re-read the file if it changed.  Returns 1 when it was (re)loaded, 0
 * when unchanged, -1 when it is missing, unreadable or malformed: err
 * then says "PATH:LINE: what" (or "PATH: strerror") and the silences in
 * force stay as they were.
 */
int sre_silences_poll(struct sre_silences *s, char *err, size_t errlen);

/*
 * Non-zero when a silence covers this anomaly at event time t_ms.
 * operation may be NULL.  Borrows everything.
 */
int sre_silences_match(const struct sre_silences *s, const char *service,
    const char *operation, const char *signal, int64_t t_ms);

/* Silences in force. */
size_t sre_silences_count(const struct sre_silences *s);

#endif
