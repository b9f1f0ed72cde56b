/* SPDX-License-Identifier: MIT */
/* The pointer scan's portable kernels (cpu.h), every CPU level's fallback;
 * x86/scan-*.c hold the others. */
#include "cpu.h"
#include "scan.h"

#define GROUP_WORDS CM_SCAN_GROUP_WORDS
#define GROUP_BYTES (GROUP_WORDS * 8)

uint64_t cm_scan_count_scalar(const uint8_t *p, size_t words, uint64_t lo,
			      uint64_t span)
{
	uint64_t n = 0;

	for (size_t i = 0; i < words; i++)
		n += cm_load64(p + 8 * i) - lo <= span;
	return n;
}

size_t cm_scan_find_scalar(const uint8_t *p, size_t groups,
			   const uint64_t *bits, uint64_t lo, uint64_t span,
			   uint64_t *hits)
{
	for (size_t g = 0; g < groups; g++) {
		uint64_t h = cm_scan_in_range(p + g * GROUP_BYTES, GROUP_WORDS,
					   lo, span) & ~bits[g];

		if (h) {
			*hits = h;
			return g;
		}
	}
	return groups;
}
