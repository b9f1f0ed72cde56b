/* SPDX-License-Identifier: MIT */
/* cm_legacy_import: check a pre-1.0 cma blob, write it as a v1 blob. */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>

#include "cma-private.h"

/*
 * The legacy layout (doc/legacy-format.md): [root word | data |
 * table | n | B], no header. The v1 header is 120 bytes longer than the root
 * word, so legacy offset o becomes v1 offset o + SHIFT.
 */
#define SHIFT (CM_HEADER_SIZE - 8)
#define TAIL 16			/* n and B */
#define DELTA_MAX_BYTES 6

/* What the checks established about the legacy blob. */
struct legacy {
	const uint8_t *p;
	uint64_t len;
	uint64_t b;		/* the producer's address of offset 0 */
	uint64_t root;		/* root offset */
	uint64_t data_end;	/* data = [8, data_end) */
	bool absolute;
	uint64_t n;		/* absolute: table entries */
	uint64_t table;		/* absolute: table start */
	uint64_t *slots;	/* relative: sorted, unique, non-NULL */
	uint64_t count;		/* non-NULL slots, each once */
};

/*
 * One delta of the relative table, read downwards from *pos (its first,
 * most significant byte). On return *pos is the byte below the delta.
 * @return 1 with *delta; 0 at the 0x00 terminator (*pos at it); -1 on a
 *	   defect.
 */
static int read_delta(const struct legacy *l, int64_t *pos, int64_t *delta,
		      uint64_t index, struct cm_error *err)
{
	int64_t start = *pos;
	uint64_t mag = 0;
	uint8_t b;

	for (unsigned k = 0;; k++) {
		if (*pos < 8)
			return cm_fail(err, CM_E_LEGACY,
				       start < 8 ? 8 : (uint64_t)start, index,
				       "relative table has no 0x00 "
				       "terminator: it runs into the root "
				       "word");
		b = l->p[*pos];
		mag = mag << 6 | (b & 0x3f);
		if (!(b & 0x80))
			break;
		if (k == DELTA_MAX_BYTES - 1)
			return cm_fail(err, CM_E_LEGACY, (uint64_t)*pos, index,
				       "relative delta longer than %d bytes",
				       DELTA_MAX_BYTES);
		if (b & 0x40)
			return cm_fail(err, CM_E_LEGACY, (uint64_t)*pos, index,
				       "continuation byte 0x%02x has bit 6 "
				       "set", b);
		(*pos)--;
	}
	if (*pos == start && b == 0)
		return 0;
	(*pos)--;
	if (mag == 0)
		return cm_fail(err, CM_E_LEGACY, (uint64_t)start, index,
			       *pos + 1 == start
			       ? "relative table ends with 0x40 (minus zero), "
				 "not 0x00"
			       : "relative table ends with a multi-byte zero, "
				 "not 0x00");
	if (mag > INT32_MAX)
		return cm_fail(err, CM_E_LEGACY, (uint64_t)start, index,
			       "relative delta %s0x%llx is outside 32 bits",
			       b & 0x40 ? "-" : "", (unsigned long long)mag);
	*delta = b & 0x40 ? -(int64_t)mag : (int64_t)mag;
	return 1;
}

/* A slot offset met at table offset `at`: inside the data, aligned. */
static int check_slot(const struct legacy *l, int64_t slot, uint64_t at,
		      uint64_t index, struct cm_error *err)
{
	if (slot < 0)
		return cm_fail(err, CM_E_LEGACY, at, index,
			       "slot %lld walks before the blob start",
			       (long long)slot);
	if (slot < 8)
		return cm_fail(err, CM_E_LEGACY, at, index,
			       "slot 0x%llx is in the root word",
			       (unsigned long long)slot);
	if ((uint64_t)slot > l->data_end || l->data_end - slot < 8)
		return cm_fail(err, CM_E_LEGACY, at, index,
			       "slot 0x%llx is not inside the data "
			       "[0x8, 0x%llx)", (unsigned long long)slot,
			       (unsigned long long)l->data_end);
	if (slot % 8)
		return cm_fail(err, CM_E_LEGACY, at, index,
			       "slot 0x%llx is not 8-byte aligned",
			       (unsigned long long)slot);
	return 0;
}

/* A checked slot's value: NULL, or an address inside the data (one past
 * the end allowed). */
static int check_target(const struct legacy *l, uint64_t slot,
			uint64_t index, bool *null, struct cm_error *err)
{
	uint64_t v = cm_load64(l->p + slot);

	*null = v == 0;
	if (v && (v < l->b || v - l->b < 8 || v - l->b > l->data_end))
		return cm_fail(err, CM_E_LEGACY, slot, index,
			       "slot 0x%llx points to 0x%llx, outside the "
			       "data [0x%llx, 0x%llx]",
			       (unsigned long long)slot,
			       (unsigned long long)v,
			       (unsigned long long)(l->b + 8),
			       (unsigned long long)(l->b + l->data_end));
	return 0;
}

