/* SPDX-License-Identifier: MIT */
/* cm_convert: re-encode a blob's table and rebase its pointers, streaming;
 * cm_types_attach: the same blob with another type section. */
#include <errno.h>
#include <stdlib.h>

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
 * A writer that fails without setting errno gives EIO. The input's header
 * `in` was read from a checked blob; its sections are replaced by
 * `sections` (sections_size bytes, framed). `data_hash` (may be NULL) is
 * the check's checksum state at the table: the output's data and padding
 * hash the same, as the table starts at the same offset and slots are
 * hashed at base 0.
 */
static int write_converted(const uint8_t *blob, const struct cm_header *in,
			   int mode, uint64_t base, const uint8_t *sections,
			   uint64_t sections_size,
			   const struct cm_hash *data_hash, cm_write_fn write,
			   void *ctx, struct cm_error *err)
{
	struct cm_header out;
	struct job j = { .blob = blob, .in = in };
	bool later;
	struct cm_blob_source src = {
		.start = job_start, .next = job_next, .ctx = &j,
		.data_hash = data_hash,
	};

	out = *in;
	out.mode = mode ? (uint32_t)mode : in->mode;
	if (base == UINT64_MAX)
		base = in->base;
	if (out.mode == CM_RELATIVE_OFFSET && in->data_end >= CM_RELATIVE_LIMIT)
		return cm_fail(err, CM_E_CONVERT, CM_H_DATA_END, UINT64_MAX,
			       "data end 0x%llx is over the relative mode's "
			       "2 GiB bound",
			       (unsigned long long)in->data_end);

	src.header_tail = j.blob + CM_HEADER_SIZE;
	src.data = j.blob + in->header_size;
	src.sections = sections;
	src.rebase = 0 - in->base;
	/* check_input() checked the table: it is re-encoded straight. */
	src.checked_table = j.blob + in->table_offset;
	src.checked_mode = in->mode;
	src.checked_size = in->table_size;
	out.sections_size = sections_size;
	/* Same mode: the table is copied as it is, its size known. */
	if (out.mode != in->mode)
		out.table_size = 8 * in->pointer_count;
	cm_blob_layout(&out);
	/* Relative, under 2 GiB: an entry takes 4 bytes at most, so the
	 * absolute size bounds the blob and the writer learns the size as it
	 * hashes. Near the top of the address space the exact size decides. */
	later = out.mode != in->mode && out.mode == CM_RELATIVE_OFFSET;
	if (later && base + out.blob_size < base) {
		if (cm_blob_table_size(&out, &src, &out.table_size, err))
			return -1;
		cm_blob_layout(&out);
		later = false;
	}
	if (base % 8 || base + out.blob_size < base) {
		errno = EINVAL;
		return -1;
	}
	if (later)
		out.table_size = CM_TABLE_SIZE_LATER;
	out.base = base;
	return cm_blob_write(&out, &src, write, ctx, err);
}

/* The input checked to its exact length and its header read; *kept gets
 * the check's checksum state at the table (in `state`), or NULL when the
 * flags skip the checksum. */
static int check_input(const void *blob, size_t len, int flags,
		       struct cm_header *in, struct cm_hash *state,
		       const struct cm_hash **kept, struct cm_error *err)
{
	if (cm_check_keeping(blob, len, flags | CM_CHECK_EXACT, err, state) < 0
	    || cm_header_read(blob, len, in, err))
		return -1;
	*kept = flags & CM_CHECK_NO_CHECKSUM ? NULL : state;
	return 0;
}

CM_API int cm_convert(const void *blob, size_t len, int mode, uint64_t base,
		      int flags, cm_write_fn write, void *ctx,
		      struct cm_error *err)
{
	struct cm_header in;
	struct cm_hash state;
	const struct cm_hash *data_hash;

	if (!blob || !write
	    || (mode != 0 && mode != CM_RELATIVE_OFFSET
		&& mode != CM_ABSOLUTE_OFFSET)) {
		errno = EINVAL;
		return -1;
	}
	if (check_input(blob, len, flags, &in, &state, &data_hash, err))
		return -1;
	return write_converted(blob, &in, mode, base,
			       (const uint8_t *)blob + in.sections_offset,
			       in.sections_size, data_hash, write, ctx, err);
}

/* The input's sections but its type sections, then a new one of `n`
 * bytes at `payload` (none when NULL): malloc'd, *size bytes. */
static uint8_t *sections_with_types(const uint8_t *blob,
				    const struct cm_header *h,
				    const void *payload, size_t n,
				    uint64_t *size)
{
	uint64_t pos = h->sections_offset, end = pos + h->sections_size;
	uint64_t fill = 0, room = h->sections_size + CM_SECTION_HEADER
				  + cm_align8(n);
	uint8_t *out = calloc(1, room ? room : 1);

	if (!out)
		return NULL;
	while (pos < end) {	/* framing checked by cm_check */
		uint64_t whole = CM_SECTION_HEADER
				 + cm_align8(cm_load64(blob + pos + 8));

		if (cm_load32(blob + pos) != CM_SECTION_TYPES) {
			memcpy(out + fill, blob + pos, whole);
			fill += whole;
		}
		pos += whole;
	}
	if (payload) {
		cm_store32(out + fill, CM_SECTION_TYPES);
		cm_store64(out + fill + 8, n);
		memcpy(out + fill + CM_SECTION_HEADER, payload, n);
		fill += CM_SECTION_HEADER + cm_align8(n);
	}
	*size = fill;
	return out;
}

CM_API int cm_types_attach(const void *blob, size_t len,
			   const struct cm_types *types, int flags,
			   cm_write_fn write, void *ctx, struct cm_error *err)
{
	struct cm_header in;
	void *payload = NULL;
	size_t n = 0;
	uint64_t size;
	uint8_t *sections;
	struct cm_hash state;
	const struct cm_hash *data_hash;
	int rc;

	if (!blob || !write) {
		errno = EINVAL;
		return -1;
	}
	if (check_input(blob, len, flags, &in, &state, &data_hash, err))
		return -1;
	if (types && cm_types_encode(types, &payload, &n, err)) {
		if (errno == EINVAL)	/* a description breaking a rule */
			errno = EBADMSG;
		return -1;
	}
	if (payload && cm_types_check(payload, n, 0, &in, err)) {
		free(payload);
		return -1;
	}
	sections = sections_with_types(blob, &in, payload, n, &size);
	free(payload);
	if (!sections)
		return -1;
	in.optional_flags = types ? in.optional_flags | CM_OPT_TYPES
				  : in.optional_flags & ~CM_OPT_TYPES;
	rc = write_converted(blob, &in, 0, UINT64_MAX, sections, size,
			     data_hash, write, ctx, err);
	free(sections);
	return rc;
}
