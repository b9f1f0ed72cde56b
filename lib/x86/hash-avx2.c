/* SPDX-License-Identifier: MIT */
/* The checksum's stripes and fold with AVX2: two halves a stripe. */
#include <immintrin.h>

#include "../hash-kernels.h"


/* Lane j all ones when bit j of the index is set. */
static const _Alignas(32) uint64_t lane_masks[16][4] = {
#define L(b) ((b) ? ~0ULL : 0)
#define M(i) { L((i) & 1), L((i) & 2), L((i) & 4), L((i) & 8) }
	M(0), M(1), M(2), M(3), M(4), M(5), M(6), M(7),
	M(8), M(9), M(10), M(11), M(12), M(13), M(14), M(15),
#undef M
#undef L
};

struct avx2_consts {
	__m256i sign, base, lo, span, shift, zero;
};

/* Half a stripe's pointer words: checked, written, rebased for the hash. */
__attribute__((target("avx2"), always_inline))
static inline __m256i rebase_half(__m256i v, unsigned m4, uint8_t *out,
				  const struct avx2_consts *k, unsigned how,
				  __m256i *bad, unsigned *taken)
{
	__m256i mk = _mm256_load_si256((const __m256i *)lane_masks[m4]);
	__m256i off;

	if (how & CM_REBASE_SKIP_NULL)
		mk = _mm256_andnot_si256(_mm256_cmpeq_epi64(v, k->zero), mk);
	*taken = (unsigned)_mm256_movemask_pd(_mm256_castsi256_pd(mk));
	off = _mm256_xor_si256(_mm256_sub_epi64(v, k->lo), k->sign);
	*bad = _mm256_or_si256(*bad, _mm256_and_si256(
		_mm256_cmpgt_epi64(off, k->span), mk));
	if (how & CM_REBASE_WRITE)
		_mm256_storeu_si256((__m256i *)out, _mm256_add_epi64(v,
				    _mm256_and_si256(k->shift, mk)));
	return _mm256_sub_epi64(v, _mm256_and_si256(k->base, mk));
}

/* XXH3's accumulate, half a stripe. */
__attribute__((target("avx2"), always_inline))
static inline __m256i accumulate_half(__m256i acc, __m256i v,
				      const uint8_t *key)
{
	__m256i dk = _mm256_xor_si256(v, _mm256_loadu_si256(
					      (const __m256i *)key));
	__m256i prod = _mm256_mul_epu32(dk, _mm256_srli_epi64(dk, 32));
	__m256i swap = _mm256_shuffle_epi32(v, _MM_SHUFFLE(1, 0, 3, 2));

	return _mm256_add_epi64(_mm256_add_epi64(acc, swap), prod);
}

/* XXH3's scramble, half the accumulators. */
__attribute__((target("avx2"), always_inline))
static inline __m256i scramble_half(__m256i acc, const uint8_t *key)
{
	const __m256i prime = _mm256_set1_epi32((int)PRIME32_1);
	__m256i x = _mm256_xor_si256(
		_mm256_xor_si256(acc, _mm256_srli_epi64(acc, 47)),
		_mm256_loadu_si256((const __m256i *)key));
	__m256i lo32 = _mm256_mul_epu32(x, prime);
	__m256i hi32 = _mm256_mul_epu32(_mm256_srli_epi64(x, 32), prime);

	return _mm256_add_epi64(lo32, _mm256_slli_epi64(hi32, 32));
}

/* The kernel, specialised by the callers below for each constant mix. */
__attribute__((target("avx2"), always_inline))
static inline bool stripes_avx2_body(struct cm_stripes_job *task,
				     const unsigned mix)
{
	const struct mix f = mix_of(mix);
	const struct avx2_consts k = {
		.sign = _mm256_set1_epi64x((long long)(1ULL << 63)),
		.base = _mm256_set1_epi64x((long long)task->r->base),
		.lo = _mm256_set1_epi64x((long long)task->r->lo),
		.span = _mm256_set1_epi64x(
			(long long)(task->r->span ^ (1ULL << 63))),
		.shift = _mm256_set1_epi64x((long long)task->r->shift),
		.zero = _mm256_setzero_si256(),
	};
	const uint8_t *const scramble_key = cm_hash_secret + SCRAMBLE_KEY;
	__m256i a0 = k.zero, a1 = k.zero, bad = k.zero;
	unsigned block = *task->in_block;

	if (f.hashing) {
		a0 = _mm256_loadu_si256((const __m256i *)task->acc);
		a1 = _mm256_loadu_si256((const __m256i *)(task->acc + 4));
	}
	for (size_t i = 0; i < task->n; i++, task->p += STRIPE) {
		unsigned m = task->slots ? task->slots[i] : 0;
		__m256i v0, v1;

		__builtin_prefetch(task->p + PREFETCH_AHEAD);
		v0 = _mm256_loadu_si256((const __m256i *)task->p);
		v1 = _mm256_loadu_si256((const __m256i *)(task->p + 32));
		if (m) {
			unsigned t0, t1;

			v0 = rebase_half(v0, m & 15, task->p, &k, f.how,
					 &bad, &t0);
			v1 = rebase_half(v1, m >> 4, task->p + 32, &k,
					 f.how, &bad, &t1);
			m = t0 | t1 << 4;
		}
		if (f.listing)
			task->listed[i] = (uint8_t)m;
		if (!f.hashing)
			continue;
		a0 = accumulate_half(a0, v0, cm_hash_secret + 8 * block);
		a1 = accumulate_half(a1, v1, cm_hash_secret + 8 * block + 32);
		if (++block == STRIPES_PER_BLOCK) {
			if (task->sums) {
				_mm256_storeu_si256((__m256i *)task->sums, a0);
				_mm256_storeu_si256(
					(__m256i *)(task->sums + 4), a1);
				a0 = a1 = k.zero;
				task->sums += 8;
			} else {
				a0 = scramble_half(a0, scramble_key);
				a1 = scramble_half(a1, scramble_key + 32);
			}
			block = 0;
		}
	}
	if (f.hashing) {
		_mm256_storeu_si256((__m256i *)task->acc, a0);
		_mm256_storeu_si256((__m256i *)(task->acc + 4), a1);
	}
	*task->in_block = block;
	return !_mm256_testz_si256(bad, bad);
}


CM_STRIPES_VARIANTS(avx2, __attribute__((target("avx2"))))

/* ---- folding block shares in ---- */

__attribute__((target("avx2")))
void cm_fold_avx2(uint64_t acc[8], const uint64_t *sums, size_t blocks)
{
	__m256i a0 = _mm256_loadu_si256((const __m256i *)acc);
	__m256i a1 = _mm256_loadu_si256((const __m256i *)(acc + 4));

	for (size_t b = 0; b < blocks; b++, sums += 8) {
		a0 = scramble_half(_mm256_add_epi64(a0, _mm256_loadu_si256(
			(const __m256i *)sums)), cm_hash_secret + SCRAMBLE_KEY);
		a1 = scramble_half(_mm256_add_epi64(a1, _mm256_loadu_si256(
			(const __m256i *)(sums + 4))),
				   cm_hash_secret + SCRAMBLE_KEY + 32);
	}
	_mm256_storeu_si256((__m256i *)acc, a0);
	_mm256_storeu_si256((__m256i *)(acc + 4), a1);
}