/* n and the file length place the absolute table; the data ends at it. */
static int absolute_layout(struct legacy *l, struct cm_error *err)
{
	if (l->len % 8)
		return cm_fail(err, CM_E_LEGACY, l->len - TAIL, UINT64_MAX,
			       "absolute legacy blob of %llu bytes: the "
			       "length is not a multiple of 8",
			       (unsigned long long)l->len);
	if (l->n > (l->len - TAIL - 8) / 8)
		return cm_fail(err, CM_E_LEGACY, l->len - TAIL, UINT64_MAX,
			       "pointer count %llu is too large for a "
			       "%llu-byte blob", (unsigned long long)l->n,
			       (unsigned long long)l->len);
	l->table = l->len - TAIL - 8 * l->n;
	/* Up to 7 zero bytes of alignment may precede the table: they stay
	 * data, which keeps the v1 table offset equal to the data end. */
	l->data_end = l->table;
	return 0;
}

static int absolute_slots(struct legacy *l, struct cm_error *err)
{
	uint64_t prev = 0;

	for (uint64_t i = 0; i < l->n; i++) {
		uint64_t at = l->table + 8 * i;
		uint64_t slot = cm_load64(l->p + at);
		bool null;

		/* Registering a slot twice makes n count junk entries: they
		 * break the strict order or the bounds. */
		if (i > 0 && slot <= prev)
			return cm_fail(err, CM_E_LEGACY, at, i,
				       "absolute table entry 0x%llx is not "
				       "above the previous 0x%llx (unsorted, "
				       "duplicated or junk)",
				       (unsigned long long)slot,
				       (unsigned long long)prev);
		if (slot > INT64_MAX)
			return cm_fail(err, CM_E_LEGACY, at, i,
				       "slot 0x%llx is not inside the data",
				       (unsigned long long)slot);
		if (check_slot(l, (int64_t)slot, at, i, err)
		    || check_target(l, slot, i, &null, err))
			return -1;
		l->count += !null;
		prev = slot;
	}
	return 0;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return (x > y) - (x < y);
}

/* The relative table's terminator is the data end. Counts the deltas. */
static int relative_layout(struct legacy *l, uint64_t *deltas,
			   struct cm_error *err)
{
	int64_t pos = (int64_t)l->len - TAIL - 1, delta;
	int r;

	*deltas = 0;
	while ((r = read_delta(l, &pos, &delta, *deltas, err)) == 1)
		(*deltas)++;
	if (r < 0)
		return -1;
	l->data_end = (uint64_t)pos;
	return 0;
}

/*
 * Walk the deltas again: place each slot, check it, and keep the non-NULL
 * ones, sorted and each once.
 */
static int relative_slots(struct legacy *l, uint64_t deltas,
			  struct cm_error *err)
{
	int64_t pos = (int64_t)l->len - TAIL - 1, cur = 0, delta;
	uint64_t kept = 0;

	/* Each delta takes a byte at least: the count is bounded by len. */
	l->slots = calloc(deltas ? deltas : 1, sizeof *l->slots);
	if (!l->slots)
		return -1;	/* errno ENOMEM */
	for (uint64_t i = 0; i < deltas; i++) {
		uint64_t at = (uint64_t)pos;
		bool null;

		if (read_delta(l, &pos, &delta, i, err) != 1)
			return -1;	/* cannot happen: read before */
		cur += delta;
		if (check_slot(l, cur, at, i, err)
		    || check_target(l, (uint64_t)cur, i, &null, err))
			return -1;
		if (!null)
			l->slots[kept++] = (uint64_t)cur;
	}
	/* Registration order may repeat or go backwards; v1 wants each slot
	 * once, ascending. */
	qsort(l->slots, kept, sizeof *l->slots, cmp_u64);
	for (uint64_t i = 0; i < kept; i++)
		if (l->count == 0 || l->slots[l->count - 1] != l->slots[i])
			l->slots[l->count++] = l->slots[i];
	return 0;
}

static int check_legacy(struct legacy *l, struct cm_error *err)
{
	uint64_t root, deltas = 0;

	if (l->len < 8 + TAIL)
		return cm_fail(err, CM_E_LEGACY, 0, UINT64_MAX,
			       "too short for a legacy blob: %llu bytes, the "
			       "root word, n and B alone take %d",
			       (unsigned long long)l->len, 8 + TAIL);
	l->n = cm_load64(l->p + l->len - TAIL);
	l->b = cm_load64(l->p + l->len - 8);
	l->absolute = l->n > 0;
	if (l->absolute ? absolute_layout(l, err)
			: relative_layout(l, &deltas, err))
		return -1;
	root = cm_load64(l->p);
	if (root == 0)
		return cm_fail(err, CM_E_LEGACY, 0, UINT64_MAX,
			       "NULL root pointer");
	if (root < l->b || root - l->b < 8 || root - l->b >= l->data_end)
		return cm_fail(err, CM_E_LEGACY, 0, UINT64_MAX,
			       "root 0x%llx outside the data [0x%llx, 0x%llx)",
			       (unsigned long long)root,
			       (unsigned long long)(l->b + 8),
			       (unsigned long long)(l->b + l->data_end));
	l->root = root - l->b;
	return l->absolute ? absolute_slots(l, err)
			   : relative_slots(l, deltas, err);
}

