/* SPDX-License-Identifier: MIT */
/*
 * The blob checksum: XXH3-64 of the blob as it reads with base 0.
 *
 * The data must be hashed as if every pointer held value - base. Handing it
 * to libxxhash would mean copying it first, and the copy costs more than
 * the hash. So the long-input loop of XXH3 (64-byte stripes, a scramble
 * every 16 of them) runs here and takes each stripe's pointer words rebased
 * on the fly, from a bitmap of slots: one read of memory checks, hashes and
 * (when deserializing) relocates. The digest is XXH3_64bits bit for bit:
 * inputs up to 240 bytes go to libxxhash itself, the secret comes from it,
 * and the tests compare every path against it.
 */
#include <immintrin.h>
#include <pthread.h>
#include <stdlib.h>
#define XXH_STATIC_LINKING_ONLY	/* XXH3_generateSecret_fromSeed */
#include <xxhash.h>

#include "cma-private.h"

#define STRIPE 64
#define SECRET_SIZE 192
#define STRIPES_PER_BLOCK ((SECRET_SIZE - STRIPE) / 8)
#define SCRAMBLE_KEY (SECRET_SIZE - STRIPE)
#define LAST_STRIPE_KEY (SECRET_SIZE - STRIPE - 7)
#define MERGE_KEY 11
#define SHORT_MAX 240		/* XXH3's own short and mid-size paths */
/* Reads ahead of the hardware prefetcher, which stops at 4 KiB pages. */
#define PREFETCH_AHEAD 256

#define PRIME32_1 0x9E3779B1U
#define PRIME32_2 0x85EBCA77U
#define PRIME32_3 0xC2B2AE3DU
#define PRIME64_1 0x9E3779B185EBCA87ULL
#define PRIME64_2 0xC2B2AE3D27D4EB4FULL
#define PRIME64_3 0x165667B19E3779F9ULL
#define PRIME64_4 0x85EBCA77C2B2AE63ULL
#define PRIME64_5 0x27D4EB2F165667C5ULL

static _Alignas(64) uint8_t secret[SECRET_SIZE];
static pthread_once_t secret_once = PTHREAD_ONCE_INIT;
static int best_kernel;		/* enum cm_kernel */
static int forced_kernel = -1;
static bool have_vbmi2;		/* AVX-512 byte compress, for serialize */

static void init_once(void)
{
	XXH3_generateSecret_fromSeed(secret, 0);	/* the default secret */
	__builtin_cpu_init();
	best_kernel = __builtin_cpu_supports("avx512f") ? CM_KERNEL_AVX512
		      : __builtin_cpu_supports("avx2") ? CM_KERNEL_AVX2
						       : CM_KERNEL_SCALAR;
	have_vbmi2 = best_kernel == CM_KERNEL_AVX512
		     && __builtin_cpu_supports("avx512bw")
		     && __builtin_cpu_supports("avx512vbmi2");
}

bool cm_cpu_has_vbmi2(void)
{
	return cm_kernel_in_use() == CM_KERNEL_AVX512 && have_vbmi2;
}

int cm_kernel_in_use(void)
{
	pthread_once(&secret_once, init_once);
	return forced_kernel < 0 ? best_kernel : forced_kernel;
}

int cm_hash_force_kernel(int kernel)
{
	pthread_once(&secret_once, init_once);
	if (kernel > best_kernel)
		return -1;
	forced_kernel = kernel;
	return 0;
}

void cm_hash_init(struct cm_hash *s)
{
	static const uint64_t init[8] = {
		PRIME32_3, PRIME64_1, PRIME64_2, PRIME64_3,
		PRIME64_4, PRIME32_2, PRIME64_5, PRIME32_1,
	};

	pthread_once(&secret_once, init_once);
	memcpy(s->acc, init, sizeof init);
	s->total = 0;
	s->stripes = 0;
	s->pending = 0;
}

/* ---- the reference: one word at a time ---- */

/* One word as hashed (base 0), checked, and written back if asked. */
static inline uint64_t rebase_word(uint8_t *p, bool slot,
				   const struct cm_rebase *r, unsigned how,
				   bool *bad, bool *listed)
{
	uint64_t v = cm_load64(p);

	*listed = false;
	if (!slot || ((how & CM_REBASE_SKIP_NULL) && v == 0))
		return v;
	*listed = true;
	*bad |= v - r->lo > r->span;
	if (how & CM_REBASE_WRITE)
		cm_store64(p, v + r->shift);
	return v - r->base;
}

