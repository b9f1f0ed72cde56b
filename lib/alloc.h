/* SPDX-License-Identifier: MIT */
/* The allocator (alloc.c) on the arena: cm_alloc, cm_ptr_to and cm_free
 * (cma.h), and the live objects for the allocation map. */
#ifndef CMA_ALLOC_H
#define CMA_ALLOC_H

#include "arena.h"

/*
 * Live objects in address order: start with *pos = 0; returns 1 with the
 * object's offset and size, 0 after the last.
 */
int cm_arena_next_object(const struct cm_attr *mem, uint64_t *pos,
			 uint64_t *offset, uint64_t *size);

#endif /* CMA_ALLOC_H */
