/* SPDX-License-Identifier: MIT */
/*
 * The relocation table read: each entry checked (its encoding, order and
 * bounds), by a cursor one entry at a time, or to a chunk's slot bitmap by
 * a relative and an absolute decoder that take the common entries many at
 * a time and leave every other one to the checked way; its seek, and the
 * public iterator.
 */
#include <errno.h>

#include "cpu.h"
#include "table.h"

/* ---- one entry, checked ---- */

void cm_table_start(struct cm_table_cursor *c, const uint8_t *blob,
		    const struct cm_header *h)
{
	c->blob = blob;
	c->h = h;
	c->pos = h->table_offset;
	c->end = h->table_offset + h->table_size;
	c->index = 0;
	c->prev = 0;
	c->shares = NULL;
}

static int slot_outside(const struct cm_table_cursor *c, uint64_t at,
			uint64_t slot, struct cm_error *err)
{
	return cm_fail(err, CM_E_SLOT, at, c->index,
		       "relocation %llu: slot 0x%llx outside the data "
		       "[0x%x, 0x%llx)",
		       (unsigned long long)c->index, (unsigned long long)slot,
		       c->h->header_size,
		       (unsigned long long)c->h->data_end);
}

/* Decode the entry at c->pos without consuming it; its size in *used. */
static int peek(const struct cm_table_cursor *c, uint64_t *slot,
		unsigned *used, struct cm_error *err)
{
	const uint8_t *p = c->blob + c->pos;
	uint64_t s;

	if (c->h->mode == CM_ABSOLUTE_OFFSET) {
		s = cm_load64(p);
		*used = 8;
		if (s % 8)
			return cm_fail(err, CM_E_SLOT, c->pos, c->index,
				       "relocation %llu: slot 0x%llx is not "
				       "8-byte aligned",
				       (unsigned long long)c->index,
				       (unsigned long long)s);
		if (c->index > 0 && s <= c->prev)
			return cm_fail(err, CM_E_ORDER, c->pos, c->index,
				       "relocation %llu: slot 0x%llx does not "
				       "follow slot 0x%llx",
				       (unsigned long long)c->index,
				       (unsigned long long)s,
				       (unsigned long long)c->prev);
	} else {
		uint64_t units;
		int why;

		if (*p && *p < 0x80) {	/* the common one-byte delta */
			units = *p;
			*used = 1;
		} else {
			*used = cm_vlq_decode(p, c->blob + c->end,
					      CM_VLQ_REL_MAX_BYTES, &units,
					      &why);
			if (!*used)
				return cm_fail(err, CM_E_ENCODING, c->pos,
					       c->index,
					       "relocation %llu: %s VLQ",
					       (unsigned long long)c->index,
					       why == 0 ? "truncated"
					       : why == 1 ? "overlong"
							  : "oversized");
			if (units == 0)
				return cm_fail(err, CM_E_ORDER, c->pos,
					       c->index,
					       "relocation %llu: zero delta "
					       "repeats slot 0x%llx",
					       (unsigned long long)c->index,
					       (unsigned long long)c->prev);
		}
		s = c->prev + units * 8;
	}
	if (s < c->h->header_size || s > c->h->data_end - 8)	/* no wrap */
		return slot_outside(c, c->pos, s, err);
	*slot = s;
	return 0;
}

/* Eight one-byte deltas: no byte zero or with bit 7 set. */
static inline bool eight_short_deltas(uint64_t x)
{
	return !(x & 0x8080808080808080ULL)
	       && !((x - 0x0101010101010101ULL) & ~x & 0x8080808080808080ULL);
}

/* The slots of eight one-byte deltas after `prev`, into s8; the last. */
static inline uint64_t eight_slots(uint64_t x, uint64_t prev, uint64_t *s8)
{
#pragma GCC unroll 8
	for (int i = 0; i < 8; i++)
		s8[i] = prev += (x >> (8 * i) & 0xff) * 8;
	return prev;
}

/* peek() where an entry must be, or a count defect past the table. */
static int peek_entry(const struct cm_table_cursor *c, uint64_t *slot,
		      unsigned *used, struct cm_error *err)
{
	if (c->pos >= c->end)
		return cm_fail(err, CM_E_COUNT, c->pos, c->index,
			       "table ends after %llu of %llu relocations",
			       (unsigned long long)c->index,
			       (unsigned long long)c->h->pointer_count);
	return peek(c, slot, used, err);
}

/* ---- the cursor: slot offsets, many entries at a time ---- */

/*
 * The common case, unrolled from peek(): entries after the first whose slot
 * lies below `bound` (inside this chunk and the data), one-byte deltas or
 * ascending aligned offsets. Stops at the first entry it cannot take.
 */
