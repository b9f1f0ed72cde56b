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
/* The original ran on x86-64 only: its mappings, so B, are on 4 KiB. */
#define LEGACY_PAGE 4096ULL
/* The newer format of the original cma: {bitmap offset, bitmap length,
 * base, root} at offset 0. */
#define BITMAP_HEADER 32

/* What the checks established about the legacy blob. */
struct legacy {
	const uint8_t *p;
	uint64_t len;
	uint64_t b;		/* the producer's address of offset 0 */
	uint64_t root;		/* root offset */
	uint64_t data_end;	/* data = [8, data_end) */
	bool absolute;
	bool scan;		/* B is high enough for the pointer scan */
	uint64_t n;		/* absolute: table entries */
	uint64_t table;		/* absolute: table start */
	uint64_t *slots;	/* the non-NULL slots; at the end of the checks
				 * sorted, each once */
	uint64_t count, cap;
	/* Relative: the largest slot end and target offset, so that a
	 * shorter data can be tried without walking the slots again. */
	uint64_t slots_end, targets_end;
	/* Relative, once a 0x00 may be a repeat: a bit per data word, set
	 * for each slot kept before it. */
	uint64_t *listed;
};

/* Keep a checked non-NULL slot. */
static int keep_slot(struct legacy *l, uint64_t slot)
{
	if (l->count == l->cap) {
		uint64_t cap = l->cap ? 2 * l->cap : 64;
		uint64_t *s = realloc(l->slots, cap * sizeof *s);

		if (!s)
			return -1;	/* errno ENOMEM */
		l->slots = s;
		l->cap = cap;
	}
	l->slots[l->count++] = slot;
	return 0;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return (x > y) - (x < y);
}

/* Sort the kept slots and keep each once. */
static void sort_slots(struct legacy *l)
{
	uint64_t kept = 0;

	if (l->count < 2)
		return;		/* qsort must not see a NULL array */
	qsort(l->slots, l->count, sizeof *l->slots, cmp_u64);
	for (uint64_t i = 0; i < l->count; i++)
		if (kept == 0 || l->slots[kept - 1] != l->slots[i])
			l->slots[kept++] = l->slots[i];
	l->count = kept;
}

/*
 * The newer format of the original cma, which replaced the pre-1.0 one:
 * its header holds the offset and length of a bitmap of the pointer words
 * that ends the file, 8 bytes for each 512 bytes of what precedes it
 * (aligned down), then the producer's base and root.
 */
static bool bitmap_format(const struct legacy *l)
{
	uint64_t off, size, base, root, words;

	if (l->len < BITMAP_HEADER + 8)
		return false;
	off = cm_load64(l->p);
	size = cm_load64(l->p + 8);
	base = cm_load64(l->p + 16);
	root = cm_load64(l->p + 24);
	if (off < BITMAP_HEADER || off % 8 || off > l->len
	    || size != l->len - off || size == 0 || size % 8)
		return false;
	words = size / 8 - 1;
	if (words != off >> 9 && words != (off - 8) >> 9)
		return false;
	return base && root >= base && root - base >= BITMAP_HEADER
	       && root - base < off;
}

