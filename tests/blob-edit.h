/* SPDX-License-Identifier: MIT */
/*
 * An encoder of the tests' own, written from doc/format.md: it takes blobs
 * apart and rebuilds them without the library, so the library does not grade
 * its own work. Shared by the unit tests and the fuzz corpus maker; it needs
 * no test framework and aborts on a blob it cannot take apart.
 */
#ifndef BLOB_EDIT_H
#define BLOB_EDIT_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "cma.h"

/* Header field offsets, as doc/format.md tables them. */
enum {
	H_MAGIC = 0, H_MAJOR = 8, H_MINOR = 10, H_HSIZE = 12, H_MODE = 16,
	H_REQUIRED = 20, H_OPTIONAL = 24, H_RES0 = 28, H_BASE = 32,
	H_CAPACITY = 40, H_ROOT = 48, H_DATA_END = 56, H_TABLE_OFFSET = 64,
	H_TABLE_SIZE = 72, H_COUNT = 80, H_SECTIONS_OFFSET = 88,
	H_SECTIONS_SIZE = 96, H_BLOB_SIZE = 104, H_CHECKSUM = 112,
	H_RES1 = 120,
};

#define HDR 128u

static inline uint64_t ld64(const uint8_t *p)
{
	uint64_t v;

	memcpy(&v, p, 8);
	return v;
}

static inline void st64(uint8_t *p, uint64_t v)
{
	memcpy(p, &v, 8);
}

static inline uint32_t ld32(const uint8_t *p)
{
	uint32_t v;

	memcpy(&v, p, 4);
	return v;
}

static inline void st32(uint8_t *p, uint32_t v)
{
	memcpy(p, &v, 4);
}

static inline uint64_t al8(uint64_t x)
{
	return (x + 7) & ~7ULL;
}

/* A zeroed, 64-byte aligned buffer of at least n bytes. */
uint8_t *zalloc(size_t n);

/* The header fields as they stand, whether or not they make sense. */
struct cm_header raw_header(const uint8_t *b);

/* Store the checksum of the blob as it now is: only the defect we made
 * remains. */
void reseal(uint8_t *b);

/* Unsigned LEB128 of v into out; its length. */
unsigned leb(uint64_t v, uint8_t *out);

/* The slot offsets of a well-formed table, decoded here (malloc'd). */
uint64_t *table_slots(const uint8_t *b, size_t *count);

/*
 * Rebuild blob `b` (no sections) with a header of `hsize` bytes whose bytes
 * past 128 are `fill`, and `sec` (a multiple of 8) as its sections. The data
 * moves up by hsize - 128 and the recorded base down as much, so every slot
 * keeps its value. The table is encoded here.
 */
uint8_t *rebuild(const uint8_t *b, uint32_t hsize, uint8_t fill,
		 const uint8_t *sec, uint64_t sec_size, size_t *len);

/*
 * Append a section {type, flags, size, payload, padding} to blob `b`
 * (with or without sections), padding bytes set to `pad`.
 */
uint8_t *append_section(const uint8_t *b, uint32_t type, uint32_t flags,
			const void *payload, uint64_t size, uint8_t pad,
			size_t *len);

#endif
