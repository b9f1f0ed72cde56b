/* SPDX-License-Identifier: MIT */
/* A blob's recorded slots as a bitmap: the table decoded in one pass. */
#include <errno.h>

#include "cma-private.h"

CM_API ssize_t cm_reloc_bitmap(const void *blob, size_t len, uint64_t *bits,
			       size_t words, struct cm_error *err)
{
	struct cm_header h;
	struct cm_table_cursor c;
	ssize_t n;

	if (!blob || !bits) {
		errno = EINVAL;
		return -1;
	}
	if (cm_header_read(blob, len, &h, err))
		return -1;
	if (words < h.data_end / 512 + 1) {
		errno = EINVAL;
		return -1;
	}
	memset(bits, 0, (h.data_end / 512 + 1) * 8);
	/* The same decoder as the checks: every entry's bounds checked. */
	cm_table_start(&c, blob, &h);
	n = cm_table_bits(&c, bits, 0, h.data_end, err);
	if (n < 0 || cm_table_finish(&c, err)) {
		errno = EBADMSG;
		return -1;
	}
	return n;
}
