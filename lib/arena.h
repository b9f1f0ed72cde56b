/* SPDX-License-Identifier: MIT */
/* The arena (arena.c): its mapping, its backing file and its header, which
 * the allocator (alloc.h) and serialize.c build on. */
#ifndef CMA_ARENA_H
#define CMA_ARENA_H

#include "format.h"

struct cm_free_lists;

struct cm_attr {
	uint8_t *base;		/* the mapping; the header is at offset 0 */
	size_t capacity;	/* bytes reserved at base */
	size_t extent;		/* header + data: the data end */
	size_t dirty_end;	/* bytes past extent may be non-zero below */
	size_t committed;	/* backing-file bytes reserved */
	size_t live;		/* bytes held by live allocations */
	size_t sealed_size;	/* blob length, while the last serialize holds */
	int fd;			/* -1: anonymous */
	int map_flags;		/* MAP_SHARED or MAP_PRIVATE */
	int flags;		/* cm_create flags */
	bool attached;		/* cm_attach handle: no allocation */
	bool owns_mapping;
	uint64_t *slots;	/* 1 bit per 8-byte word: a recorded slot */
	uint64_t *starts;	/* 1 bit per word: an allocation starts here */
	uint64_t *ends;		/* 1 bit per word: an allocation's last word */
	size_t bitmap_bytes;	/* size of each bitmap */
	struct cm_free_lists *free_lists;
	size_t map_len;		/* capacity rounded up to pages: mapped */
};

/* Make the backing file hold [0, end): reserve its blocks. */
int cm_arena_reserve(struct cm_attr *mem, size_t end);
/* Write the live-arena header (magic, version, base, capacity). */
void cm_arena_write_live_header(struct cm_attr *mem);
/* Before mutating a sealed arena: make its header live again. */
void cm_arena_unseal(struct cm_attr *mem);

#endif /* CMA_ARENA_H */