static size_t fast_run(struct cm_table_cursor *c, uint64_t *slots,
		       size_t max, uint64_t bound)
{
	const uint8_t *p = c->blob;
	uint64_t pos = c->pos, prev = c->prev, index = c->index;
	uint64_t last = c->h->pointer_count - index < max
			? c->h->pointer_count : index + max;
	size_t n = 0;

	if (c->h->mode == CM_RELATIVE_OFFSET) {
		/* Eight one-byte deltas at a time, without a branch each. */
		while (index + 8 <= last && pos + 8 <= c->end) {
			uint64_t x = cm_load64(p + pos), s;

			if (!eight_short_deltas(x))
				break;
			s = eight_slots(x, prev, slots + n);
			if (s >= bound)
				break;	/* the last is past: redo one by one */
			n += 8;
			prev = s;
			pos += 8;
			index += 8;
		}
		while (index < last && pos < c->end) {
			uint8_t b = p[pos];
			uint64_t s = prev + (uint64_t)b * 8;

			if ((uint8_t)(b - 1) >= 0x7f || s >= bound)
				break;
			slots[n++] = prev = s;
			pos++;
			index++;
		}
	} else {
		while (index < last) {
			uint64_t s = cm_load64(p + pos);

			if (s % 8 || s <= prev || s >= bound)
				break;
			slots[n++] = prev = s;
			pos += 8;
			index++;
		}
	}
	c->pos = pos;
	c->prev = prev;
	c->index = index;
	return n;
}

ssize_t cm_table_next(struct cm_table_cursor *c, uint64_t *slots, size_t max,
		      uint64_t limit, struct cm_error *err)
{
	uint64_t bound = c->h->data_end - 7 < limit ? c->h->data_end - 7
						    : limit;
	size_t n = 0;

	while (n < max && c->index < c->h->pointer_count) {
		uint64_t s = 0;
		unsigned used = 0;

		if (c->index > 0) {
			n += fast_run(c, slots + n, max - n, bound);
			if (n == max || c->index == c->h->pointer_count)
				break;
		}
		/* A defect after some entries: those first; the defect is
		 * met again, and returned, by the next call. */
		if (peek_entry(c, &s, &used, err))
			return n ? (ssize_t)n : -1;
		if (s >= limit)
			break;
		slots[n++] = s;
		c->prev = s;
		c->pos += used;
		c->index++;
	}
	return (ssize_t)n;
}

/* ---- a chunk's slots as a bitmap: the relative and absolute decoders ---- */

/*
 * Eight copies of an eight-slot `mask` spanning `words` (its top bit),
 * one after the other from the word `at`. When `words` divides 64 the
 * copies tile whole bitmap words: two puts for a list of 16-byte nodes
 * instead of eight. (The pattern starts one word on: bit 0 of a mask is
 * never set, its top bit always is.)
 */
static inline void put_eight_times(struct cm_bit_sink *k, uint64_t at,
				   uint64_t mask, uint64_t words)
{
	if (words == 8 || words == 16 || words == 32) {
		uint64_t tile = (mask >> 1) * (~0ULL / ((1ULL << words) - 1));

		for (uint64_t i = 0; i < words / 8; i++)
			cm_sink_put(k, at + 1 + 64 * i, tile);
		return;
	}
#pragma GCC unroll 8
	for (uint64_t i = 0; i < 8; i++)
		cm_sink_put(k, at + i * words, mask);
}

/* Bit k set for k = d, 2d, ... 8d: eight equal deltas of d words. */
static const uint64_t equal_deltas[8] = {
	0, 0x1fe, 0x15554, 0x1249248, 0x111111110, 0x10842108420,
	0x1041041041040, 0x102040810204080,
};

/*
 * The bits of eight one-byte deltas after a slot (bit 0), when they span
 * less than 64 words: from a table (equal deltas) or from their prefix sums
 * (each delta 1-31, so no byte of the sums carries). @return the mask, its
 * highest bit in *words; 0 when they do not fit or a delta is not 1-31.
 */
static inline uint64_t eight_bits(uint64_t x, uint64_t *words)
{
	uint64_t mask = 0, sums;

	if (x == (x & 0xff) * 0x0101010101010101ULL && (x & 0xff) < 8) {
		*words = (x & 0xff) * 8;
		return equal_deltas[x & 0xff];
	}
	if ((x & 0xe0e0e0e0e0e0e0e0ULL) || !eight_short_deltas(x))
		return 0;
	sums = x * 0x0101010101010101ULL;
	*words = sums >> 56;
	if (*words > 63)
		return 0;
#pragma GCC unroll 8
	for (int i = 0; i < 8; i++)
		mask |= 1ULL << ((sums >> (8 * i)) & 63);
	return mask;
}

