/* SPDX-License-Identifier: MIT */
/* The checksum's stripes and fold with AVX-512: a stripe a register. */
#include <immintrin.h>

#include "accumulate-avx512.h"

__attribute__((target("avx512f"), always_inline))
static inline __m512i scramble_512(__m512i acc)
{
	const __m512i prime = _mm512_set1_epi32((int)PRIME32_1);
	__m512i x = _mm512_xor_si512(
		_mm512_xor_si512(acc, _mm512_srli_epi64(acc, 47)),
		_mm512_loadu_si512(cm_hash_secret + SCRAMBLE_KEY));
	__m512i lo32 = _mm512_mul_epu32(x, prime);
	__m512i hi32 = _mm512_mul_epu32(_mm512_srli_epi64(x, 32), prime);

	return _mm512_add_epi64(lo32, _mm512_slli_epi64(hi32, 32));
}

struct consts_512 {
	__m512i base, lo, shift;
	__m512i top;		/* the highest value - lo of a slot so far */
};

/* Stripe i (at task->p + at) checked, its slots written, and rebased for
 * the hash. */
__attribute__((target("avx512f"), always_inline))
static inline __m512i rebase_512(struct cm_stripes_job *task, size_t i,
				 size_t at, struct consts_512 *k,
				 const struct mix f)
{
	__mmask8 m = task->slots ? task->slots[i] : 0;
	uint8_t *p = task->p + at;
	__m512i v;

	__builtin_prefetch(p + PREFETCH_AHEAD);
	v = _mm512_loadu_si512(p);
	if (f.how & CM_REBASE_SKIP_NULL)
		m = _mm512_mask_test_epi64_mask(m, v, v);
	k->top = _mm512_mask_max_epu64(k->top, m, k->top,
				       _mm512_sub_epi64(v, k->lo));
	if ((f.how & CM_REBASE_WRITE) && m)
		_mm512_storeu_si512(p, _mm512_mask_add_epi64(v, m, v,
							     k->shift));
	if (f.listing)
		task->listed[i] = m;
	return _mm512_mask_sub_epi64(v, m, v, k->base);
}

/* A block's end: its share out to task->sums, or scrambled in. */
__attribute__((target("avx512f"), always_inline))
static inline __m512i end_block_512(__m512i a, struct cm_stripes_job *task)
{
	if (!task->sums)
		return scramble_512(a);
	_mm512_storeu_si512(task->sums, a);
	task->sums += 8;
	return _mm512_setzero_si512();
}

__attribute__((target("avx512f"), always_inline))
static inline bool stripes_avx512_body(struct cm_stripes_job *task,
					const unsigned mix)
{
	const struct mix f = mix_of(mix);
	struct consts_512 k = {
		.base = _mm512_set1_epi64((long long)task->r->base),
		.lo = _mm512_set1_epi64((long long)task->r->lo),
		.shift = _mm512_set1_epi64((long long)task->r->shift),
		.top = _mm512_setzero_si512(),
	};
	__m512i a = _mm512_setzero_si512();
	unsigned block = *task->in_block;
	size_t i = 0;

	if (f.hashing)
		a = _mm512_loadu_si512(task->acc);
	while (i < task->n) {
		if (f.hashing && block == 0
		    && task->n - i >= STRIPES_PER_BLOCK) {
			/* A whole block: the keys are constants. */
#pragma GCC unroll 16
			for (int j = 0; j < STRIPES_PER_BLOCK; j++)
				a = accumulate_512(a, rebase_512(
					task, i + j, STRIPE * j, &k, f),
					cm_hash_secret + 8 * j);
			a = end_block_512(a, task);
			i += STRIPES_PER_BLOCK;
			task->p += STRIPE * STRIPES_PER_BLOCK;
			continue;
		}
		__m512i v = rebase_512(task, i, 0, &k, f);
		if (f.hashing) {
			a = accumulate_512(a, v, cm_hash_secret + 8 * block);
			if (++block == STRIPES_PER_BLOCK) {
				a = end_block_512(a, task);
				block = 0;
			}
		}
		i++;
		task->p += STRIPE;
	}
	if (f.hashing)
		_mm512_storeu_si512(task->acc, a);
	*task->in_block = block;
	return _mm512_cmpgt_epu64_mask(
		k.top, _mm512_set1_epi64((long long)task->r->span));
}


CM_STRIPES_VARIANTS(avx512, __attribute__((target("avx512f"))))

/* ---- folding block shares in ---- */

__attribute__((target("avx512f")))
void cm_fold_avx512(uint64_t acc[8], const uint64_t *sums, size_t blocks)
{
	__m512i a = _mm512_loadu_si512(acc);

	for (size_t b = 0; b < blocks; b++, sums += 8)
		a = scramble_512(_mm512_add_epi64(a, _mm512_loadu_si512(sums)));
	_mm512_storeu_si512(acc, a);
}
