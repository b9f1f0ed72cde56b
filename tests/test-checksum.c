/* SPDX-License-Identifier: MIT */
/* The checksum: the streamed XXH3 and its rebasing kernels against
 * libxxhash, the table's bitmap decoder against its cursor, and sealed
 * blobs' checksums against one recomputed here from doc/format.md. */
#include "test-util.h"
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <xxhash.h>
#include "../lib/cma-private.h"
#include "../lib/cpu.h"

#define N(a) (sizeof(a) / sizeof *(a))

/* Check marks a point at every assertion that holds, which costs more than
 * the work in the loops below: these assert only on failure. */
#define expect(cond, ...)						\
	do {								\
		if (!(cond))						\
			ck_abort_msg(__VA_ARGS__);			\
	} while (0)

/* ---- kernels ---- */

/* The CPU levels (cpu.h), as cm_cpu_select() names them. */
#define KERNELS CM_CPU_LEVELS
static const char *const kernel_name[KERNELS] = {
	"scalar", "sse2", "avx2", "avx512",
};

/* Take level k's kernels for this test, as CMA_CPU would; false when the
 * CPU lacks them (the test then has nothing to run). */
static bool use_kernel(int k)
{
	if (cm_cpu_select(kernel_name[k]) == 0)
		return true;
	ck_assert_msg(k != CM_CPU_SCALAR, "the scalar kernels refused");
	ck_assert_int_eq(errno, ENOTSUP);
	return false;
}

/* Every test leaves the test setup's level (CMA_CPU) behind it. */
static void restore_kernel(void)
{
	ck_assert_int_eq(cm_cpu_select(getenv("CMA_CPU")), 0);
}

/* ---- data ---- */

