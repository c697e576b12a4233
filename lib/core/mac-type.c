/*
 * mac-type.c: which events are control events, and who issues them
 * (mac.h).  Apart from mac.c so that a tool that only tells control
 * events from others (sre-scout) does not link libsodium.
 */
#include <stddef.h>
#include <string.h>

#include "mac.h"

static const struct {
	const char *type;
	const char *issuer[2];
	const char *names;
} control[] = {
	{ "diagnosis", { "sre-brain", "sre-cag" }, "sre-brain or sre-cag" },
	{ "verdict", { "sre-guard", NULL }, "sre-guard" },
	{ "action", { "sre-fix", NULL }, "sre-fix" },
};

#define NCONTROL (sizeof(control) / sizeof(control[0]))

static int
find(const char *type)
{
	size_t i;

	for (i = 0; type != NULL && i < NCONTROL; i++)
		if (strcmp(type, control[i].type) == 0)
			return (int)i;
	return -1;
}

int
sre_mac_control(const char *type)
{
	return find(type) >= 0;
}

const char *
sre_mac_issuers(const char *type)
{
	int i = find(type);

	return i < 0 ? NULL : control[i].names;
}

int
sre_mac_issuer(const char *type, const char *source)
{
	int i = find(type);

	return i >= 0 && source != NULL &&
	    (strcmp(source, control[i].issuer[0]) == 0 ||
	    (control[i].issuer[1] != NULL &&
	    strcmp(source, control[i].issuer[1]) == 0));
}
