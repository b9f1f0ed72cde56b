/* SPDX-License-Identifier: MIT */
/* The table decoders' portable kernels, every CPU level's fallback. */
#include "cpu.h"
#include "format.h"

uint64_t cm_repeats_scalar(const uint8_t *p, uint64_t x, uint64_t most)
{
	uint64_t n = 0;

	for (; n < most; n++, p += 64) {
		uint64_t diff = 0;

		for (int i = 0; i < 8; i++)
			diff |= cm_load64(p + 8 * i) ^ x;
		if (diff)
			break;
	}
	return n;
}

/*
 * Absolute entries eight at a time: aligned, ascending, below the bound
 * and at most 63 words after the first, one mask.
 */
uint64_t cm_absolute_scalar(const uint8_t *t, uint64_t pos, uint64_t prev,
			    uint64_t todo, uint64_t off, uint64_t bound,
			    struct cm_bit_sink *sink,
			    struct cm_table_shares *shares)
{
	struct cm_bit_sink k = *sink;	/* in registers, not via a pointer */
	uint64_t done = 0;

	(void)shares;	/* the caller hashes the table */

	for (; done + 8 <= todo; done += 8, pos += 64) {
		uint64_t s8[8], odd = 0, order = 0, mask = 0;

#pragma GCC unroll 8
		for (int i = 0; i < 8; i++) {
			s8[i] = cm_load64(t + pos + 8 * i);
			odd |= s8[i];
			order |= s8[i] <= (i ? s8[i - 1] : prev);
		}
		if ((odd & 7) || order || s8[7] >= bound || s8[0] < off
		    || s8[7] - s8[0] > 63 * 8)
			break;
#pragma GCC unroll 8
		for (int i = 0; i < 8; i++)
			mask |= 1ULL << ((s8[i] - s8[0]) / 8);
		cm_sink_put(&k, (s8[0] - off) / 8, mask);
		prev = s8[7];
	}
	*sink = k;
	return done;
}

uint64_t cm_skip_scalar(const uint8_t *p, uint64_t most, uint64_t *prev,
			uint64_t target)
{
	const uint64_t low = 0x00ff00ff00ff00ffULL;
	uint64_t n = 0;

	for (; n < most; n++, p += 64) {
		/* Four 16-bit sums of byte pairs, 8 x 510 at most each. */
		uint64_t any = 0, pairs = 0, units;

		for (int i = 0; i < 8; i++) {
			uint64_t w = cm_load64(p + 8 * i);

			any |= w;
			pairs += (w & low) + (w >> 8 & low);
		}
		units = pairs * 0x0001000100010001ULL >> 48;
		if (any & 0x8080808080808080ULL || *prev + units * 8 >= target)
			break;
		*prev += units * 8;
	}
	return n;
}
