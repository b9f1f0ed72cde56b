/* SPDX-License-Identifier: MIT */
/* The seal's portable kernels (cpu.h): table entries written one at a
 * time, every CPU level's fallback; x86/seal-vbmi2.c holds the others. */
#include "cpu.h"
#include "format.h"

/* The portable cm_emit_fn of each mode (cpu.h): an entry at a time. */
static inline __attribute__((always_inline)) void
emit_each(uint8_t *base, uint64_t *pos, uint64_t *prev, uint64_t first,
	  uint64_t bits, uint32_t mode)
{
	uint64_t p = *pos, last = *prev;

	for (; bits; bits &= bits - 1) {
		uint64_t slot = first + (uint64_t)__builtin_ctzll(bits) * 8;

		p += cm_table_encode(mode, slot, last, base + p);
		last = slot;
	}
	*pos = p;
	*prev = last;
}

void cm_emit_relative_scalar(uint8_t *base, uint64_t *pos, uint64_t *prev,
			     uint64_t first, uint64_t bits)
{
	emit_each(base, pos, prev, first, bits, CM_RELATIVE_OFFSET);
}

void cm_emit_absolute_scalar(uint8_t *base, uint64_t *pos, uint64_t *prev,
			     uint64_t first, uint64_t bits)
{
	emit_each(base, pos, prev, first, bits, CM_ABSOLUTE_OFFSET);
}
