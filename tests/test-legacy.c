/* SPDX-License-Identifier: MIT */
/* cm_legacy_import: pre-1.0 blobs laid out by hand per doc/legacy-format.md. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "test-util.h"
#include "../lib/cma-private.h"
#include "legacy-edit.h"

/* The producer's address of legacy offset 0: page-aligned, as mmap gives. */
#define B0 0x7f1234560000ULL
#define SHIFT LEGACY_SHIFT

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
	       ? legacy_absolute(out, image, dend, sample_tab,
			      sizeof sample_tab / sizeof *sample_tab, b)
	       : legacy_relative(out, image, dend, sample_reg,
				    sizeof sample_reg / sizeof *sample_reg,
				    b);
}

/* ---- checking an import ---- */

/*
 * The legacy data [8, dend) is the v1 data: copied unchanged but for the
 * listed slots, whose pointers moved up with the data, for an import
 * recorded at base B.
 */
static void assert_data_moved(const struct cm_test_sink *m,
			      const uint8_t *legacy, size_t dend)
{
	uint8_t *want = cm_test_copy(legacy, dend);
	struct cm_reloc_iter it;
	struct cm_reloc r;
	int n;

	ck_assert_int_eq(cm_reloc_begin(&it, m->p, m->len, NULL), 0);
	while ((n = cm_reloc_next(&it, &r, NULL)) == 1)
		cm_store64(want + r.slot - SHIFT,
			   cm_load64(want + r.slot - SHIFT) + SHIFT);
	ck_assert_int_eq(n, 0);
	ck_assert_mem_eq(m->p + 128, want + 8, dend - 8);
	free(want);
}

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

		require(node == copy + NODE(i) + SHIFT);
		require_eq(cm_load64(node), 100 + i);
		require_eq(cm_load64(node + 16),
			   i == 2 ? (uintptr_t)(copy + dend + SHIFT) : 0);
		if (i + 1 == NODES)
			require(next == NULL);
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
	ck_assert_uint_eq(h.base, B0);
	ck_assert_uint_eq(h.root, 8 + SHIFT);
	ck_assert_uint_eq(h.data_end, dend + SHIFT);
	ck_assert_uint_eq(h.pointer_count, 1);
	ck_assert_uint_eq(h.capacity, h.blob_size);
	ck_assert_uint_eq(h.blob_size, m.len);
	assert_data_moved(&m, legacy, dend);
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
	ck_assert_uint_eq(h.base, B0);
	ck_assert_uint_eq(h.root, NODE(0) + SHIFT);
	/* Absolute: the alignment before the table stays data. */
	ck_assert_uint_eq(h.data_end,
			  (absolute ? (dend + 7) & ~7UL : dend) + SHIFT);
	ck_assert_uint_eq(h.pointer_count, 4);
	ck_assert_uint_eq(h.capacity, h.blob_size);
	assert_data_moved(&m, legacy, dend);
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

