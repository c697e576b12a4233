/* mac.c: authenticated control events (see mac.h). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sysexits.h>
#include <unistd.h>

#include <sodium.h>

#include "event.h"
#include "mac.h"

#define HEX_LEN	(2 * SRE_MAC_KEY_BYTES)
#define HEX	"0123456789abcdefABCDEF"

/* 64 hex digits and nothing else into 32 bytes: 0, or -1. */
static int
unhex(unsigned char *out, const char *hex, size_t len)
{
	size_t got;

	if (len != HEX_LEN || strspn(hex, HEX) < HEX_LEN)
		return -1;
	if (sodium_hex2bin(out, SRE_MAC_KEY_BYTES, hex, len, NULL, &got,
	    NULL) != 0 || got != SRE_MAC_KEY_BYTES)
		return -1;
	return 0;
}

int
sre_mac_key_parse(struct sre_mac_key *key, const char *hex)
{
	return hex == NULL ? -1 : unhex(key->k, hex, strlen(hex));
}

/* Write a new key to a temporary file and link it in as path: another
 * process making one at the same moment wins or loses whole. */
static int
key_make(const char *dir, const char *path, char *err, size_t errlen)
{
	char tmp[4200], hex[HEX_LEN + 2];
	unsigned char k[SRE_MAC_KEY_BYTES];
	int fd, ok;

	if ((size_t)snprintf(tmp, sizeof(tmp), "%s/%s.XXXXXX", dir,
	    SRE_MAC_KEY_FILE) >= sizeof(tmp)) {
		snprintf(err, errlen, "%s: path too long", dir);
		return EX_CANTCREAT;
	}
	if ((fd = mkstemp(tmp)) < 0) {
		snprintf(err, errlen, "making %s: %s", path, strerror(errno));
		return EX_CANTCREAT;
	}
	crypto_auth_keygen(k);
	sodium_bin2hex(hex, sizeof(hex), k, sizeof(k));
	sodium_memzero(k, sizeof(k));
	hex[HEX_LEN] = '\n';
	ok = fchmod(fd, 0600) == 0 &&
	    write(fd, hex, HEX_LEN + 1) == HEX_LEN + 1 && fsync(fd) == 0;
	sodium_memzero(hex, sizeof(hex));
	if (close(fd) != 0)
		ok = 0;
	if (ok && link(tmp, path) != 0 && errno != EEXIST)
		ok = 0;
	if (!ok)
		snprintf(err, errlen, "making %s: %s", path, strerror(errno));
	unlink(tmp);
	return ok ? EX_OK : EX_CANTCREAT;
}

static int
key_read(struct sre_mac_key *key, const char *path, char *err, size_t errlen)
{
	char buf[HEX_LEN + 4];
	struct stat sb;
	ssize_t n;
	size_t len;
	int fd;

	if ((fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)) < 0) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return errno == ELOOP ? EX_CONFIG : errno == ENOENT ?
		    -1 : EX_IOERR;
	}
	if (fstat(fd, &sb) != 0) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		close(fd);
		return EX_IOERR;
	}
	if (!S_ISREG(sb.st_mode)) {
		snprintf(err, errlen, "%s: not a regular file", path);
		close(fd);
		return EX_CONFIG;
	}
	if ((sb.st_mode & 077) != 0) {
		snprintf(err, errlen, "%s: mode %04o lets others at the "
		    "control key (want 0600: chmod 600 %s)", path,
		    (unsigned)(sb.st_mode & 07777), path);
		close(fd);
		return EX_CONFIG;
	}
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n < 0) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return EX_IOERR;
	}
	len = (size_t)n;
	buf[len] = '\0';
	if (len > 0 && buf[len - 1] == '\n')
		buf[--len] = '\0';
	if (memchr(buf, '\0', len) != NULL || unhex(key->k, buf, len) < 0) {
		sodium_memzero(buf, sizeof(buf));
		snprintf(err, errlen, "%s: not a control key (want 64 hex "
		    "digits and a newline)", path);
		return EX_CONFIG;
	}
	sodium_memzero(buf, sizeof(buf));
	return EX_OK;
}

