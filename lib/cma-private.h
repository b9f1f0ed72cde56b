/* SPDX-License-Identifier: MIT */
/* Declarations shared by the library's files; never installed. */
#ifndef CMA_PRIVATE_H
#define CMA_PRIVATE_H

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "cma.h"

#define CM_API __attribute__((visibility("default")))

/* ---- blob format v1 (doc/format.md) ---- */

#define CM_MAGIC "\x89" "CMA\r\n\x1a\n"
#define CM_MAGIC_LEN 8
#define CM_HEADER_SIZE 128

/* Header field offsets. */
enum {
	CM_H_MAGIC = 0,
	CM_H_VERSION_MAJOR = 8,
	CM_H_VERSION_MINOR = 10,
	CM_H_HEADER_SIZE = 12,
	CM_H_MODE = 16,
	CM_H_REQUIRED = 20,
	CM_H_OPTIONAL = 24,
	CM_H_RESERVED0 = 28,
	CM_H_BASE = 32,
	CM_H_CAPACITY = 40,
	CM_H_ROOT = 48,
	CM_H_DATA_END = 56,
	CM_H_TABLE_OFFSET = 64,
	CM_H_TABLE_SIZE = 72,
	CM_H_POINTER_COUNT = 80,
	CM_H_SECTIONS_OFFSET = 88,
	CM_H_SECTIONS_SIZE = 96,
	CM_H_BLOB_SIZE = 104,
	CM_H_CHECKSUM = 112,
	CM_H_RESERVED1 = 120,
};

#define CM_REQ_LIVE		0x01u	/* a live arena, not a sealed blob */
#define CM_REQ_KNOWN		CM_REQ_LIVE
#define CM_OPT_OBJECT_MAP	0x01u	/* informative: an object map follows */
#define CM_OPT_TYPES		0x02u	/* informative: a type section follows */

/* Optional sections: {u32 type, u32 flags, u64 size, payload, pad to 8}. */
#define CM_SECTION_HEADER	16
#define CM_SECTION_REQUIRED	0x01u
#define CM_SECTION_OBJECT_MAP	1u
#define CM_SECTION_TYPES	2u	/* type description (types.c) */
#define CM_TYPES_VERSION	1u

/* ---- type section (types.c) ---- */
/* Check a type section's payload p of `size` bytes found at blob offset
 * `at` (and, with h, that the root type fits at the root). A later
 * version is skipped. @return 0; -1 with EBADMSG (CM_E_SECTION). */
int cm_types_check(const uint8_t *p, uint64_t size, uint64_t at,
		   const struct cm_header *h, struct cm_error *err);

/* A relative table entry is at most this many VLQ bytes (28 bits). */
#define CM_VLQ_REL_MAX_BYTES	4
/* Any field beyond this is nonsense on a 48-bit address space. */
#define CM_FIELD_LIMIT		(1ULL << 62)

static inline uint64_t cm_align8(uint64_t x) { return (x + 7) & ~7ULL; }

static inline uint64_t cm_load64(const void *p)
{
	uint64_t v;
	memcpy(&v, p, 8);
	return v;
}

static inline void cm_store64(void *p, uint64_t v) { memcpy(p, &v, 8); }

static inline uint32_t cm_load32(const void *p)
{
	uint32_t v;
	memcpy(&v, p, 4);
	return v;
}

static inline void cm_store32(void *p, uint32_t v) { memcpy(p, &v, 4); }

/* ---- errors (error.c) ---- */

/* Fill *err (when not NULL) and return -1 with errno EBADMSG. */
int cm_fail(struct cm_error *err, int code, uint64_t offset, uint64_t index,
	    const char *fmt, ...) __attribute__((format(printf, 5, 6)));

/* A listed slot's value is base + t, header_size <= t <= data_end (NULL and
 * anything below base wrap high and fail the one compare). */
static inline bool cm_value_ok(const struct cm_header *h, uint64_t v)
{
	return v - (h->base + h->header_size) <= h->data_end - h->header_size;
}

/* cm_fail() for a slot whose value fails cm_value_ok(). */
int cm_fail_pointer(struct cm_error *err, uint64_t slot, uint64_t index,
		    uint64_t value);

/* ---- VLQ, unsigned LEB128 (vlq.c) ---- */

/* Encode v; return the byte count (1 to 10). */
unsigned cm_vlq_encode(uint64_t v, uint8_t *out);

/*
 * Decode one value from [p, end), at most max_bytes long, canonical (no
 * overlong form). @return bytes used; 0 when cut, overlong or oversized
 * (*why: 0 cut, 1 overlong, 2 oversized).
 */
