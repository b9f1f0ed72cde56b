/* SPDX-License-Identifier: MIT */
/* cm_convert: mode round trips, rebasing, the relative bound, refusals. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "test-util.h"
#include "../lib/cma-private.h"

struct node {
	uint64_t x;
	struct node *next;
};

/* Convert, expecting success; the output, validated. */
static struct cm_test_sink convert_ok(const void *blob, size_t len,
				      int mode, uint64_t base)
{
	struct cm_test_sink m = { 0 };
	struct cm_error e = { 0 };

	ck_assert_msg(cm_convert(blob, len, mode, base, 0, cm_test_write, &m,
				 &e) == 0, "convert: %s", e.message);
	ck_assert_msg(cm_check(m.p, m.len, CM_CHECK_EXACT, &e) == 0,
		      "output refused: %s (%s at 0x%llx)", e.message,
		      cm_error_name(e.code), (unsigned long long)e.offset);
	return m;
}

/* Relocate a copy and walk the list: nodes-1 down to 0. */
static void assert_list(const void *blob, size_t len, size_t nodes)
{
	void *copy = cm_test_copy(blob, len);
	struct cm_error e;
	struct node *n = cm_deserialize_flags(copy, len, 0, &e);
	size_t count = 0;

	ck_assert_msg(n != NULL, "deserialize: %s", e.message);
	for (; n; n = n->next, count++) {
		require((uint8_t *)n >= (uint8_t *)copy &&
			(uint8_t *)n < (uint8_t *)copy + len);
		require_eq(n->x, nodes - 1 - count);
	}
	ck_assert_uint_eq(count, nodes);
	free(copy);
}

/*
 * The converted list `a` walks, and `b`, converted back, is the input
 * `blob` byte for byte. Frees all three.
 */
static void assert_round_trip(struct cm_test_sink *a, struct cm_test_sink *b,
			      uint8_t *blob, size_t len, size_t nodes)
{
	assert_list(a->p, a->len, nodes);
	ck_assert_uint_eq(b->len, len);
	ck_assert_mem_eq(b->p, blob, len);
	free(a->p);
	free(b->p);
	free(blob);
}

/* The same slots and targets, entry by entry. */
static void assert_same_relocs(const void *a, size_t alen, const void *b,
			       size_t blen)
{
	struct cm_reloc_iter ia, ib;
	struct cm_reloc ra, rb;
	int na, nb;

	ck_assert_int_eq(cm_reloc_begin(&ia, a, alen, NULL), 0);
	ck_assert_int_eq(cm_reloc_begin(&ib, b, blen, NULL), 0);
	do {
		na = cm_reloc_next(&ia, &ra, NULL);
		nb = cm_reloc_next(&ib, &rb, NULL);
		ck_assert_int_eq(na, nb);
		if (na == 1) {
			ck_assert_uint_eq(ra.slot, rb.slot);
			ck_assert_uint_eq(ra.target, rb.target);
		}
	} while (na == 1);
	ck_assert_int_eq(na, 0);
}

static const int modes[] = { CM_RELATIVE_OFFSET, CM_ABSOLUTE_OFFSET };
static const size_t sizes[] = { 1, 7, 5000 };	/* 5000: several chunks */

/* mode -> other mode -> mode gives back the input, byte for byte. */
START_TEST(round_trip_modes)
{
	int mode = modes[_i % 2], other = modes[1 - _i % 2];
	size_t nodes = sizes[_i / 2], len;
	uint8_t *blob = cm_test_list_blob_flags(nodes, mode, 0, &len);
	struct cm_test_sink a = convert_ok(blob, len, other, UINT64_MAX);
	struct cm_test_sink b = convert_ok(a.p, a.len, mode, UINT64_MAX);
	struct cm_header ha = cm_test_header(a.p, a.len);
	struct cm_header h = cm_test_header(blob, len);

	ck_assert_uint_eq(ha.mode, other);
	ck_assert_uint_eq(ha.base, h.base);
	ck_assert_uint_eq(ha.capacity, h.capacity);
	ck_assert_uint_eq(ha.pointer_count, h.pointer_count);
	if (other == CM_ABSOLUTE_OFFSET)
		ck_assert_uint_eq(ha.table_size, 8 * h.pointer_count);
	assert_same_relocs(blob, len, a.p, a.len);
	assert_round_trip(&a, &b, blob, len, nodes);
}
END_TEST

