/* SPDX-License-Identifier: MIT */
/* The type section: encode, decode, attach, strip, and every refusal. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "test-util.h"
#include "../lib/cma-private.h"

/* struct lnode { uint64_t x; struct lnode *next; } as a description:
 * 0 unsigned long, 1 struct lnode *, 2 struct lnode. */
static struct cm_type list_types[] = {
	{ .kind = CM_TYPE_UINT, .name = "unsigned long", .size = 8,
	  .target = CM_TYPE_NONE },
	{ .kind = CM_TYPE_POINTER, .size = 8, .target = 2 },
	{ .kind = CM_TYPE_STRUCT, .name = "struct lnode", .size = 16,
	  .target = CM_TYPE_NONE, .first_member = 0, .member_count = 2 },
};
static struct cm_type_member list_members[] = {
	{ .name = "x", .type = 0, .offset = 0 },
	{ .name = "next", .type = 1, .offset = 8 },
};
static const struct cm_types list_desc = {
	.root = 2, .type_count = 3, .member_count = 2,
	.types = list_types, .members = list_members,
};

static void *encoded(const struct cm_types *t, size_t *n)
{
	void *p = NULL;

	ck_assert_int_eq(cm_types_encode(t, &p, n, NULL), 0);
	return p;
}

START_TEST(round_trip)
{
	size_t n;
	void *p = encoded(&list_desc, &n);
	struct cm_error e;
	struct cm_types *t = cm_types_decode(p, n, &e);

	ck_assert_msg(t != NULL, "decode: %s", e.message);
	ck_assert_uint_eq(t->root, 2);
	ck_assert_uint_eq(t->type_count, 3);
	ck_assert_uint_eq(t->member_count, 2);
	ck_assert_str_eq(t->types[2].name, "struct lnode");
	ck_assert_ptr_null(t->types[1].name);
	ck_assert_uint_eq(t->types[1].target, 2);
	ck_assert_str_eq(t->members[1].name, "next");
	ck_assert_uint_eq(t->members[1].offset, 8);
	ck_assert_uint_eq(cm_types_find(t, "struct lnode"), 2);
	ck_assert_uint_eq(cm_types_find(t, "struct other"), CM_TYPE_NONE);
	/* 24 header + 3 x 32 + 2 x 24 + strings */
	ck_assert_uint_eq(n, 24 + 96 + 48 + sizeof "unsigned long"
			  + sizeof "struct lnode" + sizeof "x"
			  + sizeof "next");
	cm_types_free(t);
	free(p);
}
END_TEST

static struct cm_test_sink attach(const void *blob, size_t len,
				  const struct cm_types *t)
{
	struct cm_test_sink m = { 0 };
	struct cm_error e = { 0 };

	ck_assert_msg(cm_types_attach(blob, len, t, 0, cm_test_write, &m,
				      &e) == 0, "attach: %s", e.message);
	ck_assert_msg(cm_check(m.p, m.len, CM_CHECK_EXACT, &e) == 0,
		      "attached blob refused: %s", e.message);
	return m;
}

START_TEST(attach_and_strip)
{
	size_t len;
	void *blob = cm_test_list_blob_flags(10, CM_RELATIVE_OFFSET,
					     CM_OBJECT_MAP, &len);
	struct cm_test_sink with = attach(blob, len, &list_desc);
	struct cm_test_sink again = attach(with.p, with.len, &list_desc);
	struct cm_test_sink without = attach(with.p, with.len, NULL);
	struct cm_types *t = cm_types_read(with.p, with.len, NULL);
	struct cm_header h = cm_test_header(with.p, with.len);

	ck_assert_ptr_nonnull(t);
	ck_assert_str_eq(t->types[t->root].name, "struct lnode");
	ck_assert(h.optional_flags & CM_OPT_TYPES);
	/* Attaching twice replaces, never duplicates. */
	ck_assert_uint_eq(again.len, with.len);
	ck_assert_mem_eq(again.p, with.p, with.len);
	/* Stripping gives the input back, object map kept. */
	ck_assert_uint_eq(without.len, len);
	ck_assert_mem_eq(without.p, blob, len);
	ck_assert_int_eq(cm_object_map(with.p, with.len, NULL, 0, NULL), 10);
	errno = 0;
	ck_assert_ptr_null(cm_types_read(blob, len, NULL));
	ck_assert_int_eq(errno, ENOENT);
	cm_types_free(t);
	free(with.p);
	free(again.p);
	free(without.p);
	free(blob);
}
END_TEST

