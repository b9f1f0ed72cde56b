/* SPDX-License-Identifier: MIT */
/*
 * Checking and relocating a blob, in the order it happens: the layout
 * checks (check.c), the one pass over data and table (walk.c), the
 * relocation that drives them (relocate.c, relocate-mt.c).
 */
#ifndef CMA_WALK_H
#define CMA_WALK_H

#include "format.h"
#include "hash.h"
#include "table.h"

/* ---- defects: what a check does with each one ---- */

struct cm_defects {
	/* Sees each defect; non-zero stops. NULL: stop at the first. */
	int (*report)(void *ctx, const struct cm_error *err);
	void *ctx;
	struct cm_error *first;	/* may be NULL; gets the first defect */
	size_t max;		/* with report: stop after this many; 0: never */
	size_t count;
	bool stop;
};

/* Record a defect; true when the check must stop. */
static inline bool cm_defect(struct cm_defects *d, const struct cm_error *e)
{
	if (d->count == 0 && d->first)
		*d->first = *e;
	d->count++;
	if (d->report && d->report(d->ctx, e))
		d->stop = true;
	if (!d->report || (d->max && d->count >= d->max))
		d->stop = true;
	return d->stop;
}

/* ---- the object map, read in place ---- */

struct cm_object_map {
	const uint8_t *pairs;	/* N x {u64 offset, u64 size}; NULL: none */
	uint64_t count;
	uint64_t at;		/* blob offset of the first pair */
};

static inline uint64_t cm_object_offset(const struct cm_object_map *m,
					uint64_t i)
{
	return cm_load64(m->pairs + i * 16);
}

static inline uint64_t cm_object_size(const struct cm_object_map *m,
				      uint64_t i)
{
	return cm_load64(m->pairs + i * 16 + 8);
}

static inline uint64_t cm_object_end(const struct cm_object_map *m,
				     uint64_t i)
{
	return cm_object_offset(m, i) + cm_object_size(m, i);
}

/* ---- stage 1, the layout (check.c) ---- */

/* What the sections hold that later stages use. */
struct cm_sections {
	struct cm_object_map map;
	const uint8_t *types;	/* the type section's payload, or NULL */
	uint64_t types_size;
};

/*
 * Everything outside the data and the table: the padding after each is
 * zero, every section is framed, the object map and the type section are
 * sound; what they hold goes to *s. @return true when the check must stop.
 */
bool cm_check_layout(const uint8_t *blob, const struct cm_header *h,
		     struct cm_defects *d, struct cm_sections *s);

/*
 * The whole check a blob gets: the layout, then the walk. With `wblob`
 * (the same bytes, writable) and a non-zero shift, the blob is relocated
 * by shift on the way: all of it, or, on a defect, none (every byte as it
 * was). @return 0; -1 with EBADMSG when any defect was met.
 */
int cm_check_blob(const uint8_t *blob, uint8_t *wblob,
		  const struct cm_header *h, int flags, uint64_t shift,
		  struct cm_defects *d, struct cm_hash *data_hash);
/*
 * cm_check(), and with `data_hash` (unless CM_CHECK_NO_CHECKSUM) the
 * checksum's state after the data and its padding: where the hash of a
 * blob with the same data and base-0 slots and another table starts.
 */
int cm_check_keeping(const void *blob, size_t len, int flags,
		     struct cm_error *err, struct cm_hash *data_hash);

/* ---- stage 2, the data and the table in one pass (walk.c) ---- */

/*
 * Walk the data in chunks: decode the chunk's table entries, then check
 * every pointer, hash (unless CM_CHECK_NO_CHECKSUM) and, with wblob and a
 * non-zero shift, relocate, in one read of its bytes; then the table's end
 * and the checksum. `map` (pairs may be NULL) is the object map the slots
 * must lie in. On a defect every slot written is restored; `data_hash`
 * (may be NULL) gets the checksum's state at the table. @return 0; -1
 * with EBADMSG when d has any defect, this walk's or an earlier stage's.
 */
int cm_walk(const uint8_t *blob, uint8_t *wblob, const struct cm_header *h,
	    int flags, uint64_t shift, const struct cm_object_map *map,
	    struct cm_defects *d, struct cm_hash *data_hash);

/* The checksum of whatever the blob holds, defects passed over. */
uint64_t cm_walk_checksum(const uint8_t *blob, const struct cm_header *h);

/* Take `shift` back from the n bytes at p, from each word whose bit is set
 * in bits (bit i: the word at p + 8 i). */
void cm_unshift_bits(uint8_t *p, size_t n, const uint64_t *bits,
		     uint64_t shift);
/* Take `shift` back from every slot of b in [from, end), the table read
 * from cursor c, at the first entry at or past `from`; every entry below
 * `end` was decoded before without a defect. */
void cm_unshift(uint8_t *b, struct cm_table_cursor c, uint64_t from,
		uint64_t end, uint64_t shift);

/* ---- relocation (relocate.c; its threads: relocate-mt.c) ---- */

/* The header, with the argument checks every cm_deserialize shares. */
int cm_reloc_prepare(void *blob, int flags, struct cm_header *h, size_t len,
		     struct cm_error *err);
/* The blob records its own address now: relocated. @return the root. */
void *cm_reloc_finish(uint8_t *blob, const struct cm_header *h);

/* cm_deserialize_mt: below this many data bytes a thread, one thread is
 * quicker (tests lower it to split small blobs). */
extern uint64_t cm_mt_min_part;

#endif /* CMA_WALK_H */
