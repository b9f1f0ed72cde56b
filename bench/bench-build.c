/* SPDX-License-Identifier: MIT */
/* cma-bench workloads, built by libcma or glibc malloc in fresh processes. */
#include <errno.h>
#include <fcntl.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cma.h"
#include "bench.h"

extern char **environ;

struct lnode {
	unsigned x;
	struct lnode *next;
};

struct gnode {
	int x;
	struct gnode *a, *b;
};

/* Fixed seeds: every run, and every process, builds the same graph. */
#define SEED_LINKS 0x0123456789abcdefULL
#define SEED_ORDER 0xfedcba9876543210ULL

static uint64_t splitmix64(uint64_t *s)
{
	uint64_t z = (*s += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

/* Uniform in [0, n): the multiply-shift bias is below 2^-32. */
static uint32_t below(uint64_t *s, uint32_t n)
{
	return (uint32_t)(((splitmix64(s) >> 32) * n) >> 32);
}

size_t wl_node_size(enum workload_kind k)
{
	return k == WL_LIST ? sizeof(struct lnode) : sizeof(struct gnode);
}

size_t wl_pointers(enum workload_kind k, size_t nodes)
{
	if (nodes == 0)
		return 0;
	return k == WL_LIST ? nodes - 1 : 2 * (nodes - 1);
}

static const char *const wl_names[] = { "list", "graph", "graph-shuffled" };

const char *wl_name(enum workload_kind k)
{
	return wl_names[k];
}

int wl_kind(const char *name, enum workload_kind *k)
{
	for (size_t i = 0; i < sizeof(wl_names) / sizeof(wl_names[0]); i++) {
		if (strcmp(name, wl_names[i]) == 0) {
			*k = (enum workload_kind)i;
			return 0;
		}
	}
	errno = EINVAL;
	return -1;
}

int links_prepare(struct links *l, enum workload_kind k, size_t nodes)
{
	uint64_t s = SEED_LINKS;

	memset(l, 0, sizeof(*l));
	if (k == WL_LIST)
		return 0;
	l->n = nodes;
	l->a = malloc(nodes * sizeof(*l->a));
	l->b = malloc(nodes * sizeof(*l->b));
	/* calloc would leave the pages unfaulted: the build would pay. */
	l->addr = malloc(nodes * sizeof(*l->addr));
	if (!l->a || !l->b || !l->addr)
		goto fail;
	memset(l->addr, 0, nodes * sizeof(*l->addr));
	l->a[0] = l->b[0] = 0;
	for (size_t i = 1; i < nodes; i++) {
		l->a[i] = below(&s, (uint32_t)i);
		l->b[i] = below(&s, (uint32_t)i);
	}
	if (k == WL_GRAPH_SHUFFLED) {
		uint64_t t = SEED_ORDER;

		l->order = malloc(nodes * sizeof(*l->order));
		if (!l->order)
			goto fail;
		for (size_t i = 0; i < nodes; i++)
			l->order[i] = (uint32_t)i;
		for (size_t i = nodes - 1; i > 0; i--) {
			uint32_t j = below(&t, (uint32_t)(i + 1));
			uint32_t x = l->order[i];

			l->order[i] = l->order[j];
			l->order[j] = x;
		}
	}
	return 0;
fail:
	links_free(l);
	errno = ENOMEM;
	return -1;
}

void links_free(struct links *l)
{
	free(l->a);
	free(l->b);
	free(l->order);
	free(l->addr);
	memset(l, 0, sizeof(*l));
}

/* Room for the data and the larger (absolute) table, plus slack. */
static size_t arena_capacity(enum workload_kind k, size_t nodes)
{
	return nodes * wl_node_size(k) + wl_pointers(k, nodes) * 8 +
	       (2u << 20);
}

struct cm_attr *build_cm(enum workload_kind k, size_t nodes,
			 const struct links *l, void **root, uint64_t *ns)
{
	return build_cm_fd(-1, MAP_PRIVATE, k, nodes, l, root, ns);
}

struct cm_attr *build_cm_fd(int fd, int share, enum workload_kind k,
			    size_t nodes, const struct links *l, void **root,
			    uint64_t *ns)
{
	size_t cap = arena_capacity(k, nodes);
	uint64_t t0 = bench_now_ns();
	struct cm_attr *mem = cm_create(fd, cap, share, 0);
	int e;

	if (!mem)
		return NULL;
	if (k == WL_LIST) {
		struct lnode *prev = NULL, *n;

		for (size_t i = 0; i < nodes; i++) {
			if (cm_alloc(mem, &n, sizeof(*n)))
				goto fail;
			n->x = (unsigned)i;
			if (prev && cm_ptr_to(mem, &n->next, prev))
				goto fail;
			prev = n;
		}
		*root = prev;
	} else {
		struct gnode **addr = (struct gnode **)l->addr;

		for (size_t i = 0; i < nodes; i++) {
			struct gnode *g;

			if (cm_alloc(mem, &addr[i], sizeof(*g)))
				goto fail;
			g = addr[i];
			g->x = (int)i;
			if (k != WL_GRAPH || i == 0)
				continue;
			if (cm_ptr_to(mem, &g->a, addr[l->a[i]]) ||
			    cm_ptr_to(mem, &g->b, addr[l->b[i]]))
				goto fail;
		}
		for (size_t j = 0; k == WL_GRAPH_SHUFFLED && j < nodes; j++) {
			uint32_t i = l->order[j];
			struct gnode *g = addr[i];

			if (i == 0)
				continue;
			if (cm_ptr_to(mem, &g->a, addr[l->a[i]]) ||
			    cm_ptr_to(mem, &g->b, addr[l->b[i]]))
				goto fail;
		}
		*root = addr[nodes - 1];
	}
	*ns = bench_now_ns() - t0;
	return mem;
fail:
	e = errno;
	cm_delete(mem, CM_ERASE);
	errno = e;
	return NULL;
}

/* The same structure from glibc malloc; *root as for build_cm. */
static int build_malloc(enum workload_kind k, size_t nodes,
			const struct links *l, void **root, uint64_t *ns)
{
	uint64_t t0 = bench_now_ns();

	if (k == WL_LIST) {
		struct lnode *prev = NULL, *n;

		for (size_t i = 0; i < nodes; i++) {
			n = malloc(sizeof(*n));
			if (!n)
				return -1;
			n->x = (unsigned)i;
			n->next = prev;
			prev = n;
		}
		*root = prev;
	} else {
		struct gnode **addr = (struct gnode **)l->addr;

		for (size_t i = 0; i < nodes; i++) {
			struct gnode *g = malloc(sizeof(*g));

			if (!g)
				return -1;
			addr[i] = g;
			g->x = (int)i;
			g->a = g->b = NULL;
			if (k == WL_GRAPH && i > 0) {
				g->a = addr[l->a[i]];
				g->b = addr[l->b[i]];
			}
		}
		for (size_t j = 0; k == WL_GRAPH_SHUFFLED && j < nodes; j++) {
			uint32_t i = l->order[j];

			if (i == 0)
				continue;
			addr[i]->a = addr[l->a[i]];
			addr[i]->b = addr[l->b[i]];
		}
		*root = addr[nodes - 1];
	}
	*ns = bench_now_ns() - t0;
	return 0;
}

static void free_malloc(enum workload_kind k, size_t nodes,
			const struct links *l, void *root)
{
	if (k == WL_LIST) {
		struct lnode *n = root;

		while (n) {
			struct lnode *next = n->next;

			free(n);
			n = next;
		}
		return;
	}
	for (size_t i = 0; i < nodes; i++)
		free(l->addr[i]);
}

/*
 * Peak RSS of this process's memory since exec, in bytes. Not getrusage():
 * its ru_maxrss keeps, across execve, the high-water mark of the memory the
 * process had before, and a child spawned by a large parent starts with the
 * parent's. VmHWM belongs to the new mm alone.
 */
static uint64_t peak_rss(void)
{
	FILE *f = fopen("/proc/self/status", "re");
	char line[256];
	unsigned long long kb = 0;

	while (f && fgets(line, sizeof(line), f))
		if (sscanf(line, "VmHWM: %llu kB", &kb) == 1)
			break;
	if (f)
		fclose(f);
	return kb * 1024;
}

int bench_child(const char *what, enum workload_kind k, size_t nodes, int fd)
{
	struct links l;
	struct cm_attr *mem = NULL;
	uint64_t ns = 0, warm = 0, blob = 0, rss = 0;
	void *root = NULL;
	int ret = -1;

	if (links_prepare(&l, k, nodes))
		return -1;
	if (strcmp(what, "cm") == 0) {
		mem = build_cm(k, nodes, &l, &root, &ns);
		if (!mem)
			goto out;
		rss = peak_rss();
		/* Only for the blob size that peak RSS is compared with. */
		if (!cm_serialize(mem, root, CM_RELATIVE_OFFSET, 0))
			goto out;
		blob = (uint64_t)cm_get_size(mem);
	} else {
		if (build_malloc(k, nodes, &l, &root, &ns))
			goto out;
		rss = peak_rss();
		free_malloc(k, nodes, &l, root);
		if (build_malloc(k, nodes, &l, &root, &warm))
			goto out;
		free_malloc(k, nodes, &l, root);
	}
	if (dprintf(fd, "%llu %llu %llu %llu\n", (unsigned long long)ns,
		    (unsigned long long)warm,
		    (unsigned long long)rss,
		    (unsigned long long)blob) < 0)
		goto out;
	ret = 0;
out:
	if (mem)
		cm_delete(mem, CM_ERASE);
	links_free(&l);
	return ret;
}

/* Fixed child descriptor for the report pipe. */
#define CHILD_FD 3

/* Run one build in a new process (this program again, so the heap is new). */
static int run_child(const struct bench_opts *o, const char *what,
		     enum workload_kind k, size_t nodes, uint64_t out[4])
{
	posix_spawn_file_actions_t fa;
	char nodes_arg[64], what_arg[64], wl_arg[64], fd_arg[32];
	char *argv[] = { (char *)o->self, what_arg, wl_arg, nodes_arg,
			 fd_arg, NULL };
	char buf[256];
	unsigned long long v[4];
	size_t got = 0;
	int fds[2] = { -1, -1 }, status, ret = -1;
	bool fa_init = false;
	pid_t pid = -1;
	ssize_t r;

	snprintf(what_arg, sizeof(what_arg), "--child=%s", what);
	snprintf(wl_arg, sizeof(wl_arg), "--child-workload=%s", wl_name(k));
	snprintf(nodes_arg, sizeof(nodes_arg), "--child-nodes=%zu", nodes);
	snprintf(fd_arg, sizeof(fd_arg), "--child-fd=%d", CHILD_FD);
	if (pipe2(fds, O_CLOEXEC))
		goto out;
	if (posix_spawn_file_actions_init(&fa))
		goto out;
	fa_init = true;
	/* A write end that is itself CHILD_FD would keep its close-on-exec. */
	if (fds[1] == CHILD_FD) {
		int d = fcntl(fds[1], F_DUPFD_CLOEXEC, 10);

		if (d < 0)
			goto out;
		close(fds[1]);
		fds[1] = d;
	}
	if (posix_spawn_file_actions_adddup2(&fa, fds[1], CHILD_FD))
		goto out;
	errno = posix_spawn(&pid, o->self, &fa, NULL, argv, environ);
	if (errno)
		goto out;
	close(fds[1]);
	fds[1] = -1;
	while (got < sizeof(buf) - 1 &&
	       (r = read(fds[0], buf + got, sizeof(buf) - 1 - got)) != 0) {
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			goto out;
		got += (size_t)r;
	}
	buf[got] = '\0';
	while (waitpid(pid, &status, 0) < 0) {
		if (errno != EINTR)
			goto out;
	}
	pid = -1;
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0 ||
	    sscanf(buf, "%llu %llu %llu %llu", &v[0], &v[1], &v[2], &v[3]) !=
		    4) {
		fprintf(stderr, "cma-bench: %s build of %s (%zu nodes) in a "
			"child process failed\n", what, wl_name(k), nodes);
		errno = EIO;
		goto out;
	}
	for (int i = 0; i < 4; i++)
		out[i] = v[i];
	ret = 0;
out:
	if (pid > 0)
		waitpid(pid, &status, 0);
	if (fa_init)
		posix_spawn_file_actions_destroy(&fa);
	if (fds[0] >= 0)
		close(fds[0]);
	if (fds[1] >= 0)
		close(fds[1]);
	return ret;
}

int measure_build(const struct bench_opts *o, struct wl_result *w)
{
	double cm[BENCH_MAX_RUNS], mc[BENCH_MAX_RUNS], mw[BENCH_MAX_RUNS];
	double crss[BENCH_MAX_RUNS], mrss[BENCH_MAX_RUNS];
	double per = (double)w->nodes;
	uint64_t v[4];
	int n = 0;

	/* Alternate the two allocators so a noisy spell hits both alike. */
	for (int r = 0; r < o->runs; r++) {
		if (run_child(o, "cm", w->kind, w->nodes, v))
			return -1;
		cm[n] = (double)v[0] / per;
		crss[n] = (double)v[2];
		w->build.blob_relative = v[3];
		if (run_child(o, "malloc", w->kind, w->nodes, v))
			return -1;
		mc[n] = (double)v[0] / per;
		mw[n] = (double)v[1] / per;
		mrss[n] = (double)v[2];
		n++;
	}
	stat3_from(&w->build.cm, cm, n);
	stat3_from(&w->build.malloc_cold, mc, n);
	stat3_from(&w->build.malloc_warm, mw, n);
	stat3_from(&w->build.cm_rss, crss, n);
	stat3_from(&w->build.malloc_rss, mrss, n);
	return 0;
}
