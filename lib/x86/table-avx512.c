/* SPDX-License-Identifier: MIT */
/* Absolute table decoding with AVX-512: eight entries a vector. */
#include <immintrin.h>

#include "../format.h"
#include "../cpu.h"
#include "accumulate-avx512.h"

/* The table blocks read whole (below pos) hashed into their shares while
 * they are in L1, instead of read again after the chunk. */
__attribute__((target("avx512f"), always_inline))
static inline void share_blocks(const uint8_t *t, uint64_t pos,
				uint64_t *at, uint64_t end, uint64_t *block,
				uint64_t *sums)
{
	while (*at + CM_HASH_BLOCK <= pos && *at < end) {
		_mm512_storeu_si512(sums + 8 * *block,
				    block_share_512(t + *at));
		*at += CM_HASH_BLOCK;
		++*block;
	}
}

/*
 * Absolute entries eight at a time with AVX-512: aligned, ascending, from
 * `off` on and below `bound`, or it stops. Sixteen slots within 64 words
 * of the first (dense data) go as one mask, OR-ed across two vectors;
 * others eight or one at a time. The table's blocks are hashed as they
 * are passed. @return the entries taken.
 */
__attribute__((target("avx512f")))
uint64_t cm_absolute_avx512(const uint8_t *t, uint64_t pos, uint64_t prev,
			    uint64_t todo, uint64_t off, uint64_t bound,
			    struct cm_bit_sink *sink,
			    struct cm_table_shares *shares)
{
	const bool hashing = shares && shares->sums;
	uint64_t block = hashing ? shares->done : 0;
	uint64_t hashed = hashing ? shares->at + block * CM_HASH_BLOCK : 0;
	const uint64_t end = hashing ? shares->at + shares->blocks
				       * CM_HASH_BLOCK : 0;
	const __m512i seven = _mm512_set1_epi64(7), one = _mm512_set1_epi64(1);
	const __m512i top = _mm512_set1_epi64((long long)bound);
	const __m512i from = _mm512_set1_epi64((long long)off);
	const __m512i words = _mm512_set1_epi64(64);
	__m512i before = _mm512_set1_epi64((long long)prev);
	struct cm_bit_sink k = *sink;	/* in registers, not via a pointer */
	uint64_t done = 0;

	while (done + 8 <= todo) {
		bool two = done + 16 <= todo;
		__m512i v = _mm512_loadu_si512(t + pos);
		__m512i u = two ? _mm512_loadu_si512(t + pos + 64) : v;
		__m512i first = _mm512_broadcastq_epi64(
			_mm512_castsi512_si128(v));
		__m512i wv = _mm512_srli_epi64(_mm512_sub_epi64(v, first), 3);
		__m512i wu = _mm512_srli_epi64(_mm512_sub_epi64(u, first), 3);
		uint64_t at = (uint64_t)_mm_cvtsi128_si64(
			_mm512_castsi512_si128(v));

		if (_mm512_test_epi64_mask(v, seven)
		    | _mm512_cmple_epu64_mask(v, _mm512_alignr_epi64(
						     v, before, 7))
		    | _mm512_cmpge_epu64_mask(v, top) || at < off)
			break;
		if (two && !(_mm512_test_epi64_mask(u, seven)
			     | _mm512_cmple_epu64_mask(u, _mm512_alignr_epi64(
							       u, v, 7))
			     | _mm512_cmpge_epu64_mask(u, top)
			     | _mm512_cmpge_epu64_mask(wu, words))) {
			cm_sink_put(&k, (at - off) / 8,
				 (uint64_t)_mm512_reduce_or_epi64(
					 _mm512_or_si512(
						 _mm512_sllv_epi64(one, wv),
						 _mm512_sllv_epi64(one, wu))));
			before = u;
			done += 16;
			pos += 128;
			if (hashing)
				share_blocks(t, pos, &hashed, end, &block,
					     shares->sums);
			continue;
		}
		if (!_mm512_cmpge_epu64_mask(wv, words)) {
			cm_sink_put(&k, (at - off) / 8,
				 (uint64_t)_mm512_reduce_or_epi64(
					 _mm512_sllv_epi64(one, wv)));
		} else {	/* sparse: a slot at a time */
			_Alignas(64) uint64_t slot[8];

			_mm512_store_si512(slot, _mm512_srli_epi64(
				_mm512_sub_epi64(v, from), 3));
			for (int i = 0; i < 8; i++)
				cm_sink_put(&k, slot[i], 1);
		}
		before = v;
		done += 8;
		pos += 64;
		if (hashing)
			share_blocks(t, pos, &hashed, end, &block,
				     shares->sums);
	}
	if (hashing)
		shares->done = block;
	*sink = k;
	return done;
}
