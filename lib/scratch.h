/* SPDX-License-Identifier: MIT */
/* The library's own large buffers, in huge pages where it can (scratch.c). */
#ifndef CMA_SCRATCH_H
#define CMA_SCRATCH_H

#include <stddef.h>

/*
 * n bytes, 64-byte aligned, about to be written whole (a checksum's
 * shares). From CM_SCRATCH_MAPPED on they get a mapping of their own,
 * advised for transparent huge pages and populated for write in one call:
 * a fresh 4 KiB page costs a fault on its first write, several
 * microseconds each under some hypervisors, and a 2 MiB page costs one
 * fault for 512 of them. The threshold sits at glibc's own mmap threshold
 * and above: malloc would hand out fresh, unfaulted pages there too. The
 * last such mapping given back is kept for the next call. Smaller buffers
 * come from malloc. @return the buffer; NULL with ENOMEM.
 */
#define CM_SCRATCH_MAPPED ((size_t)256 << 10)

void *cm_scratch_alloc(size_t n);

/* Give back what cm_scratch_alloc(n) returned (NULL is ignored). */
void cm_scratch_free(void *p, size_t n);

#endif /* CMA_SCRATCH_H */
