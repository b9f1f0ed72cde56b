/* SPDX-License-Identifier: MIT */
/* Validation against doc/format.md: every defect named, counted and placed,
 * and nothing else refused. Blobs are taken apart and rebuilt here with an
 * encoder of our own, so the library does not grade its own work. */
#include <errno.h>
#include <stdbool.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "test-util.h"
#include "../lib/cma-private.h"

static const int modes[] = { CM_RELATIVE_OFFSET, CM_ABSOLUTE_OFFSET };

/* Header field offsets, as doc/format.md tables them. */
enum {
	H_MAGIC = 0, H_MAJOR = 8, H_MINOR = 10, H_HSIZE = 12, H_MODE = 16,
	H_REQUIRED = 20, H_OPTIONAL = 24, H_RES0 = 28, H_BASE = 32,
	H_CAPACITY = 40, H_ROOT = 48, H_DATA_END = 56, H_TABLE_OFFSET = 64,
	H_TABLE_SIZE = 72, H_COUNT = 80, H_SECTIONS_OFFSET = 88,
	H_SECTIONS_SIZE = 96, H_BLOB_SIZE = 104, H_CHECKSUM = 112,
	H_RES1 = 120,
};

#define HDR 128u

/* ---- bytes ---- */

static uint64_t ld64(const uint8_t *p)
{
	uint64_t v;

	memcpy(&v, p, 8);
	return v;
}

static void st64(uint8_t *p, uint64_t v)
{
	memcpy(p, &v, 8);
}

static uint32_t ld32(const uint8_t *p)
{
	uint32_t v;

	memcpy(&v, p, 4);
	return v;
}

static void st32(uint8_t *p, uint32_t v)
{
	memcpy(p, &v, 4);
}

static uint64_t al8(uint64_t x)
{
	return (x + 7) & ~7ULL;
}

/* A zeroed, 64-byte aligned buffer. */
static uint8_t *zalloc(size_t n)
{
	uint8_t *p = aligned_alloc(64, (n + 63) & ~(size_t)63);

	ck_assert_ptr_nonnull(p);
	memset(p, 0, (n + 63) & ~(size_t)63);
	return p;
}

/* The header fields as they stand, whether or not they make sense. */
static struct cm_header raw_header(const uint8_t *b)
{
	struct cm_header h;

	memset(&h, 0, sizeof h);
	memcpy(&h.version_major, b + H_MAJOR, 2);
	memcpy(&h.version_minor, b + H_MINOR, 2);
	h.header_size = ld32(b + H_HSIZE);
	h.mode = ld32(b + H_MODE);
	h.required_flags = ld32(b + H_REQUIRED);
	h.optional_flags = ld32(b + H_OPTIONAL);
	h.base = ld64(b + H_BASE);
	h.capacity = ld64(b + H_CAPACITY);
	h.root = ld64(b + H_ROOT);
	h.data_end = ld64(b + H_DATA_END);
	h.table_offset = ld64(b + H_TABLE_OFFSET);
	h.table_size = ld64(b + H_TABLE_SIZE);
	h.pointer_count = ld64(b + H_COUNT);
	h.sections_offset = ld64(b + H_SECTIONS_OFFSET);
	h.sections_size = ld64(b + H_SECTIONS_SIZE);
	h.blob_size = ld64(b + H_BLOB_SIZE);
	h.checksum = ld64(b + H_CHECKSUM);
	return h;
}

/* Store the checksum of the blob as it now is: only the defect we made
 * remains. */
static void reseal(uint8_t *b)
{
	struct cm_header h = raw_header(b);

	st64(b + H_CHECKSUM, cm_checksum_compute(b, &h));
}

/* Unsigned LEB128, written from the spec. */
static unsigned leb(uint64_t v, uint8_t *out)
{
	unsigned n = 0;

	do {
		out[n] = v & 0x7f;
		v >>= 7;
		if (v)
			out[n] |= 0x80;
		n++;
	} while (v);
	return n;
}

/* The slot offsets of a well-formed table, decoded here (malloc'd). */
static uint64_t *table_slots(const uint8_t *b, size_t *count)
{
	struct cm_header h = raw_header(b);
	const uint8_t *p = b + h.table_offset, *end = p + h.table_size;
	uint64_t *s = calloc(h.pointer_count + 1, sizeof *s), prev = 0;
	size_t n = 0;

	ck_assert_ptr_nonnull(s);
	while (p < end) {
		uint64_t v = 0;
		unsigned shift = 0;

		ck_assert_uint_lt(n, h.pointer_count);
		if (h.mode == CM_ABSOLUTE_OFFSET) {
			v = ld64(p);
			p += 8;
		} else {
			do {
				v |= (uint64_t)(*p & 0x7f) << shift;
				shift += 7;
			} while (*p++ & 0x80);
			v = prev + v * 8;
		}
		s[n++] = prev = v;
	}
	ck_assert_uint_eq(n, h.pointer_count);
	*count = n;
	return s;
}

/*
 * Rebuild blob `b` (no sections) with a header of `hsize` bytes whose bytes
 * past 128 are `fill`, and `sec` (a multiple of 8) as its sections. The data
 * moves up by hsize - 128 and the recorded base down as much, so every slot
 * keeps its value. The table is encoded here.
 */
static uint8_t *rebuild(const uint8_t *b, uint32_t hsize, uint8_t fill,
			const uint8_t *sec, uint64_t sec_size, size_t *len)
{
	struct cm_header h = raw_header(b);
	uint64_t d = hsize - HDR, dend = h.data_end + d, toff = al8(dend);
	uint64_t tsize = 0, prev = 0, soff = 0, bsize;
	size_t n;
	uint64_t *slots = table_slots(b, &n);
	uint8_t *out = zalloc(toff + n * 8 + 8 + sec_size + 8);

	ck_assert_uint_eq(h.sections_size, 0);
	memcpy(out, b, HDR);
	memset(out + HDR, fill, d);
	memcpy(out + hsize, b + HDR, h.data_end - HDR);
	for (size_t i = 0; i < n; i++) {
		uint64_t s = slots[i] + d;

		if (h.mode == CM_ABSOLUTE_OFFSET) {
			st64(out + toff + tsize, s);
			tsize += 8;
		} else {
			tsize += leb((s - prev) / 8, out + toff + tsize);
		}
		prev = s;
	}
	bsize = toff + tsize;
	if (sec_size) {
		soff = al8(bsize);
		memcpy(out + soff, sec, sec_size);
		bsize = soff + sec_size;
	}
	st32(out + H_HSIZE, hsize);
	st64(out + H_BASE, h.base - d);
	st64(out + H_ROOT, h.root + d);
	st64(out + H_DATA_END, dend);
	st64(out + H_TABLE_OFFSET, toff);
	st64(out + H_TABLE_SIZE, tsize);
	st64(out + H_SECTIONS_OFFSET, soff);
	st64(out + H_SECTIONS_SIZE, sec_size);
	st64(out + H_BLOB_SIZE, bsize);
	reseal(out);
	free(slots);
	*len = bsize;
	return out;
}

