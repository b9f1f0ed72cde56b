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
	uint64_t first, last;	/* entries [first, last) */
	uint64_t from, to;	/* their slots lie in [from, to) */
	uint64_t done;		/* entries shifted */
	int result;
	struct cm_error err;
};

/* Check and shift one part's entries; they partition the table, and each
 * part checks its own are ascending inside its range, so together they are
 * the whole table in order. */
static void *relocate_part(void *arg)
{
	struct part *pt = arg;
	const struct cm_header *h = pt->h;
	uint64_t shift = (uintptr_t)pt->blob - h->base;
	struct cm_table_cursor c;
	uint64_t slots[512];
	ssize_t n;
	size_t k;

	cm_table_start(&c, pt->blob, h);
	c.pos = h->table_offset + pt->first * 8;
	c.index = pt->first;
	c.prev = pt->first ? cm_load64(pt->blob + c.pos - 8) : 0;
	pt->result = 0;
	while (c.index < pt->last) {
		size_t want = pt->last - c.index < 512 ? pt->last - c.index
						       : 512;

		n = cm_table_next(&c, slots, want, pt->to, &pt->err);
		if (n <= 0 || slots[0] < pt->from)
			goto fail;
		k = cm_shift_checked(pt->blob, h, slots, (size_t)n, shift);
		if (k < (size_t)n) {
			cm_fail_pointer(&pt->err, slots[k],
					c.index - (uint64_t)n + k,
					cm_load64(pt->blob + slots[k]));
			goto fail;
		}
		pt->done += (uint64_t)n;
	}
	return NULL;
fail:
	if (pt->err.code == CM_OK)
		cm_fail(&pt->err, CM_E_ORDER, c.pos, c.index,
			"relocation %llu out of order",
			(unsigned long long)c.index);
	pt->result = -1;
	return NULL;
}

static void unshift_part(const struct part *pt)
{
	uint64_t shift = (uintptr_t)pt->blob - pt->h->base;

	for (uint64_t i = 0; i < pt->done; i++) {
		uint64_t s = cm_load64(pt->blob + pt->h->table_offset
				       + (pt->first + i) * 8);

		cm_store64(pt->blob + s, cm_load64(pt->blob + s) - shift);
	}
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

		parts[i] = (struct part){ .blob = p, .h = &h,
			.from = from, .to = to };
		/* Part 0 takes the table from its first entry, so entries
		 * below the data are met, and refused, there. */
		parts[i].first = i ? first_entry(p, &h, from) : 0;
		if (i > 0)
			parts[i - 1].last = parts[i].first;
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