int
sre_mac_key_load(struct sre_mac_key *key, const struct sre_common *c,
    char *err, size_t errlen)
{
	const char *env = getenv("SRE_CONTROL_KEY"), *dir;
	char path[4200];
	int ex;

	if (sodium_init() < 0) {
		snprintf(err, errlen, "libsodium cannot start");
		return EX_SOFTWARE;
	}
	if (env != NULL && *env != '\0') {
		if (sre_mac_key_parse(key, env) < 0) {
			snprintf(err, errlen, "SRE_CONTROL_KEY: not a control "
			    "key (want 64 hex digits)");
			return EX_CONFIG;
		}
		return EX_OK;
	}
	dir = sre_state_dir(c);
	if ((size_t)snprintf(path, sizeof(path), "%s/%s", dir,
	    SRE_MAC_KEY_FILE) >= sizeof(path)) {
		snprintf(err, errlen, "%s: path too long", dir);
		return EX_CANTCREAT;
	}
	if ((ex = key_read(key, path, err, errlen)) != -1)
		return ex;
	if (sre_state_dir_make(c) < 0) {
		snprintf(err, errlen, "%s: %s", dir, strerror(errno));
		return EX_CANTCREAT;
	}
	if ((ex = key_make(dir, path, err, errlen)) != EX_OK)
		return ex;
	ex = key_read(key, path, err, errlen);
	return ex == -1 ? EX_CANTCREAT : ex;
}

/* The canonical text of ev without its mac (borrows ev), or invalid. */
static jv
canonical(jv ev)
{
	if (jv_get_kind(ev) != JV_KIND_OBJECT)
		return jv_invalid();
	return jv_dump_string(jv_object_delete(jv_copy(ev), jv_string("mac")),
	    JV_PRINT_SORTED);
}

jv
sre_mac_sign(const struct sre_mac_key *key, jv ev)
{
	unsigned char mac[SRE_MAC_BYTES];
	char hex[2 * SRE_MAC_BYTES + 1];
	jv text = canonical(ev);

	if (jv_get_kind(text) != JV_KIND_STRING) {
		jv_free(text);
		jv_free(ev);
		return jv_invalid();
	}
	crypto_auth(mac, (const unsigned char *)jv_string_value(text),
	    (unsigned long long)jv_string_length_bytes(jv_copy(text)), key->k);
	jv_free(text);
	sodium_bin2hex(hex, sizeof(hex), mac, sizeof(mac));
	return jv_object_set(ev, jv_string("mac"), jv_string(hex));
}

int
sre_mac_verify(const struct sre_mac_key *key, jv ev, char *why,
    size_t whylen)
{
	unsigned char mac[SRE_MAC_BYTES];
	const char *hex = sre_jv_str(ev, "mac");
	jv text;
	int ok;

	if (hex == NULL) {
		snprintf(why, whylen, jv_get_kind(ev) == JV_KIND_OBJECT &&
		    jv_object_has(jv_copy(ev), jv_string("mac")) ?
		    "mac is not a string" : "no mac");
		return -1;
	}
	if (unhex(mac, hex, strlen(hex)) < 0) {
		snprintf(why, whylen, "mac is not 64 hex digits");
		return -1;
	}
	text = canonical(ev);
	if (jv_get_kind(text) != JV_KIND_STRING) {
		jv_free(text);
		snprintf(why, whylen, "cannot be put in canonical form");
		return -1;
	}
	ok = crypto_auth_verify(mac, (const unsigned char *)
	    jv_string_value(text),
	    (unsigned long long)jv_string_length_bytes(jv_copy(text)),
	    key->k) == 0;
	jv_free(text);
	if (!ok) {
		snprintf(why, whylen, "mac does not verify (altered, or "
		    "signed with another key)");
		return -1;
	}
	return 0;
}

int
sre_mac_check(const struct sre_mac_key *key, jv ev, char *why,
    size_t whylen)
{
	const char *type = sre_jv_str(ev, "type");
	const char *src = sre_jv_str(ev, "source");
	char r[128];

	if (!sre_mac_control(type)) {
		snprintf(why, whylen, "not a control event");
		return -1;
	}
	if (sre_jv_str(ev, "mac") == NULL) {
		snprintf(why, whylen, "%s not signed by %s", type,
		    sre_mac_issuers(type));
		return -1;
	}
	if (!sre_mac_issuer(type, src)) {
		snprintf(why, whylen, "%s from %.64s, not from %s", type,
		    src ? src : "no source", sre_mac_issuers(type));
		return -1;
	}
	if (sre_mac_verify(key, ev, r, sizeof(r)) < 0) {
		snprintf(why, whylen, "%s from %s: %s", type, src, r);
		return -1;
	}
	return 0;
}
