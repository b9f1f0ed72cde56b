/* SPDX-License-Identifier: MIT */
/* An arena's free blocks by size class, and a hash table of their
 * boundaries for merging (free-lists.h). */
#include <errno.h>
#include <stdlib.h>

#include "free-lists.h"

#define NIL		UINT32_MAX

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

int cm_free_lists_reserve(struct cm_free_lists *fl)
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

void cm_free_lists_add(struct cm_free_lists *fl, uint64_t off, uint64_t size)
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
	hash_put(fl, off | CM_FREE_STARTS_AT, r);
	hash_put(fl, (off + size) | CM_FREE_ENDS_AT, r);
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
	hash_del(fl, b->off | CM_FREE_STARTS_AT);
	hash_del(fl, (b->off + b->size) | CM_FREE_ENDS_AT);
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

/* Take `size` bytes from the front of free block r; the rest stays free. */
static uint64_t take_block(struct cm_free_lists *fl, uint32_t r,
			   uint64_t size)
{
	uint64_t off = fl->rec[r].off, have = fl->rec[r].size;

	fl_remove(fl, r);
	/* Its neighbours are live (or the new allocation): no merging. */
	if (have > size)
		cm_free_lists_add(fl, off + size, have - size);
	return off;
}

uint64_t cm_free_lists_take(struct cm_free_lists *fl, uint64_t size)
{
	uint32_t r = fl_find(fl, size);

	return r == NIL ? CM_NO_FREE_BLOCK : take_block(fl, r, size);
}

bool cm_free_lists_remove_at(struct cm_free_lists *fl, uint64_t at, int side,
			     uint64_t *off, uint64_t *size)
{
	uint32_t r = hash_find(fl, at | (uint64_t)side);

	if (r == NIL)
		return false;
	*off = fl->rec[r].off;
	*size = fl->rec[r].size;
	fl_remove(fl, r);
	return true;
}
