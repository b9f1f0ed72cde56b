/* SPDX-License-Identifier: MIT */
/* cm_deserialize: checked relocation in place, all or nothing. */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>

#include "cma-private.h"

/* Header read, with the argument checks every variant shares. */
static int prepare(void *blob, int flags, struct cm_header *h, size_t len,
		   struct cm_error *err)
{
	if (!blob || (uintptr_t)blob % 8
	    || (flags & ~(CM_TRUSTED | CM_CHECK_STRICT))) {
		errno = EINVAL;
		return -1;
	}
	return cm_header_read(blob, len, h, err);
}

/* The blob now records its own address: relocation is done. */
static void *finish(uint8_t *blob, const struct cm_header *h)
{
	if (h->base != (uintptr_t)blob)
		cm_store64(blob + CM_H_BASE, (uintptr_t)blob);
	return blob + h->root;
}

CM_API void *cm_deserialize_flags(void *blob, size_t len, int flags,
				  struct cm_error *err)
{
	struct cm_header h;
	uint8_t *p = blob;
	uint64_t shift;

	if (prepare(blob, flags, &h, len, err))
		return NULL;
	shift = (uintptr_t)blob - h.base;
	/* At the recorded base nothing is written: read-only mappings work. */
	if (cm_walk(p, shift ? p : NULL, &h, flags, shift, 1, NULL, NULL, err))
		return NULL;
	return finish(p, &h);
}

CM_API void *cm_deserialize(void *blob, size_t len)
{
	return cm_deserialize_flags(blob, len, 0, NULL);
}

/* ---- several threads (absolute tables) ---- */