/*
 * Append a section {type, flags, size, payload, padding} to blob `b`
 * (with or without sections), padding bytes set to `pad`.
 */
static uint8_t *append_section(const uint8_t *b, uint32_t type,
			       uint32_t flags, const void *payload,
			       uint64_t size, uint8_t pad, size_t *len)
{
	struct cm_header h = raw_header(b);
	uint64_t soff = h.sections_size ? h.sections_offset
			: al8(h.table_offset + h.table_size);
	uint64_t at = soff + h.sections_size;
	uint64_t total = at + 16 + al8(size);
	uint8_t *out = zalloc(total);

	memcpy(out, b, h.blob_size);
	st32(out + at, type);
	st32(out + at + 4, flags);
	st64(out + at + 8, size);
	if (size)
		memcpy(out + at + 16, payload, size);
	memset(out + at + 16 + size, pad, al8(size) - size);
	st64(out + H_SECTIONS_OFFSET, soff);
	st64(out + H_SECTIONS_SIZE, total - soff);
	st64(out + H_BLOB_SIZE, total);
	reseal(out);
	*len = total;
	return out;
}

/* ---- outcomes ---- */

static void expect_code(const struct cm_error *e, int code)
{
	ck_assert_msg(e->code == code, "got %s, expected %s (%s)",
		      cm_error_name(e->code), cm_error_name(code), e->message);
}

/* cm_check refuses with `code` at `offset`. */
static void refused(const uint8_t *b, size_t len, int flags, int code,
		    uint64_t offset)
{
	struct cm_error e;

	memset(&e, 0xa5, sizeof e);
	errno = 0;
	ck_assert_int_eq(cm_check(b, len, flags, &e), -1);
	ck_assert_int_eq(errno, EBADMSG);
	expect_code(&e, code);
	ck_assert_msg(e.offset == offset, "%s at 0x%llx, expected 0x%llx (%s)",
		      cm_error_name(code), (unsigned long long)e.offset,
		      (unsigned long long)offset, e.message);
	ck_assert_ptr_nonnull(memchr(e.message, 0, sizeof e.message));
}

static void valid(const uint8_t *b, size_t len, int flags)
{
	struct cm_error e = { 0 };

	ck_assert_msg(cm_check(b, len, flags, &e) == 0, "refused: %s at 0x%llx"
		      " (%s)", cm_error_name(e.code),
		      (unsigned long long)e.offset, e.message);
}

/* cm_deserialize_flags refuses with `code`, every byte left as it was. */
static void deser_refused(const uint8_t *b, size_t len, int flags, int code)
{
	uint8_t *w = cm_test_copy(b, len);
	struct cm_error e;

	memset(&e, 0, sizeof e);
	errno = 0;
	ck_assert_ptr_null(cm_deserialize_flags(w, len, flags, &e));
	ck_assert_int_eq(errno, EBADMSG);
	expect_code(&e, code);
	ck_assert_mem_eq(w, b, len);
	free(w);
}

/*
 * cm_deserialize_mt with `threads` refuses a copy of b, every byte left as
 * it was; `e` (optional) gets the report. Returns the errno it left.
 */
static int mt_refused(const uint8_t *b, size_t len, int flags, int threads,
		      struct cm_error *e)
{
	uint8_t *w = cm_test_copy(b, len);
	int err;

	errno = 0;
	ck_assert_msg(!cm_deserialize_mt(w, len, flags, threads, e),
		      "%d threads accepted the blob", threads);
	err = errno;
	ck_assert_mem_eq(w, b, len);
	free(w);
	return err;
}

struct reports {
	size_t n;
	size_t stop_at;		/* return non-zero at this report; 0 never */
	struct cm_error e[64];
};

static int collect(void *ctx, const struct cm_error *e)
{
	struct reports *r = ctx;

	if (r->n < 64)
		r->e[r->n] = *e;
	r->n++;
	return r->stop_at && r->n >= r->stop_at;
}

/* ---- samples ---- */

struct lnode {
	uint64_t x;
	struct lnode *next;
};

/* cm_test_list_blob: node i at 128 + 16 i; slot of node i (i >= 1) at
 * 136 + 16 i, pointing to node i - 1. */
static uint64_t list_slot(size_t i)
{
	return HDR + 16 * i + 8;
}

/* ==== cm_check_all ==== */

/* Three slot values outside the data, resealed: three reports. */
static uint8_t *three_bad_pointers(int mode, size_t *len, uint64_t at[3])
{
	uint8_t *b = cm_test_list_blob(9, mode, len);
	struct cm_header h = raw_header(b);
	static const size_t idx[3] = { 1, 4, 7 };

	for (int k = 0; k < 3; k++)
		at[k] = list_slot(idx[k] + 1);
	st64(b + at[0], h.base + h.data_end + 8);	/* past the end */
	st64(b + at[1], h.base + 64);			/* in the header */
	st64(b + at[2], 0);				/* NULL, listed */
	reseal(b);
	return b;
}

START_TEST(check_all_reports_each_defect_in_order)
{
	struct reports r = { 0 };
	uint64_t at[3];
	size_t len;
	uint8_t *b = three_bad_pointers(modes[_i], &len, at);
	struct cm_error first;

	errno = 0;
	ck_assert_int_eq(cm_check_all(b, len, 0, 0, collect, &r), -1);
	ck_assert_int_eq(errno, EBADMSG);
	ck_assert_uint_eq(r.n, 3);
	for (int k = 0; k < 3; k++) {
		expect_code(&r.e[k], CM_E_POINTER);
		ck_assert_uint_eq(r.e[k].offset, at[k]);
	}
	ck_assert_uint_eq(r.e[0].index, 1);
	ck_assert_uint_eq(r.e[1].index, 4);
	ck_assert_uint_eq(r.e[2].index, 7);
	/* cm_check names the first of them. */
	ck_assert_int_eq(cm_check(b, len, 0, &first), -1);
	expect_code(&first, CM_E_POINTER);
	ck_assert_uint_eq(first.offset, at[0]);
	ck_assert_uint_eq(first.index, 1);
	free(b);
}
END_TEST

