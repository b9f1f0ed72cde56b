/* SPDX-License-Identifier: MIT */
/* cma-bench: measures libcma against baselines measured in the same run. */
#include <argp.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cma.h"
#include "bench.h"

#ifndef CMA_BENCH_VERSION
#define CMA_BENCH_VERSION "unknown"
#endif

const char *argp_program_version = "cma-bench " CMA_BENCH_VERSION;

/* Full-size node counts; --nodes-scale multiplies them. */
#define LIST_NODES 10000000.0
#define GRAPH_NODES 4000000.0
#define SWEEP_FIRST 1000.0
#define TINY_SCALE 0.001
#define TINY_RUNS 3

enum {
	OPT_TINY = 1000,
	OPT_SCALE,
	OPT_TOOLS_DIR,
	OPT_SKIP_TOOLS,
	OPT_CHILD,
	OPT_CHILD_WL,
	OPT_CHILD_NODES,
	OPT_CHILD_FD,
	OPT_HASH_FILE,
	OPT_JSON_PRINTF,
};

struct args {
	struct bench_opts o;
	bool runs_set;
	bool tiny;
	const char *child;
	const char *child_wl;
	size_t child_nodes;
	int child_fd;
	const char *hash_file;
	const char *json_printf;
};

static const struct argp_option options[] = {
	{ "nodes-scale", OPT_SCALE, "X", 0,
	  "Multiply every node count by X (default 1)", 0 },
	{ "tiny", OPT_TINY, NULL, 0,
	  "A small smoke configuration: scale 0.001, 3 runs", 0 },
	{ "runs", 'r', "N", 0, "Runs per figure (default 5)", 0 },
	{ "json", 'j', "FILE", 0, "Also write the results as JSON to FILE",
	  0 },
	{ "workload", 'w', "NAME", 0,
	  "list, graph, graph-shuffled, sweep or all (default)", 0 },
	{ "threads", 't', "N", 0,
	  "Threads for cm_deserialize_mt (default 2)", 0 },
	{ "tools-dir", OPT_TOOLS_DIR, "DIR", 0,
	  "Where cma-verify, cma-convert and cma-dump are built", 0 },
	{ "skip-tools", OPT_SKIP_TOOLS, NULL, 0, "Do not time the tools", 0 },
	{ "child", OPT_CHILD, "ALLOC", OPTION_HIDDEN, NULL, 0 },
	{ "child-workload", OPT_CHILD_WL, "NAME", OPTION_HIDDEN, NULL, 0 },
	{ "child-nodes", OPT_CHILD_NODES, "N", OPTION_HIDDEN, NULL, 0 },
	{ "child-fd", OPT_CHILD_FD, "FD", OPTION_HIDDEN, NULL, 0 },
	{ "hash-file", OPT_HASH_FILE, "FILE", OPTION_HIDDEN, NULL, 0 },
	{ "json-printf", OPT_JSON_PRINTF, "FILE", OPTION_HIDDEN, NULL, 0 },
	{ 0 }
};

static int parse_long(const char *s, long lo, long hi, long *out)
{
	char *end;
	long v = 0;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || end == s || *end || v < lo || v > hi)
		return -1;
	*out = v;
	return 0;
}

static error_t parse_opt(int key, char *arg, struct argp_state *state)
{
	struct args *a = state->input;
	char *end;
	long v = 0;

	switch (key) {
	case OPT_SCALE:
		errno = 0;
		a->o.scale = strtod(arg, &end);
		if (errno || *end || !(a->o.scale > 0) || a->o.scale > 100)
			argp_error(state, "bad --nodes-scale: %s", arg);
		break;
	case OPT_TINY:
		a->tiny = true;
		break;
	case 'r':
		if (parse_long(arg, 1, BENCH_MAX_RUNS, &v))
			argp_error(state, "--runs: 1 to %d", BENCH_MAX_RUNS);
		a->o.runs = (int)v;
		a->runs_set = true;
		break;
	case 'j':
		a->o.json = arg;
		break;
	case 'w':
		a->o.workload = arg;
		break;
	case 't':
		if (parse_long(arg, 1, 64, &v))
			argp_error(state, "--threads: 1 to 64");
		a->o.threads = (int)v;
		break;
	case OPT_TOOLS_DIR:
		a->o.tools_dir = arg;
		break;
	case OPT_SKIP_TOOLS:
		a->o.skip_tools = true;
		break;
	case OPT_CHILD:
		a->child = arg;
		break;
	case OPT_CHILD_WL:
		a->child_wl = arg;
		break;
	case OPT_CHILD_NODES:
		if (parse_long(arg, 1, LONG_MAX, &v))
			argp_error(state, "bad --child-nodes");
		a->child_nodes = (size_t)v;
		break;
	case OPT_CHILD_FD:
		if (parse_long(arg, 0, INT_MAX, &v))
			argp_error(state, "bad --child-fd");
		a->child_fd = (int)v;
		break;
	case OPT_HASH_FILE:
		a->hash_file = arg;
		break;
	case OPT_JSON_PRINTF:
		a->json_printf = arg;
		break;
	case ARGP_KEY_ARG:
		argp_error(state, "no arguments expected");
		break;
	default:
		return ARGP_ERR_UNKNOWN;
	}
	return 0;
}

