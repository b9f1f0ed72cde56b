/* SPDX-License-Identifier: MIT */
/* The tests' own blob encoder (see blob-edit.h). */
#include <stdio.h>
#include <stdlib.h>

#include "blob-edit.h"

/* Not a test verdict: the blob handed in is not what the caller meant. */
__attribute__((noreturn))
static void fail(const char *what)
{
	fprintf(stderr, "blob-edit: %s\n", what);
	abort();
}

/* A zeroed, 64-byte aligned buffer. */
uint8_t *zalloc(size_t n)
{
	uint8_t *p = aligned_alloc(64, (n + 63) & ~(size_t)63);

	if (!p)
		fail("out of memory");
	memset(p, 0, (n + 63) & ~(size_t)63);
	return p;
}

/* The header fields as they stand, whether or not they make sense. */
struct cm_header raw_header(const uint8_t *b)
{
	struct cm_header h;

	memset(&h, 0, sizeof h);
	memcpy(&h.version_major, b + H_MAJOR, 2);
	memcpy(&h.version_minor, b + H_MINOR, 2);
	h.header_size = ld32(b + H_HSIZE);
	h.mode = ld32(b + H_MODE);
	h.required_flags = ld32(b + H_REQUIRED);
	h.optional_flags = ld32(b + H_OPTIONAL);
	h.base = ld64(b + H_BASE);
	h.capacity = ld64(b + H_CAPACITY);
	h.root = ld64(b + H_ROOT);
	h.data_end = ld64(b + H_DATA_END);
	h.table_offset = ld64(b + H_TABLE_OFFSET);
	h.table_size = ld64(b + H_TABLE_SIZE);
	h.pointer_count = ld64(b + H_COUNT);
	h.sections_offset = ld64(b + H_SECTIONS_OFFSET);
	h.sections_size = ld64(b + H_SECTIONS_SIZE);
	h.blob_size = ld64(b + H_BLOB_SIZE);
	h.checksum = ld64(b + H_CHECKSUM);
	return h;
}

/* Store the checksum of the blob as it now is: only the defect we made
 * remains. */
void reseal(uint8_t *b)
{
	struct cm_header h = raw_header(b);

	st64(b + H_CHECKSUM, cm_checksum_compute(b, &h));
}

/* Unsigned LEB128, written from the spec. */
unsigned leb(uint64_t v, uint8_t *out)
{
	unsigned n = 0;

	do {
		out[n] = v & 0x7f;
		v >>= 7;
		if (v)
			out[n] |= 0x80;
		n++;
	} while (v);
	return n;
}

/* The slot offsets of a well-formed table, decoded here (malloc'd). */
uint64_t *table_slots(const uint8_t *b, size_t *count)
{
	struct cm_header h = raw_header(b);
	const uint8_t *p = b + h.table_offset, *end = p + h.table_size;
	uint64_t *s = calloc(h.pointer_count + 1, sizeof *s), prev = 0;
	size_t n = 0;

	if (!s)
		fail("out of memory");
	while (p < end) {
		uint64_t v = 0;
		unsigned shift = 0;

		if (n >= h.pointer_count)
			fail("table_slots: more entries than pointer_count");
		if (h.mode == CM_ABSOLUTE_OFFSET) {
			v = ld64(p);
			p += 8;
		} else {
			do {
				v |= (uint64_t)(*p & 0x7f) << shift;
				shift += 7;
			} while (*p++ & 0x80);
			v = prev + v * 8;
		}
		s[n++] = prev = v;
	}
	if (n != h.pointer_count)
		fail("table_slots: fewer entries than pointer_count");
	*count = n;
	return s;
}

/*
 * Rebuild blob `b` (no sections) with a header of `hsize` bytes whose bytes
 * past 128 are `fill`, and `sec` (a multiple of 8) as its sections. The data
 * moves up by hsize - 128 and the recorded base down as much, so every slot
 * keeps its value. The table is encoded here.
 */
uint8_t *rebuild(const uint8_t *b, uint32_t hsize, uint8_t fill,
		 const uint8_t *sec, uint64_t sec_size, size_t *len)
{
	struct cm_header h = raw_header(b);
	uint64_t d = hsize - HDR, dend = h.data_end + d, toff = al8(dend);
	uint64_t tsize = 0, prev = 0, soff = 0, bsize;
	size_t n;
	uint64_t *slots = table_slots(b, &n);
	uint8_t *out = zalloc(toff + n * 8 + 8 + sec_size + 8);

	if (h.sections_size)
		fail("rebuild: the blob has sections");
	memcpy(out, b, HDR);
	memset(out + HDR, fill, d);
	memcpy(out + hsize, b + HDR, h.data_end - HDR);
	for (size_t i = 0; i < n; i++) {
		uint64_t s = slots[i] + d;

		if (h.mode == CM_ABSOLUTE_OFFSET) {
			st64(out + toff + tsize, s);
			tsize += 8;
		} else {
			tsize += leb((s - prev) / 8, out + toff + tsize);
		}
		prev = s;
	}
	bsize = toff + tsize;
	if (sec_size) {
		soff = al8(bsize);
		memcpy(out + soff, sec, sec_size);
		bsize = soff + sec_size;
	}
	st32(out + H_HSIZE, hsize);
	st64(out + H_BASE, h.base - d);
	st64(out + H_ROOT, h.root + d);
	st64(out + H_DATA_END, dend);
	st64(out + H_TABLE_OFFSET, toff);
	st64(out + H_TABLE_SIZE, tsize);
	st64(out + H_SECTIONS_OFFSET, soff);
	st64(out + H_SECTIONS_SIZE, sec_size);
	st64(out + H_BLOB_SIZE, bsize);
	reseal(out);
	free(slots);
	*len = bsize;
	return out;
}

/*
 * Append a section {type, flags, size, payload, padding} to blob `b`
 * (with or without sections), padding bytes set to `pad`.
 */
uint8_t *append_section(const uint8_t *b, uint32_t type, uint32_t flags,
			const void *payload, uint64_t size, uint8_t pad,
			size_t *len)
{
	struct cm_header h = raw_header(b);
	uint64_t soff = h.sections_size ? h.sections_offset
			: al8(h.table_offset + h.table_size);
	uint64_t at = soff + h.sections_size;
	uint64_t total = at + 16 + al8(size);
	uint8_t *out = zalloc(total);

	memcpy(out, b, h.blob_size);
	st32(out + at, type);
	st32(out + at + 4, flags);
	st64(out + at + 8, size);
	if (size)
		memcpy(out + at + 16, payload, size);
	memset(out + at + 16 + size, pad, al8(size) - size);
	st64(out + H_SECTIONS_OFFSET, soff);
	st64(out + H_SECTIONS_SIZE, total - soff);
	st64(out + H_BLOB_SIZE, total);
	reseal(out);
	*len = total;
	return out;
}
