/* SPDX-License-Identifier: MIT */
/* The kernels a CPU level selects: their contracts and the one table. */
#ifndef CMA_CPU_H
#define CMA_CPU_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * Levels in order, each with every kernel of the ones below it. CM_CPU_X86
 * (set by meson for x86-64 unless -Dcpu=portable) builds the lib/x86/
 * kernels; without it only CM_CPU_SCALAR exists.
 */
enum cm_cpu_level {
	CM_CPU_SCALAR,		/* portable C */
	CM_CPU_SSE2,		/* table decoding, 16 bytes at a time */
	CM_CPU_AVX2,		/* hash stripes and fold */
	CM_CPU_AVX512,		/* also absolute decoding; sealing with VBMI2 */
	CM_CPU_LEVELS
};

/* ---- hash stripes and fold (checksum.c, x86/hash-*.c) ---- */

/* One call's work: see lib/hash-kernels.h. */
struct cm_stripes_job;
/* @return true when a pointer failed its check. */
typedef bool cm_stripes_fn(const struct cm_stripes_job *job);
/* The mixes the library asks for, a kernel variant each (hash-kernels.h):
 * what a call hashes, checks and writes. */
enum cm_stripes_mix {
	CM_MIX_RAW,		/* hash bytes as they are */
	CM_MIX_CHECK,		/* check and hash, rebased: cm_check */
	CM_MIX_RELOCATE,	/* check, hash and shift: cm_deserialize */
	CM_MIX_TRUSTED,		/* check and shift, no hash: CM_TRUSTED */
	CM_MIX_SEAL,		/* hash rebased, NULLs no pointer, list them */
	CM_MIX_SCAN,		/* check only: nothing hashed or written */
	CM_STRIPES_MIXES
};
/* Add each of `blocks` block shares (8 words) to acc, then scramble. */
typedef void cm_fold_fn(uint64_t acc[8], const uint64_t *sums, size_t blocks);

/* ---- table decoding (table.c, x86/table-*.c) ---- */

/*
 * A chunk's slot bits, the two words at `at` held in registers while the
 * slots stay there: a store per slot would wait on the one before.
 */
struct cm_bit_sink {
	uint64_t *words;
	uint64_t at, lo, hi;
};

/* Set the bits of `mask` shifted to start at bit `word` (mask < 2^64). */
static inline void cm_sink_put(struct cm_bit_sink *k, uint64_t word,
			       uint64_t mask)
{
	uint64_t w = word / 64, sh = word % 64;

	if (w != k->at) {
		k->words[k->at] |= k->lo;
		if (w == k->at + 1) {
			k->lo = k->hi;
		} else {
			k->words[k->at + 1] |= k->hi;
			k->lo = 0;
		}
		k->hi = 0;
		k->at = w;
	}
	k->lo |= mask << sh;
	k->hi |= (mask >> 1) >> (63 - sh);	/* no shift by 64 */
}

static inline void cm_sink_flush(struct cm_bit_sink *k)
{
	k->words[k->at] |= k->lo;
	k->words[k->at + 1] |= k->hi;
}

/* How many of the next `most` 64-byte groups at p are the 8 bytes x eight
 * times over. */
typedef uint64_t cm_repeats_fn(const uint8_t *p, uint64_t x, uint64_t most);
/*
 * Relative entries passed over 64 at a time: groups of 64 one-byte deltas
 * (no byte with bit 7 set) at p, at most `most`, while the slot after a
 * group (*prev + 8 times its sum) stays below `target`. *prev moves past
 * those taken; zero deltas are not looked at. @return the groups taken.
 */
typedef uint64_t cm_skip_fn(const uint8_t *p, uint64_t most, uint64_t *prev,
			    uint64_t target);
struct cm_table_shares;
/*
 * Absolute entries at t + pos, eight at a time, `todo` left: each aligned,
 * above the one before (*prev first), from `off` on and below `bound`,
 * their bits (bit i: the word at off + 8 i) into the sink; it stops at the
 * first eight it cannot take. With `shares` (may be NULL), a kernel may
 * also add the shares of the table blocks it read whole, from
 * shares->done on (hash.h), while they are in L1; the caller adds any it
 * left. @return the entries taken.
 */
