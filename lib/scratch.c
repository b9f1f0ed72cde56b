/* SPDX-License-Identifier: MIT */
/* The library's own large buffers, in huge pages where it can. */
#include <errno.h>
#include <stdatomic.h>
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
/* A mapping starts with its length; the buffer follows, 64-byte aligned. */
#define LEAD 64

struct mapping {
	size_t len;
};

/*
 * The last mapping given back, kept for the next call: a process that
 * checks blob after blob pays the faults once. The exchange hands it to
 * one caller at a time.
 */
static _Atomic(struct mapping *) kept;

static void unmap(struct mapping *m)
{
	if (m)
		munmap(m, m->len);
}

static struct mapping *map_fresh(size_t len)
{
	uint8_t *p, *q;

	/* One huge page more, to cut an aligned run out of. */
	p = mmap(NULL, len + HUGE_PAGE, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		return NULL;
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
	((struct mapping *)q)->len = len;
	return (struct mapping *)q;
}

void *cm_scratch_alloc(size_t n)
{
	size_t len = (n + LEAD + HUGE_PAGE - 1) & ~(HUGE_PAGE - 1);
	struct mapping *m;

	if (n < CM_SCRATCH_MAPPED)
		return malloc(n ? n : 1);
	if (len < n || len + HUGE_PAGE < len) {
		errno = ENOMEM;
		return NULL;
	}
	m = atomic_exchange(&kept, NULL);
	if (!m || m->len < len) {
		unmap(m);
		m = map_fresh(len);
		if (!m) {
			errno = ENOMEM;
			return NULL;
		}
	}
	return (uint8_t *)m + LEAD;
}

void cm_scratch_free(void *p, size_t n)
{
	if (!p)
		return;
	if (n < CM_SCRATCH_MAPPED)
		free(p);
	else
		unmap(atomic_exchange(&kept,
				      (struct mapping *)((uint8_t *)p - LEAD)));
}
