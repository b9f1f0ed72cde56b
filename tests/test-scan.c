/* SPDX-License-Identifier: MIT */
/* The pointer scan (CM_CHECK_POINTERS): every unrecorded pointer found at
 * its offset, wherever it lies, in both modes; nothing else refused; the
 * scan skipped below 4 GiB; the kernels agree with a reference. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "blob-edit.h"
#include "test-util.h"
#include "../lib/cma-private.h"

static const int modes[] = { CM_RELATIVE_OFFSET, CM_ABSOLUTE_OFFSET };

/* The walk's chunk (check.c): hits beside its edges take both paths. */
#define CHUNK (512 * 1024)
/* Nodes for three chunks of data. */
#define BIG_NODES 70000

/*
 * A list laid out as cm_test_list_blob() lays it out (node i at 128 + 16 i,
 * {x, next}, node 0's next NULL), in one allocation that ends with an
 * 8-byte integer: the data's last word is no slot. A copy of the blob; *len
 * its length.
 */
static uint8_t *scan_blob(size_t nodes, int mode, size_t *len)
{
	struct cm_attr *mem = cm_create(-1, 4096 + nodes * 32, MAP_PRIVATE, 0);
	struct lnode *all;
	void *blob;
	uint8_t *copy;

	ck_assert_ptr_nonnull(mem);
	ck_assert_int_eq(cm_alloc(mem, &all, nodes * sizeof *all + 8), 0);
	for (size_t i = 0; i < nodes; i++) {
		all[i].x = i;
		require_eq(cm_ptr_to(mem, &all[i].next,
				     i ? &all[i - 1] : NULL), 0);
	}
	st64((uint8_t *)(all + nodes), 7);
	blob = cm_serialize(mem, &all[nodes - 1], mode, 0);
	ck_assert_ptr_nonnull(blob);
	*len = (size_t)cm_get_size(mem);
	copy = cm_test_copy(blob, *len);
	cm_delete(mem, CM_ERASE);
	ck_assert_uint_ge(raw_header(copy).base, CM_SCAN_MIN_BASE);
	return copy;
}

/* The x word of node i: never a slot. */
static uint64_t x_word(size_t i)
{
	return 128 + 16 * i;
}

/* Store base + target at `at` (a pointer stored with '='), resealed. */
static void store_unrecorded(uint8_t *b, uint64_t at, uint64_t target)
{
	st64(b + at, raw_header(b).base + target);
	reseal(b);
}

/* cm_check with the scan refuses at `at`, naming `target`; every other
 * reader that is asked to scan refuses it too, and without the flag the
 * blob is valid. */
static void expect_hit(const uint8_t *b, size_t len, uint64_t at,
		       uint64_t target)
{
	struct cm_error e;
	char want[64];

	check_refused(b, len, CM_CHECK_POINTERS, CM_E_UNRECORDED, at);
	ck_assert_int_eq(cm_check(b, len, CM_CHECK_POINTERS, &e), -1);
	ck_assert_uint_eq(e.index, UINT64_MAX);
	snprintf(want, sizeof want, "(offset 0x%llx)",
		 (unsigned long long)target);
	ck_assert_msg(strstr(e.message, want), "'%s' lacks '%s'", e.message,
		      want);
	ck_assert_ptr_nonnull(strstr(e.message, "not a recorded pointer"));
	check_valid(b, len, 0);
	check_valid(b, len, CM_CHECK_EXACT | CM_CHECK_NO_CHECKSUM);
	deser_refused(b, len, CM_CHECK_POINTERS, CM_E_UNRECORDED);
	deser_refused(b, len, CM_CHECK_POINTERS | CM_TRUSTED,
		      CM_E_UNRECORDED);
	ck_assert_int_eq(mt_refused(b, len, CM_CHECK_POINTERS, 2, &e),
			 EBADMSG);
	expect_code(&e, CM_E_UNRECORDED);
}

/* ==== what is found ==== */