static void accumulate_scalar(uint64_t acc[8], const uint8_t *in,
			      const uint8_t *key)
{
	for (int i = 0; i < 8; i++) {
		uint64_t v = cm_load64(in + 8 * i);
		uint64_t k = v ^ cm_load64(key + 8 * i);

		acc[i ^ 1] += v;
		acc[i] += (k & 0xffffffffU) * (k >> 32);
	}
}

static void scramble_scalar(uint64_t acc[8])
{
	for (int i = 0; i < 8; i++) {
		uint64_t a = acc[i];

		a ^= a >> 47;
		a ^= cm_load64(secret + SCRAMBLE_KEY + 8 * i);
		acc[i] = a * PRIME32_1;
	}
}

/*
 * One kernel call: rebase, check and (with acc) hash n whole stripes at p.
 * With `sums`, each block's accumulation is stored there (8 words a block)
 * instead of scrambled in, acc restarting at zero: the blocks' shares, for
 * another thread to fold in. Kernels return true when a pointer failed its
 * check.
 */
struct stripes_job {
	uint64_t *acc;		/* NULL: no hash */
	unsigned *in_block;	/* stripes taken in the current block */
	uint8_t *p;
	size_t n;
	const uint8_t *slots;	/* a bit a word; NULL: no pointers */
	uint8_t *listed;	/* NULL, or gets the slots taken */
	const struct cm_rebase *r;
	uint64_t *sums;		/* NULL: scramble the blocks in */
};

/* A kernel's mix: the CM_REBASE_* bits, and these. */
#define MIX_HASH	0x100u	/* acc is set */
#define MIX_LIST	0x200u	/* listed is set */
#define MIX_SLOTS	0x400u	/* slots is set */

struct mix {
	unsigned how;		/* CM_REBASE_* */
	bool hashing, listing;
};

static inline struct mix mix_of(unsigned mix)
{
	return (struct mix){
		.how = mix & (CM_REBASE_WRITE | CM_REBASE_SKIP_NULL),
		.hashing = mix & MIX_HASH, .listing = mix & MIX_LIST,
	};
}

static bool stripes_scalar(const struct stripes_job *job, unsigned how)
{
	uint64_t *acc = job->acc, *sums = job->sums;
	unsigned *in_block = job->in_block;
	const uint8_t *slots = job->slots;
	uint8_t *p = job->p, *listed = job->listed;
	const struct cm_rebase *r = job->r;
	bool bad = false;
	size_t n = job->n;

	for (size_t i = 0; i < n; i++, p += STRIPE) {
		unsigned m = slots ? slots[i] : 0, taken = 0;
		uint8_t word[STRIPE];

		for (int j = 0; j < 8; j++) {
			bool t;

			cm_store64(word + 8 * j,
				   rebase_word(p + 8 * j, m >> j & 1, r, how,
					       &bad, &t));
			taken |= (unsigned)t << j;
		}
		if (listed)
			listed[i] = (uint8_t)taken;
		if (!acc)
			continue;
		accumulate_scalar(acc, word, secret + 8 * *in_block);
		if (++*in_block == STRIPES_PER_BLOCK) {
			if (sums) {
				memcpy(sums, acc, 64);
				memset(acc, 0, 64);
				sums += 8;
			} else {
				scramble_scalar(acc);
			}
			*in_block = 0;
		}
	}
	return bad;
}

