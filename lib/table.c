/* SPDX-License-Identifier: MIT */
/* The relocation table read entry by entry: a checked cursor, its seek,
 * and the public iterator. The bitmap decoders are table-bits.c's. */
#include <errno.h>

#include "cpu.h"
#include "table.h"

void cm_table_start(struct cm_table_cursor *c, const uint8_t *blob,
		    const struct cm_header *h)
{
	c->blob = blob;
	c->h = h;
	c->pos = h->table_offset;
	c->end = h->table_offset + h->table_size;
	c->index = 0;
	c->prev = 0;
}

static int slot_outside(const struct cm_table_cursor *c, uint64_t at,
			uint64_t slot, struct cm_error *err)
{
	return cm_fail(err, CM_E_SLOT, at, c->index,
		       "relocation %llu: slot 0x%llx outside the data "
		       "[0x%x, 0x%llx)",
		       (unsigned long long)c->index, (unsigned long long)slot,
		       c->h->header_size,
		       (unsigned long long)c->h->data_end);
}

/* Decode the entry at c->pos without consuming it; its size in *used. */
static int peek(const struct cm_table_cursor *c, uint64_t *slot,
		unsigned *used, struct cm_error *err)
{
	const uint8_t *p = c->blob + c->pos;
	uint64_t s;

	if (c->h->mode == CM_ABSOLUTE_OFFSET) {
		s = cm_load64(p);
		*used = 8;
		if (s % 8)
			return cm_fail(err, CM_E_SLOT, c->pos, c->index,
				       "relocation %llu: slot 0x%llx is not "
				       "8-byte aligned",
				       (unsigned long long)c->index,
				       (unsigned long long)s);
		if (c->index > 0 && s <= c->prev)
			return cm_fail(err, CM_E_ORDER, c->pos, c->index,
				       "relocation %llu: slot 0x%llx does not "
				       "follow slot 0x%llx",
				       (unsigned long long)c->index,
				       (unsigned long long)s,
				       (unsigned long long)c->prev);
	} else {
		uint64_t units;
		int why;

		if (*p && *p < 0x80) {	/* the common one-byte delta */
			units = *p;
			*used = 1;
		} else {
			*used = cm_vlq_decode(p, c->blob + c->end,
					      CM_VLQ_REL_MAX_BYTES, &units,
					      &why);
			if (!*used)
				return cm_fail(err, CM_E_ENCODING, c->pos,
					       c->index,
					       "relocation %llu: %s VLQ",
					       (unsigned long long)c->index,
					       why == 0 ? "truncated"
					       : why == 1 ? "overlong"
							  : "oversized");
			if (units == 0)
				return cm_fail(err, CM_E_ORDER, c->pos,
					       c->index,
					       "relocation %llu: zero delta "
					       "repeats slot 0x%llx",
					       (unsigned long long)c->index,
					       (unsigned long long)c->prev);
		}
		s = c->prev + units * 8;
	}
	if (s < c->h->header_size || s > c->h->data_end - 8)	/* no wrap */
		return slot_outside(c, c->pos, s, err);
	*slot = s;
	return 0;
}

int cm_table_peek(const struct cm_table_cursor *c, uint64_t *slot,
		  unsigned *used, struct cm_error *err)
{
	if (c->pos >= c->end)
		return cm_fail(err, CM_E_COUNT, c->pos, c->index,
			       "table ends after %llu of %llu relocations",
			       (unsigned long long)c->index,
			       (unsigned long long)c->h->pointer_count);
	return peek(c, slot, used, err);
}


/*
 * The common case, unrolled from peek(): entries after the first whose slot
 * lies below `bound` (inside this chunk and the data), one-byte deltas or
 * ascending aligned offsets. Stops at the first entry it cannot take.
 */
static size_t fast_run(struct cm_table_cursor *c, uint64_t *slots,
		       size_t max, uint64_t bound)
{
	const uint8_t *p = c->blob;
	uint64_t pos = c->pos, prev = c->prev, index = c->index;
	uint64_t last = c->h->pointer_count - index < max
			? c->h->pointer_count : index + max;
	size_t n = 0;

	if (c->h->mode == CM_RELATIVE_OFFSET) {
		/* Eight one-byte deltas at a time, without a branch each. */
		while (index + 8 <= last && pos + 8 <= c->end) {
			uint64_t x = cm_load64(p + pos), s;

			if (!cm_eight_short_deltas(x))
				break;
			s = cm_eight_slots(x, prev, slots + n);
			if (s >= bound)
				break;	/* the last is past: redo one by one */
			n += 8;
			prev = s;
			pos += 8;
			index += 8;
		}
		while (index < last && pos < c->end) {
			uint8_t b = p[pos];
			uint64_t s = prev + (uint64_t)b * 8;

			if ((uint8_t)(b - 1) >= 0x7f || s >= bound)
				break;
			slots[n++] = prev = s;
			pos++;
			index++;
		}
	} else {
		while (index < last) {
			uint64_t s = cm_load64(p + pos);

			if (s % 8 || s <= prev || s >= bound)
				break;
			slots[n++] = prev = s;
			pos += 8;
			index++;
		}
	}
	c->pos = pos;
	c->prev = prev;
	c->index = index;
	return n;
}

