/* SPDX-License-Identifier: MIT */
/*
 * Pre-1.0 cma blobs for the tests, laid out byte by byte from
 * doc/legacy-format.md (the library's importer does not grade its own
 * input), and the structure-aware corruptions the import must survive.
 * Shared by the unit tests and the fuzz corpus maker; no test framework.
 */
#ifndef LEGACY_EDIT_H
#define LEGACY_EDIT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The 1.0 header (128 bytes) less the legacy root word. */
#define LEGACY_SHIFT 120

/* ---- the layout ---- */

/*
 * One relative delta in reading order (from the highest address down):
 * base-64 digits, most significant first, bit 7 on all but the last, the
 * sign in the last one's bit 6. @return its length (1 to 6 for a delta
 * the original could write).
 */
size_t legacy_delta(int64_t d, uint8_t *rd);

/* Slots in registration order to deltas in reading order, the 0x00
 * terminator included. @return the table's length. */
size_t legacy_table(const uint64_t *reg, size_t n, uint8_t *rd);

/*
 * Relative mode: the image [0, dend) (root word and data), then the table
 * given in reading order (the first byte lands at len - 17), then n = 0
 * and B. @return the blob's length, dend + nrd + 16.
 */
size_t legacy_lay_relative(uint8_t *out, const uint8_t *image, size_t dend,
			   const uint8_t *rd, size_t nrd, uint64_t b);
/* The same from slots in registration order. */
size_t legacy_relative(uint8_t *out, const uint8_t *image, size_t dend,
		       const uint64_t *reg, size_t n, uint64_t b);

/*
 * Absolute mode: the image, `pad` zero bytes, the n slot offsets as
 * 64-bit words, n, B. legacy_absolute pads to the next multiple of 8, as
 * the original does. @return the blob's length.
 */
size_t legacy_absolute_pad(uint8_t *out, const uint8_t *image, size_t dend,
			   size_t pad, const uint64_t *tab, size_t n,
			   uint64_t b);
size_t legacy_absolute(uint8_t *out, const uint8_t *image, size_t dend,
		       const uint64_t *tab, size_t n, uint64_t b);

/* ---- a list, as the original writes it ---- */

/*
 * The node of the sample list, the original README's own example
 * structure: 24 bytes, 8-byte aligned.
 */
struct legacy_node {
	uint64_t x;
	char *name;
	struct legacy_node *next;
};

#define LEGACY_LIST_MAX_NODES 128
#define LEGACY_LIST_MAX_SLOTS (2 * LEGACY_LIST_MAX_NODES)

/* Where the parts of a legacy blob lie. */
struct legacy_layout {
	bool absolute;
	uint64_t b;		/* the producer's address of offset 0 */
	size_t len;
	size_t dend;		/* the data is [8, dend) */
	size_t table, table_len;	/* the table's bytes, terminator
					 * included (relative) */
	size_t n_at;		/* the pointer count n */
	/* The words the producer wrote as pointers, ascending (the root
	 * word aside). */
	uint64_t slot[LEGACY_LIST_MAX_SLOTS];
	size_t slots;
	/* legacy_list: where each node starts; its name follows it. */
	uint64_t node[LEGACY_LIST_MAX_NODES];
	size_t nodes;
};

/* The most bytes legacy_list() writes for `nodes` nodes. */
size_t legacy_list_size(unsigned nodes);

/*
 * A list of `nodes` nodes, each with a name string of its own, allocated
 * with CM_ALIGNED as the original does: the root word points to node 0,
 * node i's next to node i + 1, the last next is a NULL slot. Relative:
 * the slots in the order the producer registered them (a name before the
 * link to its node: some deltas are negative). Fills *lay.
 * @return the blob's length; 0 for 0 or over LEGACY_LIST_MAX_NODES nodes.
 */
size_t legacy_list(uint8_t *out, bool absolute, unsigned nodes, uint64_t b,
		   struct legacy_layout *lay);

/* ---- corruptions ---- */

/*
 * The corruption sweep of one valid blob, numbered in a fixed order: every
 * table byte that is not 0x00 set to 0x00; the whole table zeroed;
 * absolute only, the count zeroed and decreased to each smaller value; the
 * blob cut short by 1 to LEGACY_CUTS bytes; then, from there on, random
 * byte flips, each made from its number alone.
 */
#define LEGACY_CUTS 40

/* The sweep the tests run and the corpus maker writes: two lists of this
 * many nodes, one a mode, corrupted this many ways each. */
#define LEGACY_SWEEP_NODES 40
#define LEGACY_SWEEP_EACH 1100

enum legacy_class {
	LEGACY_TABLE_BYTE, LEGACY_TABLE_ZEROED, LEGACY_COUNT_ZEROED,
	LEGACY_COUNT_DECREASED, LEGACY_CUT, LEGACY_FLIP, LEGACY_CLASSES,
};

/* The class's name, for reports. */
const char *legacy_class_name(enum legacy_class c);

/*
 * Write corruption number i of the blob `valid` laid out as *lay into out
 * (lay->len bytes at least) and set *cls. @return its length.
 */
size_t legacy_corrupt(const uint8_t *valid, const struct legacy_layout *lay,
		      size_t i, uint8_t *out, enum legacy_class *cls);

#endif /* LEGACY_EDIT_H */
