/* SPDX-License-Identifier: MIT */
/* cma-bench: where page faults are the cost, a consumer's fresh private
 * mapping relocated and a producer's seal on shared memory. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#include "bench-xxh3.h"

#include "cma.h"
#include "bench.h"

#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE 23
#endif

/* How a fresh mapping is relocated. */
enum fresh_how { FRESH_NAIVE, FRESH_POPULATED, FRESH_DESERIALIZE };

/* Map the blob file or shm object privately, writable, as a consumer
 * does; NULL with errno. */
static uint8_t *map_fresh(const struct fault_src *s, bool shm)
{
	int fd = shm ? shm_open(s->shm, O_RDONLY, 0)
		     : open(s->path, O_RDONLY | O_CLOEXEC);
	void *p;

	if (fd < 0)
		return NULL;
	p = mmap(NULL, s->size, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
	close(fd);
	return p == MAP_FAILED ? NULL : p;
}

/* One run: map, then relocate `how`; the unmapping is outside the clock. */
static int run_fresh(const struct fault_src *s, bool shm, enum fresh_how how,
		     double *ns_per_ptr)
{
	uint64_t t0 = bench_now_ns(), ns;
	uint8_t *p = map_fresh(s, shm);
	void *root = NULL;
	int ret = 0;

	if (!p) {
		fprintf(stderr, "cma-bench: %s: mapping %s: %s\n", s->what,
			shm ? s->shm : s->path, strerror(errno));
		return -1;
	}
	if (how == FRESH_DESERIALIZE) {
		root = cm_deserialize(p, s->size);
		ret = root == p + s->root_off ? 0 : -1;
	} else {
		/* Older kernels refuse the advice: the figure is then the
		 * naive one, and the program says so. */
		if (how == FRESH_POPULATED
		    && madvise(p, s->size, MADV_POPULATE_WRITE)) {
			fprintf(stderr, "cma-bench: %s: MADV_POPULATE_WRITE: "
				"%s\n", s->what, strerror(errno));
			ret = -1;
		}
		ideal_reloc(p, s->slots, s->nslots,
			    (uint64_t)(uintptr_t)p - s->base);
	}
	__asm__ volatile("" ::: "memory");
	ns = bench_now_ns() - t0;
	if (ret && how == FRESH_DESERIALIZE)
		fprintf(stderr, "cma-bench: %s: cm_deserialize of a fresh "
			"mapping: %s\n", s->what,
			root ? "wrong root" : strerror(errno));
	munmap(p, s->size);
	*ns_per_ptr = (double)ns / (double)(s->nslots ? s->nslots : 1);
	return ret;
}

/* Copy the blob into a new shm object named s->shm. */
static int make_shm(const struct fault_src *s)
{
	int fd = shm_open(s->shm, O_RDWR | O_CREAT | O_EXCL, 0600);
	size_t done = 0;

	if (fd < 0)
		return -1;
	while (done < s->size) {
		ssize_t n = write(fd, s->blob + done, s->size - done);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			close(fd);
			return -1;
		}
		done += (size_t)n;
	}
	return close(fd);
}

void measure_faults(const struct bench_opts *o, const struct fault_src *s,
		    struct mode_result *r)
{
	static const enum fig figs[2][3] = {
		{ F_MMAP_IDEAL, F_FILE_POPULATED, F_FILE_DES },
		{ F_SHM_NAIVE, F_SHM_POPULATED, F_SHM_DES },
	};
	double v[2][3][BENCH_MAX_RUNS];
	char path[128];
	int n = 0;

	snprintf(path, sizeof(path), "/dev/shm%s", s->shm);
	bench_track_file(2, path);
	if (make_shm(s)) {
		fprintf(stderr, "cma-bench: %s: shm %s: %s\n", s->what,
			s->shm, strerror(errno));
		bench_status = 1;
		goto out;
	}
	/* The three ways in turn, each run, so a noisy spell hits all. */
	for (int run = 0; run < o->runs; run++, n++)
		for (int src = 0; src < 2; src++)
			for (int how = 0; how < 3; how++)
				if (run_fresh(s, src, how, &v[src][how][run])) {
					bench_status = 1;
					goto out;
				}
out:
	for (int src = 0; src < 2; src++)
		for (int how = 0; how < 3; how++)
			stat3_from(&r->fig[figs[src][how]], v[src][how], n);
	shm_unlink(s->shm);
	bench_track_file(2, NULL);
}

/* ---- the producer's seal on shared memory ---- */

static volatile uint64_t sink_hash;

/* A new shm object for an arena; its descriptor, or -1. */
static int new_shm(const char *name)
{
	int fd = shm_open(name, O_RDWR | O_CREAT | O_EXCL, 0600);

	shm_unlink(name);	/* the descriptor keeps it */
	return fd;
}

/*
 * One run of the seal (baseline false) or of its baseline: the workload
 * built in a fresh shm arena, MAP_SHARED, then timed: cm_serialize with
 * MS_SYNC, or the same table bytes written to the same fresh pages past
 * the data, XXH3 over the data and the same msync.
 */
static int run_seal(const struct seal_src *s, bool baseline, double *ns_per_ptr)
{
	struct cm_attr *mem;
	void *root;
	uint64_t ns, t0;
	uint8_t *base;
	int fd = new_shm(s->shm), ret = -1;

	if (fd < 0)
		return -1;
	mem = build_cm_fd(fd, MAP_SHARED, s->kind, s->nodes, s->links, &root,
			  &ns);
	if (!mem)
		goto out;
	base = cm_get_base(mem);
	t0 = bench_now_ns();
	if (!baseline) {
		ret = cm_serialize(mem, root, s->mode, MS_SYNC) ? 0 : -1;
	} else if (ftruncate(fd, (off_t)s->blob_size) == 0) {
		memcpy(base + s->table_offset, s->table, s->table_size);
		sink_hash ^= bench_xxh3(base + s->data_start,
					 s->data_end - s->data_start);
		ret = msync(base, s->blob_size, MS_SYNC);
	}
	ns = bench_now_ns() - t0;
	*ns_per_ptr = (double)ns / (double)(s->pointers ? s->pointers : 1);
	cm_delete(mem, CM_ERASE);
out:
	if (ret)
		fprintf(stderr, "cma-bench: %s: %s on shm: %s\n", s->what,
			baseline ? "baseline" : "cm_serialize MS_SYNC",
			strerror(errno));
	close(fd);
	return ret;
}

void measure_seal_shm(const struct bench_opts *o, const struct seal_src *s,
		      struct mode_result *r)
{
	double seal[BENCH_MAX_RUNS], base[BENCH_MAX_RUNS];
	int n = 0;

	for (; n < o->runs; n++)
		if (run_seal(s, true, &base[n]) || run_seal(s, false, &seal[n])) {
			bench_status = 1;
			break;
		}
	stat3_from(&r->fig[F_SEAL_SHM], seal, n);
	stat3_from(&r->fig[F_SEAL_SHM_BASE], base, n);
}
