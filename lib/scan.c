/* SPDX-License-Identifier: MIT */
/*
 * The pointer scan: data words that are no recorded slot yet hold an
 * address inside the data, most likely a pointer stored with '=' instead
 * of cm_ptr_to() (doc/format.md, Unrecorded pointers).
 *
 * It streams over the data beside the slot bitmap, never searching the
 * table for a word. Two kernels: a count of the words whose value lies in
 * the data, which a valid chunk matches with its slot count (the common
 * case: one compare and one add a word), and an exact search, 64 words at
 * a time, for the words that are in range and not slots.
 */
#include "cpu.h"
#include "scan.h"

#define GROUP_WORDS CM_SCAN_GROUP_WORDS
#define GROUP_BYTES (GROUP_WORDS * 8)
/* cm_scan_slots() turns its slots into bitmaps of this many groups. */
#define SLOT_PIECE_GROUPS 64

bool cm_scan_rule(struct cm_scan *s, uint64_t base, uint64_t data_start,
		  uint64_t data_end)
{
	s->base = base;
	s->lo = base + data_start;
	s->span = data_end - data_start;
	s->data_end = data_end;
	return base >= CM_SCAN_MIN_BASE;
}

/* Whole words from off up to end and the data end. */
static uint64_t words_in(const struct cm_scan *s, uint64_t off, uint64_t end)
{
	if (end > s->data_end)
		end = s->data_end;
	return end > off ? (end - off) / 8 : 0;
}

/* ---- drivers ---- */

bool cm_scan_clean(const struct cm_scan *s, const uint8_t *p, uint64_t off,
		   uint64_t end, uint64_t listed)
{
	return cm_kernels()->scan_count(p, words_in(s, off, end), s->lo,
					s->span) == listed;
}

/* Each hit of group g (bit i: the word at off + 8 (64 g + i)), in order. */
static bool report_group(const uint8_t *p, uint64_t off, size_t g,
			 uint64_t hits, cm_scan_hit_fn hit, void *ctx)
{
	for (; hits; hits &= hits - 1) {
		uint64_t word = g * GROUP_WORDS
				+ (uint64_t)__builtin_ctzll(hits);

		if (hit(ctx, off + word * 8, cm_load64(p + word * 8)))
			return true;
	}
	return false;
}

bool cm_scan_bits(const struct cm_scan *s, const uint8_t *p, uint64_t off,
		  uint64_t end, const uint64_t *bits, cm_scan_hit_fn hit,
		  void *ctx)
{
	uint64_t words = words_in(s, off, end), tail = words % GROUP_WORDS;
	size_t groups = (size_t)(words / GROUP_WORDS), g = 0;
	cm_scan_find_fn *find = cm_kernels()->scan_find;

	for (;;) {
		uint64_t hits = 0;

		g += find(p + g * GROUP_BYTES, groups - g, bits + g, s->lo,
			  s->span, &hits);
		if (g == groups)
			break;
		if (report_group(p, off, g, hits, hit, ctx))
			return true;
		g++;
	}
	if (tail) {
		uint64_t hits = cm_scan_in_range(p + groups * GROUP_BYTES, tail,
					      s->lo, s->span) & ~bits[groups];

		return report_group(p, off, groups, hits, hit, ctx);
	}
	return false;
}

bool cm_scan_slots(const struct cm_scan *s, const uint8_t *p, uint64_t off,
		   uint64_t end, const uint64_t *slots, size_t n,
		   cm_scan_hit_fn hit, void *ctx)
{
	const uint64_t piece = SLOT_PIECE_GROUPS * GROUP_BYTES;
	size_t i = 0;

	if (end > s->data_end)
		end = s->data_end;
	for (uint64_t at = off; at < end; at += piece) {
		uint64_t to = end - at > piece ? at + piece : end;
		uint64_t bits[SLOT_PIECE_GROUPS] = { 0 };

		for (; i < n && slots[i] < to; i++)
			if (slots[i] >= at && (slots[i] - at) % 8 == 0)
				bits[(slots[i] - at) / GROUP_BYTES] |=
					1ULL << ((slots[i] - at) / 8
						 % GROUP_WORDS);
		if (cm_scan_bits(s, p + (at - off), at, to, bits, hit, ctx))
			return true;
	}
	return false;
}

int cm_fail_unrecorded(struct cm_error *err, const struct cm_scan *s,
		       uint64_t offset, uint64_t value)
{
	return cm_fail(err, CM_E_UNRECORDED, offset, UINT64_MAX,
		       "word 0x%llx points into the data (offset 0x%llx) "
		       "but is not a recorded pointer slot",
		       (unsigned long long)value,
		       (unsigned long long)(value - s->base));
}
