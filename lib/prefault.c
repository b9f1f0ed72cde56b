/* SPDX-License-Identifier: MIT */
/* Pre-faulting for write: a relocation's pages populated a chunk at a time. */
#include <errno.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <unistd.h>

#include "prefault.h"

#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE 23	/* Linux 5.14; older kernels say EINVAL */
#endif

/*
 * A chunk whose first writes took at least this many faults is taken for a
 * fresh mapping (copy-on-write of a private file or shared-memory mapping,
 * or memory never touched): the rest is populated ahead of the writes.
 */
#define PROBE_FAULTS 8

/* Zeroed is off: a walk that does not write never starts. */
enum { PF_OFF, PF_START, PF_PROBING, PF_ON };

int (*cm_prefault_advise)(void *addr, size_t len, int advice) = madvise;

static long minor_faults(void)
{
	struct rusage u;

	if (getrusage(RUSAGE_THREAD, &u))
		return -1;
	return u.ru_minflt;
}

/* The whole pages inside the n bytes at p: [*lo, *hi), empty if none. */
static void whole_pages(uintptr_t page, const void *p, uint64_t n,
			uintptr_t *lo, uintptr_t *hi)
{
	*lo = ((uintptr_t)p + page - 1) & ~(page - 1);
	*hi = ((uintptr_t)p + n) & ~(page - 1);
}

/* The page size, or 0 when it is no power of two. */
static uintptr_t page_size(void)
{
	long ps = sysconf(_SC_PAGESIZE);

	return ps <= 0 || (ps & (ps - 1)) ? 0 : (uintptr_t)ps;
}

void cm_prefault_start(struct cm_prefault *pf, uint8_t *blob, uint64_t size)
{
	*pf = (struct cm_prefault){ .state = PF_OFF, .page = page_size() };
	if (!blob || !pf->page)
		return;
	/* Whole pages inside the blob only: nothing outside is touched. */
	whole_pages(pf->page, blob, size, &pf->lo, &pf->hi);
	if (pf->lo < pf->hi)
		pf->state = PF_START;
}

/* Is any bit in [from, to) of bits set? */
static bool any_bit(const uint64_t *bits, uint64_t from, uint64_t to)
{
	while (from < to) {
		uint64_t w = bits[from / 64] >> (from % 64);
		uint64_t n = 64 - from % 64;

		if (to - from < n) {
			n = to - from;
			w &= (1ULL << n) - 1;
		}
		if (w)
			return true;
		from += n;
	}
	return false;
}

/* Populate runs of pages holding a slot; false when the kernel refused. */
static bool populate(struct cm_prefault *pf, uintptr_t p, size_t n,
		     const uint64_t *bits)
{
	uintptr_t first = p & ~(pf->page - 1), run = 0;
	uintptr_t end = p + n;

	for (uintptr_t pg = first; pg < end; pg += pf->page) {
		uintptr_t a = pg > p ? pg : p;
		uintptr_t b = pg + pf->page < end ? pg + pf->page : end;
		bool take = pg >= pf->lo && pg < pf->hi
			    && any_bit(bits, (a - p) / 8, (b - p + 7) / 8);

		if (take && !run)
			run = pg;
		if (!take && run) {
			if (cm_prefault_advise((void *)run, pg - run,
					       MADV_POPULATE_WRITE))
				return false;
			run = 0;
		}
	}
	if (run) {
		uintptr_t stop = (end + pf->page - 1) & ~(pf->page - 1);

		if (stop > pf->hi)
			stop = pf->hi;
		if (cm_prefault_advise((void *)run, stop - run,
				       MADV_POPULATE_WRITE))
			return false;
	}
	return true;
}

/* Is it time to populate? The first call faults as it would: it tells
 * what the memory is. */
static bool populating(struct cm_prefault *pf)
{
	long now;

	switch (pf->state) {
	case PF_START:
		pf->faults = minor_faults();
		pf->state = pf->faults < 0 ? PF_OFF : PF_PROBING;
		return false;
	case PF_PROBING:
		now = minor_faults();
		pf->state = now - pf->faults >= PROBE_FAULTS ? PF_ON : PF_OFF;
		return pf->state == PF_ON;
	default:
		return pf->state == PF_ON;
	}
}

/* Any refusal (EINVAL or ENOSYS before Linux 5.14, EFAULT, ENOMEM) leaves
 * the pages to fault as they would have: stop asking. */
void cm_prefault_chunk(struct cm_prefault *pf, uint8_t *p, size_t n,
		       const uint64_t *bits)
{
	if (populating(pf) && !populate(pf, (uintptr_t)p, n, bits))
		pf->state = PF_OFF;
}

void cm_prefault_range(struct cm_prefault *pf, uint8_t *p, size_t n)
{
	uintptr_t lo, hi;

	/* No probe: pages past the data are as a rule fresh. */
	if (pf->state == PF_OFF)
		return;
	whole_pages(pf->page, p, n, &lo, &hi);
	if (lo < pf->lo)
		lo = pf->lo;
	if (hi > pf->hi)
		hi = pf->hi;
	if (lo < hi && cm_prefault_advise((void *)lo, hi - lo,
					  MADV_POPULATE_WRITE))
		pf->state = PF_OFF;
}
