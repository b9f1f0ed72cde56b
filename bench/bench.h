/* SPDX-License-Identifier: MIT */
/* Declarations shared by the files of the cma-bench program. */
#ifndef CMA_BENCH_H
#define CMA_BENCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define BENCH_MAX_RUNS 99

/* The median, minimum and maximum of a figure's runs; n == 0: not measured. */
struct stat3 {
	double median, min, max;
	int n;
};

enum workload_kind { WL_LIST, WL_GRAPH, WL_GRAPH_SHUFFLED };

/* Run-wide options. */
struct bench_opts {
	double scale;		/* multiplies every node count */
	int runs;		/* runs per figure */
	int threads;		/* for cm_deserialize_mt */
	const char *json;	/* --json FILE, or NULL */
	const char *workload;	/* list|graph|graph-shuffled|sweep|all */
	const char *tools_dir;
	bool skip_tools;
	char self[4096];	/* this program, re-run for fresh processes */
	char tmpdir[1024];	/* files of the run; removed at exit */
};

/* Figures of one workload in one mode; units in fig_info[]. */
enum fig {
	F_SERIALIZE,
	F_MEMCPY,
	F_XXH3,
	F_MEMCPY_XXH3,
	F_IDEAL,
	F_IDEAL_MT,
	F_DES,
	F_DES_TRUSTED,
	F_DES_MT,
	F_DES_MT_TRUSTED,
	F_CHECK,
	F_CHECK_SCAN,
	F_XXH3_GBPS,
	F_READ,
	F_MMAP_IDEAL,
	F_LOAD,
	F_LOAD_TRUSTED,
	F_LOAD_RELOCATED,
	F_XXH3_FILE,		/* the tools, end to end: bench-tools.c */
	F_VERIFY,
	F_CP,
	F_CP_SYNC,
	F_CONVERT,
	F_CONVERT_SYNC,
	F_JSON_PRINTF,
	F_DUMP_JSON,
	F_DUMP_SUMMARY,
	F_FILE_POPULATED,	/* fresh private mappings: bench-fault.c */
	F_FILE_DES,
	F_SHM_NAIVE,
	F_SHM_POPULATED,
	F_SHM_DES,
	F_SEAL_SHM,
	F_SEAL_SHM_BASE,
	F_COUNT
};

struct fig_info {
	const char *key;	/* JSON key, also the unit's suffix */
	const char *label;	/* table row */
	const char *unit;
	bool baseline;		/* measured for comparison, not libcma */
};

extern const struct fig_info fig_info[F_COUNT];

struct mode_result {
	int mode;		/* 0: not measured */
	uint64_t pointers;
	uint64_t blob_bytes;
	uint64_t data_bytes;
	uint64_t table_bytes;
	struct stat3 fig[F_COUNT];
	const char *load_via;	/* "cm_open" or the fallback */
	int load_relocated;	/* cm_blob_relocated(), -1 unknown */
	int load_relocated_forced; /* the same with the base occupied */
	uint64_t dump_summary_bytes;	/* what plain cma-dump printed */
};

/* Build figures, each run in a fresh process. */
struct build_result {
	struct stat3 cm;		/* ns/node, cm_create to cm_ptr_to */
	struct stat3 malloc_cold;	/* ns/node, glibc malloc, new heap */
	struct stat3 malloc_warm;	/* ns/node, after freeing as many */
	struct stat3 cm_rss;		/* peak RSS, bytes */
	struct stat3 malloc_rss;
	uint64_t blob_relative;		/* the child's relative blob */
};

struct wl_result {
	const char *name;	/* "list", ..., "sweep" */
	enum workload_kind kind;
	size_t nodes;
	struct build_result build;
	struct mode_result modes[2];	/* relative, absolute */
};

/* ---- bench-util.c: shared helpers ---- */
uint64_t bench_now_ns(void);
/* Sort v[0..n) and fill *s. */
void stat3_from(struct stat3 *s, double *v, int n);
/* Anonymous memory advised for huge pages and faulted in; NULL on failure. */
void *bench_map(size_t len);
void bench_unmap(void *p, size_t len);
/* Register a file to remove at exit or on SIGINT/SIGTERM (NULL: forget);
 * slots 0 to 3. */