START_TEST(check_all_reports_the_checksum_last)
{
	struct reports r = { 0 };
	uint64_t at[3];
	size_t len;
	uint8_t *b = three_bad_pointers(modes[_i], &len, at);

	b[at[0] - 8] ^= 1;	/* a data byte: the checksum no longer holds */
	ck_assert_int_eq(cm_check_all(b, len, 0, 0, collect, &r), -1);
	ck_assert_uint_eq(r.n, 4);
	expect_code(&r.e[3], CM_E_CHECKSUM);
	ck_assert_uint_eq(r.e[3].offset, H_CHECKSUM);
	/* Without the checksum, only the pointers. */
	r.n = 0;
	ck_assert_int_eq(cm_check_all(b, len, CM_CHECK_NO_CHECKSUM, 0,
				      collect, &r), -1);
	ck_assert_uint_eq(r.n, 3);
	free(b);
}
END_TEST

START_TEST(check_all_max_errors_and_stop)
{
	uint64_t at[3];
	size_t len;
	uint8_t *b = three_bad_pointers(modes[_i], &len, at);

	for (size_t max = 1; max <= 4; max++) {
		struct reports r = { 0 };

		ck_assert_int_eq(cm_check_all(b, len, 0, max, collect, &r),
				 -1);
		ck_assert_uint_eq(r.n, max < 3 ? max : 3);
		ck_assert_uint_eq(r.e[r.n - 1].offset, at[r.n - 1]);
	}
	for (size_t stop = 1; stop <= 3; stop++) {
		struct reports r = { .stop_at = stop };

		errno = 0;
		ck_assert_int_eq(cm_check_all(b, len, 0, 0, collect, &r), -1);
		ck_assert_int_eq(errno, EBADMSG);
		ck_assert_uint_eq(r.n, stop);
	}
	free(b);
}
END_TEST

/* A cut VLQ first: nothing after it can be decoded, one report. */
START_TEST(check_all_hard_defect_stops)
{
	struct reports r = { 0 };
	size_t len;
	uint8_t *b = cm_test_list_blob(9, CM_RELATIVE_OFFSET, &len);
	struct cm_header h = raw_header(b);

	st64(b + list_slot(5), h.base + h.data_end + 8);
	st64(b + list_slot(8), 0);
	b[h.table_offset + 2] = 0x80;	/* entry 2: a continuation */
	b[h.table_offset + 3] = 0x80;
	b[h.table_offset + 4] = 0x80;
	b[h.table_offset + 5] = 0x80;	/* ... four: oversized */
	reseal(b);
	ck_assert_int_eq(cm_check_all(b, len, 0, 0, collect, &r), -1);
	ck_assert_uint_eq(r.n, 1);
	expect_code(&r.e[0], CM_E_ENCODING);
	ck_assert_uint_eq(r.e[0].offset, h.table_offset + 2);
	ck_assert_uint_eq(r.e[0].index, 2);
	free(b);
}
END_TEST

/*
 * Regression (check.c, walk_data, fixed): a pointer defect in a decodable
 * entry before an undecodable one in the same chunk was lost. Expected:
 * POINTER (index 1), then ENCODING (index 5), then nothing.
 */
START_TEST(check_all_defects_before_a_hard_one_are_reported)
{
	struct reports r = { 0 };
	size_t len;
	uint8_t *b = cm_test_list_blob(9, CM_RELATIVE_OFFSET, &len);
	struct cm_header h = raw_header(b);

	st64(b + list_slot(2), h.base + h.data_end + 8);	/* index 1 */
	b[h.table_offset + 5] = 0x81;	/* index 5: cut... */
	b[h.table_offset + 6] = 0x81;
	b[h.table_offset + 7] = 0x81;	/* ...at the table's end */
	reseal(b);
	ck_assert_int_eq(cm_check_all(b, len, 0, 0, collect, &r), -1);
	ck_assert_uint_eq(r.n, 2);
	expect_code(&r.e[0], CM_E_POINTER);
	ck_assert_uint_eq(r.e[0].index, 1);
	expect_code(&r.e[1], CM_E_ENCODING);
	ck_assert_uint_eq(r.e[1].offset, h.table_offset + 5);
	free(b);
}
END_TEST

START_TEST(check_all_header_defect_once)
{
	struct reports r = { 0 };
	size_t len;
	uint8_t *orig = cm_test_list_blob(5, modes[_i], &len);
	uint8_t *b = zalloc(len + 8);

	memcpy(b, orig, len);
	free(orig);
	b[H_MAJOR] = 2;
	errno = 0;
	ck_assert_int_eq(cm_check_all(b, len, 0, 0, collect, &r), -1);
	ck_assert_int_eq(errno, EBADMSG);
	ck_assert_uint_eq(r.n, 1);
	expect_code(&r.e[0], CM_E_VERSION);
	ck_assert_uint_eq(r.e[0].offset, H_MAJOR);
	b[H_MAJOR] = 1;
	/* A trailing byte with CM_CHECK_EXACT: one report too. */
	r.n = 0;
	ck_assert_int_eq(cm_check_all(b, len, CM_CHECK_EXACT, 0, collect, &r),
			 0);
	ck_assert_uint_eq(r.n, 0);
	ck_assert_int_eq(cm_check_all(b, len + 1, CM_CHECK_EXACT, 0, collect,
				      &r), -1);
	ck_assert_uint_eq(r.n, 1);
	expect_code(&r.e[0], CM_E_LENGTH);
	free(b);
}
END_TEST

START_TEST(check_all_valid_blob_never_reports)
{
	struct reports r = { 0 };
	size_t len;
	uint8_t *b = cm_test_list_blob(100, modes[_i], &len);

	ck_assert_int_eq(cm_check_all(b, len, 0, 0, collect, &r), 0);
	ck_assert_int_eq(cm_check_all(b, len, CM_CHECK_EXACT
				      | CM_CHECK_STRICT, 1, collect, &r), 0);
	ck_assert_uint_eq(r.n, 0);
	errno = 0;
	ck_assert_int_eq(cm_check_all(b, len, 0, 0, NULL, NULL), -1);
	ck_assert_int_eq(errno, EINVAL);
	errno = 0;
	ck_assert_int_eq(cm_check_all(b, len, 0x80, 0, collect, &r), -1);
	ck_assert_int_eq(errno, EINVAL);
	ck_assert_uint_eq(r.n, 0);
	free(b);
}
END_TEST

