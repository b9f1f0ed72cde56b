/* SPDX-License-Identifier: MIT */
/*
 * The one pass over a blob's data and table that cm_check and
 * cm_deserialize share: each chunk's table entries decoded to a bitmap,
 * then one read of its bytes checks, hashes and relocates every slot.
 */
#include <errno.h>
#include <stdlib.h>

#include "hash.h"
#include "prefault.h"
#include "scan.h"
#include "table.h"
#include "walk.h"

/* Data is walked in chunks this big: a chunk's slots are decoded to a
 * bitmap, then one pass checks, hashes and relocates it. Large, so the
 * per-chunk costs vanish; the bitmap is 1/64 of it, on the stack. */
#define WALK_CHUNK (512 * 1024)
/* The general way (a defect to find, an object map) takes pieces this big,
 * slot offsets in an array. */
#define SLOW_PIECE (16 * 1024)
#define SLOW_SLOTS (SLOW_PIECE / 8)

struct walk {
	const uint8_t *blob;
	uint8_t *wblob;
	const struct cm_header *h;
	int flags;
	uint64_t shift;
	struct cm_defects *d;
	struct cm_object_map map;
	uint64_t object;	/* the object holding the last slot */
	struct cm_prefault prefault;	/* writing: pages populated ahead */
	bool scanning;		/* CM_CHECK_POINTERS, and the base allows */
	struct cm_scan scan;
	struct cm_table_shares shares;
};

/* ---- the general way: slot offsets, every check with its report ---- */

