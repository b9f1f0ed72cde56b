/* SPDX-License-Identifier: MIT */
/* cm_legacy_import: blobs laid out by hand per the seed's LEGACY-FORMAT.md. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "test-util.h"
#include "../lib/cma-private.h"

/* The producer's address of legacy offset 0: page-aligned, as mmap gives. */
#define B0 0x7f1234560000ULL
#define SHIFT 120		/* v1 header (128) less the root word (8) */

/* ---- the legacy layout, byte by byte ---- */

/*
 * Relative mode: the image [0, dend) (root word and data), then the table,
 * given in reading order (from the highest address down, terminator
 * included), then n = 0 and B. The first byte read sits at len - 17.
 */
static size_t lay_relative(uint8_t *out, const uint8_t *image, size_t dend,
			   const uint8_t *rd, size_t nrd, uint64_t b)
{
	memcpy(out, image, dend);
	for (size_t i = 0; i < nrd; i++)
		out[dend + nrd - 1 - i] = rd[i];
	cm_store64(out + dend + nrd, 0);
	cm_store64(out + dend + nrd + 8, b);
	return dend + nrd + 16;
}

/* One delta in reading order: base-64 digits, most significant first;
 * bit 7 on all but the last, the sign in the last one's bit 6. */
static size_t enc_delta(int64_t d, uint8_t *rd)
{
	uint64_t m = d < 0 ? -(uint64_t)d : (uint64_t)d;
	uint8_t digits[11];
	size_t n = 0;

	do {
		digits[n++] = m & 0x3f;
		m >>= 6;
	} while (m);
	for (size_t i = 0; i < n; i++) {
		uint8_t byte = digits[n - 1 - i];

		if (i < n - 1)
			byte |= 0x80;
		else if (d < 0)
			byte |= 0x40;
		rd[i] = byte;
	}
	return n;
}

/* Registration order to deltas, terminator included. */
static size_t enc_table(const uint64_t *reg, size_t n, uint8_t *rd)
{
	size_t len = 0;
	int64_t prev = 0;

	for (size_t i = 0; i < n; i++) {
		len += enc_delta((int64_t)reg[i] - prev, rd + len);
		prev = (int64_t)reg[i];
	}
	rd[len++] = 0x00;
	return len;
}

static size_t lay_relative_slots(uint8_t *out, const uint8_t *image,
				 size_t dend, const uint64_t *reg, size_t n,
				 uint64_t b)
{
	uint8_t rd[1024];

	return lay_relative(out, image, dend, rd, enc_table(reg, n, rd), b);
}

/*
 * Absolute mode: the image, `pad` zero bytes (normally up to the next
 * multiple of 8), the n u64 slot offsets, n, B.
 */
static size_t lay_absolute_pad(uint8_t *out, const uint8_t *image,
			       size_t dend, size_t pad, const uint64_t *tab,
			       size_t n, uint64_t b)
{
	size_t t = dend + pad;

	memcpy(out, image, dend);
	memset(out + dend, 0, pad);
	for (size_t i = 0; i < n; i++)
		cm_store64(out + t + 8 * i, tab[i]);
	cm_store64(out + t + 8 * n, n);
	cm_store64(out + t + 8 * n + 8, b);
	return t + 8 * n + 16;
}

static size_t lay_absolute(uint8_t *out, const uint8_t *image, size_t dend,
			   const uint64_t *tab, size_t n, uint64_t b)
{
	return lay_absolute_pad(out, image, dend, ((dend + 7) & ~7UL) - dend,
				tab, n, b);
}

/* ---- a sample structure ---- */

/*
 * Four 32-byte nodes {x, next, other, 0} at offsets 8 + 32 i: a list
 * 0 -> 1 -> 2 -> 3 -> NULL; node 2's `other` points one past the data end,
 * the other `other` fields are NULL. `extra` bytes of 0xAA follow, so the
 * data end can be unaligned.
 */
#define NODES 4
#define NODE(i) (8 + 32 * (uint64_t)(i))