/* ==== object map ==== */

struct mnode {
	uint64_t x;
	struct mnode *next;
	char *name;
};

struct sample {
	uint8_t *blob;
	size_t len;
	uint64_t node[3], name[3];	/* offsets */
	uint64_t map;			/* offset of the first pair */
};

/* Three nodes, each with a name; next links n0 -> n1 -> n2. */
static void map_sample(struct sample *s)
{
	struct cm_attr *mem = cm_create(-1, 1 << 16, MAP_PRIVATE,
					CM_OBJECT_MAP);
	struct mnode *n[3];
	uint8_t *base, *blob;
	struct cm_header h;

	ck_assert_ptr_nonnull(mem);
	base = cm_get_base(mem);
	for (int i = 0; i < 3; i++) {
		ck_assert_int_eq(cm_alloc(mem, &n[i], sizeof *n[i]), 0);
		ck_assert_int_eq(cm_alloc(mem, &n[i]->name, 8), 0);
		n[i]->name[0] = 'a' + i;
		s->node[i] = (uint64_t)((uint8_t *)n[i] - base);
		s->name[i] = (uint64_t)((uint8_t *)n[i]->name - base);
	}
	for (int i = 0; i < 2; i++)
		ck_assert_int_eq(cm_ptr_to(mem, &n[i]->next, n[i + 1]), 0);
	blob = cm_serialize(mem, n[0], CM_ABSOLUTE_OFFSET, 0);
	ck_assert_ptr_nonnull(blob);
	s->len = (size_t)cm_get_size(mem);
	s->blob = cm_test_copy(blob, s->len);
	cm_delete(mem, CM_ERASE);
	h = raw_header(s->blob);
	ck_assert_uint_ne(h.sections_size, 0);
	ck_assert_uint_eq(ld32(s->blob + h.sections_offset), 1);
	ck_assert_uint_eq(ld64(s->blob + h.sections_offset + 8), 6 * 16);
	s->map = h.sections_offset + 16;
}

static uint64_t *pair(struct sample *s, int i, int field)
{
	return (uint64_t *)(s->blob + s->map + 16 * i + 8 * field);
}

START_TEST(object_map_lists_live_allocations)
{
	struct cm_attr *mem = cm_create(-1, 1 << 16, MAP_PRIVATE,
					CM_OBJECT_MAP);
	static const size_t sizes[] = { 8, 24, 16, 40, 8, 32, 16 };
	enum { N = sizeof sizes / sizeof sizes[0] };
	struct lnode *root;
	void *p[N], *again;
	uint64_t off[N + 1];
	struct cm_object out[N + 2];
	uint8_t *base, *blob;
	size_t len;
	ssize_t count;
	bool live[N + 1];
	size_t want = 0;

	ck_assert_ptr_nonnull(mem);
	base = cm_get_base(mem);
	for (int i = 0; i < N; i++) {
		ck_assert_int_eq(cm_alloc(mem, &p[i], sizes[i]), 0);
		off[i] = (uint64_t)((uint8_t *)p[i] - base);
		live[i] = true;
	}
	ck_assert_int_eq(cm_free(mem, p[1]), 0);
	ck_assert_int_eq(cm_free(mem, p[3]), 0);
	ck_assert_int_eq(cm_free(mem, p[5]), 0);
	live[1] = live[3] = live[5] = false;
	/* Reuse inside a freed block: the map shows the new, smaller one. */
	ck_assert_int_eq(cm_alloc(mem, &again, 8), 0);
	off[N] = (uint64_t)((uint8_t *)again - base);
	live[N] = true;
	root = p[2];
	ck_assert_int_eq(cm_ptr_to(mem, &root->next, p[6]), 0);
	blob = cm_serialize(mem, root, CM_RELATIVE_OFFSET, 0);
	ck_assert_ptr_nonnull(blob);
	len = (size_t)cm_get_size(mem);
	valid(blob, len, CM_CHECK_EXACT | CM_CHECK_STRICT);

	memset(out, 0xee, sizeof out);
	count = cm_object_map(blob, len, out, N + 2, NULL);
	for (int i = 0; i <= N; i++)
		want += live[i];
	ck_assert_int_eq(count, (ssize_t)want);
	for (ssize_t k = 0; k < count; k++) {
		int found = -1;

		if (k)	/* in order, disjoint */
			ck_assert_uint_le(out[k - 1].offset + out[k - 1].size,
					  out[k].offset);
		for (int i = 0; i <= N; i++)
			if (live[i] && off[i] == out[k].offset)
				found = i;
		ck_assert_msg(found >= 0, "object at 0x%llx was not allocated",
			      (unsigned long long)out[k].offset);
		ck_assert_uint_eq(out[k].size,
				  found == N ? 8 : sizes[found]);
	}
	ck_assert_uint_eq(out[count].offset, 0xeeeeeeeeeeeeeeeeULL);
	/* Fewer slots than objects: the count, and only max stored. */
	memset(out, 0xee, sizeof out);
	ck_assert_int_eq(cm_object_map(blob, len, out, 2, NULL), count);
	ck_assert_uint_eq(out[2].offset, 0xeeeeeeeeeeeeeeeeULL);
	ck_assert_int_eq(cm_object_map(blob, len, NULL, 0, NULL), count);
	errno = 0;
	ck_assert_int_eq(cm_object_map(blob, len, NULL, 1, NULL), -1);
	ck_assert_int_eq(errno, EINVAL);
	cm_delete(mem, CM_ERASE);
}
END_TEST

START_TEST(object_map_absent_without_the_flag)
{
	size_t len;
	uint8_t *b = cm_test_list_blob(10, modes[_i], &len);
	struct cm_object o;

	ck_assert_int_eq(cm_object_map(b, len, &o, 1, NULL), 0);
	valid(b, len, CM_CHECK_STRICT);
	b[H_MAJOR] = 9;
	errno = 0;
	ck_assert_int_eq(cm_object_map(b, len, &o, 1, NULL), -1);
	ck_assert_int_eq(errno, EBADMSG);
	free(b);
}
END_TEST

enum map_defect {
	MAP_UNSORTED, MAP_OVERLAP, MAP_PAST_END, MAP_IN_HEADER, MAP_ZERO,
	MAP_SLOT_OUTSIDE, MAP_SLOT_STRADDLES, MAP_DEFECTS
};

