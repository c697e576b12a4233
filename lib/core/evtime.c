/* evtime.c: durations, timestamps and the event clock. */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "clock.h"
#include "evtime.h"

#define TEN_YEARS_MS (10LL * 366 * 24 * 3600 * 1000)

int
sre_duration_parse(const char *s, int64_t *ms)
{
	static const struct { const char *unit; int64_t ms; } units[] = {
		{ "ms", 1 }, { "s", 1000 }, { "", 1000 }, { "m", 60000 },
		{ "h", 3600000 }, { "d", 86400000 }, { NULL, 0 }
	};
	char *end;
	double v;
	int i;

	if (s == NULL || !(isdigit((unsigned char)*s) || *s == '.'))
		return -1;
	errno = 0;
	v = strtod(s, &end);
	if (errno != 0 || end == s || v < 0)
		return -1;
	for (i = 0; units[i].unit != NULL; i++)
		if (strcmp(end, units[i].unit) == 0) {
			double r = v * (double)units[i].ms;

			if (r > (double)TEN_YEARS_MS)
				return -1;
			*ms = (int64_t)(r + 0.5);
			return 0;
		}
	return -1;
}

void
sre_duration_fmt(int64_t ms, char *out, size_t outlen)
{
	if (ms != 0 && ms % 86400000 == 0)
		snprintf(out, outlen, "%lldd", (long long)(ms / 86400000));
	else if (ms != 0 && ms % 3600000 == 0)
		snprintf(out, outlen, "%lldh", (long long)(ms / 3600000));
	else if (ms != 0 && ms % 60000 == 0)
		snprintf(out, outlen, "%lldm", (long long)(ms / 60000));
	else if (ms % 1000 == 0)
		snprintf(out, outlen, "%llds", (long long)(ms / 1000));
	else
		snprintf(out, outlen, "%lldms", (long long)ms);
}

void
sre_time_fmt(int64_t ms, char *out, size_t outlen)
{
	time_t t = (time_t)(ms >= 0 ? ms / 1000 : (ms - 999) / 1000);
	struct tm tm;

	if (gmtime_r(&t, &tm) == NULL ||
	    strftime(out, outlen, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		snprintf(out, outlen, "%lld", (long long)ms);
}

static int
digits(const char **s, int n, int *v)
{
	int i;

	*v = 0;
	for (i = 0; i < n; i++, (*s)++) {
		if (!isdigit((unsigned char)**s))
			return -1;
		*v = *v * 10 + (**s - '0');
	}
	return 0;
}

int
sre_time_parse(const char *s, int64_t *ms)
{
	struct tm tm;
	int y, mo, d, h = 0, mi = 0, sec = 0, frac = 0, scale = 1000;
	time_t t;

	memset(&tm, 0, sizeof(tm));
	if (digits(&s, 4, &y) < 0 || *s++ != '-' || digits(&s, 2, &mo) < 0 ||
	    *s++ != '-' || digits(&s, 2, &d) < 0)
		return -1;
	if (*s == 'T' || *s == 't' || *s == ' ') {
		s++;
		if (digits(&s, 2, &h) < 0 || *s++ != ':' ||
		    digits(&s, 2, &mi) < 0)
			return -1;
		if (*s == ':') {
			s++;
			if (digits(&s, 2, &sec) < 0)
				return -1;
			if (*s == '.') {
				for (s++; isdigit((unsigned char)*s); s++)
					if (scale > 1) {
						scale /= 10;
						frac += (*s - '0') * scale;
					}
			}
		}
	}
	if (*s == 'Z' || *s == 'z')
		s++;
	if (*s != '\0' || mo < 1 || mo > 12 || d < 1 || d > 31 || h > 24 ||
	    mi > 59 || sec > 60 || (h == 24 && (mi || sec)))
		return -1;
	tm.tm_year = y - 1900;
	tm.tm_mon = mo - 1;
	tm.tm_mday = d;
	tm.tm_hour = h;
	tm.tm_min = mi;
	tm.tm_sec = sec;
	t = timegm(&tm);
	*ms = (int64_t)t * 1000 + frac;
	return 0;
}

int
sre_evclock_see(struct sre_evclock *c, int64_t ts_ms)
{
	int64_t now = sre_evclock_now(c), wall = sre_now_ms();

	if (ts_ms > now && ts_ms - now > SRE_EVCLOCK_LEAP_MS &&
	    ts_ms > wall && ts_ms - wall > SRE_EVCLOCK_LEAP_MS)
		return -1;
	if (!c->set || ts_ms > c->event_ms) {
		c->event_ms = ts_ms;
		c->wall_ms = wall;
		c->set = 1;
	}
	return 0;
}

int64_t
sre_evclock_clamp(const struct sre_evclock *c, int64_t ts_ms)
{
	int64_t now = sre_evclock_now(c);

	return ts_ms > now ? now : ts_ms;
}

int64_t
sre_evclock_now(const struct sre_evclock *c)
{
	int64_t wall = sre_now_ms();

	if (!c->set)
		return wall;
	return c->event_ms + (wall > c->wall_ms ? wall - c->wall_ms : 0);
}
