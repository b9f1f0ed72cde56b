/* SPDX-License-Identifier: MIT */
/* cm_deserialize_mt: the same bytes as one thread, every defect refused with
 * the blob unchanged, and each part's share of the checksum. */
#include <errno.h>
#include <stdbool.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "blob-edit.h"
#include "test-util.h"
#include "../lib/cma-private.h"

static const int modes[] = { CM_RELATIVE_OFFSET, CM_ABSOLUTE_OFFSET };

/* ==== cm_deserialize_mt ==== */

/* Split the small blobs of these tests among threads as a large one is
 * (one XXH3 block a thread at least). */
static void split_small_blobs(void)
{
	cm_mt_min_part = CM_HASH_BLOCK;
}

START_TEST(mt_same_bytes_as_one_thread)
{
	static const int threads[] = { 1, 2, 3, 8, 64 };
	size_t len;
	uint8_t *b = cm_test_list_blob(4000, modes[_i], &len);
	uint8_t *w = zalloc(len), *want = zalloc(len);
	struct cm_error e;
	void *root;

	for (int flags = 0; flags <= CM_TRUSTED; flags += CM_TRUSTED) {
		memcpy(w, b, len);
		root = cm_deserialize_flags(w, len, flags, NULL);
		ck_assert_ptr_eq(root, w + HDR + 16 * 3999);
		memcpy(want, w, len);
		ck_assert_uint_eq(ld64(want + H_BASE), (uintptr_t)w);
		for (size_t t = 0; t < sizeof threads / sizeof *threads; t++) {
			memcpy(w, b, len);
			ck_assert_ptr_eq(cm_deserialize_mt(w, len, flags,
							   threads[t], &e),
					 root);
			ck_assert_mem_eq(w, want, len);
			/* Again: already at home, nothing changes. */
			ck_assert_ptr_eq(cm_deserialize_mt(w, len, flags,
							   threads[t], &e),
					 root);
			ck_assert_mem_eq(w, want, len);
		}
	}
	/* More threads than pointers, or than data words. */
	for (size_t nodes = 1; nodes <= 3; nodes += 2) {
		free(b);
		b = cm_test_list_blob(nodes, modes[_i], &len);
		memcpy(w, b, len);
		ck_assert_ptr_nonnull(cm_deserialize(w, len));
		memcpy(want, w, len);
		for (int t = 8; t <= 64; t *= 8) {
			memcpy(w, b, len);
			ck_assert_ptr_nonnull(cm_deserialize_mt(w, len, 0, t,
								NULL));
			ck_assert_mem_eq(w, want, len);
		}
	}
	free(want);
	free(w);
	free(b);
}
END_TEST

START_TEST(mt_thread_count_bounds)
{
	static const int bad[] = { 0, -1, 65, INT_MAX };
	size_t len;
	uint8_t *b = cm_test_list_blob(10, CM_ABSOLUTE_OFFSET, &len);
	uint8_t *w = cm_test_copy(b, len);

	for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
		errno = 0;
		ck_assert_ptr_null(cm_deserialize_mt(w, len, 0, bad[i], NULL));
		ck_assert_int_eq(errno, EINVAL);
		ck_assert_mem_eq(w, b, len);
	}
	errno = 0;
	ck_assert_ptr_null(cm_deserialize_mt(w + 4, len - 8, 0, 2, NULL));
	ck_assert_int_eq(errno, EINVAL);
	free(w);
	free(b);
}
END_TEST

/*
 * Pointer defects in the first part, the last part, or both; threads 2, 3
 * and 8; checksum on and off: refused, every byte as it was.
 */
START_TEST(mt_defect_leaves_the_blob_unchanged)
{
	static const int threads[] = { 2, 3, 8 };
	size_t len, n = 4000;
	uint8_t *b = cm_test_list_blob(n, modes[_i / 3], &len);
	struct cm_header h = raw_header(b);
	uint64_t first = list_slot(1), last = list_slot(n - 1);
	int where = _i % 3;	/* 0 first, 1 last, 2 both */

	if (where != 1)
		st64(b + first, h.base + h.data_end + 8);
	if (where != 0)
		st64(b + last, h.base + 8);
	reseal(b);
	for (size_t t = 0; t < sizeof threads / sizeof *threads; t++)
		for (int flags = 0; flags <= CM_TRUSTED; flags += CM_TRUSTED) {
			struct cm_error e = { 0 };

			ck_assert_int_eq(mt_refused(b, len, flags, threads[t],
						    &e), EBADMSG);
			expect_code(&e, CM_E_POINTER);
			ck_assert(e.offset == first || e.offset == last);
		}
	free(b);
}
END_TEST