START_TEST(object_map_defects_refused)
{
	struct sample s;
	struct cm_header h;
	uint64_t slot = UINT64_MAX, index = UINT64_MAX;
	struct cm_error e;
	struct cm_object o[8];

	map_sample(&s);
	h = raw_header(s.blob);
	valid(s.blob, s.len, CM_CHECK_EXACT | CM_CHECK_STRICT);
	/* Pairs: n0, name0, n1, name1, n2, name2; n2's name ends the data. */
	ck_assert_uint_eq(*pair(&s, 0, 0), s.node[0]);
	ck_assert_uint_eq(*pair(&s, 5, 0) + *pair(&s, 5, 1), h.data_end);
	switch (_i) {
	case MAP_UNSORTED: {
		uint64_t o0 = *pair(&s, 0, 0), s0 = *pair(&s, 0, 1);

		*pair(&s, 0, 0) = *pair(&s, 1, 0);
		*pair(&s, 0, 1) = *pair(&s, 1, 1);
		*pair(&s, 1, 0) = o0;
		*pair(&s, 1, 1) = s0;
		break;
	}
	case MAP_OVERLAP:	/* name0 moved into n0 */
		*pair(&s, 1, 0) = s.node[0] + 16;
		break;
	case MAP_PAST_END:
		*pair(&s, 5, 1) += 8;
		break;
	case MAP_IN_HEADER:	/* n0 grows down into the header */
		*pair(&s, 0, 0) -= 8;
		*pair(&s, 0, 1) += 8;
		ck_assert_uint_lt(*pair(&s, 0, 0), HDR);
		break;
	case MAP_ZERO:
		*pair(&s, 1, 1) = 0;
		break;
	case MAP_SLOT_OUTSIDE:	/* n0 shrunk to its x: its next, name out */
		*pair(&s, 0, 1) = 8;
		slot = s.node[0] + 8;
		index = 0;
		break;
	case MAP_SLOT_STRADDLES:	/* n0 ends inside its `next` */
		*pair(&s, 0, 1) = 12;
		slot = s.node[0] + 8;
		index = 0;
		break;
	}
	reseal(s.blob);
	memset(&e, 0, sizeof e);
	ck_assert_int_eq(cm_check(s.blob, s.len, 0, &e), -1);
	expect_code(&e, CM_E_OBJECT_MAP);
	if (slot != UINT64_MAX) {	/* a slot defect names the slot */
		ck_assert_uint_eq(e.offset, slot);
		ck_assert_uint_eq(e.index, index);
		/* The map itself is well formed: it can be read. */
		ck_assert_int_eq(cm_object_map(s.blob, s.len, o, 8, NULL), 6);
	} else {		/* a map defect lies in the map */
		ck_assert_uint_ge(e.offset, h.sections_offset);
		ck_assert_uint_lt(e.offset, h.blob_size);
		errno = 0;
		ck_assert_int_eq(cm_object_map(s.blob, s.len, o, 8, &e), -1);
		ck_assert_int_eq(errno, EBADMSG);
		expect_code(&e, CM_E_OBJECT_MAP);
	}
	deser_refused(s.blob, s.len, 0, CM_E_OBJECT_MAP);
	deser_refused(s.blob, s.len, CM_TRUSTED, CM_E_OBJECT_MAP);
	free(s.blob);
}
END_TEST

START_TEST(object_map_not_whole_pairs)
{
	struct sample s;
	struct cm_header h;
	struct cm_error e;

	map_sample(&s);
	h = raw_header(s.blob);
	/* 88 bytes: five pairs and a half; the last 8 bytes left over. */
	st64(s.blob + h.sections_offset + 8, 88);
	reseal(s.blob);
	ck_assert_int_eq(cm_check(s.blob, s.len, 0, &e), -1);
	expect_code(&e, CM_E_SECTION);
	free(s.blob);
}
END_TEST

/*
 * Regression (check.c, check_object_map, fixed): after one map defect
 * cm_check_all went on with an empty map and reported every slot as lying
 * in no object. Expected one report, the map's.
 */
START_TEST(object_map_defect_reported_once)
{
	struct sample s;
	struct reports r = { 0 };

	map_sample(&s);
	*pair(&s, 1, 1) = 0;	/* name0: size 0; no slot lies in it */
	reseal(s.blob);
	ck_assert_int_eq(cm_check_all(s.blob, s.len, 0, 0, collect, &r), -1);
	ck_assert_uint_ge(r.n, 1);
	expect_code(&r.e[0], CM_E_OBJECT_MAP);
	for (size_t k = 1; k < r.n && k < 64; k++)
		ck_assert_msg(0, "extra report %zu: %s at 0x%llx (%s)", k,
			      cm_error_name(r.e[k].code),
			      (unsigned long long)r.e[k].offset,
			      r.e[k].message);
	free(s.blob);
}
END_TEST

struct dnode {
	uint64_t x;
	void *p;
};

/*
 * h(16) a(32) b(32) c(32) d(32) t(16), b and d freed: h->p into the
 * middle of b dangles; t->p one past the end of c is allowed.
 */
static uint8_t *dangling_sample(size_t *len, uint64_t *h_slot,
				uint64_t *t_slot, int variant)
{
	struct cm_attr *mem = cm_create(-1, 1 << 16, MAP_PRIVATE,
					CM_OBJECT_MAP);
	struct dnode *h, *t;
	char *a, *b, *c, *d;
	uint8_t *base, *blob, *copy;

	ck_assert_ptr_nonnull(mem);
	base = cm_get_base(mem);
	ck_assert_int_eq(cm_alloc(mem, &h, sizeof *h), 0);
	ck_assert_int_eq(cm_alloc(mem, &a, 32), 0);
	ck_assert_int_eq(cm_alloc(mem, &b, 32), 0);
	ck_assert_int_eq(cm_alloc(mem, &c, 32), 0);
	ck_assert_int_eq(cm_alloc(mem, &d, 32), 0);
	ck_assert_int_eq(cm_alloc(mem, &t, sizeof *t), 0);
	ck_assert_ptr_eq(b, a + 32);
	ck_assert_ptr_eq(d, c + 32);
	switch (variant) {
	case 0:		/* into freed b; one past c */
		ck_assert_int_eq(cm_ptr_to(mem, &h->p, b + 8), 0);
		ck_assert_int_eq(cm_ptr_to(mem, &t->p, c + 32), 0);
		break;
	case 1:		/* start of freed b = one past a; one past the data */
		ck_assert_int_eq(cm_ptr_to(mem, &h->p, b), 0);
		ck_assert_int_eq(cm_ptr_to(mem, &t->p, t + 1), 0);
		break;
	case 2:		/* into the middle of a; into freed d */
		ck_assert_int_eq(cm_ptr_to(mem, &h->p, a + 8), 0);
		ck_assert_int_eq(cm_ptr_to(mem, &t->p, c + 40), 0);
		break;
	}
	ck_assert_int_eq(cm_free(mem, b), 0);
	ck_assert_int_eq(cm_free(mem, d), 0);
	*h_slot = (uint64_t)((uint8_t *)&h->p - base);
	*t_slot = (uint64_t)((uint8_t *)&t->p - base);
	blob = cm_serialize(mem, h, CM_RELATIVE_OFFSET, 0);
	ck_assert_ptr_nonnull(blob);
	*len = (size_t)cm_get_size(mem);
	copy = cm_test_copy(blob, *len);
	cm_delete(mem, CM_ERASE);
	return copy;
}

