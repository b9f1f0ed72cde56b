/* SPDX-License-Identifier: MIT */
/* Pre-faulting for write: a relocation's pages, a seal's table (prefault.c). */
#ifndef CMA_PREFAULT_H
#define CMA_PREFAULT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * A relocation's writes fault a page at a time on a fresh mapping (a
 * private mapping of a file or shared-memory object copies each page on
 * its first write). After a first chunk that took faults, each chunk's
 * pages that hold a slot are populated for write in one call before its
 * writes (MADV_POPULATE_WRITE, Linux 5.14): the same pages the writes would
 * fault, their bytes unchanged. Only whole pages inside the blob; a kernel
 * that refuses turns it off, the writes then fault as they would.
 */
struct cm_prefault {
	uintptr_t lo, hi;	/* the blob's whole pages */
	uintptr_t page;
	long faults;		/* the thread's minor faults at the probe */
	int state;
};

void cm_prefault_start(struct cm_prefault *pf, uint8_t *blob, uint64_t size);
/* Before the slots of the n bytes at p (bit i of bits: the word at
 * p + 8 i) are written. */
void cm_prefault_chunk(struct cm_prefault *pf, uint8_t *p, size_t n,
		       const uint64_t *bits);
/* Before the n bytes at p are written in full (a table being sealed):
 * their whole pages, without a probe (the bytes past an arena's data are
 * as a rule fresh). */
void cm_prefault_range(struct cm_prefault *pf, uint8_t *p, size_t n);
/* madvise, or a test's stand-in. */
extern int (*cm_prefault_advise)(void *addr, size_t len, int advice);
#endif /* CMA_PREFAULT_H */
