/* SPDX-License-Identifier: MIT */
/* Relative table decoding with SSE2: 64 one-byte deltas in four loads. */
#include <emmintrin.h>

#include "../format.h"
#include "../cpu.h"

uint64_t cm_repeats_sse2(const uint8_t *p, uint64_t x, uint64_t most)
{
	const __m128i want = _mm_set1_epi64x((long long)x);
	uint64_t n = 0;

	for (; n < most; n++, p += 64) {
		__m128i same = _mm_set1_epi8(-1);

		for (int i = 0; i < 4; i++)
			same = _mm_and_si128(same, _mm_cmpeq_epi8(want,
				_mm_loadu_si128((const __m128i *)p + i)));
		if (_mm_movemask_epi8(same) != 0xffff)
			break;
	}
	return n;
}

uint64_t cm_skip_sse2(const uint8_t *p, uint64_t most, uint64_t *prev,
		      uint64_t target)
{
	uint64_t n = 0;

	for (; n < most; n++, p += 64) {
		__m128i sum = _mm_setzero_si128(), high = sum;
		uint64_t units;

		for (int i = 0; i < 4; i++) {
			__m128i x = _mm_loadu_si128((const __m128i *)p + i);

			high = _mm_or_si128(high, x);
			sum = _mm_add_epi64(sum, _mm_sad_epu8(
					x, _mm_setzero_si128()));
		}
		units = (uint64_t)_mm_cvtsi128_si64(sum)
			+ (uint64_t)_mm_cvtsi128_si64(
				_mm_unpackhi_epi64(sum, sum));
		if (_mm_movemask_epi8(high) || *prev + units * 8 >= target)
			break;
		*prev += units * 8;
	}
	return n;
}