START_TEST(strict_refuses_dangling_pointers)
{
	struct reports r = { 0 };
	uint64_t hs, ts;
	size_t len;
	uint8_t *b = dangling_sample(&len, &hs, &ts, 0);
	uint8_t *w;

	valid(b, len, CM_CHECK_EXACT);
	refused(b, len, CM_CHECK_STRICT, CM_E_DANGLING, hs);
	ck_assert_int_eq(cm_check_all(b, len, CM_CHECK_STRICT, 0, collect, &r),
			 -1);
	ck_assert_uint_eq(r.n, 1);	/* t->p, one past c, is fine */
	ck_assert_uint_eq(r.e[0].index, 0);
	deser_refused(b, len, CM_CHECK_STRICT, CM_E_DANGLING);
	w = cm_test_copy(b, len);
	ck_assert_ptr_nonnull(cm_deserialize_flags(w, len, 0, NULL));
	free(w);
	free(b);

	b = dangling_sample(&len, &hs, &ts, 1);
	valid(b, len, CM_CHECK_STRICT | CM_CHECK_EXACT);
	free(b);

	b = dangling_sample(&len, &hs, &ts, 2);
	valid(b, len, 0);
	refused(b, len, CM_CHECK_STRICT, CM_E_DANGLING, ts);
	free(b);
}
END_TEST

/* ==== sections ==== */

START_TEST(unknown_optional_section_skipped)
{
	static const char payload[13] = "hello, world";
	size_t len, len2;
	uint8_t *b = cm_test_list_blob(7, modes[_i], &len);
	uint8_t *s = append_section(b, 77, 0, payload, sizeof payload, 0,
				    &len);
	uint8_t *s2;
	struct lnode *root;

	valid(s, len, CM_CHECK_EXACT | CM_CHECK_STRICT);
	ck_assert_int_eq(cm_object_map(s, len, NULL, 0, NULL), 0);
	/* Two of them, one empty. */
	s2 = append_section(s, 0xffffffffu, 0, NULL, 0, 0, &len2);
	valid(s2, len2, CM_CHECK_EXACT);
	root = cm_deserialize(s2, len2);
	ck_assert_ptr_nonnull(root);
	for (uint64_t x = 6;; x--) {
		ck_assert_uint_eq(root->x, x);
		if (!root->next)
			break;
		root = root->next;
	}
	free(s2);
	free(s);
	free(b);
}
END_TEST

START_TEST(unknown_section_after_an_object_map)
{
	struct sample m;
	struct cm_object o[8];
	uint64_t word = 42;
	size_t len;
	uint8_t *s;

	map_sample(&m);
	s = append_section(m.blob, 9, 0, &word, 8, 0, &len);
	valid(s, len, CM_CHECK_EXACT | CM_CHECK_STRICT);
	ck_assert_int_eq(cm_object_map(s, len, o, 8, NULL), 6);
	ck_assert_uint_eq(o[2].offset, m.node[1]);
	free(s);
	free(m.blob);
}
END_TEST

START_TEST(unknown_required_section_refused)
{
	uint64_t word = 42;
	size_t len, len2;
	uint8_t *b = cm_test_list_blob(7, modes[_i], &len);
	uint8_t *s = append_section(b, 77, 1, &word, 8, 0, &len2);
	struct cm_header h = raw_header(s);

	refused(s, len2, 0, CM_E_REQUIRED_FLAG, h.sections_offset);
	deser_refused(s, len2, CM_TRUSTED, CM_E_REQUIRED_FLAG);
	free(s);
	free(b);
}
END_TEST

START_TEST(section_framing_refused)
{
	uint8_t pay[13] = "thirteen byte";
	size_t len, len2;
	uint8_t *b = cm_test_list_blob(7, modes[_i], &len);
	uint8_t *s = append_section(b, 77, 0, pay, sizeof pay, 0, &len2);
	struct cm_header h = raw_header(s);
	uint64_t at = h.sections_offset;

	valid(s, len2, 0);
	/* Its size runs past sections_size. */
	st64(s + at + 8, 17);
	reseal(s);
	refused(s, len2, 0, CM_E_SECTION, at);
	st64(s + at + 8, sizeof pay);
	/* A flag bit other than `required`. */
	st32(s + at + 4, 2);
	reseal(s);
	refused(s, len2, 0, CM_E_SECTION, at);
	st32(s + at + 4, 0);
	/* Non-zero padding after the payload. */
	s[at + 16 + sizeof pay + 2] = 0x20;
	reseal(s);
	refused(s, len2, 0, CM_E_PADDING, at + 16 + sizeof pay + 2);
	deser_refused(s, len2, CM_TRUSTED, CM_E_PADDING);
	free(s);

	/* A section too short for its own framing: 8 bytes. */
	s = zalloc(len + 16);
	memcpy(s, b, len);
	h = raw_header(b);
	at = al8(h.table_offset + h.table_size);
	st64(s + H_SECTIONS_OFFSET, at);
	st64(s + H_SECTIONS_SIZE, 8);
	st64(s + H_BLOB_SIZE, at + 8);
	st32(s + at, 77);
	reseal(s);
	refused(s, at + 8, 0, CM_E_SECTION, at);
	free(s);
	free(b);
}
END_TEST

