/* SPDX-License-Identifier: MIT */
/* Pre-1.0 cma blobs laid out from doc/legacy-format.md, and corrupted. */
#include <stdio.h>
#include <string.h>

#include "blob-edit.h"
#include "legacy-edit.h"

size_t legacy_delta(int64_t d, uint8_t *rd)
{
	uint64_t m = d < 0 ? -(uint64_t)d : (uint64_t)d;
	uint8_t digits[11];
	size_t n = 0;

	do {
		digits[n++] = m & 0x3f;
		m >>= 6;
	} while (m);
	for (size_t i = 0; i < n; i++) {
		uint8_t byte = digits[n - 1 - i];

		if (i < n - 1)
			byte |= 0x80;
		else if (d < 0)
			byte |= 0x40;
		rd[i] = byte;
	}
	return n;
}

size_t legacy_table(const uint64_t *reg, size_t n, uint8_t *rd)
{
	size_t len = 0;
	int64_t prev = 0;

	for (size_t i = 0; i < n; i++) {
		len += legacy_delta((int64_t)reg[i] - prev, rd + len);
		prev = (int64_t)reg[i];
	}
	rd[len++] = 0x00;
	return len;
}

size_t legacy_lay_relative(uint8_t *out, const uint8_t *image, size_t dend,
			   const uint8_t *rd, size_t nrd, uint64_t b)
{
	memmove(out, image, dend);
	for (size_t i = 0; i < nrd; i++)
		out[dend + nrd - 1 - i] = rd[i];
	st64(out + dend + nrd, 0);
	st64(out + dend + nrd + 8, b);
	return dend + nrd + 16;
}

size_t legacy_relative(uint8_t *out, const uint8_t *image, size_t dend,
		       const uint64_t *reg, size_t n, uint64_t b)
{
	/* A delta takes at most 11 bytes here (64 bits, 6 a byte). */
	uint8_t rd[11 * LEGACY_LIST_MAX_SLOTS + 1];

	if (n > LEGACY_LIST_MAX_SLOTS)
		return 0;
	return legacy_lay_relative(out, image, dend, rd,
				   legacy_table(reg, n, rd), b);
}

size_t legacy_absolute_pad(uint8_t *out, const uint8_t *image, size_t dend,
			   size_t pad, const uint64_t *tab, size_t n,
			   uint64_t b)
{
	size_t t = dend + pad;

	memmove(out, image, dend);
	memset(out + dend, 0, pad);
	for (size_t i = 0; i < n; i++)
		st64(out + t + 8 * i, tab[i]);
	st64(out + t + 8 * n, n);
	st64(out + t + 8 * n + 8, b);
	return t + 8 * n + 16;
}

size_t legacy_absolute(uint8_t *out, const uint8_t *image, size_t dend,
		       const uint64_t *tab, size_t n, uint64_t b)
{
	return legacy_absolute_pad(out, image, dend, al8(dend) - dend, tab, n,
				   b);
}

/* ---- the list ---- */

#define NODE_SIZE sizeof(struct legacy_node)
/* "node-" and up to 10 digits and the NUL, rounded up by CM_ALIGNED. */
#define NAME_MAX_SIZE 16

size_t legacy_list_size(unsigned nodes)
{
	/* Root word, nodes and names, and per node at most two 8-byte
	 * absolute entries, then the 7 bytes of padding, n and B. */
	return 8 + (NODE_SIZE + NAME_MAX_SIZE + 16) * (size_t)nodes + 7 + 16;
}

size_t legacy_list(uint8_t *out, bool absolute, unsigned nodes, uint64_t b,
		   struct legacy_layout *lay)
{
	uint64_t reg[LEGACY_LIST_MAX_SLOTS], at = 8, prev = 0;
	size_t nreg = 0, len;

