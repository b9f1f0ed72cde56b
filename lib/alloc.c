/* SPDX-License-Identifier: MIT */
/* The allocator: bump allocation, slot recording, free and reuse. */
#include <errno.h>
#include <stdlib.h>

#include "alloc.h"
#include "free-lists.h"

#define likely(x)	__builtin_expect(!!(x), 1)
#define unlikely(x)	__builtin_expect(!!(x), 0)

/*
 * Every word of [header, extent) belongs to exactly one live allocation or
 * one free block (free-lists.h); adjacent free blocks are merged at once
 * and no free block ends at the extent (it is given back instead). A
 * block's neighbours are therefore found from the start/end bitmaps: the
 * word before it is free when no allocation ends there, the word after it
 * when no allocation starts there.
 */

/* ---- bitmaps ---- */

static inline void bit_set(uint64_t *m, size_t w)
{
	m[w >> 6] |= 1ULL << (w & 63);
}

static inline void bit_clear(uint64_t *m, size_t w)
{
	m[w >> 6] &= ~(1ULL << (w & 63));
}

static inline bool bit_test(const uint64_t *m, size_t w)
{
	return m[w >> 6] >> (w & 63) & 1;
}

/* The first set bit in [from, lim), or lim. */
static size_t next_set(const uint64_t *m, size_t from, size_t lim)
{
	size_t i = from >> 6;
	uint64_t x;

	if (from >= lim)
		return lim;
	x = m[i] & (~0ULL << (from & 63));
	for (;;) {
		if (x) {
			size_t r = i * 64 + (size_t)__builtin_ctzll(x);

			return r < lim ? r : lim;
		}
		if (++i * 64 >= lim)
			return lim;
		x = m[i];
	}
}

/* Clear bits [w0, w1]. */
static void clear_range(uint64_t *m, size_t w0, size_t w1)
{
	size_t i0 = w0 >> 6, i1 = w1 >> 6;
	uint64_t lo = ~0ULL << (w0 & 63);
	uint64_t hi = ~0ULL >> (63 - (w1 & 63));

	if (i0 == i1) {
		m[i0] &= ~(lo & hi);
		return;
	}
	m[i0] &= ~lo;
	if (i1 > i0 + 1)
		memset(m + i0 + 1, 0, (i1 - i0 - 1) * 8);
	m[i1] &= ~hi;
}

/* ---- allocation ---- */

CM_API int cm_do_alloc(struct cm_attr *mem, void **slot, size_t size,
		       int flags)
{
	uint64_t off = CM_NO_FREE_BLOCK, end, rel;
	bool record = false;

	/* CM_ALIGNED asks for what every allocation gets. */
	if (unlikely(!mem || !slot || !size || size > CM_FIELD_LIMIT ||
		     (flags & ~(CM_GROW | CM_ALIGNED)))) {
		errno = EINVAL;
		return -1;
	}
	if (unlikely(mem->attached)) {
		errno = EPERM;
		return -1;
	}
	size = cm_align8(size);
	/* A slot in the arena must be a data word: anywhere else there it
	 * would overwrite the header or touch pages past the file's end. */
	rel = (uintptr_t)slot - (uintptr_t)mem->base;
	if (unlikely(rel < mem->map_len)) {
		if ((rel & 7) || rel < CM_HEADER_SIZE ||
		    rel > mem->extent - 8) {
			errno = EINVAL;
			return -1;
		}
		record = flags & CM_GROW;
	}
	if (unlikely(!cm_free_lists_empty(mem->free_lists)))
		off = cm_free_lists_take(mem->free_lists, size);
	if (likely(off == CM_NO_FREE_BLOCK)) {
		off = mem->extent;
		if (unlikely(size > mem->capacity - off)) {
			errno = ENOMEM;
			return -1;
		}
		end = off + size;
		if (unlikely(end > mem->committed) &&
		    cm_arena_reserve(mem, end) != 0)
			return -1;
		if (unlikely(mem->sealed_size))
			cm_arena_unseal(mem);
		if (unlikely(off < mem->dirty_end)) {
			/* The last serialize left its table here. */
			uint64_t n = mem->dirty_end - off;

			memset(mem->base + off, 0, n < size ? n : size);
			if (end >= mem->dirty_end)
				mem->dirty_end = 0;
		}
		mem->extent = end;
	} else {
		if (unlikely(mem->sealed_size))
			cm_arena_unseal(mem);
		/* Freed blocks were zeroed by cm_free(). */
		end = off + size;
	}
	bit_set(mem->starts, off / 8);
	bit_set(mem->ends, end / 8 - 1);
	mem->live += size;
	*slot = mem->base + off;
	if (unlikely(record))
		bit_set(mem->slots, rel / 8);
	return 0;
}