static uint64_t splitmix64(uint64_t *x)
{
	uint64_t z = (*x += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static void fill_random(uint8_t *p, size_t n, uint64_t *rng)
{
	for (size_t i = 0; i < n; i += 8) {
		uint64_t v = splitmix64(rng);

		memcpy(p + i, &v, n - i < 8 ? n - i : 8);
	}
}

/* n random bytes, 64-byte aligned, with room for 64 more. */
static uint8_t *random_bytes(size_t n, uint64_t *rng)
{
	uint8_t *p = aligned_alloc(64, (n + 127) & ~(size_t)63);

	expect(p, "out of memory");
	fill_random(p, (n + 127) & ~(size_t)63, rng);
	return p;
}

static bool bit(const uint8_t *map, size_t i)
{
	return map[i / 8] >> (i % 8) & 1;
}

static void set_bit(uint8_t *map, size_t i)
{
	map[i / 8] |= (uint8_t)(1u << (i % 8));
}

/* ==== the streamed hash, raw ==== */

/* The digest of p[0, len) fed in pieces of `piece` bytes. */
static uint64_t hash_in_pieces(const uint8_t *p, size_t len, size_t piece)
{
	struct cm_hash s;

	cm_hash_init(&s);
	for (size_t at = 0; at < len; at += piece)
		cm_hash_raw(&s, p + at, len - at < piece ? len - at : piece);
	return cm_hash_digest(&s);
}

/* Past XXH3's short inputs (240) and its first 1 KiB block (16 stripes). */
#define RAW_MAX 1400

START_TEST(raw_every_length_in_fixed_pieces)
{
	/* Stripe and block edges, and a piece past the short inputs. */
	static const size_t pieces[] = { 1, 7, 8, 63, 64, 65, 240, 1024,
					 SIZE_MAX };
	uint64_t rng = 1;
	uint8_t *buf;

	if (!use_kernel(_i))
		return;
	buf = random_bytes(RAW_MAX + 64, &rng);
	for (size_t len = 0; len <= RAW_MAX; len++) {
		const uint8_t *p = buf + len % 61;	/* any alignment */
		uint64_t want = XXH3_64bits(p, len);

		for (size_t j = 0; j < N(pieces); j++) {
			uint64_t got;

			if (pieces[j] == 1 && len > 600)
				continue;	/* byte by byte costs len calls */
			got = hash_in_pieces(p, len, pieces[j]);
			expect(got == want, "%s: %zu bytes in pieces of "
			       "%zu: 0x%016llx, XXH3 0x%016llx",
			       kernel_name[_i], len, pieces[j],
			       (unsigned long long)got,
			       (unsigned long long)want);
		}
	}
	free(buf);
}
END_TEST

/* Random pieces (zero-length ones too); the digest leaves the state as it
 * was, so it is taken after every piece. */
START_TEST(raw_random_pieces_digest_any_time)
{
	const size_t big = (1u << 20) + 13;
	uint64_t rng = 2;
	uint8_t *buf;

	if (!use_kernel(_i))
		return;
	buf = random_bytes(big, &rng);
	for (int round = 0; round < 162; round++) {
		bool large = round >= 160;	/* two of a MiB */
		size_t len = large ? big - splitmix64(&rng) % 4096
				   : splitmix64(&rng) % 3000;
		size_t most = large ? 100000 : 1 + splitmix64(&rng) % 300;
		struct cm_hash s;
		size_t at = 0, calls = 0;

		cm_hash_init(&s);
		while (at < len) {
			size_t take = splitmix64(&rng) % (most + 1);
			uint64_t got;

			if (take > len - at)
				take = len - at;
			cm_hash_raw(&s, buf + at, take);
			at += take;
			if (large && ++calls % 4 && at < len)
				continue;	/* XXH3 of a MiB prefix: some */
			got = cm_hash_digest(&s);
			expect(got == XXH3_64bits(buf, at),
			       "%s: round %d, %zu of %zu bytes",
			       kernel_name[_i], round, at, len);
		}
		ck_assert(cm_hash_digest(&s) == XXH3_64bits(buf, len));
	}
	free(buf);
}
END_TEST

START_TEST(levels_follow_cpu)
{
	/* What the CPU has, asked of it directly. */
	bool has[KERNELS] = { true, CM_CPU_X86, false, false };
	int best = CM_CPU_SCALAR;

#if CM_CPU_X86
	__builtin_cpu_init();
	has[CM_CPU_AVX2] = __builtin_cpu_supports("avx2");
	has[CM_CPU_AVX512] = __builtin_cpu_supports("avx512f");
#endif
	/* Available exactly when the CPU has it: never silently skipped. */
	for (int k = 0; k < KERNELS; k++) {
		errno = 0;
		ck_assert_int_eq(cm_cpu_select(kernel_name[k]),
				 has[k] ? 0 : -1);
		ck_assert_str_eq(cm_cpu_level(),
				 kernel_name[has[k] ? k : best]);
		ck_assert_int_eq(errno, has[k] ? 0 : ENOTSUP);
		if (has[k])
			best = k;
	}
	/* No level: refused, the level in use kept. */
	ck_assert_int_eq(cm_cpu_select(kernel_name[CM_CPU_SCALAR]), 0);
	ck_assert_int_eq(cm_cpu_select("AVX2"), -1);
	ck_assert_int_eq(errno, EINVAL);
	ck_assert_int_eq(cm_cpu_select("neon"), -1);
	ck_assert_str_eq(cm_cpu_level(), "scalar");
	ck_assert_int_eq(cm_cpu_select("auto"), 0);
	ck_assert_str_eq(cm_cpu_level(), kernel_name[best]);
	ck_assert_int_eq(cm_cpu_select(kernel_name[CM_CPU_SCALAR]), 0);
	ck_assert_int_eq(cm_cpu_select(NULL), 0);
	ck_assert_str_eq(cm_cpu_level(), kernel_name[best]);
}
END_TEST

/* What the library makes of CMA_CPU: an unusable value is the best level. */
START_TEST(environment_falls_back_to_best)
{
	ck_assert_int_eq(cm_cpu_level_for(NULL, CM_CPU_AVX2), CM_CPU_AVX2);
	ck_assert_int_eq(cm_cpu_level_for("", CM_CPU_AVX2), CM_CPU_AVX2);
	ck_assert_int_eq(cm_cpu_level_for("auto", CM_CPU_AVX2), CM_CPU_AVX2);
	ck_assert_int_eq(cm_cpu_level_for("scalar", CM_CPU_AVX2),
			 CM_CPU_SCALAR);
	ck_assert_int_eq(cm_cpu_level_for("sse2", CM_CPU_AVX512),
			 CM_CPU_SSE2);
	ck_assert_int_eq(cm_cpu_level_for("avx2", CM_CPU_AVX2), CM_CPU_AVX2);
	ck_assert_int_eq(cm_cpu_level_for("avx512", CM_CPU_AVX2),
			 CM_CPU_AVX2);
	ck_assert_int_eq(cm_cpu_level_for("avx2", CM_CPU_SCALAR),
			 CM_CPU_SCALAR);
	ck_assert_int_eq(cm_cpu_level_for("AVX512", CM_CPU_AVX512),
			 CM_CPU_AVX512);
	ck_assert_int_eq(cm_cpu_level_for("scalar ", CM_CPU_AVX512),
			 CM_CPU_AVX512);
}
END_TEST

/* ==== cm_hash_rebased ==== */

/* The five ways the library calls it (one kernel variant each), then two
 * it never does, which take the portable path. */
static const struct mix {
	const char *name;
	unsigned how;
	bool hash, list;
} mixes[] = {
	{ "check", 0, true, false },
	{ "checked relocate", CM_REBASE_WRITE, true, false },
	{ "trusted relocate", CM_REBASE_WRITE, false, false },
	{ "serialize", CM_REBASE_SKIP_NULL, true, true },
	{ "check, no hash", 0, false, false },
	{ "write+skip+list", CM_REBASE_WRITE | CM_REBASE_SKIP_NULL, true,
	  true },
	{ "list, no hash", 0, false, true },
};
#define MIXES ((int)N(mixes))

/* How a run splits the bytes into calls. */
enum { CH_WHOLE, CH_16K, CH_STRIPES, CH_WORDS, CH_256K };
static const char *const chunking_name[] = {
	"whole", "16 KiB", "stripes", "words", "256 KiB",
};

struct rb_case {
	int kernel, mix;
	size_t prefix;		/* bytes hashed raw before */
	size_t n;		/* bytes rebased */
	size_t misalign;	/* p's distance past a 64-byte boundary */
	int chunking;
	unsigned density;	/* a word is a slot with chance density / 8 */
	long bad;		/* the word given a bad value, or -1 */
	uint64_t seed;
};

/* An arena-like base, a data span, a shift anywhere (it may wrap). */
static struct cm_rebase random_rebase(uint64_t *rng)
{
	struct cm_rebase r;

	r.base = splitmix64(rng) & 0x7ffffffff000ULL;
	r.lo = r.base + CM_HEADER_SIZE;
	r.span = 1 + splitmix64(rng) % (1ULL << 32);
	r.shift = splitmix64(rng) & ~7ULL;
	return r;
}

/* A value the check must refuse (NULL included: lo is never 0 here). */
static uint64_t bad_value(const struct cm_rebase *r, uint64_t pick)
{
	switch (pick % 5) {
	case 0: return r->lo - 1;
	case 1: return r->lo + r->span + 1;
	case 2: return UINT64_MAX;
	case 3: return r->lo + r->span + (1ULL << 63);
	default: return 0;
	}
}

/* The contract, word by word: what is hashed, written, listed, refused. */
static bool model(const uint8_t *p, size_t n, const uint8_t *slots,
		  const struct cm_rebase *r, unsigned how, uint8_t *hashed,
		  uint8_t *after, uint8_t *listed)
{
	bool bad = false;

	memcpy(hashed, p, n);
	memcpy(after, p, n);
	for (size_t w = 0; w < n / 8; w++) {
		uint64_t v = cm_load64(p + 8 * w);

		if (!bit(slots, w) || ((how & CM_REBASE_SKIP_NULL) && v == 0))
			continue;
		set_bit(listed, w);
		bad |= v - r->lo > r->span;
		cm_store64(hashed + 8 * w, v - r->base);
		if (how & CM_REBASE_WRITE)
			cm_store64(after + 8 * w, v + r->shift);
	}
	return bad;
}

/* The next call's length. */
static size_t chunk_length(int chunking, uint64_t *rng)
{
	switch (chunking) {
	case CH_16K: return 16384;
	case CH_256K: return 256 * 1024;
	case CH_STRIPES: return 64 * (1 + splitmix64(rng) % 40);
	case CH_WORDS: return 8 * (1 + splitmix64(rng) % 150);
	default: return SIZE_MAX;
	}
}

static void rb_run(const struct rb_case *c)
{
	const struct mix *m = &mixes[c->mix];
	uint64_t rng = c->seed;
	struct cm_rebase r = random_rebase(&rng);
	const size_t n = c->n, words = n / 8;
	/* Slot bits past the last whole word: junk the call must ignore. */
	const size_t gbytes = words / 8 + 9;
	uint8_t *slots = calloc(gbytes, 1), *exp_listed = calloc(gbytes, 1);
	uint8_t *got_listed = calloc(gbytes, 1);
	uint8_t *mem = random_bytes(c->misalign + n + 64, &rng), *p;
	uint8_t *orig, *hashed, *after, *prefix;
	bool want_bad, bad = false;
	char ctx[200];
	struct cm_hash s;

	expect(slots && exp_listed && got_listed, "out of memory");
	snprintf(ctx, sizeof ctx, "%s kernel, %s, %zu bytes after %zu, "
		 "misaligned %zu, %s calls, seed %llu", kernel_name[c->kernel],
		 m->name, n, c->prefix, c->misalign,
		 chunking_name[c->chunking], (unsigned long long)c->seed);
	for (size_t w = 0; w < gbytes * 8; w++)
		if (w >= words ? splitmix64(&rng) & 1
			       : splitmix64(&rng) % 8 < c->density)
			set_bit(slots, w);
	p = mem + c->misalign;
	for (size_t w = 0; w < words; w++) {
		uint64_t pick = splitmix64(&rng);

		if (!bit(slots, w))
			continue;
		/* NULLs only where they are no pointer: else a bad value. */
		if ((m->how & CM_REBASE_SKIP_NULL) && pick % 8 == 0)
			cm_store64(p + 8 * w, 0);
		else
			cm_store64(p + 8 * w, r.lo + (pick >> 3) % (r.span + 1));
	}
	if (c->bad >= 0) {
		set_bit(slots, (size_t)c->bad);
		cm_store64(p + 8 * c->bad, bad_value(&r, splitmix64(&rng)));
		if ((m->how & CM_REBASE_SKIP_NULL) && !cm_load64(p + 8 * c->bad))
			cm_store64(p + 8 * c->bad, r.lo - 8);
	}
	orig = cm_test_copy(mem, c->misalign + n + 64);
	prefix = random_bytes(c->prefix + n, &rng);
	hashed = prefix + c->prefix;
	after = malloc(n + 1);
	expect(after, "out of memory");
	want_bad = model(p, n, slots, &r, m->how, hashed, after, exp_listed);

	if (m->hash) {
		cm_hash_init(&s);
		cm_hash_raw(&s, prefix, c->prefix);
	}
	for (size_t a = 0; a < n || (a == 0 && n == 0);) {
		size_t len = chunk_length(c->chunking, &rng), lbytes;
		const uint8_t *cs = slots + a / 64;
		uint8_t *shifted = NULL, *cl = NULL;

		if (len > n - a)
			len = n - a;
		/* Bits for the call's own words and a stripe's worth past
		 * them (which the call must leave alone). */
		if (a % 64) {
			shifted = calloc(len / 64 + 16, 1);
			expect(shifted, "out of memory");
			for (size_t j = 0; j < len / 8 + 64 &&
			     a / 8 + j < gbytes * 8; j++)
				if (bit(slots, a / 8 + j))
					set_bit(shifted, j);
			cs = shifted;
		}
		lbytes = len / 64 + 16;
		if (m->list) {
			cl = calloc(lbytes, 1);
			expect(cl, "out of memory");
		}
		bad |= cm_hash_rebased(m->hash ? &s : NULL, p + a, len, cs, cl,
				       &r, m->how);
		if (cl) {
			for (size_t j = 0; j < lbytes * 8; j++) {
				if (!bit(cl, j))
					continue;
				expect(j < len / 8, "%s: call at %zu of "
				       "%zu bytes listed word %zu",
				       ctx, a, len, j);
				set_bit(got_listed, a / 8 + j);
			}
		}
		free(shifted);
		free(cl);
		a += len;
		if (n == 0)
			break;
	}
	expect(bad == want_bad, "%s: returned %d", ctx, bad);
	if (m->hash) {
		uint64_t got = cm_hash_digest(&s);
		uint64_t want = XXH3_64bits(prefix, c->prefix + n);

		expect(got == want, "%s: hash 0x%016llx, expected 0x%016llx",
		       ctx, (unsigned long long)got, (unsigned long long)want);
	}
	for (size_t i = 0; memcmp(p, after, n) && i < n; i++)
		expect(p[i] == after[i], "%s: byte %zu (word %zu, slot "
		       "%d) is 0x%02x, expected 0x%02x", ctx, i, i / 8,
		       i / 8 < words && bit(slots, i / 8), p[i],
		       after[i]);
	/* Nothing outside the n bytes moved. */
	expect(!memcmp(mem, orig, c->misalign)
	       && !memcmp(p + n, orig + c->misalign + n, 64),
	       "%s: bytes around the run written", ctx);
	if (m->list)
		for (size_t i = 0; i < gbytes; i++)
			expect(got_listed[i] == exp_listed[i],
			       "%s: listed byte %zu is 0x%02x, expected "
			       "0x%02x", ctx, i, got_listed[i],
			       exp_listed[i]);
	free(slots);
	free(exp_listed);
	free(got_listed);
	free(mem);
	free(orig);
	free(prefix);
	free(after);
}

/* Loop index: kernel * MIXES + mix. */
#define RB_LOOPS (KERNELS * MIXES)

/* Every length through the stripes and blocks, as the callers start: at a
 * fresh stream, one call. */
START_TEST(rebased_every_length)
{
	struct rb_case c = { .kernel = _i / MIXES, .mix = _i % MIXES,
			     .chunking = CH_WHOLE };

	if (!use_kernel(c.kernel))
		return;
	/* Each length through the head and the first stripes, then a step
	 * prime to 64: every remainder at some length. */
	for (size_t n = 0; n <= 2600; n += n < 400 ? 1 : 23) {
		c.n = n;
		c.density = (unsigned)(n % 9);
		c.bad = n / 8 && n % 5 == 0 ? (long)(n * 7 % (n / 8)) : -1;
		c.misalign = n % 3 == 0 ? 8 * (n % 5) + (n % 2) : 0;
		c.seed = 1000 + n;
		rb_run(&c);
	}
}
END_TEST

/* After raw bytes that leave the stream anywhere (in XXH3's short inputs,
 * mid-stripe, mid-word), in calls of any size. */
START_TEST(rebased_any_stream_position)
{
	static const size_t prefixes[] = { 1, 3, 8, 56, 63, 64, 100, 239,
					   240, 241, 256, 300, 1024, 1030 };
	static const size_t lengths[] = { 0, 1, 7, 8, 64, 200, 513, 1100,
					  2141, 4160 };
	struct rb_case c = { .kernel = _i / MIXES, .mix = _i % MIXES };
	uint64_t seed = 5000;

	if (!use_kernel(c.kernel))
		return;
	for (size_t i = 0; i < N(prefixes); i++)
		for (size_t j = 0; j < N(lengths); j++) {
			c.prefix = prefixes[i];
			c.n = lengths[j];
			c.chunking = (int)((i + j) % 4);
			c.density = (unsigned)(1 + (i * 3 + j) % 8);
			c.misalign = (i + j) % 3 ? 0 : 1 + i;
			c.bad = (i + j) % 4 == 1 && c.n >= 8
				? (long)((i * 131 + j) % (c.n / 8)) : -1;
			c.seed = seed++;
			rb_run(&c);
		}
}
END_TEST

/* The callers' way: 256 KiB calls (16 KiB before) from a fresh stream over
 * a lot of data; and stripes in random counts. */
START_TEST(rebased_in_chunks_like_callers)
{
	static const struct { size_t n; int chunking; unsigned density; }
	runs[] = {
		{ 12 * 16384 + 40, CH_16K, 2 },
		{ 12 * 16384 + 40, CH_16K, 8 },
		{ 5 * 16384 + 3, CH_STRIPES, 5 },
		{ (1u << 20) + 40, CH_256K, 3 },
	};
	struct rb_case c = { .kernel = _i / MIXES, .mix = _i % MIXES };

	if (!use_kernel(c.kernel))
		return;
	for (size_t i = 0; i < N(runs); i++) {
		c.n = runs[i].n;
		c.chunking = runs[i].chunking;
		c.density = runs[i].density;
		c.bad = i == 1 ? (long)(c.n / 8 - 700) : -1;
		c.misalign = i == 2 ? 24 : 0;
		c.seed = 7000 + i;
		rb_run(&c);
	}
}
END_TEST

/* One bad value, at every word in turn: the head taken word by word, the
 * kernel's stripes, the held-back tail. Each is found, and written (or
 * not) like any other slot. (The hash of such runs: rebased_every_length.) */
START_TEST(rebased_one_bad_value_anywhere)
{
	enum { BYTES = 2048 + 3 * 64 + 24, WORDS = BYTES / 8 };
	const int kernel = _i / MIXES;
	const struct mix *m = &mixes[_i % MIXES];
	uint64_t rng = 9000 + (uint64_t)_i;
	const struct cm_rebase r = random_rebase(&rng);
	uint8_t slots[WORDS / 8 + 9] = { 0 }, listed[WORDS / 8 + 9];
	uint8_t *orig, *moved, *p, *want, *prefix;

	if (!use_kernel(kernel))
		return;
	p = malloc(BYTES);
	want = malloc(BYTES);
	orig = random_bytes(BYTES, &rng);
	prefix = random_bytes(320, &rng);
	ck_assert(p && want);
	/* Every other word a slot, good; `moved` as WRITE leaves it. */
	for (size_t w = 0; w < WORDS; w += 2) {
		set_bit(slots, w);
		cm_store64(orig + 8 * w, r.lo + splitmix64(&rng) % r.span);
	}
	moved = cm_test_copy(orig, BYTES);
	if (m->how & CM_REBASE_WRITE)
		for (size_t w = 0; w < WORDS; w += 2)
			cm_store64(moved + 8 * w, cm_load64(orig + 8 * w)
				   + r.shift);
	for (int pass = 0; pass < 2; pass++)
		for (size_t w = 0; w < WORDS; w++) {
			uint64_t v = bad_value(&r, w + (size_t)pass);
			bool was = bit(slots, w), got;
			struct cm_hash s;

			if (v == 0 && (m->how & CM_REBASE_SKIP_NULL))
				v = r.lo - 8;	/* NULL is no pointer there */
			memcpy(p, orig, BYTES);
			cm_store64(p + 8 * w, v);
			memcpy(want, moved, BYTES);
			cm_store64(want + 8 * w, m->how & CM_REBASE_WRITE
				   ? v + r.shift : v);
			set_bit(slots, w);
			memset(listed, 0, sizeof listed);
			cm_hash_init(&s);
			/* Past the short inputs: the kernel from the start. */
			cm_hash_raw(&s, prefix, pass ? 320 : 0);
			got = cm_hash_rebased(m->hash ? &s : NULL, p, BYTES,
					      slots, m->list ? listed : NULL,
					      &r, m->how);
			expect(got, "%s kernel, %s, prefix %d: bad value 0x%llx "
			       "at word %zu not found", kernel_name[kernel],
			       m->name, pass ? 320 : 0, (unsigned long long)v,
			       w);
			expect(!memcmp(p, want, BYTES), "%s kernel, %s, prefix "
			       "%d: bad value at word %zu: bytes written wrong",
			       kernel_name[kernel], m->name, pass ? 320 : 0, w);
			expect(!m->list || bit(listed, w), "%s kernel, %s: bad "
			       "value at word %zu not listed",
			       kernel_name[kernel], m->name, w);
			if (!was)
				slots[w / 8] &= (uint8_t)~(1u << w % 8);
		}
	free(orig);
	free(moved);
	free(p);
	free(want);
	free(prefix);
}
END_TEST

/* The range check at its edges, unsigned throughout: each value alone
 * among slots holding lo, at words in every part of the run. */
START_TEST(rebased_range_edges)
{
	static const struct cm_rebase rs[] = {
		{ 0x10000, 0x10080, 0x1000, 0x5000 },
		/* Sign bits: a signed compare gets these wrong. */
		{ 0, 0, 0x7fffffffffffffffULL, 8 },
		{ 1ULL << 63, 1ULL << 63, 0x7fffffffffffffffULL, 1ULL << 63 },
		{ 0x4000, 0x4080, UINT64_MAX, 0 },
		{ 0x4000, 0x4080, 0, 16 },
		/* The range wraps past 2^64. */
		{ 0xffffffffffff0000ULL, 0xffffffffffff0000ULL, 0x20000,
		  0x10000 },
	};
	static const size_t at[] = { 0, 5, 31, 32, 40, 47, 100, 300, 500,
				     503, 511 };
	const int kernel = _i / MIXES;
	const struct mix *m = &mixes[_i % MIXES];
	const size_t n = 4096 + 29;

	if (!use_kernel(kernel))
		return;
	for (size_t i = 0; i < N(rs); i++) {
		const struct cm_rebase *r = &rs[i];
		const uint64_t top = r->lo + r->span;
		const struct { uint64_t v; bool bad; } vals[] = {
			{ r->lo, false }, { top, false },
			{ r->lo - 1, r->span != UINT64_MAX },
			{ top + 1, r->span != UINT64_MAX },
			{ 0, 0 - r->lo > r->span },
			{ UINT64_MAX, UINT64_MAX - r->lo > r->span },
			{ r->lo + r->span / 2, false },
			{ r->lo + (1ULL << 63), (1ULL << 63) > r->span },
		};

		for (size_t j = 0; j < N(vals); j++)
			for (size_t k = 0; k < N(at); k++) {
				uint8_t *p = calloc(n, 1);
				uint8_t slots[72] = { 0 }, listed[72] = { 0 };
				uint8_t *want = malloc(n);
				bool skip = (m->how & CM_REBASE_SKIP_NULL)
					    && vals[j].v == 0;
				struct cm_hash s;
				bool got;

				expect(p && want, "out of memory");
				for (size_t w = 3; w < n / 8; w += 7) {
					set_bit(slots, w);
					cm_store64(p + 8 * w, r->lo);
				}
				set_bit(slots, at[k]);
				cm_store64(p + 8 * at[k], vals[j].v);
				memcpy(want, p, n);
				/* NULL is no pointer with SKIP_NULL, whether
				 * the value tried or lo (when lo is 0). */
				for (size_t w = 0; w < n / 8; w++)
					if ((m->how & CM_REBASE_WRITE)
					    && bit(slots, w)
					    && !((m->how & CM_REBASE_SKIP_NULL)
						 && !cm_load64(p + 8 * w)))
						cm_store64(want + 8 * w,
							   cm_load64(p + 8 * w)
							   + r->shift);
				cm_hash_init(&s);
				got = cm_hash_rebased(m->hash ? &s : NULL, p, n,
						      slots,
						      m->list ? listed : NULL,
						      r, m->how);
				expect(got == (vals[j].bad && !skip),
				       "%s kernel, %s: value 0x%llx "
				       "at word %zu, lo 0x%llx span "
				       "0x%llx: returned %d",
				       kernel_name[kernel], m->name,
				       (unsigned long long)vals[j].v,
				       at[k], (unsigned long long)r->lo,
				       (unsigned long long)r->span, got);
				expect(!memcmp(p, want, n), "%s kernel, %s: "
				       "value 0x%llx at word %zu: bytes "
				       "written wrong", kernel_name[kernel],
				       m->name, (unsigned long long)vals[j].v,
				       at[k]);
				expect(!m->list || bit(listed, at[k]) == !skip,
				       "%s kernel, %s: value 0x%llx at word "
				       "%zu: listed wrong", kernel_name[kernel],
				       m->name, (unsigned long long)vals[j].v,
				       at[k]);
				free(p);
				free(want);
			}
	}
}
END_TEST

/* ==== cm_table_bits against cm_table_next ==== */

/* Slot patterns: each aims at one of cm_table_bits()'s paths. */
enum gap {
	G_EVERY_WORD,	/* equal one-byte deltas: the table, 64 at once */
	G_EVERY_2ND,
	G_EQUAL_RUNS,	/* runs of 11 equal deltas 1-9, off the 8-groups */
	G_EVERY_8TH,	/* equal, but eight span 64 words: no table */
	G_ALT_1_2,	/* graph-like: the prefix sums */
	G_SMALL,	/* random 1-31: prefix sums */
	G_SUM_EDGE,	/* 7 or 8: eight sum to 56-64, either side of 63 */
	G_SPAN_EDGE,	/* 9 or 10: absolute eights span 63-70 words */
	G_LAYOUT,	/* records of one layout: eight deltas repeated */
	G_UP_TO_200,	/* one- and two-byte VLQs */
	G_BIG,		/* multi-byte VLQs, chunks without a slot */
	G_MIXED,	/* small runs broken by jumps */
	GAPS
};
static const char *const gap_name[GAPS] = {
	"every word", "every 2nd", "equal runs", "every 8th", "1,2",
	"random 1-31", "7 or 8", "9 or 10", "one layout", "random 1-200",
	"big", "mixed",
};

static uint64_t next_gap(int g, size_t i, uint64_t *rng)
{
	static const uint8_t layout[8] = { 3, 1, 4, 1, 5, 9, 2, 6 };
	uint64_t x = splitmix64(rng);

	switch (g) {
	case G_EVERY_WORD: return 1;
	case G_EVERY_2ND: return 2;
	case G_EQUAL_RUNS: return 1 + i / 11 % 9;
	case G_EVERY_8TH: return 8;
	case G_ALT_1_2: return 1 + i % 2;
	case G_SMALL: return 1 + x % 31;
	case G_SUM_EDGE: return 7 + x % 2;
	case G_SPAN_EDGE: return 9 + x % 2;
	/* The phase moves on every 203 entries: runs start anywhere. */
	case G_LAYOUT: return layout[(i + i / 203) % 8];
	case G_UP_TO_200: return 1 + x % 200;
	case G_BIG: return x % 8 ? 128 + (x >> 8) % 3000
				 : 16384 + (x >> 8) % 30000;
	default: return x % 16 ? 1 + (x >> 8) % 6 : 100 + (x >> 8) % 5000;
	}
}

struct sealed {
	struct cm_attr *mem;
	uint8_t *blob;
	size_t len;
	struct cm_header h;
	uint64_t *slots;	/* the slots holding a pointer, ascending */
	size_t count;
};

static void sealed_free(struct sealed *b)
{
	ck_assert_int_eq(cm_delete(b->mem, CM_ERASE), 0);
	free(b->slots);
}

/* One allocation of `words` words, slots where pattern g puts them, each
 * pointing somewhere in the data; sealed in `mode`. */
static void seal_pattern(struct sealed *b, int g, size_t words, int mode,
			 uint64_t seed)
{
	uint64_t rng = seed, *data, w;
	struct cm_attr *mem = cm_create(-1, CM_HEADER_SIZE + 16 * words
					+ 65536, MAP_PRIVATE, 0);

	ck_assert_ptr_nonnull(mem);
	ck_assert_int_eq(cm_alloc(mem, &data, 8 * words), 0);
	b->mem = mem;
	b->slots = malloc(8 * words);
	b->count = 0;
	ck_assert_ptr_nonnull(b->slots);
	for (w = next_gap(g, 0, &rng) - 1; w < words;
	     w += next_gap(g, b->count, &rng)) {
		expect(cm_do_ptr_to(mem, (void **)&data[w],
				    data + splitmix64(&rng) % words) == 0,
		       "cm_ptr_to: %s", strerror(errno));
		b->slots[b->count++] = CM_HEADER_SIZE + 8 * w;
	}
	b->blob = cm_serialize(mem, data, mode, 0);
	ck_assert_ptr_nonnull(b->blob);
	b->len = (size_t)cm_get_size(mem);
	b->h = cm_test_header(b->blob, b->len);
	ck_assert_uint_eq(b->h.pointer_count, b->count);
}

/* What a failure in window [off, limit) says (built only on failure). */
static const char *window(char *buf, size_t size, const char *what,
			  uint64_t off, uint64_t limit)
{
	snprintf(buf, size, "%s, window [0x%llx, 0x%llx)", what,
		 (unsigned long long)off, (unsigned long long)limit);
	return buf;
}
#define CTX window(ctx, sizeof ctx, what, off, limit)

static void same_cursor(const struct cm_table_cursor *a,
			const struct cm_table_cursor *b, const char *what,
			uint64_t off, uint64_t limit)
{
	char ctx[200];

	expect(a->pos == b->pos && a->index == b->index && a->prev == b->prev,
	       "%s: bits cursor at entry %llu (byte 0x%llx, slot 0x%llx), "
	       "next cursor at entry %llu (byte 0x%llx, slot 0x%llx)", CTX,
	       (unsigned long long)a->index, (unsigned long long)a->pos,
	       (unsigned long long)a->prev, (unsigned long long)b->index,
	       (unsigned long long)b->pos, (unsigned long long)b->prev);
}

struct verdict {
	bool defect;		/* both stopped at a defect in the data */
	int code;		/* its code, or the finish's */
	int finish;		/* cm_table_finish() of both, when no defect */
};

#define WINDOW_MAX (256 * 1024)
#define GUARD 2		/* bitmap words past the window: must stay 0 */

/*
 * Walk the table over windows of the data with one cursor decoding to
 * bitmaps and another with cm_table_next(): the same slots, the same
 * positions, the same defect. Windows are `chunk` bytes from header_size
 * as walk_data() takes them, or (chunk 0) any size up to 256 KiB, some
 * ending at a slot or just past one, some starting past the last window's
 * end (but not past a slot).
 */
static struct verdict compare_decoders(const uint8_t *blob,
				       const struct cm_header *h,
				       uint64_t chunk, uint64_t seed,
				       const char *what)
{
	const bool random = !chunk;
	static const size_t maxes[] = { 2048, 1, 3, 8, 9, 64 };
	uint64_t *bits = malloc((WINDOW_MAX / 512 + 1 + GUARD) * 8);
	uint64_t *want = malloc((WINDOW_MAX / 512 + 1 + GUARD) * 8);
	uint64_t *slots = malloc(2048 * 8);
	uint64_t rng = seed, off = h->header_size;
	struct cm_table_cursor cb, cn;
	struct verdict v = { 0 };
	struct cm_error eb, en;
	char ctx[200];

	ck_assert(bits && want && slots);
	cm_table_start(&cb, blob, h);
	cm_table_start(&cn, blob, h);
	while (off < h->table_offset) {
		uint64_t limit = off + chunk, words, taken = 0;
		ssize_t nb, r;

		if (random) {
			uint64_t x = splitmix64(&rng);
			struct cm_table_cursor peek = cn;
			size_t ahead = 1 + (x >> 8) % 40;

			limit = off + 8 * (1 + (x >> 16) % (x % 4 ? WINDOW_MAX
						/ 8 - 1 : 64));
			/* At a slot ahead, or just past it. */
			if (x % 3 == 0 && (r = cm_table_next(&peek, slots,
					ahead, UINT64_MAX, NULL)) > 0)
				limit = slots[r - 1] + (x >> 4 & 8);
			if (limit <= off)
				limit = off + 8;
			if (limit - off > WINDOW_MAX)
				limit = off + WINDOW_MAX;
		}
		if (limit > h->table_offset)
			limit = h->table_offset;
		words = (limit - off) / 512 + 1;
		memset(bits, 0, (words + GUARD) * 8);
		memset(&eb, 0, sizeof eb);
		memset(&en, 0, sizeof en);
		nb = cm_table_bits(&cb, bits, off, limit, &eb);
		memset(want, 0, (words + GUARD) * 8);
		while ((r = cm_table_next(&cn, slots,
					  maxes[splitmix64(&rng) % N(maxes)],
					  limit, &en)) > 0) {
			for (ssize_t i = 0; i < r; i++) {
				uint64_t s = slots[i], k = (s - off) / 8;

				expect(s >= off && s < limit
				       && (s - off) % 8 == 0,
				       "%s: slot 0x%llx", CTX,
				       (unsigned long long)s);
				want[k / 64] |= 1ULL << (k % 64);
			}
			taken += (uint64_t)r;
		}
		if (nb < 0 || r < 0) {
			expect(nb < 0 && r < 0, "%s: bits returned %zd, next "
			       "%zd (%s / %s)", CTX, nb, r, eb.message,
			       en.message);
			expect(eb.code == en.code && eb.offset == en.offset
			       && eb.index == en.index, "%s: bits say %s at "
			       "0x%llx entry %llu (%s), next %s at 0x%llx "
			       "entry %llu (%s)", CTX, cm_error_name(eb.code),
			       (unsigned long long)eb.offset,
			       (unsigned long long)eb.index, eb.message,
			       cm_error_name(en.code),
			       (unsigned long long)en.offset,
			       (unsigned long long)en.index, en.message);
			same_cursor(&cb, &cn, what, off, limit);
			v.defect = true;
			v.code = en.code;
		} else {
			expect((uint64_t)nb == taken, "%s: bits counted %zd, "
			       "next %llu", CTX, nb,
			       (unsigned long long)taken);
			same_cursor(&cb, &cn, what, off, limit);
		}
		/* The bits of exactly the slots taken: at a defect, those
		 * of the entries before it (cma-private.h). */
		for (uint64_t i = 0; i < words + GUARD; i++) {
			uint64_t diff = bits[i] ^ want[i];
			uint64_t k = 64 * i + (uint64_t)__builtin_ctzll(diff | 1ULL << 63);

			expect(!diff, "%s: %s returned %zd, %llu entries taken; "
			       "the slot at 0x%llx is %s the bitmap", CTX,
			       "cm_table_bits", nb, (unsigned long long)taken,
			       (unsigned long long)(off + 8 * k),
			       bits[i] >> (k % 64) & 1 ? "wrongly in"
						       : "missing from");
		}
		if (v.defect)
			goto out;
		same_cursor(&cb, &cn, what, off, limit);
		off = limit;
		/* Start the next window past this one, not past a slot. */
		if (random && splitmix64(&rng) % 3 == 0) {
			struct cm_table_cursor peek = cn;

			if (cm_table_next(&peek, slots, 1, UINT64_MAX, NULL)
			    == 1 && slots[0] > off)
				off += 8 * (splitmix64(&rng)
					    % ((slots[0] - off) / 8 + 1));
		}
	}
	memset(&eb, 0, sizeof eb);
	memset(&en, 0, sizeof en);
	v.finish = cm_table_finish(&cb, &eb);
	ck_assert_int_eq(cm_table_finish(&cn, &en), v.finish);
	ck_assert_int_eq(eb.code, en.code);
	v.code = en.code;
out:
	free(bits);
	free(want);
	free(slots);
	return v;
}

static const int modes[] = { CM_RELATIVE_OFFSET, CM_ABSOLUTE_OFFSET };
static const char *const mode_name[] = { "relative", "absolute" };

/* The windows of each pass: the chunks of walk_data() and of relocation's
 * parts (256 KiB), smaller ones (16 KiB, the chunk size once), then random
 * ones. */
static const uint64_t passes[] = { 256 * 1024, 16 * 1024, 0, 0 };

static const char *pass_name(int pass)
{
	return passes[pass] == 0 ? "random" : passes[pass] == 16384 ? "16 KiB"
					     : "256 KiB";
}

/* Loop index: (kernel * GAPS + pattern) * 2 + mode. The kernel matters:
 * SIMD table decoding follows it. */
START_TEST(table_bits_agree_on_patterns)
{
	const int kernel = _i / (2 * GAPS), g = _i / 2 % GAPS;
	const int mode = modes[_i % 2];
	struct sealed b;
	char what[120];

	if (!use_kernel(kernel))
		return;
	seal_pattern(&b, g, g == G_BIG ? 120000 : 40000, mode,
		     300 + (uint64_t)(_i % (2 * GAPS)));
	ck_assert_uint_gt(b.count, 8);
	for (int pass = 0; pass < (int)N(passes); pass++) {
		struct verdict v;

		snprintf(what, sizeof what, "%s kernel, %s slots, %s, %s "
			 "windows", kernel_name[kernel], gap_name[g],
			 mode_name[_i % 2], pass_name(pass));
		v = compare_decoders(b.blob, &b.h, passes[pass],
				     77 * (uint64_t)pass + (uint64_t)_i, what);
		ck_assert_msg(!v.defect && v.finish == 0, "%s: %s", what,
			      cm_error_name(v.code));
	}
	sealed_free(&b);
}
END_TEST

/*
 * cm_table_seek (a relative table's deltas summed, 64 at a time where they
 * are one byte each) stops at the first entry whose slot is at or past the
 * target, with the slot before it as prev: the entry cm_table_next gives
 * next. Targets at, around and between slots, in one cursor ascending and
 * each from the start. Loop index: pattern.
 */
START_TEST(table_seek_finds_first_entry_at_or_past)
{
	const int kernel = _i / GAPS, g = _i % GAPS;
	struct sealed b;
	uint64_t rng = 4242 + (uint64_t)g;

	if (!use_kernel(kernel))
		return;
	seal_pattern(&b, g, g == G_BIG ? 120000 : 40000,
		     CM_RELATIVE_OFFSET, 500 + (uint64_t)g);
	for (int chained = 0; chained < 2; chained++) {
		struct cm_table_cursor c;
		uint64_t target = b.h.header_size;

		cm_table_start(&c, b.blob, &b.h);
		for (int k = 0; k < 400; k++) {
			struct cm_table_cursor fresh;
			size_t want = 0;
			uint64_t next = 0;

			if (!chained)
				cm_table_start(&c, b.blob, &b.h);
			/* A slot, just past it, just before it, or anywhere
			 * on; the data's end last. */
			if (k == 399) {
				target = b.h.data_end;
			} else if (b.count) {
				uint64_t s = b.slots[splitmix64(&rng)
						     % b.count];
				uint64_t t[] = { s, s + 8, s - 8,
						 target + splitmix64(&rng) % 4096 };

				target = t[splitmix64(&rng) % 4];
			}
			if (chained && target < c.prev + 8)
				continue;	/* a cursor only goes on */
			while (want < b.count && b.slots[want] < target)
				want++;
			ck_assert_int_eq(cm_table_seek(&c, target), 0);
			expect(c.index == want, "%s, target 0x%llx: at entry "
			       "%llu, want %zu", gap_name[g],
			       (unsigned long long)target,
			       (unsigned long long)c.index, want);
			expect(c.prev == (want ? b.slots[want - 1] : 0),
			       "%s: prev", gap_name[g]);
			fresh = c;
			if (want < b.count) {
				ck_assert_int_eq(cm_table_next(&fresh, &next,
							       1, UINT64_MAX,
							       NULL), 1);
				ck_assert_uint_eq(next, b.slots[want]);
			}
		}
	}
	/* An entry it cannot read before the target: -1, cursor unchanged. */
	if (b.h.table_size >= 8) {
		struct cm_table_cursor c, before;

		memset(b.blob + b.h.table_offset + b.h.table_size / 2, 0x80, 5);
		cm_table_start(&c, b.blob, &b.h);
		before = c;
		ck_assert_int_eq(cm_table_seek(&c, b.h.data_end), -1);
		ck_assert_mem_eq(&c, &before, sizeof c);
	}
	sealed_free(&b);
}
END_TEST

/* Table defects: each made at entries all around the groups of eight and
 * sixty-four entries and the 16 KiB windows' edges. */
enum defect {
	D_ZERO_DELTA,		/* relative: a 0 byte */
	D_LONG_DELTA,		/* 127 words: later slots past the data */
	D_CONTINUED,		/* a byte's continuation bit set */
	D_OVERLONG,		/* 0x80 0x00 */
	D_OVERSIZED,		/* five bytes */
	D_TRUNCATED,		/* the last entry cut */
	D_COUNT_LOW,		/* the header counts one entry fewer */
	D_COUNT_HIGH,		/* one more than the table holds */
	D_UNALIGNED,		/* absolute: a slot + 4 */
	D_REPEATED,		/* absolute: a slot equal to the one before */
	D_PAST_END,		/* absolute: a slot at data_end */
	D_JUMP_AHEAD,		/* absolute: a slot 16 KiB on, then disorder */
	DEFECTS
};
static const struct {
	const char *name;
	int mode;
	int code;	/* what both must say; 0: any defect */
} defects[DEFECTS] = {
	{ "zero delta", CM_RELATIVE_OFFSET, CM_E_ORDER },
	{ "long delta", CM_RELATIVE_OFFSET, CM_E_SLOT },
	{ "continued byte", CM_RELATIVE_OFFSET, 0 },
	{ "overlong VLQ", CM_RELATIVE_OFFSET, CM_E_ENCODING },
	{ "oversized VLQ", CM_RELATIVE_OFFSET, CM_E_ENCODING },
	{ "truncated VLQ", CM_RELATIVE_OFFSET, CM_E_ENCODING },
	{ "count too low", CM_RELATIVE_OFFSET, CM_E_COUNT },
	{ "count too high", CM_RELATIVE_OFFSET, CM_E_COUNT },
	{ "unaligned slot", CM_ABSOLUTE_OFFSET, CM_E_SLOT },
	{ "repeated slot", CM_ABSOLUTE_OFFSET, CM_E_ORDER },
	{ "slot at data end", CM_ABSOLUTE_OFFSET, CM_E_SLOT },
	{ "slot jumping ahead", CM_ABSOLUTE_OFFSET, 0 },
};

/* Make defect d at entry k of b's table (one byte an entry when relative;
 * k moved where the defect needs room). */
static void make_defect(struct sealed *b, int d, size_t k)
{
	uint8_t *t = b->blob + b->h.table_offset;
	size_t last = b->count - 1;

	switch (d) {
	case D_ZERO_DELTA: t[k] = 0; break;
	case D_LONG_DELTA: t[k] = 0x7f; break;
	case D_CONTINUED: t[k] |= 0x80; break;
	case D_OVERLONG:
		k = k < last ? k : last - 1;
		t[k] = 0x80;
		t[k + 1] = 0x00;
		break;
	case D_OVERSIZED:
		k = k + 4 <= last ? k : last - 4;
		memcpy(t + k, "\x80\x80\x80\x80\x01", 5);
		break;
	case D_TRUNCATED: t[last] |= 0x80; break;
	case D_COUNT_LOW:
		cm_store64(b->blob + CM_H_POINTER_COUNT, b->count - 1);
		break;
	case D_COUNT_HIGH:
		cm_store64(b->blob + CM_H_POINTER_COUNT, b->count + 1);
		break;
	case D_UNALIGNED:
		cm_store64(t + 8 * k, b->slots[k] + 4);
		break;
	case D_REPEATED:
		k = k ? k : 1;
		cm_store64(t + 8 * k, b->slots[k - 1]);
		break;
	case D_PAST_END:
		cm_store64(t + 8 * k, b->h.data_end);
		break;
	default:
		cm_store64(t + 8 * k, b->slots[k] + 16384);
		break;
	}
}

/* Loop index: kernel * DEFECTS + defect. */
START_TEST(table_bits_agree_on_defects)
{
	const int kernel = _i / DEFECTS, d = _i % DEFECTS;
	const int mode = defects[d].mode;
	/* Two shapes of one-byte entries (the 8-entry paths); a count too
	 * high needs multi-byte entries to pass the header. */
	const int shapes[2][2] = {
		{ G_EVERY_2ND, 6000 }, { G_SMALL, 20000 },
	};

	if (!use_kernel(kernel))
		return;
	for (int sh = 0; sh < 2; sh++) {
		const int g = d == D_COUNT_HIGH ? G_UP_TO_200 : shapes[sh][0];
		struct sealed b;
		size_t ks[32], nk = 0, tsize;
		uint8_t *saved;

		seal_pattern(&b, g, (size_t)shapes[sh][1], mode, 400 + sh);
		tsize = b.h.table_size;
		if (mode == CM_RELATIVE_OFFSET && g != G_UP_TO_200)
			ck_assert_uint_eq(tsize, b.count);	/* a byte each */
		saved = cm_test_copy(b.blob, b.len);
		{
			const size_t c = b.count, fixed[] = {
				0, 1, 2, 3, 7, 8, 9, 10, 15, 16, 17, 63, 64,
				65, 66, 500, 1022, 1023, 1024, 1025, c / 2,
				c - 9, c - 8, c - 2, c - 1,
			};

			for (size_t i = 0; i < N(fixed); i++)
				if (fixed[i] < c)
					ks[nk++] = fixed[i];
		}
		for (size_t i = 0; i < nk; i++) {
			struct cm_header h;
			struct cm_error e;
			char what[160];

			make_defect(&b, d, ks[i]);
			ck_assert_msg(cm_header_read(b.blob, b.len, &h, &e) == 0,
				      "%s: %s", defects[d].name, e.message);
			for (int pass = 0; pass < 3; pass++) {
				struct verdict v;

				snprintf(what, sizeof what, "%s kernel, %s at "
					 "entry %zu of %zu (%s slots), %s "
					 "windows", kernel_name[kernel],
					 defects[d].name, ks[i], b.count,
					 gap_name[g], pass_name(pass));
				v = compare_decoders(b.blob, &h, passes[pass],
						     (uint64_t)pass * 31 + i,
						     what);
				if (d == D_COUNT_LOW)
					ck_assert_msg(!v.defect && v.finish
						      == -1, "%s", what);
				else
					ck_assert_msg(v.defect, "%s: no defect",
						      what);
				ck_assert_msg(!defects[d].code
					      || v.code == defects[d].code,
					      "%s: %s", what,
					      cm_error_name(v.code));
			}
			/* Back to the good table for the next entry. */
			memcpy(b.blob, saved, b.len);
			if (d == D_TRUNCATED || d == D_COUNT_LOW
			    || d == D_COUNT_HIGH)
				break;	/* one place only */
		}
		free(saved);
		sealed_free(&b);
		if (d == D_COUNT_HIGH)
			break;
	}
}
END_TEST

/* ==== sealed blobs, end to end ==== */

/*
 * An arena of `data` bytes in allocations of assorted sizes (the first the
 * root), a share/8 of whose words are slots: to anywhere in the data or one
 * past it, or NULL (recorded, or set NULL after: never listed). Sealed in
 * `mode` with the kernel in force.
 */
static void seal_random(struct sealed *b, size_t data, int mode,
			unsigned share, uint64_t seed)
{
	uint64_t rng = seed;
	struct cm_attr *mem = cm_create(-1, 2 * data + 65536, MAP_PRIVATE, 0);
	uint8_t *base, *root = NULL;
	size_t left = data;

	ck_assert_ptr_nonnull(mem);
	base = cm_get_base(mem);
	while (left) {
		size_t size = 8 * (1 + splitmix64(&rng) % 40);
		uint8_t *p;

		size = size < left ? size : left;
		/* Short of a word still takes the whole word. */
		expect(cm_alloc(mem, &p, size - splitmix64(&rng) % 8) == 0,
		       "cm_alloc: %s", strerror(errno));
		fill_random(p, size, &rng);
		root = root ? root : p;
		left -= size;
	}
	ck_assert_int_eq(cm_get_size(mem), CM_HEADER_SIZE + data);
	b->mem = mem;
	b->slots = malloc(data + 8);
	b->count = 0;
	ck_assert_ptr_nonnull(b->slots);
	for (size_t w = 0; w < data / 8; w++) {
		uint64_t x = splitmix64(&rng), off = CM_HEADER_SIZE + 8 * w;
		void **slot = (void **)(base + off);
		int rc;

		if (x % 8 >= share)
			continue;
		switch (x >> 3 & 7) {
		case 0:
			rc = cm_ptr_to(mem, slot, NULL);
			break;
		case 1:
			rc = cm_ptr_to(mem, slot, root);
			*slot = NULL;
			break;
		default:
			rc = cm_ptr_to(mem, slot, base + CM_HEADER_SIZE
				       + (x >> 8) % (data + 1));
			b->slots[b->count++] = off;
		}
		expect(rc == 0, "cm_ptr_to: %s", strerror(errno));
	}
	b->blob = cm_serialize(mem, root, mode, 0);
	ck_assert_ptr_nonnull(b->blob);
	b->len = (size_t)cm_get_size(mem);
	b->h = cm_test_header(b->blob, b->len);
}

/* The table decoded here (LEB128 of delta / 8, or u64 offsets) lists
 * exactly the slots holding a pointer. */
static void table_lists(const struct sealed *b)
{
	const uint8_t *p = b->blob + b->h.table_offset;
	const uint8_t *end = p + b->h.table_size;
	uint64_t prev = 0;
	size_t i = 0;

	while (p < end) {
		uint64_t v = 0;

		if (b->h.mode == CM_ABSOLUTE_OFFSET) {
			v = cm_load64(p);
			p += 8;
		} else {
			for (unsigned sh = 0;; sh += 7) {
				v |= (uint64_t)(*p & 0x7f) << sh;
				if (!(*p++ & 0x80))
					break;
			}
			v = prev + 8 * v;
		}
		expect(i < b->count && v == b->slots[i], "entry %zu: slot "
		       "0x%llx", i, (unsigned long long)v);
		prev = v;
		i++;
	}
	ck_assert_uint_eq(i, b->count);
	ck_assert_uint_eq(b->h.pointer_count, b->count);
}

/* doc/format.md, Checksum: XXH3-64 of [header_size, table_offset) with each
 * listed slot's value less base, then [table_offset, blob_size) as it is,
 * then the header with its base and checksum fields zero. One call, no
 * library code. */
static uint64_t reference_checksum(const uint8_t *blob,
				   const struct cm_header *h,
				   const uint64_t *slots, size_t count)
{
	const size_t hs = h->header_size, data = h->table_offset - hs;
	uint8_t *cat = malloc(h->blob_size);
	uint64_t sum;

	ck_assert_ptr_nonnull(cat);
	memcpy(cat, blob + hs, data);
	for (size_t i = 0; i < count; i++)
		cm_store64(cat + slots[i] - hs,
			   cm_load64(blob + slots[i]) - h->base);
	memcpy(cat + data, blob + h->table_offset,
	       h->blob_size - h->table_offset);
	memcpy(cat + h->blob_size - hs, blob, hs);
	memset(cat + h->blob_size - hs + 32, 0, 8);	/* base */
	memset(cat + h->blob_size - hs + 112, 0, 8);	/* checksum */
	sum = XXH3_64bits(cat, h->blob_size);
	free(cat);
	return sum;
}

/* Data sizes: tiny blobs (under XXH3's 240 bytes and just over), sizes off
 * the stripes and 1 KiB blocks, the 256 KiB chunks' edges, a MiB. */
static const size_t sizes[] = {
	8, 16, 24, 32, 40, 48, 56, 64, 72, 80, 88, 96, 104, 112, 120, 128,
	136, 144, 152, 200, 248, 256, 264, 1000, 1032, 4104, 16392,
	3 * 16384 + 200, 262136, 262144, 262152, 1u << 20,
};

/* Loop index: kernel * 2 + mode. */
START_TEST(sealed_checksum_matches_reference)
{
	const int kernel = _i / 2, mode = modes[_i % 2];

	if (!use_kernel(kernel))
		return;
	for (size_t i = 0; i < N(sizes); i++) {
		struct sealed b;
		struct cm_error e;
		uint64_t want, got;

		seal_random(&b, sizes[i], mode, (unsigned)(1 + i % 8),
			    600 + i + 100 * (size_t)_i);
		table_lists(&b);
		want = reference_checksum(b.blob, &b.h, b.slots, b.count);
		ck_assert_msg(b.h.checksum == want, "%s kernel, %s: %zu-byte "
			      "blob (%zu pointers) stored 0x%016llx, expected "
			      "0x%016llx", kernel_name[kernel],
			      mode_name[_i % 2], b.len, b.count,
			      (unsigned long long)b.h.checksum,
			      (unsigned long long)want);
		got = cm_checksum_compute(b.blob, &b.h);
		ck_assert_msg(got == want, "%s kernel, %s: %zu-byte blob "
			      "computed 0x%016llx, expected 0x%016llx",
			      kernel_name[kernel], mode_name[_i % 2], b.len,
			      (unsigned long long)got,
			      (unsigned long long)want);
		ck_assert_msg(cm_check(b.blob, b.len, CM_CHECK_EXACT, &e) == 0,
			      "%s", e.message);
		sealed_free(&b);
	}
}
END_TEST

/* Relocate a copy of b's blob on `threads` threads (1: cm_deserialize()).
 * @return the copy, or NULL (errno set) when refused. */
static uint8_t *relocated_copy(const struct sealed *b, const uint8_t *blob,
			       int threads)
{
	uint8_t *copy = cm_test_copy(blob, b->len);
	struct cm_error e;
	void *root = threads == 1 ? cm_deserialize(copy, b->len)
			: cm_deserialize_mt(copy, b->len, 0, threads, &e);

	if (root)
		return copy;
	free(copy);
	return NULL;
}

/*
 * Relocated (checked: the hash taken with the pointers rebased and written,
 * on two or three threads from each block's share), a blob keeps its
 * checksum; refused, it keeps every byte. Loop index: kernel * 2 + mode.
 */
START_TEST(relocation_keeps_checksum_or_bytes)
{
	const int kernel = _i / 2, mode = modes[_i % 2];
	const uint64_t min_part = cm_mt_min_part;

	if (!use_kernel(kernel))
		return;
	cm_mt_min_part = CM_HASH_BLOCK;		/* split small blobs too */
	for (size_t i = 0; i < N(sizes); i++) {
		struct sealed b;
		uint64_t want;

		seal_random(&b, sizes[i], mode, (unsigned)(8 - i % 8),
			    800 + i + 100 * (size_t)_i);
		want = reference_checksum(b.blob, &b.h, b.slots, b.count);
		for (int threads = 1; threads <= 3; threads++) {
			uint8_t *copy = relocated_copy(&b, b.blob, threads);
			uint8_t *bad, *before;
			struct cm_header h;

			ck_assert_msg(copy, "%s kernel, %s: %zu-byte blob "
				      "refused on %d threads",
				      kernel_name[kernel], mode_name[_i % 2],
				      b.len, threads);
			h = cm_test_header(copy, b.len);
			ck_assert_uint_eq(h.base, (uintptr_t)copy);
			for (size_t j = 0; j < b.count; j++)
				expect(cm_load64(copy + b.slots[j])
				       == cm_load64(b.blob + b.slots[j])
					  - b.h.base + h.base, "%d threads: "
				       "slot 0x%llx not relocated", threads,
				       (unsigned long long)b.slots[j]);
			ck_assert_uint_eq(h.checksum, want);
			ck_assert_uint_eq(cm_checksum_compute(copy, &h), want);
			ck_assert_uint_eq(reference_checksum(copy, &h, b.slots,
							     b.count), want);
			free(copy);
			if (!b.count)
				continue;
			/* A pointer past the data, late in it: the chunks
			 * (or parts) before it were relocated and are
			 * undone, its own is shifted back. */
			bad = cm_test_copy(b.blob, b.len);
			cm_store64(bad + b.slots[b.count - 1 - b.count / 5],
				   b.h.base + b.h.data_end + 8);
			before = cm_test_copy(bad, b.len);
			errno = 0;
			ck_assert_ptr_null(relocated_copy(&b, bad, threads));
			ck_assert_int_eq(errno, EBADMSG);
			/* relocated_copy() worked on a copy: once more here,
			 * the bytes compared after. */
			if (threads == 1)
				ck_assert_ptr_null(cm_deserialize(bad, b.len));
			else
				ck_assert_ptr_null(cm_deserialize_mt(bad, b.len,
						   0, threads, NULL));
			ck_assert_mem_eq(bad, before, b.len);
			free(bad);
			free(before);
		}
		sealed_free(&b);
	}
	cm_mt_min_part = min_part;
}
END_TEST

/* XXH3's 1 KiB blocks add up apart: shares taken anywhere
 * (cm_hash_block_sums), folded in order (cm_hash_take_blocks), give XXH3 of
 * the whole, the data rebased (and written) as cm_hash_rebased() would.
 * Loop index: kernel * 2 + (check, relocate). */
START_TEST(block_sums_fold_to_xxh3)
{
	static const struct { size_t head, blocks, tail; long bad; } runs[] = {
		{ 0, 1, 1, -1 }, { 0, 3, 64, -1 }, { 1024, 2, 65, -1 },
		{ 2048, 5, 1000, 300 }, { 0, 17, 3, -1 }, { 3072, 1, 7, 127 },
		{ 1024, 4, 240, 0 },
	};
	static const unsigned mixes[] = { 0, CM_REBASE_WRITE,
					  CM_REBASE_SKIP_NULL };
	const int kernel = _i / 3;
	const unsigned how = mixes[_i % 3];

	if (!use_kernel(kernel))
		return;
	for (size_t i = 0; i < N(runs); i++) {
		const size_t n = runs[i].blocks * CM_HASH_BLOCK;
		uint64_t rng = 1200 + i + 10 * (uint64_t)_i;
		const struct cm_rebase r = random_rebase(&rng);
		uint8_t *slots = calloc(n / 64 + 1, 1);
		uint8_t *listed = calloc(n / 64 + 1, 1);
		uint8_t *p = random_bytes(n, &rng), *after = malloc(n);
		uint8_t *cat = random_bytes(runs[i].head + n + runs[i].tail,
					    &rng);
		uint64_t *sums = malloc(runs[i].blocks * 64);
		uint8_t last[64];
		struct cm_hash s;
		bool bad, want_bad;
		uint64_t got;

		ck_assert(slots && listed && after && sums);
		for (size_t w = 0; w < n / 8; w++)
			if (splitmix64(&rng) % 2) {
				set_bit(slots, w);
				cm_store64(p + 8 * w, r.lo + splitmix64(&rng)
						      % r.span);
			}
		/* Regression: a NULL slot in the final stripe was taken as
		 * 0 - base there (the stripe digest reads when input ends
		 * within 64 bytes). */
		if (how & CM_REBASE_SKIP_NULL) {
			set_bit(slots, n / 8 - 1);
			cm_store64(p + n - 8, 0);
		}
		if (runs[i].bad >= 0) {
			set_bit(slots, (size_t)runs[i].bad);
			cm_store64(p + 8 * runs[i].bad, r.lo - 8);
		}
		want_bad = model(p, n, slots, &r, how, cat + runs[i].head,
				 after, listed);
		cm_hash_init(&s);
		cm_hash_raw(&s, cat, runs[i].head);
		bad = cm_hash_block_sums(p, runs[i].blocks, slots, &r, how,
					 sums, last);
		ck_assert_msg(bad == want_bad, "%s kernel, run %zu: returned "
			      "%d", kernel_name[kernel], i, bad);
		ck_assert_msg(!memcmp(p, after, n), "%s kernel, run %zu: bytes "
			      "written wrong", kernel_name[kernel], i);
		ck_assert(cm_hash_take_blocks(&s, sums, runs[i].blocks, last));
		cm_hash_raw(&s, cat + runs[i].head + n, runs[i].tail);
		got = cm_hash_digest(&s);
		ck_assert_msg(got == XXH3_64bits(cat, runs[i].head + n
						 + runs[i].tail),
			      "%s kernel, %s, run %zu: hash 0x%016llx",
			      kernel_name[kernel], how == CM_REBASE_WRITE
			      ? "relocate" : how ? "skip NULL" : "check",
			      i, (unsigned long long)got);
		/* Off a block boundary the shares cannot go in. */
		cm_hash_init(&s);
		cm_hash_raw(&s, cat, runs[i].head + 8);
		ck_assert(!cm_hash_take_blocks(&s, sums, runs[i].blocks, last));
		free(slots);
		free(listed);
		free(p);
		free(after);
		free(cat);
		free(sums);
	}
}
END_TEST

Suite *cm_test_suite(void)
{
	Suite *s = suite_create("checksum");
	TCase *tc = tcase_create("kernels");

	tcase_add_checked_fixture(tc, NULL, restore_kernel);
	tcase_add_test(tc, levels_follow_cpu);
	tcase_add_test(tc, environment_falls_back_to_best);
	suite_add_tcase(s, tc);

	tc = tcase_create("raw hash");
	tcase_add_checked_fixture(tc, NULL, restore_kernel);
	tcase_add_loop_test(tc, raw_every_length_in_fixed_pieces, 0, KERNELS);
	tcase_add_loop_test(tc, raw_random_pieces_digest_any_time, 0,
			    KERNELS);
	suite_add_tcase(s, tc);

	tc = tcase_create("rebased hash");
	tcase_add_checked_fixture(tc, NULL, restore_kernel);
	tcase_add_loop_test(tc, rebased_every_length, 0, RB_LOOPS);
	tcase_add_loop_test(tc, rebased_any_stream_position, 0, RB_LOOPS);
	tcase_add_loop_test(tc, rebased_in_chunks_like_callers, 0, RB_LOOPS);
	tcase_add_loop_test(tc, rebased_one_bad_value_anywhere, 0, RB_LOOPS);
	tcase_add_loop_test(tc, rebased_range_edges, 0, RB_LOOPS);
	suite_add_tcase(s, tc);

	tc = tcase_create("table bits");
	tcase_add_checked_fixture(tc, NULL, restore_kernel);
	tcase_add_loop_test(tc, table_seek_finds_first_entry_at_or_past, 0,
			    KERNELS * GAPS);
	tcase_add_loop_test(tc, table_bits_agree_on_patterns, 0,
			    KERNELS * GAPS * 2);
	tcase_add_loop_test(tc, table_bits_agree_on_defects, 0,
			    KERNELS * DEFECTS);
	suite_add_tcase(s, tc);

	tc = tcase_create("sealed blobs");
	tcase_add_checked_fixture(tc, NULL, restore_kernel);
	tcase_add_loop_test(tc, sealed_checksum_matches_reference, 0,
			    KERNELS * 2);
	tcase_add_loop_test(tc, relocation_keeps_checksum_or_bytes, 0,
			    KERNELS * 2);
	tcase_add_loop_test(tc, block_sums_fold_to_xxh3, 0, KERNELS * 3);
	suite_add_tcase(s, tc);
	return s;
}