static size_t sample_image(uint8_t *image, uint64_t b, size_t extra)
{
	size_t dend = NODE(NODES) + extra;

	memset(image, 0, dend);
	memset(image + NODE(NODES), 0xAA, extra);
	cm_store64(image, b + NODE(0));
	for (unsigned i = 0; i < NODES; i++) {
		cm_store64(image + NODE(i), 100 + i);
		if (i + 1 < NODES)
			cm_store64(image + NODE(i) + 8, b + NODE(i + 1));
	}
	cm_store64(image + NODE(2) + 16, b + dend);
	return dend;
}

/* Registration order: unsorted (negative deltas), a slot registered twice
 * (not in a row), NULL slots. */
static const uint64_t sample_reg[] = {
	NODE(3) + 8, NODE(0) + 8, NODE(2) + 16, NODE(1) + 8, NODE(0) + 8,
	NODE(2) + 8, NODE(1) + 16,
};
/* The slots of the absolute table, ascending, NULL ones included. */
static const uint64_t sample_tab[] = {
	NODE(0) + 8, NODE(1) + 8, NODE(1) + 16, NODE(2) + 8, NODE(2) + 16,
	NODE(3) + 8,
};
/* What v1 lists: the non-NULL slots, once, ascending (legacy offsets). */
static const uint64_t sample_v1[] = {
	NODE(0) + 8, NODE(1) + 8, NODE(2) + 8, NODE(2) + 16,
};

static size_t sample(uint8_t *out, int absolute, size_t extra, uint64_t b)
{
	uint8_t image[256];
	size_t dend = sample_image(image, b, extra);

	return absolute
	       ? lay_absolute(out, image, dend, sample_tab,
			      sizeof sample_tab / sizeof *sample_tab, b)
	       : lay_relative_slots(out, image, dend, sample_reg,
				    sizeof sample_reg / sizeof *sample_reg,
				    b);
}

/* ---- checking an import ---- */

static struct cm_test_sink import_ok(const uint8_t *legacy, size_t len,
				     int mode, uint64_t base)
{
	struct cm_test_sink m = { 0 };
	struct cm_error e = { 0 };

	ck_assert_msg(cm_legacy_import(legacy, len, mode, base, cm_test_write,
				       &m, &e) == 0,
		      "import: %s at 0x%llx", e.message,
		      (unsigned long long)e.offset);
	ck_assert_msg(cm_check(m.p, m.len, CM_CHECK_EXACT, &e) == 0,
		      "output refused: %s (%s at 0x%llx)", e.message,
		      cm_error_name(e.code), (unsigned long long)e.offset);
	return m;
}

/* The v1 table lists exactly sample_v1, moved by SHIFT. */
static void assert_sample_table(const struct cm_test_sink *m)
{
	struct cm_reloc_iter it;
	struct cm_reloc r;
	size_t i = 0;
	int n;

	ck_assert_int_eq(cm_reloc_begin(&it, m->p, m->len, NULL), 0);
	while ((n = cm_reloc_next(&it, &r, NULL)) == 1) {
		ck_assert_uint_lt(i, sizeof sample_v1 / sizeof *sample_v1);
		ck_assert_uint_eq(r.slot, sample_v1[i] + SHIFT);
		i++;
	}
	ck_assert_int_eq(n, 0);
	ck_assert_uint_eq(i, sizeof sample_v1 / sizeof *sample_v1);
}

/* Relocate a copy and walk the structure, whose legacy data ended at
 * dend. */
static void assert_sample_walk(const struct cm_test_sink *m, size_t dend)
{
	uint8_t *copy = cm_test_copy(m->p, m->len);
	struct cm_error e;
	uint8_t *node = cm_deserialize_flags(copy, m->len, 0, &e);

	ck_assert_msg(node != NULL, "deserialize: %s", e.message);
	ck_assert_ptr_eq(node, copy + NODE(0) + SHIFT);
	for (unsigned i = 0; i < NODES; i++) {
		uint8_t *next = (uint8_t *)(uintptr_t)cm_load64(node + 8);

		ck_assert_ptr_eq(node, copy + NODE(i) + SHIFT);
		ck_assert_uint_eq(cm_load64(node), 100 + i);
		ck_assert_uint_eq(cm_load64(node + 16),
				  i == 2 ? (uintptr_t)(copy + dend + SHIFT)
					 : 0);
		if (i + 1 == NODES)
			ck_assert_ptr_null(next);
		node = next;
	}
	free(copy);
}

