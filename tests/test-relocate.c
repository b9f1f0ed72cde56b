/* SPDX-License-Identifier: MIT */
/* Serialize, move, deserialize: every pointer right, every defect refused
 * with the blob left byte for byte as it was. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "test-util.h"
#include "../lib/cma-private.h"

static const int modes[] = { CM_RELATIVE_OFFSET, CM_ABSOLUTE_OFFSET };

/* ---- structures ---- */

struct gnode {
	int64_t x;
	struct gnode *a, *b, *self;
	char *interior;		/* into the middle of a text block */
	void *end;		/* one past the end of the data */
	struct gnode *null;	/* recorded, left NULL */
};

struct tnode {
	int key;
	struct tnode *left, *right, *parent;
};

static uint64_t rng_state;

static uint64_t rng(void)
{
	uint64_t z = (rng_state += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

/*
 * A random graph of n nodes; `reverse` sets the links in the other order,
 * which must not change the blob.
 */
static struct gnode *build_graph(struct cm_attr *mem, size_t n, bool reverse)
{
	struct gnode **nodes = calloc(n, sizeof *nodes);
	char *text;
	void *tail;
	struct gnode *root;

	ck_assert_ptr_nonnull(nodes);
	rng_state = 42;
	for (size_t i = 0; i < n; i++) {
		require_eq(cm_alloc(mem, &nodes[i], sizeof **nodes), 0);
		nodes[i]->x = (int64_t)i * 3;
	}
	ck_assert_int_eq(cm_alloc(mem, &text, 64), 0);
	strcpy(text, "interior pointers land here");
	ck_assert_int_eq(cm_alloc(mem, &tail, 8), 0);
	tail = (char *)tail + 8;	/* one past the end of the data */
	/* Targets come from a fixed sequence whatever the link order. */
	size_t *ta = calloc(n, sizeof *ta), *tb = calloc(n, sizeof *tb);

	for (size_t i = 0; i < n; i++) {
		ta[i] = rng() % n;
		tb[i] = rng() % (n + 1);	/* n: NULL */
	}
	for (size_t k = 0; k < n; k++) {
		size_t i = reverse ? n - 1 - k : k;
		struct gnode *g = nodes[i];

		require_eq(cm_ptr_to(mem, &g->a, nodes[ta[i]]), 0);
		require_eq(cm_ptr_to(mem, &g->b,
				     tb[i] == n ? NULL : nodes[tb[i]]), 0);
		require_eq(cm_ptr_to(mem, &g->self, g), 0);
		require_eq(cm_ptr_to(mem, &g->interior, text + i % 20), 0);
		require_eq(cm_ptr_to(mem, &g->end, tail), 0);
		if (!reverse)	/* NULL slots recorded or not: same blob */
			require_eq(cm_ptr_to(mem, &g->null, NULL), 0);
	}
	root = nodes[0];
	free(ta);
	free(tb);
	free(nodes);
	return root;
}

static struct tnode *tree_insert(struct cm_attr *mem, struct tnode *root,
				 int key)
{
	struct tnode *n, *p = NULL, **link = &root;

	while (*link) {
		p = *link;
		link = key < p->key ? &p->left : &p->right;
	}
	/* Allocates and links in one call when the link is in the arena. */
	ck_assert_int_eq(cm_alloc(mem, link, sizeof **link), 0);
	n = *link;
	n->key = key;
	ck_assert_int_eq(cm_ptr_to(mem, &n->parent, p), 0);
	ck_assert_int_eq(cm_ptr_to(mem, &n->left, NULL), 0);
	return root;
}

/* ---- checking a relocated copy ---- */

/* Every listed slot of the copy holds the original's target, moved. */
static void assert_same_targets(const uint8_t *orig, const uint8_t *copy,
				size_t len)
{
	struct cm_reloc_iter it;
	struct cm_reloc r;
	struct cm_error e;
	uint64_t n = 0;
	int rc;

	ck_assert_int_eq(cm_reloc_begin(&it, copy, len, &e), 0);
	while ((rc = cm_reloc_next(&it, &r, &e)) == 1) {
		uint64_t ov = cm_load64(orig + r.slot);

		ck_assert_uint_eq(r.value - (uintptr_t)copy,
				  ov - cm_load64(orig + CM_H_BASE));
		n++;
	}
	ck_assert_int_eq(rc, 0);
	ck_assert_uint_eq(n, cm_load64(copy + CM_H_POINTER_COUNT));
}

static void *serialize_copy(struct cm_attr *mem, void *root, int mode,
			    size_t *len)
{
	void *blob = cm_serialize(mem, root, mode, 0);

	ck_assert_ptr_nonnull(blob);
	ck_assert_ptr_eq(blob, cm_get_base(mem));
	*len = (size_t)cm_get_size(mem);
	ck_assert_int_eq(cm_check(blob, *len, CM_CHECK_EXACT, NULL), 0);
	return cm_test_copy(blob, *len);
}

START_TEST(list_round_trip)
{
	size_t len;
	uint8_t *blob = cm_test_list_blob(1000, modes[_i], &len);
	struct { uint64_t x; void *next; } *n;
	uint64_t expect = 999, count = 0;

	n = cm_deserialize(blob, len);
	ck_assert_ptr_nonnull(n);
	for (; n; n = n->next, count++) {
		require((uint8_t *)n >= blob);
		require((uint8_t *)n < blob + len);
		require_eq(n->x, expect--);
	}
	ck_assert_uint_eq(count, 1000);
	free(blob);
}
END_TEST

static int tree_walk(const struct tnode *t, const struct tnode *parent,
		     int *prev)
{
	int n = 0;

	if (!t)
		return 0;
	ck_assert_ptr_eq(t->parent, parent);
	n += tree_walk(t->left, t, prev);
	ck_assert_int_ge(t->key, *prev);
	*prev = t->key;
	n += tree_walk(t->right, t, prev);
	return n + 1;
}

START_TEST(tree_round_trip)
{
	struct cm_attr *mem = cm_create(-1, 1 << 20, MAP_PRIVATE, 0);
	struct tnode *root = NULL;
	uint8_t *copy;
	size_t len;
	int prev = -1;

	ck_assert_ptr_nonnull(mem);
	rng_state = 7;
	for (int i = 0; i < 500; i++)
		root = tree_insert(mem, root, (int)(rng() % 10000));
	copy = serialize_copy(mem, root, modes[_i], &len);
	root = cm_deserialize(copy, len);
	ck_assert_ptr_nonnull(root);
	ck_assert_int_eq(tree_walk(root, NULL, &prev), 500);
	assert_same_targets(cm_get_base(mem), copy, len);
	free(copy);
	cm_delete(mem, CM_ERASE);
}
END_TEST

START_TEST(graph_round_trip)
{
	struct cm_attr *mem = cm_create(-1, 1 << 22, MAP_PRIVATE, 0);
	struct gnode *root;
	uint8_t *copy;
	size_t len;

	ck_assert_ptr_nonnull(mem);
	root = build_graph(mem, 2000, false);
	copy = serialize_copy(mem, root, modes[_i], &len);
	root = cm_deserialize(copy, len);
	ck_assert_ptr_nonnull(root);
	ck_assert_ptr_eq(root->self, root);
	ck_assert_str_eq(root->interior, "interior pointers land here");
	ck_assert_ptr_eq(root->end, copy + cm_load64(copy + CM_H_DATA_END));
	ck_assert_ptr_null(root->null);
	assert_same_targets(cm_get_base(mem), copy, len);
	/* Deserializing twice is harmless: nothing moves. */
	ck_assert_ptr_eq(cm_deserialize(copy, len), root);
	ck_assert_ptr_eq(root->self, root);
	free(copy);
	cm_delete(mem, CM_ERASE);
}
END_TEST

START_TEST(link_order_does_not_change_the_blob)
{
	struct cm_attr *m1 = cm_create(-1, 1 << 22, MAP_PRIVATE, 0);
	struct cm_attr *m2 = cm_create(-1, 1 << 22, MAP_PRIVATE, 0);
	uint8_t *b1, *b2;
	size_t l1, l2;
	struct cm_header h1, h2;

	ck_assert_ptr_nonnull(m1);
	ck_assert_ptr_nonnull(m2);
	b1 = serialize_copy(m1, build_graph(m1, 500, false), modes[_i], &l1);
	b2 = serialize_copy(m2, build_graph(m2, 500, true), modes[_i], &l2);
	ck_assert_uint_eq(l1, l2);
	ck_assert_int_eq(cm_header_read(b1, l1, &h1, NULL), 0);
	ck_assert_int_eq(cm_header_read(b2, l2, &h2, NULL), 0);
	ck_assert_uint_ne(h1.base, h2.base);
	ck_assert_uint_eq(h1.checksum, h2.checksum);
	ck_assert_uint_eq(h1.pointer_count, h2.pointer_count);
	ck_assert_mem_eq(b1 + h1.table_offset, b2 + h2.table_offset,
			 h1.table_size);
	free(b1);
	free(b2);
	cm_delete(m1, CM_ERASE);
	cm_delete(m2, CM_ERASE);
}
END_TEST

START_TEST(relative_table_costs_one_byte_per_list_pointer)
{
	size_t len;
	uint8_t *blob = cm_test_list_blob(1000, CM_RELATIVE_OFFSET, &len);
	struct cm_header h;

	ck_assert_int_eq(cm_header_read(blob, len, &h, NULL), 0);
	ck_assert_uint_eq(h.pointer_count, 999);	/* the last is NULL */
	ck_assert_uint_eq(h.table_size, 999);
	free(blob);
}
END_TEST

START_TEST(malloc_buffer_and_alignment)
{
	size_t len;
	uint8_t *blob = cm_test_list_blob(10, modes[_i], &len);
	uint8_t *odd = malloc(len + 8);

	memcpy(odd + 4, blob, len);
	errno = 0;
	ck_assert_ptr_null(cm_deserialize(odd + 4, len));
	ck_assert_int_eq(errno, EINVAL);
	ck_assert_ptr_null(cm_deserialize(NULL, len));
	ck_assert_int_eq(errno, EINVAL);
	/* A longer len (a page-rounded mapping) is fine: the tail ignored. */
	memcpy(odd, blob, len);
	memset(odd + len, 0xee, 8);
	ck_assert_ptr_nonnull(cm_deserialize(odd, len + 8));
	ck_assert_int_eq(cm_check(odd, len + 8, 0, NULL), 0);
	ck_assert_int_eq(cm_check(odd, len + 8, CM_CHECK_EXACT, NULL), -1);
	free(odd);
	free(blob);
}
END_TEST

START_TEST(read_only_at_recorded_base)
{
	struct cm_attr *mem = cm_create(-1, 1 << 20, MAP_PRIVATE, 0);
	uint8_t *blob;
	size_t len;

	ck_assert_ptr_nonnull(mem);
	blob = cm_serialize(mem, build_graph(mem, 100, false), modes[_i], 0);
	ck_assert_ptr_nonnull(blob);
	len = (size_t)cm_get_size(mem);
	/* Recorded base == address: verified read-only, nothing written. */
	ck_assert_int_eq(mprotect(blob, len, PROT_READ), 0);
	ck_assert_ptr_nonnull(cm_deserialize(blob, len));
	ck_assert_ptr_nonnull(cm_deserialize_flags(blob, len, CM_TRUSTED,
						   NULL));
	ck_assert_int_eq(mprotect(blob, len, PROT_READ | PROT_WRITE), 0);
	cm_delete(mem, CM_ERASE);
}
END_TEST

/* ---- defects ---- */

struct defect {
	const char *what;
	int code;
	void (*apply)(uint8_t *b, const struct cm_header *h);
};

static void bad_magic(uint8_t *b, const struct cm_header *h)
{
	(void)h;
	b[3] = 'X';
}

static void bad_version(uint8_t *b, const struct cm_header *h)
{
	(void)h;
	b[CM_H_VERSION_MAJOR] = 2;
}

static void unknown_required_flag(uint8_t *b, const struct cm_header *h)
{
	(void)h;
	b[CM_H_REQUIRED] = 0x80;
}

static void bad_mode(uint8_t *b, const struct cm_header *h)
{
	(void)h;
	b[CM_H_MODE] = 3;
}

static void root_outside(uint8_t *b, const struct cm_header *h)
{
	cm_store64(b + CM_H_ROOT, h->data_end);
}

static void reserved_set(uint8_t *b, const struct cm_header *h)
{
	(void)h;
	b[CM_H_RESERVED1 + 3] = 1;
}

static void count_off(uint8_t *b, const struct cm_header *h)
{
	cm_store64(b + CM_H_POINTER_COUNT, h->pointer_count - 1);
}

/* The last listed slot's value: found late, after relocation began. */
static uint64_t last_slot(const uint8_t *b, const struct cm_header *h)
{
	struct cm_reloc_iter it;
	struct cm_reloc r;
	uint64_t s = 0;

	ck_assert_int_eq(cm_reloc_begin(&it, b, h->blob_size, NULL), 0);
	while (cm_reloc_next(&it, &r, NULL) == 1)
		s = r.slot;
	return s;
}

static void late_pointer_outside(uint8_t *b, const struct cm_header *h)
{
	cm_store64(b + last_slot(b, h), h->base + h->data_end + 8);
}

static void late_pointer_null(uint8_t *b, const struct cm_header *h)
{
	cm_store64(b + last_slot(b, h), 0);
}

static void late_data_byte(uint8_t *b, const struct cm_header *h)
{
	b[h->data_end - 1] ^= 0x10;	/* only the checksum can tell */
}

static void table_first_entry(uint8_t *b, const struct cm_header *h)
{
	if (h->mode == CM_ABSOLUTE_OFFSET)
		cm_store64(b + h->table_offset, 4);	/* in the header */
	else
		b[h->table_offset] = 0;	/* a zero delta */
}

static void table_last_entry(uint8_t *b, const struct cm_header *h)
{
	uint64_t end = h->table_offset + h->table_size;

	if (h->mode == CM_ABSOLUTE_OFFSET)
		cm_store64(b + end - 8, cm_load64(b + end - 16));	/* dup */
	else
		b[end - 1] |= 0x80;	/* cut VLQ */
}

static void padding_set(uint8_t *b, const struct cm_header *h)
{
	if (h->table_offset > h->data_end)
		b[h->data_end] = 1;
	else
		b[CM_H_RESERVED0] = 1;
}

static void checksum_flip(uint8_t *b, const struct cm_header *h)
{
	(void)h;
	b[CM_H_CHECKSUM] ^= 1;
}

static void blob_size_off(uint8_t *b, const struct cm_header *h)
{
	cm_store64(b + CM_H_BLOB_SIZE, h->blob_size + 8);
}

static void live_arena(uint8_t *b, const struct cm_header *h)
{
	(void)h;
	b[CM_H_REQUIRED] = CM_REQ_LIVE;
}

static const struct defect defects[] = {
	{ "magic", CM_E_MAGIC, bad_magic },
	{ "version", CM_E_VERSION, bad_version },
	{ "required flag", CM_E_REQUIRED_FLAG, unknown_required_flag },
	{ "live", CM_E_UNSEALED, live_arena },
	{ "mode", CM_E_MODE, bad_mode },
	{ "root", CM_E_ROOT, root_outside },
	{ "reserved", CM_E_PADDING, reserved_set },
	{ "count", CM_E_COUNT, count_off },
	{ "late pointer", CM_E_POINTER, late_pointer_outside },
	{ "late NULL", CM_E_POINTER, late_pointer_null },
	{ "late data", CM_E_CHECKSUM, late_data_byte },
	{ "first entry", 0, table_first_entry },
	{ "last entry", 0, table_last_entry },
	{ "padding", CM_E_PADDING, padding_set },
	{ "checksum", CM_E_CHECKSUM, checksum_flip },
	{ "blob size", 0, blob_size_off },
};

#define NDEFECTS (sizeof defects / sizeof *defects)

/* A blob big enough that the walk relocates many chunks before a late
 * defect: the undo path runs. */
static uint8_t *big_graph_blob(int mode, size_t *len)
{
	struct cm_attr *mem = cm_create(-1, 1 << 24, MAP_PRIVATE, 0);
	uint8_t *copy;

	ck_assert_ptr_nonnull(mem);
	copy = serialize_copy(mem, build_graph(mem, 20000, false), mode, len);
	cm_delete(mem, CM_ERASE);
	return copy;
}

START_TEST(each_defect_refused_and_blob_unchanged)
{
	const struct defect *d = &defects[_i % NDEFECTS];
	int mode = modes[_i / NDEFECTS];
	size_t len;
	uint8_t *blob = big_graph_blob(mode, &len);
	uint8_t *before = malloc(len);
	struct cm_header h;
	struct cm_error e = { 0 }, e2 = { 0 };

	ck_assert_int_eq(cm_header_read(blob, len, &h, NULL), 0);
	d->apply(blob, &h);
	memcpy(before, blob, len);
	ck_assert_int_eq(cm_check(blob, len, 0, &e), -1);
	ck_assert_int_ne(e.code, CM_OK);
	if (d->code)
		ck_assert_msg(e.code == d->code, "%s: got %s (%s)", d->what,
			      cm_error_name(e.code), e.message);
	errno = 0;
	ck_assert_ptr_null(cm_deserialize_flags(blob, len, 0, &e2));
	ck_assert_int_eq(errno, EBADMSG);
	ck_assert_int_eq(e2.code, e.code);
	ck_assert_uint_eq(e2.offset, e.offset);
	ck_assert_msg(memcmp(before, blob, len) == 0,
		      "%s: refused blob was changed", d->what);
	/* Trusted input skips the checksum, nothing else. */
	if (e.code != CM_E_CHECKSUM) {
		ck_assert_ptr_null(cm_deserialize_flags(blob, len, CM_TRUSTED,
							&e2));
		ck_assert_int_eq(e2.code, e.code);
		ck_assert_msg(memcmp(before, blob, len) == 0,
			      "%s: refused trusted blob was changed", d->what);
	}
	free(before);
	free(blob);
}
END_TEST

/*
 * cm_check and cm_deserialize_flags, both with `flags`, agree on b (whose
 * bytes are those at `before`), and a refused b stays as it was; b is left
 * as before. `what` names the spoiling.
 */
static void verdicts_agree(uint8_t *b, const uint8_t *before, size_t len,
			   int flags, const char *what)
{
	int ok = cm_check(b, len, flags, NULL) == 0;
	void *root = cm_deserialize_flags(b, len, flags, NULL);

	/* Called for every bit and byte: a message only when it fails. */
	if (ok != (root != NULL))
		ck_abort_msg("%s: check and deserialize disagree (flags %d)",
			     what, flags);
	if (!root && memcmp(b, before, len) != 0)
		ck_abort_msg("%s: refused blob changed (flags %d)", what,
			     flags);
	memcpy(b, before, len);
}

/* Whatever a bit flip does, check and deserialize agree, and a refused
 * blob stays as it was. */
START_TEST(every_bit_flip_of_a_small_blob)
{
	size_t len;
	uint8_t *orig = cm_test_list_blob(6, modes[_i], &len);
	uint8_t *b = malloc(len), *before = malloc(len);

	for (size_t bit = 0; bit < len * 8; bit++) {
		char what[32];

		memcpy(b, orig, len);
		b[bit / 8] ^= (uint8_t)(1u << (bit % 8));
		memcpy(before, b, len);
		snprintf(what, sizeof what, "bit %zu", bit);
		verdicts_agree(b, before, len, CM_TRUSTED, what);
		verdicts_agree(b, before, len, 0, what);
	}
	free(b);
	free(before);
	free(orig);
}
END_TEST

/* Defects among many entries, where the eight-at-a-time paths run: every
 * table byte and every pointer spoiled in turn, trusted and checked. */
START_TEST(every_table_byte_and_pointer_of_a_list)
{
	static const uint8_t spoil[] = { 0x00, 0x80, 0xff, 0x7f, 0x01 };
	size_t len;
	uint8_t *orig = cm_test_list_blob(100, modes[_i], &len);
	uint8_t *b = malloc(len), *before = malloc(len);
	struct cm_header h;
	struct cm_reloc_iter it;
	struct cm_reloc r;

	ck_assert_int_eq(cm_header_read(orig, len, &h, NULL), 0);
	for (uint64_t at = h.table_offset; at < h.blob_size; at++)
		for (size_t k = 0; k < sizeof spoil; k++) {
			char what[48];

			memcpy(b, orig, len);
			b[at] = spoil[k];
			memcpy(before, b, len);
			snprintf(what, sizeof what, "byte 0x%llx = 0x%02x",
				 (unsigned long long)at, spoil[k]);
			verdicts_agree(b, before, len, 0, what);
			verdicts_agree(b, before, len, CM_TRUSTED, what);
		}
	ck_assert_int_eq(cm_reloc_begin(&it, orig, len, NULL), 0);
	while (cm_reloc_next(&it, &r, NULL) == 1)
		for (int trusted = 0; trusted < 2; trusted++) {
			memcpy(b, orig, len);
			cm_store64(b + r.slot, h.base + h.data_end + 8);
			memcpy(before, b, len);
			require(cm_deserialize_flags(b, len,
				trusted ? CM_TRUSTED : 0, NULL) == NULL);
			require(memcmp(b, before, len) == 0);
		}
	free(b);
	free(before);
	free(orig);
}
END_TEST

START_TEST(every_truncation_refused)
{
	size_t len;
	uint8_t *orig = cm_test_list_blob(6, modes[_i], &len);
	struct cm_error e;

	for (size_t cut = 0; cut < len; cut++) {
		uint8_t *b = cm_test_copy(orig, len);

		require_eq(cm_check(b, cut, 0, &e), -1);
		require_eq(e.code, cut < 8 ? CM_E_MAGIC : CM_E_TRUNCATED);
		require(cm_deserialize(b, cut) == NULL);
		require(memcmp(b, orig, len) == 0);
		free(b);
	}
	free(orig);
}
END_TEST

/* ---- large blobs ---- */

/*
 * A sparse anonymous arena past 4 GiB: absolute mode round-trips (moved
 * with mremap, no copy), relative mode refuses with ERANGE, arena intact.
 */
START_TEST(absolute_beyond_4_gib_relative_refused)
{
	const size_t gib = 1ULL << 30, cap = 5 * gib;
	struct cm_attr *mem = cm_create(-1, cap, MAP_PRIVATE, CM_NO_HUGEPAGES);
	struct { void *far; uint64_t x; } *head;
	struct { void *back; uint64_t x; } *far;
	void *gap, *blob, *moved;
	size_t len;

	ck_assert_ptr_nonnull(mem);
	ck_assert_int_eq(cm_alloc(mem, &head, sizeof *head), 0);
	ck_assert_int_eq(cm_alloc(mem, &gap, 4 * gib + 4096), 0);
	ck_assert_int_eq(cm_alloc(mem, &head->far, sizeof *far), 0);
	far = head->far;
	far->x = 77;
	ck_assert_int_eq(cm_ptr_to(mem, &far->back, head), 0);
	ck_assert_uint_gt((uint8_t *)far - (uint8_t *)cm_get_base(mem),
			  4 * gib);
	errno = 0;
	ck_assert_ptr_null(cm_serialize(mem, head, CM_RELATIVE_OFFSET, 0));
	ck_assert_int_eq(errno, ERANGE);
	ck_assert_ptr_eq(head->far, far);
	blob = cm_serialize(mem, head, CM_ABSOLUTE_OFFSET, 0);
	ck_assert_ptr_nonnull(blob);
	len = (size_t)cm_get_size(mem);
	ck_assert_uint_gt(len, 4 * gib);
	ck_assert_int_eq(cm_delete(mem, CM_PRESERVE), 0);
	/* Move the pages elsewhere: a new address without a copy. */
	moved = mmap(NULL, cap, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS
		     | MAP_NORESERVE, -1, 0);
	ck_assert_ptr_ne(moved, MAP_FAILED);
	moved = mremap(blob, (len + 4095) & ~4095UL, (len + 4095) & ~4095UL,
		       MREMAP_MAYMOVE | MREMAP_FIXED, moved);
	ck_assert_ptr_ne(moved, MAP_FAILED);
	head = cm_deserialize(moved, len);
	ck_assert_ptr_nonnull(head);
	far = head->far;
	ck_assert_uint_eq(far->x, 77);
	ck_assert_ptr_eq(far->back, head);
	ck_assert_ptr_eq(head, (uint8_t *)moved + CM_HEADER_SIZE);
	munmap(moved, cap);
}
END_TEST

Suite *cm_test_suite(void)
{
	Suite *s = suite_create("relocate");
	TCase *tc = tcase_create("round trip");

	tcase_add_loop_test(tc, list_round_trip, 0, 2);
	tcase_add_loop_test(tc, tree_round_trip, 0, 2);
	tcase_add_loop_test(tc, graph_round_trip, 0, 2);
	tcase_add_loop_test(tc, link_order_does_not_change_the_blob, 0, 2);
	tcase_add_test(tc, relative_table_costs_one_byte_per_list_pointer);
	tcase_add_loop_test(tc, malloc_buffer_and_alignment, 0, 2);
	tcase_add_loop_test(tc, read_only_at_recorded_base, 0, 2);
	suite_add_tcase(s, tc);
	tc = tcase_create("rejects bad input");
	tcase_add_loop_test(tc, each_defect_refused_and_blob_unchanged, 0,
			    2 * NDEFECTS);
	tcase_add_loop_test(tc, every_bit_flip_of_a_small_blob, 0, 2);
	tcase_add_loop_test(tc, every_truncation_refused, 0, 2);
	tcase_add_loop_test(tc, every_table_byte_and_pointer_of_a_list, 0, 2);
	suite_add_tcase(s, tc);
	tc = tcase_create("large");
	tcase_set_timeout(tc, 300);
	tcase_add_test(tc, absolute_beyond_4_gib_relative_refused);
	suite_add_tcase(s, tc);
	return s;
}
