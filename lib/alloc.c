/* SPDX-License-Identifier: MIT */
/* The allocator: bump allocation, slot recording, free and reuse. */
#include <errno.h>
#include <stdlib.h>

#include "cma-private.h"

#define likely(x)	__builtin_expect(!!(x), 1)
#define unlikely(x)	__builtin_expect(!!(x), 0)

/*
 * Free space is kept outside the arena (freed bytes must read as zero, so
 * nothing can be stored in them). Every word of [header, extent) belongs to
 * exactly one live allocation or one free block; adjacent free blocks are
 * merged at once and no free block ends at the extent (it is given back
 * instead). A block's neighbours are therefore found from the start/end
 * bitmaps: the word before it is free when no allocation ends there, the
 * word after it when no allocation starts there; a hash table then maps
 * that boundary to the neighbour's record.
 *
 * Size classes: exact classes of 8 bytes up to CM_SMALL_MAX, then four
 * classes per power of two. Each class is a LIFO list; a bitmask of the
 * non-empty classes finds the best class holding a fit in a few words.
 */
#define CM_SMALL_MAX	512
#define CM_SMALL_CLASSES (CM_SMALL_MAX / 8)
#define CM_CLASSES	(CM_SMALL_CLASSES + 4 * 54)
#define CM_CLASS_WORDS	((CM_CLASSES + 63) / 64)
/* How many blocks of a ranged class are tried for a first fit. */
#define CM_FIT_TRIES	16
#define NIL		UINT32_MAX

struct cm_free_block {
	uint64_t off;		/* from the arena base */
	uint64_t size;
	uint32_t prev, next;	/* class list; next also links spare records */
	uint32_t cls;
};

/* Hash keys: a block's start offset | 1, its end offset | 2; 0 is empty. */
struct cm_hash_entry {
	uint64_t key;
	uint32_t rec;
};

struct cm_free_lists {
	size_t blocks;			/* free blocks held */
	uint64_t nonempty[CM_CLASS_WORDS];
	uint32_t head[CM_CLASSES];
	struct cm_free_block *rec;
	uint32_t nrec, caprec, spare;	/* spare: recycled records */
	struct cm_hash_entry *tab;
	size_t tabcap, tabused;		/* tabcap: a power of two */
};

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

/* ---- the hash table of free block boundaries ---- */

static inline size_t hash_home(const struct cm_free_lists *fl, uint64_t key)
{
	return (size_t)((key * 0x9E3779B97F4A7C15ULL) >> 17) &
	       (fl->tabcap - 1);
}

static size_t hash_slot(const struct cm_free_lists *fl, uint64_t key)
{
	size_t mask = fl->tabcap - 1, i = hash_home(fl, key);

	while (fl->tab[i].key && fl->tab[i].key != key)
		i = (i + 1) & mask;
	return i;
}

static uint32_t hash_find(const struct cm_free_lists *fl, uint64_t key)
{
	size_t i = hash_slot(fl, key);

	return fl->tab[i].key ? fl->tab[i].rec : NIL;
}

static void hash_put(struct cm_free_lists *fl, uint64_t key, uint32_t rec)
{
	size_t i = hash_slot(fl, key);

	if (!fl->tab[i].key)
		fl->tabused++;
	fl->tab[i].key = key;
	fl->tab[i].rec = rec;
}

/* Linear probing deletion by backward shift: no tombstones to pile up. */
static void hash_del(struct cm_free_lists *fl, uint64_t key)
{
	size_t mask = fl->tabcap - 1, i = hash_slot(fl, key), j = i;

	if (!fl->tab[i].key)
		return;
	for (;;) {
		size_t h;

		j = (j + 1) & mask;
		if (!fl->tab[j].key)
			break;
		h = hash_home(fl, fl->tab[j].key);
		if (((j - h) & mask) >= ((j - i) & mask)) {
			fl->tab[i] = fl->tab[j];
			i = j;
		}
	}
	fl->tab[i].key = 0;
	fl->tabused--;
}

static int hash_grow(struct cm_free_lists *fl)
{
	struct cm_hash_entry *old = fl->tab;
	size_t oldcap = fl->tabcap, cap = oldcap ? oldcap * 2 : 256;

	fl->tab = calloc(cap, sizeof *fl->tab);
	if (!fl->tab) {
		fl->tab = old;
		errno = ENOMEM;
		return -1;
	}
	fl->tabcap = cap;
	fl->tabused = 0;
	for (size_t i = 0; i < oldcap; i++)
		if (old[i].key)
			hash_put(fl, old[i].key, old[i].rec);
	free(old);
	return 0;
}

/* ---- free blocks ---- */

static unsigned size_class(uint64_t size)
{
	unsigned lg;

	if (size <= CM_SMALL_MAX)
		return (unsigned)(size / 8 - 1);
	lg = 63u - (unsigned)__builtin_clzll(size);
	return CM_SMALL_CLASSES + (lg - 9) * 4 +
	       (unsigned)((size >> (lg - 2)) & 3);
}

