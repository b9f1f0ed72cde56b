/* SPDX-License-Identifier: MIT */
/* The blob format's layout and bytes, errors, VLQ, the header: the
 * base every other part of the library stands on. */
#ifndef CMA_FORMAT_H
#define CMA_FORMAT_H

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "cma.h"

#define CM_API __attribute__((visibility("default")))

/* ---- blob format v1 (doc/format.md) ---- */

#define CM_MAGIC "\x89" "CMA\r\n\x1a\n"
#define CM_MAGIC_LEN 8
#define CM_HEADER_SIZE 128

/* Header field offsets. */
enum {
	CM_H_MAGIC = 0,
	CM_H_VERSION_MAJOR = 8,
	CM_H_VERSION_MINOR = 10,
	CM_H_HEADER_SIZE = 12,
	CM_H_MODE = 16,
	CM_H_REQUIRED = 20,
	CM_H_OPTIONAL = 24,
	CM_H_RESERVED0 = 28,
	CM_H_BASE = 32,
	CM_H_CAPACITY = 40,
	CM_H_ROOT = 48,
	CM_H_DATA_END = 56,
	CM_H_TABLE_OFFSET = 64,
	CM_H_TABLE_SIZE = 72,
	CM_H_POINTER_COUNT = 80,
	CM_H_SECTIONS_OFFSET = 88,
	CM_H_SECTIONS_SIZE = 96,
	CM_H_BLOB_SIZE = 104,
	CM_H_CHECKSUM = 112,
	CM_H_RESERVED1 = 120,
};

#define CM_REQ_LIVE		0x01u	/* a live arena, not a sealed blob */
#define CM_REQ_KNOWN		CM_REQ_LIVE
#define CM_OPT_OBJECT_MAP	0x01u	/* informative: an object map follows */
#define CM_OPT_TYPES		0x02u	/* informative: a type section follows */

/* Optional sections: {u32 type, u32 flags, u64 size, payload, pad to 8}. */
#define CM_SECTION_HEADER	16
#define CM_SECTION_REQUIRED	0x01u
#define CM_SECTION_OBJECT_MAP	1u
#define CM_SECTION_TYPES	2u	/* type description (types.c) */
#define CM_TYPES_VERSION	1u

/* A relative table entry is at most this many VLQ bytes (28 bits). */
#define CM_VLQ_REL_MAX_BYTES	4
/* Any field beyond this is nonsense on a 48-bit address space. */
#define CM_FIELD_LIMIT		(1ULL << 62)

static inline uint64_t cm_align8(uint64_t x) { return (x + 7) & ~7ULL; }

static inline uint64_t cm_load64(const void *p)
{
	uint64_t v;
	memcpy(&v, p, 8);
	return v;
}

static inline void cm_store64(void *p, uint64_t v) { memcpy(p, &v, 8); }

static inline uint32_t cm_load32(const void *p)
{
	uint32_t v;
	memcpy(&v, p, 4);
	return v;
}

static inline void cm_store32(void *p, uint32_t v) { memcpy(p, &v, 4); }

/* ---- errors (error.c) ---- */

/* Fill *err (when not NULL) and return -1 with errno EBADMSG. */
int cm_fail(struct cm_error *err, int code, uint64_t offset, uint64_t index,
	    const char *fmt, ...) __attribute__((format(printf, 5, 6)));

/* A listed slot's value is base + t, header_size <= t <= data_end (NULL and
 * anything below base wrap high and fail the one compare). */
static inline bool cm_value_ok(const struct cm_header *h, uint64_t v)
{
	return v - (h->base + h->header_size) <= h->data_end - h->header_size;
}

/* cm_fail() for a slot whose value fails cm_value_ok(). */
int cm_fail_pointer(struct cm_error *err, uint64_t slot, uint64_t index,
		    uint64_t value);

/* ---- VLQ, unsigned LEB128 (vlq.c) ---- */

/* Encode v; return the byte count (1 to 10). */
unsigned cm_vlq_encode(uint64_t v, uint8_t *out);

/*
 * Decode one value from [p, end), at most max_bytes long, canonical (no
 * overlong form). @return bytes used; 0 when cut, overlong or oversized
 * (*why: 0 cut, 1 overlong, 2 oversized).
 */
unsigned cm_vlq_decode(const uint8_t *p, const uint8_t *end,
		       unsigned max_bytes, uint64_t *v, int *why);

/* Encode the table entry of `slot` (after `prev`) in `mode` at out (room
 * for 8 bytes); return its length. */
static inline unsigned cm_table_encode(uint32_t mode, uint64_t slot,
				       uint64_t prev, uint8_t *out)
{
	if (mode == CM_ABSOLUTE_OFFSET) {
		cm_store64(out, slot);
		return 8;
	}
	if (slot - prev < 128 * 8) {	/* the common one-byte delta */
		*out = (uint8_t)((slot - prev) / 8);
		return 1;
	}
	return cm_vlq_encode((slot - prev) / 8, out);
}

/* ---- type section (types.c) ---- */
/* Check a type section's payload p of `size` bytes found at blob offset
 * `at` (and, with h, that the root type fits at the root). A later
 * version is skipped. @return 0; -1 with EBADMSG (CM_E_SECTION). */
int cm_types_check(const uint8_t *p, uint64_t size, uint64_t at,
		   const struct cm_header *h, struct cm_error *err);

/* ---- header (header.c) ---- */

void cm_header_encode(const struct cm_header *h, uint8_t *out);

#endif /* CMA_FORMAT_H */
