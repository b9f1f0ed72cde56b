/* SPDX-License-Identifier: MIT */
/* cma-bench: every figure of one workload in one mode, with its baselines. */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#include "bench-xxh3.h"

#include "cma.h"
#include "bench.h"

/* What one run needs; each run function times only its own region. */
struct mctx {
	const struct bench_opts *o;
	const char *what;	/* "list relative", for messages */
	struct cm_attr *mem;
	void *root;
	int mode;
	uint8_t *pristine;	/* the blob as serialized */
	uint8_t *work;		/* faulted; overwritten before each run */
	size_t size;
	uint64_t base;		/* the recorded base */
	uint64_t root_off;
	uint64_t *slots;	/* sorted slot offsets, for the ideal loop */
	size_t nslots;
	char path[2048];	/* the blob file */
	int flags;		/* deserialize or cm_open flags */
	int threads;
	bool occupy;		/* hold the recorded base while loading */
	bool reserved;		/* [base, base + size) held PROT_NONE */
	int relocated;		/* cm_blob_relocated() of the last load */
	bool open_failed;	/* cm_open unusable: the fallback loads */
};

typedef int (*run_fn)(struct mctx *c, uint64_t *ns);

static volatile uint64_t sink;

static void barrier(void)
{
	__asm__ volatile("" ::: "memory");
}

static int run_serialize(struct mctx *c, uint64_t *ns)
{
	uint64_t t0 = bench_now_ns();
	void *p = cm_serialize(c->mem, c->root, c->mode, 0);

	*ns = bench_now_ns() - t0;
	if (!p) {
		fprintf(stderr, "cma-bench: %s: cm_serialize: %s\n", c->what,
			strerror(errno));
		return -1;
	}
	return 0;
}

static int run_memcpy(struct mctx *c, uint64_t *ns)
{
	uint64_t t0 = bench_now_ns();

	memcpy(c->work, c->pristine, c->size);
	barrier();
	*ns = bench_now_ns() - t0;
	return 0;
}

static int run_xxh3(struct mctx *c, uint64_t *ns)
{
	uint64_t t0 = bench_now_ns();

	sink ^= bench_xxh3(c->pristine, c->size);
	*ns = bench_now_ns() - t0;
	return 0;
}

static int run_memcpy_xxh3(struct mctx *c, uint64_t *ns)
{
	uint64_t t0 = bench_now_ns();

	memcpy(c->work, c->pristine, c->size);
	sink ^= bench_xxh3(c->work, c->size);
	*ns = bench_now_ns() - t0;
	return 0;
}

static int run_ideal(struct mctx *c, uint64_t *ns)
{
	uint64_t t0;

	memcpy(c->work, c->pristine, c->size);
	t0 = bench_now_ns();
	ideal_reloc(c->work, c->slots, c->nslots,
		    (uint64_t)(uintptr_t)c->work - c->base);
	barrier();
	*ns = bench_now_ns() - t0;
	return 0;
}

/* One thread's share of the ideal loop: slots [first, first + n). */
struct ideal_part {
	uint8_t *blob;
	const uint64_t *slots;
	size_t n;
	uint64_t delta;
};

static void *ideal_part(void *arg)
{
	struct ideal_part *p = arg;

	ideal_reloc(p->blob, p->slots, p->n, p->delta);
	return NULL;
}

/* What memory gives N threads: the ideal loop split as cm_deserialize_mt
 * splits the data, threads started inside the clock as it starts them. */
