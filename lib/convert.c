/* SPDX-License-Identifier: MIT */
/* cm_convert: re-encode a blob's table and rebase its pointers, streaming. */
#include <errno.h>
#include <stdlib.h>

#include "cma-private.h"

/*
 * Output goes through a buffer this big; every data chunk fits in it. A
 * multiple of 8, so data chunks cut between slots, never through one.
 */
#define SINK_SIZE (64 * 1024)
/* Slot offsets decoded per cursor call. */
#define SLOT_BATCH 1024

/*
 * A buffered sink: the checksum pass feeds the hash, the write pass the
 * caller's writer. Both passes produce the same bytes, except that the
 * checksum pass writes base 0 and checksum 0: the normalised image the
 * format hashes (a slot holds value - base, the header base 0).
 */
struct sink {
	uint8_t *buf;
	size_t fill;
	struct cm_hash *hash;
	cm_write_fn write;
	void *ctx;
};

static int sink_flush(struct sink *s)
{
	if (s->fill == 0)
		return 0;
	if (s->hash) {
		cm_hash_raw(s->hash, s->buf, s->fill);
	} else {
		errno = 0;
		if (s->write(s->ctx, s->buf, s->fill)) {
			/* A writer that forgot errno still stops us cleanly. */
			if (errno == 0)
				errno = EIO;
			return -1;
		}
	}
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

struct job {
	const uint8_t *blob;
	const struct cm_header *in;
	struct cm_header out;	/* the output header */
	uint64_t *slots;	/* SLOT_BATCH entries */
};

/* Bytes of the input's table re-encoded in relative mode. */
static int relative_size(const struct job *j, uint64_t *size,
			 struct cm_error *err)
{
	struct cm_table_cursor c;
	uint64_t prev = 0, total = 0;
	uint8_t tmp[10];
	ssize_t k;

	cm_table_start(&c, j->blob, j->in);
	while ((k = cm_table_next(&c, j->slots, SLOT_BATCH, UINT64_MAX,
				  err)) > 0) {
		for (ssize_t i = 0; i < k; i++) {
			total += cm_vlq_encode((j->slots[i] - prev) / 8, tmp);
			prev = j->slots[i];
		}
	}
	if (k < 0 || cm_table_finish(&c, err))
		return -1;
	*size = total;
	return 0;
}

static int emit_data(const struct job *j, uint64_t shift, struct sink *s,
		     struct cm_error *err)
{
	struct cm_table_cursor c;
	uint64_t off = j->in->header_size;

	cm_table_start(&c, j->blob, j->in);
	while (off < j->in->data_end) {
		uint64_t left = j->in->data_end - off;
		size_t n = left < SINK_SIZE ? left : SINK_SIZE;
		uint8_t *w;
		ssize_t k;

		if (sink_flush(s))
			return -1;
		w = sink_room(s, n);
		memcpy(w, j->blob + off, n);
		/* off is 8-aligned and so is off + n unless at the data end:
		 * a slot below the limit lies wholly in the chunk. */
		while ((k = cm_table_next(&c, j->slots, SLOT_BATCH, off + n,
					  err)) > 0) {
			for (ssize_t i = 0; i < k; i++) {
				uint8_t *p = w + (j->slots[i] - off);

				cm_store64(p, cm_load64(p) + shift);
			}
		}
		if (k < 0)
			return -1;
		off += n;
	}
	return 0;
}

static int emit_table(const struct job *j, struct sink *s,
		      struct cm_error *err)
{
	struct cm_table_cursor c;
	uint64_t prev = 0;
	ssize_t k;

	cm_table_start(&c, j->blob, j->in);
	while ((k = cm_table_next(&c, j->slots, SLOT_BATCH, UINT64_MAX,
				  err)) > 0) {
		for (ssize_t i = 0; i < k; i++) {
			uint64_t slot = j->slots[i];
			uint8_t *w = sink_room(s, 10);

			if (!w)
				return -1;
			if (j->out.mode == CM_ABSOLUTE_OFFSET) {
				cm_store64(w, slot);
				s->fill -= 2;
			} else {
				s->fill -= 10 - cm_vlq_encode((slot - prev) / 8,
							      w);
			}
			prev = slot;
		}
	}
	return k < 0 ? -1 : 0;
}

/* Everything after the header: data, padding, table, sections. */
static int emit_body(const struct job *j, uint64_t shift, struct sink *s,
		     struct cm_error *err)
{
	const struct cm_header *in = j->in, *h = &j->out;
	uint64_t table_end = h->table_offset + h->table_size;

	if (emit_data(j, shift, s, err)
	    || sink_zero(s, h->table_offset - h->data_end)
	    || emit_table(j, s, err))
		return -1;
	if (h->sections_size
	    && (sink_zero(s, h->sections_offset - table_end)
		|| sink_put(s, j->blob + in->sections_offset,
			    in->sections_size)))
		return -1;
	return sink_flush(s);
}

/*
 * The checksum of the output. The hash takes the header last (as
 * cm_checksum_compute does), normalised: base and checksum fields as 0,
 * slots as value - base, hence the body emitted for base 0.
 */
static int checksum(struct job *j, struct sink *s, struct cm_error *err)
{
	uint8_t header[CM_HEADER_SIZE];

	s->hash = cm_hash_new();
	if (!s->hash) {
		errno = ENOMEM;
		return -1;
	}
	if (emit_body(j, 0 - j->in->base, s, err))
		return -1;
	cm_header_encode(&j->out, header);
	cm_hash_header(s->hash, header, CM_HEADER_SIZE);
	cm_hash_raw(s->hash, j->blob + CM_HEADER_SIZE,
		    j->in->header_size - CM_HEADER_SIZE);
	j->out.checksum = cm_hash_digest(s->hash);
	cm_hash_free(s->hash);
	s->hash = NULL;
	return 0;
}

static int emit(const struct job *j, struct sink *s, struct cm_error *err)
{
	uint8_t *w = sink_room(s, CM_HEADER_SIZE);

	if (!w)
		return -1;
	cm_header_encode(&j->out, w);
	return sink_put(s, j->blob + CM_HEADER_SIZE,
			j->in->header_size - CM_HEADER_SIZE)
	       || emit_body(j, j->out.base - j->in->base, s, err) ? -1 : 0;
}

/*
 * Two passes over the input, constant memory: the first hashes the output
 * (the checksum sits in the header, which is written first), the second
 * writes it. Nothing is written when the input or the request is refused.
 * A writer that fails without setting errno gives EIO.
 */
CM_API int cm_convert(const void *blob, size_t len, int mode, uint64_t base,
		      int flags, cm_write_fn write, void *ctx,
		      struct cm_error *err)
{
	struct cm_header in;
	struct job j = { .blob = blob, .in = &in };
	struct sink s = { .write = write, .ctx = ctx };
	uint8_t *mem = NULL;
	int ret = -1, saved;

	if (!blob || !write
	    || (mode != 0 && mode != CM_RELATIVE_OFFSET
		&& mode != CM_ABSOLUTE_OFFSET)) {
		errno = EINVAL;
		return -1;
	}
	if (cm_check(blob, len, flags | CM_CHECK_EXACT, err)
	    || cm_header_read(blob, len, &in, err))
		return -1;

	j.out = in;
	j.out.mode = mode ? (uint32_t)mode : in.mode;
	if (base == UINT64_MAX)
		base = in.base;
	if (j.out.mode == CM_RELATIVE_OFFSET
	    && in.data_end >= CM_RELATIVE_LIMIT)
		return cm_fail(err, CM_E_CONVERT, CM_H_DATA_END, UINT64_MAX,
			       "data end 0x%llx is over the relative mode's "
			       "2 GiB bound",
			       (unsigned long long)in.data_end);

	mem = malloc(SINK_SIZE + SLOT_BATCH * sizeof(uint64_t));
	if (!mem)
		goto out;	/* errno ENOMEM */
	s.buf = mem;
	j.slots = (uint64_t *)(mem + SINK_SIZE);

	if (j.out.mode == in.mode)
		j.out.table_size = in.table_size;
	else if (j.out.mode == CM_ABSOLUTE_OFFSET)
		j.out.table_size = in.pointer_count * 8;
	else if (relative_size(&j, &j.out.table_size, err))
		goto out;
	if (in.sections_size)
		j.out.sections_offset =
			cm_align8(in.table_offset + j.out.table_size);
	j.out.blob_size = in.sections_size
			  ? j.out.sections_offset + in.sections_size
			  : in.table_offset + j.out.table_size;
	if (base % 8 || base + j.out.blob_size < base) {
		errno = EINVAL;
		goto out;
	}

	j.out.base = base;
	if (checksum(&j, &s, err) || emit(&j, &s, err))
		goto out;
	ret = 0;
out:
	saved = errno;
	cm_hash_free(s.hash);
	free(mem);
	errno = saved;
	return ret;
}
