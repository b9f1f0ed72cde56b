/* SPDX-License-Identifier: MIT */
/* The pointer scan's kernels with AVX-512: a count of the words in range, and
 * the search for those that are no slot, 64 words at a time. */
#include <immintrin.h>

#include "../cpu.h"

#define GROUP_BYTES 512	/* 64 words: one word of the slot bitmap */

__attribute__((target("avx512f")))
uint64_t cm_scan_count_avx512(const uint8_t *p, size_t words, uint64_t lo,
			      uint64_t span)
{
	const __m512i low = _mm512_set1_epi64((long long)lo);
	const __m512i top = _mm512_set1_epi64((long long)span);
	const __m512i one = _mm512_set1_epi64(1);
	__m512i in0 = _mm512_setzero_si512(), in1 = in0;
	size_t i;

	for (i = 0; i + 16 <= words; i += 16) {
		__m512i a = _mm512_loadu_si512(p + 8 * i);
		__m512i b = _mm512_loadu_si512(p + 8 * i + 64);

		in0 = _mm512_mask_add_epi64(in0, _mm512_cmple_epu64_mask(
			_mm512_sub_epi64(a, low), top), in0, one);
		in1 = _mm512_mask_add_epi64(in1, _mm512_cmple_epu64_mask(
			_mm512_sub_epi64(b, low), top), in1, one);
	}
	return (uint64_t)_mm512_reduce_add_epi64(_mm512_add_epi64(in0, in1))
	       + cm_scan_count_scalar(p + 8 * i, words - i, lo, span);
}

__attribute__((target("avx512f")))
size_t cm_scan_find_avx512(const uint8_t *p, size_t groups,
			   const uint64_t *bits, uint64_t lo, uint64_t span,
			   uint64_t *hits)
{
	const __m512i low = _mm512_set1_epi64((long long)lo);
	const __m512i top = _mm512_set1_epi64((long long)span);

	for (size_t g = 0; g < groups; g++) {
		const uint8_t *q = p + g * GROUP_BYTES;
		uint64_t in = 0;

#pragma GCC unroll 8
		for (int i = 0; i < 8; i++)
			in |= (uint64_t)_mm512_cmple_epu64_mask(
				      _mm512_sub_epi64(_mm512_loadu_si512(
						  q + 64 * i), low), top)
			      << (8 * i);
		if (in & ~bits[g]) {
			*hits = in & ~bits[g];
			return g;
		}
	}
	return groups;
}