static int run_ideal_mt(struct mctx *c, uint64_t *ns)
{
	struct ideal_part parts[64];
	pthread_t tids[64];
	int n = c->o->threads < 64 ? c->o->threads : 64, started = 1;
	size_t step = (c->nslots + (size_t)n - 1) / (size_t)n;
	uint64_t t0;

	memcpy(c->work, c->pristine, c->size);
	for (int i = 0; i < n; i++) {
		size_t first = step * (size_t)i < c->nslots ? step * (size_t)i
							     : c->nslots;

		parts[i] = (struct ideal_part){
			.blob = c->work, .slots = c->slots + first,
			.n = c->nslots - first < step ? c->nslots - first : step,
			.delta = (uint64_t)(uintptr_t)c->work - c->base,
		};
	}
	t0 = bench_now_ns();
	for (; started < n; started++)
		if (pthread_create(&tids[started], NULL, ideal_part,
				   &parts[started]))
			break;
	ideal_part(&parts[0]);
	for (int i = 1; i < started; i++)
		pthread_join(tids[i], NULL);
	barrier();
	*ns = bench_now_ns() - t0;
	if (started < n) {
		fprintf(stderr, "cma-bench: %s: pthread_create failed\n",
			c->what);
		return -1;
	}
	return 0;
}

static int run_des(struct mctx *c, uint64_t *ns)
{
	struct cm_error err = { 0 };
	uint64_t t0;
	void *root;

	/* A relocated blob records its new base: start from the original. */
	memcpy(c->work, c->pristine, c->size);
	t0 = bench_now_ns();
	if (c->threads > 1)
		root = cm_deserialize_mt(c->work, c->size, c->flags,
					 c->threads, &err);
	else if (c->flags)
		root = cm_deserialize_flags(c->work, c->size, c->flags, &err);
	else
		root = cm_deserialize(c->work, c->size);
	*ns = bench_now_ns() - t0;
	if (root != c->work + c->root_off) {
		fprintf(stderr, "cma-bench: %s: cm_deserialize%s "
			"(flags %#x, %d threads): %s%s%s\n", c->what,
			c->threads > 1 ? "_mt" : "", (unsigned)c->flags,
			c->threads, root ? "wrong root" : strerror(errno),
			err.code ? ": " : "", err.code ? err.message : "");
		return -1;
	}
	return 0;
}

static int run_check(struct mctx *c, uint64_t *ns)
{
	struct cm_error err = { 0 };
	uint64_t t0 = bench_now_ns();
	int r = cm_check(c->pristine, c->size, c->flags, &err);

	*ns = bench_now_ns() - t0;
	if (r) {
		fprintf(stderr, "cma-bench: %s: cm_check: %s %s\n", c->what,
			r == CM_SCAN_SKIPPED ? "pointer scan skipped"
					     : strerror(errno), err.message);
		return -1;
	}
	return 0;
}

static int run_read(struct mctx *c, uint64_t *ns)
{
	uint64_t t0 = bench_now_ns();
	int fd = open(c->path, O_RDONLY | O_CLOEXEC);
	size_t got = 0;

	if (fd < 0)
		goto fail;
	while (got < c->size) {
		ssize_t r = read(fd, c->work + got, c->size - got);

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			goto fail;
		got += (size_t)r;
	}
	close(fd);
	*ns = bench_now_ns() - t0;
	return 0;
fail:
	fprintf(stderr, "cma-bench: %s: read: %s\n", c->path, strerror(errno));
	if (fd >= 0)
		close(fd);
	return -1;
}

