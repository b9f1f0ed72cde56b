/* SPDX-License-Identifier: MIT */
/* The blob header: decoding it, checking its fields, encoding it. */
#include <errno.h>

#include "cma-private.h"

void cm_header_encode(const struct cm_header *h, uint8_t *out)
{
	memset(out, 0, CM_HEADER_SIZE);
	memcpy(out + CM_H_MAGIC, CM_MAGIC, CM_MAGIC_LEN);
	memcpy(out + CM_H_VERSION_MAJOR, &h->version_major, 2);
	memcpy(out + CM_H_VERSION_MINOR, &h->version_minor, 2);
	cm_store32(out + CM_H_HEADER_SIZE, h->header_size);
	cm_store32(out + CM_H_MODE, h->mode);
	cm_store32(out + CM_H_REQUIRED, h->required_flags);
	cm_store32(out + CM_H_OPTIONAL, h->optional_flags);
	cm_store64(out + CM_H_BASE, h->base);
	cm_store64(out + CM_H_CAPACITY, h->capacity);
	cm_store64(out + CM_H_ROOT, h->root);
	cm_store64(out + CM_H_DATA_END, h->data_end);
	cm_store64(out + CM_H_TABLE_OFFSET, h->table_offset);
	cm_store64(out + CM_H_TABLE_SIZE, h->table_size);
	cm_store64(out + CM_H_POINTER_COUNT, h->pointer_count);
	cm_store64(out + CM_H_SECTIONS_OFFSET, h->sections_offset);
	cm_store64(out + CM_H_SECTIONS_SIZE, h->sections_size);
	cm_store64(out + CM_H_BLOB_SIZE, h->blob_size);
	cm_store64(out + CM_H_CHECKSUM, h->checksum);
}

static void decode(const uint8_t *p, struct cm_header *h)
{
	memcpy(&h->version_major, p + CM_H_VERSION_MAJOR, 2);
	memcpy(&h->version_minor, p + CM_H_VERSION_MINOR, 2);
	h->header_size = cm_load32(p + CM_H_HEADER_SIZE);
	h->mode = cm_load32(p + CM_H_MODE);
	h->required_flags = cm_load32(p + CM_H_REQUIRED);
	h->optional_flags = cm_load32(p + CM_H_OPTIONAL);
	h->base = cm_load64(p + CM_H_BASE);
	h->capacity = cm_load64(p + CM_H_CAPACITY);
	h->root = cm_load64(p + CM_H_ROOT);
	h->data_end = cm_load64(p + CM_H_DATA_END);
	h->table_offset = cm_load64(p + CM_H_TABLE_OFFSET);
	h->table_size = cm_load64(p + CM_H_TABLE_SIZE);
	h->pointer_count = cm_load64(p + CM_H_POINTER_COUNT);
	h->sections_offset = cm_load64(p + CM_H_SECTIONS_OFFSET);
	h->sections_size = cm_load64(p + CM_H_SECTIONS_SIZE);
	h->blob_size = cm_load64(p + CM_H_BLOB_SIZE);
	h->checksum = cm_load64(p + CM_H_CHECKSUM);
}

/* Every 64-bit field below 2^62, so sums of two never wrap. */
static int check_limits(const struct cm_header *h, struct cm_error *err)
{
	static const struct {
		unsigned offset;
		const char *name;
	} fields[] = {
		{ CM_H_CAPACITY, "capacity" },
		{ CM_H_ROOT, "root offset" },
		{ CM_H_DATA_END, "data end" },
		{ CM_H_TABLE_OFFSET, "table offset" },
		{ CM_H_TABLE_SIZE, "table size" },
		{ CM_H_POINTER_COUNT, "pointer count" },
		{ CM_H_SECTIONS_OFFSET, "sections offset" },
		{ CM_H_SECTIONS_SIZE, "sections size" },
		{ CM_H_BLOB_SIZE, "blob size" },
	};
	const uint64_t values[] = {
		h->capacity, h->root, h->data_end, h->table_offset,
		h->table_size, h->pointer_count, h->sections_offset,
		h->sections_size, h->blob_size,
	};

	for (size_t i = 0; i < sizeof values / sizeof *values; i++)
		if (values[i] >= CM_FIELD_LIMIT)
			return cm_fail(err, CM_E_HEADER, fields[i].offset,
				       UINT64_MAX, "%s 0x%llx is beyond 2^62",
				       fields[i].name,
				       (unsigned long long)values[i]);
	return 0;
}