/*
 * A chain of six nodes, five slots: the first over 1 KiB in, then 1 MiB,
 * 20 MiB, 16 B and 24 B apart, relative entries of 2, 3, 4, 1 and 1
 * bytes. *len gets the blob's length.
 */
static uint8_t *spread_blob(int mode, size_t *len)
{
	static const size_t gaps[] = { 0, 1 << 10, 1 << 20, 20 << 20, 0, 8 };

	return cm_test_spread_list_blob(6, gaps, 24 << 20, mode, 0, len);
}

/* Every relative entry length, both ways, byte for byte. */
START_TEST(round_trip_long_deltas)
{
	int mode = modes[_i], other = modes[1 - _i];
	size_t len;
	uint8_t *blob = spread_blob(mode, &len);
	struct cm_test_sink a = convert_ok(blob, len, other, UINT64_MAX);
	struct cm_test_sink b = convert_ok(a.p, a.len, mode, UINT64_MAX);
	struct cm_header h = cm_test_header(mode == CM_RELATIVE_OFFSET
					    ? blob : a.p,
					    mode == CM_RELATIVE_OFFSET
					    ? len : a.len);

	ck_assert_uint_eq(h.pointer_count, 5);
	ck_assert_uint_eq(h.table_size, 2 + 3 + 4 + 1 + 1);
	assert_same_relocs(blob, len, a.p, a.len);
	ck_assert_uint_eq(b.len, len);
	ck_assert_mem_eq(b.p, blob, len);
	free(a.p);
	free(b.p);
	free(blob);
}
END_TEST

/* Mode 0 and the recorded base: an exact copy. */
START_TEST(identity_copy)
{
	size_t len;
	uint8_t *blob = cm_test_list_blob_flags(20, modes[_i], 0, &len);
	struct cm_test_sink m = convert_ok(blob, len, 0, UINT64_MAX);

	ck_assert_uint_eq(m.len, len);
	ck_assert_mem_eq(m.p, blob, len);
	free(m.p);
	free(blob);
}
END_TEST

/* Sections are copied and move with the table. */
START_TEST(round_trip_object_map)
{
	int mode = modes[_i], other = modes[1 - _i];
	size_t len;
	uint8_t *blob = cm_test_list_blob_flags(30, mode, CM_OBJECT_MAP, &len);
	struct cm_header h = cm_test_header(blob, len);
	struct cm_test_sink a = convert_ok(blob, len, other, UINT64_MAX);
	struct cm_test_sink b = convert_ok(a.p, a.len, mode, UINT64_MAX);
	struct cm_object oa[64], ob[64];
	ssize_t na, nb;

	ck_assert_uint_gt(h.sections_size, 0);
	na = cm_object_map(blob, len, oa, 64, NULL);
	nb = cm_object_map(a.p, a.len, ob, 64, NULL);
	ck_assert_int_eq(na, 30);
	ck_assert_int_eq(na, nb);
	ck_assert_mem_eq(oa, ob, (size_t)na * sizeof *oa);
	ck_assert_int_eq(cm_check(a.p, a.len, CM_CHECK_EXACT | CM_CHECK_STRICT,
				  NULL), 0);
	assert_round_trip(&a, &b, blob, len, 30);
}
END_TEST