/* The output's slots: the legacy ones moved by SHIFT, ascending. */
struct cursor {
	const struct legacy *l;
	uint64_t i;		/* next table or slots[] index */
	uint64_t slot;		/* the next v1 slot; UINT64_MAX at the end */
};

/* The next non-NULL slot from c->i on, as a v1 offset. */
static uint64_t next_slot(struct cursor *c)
{
	const struct legacy *l = c->l;

	if (!l->absolute)
		return c->i < l->count ? l->slots[c->i++] + SHIFT : UINT64_MAX;
	while (c->i < l->n) {
		uint64_t slot = cm_load64(l->p + l->table + 8 * c->i++);

		if (cm_load64(l->p + slot))
			return slot + SHIFT;
	}
	return UINT64_MAX;
}

static void cursor_start(void *ctx)
{
	struct cursor *c = ctx;

	c->i = 0;
	c->slot = next_slot(c);
}

/* The slots were checked before: no defect here. */
static ssize_t cursor_next(void *ctx, uint64_t *slots, size_t max,
			   uint64_t limit, struct cm_error *err)
{
	struct cursor *c = ctx;
	size_t k = 0;

	(void)err;
	for (; k < max && c->slot < limit; c->slot = next_slot(c))
		slots[k++] = c->slot;
	return (ssize_t)k;
}

/*
 * Layout: the legacy data [8, data_end) lands at v1 offset 128, so legacy
 * offset o is v1 offset o + 120, and a pointer B + o becomes base + o + 120.
 * The default base is B - 120: every pointer value stays as it was, so the
 * imported blob opens without relocation where the original lived. When
 * that base is impossible (B below 120 or unaligned, or the blob would wrap
 * the address space) the default is 0, the canonical base. The capacity
 * field is the blob size. The v1 table lists each non-NULL slot once,
 * ascending.
 *
 * Memory: constant (the writer's 72 KiB), except for a legacy relative
 * table, whose slots come in registration order: sorting them takes 8 bytes
 * per delta, a count taken from the checked table (each delta is at least
 * one byte, so at most 8 times the file's size). calloc failure is ENOMEM.
 *
 * Two passes, as in cm_convert: the first hashes the normalised output, the
 * second writes it. Nothing is written when the input is refused.
 */
CM_API int cm_legacy_import(const void *legacy, size_t len, int mode,
			    uint64_t base, cm_write_fn write, void *ctx,
			    struct cm_error *err)
{
	struct legacy l = { .p = legacy, .len = len };
	struct cursor c = { .l = &l };
	struct cm_blob_source src = {
		.data = legacy && len >= 8 ? l.p + 8 : l.p,	/* checked below */
		.start = cursor_start, .next = cursor_next, .ctx = &c,
	};
	struct cm_header h = {
		.version_major = CM_VERSION_MAJOR,
		.version_minor = CM_VERSION_MINOR,
		.header_size = CM_HEADER_SIZE,
	};
	int ret = -1, saved;

	if (!legacy || !write
	    || (mode != 0 && mode != CM_RELATIVE_OFFSET
		&& mode != CM_ABSOLUTE_OFFSET)
	    || (base != UINT64_MAX && base % 8)) {
		errno = EINVAL;
		return -1;
	}
	if (check_legacy(&l, err))
		goto out;

	h.mode = mode ? (uint32_t)mode
		      : l.absolute ? CM_ABSOLUTE_OFFSET : CM_RELATIVE_OFFSET;
	h.root = l.root + SHIFT;
	h.data_end = l.data_end + SHIFT;
	h.table_offset = cm_align8(h.data_end);
	h.pointer_count = l.count;
	if (cm_blob_table_size(&h, &src, &h.table_size, err))
		goto out;
	h.blob_size = h.table_offset + h.table_size;
	h.capacity = h.blob_size;
	if (h.mode == CM_RELATIVE_OFFSET && h.data_end >= CM_RELATIVE_LIMIT) {
		cm_fail(err, CM_E_CONVERT, l.data_end, UINT64_MAX,
			"data end 0x%llx (v1) is over the relative mode's "
			"2 GiB bound", (unsigned long long)h.data_end);
		goto out;
	}
	if (base == UINT64_MAX) {
		base = l.b - SHIFT;
		if (l.b < SHIFT || base % 8 || base + h.blob_size < base)
			base = 0;
	} else if (base + h.blob_size < base) {
		errno = EINVAL;
		goto out;
	}

	h.base = base;
	/* A slot's legacy value B + o becomes o + SHIFT for base 0. */
	src.rebase = SHIFT - l.b;
	ret = cm_blob_write(&h, &src, write, ctx, err);
out:
	saved = errno;
	free(l.slots);
	errno = saved;
	return ret;
}
