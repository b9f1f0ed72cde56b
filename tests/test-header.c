/* SPDX-License-Identifier: MIT */
/* The header rules of doc/format.md: each field's range, the section fields,
 * a header that grows in a minor version, truncation and exact length. */
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

/* ==== header fields ==== */

/* Header checks come before anything else: no reseal needed, and none
 * possible for fields that send the checksum out of bounds. */
static void hdr_refused(const uint8_t *orig, size_t len, size_t buflen,
			unsigned field, unsigned width, uint64_t value,
			int code, uint64_t offset)
{
	uint8_t *b = zalloc(buflen);
	struct cm_header h;
	struct cm_error e;

	memcpy(b, orig, len);
	if (width == 8)
		st64(b + field, value);
	else if (width == 4)
		st32(b + field, (uint32_t)value);
	else
		memcpy(b + field, &value, width);
	memset(&e, 0, sizeof e);
	errno = 0;
	ck_assert_int_eq(cm_header_read(b, buflen, &h, &e), -1);
	ck_assert_int_eq(errno, EBADMSG);
	expect_code(&e, code);
	ck_assert_msg(e.offset == offset, "field %u = 0x%llx: %s at %llu, "
		      "expected %llu", field, (unsigned long long)value,
		      cm_error_name(code), (unsigned long long)e.offset,
		      (unsigned long long)offset);
	check_refused(b, buflen, 0, code, offset);
	deser_refused(b, buflen, CM_TRUSTED, code);
	free(b);
}

START_TEST(header_rules)
{
	size_t len;
	uint8_t *b = cm_test_list_blob(5, modes[_i], &len);
	struct cm_header h = raw_header(b);
	size_t big = len + 64;
	const bool rel = h.mode == CM_RELATIVE_OFFSET;

	check_valid(b, len, CM_CHECK_EXACT);
	hdr_refused(b, len, big, H_MAGIC, 1, 0x88, CM_E_MAGIC, 0);
	hdr_refused(b, len, big, H_MAGIC + 7, 1, 0x0d, CM_E_MAGIC, 0);
	hdr_refused(b, len, big, H_MAJOR, 2, 2, CM_E_VERSION, H_MAJOR);
	hdr_refused(b, len, big, H_MAJOR, 2, 0, CM_E_VERSION, H_MAJOR);
	hdr_refused(b, len, big, H_REQUIRED, 4, 1, CM_E_UNSEALED, H_REQUIRED);
	hdr_refused(b, len, big, H_REQUIRED, 4, 2, CM_E_REQUIRED_FLAG,
		    H_REQUIRED);
	hdr_refused(b, len, big, H_REQUIRED, 4, 0x80000000u,
		    CM_E_REQUIRED_FLAG, H_REQUIRED);
	hdr_refused(b, len, big, H_HSIZE, 4, 120, CM_E_HEADER, H_HSIZE);
	hdr_refused(b, len, big, H_HSIZE, 4, 0, CM_E_HEADER, H_HSIZE);
	hdr_refused(b, len, big, H_HSIZE, 4, 132, CM_E_HEADER, H_HSIZE);
	hdr_refused(b, len, big, H_MODE, 4, 0, CM_E_MODE, H_MODE);
	hdr_refused(b, len, big, H_MODE, 4, 3, CM_E_MODE, H_MODE);
	hdr_refused(b, len, big, H_RES0, 4, 1, CM_E_PADDING, H_RES0);
	hdr_refused(b, len, big, H_RES1 + 7, 1, 1, CM_E_PADDING, H_RES1);
	hdr_refused(b, len, big, H_ROOT, 8, h.data_end, CM_E_ROOT, H_ROOT);
	hdr_refused(b, len, big, H_ROOT, 8, HDR - 8, CM_E_ROOT, H_ROOT);
	{	/* no data: the root and table offset are wrong too */
		uint8_t *c = cm_test_copy(b, len);
		struct cm_error e = { 0 };

		st64(c + H_DATA_END, HDR);
		ck_assert_int_eq(cm_check(c, len, 0, &e), -1);
		ck_assert(e.code == CM_E_HEADER || e.code == CM_E_ROOT);
		free(c);
	}
	hdr_refused(b, len, big, H_TABLE_OFFSET, 8, h.table_offset + 8,
		    CM_E_HEADER, H_TABLE_OFFSET);
	hdr_refused(b, len, big, H_TABLE_OFFSET, 8, h.data_end - 8,
		    CM_E_HEADER, H_TABLE_OFFSET);
	hdr_refused(b, len, big, H_SECTIONS_OFFSET, 8, al8(len), CM_E_HEADER,
		    H_SECTIONS_OFFSET);
	hdr_refused(b, len, big, H_BLOB_SIZE, 8, len + 8, CM_E_HEADER,
		    H_BLOB_SIZE);
	hdr_refused(b, len, big, H_BLOB_SIZE, 8, len - 1, CM_E_HEADER,
		    H_BLOB_SIZE);
	hdr_refused(b, len, big, H_BASE, 8, h.base + 4, CM_E_HEADER, H_BASE);
	hdr_refused(b, len, big, H_BASE, 8, UINT64_MAX - 7, CM_E_HEADER,
		    H_BASE);
	/* Every 64-bit field below 2^62. */
	static const unsigned limited[] = {
		H_CAPACITY, H_ROOT, H_DATA_END, H_TABLE_OFFSET, H_TABLE_SIZE,
		H_COUNT, H_SECTIONS_OFFSET, H_SECTIONS_SIZE, H_BLOB_SIZE,
	};
	for (size_t i = 0; i < sizeof limited / sizeof *limited; i++) {
		hdr_refused(b, len, big, limited[i], 8, 1ULL << 62,
			    CM_E_HEADER, limited[i]);
		hdr_refused(b, len, big, limited[i], 8, UINT64_MAX,
			    CM_E_HEADER, limited[i]);
	}
	/* Relative data over 2 GiB is a mode defect; absolute, not. */
	if (rel) {
		hdr_refused(b, len, big, H_DATA_END, 8, 1ULL << 31, CM_E_MODE,
			    H_DATA_END);
		hdr_refused(b, len, big, H_COUNT, 8, h.table_size + 1,
			    CM_E_COUNT, H_COUNT);
		hdr_refused(b, len, big, H_COUNT, 8, (h.table_size + 3) / 4
			    - 1, CM_E_COUNT, H_COUNT);
	} else {
		struct cm_header h2;
		struct cm_error e;
		uint8_t *c = cm_test_copy(b, len);

		st64(c + H_DATA_END, 1ULL << 31);
		ck_assert_int_eq(cm_header_read(c, len, &h2, &e), -1);
		ck_assert_int_ne(e.code, CM_E_MODE);
		free(c);
		hdr_refused(b, len, big, H_COUNT, 8, h.pointer_count + 1,
			    CM_E_COUNT, H_COUNT);
		hdr_refused(b, len, big, H_COUNT, 8, h.pointer_count - 1,
			    CM_E_COUNT, H_COUNT);
	}
	/* 2^63 pointers: refused by the header, not by reading 2^63. */
	hdr_refused(b, len, big, H_COUNT, 8, 1ULL << 63, CM_E_HEADER, H_COUNT);
	free(b);
}
END_TEST

