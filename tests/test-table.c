/* SPDX-License-Identifier: MIT */
/* The relocation table iterator: every entry decoded as doc/format.md says,
 * its encoded bytes, and iteration past a bad pointer. */
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

/* ==== relocation iterator ==== */

/* Slot deltas in 8-byte units: LEB128 sizes 1, 2, 2, 3, 3, 4. */
static const uint64_t units[] = { 127, 128, 16383, 16384, 2097151, 2097152 };
static const unsigned leb_len[] = { 1, 2, 2, 3, 3, 4 };
enum { UNITS = sizeof units / sizeof units[0] };

START_TEST(iterator_reads_every_entry)
{
	size_t cap = 40 << 20;
	struct cm_attr *mem = cm_create(-1, cap, MAP_PRIVATE,
					CM_NO_HUGEPAGES);
	struct lnode *n[UNITS + 1];
	uint64_t slot[UNITS + 1];
	uint8_t *base;

	ck_assert_ptr_nonnull(mem);
	base = cm_get_base(mem);
	ck_assert_int_eq(cm_alloc(mem, &n[0], sizeof *n[0]), 0);
	slot[0] = (uint64_t)((uint8_t *)&n[0]->next - base);
	for (int i = 1; i <= UNITS; i++) {
		void *gap;

		ck_assert_int_eq(cm_alloc(mem, &gap, units[i - 1] * 8 - 16),
				 0);
		ck_assert_int_eq(cm_alloc(mem, &n[i], sizeof *n[i]), 0);
		slot[i] = (uint64_t)((uint8_t *)&n[i]->next - base);
		ck_assert_uint_eq(slot[i] - slot[i - 1], units[i - 1] * 8);
	}
	/* Every next non-NULL: n[i] -> n[i-1], n[0] -> the last. */
	ck_assert_int_eq(cm_ptr_to(mem, &n[0]->next, n[UNITS]), 0);
	for (int i = 1; i <= UNITS; i++)
		ck_assert_int_eq(cm_ptr_to(mem, &n[i]->next, n[i - 1]), 0);

	for (int m = 0; m < 2; m++) {
		uint8_t *blob = cm_serialize(mem, n[0], modes[m], 0);
		size_t len = (size_t)cm_get_size(mem);
		struct cm_header h = raw_header(blob);
		struct cm_reloc_iter it;
		struct cm_reloc r;
		struct cm_error e;
		uint64_t at = h.table_offset, prev = 0;

		ck_assert_ptr_nonnull(blob);
		check_valid(blob, len, CM_CHECK_EXACT);
		ck_assert_int_eq(cm_reloc_begin(&it, blob, len, &e), 0);
		for (int i = 0; i <= UNITS; i++) {
			uint8_t enc[16];
			unsigned elen;
			uint64_t want = (uint64_t)(uintptr_t)
					(i ? n[i - 1] : n[UNITS]);

			memset(&r, 0xcc, sizeof r);
			ck_assert_int_eq(cm_reloc_next(&it, &r, &e), 1);
			ck_assert_uint_eq(r.index, i);
			ck_assert_uint_eq(r.slot, slot[i]);
			ck_assert_uint_eq(r.delta, slot[i] - prev);
			ck_assert_uint_eq(r.value, want);
			ck_assert_uint_eq(r.target, want - h.base);
			ck_assert_uint_eq(r.target,
					  (uint64_t)((uint8_t *)(uintptr_t)want
						     - base));
			ck_assert_uint_eq(r.encoded_at, at);
			if (modes[m] == CM_ABSOLUTE_OFFSET) {
				st64(enc, slot[i]);
				elen = 8;
			} else {
				elen = leb(r.delta / 8, enc);
				if (i)
					ck_assert_uint_eq(elen, leb_len[i - 1]);
			}
			ck_assert_uint_eq(r.encoded_len, elen);
			ck_assert_mem_eq(r.encoded, enc, elen);
			ck_assert_mem_eq(blob + at, enc, elen);
			at += elen;
			prev = slot[i];
		}
		ck_assert_int_eq(cm_reloc_next(&it, &r, &e), 0);
		ck_assert_uint_eq(at, h.table_offset + h.table_size);
	}
	cm_delete(mem, CM_ERASE);
}
END_TEST

START_TEST(iterator_goes_on_after_a_bad_pointer)
{
	size_t len;
	uint8_t *b = cm_test_list_blob(6, modes[_i], &len);
	struct cm_header h = raw_header(b);
	struct cm_reloc_iter it;
	struct cm_reloc r;
	struct cm_error e;

	st64(b + list_slot(2), h.base + h.data_end + 8);	/* index 1 */
	st64(b + list_slot(4), 0);				/* index 3 */
	ck_assert_int_eq(cm_reloc_begin(&it, b, len, NULL), 0);
	for (uint64_t i = 0; i < 5; i++) {
		int rc = cm_reloc_next(&it, &r, &e);

		ck_assert_uint_eq(r.index, i);
		ck_assert_uint_eq(r.slot, list_slot(i + 1));
		if (i == 1 || i == 3) {
			ck_assert_int_eq(rc, -1);
			ck_assert_int_eq(errno, EBADMSG);
			expect_code(&e, CM_E_POINTER);
			ck_assert_uint_eq(e.offset, list_slot(i + 1));
			ck_assert_uint_eq(e.index, i);
		} else {
			ck_assert_int_eq(rc, 1);
			ck_assert_uint_eq(r.target, HDR + 16 * i);
		}
	}
	ck_assert_int_eq(cm_reloc_next(&it, &r, &e), 0);
	/* A header defect: no iterator. */
	b[H_MODE] = 5;
	errno = 0;
	ck_assert_int_eq(cm_reloc_begin(&it, b, len, &e), -1);
	ck_assert_int_eq(errno, EBADMSG);
	expect_code(&e, CM_E_MODE);
	free(b);
}
END_TEST

Suite *cm_test_suite(void)
{
	Suite *s = suite_create("table");
	TCase *tc;

	tc = tcase_create("relocation iterator");
	tcase_add_test(tc, iterator_reads_every_entry);
	tcase_add_loop_test(tc, iterator_goes_on_after_a_bad_pointer, 0, 2);
	suite_add_tcase(s, tc);
	return s;
}