/* Offset of type i's record, of member i's record, in a payload. */
#define TYPE_AT(i) (24 + 32 * (i))
#define MEMBER_AT(i) (24 + 32 * 3 + 24 * (i))

/* A broken payload: byte edits of the list's, then cm_types_decode and,
 * attached to a blob, cm_check refuse it with CM_E_SECTION at `at`. */
static void refused(const char *what, size_t pos, const void *bytes,
		    size_t n, uint64_t at)
{
	size_t len, plen;
	uint8_t *p = encoded(&list_desc, &plen);
	void *blob = cm_test_list_blob(4, CM_ABSOLUTE_OFFSET, &len);
	struct cm_test_sink m = attach(blob, len, &list_desc);
	struct cm_header h = cm_test_header(m.p, m.len);
	uint64_t payload_at = h.sections_offset + CM_SECTION_HEADER;
	struct cm_error e = { 0 };

	memcpy(p + pos, bytes, n);
	errno = 0;
	ck_assert_msg(cm_types_decode(p, plen, &e) == NULL, "%s decoded",
		      what);
	ck_assert_int_eq(errno, EBADMSG);
	expect_code(&e, CM_E_SECTION);
	ck_assert_msg(e.offset == at, "%s: offset %llu, not %llu (%s)", what,
		      (unsigned long long)e.offset, (unsigned long long)at,
		      e.message);
	/* The same bytes inside a blob (checksum redone by hand). */
	memcpy(m.p + payload_at, p, plen);
	h.checksum = cm_checksum_compute(m.p, &h);
	cm_store64(m.p + CM_H_CHECKSUM, h.checksum);
	check_refused(m.p, m.len, 0, CM_E_SECTION, payload_at + at);
	free(p);
	free(m.p);
	free(blob);
}

START_TEST(hostile_sections)
{
	const uint32_t big = 1000000, three = 3, nineteen = 19;
	const uint64_t nine = 9, twelve = 12;
	const uint8_t kind99 = 99, flag = 4, bits = 70;

	refused("absurd type count", 8, &big, 4, 8);
	refused("root past the types", 4, &three, 4, 4);
	refused("unknown kind", TYPE_AT(0), &kind99, 1, TYPE_AT(0));
	refused("unknown flag", TYPE_AT(0) + 1, &flag, 1, TYPE_AT(0));
	refused("name outside the strings", TYPE_AT(2) + 4, &big, 4,
		TYPE_AT(2));
	refused("pointer to no type", TYPE_AT(1) + 16, &big, 4, TYPE_AT(1));
	refused("struct smaller than its fields", TYPE_AT(2) + 8, &twelve, 8,
		MEMBER_AT(1));
	refused("field outside the type", MEMBER_AT(1) + 8, &nine, 8,
		MEMBER_AT(1));
	refused("field of a later type", MEMBER_AT(0) + 4, &three, 4,
		MEMBER_AT(0));
	refused("a field of its own type", MEMBER_AT(0) + 4,
		&(uint32_t){ 2 }, 4, MEMBER_AT(0));
	refused("bitfield too wide", MEMBER_AT(0) + 18, &bits, 1,
		MEMBER_AT(0));
	refused("bitfield past the type", MEMBER_AT(1) + 16,
		&(uint8_t[]){ 1, 0, 64, 0 }, 4, MEMBER_AT(1));
	refused("enumerator on a struct's member count", TYPE_AT(2) + 28,
		&(uint32_t){ 5 }, 4, TYPE_AT(2));
	refused("members owned by no type", TYPE_AT(2) + 28,
		&(uint32_t){ 1 }, 4, 12);
	/* The strings end the payload: 168 + 34 bytes. */
	refused("string table without its NUL", 201, &flag, 1, 201);
	refused("reserved header field", 20, &nineteen, 4, 20);
}
END_TEST

START_TEST(array_rules)
{
	struct cm_type ty[] = {
		{ .kind = CM_TYPE_CHAR, .name = "char", .size = 1,
		  .target = CM_TYPE_NONE },
		{ .kind = CM_TYPE_ARRAY, .size = 12, .target = 0, .count = 12 },
		{ .kind = CM_TYPE_ARRAY, .size = 12, .target = 2, .count = 12 },
	};
	struct cm_types t = { .root = 1, .type_count = 2, .types = ty };
	void *p;
	size_t n;

	ck_assert_int_eq(cm_types_encode(&t, &p, &n, NULL), 0);
	free(p);
	ty[1].size = 11;	/* not count x element */
	ck_assert_int_eq(cm_types_encode(&t, &p, &n, NULL), -1);
	ck_assert_int_eq(errno, EINVAL);
	t.type_count = 3;	/* an array of itself */
	t.root = 2;
	ck_assert_int_eq(cm_types_encode(&t, &p, &n, NULL), -1);
}
END_TEST

