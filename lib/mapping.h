/* SPDX-License-Identifier: MIT */
/* Page-level mappings shared by the arena and cm_open(): the page size,
 * exact placement, and 2 MiB alignment for transparent huge pages. */
#ifndef CMA_MAPPING_H
#define CMA_MAPPING_H

#include <stddef.h>

/* Transparent huge pages are 2 MiB on x86-64 (and arm64 with 4 KiB pages). */
#define CM_HUGE_PAGE	(2UL << 20)

/* The system's page size (4096 when it cannot be read). */
size_t cm_page_size(void);

/* n rounded up to a multiple of `to` (any `to` above 0). */
static inline size_t cm_round_up(size_t n, size_t to)
{
	return (n + to - 1) / to * to;
}

/*
 * Map `len` bytes at exactly `addr` without replacing anything (`flags`
 * without MAP_FIXED*; MAP_ANONYMOUS with fd -1 as for mmap).
 * @return addr; NULL with EADDRINUSE when the range is busy (or an old
 *	   kernel put the mapping elsewhere), or the errno of mmap.
 */
void *cm_map_exact(void *addr, size_t len, int prot, int flags, int fd);

/*
 * Map `len` bytes anywhere, at a 2 MiB boundary so transparent huge pages
 * can back them: a larger range is reserved, the mapping placed over its
 * aligned part (a range we own, so MAP_FIXED replaces nobody's) and the
 * rest trimmed. @return the mapping; NULL with the errno of mmap.
 */
void *cm_map_huge_aligned(size_t len, int prot, int flags, int fd);

#endif /* CMA_MAPPING_H */