/* Index of the first absolute-table entry whose slot is >= from. */
static uint64_t first_entry(const uint8_t *blob, const struct cm_header *h,
			    uint64_t from)
{
	uint64_t lo = 0, hi = h->pointer_count;

	while (lo < hi) {
		uint64_t mid = lo + (hi - lo) / 2;

		if (cm_load64(blob + h->table_offset + mid * 8) < from)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

struct part {
	uint8_t *blob;
	const struct cm_header *h;
	struct cm_table_cursor start;	/* at the part's first entry */
	uint64_t last;		/* the next part's first entry */
	uint64_t from, to;	/* its slots lie in [from, to) */
	uint64_t done_end;	/* slots below are shifted */
	int result;
	struct cm_error err;
};

/* Parts are decoded and relocated in chunks this big (bitmap on stack). */
#define PART_CHUNK (256 * 1024)

/* Shift back the slots of [pt->from, pt->done_end): the part as it was. */
static void unshift_part(const struct part *pt)
{
	const struct cm_header *h = pt->h;
	const struct cm_rebase back = {
		.lo = 0, .span = UINT64_MAX, .shift = h->base - (uintptr_t)pt->blob,
	};
	struct cm_table_cursor c = pt->start;

	for (uint64_t off = pt->from; off < pt->done_end; off += PART_CHUNK) {
		uint64_t end = pt->done_end - off < PART_CHUNK ? pt->done_end
							       : off + PART_CHUNK;
		uint64_t bits[PART_CHUNK / 512 + 1] = { 0 };

		cm_table_bits(&c, bits, off, end, NULL);
		cm_hash_rebased(NULL, pt->blob + off, end - off,
				(uint8_t *)bits, NULL, &back, CM_REBASE_WRITE);
	}
}

/* The first bad pointer among a chunk's slots (the first is entry
 * `index`), for the report. */
static void name_bad_pointer(struct part *pt, uint64_t off,
			     const uint64_t *bits, uint64_t words,
			     uint64_t index)
{
	const struct cm_header *h = pt->h;

	for (uint64_t w = 0; w * 64 < words; w++)
		for (uint64_t b = bits[w]; b; b &= b - 1) {
			uint64_t slot = off + (w * 64 + (uint64_t)
					       __builtin_ctzll(b)) * 8;
			uint64_t v = cm_load64(pt->blob + slot);

			if (!cm_value_ok(h, v)) {
				cm_fail_pointer(&pt->err, slot, index, v);
				return;
			}
			index++;
		}
}

/* Check and shift one part's entries, a chunk at a time; the parts
 * partition the table, and each checks its own are ascending inside its
 * range, so together they are the whole table in order. */
static void *relocate_part(void *arg)
{
	struct part *pt = arg;
	const struct cm_header *h = pt->h;
	const struct cm_rebase r = {
		.base = h->base, .lo = h->base + h->header_size,
		.span = h->data_end - h->header_size,
		.shift = (uintptr_t)pt->blob - h->base,
	};
	struct cm_table_cursor c = pt->start;

	pt->result = -1;
	pt->done_end = pt->from;
	for (uint64_t off = pt->from; off < pt->to; off += PART_CHUNK) {
		uint64_t end = pt->to - off < PART_CHUNK ? pt->to
							 : off + PART_CHUNK;
		uint64_t bits[PART_CHUNK / 512 + 1] = { 0 };
		uint64_t first = c.index;
		struct cm_rebase back = r;

		if (cm_table_bits(&c, bits, off, end, &pt->err) < 0)
			return NULL;
		if (cm_hash_rebased(NULL, pt->blob + off, end - off,
				    (uint8_t *)bits, NULL, &r,
				    CM_REBASE_WRITE)) {
			back.shift = -r.shift;	/* this chunk as it was */
			cm_hash_rebased(NULL, pt->blob + off, end - off,
					(uint8_t *)bits, NULL, &back,
					CM_REBASE_WRITE);
			name_bad_pointer(pt, off, bits, (end - off) / 8,
					 first);
			return NULL;
		}
		pt->done_end = end;
	}
	if (c.index != pt->last) {
		cm_fail(&pt->err, CM_E_ORDER, c.pos, c.index,
			"relocation %llu out of order",
			(unsigned long long)c.index);
		return NULL;
	}
	pt->result = 0;
	return NULL;
}

CM_API void *cm_deserialize_mt(void *blob, size_t len, int flags, int threads,
			       struct cm_error *err)
{
	struct cm_header h;
	struct part parts[64];
	pthread_t tids[64];
	uint8_t *p = blob;
	int started = 1, failed = -1;
	uint64_t step;

	if (threads < 1 || threads > 64) {
		errno = EINVAL;
		return NULL;
	}
	if (prepare(blob, flags, &h, len, err))
		return NULL;
	/*
	 * Relative tables decode in sequence, and XXH3 is one sequential
	 * stream: a checked relocation on two threads would need a second
	 * pass (measured slower than one thread), so those, like blobs with
	 * sections, go the single-thread way. Trusted absolute tables split.
	 */
	if (threads == 1 || h.mode != CM_ABSOLUTE_OFFSET || h.sections_size
	    || (uintptr_t)blob == h.base || !(flags & CM_TRUSTED)
	    || (flags & CM_CHECK_STRICT))
		return cm_deserialize_flags(blob, len, flags, err);
	for (uint64_t i = h.data_end; i < h.table_offset; i++)
		if (p[i])
			return cm_fail(err, CM_E_PADDING, i, UINT64_MAX,
				       "padding byte 0x%02x is not zero", p[i]),
			       NULL;
	step = cm_align8((h.table_offset - h.header_size) / threads + 8);
	for (int i = 0; i < threads; i++) {
		uint64_t from = h.header_size + step * i;
		uint64_t to = i == threads - 1 ? h.table_offset : from + step;
		/* Part 0 takes the table from its first entry, so entries
		 * below the data are met, and refused, there. */
		uint64_t first = i ? first_entry(p, &h, from) : 0;

		if (from > h.table_offset)
			from = h.table_offset;
		if (to > h.table_offset)
			to = h.table_offset;
		parts[i] = (struct part){ .blob = p, .h = &h,
			.from = from, .to = to };
		cm_table_start(&parts[i].start, p, &h);
		parts[i].start.pos = h.table_offset + first * 8;
		parts[i].start.index = first;
		parts[i].start.prev = first ? cm_load64(p + h.table_offset
						       + first * 8 - 8) : 0;
		if (i > 0)
			parts[i - 1].last = first;
	}
	parts[threads - 1].last = h.pointer_count;
	for (; started < threads; started++)
		if (pthread_create(&tids[started], NULL, relocate_part,
				   &parts[started]))
			break;
	relocate_part(&parts[0]);
	for (int i = 1; i < started; i++)
		pthread_join(tids[i], NULL);
	for (int i = 0; i < started && failed < 0; i++)
		if (parts[i].result)
			failed = i;
	if (failed < 0 && started == threads)
		return finish(p, &h);
	for (int i = 0; i < started; i++)
		unshift_part(&parts[i]);
	if (failed < 0) {
		errno = EAGAIN;		/* a thread could not start */
		return NULL;
	}
	if (err)
		*err = parts[failed].err;
	errno = EBADMSG;
	return NULL;
}
