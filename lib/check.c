/* SPDX-License-Identifier: MIT */
/* Validation: one pass over header, data, table and sections. */
#include <errno.h>
#include <stdlib.h>

#include "cma-private.h"

/* Data is walked in chunks this big: a chunk's slots are decoded to a
 * bitmap, then one pass checks, hashes and relocates it. Large, so the
 * per-chunk costs vanish; the bitmap is 1/64 of it, on the stack. */
#define WALK_CHUNK (512 * 1024)
/* The general way (a defect to find, an object map) takes pieces this big,
 * slot offsets in an array. */
#define SLOW_PIECE (16 * 1024)
#define SLOW_SLOTS (SLOW_PIECE / 8)

/* The object map, located and checked, read in place. */
struct object_map {
	const uint8_t *pairs;	/* N × {u64 offset, u64 size} */
	uint64_t count;
	uint64_t at;		/* offset of the first pair */
};

static uint64_t object_offset(const struct object_map *m, uint64_t i)
{
	return cm_load64(m->pairs + i * 16);
}

static uint64_t object_end(const struct object_map *m, uint64_t i)
{
	return cm_load64(m->pairs + i * 16) + cm_load64(m->pairs + i * 16 + 8);
}

struct walk {
	const uint8_t *blob;
	uint8_t *wblob;
	const struct cm_header *h;
	int flags;
	uint64_t shift;
	size_t max_errors, errors;
	int (*report)(void *ctx, const struct cm_error *err);
	void *ctx;
	struct cm_error *first;
	bool stop;
	struct object_map map;
	uint64_t object;	/* the object holding the last slot */
	struct cm_prefault prefault;	/* writing: pages populated ahead */
	const uint8_t *types;	/* the type section's payload, if any */
	bool scanning;		/* CM_CHECK_POINTERS, and the base allows */
	struct cm_scan scan;
	uint64_t types_size;
	struct cm_table_shares shares;
};

/* Record a defect; returns true when the walk must stop. */
static bool defect(struct walk *w, const struct cm_error *e)
{
	if (w->errors == 0 && w->first)
		*w->first = *e;
	w->errors++;
	if (w->report && w->report(w->ctx, e))
		w->stop = true;
	if (!w->report || (w->max_errors && w->errors >= w->max_errors))
		w->stop = true;
	return w->stop;
}

static bool check_zero(struct walk *w, uint64_t from, uint64_t to,
		       const char *what)
{
	for (uint64_t i = from; i < to; i++)
		if (w->blob[i]) {
			struct cm_error e;

			cm_fail(&e, CM_E_PADDING, i, UINT64_MAX,
				"%s byte 0x%02x is not zero", what,
				w->blob[i]);
			return defect(w, &e);
		}
	return false;
}

static bool check_object_map(struct walk *w, uint64_t at, uint64_t size)
{
	const struct cm_header *h = w->h;
	struct cm_error e;
	uint64_t prev_end = h->header_size;

	if (size % 16) {
		cm_fail(&e, CM_E_SECTION, at - CM_SECTION_HEADER, UINT64_MAX,
			"object map of %llu bytes is not whole pairs",
			(unsigned long long)size);
		return defect(w, &e);
	}
	w->map.pairs = w->blob + at;
	w->map.count = size / 16;
	w->map.at = at;
	for (uint64_t i = 0; i < w->map.count; i++) {
		uint64_t off = object_offset(&w->map, i);
		uint64_t len = cm_load64(w->map.pairs + i * 16 + 8);

		if (len == 0 || off < prev_end || off > h->data_end
		    || len > h->data_end - off) {
			cm_fail(&e, CM_E_OBJECT_MAP, at + i * 16, UINT64_MAX,
				"object %llu [0x%llx, +0x%llx) is empty, "
				"unsorted, overlapping or outside the data",
				(unsigned long long)i, (unsigned long long)off,
				(unsigned long long)len);
			w->map.pairs = NULL;	/* checked no further */
			w->map.count = 0;
			return defect(w, &e);
		}
		prev_end = off + len;
	}
	return false;
}

