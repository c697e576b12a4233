/* hash.c: FNV-1a, 64 and 32 bits. */
#include <string.h>

#include "hash.h"

uint64_t
sre_fnv1a64(uint64_t h, const void *p, size_t n)
{
	const unsigned char *b = p;

	while (n-- > 0) {
		h ^= *b++;
		h *= SRE_FNV64_PRIME;
	}
	return h;
}

uint64_t
sre_fnv1a64_str(uint64_t h, const char *s)
{
	return sre_fnv1a64(h, s, strlen(s));
}

uint32_t
sre_fnv1a32(uint32_t h, const void *p, size_t n)
{
	const unsigned char *b = p;

	while (n-- > 0) {
		h ^= *b++;
		h *= SRE_FNV32_PRIME;
	}
	return h;
}
