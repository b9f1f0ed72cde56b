/* SPDX-License-Identifier: MIT */
/*
 * Everything the library's files declare to each other, for the files and
 * white-box tests that use many areas; never installed. Each area has its
 * own small header, included here bottom-up as the data flows.
 */
#ifndef CMA_PRIVATE_H
#define CMA_PRIVATE_H

#include "format.h"		/* layout, bytes, errors, VLQ, header */
#include "hash.h"		/* the checksum */
#include "table.h"		/* reading the relocation table */
#include "scan.h"		/* the pointer scan */
#include "prefault.h"		/* pages populated before writes */
#include "walk.h"		/* checks, the one-pass walk, relocation */
#include "blob-writer.h"	/* writing a blob from a slot source */

/* ---- arena internals (arena.c, alloc.c) ---- */

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

/* The allocator's reuse bookkeeping (alloc.c); destroy accepts NULL. */
struct cm_free_lists *cm_free_lists_new(void);
void cm_free_lists_destroy(struct cm_free_lists *fl);

/* Make the backing file hold [0, end): reserve its blocks. */
int cm_arena_reserve(struct cm_attr *mem, size_t end);
/* Write the live-arena header (magic, version, base, capacity). */
void cm_arena_write_live_header(struct cm_attr *mem);
/* Before mutating a sealed arena: make its header live again. */
void cm_arena_unseal(struct cm_attr *mem);

/*
 * Live objects in address order: start with *pos = 0; returns 1 with the
 * object's offset and size, 0 after the last.
 */
int cm_arena_next_object(const struct cm_attr *mem, uint64_t *pos,
			 uint64_t *offset, uint64_t *size);

#endif /* CMA_PRIVATE_H */
