/* SPDX-License-Identifier: MIT */
/* Unsigned LEB128: 7 bits a byte, low group first, bit 7 means more. */
#include "cma-private.h"

unsigned cm_vlq_encode(uint64_t v, uint8_t *out)
{
	unsigned n = 0;

	while (v >= 0x80) {
		out[n++] = (uint8_t)(v | 0x80);
		v >>= 7;
	}
	out[n++] = (uint8_t)v;
	return n;
}

unsigned cm_vlq_decode(const uint8_t *p, const uint8_t *end,
		       unsigned max_bytes, uint64_t *v, int *why)
{
	uint64_t value = 0;
	unsigned n;

	for (n = 0; n < max_bytes; n++) {
		uint8_t b;

		if (p + n >= end) {
			*why = 0;
			return 0;
		}
		b = p[n];
		if (n == 9 && b > 1) {	/* past 64 bits */
			*why = 2;
			return 0;
		}
		value |= (uint64_t)(b & 0x7f) << (7 * n);
		if (!(b & 0x80)) {
			/* A last byte of 0 after others adds nothing. */
			if (b == 0 && n > 0) {
				*why = 1;
				return 0;
			}
			*v = value;
			return n + 1;
		}
	}
	*why = 2;
	return 0;
}