/* ---- tests ---- */

/* The worked example of LEGACY-FORMAT.md, byte for byte: one slot at 104
 * is 0x81 0x28, then the 0x00 terminator. */
START_TEST(worked_example)
{
	uint8_t legacy[160] = { 0 };
	size_t dend = 128, len = dend + 3 + 16;
	struct cm_test_sink m;
	struct cm_header h;
	uint8_t *copy, *root;

	cm_store64(legacy, B0 + 8);			/* root */
	cm_store64(legacy + 104, B0 + 16);		/* the slot */
	legacy[dend] = 0x00;
	legacy[dend + 1] = 0x28;
	legacy[dend + 2] = 0x81;			/* at len - 17 */
	cm_store64(legacy + dend + 3, 0);		/* n */
	cm_store64(legacy + dend + 11, B0);		/* B */

	m = import_ok(legacy, len, 0, UINT64_MAX);
	h = cm_test_header(m.p, m.len);
	ck_assert_uint_eq(h.mode, CM_RELATIVE_OFFSET);
	ck_assert_uint_eq(h.base, B0 - SHIFT);
	ck_assert_uint_eq(h.root, 8 + SHIFT);
	ck_assert_uint_eq(h.data_end, dend + SHIFT);
	ck_assert_uint_eq(h.pointer_count, 1);
	ck_assert_uint_eq(h.capacity, h.blob_size);
	ck_assert_uint_eq(h.blob_size, m.len);
	/* The values keep their meaning: the data is copied unchanged. */
	ck_assert_mem_eq(m.p + 128, legacy + 8, dend - 8);
	/* v1 table: (104 + 120) / 8 = 28, one byte. */
	ck_assert_uint_eq(h.table_size, 1);
	ck_assert_uint_eq(m.p[h.table_offset], 28);

	copy = cm_test_copy(m.p, m.len);
	root = cm_deserialize(copy, m.len);
	ck_assert_ptr_eq(root, copy + 128);
	ck_assert_uint_eq(cm_load64(copy + 104 + SHIFT),
			  (uintptr_t)(copy + 16 + SHIFT));
	free(copy);
	free(m.p);
}
END_TEST

/* Both legacy modes, aligned and unaligned data ends, every output mode. */
START_TEST(import_sample)
{
	int absolute = _i & 1, mode = (_i >> 1) % 3;
	size_t extra = _i >= 6 ? 3 : 0;
	uint8_t legacy[1024];
	size_t len = sample(legacy, absolute, extra, B0);
	size_t dend = NODE(NODES) + extra;
	struct cm_test_sink m = import_ok(legacy, len, mode, UINT64_MAX);
	struct cm_header h = cm_test_header(m.p, m.len);

	ck_assert_uint_eq(h.mode, mode ? (unsigned)mode
				  : absolute ? CM_ABSOLUTE_OFFSET
					     : CM_RELATIVE_OFFSET);
	ck_assert_uint_eq(h.base, B0 - SHIFT);
	ck_assert_uint_eq(h.root, NODE(0) + SHIFT);
	/* Absolute: the alignment before the table stays data. */
	ck_assert_uint_eq(h.data_end,
			  (absolute ? (dend + 7) & ~7UL : dend) + SHIFT);
	ck_assert_uint_eq(h.pointer_count, 4);
	ck_assert_uint_eq(h.capacity, h.blob_size);
	ck_assert_mem_eq(m.p + 128, legacy + 8, dend - 8);
	assert_sample_table(&m);
	assert_sample_walk(&m, dend);
	free(m.p);
}
END_TEST

/*
 * One structure, either legacy mode: the same v1 bytes. Importing in the
 * other mode then converting gives the same blob but for the capacity (the
 * import's blob size, kept by cm_convert) and so the checksum.
 */
