/*
 * util.c: PRNG, buffers, hand-written JSON output and option parsing
 * helpers for sre-marketplace.  The JSON writers are the hot path: one
 * span is a few hundred bytes and the generator writes millions of them.
 */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>

#include "mp.h"

static uint64_t
splitmix64(uint64_t *x)
{
	uint64_t z = (*x += UINT64_C(0x9e3779b97f4a7c15));

	z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
	z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
	return z ^ (z >> 31);
}

void
mp_rng_seed(struct mp_rng *r, uint64_t seed, uint64_t stream)
{
	uint64_t x = seed ^ (stream * UINT64_C(0xd1b54a32d192ed03));

	for (int i = 0; i < 4; i++)
		r->s[i] = splitmix64(&x);
}

double
mp_rng_normal(struct mp_rng *r)
{
	/* Box-Muller, one value per call: simple and fast enough here. */
	double u1 = mp_rng_unit(r), u2 = mp_rng_unit(r);

	if (u1 < 1e-300)
		u1 = 1e-300;
	return sqrt(-2.0 * log(u1)) * cos(6.283185307179586 * u2);
}

double
mp_rng_lognormal(struct mp_rng *r, double median, double sigma)
{
	return median * exp(sigma * mp_rng_normal(r));
}

double
mp_rng_exp(struct mp_rng *r, double mean)
{
	double u = mp_rng_unit(r);

	return -mean * log1p(-u);
}

void
mp_buf_reserve(struct mp_buf *b, size_t more)
{
	size_t cap = b->cap ? b->cap : 4096;
	char *p;

	while (cap - b->len < more)
		cap *= 2;
	if (cap == b->cap)
		return;
	if ((p = realloc(b->p, cap)) == NULL) {
		fputs("sre-marketplace: out of memory\n", stderr);
		exit(70);
	}
	b->p = p;
	b->cap = cap;
}

void
mp_buf_free(struct mp_buf *b)
{
	free(b->p);
	b->p = NULL;
	b->len = b->cap = 0;
}

static const char digits2[201] =
    "00010203040506070809101112131415161718192021222324252627282930313233343536373839"
    "40414243444546474849505152535455565758596061626364656667686970717273747576777879"
    "8081828384858687888990919293949596979899";

void
mp_buf_u64(struct mp_buf *b, uint64_t v)
{
	char tmp[24];
	char *e = tmp + sizeof(tmp), *p = e;

	while (v >= 100) {
		unsigned i = (unsigned)(v % 100) * 2;
		v /= 100;
		*--p = digits2[i + 1];
		*--p = digits2[i];
	}
	if (v >= 10) {
		unsigned i = (unsigned)v * 2;
		*--p = digits2[i + 1];
		*--p = digits2[i];
	} else
		*--p = (char)('0' + v);
	mp_buf_put(b, p, (size_t)(e - p));
}

void
mp_buf_i64(struct mp_buf *b, int64_t v)
{
	if (v < 0) {
		mp_buf_putc(b, '-');
		mp_buf_u64(b, (uint64_t)0 - (uint64_t)v);
	} else
		mp_buf_u64(b, (uint64_t)v);
}

void
mp_buf_dbl(struct mp_buf *b, double v, int prec)
{
	static const double scale[] = { 1, 10, 100, 1000, 10000, 100000, 1000000 };
	uint64_t ip, fp;
	double s;

	if (!isfinite(v))
		v = 0;
	if (prec < 0)
		prec = 0;
	if (prec > 6)
		prec = 6;
	if (v < 0) {
		mp_buf_putc(b, '-');
		v = -v;
	}
	if (v >= 1e18) {
		mp_buf_printf(b, "%.0f", v);
		return;
	}
	s = scale[prec];
	fp = (uint64_t)llround(v * s);
	ip = fp / (uint64_t)s;
	fp %= (uint64_t)s;
	mp_buf_u64(b, ip);
	if (prec == 0 || fp == 0)
		return;
	{
		char tmp[8];
		int n = prec;

		for (int i = prec - 1; i >= 0; i--) {
			tmp[i] = (char)('0' + fp % 10);
			fp /= 10;
		}
		while (n > 1 && tmp[n - 1] == '0')
			n--;
		mp_buf_putc(b, '.');
		mp_buf_put(b, tmp, (size_t)n);
	}
}

static const char hexd[] = "0123456789abcdef";

void
mp_buf_hex(struct mp_buf *b, const uint8_t *p, size_t n)
{
	char *o;

	if (b->cap - b->len < 2 * n)
		mp_buf_reserve(b, 2 * n);
	o = b->p + b->len;
	for (size_t i = 0; i < n; i++) {
		*o++ = hexd[p[i] >> 4];
		*o++ = hexd[p[i] & 15];
	}
	b->len += 2 * n;
}

