/* SPDX-License-Identifier: MIT */
/* The streaming two-pass writer behind cm_convert and cm_legacy_import. */
#include <errno.h>
#include <stdlib.h>

#include "cma-private.h"

/*
 * Output goes through a buffer this big; every data chunk fits in it. A
 * multiple of 8, so data chunks cut between slots, never through one.
 */
#define SINK_SIZE (64 * 1024)
/* Slot offsets asked of the source per call. */
#define SLOT_BATCH 1024
/* The same, for sizing a table: a stack buffer. */
#define SIZE_BATCH 256

/*
 * A buffered sink: the checksum pass feeds the hash, the write pass the
 * caller's writer. Both passes produce the same bytes, except that the
 * checksum pass writes base 0 and checksum 0: the normalised image the
 * format hashes (a slot holds value - base, the header base 0).
 */
struct sink {
	uint8_t *buf;		/* SINK_SIZE bytes */
	size_t fill;
	uint64_t delivered;	/* bytes out of the buffer: at fill 0 */
	uint64_t *slots;	/* SLOT_BATCH entries */
	struct cm_hash *hash;	/* set during the checksum pass */
	cm_write_fn write;
	void *ctx;
};

/* n bytes at p to the pass's end: the hash or the writer. */
static int sink_deliver(struct sink *s, const uint8_t *p, size_t n)
{
	s->delivered += n;
	if (s->hash) {
		cm_hash_raw(s->hash, p, n);
		return 0;
	}
	errno = 0;
	if (s->write(s->ctx, p, n)) {
		/* A writer that forgot errno still stops us cleanly. */
		if (errno == 0)
			errno = EIO;
		return -1;
	}
	return 0;
}

static int sink_flush(struct sink *s)
{
	if (s->fill == 0)
		return 0;
	if (sink_deliver(s, s->buf, s->fill))
		return -1;
	s->fill = 0;
	return 0;
}

/* n contiguous bytes (n <= SINK_SIZE) at the end of the buffer. */
static uint8_t *sink_room(struct sink *s, size_t n)
{
	uint8_t *p;

	if (SINK_SIZE - s->fill < n && sink_flush(s))
		return NULL;
	p = s->buf + s->fill;
	s->fill += n;
	return p;
}

static int sink_put(struct sink *s, const uint8_t *p, uint64_t n)
{
	while (n) {
		size_t piece = n < SINK_SIZE ? n : SINK_SIZE;
		uint8_t *w = sink_room(s, piece);

		if (!w)
			return -1;
		memcpy(w, p, piece);
		p += piece;
		n -= piece;
	}
	return 0;
}

static int sink_zero(struct sink *s, uint64_t n)
{
	uint8_t *w = sink_room(s, n);

	if (!w)
		return -1;
	memset(w, 0, n);
	return 0;
}

/* ---- a checked table, re-encoded straight ---- */

/* The VLQ length of v: 1 to 10 bytes. */
static inline uint64_t vlq_length(uint64_t v)
{
	return (uint64_t)(64 - __builtin_clzll(v | 1) + 6) / 7;
}

/* The relative table's size for the checked absolute table t of n
 * entries. */
static uint64_t relative_size_of(const uint8_t *t, uint64_t n)
{
	uint64_t total = 0, prev = 0;

	for (uint64_t i = 0; i < n; i++) {
		uint64_t slot = cm_load64(t + 8 * i);

		total += vlq_length((slot - prev) / 8);
		prev = slot;
	}
	return total;
}

/* The checked absolute table t of n entries as a relative one. */
static int absolute_to_relative(struct sink *s, const uint8_t *t, uint64_t n)
{
	uint64_t prev = 0;

	for (uint64_t i = 0; i < n; i += SLOT_BATCH) {
		uint64_t k = n - i < SLOT_BATCH ? n - i : SLOT_BATCH;
		uint8_t *w = sink_room(s, 10 * k), *start = w;

		if (!w)
			return -1;
		for (uint64_t j = i; j < i + k; j++) {
			uint64_t slot = cm_load64(t + 8 * j);

			w += cm_table_encode(CM_RELATIVE_OFFSET, slot, prev, w);
			prev = slot;
		}
		s->fill -= 10 * k - (size_t)(w - start);
	}
	return 0;
}