START_TEST(modes_agree)
{
	int mode = _i ? CM_ABSOLUTE_OFFSET : CM_RELATIVE_OFFSET;
	int other = _i ? CM_RELATIVE_OFFSET : CM_ABSOLUTE_OFFSET;
	uint8_t rel[1024], abs[1024];
	size_t rlen = sample(rel, 0, 0, B0), alen = sample(abs, 1, 0, B0);
	struct cm_test_sink a = import_ok(rel, rlen, mode, UINT64_MAX);
	struct cm_test_sink b = import_ok(abs, alen, mode, UINT64_MAX);
	struct cm_test_sink c = import_ok(rel, rlen, other, UINT64_MAX);
	struct cm_test_sink d = { 0 };

	ck_assert_uint_eq(a.len, b.len);
	ck_assert_mem_eq(a.p, b.p, a.len);
	ck_assert_int_eq(cm_convert(c.p, c.len, mode, UINT64_MAX, 0,
				    cm_test_write, &d, NULL), 0);
	ck_assert_uint_eq(d.len, a.len);
	ck_assert_mem_eq(d.p + 128, a.p + 128, a.len - 128);
	/* Header bytes up to the capacity, then up to the checksum. */
	ck_assert_mem_eq(d.p, a.p, 40);
	ck_assert_mem_eq(d.p + 48, a.p + 48, 112 - 48);
	ck_assert_uint_eq(cm_test_header(d.p, d.len).capacity, c.len);
	free(a.p);
	free(b.p);
	free(c.p);
	free(d.p);
}
END_TEST

/* An explicit base, and the fallback to 0 when B - 120 cannot be one. */
START_TEST(bases)
{
	/* The highest B whose data end does not wrap: B - 120 fits the
	 * 260-byte relative blob, not the 288-byte absolute one. */
	const uint64_t top = 0ULL - 144;
	const struct {
		uint64_t b, base, want[2];	/* relative, absolute */
	} cases[] = {
		{ B0, 0, { 0, 0 } },
		{ B0, 0x5000, { 0x5000, 0x5000 } },
		{ 64, UINT64_MAX, { 0, 0 } },		/* B below 120 */
		{ B0 + 4, UINT64_MAX, { 0, 0 } },	/* B unaligned */
		{ 120, UINT64_MAX, { 0, 0 } },		/* B - 120 = 0 */
		{ top, UINT64_MAX, { top - SHIFT, 0 } },	/* wraps */
	};
	uint8_t legacy[1024];
	size_t len = sample(legacy, _i & 1, 0, cases[_i / 2].b);
	struct cm_test_sink m = import_ok(legacy, len, 0, cases[_i / 2].base);
	struct cm_header h = cm_test_header(m.p, m.len);
	struct cm_reloc_iter it;
	struct cm_reloc r;
	int n;

	ck_assert_uint_eq(h.base, cases[_i / 2].want[_i & 1]);
	ck_assert_int_eq(cm_reloc_begin(&it, m.p, m.len, NULL), 0);
	while ((n = cm_reloc_next(&it, &r, NULL)) == 1)
		ck_assert_uint_eq(r.value,
				  cm_load64(legacy + r.slot - SHIFT)
				  - cases[_i / 2].b + SHIFT + h.base);
	ck_assert_int_eq(n, 0);
	assert_sample_walk(&m, NODE(NODES));
	free(m.p);
}
END_TEST

/* Expect a CM_E_LEGACY refusal at `offset`, nothing written. */
#define refused(p, len, offset, what)					\
	refused_at(p, len, offset, what, "line " LINE_STR(__LINE__))
#define LINE_STR(n) LINE_STR_(n)
#define LINE_STR_(n) #n

/* `where` names the case in failure messages. */
static void refused_at(const uint8_t *p, size_t len, uint64_t offset,
		       const char *what, const char *where)
{
	struct cm_test_sink m = { 0 };
	struct cm_error e = { 0 };
	int rc;

	errno = 0;
	rc = cm_legacy_import(p, len, 0, UINT64_MAX, cm_test_write, &m, &e);
	ck_assert_msg(rc == -1, "%s: accepted", where);
	ck_assert_int_eq(errno, EBADMSG);
	ck_assert_msg(e.code == CM_E_LEGACY, "%s: %s", where,
		      cm_error_name(e.code));
	ck_assert_msg(e.offset == offset, "%s: offset 0x%llx, not 0x%llx (%s)",
		      where, (unsigned long long)e.offset,
		      (unsigned long long)offset, e.message);
	ck_assert_msg(strstr(e.message, what), "%s: \"%s\" lacks \"%s\"",
		      where, e.message, what);
	ck_assert_uint_eq(m.calls, 0);
}