static int check_layout(const struct cm_header *h, struct cm_error *err)
{
	uint64_t table_end = h->table_offset + h->table_size;
	uint64_t expected;

	if (h->data_end <= h->header_size)
		return cm_fail(err, CM_E_HEADER, CM_H_DATA_END, UINT64_MAX,
			       "data end 0x%llx leaves no data after the "
			       "%u-byte header",
			       (unsigned long long)h->data_end,
			       h->header_size);
	if (h->mode == CM_RELATIVE_OFFSET && h->data_end >= CM_RELATIVE_LIMIT)
		return cm_fail(err, CM_E_MODE, CM_H_DATA_END, UINT64_MAX,
			       "relative blob with data end 0x%llx over the "
			       "2 GiB bound",
			       (unsigned long long)h->data_end);
	if (h->root < h->header_size || h->root >= h->data_end)
		return cm_fail(err, CM_E_ROOT, CM_H_ROOT, UINT64_MAX,
			       "root offset 0x%llx outside the data "
			       "[0x%x, 0x%llx)",
			       (unsigned long long)h->root, h->header_size,
			       (unsigned long long)h->data_end);
	if (h->table_offset != cm_align8(h->data_end))
		return cm_fail(err, CM_E_HEADER, CM_H_TABLE_OFFSET, UINT64_MAX,
			       "table offset 0x%llx is not the data end "
			       "rounded up to 8 (0x%llx)",
			       (unsigned long long)h->table_offset,
			       (unsigned long long)cm_align8(h->data_end));
	if (h->mode == CM_ABSOLUTE_OFFSET
	    ? h->table_size % 8 || h->table_size / 8 != h->pointer_count
	    : h->pointer_count > h->table_size
	      || h->table_size > h->pointer_count * CM_VLQ_REL_MAX_BYTES)
		return cm_fail(err, CM_E_COUNT, CM_H_POINTER_COUNT, UINT64_MAX,
			       "%llu pointers cannot fill a %llu-byte %s table",
			       (unsigned long long)h->pointer_count,
			       (unsigned long long)h->table_size,
			       h->mode == CM_ABSOLUTE_OFFSET ? "absolute"
							     : "relative");
	if (h->sections_size % 8
	    || (h->sections_size == 0 && h->sections_offset != 0)
	    || (h->sections_size && h->sections_offset != cm_align8(table_end)))
		return cm_fail(err, CM_E_HEADER, CM_H_SECTIONS_OFFSET,
			       UINT64_MAX,
			       "sections at 0x%llx size 0x%llx do not follow "
			       "the table end 0x%llx",
			       (unsigned long long)h->sections_offset,
			       (unsigned long long)h->sections_size,
			       (unsigned long long)table_end);
	expected = h->sections_size ? h->sections_offset + h->sections_size
				    : table_end;
	if (h->blob_size != expected)
		return cm_fail(err, CM_E_HEADER, CM_H_BLOB_SIZE, UINT64_MAX,
			       "blob size 0x%llx, the layout gives 0x%llx",
			       (unsigned long long)h->blob_size,
			       (unsigned long long)expected);
	if (h->base % 8 || h->base + h->blob_size < h->base)
		return cm_fail(err, CM_E_HEADER, CM_H_BASE, UINT64_MAX,
			       "base 0x%llx is unaligned or wraps",
			       (unsigned long long)h->base);
	return 0;
}

CM_API int cm_header_read(const void *blob, size_t len, struct cm_header *h,
			  struct cm_error *err)
{
	const uint8_t *p = blob;

	if (!blob || !h) {
		errno = EINVAL;
		return -1;
	}
	memset(h, 0, sizeof *h);
	if (len < CM_MAGIC_LEN || memcmp(p, CM_MAGIC, CM_MAGIC_LEN))
		return cm_fail(err, CM_E_MAGIC, 0, UINT64_MAX,
			       "not a cma blob (no magic)");
	if (len < CM_HEADER_SIZE)
		return cm_fail(err, CM_E_TRUNCATED, len, UINT64_MAX,
			       "truncated: %zu bytes, the header alone is %d",
			       len, CM_HEADER_SIZE);
	decode(p, h);
	if (h->version_major != CM_VERSION_MAJOR)
		return cm_fail(err, CM_E_VERSION, CM_H_VERSION_MAJOR,
			       UINT64_MAX, "unknown format version %u.%u",
			       h->version_major, h->version_minor);
	if (h->required_flags & CM_REQ_LIVE)
		return cm_fail(err, CM_E_UNSEALED, CM_H_REQUIRED, UINT64_MAX,
			       "a live arena, never serialized");
	if (h->required_flags & ~CM_REQ_KNOWN)
		return cm_fail(err, CM_E_REQUIRED_FLAG, CM_H_REQUIRED,
			       UINT64_MAX, "unknown required flags 0x%x",
			       h->required_flags & ~CM_REQ_KNOWN);
	if (h->header_size < CM_HEADER_SIZE || h->header_size % 8)
		return cm_fail(err, CM_E_HEADER, CM_H_HEADER_SIZE, UINT64_MAX,
			       "header size %u", h->header_size);
	if (h->mode != CM_RELATIVE_OFFSET && h->mode != CM_ABSOLUTE_OFFSET)
		return cm_fail(err, CM_E_MODE, CM_H_MODE, UINT64_MAX,
			       "unknown mode %u", h->mode);
	if (cm_load32(p + CM_H_RESERVED0) || cm_load64(p + CM_H_RESERVED1))
		return cm_fail(err, CM_E_PADDING,
			       cm_load32(p + CM_H_RESERVED0) ? CM_H_RESERVED0
							     : CM_H_RESERVED1,
			       UINT64_MAX, "reserved header bytes not zero");
	if (check_limits(h, err) || check_layout(h, err))
		return -1;
	if (h->header_size > len || h->blob_size > len)
		return cm_fail(err, CM_E_TRUNCATED, len, UINT64_MAX,
			       "truncated: %zu bytes, the blob is %llu", len,
			       (unsigned long long)h->blob_size);
	return 0;
}
