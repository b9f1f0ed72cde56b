/* SPDX-License-Identifier: MIT */
/* What the checksum shares with its SIMD kernels: XXH3's layout, a job. */
#ifndef CMA_HASH_KERNELS_H
#define CMA_HASH_KERNELS_H

#include "hash.h"
#include "cpu.h"

#define STRIPE 64
#define SECRET_SIZE 192
#define STRIPES_PER_BLOCK ((SECRET_SIZE - STRIPE) / 8)
#define SCRAMBLE_KEY (SECRET_SIZE - STRIPE)
#define PRIME32_1 0x9E3779B1U
/* Reads ahead of the hardware prefetcher, which stops at 4 KiB pages. */
#define PREFETCH_AHEAD 256

/* XXH3's default secret, set before any kernel runs (checksum.c). */
extern _Alignas(64) uint8_t cm_hash_secret[SECRET_SIZE];

/*
 * One kernel call: rebase, check and (with acc) hash n whole stripes at p.
 * With `sums`, each block's accumulation is stored there (8 words a block)
 * instead of scrambled in, acc restarting at zero: the blocks' shares, for
 * another thread to fold in. Kernels return true when a pointer failed its
 * check.
 */
struct cm_stripes_job {
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

/* The portable kernel in any mix (`how`: CM_REBASE_*): the reference the
 * others are tested against (hash-kernels.c). */
bool cm_stripes_reference(const struct cm_stripes_job *job, unsigned how);

/* One word as hashed (base 0), checked, and written back if asked. */
static inline uint64_t cm_rebase_word(uint8_t *p, bool slot,
				      const struct cm_rebase *r,
				      unsigned how, bool *bad, bool *listed)
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

/* One stripe into the accumulators, with its 64 bytes of key. */
static inline void cm_accumulate(uint64_t acc[8], const uint8_t *in,
				 const uint8_t *key)
{
	for (int i = 0; i < 8; i++) {
		uint64_t v = cm_load64(in + 8 * i);
		uint64_t k = v ^ cm_load64(key + 8 * i);

		acc[i ^ 1] += v;
		acc[i] += (k & 0xffffffffU) * (k >> 32);
	}
}

/*
 * A kernel body `stripes_<isa>_body(struct cm_stripes_job *, mix)` in the
 * six mixes the library uses (enum cm_stripes_mix), as the table
 * cm_stripes_<isa>; `attr` is its target attribute.
 */
#define CM_STRIPES_VARIANT(isa, attr, name, mix)			\
	attr static bool isa##_##name(const struct cm_stripes_job *job)\
	{								\
		/* A copy the kernel's stores cannot alias. */		\
		struct cm_stripes_job task = *job;			\
									\
		if (!((mix) & MIX_SLOTS))				\
			task.slots = NULL;				\
		else if (!task.slots)	/* mix_asked() saw to it */	\
			__builtin_unreachable();			\
		return stripes_##isa##_body(&task, mix);		\
	}
#define CM_STRIPES_VARIANTS(isa, attr)					\
	CM_STRIPES_VARIANT(isa, attr, raw, MIX_HASH)			\
	CM_STRIPES_VARIANT(isa, attr, check, MIX_HASH | MIX_SLOTS)	\
	CM_STRIPES_VARIANT(isa, attr, relocate,				\
			   CM_REBASE_WRITE | MIX_HASH | MIX_SLOTS)	\
	CM_STRIPES_VARIANT(isa, attr, trusted,				\
			   CM_REBASE_WRITE | MIX_SLOTS)			\
	CM_STRIPES_VARIANT(isa, attr, seal, CM_REBASE_SKIP_NULL		\
			   | MIX_HASH | MIX_LIST | MIX_SLOTS)		\
	CM_STRIPES_VARIANT(isa, attr, scan, MIX_SLOTS)			\
	cm_stripes_fn *const cm_stripes_##isa[CM_STRIPES_MIXES] = {	\
		[CM_MIX_RAW] = isa##_raw, [CM_MIX_CHECK] = isa##_check,	\
		[CM_MIX_RELOCATE] = isa##_relocate,			\
		[CM_MIX_TRUSTED] = isa##_trusted,			\
		[CM_MIX_SEAL] = isa##_seal, [CM_MIX_SCAN] = isa##_scan,	\
	};

#endif /* CMA_HASH_KERNELS_H */