/* Rebase to X (and to 0), then back: the input again. */
START_TEST(rebase_and_back)
{
	static const uint64_t bases[] = { 0x7f0000001000ULL, 0, 8 };
	size_t len;
	uint8_t *blob = cm_test_list_blob_flags(3000, modes[_i % 2], 0, &len);
	uint64_t x = bases[_i / 2];
	struct cm_header h = cm_test_header(blob, len), hx;
	struct cm_test_sink a = convert_ok(blob, len, 0, x);
	struct cm_test_sink b = convert_ok(a.p, a.len, 0, h.base);
	struct cm_reloc_iter it;
	struct cm_reloc r;
	int n;

	hx = cm_test_header(a.p, a.len);
	ck_assert_uint_eq(hx.base, x);
	/* The checksum is computed as if the base were 0. */
	ck_assert_uint_eq(hx.checksum, h.checksum);
	ck_assert_uint_eq(hx.mode, h.mode);
	ck_assert_uint_eq(a.len, len);
	/* Only pointers, the base and the checksum may differ. */
	ck_assert_int_ne(memcmp(a.p, blob, len), 0);
	ck_assert_int_eq(cm_reloc_begin(&it, a.p, a.len, NULL), 0);
	while ((n = cm_reloc_next(&it, &r, NULL)) == 1)
		ck_assert_uint_eq(r.value,
				  cm_load64(blob + r.slot) - h.base
				  + x);
	ck_assert_int_eq(n, 0);
	assert_round_trip(&a, &b, blob, len, 3000);
}
END_TEST

/* Rebase and change the mode at once; undo both at once. */
START_TEST(rebase_with_mode)
{
	int mode = modes[_i], other = modes[1 - _i];
	size_t len;
	uint8_t *blob = cm_test_list_blob_flags(100, mode, 0, &len);
	struct cm_header h = cm_test_header(blob, len);
	struct cm_test_sink a = convert_ok(blob, len, other, 0x100000);
	struct cm_test_sink b = convert_ok(a.p, a.len, mode, h.base);

	ck_assert_uint_eq(cm_test_header(a.p, a.len).base, 0x100000);
	assert_round_trip(&a, &b, blob, len, 100);
}
END_TEST

/*
 * Absolute to relative with the recorded base as high as the relative blob
 * allows: the absolute table's size would wrap the address space there,
 * the relative one's does not. One step higher is refused.
 */
START_TEST(relative_at_top_of_address_space)
{
	size_t len;
	uint8_t *blob = cm_test_list_blob_flags(100, CM_ABSOLUTE_OFFSET, 0,
						&len);
	struct cm_header h = cm_test_header(blob, len);
	struct cm_test_sink rel = convert_ok(blob, len, CM_RELATIVE_OFFSET,
					     UINT64_MAX);
	uint64_t top = (0 - (uint64_t)rel.len - 1) & ~7ULL;
	struct cm_test_sink a = convert_ok(blob, len, CM_RELATIVE_OFFSET, top);
	struct cm_test_sink b = convert_ok(a.p, a.len, 0, h.base);
	struct cm_test_sink none = { 0 };

	require(top + len < top);	/* the absolute size wraps */
	ck_assert_uint_eq(cm_test_header(a.p, a.len).base, top);
	ck_assert_uint_eq(b.len, rel.len);
	ck_assert_mem_eq(b.p, rel.p, rel.len);
	errno = 0;
	ck_assert_int_eq(cm_convert(blob, len, CM_RELATIVE_OFFSET, top + 8, 0,
				    cm_test_write, &none, NULL), -1);
	ck_assert_int_eq(errno, EINVAL);
	ck_assert_uint_eq(none.len, 0);
	free(none.p);
	free(a.p);
	free(b.p);
	free(rel.p);
	free(blob);
}
END_TEST

/*
 * An absolute blob whose data ends at 2^31 + 8, in a sparse mapping: one
 * slot at offset 128 pointing to 136. Its checksum is left 0: it is read
 * with CM_CHECK_NO_CHECKSUM, so only the few touched pages exist.
 */