/* Between the table's end and the sections: zero. */
START_TEST(padding_before_sections_refused)
{
	uint64_t word = 1;
	size_t len, len2;
	uint8_t *b = cm_test_list_blob(8, CM_RELATIVE_OFFSET, &len);
	uint8_t *s = append_section(b, 77, 0, &word, 8, 0, &len2);
	struct cm_header h = raw_header(s);
	uint64_t end = h.table_offset + h.table_size;

	ck_assert_uint_lt(end, h.sections_offset);	/* 7 table bytes */
	valid(s, len2, CM_CHECK_EXACT);
	s[end] = 1;
	reseal(s);
	refused(s, len2, 0, CM_E_PADDING, end);
	free(s);
	free(b);
}
END_TEST

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
	refused(b, buflen, 0, code, offset);
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

	valid(b, len, CM_CHECK_EXACT);
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
	refused(c, len + 64, 0, CM_E_HEADER, H_SECTIONS_OFFSET);
	st64(c + H_SECTIONS_SIZE, 12);		/* not a multiple of 8 */
	st64(c + H_BLOB_SIZE, soff + 12);
	ck_assert_int_eq(cm_check(c, len + 64, 0, &e), -1);
	expect_code(&e, CM_E_HEADER);
	ck_assert(e.offset == H_SECTIONS_OFFSET
		  || e.offset == H_SECTIONS_SIZE);
	st64(c + H_SECTIONS_SIZE, 16);		/* offset not the table end */
	st64(c + H_SECTIONS_OFFSET, soff + 8);
	st64(c + H_BLOB_SIZE, soff + 24);
	refused(c, len + 64, 0, CM_E_HEADER, H_SECTIONS_OFFSET);
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
	valid(g, len2, CM_CHECK_EXACT | CM_CHECK_STRICT);
	/* The extra bytes count in the checksum. */
	g[136] ^= 1;
	refused(g, len2, 0, CM_E_CHECKSUM, H_CHECKSUM);
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
	valid(g, len2, CM_CHECK_EXACT);
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
	refused(c, 7, 0, CM_E_MAGIC, 0);
	refused(c, 100, 0, CM_E_TRUNCATED, 100);
	refused(c, len - 1, 0, CM_E_TRUNCATED, len - 1);
	valid(c, len + 1, 0);		/* the tail is ignored */
	c[len] = 0xff;
	valid(c, len + 8, 0);
	refused(c, len + 1, CM_CHECK_EXACT, CM_E_LENGTH, len);
	valid(c, len, CM_CHECK_EXACT);
	ck_assert_ptr_nonnull(cm_deserialize(c, len + 8));
	ck_assert_uint_eq(c[len], 0xff);
	free(c);
	free(b);
}
END_TEST

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
		valid(blob, len, CM_CHECK_EXACT);
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

/* ==== error names ==== */

START_TEST(error_names)
{
	static const char *const names[] = {
		"CM_OK", "CM_E_TRUNCATED", "CM_E_MAGIC", "CM_E_VERSION",
		"CM_E_REQUIRED_FLAG", "CM_E_HEADER", "CM_E_LENGTH",
		"CM_E_MODE", "CM_E_ROOT", "CM_E_PADDING", "CM_E_ENCODING",
		"CM_E_ORDER", "CM_E_SLOT", "CM_E_POINTER", "CM_E_COUNT",
		"CM_E_CHECKSUM", "CM_E_SECTION", "CM_E_OBJECT_MAP",
		"CM_E_DANGLING", "CM_E_UNSEALED", "CM_E_LEGACY",
		"CM_E_CONVERT",
	};
	static const int bad[] = { -1, 22, 23, 1000, INT_MIN, INT_MAX };

	ck_assert_int_eq(CM_E_CONVERT, 21);
	for (int i = 0; i <= 21; i++) {
		const char *n = cm_error_name(i);

		ck_assert_ptr_nonnull(n);
		ck_assert_str_eq(n, names[i]);
		for (int j = 0; j < i; j++)
			ck_assert_str_ne(n, cm_error_name(j));
	}
	for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
		ck_assert_str_eq(cm_error_name(bad[i]), "CM_E_UNKNOWN");
}
END_TEST

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

/* ==== CM_TRUSTED: no checksum, all structure ==== */

START_TEST(trusted_skips_only_the_checksum)
{
	size_t len;
	uint8_t *b = cm_test_list_blob(6, modes[_i], &len);
	uint8_t *w;
	struct lnode *root;

	b[HDR] ^= 0x40;		/* node 0's x: data, not a pointer */
	refused(b, len, 0, CM_E_CHECKSUM, H_CHECKSUM);
	deser_refused(b, len, 0, CM_E_CHECKSUM);
	valid(b, len, CM_CHECK_NO_CHECKSUM);
	w = cm_test_copy(b, len);
	root = cm_deserialize_flags(w, len, CM_TRUSTED, NULL);
	ck_assert_ptr_eq(root, w + HDR + 16 * 5);
	for (uint64_t x = 5;; x--) {
		ck_assert_uint_eq(root->x, x ? x : 0x40);
		if (!root->next)
			break;
		root = root->next;
	}
	free(w);
	/* The stored checksum itself. */
	b[HDR] ^= 0x40;
	b[H_CHECKSUM + 3] ^= 1;
	refused(b, len, 0, CM_E_CHECKSUM, H_CHECKSUM);
	w = cm_test_copy(b, len);
	ck_assert_ptr_nonnull(cm_deserialize_flags(w, len, CM_TRUSTED, NULL));
	free(w);
	free(b);
}
END_TEST

/*
 * One thread, a blob of several 16 KiB chunks: the early chunks are
 * relocated before the defect in the last one (or the checksum) is met,
 * and must be put back.
 */
START_TEST(late_defect_undoes_early_chunks)
{
	size_t len, n = 4000;
	uint8_t *b = cm_test_list_blob(n, modes[_i], &len);
	struct cm_header h = raw_header(b);
	uint8_t *c = cm_test_copy(b, len);

	ck_assert_uint_gt(h.data_end, 3 * 16384);
	st64(c + list_slot(n - 1), h.base + h.data_end + 8);
	reseal(c);
	deser_refused(c, len, 0, CM_E_POINTER);
	deser_refused(c, len, CM_TRUSTED, CM_E_POINTER);
	memcpy(c, b, len);
	c[h.data_end - 16] ^= 1;	/* the last node's x */
	deser_refused(c, len, 0, CM_E_CHECKSUM);
	free(c);
	free(b);
}
END_TEST

enum trusted_defect {
	TD_POINTER_PAST, TD_POINTER_NULL, TD_POINTER_HEADER, TD_ROOT,
	TD_RESERVED, TD_ORDER, TD_SLOT_PAST, TD_SLOT_UNALIGNED, TD_ENCODING,
	TD_COUNT, TD_PADDING, TD_DEFECTS
};