/* Map a private copy of the file, as the original cma loads. */
static uint8_t *map_private(struct mctx *c)
{
	int fd = open(c->path, O_RDONLY | O_CLOEXEC);
	void *p;

	if (fd < 0)
		return NULL;
	p = mmap(NULL, c->size, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
	close(fd);
	return p == MAP_FAILED ? NULL : p;
}

static int run_mmap_ideal(struct mctx *c, uint64_t *ns)
{
	uint64_t t0 = bench_now_ns();
	uint8_t *p = map_private(c);

	if (!p) {
		fprintf(stderr, "cma-bench: %s: mmap: %s\n", c->path,
			strerror(errno));
		return -1;
	}
	ideal_reloc(p, c->slots, c->nslots, (uint64_t)(uintptr_t)p - c->base);
	barrier();
	*ns = bench_now_ns() - t0;
	munmap(p, c->size);
	return 0;
}

/* The path to a usable root when cm_open cannot be used. */
static int load_fallback(struct mctx *c, uint64_t *ns)
{
	uint64_t t0 = bench_now_ns();
	uint8_t *p = map_private(c);
	void *root;

	if (!p) {
		fprintf(stderr, "cma-bench: %s: mmap: %s\n", c->path,
			strerror(errno));
		return -1;
	}
	root = c->flags ? cm_deserialize_flags(p, c->size, CM_TRUSTED, NULL)
			: cm_deserialize(p, c->size);
	*ns = bench_now_ns() - t0;
	munmap(p, c->size);
	c->relocated = 1;
	if (root != p + c->root_off) {
		fprintf(stderr, "cma-bench: %s: cm_deserialize: %s\n",
			c->path, root ? "wrong root" : strerror(errno));
		return -1;
	}
	return 0;
}

/*
 * Hold the recorded base, from the arena's deletion on: thread stacks and
 * malloc arenas of other measurements would otherwise land there and turn
 * every cm_open into a relocated copy.
 */
static void reserve_base(struct mctx *c)
{
	void *want = (void *)(uintptr_t)c->base;
	void *p = mmap(want, c->size, PROT_NONE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE |
			       MAP_NORESERVE,
		       -1, 0);

	c->reserved = p == want;
	if (p != MAP_FAILED && p != want)
		munmap(p, c->size);	/* a kernel that ignored the hint */
}

static void release_base(struct mctx *c)
{
	if (c->reserved)
		munmap((void *)(uintptr_t)c->base, c->size);
	c->reserved = false;
}

static int run_load(struct mctx *c, uint64_t *ns)
{
	struct cm_blob *b = NULL;
	uint64_t t0;
	void *root;
	int ret = -1;

	/* The reservation is what takes the base when c->occupy. */
	if (!c->occupy)
		release_base(c);
	else if (!c->reserved) {
		errno = ENOTSUP;
		fprintf(stderr, "cma-bench: %s: cannot hold the recorded "
			"base\n", c->what);
		goto out;
	}
	if (c->open_failed) {
		ret = load_fallback(c, ns);
		goto out;
	}
	t0 = bench_now_ns();
	b = cm_open(c->path,
		    c->flags ? CM_OPEN_TRUSTED : 0);
	root = b ? cm_blob_root(b) : NULL;
	*ns = bench_now_ns() - t0;
	if (!b) {
		fprintf(stderr, "cma-bench: %s: cm_open: %s; loading with "
			"mmap + cm_deserialize instead\n", c->what,
			strerror(errno));
		c->open_failed = true;
		ret = load_fallback(c, ns);
		goto out;
	}
	c->relocated = cm_blob_relocated(b);
	if (!root) {
		fprintf(stderr, "cma-bench: %s: cm_blob_root: NULL\n", c->what);
		goto out;
	}
	ret = 0;
out:
	if (b)
		cm_close(b);
	if (!c->reserved)
		reserve_base(c);
	return ret;
}

/*
 * Run `fn` o->runs times into *s: ns / per (per pointer) or, with rate,
 * per / ns (bytes per ns is GB/s). A failed run leaves *s unmeasured.
 */
static int measure(struct mctx *c, struct stat3 *s, run_fn fn, double per,
		   bool rate)
{
	double v[BENCH_MAX_RUNS];
	int r;

	s->n = 0;
	for (r = 0; r < c->o->runs; r++) {
		uint64_t ns = 0;

		if (fn(c, &ns)) {
			bench_status = 1;
			return -1;
		}
		if (ns == 0)
			ns = 1;
		v[r] = rate ? per / (double)ns : (double)ns / per;
	}
	stat3_from(s, v, r);
	return 0;
}

static int write_file(const char *path, const uint8_t *p, size_t n)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	size_t done = 0;
	int ret = -1;

	if (fd < 0)
		return -1;
	while (done < n) {
		ssize_t w = write(fd, p + done, n - done);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			goto out;
		done += (size_t)w;
	}
	/* Write-back must not land inside a timed region; the page cache
	 * keeps the bytes, so loads stay warm. */
	if (fdatasync(fd))
		goto out;
	ret = 0;
out:
	close(fd);
	return ret;
}

