/* SPDX-License-Identifier: MIT */
/* The library's own large buffers, in huge pages where it can. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/mman.h>

#include "scratch.h"

#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE 23	/* Linux 5.14; older kernels say EINVAL */
#endif

/* A transparent huge page with 4 KiB base pages (x86-64 and arm64). With
 * other sizes the alignment is only wasted address space. */
#define HUGE_PAGE ((size_t)2 << 20)
/* Below this, malloc's own memory is as good. */
#define SCRATCH_MAPPED ((size_t)1 << 20)

static size_t mapped_length(size_t n)
{
	return (n + HUGE_PAGE - 1) & ~(HUGE_PAGE - 1);
}

void *cm_scratch_alloc(size_t n)
{
	size_t len = mapped_length(n);
	uint8_t *p, *q;

	if (n < SCRATCH_MAPPED)
		return malloc(n ? n : 1);
	if (len < n || len + HUGE_PAGE < len) {
		errno = ENOMEM;
		return NULL;
	}
	/* One huge page more, to cut an aligned run out of. */
	p = mmap(NULL, len + HUGE_PAGE, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED) {
		errno = ENOMEM;
		return NULL;
	}
	q = (uint8_t *)(((uintptr_t)p + HUGE_PAGE - 1) & ~(HUGE_PAGE - 1));
	if (q > p)
		munmap(p, (size_t)(q - p));
	if (q + len < p + len + HUGE_PAGE)
		munmap(q + len, (size_t)(p + len + HUGE_PAGE - (q + len)));
	/* Hints, to the library's own memory (plain madvise, not the
	 * stand-in that counts a blob's calls): a kernel without them faults
	 * the pages in as before. */
	madvise(q, len, MADV_HUGEPAGE);
	madvise(q, len, MADV_POPULATE_WRITE);
	return q;
}

void cm_scratch_free(void *p, size_t n)
{
	if (!p)
		return;
	if (n < SCRATCH_MAPPED)
		free(p);
	else
		munmap(p, mapped_length(n));
}
