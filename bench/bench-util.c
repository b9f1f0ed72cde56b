/* SPDX-License-Identifier: MIT */
/* cma-bench's shared helpers: clocks, medians, memory, files, the ideal loop. */
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "bench.h"

int bench_status;

uint64_t bench_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

void stat3_from(struct stat3 *s, double *v, int n)
{
	s->n = n;
	if (n <= 0)
		return;
	qsort(v, (size_t)n, sizeof(*v), cmp_double);
	s->min = v[0];
	s->max = v[n - 1];
	s->median = n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

void *bench_map(size_t len)
{
	void *p = mmap(NULL, len, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (p == MAP_FAILED)
		return NULL;
	/* Both sides of each comparison run on the same pages; huge ones
	 * keep TLB misses out of both. Not fatal where THP is off. */
	madvise(p, len, MADV_HUGEPAGE);
	memset(p, 0, len);
	return p;
}

void bench_unmap(void *p, size_t len)
{
	munmap(p, len);
}

/* Files to remove on the way out, also from a signal handler. */
static char tracked[4][PATH_MAX];
static char tmpdir_path[PATH_MAX];

void bench_track_file(int slot, const char *path)
{
	tracked[slot][0] = '\0';
	if (path)
		snprintf(tracked[slot], sizeof(tracked[slot]), "%s", path);
}

static void remove_files(void)
{
	for (int i = 0; i < 4; i++)
		if (tracked[i][0])
			unlink(tracked[i]);
	if (tmpdir_path[0])
		rmdir(tmpdir_path);
}

static void on_signal(int sig)
{
	remove_files();
	signal(sig, SIG_DFL);
	raise(sig);
}

/*
 * The floor every relocation is compared with: no decoding, no checking,
 * one add per slot from an array of sorted offsets.
 */
__attribute__((noinline)) void ideal_reloc(uint8_t *blob,
					   const uint64_t *slots, size_t n,
					   uint64_t delta)
{
	for (size_t i = 0; i < n; i++) {
		uint64_t v;

		memcpy(&v, blob + slots[i], 8);
		v += delta;
		memcpy(blob + slots[i], &v, 8);
	}
}

int bench_make_tmpdir(struct bench_opts *o)
{
	const char *t = getenv("TMPDIR");
	int n;

	if (!t || !*t)
		t = "/tmp";
	n = snprintf(o->tmpdir, sizeof(o->tmpdir), "%s/cma-bench-XXXXXX", t);
	if (n < 0 || (size_t)n >= sizeof(o->tmpdir)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	if (!mkdtemp(o->tmpdir))
		return -1;
	snprintf(tmpdir_path, sizeof(tmpdir_path), "%s", o->tmpdir);
	atexit(remove_files);
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	return 0;
}