/* A changed data byte (no pointer) anywhere, the last thread's blocks
 * and the caller's tail included: the shares of every thread reach the
 * checksum, and a mismatch leaves every byte as it was. */
START_TEST(mt_checksum_mismatch_refused)
{
	size_t len, n = 4000;
	uint8_t *b = cm_test_list_blob(n, CM_ABSOLUTE_OFFSET, &len);
	struct cm_header h = raw_header(b);
	uint64_t at[] = { HDR, h.header_size + (h.data_end - HDR) / 2,
			  list_slot(n - 1) - 8 };

	b[at[_i]] ^= 0x40;
	for (int t = 1; t <= 8; t++) {
		struct cm_error e = { 0 };

		ck_assert_int_eq(mt_refused(b, len, 0, t, &e), EBADMSG);
		expect_code(&e, CM_E_CHECKSUM);
	}
	free(b);
}
END_TEST

/* A table large enough for its hash shares to be added up by the threads
 * (and the blocks between their entries by the caller): the same bytes as
 * one thread, and a changed byte still refused. */
START_TEST(mt_large_table_shares)
{
	size_t len, n = modes[_i] == CM_ABSOLUTE_OFFSET ? 40000 : 300000;
	uint8_t *b = cm_test_list_blob(n, modes[_i], &len);
	uint8_t *w = zalloc(len), *want = zalloc(len);
	struct cm_header h = raw_header(b);
	struct cm_error e = { 0 };

	ck_assert_uint_ge(h.table_size, 256 * 1024);
	memcpy(w, b, len);
	ck_assert_ptr_nonnull(cm_deserialize_flags(w, len, 0, NULL));
	memcpy(want, w, len);
	for (int t = 2; t <= 5; t++) {
		memcpy(w, b, len);
		ck_assert_ptr_nonnull(cm_deserialize_mt(w, len, 0, t, &e));
		ck_assert_mem_eq(w, want, len);
	}
	b[HDR + (h.data_end - HDR) / 3] ^= 1;	/* an x field */
	for (int t = 2; t <= 5; t++) {
		ck_assert_int_eq(mt_refused(b, len, 0, t, &e), EBADMSG);
		expect_code(&e, CM_E_CHECKSUM);
	}
	free(want);
	free(w);
	free(b);
}
END_TEST

START_TEST(mt_unsorted_table_refused)
{
	size_t len, n = 4000;
	uint8_t *b = cm_test_list_blob(n, CM_ABSOLUTE_OFFSET, &len);
	struct cm_header h = raw_header(b);
	uint64_t t0 = h.table_offset, tl = t0 + 8 * (h.pointer_count - 1);
	uint64_t mid = t0 + 8 * (h.pointer_count / 2);
	uint64_t a = ld64(b + t0);

	/* First and last entries swapped: different parts. */
	st64(b + t0, ld64(b + tl));
	st64(b + tl, a);
	for (int t = 1; t <= 8; t++) {
		struct cm_error e = { 0 };

		ck_assert_int_eq(mt_refused(b, len, CM_TRUSTED, t, &e),
				 EBADMSG);
	}
	/* Back in order, then two neighbours in the middle swapped. */
	st64(b + tl, ld64(b + t0));
	st64(b + t0, a);
	a = ld64(b + mid);
	st64(b + mid, ld64(b + mid + 8));
	st64(b + mid + 8, a);
	for (int t = 1; t <= 8; t++)
		mt_refused(b, len, CM_TRUSTED, t, NULL);
	free(b);
}
END_TEST

/*
 * An absolute header claiming 2^61 + n pointers for a table of 8n bytes:
 * "table_size == 8 * count" must not wrap, or the trusted multi-thread
 * path searches a table of 2^61 entries far outside the blob.
 */
