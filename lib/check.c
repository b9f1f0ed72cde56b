/* SPDX-License-Identifier: MIT */
/*
 * Checking a blob: the check API, and the first stage of every check, the
 * layout around the data and the table (padding and sections). The data
 * and the table are walk.c's.
 */
#include <errno.h>

#include "scan.h"
#include "walk.h"

/* A layout check's inputs, and where its findings go. */
struct layout {
	const uint8_t *blob;
	const struct cm_header *h;
	struct cm_defects *d;
	struct cm_sections *s;
};

static bool check_zero(struct layout *w, uint64_t from, uint64_t to,
		       const char *what)
{
	for (uint64_t i = from; i < to; i++)
		if (w->blob[i]) {
			struct cm_error e;

			cm_fail(&e, CM_E_PADDING, i, UINT64_MAX,
				"%s byte 0x%02x is not zero", what,
				w->blob[i]);
			return cm_defect(w->d, &e);
		}
	return false;
}

static bool check_object_map(struct layout *w, uint64_t at, uint64_t size)
{
	const struct cm_header *h = w->h;
	struct cm_error e;
	uint64_t prev_end = h->header_size;

	if (size % 16) {
		cm_fail(&e, CM_E_SECTION, at - CM_SECTION_HEADER, UINT64_MAX,
			"object map of %llu bytes is not whole pairs",
			(unsigned long long)size);
		return cm_defect(w->d, &e);
	}
	w->s->map.pairs = w->blob + at;
	w->s->map.count = size / 16;
	w->s->map.at = at;
	for (uint64_t i = 0; i < w->s->map.count; i++) {
		uint64_t off = cm_object_offset(&w->s->map, i);
		uint64_t len = cm_object_size(&w->s->map, i);

		if (len == 0 || off < prev_end || off > h->data_end
		    || len > h->data_end - off) {
			cm_fail(&e, CM_E_OBJECT_MAP, at + i * 16, UINT64_MAX,
				"object %llu [0x%llx, +0x%llx) is empty, "
				"unsorted, overlapping or outside the data",
				(unsigned long long)i, (unsigned long long)off,
				(unsigned long long)len);
			w->s->map.pairs = NULL;	/* checked no further */
			w->s->map.count = 0;
			return cm_defect(w->d, &e);
		}
		prev_end = off + len;
	}
	return false;
}

/* Frame every section; locate the object map. */
static bool check_sections(struct layout *w)
{
	const struct cm_header *h = w->h;
	uint64_t pos = h->sections_offset, end = pos + h->sections_size;
	bool seen_map = false;
	struct cm_error e;

	while (pos < end) {
		uint32_t type, flags;
		uint64_t size;

		if (end - pos < CM_SECTION_HEADER)
			goto bad_frame;
		type = cm_load32(w->blob + pos);
		flags = cm_load32(w->blob + pos + 4);
		size = cm_load64(w->blob + pos + 8);
		if (size > end - pos - CM_SECTION_HEADER
		    || cm_align8(size) > end - pos - CM_SECTION_HEADER
		    || (flags & ~CM_SECTION_REQUIRED))
			goto bad_frame;
		if (type == CM_SECTION_OBJECT_MAP && !seen_map) {
			seen_map = true;
			if (check_object_map(w, pos + CM_SECTION_HEADER, size))
				return true;
		} else if (type == CM_SECTION_TYPES && !w->s->types) {
			w->s->types = w->blob + pos + CM_SECTION_HEADER;
			w->s->types_size = size;
			if (cm_types_check(w->s->types, size,
					   pos + CM_SECTION_HEADER, h, &e))
				return cm_defect(w->d, &e);
		} else if (flags & CM_SECTION_REQUIRED) {
			cm_fail(&e, CM_E_REQUIRED_FLAG, pos, UINT64_MAX,
				"unknown required section type %u", type);
			return cm_defect(w->d, &e);
		}
		pos += CM_SECTION_HEADER + size;
		if (check_zero(w, pos, pos + (cm_align8(size) - size),
			       "section padding"))
			return true;
		pos += cm_align8(size) - size;
	}
	return false;
bad_frame:
	cm_fail(&e, CM_E_SECTION, pos, UINT64_MAX,
		"malformed section at 0x%llx", (unsigned long long)pos);
	return cm_defect(w->d, &e);
}

bool cm_check_layout(const uint8_t *blob, const struct cm_header *h,
		     struct cm_defects *d, struct cm_sections *s)
{
	struct layout w = { .blob = blob, .h = h, .d = d, .s = s };
	uint64_t table_end = h->table_offset + h->table_size;

	*s = (struct cm_sections){ 0 };
	return check_zero(&w, h->data_end, h->table_offset, "padding")
	       || (h->sections_size
		   && check_zero(&w, table_end, h->sections_offset, "padding"))
	       || check_sections(&w);
}