/* An explicit base, and the default: B rounded down to a page. */
START_TEST(bases)
{
	/* The highest B whose data end does not wrap. */
	const uint64_t top = 0ULL - 144;
	const struct {
		uint64_t b, base, want[2];	/* relative, absolute */
	} cases[] = {
		{ B0, 0, { 0, 0 } },
		{ B0, 0x5000, { 0x5000, 0x5000 } },
		{ 64, UINT64_MAX, { 0, 0 } },		/* B in page 0 */
		{ B0 + 4, UINT64_MAX, { B0, B0 } },	/* B unaligned */
		{ B0 + 4096 + 120, UINT64_MAX, { B0 + 4096, B0 + 4096 } },
		{ top, UINT64_MAX, { top & ~4095ULL, top & ~4095ULL } },
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

/* Expect a CM_E_LEGACY (refused_with: `code`) refusal at `offset`,
 * nothing written. */
#define refused(p, len, offset, what)					\
	refused_with(p, len, CM_E_LEGACY, offset, what)
#define refused_with(p, len, code, offset, what)			\
	refused_at(p, len, code, offset, what, "line " LINE_STR(__LINE__))
#define LINE_STR(n) LINE_STR_(n)
#define LINE_STR_(n) #n

/* `where` names the case in failure messages. */
static void refused_at(const uint8_t *p, size_t len, int code,
		       uint64_t offset, const char *what, const char *where)
{
	struct cm_test_sink m = { 0 };
	struct cm_error e = { 0 };
	int rc;

	errno = 0;
	rc = cm_legacy_import(p, len, 0, UINT64_MAX, cm_test_write, &m, &e);
	ck_assert_msg(rc == -1, "%s: accepted", where);
	ck_assert_int_eq(errno, EBADMSG);
	ck_assert_msg(e.code == code, "%s: %s (%s)", where,
		      cm_error_name(e.code), e.message);
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
	len = legacy_absolute(legacy, image, dend, sample_tab, 6, B0);
	cm_store64(legacy + len - 16, 1000);
	refused(legacy, len, len - 16, "too large");
	cm_store64(legacy + len - 16, UINT64_MAX);
	refused(legacy, len, len - 16, "too large");
	/* The length is not a multiple of 8: the table is misplaced. */
	len = legacy_absolute_pad(legacy, image, dend, 3, sample_tab, 6, B0);
	refused(legacy, len, len - 16, "multiple of 8");

	tab[0] = NODE(1) + 8;			/* unsorted */
	tab[1] = NODE(0) + 8;
	len = legacy_absolute(legacy, image, dend, tab, 2, B0);
	refused(legacy, len, t + 8, "below the previous");
	/* Junk past the real entries (n counted registrations). */
	tab[0] = NODE(0) + 8;
	tab[1] = NODE(1) + 8;
	tab[2] = 0x4141414141414141ULL;
	len = legacy_absolute(legacy, image, dend, tab, 3, B0);
	refused(legacy, len, t + 16, "not inside");
	tab[2] = 0x8000000000000000ULL;
	len = legacy_absolute(legacy, image, dend, tab, 3, B0);
	refused(legacy, len, t + 16, "not inside");

	tab[0] = 0;				/* the root word */
	tab[1] = NODE(0) + 8;
	len = legacy_absolute(legacy, image, dend, tab, 2, B0);
	refused(legacy, len, t, "root word");
	tab[0] = NODE(0) + 4;			/* unaligned */
	len = legacy_absolute(legacy, image, dend, tab, 1, B0);
	refused(legacy, len, t, "without CM_ALIGNED");
	tab[0] = dend;				/* at the data end */
	len = legacy_absolute(legacy, image, dend, tab, 1, B0);
	refused(legacy, len, t, "not inside");
	tab[0] = dend - 4;			/* straddles the end */
	len = legacy_absolute(legacy, image, dend, tab, 1, B0);
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
		len = legacy_lay_relative(legacy, image, dend, cases[i].rd,
				   cases[i].n, B0);
		refused_at(legacy, len, CM_E_LEGACY,
			   len - 17 - cases[i].below, cases[i].what,
			   cases[i].name);
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
	len = legacy_lay_relative(legacy, image, dend, NULL, 0, B0);
	refused(legacy, len, 8, "terminator");
	/* A delta cut by the root word: it starts at 9 and goes on. */
	image[9] = 0x81;
	image[8] = 0x81;
	len = legacy_lay_relative(legacy, image, dend, NULL, 0, B0);
	refused(legacy, len, 9, "terminator");

	dend = sample_image(image, B0, 0);
	reg[0] = NODE(0) + 8;
	reg[1] = NODE(0) + 8 + 4096;		/* past the end */
	len = legacy_relative(legacy, image, dend, reg, 2, B0);
	refused(legacy, len, len - 17 - 1, "not inside");
	reg[1] = 0;				/* the root word */
	len = legacy_relative(legacy, image, dend, reg, 2, B0);
	refused(legacy, len, len - 17 - 1, "root word");
	reg[1] = (uint64_t)-8;			/* before the blob */
	len = legacy_relative(legacy, image, dend, reg, 2, B0);
	refused(legacy, len, len - 17 - 1, "before the blob");
	reg[0] = NODE(0) + 12;			/* unaligned */
	len = legacy_relative(legacy, image, dend, reg, 1, B0);
	refused(legacy, len, len - 17, "without CM_ALIGNED");
	reg[0] = dend;				/* at the data end */
	len = legacy_relative(legacy, image, dend, reg, 1, B0);
	refused(legacy, len, len - 17, "not inside");

	/* An absolute blob without pointers reads as relative: here its last
	 * data byte, 0x41, is a delta of -1. */
	image[dend - 1] = 0x41;
	len = legacy_absolute(legacy, image, dend, NULL, 0, B0);
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

/* ---- what a corrupted or unusual table must not do ---- */

/* A blob of the sample structure imports as the sample does. */
static void imports_as_sample(const uint8_t *legacy, size_t len, size_t dend)
{
	struct cm_test_sink m = import_ok(legacy, len, 0, UINT64_MAX);

	assert_sample_table(&m);
	assert_sample_walk(&m, dend);
	free(m.p);
}

/*
 * A slot registered twice imports once and the slots registered after it
 * are kept. Relative: a repeat in a row is a zero delta, which reads like
 * the table's 0x00 end; the table goes on below it. Absolute: an entry
 * equal to the one before, and the zero entries of the space the original
 * reserved for each registration.
 */
START_TEST(repeated_slots)
{
	static const uint64_t reg[] = {
		NODE(3) + 8, NODE(0) + 8, NODE(0) + 8, NODE(2) + 16,
		NODE(1) + 8, NODE(1) + 8, NODE(2) + 8, NODE(1) + 16,
	};
	static const uint64_t tab[] = {
		NODE(0) + 8, NODE(0) + 8, NODE(1) + 8, NODE(1) + 16,
		NODE(2) + 8, NODE(2) + 8, NODE(2) + 16, NODE(3) + 8, 0, 0,
	};
	/* A repeat followed by NULL slots only: the end, nothing lost. */
	static const uint64_t nulls_last[] = {
		NODE(0) + 8, NODE(1) + 8, NODE(2) + 8, NODE(2) + 16,
		NODE(1) + 16, NODE(1) + 16, NODE(0) + 16,
	};
	uint8_t image[256], legacy[1024];
	size_t dend = sample_image(image, B0, 0);

	imports_as_sample(legacy, legacy_relative(legacy, image, dend, reg,
						  sizeof reg / sizeof *reg,
						  B0), dend);
	imports_as_sample(legacy, legacy_absolute(legacy, image, dend, tab,
						  sizeof tab / sizeof *tab,
						  B0), dend);
	imports_as_sample(legacy, legacy_relative(legacy, image, dend,
						  nulls_last,
						  sizeof nulls_last /
						  sizeof *nulls_last, B0),
			  dend);
}
END_TEST

/*
 * A word that holds an address of the data but that the table does not
 * list (lost from the table, or stored with '=') would keep the
 * producer's address: refused at its legacy offset, naming its target.
 */
START_TEST(refuses_unrecorded)
{
	uint8_t image[256], legacy[1024];
	size_t dend = sample_image(image, B0, 16), len;
	/* sample_tab without node 1's next. */
	static const uint64_t lost[] = {
		NODE(0) + 8, NODE(1) + 16, NODE(2) + 8, NODE(2) + 16,
		NODE(3) + 8,
	};
	struct cm_test_sink m = { 0 };
	struct cm_error e;

	len = legacy_absolute(legacy, image, dend, lost, 5, B0);
	refused_with(legacy, len, CM_E_UNRECORDED, NODE(1) + 8,
		     "points into the data (offset 0x48) but is not a "
		     "recorded pointer slot");
	len = legacy_relative(legacy, image, dend, lost, 5, B0);
	refused_with(legacy, len, CM_E_UNRECORDED, NODE(1) + 8,
		     "offset 0x48");

	/* At an unaligned offset (an allocation made without CM_ALIGNED):
	 * no slot can list it. */
	cm_store64(image + NODE(NODES) + 3, B0 + NODE(1));
	len = legacy_relative(legacy, image, dend, sample_reg,
			      sizeof sample_reg / sizeof *sample_reg, B0);
	refused(legacy, len, NODE(NODES) + 3, "unaligned word");
	cm_store64(image + NODE(NODES) + 3, 0xAAAAAAAAAAAAAAAAULL);

	/*
	 * An integer that is no address of the legacy data but one of the
	 * 1.0 data at the base asked for: cm_check would refuse the result.
	 */
	cm_store64(image + NODE(0), 0x600000000ULL + 128 + 40);
	len = legacy_relative(legacy, image, dend, sample_reg,
			      sizeof sample_reg / sizeof *sample_reg, B0);
	errno = 0;
	ck_assert_int_eq(cm_legacy_import(legacy, len, 0, 0x600000000ULL,
					  cm_test_write, &m, &e), -1);
	ck_assert_int_eq(errno, EBADMSG);
	ck_assert_int_eq(e.code, CM_E_UNRECORDED);
	ck_assert_uint_eq(e.offset, NODE(0));
	ck_assert_ptr_nonnull(strstr(e.message, "would point into the 1.0"));
	ck_assert_uint_eq(m.calls, 0);
	/* The same at the default base, past the legacy data end. */
	cm_store64(image + NODE(0), B0 + dend + 100);
	len = legacy_relative(legacy, image, dend, sample_reg,
			      sizeof sample_reg / sizeof *sample_reg, B0);
	refused_with(legacy, len, CM_E_UNRECORDED, NODE(0),
		     "would point into the 1.0 data");
	/* Elsewhere it is an integer like any other. */
	m = import_ok(legacy, len, 0, 0);
	free(m.p);
}
END_TEST

/* Under a 4 GiB B small integers would look like addresses: no scan,
 * and no zero delta is taken for a repeat. */
START_TEST(low_base_no_scan)
{
	const uint64_t b = 0x10000;
	uint8_t image[256], legacy[1024];
	size_t dend = sample_image(image, b, 0), len;
	struct cm_test_sink m;

	cm_store64(image + NODE(0), b + NODE(1));	/* an integer */
	len = legacy_relative(legacy, image, dend, sample_reg,
			      sizeof sample_reg / sizeof *sample_reg, b);
	m = import_ok(legacy, len, 0, UINT64_MAX);
	ck_assert_uint_eq(cm_test_header(m.p, m.len).base, b);
	assert_sample_table(&m);
	free(m.p);
}
END_TEST

/*
 * A blob cut short anywhere in its tail: the lost bytes are B's high
 * bytes then n's, and the blob is reported as truncated, in its mode, at
 * its end.
 */
START_TEST(refuses_truncated)
{
	uint8_t legacy[1024];
	char what[64];
	int absolute = _i;
	size_t len = sample(legacy, absolute, 0, B0);

	for (unsigned cut = 1; cut <= (absolute ? 15 : 16); cut++) {
		snprintf(what, sizeof what, "truncated %s legacy blob: its "
			 "last %u bytes", absolute ? "absolute" : "relative",
			 cut);
		refused_with(legacy, len - cut, CM_E_TRUNCATED, len - cut,
			     what);
	}
	/* Deeper, nothing tells: B is no address of this blob. */
	refused(legacy, len - 24, 0, "cut short?");
}
END_TEST

/*
 * The newer format of the original cma: a header {bitmap offset, bitmap
 * length, base, root}, the data, then a bitmap of its pointer words, 8
 * bytes for each 512 bytes begun, ending the file.
 */
START_TEST(refuses_bitmap_format)
{
	const size_t size = 32 + 600, bits = 8 * ((size >> 9) + 1);
	uint8_t blob[1024] = { 0 };

	cm_store64(blob, size);
	cm_store64(blob + 8, bits);
	cm_store64(blob + 16, B0);
	cm_store64(blob + 24, B0 + 32);
	cm_store64(blob + 40, B0 + 48);
	blob[size] = 1 << 5;
	refused(blob, size + bits, 0, "not a legacy cma blob: this looks "
		"like the newer bitmap format, which is not supported");
	/* One byte more and it is none: read as a pre-1.0 blob. */
	refused(blob, size + bits + 1, 0, "root");
}
END_TEST

/* The default base is a page: cm_open() maps the import there, where the
 * original lived, without relocating. */
START_TEST(opens_at_base)
{
	char path[] = "/tmp/cma-legacy-XXXXXX";
	void *where = mmap(NULL, 1 << 20, PROT_NONE,
			   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	uint64_t b = (uintptr_t)where;
	uint8_t legacy[1024];
	size_t len;
	struct cm_test_sink m;
	struct cm_blob *blob;
	int fd;

	ck_assert_ptr_ne(where, MAP_FAILED);
	munmap(where, 1 << 20);		/* a free range, page-aligned */
	len = sample(legacy, 0, 0, b);
	m = import_ok(legacy, len, 0, UINT64_MAX);
	ck_assert_uint_eq(cm_test_header(m.p, m.len).base, b);
	fd = mkstemp(path);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(write(fd, m.p, m.len), (ssize_t)m.len);
	close(fd);
	blob = cm_open(path, 0);
	ck_assert_ptr_nonnull(blob);
	ck_assert_int_eq(cm_blob_relocated(blob), 0);
	ck_assert_ptr_eq(cm_blob_root(blob),
			 (void *)(uintptr_t)(b + NODE(0) + SHIFT));
	ck_assert_int_eq(cm_close(blob), 0);
	unlink(path);
	free(m.p);
}
END_TEST

/* Where a page-aligned base would wrap the address space, 0. */
START_TEST(base_wraps)
{
	const uint64_t b = 0ULL - 4096;
	static uint8_t image[4000], legacy[4096];
	size_t len;
	struct cm_test_sink m;

	cm_store64(image, b + 8);
	len = legacy_relative(legacy, image, sizeof image, NULL, 0, b);
	m = import_ok(legacy, len, 0, UINT64_MAX);
	ck_assert_uint_eq(cm_test_header(m.p, m.len).base, 0);
	free(m.p);
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

/* ---- the corruption sweep ---- */

/* [p, p + n) inside [lo, hi). */
static bool inside(const uint8_t *p, size_t n, const uint8_t *lo,
		   const uint8_t *hi)
{
	return p >= lo && p <= hi && n <= (size_t)(hi - p);
}

/* A pointer the consumer meets: NULL, or inside the data (one past the
 * end allowed, as for any C object). */
static void assert_pointer(uint64_t v, const uint8_t *lo, const uint8_t *hi,
			   const char *what, size_t i, const char *field,
			   uint64_t at)
{
	const uint8_t *p = (const uint8_t *)(uintptr_t)v;

	ck_assert_msg(v == 0 || inside(p, 0, lo, hi),
		      "%s %zu: %s at 1.0 offset 0x%llx points outside the "
		      "data: 0x%llx", what, i, field, (unsigned long long)at,
		      (unsigned long long)v);
}

/* Did the producer put a node at legacy offset o? */
static bool is_node(const struct legacy_layout *lay, uint64_t o)
{
	for (size_t k = 0; k < lay->nodes; k++)
		if (lay->node[k] == o)
			return true;
	return false;
}

/*
 * The consumer of an import: relocate an exact-size copy (so that under
 * ASan a read past it is caught), walk the list from the root as
 * linked-list code would, reading each node and its name, then
 * follow every slot of the table and every word the producer wrote as a
 * pointer. Each pointer must be NULL or inside the copy's data, each node
 * and name read wholly inside it. A flipped byte may retarget a pointer
 * to another place inside the data: what lies there is no node, so the
 * walk checks that pointer and goes no further (no check without types
 * can tell). @return whether the walk met such a pointer.
 */
static bool walk_import(const struct cm_test_sink *m,
			const struct legacy_layout *lay, const char *what,
			size_t i)
{
	struct cm_header h = cm_test_header(m->p, m->len);
	uint8_t *copy = malloc(m->len), *lo, *hi;
	struct legacy_node node;
	struct cm_reloc_iter it;
	struct cm_reloc r;
	struct cm_error e;
	const uint8_t *p;
	bool retargeted = false;
	int n;

	ck_assert_ptr_nonnull(copy);
	memcpy(copy, m->p, m->len);
	p = cm_deserialize_flags(copy, m->len, 0, &e);
	ck_assert_msg(p != NULL, "%s %zu: deserialize: %s", what, i,
		      e.message);
	lo = copy + h.header_size;
	hi = copy + h.data_end;
	assert_pointer((uintptr_t)p, lo, hi, what, i, "the root", 0);
	/* A corrupted link may close a cycle: no more steps than nodes. */
	for (size_t k = 0; p && k < lay->nodes; k++) {
		const uint8_t *name;

		if (!is_node(lay, (uint64_t)(p - copy) - SHIFT)) {
			retargeted = true;
			break;
		}
		ck_assert_msg(inside(p, sizeof node, lo, hi),
			      "%s %zu: node %zu at 1.0 offset 0x%llx is not "
			      "inside the data", what, i, k,
			      (unsigned long long)(p - copy));
		memcpy(&node, p, sizeof node);
		name = (const uint8_t *)node.name;
		assert_pointer((uintptr_t)name, lo, hi, what, i, "a name",
			       (uint64_t)(p + 8 - copy));
		assert_pointer((uintptr_t)node.next, lo, hi, what, i,
			       "a next", (uint64_t)(p + 16 - copy));
		/* The name is read up to its NUL or the data end: a flipped
		 * NUL is no pointer defect, and no check can see it. */
		if (name && name != p + sizeof node)
			retargeted = true;
		else
			while (name && inside(name, 1, lo, hi) && *name)
				name++;
		p = (const uint8_t *)node.next;
	}
	ck_assert_int_eq(cm_reloc_begin(&it, m->p, m->len, NULL), 0);
	while ((n = cm_reloc_next(&it, &r, NULL)) == 1)
		assert_pointer(cm_load64(copy + r.slot), lo, hi, what, i,
			       "a slot", r.slot);
	ck_assert_int_eq(n, 0);
	/* What the table no longer lists is still a pointer to the code
	 * that reads the structure. */
	for (size_t k = 0; k < lay->slots; k++) {
		uint64_t at = lay->slot[k] + SHIFT;

		if (at + 8 <= h.data_end)
			assert_pointer(cm_load64(copy + at), lo, hi, what, i,
				       "a pointer field", at);
	}
	free(copy);
	return retargeted;
}

struct sweep_tally {
	unsigned made[LEGACY_CLASSES], imported[LEGACY_CLASSES];
	unsigned retargeted;
	unsigned refused[CM_E_UNRECORDED + 1];
};

/* Import one corruption: refused cleanly, or safe to walk. */
static void sweep_one(const uint8_t *blob, size_t len,
		      const struct legacy_layout *lay, enum legacy_class cls,
		      size_t i, struct sweep_tally *t)
{
	const char *what = lay->absolute ? "absolute" : "relative";
	struct cm_test_sink m = { 0 };
	struct cm_error e = { 0 };
	int rc;

	t->made[cls]++;
	errno = 0;
	rc = cm_legacy_import(blob, len, 0, UINT64_MAX, cm_test_write, &m, &e);
	if (rc != 0) {
		ck_assert_msg(errno == EBADMSG, "%s %zu: errno %d", what, i,
			      errno);
		ck_assert_msg(e.code == CM_E_LEGACY || e.code == CM_E_TRUNCATED
			      || e.code == CM_E_UNRECORDED
			      || e.code == CM_E_CONVERT,
			      "%s %zu: %s", what, i, cm_error_name(e.code));
		ck_assert_msg(m.calls == 0, "%s %zu: refused after writing",
			      what, i);
		t->refused[e.code]++;
		return;
	}
	t->imported[cls]++;
	ck_assert_msg(cm_check(m.p, m.len, CM_CHECK_EXACT | CM_CHECK_POINTERS,
			       &e) == 0,
		      "%s %zu (%s): the import fails cm_check: %s", what, i,
		      legacy_class_name(cls), e.message);
	t->retargeted += walk_import(&m, lay, what, i);
	free(m.p);
}

/*
 * Structure-aware corruptions of a valid relative and a valid absolute
 * list (legacy-edit.h): each is refused or imports into a blob that the
 * consumer walks without leaving the data.
 */
START_TEST(corruption_sweep)
{
	static const int codes[] = {
		CM_E_LEGACY, CM_E_TRUNCATED, CM_E_UNRECORDED, CM_E_CONVERT,
	};
	size_t size = legacy_list_size(LEGACY_SWEEP_NODES);
	uint8_t *valid = malloc(size), *bad = malloc(size);
	struct sweep_tally t = { 0 };
	struct legacy_layout lay;
	unsigned made = 0, imported = 0;

	ck_assert_ptr_nonnull(valid);
	ck_assert_ptr_nonnull(bad);
	for (int absolute = 0; absolute < 2; absolute++) {
		size_t len = legacy_list(valid, absolute, LEGACY_SWEEP_NODES, B0,
					 &lay);
		struct cm_test_sink m = import_ok(valid, len, 0, UINT64_MAX);

		ck_assert(!walk_import(&m, &lay, "valid", 0));
		free(m.p);
		for (size_t i = 0; i < LEGACY_SWEEP_EACH; i++) {
			enum legacy_class cls;
			size_t blen = legacy_corrupt(valid, &lay, i, bad,
						     &cls);
			/* An exact-size copy: ASan sees any read past it. */
			uint8_t *exact = malloc(blen);

			ck_assert_ptr_nonnull(exact);
			memcpy(exact, bad, blen);

			sweep_one(exact, blen, &lay, cls, i, &t);
			free(exact);
		}
	}
	for (int c = 0; c < LEGACY_CLASSES; c++) {
		printf("legacy sweep: %-22s %4u made, %4u imported\n",
		       legacy_class_name(c), t.made[c], t.imported[c]);
		made += t.made[c];
		imported += t.imported[c];
	}
	for (size_t k = 0; k < sizeof codes / sizeof *codes; k++)
		printf("legacy sweep: refused with %-16s %4u\n",
		       cm_error_name(codes[k]), t.refused[codes[k]]);
	printf("legacy sweep: %u corruptions, %u imported, every import "
	       "walked inside its data (%u with a pointer retargeted inside "
	       "it)\n", made, imported, t.retargeted);
	ck_assert_uint_ge(made, 2000);
	free(valid);
	free(bad);
}
END_TEST

Suite *cm_test_suite(void)
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
	tcase_add_test(tc, refuses_unrecorded);
	tcase_add_loop_test(tc, refuses_truncated, 0, 2);
	tcase_add_test(tc, refuses_bitmap_format);
	suite_add_tcase(s, tc);

	tc = tcase_create("tables and bases");
	tcase_add_test(tc, repeated_slots);
	tcase_add_test(tc, low_base_no_scan);
	tcase_add_test(tc, opens_at_base);
	tcase_add_test(tc, base_wraps);
	suite_add_tcase(s, tc);

	tc = tcase_create("corruptions");
	tcase_add_test(tc, corruption_sweep);
	suite_add_tcase(s, tc);
	return s;
}