unsigned cm_vlq_decode(const uint8_t *p, const uint8_t *end,
		       unsigned max_bytes, uint64_t *v, int *why);

/* Encode the table entry of `slot` (after `prev`) in `mode` at out (room
 * for 8 bytes); return its length. */
static inline unsigned cm_table_encode(uint32_t mode, uint64_t slot,
				       uint64_t prev, uint8_t *out)
{
	if (mode == CM_ABSOLUTE_OFFSET) {
		cm_store64(out, slot);
		return 8;
	}
	if (slot - prev < 128 * 8) {	/* the common one-byte delta */
		*out = (uint8_t)((slot - prev) / 8);
		return 1;
	}
	return cm_vlq_encode((slot - prev) / 8, out);
}

/* ---- header (header.c) ---- */

void cm_header_encode(const struct cm_header *h, uint8_t *out);

/* ---- checksum (checksum.c: the only file that includes xxhash.h) ---- */

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
	uint64_t *sums;		/* 8 words a block; free() them */
	uint64_t at;		/* blob offset of the table's first whole block */
	uint64_t blocks, done;
};

void cm_table_shares_start(struct cm_table_shares *t,
			   const struct cm_header *h);
/* The shares of the whole blocks inside the blob's bytes [from, to):
 * blocks [*first, *end). */
void cm_table_shares_add(struct cm_table_shares *t, const uint8_t *blob,
			 uint64_t from, uint64_t to, uint64_t *first,
			 uint64_t *end);
/* In order: the blocks below `pos` not in yet. */
void cm_table_shares_upto(struct cm_table_shares *t, const uint8_t *blob,
			  uint64_t pos);
/* The blob from its table to its end (from the shares when all are in; t
 * may be NULL), then its header: the checksum. */
uint64_t cm_hash_blob_end(struct cm_hash *s, const uint8_t *blob,
			  const struct cm_header *h,
			  const struct cm_table_shares *t);

/* The loops behind cm_hash_rebased() and the table's decoding and
 * encoding come from the CPU's table of kernels: cpu.h. */

/* ---- table cursor (table.c) ---- */

