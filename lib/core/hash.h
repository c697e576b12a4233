/*
 * hash.h: FNV-1a, the one non-cryptographic hash of the tree (partition
 * keys, template and fingerprint ids, sampling).  Stable across builds and
 * machines: ids computed with it are stored and compared, so neither the
 * constants nor the byte order may change.
 *
 * Chain calls to hash several pieces: h = sre_fnv1a64(SRE_FNV64_BASIS, a,
 * na); h = sre_fnv1a64(h, b, nb).  A separator between pieces is the
 * caller's business ("ab"+"c" and "a"+"bc" hash alike).
 */
#ifndef SRE_HASH_H
#define SRE_HASH_H

#include <stddef.h>
#include <stdint.h>

#define SRE_FNV64_BASIS 0xcbf29ce484222325ULL
#define SRE_FNV64_PRIME 0x100000001b3ULL
#define SRE_FNV32_BASIS 2166136261u
#define SRE_FNV32_PRIME 16777619u

/* 64-bit FNV-1a of n bytes at p, continuing from h. */
uint64_t sre_fnv1a64(uint64_t h, const void *p, size_t n);

/* The same over a NUL-terminated string (the NUL not hashed). */
uint64_t sre_fnv1a64_str(uint64_t h, const char *s);

/* 32-bit FNV-1a of n bytes at p, continuing from h. */
uint32_t sre_fnv1a32(uint32_t h, const void *p, size_t n);

#endif
