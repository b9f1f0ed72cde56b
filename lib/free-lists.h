/* SPDX-License-Identifier: MIT */
/*
 * An arena's free blocks, the allocator's reuse bookkeeping: kept outside
 * the arena (freed bytes must read as zero, so nothing can be stored in
 * them), found by size class for an allocation and by boundary for a merge.
 */
#ifndef CMA_FREE_LISTS_H
#define CMA_FREE_LISTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
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

/* No free block holds the size asked for. */
#define CM_NO_FREE_BLOCK	UINT64_MAX

/* @return empty lists; NULL with ENOMEM. */
struct cm_free_lists *cm_free_lists_new(void);
/* Accepts NULL. */
void cm_free_lists_destroy(struct cm_free_lists *fl);

/* The allocator's fast path: nothing to search. */
static inline bool cm_free_lists_empty(const struct cm_free_lists *fl)
{
	return fl->blocks == 0;
}

/*
 * Room for one more block, so that the free which follows cannot fail
 * half-way. @return 0; -1 with ENOMEM.
 */
int cm_free_lists_reserve(struct cm_free_lists *fl);

/*
 * Take `size` bytes (a multiple of 8) from the front of a free block that
 * holds them; the rest of the block stays free.
 * @return their offset; CM_NO_FREE_BLOCK when no block holds them.
 */
uint64_t cm_free_lists_take(struct cm_free_lists *fl, uint64_t size);

/* Add the free block [off, off + size), room reserved first. */
void cm_free_lists_add(struct cm_free_lists *fl, uint64_t off, uint64_t size);

/* Which boundary of a free block cm_free_lists_remove_at() looks for. */
#define CM_FREE_STARTS_AT	1
#define CM_FREE_ENDS_AT		2

/*
 * Remove the free block that starts or ends (`side`) at offset `at`; its
 * extent in *off and *size. @return whether there was one.
 */
bool cm_free_lists_remove_at(struct cm_free_lists *fl, uint64_t at, int side,
			     uint64_t *off, uint64_t *size);

#endif /* CMA_FREE_LISTS_H */