CM_API int cm_do_ptr_to(struct cm_attr *mem, void **slot, void *to)
{
	uint64_t rel, t;

	if (unlikely(!mem)) {
		errno = EINVAL;
		return -1;
	}
	if (unlikely(mem->attached)) {
		errno = EPERM;
		return -1;
	}
	rel = (uintptr_t)slot - (uintptr_t)mem->base;
	t = (uintptr_t)to - (uintptr_t)mem->base;
	if (unlikely((rel & 7) || rel < CM_HEADER_SIZE ||
		     rel > mem->extent - 8 ||
		     (to && (t < CM_HEADER_SIZE || t > mem->extent)))) {
		errno = EINVAL;
		return -1;
	}
	if (unlikely(mem->sealed_size))
		cm_arena_unseal(mem);
	*slot = to;
	bit_set(mem->slots, rel / 8);
	return 0;
}

CM_API int cm_free(struct cm_attr *mem, void *ptr)
{
	struct cm_free_lists *fl;
	uint64_t off, w0, w1, a, b, start, size;

	if (!ptr)
		return 0;
	if (!mem) {
		errno = EINVAL;
		return -1;
	}
	if (mem->attached) {
		errno = EPERM;
		return -1;
	}
	off = (uintptr_t)ptr - (uintptr_t)mem->base;
	if ((off & 7) || off < CM_HEADER_SIZE || off >= mem->extent ||
	    !bit_test(mem->starts, off / 8)) {
		errno = EINVAL;
		return -1;
	}
	fl = mem->free_lists;
	if (cm_free_lists_reserve(fl) != 0)
		return -1;
	if (mem->sealed_size)
		cm_arena_unseal(mem);
	w0 = off / 8;
	w1 = next_set(mem->ends, w0, mem->extent / 8);
	a = off;
	b = (w1 + 1) * 8;
	bit_clear(mem->starts, w0);
	bit_clear(mem->ends, w1);
	clear_range(mem->slots, w0, w1);
	memset(mem->base + a, 0, b - a);
	mem->live -= b - a;

	/* Merge with free neighbours: see the comment at the top. */
	if (a > CM_HEADER_SIZE && !bit_test(mem->ends, a / 8 - 1) &&
	    cm_free_lists_remove_at(fl, a, CM_FREE_ENDS_AT, &start, &size))
		a = start;
	if (b < mem->extent && !bit_test(mem->starts, b / 8) &&
	    cm_free_lists_remove_at(fl, b, CM_FREE_STARTS_AT, &start, &size))
		b += size;
	if (b == mem->extent)
		mem->extent = a;	/* the top is given back */
	else
		cm_free_lists_add(fl, a, b - a);
	return 0;
}

int cm_arena_next_object(const struct cm_attr *mem, uint64_t *pos,
			 uint64_t *offset, uint64_t *size)
{
	size_t lim = mem->extent / 8, w, e;

	w = *pos < CM_HEADER_SIZE / 8 ? CM_HEADER_SIZE / 8 : (size_t)*pos;
	if (!mem->starts)
		return 0;
	w = next_set(mem->starts, w, lim);
	if (w >= lim)
		return 0;
	e = next_set(mem->ends, w, lim);
	*offset = (uint64_t)w * 8;
	*size = (uint64_t)(e - w + 1) * 8;
	*pos = e + 1;
	return 1;
}
