/*
 * store-tmp.h: a scratch state directory for the store's unit tests
 * (test-store-*.c): made under $TMPDIR, removed at the end.
 *
 *	if (tmp_init("test-store-kv") < 0) return 1;
 *	st = tmp_open("a");	... <tmp>/a/store ...
 *	tmp_done();
 */
#ifndef STORE_TMP_H
#define STORE_TMP_H

#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <sysexits.h>

#include "diag.h"
#include "store.h"

static char tmp_base[256];
static char tmp_err[1024];

static int
tmp_rm(const char *p, const struct stat *sb, int flag, struct FTW *f)
{
	(void)sb;
	(void)flag;
	(void)f;
	return remove(p);
}

static int
tmp_init(const char *name)
{
	sre_init(name);
	unsetenv("SRE_STORE_MAPSIZE");
	snprintf(tmp_base, sizeof(tmp_base), "%s/%s.XXXXXX",
	    getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp", name);
	if (mkdtemp(tmp_base) == NULL) {
		perror("mkdtemp");
		return -1;
	}
	return 0;
}

/* Open (creating) the store of state directory <tmp>/name, or NULL. */
static struct sre_store *
tmp_open(const char *name)
{
	struct sre_store *st = NULL;
	char d[512];

	snprintf(d, sizeof(d), "%s/%s", tmp_base, name);
	if (sre_store_open(&st, d, NULL, tmp_err, sizeof(tmp_err)) != EX_OK)
		printf("# open %s: %s\n", d, tmp_err);
	return st;
}

static void
tmp_done(void)
{
	nftw(tmp_base, tmp_rm, 16, FTW_DEPTH | FTW_PHYS);
}

#endif
