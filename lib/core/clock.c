/* clock.c: wall-clock and monotonic time in milliseconds. */
#include <stdlib.h>
#include <time.h>

#include <bsd/stdlib.h>

#include "clock.h"

int64_t
sre_now_ms(void)
{
	const char *s = getenv("SRE_NOW");
	struct timespec ts;

	if (s != NULL && *s != '\0') {
		const char *errstr;
		long long v = strtonum(s, 0, INT64_MAX / 2, &errstr);

		if (errstr == NULL)
			return v;
	}
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t
sre_mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

double
sre_mono_msf(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1000 + (double)ts.tv_nsec / 1e6;
}
