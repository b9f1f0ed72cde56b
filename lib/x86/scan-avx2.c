/* SPDX-License-Identifier: MIT */
/* The pointer scan's kernels with AVX2: a count of the words in range, and
 * the search for those that are no slot, 64 words at a time. */
#include <immintrin.h>

#include "../cpu.h"

#define GROUP_BYTES 512	/* 64 words: one word of the slot bitmap */

/*
 * AVX2 has no unsigned 64-bit compare: v - lo <= span, unsigned, is
 * (v - lo) ^ 2^63 <= span ^ 2^63, signed, and the first side is
 * v - (lo ^ 2^63).
 */
#define SIGN_BIT (1ULL << 63)

__attribute__((target("avx2")))
uint64_t cm_scan_count_avx2(const uint8_t *p, size_t words, uint64_t lo,
			    uint64_t span)
{
	const __m256i bias = _mm256_set1_epi64x((long long)(lo ^ SIGN_BIT));
	const __m256i top = _mm256_set1_epi64x((long long)(span ^ SIGN_BIT));
	__m256i out0 = _mm256_setzero_si256(), out1 = out0;
	uint64_t lanes[4], out;
	size_t i;

	/* Two sums, so no add waits on the one before. */
	for (i = 0; i + 8 <= words; i += 8) {
		__m256i a = _mm256_loadu_si256((const __m256i *)(p + 8 * i));
		__m256i b = _mm256_loadu_si256(
			(const __m256i *)(p + 8 * i + 32));

		out0 = _mm256_sub_epi64(out0, _mm256_cmpgt_epi64(
			_mm256_sub_epi64(a, bias), top));
		out1 = _mm256_sub_epi64(out1, _mm256_cmpgt_epi64(
			_mm256_sub_epi64(b, bias), top));
	}
	_mm256_storeu_si256((__m256i *)lanes, _mm256_add_epi64(out0, out1));
	out = lanes[0] + lanes[1] + lanes[2] + lanes[3];
	return i - out + cm_scan_count_scalar(p + 8 * i, words - i, lo, span);
}

__attribute__((target("avx2")))
size_t cm_scan_find_avx2(const uint8_t *p, size_t groups,
			 const uint64_t *bits, uint64_t lo, uint64_t span,
			 uint64_t *hits)
{
	const __m256i bias = _mm256_set1_epi64x((long long)(lo ^ SIGN_BIT));
	const __m256i top = _mm256_set1_epi64x((long long)(span ^ SIGN_BIT));

	for (size_t g = 0; g < groups; g++) {
		const uint8_t *q = p + g * GROUP_BYTES;
		uint64_t out = 0;

#pragma GCC unroll 16
		for (int i = 0; i < 16; i++) {
			__m256i v = _mm256_loadu_si256(
				(const __m256i *)(q + 32 * i));
			__m256i o = _mm256_cmpgt_epi64(
				_mm256_sub_epi64(v, bias), top);

			out |= (uint64_t)_mm256_movemask_pd(
				       _mm256_castsi256_pd(o)) << (4 * i);
		}
		if (~out & ~bits[g]) {
			*hits = ~out & ~bits[g];
			return g;
		}
	}
	return groups;
}