START_TEST(refuses_root)
{
	uint8_t legacy[1024];
	size_t len;
	int absolute = _i;

	memset(legacy, 0, sizeof legacy);
	refused(legacy, 23, 0, "too short");
	refused(legacy, 0, 0, "too short");

	len = sample(legacy, absolute, 0, B0);
	cm_store64(legacy, 0);
	refused(legacy, len, 0, "NULL root");
	cm_store64(legacy, B0 + NODE(NODES));	/* the data end */
	refused(legacy, len, 0, "root");
	cm_store64(legacy, B0 + 4);		/* the root word */
	refused(legacy, len, 0, "root");
	cm_store64(legacy, B0 - 8);
	refused(legacy, len, 0, "root");
}
END_TEST

START_TEST(refuses_target)
{
	uint8_t legacy[1024];
	size_t len = sample(legacy, _i, 0, B0);
	uint64_t slot = NODE(1) + 8;

	cm_store64(legacy + slot, B0 + NODE(NODES) + 8);
	refused(legacy, len, slot, "outside");
	cm_store64(legacy + slot, B0 + 4);
	refused(legacy, len, slot, "outside");
	cm_store64(legacy + slot, 5);
	refused(legacy, len, slot, "outside");
}
END_TEST

START_TEST(refuses_absolute_table)
{
	uint8_t image[256], legacy[1024];
	size_t dend = sample_image(image, B0, 0), len;
	uint64_t t = dend;	/* 8-aligned already */
	uint64_t tab[4];

	/* n larger than the file. */
	len = lay_absolute(legacy, image, dend, sample_tab, 6, B0);
	cm_store64(legacy + len - 16, 1000);
	refused(legacy, len, len - 16, "too large");
	cm_store64(legacy + len - 16, UINT64_MAX);
	refused(legacy, len, len - 16, "too large");
	/* The length is not a multiple of 8: the table is misplaced. */
	len = lay_absolute_pad(legacy, image, dend, 3, sample_tab, 6, B0);
	refused(legacy, len, len - 16, "multiple of 8");

	tab[0] = NODE(1) + 8;			/* unsorted */
	tab[1] = NODE(0) + 8;
	len = lay_absolute(legacy, image, dend, tab, 2, B0);
	refused(legacy, len, t + 8, "not above");
	tab[1] = tab[0];			/* duplicated */
	len = lay_absolute(legacy, image, dend, tab, 2, B0);
	refused(legacy, len, t + 8, "not above");
	/* Junk past the real entries (n counted registrations). */
	tab[0] = NODE(0) + 8;
	tab[1] = NODE(1) + 8;
	tab[2] = 0x4141414141414141ULL;
	len = lay_absolute(legacy, image, dend, tab, 3, B0);
	refused(legacy, len, t + 16, "not inside");
	tab[2] = 0x8000000000000000ULL;
	len = lay_absolute(legacy, image, dend, tab, 3, B0);
	refused(legacy, len, t + 16, "not inside");

	tab[0] = 0;				/* the root word */
	len = lay_absolute(legacy, image, dend, tab, 1, B0);
	refused(legacy, len, t, "root word");
	tab[0] = NODE(0) + 4;			/* unaligned */
	len = lay_absolute(legacy, image, dend, tab, 1, B0);
	refused(legacy, len, t, "aligned");
	tab[0] = dend;				/* at the data end */
	len = lay_absolute(legacy, image, dend, tab, 1, B0);
	refused(legacy, len, t, "not inside");
	tab[0] = dend - 4;			/* straddles the end */
	len = lay_absolute(legacy, image, dend, tab, 1, B0);
	refused(legacy, len, t, "not inside");
}
END_TEST

