/*
 * tap-jv.h: JSON literals for the C unit tests that use libjq.
 *
 *	jv v = J("{\"a\":1}");
 *
 * J() parses text and returns the value (the caller owns it); text that
 * does not parse is the test's own mistake, so it says so and exits 2.
 */
#ifndef TAP_JV_H
#define TAP_JV_H

#include <stdio.h>
#include <stdlib.h>

#include <jv.h>

static inline jv
J(const char *text)
{
	jv v = jv_parse(text);

	if (!jv_is_valid(v)) {
		fprintf(stderr, "bad test JSON: %s\n", text);
		exit(2);
	}
	return v;
}

#endif