START_TEST(valid_blobs_pass)
{
	struct reports r = { 0 };
	size_t len;
	uint8_t *b = scan_blob(300, modes[_i], &len);

	/* Recorded slots, a NULL next, small integers: nothing reported. */
	check_valid(b, len, CM_CHECK_POINTERS);
	check_valid(b, len, CM_CHECK_POINTERS | CM_CHECK_STRICT);
	ck_assert_int_eq(cm_check_all(b, len, CM_CHECK_POINTERS, 0, collect,
				      &r), 0);
	ck_assert_uint_eq(r.n, 0);
	free(b);
	b = cm_test_list_blob_flags(300, modes[_i], CM_OBJECT_MAP, &len);
	check_valid(b, len, CM_CHECK_POINTERS | CM_CHECK_STRICT);
	free(b);
	b = scan_blob(BIG_NODES, modes[_i], &len);
	check_valid(b, len, CM_CHECK_POINTERS);
	free(b);
}
END_TEST

/* Where a hit may lie: first and last data word, both sides of a chunk
 * edge, first and last words of a 64-word group, beside a NULL slot. */
static uint64_t position(size_t k, uint64_t data_end)
{
	switch (k) {
	case 0:
		return 128;
	case 1:
		return data_end - 8;
	case 2:
		return x_word((CHUNK - 16) / 16);
	case 3:
		return x_word(CHUNK / 16);
	case 4:
		return x_word(64 * 8 / 16 * 5);	/* a group's first word */
	case 5:
		return 128 + 64 * 8 * 7 + 62 * 8;	/* its last x word */
	case 6:
		return 136;	/* node 0's next: NULL, never listed */
	default:
		return x_word(2 * CHUNK / 16 + 3);	/* the last chunk */
	}
}
#define POSITIONS 8

START_TEST(hit_at_every_position)
{
	int mode = modes[_i % 2];
	size_t k = (size_t)_i / 2, len;
	uint8_t *b = scan_blob(BIG_NODES, mode, &len);
	uint64_t at = position(k, raw_header(b).data_end);
	uint64_t target = x_word(BIG_NODES / 2);

	store_unrecorded(b, at, target);
	expect_hit(b, len, at, target);
	free(b);
}
END_TEST

START_TEST(hit_in_an_object_map_blob)
{
	size_t len;
	uint8_t *b = cm_test_list_blob_flags(300, modes[_i], CM_OBJECT_MAP,
					     &len);

	store_unrecorded(b, x_word(200), x_word(3));
	expect_hit(b, len, x_word(200), x_word(3));
	check_refused(b, len, CM_CHECK_POINTERS | CM_CHECK_STRICT,
		      CM_E_UNRECORDED, x_word(200));
	free(b);
}
END_TEST

/* The rule's bounds: base + header_size <= v <= base + data_end. */
START_TEST(bounds_are_the_data_end_inclusive)
{
	size_t len;
	uint8_t *b = scan_blob(50, modes[_i], &len);
	const struct cm_header h = raw_header(b);
	const struct {
		uint64_t value;
		bool hit;
	} cases[] = {
		{ h.base + h.header_size - 1, false },
		{ h.base + h.header_size, true },
		{ h.base + h.data_end, true },
		{ h.base + h.data_end + 1, false },
		{ h.base, false },	/* the header */
		{ 0, false },
		{ UINT64_MAX, false },
		{ h.data_end - 8, false },	/* an offset, not an address */
	};

	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		st64(b + x_word(20), cases[i].value);
		reseal(b);
		if (cases[i].hit)
			expect_hit(b, len, x_word(20), cases[i].value - h.base);
		else
			check_valid(b, len, CM_CHECK_POINTERS);
	}
	free(b);
}
END_TEST

/* ==== below 4 GiB ==== */

/* The blob rebased to `base`, as cm_convert writes it (malloc'd). */
static uint8_t *rebased(const uint8_t *b, size_t len, uint64_t base)
{
	struct cm_test_sink out = { 0 };
	struct cm_error e;
	uint8_t *copy;

	ck_assert_msg(cm_convert(b, len, 0, base, 0, cm_test_write, &out,
				 &e) == 0, "%s", e.message);
	ck_assert_uint_eq(out.len, len);
	copy = cm_test_copy(out.p, out.len);
	free(out.p);
	return copy;
}

