/* SPDX-License-Identifier: MIT */
/* The library's own large buffers, in huge pages where it can (scratch.c). */
#ifndef CMA_SCRATCH_H
#define CMA_SCRATCH_H

#include <stddef.h>

/*
 * n bytes, 64-byte aligned, about to be written whole (a checksum's
 * shares). From 1 MiB on they get a mapping of their own, advised for
 * transparent huge pages and populated for write in one call: a fresh
 * 4 KiB page costs a fault on its first write, several microseconds each
 * under some hypervisors, and a 2 MiB page costs one fault for 512 of
 * them. The last such mapping given back is kept for the next call.
 * Smaller buffers come from malloc. @return the buffer; NULL with ENOMEM.
 */
void *cm_scratch_alloc(size_t n);

/* Give back what cm_scratch_alloc(n) returned (NULL is ignored). */
void cm_scratch_free(void *p, size_t n);

#endif /* CMA_SCRATCH_H */
