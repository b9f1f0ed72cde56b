/* SPDX-License-Identifier: MIT */
/* Reading the relocation table: a checked cursor and its decoders. */
#ifndef CMA_TABLE_H
#define CMA_TABLE_H

#include <sys/types.h>

#include "format.h"

/* Walks a table, checking every entry's encoding, order and bounds. */
struct cm_table_cursor {
	const uint8_t *blob;
	const struct cm_header *h;
	uint64_t pos;		/* next entry's byte offset */
	uint64_t end;		/* table end */
	uint64_t index;		/* next entry's index */
	uint64_t prev;		/* previous slot offset (0 before the first) */
	/* NULL, or the table's hash shares, added as entries are decoded
	 * where a kernel can (cm_table_start: NULL). */
	struct cm_table_shares *shares;
};

void cm_table_start(struct cm_table_cursor *c, const uint8_t *blob,
		    const struct cm_header *h);
/*
 * Decode up to `max` slot offsets below `limit` into slots[].
 * @return the count (0 at the end or at limit); -1 on a defect met before
 *	   any entry (err set, the cursor stays at the defective entry). The
 *	   entries decoded before a defect are returned first; the next call
 *	   meets the defect.
 */
ssize_t cm_table_next(struct cm_table_cursor *c, uint64_t *slots, size_t max,
		      uint64_t limit, struct cm_error *err);
/*
 * The entries whose slots lie in [off, limit), off at or below the next
 * slot, as bits (bit i: the word at off + 8 i) of `bits`, zeroed by the
 * caller, 64-bit aligned, (limit - off) / 512 + 1 words. Entries are
 * checked as by cm_table_next(). @return the count; -1 on a defect (err
 * set), with the entries before it already set and taken.
 */
ssize_t cm_table_bits(struct cm_table_cursor *c, uint64_t *bits, uint64_t off,
		      uint64_t limit, struct cm_error *err);
/*
 * A relative table: move to the first entry whose slot is at or past
 * `target`, summing the deltas before it (64 one-byte deltas at a time)
 * and checking no more than it must to stay in the table; the entries
 * passed over are checked by whoever decodes them. @return 0; -1 when an
 * entry cannot be read (the cursor is then unchanged).
 */
int cm_table_seek(struct cm_table_cursor *c, uint64_t target);
/* After the last entry: the count and exact size agree with the header. */
int cm_table_finish(const struct cm_table_cursor *c, struct cm_error *err);

#endif /* CMA_TABLE_H */
