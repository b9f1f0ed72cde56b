/* SPDX-License-Identifier: MIT */
/* The blob checksum: XXH3-64 streamed, pointer words rebased (checksum.c). */
#ifndef CMA_HASH_H
#define CMA_HASH_H

#include <stddef.h>

#include "format.h"

/* XXH3-64, streamed; the data's pointer words can be rebased on the fly. */
struct cm_hash {
	uint64_t acc[8];
	uint64_t total;		/* bytes taken */
	unsigned stripes;	/* stripes taken in the current block */
	unsigned pending;	/* bytes held back in buf (1-64 once any) */
	_Alignas(64) uint8_t buf[64];
	uint8_t last[64];	/* the stripe taken last */
	uint8_t head[240];	/* the first bytes, for inputs this short */
};

void cm_hash_init(struct cm_hash *s);
/* The header with its base and checksum fields taken as zero: hashed LAST,
 * after [header_size, blob_size) (doc/format.md, Checksum). */
void cm_hash_header(struct cm_hash *s, const uint8_t *header, uint64_t size);
/* Bytes as they are. */
void cm_hash_raw(struct cm_hash *s, const void *p, size_t n);
uint64_t cm_hash_digest(const struct cm_hash *s);

/* How the pointer words of the data are taken by cm_hash_rebased(). */
struct cm_rebase {
	uint64_t base;		/* hashed as value - base */
	uint64_t lo, span;	/* a good value: value - lo <= span */
	uint64_t shift;		/* CM_REBASE_WRITE: stored as value + shift */
};
#define CM_REBASE_WRITE		1u	/* relocate in place */
#define CM_REBASE_SKIP_NULL	2u	/* a NULL slot is no pointer */

/*
 * Hash (s may be NULL: no hash) the n bytes at p (a trailing part word as
 * it is), with
 * each word whose bit is set in `slots` (bit i % 8 of byte i / 8: the word
 * at p + 8 i) checked and taken as value - base. `listed` (may be NULL,
 * zeroed by the caller) gets the bits of the slots taken: all but NULLs
 * with CM_REBASE_SKIP_NULL. With CM_REBASE_WRITE every slot is written,
 * good or bad: the caller undoes. @return true when a value failed.
 * Fastest when the stream is at a multiple of 64 bytes.
 */
bool cm_hash_rebased(struct cm_hash *s, uint8_t *p, size_t n,
		     const uint8_t *slots, uint8_t *listed,
		     const struct cm_rebase *r, unsigned how);
/*
 * XXH3 in parallel: its 1 KiB blocks add up their stripes, then scramble,
 * so the adding can happen anywhere, ahead of time. cm_hash_block_sums()
 * takes `blocks` whole blocks at p as cm_hash_rebased() would (no
 * listing), as if each began a block of the stream, and stores each one's
 * share (8 words a block) in sums, and in `last` (may be NULL) the final
 * stripe as hashed. @return true when a slot failed.
 */
bool cm_hash_block_sums(uint8_t *p, size_t blocks, const uint8_t *slots,
			const struct cm_rebase *r, unsigned how, uint64_t *sums,
			uint8_t *last);
/*
 * Fold in the shares of `blocks` blocks that come next in the stream; the
 * stream must be at a block boundary and more input must follow. `last` is
 * the final stripe as hashed (64 bytes). @return false when the stream is
 * not at a boundary: hash the bytes instead.
 */
bool cm_hash_take_blocks(struct cm_hash *s, const uint64_t *sums,
			 size_t blocks, const uint8_t *last);
#define CM_HASH_BLOCK 1024

/*
 * The table's XXH3 shares, added up while it is decoded: the format hashes
 * the table after all the data, and reading an 8-byte-a-pointer table from
 * memory again costs more than keeping its shares (1/16 of it). Blocks
 * [0, done) are in. cm_table_shares_start() allocates for tables large
 * enough to gain (sums stays NULL otherwise, or when out of memory).
 */
struct cm_table_shares {
	uint64_t *sums;		/* 8 words a block: cm_table_shares_end() */
	uint64_t at;		/* blob offset of the table's first whole block */
	uint64_t blocks, done;
};

void cm_table_shares_start(struct cm_table_shares *t,
			   const struct cm_header *h);
/* Free what cm_table_shares_start() allocated. */
void cm_table_shares_end(struct cm_table_shares *t);
/* As cm_table_shares_start(), allocating nothing: the bytes t->sums must
 * get, 0 when it stays NULL. */
size_t cm_table_shares_plan(struct cm_table_shares *t,
			    const struct cm_header *h);
/* The shares of the whole blocks inside the blob's bytes [from, to):
 * blocks [*first, *end). */
void cm_table_shares_add(struct cm_table_shares *t, const uint8_t *blob,
			 uint64_t from, uint64_t to, uint64_t *first,
			 uint64_t *end);
/* In order: the blocks below `pos` not in yet (from t->done on). */
void cm_table_shares_upto(struct cm_table_shares *t, const uint8_t *blob,
			  uint64_t pos);
/* The first block that starts at or past blob offset `pos`. */
uint64_t cm_table_shares_first(const struct cm_table_shares *t,
			       uint64_t pos);
/* The blob from its table to its end (from the shares when all are in; t
 * may be NULL), then its header: the checksum. */
uint64_t cm_hash_blob_end(struct cm_hash *s, const uint8_t *blob,
			  const struct cm_header *h,
			  const struct cm_table_shares *t);

/* The loops behind cm_hash_rebased() and the table's decoding and
 * encoding come from the CPU's table of kernels: cpu.h. */

#endif /* CMA_HASH_H */