START_TEST(refuses_relative_encoding)
{
	/* In reading order, the first byte read at len - 17; the defect is
	 * `below` bytes lower. */
	static const struct {
		const char *name;
		uint8_t rd[8];
		size_t n, below;
		const char *what;
	} cases[] = {
		{ "7 bytes", { 0x80, 0x80, 0x80, 0x80, 0x80, 0x81, 0x01, 0x00 },
		  8, 5, "longer than 6 bytes" },
		{ "2^31", { 0x82, 0x80, 0x80, 0x80, 0x80, 0x00, 0x00 },
		  7, 0, "outside 32 bits" },
		{ "-2^31", { 0x82, 0x80, 0x80, 0x80, 0x80, 0x40, 0x00 },
		  7, 0, "outside 32 bits" },
		/* 2^31 - 1 decodes; it walks out of the data instead. */
		{ "2^31 - 1", { 0x81, 0xbf, 0xbf, 0xbf, 0xbf, 0x3f, 0x00 },
		  7, 0, "not inside the data" },
		{ "bit 6, first byte", { 0xc1, 0x01, 0x00 }, 3, 0, "bit 6" },
		{ "bit 6, second byte", { 0x81, 0xc0, 0x01, 0x00 }, 4, 1,
		  "bit 6" },
		{ "0x40 last", { 0x40 }, 1, 0, "minus zero" },
		{ "0x40 after a delta", { 0x10, 0x40 }, 2, 1, "minus zero" },
		{ "0x80 0x00", { 0x80, 0x00 }, 2, 0, "multi-byte zero" },
	};
	uint8_t image[256], legacy[1024];
	size_t dend = sample_image(image, B0, 0), len;

	for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
		len = lay_relative(legacy, image, dend, cases[i].rd,
				   cases[i].n, B0);
		refused_at(legacy, len, len - 17 - cases[i].below,
			   cases[i].what, cases[i].name);
	}
}
END_TEST

START_TEST(refuses_relative_walk)
{
	uint8_t image[256], legacy[1024];
	size_t dend = sample_image(image, B0, 0), len;
	uint64_t reg[2];

	/* No terminator: the bytes run down into the root word. */
	memset(image + 8, 0x11, dend - 8);
	len = lay_relative(legacy, image, dend, NULL, 0, B0);
	refused(legacy, len, 8, "terminator");
	/* A delta cut by the root word: it starts at 9 and goes on. */
	image[9] = 0x81;
	image[8] = 0x81;
	len = lay_relative(legacy, image, dend, NULL, 0, B0);
	refused(legacy, len, 9, "terminator");

	dend = sample_image(image, B0, 0);
	reg[0] = NODE(0) + 8;
	reg[1] = NODE(0) + 8 + 4096;		/* past the end */
	len = lay_relative_slots(legacy, image, dend, reg, 2, B0);
	refused(legacy, len, len - 17 - 1, "not inside");
	reg[1] = 0;				/* the root word */
	len = lay_relative_slots(legacy, image, dend, reg, 2, B0);
	refused(legacy, len, len - 17 - 1, "root word");
	reg[1] = (uint64_t)-8;			/* before the blob */
	len = lay_relative_slots(legacy, image, dend, reg, 2, B0);
	refused(legacy, len, len - 17 - 1, "before the blob");
	reg[0] = NODE(0) + 12;			/* unaligned */
	len = lay_relative_slots(legacy, image, dend, reg, 1, B0);
	refused(legacy, len, len - 17, "aligned");
	reg[0] = dend;				/* at the data end */
	len = lay_relative_slots(legacy, image, dend, reg, 1, B0);
	refused(legacy, len, len - 17, "not inside");

	/* An absolute blob without pointers reads as relative: here its last
	 * data byte, 0x41, is a delta of -1. */
	image[dend - 1] = 0x41;
	len = lay_absolute(legacy, image, dend, NULL, 0, B0);
	refused(legacy, len, len - 17, "before the blob");
}
END_TEST