void
mp_buf_hex64(struct mp_buf *b, uint64_t v)
{
	char *o;

	if (b->cap - b->len < 16)
		mp_buf_reserve(b, 16);
	o = b->p + b->len;
	for (int i = 15; i >= 0; i--) {
		o[i] = hexd[v & 15];
		v >>= 4;
	}
	b->len += 16;
}

void
mp_buf_jstr(struct mp_buf *b, const char *s)
{
	const unsigned char *p = (const unsigned char *)s;

	mp_buf_putc(b, '"');
	for (;;) {
		const unsigned char *q = p;

		while (*q >= 0x20 && *q != '"' && *q != '\\')
			q++;
		mp_buf_put(b, (const char *)p, (size_t)(q - p));
		if (*q == 0)
			break;
		switch (*q) {
		case '"':
			MP_LIT(b, "\\\"");
			break;
		case '\\':
			MP_LIT(b, "\\\\");
			break;
		case '\n':
			MP_LIT(b, "\\n");
			break;
		case '\t':
			MP_LIT(b, "\\t");
			break;
		default: {
			char e[8];

			e[0] = '\\';
			e[1] = 'u';
			e[2] = '0';
			e[3] = '0';
			e[4] = hexd[*q >> 4];
			e[5] = hexd[*q & 15];
			mp_buf_put(b, e, 6);
			break;
		}
		}
		p = q + 1;
	}
	mp_buf_putc(b, '"');
}

void
mp_buf_printf(struct mp_buf *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n <= 0)
		return;
	mp_buf_reserve(b, (size_t)n + 1);
	va_start(ap, fmt);
	vsnprintf(b->p + b->len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	b->len += (size_t)n;
}

void
mp_attr_str(struct mp_buf *b, bool first, const char *key, const char *val)
{
	if (!first)
		mp_buf_putc(b, ',');
	MP_LIT(b, "{\"key\":\"");
	mp_buf_puts(b, key);
	MP_LIT(b, "\",\"value\":{\"stringValue\":");
	mp_buf_jstr(b, val);
	MP_LIT(b, "}}");
}

void
mp_attr_int(struct mp_buf *b, bool first, const char *key, int64_t val)
{
	if (!first)
		mp_buf_putc(b, ',');
	MP_LIT(b, "{\"key\":\"");
	mp_buf_puts(b, key);
	MP_LIT(b, "\",\"value\":{\"intValue\":\"");
	mp_buf_i64(b, val);
	MP_LIT(b, "\"}}");
}

int
mp_parse_dbl(const char *s, double *out)
{
	char *end;
	double v;

	if (s == NULL || *s == '\0')
		return -1;
	errno = 0;
	v = strtod(s, &end);
	if (errno != 0 || *end != '\0' || !isfinite(v))
		return -1;
	*out = v;
	return 0;
}

int
mp_parse_u64(const char *s, uint64_t *out)
{
	char *end;
	unsigned long long v;

	if (s == NULL || *s < '0' || *s > '9')
		return -1;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno != 0 || *end != '\0')
		return -1;
	*out = v;
	return 0;
}

/* Number then unit; returns nanoseconds, -1 on error; *bare says no unit. */
static int64_t
parse_num_unit(const char *s, bool *bare)
{
	char *end;
	double v, mult;

	if (s == NULL || *s == '\0' || *s == '-' || *s == '+')
		return -1;
	errno = 0;
	v = strtod(s, &end);
	if (errno != 0 || end == s || !isfinite(v) || v < 0)
		return -1;
	*bare = *end == '\0';
	if (*end == '\0' || strcmp(end, "s") == 0)
		mult = 1e9;
	else if (strcmp(end, "ms") == 0)
		mult = 1e6;
	else if (strcmp(end, "m") == 0 || strcmp(end, "min") == 0)
		mult = 60e9;
	else if (strcmp(end, "h") == 0)
		mult = 3600e9;
	else if (strcmp(end, "d") == 0)
		mult = 86400e9;
	else
		return -1;
	if (v * mult > 9e18)
		return -1;
	return (int64_t)llround(v * mult);
}

int64_t
mp_parse_duration(const char *s)
{
	bool bare;

	return parse_num_unit(s, &bare);
}

int64_t
mp_parse_when(const char *s, int64_t start_ns)
{
	bool bare;
	int64_t v;
	double d;

	if (mp_parse_dbl(s, &d) == 0 && d >= 1e11) {
		/* absolute epoch milliseconds */
		if (d > 9e12)
			return -1;
		return (int64_t)llround(d) * NS_PER_MS;
	}
	if ((v = parse_num_unit(s, &bare)) < 0)
		return -1;
	return start_ns + v;
}
