/* SPDX-License-Identifier: MIT */
/* XXH3's stripe step with AVX-512, for the hash and the table's decoder. */
#ifndef CMA_ACCUMULATE_AVX512_H
#define CMA_ACCUMULATE_AVX512_H

#include <immintrin.h>

#include "../hash-kernels.h"

__attribute__((target("avx512f"), always_inline))
static inline __m512i accumulate_512(__m512i acc, __m512i v,
				     const uint8_t *key)
{
	__m512i dk = _mm512_xor_si512(v, _mm512_loadu_si512(key));
	__m512i prod = _mm512_mul_epu32(dk, _mm512_srli_epi64(dk, 32));
	__m512i swap = _mm512_shuffle_epi32(
		v, (_MM_PERM_ENUM)_MM_SHUFFLE(1, 0, 3, 2));

	return _mm512_add_epi64(_mm512_add_epi64(acc, swap), prod);
}

/* A whole block's share: its 16 stripes at p, from zero. */
__attribute__((target("avx512f"), always_inline))
static inline __m512i block_share_512(const uint8_t *p)
{
	__m512i a = _mm512_setzero_si512();

#pragma GCC unroll 16
	for (int j = 0; j < STRIPES_PER_BLOCK; j++)
		a = accumulate_512(a, _mm512_loadu_si512(p + STRIPE * j),
				   cm_hash_secret + 8 * j);
	return a;
}

#endif /* CMA_ACCUMULATE_AVX512_H */