/* Frame every section; locate the object map. */
static bool check_sections(struct walk *w)
{
	const struct cm_header *h = w->h;
	uint64_t pos = h->sections_offset, end = pos + h->sections_size;
	bool seen_map = false;
	struct cm_error e;

	while (pos < end) {
		uint32_t type, flags;
		uint64_t size;

		if (end - pos < CM_SECTION_HEADER)
			goto bad_frame;
		type = cm_load32(w->blob + pos);
		flags = cm_load32(w->blob + pos + 4);
		size = cm_load64(w->blob + pos + 8);
		if (size > end - pos - CM_SECTION_HEADER
		    || cm_align8(size) > end - pos - CM_SECTION_HEADER
		    || (flags & ~CM_SECTION_REQUIRED))
			goto bad_frame;
		if (type == CM_SECTION_OBJECT_MAP && !seen_map) {
			seen_map = true;
			if (check_object_map(w, pos + CM_SECTION_HEADER, size))
				return true;
		} else if (type == CM_SECTION_TYPES && !w->types) {
			w->types = w->blob + pos + CM_SECTION_HEADER;
			w->types_size = size;
			if (cm_types_check(w->types, size,
					   pos + CM_SECTION_HEADER, h, &e))
				return defect(w, &e);
		} else if (flags & CM_SECTION_REQUIRED) {
			cm_fail(&e, CM_E_REQUIRED_FLAG, pos, UINT64_MAX,
				"unknown required section type %u", type);
			return defect(w, &e);
		}
		pos += CM_SECTION_HEADER + size;
		if (check_zero(w, pos, pos + (cm_align8(size) - size),
			       "section padding"))
			return true;
		pos += cm_align8(size) - size;
	}
	return false;
bad_frame:
	cm_fail(&e, CM_E_SECTION, pos, UINT64_MAX,
		"malformed section at 0x%llx", (unsigned long long)pos);
	return defect(w, &e);
}