START_TEST(skipped_below_4_gib)
{
	static const uint64_t low[] = { 0, 0x10000, CM_SCAN_MIN_BASE - 4096 };
	struct reports r = { 0 };
	size_t len;
	uint8_t *src = scan_blob(100, modes[_i], &len);

	for (size_t i = 0; i < sizeof low / sizeof low[0]; i++) {
		uint8_t *b = rebased(src, len, low[i]);
		uint8_t *w;

		store_unrecorded(b, x_word(40), x_word(10));
		errno = 0;
		ck_assert_int_eq(cm_check(b, len, CM_CHECK_POINTERS, NULL),
				 CM_SCAN_SKIPPED);
		ck_assert_int_eq(cm_check(b, len, 0, NULL), 0);
		r.n = 0;
		ck_assert_int_eq(cm_check_all(b, len, CM_CHECK_POINTERS, 0,
					      collect, &r), CM_SCAN_SKIPPED);
		ck_assert_uint_eq(r.n, 0);
		/* Relocating is not refused: the scan could not run. */
		w = cm_test_copy(b, len);
		ck_assert_ptr_nonnull(cm_deserialize_flags(w, len,
							   CM_CHECK_POINTERS,
							   NULL));
		free(w);
		/* A defect is still a defect, not a skipped scan. */
		b[x_word(41)] ^= 1;
		ck_assert_int_eq(cm_check(b, len, CM_CHECK_POINTERS, NULL),
				 -1);
		free(b);
	}
	free(src);
}
END_TEST

/* cm_convert validates as cm_check does: refused for a hit, converted
 * when the scan is skipped. */
START_TEST(convert_takes_the_flag)
{
	struct cm_test_sink out = { 0 };
	struct cm_error e;
	size_t len;
	uint8_t *b = scan_blob(100, modes[_i], &len);
	uint8_t *low;

	store_unrecorded(b, x_word(40), x_word(10));
	ck_assert_int_eq(cm_convert(b, len, 0, UINT64_MAX, CM_CHECK_POINTERS,
				    cm_test_write, &out, &e), -1);
	ck_assert_int_eq(errno, EBADMSG);
	expect_code(&e, CM_E_UNRECORDED);
	ck_assert_uint_eq(out.len, 0);
	low = rebased(b, len, 0);
	ck_assert_int_eq(cm_convert(low, len, 0, 0, CM_CHECK_POINTERS,
				    cm_test_write, &out, &e), 0);
	ck_assert_uint_eq(out.len, len);
	free(out.p);
	free(low);
	free(b);
}
END_TEST

START_TEST(runs_from_4_gib)
{
	size_t len;
	uint8_t *src = scan_blob(100, modes[_i], &len);
	uint8_t *b = rebased(src, len, CM_SCAN_MIN_BASE);

	check_valid(b, len, CM_CHECK_POINTERS);
	store_unrecorded(b, x_word(40), x_word(10));
	check_refused(b, len, CM_CHECK_POINTERS, CM_E_UNRECORDED, x_word(40));
	free(b);
	free(src);
}
END_TEST

/* ==== cm_check_all ==== */

START_TEST(check_all_lists_every_hit)
{
	static const size_t nodes[] = { 5, 30000, 33000, 66000, 69000 };
	struct reports r = { 0 };
	size_t len, hits = 0, bad = 0;
	uint8_t *b = scan_blob(BIG_NODES, modes[_i], &len);
	const uint64_t base = raw_header(b).base;
	uint64_t prev = 0;

	for (size_t i = 0; i < 5; i++)
		st64(b + x_word(nodes[i]), base + x_word(nodes[i] + 1));
	/* In the chunk of the third hit, a slot gone bad as well: the
	 * counts of the quick test cancel out, the search must not. */
	st64(b + list_slot(34000), base + 8);
	reseal(b);
	ck_assert_int_eq(cm_check_all(b, len, CM_CHECK_POINTERS, 0, collect,
				      &r), -1);
	ck_assert_uint_eq(r.n, 6);
	for (size_t i = 0; i < r.n; i++) {
		if (r.e[i].code == CM_E_POINTER) {
			ck_assert_uint_eq(r.e[i].offset, list_slot(34000));
			bad++;
			continue;
		}
		expect_code(&r.e[i], CM_E_UNRECORDED);
		ck_assert_uint_gt(r.e[i].offset, prev);	/* ascending */
		ck_assert_uint_eq(r.e[i].offset, x_word(nodes[hits]));
		ck_assert_uint_eq(r.e[i].index, UINT64_MAX);
		prev = r.e[i].offset;
		hits++;
	}
	ck_assert_uint_eq(hits, 5);
	ck_assert_uint_eq(bad, 1);
	/* A bound, and without the scan only the slot. */
	r.n = 0;
	ck_assert_int_eq(cm_check_all(b, len, CM_CHECK_POINTERS, 2, collect,
				      &r), -1);
	ck_assert_uint_eq(r.n, 2);
	r.n = 0;
	ck_assert_int_eq(cm_check_all(b, len, 0, 0, collect, &r), -1);
	ck_assert_uint_eq(r.n, 1);
	expect_code(&r.e[0], CM_E_POINTER);
	free(b);
}
END_TEST

