/* SPDX-License-Identifier: MIT */
/*
 * The checksum's portable kernels (cpu.h): XXH3's stripes, a word at a
 * time with the pointer words rebased, and the fold of block shares; every
 * CPU level's fallback and the reference for x86/hash-*.c.
 */
#include "hash-kernels.h"

/* Filled by cm_hash_init() (checksum.c) before any kernel runs. */
_Alignas(64) uint8_t cm_hash_secret[SECRET_SIZE];

static void scramble_scalar(uint64_t acc[8])
{
	for (int i = 0; i < 8; i++) {
		uint64_t a = acc[i];

		a ^= a >> 47;
		a ^= cm_load64(cm_hash_secret + SCRAMBLE_KEY + 8 * i);
		acc[i] = a * PRIME32_1;
	}
}

bool cm_stripes_reference(const struct cm_stripes_job *job, unsigned how)
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
				   cm_rebase_word(p + 8 * j, m >> j & 1, r,
						  how, &bad, &t));
			taken |= (unsigned)t << j;
		}
		if (listed)
			listed[i] = (uint8_t)taken;
		if (!acc)
			continue;
		cm_accumulate(acc, word, cm_hash_secret + 8 * *in_block);
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

/* The reference in each mix, as the table lists the others. */
#define stripes_scalar_body(task, mix) \
	cm_stripes_reference(task, mix_of(mix).how)
CM_STRIPES_VARIANTS(scalar, )
#undef stripes_scalar_body

/* ---- folding block shares in: add, scramble, a block at a time ---- */

void cm_fold_scalar(uint64_t acc[8], const uint64_t *sums, size_t blocks)
{
	for (size_t b = 0; b < blocks; b++) {
		for (int i = 0; i < 8; i++)
			acc[i] += sums[8 * b + i];
		scramble_scalar(acc);
	}
}

