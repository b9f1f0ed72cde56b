/* SPDX-License-Identifier: MIT */
/*
 * A chunk's slots as a bitmap, straight from the table: the relative and
 * the absolute decoder take the common entries many at a time, the cursor
 * (table.c) takes each other one the careful way.
 */
#include "cpu.h"
#include "table.h"

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
	if ((x & 0xe0e0e0e0e0e0e0e0ULL) || !cm_eight_short_deltas(x))
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
			if (!cm_eight_short_deltas(x))
				break;
			s = cm_eight_slots(x, prev, s8);
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
						    bound, k);

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
		.off = off, .cpu = cm_kernels(),
		.bound = c->h->data_end - 7 < limit ? c->h->data_end - 7
						    : limit,
	};
	const bool relative = c->h->mode == CM_RELATIVE_OFFSET;
	const uint64_t first = c->index;
	struct cm_bit_sink k = { .words = bits };

	while (c->index < dc.count) {
		struct run r = { c->pos, c->prev, c->index };
		uint64_t s;
		unsigned used;

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
		if (cm_table_peek(c, &s, &used, err)) {
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