/* The checked relative table t of n entries as an absolute one. Checked:
 * every VLQ ends within the table, and the n entries fill it. */
static int relative_to_absolute(struct sink *s, const uint8_t *t, uint64_t n)
{
	uint64_t slot = 0;

	for (uint64_t i = 0; i < n; i += SLOT_BATCH) {
		uint64_t k = n - i < SLOT_BATCH ? n - i : SLOT_BATCH;
		uint8_t *w = sink_room(s, 8 * k);

		if (!w)
			return -1;
		for (uint64_t j = 0; j < k; j++, w += 8) {
			uint64_t d = *t++;

			if (d >= 0x80) {
				unsigned shift = 7;
				uint8_t b;

				d &= 0x7f;
				do {
					b = *t++;
					d |= (uint64_t)(b & 0x7f) << shift;
					shift += 7;
				} while (b & 0x80);
			}
			slot += 8 * d;
			cm_store64(w, slot);
		}
	}
	return 0;
}

/* The checked table in the output's mode. */
static int emit_checked_table(const struct cm_header *h,
			      const struct cm_blob_source *src, struct sink *s)
{
	if (h->mode == src->checked_mode)	/* canonical: the same bytes */
		return sink_put(s, src->checked_table, src->checked_size);
	if (h->mode == CM_RELATIVE_OFFSET)
		return absolute_to_relative(s, src->checked_table,
					    h->pointer_count);
	return relative_to_absolute(s, src->checked_table, h->pointer_count);
}

/* ---- any source ---- */

int cm_blob_table_size(const struct cm_header *h,
		       const struct cm_blob_source *src, uint64_t *size,
		       struct cm_error *err)
{
	uint64_t slots[SIZE_BATCH], prev = 0, total = 0;
	uint8_t tmp[10];
	ssize_t k;

	if (h->mode == CM_ABSOLUTE_OFFSET) {
		*size = 8 * h->pointer_count;
		return 0;
	}
	if (src->checked_table) {
		*size = src->checked_mode == CM_RELATIVE_OFFSET
			? src->checked_size
			: relative_size_of(src->checked_table,
					   h->pointer_count);
		return 0;
	}
	src->start(src->ctx);
	while ((k = src->next(src->ctx, slots, SIZE_BATCH, UINT64_MAX,
			      err)) > 0) {
		for (ssize_t i = 0; i < k; i++) {
			total += cm_vlq_encode((slots[i] - prev) / 8, tmp);
			prev = slots[i];
		}
	}
	if (k < 0)
		return -1;
	*size = total;
	return 0;
}

/* The data [header_size, data_end), each slot's value plus `shift`. */
static int emit_data(const struct cm_header *h,
		     const struct cm_blob_source *src, uint64_t shift,
		     struct sink *s, struct cm_error *err)
{
	uint64_t off = h->header_size;

	/* Slots unchanged: the source's bytes as they are, in one piece. */
	if (shift == 0)
		return sink_flush(s)
		       || sink_deliver(s, src->data, h->data_end - off) ? -1 : 0;
	src->start(src->ctx);
	while (off < h->data_end) {
		uint64_t left = h->data_end - off;
		size_t n = left < SINK_SIZE ? left : SINK_SIZE;
		uint8_t *w;
		ssize_t k;

		if (sink_flush(s))
			return -1;
		w = sink_room(s, n);
		memcpy(w, src->data + (off - h->header_size), n);
		/* off is 8-aligned and so is off + n unless at the data end:
		 * a slot below the limit lies wholly in the chunk. */
		while ((k = src->next(src->ctx, s->slots, SLOT_BATCH, off + n,
				      err)) > 0) {
			for (ssize_t i = 0; i < k; i++) {
				uint8_t *p = w + (s->slots[i] - off);

				cm_store64(p, cm_load64(p) + shift);
			}
		}
		if (k < 0)
			return -1;
		off += n;
	}
	return 0;
}

static int emit_table(const struct cm_header *h,
		      const struct cm_blob_source *src, struct sink *s,
		      struct cm_error *err)
{
	uint64_t prev = 0;
	ssize_t k;

