/* SPDX-License-Identifier: MIT */
/* Streaming a v1 blob out of a source of slots (blob-writer.c). */
#ifndef CMA_BLOB_WRITER_H
#define CMA_BLOB_WRITER_H

#include <sys/types.h>

#include "format.h"
#include "hash.h"

/*
 * What a v1 blob is written from, in the output's offsets. The slots come
 * from a cursor; start() rewinds it before each walk (up to five).
 */
struct cm_blob_source {
	const uint8_t *header_tail;	/* [CM_HEADER_SIZE, header_size) */
	const uint8_t *data;		/* [header_size, data_end) */
	const uint8_t *sections;	/* sections_size bytes */
	uint64_t rebase;		/* value + rebase: value at base 0 */
	/* NULL, or the checksum's state after the data and the padding to
	 * the table, when the source has it: the first pass starts there. */
	const struct cm_hash *data_hash;
	void (*start)(void *ctx);
	/*
	 * Up to `max` slot offsets below `limit`, ascending, into slots[].
	 * @return the count (0 at the end or at limit); -1 on a defect.
	 */
	ssize_t (*next)(void *ctx, uint64_t *slots, size_t max,
			uint64_t limit, struct cm_error *err);
	void *ctx;
	/*
	 * NULL, or the same slots as a v1 table already checked
	 * (checked_mode, pointer_count entries, checked_size bytes): the
	 * writer then re-encodes it straight, without the cursor's checks.
	 */
	const uint8_t *checked_table;
	uint32_t checked_mode;
	uint64_t checked_size;
};

/* The table's byte size in h->mode for h->pointer_count slots of src. */
int cm_blob_table_size(const struct cm_header *h,
		       const struct cm_blob_source *src, uint64_t *size,
		       struct cm_error *err);

/* h's sections_offset and blob_size, from its table's offset and size and
 * its sections' size. */
void cm_blob_layout(struct cm_header *h);

/* A table size the writer's first pass learns, setting the layout. */
#define CM_TABLE_SIZE_LATER UINT64_MAX

/*
 * Stream the blob h describes (every field but the checksum set; the table
 * size may be CM_TABLE_SIZE_LATER) to write: a first pass hashes it and
 * sets h->checksum, the second writes it. Memory is constant. A writer
 * that fails without errno gives EIO.
 */
int cm_blob_write(struct cm_header *h, const struct cm_blob_source *src,
		  cm_write_fn write, void *ctx, struct cm_error *err);

#endif /* CMA_BLOB_WRITER_H */