/* Each structural defect, resealed: refused with the checksum off too.
 * (Iteration 19, absolute entry 0 in the header, fails on the
 * cm_deserialize_mt bug described at mt_slot_in_the_header_refused.) */
START_TEST(trusted_still_checks_structure)
{
	int mode = modes[_i / TD_DEFECTS], d = _i % TD_DEFECTS;
	bool rel = mode == CM_RELATIVE_OFFSET;
	size_t len;
	uint8_t *b = cm_test_list_blob(8, mode, &len);
	struct cm_header h = raw_header(b);
	uint64_t t = h.table_offset, last = t + h.table_size - (rel ? 1 : 8);
	uint64_t at;
	int code;

	switch (d) {
	case TD_POINTER_PAST:
		st64(b + (at = list_slot(3)), h.base + h.data_end + 8);
		code = CM_E_POINTER;
		break;
	case TD_POINTER_NULL:
		st64(b + (at = list_slot(3)), 0);
		code = CM_E_POINTER;
		break;
	case TD_POINTER_HEADER:
		st64(b + (at = list_slot(3)), h.base + HDR - 8);
		code = CM_E_POINTER;
		break;
	case TD_ROOT:
		st64(b + (at = H_ROOT), h.data_end);
		code = CM_E_ROOT;
		break;
	case TD_RESERVED:
		b[at = H_RES0] = 1;
		code = CM_E_PADDING;
		break;
	case TD_ORDER:		/* entry 1 repeats entry 0 */
		if (rel)
			b[at = t + 1] = 0;
		else
			st64(b + (at = t + 8), ld64(b + t));
		code = CM_E_ORDER;
		break;
	case TD_SLOT_PAST:	/* the last slot at the data's end */
		at = last;
		if (rel)
			b[at] += 1;
		else
			st64(b + at, h.data_end);
		code = CM_E_SLOT;
		break;
	case TD_SLOT_UNALIGNED:
		if (rel) {	/* no unaligned slot in units of 8: cut */
			b[at = last] = 0x80;
			code = CM_E_ENCODING;
		} else {
			st64(b + (at = last), ld64(b + last) + 4);
			code = CM_E_SLOT;
		}
		break;
	case TD_ENCODING:	/* relative overlong; absolute in the header */
		if (rel) {
			b[at = t + 5] = 0x82;
			b[t + 6] = 0x00;
			code = CM_E_ENCODING;
		} else {
			st64(b + (at = t), 8);
			code = CM_E_SLOT;
		}
		break;
	case TD_COUNT:		/* the count disagrees with the table */
		if (rel) {
			st64(b + H_COUNT, h.pointer_count - 1);
			at = UINT64_MAX;	/* header or table: either */
		} else {
			st64(b + (at = H_COUNT), h.pointer_count + 1);
		}
		code = CM_E_COUNT;
		break;
	case TD_PADDING:
		b[at = H_RES1] = 1;
		code = CM_E_PADDING;
		break;
	default:
		ck_abort();
	}
	/* Header defects are refused before any checksum: leave it. */
	if (at >= HDR)
		reseal(b);
	{
		struct cm_error e;

		memset(&e, 0, sizeof e);
		ck_assert_int_eq(cm_check(b, len, CM_CHECK_NO_CHECKSUM, &e),
				 -1);
		expect_code(&e, code);
		if (at != UINT64_MAX)
			ck_assert_uint_eq(e.offset, at);
		deser_refused(b, len, CM_TRUSTED, code);
		deser_refused(b, len, 0, code);
		for (int th = 2; th <= 4; th++)
			ck_assert_int_eq(mt_refused(b, len, CM_TRUSTED, th,
						    NULL), EBADMSG);
	}
	free(b);
}
END_TEST

static Suite *check_suite(void)
{
	Suite *s = suite_create("check");
	TCase *tc;

	tc = tcase_create("check all");
	tcase_add_loop_test(tc, check_all_reports_each_defect_in_order, 0, 2);
	tcase_add_loop_test(tc, check_all_reports_the_checksum_last, 0, 2);
	tcase_add_loop_test(tc, check_all_max_errors_and_stop, 0, 2);
	tcase_add_test(tc, check_all_hard_defect_stops);
	tcase_add_test(tc, check_all_defects_before_a_hard_one_are_reported);
	tcase_add_loop_test(tc, check_all_header_defect_once, 0, 2);
	tcase_add_loop_test(tc, check_all_valid_blob_never_reports, 0, 2);
	suite_add_tcase(s, tc);

	tc = tcase_create("object map");
	tcase_add_test(tc, object_map_lists_live_allocations);
	tcase_add_loop_test(tc, object_map_absent_without_the_flag, 0, 2);
	tcase_add_loop_test(tc, object_map_defects_refused, 0, MAP_DEFECTS);
	tcase_add_test(tc, object_map_not_whole_pairs);
	tcase_add_test(tc, object_map_defect_reported_once);
	tcase_add_test(tc, strict_refuses_dangling_pointers);
	suite_add_tcase(s, tc);

	tc = tcase_create("sections");
	tcase_add_loop_test(tc, unknown_optional_section_skipped, 0, 2);
	tcase_add_test(tc, unknown_section_after_an_object_map);
	tcase_add_loop_test(tc, unknown_required_section_refused, 0, 2);
	tcase_add_loop_test(tc, section_framing_refused, 0, 2);
	tcase_add_test(tc, padding_before_sections_refused);
	suite_add_tcase(s, tc);

	tc = tcase_create("header");
	tcase_add_loop_test(tc, header_rules, 0, 2);
	tcase_add_loop_test(tc, header_section_fields, 0, 2);
	tcase_add_loop_test(tc, header_may_grow, 0, 2);
	tcase_add_loop_test(tc, truncation_and_exact_length, 0, 2);
	suite_add_tcase(s, tc);

	tc = tcase_create("relocation iterator");
	tcase_add_test(tc, iterator_reads_every_entry);
	tcase_add_loop_test(tc, iterator_goes_on_after_a_bad_pointer, 0, 2);
	tcase_add_test(tc, error_names);
	suite_add_tcase(s, tc);

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

	tc = tcase_create("trusted");
	tcase_add_loop_test(tc, trusted_skips_only_the_checksum, 0, 2);
	tcase_add_loop_test(tc, late_defect_undoes_early_chunks, 0, 2);
	tcase_add_loop_test(tc, trusted_still_checks_structure, 0,
			    2 * TD_DEFECTS);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return cm_test_run(check_suite());
}