/* Walks a table, checking every entry's encoding, order and bounds. */
struct cm_table_cursor {
	const uint8_t *blob;
	const struct cm_header *h;
	uint64_t pos;		/* next entry's byte offset */
	uint64_t end;		/* table end */
	uint64_t index;		/* next entry's index */
	uint64_t prev;		/* previous slot offset (0 before the first) */
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

/* ---- validation engine (check.c) ---- */

/*
 * The one pass shared by cm_check and cm_deserialize: walk the data in
 * chunks, check every table entry and its pointer, hash (unless
 * CM_CHECK_NO_CHECKSUM), and when `shift` is non-zero add it to every slot
 * of `wblob` (the same bytes as blob, writable). On a defect every slot
 * written is restored. `report` (may be NULL) sees each defect; a non-zero
 * return or a hard defect stops.
 */
int cm_walk(const uint8_t *blob, uint8_t *wblob, const struct cm_header *h,
	    int flags, uint64_t shift, size_t max_errors,
	    int (*report)(void *ctx, const struct cm_error *err), void *ctx,
	    struct cm_error *first);

/* ---- pointer scan (scan.c) ---- */

/*
 * The scan's rule (doc/format.md, Unrecorded pointers): an 8-byte aligned
 * word w, data_start <= w, w + 8 <= data_end, that is no slot, is a hit
 * when its value v has v - lo <= span: base + data_start <= v <=
 * base + data_end. The legacy import uses it on its own offsets.
 */
struct cm_scan {
	uint64_t base;
	uint64_t lo, span;
	uint64_t data_end;
};

/* Set *s for the data [data_start, data_end) of a blob recorded at base.
 * @return false when base is below CM_SCAN_MIN_BASE: no scan may run. */
bool cm_scan_rule(struct cm_scan *s, uint64_t base, uint64_t data_start,
		  uint64_t data_end);

/* Sees each hit in ascending order: its offset and value; true stops. */
typedef bool (*cm_scan_hit_fn)(void *ctx, uint64_t offset, uint64_t value);

/*
 * The hits among the words of [off, end) (off 8-aligned; end is cut at
 * the data end), p the byte at offset off, slots given as `bits` (bit i
 * of word i / 64: the word at off + 8 i; a word for each 64 data words,
 * begun). @return true when hit() stopped it.
 */
bool cm_scan_bits(const struct cm_scan *s, const uint8_t *p, uint64_t off,
		  uint64_t end, const uint64_t *bits, cm_scan_hit_fn hit,
		  void *ctx);
/* The same with the slots as n ascending offsets (repeats allowed; those
 * outside [off, end) or unaligned mark no word). */
bool cm_scan_slots(const struct cm_scan *s, const uint8_t *p, uint64_t off,
		   uint64_t end, const uint64_t *slots, size_t n,
		   cm_scan_hit_fn hit, void *ctx);
/*
 * The quick test: are exactly `listed` words of [off, end) in range? When
 * `listed` slots lie there and all hold good values (cm_value_ok), true
 * means there is no hit; false, that one may be (cm_scan_bits finds it).
 */
bool cm_scan_clean(const struct cm_scan *s, const uint8_t *p, uint64_t off,
		   uint64_t end, uint64_t listed);
/* cm_fail() for a hit: CM_E_UNRECORDED at the word, naming its target. */
int cm_fail_unrecorded(struct cm_error *err, const struct cm_scan *s,
		       uint64_t offset, uint64_t value);

/* ---- blob writer (blob-writer.c): cm_convert, cm_legacy_import ---- */

/*
 * What a v1 blob is written from, in the output's offsets. The slots come
 * from a cursor; start() rewinds it before each walk (up to five).
 */
struct cm_blob_source {
	const uint8_t *header_tail;	/* [CM_HEADER_SIZE, header_size) */
	const uint8_t *data;		/* [header_size, data_end) */
	const uint8_t *sections;	/* sections_size bytes */
	uint64_t rebase;		/* value + rebase: value at base 0 */
	void (*start)(void *ctx);
	/*
	 * Up to `max` slot offsets below `limit`, ascending, into slots[].
	 * @return the count (0 at the end or at limit); -1 on a defect.
	 */
	ssize_t (*next)(void *ctx, uint64_t *slots, size_t max,
			uint64_t limit, struct cm_error *err);
	void *ctx;
};

/* The table's byte size in h->mode for h->pointer_count slots of src. */
int cm_blob_table_size(const struct cm_header *h,
		       const struct cm_blob_source *src, uint64_t *size,
		       struct cm_error *err);

/*
 * Stream the blob h describes (every field but the checksum set) to write:
 * a first pass hashes it and sets h->checksum, the second writes it. Memory
 * is constant. A writer that fails without errno gives EIO.
 */
int cm_blob_write(struct cm_header *h, const struct cm_blob_source *src,
		  cm_write_fn write, void *ctx, struct cm_error *err);


/* Take `shift` back from the n bytes at p, from each word whose bit is set
 * in bits (bit i: the word at p + 8 i). */
void cm_unshift_bits(uint8_t *p, size_t n, const uint64_t *bits,
		     uint64_t shift);
/* Take `shift` back from every slot of b in [from, end), the table read
 * from cursor c, at the first entry at or past `from`; every entry below
 * `end` was decoded before without a defect. */
void cm_unshift(uint8_t *b, struct cm_table_cursor c, uint64_t from,
		uint64_t end, uint64_t shift);

/* ---- pre-faulting for write (prefault.c) ---- */

/*
 * A relocation's writes fault a page at a time on a fresh mapping (a
 * private mapping of a file or shared-memory object copies each page on
 * its first write). After a first chunk that took faults, each chunk's
 * pages that hold a slot are populated for write in one call before its
 * writes (MADV_POPULATE_WRITE, Linux 5.14): the same pages the writes would
 * fault, their bytes unchanged. Only whole pages inside the blob; a kernel
 * that refuses turns it off, the writes then fault as they would.
 */
struct cm_prefault {
	uintptr_t lo, hi;	/* the blob's whole pages */
	uintptr_t page;
	long faults;		/* the thread's minor faults at the probe */
	int state;
};

void cm_prefault_start(struct cm_prefault *pf, uint8_t *blob, uint64_t size);
/* Before the slots of the n bytes at p (bit i of bits: the word at
 * p + 8 i) are written. */
void cm_prefault_chunk(struct cm_prefault *pf, uint8_t *p, size_t n,
		       const uint64_t *bits);
/* madvise, or a test's stand-in. */
extern int (*cm_prefault_advise)(void *addr, size_t len, int advice);

/* cm_deserialize_mt: below this many data bytes a thread, one thread is
 * quicker (tests lower it to split small blobs). */
extern uint64_t cm_mt_min_part;

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