static int collect_slots(struct mctx *c, size_t cap)
{
	struct cm_reloc_iter it;
	struct cm_reloc r;
	struct cm_error err = { 0 };
	int rc;

	c->nslots = 0;
	if (cm_reloc_begin(&it, c->pristine, c->size, &err))
		goto fail;
	while ((rc = cm_reloc_next(&it, &r, &err)) == 1) {
		if (c->nslots == cap) {
			errno = EOVERFLOW;
			goto fail;
		}
		c->slots[c->nslots++] = r.slot;
	}
	if (rc < 0)
		goto fail;
	return 0;
fail:
	fprintf(stderr, "cma-bench: %s: reading the table: %s %s\n", c->what,
		strerror(errno), err.message);
	return -1;
}

int measure_mode(const struct bench_opts *o, struct wl_result *w, int mi,
		 bool light)
{
	struct mode_result *r = &w->modes[mi];
	struct mctx c = { .o = o, .mode = mi == 0 ? CM_RELATIVE_OFFSET
						  : CM_ABSOLUTE_OFFSET };
	const char *mname = mi == 0 ? "relative" : "absolute";
	struct cm_header h;
	struct cm_error err = { 0 };
	struct links l;
	char what[128], shm[192];
	double ptrs, bytes;
	uint64_t ns;
	int ret = -1;

	snprintf(what, sizeof(what), "%s %s (%zu nodes)", w->name, mname,
		 w->nodes);
	c.what = what;
	memset(r, 0, sizeof(*r));
	r->load_relocated = r->load_relocated_forced = -1;
	if (links_prepare(&l, w->kind, w->nodes))
		goto out;
	c.mem = build_cm(w->kind, w->nodes, &l, &c.root, &ns);
	if (!c.mem) {
		fprintf(stderr, "cma-bench: %s: build: %s\n", what,
			strerror(errno));
		goto out;
	}
	/* Untimed first seal: later ones find the table's pages faulted,
	 * as the memcpy baseline finds its destination. */
	if (run_serialize(&c, &ns))
		goto out;
	c.size = (size_t)cm_get_size(c.mem);
	if (cm_header_read(cm_get_base(c.mem), c.size, &h, &err)) {
		fprintf(stderr, "cma-bench: %s: header: %s\n", what,
			err.message);
		goto out;
	}
	r->mode = c.mode;
	r->pointers = h.pointer_count;
	r->blob_bytes = h.blob_size;
	r->data_bytes = h.data_end - h.header_size;
	r->table_bytes = h.table_size;
	ptrs = h.pointer_count ? (double)h.pointer_count : 1;
	bytes = (double)c.size;
	c.base = h.base;
	c.root_off = h.root;
	if (measure(&c, &r->fig[F_SERIALIZE], run_serialize, ptrs, false))
		goto out;
	snprintf(shm, sizeof(shm), "/cma-bench-%d-%s-%zu-%s", (int)getpid(),
		 w->name, w->nodes, mname);
	if (!light) {
		const struct seal_src seal = {
			.what = what, .shm = shm, .kind = w->kind,
			.nodes = w->nodes, .links = &l, .mode = c.mode,
			.table = (const uint8_t *)cm_get_base(c.mem)
				 + h.table_offset,
			.table_offset = h.table_offset,
			.table_size = h.table_size,
			.data_start = h.header_size, .data_end = h.data_end,
			.blob_size = h.blob_size, .pointers = h.pointer_count,
		};

		measure_seal_shm(o, &seal, r);
	}

	c.pristine = bench_map(c.size);
	c.work = bench_map(c.size);
	c.slots = malloc((h.pointer_count + 1) * sizeof(*c.slots));
	if (!c.pristine || !c.work || !c.slots) {
		fprintf(stderr, "cma-bench: %s: %s\n", what, strerror(ENOMEM));
		goto out;
	}
	memcpy(c.pristine, cm_get_base(c.mem), c.size);
	/* Free the recorded base, so cm_open can map the file there. */
	cm_delete(c.mem, CM_ERASE);
	c.mem = NULL;
	reserve_base(&c);
	links_free(&l);
	if (collect_slots(&c, h.pointer_count + 1))
		goto out;
	snprintf(c.path, sizeof(c.path), "%s/%s-%zu-%s.cma", o->tmpdir,
		 w->name, w->nodes, mname);
	bench_track_file(0, c.path);
	if (write_file(c.path, c.pristine, c.size)) {
		fprintf(stderr, "cma-bench: %s: %s\n", c.path, strerror(errno));
		goto out;
	}

	measure(&c, &r->fig[F_MEMCPY], run_memcpy, ptrs, false);
	measure(&c, &r->fig[F_XXH3], run_xxh3, ptrs, false);
	measure(&c, &r->fig[F_XXH3_GBPS], run_xxh3, bytes, true);
	measure(&c, &r->fig[F_MEMCPY_XXH3], run_memcpy_xxh3, ptrs, false);
	measure(&c, &r->fig[F_IDEAL], run_ideal, ptrs, false);
	c.threads = 1;
	measure(&c, &r->fig[F_DES], run_des, ptrs, false);
	c.flags = CM_TRUSTED;
	measure(&c, &r->fig[F_DES_TRUSTED], run_des, ptrs, false);
	c.threads = o->threads;
	if (o->threads > 1) {
		measure(&c, &r->fig[F_IDEAL_MT], run_ideal_mt, ptrs, false);
		c.flags = 0;
		measure(&c, &r->fig[F_DES_MT], run_des, ptrs, false);
		c.flags = CM_TRUSTED;
		measure(&c, &r->fig[F_DES_MT_TRUSTED], run_des, ptrs, false);
	}
	c.threads = 1;
	c.flags = 0;
	measure(&c, &r->fig[F_CHECK], run_check, bytes, true);
	c.flags = CM_CHECK_POINTERS;
	measure(&c, &r->fig[F_CHECK_SCAN], run_check, bytes, true);
	c.flags = 0;
	measure(&c, &r->fig[F_READ], run_read, ptrs, false);
	if (light) {
		measure(&c, &r->fig[F_MMAP_IDEAL], run_mmap_ideal, ptrs,
			false);
	} else {
		const struct fault_src fresh = {
			.what = what, .path = c.path, .shm = shm,
			.blob = c.pristine, .size = c.size, .base = c.base,
			.root_off = c.root_off, .slots = c.slots,
			.nslots = c.nslots,
		};

		measure_faults(o, &fresh, r);
	}

	measure(&c, &r->fig[F_LOAD], run_load, ptrs, false);
	r->load_relocated = c.relocated;
	c.flags = CM_TRUSTED;
	c.relocated = -1;
	measure(&c, &r->fig[F_LOAD_TRUSTED], run_load, ptrs, false);
	c.flags = 0;
	c.occupy = true;
	c.relocated = -1;
	measure(&c, &r->fig[F_LOAD_RELOCATED], run_load, ptrs, false);
	r->load_relocated_forced = c.relocated;
	c.occupy = false;
	r->load_via = c.open_failed ? "mmap MAP_PRIVATE + cm_deserialize"
				    : "cm_open";

	if (!light && !o->skip_tools) {
		const struct tool_src ts = {
			.what = what, .path = c.path, .size = c.size,
			.mode = c.mode,
		};

		measure_tools(o, &ts, r);
	}
	ret = 0;
out:
	if (ret)
		bench_status = 1;
	if (c.mem)
		cm_delete(c.mem, CM_ERASE);
	links_free(&l);
	if (c.path[0]) {
		unlink(c.path);
		bench_track_file(0, NULL);
	}
	release_base(&c);
	if (c.pristine)
		bench_unmap(c.pristine, c.size);
	if (c.work)
		bench_unmap(c.work, c.size);
	free(c.slots);
	return ret;
}
