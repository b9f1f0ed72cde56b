/* SPDX-License-Identifier: MIT */
/* Relocation table decoding: a checked cursor, and the public iterator. */
#include <errno.h>
#include <immintrin.h>

#include "cma-private.h"

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

/* Eight one-byte deltas: no byte zero or with bit 7 set. */
static inline bool eight_short_deltas(uint64_t x)
{
	return !(x & 0x8080808080808080ULL)
	       && !((x - 0x0101010101010101ULL) & ~x & 0x8080808080808080ULL);
}

/* The slots of eight one-byte deltas after `prev`, into s8; the last. */
static inline uint64_t eight_slots(uint64_t x, uint64_t prev, uint64_t *s8)
{
#pragma GCC unroll 8
	for (int i = 0; i < 8; i++)
		s8[i] = prev += (x >> (8 * i) & 0xff) * 8;
	return prev;
}

/* peek() where an entry must be, or a count defect past the table. */
static int peek_entry(const struct cm_table_cursor *c, uint64_t *slot,
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

			if (!eight_short_deltas(x))
				break;
			s = eight_slots(x, prev, slots + n);
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
		if (peek_entry(c, &s, &used, err))
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

/*
 * A chunk's slot bits, the two words at `at` held in registers while the
 * slots stay there: a store per slot would wait on the one before.
 */
struct bit_sink {
	uint64_t *words;
	uint64_t at, lo, hi;
};

/* Set the bits of `mask` shifted to start at bit `word` (mask < 2^64). */
static inline void sink_put(struct bit_sink *k, uint64_t word, uint64_t mask)
{
	uint64_t w = word / 64, sh = word % 64;

	if (w != k->at) {
		k->words[k->at] |= k->lo;
		if (w == k->at + 1) {
			k->lo = k->hi;
		} else {
			k->words[k->at + 1] |= k->hi;
			k->lo = 0;
		}
		k->hi = 0;
		k->at = w;
	}
	k->lo |= mask << sh;
	k->hi |= (mask >> 1) >> (63 - sh);	/* no shift by 64 */
}

static inline void sink_flush(struct bit_sink *k)
{
	k->words[k->at] |= k->lo;
	k->words[k->at + 1] |= k->hi;
}

/*
 * Eight copies of an eight-slot `mask` spanning `words` (its top bit),
 * one after the other from the word `at`. When `words` divides 64 the
 * copies tile whole bitmap words: two puts for a list of 16-byte nodes
 * instead of eight. (The pattern starts one word on: bit 0 of a mask is
 * never set, its top bit always is.)
 */
static inline void put_eight_times(struct bit_sink *k, uint64_t at,
				   uint64_t mask, uint64_t words)
{
	if (words == 8 || words == 16 || words == 32) {
		uint64_t tile = (mask >> 1) * (~0ULL / ((1ULL << words) - 1));

		for (uint64_t i = 0; i < words / 8; i++)
			sink_put(k, at + 1 + 64 * i, tile);
		return;
	}
#pragma GCC unroll 8
	for (uint64_t i = 0; i < 8; i++)
		sink_put(k, at + i * words, mask);
}

/* Bit k set for k = d, 2d, ... 8d: eight equal deltas of d words. */
static const uint64_t equal_deltas[8] = {
	0, 0x1fe, 0x15554, 0x1249248, 0x111111110, 0x10842108420,
	0x1041041041040, 0x102040810204080,
};

/* Are the 64 bytes at p the 8 bytes x eight times over? */
static inline bool eight_times(const uint8_t *p, uint64_t x)
{
	__m128i want = _mm_set1_epi64x((long long)x), same = _mm_set1_epi8(-1);

	for (int i = 0; i < 4; i++)
		same = _mm_and_si128(same, _mm_cmpeq_epi8(want,
			_mm_loadu_si128((const __m128i *)(p + 16 * i))));
	return _mm_movemask_epi8(same) == 0xffff;
}

/*
 * The bits of eight one-byte deltas after a slot (bit 0), when they span
 * less than 64 words: from a table (equal deltas) or from their prefix sums
 * (each delta 1-31, so no byte of the sums carries). @return the mask, its
 * highest bit in *words; 0 when they do not fit or a delta is not 1-31.
 */
static inline uint64_t eight_bits(uint64_t x, uint64_t *words)
{
	uint64_t mask = 0, sums;

	if (x == (x & 0xff) * 0x0101010101010101ULL && (x & 0xff) < 8) {
		*words = (x & 0xff) * 8;
		return equal_deltas[x & 0xff];
	}
	if ((x & 0xe0e0e0e0e0e0e0e0ULL) || !eight_short_deltas(x))
		return 0;
	sums = x * 0x0101010101010101ULL;
	*words = sums >> 56;
	if (*words > 63)
		return 0;
#pragma GCC unroll 8
	for (int i = 0; i < 8; i++)
		mask |= 1ULL << ((sums >> (8 * i)) & 63);
	return mask;
}

/*
 * Absolute entries eight at a time with AVX-512: aligned, ascending, from
 * `off` on and below `bound`, or it stops. Sixteen slots within 64 words
 * of the first (dense data) go as one mask, OR-ed across two vectors;
 * others eight or one at a time. @return the entries taken.
 */
__attribute__((target("avx512f")))
static uint64_t absolute_eights_avx512(const uint8_t *t, uint64_t pos,
				       uint64_t prev, uint64_t todo,
				       uint64_t off, uint64_t bound,
				       struct bit_sink *sink)
{
	const __m512i seven = _mm512_set1_epi64(7), one = _mm512_set1_epi64(1);
	const __m512i top = _mm512_set1_epi64((long long)bound);
	const __m512i from = _mm512_set1_epi64((long long)off);
	const __m512i words = _mm512_set1_epi64(64);
	__m512i before = _mm512_set1_epi64((long long)prev);
	struct bit_sink k = *sink;	/* in registers, not via a pointer */
	uint64_t done = 0;

	while (done + 8 <= todo) {
		bool two = done + 16 <= todo;
		__m512i v = _mm512_loadu_si512(t + pos);
		__m512i u = two ? _mm512_loadu_si512(t + pos + 64) : v;
		__m512i first = _mm512_broadcastq_epi64(
			_mm512_castsi512_si128(v));
		__m512i wv = _mm512_srli_epi64(_mm512_sub_epi64(v, first), 3);
		__m512i wu = _mm512_srli_epi64(_mm512_sub_epi64(u, first), 3);
		uint64_t at = (uint64_t)_mm_cvtsi128_si64(
			_mm512_castsi512_si128(v));

		if (_mm512_test_epi64_mask(v, seven)
		    | _mm512_cmple_epu64_mask(v, _mm512_alignr_epi64(
						     v, before, 7))
		    | _mm512_cmpge_epu64_mask(v, top) || at < off)
			break;
		if (two && !(_mm512_test_epi64_mask(u, seven)
			     | _mm512_cmple_epu64_mask(u, _mm512_alignr_epi64(
							       u, v, 7))
			     | _mm512_cmpge_epu64_mask(u, top)
			     | _mm512_cmpge_epu64_mask(wu, words))) {
			sink_put(&k, (at - off) / 8,
				 (uint64_t)_mm512_reduce_or_epi64(
					 _mm512_or_si512(
						 _mm512_sllv_epi64(one, wv),
						 _mm512_sllv_epi64(one, wu))));
			before = u;
			done += 16;
			pos += 128;
			continue;
		}
		if (!_mm512_cmpge_epu64_mask(wv, words)) {
			sink_put(&k, (at - off) / 8,
				 (uint64_t)_mm512_reduce_or_epi64(
					 _mm512_sllv_epi64(one, wv)));
		} else {	/* sparse: a slot at a time */
			_Alignas(64) uint64_t slot[8];

			_mm512_store_si512(slot, _mm512_srli_epi64(
				_mm512_sub_epi64(v, from), 3));
			for (int i = 0; i < 8; i++)
				sink_put(&k, slot[i], 1);
		}
		before = v;
		done += 8;
		pos += 64;
	}
	*sink = k;
	return done;
}

ssize_t cm_table_bits(struct cm_table_cursor *c, uint64_t *bits, uint64_t off,
		      uint64_t limit, struct cm_error *err)
{
	const uint8_t *t = c->blob;
	const uint64_t count = c->h->pointer_count, first = c->index;
	const uint64_t end = c->end;
	const uint64_t bound = c->h->data_end - 7 < limit ? c->h->data_end - 7
							  : limit;
	const bool relative = c->h->mode == CM_RELATIVE_OFFSET;
	const bool avx512 = !relative && cm_kernel_in_use() == CM_KERNEL_AVX512;
	struct bit_sink k = { .words = bits };

	while (c->index < count) {
		/* Locals, not the cursor: the bit stores cannot alias them. */
		uint64_t pos = c->pos, prev = c->prev, index = c->index, s;
		unsigned used;

		while (relative && index > 0 && index + 8 <= count
		       && pos + 8 <= end) {
			uint64_t x = cm_load64(t + pos), s8[8], mask, words;

			if (prev >= off && (mask = eight_bits(x, &words))
			    && prev + words * 8 < bound) {
				/* The same eight deltas eight times over
				 * (records of one layout allocated in order):
				 * 64 entries. */
				if (index + 64 <= count && pos + 64 <= end
				    && prev + words * 64 < bound
				    && eight_times(t + pos, x)) {
					do {
						put_eight_times(&k,
							(prev - off) / 8,
							mask, words);
						pos += 64;
						index += 64;
						prev += words * 64;
					} while (index + 64 <= count
						 && pos + 64 <= end
						 && prev + words * 64 < bound
						 && eight_times(t + pos, x));
					continue;
				}
				sink_put(&k, (prev - off) / 8, mask);
				s = prev + words * 8;
			} else {
				if (!eight_short_deltas(x))
					break;
				s = eight_slots(x, prev, s8);
				if (s >= bound)
					break;
#pragma GCC unroll 8
				for (int i = 0; i < 8; i++)
					sink_put(&k, (s8[i] - off) / 8, 1);
			}
			pos += 8;
			index += 8;
			prev = s;
		}
		if (!relative && index > 0 && avx512) {
			uint64_t n = absolute_eights_avx512(t, pos, prev,
							    count - index,
							    off, bound, &k);

			if (n) {
				pos += 8 * n;
				index += n;
				prev = cm_load64(t + pos - 8);
			}
		}
		while (!relative && index > 0 && index + 8 <= count) {
			uint64_t s8[8], odd = 0, order = 0, mask = 0;

#pragma GCC unroll 8
			for (int i = 0; i < 8; i++) {
				s8[i] = cm_load64(t + pos + 8 * i);
				odd |= s8[i];
				order |= s8[i] <= (i ? s8[i - 1] : prev);
			}
			/* Aligned, ascending, below the bound and at most 63
			 * words after the first: one mask. */
			if ((odd & 7) || order || s8[7] >= bound
			    || s8[0] < off || s8[7] - s8[0] > 63 * 8)
				break;
#pragma GCC unroll 8
			for (int i = 0; i < 8; i++)
				mask |= 1ULL << ((s8[i] - s8[0]) / 8);
			sink_put(&k, (s8[0] - off) / 8, mask);
			pos += 64;
			index += 8;
			prev = s8[7];
		}
		while (!relative && index > 0 && index < count) {
			s = cm_load64(t + pos);
			if (s % 8 || s <= prev || s >= bound)
				break;
			sink_put(&k, (s - off) / 8, 1);
			pos += 8;
			index++;
			prev = s;
		}
		c->pos = pos;
		c->prev = prev;
		c->index = index;
		if (index == count)
			break;
		/* One entry the careful way. */
		if (peek_entry(c, &s, &used, err)) {
			sink_flush(&k);
			return -1;
		}
		if (s >= limit)
			break;
		sink_put(&k, (s - off) / 8, 1);
		c->prev = s;
		c->pos += used;
		c->index++;
	}
	sink_flush(&k);
	return (ssize_t)(c->index - first);
}

int cm_table_seek(struct cm_table_cursor *c, uint64_t target)
{
	const uint8_t *t = c->blob;
	const uint64_t count = c->h->pointer_count;
	uint64_t pos = c->pos, prev = c->prev, index = c->index;

	while (index < count) {
		uint64_t units;
		unsigned used = 1;
		int why;

		/* 64 one-byte deltas at a time, summed, while below target. */
		if (index + 64 <= count && pos + 64 <= c->end) {
			__m128i sum = _mm_setzero_si128(), high = sum;

			for (int i = 0; i < 4; i++) {
				__m128i x = _mm_loadu_si128(
					(const __m128i *)(t + pos + 16 * i));

				high = _mm_or_si128(high, x);
				sum = _mm_add_epi64(sum, _mm_sad_epu8(
						x, _mm_setzero_si128()));
			}
			units = (uint64_t)_mm_cvtsi128_si64(sum)
				+ (uint64_t)_mm_cvtsi128_si64(
					_mm_unpackhi_epi64(sum, sum));
			if (!_mm_movemask_epi8(high)
			    && prev + units * 8 < target) {
				prev += units * 8;
				pos += 64;
				index += 64;
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