/* Is `target` inside a live object or one past its end? */
static bool target_in_object(const struct object_map *m, uint64_t target)
{
	uint64_t lo = 0, hi = m->count;

	while (lo < hi) {	/* first object ending at or after target */
		uint64_t mid = lo + (hi - lo) / 2;

		if (object_end(m, mid) < target)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < m->count && object_offset(m, lo) <= target;
}

/* Check each slot's value (and object membership); true to stop. */
static bool check_slots(struct walk *w, const uint8_t *view, uint64_t view_off,
			const uint64_t *slots, size_t n, uint64_t first_index)
{
	const struct cm_header *h = w->h;
	uint64_t lo = h->base + h->header_size, span = h->data_end - h->header_size;
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
			if (defect(w, &e))
				return true;
			continue;
		}
		if (!w->map.pairs)
			continue;
		while (w->object < w->map.count
		       && object_end(&w->map, w->object) < slots[i] + 8)
			w->object++;
		if (w->object == w->map.count
		    || object_offset(&w->map, w->object) > slots[i]) {
			cm_fail(&e, CM_E_OBJECT_MAP, slots[i], index,
				"relocation %llu: slot 0x%llx lies in no "
				"object", (unsigned long long)index,
				(unsigned long long)slots[i]);
			if (defect(w, &e))
				return true;
		} else if ((w->flags & CM_CHECK_STRICT)
			   && !target_in_object(&w->map, t)) {
			cm_fail(&e, CM_E_DANGLING, slots[i], index,
				"relocation %llu dangles: target 0x%llx is in "
				"no live object", (unsigned long long)index,
				(unsigned long long)t);
			if (defect(w, &e))
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
 * Relocate one chunk in place, checking each pointer on the way: with a
 * hash, slots are first normalised (base 0) and hashed, then given their
 * new base; the chunk stays in cache throughout. Returns the count of
 * slots taken before a bad pointer, with those slots restored.
 */
static size_t relocate_chunk(struct walk *w, struct cm_hash *hash,
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

/* Check and hash one chunk read-only, from a copy that is normalised. */
static bool hash_chunk_copy(struct walk *w, struct cm_hash *hash,
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

/* A chunk the general way: slot offsets, every check with its report. */
static bool walk_chunk_slowly(struct walk *w, struct cm_hash *hash,
			      struct cm_table_cursor *c, uint64_t off,
			      uint64_t to, uint64_t *relocated_end)
{
	uint64_t slots[SLOW_SLOTS];

	while (off < to) {
		uint64_t first = c->index;
		uint64_t end = to - off > SLOW_PIECE ? off + SLOW_PIECE : to;
		struct cm_error e;
		ssize_t n;

		n = cm_table_next(c, slots, SLOW_SLOTS, end, &e);
		if (n < 0)
			return defect(w, &e), true;
		if ((size_t)n == SLOW_SLOTS)	/* piece full: take it in two */
			end = slots[n - 1] + 8;
		if (w->shift && w->errors == 0 && !w->map.pairs
		    && relocate_chunk(w, hash, off, end, slots, (size_t)n)
		       == (size_t)n) {
			*relocated_end = end;
		} else if (w->shift && w->errors == 0) {
			/* A defect, or an object map: the general checks
			 * report it, or pass and the chunk relocates. */
			if (check_slots(w, w->blob, 0, slots, (size_t)n, first))
				return true;
			relocate_chunk(w, hash, off, end, slots, (size_t)n);
			*relocated_end = end;
		} else if (hash) {
			if (hash_chunk_copy(w, hash, off, end, slots,
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

/* A pointer scan hit: report it; true when the walk must stop. */
static bool unrecorded(void *ctx, uint64_t offset, uint64_t value)
{
	struct walk *w = ctx;
	struct cm_error e;

	cm_fail_unrecorded(&e, &w->scan, offset, value);
	return defect(w, &e);
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

/*
 * The data, a chunk at a time: the chunk's table entries become a bitmap,
 * then one pass over its bytes checks, hashes and relocates every slot
 * (cm_hash_rebased). A chunk with a defect, or any chunk once an object
 * map is to be checked, goes the general way, which says what is wrong.
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

	cm_table_start(&c, w->blob, h);
	for (uint64_t off = h->header_size; off < h->table_offset;) {
		uint64_t end = off + WALK_CHUNK < h->table_offset
			       ? off + WALK_CHUNK : h->table_offset;
		uint64_t bits[WALK_CHUNK / 512 + 1] = { 0 };
		struct cm_table_cursor at = c;
		struct cm_hash *chunk_hash = hash;
		struct cm_error e;
		ssize_t listed = -1;

		/* A chunk the pointer scan suspects goes the general way. */
		if (w->errors == 0 && !w->map.pairs
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
	/* Entries past the data are defects the cursor names. */
	{
		uint64_t slot;
		struct cm_error e;

		if (cm_table_next(&c, &slot, 1, UINT64_MAX, &e) != 0
		    || cm_table_finish(&c, &e))
			return defect(w, &e), true;
	}
	return false;
}

int cm_walk(const uint8_t *blob, uint8_t *wblob, const struct cm_header *h,
	    int flags, uint64_t shift, size_t max_errors,
	    int (*report)(void *ctx, const struct cm_error *err), void *ctx,
	    struct cm_error *first)
{
	struct walk w = {
		.blob = blob, .wblob = wblob, .h = h, .flags = flags,
		.shift = wblob ? shift : 0, .max_errors = max_errors,
		.report = report, .ctx = ctx, .first = first,
	};
	uint64_t table_end = h->table_offset + h->table_size;
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
	if (check_zero(&w, h->data_end, h->table_offset, "padding")
	    || (h->sections_size
		&& check_zero(&w, table_end, h->sections_offset, "padding"))
	    || check_sections(&w))
		goto out;
	if (walk_data(&w, hash, &relocated_end))
		goto out;
	if (hash) {
		uint64_t sum = cm_hash_blob_end(hash, blob, h, &w.shares);

		if (sum != h->checksum) {
			struct cm_error e;

			cm_fail(&e, CM_E_CHECKSUM, CM_H_CHECKSUM, UINT64_MAX,
				"checksum mismatch: stored 0x%016llx, "
				"computed 0x%016llx",
				(unsigned long long)h->checksum,
				(unsigned long long)sum);
			defect(&w, &e);
		}
	}
out:
	free(w.shares.sums);
	if (w.errors == 0)
		return 0;
	if (relocated_end) {
		struct cm_table_cursor c;

		cm_table_start(&c, blob, h);
		cm_unshift(wblob, c, h->header_size, relocated_end, w.shift);
	}
	errno = EBADMSG;
	return -1;
}

/* Header checks that need the caller's exact length. */
static int read_header(const void *blob, size_t len, int flags,
		       struct cm_header *h, struct cm_error *err)
{
	if (!blob || (flags & ~(CM_CHECK_EXACT | CM_CHECK_NO_CHECKSUM
				| CM_CHECK_STRICT | CM_CHECK_POINTERS))) {
		errno = EINVAL;
		return -1;
	}
	if (cm_header_read(blob, len, h, err))
		return -1;
	if ((flags & CM_CHECK_EXACT) && len != h->blob_size)
		return cm_fail(err, CM_E_LENGTH, h->blob_size, UINT64_MAX,
			       "%llu trailing bytes after the %llu-byte blob",
			       (unsigned long long)(len - h->blob_size),
			       (unsigned long long)h->blob_size);
	return 0;
}

/* A valid blob's verdict: CM_SCAN_SKIPPED when the scan was asked for but
 * its base rules it out. */
static int valid(const struct cm_header *h, int flags)
{
	struct cm_scan s;

	return (flags & CM_CHECK_POINTERS)
	       && !cm_scan_rule(&s, h->base, h->header_size, h->data_end)
	       ? CM_SCAN_SKIPPED : 0;
}

CM_API int cm_check(const void *blob, size_t len, int flags,
		    struct cm_error *err)
{
	struct cm_header h;

	if (read_header(blob, len, flags, &h, err)
	    || cm_walk(blob, NULL, &h, flags, 0, 1, NULL, NULL, err))
		return -1;
	return valid(&h, flags);
}

CM_API int cm_check_all(const void *blob, size_t len, int flags,
			size_t max_errors,
			int (*report)(void *ctx, const struct cm_error *err),
			void *ctx)
{
	struct cm_header h;
	struct cm_error e;

	if (!report) {
		errno = EINVAL;
		return -1;
	}
	if (read_header(blob, len, flags, &h, &e)) {
		if (errno == EBADMSG)
			report(ctx, &e);
		return -1;
	}
	if (cm_walk(blob, NULL, &h, flags, 0, max_errors, report, ctx, NULL))
		return -1;
	return valid(&h, flags);
}

/* Go on past every defect: the checksum of whatever the blob holds. */
static int ignore_defect(void *ctx, const struct cm_error *err)
{
	(void)ctx;
	(void)err;
	return 0;
}

CM_API uint64_t cm_checksum_compute(const void *blob, const struct cm_header *h)
{
	struct walk w = { .blob = blob, .h = h, .report = ignore_defect };
	struct cm_hash hash;
	uint64_t relocated_end = 0, sum = 0;

	cm_hash_init(&hash);
	cm_table_shares_start(&w.shares, h);
	if (!walk_data(&w, &hash, &relocated_end))
		sum = cm_hash_blob_end(&hash, blob, h, &w.shares);
	free(w.shares.sums);
	return sum;
}

CM_API ssize_t cm_object_map(const void *blob, size_t len,
			     struct cm_object *out, size_t max,
			     struct cm_error *err)
{
	struct cm_header h;
	struct walk w = { .blob = blob, .h = &h, .first = err };

	if (!blob || (!out && max)) {
		errno = EINVAL;
		return -1;
	}
	if (cm_header_read(blob, len, &h, err))
		return -1;
	if (check_sections(&w)) {
		errno = EBADMSG;
		return -1;
	}
	for (uint64_t i = 0; i < w.map.count && i < max; i++) {
		out[i].offset = object_offset(&w.map, i);
		out[i].size = cm_load64(w.map.pairs + i * 16 + 8);
	}
	return (ssize_t)w.map.count;
}

CM_API struct cm_types *cm_types_read(const void *blob, size_t len,
				      struct cm_error *err)
{
	struct cm_header h;
	struct walk w = { .blob = blob, .h = &h, .first = err };

	if (!blob) {
		errno = EINVAL;
		return NULL;
	}
	if (cm_header_read(blob, len, &h, err))
		return NULL;
	if (check_sections(&w)) {
		errno = EBADMSG;
		return NULL;
	}
	if (!w.types) {
		errno = ENOENT;
		return NULL;
	}
	return cm_types_decode(w.types, w.types_size, err);
}
