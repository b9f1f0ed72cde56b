/* SPDX-License-Identifier: MIT */
/*
 * cm_deserialize: checked relocation in place, all or nothing. The stages:
 * the header, the layout (check.c), then the data and the table in one
 * pass that checks, hashes and relocates (walk.c).
 */
#include <errno.h>

#include "walk.h"

int cm_reloc_prepare(void *blob, int flags, struct cm_header *h, size_t len,
		     struct cm_error *err)
{
	if (!blob || (uintptr_t)blob % 8
	    || (flags & ~(CM_TRUSTED | CM_CHECK_STRICT
			  | CM_CHECK_POINTERS))) {
		errno = EINVAL;
		return -1;
	}
	return cm_header_read(blob, len, h, err);
}

void *cm_reloc_finish(uint8_t *blob, const struct cm_header *h)
{
	if (h->base != (uintptr_t)blob)
		cm_store64(blob + CM_H_BASE, (uintptr_t)blob);
	return blob + h->root;
}

CM_API void *cm_deserialize_flags(void *blob, size_t len, int flags,
				  struct cm_error *err)
{
	struct cm_header h;
	struct cm_defects d = { .first = err };
	uint8_t *p = blob;
	uint64_t shift;

	if (cm_reloc_prepare(blob, flags, &h, len, err))
		return NULL;
	shift = (uintptr_t)blob - h.base;
	/* At the recorded base nothing is written: read-only mappings work. */
	if (cm_check_blob(p, shift ? p : NULL, &h, flags, shift, &d, NULL))
		return NULL;
	return cm_reloc_finish(p, &h);
}

CM_API void *cm_deserialize(void *blob, size_t len)
{
	return cm_deserialize_flags(blob, len, 0, NULL);
}