static inline uint64_t min3(uint64_t a, uint64_t b, uint64_t c)
{
	uint64_t ab = a < b ? a : b;

	return ab < c ? ab : c;
}

/*
 * Where a decoder is: locals of cm_table_bits(), not the cursor, so that
 * the bit stores cannot alias them.
 */
struct run {
	uint64_t pos, prev, index;
};

/* What a decoder reads: the table, its bounds, the chunk. */
struct decode {
	const uint8_t *t;
	uint64_t count;		/* entries in the table */
	uint64_t end;		/* the table's end */
	uint64_t off;		/* bit 0: the word at off */
	uint64_t bound;		/* slots lie below */
	const struct cm_kernels *cpu;
	struct cm_table_shares *shares;
};

/*
 * The relative decoder: eight one-byte deltas at a time, after the first
 * entry, while their slots stay below the bound; eight that repeat (records
 * of one layout allocated in order) 64 entries at a time. Stops at the
 * first eight it cannot take.
 */
static inline void relative_bits(const struct decode *dc, struct run *r,
				 struct cm_bit_sink *k)
{
	const uint8_t *t = dc->t;
	const uint64_t count = dc->count, end = dc->end;
	const uint64_t off = dc->off, bound = dc->bound;
	uint64_t pos = r->pos, prev = r->prev, index = r->index;

	while (index + 8 <= count && pos + 8 <= end) {
		uint64_t x = cm_load64(t + pos), s8[8], mask, words, s;

		if (prev >= off && (mask = eight_bits(x, &words))
		    && prev + words * 8 < bound) {
			uint64_t n = 0;

			if (index + 64 <= count && pos + 64 <= end
			    && prev + words * 64 < bound)
				n = dc->cpu->repeats(t + pos, x, min3(
					(count - index) / 64, (end - pos) / 64,
					(bound - 1 - prev) / (words * 64)));
			if (n) {
				for (uint64_t i = 0; i < n; i++) {
					put_eight_times(k, (prev - off) / 8,
							mask, words);
					prev += words * 64;
				}
				pos += 64 * n;
				index += 64 * n;
				continue;
			}
			cm_sink_put(k, (prev - off) / 8, mask);
			s = prev + words * 8;
		} else {
			if (!eight_short_deltas(x))
				break;
			s = eight_slots(x, prev, s8);
			if (s >= bound)
				break;
#pragma GCC unroll 8
			for (int i = 0; i < 8; i++)
				cm_sink_put(k, (s8[i] - off) / 8, 1);
		}
		pos += 8;
		index += 8;
		prev = s;
	}
	*r = (struct run){ pos, prev, index };
}

/*
 * The absolute decoder: entries eight at a time (the kernel), then one at
 * a time, each aligned, above the one before and below the bound. Stops at
 * the first it cannot take.
 */
static inline void absolute_bits(const struct decode *dc, struct run *r,
				 struct cm_bit_sink *k)
{
	const uint8_t *t = dc->t;
	const uint64_t count = dc->count, bound = dc->bound;
	uint64_t pos = r->pos, prev = r->prev, index = r->index, s;

	if (index + 8 <= count) {
		uint64_t n = dc->cpu->absolute_bits(t, pos, prev,
						    count - index, dc->off,
						    bound, k, dc->shares);

		if (n) {
			pos += 8 * n;
			index += n;
			prev = cm_load64(t + pos - 8);
		}
	}
	while (index < count) {
		s = cm_load64(t + pos);
		if (s % 8 || s <= prev || s >= bound)
			break;
		cm_sink_put(k, (s - dc->off) / 8, 1);
		pos += 8;
		index++;
		prev = s;
	}
	*r = (struct run){ pos, prev, index };
}