static const struct argp argp = {
	options, parse_opt, NULL,
	"Measure libcma's build, serialize, deserialize, load, check and "
	"tools against in-run baselines (glibc malloc, an ideal relocation "
	"loop, memcpy, XXH3, read, mmap). See doc/performance.md.",
	NULL, NULL, NULL
};

static size_t scaled(double n, double scale)
{
	double v = n * scale;

	return v < 2 ? 2 : (size_t)(v + 0.5);
}

static bool wanted(const char *sel, const char *name)
{
	return strcmp(sel, "all") == 0 || strcmp(sel, name) == 0;
}

/* Default tools directory: ../tools beside this executable's directory. */
static void default_tools_dir(struct bench_opts *o, char *buf, size_t len)
{
	char *slash;

	snprintf(buf, len, "%s", o->self);
	slash = strrchr(buf, '/');
	if (slash)
		*slash = '\0';
	slash = strrchr(buf, '/');
	if (slash)
		*slash = '\0';
	if (strlen(buf) + sizeof("/tools") <= len)
		strcat(buf, "/tools");
	o->tools_dir = buf;
}

static void progress(const char *what, const struct wl_result *w)
{
	fprintf(stderr, "cma-bench: %s %s (%zu nodes)\n", what, w->name,
		w->nodes);
}

/* Build figures, then both modes; false when a step failed outright. */
static void run_workload(const struct bench_opts *o, struct wl_result *w,
			 bool sweep)
{
	progress("build", w);
	if (measure_build(o, w))
		bench_status = 1;
	for (int mi = 0; mi < (sweep ? 1 : 2); mi++) {
		progress(mi ? "absolute" : "relative", w);
		measure_mode(o, w, mi, sweep);
	}
}

int main(int argc, char **argv)
{
	struct args a = { .o = { .scale = 1, .runs = 5, .threads = 2,
				 .workload = "all" } };
	struct wl_result res[16];
	char tools[PATH_MAX];
	size_t n = 0;
	ssize_t len;

	argp_err_exit_status = 2;
	argp_parse(&argp, argc, argv, 0, NULL, &a);
	if (a.hash_file)
		return bench_hash_file(a.hash_file) ? 1 : 0;
	if (a.json_printf)
		return bench_json_printf(a.json_printf) ? 1 : 0;
	if (a.child) {
		enum workload_kind k;

		if (!a.child_wl || wl_kind(a.child_wl, &k) || !a.child_nodes)
			return 2;
		return bench_child(a.child, k, a.child_nodes, a.child_fd) ? 1
									    : 0;
	}
	if (a.tiny) {
		a.o.scale = TINY_SCALE;
		if (!a.runs_set)
			a.o.runs = TINY_RUNS;
	}
	if (!wanted(a.o.workload, "list") && !wanted(a.o.workload, "graph") &&
	    !wanted(a.o.workload, "graph-shuffled") &&
	    !wanted(a.o.workload, "sweep")) {
		fprintf(stderr, "cma-bench: unknown workload '%s'\n",
			a.o.workload);
		return 2;
	}
	len = readlink("/proc/self/exe", a.o.self, sizeof(a.o.self) - 1);
	if (len <= 0) {
		perror("cma-bench: /proc/self/exe");
		return 1;
	}
	a.o.self[len] = '\0';
	if (!a.o.tools_dir)
		default_tools_dir(&a.o, tools, sizeof(tools));
	if (bench_make_tmpdir(&a.o)) {
		perror("cma-bench: mkdtemp");
		return 1;
	}

	for (int k = WL_LIST; k <= WL_GRAPH_SHUFFLED; k++) {
		struct wl_result *w = &res[n];

		if (!wanted(a.o.workload, wl_name(k)))
			continue;
		memset(w, 0, sizeof(*w));
		w->name = wl_name(k);
		w->kind = k;
		w->nodes = scaled(k == WL_LIST ? LIST_NODES : GRAPH_NODES,
				  a.o.scale);
		run_workload(&a.o, w, false);
		n++;
	}
	if (wanted(a.o.workload, "sweep")) {
		size_t top = scaled(LIST_NODES, a.o.scale);

		for (double s = SWEEP_FIRST; s <= top && n < 16; s *= 10) {
			struct wl_result *w = &res[n++];

			memset(w, 0, sizeof(*w));
			w->name = "sweep";
			w->kind = WL_LIST;
			w->nodes = (size_t)s;
			run_workload(&a.o, w, true);
		}
	}
	report_table(&a.o, res, n);
	if (fflush(stdout) || ferror(stdout)) {
		perror("cma-bench: stdout");
		bench_status = 1;
	}
	if (a.o.json && report_json(&a.o, res, n, a.o.json)) {
		fprintf(stderr, "cma-bench: %s: %s\n", a.o.json,
			strerror(errno));
		bench_status = 1;
	}
	return bench_status;
}