	if (nodes == 0 || nodes > LEGACY_LIST_MAX_NODES)
		return 0;
	memset(out, 0, legacy_list_size(nodes));
	for (unsigned i = 0; i < nodes; i++) {
		uint64_t node = al8(at), name = node + NODE_SIZE;
		int n = snprintf((char *)out + name, NAME_MAX_SIZE, "node-%u",
				 i);

		lay->node[i] = node;
		st64(out + node, 1000 + i);
		/* The name is allocated into node->name (a slot), then the
		 * node linked to the one before it (the root word for the
		 * first): the link's slot lies below the name's. */
		st64(out + node + 8, b + name);
		reg[nreg++] = node + 8;
		if (i == 0) {
			st64(out, b + node);
		} else {
			st64(out + prev + 16, b + node);
			reg[nreg++] = prev + 16;
		}
		prev = node;
		at = name + (uint64_t)n + 1;
	}
	/* The last link: cm_ptr_to(&last->next, NULL), a NULL slot. */
	reg[nreg++] = prev + 16;

	lay->nodes = nodes;
	lay->absolute = absolute;
	lay->b = b;
	lay->dend = at;
	/* The absolute table is these, sorted: an insertion sort. */
	memcpy(lay->slot, reg, nreg * sizeof *reg);
	lay->slots = nreg;
	for (size_t i = 1; i < nreg; i++)
		for (size_t j = i; j > 0 && lay->slot[j - 1] > lay->slot[j];
		     j--) {
			uint64_t t = lay->slot[j];

			lay->slot[j] = lay->slot[j - 1];
			lay->slot[j - 1] = t;
		}
	if (absolute) {
		len = legacy_absolute(out, out, at, lay->slot, nreg, b);
		lay->table = al8(at);
		lay->table_len = 8 * nreg;
	} else {
		len = legacy_relative(out, out, at, reg, nreg, b);
		lay->table = at;
		lay->table_len = len - 16 - at;
	}
	lay->n_at = len - 16;
	lay->len = len;
	return len;
}

/* ---- corruptions ---- */

const char *legacy_class_name(enum legacy_class c)
{
	static const char *const names[LEGACY_CLASSES] = {
		"table byte set to 0x00", "table zeroed", "count zeroed",
		"count decreased", "cut short", "byte flipped",
	};

	return c < LEGACY_CLASSES ? names[c] : "?";
}

/* splitmix64: a flip's offset and value from its number alone. */
static uint64_t mix(uint64_t x)
{
	x += 0x9e3779b97f4a7c15ULL;
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
	return x ^ (x >> 31);
}

size_t legacy_corrupt(const uint8_t *valid, const struct legacy_layout *lay,
		      size_t i, uint8_t *out, enum legacy_class *cls)
{
	uint64_t n = ld64(valid + lay->n_at);
	size_t nonzero = 0, k;

	memcpy(out, valid, lay->len);
	for (k = 0; k < lay->table_len; k++) {
		if (!valid[lay->table + k])
			continue;
		if (nonzero++ == i) {
			*cls = LEGACY_TABLE_BYTE;
			out[lay->table + k] = 0;
			return lay->len;
		}
	}
	i -= nonzero;
	if (i-- == 0) {
		*cls = LEGACY_TABLE_ZEROED;
		memset(out + lay->table, 0, lay->table_len);
		return lay->len;
	}
	if (lay->absolute) {
		if (i-- == 0) {
			*cls = LEGACY_COUNT_ZEROED;
			st64(out + lay->n_at, 0);
			return lay->len;
		}
		if (i < n - 1) {
			*cls = LEGACY_COUNT_DECREASED;
			st64(out + lay->n_at, n - 1 - i);
			return lay->len;
		}
		i -= n - 1;
	}
	if (i < LEGACY_CUTS) {
		*cls = LEGACY_CUT;
		return lay->len - 1 - i;
	}
	i -= LEGACY_CUTS;
	{
		uint64_t r = mix(i ^ (lay->absolute ? 0xabULL << 56 : 0));

		*cls = LEGACY_FLIP;
		out[r % lay->len] ^= (uint8_t)(1 + (r >> 32) % 255);
		return lay->len;
	}
}