START_TEST(mt_wrapped_count_refused)
{
	size_t len;
	uint8_t *b = cm_test_list_blob(100, CM_ABSOLUTE_OFFSET, &len);
	struct cm_header h = raw_header(b);

	st64(b + H_COUNT, (1ULL << 61) + h.pointer_count);
	for (int t = 1; t <= 4; t++)
		ck_assert_int_eq(mt_refused(b, len, CM_TRUSTED, t, NULL),
				 EBADMSG);
	free(b);
}
END_TEST

/*
 * Regression (relocate.c, cm_deserialize_mt, fixed): part 0 started at the
 * first entry whose slot is >= header_size, so leading entries whose slots
 * lie in the header were neither checked nor relocated. Expected NULL,
 * EBADMSG (CM_E_SLOT, as with one thread).
 */
START_TEST(mt_slot_in_the_header_refused)
{
	size_t len;
	uint8_t *b = cm_test_list_blob(100, CM_ABSOLUTE_OFFSET, &len);
	struct cm_header h = raw_header(b);

	st64(b + h.table_offset, 40);	/* entry 0: the capacity field */
	for (int t = 1; t <= 4; t++) {
		struct cm_error e = { 0 };

		ck_assert_int_eq(mt_refused(b, len, CM_TRUSTED, t, &e),
				 EBADMSG);
		expect_code(&e, CM_E_SLOT);
		ck_assert_uint_eq(e.offset, h.table_offset);
	}
	free(b);
}
END_TEST

/* A relative table is split by summing its deltas up to each part's
 * first entry: the same bytes as one thread, and the same defects. */
START_TEST(mt_relative_same_bytes)
{
	size_t len;
	uint8_t *b = cm_test_list_blob(500, CM_RELATIVE_OFFSET, &len);
	uint8_t *w = cm_test_copy(b, len), *want;

	ck_assert_ptr_nonnull(cm_deserialize(w, len));
	want = cm_test_copy(w, len);
	for (int t = 1; t <= 4; t++) {
		memcpy(w, b, len);
		ck_assert_ptr_eq(cm_deserialize_mt(w, len, 0, t, NULL),
				 w + HDR + 16 * 499);
		ck_assert_mem_eq(w, want, len);
	}
	/* And refuses the same defects. */
	st64(b + list_slot(499), 8);
	reseal(b);
	ck_assert_int_eq(mt_refused(b, len, CM_TRUSTED, 4, NULL), EBADMSG);
	free(want);
	free(w);
	free(b);
}
END_TEST

/* An entry the summing cannot read (an overlong VLQ late in the table):
 * one thread takes the blob and names the entry; nothing changes. */
START_TEST(mt_relative_unreadable_entry)
{
	size_t len, n = 4000;
	uint8_t *b = cm_test_list_blob(n, CM_RELATIVE_OFFSET, &len);
	struct cm_header h = raw_header(b);
	uint64_t at = h.table_offset + h.pointer_count - 3;
	struct cm_error e = { 0 };

	/* 0x82 0x00 spells 2 overlong; the table keeps its size. */
	b[at] = 0x82;
	b[at + 1] = 0x00;
	reseal(b);
	for (int t = 2; t <= 4; t++) {
		ck_assert_int_eq(mt_refused(b, len, 0, t, &e), EBADMSG);
		expect_code(&e, CM_E_ENCODING);
		ck_assert_uint_eq(e.offset, at);
	}
	free(b);
}
END_TEST

Suite *cm_test_suite(void)
{
	Suite *s = suite_create("threads");
	TCase *tc;

	tc = tcase_create("multi-thread");
	tcase_add_checked_fixture(tc, split_small_blobs, NULL);
	tcase_add_loop_test(tc, mt_same_bytes_as_one_thread, 0, 2);
	tcase_add_test(tc, mt_thread_count_bounds);
	tcase_add_loop_test(tc, mt_defect_leaves_the_blob_unchanged, 0, 6);
	tcase_add_loop_test(tc, mt_checksum_mismatch_refused, 0, 3);
	tcase_add_loop_test(tc, mt_large_table_shares, 0, 2);
	tcase_add_test(tc, mt_unsorted_table_refused);
	tcase_add_test(tc, mt_wrapped_count_refused);
	tcase_add_test(tc, mt_slot_in_the_header_refused);
	tcase_add_test(tc, mt_relative_same_bytes);
	tcase_add_test(tc, mt_relative_unreadable_entry);
	suite_add_tcase(s, tc);
	return s;
}