void bench_track_file(int slot, const char *path);
/* o->tmpdir made, and removed with the tracked files at exit. */
int bench_make_tmpdir(struct bench_opts *o);
extern int bench_status;	/* the exit status: 1 once something failed */
/* The ideal relocation loop: one add of delta at each of n sorted slots. */
void ideal_reloc(uint8_t *blob, const uint64_t *slots, size_t n,
		 uint64_t delta);

/* ---- bench-build.c: workloads and the fresh-process build ---- */
size_t wl_node_size(enum workload_kind k);
size_t wl_pointers(enum workload_kind k, size_t nodes);
int wl_kind(const char *name, enum workload_kind *k);
const char *wl_name(enum workload_kind k);

/* Links of the graph workloads, made before any timing. */
struct links {
	uint32_t *a, *b;	/* node i links to a[i], b[i] (< i) */
	uint32_t *order;	/* link-setting order (shuffled only) */
	void **addr;		/* node index -> address */
	size_t n;
};
int links_prepare(struct links *l, enum workload_kind k, size_t nodes);
void links_free(struct links *l);

struct cm_attr;
/*
 * Build the workload in a new arena. *ns: from before cm_create to after the
 * last cm_ptr_to. @return the arena (root in *root); NULL with errno.
 */
struct cm_attr *build_cm(enum workload_kind k, size_t nodes,
			 const struct links *l, void **root, uint64_t *ns);
/* The same in an arena on fd (cm_create's fd and MAP_SHARED or
 * MAP_PRIVATE). */
struct cm_attr *build_cm_fd(int fd, int share, enum workload_kind k,
			    size_t nodes, const struct links *l, void **root,
			    uint64_t *ns);
/* The hidden --child entry point: build once, report through fd. */
int bench_child(const char *what, enum workload_kind k, size_t nodes,
		int fd);
/* Fill b->build from `runs` fresh processes per allocator. */
int measure_build(const struct bench_opts *o, struct wl_result *w);

/* ---- bench-measure.c: the figures of one workload in one mode ---- */
int measure_mode(const struct bench_opts *o, struct wl_result *w, int mi,
		 bool light);

/* ---- bench-fault.c: fresh mappings, the seal on shared memory ---- */

/* A blob as a consumer finds it: a file, and a shm object to make. */
struct fault_src {
	const char *what;	/* for messages */
	const char *path;	/* the blob file */
	const char *shm;	/* "/name" of the shm object to create */
	const uint8_t *blob;	/* its bytes */
	size_t size;
	uint64_t base, root_off;
	const uint64_t *slots;	/* sorted slot offsets, for the ideal loop */
	size_t nslots;
};
/* F_MMAP_IDEAL, F_FILE_* and F_SHM_*, the ways interleaved run by run. */
void measure_faults(const struct bench_opts *o, const struct fault_src *s,
		    struct mode_result *r);

/* What the producer's seal on shm builds, and the baseline writes. */
struct seal_src {
	const char *what;
	const char *shm;	/* "/name" for the arenas' objects */
	enum workload_kind kind;
	size_t nodes;
	const struct links *links;
	int mode;
	const uint8_t *table;	/* the blob's table bytes */
	uint64_t table_offset, table_size;
	uint64_t data_start, data_end, blob_size, pointers;
};
/* F_SEAL_SHM and F_SEAL_SHM_BASE, each run on a new arena. */
void measure_seal_shm(const struct bench_opts *o, const struct seal_src *s,
		      struct mode_result *r);

/* ---- bench-tools.c: the tools end to end, in fresh processes ---- */

/* The blob file the tools run on. */
struct tool_src {
	const char *what;	/* for messages */
	const char *path;
	size_t size;
	int mode;
};
/* F_XXH3_FILE .. F_DUMP_SUMMARY, each tool interleaved with its baseline. */
void measure_tools(const struct bench_opts *o, const struct tool_src *s,
		   struct mode_result *r);
/* The hidden --hash-file entry point: XXH3 of a file read as the tools
 * read it. @return 0; -1 (reported). */
int bench_hash_file(const char *path);
/* The hidden --json-printf entry point: cma-dump --json's slot list as
 * its writer made it before, one printf() an entry. @return 0; -1. */
int bench_json_printf(const char *path);

/* ---- bench-report.c ---- */
void report_table(const struct bench_opts *o, const struct wl_result *r,
		  size_t n);
int report_json(const struct bench_opts *o, const struct wl_result *r,
		size_t n, const char *path);

#endif /* CMA_BENCH_H */
