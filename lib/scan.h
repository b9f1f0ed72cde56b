/* SPDX-License-Identifier: MIT */
/* The pointer scan: words that hold an address inside the data but are
 * no slot (scan.c). */
#ifndef CMA_SCAN_H
#define CMA_SCAN_H

#include "format.h"

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

/* The scan takes the data in groups of this many words. */
#define CM_SCAN_GROUP_WORDS 64

/* Bit i set: word i of the n (at most 64) at p lies in the data. */
static inline uint64_t cm_scan_in_range(const uint8_t *p, size_t n,
					uint64_t lo, uint64_t span)
{
	uint64_t m = 0;

	for (size_t i = 0; i < n; i++)
		m |= (uint64_t)(cm_load64(p + 8 * i) - lo <= span) << i;
	return m;
}

#endif /* CMA_SCAN_H */
