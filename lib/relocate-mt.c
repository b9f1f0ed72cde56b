/* SPDX-License-Identifier: MIT */
/*
 * cm_deserialize_mt: the relocation split among threads. Each thread
 * checks, shifts and hashes its part of the data (whole XXH3 blocks) and
 * of the table; the caller's part, the first, goes straight into the
 * checksum, the others' hash shares are folded in after them. The caller
 * then takes the data's last part block, the table's end and the
 * checksum.
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>

#include "hash.h"
#include "scratch.h"
#include "walk.h"

/* Index of the first absolute-table entry whose slot is >= from. */
static uint64_t first_entry(const uint8_t *blob, const struct cm_header *h,
			    uint64_t from)
{
	uint64_t lo = 0, hi = h->pointer_count;

	while (lo < hi) {
		uint64_t mid = lo + (hi - lo) / 2;

		if (cm_load64(blob + h->table_offset + mid * 8) < from)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/*
 * A thread's share of the data: whole XXH3 blocks, so that, checked, each
 * thread but the first adds up its blocks' hash shares (cm_hash_block_sums)
 * and the caller folds them in order; the data's last part block is the
 * caller's too.
 */
struct part {
	uint8_t *blob;
	const struct cm_header *h;
	struct cm_rebase r;
	struct cm_table_cursor start;	/* at the part's first entry */
	struct cm_table_cursor at;	/* then at the next to decode */
	uint64_t last;		/* the next part's first entry */
	uint64_t from, to;	/* its slots lie in [from, to) */
	uint64_t done_end;	/* slots below are shifted */
	struct cm_hash *hash;	/* checked, the first part: the checksum */
	uint64_t *sums;		/* checked, the others: their blocks' shares */
	uint8_t last_stripe[64];	/* checked: as hashed */
	/* Checked: the table's shares, its own cursor (table.done) in
	 * them; it adds blocks [table_first, table.done). */
	struct cm_table_shares table;
	uint64_t table_first;
	int result;
	struct cm_error err;
};

/* Parts are decoded and relocated in chunks this big (bitmap on stack). */
#define PART_CHUNK (256 * 1024)

/* The first bad pointer among a chunk's slots (the first is entry
 * `index`), for the report. */
static void name_bad_pointer(struct part *pt, uint64_t off,
			     const uint64_t *bits, uint64_t words,
			     uint64_t index)
{
	for (uint64_t w = 0; w * 64 < words; w++)
		for (uint64_t b = bits[w]; b; b &= b - 1) {
			uint64_t slot = off + (w * 64 + (uint64_t)
					       __builtin_ctzll(b)) * 8;
			uint64_t v = cm_load64(pt->blob + slot);

			if (!cm_value_ok(pt->h, v)) {
				cm_fail_pointer(&pt->err, slot, index, v);
				return;
			}
			index++;
		}
}

/* Check, shift and (checked) hash [from, to) a chunk at a time, into
 * pt->hash or pt->sums; pt->at ends at the entry after. @return 0, or -1
 * with pt->err set and the failing chunk as it was. */
static int relocate_range(struct part *pt, uint64_t from, uint64_t to)
{
	pt->done_end = from;
	for (uint64_t off = from; off < to; off += PART_CHUNK) {
		uint64_t end = to - off < PART_CHUNK ? to : off + PART_CHUNK;
		uint64_t bits[PART_CHUNK / 512 + 1] = { 0 };
		uint64_t first = pt->at.index;
		bool bad;

		if (cm_table_bits(&pt->at, bits, off, end, &pt->err) < 0)
			return -1;
		/* The chunk's table blocks while they are in cache. */
		cm_table_shares_upto(&pt->table, pt->blob, pt->at.pos);
		if (pt->sums)
			bad = cm_hash_block_sums(pt->blob + off,
				(end - off) / CM_HASH_BLOCK, (uint8_t *)bits,
				&pt->r, CM_REBASE_WRITE,
				pt->sums
				+ 8 * ((off - pt->from) / CM_HASH_BLOCK),
				pt->last_stripe);
		else
			bad = cm_hash_rebased(pt->hash, pt->blob + off,
					      end - off,
					      (uint8_t *)bits, NULL, &pt->r,
					      CM_REBASE_WRITE);
		if (bad) {
			cm_unshift_bits(pt->blob + off, end - off, bits,
					pt->r.shift);	/* this chunk back */
			name_bad_pointer(pt, off, bits, (end - off) / 8,
					 first);
			return -1;
		}
		pt->done_end = end;
	}
	return 0;
}

/* One thread's part; the parts partition the table, each checks its own
 * entries are ascending inside its range, so together they are the whole
 * table in order. */
static void *relocate_part(void *arg)
{
	struct part *pt = arg;

	pt->result = relocate_range(pt, pt->from, pt->to);
	if (!pt->result && pt->last != UINT64_MAX
	    && pt->at.index != pt->last)
		pt->result = cm_fail(&pt->err, CM_E_ORDER, pt->at.pos,
				     pt->at.index,
				     "relocation %llu out of order",
				     (unsigned long long)pt->at.index);
	return NULL;
}

/*
 * After the parts: the data's last part block, the end of the table, and
 * (checked) the checksum: the first part's stream, the other parts'
 * shares folded in. The tail is relocated under parts[n]. @return 0 or -1
 * with err set.
 */
static int finish_parts(struct part *parts, int n, struct cm_hash *hash,
			struct cm_error *err)
{
	struct part *tail = &parts[n];
	const struct cm_header *h = tail->h;
	const uint64_t blocks = (parts[n - 1].to - parts[1].from)
				/ CM_HASH_BLOCK;
	struct cm_error e;
	uint64_t slot;

	if (hash && !cm_hash_take_blocks(hash, parts[1].sums, blocks,
					 parts[n - 1].last_stripe))
		return cm_fail(err, CM_E_CHECKSUM, CM_H_CHECKSUM, UINT64_MAX,
			       "checksum stream out of step");	/* never */
	if (relocate_range(tail, tail->from, tail->to)) {
		*err = tail->err;
		return -1;
	}
	if (cm_table_next(&tail->at, &slot, 1, UINT64_MAX, &e) != 0
	    || cm_table_finish(&tail->at, &e)) {
		*err = e;
		return -1;
	}
	if (hash) {
		struct cm_table_shares *t = &parts[0].table;
		uint64_t sum, first, end, b = 0;

		/* The table blocks no part did: those across the parts'
		 * bounds, and the table's end. */
		for (int i = 0; t->sums && i <= n + 1; i++) {
			uint64_t upto = i <= n ? parts[i].table_first
					       : t->blocks;

			if (b < upto)
				cm_table_shares_add(t, tail->blob,
					t->at + b * CM_HASH_BLOCK,
					t->at + upto * CM_HASH_BLOCK,
					&first, &end);
			if (i <= n)
				b = parts[i].table.done;
		}
		if (t->sums)
			t->done = t->blocks;
		sum = cm_hash_blob_end(hash, tail->blob, h, t);

		if (sum != h->checksum)
			return cm_fail(err, CM_E_CHECKSUM, CM_H_CHECKSUM,
				       UINT64_MAX,
				       "checksum mismatch: stored 0x%016llx, "
				       "computed 0x%016llx",
				       (unsigned long long)h->checksum,
				       (unsigned long long)sum);
	}
	return 0;
}

uint64_t cm_mt_min_part = 1024 * 1024;

/* A part's own cursor in the table's shares (t may be NULL: none), from
 * the block after its first entry; its decoder hashes on the way. */
static void part_shares(struct part *pt, const struct cm_table_shares *t)
{
	pt->table = t ? *t : (struct cm_table_shares){ 0 };
	if (pt->table.sums)
		pt->table.done = cm_table_shares_first(&pt->table, pt->at.pos);
	pt->table_first = pt->table.done;
	pt->at.shares = pt->table.sums ? &pt->table : NULL;
}

/* Part i takes blocks [i step, (i + 1) step) of the data. */
static uint64_t part_step(uint64_t blocks, int threads)
{
	return (blocks + (uint64_t)threads - 1) / (uint64_t)threads;
}

/*
 * The parts; parts[threads], the caller's, the data after the last whole
 * block. Each starts at its first entry: found by bisection in an absolute
 * table, by summing the deltas before it in a relative one. Checked, the
 * first hashes into `hash`, the others' shares go to sums (from part 1's
 * first block on). @return -1 when a relative table cannot be read that
 * far (one thread then says what is wrong).
 */
static int plan_parts(struct part *parts, int threads, uint8_t *p,
		      const struct cm_header *h, uint64_t blocks,
		      struct cm_hash *hash, uint64_t *sums,
		      struct cm_table_shares *table)
{
	const uint64_t step = part_step(blocks, threads);
	struct cm_table_cursor c;

	cm_table_start(&c, p, h);
	for (int i = 0; i <= threads; i++) {
		uint64_t b = step * (uint64_t)i < blocks ? step * (uint64_t)i
							 : blocks;
		uint64_t from = h->header_size + b * CM_HASH_BLOCK;

		/* Part 0 takes the table from its first entry, so entries
		 * below the data are met, and refused, there; the caller's
		 * part starts where the last thread's ends (set then). */
		if (i > 0 && i < threads && h->mode == CM_ABSOLUTE_OFFSET) {
			c.index = first_entry(p, h, from);
			c.pos = h->table_offset + c.index * 8;
			c.prev = c.index ? cm_load64(p + c.pos - 8) : 0;
		} else if (i > 0 && i < threads && cm_table_seek(&c, from)) {
			return -1;
		}
		parts[i] = (struct part){
			.blob = p, .h = h, .from = from, .last = UINT64_MAX,
			.to = i == threads ? h->table_offset
			      : h->header_size + (b + step < blocks ? b + step
						  : blocks) * CM_HASH_BLOCK,
			.hash = i == 0 || i == threads ? hash : NULL,
			.sums = sums && i > 0 && i < threads
				? sums + 8 * (b - step) : NULL,
			.start = c, .at = c,
			.r = { .base = h->base, .lo = h->base + h->header_size,
			       .span = h->data_end - h->header_size,
			       .shift = (uintptr_t)p - h->base },
		};
		if (i > 0 && i < threads)
			parts[i - 1].last = c.index;
		part_shares(&parts[i], table);
	}
	return 0;
}

/* Every part's shifted slots back, from its first entry. */
static void unshift_parts(const struct part *parts, int n)
{
	for (int i = 0; i < n; i++)
		cm_unshift(parts[i].blob, parts[i].start, parts[i].from,
			   parts[i].done_end, parts[i].r.shift);
}

CM_API void *cm_deserialize_mt(void *blob, size_t len, int flags, int threads,
			       struct cm_error *err)
{
	struct cm_header h;
	struct part parts[65];
	pthread_t tids[64];
	struct cm_hash hash;
	struct cm_table_shares table = { 0 };
	struct cm_error e = { 0 };
	uint8_t *p = blob, *root = NULL;
	uint64_t *sums = NULL, blocks;
	size_t sums_size = 0;
	int started = 1, failed = -1;
	bool checked = !(flags & CM_TRUSTED);

	if (threads < 1 || threads > 64) {
		errno = EINVAL;
		return NULL;
	}
	if (cm_reloc_prepare(blob, flags, &h, len, err))
		return NULL;
	blocks = (h.table_offset - h.header_size) / CM_HASH_BLOCK;
	/* Blobs with sections (an object map to check), and the pointer
	 * scan, go the single-thread way. */
	if (threads == 1 || h.sections_size
	    || (uintptr_t)blob == h.base
	    || (flags & (CM_CHECK_STRICT | CM_CHECK_POINTERS))
	    || blocks * CM_HASH_BLOCK < (uint64_t)threads * cm_mt_min_part)
		return cm_deserialize_flags(blob, len, flags, err);
	if (checked) {
		/* One allocation: the shares of every part's data blocks but
		 * the first's, then the table's. */
		size_t data = (blocks - part_step(blocks, threads)) * 64;
		size_t table_bytes = cm_table_shares_plan(&table, &h);

		sums_size = data + table_bytes;
		if (!(sums = cm_scratch_alloc(sums_size)))
			return cm_deserialize_flags(blob, len, flags, err);
		if (table_bytes)
			table.sums = sums + data / 8;
		cm_hash_init(&hash);
	}
	/* No sections: the layout is the padding after the data. */
	if (cm_check_layout(p, &h, &(struct cm_defects){ .first = err },
			    &(struct cm_sections){ 0 })) {
		errno = EBADMSG;
		goto out;
	}
	if (plan_parts(parts, threads, p, &h, blocks, checked ? &hash : NULL,
		       sums, checked ? &table : NULL)) {
		cm_scratch_free(sums, sums_size);
		return cm_deserialize_flags(blob, len, flags, err);
	}
	for (; started < threads; started++)
		if (pthread_create(&tids[started], NULL, relocate_part,
				   &parts[started]))
			break;
	relocate_part(&parts[0]);
	for (int i = 1; i < started; i++)
		pthread_join(tids[i], NULL);
	for (int i = 0; i < started && failed < 0; i++)
		if (parts[i].result)
			failed = i;
	if (failed < 0 && started == threads) {
		/* The caller's part starts where the last thread's ended. */
		struct part *tail = &parts[threads];

		tail->at = tail->start = parts[threads - 1].at;
		part_shares(tail, checked ? &table : NULL);
		if (!finish_parts(parts, threads, checked ? &hash : NULL,
				  &e)) {
			root = cm_reloc_finish(p, &h);
			goto out;
		}
		cm_unshift(p, parts[threads].start, parts[threads].from,
			   parts[threads].done_end, parts[threads].r.shift);
		failed = threads;
		parts[threads].err = e;
	}
	unshift_parts(parts, started);
	if (failed < 0) {
		errno = EAGAIN;		/* a thread could not start */
	} else {
		if (err)
			*err = parts[failed].err;
		errno = EBADMSG;
	}
out:
	cm_scratch_free(sums, sums_size);
	return root;
}