START_TEST(relative_bound_refused)
{
	const uint64_t data_end = (1ULL << 31) + 8, base = 0x10000;
	const uint64_t blob_size = data_end + 8;
	size_t map_len = blob_size + 4096;
	uint8_t *p = mmap(NULL, map_len, PROT_READ | PROT_WRITE,
			  MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	struct cm_test_sink m = { 0 };
	struct cm_error e = { 0 };

	ck_assert_ptr_ne(p, MAP_FAILED);
	memcpy(p, "\x89" "CMA\r\n\x1a\n", 8);
	p[8] = 1;				/* version 1.0 */
	cm_store32(p + 12, 128);		/* header size */
	cm_store32(p + 16, CM_ABSOLUTE_OFFSET);
	cm_store64(p + 32, base);
	cm_store64(p + 40, blob_size);		/* capacity */
	cm_store64(p + 48, 128);		/* root */
	cm_store64(p + 56, data_end);
	cm_store64(p + 64, data_end);		/* table offset */
	cm_store64(p + 72, 8);			/* table size */
	cm_store64(p + 80, 1);			/* pointer count */
	cm_store64(p + 104, blob_size);
	cm_store64(p + 128, base + 136);	/* the slot */
	cm_store64(p + data_end, 128);		/* the table */
	ck_assert_msg(cm_check(p, blob_size, CM_CHECK_NO_CHECKSUM
			       | CM_CHECK_EXACT, &e) == 0, "%s", e.message);

	errno = 0;
	ck_assert_int_eq(cm_convert(p, blob_size, CM_RELATIVE_OFFSET,
				    UINT64_MAX, CM_CHECK_NO_CHECKSUM,
				    cm_test_write, &m, &e), -1);
	ck_assert_int_eq(errno, EBADMSG);
	ck_assert_int_eq(e.code, CM_E_CONVERT);
	ck_assert_uint_eq(m.calls, 0);
	/* The same with a rebase: still refused, still nothing written. */
	ck_assert_int_eq(cm_convert(p, blob_size, CM_RELATIVE_OFFSET, 0,
				    CM_CHECK_NO_CHECKSUM, cm_test_write, &m,
				    &e), -1);
	ck_assert_int_eq(e.code, CM_E_CONVERT);
	ck_assert_uint_eq(m.calls, 0);
	/* Without the flag the (zero) checksum is a defect, found first:
	 * do not run it, it would hash 2 GiB. */
	munmap(p, map_len);
}
END_TEST

/* Every single-byte corruption: cm_convert agrees with cm_check. */
START_TEST(defects_as_check)
{
	size_t len;
	uint8_t *blob = cm_test_list_blob_flags(3, modes[_i], 0, &len);
	uint8_t *bad = malloc(len + 8);

	ck_assert_ptr_nonnull(bad);
	for (size_t i = 0; i < len; i++) {
		for (unsigned bit = 0; bit < 8; bit += 3) {
			struct cm_error ec = { 0 }, ev = { 0 };
			struct cm_test_sink m = { 0 };
			int rc, rv;

			memcpy(bad, blob, len);
			bad[i] ^= (uint8_t)(1u << bit);
			rc = cm_check(bad, len, CM_CHECK_EXACT, &ec);
			errno = 0;
			rv = cm_convert(bad, len, 0, UINT64_MAX, 0,
					cm_test_write, &m, &ev);
			ck_assert_int_eq(rv, rc);
			if (rc == 0) {
				free(m.p);
				continue;
			}
			ck_assert_int_eq(errno, EBADMSG);
			ck_assert_msg(ev.code == ec.code,
				      "byte %zu bit %u: %s, check says %s", i,
				      bit, cm_error_name(ev.code),
				      cm_error_name(ec.code));
			ck_assert_uint_eq(ev.offset, ec.offset);
			ck_assert_str_eq(ev.message, ec.message);
			ck_assert_uint_eq(m.calls, 0);
		}
	}
	/* The exact length is implied: trailing bytes are a defect. */
	{
		struct cm_error e = { 0 };
		struct cm_test_sink m = { 0 };

		memcpy(bad, blob, len);
		memset(bad + len, 0, 8);
		ck_assert_int_eq(cm_convert(bad, len + 8, 0, UINT64_MAX, 0,
					    cm_test_write, &m, &e), -1);
		ck_assert_int_eq(e.code, CM_E_LENGTH);
		ck_assert_int_eq(cm_convert(bad, len - 1, 0, UINT64_MAX, 0,
					    cm_test_write, &m, &e), -1);
		ck_assert_int_eq(e.code, CM_E_TRUNCATED);
		ck_assert_uint_eq(m.calls, 0);
	}
	free(bad);
	free(blob);
}
END_TEST

/* The writer's errno comes back, whichever call fails. */
START_TEST(writer_failure)
{
	size_t len;
	uint8_t *blob = cm_test_list_blob_flags(5000, modes[_i], 0, &len);
	struct cm_test_sink ok = convert_ok(blob, len, 0, 0);
	unsigned calls = ok.calls;

	ck_assert_uint_ge(calls, 2);
	for (unsigned at = 1; at <= calls; at++) {
		struct cm_test_sink m = { .fail_at = at, .fail_errno = ENOSPC };

		errno = 0;
		ck_assert_int_eq(cm_convert(blob, len, 0, 0, 0, cm_test_write,
					    &m, NULL), -1);
		ck_assert_int_eq(errno, ENOSPC);
		ck_assert_uint_eq(m.calls, at);
		free(m.p);
	}
	/* A writer that fails without errno still stops the conversion. */
	{
		struct cm_test_sink m = { .fail_at = 1, .fail_errno = 0 };

		ck_assert_int_eq(cm_convert(blob, len, 0, 0, 0, cm_test_write,
					    &m, NULL), -1);
		ck_assert_int_eq(errno, EIO);
	}
	free(ok.p);
	free(blob);
}
END_TEST

START_TEST(bad_arguments)
{
	size_t len;
	uint8_t *blob = cm_test_list_blob_flags(4, CM_RELATIVE_OFFSET, 0, &len);
	struct cm_test_sink m = { 0 };

	errno = 0;
	ck_assert_int_eq(cm_convert(blob, len, 3, UINT64_MAX, 0, cm_test_write,
				    &m, NULL), -1);
	ck_assert_int_eq(errno, EINVAL);
	errno = 0;
	ck_assert_int_eq(cm_convert(blob, len, 0, 4, 0, cm_test_write, &m,
				    NULL), -1);
	ck_assert_int_eq(errno, EINVAL);
	errno = 0;	/* base + blob size wraps */
	ck_assert_int_eq(cm_convert(blob, len, 0, UINT64_MAX - 7, 0,
				    cm_test_write, &m, NULL), -1);
	ck_assert_int_eq(errno, EINVAL);
	errno = 0;
	ck_assert_int_eq(cm_convert(blob, len, 0, UINT64_MAX, 0, NULL, &m,
				    NULL), -1);
	ck_assert_int_eq(errno, EINVAL);
	errno = 0;
	ck_assert_int_eq(cm_convert(NULL, len, 0, UINT64_MAX, 0, cm_test_write,
				    &m, NULL), -1);
	ck_assert_int_eq(errno, EINVAL);
	errno = 0;
	ck_assert_int_eq(cm_convert(blob, len, 0, UINT64_MAX, 0x100,
				    cm_test_write, &m, NULL), -1);
	ck_assert_int_eq(errno, EINVAL);
	ck_assert_uint_eq(m.calls, 0);
	free(blob);
}
END_TEST

Suite *cm_test_suite(void)
{
	Suite *s = suite_create("convert");
	TCase *tc;

	tc = tcase_create("round trip");
	tcase_add_loop_test(tc, round_trip_modes, 0, 6);
	tcase_add_loop_test(tc, round_trip_long_deltas, 0, 2);
	tcase_add_loop_test(tc, identity_copy, 0, 2);
	tcase_add_loop_test(tc, round_trip_object_map, 0, 2);
	suite_add_tcase(s, tc);

	tc = tcase_create("rebase");
	tcase_add_loop_test(tc, rebase_and_back, 0, 6);
	tcase_add_loop_test(tc, rebase_with_mode, 0, 2);
	tcase_add_test(tc, relative_at_top_of_address_space);
	suite_add_tcase(s, tc);

	tc = tcase_create("refuses");
	tcase_add_test(tc, relative_bound_refused);
	tcase_add_loop_test(tc, defects_as_check, 0, 2);
	tcase_add_loop_test(tc, writer_failure, 0, 2);
	tcase_add_test(tc, bad_arguments);
	suite_add_tcase(s, tc);
	return s;
}