/* data end over the relative bound, in a sparse mapping. */
START_TEST(relative_bound)
{
	const size_t map_len = 1UL << 31;
	uint8_t *p = mmap(NULL, map_len, PROT_READ | PROT_WRITE,
			  MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	struct cm_test_sink m = { 0 };
	struct cm_error e = { 0 };
	/* Legacy data below 2^31, but not once moved 120 bytes up. */
	uint64_t dend = (1ULL << 31) - 64, len;

	ck_assert_ptr_ne(p, MAP_FAILED);
	cm_store64(p, B0 + 8);
	cm_store64(p + 16, B0 + 8);
	if (_i) {	/* absolute, asked for relative */
		cm_store64(p + dend, 16);
		cm_store64(p + dend + 8, 1);
		cm_store64(p + dend + 16, B0);
		len = dend + 24;
		ck_assert_int_eq(cm_legacy_import(p, len, CM_RELATIVE_OFFSET,
						  UINT64_MAX, cm_test_write, &m,
						  &e), -1);
	} else {	/* relative, mode kept */
		p[dend] = 0;
		cm_store64(p + dend + 1, 0);
		cm_store64(p + dend + 9, B0);
		len = dend + 17;
		ck_assert_int_eq(cm_legacy_import(p, len, 0, UINT64_MAX,
						  cm_test_write, &m, &e), -1);
	}
	ck_assert_int_eq(errno, EBADMSG);
	ck_assert_int_eq(e.code, CM_E_CONVERT);
	ck_assert_uint_eq(m.calls, 0);
	munmap(p, map_len);
}
END_TEST

START_TEST(writer_and_arguments)
{
	uint8_t legacy[1024];
	size_t len = sample(legacy, 0, 0, B0);
	struct cm_test_sink m = { .fail_at = 1, .fail_errno = EDQUOT };

	errno = 0;
	ck_assert_int_eq(cm_legacy_import(legacy, len, 0, UINT64_MAX,
					  cm_test_write, &m, NULL), -1);
	ck_assert_int_eq(errno, EDQUOT);

	m = (struct cm_test_sink){ 0 };
	errno = 0;
	ck_assert_int_eq(cm_legacy_import(legacy, len, 3, UINT64_MAX,
					  cm_test_write, &m, NULL), -1);
	ck_assert_int_eq(errno, EINVAL);
	errno = 0;
	ck_assert_int_eq(cm_legacy_import(legacy, len, 0, 12, cm_test_write, &m,
					  NULL), -1);
	ck_assert_int_eq(errno, EINVAL);
	errno = 0;
	ck_assert_int_eq(cm_legacy_import(legacy, len, 0, UINT64_MAX - 7,
					  cm_test_write, &m, NULL), -1);
	ck_assert_int_eq(errno, EINVAL);
	errno = 0;
	ck_assert_int_eq(cm_legacy_import(NULL, len, 0, UINT64_MAX,
					  cm_test_write, &m, NULL), -1);
	ck_assert_int_eq(errno, EINVAL);
	errno = 0;
	ck_assert_int_eq(cm_legacy_import(legacy, len, 0, UINT64_MAX, NULL,
					  &m, NULL), -1);
	ck_assert_int_eq(errno, EINVAL);
	ck_assert_uint_eq(m.calls, 0);
}
END_TEST

static Suite *legacy_suite(void)
{
	Suite *s = suite_create("legacy");
	TCase *tc;

	tc = tcase_create("imports");
	tcase_add_test(tc, worked_example);
	tcase_add_loop_test(tc, import_sample, 0, 12);
	tcase_add_loop_test(tc, modes_agree, 0, 2);
	tcase_add_loop_test(tc, bases, 0, 12);
	suite_add_tcase(s, tc);

	tc = tcase_create("refuses");
	tcase_add_loop_test(tc, refuses_root, 0, 2);
	tcase_add_loop_test(tc, refuses_target, 0, 2);
	tcase_add_test(tc, refuses_absolute_table);
	tcase_add_test(tc, refuses_relative_encoding);
	tcase_add_test(tc, refuses_relative_walk);
	tcase_add_loop_test(tc, relative_bound, 0, 2);
	tcase_add_test(tc, writer_and_arguments);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return cm_test_run(legacy_suite());
}