START_TEST(root_type_must_fit)
{
	size_t len;
	void *blob = cm_test_list_blob(1, CM_RELATIVE_OFFSET, &len);
	struct cm_type ty[] = {
		{ .kind = CM_TYPE_STRUCT, .name = "struct big", .size = 4096,
		  .target = CM_TYPE_NONE },
	};
	struct cm_types t = { .root = 0, .type_count = 1, .types = ty };
	struct cm_test_sink m = { 0 };
	struct cm_error e = { 0 };

	ck_assert_int_eq(cm_types_attach(blob, len, &t, 0, cm_test_write, &m,
					 &e), -1);
	expect_code(&e, CM_E_SECTION);
	ck_assert_uint_eq(m.len, 0);
	free(blob);
}
END_TEST

START_TEST(later_version_skipped)
{
	size_t len;
	void *blob = cm_test_list_blob(3, CM_RELATIVE_OFFSET, &len);
	struct cm_test_sink m = attach(blob, len, &list_desc);
	struct cm_header h = cm_test_header(m.p, m.len);
	uint8_t *payload = m.p + h.sections_offset + CM_SECTION_HEADER;
	struct cm_error e;

	cm_store32(payload, 2);
	cm_store32(payload + 8, 12345);	/* unreadable as version 1 */
	h.checksum = cm_checksum_compute(m.p, &h);
	cm_store64(m.p + CM_H_CHECKSUM, h.checksum);
	check_valid(m.p, m.len, CM_CHECK_EXACT);
	errno = 0;
	ck_assert_ptr_null(cm_types_read(m.p, m.len, &e));
	ck_assert_int_eq(errno, ENOTSUP);
	free(m.p);
	free(blob);
}
END_TEST

/* cm_reloc_bitmap: the same slots cm_reloc_next gives, both modes, and
 * the table's defects refused as the iterator refuses them. */
START_TEST(reloc_bitmap_agrees)
{
	static const int modes[] = { CM_RELATIVE_OFFSET, CM_ABSOLUTE_OFFSET };

	for (size_t m = 0; m < 2; m++) {
		size_t len;
		uint8_t *blob = cm_test_list_blob(300, modes[m], &len);
		struct cm_header h = cm_test_header(blob, len);
		size_t words = h.data_end / 512 + 1;
		uint64_t *bits = malloc(words * 8), *want = calloc(words, 8);
		struct cm_reloc_iter it;
		struct cm_reloc r;
		struct cm_error e;
		size_t n = 0;

		ck_assert_ptr_nonnull(bits);
		ck_assert_ptr_nonnull(want);
		memset(bits, 0xff, words * 8);	/* zeroed by the call */
		ck_assert_int_eq(cm_reloc_begin(&it, blob, len, NULL), 0);
		while (cm_reloc_next(&it, &r, NULL) == 1) {
			want[r.slot / 512] |= 1ULL << (r.slot / 8 % 64);
			n++;
		}
		ck_assert_int_eq(cm_reloc_bitmap(blob, len, bits, words, &e),
				 (ssize_t)n);
		ck_assert_mem_eq(bits, want, words * 8);
		errno = 0;
		ck_assert_int_eq(cm_reloc_bitmap(blob, len, bits, words - 1,
						 NULL), -1);
		ck_assert_int_eq(errno, EINVAL);
		/* One entry more in the header's count than the table has
		 * (offset 80, doc/format.md). */
		h.pointer_count++;
		memcpy(blob + 80, &h.pointer_count, 8);
		errno = 0;
		ck_assert_int_eq(cm_reloc_bitmap(blob, len, bits, words, &e),
				 -1);
		ck_assert_int_eq(errno, EBADMSG);
		free(bits);
		free(want);
		free(blob);
	}
}
END_TEST

Suite *cm_test_suite(void)
{
	Suite *s = suite_create("types");
	TCase *tc = tcase_create("section");

	tcase_add_test(tc, round_trip);
	tcase_add_test(tc, attach_and_strip);
	tcase_add_test(tc, hostile_sections);
	tcase_add_test(tc, array_rules);
	tcase_add_test(tc, root_type_must_fit);
	tcase_add_test(tc, later_version_skipped);
	tcase_add_test(tc, reloc_bitmap_agrees);
	suite_add_tcase(s, tc);
	return s;
}