START_TEST(hit_then_checksum)
{
	struct reports r = { 0 };
	size_t len;
	uint8_t *b = scan_blob(100, modes[_i], &len);

	store_unrecorded(b, x_word(60), x_word(61));
	b[x_word(70)] ^= 1;	/* the checksum no longer holds */
	ck_assert_int_eq(cm_check_all(b, len, CM_CHECK_POINTERS, 0, collect,
				      &r), -1);
	ck_assert_uint_eq(r.n, 2);
	expect_code(&r.e[0], CM_E_UNRECORDED);
	expect_code(&r.e[1], CM_E_CHECKSUM);
	free(b);
}
END_TEST

START_TEST(flag_and_name)
{
	size_t len;
	uint8_t *b = scan_blob(10, CM_RELATIVE_OFFSET, &len);

	ck_assert_str_eq(cm_error_name(CM_E_UNRECORDED), "CM_E_UNRECORDED");
	ck_assert_int_eq(CM_E_UNRECORDED, 22);
	errno = 0;
	ck_assert_int_eq(cm_check(b, len, CM_CHECK_POINTERS | 0x4000, NULL),
			 -1);
	ck_assert_int_eq(errno, EINVAL);
	ck_assert_ptr_nonnull(cm_deserialize_flags(b, len, CM_CHECK_POINTERS,
						   NULL));
	free(b);
}
END_TEST

/* ==== the kernels ==== */

struct found {
	size_t n;
	uint64_t at[4096];
	bool stop_early;
};

static bool found_hit(void *ctx, uint64_t offset, uint64_t value)
{
	struct found *f = ctx;

	(void)value;
	f->at[f->n++] = offset;
	return f->stop_early;
}

/* Random words, a quarter in range, a third of those slots. */
static void random_words(uint8_t *p, uint64_t *bits, size_t words,
			 const struct cm_scan *s, uint64_t *seed)
{
	memset(bits, 0, (words / 64 + 1) * 8);
	for (size_t i = 0; i < words; i++) {
		uint64_t x = *seed = *seed * 6364136223846793005ULL
				     + 1442695040888963407ULL;
		uint64_t v = x >> 16;

		if (x % 4 == 0)
			v = s->lo + (x >> 20) % (s->span + 1);
		else if (x % 16 == 1)	/* just out, below or above */
			v = (x >> 4) % 2 ? s->lo + s->span + 1 : s->lo - 1;
		st64(p + 8 * i, v);
		if (x % 4 == 0 && (x >> 8) % 3 == 0)
			bits[i / 64] |= 1ULL << (i % 64);
	}
}

START_TEST(kernels_agree_with_a_reference)
{
	static const char *const levels[] = { "scalar", "sse2", "avx2",
					      "avx512" };
	static const size_t sizes[] = { 0, 1, 7, 63, 64, 65, 200, 1000, 4095 };
	uint8_t *p = zalloc(4096 * 8 + 8);
	uint64_t bits[4096 / 64 + 1], seed = 42;
	struct cm_scan s;
	struct found *f = calloc(1, sizeof *f);

	ck_assert(cm_scan_rule(&s, 0x7f0000000000, 128, 128 + 3000));
	for (size_t z = 0; z < sizeof sizes / sizeof sizes[0]; z++) {
		size_t words = sizes[z], want = 0, in = 0;
		uint64_t off = 1024, end = off + 8 * words;

		s.data_end = end;
		random_words(p, bits, words, &s, &seed);
		for (size_t i = 0; i < words; i++) {
			bool in_range = ld64(p + 8 * i) - s.lo <= s.span;
			bool slot = bits[i / 64] >> (i % 64) & 1;

			in += in_range;
			want += in_range && !slot;
		}
		for (size_t l = 0; l < 4; l++) {
			if (cm_cpu_select(levels[l]))
				continue;	/* not on this CPU */
			f->n = 0;
			ck_assert(!cm_scan_bits(&s, p, off, end + 4, bits,
						found_hit, f));
			ck_assert_uint_eq(f->n, want);
			for (size_t i = 0; i < f->n; i++) {
				uint64_t w = (f->at[i] - off) / 8;

				ck_assert(ld64(p + 8 * w) - s.lo <= s.span);
				ck_assert(!(bits[w / 64] >> (w % 64) & 1));
				ck_assert(i == 0 || f->at[i] > f->at[i - 1]);
			}
			ck_assert(cm_scan_clean(&s, p, off, end, in));
			ck_assert(!cm_scan_clean(&s, p, off, end, in + 1));
			/* A stop is honoured at the first hit. */
			f->n = 0;
			f->stop_early = true;
			ck_assert(cm_scan_bits(&s, p, off, end, bits,
					       found_hit, f) == (want > 0));
			ck_assert_uint_eq(f->n, want > 0);
			f->stop_early = false;
		}
		ck_assert_int_eq(cm_cpu_select("auto"), 0);
	}
	free(f);
	free(p);
}
END_TEST

