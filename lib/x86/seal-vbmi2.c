/* SPDX-License-Identifier: MIT */
/* Sealing with AVX-512 VBMI2: a bitmap word's slots by byte compress. */
#include <immintrin.h>

#include "../format.h"
#include "../cpu.h"

/* Bit positions 0-63 as bytes: compressed by a bitmap word, the positions
 * of its set bits in order. */
static const uint8_t bit_positions[64] = {
	0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19,
	20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31, 32, 33, 34, 35, 36, 37,
	38, 39, 40, 41, 42, 43, 44, 45, 46, 47, 48, 49, 50, 51, 52, 53, 54, 55,
	56, 57, 58, 59, 60, 61, 62, 63,
};

#define VBMI2 "avx512f,avx512bw,avx512vbmi2"

/* The first entry the scalar way; the gaps inside the word (1 to 63 words,
 * one byte each) as differences of the set bits' compressed positions. */
__attribute__((target(VBMI2)))
void cm_emit_relative_vbmi2(uint8_t *base, uint64_t *pos, uint64_t *prev,
			    uint64_t first, uint64_t bits)
{
	const __m512i at = _mm512_loadu_si512(bit_positions);
	uint64_t high = 63 - (uint64_t)__builtin_clzll(bits);
	uint64_t rest = bits & (bits - 1);

	*pos += cm_table_encode(CM_RELATIVE_OFFSET, first + (uint64_t)
				__builtin_ctzll(bits) * 8, *prev, base + *pos);
	if (rest) {
		__m512i next = _mm512_maskz_compress_epi8(rest, at);
		__m512i before = _mm512_maskz_compress_epi8(
			bits & ~(1ULL << high), at);
		uint64_t n = (uint64_t)__builtin_popcountll(rest);

		_mm512_mask_storeu_epi8(base + *pos, ~0ULL >> (64 - n),
					_mm512_sub_epi8(next, before));
		*pos += n;
	}
	*prev = first + high * 8;
}

/* Eight slot offsets at a time from the compressed positions. */
__attribute__((target(VBMI2)))
void cm_emit_absolute_vbmi2(uint8_t *base, uint64_t *pos, uint64_t *prev,
			    uint64_t first, uint64_t bits)
{
	_Alignas(64) uint8_t at[64];
	const __m512i from = _mm512_set1_epi64((long long)first);
	uint64_t n = (uint64_t)__builtin_popcountll(bits);

	_mm512_store_si512(at, _mm512_maskz_compress_epi8(
				       bits,
				       _mm512_loadu_si512(bit_positions)));
	for (uint64_t k = 0; k < n; k += 8) {
		uint64_t left = n - k < 8 ? n - k : 8;
		__m512i slot = _mm512_add_epi64(from, _mm512_slli_epi64(
			_mm512_cvtepu8_epi64(_mm_loadl_epi64(
				(const __m128i *)(at + k))), 3));

		_mm512_mask_storeu_epi64(base + *pos + 8 * k,
					 (__mmask8)(0xff >> (8 - left)), slot);
	}
	*pos += 8 * n;
	*prev = first + (63 - (uint64_t)__builtin_clzll(bits)) * 8;
}