/* ---- the same with AVX2 ---- */

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
static inline bool stripes_avx2_body(struct stripes_job *task,
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
		a0 = accumulate_half(a0, v0, secret + 8 * block);
		a1 = accumulate_half(a1, v1, secret + 8 * block + 32);
		if (++block == STRIPES_PER_BLOCK) {
			if (task->sums) {
				_mm256_storeu_si256((__m256i *)task->sums, a0);
				_mm256_storeu_si256(
					(__m256i *)(task->sums + 4), a1);
				a0 = a1 = k.zero;
				task->sums += 8;
			} else {
				a0 = scramble_half(a0, secret + SCRAMBLE_KEY);
				a1 = scramble_half(a1,
						   secret + SCRAMBLE_KEY + 32);
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

/* ---- the same with AVX-512: a stripe a register, slots a mask ---- */

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

__attribute__((target("avx512f"), always_inline))
static inline __m512i scramble_512(__m512i acc)
{
	const __m512i prime = _mm512_set1_epi32((int)PRIME32_1);
	__m512i x = _mm512_xor_si512(
		_mm512_xor_si512(acc, _mm512_srli_epi64(acc, 47)),
		_mm512_loadu_si512(secret + SCRAMBLE_KEY));
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
static inline __m512i rebase_512(struct stripes_job *task, size_t i,
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
static inline __m512i end_block_512(__m512i a, struct stripes_job *task)
{
	if (!task->sums)
		return scramble_512(a);
	_mm512_storeu_si512(task->sums, a);
	task->sums += 8;
	return _mm512_setzero_si512();
}

__attribute__((target("avx512f"), always_inline))
static inline bool stripes_avx512f_body(struct stripes_job *task,
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
					secret + 8 * j);
			a = end_block_512(a, task);
			i += STRIPES_PER_BLOCK;
			task->p += STRIPE * STRIPES_PER_BLOCK;
			continue;
		}
		__m512i v = rebase_512(task, i, 0, &k, f);
		if (f.hashing) {
			a = accumulate_512(a, v, secret + 8 * block);
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

/* Each kernel in the six mixes the callers use. */
typedef bool kernel_fn(const struct stripes_job *job);
#define VARIANT(isa, name, mix)						\
	__attribute__((target(#isa)))					\
	static bool isa##_##name(const struct stripes_job *job)	\
	{								\
		/* A copy the kernel's stores cannot alias. */		\
		struct stripes_job task = *job;				\
									\
		if (!((mix) & MIX_SLOTS))				\
			task.slots = NULL;				\
		else if (!task.slots)	/* variant() saw to it */	\
			__builtin_unreachable();			\
		return stripes_##isa##_body(&task, mix);		\
	}
#define VARIANTS(isa)							\
	VARIANT(isa, raw, MIX_HASH)					\
	VARIANT(isa, check, MIX_HASH | MIX_SLOTS)			\
	VARIANT(isa, relocate, CM_REBASE_WRITE | MIX_HASH | MIX_SLOTS)	\
	VARIANT(isa, trusted, CM_REBASE_WRITE | MIX_SLOTS)		\
	VARIANT(isa, seal, CM_REBASE_SKIP_NULL | MIX_HASH | MIX_LIST	\
			   | MIX_SLOTS)					\
	VARIANT(isa, scan, MIX_SLOTS)					\
	static kernel_fn *const isa##_kernels[6] = {			\
		isa##_raw, isa##_check, isa##_relocate, isa##_trusted,	\
		isa##_seal, isa##_scan,					\
	};
VARIANTS(avx2)
VARIANTS(avx512f)
#undef VARIANTS
#undef VARIANT

/* Which of the six, or -1 for a mix no caller asks for (sums or not is
 * a run-time test in the kernel, outside the stripe loop's hot path). */
static int variant(const uint64_t *acc, const uint8_t *slots,
		   const uint8_t *listed, unsigned how)
{
	if (how == 0 && !acc && !listed && slots)
		return 5;	/* checked, not hashed: nothing to write */
	if (how == 0 && acc && !listed)
		return slots ? 1 : 0;
	if (how == CM_REBASE_WRITE && !listed && slots)
		return acc ? 2 : 3;
	if (how == CM_REBASE_SKIP_NULL && acc && listed && slots)
		return 4;
	return -1;
}

static bool stripes(const struct stripes_job *job, unsigned how)
{
	int isa = cm_kernel_in_use();
	int v = variant(job->acc, job->slots, job->listed, how);

	if (v >= 0 && isa == CM_KERNEL_AVX512)
		return avx512f_kernels[v](job);
	if (v >= 0 && isa == CM_KERNEL_AVX2)
		return avx2_kernels[v](job);
	return stripes_scalar(job, how);
}

/* ---- streaming ---- */

static void take_stripes(struct cm_hash *s, const uint8_t *p, size_t n)
{
	static const struct cm_rebase none;

	stripes(&(struct stripes_job){ .acc = s->acc, .in_block = &s->stripes,
				       .p = (uint8_t *)p, .n = n, .r = &none },
		0);
	memcpy(s->last, p + (n - 1) * STRIPE, STRIPE);
}

/* XXH3 takes a stripe only once more input follows: the last one is hashed
 * differently, so 1 to 64 bytes are always held back in s->buf. */
void cm_hash_raw(struct cm_hash *s, const void *data, size_t n)
{
	const uint8_t *p = data;
	size_t k;

	if (n == 0)
		return;
	if (s->total < SHORT_MAX)
		memcpy(s->head + s->total, p,
		       n < SHORT_MAX - s->total ? n : SHORT_MAX - s->total);
	s->total += n;
	if (s->pending + n <= STRIPE) {
		memcpy(s->buf + s->pending, p, n);
		s->pending += (unsigned)n;
		return;
	}
	if (s->pending) {
		size_t fill = STRIPE - s->pending;

		memcpy(s->buf + s->pending, p, fill);
		take_stripes(s, s->buf, 1);
		p += fill;
		n -= fill;
	}
	k = (n - 1) / STRIPE;
	if (k)
		take_stripes(s, p, k);
	memcpy(s->buf, p + k * STRIPE, n - k * STRIPE);
	s->pending = (unsigned)(n - k * STRIPE);
}

/* The reference path for a few words: rebased into a copy, hashed raw. */
static bool rebase_copy(struct cm_hash *s, uint8_t *p, size_t n,
			const uint8_t *slots, uint8_t *listed, size_t word0,
			const struct cm_rebase *r, unsigned how)
{
	uint8_t copy[STRIPE];
	bool bad = false;

	for (size_t i = 0; i < n / 8; i++) {
		size_t w = word0 + i;
		bool t;

		cm_store64(copy + 8 * i,
			   rebase_word(p + 8 * i,
				       slots && slots[w / 8] >> w % 8 & 1,
				       r, how, &bad, &t));
		if (listed && t)
			listed[w / 8] |= (uint8_t)(1u << w % 8);
	}
	memcpy(copy + n / 8 * 8, p + n / 8 * 8, n % 8);	/* no whole word */
	if (s)
		cm_hash_raw(s, copy, n);
	return bad;
}

bool cm_hash_rebased(struct cm_hash *s, uint8_t *p, size_t n,
		     const uint8_t *slots, uint8_t *listed,
		     const struct cm_rebase *r, unsigned how)
{
	size_t done = 0, k;
	bool bad = false;
	unsigned no_block = 0;

	pthread_once(&secret_once, init_once);
	/* Word by word until the stream is stripe-aligned and past XXH3's
	 * short inputs. */
	while (s && done < n
	       && (s->total < 4 * STRIPE || s->pending % STRIPE
		   || s->pending % 8)) {
		size_t take = STRIPE - s->pending % STRIPE;

		if (take > n - done || s->pending % 8)
			take = n - done < 8 ? n - done : 8;
		bad |= rebase_copy(s, p + done, take, slots, listed, done / 8,
				   r, how);
		done += take;
	}
	if (done == n)
		return bad;
	if (s && s->pending == STRIPE) {	/* more follows: take it */
		take_stripes(s, s->buf, 1);
		s->pending = 0;
	}
	/* Whole stripes; hashing, the last one and any tail go the
	 * streaming way, which keeps what digest needs of them. */
	k = (n - done) / STRIPE;
	if (s)
		k = n - done > 2 * STRIPE ? (n - done - 1) / STRIPE - 1 : 0;
	if (k) {
		if (slots && done % STRIPE)	/* never with aligned callers */
			k = 0;
		else
			bad |= stripes(&(struct stripes_job){
				.acc = s ? s->acc : NULL,
				.in_block = s ? &s->stripes : &no_block,
				.p = p + done, .n = k,
				.slots = slots ? slots + done / STRIPE : NULL,
				.listed = listed ? listed + done / STRIPE
						 : NULL,
				.r = r }, how);
		if (s && k)
			s->total += k * STRIPE;
		done += k * STRIPE;
	}
	while (done < n) {
		size_t take = n - done < STRIPE ? n - done : STRIPE;

		bad |= rebase_copy(s, p + done, take, slots, listed, done / 8,
				   r, how);
		done += take;
	}
	return bad;
}

/* ---- folding block shares in: add, scramble, a block at a time ---- */

static void fold_scalar(uint64_t acc[8], const uint64_t *sums, size_t blocks)
{
	for (size_t b = 0; b < blocks; b++) {
		for (int i = 0; i < 8; i++)
			acc[i] += sums[8 * b + i];
		scramble_scalar(acc);
	}
}

__attribute__((target("avx2")))
static void fold_avx2(uint64_t acc[8], const uint64_t *sums, size_t blocks)
{
	__m256i a0 = _mm256_loadu_si256((const __m256i *)acc);
	__m256i a1 = _mm256_loadu_si256((const __m256i *)(acc + 4));

	for (size_t b = 0; b < blocks; b++, sums += 8) {
		a0 = scramble_half(_mm256_add_epi64(a0, _mm256_loadu_si256(
			(const __m256i *)sums)), secret + SCRAMBLE_KEY);
		a1 = scramble_half(_mm256_add_epi64(a1, _mm256_loadu_si256(
			(const __m256i *)(sums + 4))),
				   secret + SCRAMBLE_KEY + 32);
	}
	_mm256_storeu_si256((__m256i *)acc, a0);
	_mm256_storeu_si256((__m256i *)(acc + 4), a1);
}

__attribute__((target("avx512f")))
static void fold_avx512(uint64_t acc[8], const uint64_t *sums, size_t blocks)
{
	__m512i a = _mm512_loadu_si512(acc);

	for (size_t b = 0; b < blocks; b++, sums += 8)
		a = scramble_512(_mm512_add_epi64(a, _mm512_loadu_si512(sums)));
	_mm512_storeu_si512(acc, a);
}

static void fold(uint64_t acc[8], const uint64_t *sums, size_t blocks)
{
	int isa = cm_kernel_in_use();

	(isa == CM_KERNEL_AVX512 ? fold_avx512
	 : isa == CM_KERNEL_AVX2 ? fold_avx2 : fold_scalar)(acc, sums, blocks);
}

bool cm_hash_block_sums(uint8_t *p, size_t blocks, const uint8_t *slots,
			const struct cm_rebase *r, unsigned how, uint64_t *sums,
			uint8_t *last)
{
	const size_t n = blocks * STRIPES_PER_BLOCK;
	uint64_t acc[8] = { 0 };
	unsigned in_block = 0;
	bool bad;

	pthread_once(&secret_once, init_once);
	bad = stripes(&(struct stripes_job){ .acc = acc, .in_block = &in_block,
					     .p = p, .n = n, .slots = slots,
					     .r = r, .sums = sums }, how);
	/* The final stripe as it was hashed: written slots shifted back. */
	for (int j = 0; last && n && j < 8; j++) {
		uint64_t v = cm_load64(p + (n - 1) * STRIPE + 8 * j);

		if (slots && slots[n - 1] >> j & 1
		    && !((how & CM_REBASE_SKIP_NULL) && v == 0))
			v -= (how & CM_REBASE_WRITE ? r->shift : 0) + r->base;
		cm_store64(last + 8 * j, v);
	}
	return bad;
}

bool cm_hash_take_blocks(struct cm_hash *s, const uint64_t *sums,
			 size_t blocks, const uint8_t *last)
{
	const size_t block = STRIPE * STRIPES_PER_BLOCK;

	if (!blocks)
		return true;
	if (s->total % block == 0 && s->pending == STRIPE) {
		take_stripes(s, s->buf, 1);	/* more follows: it is due */
		s->pending = 0;
	}
	/* (Past any block, the input is no short one: head is unused.) */
	if (s->pending || s->stripes || s->total % block)
		return false;
	fold(s->acc, sums, blocks);
	s->total += blocks * block;
	memcpy(s->last, last, STRIPE);
	return true;
}

void cm_hash_header(struct cm_hash *s, const uint8_t *header, uint64_t size)
{
	uint8_t copy[CM_HEADER_SIZE];

	memcpy(copy, header, CM_HEADER_SIZE);
	cm_store64(copy + CM_H_BASE, 0);
	cm_store64(copy + CM_H_CHECKSUM, 0);
	cm_hash_raw(s, copy, CM_HEADER_SIZE);
	if (size > CM_HEADER_SIZE)
		cm_hash_raw(s, header + CM_HEADER_SIZE, size - CM_HEADER_SIZE);
}

/* Smaller tables are simply hashed again at the end. */
#define SHARES_MIN_TABLE (256 * 1024)

void cm_table_shares_start(struct cm_table_shares *t,
			   const struct cm_header *h)
{
	const uint64_t block = STRIPE * STRIPES_PER_BLOCK;
	uint64_t end = h->table_offset + h->table_size;
	uint64_t into = h->table_offset - h->header_size;

	*t = (struct cm_table_shares){ 0 };
	if (h->table_size < SHARES_MIN_TABLE)
		return;
	t->at = h->table_offset + (block - into % block) % block;
	if (t->at >= end)
		return;
	t->blocks = (end - t->at) / block;
	t->sums = malloc(t->blocks * 64);
}

void cm_table_shares_add(struct cm_table_shares *t, const uint8_t *blob,
			 uint64_t from, uint64_t to, uint64_t *first,
			 uint64_t *end)
{
	static const struct cm_rebase as_is;
	const uint64_t block = STRIPE * STRIPES_PER_BLOCK;

	*first = *end = 0;
	if (!t->sums || to <= t->at)
		return;
	*first = from <= t->at ? 0 : (from - t->at + block - 1) / block;
	*end = (to - t->at) / block;
	if (*end > t->blocks)
		*end = t->blocks;
	if (*first >= *end) {
		*first = *end = 0;
		return;
	}
	cm_hash_block_sums((uint8_t *)blob + t->at + *first * block,
			   *end - *first, NULL, &as_is, 0, t->sums + 8 * *first,
			   NULL);
}

void cm_table_shares_upto(struct cm_table_shares *t, const uint8_t *blob,
			  uint64_t pos)
{
	const uint64_t block = STRIPE * STRIPES_PER_BLOCK;
	uint64_t first, end;

	if (!t->sums || pos < t->at + (t->done + 1) * block)
		return;
	cm_table_shares_add(t, blob, t->at + t->done * block, pos, &first,
			    &end);
	if (first == t->done && end > first)
		t->done = end;
}

uint64_t cm_hash_blob_end(struct cm_hash *s, const uint8_t *blob,
			  const struct cm_header *h,
			  const struct cm_table_shares *t)
{
	uint64_t from = h->table_offset;

	if (t && t->sums && t->blocks && t->done == t->blocks) {
		uint64_t end = t->at + t->blocks * STRIPE * STRIPES_PER_BLOCK;

		cm_hash_raw(s, blob + from, t->at - from);
		from = cm_hash_take_blocks(s, t->sums, t->blocks,
					   blob + end - STRIPE) ? end : t->at;
	}
	cm_hash_raw(s, blob + from, h->blob_size - from);
	cm_hash_header(s, blob, h->header_size);
	return cm_hash_digest(s);
}

static uint64_t mul128_fold64(uint64_t a, uint64_t b)
{
	unsigned __int128 x = (unsigned __int128)a * b;

	return (uint64_t)x ^ (uint64_t)(x >> 64);
}

uint64_t cm_hash_digest(const struct cm_hash *s)
{
	uint64_t acc[8], h;
	uint8_t last[STRIPE];

	if (s->total <= SHORT_MAX)
		return XXH3_64bits(s->head, s->total);
	memcpy(acc, s->acc, sizeof acc);
	/* The input's last 64 bytes: the end of the stripe taken last, then
	 * what is held back. */
	memcpy(last, s->last + s->pending, STRIPE - s->pending);
	memcpy(last + STRIPE - s->pending, s->buf, s->pending);
	accumulate_scalar(acc, last, secret + LAST_STRIPE_KEY);
	h = s->total * PRIME64_1;
	for (int i = 0; i < 4; i++)
		h += mul128_fold64(
			acc[2 * i] ^ cm_load64(secret + MERGE_KEY + 16 * i),
			acc[2 * i + 1]
				^ cm_load64(secret + MERGE_KEY + 16 * i + 8));
	h ^= h >> 37;
	h *= 0x165667919E3779F9ULL;
	return h ^ (h >> 32);
}