START_TEST(slot_list_matches_the_bitmap)
{
	uint8_t *p = zalloc(3000 * 8);
	uint64_t bits[3000 / 64 + 1], *slots = calloc(6000, 8), seed = 7;
	struct found *a = calloc(1, sizeof *a), *c = calloc(1, sizeof *c);
	struct cm_scan s;
	size_t n = 0;

	cm_scan_rule(&s, 0x7f0000000000, 128, 128 + 3000 * 8);
	random_words(p, bits, 3000, &s, &seed);
	for (size_t i = 0; i < 3000; i++)
		if (bits[i / 64] >> (i % 64) & 1) {
			slots[n++] = 128 + 8 * i;
			if (i % 5 == 0)	/* recorded twice */
				slots[n++] = 128 + 8 * i;
		}
	ck_assert(!cm_scan_bits(&s, p, 128, 128 + 3000 * 8, bits, found_hit,
				a));
	ck_assert(!cm_scan_slots(&s, p, 128, 128 + 3000 * 8, slots, n,
				 found_hit, c));
	ck_assert_uint_gt(a->n, 0);
	ck_assert_uint_eq(a->n, c->n);
	ck_assert_mem_eq(a->at, c->at, a->n * 8);
	/* An unaligned slot marks no word: its neighbours stay hits. */
	st64(p + 8 * 10, s.lo);
	st64(p + 8 * 11, s.lo);
	slots[0] = 128 + 8 * 10 + 4;
	c->n = 0;
	cm_scan_slots(&s, p, 128, 128 + 8 * 12, slots, 1, found_hit, c);
	ck_assert_uint_ge(c->n, 2);
	ck_assert_uint_eq(c->at[c->n - 2], 128 + 8 * 10);
	ck_assert_uint_eq(c->at[c->n - 1], 128 + 8 * 11);
	free(a);
	free(c);
	free(slots);
	free(p);
}
END_TEST

Suite *cm_test_suite(void)
{
	Suite *s = suite_create("scan");
	TCase *tc;

	tc = tcase_create("found");
	tcase_add_loop_test(tc, valid_blobs_pass, 0, 2);
	tcase_add_loop_test(tc, hit_at_every_position, 0, 2 * POSITIONS);
	tcase_add_loop_test(tc, hit_in_an_object_map_blob, 0, 2);
	tcase_add_loop_test(tc, bounds_are_the_data_end_inclusive, 0, 2);
	tcase_add_test(tc, flag_and_name);
	suite_add_tcase(s, tc);

	tc = tcase_create("below 4 GiB");
	tcase_add_loop_test(tc, skipped_below_4_gib, 0, 2);
	tcase_add_loop_test(tc, runs_from_4_gib, 0, 2);
	tcase_add_loop_test(tc, convert_takes_the_flag, 0, 2);
	suite_add_tcase(s, tc);

	tc = tcase_create("check all");
	tcase_add_loop_test(tc, check_all_lists_every_hit, 0, 2);
	tcase_add_loop_test(tc, hit_then_checksum, 0, 2);
	suite_add_tcase(s, tc);

	tc = tcase_create("kernels");
	tcase_add_test(tc, kernels_agree_with_a_reference);
	tcase_add_test(tc, slot_list_matches_the_bitmap);
	suite_add_tcase(s, tc);
	return s;
}
