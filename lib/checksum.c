/* SPDX-License-Identifier: MIT */
/* The blob checksum: XXH3-64 of the blob as it reads with base 0. */
#include <stdlib.h>
#include <xxhash.h>
#include <xxh_x86dispatch.h>

#include "cma-private.h"

struct cm_hash {
	XXH3_state_t *state;
};

struct cm_hash *cm_hash_new(void)
{
	struct cm_hash *s = malloc(sizeof *s);

	if (!s)
		return NULL;
	s->state = XXH3_createState();
	if (!s->state) {
		free(s);
		return NULL;
	}
	XXH3_64bits_reset(s->state);
	return s;
}

void cm_hash_free(struct cm_hash *s)
{
	if (!s)
		return;
	XXH3_freeState(s->state);
	free(s);
}

void cm_hash_raw(struct cm_hash *s, const void *p, size_t n)
{
	XXH3_64bits_update_dispatch(s->state, p, n);
}

void cm_hash_header(struct cm_hash *s, const uint8_t *header, uint64_t size)
{
	uint8_t copy[CM_HEADER_SIZE];

	memcpy(copy, header, CM_HEADER_SIZE);
	cm_store64(copy + CM_H_BASE, 0);
	cm_store64(copy + CM_H_CHECKSUM, 0);
	cm_hash_raw(s, copy, CM_HEADER_SIZE);
	if (size > CM_HEADER_SIZE)
		cm_hash_raw(s, header + CM_HEADER_SIZE, size - CM_HEADER_SIZE);
}

uint64_t cm_hash_digest(struct cm_hash *s)
{
	return XXH3_64bits_digest(s->state);
}