/* Is `target` inside a live object or one past its end? */
static bool target_in_object(const struct cm_object_map *m, uint64_t target)
{
	uint64_t lo = 0, hi = m->count;

	while (lo < hi) {	/* first object ending at or after target */
		uint64_t mid = lo + (hi - lo) / 2;

		if (cm_object_end(m, mid) < target)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < m->count && cm_object_offset(m, lo) <= target;
}

/* Check each slot's value (and object membership); true to stop. */
static bool check_slots(struct walk *w, const uint8_t *view, uint64_t view_off,
			const uint64_t *slots, size_t n, uint64_t first_index)
{
	const struct cm_header *h = w->h;
	uint64_t lo = h->base + h->header_size;
	uint64_t span = h->data_end - h->header_size;
	struct cm_error e;
	size_t ok = 0;

	/* The common case first: one compare a pointer (NULL wraps high). */
	if (!w->map.pairs)
		while (ok < n
		       && cm_load64(view + (slots[ok] - view_off)) - lo <= span)
			ok++;
	for (size_t i = ok; i < n; i++) {
		uint64_t v = cm_load64(view + (slots[i] - view_off));
		uint64_t t = v - h->base;
		uint64_t index = first_index + i;

		if (__builtin_expect(!cm_value_ok(h, v), 0)) {
			cm_fail_pointer(&e, slots[i], index, v);
			if (cm_defect(w->d, &e))
				return true;
			continue;
		}
		if (!w->map.pairs)
			continue;
		while (w->object < w->map.count
		       && cm_object_end(&w->map, w->object) < slots[i] + 8)
			w->object++;
		if (w->object == w->map.count
		    || cm_object_offset(&w->map, w->object) > slots[i]) {
			cm_fail(&e, CM_E_OBJECT_MAP, slots[i], index,
				"relocation %llu: slot 0x%llx lies in no "
				"object", (unsigned long long)index,
				(unsigned long long)slots[i]);
			if (cm_defect(w->d, &e))
				return true;
		} else if ((w->flags & CM_CHECK_STRICT)
			   && !target_in_object(&w->map, t)) {
			cm_fail(&e, CM_E_DANGLING, slots[i], index,
				"relocation %llu dangles: target 0x%llx is in "
				"no live object", (unsigned long long)index,
				(unsigned long long)t);
			if (cm_defect(w->d, &e))
				return true;
		}
	}
	return false;
}

static void shift_slots(uint8_t *wblob, const uint64_t *slots, size_t n,
			uint64_t shift)
{
	for (size_t i = 0; i < n; i++) {
		uint8_t *p = wblob + slots[i];

		cm_store64(p, cm_load64(p) + shift);
	}
}

/* Add `shift` to each of the n slots whose value cm_value_ok() accepts,
 * stopping at the first it refuses. @return the count shifted; when below
 * n, those are shifted back: b is as it was. */
static size_t shift_checked(uint8_t *b, const struct cm_header *h,
			    const uint64_t *slots, size_t n, uint64_t shift)
{
	uint64_t lo = h->base + h->header_size;
	uint64_t span = h->data_end - h->header_size;
	size_t i;

	for (i = 0; i < n; i++) {
		uint64_t v = cm_load64(b + slots[i]);

		if (v - lo > span)
			break;
		cm_store64(b + slots[i], v + shift);
	}
	if (i < n)
		shift_slots(b, slots, i, -shift);
	return i;
}

/*
 * Relocate one piece in place, checking each pointer on the way: with a
 * hash, slots are first normalised (base 0) and hashed, then given their
 * new base; the piece stays in cache throughout. Returns the count of
 * slots taken before a bad pointer, with those slots restored.
 */
static size_t relocate_piece(struct walk *w, struct cm_hash *hash,
			     uint64_t off, uint64_t end, const uint64_t *slots,
			     size_t n)
{
	const struct cm_header *h = w->h;
	size_t done;

	if (!hash)
		return shift_checked(w->wblob, h, slots, n, w->shift);
	done = shift_checked(w->wblob, h, slots, n, -h->base);
	if (done == n) {
		cm_hash_raw(hash, w->blob + off, end - off);
		shift_slots(w->wblob, slots, n, h->base + w->shift);
	}
	return done;
}

/* Check and hash one piece read-only, from a copy that is normalised. */
static bool hash_piece_copy(struct walk *w, struct cm_hash *hash,
			    uint64_t off, uint64_t end, const uint64_t *slots,
			    size_t n, uint64_t first)
{
	_Alignas(64) uint8_t buf[SLOW_PIECE];
	const struct cm_header *h = w->h;
	uint64_t lo = h->base + h->header_size;
	uint64_t span = h->data_end - h->header_size;
	size_t i = 0;

	memcpy(buf, w->blob + off, end - off);
	/* The common case: check and normalise in one loop. */
	if (!w->map.pairs)
		for (; i < n; i++) {
			uint8_t *p = buf + (slots[i] - off);
			uint64_t v = cm_load64(p);

			if (v - lo > span)
				break;
			cm_store64(p, v - h->base);
		}
	if (i < n) {	/* a defect, or an object map: the full checks */
		if (check_slots(w, buf, off, slots + i, n - i, first + i))
			return true;
		for (; i < n; i++) {
			uint8_t *p = buf + (slots[i] - off);

			cm_store64(p, cm_load64(p) - h->base);
		}
	}
	cm_hash_raw(hash, buf, end - off);
	return false;
}

/* A chunk the general way, a piece at a time. */
static bool walk_chunk_slowly(struct walk *w, struct cm_hash *hash,
			      struct cm_table_cursor *c, uint64_t off,
			      uint64_t to, uint64_t *relocated_end)
{
	uint64_t slots[SLOW_SLOTS];

	while (off < to) {
		uint64_t first = c->index;
		uint64_t end = to - off > SLOW_PIECE ? off + SLOW_PIECE : to;
		const bool clean = w->d->count == 0;
		struct cm_error e;
		ssize_t n;

		n = cm_table_next(c, slots, SLOW_SLOTS, end, &e);
		if (n < 0)
			return cm_defect(w->d, &e), true;
		if ((size_t)n == SLOW_SLOTS)	/* piece full: take it in two */
			end = slots[n - 1] + 8;
		if (w->shift && clean && !w->map.pairs
		    && relocate_piece(w, hash, off, end, slots, (size_t)n)
		       == (size_t)n) {
			*relocated_end = end;
		} else if (w->shift && clean) {
			/* A defect, or an object map: the general checks
			 * report it, or pass and the piece relocates. */
			if (check_slots(w, w->blob, 0, slots, (size_t)n, first))
				return true;
			relocate_piece(w, hash, off, end, slots, (size_t)n);
			*relocated_end = end;
		} else if (hash) {
			if (hash_piece_copy(w, hash, off, end, slots,
					    (size_t)n, first))
				return true;
		} else if (check_slots(w, w->blob, 0, slots, (size_t)n,
				       first)) {
			return true;
		}
		off = end;
	}
	return false;
}

/* ---- the pointer scan's part ---- */

/* A hit: report it; true when the walk must stop. */
static bool unrecorded(void *ctx, uint64_t offset, uint64_t value)
{
	struct walk *w = ctx;
	struct cm_error e;

	cm_fail_unrecorded(&e, &w->scan, offset, value);
	return cm_defect(w->d, &e);
}

/* Before a chunk is hashed or written: may the scan have a hit there? */
static bool scan_suspects(const struct walk *w, uint64_t off, uint64_t end,
			  ssize_t listed)
{
	return w->scanning && !cm_scan_clean(&w->scan, w->blob + off, off, end,
					     (uint64_t)listed);
}

/* The scan of a chunk that went the general way, every hit reported; the
 * chunk's bits are decoded again from `at` unless `have_bits`. */
static bool scan_chunk(struct walk *w, struct cm_table_cursor at,
		       uint64_t *bits, bool have_bits, uint64_t off,
		       uint64_t end)
{
	/* A table that fails to decode here is refused after the data (its
	 * defect is met there): without all the slots, no word is judged. */
	if (!w->scanning
	    || (!have_bits && cm_table_bits(&at, bits, off, end, NULL) < 0))
		return false;
	return cm_scan_bits(&w->scan, w->blob + off, off, end, bits,
			    unrecorded, w);
}

/* ---- the pass ---- */

/*
 * The data, a chunk at a time: the chunk's table entries become a bitmap,
 * then one pass over its bytes checks, hashes and relocates every slot
 * (cm_hash_rebased). A chunk with a defect, or any chunk once an object
 * map is to be checked, goes the general way, which says what is wrong.
 * Then the entries past the data, which are defects.
 */
static bool walk_data(struct walk *w, struct cm_hash *hash,
		      uint64_t *relocated_end)
{
	const struct cm_header *h = w->h;
	const unsigned how = w->shift ? CM_REBASE_WRITE : 0;
	const struct cm_rebase r = {
		.base = h->base, .lo = h->base + h->header_size,
		.span = h->data_end - h->header_size, .shift = w->shift,
	};
	struct cm_table_cursor c;
	struct cm_error e;
	uint64_t slot;

	cm_table_start(&c, w->blob, h);
	if (hash)
		c.shares = &w->shares;
	for (uint64_t off = h->header_size; off < h->table_offset;) {
		uint64_t end = off + WALK_CHUNK < h->table_offset
			       ? off + WALK_CHUNK : h->table_offset;
		uint64_t bits[WALK_CHUNK / 512 + 1] = { 0 };
		struct cm_table_cursor at = c;
		struct cm_hash *chunk_hash = hash;
		ssize_t listed = -1;

		/* A chunk the pointer scan suspects goes the general way. */
		if (w->d->count == 0 && !w->map.pairs
		    && (listed = cm_table_bits(&c, bits, off, end, &e)) >= 0
		    && !scan_suspects(w, off, end, listed)) {
			uint8_t *p = (w->shift ? w->wblob : (uint8_t *)w->blob)
				     + off;

			if (w->shift)
				cm_prefault_chunk(&w->prefault, p, end - off,
						  bits);
			if (!cm_hash_rebased(hash, p, end - off,
					     (uint8_t *)bits, NULL, &r, how)) {
				if (w->shift)
					*relocated_end = end;
				off = end;
				cm_table_shares_upto(&w->shares, w->blob,
						     c.pos);
				continue;
			}
			/* A bad pointer: take the shift back, and find it
			 * the general way (the hash has the chunk). */
			if (w->shift)
				cm_unshift_bits(p, end - off, bits, w->shift);
			chunk_hash = NULL;
		}
		c = at;
		if (walk_chunk_slowly(w, chunk_hash, &c, off, end,
				      relocated_end)
		    || scan_chunk(w, at, bits, listed >= 0, off, end))
			return true;
		off = end;
		cm_table_shares_upto(&w->shares, w->blob, c.pos);
	}
	if (cm_table_next(&c, &slot, 1, UINT64_MAX, &e) != 0
	    || cm_table_finish(&c, &e))
		return cm_defect(w->d, &e), true;
	return false;
}

int cm_walk(const uint8_t *blob, uint8_t *wblob, const struct cm_header *h,
	    int flags, uint64_t shift, const struct cm_object_map *map,
	    struct cm_defects *d, struct cm_hash *data_hash)
{
	struct walk w = {
		.blob = blob, .wblob = wblob, .h = h, .flags = flags,
		.shift = wblob ? shift : 0, .d = d, .map = *map,
	};
	uint64_t relocated_end = 0;
	struct cm_hash state, *hash = NULL;

	w.scanning = (flags & CM_CHECK_POINTERS)
		     && cm_scan_rule(&w.scan, h->base, h->header_size,
				     h->data_end);
	if (w.shift)
		cm_prefault_start(&w.prefault, wblob, h->blob_size);
	if (!(flags & CM_CHECK_NO_CHECKSUM)) {
		hash = &state;
		cm_hash_init(hash);
		cm_table_shares_start(&w.shares, h);
	}
	if (!d->stop && !walk_data(&w, hash, &relocated_end) && hash) {
		uint64_t sum;

		if (data_hash)
			*data_hash = *hash;
		sum = cm_hash_blob_end(hash, blob, h, &w.shares);

		if (sum != h->checksum) {
			struct cm_error e;

			cm_fail(&e, CM_E_CHECKSUM, CM_H_CHECKSUM, UINT64_MAX,
				"checksum mismatch: stored 0x%016llx, "
				"computed 0x%016llx",
				(unsigned long long)h->checksum,
				(unsigned long long)sum);
			cm_defect(d, &e);
		}
	}
	cm_table_shares_end(&w.shares);
	if (d->count == 0)
		return 0;
	if (relocated_end) {
		struct cm_table_cursor c;

		cm_table_start(&c, blob, h);
		cm_unshift(wblob, c, h->header_size, relocated_end, w.shift);
	}
	errno = EBADMSG;
	return -1;
}

/* Go on past every defect. */
static int ignore_defect(void *ctx, const struct cm_error *err)
{
	(void)ctx;
	(void)err;
	return 0;
}

uint64_t cm_walk_checksum(const uint8_t *blob, const struct cm_header *h)
{
	struct cm_defects d = { .report = ignore_defect };
	struct walk w = { .blob = blob, .h = h, .d = &d };
	struct cm_hash hash;
	uint64_t relocated_end = 0, sum = 0;

	cm_hash_init(&hash);
	cm_table_shares_start(&w.shares, h);
	if (!walk_data(&w, &hash, &relocated_end))
		sum = cm_hash_blob_end(&hash, blob, h, &w.shares);
	cm_table_shares_end(&w.shares);
	return sum;
}

/* ---- undoing ---- */

void cm_unshift_bits(uint8_t *p, size_t n, const uint64_t *bits,
		     uint64_t shift)
{
	const struct cm_rebase back = { .span = UINT64_MAX, .shift = -shift };

	cm_hash_rebased(NULL, p, n, (const uint8_t *)bits, NULL, &back,
			CM_REBASE_WRITE);
}

void cm_unshift(uint8_t *b, struct cm_table_cursor c, uint64_t from,
		uint64_t end, uint64_t shift)
{
	for (uint64_t off = from; off < end; off += WALK_CHUNK) {
		uint64_t to = end - off < WALK_CHUNK ? end : off + WALK_CHUNK;
		uint64_t bits[WALK_CHUNK / 512 + 1] = { 0 };

		/* Every slot below `end` decoded before: a defect past them
		 * still leaves their bits set. */
		cm_table_bits(&c, bits, off, to, NULL);
		cm_unshift_bits(b + off, to - off, bits, shift);
	}
}