/* Room for one more block, so that cm_free() cannot fail half-way. */
static int fl_make_room(struct cm_free_lists *fl)
{
	if (fl->spare == NIL && fl->nrec == fl->caprec) {
		uint32_t cap = fl->caprec ? fl->caprec * 2 : 64;
		struct cm_free_block *r;

		if (fl->caprec >= NIL / 2) {
			errno = ENOMEM;
			return -1;
		}
		r = realloc(fl->rec, cap * sizeof *r);
		if (!r) {
			errno = ENOMEM;
			return -1;
		}
		fl->rec = r;
		fl->caprec = cap;
	}
	/* Two keys per block; keep the load at most one half. */
	if ((fl->tabused + 2) * 2 > fl->tabcap)
		return hash_grow(fl);
	return 0;
}

static void fl_insert(struct cm_free_lists *fl, uint64_t off, uint64_t size)
{
	struct cm_free_block *b;
	uint32_t r;
	unsigned c = size_class(size);

	if (fl->spare != NIL) {
		r = fl->spare;
		fl->spare = fl->rec[r].next;
	} else {
		r = fl->nrec++;
	}
	b = &fl->rec[r];
	b->off = off;
	b->size = size;
	b->cls = c;
	b->prev = NIL;
	b->next = fl->head[c];
	if (b->next != NIL)
		fl->rec[b->next].prev = r;
	fl->head[c] = r;
	fl->nonempty[c / 64] |= 1ULL << (c % 64);
	hash_put(fl, off | 1, r);
	hash_put(fl, (off + size) | 2, r);
	fl->blocks++;
}

static void fl_remove(struct cm_free_lists *fl, uint32_t r)
{
	struct cm_free_block *b = &fl->rec[r];

	if (b->prev != NIL)
		fl->rec[b->prev].next = b->next;
	else
		fl->head[b->cls] = b->next;
	if (b->next != NIL)
		fl->rec[b->next].prev = b->prev;
	if (fl->head[b->cls] == NIL)
		fl->nonempty[b->cls / 64] &= ~(1ULL << (b->cls % 64));
	hash_del(fl, b->off | 1);
	hash_del(fl, (b->off + b->size) | 2);
	b->next = fl->spare;
	fl->spare = r;
	fl->blocks--;
}

/* The smallest non-empty class above c, or CM_CLASSES. */
static unsigned class_above(const struct cm_free_lists *fl, unsigned c)
{
	unsigned i = (c + 1) / 64;
	uint64_t x;

	if (c + 1 >= CM_CLASSES)
		return CM_CLASSES;
	x = fl->nonempty[i] & (~0ULL << ((c + 1) % 64));
	for (;;) {
		if (x)
			return i * 64 + (unsigned)__builtin_ctzll(x);
		if (++i == CM_CLASS_WORDS)
			return CM_CLASSES;
		x = fl->nonempty[i];
	}
}

/* A free block of at least `size` bytes: its record, or NIL. */
static uint32_t fl_find(const struct cm_free_lists *fl, uint64_t size)
{
	unsigned c = size_class(size);
	uint32_t r = fl->head[c];

	if (c < CM_SMALL_CLASSES) {
		if (r != NIL)
			return r;
	} else {
		/* A ranged class: its blocks may be smaller than asked. */
		for (int i = 0; r != NIL && i < CM_FIT_TRIES; i++) {
			if (fl->rec[r].size >= size)
				return r;
			r = fl->rec[r].next;
		}
	}
	c = class_above(fl, c);
	return c < CM_CLASSES ? fl->head[c] : NIL;
}

struct cm_free_lists *cm_free_lists_new(void)
{
	struct cm_free_lists *fl = calloc(1, sizeof *fl);

	if (!fl)
		return NULL;
	for (unsigned c = 0; c < CM_CLASSES; c++)
		fl->head[c] = NIL;
	fl->spare = NIL;
	return fl;
}

void cm_free_lists_destroy(struct cm_free_lists *fl)
{
	if (!fl)
		return;
	free(fl->rec);
	free(fl->tab);
	free(fl);
}

/* ---- allocation ---- */

/* Take `size` bytes from the front of free block r; the rest stays free. */
static uint64_t take_block(struct cm_free_lists *fl, uint32_t r,
			   uint64_t size)
{
	uint64_t off = fl->rec[r].off, have = fl->rec[r].size;

	fl_remove(fl, r);
	/* Its neighbours are live (or the new allocation): no merging. */
	if (have > size)
		fl_insert(fl, off + size, have - size);
	return off;
}

CM_API int cm_do_alloc(struct cm_attr *mem, void **slot, size_t size,
		       int flags)
{
	uint64_t off, end, rel;
	uint32_t r = NIL;
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
	if (unlikely(mem->free_lists->blocks))
		r = fl_find(mem->free_lists, size);
	if (likely(r == NIL)) {
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
		off = take_block(mem->free_lists, r, size);
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
	uint64_t off, w0, w1, a, b;
	uint32_t r;

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
	if (fl_make_room(fl) != 0)
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

	/* Merge with free neighbours: see the comment on the free lists. */
	if (a > CM_HEADER_SIZE && !bit_test(mem->ends, a / 8 - 1)) {
		r = hash_find(fl, a | 2);
		if (r != NIL) {
			a = fl->rec[r].off;
			fl_remove(fl, r);
		}
	}
	if (b < mem->extent && !bit_test(mem->starts, b / 8)) {
		r = hash_find(fl, b | 1);
		if (r != NIL) {
			b += fl->rec[r].size;
			fl_remove(fl, r);
		}
	}
	if (b == mem->extent)
		mem->extent = a;	/* the top is given back */
	else
		fl_insert(fl, a, b - a);
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