typedef uint64_t cm_absolute_fn(const uint8_t *t, uint64_t pos, uint64_t prev,
				uint64_t todo, uint64_t off, uint64_t bound,
				struct cm_bit_sink *sink,
				struct cm_table_shares *shares);

/* ---- sealing (serialize.c, x86/seal-vbmi2.c) ---- */

/*
 * The table entries of the slots in `bits` (bit i: the word at first +
 * 8 i, bits not 0) at base + *pos, room made for the worst case; *prev is
 * the slot before, both moved past them.
 */
typedef void cm_emit_fn(uint8_t *base, uint64_t *pos, uint64_t *prev,
			uint64_t first, uint64_t bits);

/* ---- pointer scan (scan.c, x86/scan-*.c) ---- */

/* How many of the `words` words at p hold a v with v - lo <= span. */
typedef uint64_t cm_scan_count_fn(const uint8_t *p, size_t words, uint64_t lo,
				  uint64_t span);
/*
 * The first of `groups` 64-word groups at p (bit i of bits[g]: word i of
 * group g is a slot) with a word in range that is no slot: its index, the
 * bits of those words in *hits; `groups` when there is none.
 */
typedef size_t cm_scan_find_fn(const uint8_t *p, size_t groups,
			       const uint64_t *bits, uint64_t lo,
			       uint64_t span, uint64_t *hits);

/* ---- the table ---- */

struct cm_kernels {
	enum cm_cpu_level level;
	const char *name;			/* as CMA_CPU spells it */
	cm_stripes_fn *const *stripes;		/* CM_STRIPES_MIXES */
	cm_fold_fn *fold;
	cm_repeats_fn *repeats;
	cm_skip_fn *skip_deltas;
	cm_absolute_fn *absolute_bits;
	cm_emit_fn *emit_relative, *emit_absolute;
	cm_scan_count_fn *scan_count;
	cm_scan_find_fn *scan_find;
};

/* The kernels in use once the CPU is probed (cpu.c); NULL before. */
extern const struct cm_kernels *cm_kernels_in_use;
/* Probe the CPU (once), then the kernels in use. */
const struct cm_kernels *cm_kernels_probe(void);

/* The kernels in use: the CPU's best, or those CMA_CPU or cm_cpu_select()
 * chose. Read it once a call: a switch in between is harmless, every
 * kernel gives the same result as its portable twin. Inline: after the
 * probe, a load, not a call into cpu.c. */
static inline const struct cm_kernels *cm_kernels(void)
{
	const struct cm_kernels *k =
		__atomic_load_n(&cm_kernels_in_use, __ATOMIC_ACQUIRE);

	return k ? k : cm_kernels_probe();
}

/*
 * The level CMA_CPU's value asks for on a CPU whose best is `best`: an
 * unknown value (or none, "", "auto") gives `best`, and so does a level
 * above it. Exposed for the tests.
 */
enum cm_cpu_level cm_cpu_level_for(const char *value, enum cm_cpu_level best);

/* Each level's kernels. The portable twins are every level's fallback. */
extern cm_stripes_fn *const cm_stripes_scalar[CM_STRIPES_MIXES];
cm_fold_fn cm_fold_scalar;
cm_repeats_fn cm_repeats_scalar;
cm_skip_fn cm_skip_scalar;
cm_absolute_fn cm_absolute_scalar;
cm_emit_fn cm_emit_relative_scalar, cm_emit_absolute_scalar;
cm_scan_count_fn cm_scan_count_scalar;
cm_scan_find_fn cm_scan_find_scalar;

#if CM_CPU_X86
cm_repeats_fn cm_repeats_sse2;
cm_skip_fn cm_skip_sse2;
extern cm_stripes_fn *const cm_stripes_avx2[CM_STRIPES_MIXES];
cm_fold_fn cm_fold_avx2;
extern cm_stripes_fn *const cm_stripes_avx512[CM_STRIPES_MIXES];
cm_fold_fn cm_fold_avx512;
cm_absolute_fn cm_absolute_avx512;
cm_emit_fn cm_emit_relative_vbmi2, cm_emit_absolute_vbmi2;
cm_scan_count_fn cm_scan_count_avx2, cm_scan_count_avx512;
cm_scan_find_fn cm_scan_find_avx2, cm_scan_find_avx512;
#endif

#endif /* CMA_CPU_H */