int cm_check_blob(const uint8_t *blob, uint8_t *wblob,
		  const struct cm_header *h, int flags, uint64_t shift,
		  struct cm_defects *d, struct cm_hash *data_hash)
{
	struct cm_sections s;

	/* Nothing is written before the layout passes. */
	if (cm_check_layout(blob, h, d, &s)) {
		errno = EBADMSG;
		return -1;
	}
	return cm_walk(blob, wblob, h, flags, shift, &s.map, d, data_hash);
}

/* Header checks that need the caller's exact length. */
static int read_header(const void *blob, size_t len, int flags,
		       struct cm_header *h, struct cm_error *err)
{
	if (!blob || (flags & ~(CM_CHECK_EXACT | CM_CHECK_NO_CHECKSUM
				| CM_CHECK_STRICT | CM_CHECK_POINTERS))) {
		errno = EINVAL;
		return -1;
	}
	if (cm_header_read(blob, len, h, err))
		return -1;
	if ((flags & CM_CHECK_EXACT) && len != h->blob_size)
		return cm_fail(err, CM_E_LENGTH, h->blob_size, UINT64_MAX,
			       "%llu trailing bytes after the %llu-byte blob",
			       (unsigned long long)(len - h->blob_size),
			       (unsigned long long)h->blob_size);
	return 0;
}

/* A valid blob's verdict: CM_SCAN_SKIPPED when the scan was asked for but
 * its base rules it out. */
static int valid(const struct cm_header *h, int flags)
{
	struct cm_scan s;

	return (flags & CM_CHECK_POINTERS)
	       && !cm_scan_rule(&s, h->base, h->header_size, h->data_end)
	       ? CM_SCAN_SKIPPED : 0;
}

int cm_check_keeping(const void *blob, size_t len, int flags,
		     struct cm_error *err, struct cm_hash *data_hash)
{
	struct cm_header h;
	struct cm_defects d = { .first = err };

	if (read_header(blob, len, flags, &h, err)
	    || cm_check_blob(blob, NULL, &h, flags, 0, &d, data_hash))
		return -1;
	return valid(&h, flags);
}

CM_API int cm_check(const void *blob, size_t len, int flags,
		    struct cm_error *err)
{
	return cm_check_keeping(blob, len, flags, err, NULL);
}

CM_API int cm_check_all(const void *blob, size_t len, int flags,
			size_t max_errors,
			int (*report)(void *ctx, const struct cm_error *err),
			void *ctx)
{
	struct cm_header h;
	struct cm_error e;
	struct cm_defects d = { .report = report, .ctx = ctx,
				.max = max_errors };

	if (!report) {
		errno = EINVAL;
		return -1;
	}
	if (read_header(blob, len, flags, &h, &e)) {
		if (errno == EBADMSG)
			report(ctx, &e);
		return -1;
	}
	if (cm_check_blob(blob, NULL, &h, flags, 0, &d, NULL))
		return -1;
	return valid(&h, flags);
}

CM_API uint64_t cm_checksum_compute(const void *blob, const struct cm_header *h)
{
	return cm_walk_checksum(blob, h);
}

CM_API ssize_t cm_object_map(const void *blob, size_t len,
			     struct cm_object *out, size_t max,
			     struct cm_error *err)
{
	struct cm_header h;
	struct cm_defects d = { .first = err };
	struct cm_sections s = { 0 };
	struct layout w = { .blob = blob, .h = &h, .d = &d, .s = &s };

	if (!blob || (!out && max)) {
		errno = EINVAL;
		return -1;
	}
	if (cm_header_read(blob, len, &h, err))
		return -1;
	if (check_sections(&w)) {
		errno = EBADMSG;
		return -1;
	}
	for (uint64_t i = 0; i < s.map.count && i < max; i++) {
		out[i].offset = cm_object_offset(&s.map, i);
		out[i].size = cm_object_size(&s.map, i);
	}
	return (ssize_t)s.map.count;
}

CM_API struct cm_types *cm_types_read(const void *blob, size_t len,
				      struct cm_error *err)
{
	struct cm_header h;
	struct cm_defects d = { .first = err };
	struct cm_sections s = { 0 };
	struct layout w = { .blob = blob, .h = &h, .d = &d, .s = &s };

	if (!blob) {
		errno = EINVAL;
		return NULL;
	}
	if (cm_header_read(blob, len, &h, err))
		return NULL;
	if (check_sections(&w)) {
		errno = EBADMSG;
		return NULL;
	}
	if (!s.types) {
		errno = ENOENT;
		return NULL;
	}
	return cm_types_decode(s.types, s.types_size, err);
}
