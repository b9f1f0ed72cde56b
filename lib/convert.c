/* SPDX-License-Identifier: MIT */
/* cm_convert: re-encode a blob's table and rebase its pointers, streaming. */
#include <errno.h>

#include "cma-private.h"

/* The input's table, walked again each time the writer starts over. */
struct job {
	const uint8_t *blob;
	const struct cm_header *in;
	struct cm_table_cursor cursor;
};

static void job_start(void *ctx)
{
	struct job *j = ctx;

	cm_table_start(&j->cursor, j->blob, j->in);
}

/* Input and output slot offsets are the same: only the table changes. */
static ssize_t job_next(void *ctx, uint64_t *slots, size_t max,
			uint64_t limit, struct cm_error *err)
{
	struct job *j = ctx;

	return cm_table_next(&j->cursor, slots, max, limit, err);
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
	struct cm_header in, out;
	struct job j = { .blob = blob, .in = &in };
	struct cm_blob_source src = {
		.start = job_start, .next = job_next, .ctx = &j,
	};

	if (!blob || !write
	    || (mode != 0 && mode != CM_RELATIVE_OFFSET
		&& mode != CM_ABSOLUTE_OFFSET)) {
		errno = EINVAL;
		return -1;
	}
	if (cm_check(blob, len, flags | CM_CHECK_EXACT, err)
	    || cm_header_read(blob, len, &in, err))
		return -1;

	out = in;
	out.mode = mode ? (uint32_t)mode : in.mode;
	if (base == UINT64_MAX)
		base = in.base;
	if (out.mode == CM_RELATIVE_OFFSET && in.data_end >= CM_RELATIVE_LIMIT)
		return cm_fail(err, CM_E_CONVERT, CM_H_DATA_END, UINT64_MAX,
			       "data end 0x%llx is over the relative mode's "
			       "2 GiB bound",
			       (unsigned long long)in.data_end);

	src.header_tail = j.blob + CM_HEADER_SIZE;
	src.data = j.blob + in.header_size;
	src.sections = j.blob + in.sections_offset;
	src.rebase = 0 - in.base;
	/* Same mode: the table is copied as it is, its size known. */
	if (out.mode != in.mode
	    && cm_blob_table_size(&out, &src, &out.table_size, err))
		return -1;
	if (in.sections_size)
		out.sections_offset = cm_align8(in.table_offset
						+ out.table_size);
	out.blob_size = in.sections_size
			? out.sections_offset + in.sections_size
			: in.table_offset + out.table_size;
	if (base % 8 || base + out.blob_size < base) {
		errno = EINVAL;
		return -1;
	}
	out.base = base;
	return cm_blob_write(&out, &src, write, ctx, err);
}