/*
 * One delta of the relative table, read downwards from *pos (its first,
 * most significant byte). On return *pos is the byte below the delta.
 * @return 1 with *delta; 0 at a 0x00 byte (*pos at it); -1 on a defect.
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
			       "slot 0x%llx is not 8-byte aligned (its "
			       "allocation made without CM_ALIGNED?): a 1.0 "
			       "blob cannot record it",
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

/* check_slot and check_target; keeps the slot unless it is NULL. */
static int take_slot(struct legacy *l, int64_t slot, uint64_t at,
		     uint64_t index, struct cm_error *err)
{
	bool null;

	if (check_slot(l, slot, at, index, err)
	    || check_target(l, (uint64_t)slot, index, &null, err))
		return -1;
	if ((uint64_t)slot + 8 > l->slots_end)
		l->slots_end = (uint64_t)slot + 8;
	if (null)
		return 0;
	if (cm_load64(l->p + slot) - l->b > l->targets_end)
		l->targets_end = cm_load64(l->p + slot) - l->b;
	return keep_slot(l, (uint64_t)slot);
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

/*
 * The entries ascend. One equal to the one before is a slot registered
 * twice: it is kept once. The original counts registrations, so n may
 * exceed the slots it wrote: the entries it never wrote, zero, end the
 * table.
 */
static int absolute_slots(struct legacy *l, struct cm_error *err)
{
	uint64_t prev = 0, last = l->n;

	while (last > 0 && cm_load64(l->p + l->table + 8 * (last - 1)) == 0)
		last--;
	for (uint64_t i = 0; i < last; i++) {
		uint64_t at = l->table + 8 * i;
		uint64_t slot = cm_load64(l->p + at);

		if (i > 0 && slot == prev)
			continue;
		if (i > 0 && slot < prev)
			return cm_fail(err, CM_E_LEGACY, at, i,
				       "absolute table entry 0x%llx is below "
				       "the previous 0x%llx (unsorted or junk)",
				       (unsigned long long)slot,
				       (unsigned long long)prev);
		if (slot > INT64_MAX)
			return cm_fail(err, CM_E_LEGACY, at, i,
				       "slot 0x%llx is not inside the data",
				       (unsigned long long)slot);
		if (take_slot(l, (int64_t)slot, at, i, err))
			return -1;
		prev = slot;
	}
	return 0;
}

/*
 * Read the relative deltas from *pos down to the next 0x00 byte, which
 * *pos is left at. With `take` each slot is checked against the data end
 * and kept; without, only the encoding is checked (to find that end).
 */
static int relative_run(struct legacy *l, int64_t *pos, int64_t *cur,
			uint64_t *index, bool take, struct cm_error *err)
{
	for (;;) {
		int64_t at = *pos, delta = 0;
		int r = read_delta(l, pos, &delta, *index, err);

		if (r != 1)
			return r;
		*cur += delta;
		if (take && take_slot(l, *cur, (uint64_t)at, *index, err))
			return -1;
		(*index)++;
	}
}

static bool is_listed(const struct legacy *l, uint64_t slot)
{
	return l->listed[slot / 512] >> (slot / 8 % 64) & 1;
}

/* Mark slots[from, count) in l->listed, made first (for the data end of
 * that time, the largest) when NULL. */
static bool mark_listed(struct legacy *l, uint64_t from)
{
	if (!l->listed) {
		l->listed = calloc(l->data_end / 512 + 1, sizeof *l->listed);
		if (!l->listed)
			return false;
		from = 0;
	}
	for (uint64_t k = from; k < l->count; k++)
		l->listed[l->slots[k] / 512] |= 1ULL << (l->slots[k] / 8 % 64);
	return true;
}

/*
 * The bytes below a relative table's 0x00 read as more deltas: is that
 * 0x00 a slot registered twice in a row (a zero delta), whose table goes
 * on, rather than the end? Only when the slots read there are sound for
 * the shorter data that leaves, and at least one of them is a word the
 * pointer scan would refuse as unrecorded: below a real end lies data,
 * whose pointers are all listed already. Without the scan (B too low) no
 * 0x00 is taken for a repeat.
 */
static bool relative_goes_on(struct legacy *l, int64_t *pos, int64_t *cur,
			     uint64_t *index)
{
	int64_t below = *pos - 1, c = *cur;
	uint64_t i = *index, kept = l->count, end = l->data_end;
	uint64_t slots_end = l->slots_end, targets_end = l->targets_end;
	bool hit = false;

	if (!l->scan || below < 8 || relative_run(l, &below, &c, &i, false,
						  NULL) < 0)
		return false;
	if (!l->listed && !mark_listed(l, 0))
		return false;	/* no memory to tell: the end */
	/* The data would end at the next 0x00: what was checked stays so. */
	l->data_end = (uint64_t)below;
	if (l->root >= l->data_end || slots_end > l->data_end
	    || targets_end > l->data_end)
		goto no;
	below = *pos - 1;
	c = *cur;
	i = *index;
	if (relative_run(l, &below, &c, &i, true, NULL) < 0)
		goto no;
	for (uint64_t k = kept; k < l->count && !hit; k++)
		hit = !is_listed(l, l->slots[k]);
	if (!hit)
		goto no;
	mark_listed(l, kept);
	*pos = below;
	*cur = c;
	*index = i;
	return true;
no:
	l->count = kept;
	l->data_end = end;
	l->slots_end = slots_end;
	l->targets_end = targets_end;
	return false;
}

/* The deltas up to the first 0x00 place the data end. */
static int relative_layout(struct legacy *l, struct cm_error *err)
{
	int64_t pos = (int64_t)l->len - TAIL - 1, cur = 0;
	uint64_t index = 0;

	if (relative_run(l, &pos, &cur, &index, false, err) < 0)
		return -1;
	l->data_end = (uint64_t)pos;
	return 0;
}

/* Each slot checked against the data end; the table followed past each
 * 0x00 that is a repeated slot. */
static int relative_slots(struct legacy *l, struct cm_error *err)
{
	int64_t pos = (int64_t)l->len - TAIL - 1, cur = 0;
	uint64_t index = 0;

	if (relative_run(l, &pos, &cur, &index, true, err) < 0)
		return -1;
	while (relative_goes_on(l, &pos, &cur, &index))
		;
	return 0;
}

struct first_hit {
	bool found;
	uint64_t offset, value;
};

static bool note_hit(void *ctx, uint64_t offset, uint64_t value)
{
	struct first_hit *h = ctx;

	*h = (struct first_hit){ true, offset, value };
	return true;
}

/*
 * The first 8-byte aligned word of the legacy data that is no slot and
 * holds a value in [lo, hi] (the library's scan, on legacy offsets).
 */
static struct first_hit scan_words(const struct legacy *l, uint64_t lo,
				   uint64_t hi)
{
	struct first_hit h = { 0 };
	struct cm_scan s = {
		.lo = lo, .span = hi - lo, .data_end = l->data_end,
	};

	cm_scan_slots(&s, l->p + 8, 8, l->data_end, l->slots,
		      (size_t)l->count, note_hit, &h);
	return h;
}

/*
 * The pointer scan, on the legacy bytes before anything is written. A word
 * that holds an address of the legacy data [B + 8, B + data_end] and is
 * not listed is a pointer the table lost (or one stored with '='): the
 * consumer would follow it to the producer's memory. And the result must
 * pass cm_check's scan, whose range at `base` is [base + 128, base +
 * data_end + 120]. Where both apply and meet, one pass covers both. The
 * aligned words go through the library's scan; the others (allocations
 * made without CM_ALIGNED) are read one by one, for the legacy range.
 */
static int scan_import(const struct legacy *l, uint64_t base,
		       struct cm_error *err)
{
	struct cm_scan old;
	uint64_t lo = base + SHIFT + 8, hi = base + SHIFT + l->data_end;
	bool out = base >= CM_SCAN_MIN_BASE;
	struct first_hit h = { 0 };

	cm_scan_rule(&old, l->b, 8, l->data_end);
	/* First what the legacy bytes alone refuse, whatever the output. */
	for (uint64_t o = 9; l->scan && o + 8 <= l->data_end; o++) {
		uint64_t v = cm_load64(l->p + o);

		if (o % 8 && v - old.lo <= old.span)
			return cm_fail(err, CM_E_LEGACY, o, UINT64_MAX,
				       "unaligned word 0x%llx points into the "
				       "data (offset 0x%llx), no slot (made "
				       "without CM_ALIGNED?)",
				       (unsigned long long)v,
				       (unsigned long long)(v - l->b));
	}
	if (l->scan && out && lo <= old.lo + old.span + 1
	    && old.lo <= hi + 1) {
		h = scan_words(l, lo < old.lo ? lo : old.lo,
			       hi > old.lo + old.span ? hi
						      : old.lo + old.span);
	} else {
		if (l->scan)
			h = scan_words(l, old.lo, old.lo + old.span);
		if (!h.found && out)
			h = scan_words(l, lo, hi);
	}
	if (h.found && h.value - old.lo <= old.span && l->scan)
		return cm_fail_unrecorded(err, &old, h.offset, h.value);
	if (h.found)
		return cm_fail(err, CM_E_UNRECORDED, h.offset, UINT64_MAX,
			       "word 0x%llx would point into the 1.0 data at "
			       "base 0x%llx but is not a recorded pointer "
			       "slot", (unsigned long long)h.value,
			       (unsigned long long)base);
	return 0;
}

/* The root word against B: inside the blob B says it is. */
static bool root_in_blob(const struct legacy *l, uint64_t root)
{
	return root >= l->b && root - l->b >= 8 && root - l->b < l->len - TAIL;
}

/* Everything past the tail, given l->n and l->b (and a non-NULL root). */
static int check_layout(struct legacy *l, struct cm_error *err)
{
	uint64_t root = cm_load64(l->p);

	l->absolute = l->n > 0;
	l->scan = l->b >= CM_SCAN_MIN_BASE;
	if (!root_in_blob(l, root))
		return cm_fail(err, CM_E_LEGACY, 0, UINT64_MAX,
			       "root 0x%llx is not inside the blob that B "
			       "0x%llx (its last 8 bytes) places: cut short?",
			       (unsigned long long)root,
			       (unsigned long long)l->b);
	l->root = root - l->b;
	if (l->absolute ? absolute_layout(l, err) : relative_layout(l, err))
		return -1;
	if (l->root >= l->data_end)
		return cm_fail(err, CM_E_LEGACY, 0, UINT64_MAX,
			       "root 0x%llx outside the data [0x%llx, 0x%llx)",
			       (unsigned long long)root,
			       (unsigned long long)(l->b + 8),
			       (unsigned long long)(l->b + l->data_end));
	if (l->absolute ? absolute_slots(l, err) : relative_slots(l, err))
		return -1;
	sort_slots(l);
	return 0;
}

/*
 * A blob cut k bytes short (1 <= k <= TAIL) lost the top of its tail: its
 * last 16 - k bytes are the low bytes of n, then of B. Rebuild the lost
 * bytes (the high bytes of n are zero; B is the nearest value below the
 * root with the bytes that are left, or below 8 bytes left the root's
 * page) and check the whole blob so completed, the pointer scan included:
 * only a blob that was whole before the cut passes, and it must list a
 * pointer. @return k, or 0.
 */
static unsigned cut_short(const struct legacy *l, uint64_t root,
			  bool *absolute)
{
	for (unsigned k = 1; k <= TAIL; k++) {
		const uint8_t *t = l->p + l->len - TAIL + k;
		struct legacy whole = { .p = l->p, .len = l->len + k };
		unsigned known = TAIL - k, b_known = known > 8 ? known - 8 : 0;
		uint64_t low = 0;
		int rc;

		for (unsigned i = known > 8 ? 8 : known; i-- > 0;)
			whole.n = whole.n << 8 | t[i];
		for (unsigned i = b_known; i-- > 0;)
			low = low << 8 | t[8 + i];
		if (b_known) {
			uint64_t m = (1ULL << (8 * b_known)) - 1;
			uint64_t r = (root - low) & m;

			whole.b = root - (r >= 8 ? r : r + m + 1);
		} else {
			whole.b = (root - 8) & ~(LEGACY_PAGE - 1);
		}
		rc = check_layout(&whole, NULL);
		if (rc == 0)
			rc = scan_import(&whole, 0, NULL);
		/* An empty table fits any bytes: it proves nothing. */
		if (rc == 0 && whole.count == 0)
			rc = -1;
		free(whole.slots);
		free(whole.listed);
		if (rc == 0) {
			*absolute = whole.absolute;
			return k;
		}
	}
	return 0;
}

static int check_legacy(struct legacy *l, struct cm_error *err)
{
	uint64_t root;
	unsigned cut;
	bool absolute;

	if (l->len < 8 + TAIL)
		return cm_fail(err, CM_E_LEGACY, 0, UINT64_MAX,
			       "too short for a legacy blob: %llu bytes, the "
			       "root word, n and B alone take %d",
			       (unsigned long long)l->len, 8 + TAIL);
	if (bitmap_format(l))
		return cm_fail(err, CM_E_LEGACY, 0, UINT64_MAX,
			       "not a legacy cma blob: this looks like the "
			       "newer bitmap format, which is not supported");
	root = cm_load64(l->p);
	if (root == 0)
		return cm_fail(err, CM_E_LEGACY, 0, UINT64_MAX,
			       "NULL root pointer");
	l->n = cm_load64(l->p + l->len - TAIL);
	l->b = cm_load64(l->p + l->len - 8);
	/* A cut blob's n and B are misplaced: the root tells. */
	if (!root_in_blob(l, root) && (cut = cut_short(l, root, &absolute)))
		return cm_fail(err, CM_E_TRUNCATED, l->len, UINT64_MAX,
			       "truncated %s legacy blob: its last %u bytes "
			       "(of n and B, the tail) are missing",
			       absolute ? "absolute" : "relative", cut);
	return check_layout(l, err);
}

/* The output's slots: the legacy ones moved by SHIFT, ascending. */
struct cursor {
	const struct legacy *l;
	uint64_t i;		/* next slots[] index */
	uint64_t slot;		/* the next v1 slot; UINT64_MAX at the end */
};

static uint64_t next_slot(struct cursor *c)
{
	return c->i < c->l->count ? c->l->slots[c->i++] + SHIFT : UINT64_MAX;
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
 * The default base is B rounded down to a page: cm_open() can map the
 * imported blob there, where the original lived, without relocating. When
 * the blob would wrap the address space from there the default is 0, the
 * canonical base. The capacity field is the blob size. The v1 table lists
 * each non-NULL slot once, ascending.
 *
 * Memory: the writer's 72 KiB and 8 bytes a non-NULL slot, kept to sort
 * and scan them (at most the file's size for an absolute table, 8 times
 * it for a relative one), and for a relative table read on past a 0x00 a
 * bit per data word. Allocation failure is ENOMEM.
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
		base = l.b & ~(LEGACY_PAGE - 1);
		if (base + h.blob_size < base)
			base = 0;
	} else if (base + h.blob_size < base) {
		errno = EINVAL;
		goto out;
	}
	if (scan_import(&l, base, err))
		goto out;

	h.base = base;
	/* A slot's legacy value B + o becomes o + SHIFT for base 0. */
	src.rebase = SHIFT - l.b;
	ret = cm_blob_write(&h, &src, write, ctx, err);
out:
	saved = errno;
	free(l.slots);
	free(l.listed);
	errno = saved;
	return ret;
}