/* sections_size not a multiple of 8, or sections_offset set alone. */
START_TEST(header_section_fields)
{
	size_t len;
	uint8_t *b = cm_test_list_blob(5, modes[_i], &len);
	struct cm_header h = raw_header(b);
	uint64_t soff = al8(h.table_offset + h.table_size);
	uint8_t *c = zalloc(len + 64);
	struct cm_error e;

	memcpy(c, b, len);
	st64(c + H_SECTIONS_OFFSET, soff);	/* size 0, offset set */
	check_refused(c, len + 64, 0, CM_E_HEADER, H_SECTIONS_OFFSET);
	st64(c + H_SECTIONS_SIZE, 12);		/* not a multiple of 8 */
	st64(c + H_BLOB_SIZE, soff + 12);
	ck_assert_int_eq(cm_check(c, len + 64, 0, &e), -1);
	expect_code(&e, CM_E_HEADER);
	ck_assert(e.offset == H_SECTIONS_OFFSET
		  || e.offset == H_SECTIONS_SIZE);
	st64(c + H_SECTIONS_SIZE, 16);		/* offset not the table end */
	st64(c + H_SECTIONS_OFFSET, soff + 8);
	st64(c + H_BLOB_SIZE, soff + 24);
	check_refused(c, len + 64, 0, CM_E_HEADER, H_SECTIONS_OFFSET);
	free(c);
	free(b);
}
END_TEST

/* Minor versions may grow the header; flags they add are optional. */
START_TEST(header_may_grow)
{
	size_t len, len2;
	uint8_t *b = cm_test_list_blob(6, modes[_i], &len);
	uint8_t *g = rebuild(b, 144, 0xee, NULL, 0, &len2);
	struct lnode *root;

	ck_assert_uint_eq(len2 - len, 16);
	check_valid(g, len2, CM_CHECK_EXACT | CM_CHECK_STRICT);
	/* The extra bytes count in the checksum. */
	g[136] ^= 1;
	check_refused(g, len2, 0, CM_E_CHECKSUM, H_CHECKSUM);
	g[136] ^= 1;
	root = cm_deserialize(g, len2);
	ck_assert_ptr_eq(root, g + 144 + 16 * 5);
	for (uint64_t x = 5;; x--) {
		ck_assert_uint_eq(root->x, x);
		if (!root->next)
			break;
		root = root->next;
	}
	/* A later minor version, unknown optional flags. */
	free(g);
	g = rebuild(b, HDR, 0, NULL, 0, &len2);
	ck_assert_mem_eq(g, b, len);	/* our encoder agrees */
	st32(g + H_OPTIONAL, 0xfffffffe);
	g[H_MINOR] = 7;
	reseal(g);
	check_valid(g, len2, CM_CHECK_EXACT);
	free(g);
	free(b);
}
END_TEST

START_TEST(truncation_and_exact_length)
{
	size_t len;
	uint8_t *b = cm_test_list_blob(6, modes[_i], &len);
	uint8_t *c = zalloc(len + 8);

	memcpy(c, b, len);
	check_refused(c, 7, 0, CM_E_MAGIC, 0);
	check_refused(c, 100, 0, CM_E_TRUNCATED, 100);
	check_refused(c, len - 1, 0, CM_E_TRUNCATED, len - 1);
	check_valid(c, len + 1, 0);		/* the tail is ignored */
	c[len] = 0xff;
	check_valid(c, len + 8, 0);
	check_refused(c, len + 1, CM_CHECK_EXACT, CM_E_LENGTH, len);
	check_valid(c, len, CM_CHECK_EXACT);
	ck_assert_ptr_nonnull(cm_deserialize(c, len + 8));
	ck_assert_uint_eq(c[len], 0xff);
	free(c);
	free(b);
}
END_TEST

Suite *cm_test_suite(void)
{
	Suite *s = suite_create("header");
	TCase *tc;

	tc = tcase_create("header");
	tcase_add_loop_test(tc, header_rules, 0, 2);
	tcase_add_loop_test(tc, header_section_fields, 0, 2);
	tcase_add_loop_test(tc, header_may_grow, 0, 2);
	tcase_add_loop_test(tc, truncation_and_exact_length, 0, 2);
	suite_add_tcase(s, tc);
	return s;
}