ssize_t cm_table_bits(struct cm_table_cursor *c, uint64_t *bits, uint64_t off,
		      uint64_t limit, struct cm_error *err)
{
	const struct decode dc = {
		.t = c->blob, .count = c->h->pointer_count, .end = c->end,
		.off = off, .cpu = cm_kernels(), .shares = c->shares,
		.bound = c->h->data_end - 7 < limit ? c->h->data_end - 7
						    : limit,
	};
	const bool relative = c->h->mode == CM_RELATIVE_OFFSET;
	const uint64_t first = c->index;
	struct cm_bit_sink k = { .words = bits };

	while (c->index < dc.count) {
		struct run r = { c->pos, c->prev, c->index };
		/* Set by peek_entry(); zeroed as GCC -O3 cannot tell. */
		uint64_t s = 0;
		unsigned used = 0;

		/* The first entry has no entry before it to follow. */
		if (r.index > 0 && relative)
			relative_bits(&dc, &r, &k);
		else if (r.index > 0)
			absolute_bits(&dc, &r, &k);
		c->pos = r.pos;
		c->prev = r.prev;
		c->index = r.index;
		if (c->index == dc.count)
			break;
		/* One entry the careful way. */
		if (peek_entry(c, &s, &used, err)) {
			cm_sink_flush(&k);
			return -1;
		}
		if (s >= limit)
			break;
		cm_sink_put(&k, (s - off) / 8, 1);
		c->prev = s;
		c->pos += used;
		c->index++;
	}
	cm_sink_flush(&k);
	return (ssize_t)(c->index - first);
}

/* ---- seeking, the end, the public iterator ---- */

int cm_table_seek(struct cm_table_cursor *c, uint64_t target)
{
	cm_skip_fn *const skip_deltas = cm_kernels()->skip_deltas;
	const uint8_t *t = c->blob;
	const uint64_t count = c->h->pointer_count;
	uint64_t pos = c->pos, prev = c->prev, index = c->index;

	while (index < count) {
		uint64_t units;
		unsigned used = 1;
		int why;

		/* 64 one-byte deltas at a time, summed, while below target. */
		if (index + 64 <= count && pos + 64 <= c->end) {
			uint64_t most = (count - index) / 64;
			uint64_t n;

			if ((c->end - pos) / 64 < most)
				most = (c->end - pos) / 64;
			n = skip_deltas(t + pos, most, &prev, target);

			if (n) {
				pos += 64 * n;
				index += 64 * n;
				continue;
			}
		}
		if (pos >= c->end)
			return -1;
		units = t[pos];
		if (units >= 0x80) {
			used = cm_vlq_decode(t + pos, t + c->end,
					     CM_VLQ_REL_MAX_BYTES, &units,
					     &why);
			if (!used)
				return -1;
		}
		if (prev + units * 8 >= target)
			break;
		prev += units * 8;
		pos += used;
		index++;
	}
	c->pos = pos;
	c->prev = prev;
	c->index = index;
	return 0;
}

int cm_table_finish(const struct cm_table_cursor *c, struct cm_error *err)
{
	if (c->index != c->h->pointer_count || c->pos != c->end)
		return cm_fail(err, CM_E_COUNT, c->pos, c->index,
			       "%llu relocations use %llu of the %llu table "
			       "bytes",
			       (unsigned long long)c->index,
			       (unsigned long long)(c->pos - c->h->table_offset),
			       (unsigned long long)c->h->table_size);
	return 0;
}

CM_API int cm_reloc_begin(struct cm_reloc_iter *it, const void *blob,
			  size_t len, struct cm_error *err)
{
	if (!it || !blob) {
		errno = EINVAL;
		return -1;
	}
	if (cm_header_read(blob, len, &it->h, err))
		return -1;
	it->blob = blob;
	it->len = len;
	it->pos = it->h.table_offset;
	it->index = 0;
	it->prev = 0;
	it->limit = it->h.table_offset + it->h.table_size;
	return 0;
}

CM_API int cm_reloc_next(struct cm_reloc_iter *it, struct cm_reloc *r,
			 struct cm_error *err)
{
	struct cm_table_cursor c = {
		.blob = it->blob, .h = &it->h, .pos = it->pos,
		.end = it->limit, .index = it->index, .prev = it->prev,
	};
	const struct cm_header *h = &it->h;
	uint64_t slot, at = it->pos;
	ssize_t n;

	if (!r) {
		errno = EINVAL;
		return -1;
	}
	memset(r, 0, sizeof *r);
	r->index = it->index;
	r->encoded_at = at;
	n = cm_table_next(&c, &slot, 1, UINT64_MAX, err);
	if (n < 0)
		return -1;
	if (n == 0)
		return cm_table_finish(&c, err) ? -1 : 0;
	r->slot = slot;
	r->delta = slot - it->prev;
	r->encoded_len = (uint32_t)(c.pos - at);
	memcpy(r->encoded, it->blob + at, r->encoded_len);
	r->value = cm_load64(it->blob + slot);
	r->target = r->value - h->base;
	it->pos = c.pos;
	it->index = c.index;
	it->prev = c.prev;
	/* A bad value leaves the table decodable: the caller may go on. */
	if (!cm_value_ok(h, r->value))
		return cm_fail_pointer(err, slot, r->index, r->value);
	return 1;
}