ssize_t cm_table_next(struct cm_table_cursor *c, uint64_t *slots, size_t max,
		      uint64_t limit, struct cm_error *err)
{
	uint64_t bound = c->h->data_end - 7 < limit ? c->h->data_end - 7
						    : limit;
	size_t n = 0;

	while (n < max && c->index < c->h->pointer_count) {
		uint64_t s = 0;
		unsigned used = 0;

		if (c->index > 0) {
			n += fast_run(c, slots + n, max - n, bound);
			if (n == max || c->index == c->h->pointer_count)
				break;
		}
		/* A defect after some entries: those first; the defect is
		 * met again, and returned, by the next call. */
		if (cm_table_peek(c, &s, &used, err))
			return n ? (ssize_t)n : -1;
		if (s >= limit)
			break;
		slots[n++] = s;
		c->prev = s;
		c->pos += used;
		c->index++;
	}
	return (ssize_t)n;
}

int cm_table_seek(struct cm_table_cursor *c, uint64_t target)
{
	cm_skip_fn *const skip_deltas = cm_kernels()->skip_deltas;
	const uint8_t *t = c->blob;
	const uint64_t count = c->h->pointer_count;
	uint64_t pos = c->pos, prev = c->prev, index = c->index;

	while (index < count) {
		uint64_t units;
		unsigned used = 1;
		int why;

		/* 64 one-byte deltas at a time, summed, while below target. */
		if (index + 64 <= count && pos + 64 <= c->end) {
			uint64_t most = (count - index) / 64;
			uint64_t n;

			if ((c->end - pos) / 64 < most)
				most = (c->end - pos) / 64;
			n = skip_deltas(t + pos, most, &prev, target);

			if (n) {
				pos += 64 * n;
				index += 64 * n;
				continue;
			}
		}
		if (pos >= c->end)
			return -1;
		units = t[pos];
		if (units >= 0x80) {
			used = cm_vlq_decode(t + pos, t + c->end,
					     CM_VLQ_REL_MAX_BYTES, &units,
					     &why);
			if (!used)
				return -1;
		}
		if (prev + units * 8 >= target)
			break;
		prev += units * 8;
		pos += used;
		index++;
	}
	c->pos = pos;
	c->prev = prev;
	c->index = index;
	return 0;
}

int cm_table_finish(const struct cm_table_cursor *c, struct cm_error *err)
{
	if (c->index != c->h->pointer_count || c->pos != c->end)
		return cm_fail(err, CM_E_COUNT, c->pos, c->index,
			       "%llu relocations use %llu of the %llu table "
			       "bytes",
			       (unsigned long long)c->index,
			       (unsigned long long)(c->pos - c->h->table_offset),
			       (unsigned long long)c->h->table_size);
	return 0;
}

CM_API int cm_reloc_begin(struct cm_reloc_iter *it, const void *blob,
			  size_t len, struct cm_error *err)
{
	if (!it || !blob) {
		errno = EINVAL;
		return -1;
	}
	if (cm_header_read(blob, len, &it->h, err))
		return -1;
	it->blob = blob;
	it->len = len;
	it->pos = it->h.table_offset;
	it->index = 0;
	it->prev = 0;
	it->limit = it->h.table_offset + it->h.table_size;
	return 0;
}

CM_API int cm_reloc_next(struct cm_reloc_iter *it, struct cm_reloc *r,
			 struct cm_error *err)
{
	struct cm_table_cursor c = {
		.blob = it->blob, .h = &it->h, .pos = it->pos,
		.end = it->limit, .index = it->index, .prev = it->prev,
	};
	const struct cm_header *h = &it->h;
	uint64_t slot, at = it->pos;
	ssize_t n;

	if (!r) {
		errno = EINVAL;
		return -1;
	}
	memset(r, 0, sizeof *r);
	r->index = it->index;
	r->encoded_at = at;
	n = cm_table_next(&c, &slot, 1, UINT64_MAX, err);
	if (n < 0)
		return -1;
	if (n == 0)
		return cm_table_finish(&c, err) ? -1 : 0;
	r->slot = slot;
	r->delta = slot - it->prev;
	r->encoded_len = (uint32_t)(c.pos - at);
	memcpy(r->encoded, it->blob + at, r->encoded_len);
	r->value = cm_load64(it->blob + slot);
	r->target = r->value - h->base;
	it->pos = c.pos;
	it->index = c.index;
	it->prev = c.prev;
	/* A bad value leaves the table decodable: the caller may go on. */
	if (!cm_value_ok(h, r->value))
		return cm_fail_pointer(err, slot, r->index, r->value);
	return 1;
}
