/* SPDX-License-Identifier: MIT */
/* Page-level mappings shared by the arena and cm_open(). */
#include <errno.h>
#include <stdint.h>
#include <sys/mman.h>
#include <unistd.h>

#include "mapping.h"

#ifndef MAP_FIXED_NOREPLACE
#define MAP_FIXED_NOREPLACE 0x100000
#endif

size_t cm_page_size(void)
{
	long ps = sysconf(_SC_PAGESIZE);

	return ps > 0 ? (size_t)ps : 4096;
}

void *cm_map_exact(void *addr, size_t len, int prot, int flags, int fd)
{
	void *p = mmap(addr, len, prot, flags | MAP_FIXED_NOREPLACE, fd, 0);

	if (p == MAP_FAILED) {
		if (errno == EEXIST)
			errno = EADDRINUSE;
		return NULL;
	}
	if (p != addr) {
		/* A kernel older than 4.17 took the flag for a hint. */
		munmap(p, len);
		errno = EADDRINUSE;
		return NULL;
	}
	return p;
}

void *cm_map_huge_aligned(size_t len, int prot, int flags, int fd)
{
	size_t span = len + CM_HUGE_PAGE;
	uint8_t *raw, *p, *aligned;

	raw = mmap(NULL, span, PROT_NONE,
		   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (raw == MAP_FAILED)
		return NULL;
	aligned = (uint8_t *)cm_round_up((uintptr_t)raw, CM_HUGE_PAGE);
	p = mmap(aligned, len, prot, flags | MAP_FIXED, fd, 0);
	if (p == MAP_FAILED) {
		int e = errno;

		munmap(raw, span);
		errno = e;
		return NULL;
	}
	if (aligned > raw)
		munmap(raw, (size_t)(aligned - raw));
	if (raw + span > aligned + len)
		munmap(aligned + len, (size_t)(raw + span - (aligned + len)));
	return aligned;
}
