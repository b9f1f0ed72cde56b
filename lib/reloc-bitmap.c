/* SPDX-License-Identifier: MIT */
/* A blob's recorded slots as a bitmap: the table decoded in one pass. */
#include <errno.h>
#include <stdlib.h>

#include "cma-private.h"

CM_API ssize_t cm_reloc_bitmap(const void *blob, size_t len, uint64_t *bits,
			       size_t words, struct cm_error *err)
{
	struct cm_header h;
	struct cm_table_cursor c;
	uint64_t need, *out;
	ssize_t n;

	if (!blob || !bits) {
		errno = EINVAL;
		return -1;
	}
	if (cm_header_read(blob, len, &h, err))
		return -1;
	need = h.data_end / 512 + 1;
	if (words < need) {
		errno = EINVAL;
		return -1;
	}
	/* The decoder's bit sink stores one word past the last slot's: a
	 * caller's exact-size bitmap is filled through a copy. */
	out = words > need ? bits : malloc((need + 1) * 8);
	if (!out) {
		errno = ENOMEM;
		return -1;
	}
	memset(out, 0, (need + 1) * 8);	/* the caller's or ours: zeroed once */
	/* The same decoder as the checks: every entry's bounds checked. */
	cm_table_start(&c, blob, &h);
	n = cm_table_bits(&c, out, 0, h.data_end, err);
	if (n < 0 || cm_table_finish(&c, err)) {
		errno = EBADMSG;
		n = -1;
	}
	if (out != bits) {
		memcpy(bits, out, need * 8);
		free(out);
	}
	return n;
}