	if (src->checked_table)
		return emit_checked_table(h, src, s);
	src->start(src->ctx);
	while ((k = src->next(src->ctx, s->slots, SLOT_BATCH, UINT64_MAX,
			      err)) > 0) {
		for (ssize_t i = 0; i < k; i++) {
			uint64_t slot = s->slots[i];
			uint8_t *w = sink_room(s, 10);

			if (!w)
				return -1;
			s->fill -= 10 - cm_table_encode(h->mode, slot, prev, w);
			prev = slot;
		}
	}
	return k < 0 ? -1 : 0;
}

void cm_blob_layout(struct cm_header *h)
{
	uint64_t table_end = h->table_offset + h->table_size;

	h->sections_offset = h->sections_size ? cm_align8(table_end) : 0;
	h->blob_size = h->sections_size ? h->sections_offset + h->sections_size
					: table_end;
}

/* Everything after the header: data, padding (unless `from_table`),
 * table, sections. A table size of CM_TABLE_SIZE_LATER is set here, with
 * the layout after it. */
static int emit_body(struct cm_header *h, const struct cm_blob_source *src,
		     uint64_t shift, bool from_table, struct sink *s,
		     struct cm_error *err)
{
	uint64_t table_start;

	if (!from_table
	    && (emit_data(h, src, shift, s, err)
		|| sink_zero(s, h->table_offset - h->data_end)))
		return -1;
	table_start = s->delivered + s->fill;
	if (emit_table(h, src, s, err))
		return -1;
	if (h->table_size == CM_TABLE_SIZE_LATER) {
		h->table_size = s->delivered + s->fill - table_start;
		cm_blob_layout(h);
	}
	if (h->sections_size
	    && (sink_zero(s, h->sections_offset
			     - (h->table_offset + h->table_size))
		|| sink_put(s, src->sections, h->sections_size)))
		return -1;
	return sink_flush(s);
}

/*
 * The checksum of the output. The hash takes the header last (as
 * cm_checksum_compute does), normalised: base and checksum fields as 0,
 * slots as value - base, hence the body emitted for base 0.
 */
static int checksum(struct cm_header *h, const struct cm_blob_source *src,
		    struct sink *s, struct cm_error *err)
{
	uint8_t header[CM_HEADER_SIZE];

	if (src->data_hash)
		*s->hash = *src->data_hash;
	if (emit_body(h, src, src->rebase, src->data_hash != NULL, s, err))
		return -1;
	cm_header_encode(h, header);
	cm_hash_header(s->hash, header, CM_HEADER_SIZE);
	if (h->header_size > CM_HEADER_SIZE)
		cm_hash_raw(s->hash, src->header_tail,
			    h->header_size - CM_HEADER_SIZE);
	h->checksum = cm_hash_digest(s->hash);
	return 0;
}

static int emit(struct cm_header *h, const struct cm_blob_source *src,
		struct sink *s, struct cm_error *err)
{
	uint8_t *w = sink_room(s, CM_HEADER_SIZE);

	if (!w)
		return -1;
	cm_header_encode(h, w);
	if (h->header_size > CM_HEADER_SIZE
	    && sink_put(s, src->header_tail, h->header_size - CM_HEADER_SIZE))
		return -1;
	return emit_body(h, src, src->rebase + h->base, false, s, err);
}

/*
 * Two passes over the source, constant memory: the first hashes the output
 * (the checksum sits in the header, which is written first), the second
 * writes it.
 */
int cm_blob_write(struct cm_header *h, const struct cm_blob_source *src,
		  cm_write_fn write, void *ctx, struct cm_error *err)
{
	struct sink s = { .write = write, .ctx = ctx };
	uint8_t *mem = malloc(SINK_SIZE + SLOT_BATCH * sizeof(uint64_t));
	struct cm_hash hash;
	int ret = -1, saved;

	if (!mem) {
		errno = ENOMEM;
		goto out;
	}
	cm_hash_init(&hash);
	s.hash = &hash;
	s.buf = mem;
	s.slots = (uint64_t *)(mem + SINK_SIZE);
	if (checksum(h, src, &s, err))
		goto out;
	s.hash = NULL;
	if (emit(h, src, &s, err))
		goto out;
	ret = 0;
out:
	saved = errno;
	free(mem);
	errno = saved;
	return ret;
}
