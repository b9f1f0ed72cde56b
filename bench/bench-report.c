/* SPDX-License-Identifier: MIT */
/* cma-bench output: the readable table, the goals' ratios, the JSON file. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <unistd.h>
#include <xxhash.h>

#include "bench-xxh3.h"

#include "cma.h"
#include "bench.h"

const struct fig_info fig_info[F_COUNT] = {
	[F_SERIALIZE] = { "serialize_ns_per_ptr",
		"cm_serialize (checksum included)", "ns/ptr", false },
	[F_MEMCPY] = { "memcpy_ns_per_ptr", "memcpy of the blob", "ns/ptr",
		true },
	[F_XXH3] = { "xxh3_ns_per_ptr", BENCH_XXH3_NAME,
		"ns/ptr", true },
	[F_MEMCPY_XXH3] = { "memcpy_xxh3_ns_per_ptr",
		"memcpy + XXH3 of the blob", "ns/ptr", true },
	[F_IDEAL] = { "ideal_reloc_ns_per_ptr", "ideal relocation loop",
		"ns/ptr", true },
	[F_IDEAL_MT] = { "ideal_reloc_mt_ns_per_ptr",
		"ideal relocation loop, N threads", "ns/ptr", true },
	[F_DES] = { "deserialize_ns_per_ptr", "cm_deserialize (checked)",
		"ns/ptr", false },
	[F_DES_TRUSTED] = { "deserialize_trusted_ns_per_ptr",
		"cm_deserialize CM_TRUSTED", "ns/ptr", false },
	[F_DES_MT] = { "deserialize_mt_ns_per_ptr",
		"cm_deserialize_mt (checked)", "ns/ptr", false },
	[F_DES_MT_TRUSTED] = { "deserialize_mt_trusted_ns_per_ptr",
		"cm_deserialize_mt CM_TRUSTED", "ns/ptr", false },
	[F_CHECK] = { "check_gb_per_s", "cm_check", "GB/s", false },
	[F_CHECK_SCAN] = { "check_scan_gb_per_s", "cm_check CM_CHECK_POINTERS",
		"GB/s", false },
	[F_XXH3_GBPS] = { "xxh3_gb_per_s", BENCH_XXH3_NAME, "GB/s",
		true },
	[F_READ] = { "read_file_ns_per_ptr", "open + read() of the file",
		"ns/ptr", true },
	[F_MMAP_IDEAL] = { "mmap_private_ideal_ns_per_ptr",
		"mmap MAP_PRIVATE + ideal loop", "ns/ptr", true },
	[F_LOAD] = { "load_ns_per_ptr", "load from file (checked)", "ns/ptr",
		false },
	[F_LOAD_TRUSTED] = { "load_trusted_ns_per_ptr",
		"load from file CM_OPEN_TRUSTED", "ns/ptr", false },
	[F_LOAD_RELOCATED] = { "load_relocated_ns_per_ptr",
		"load, recorded base taken", "ns/ptr", false },
	[F_XXH3_FILE] = { "xxh3_file_mb_per_s",
		"XXH3 of the file, own process", "MB/s", true },
	[F_VERIFY] = { "cma_verify_mb_per_s", "cma-verify FILE", "MB/s",
		false },
	[F_CP] = { "cp_mb_per_s", "cp of a file of OUT's size", "MB/s",
		true },
	[F_CP_SYNC] = { "cp_sync_mb_per_s", "cp + sync of that copy", "MB/s",
		true },
	[F_CONVERT] = { "cma_convert_mb_per_s", "cma-convert (other mode)",
		"MB/s", false },
	[F_CONVERT_SYNC] = { "cma_convert_sync_mb_per_s",
		"cma-convert --sync", "MB/s", false },
	[F_JSON_PRINTF] = { "json_printf_mb_per_s",
		"JSON slot list by printf", "MB/s", true },
	[F_DUMP_JSON] = { "cma_dump_json_mb_per_s", "cma-dump --json",
		"MB/s", false },
	[F_DUMP_SUMMARY] = { "cma_dump_summary_s", "cma-dump FILE (summary)",
		"s", false },
	[F_FILE_POPULATED] = { "file_private_populated_ideal_ns_per_ptr",
		"private file, populated+ideal", "ns/ptr", true },
	[F_FILE_DES] = { "file_private_deserialize_ns_per_ptr",
		"private file + cm_deserialize", "ns/ptr", false },
	[F_SHM_NAIVE] = { "shm_private_ideal_ns_per_ptr",
		"private shm + ideal loop", "ns/ptr", true },
	[F_SHM_POPULATED] = { "shm_private_populated_ideal_ns_per_ptr",
		"private shm, populated+ideal", "ns/ptr", true },
	[F_SHM_DES] = { "shm_private_deserialize_ns_per_ptr",
		"private shm + cm_deserialize", "ns/ptr", false },
	[F_SEAL_SHM] = { "seal_shm_sync_ns_per_ptr",
		"shm build, serialize MS_SYNC", "ns/ptr", false },
	[F_SEAL_SHM_BASE] = { "seal_shm_baseline_ns_per_ptr",
		"table to fresh shm+XXH3+msync", "ns/ptr", true },
};

/* One performance goal, as measured: ratio against its bound. */
struct target {
	int id;
	const char *what;
	const char *workload;
	const char *mode;	/* "" when the figure has none */
	double ratio;
	double bound;
	bool at_least;		/* ratio >= bound; otherwise <= */
};

#define MAX_TARGETS 160

/* Each goal's name, by id (doc/performance.md, "Goals"). */
static const char *goal_name(int id)
{
	static const char *const names[] = {
		"", "build", "relocate", "layout", "load", "check", "seal",
		"threads", "memory", "scan", "faults", "shm-seal", "tools",
	};

	return id > 0 && id < (int)(sizeof(names) / sizeof(names[0])) ?
		       names[id] : "";
}

static const char *mode_name(int mi)
{
	return mi == 0 ? "relative" : "absolute";
}

static bool have(const struct stat3 *s)
{
	return s->n > 0 && s->median > 0;
}

static void add(struct target *t, size_t *n, int id, const char *what,
		const char *wl, const char *mode, double ratio, double bound,
		bool at_least)
{
	if (*n == MAX_TARGETS)
		return;
	t[*n] = (struct target){ id, what, wl, mode, ratio, bound, at_least };
	(*n)++;
}

static const struct wl_result *find(const struct wl_result *r, size_t n,
				    const char *name)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(r[i].name, name) == 0)
			return &r[i];
	return NULL;
}

/* Ratios of the fault path (10) and the seal on shm (11): a / b <= bound. */
static const struct {
	int id;
	enum fig a, b;
	const char *what;
	double bound;
} fault_ratios[] = {
	{ 10, F_FILE_DES, F_FILE_POPULATED, "file: deserialize / populated",
	  1.2 },
	{ 10, F_FILE_DES, F_MMAP_IDEAL, "file: deserialize / naive loop", 0.6 },
	{ 10, F_SHM_DES, F_SHM_POPULATED, "shm: deserialize / populated", 1.2 },
	{ 10, F_SHM_DES, F_SHM_NAIVE, "shm: deserialize / naive loop", 0.6 },
	{ 10, F_LOAD_RELOCATED, F_FILE_POPULATED,
	  "cm_open relocating / populated", 1.2 },
	{ 10, F_LOAD_RELOCATED, F_MMAP_IDEAL,
	  "cm_open relocating / naive loop", 0.6 },
	{ 11, F_SEAL_SHM, F_SEAL_SHM_BASE, "seal on shm / table + XXH3",
	  1.1 },
};

static void add_fault_ratios(struct target *t, size_t *k,
			     const struct wl_result *w, int mi)
{
	const struct stat3 *f = w->modes[mi].fig;

	for (size_t i = 0; i < sizeof(fault_ratios) / sizeof(*fault_ratios);
	     i++) {
		const struct stat3 *a = &f[fault_ratios[i].a];
		const struct stat3 *b = &f[fault_ratios[i].b];

		if (have(a) && have(b))
			add(t, k, fault_ratios[i].id, fault_ratios[i].what,
			    w->name, mode_name(mi), a->median / b->median,
			    fault_ratios[i].bound, false);
	}
}

/* The tools end to end (12): each against its baseline program. */
static void add_tool_ratios(struct target *t, size_t *k,
			    const struct wl_result *w, int mi)
{
	const struct stat3 *f = w->modes[mi].fig;

	if (have(&f[F_VERIFY]) && have(&f[F_XXH3_FILE]))
		add(t, k, 12, "cma-verify / XXH3 of the file", w->name,
		    mode_name(mi), f[F_VERIFY].median / f[F_XXH3_FILE].median,
		    0.6, true);
	if (have(&f[F_CONVERT]) && have(&f[F_CP]))
		add(t, k, 12, "cma-convert / cp of OUT's size", w->name,
		    mode_name(mi), f[F_CONVERT].median / f[F_CP].median, 0.8,
		    true);
	/* Both made durable: OUT fsynced, the copy synced. */
	if (have(&f[F_CONVERT_SYNC]) && have(&f[F_CP_SYNC]))
		add(t, k, 12, "cma-convert --sync / (cp + sync)", w->name,
		    mode_name(mi),
		    f[F_CONVERT_SYNC].median / f[F_CP_SYNC].median, 0.8, true);
	if (have(&f[F_DUMP_JSON]) && have(&f[F_JSON_PRINTF]))
		add(t, k, 12, "cma-dump --json / printf writer", w->name,
		    mode_name(mi),
		    f[F_DUMP_JSON].median / f[F_JSON_PRINTF].median, 6.0,
		    true);
	if (have(&f[F_DUMP_SUMMARY]))
		add(t, k, 12, "cma-dump summary, seconds", w->name,
		    mode_name(mi), f[F_DUMP_SUMMARY].median, 0.1, false);
}

static size_t targets(const struct wl_result *r, size_t n, struct target *t)
{
	const struct wl_result *list = find(r, n, "list");
	const struct wl_result *g = find(r, n, "graph");
	const struct wl_result *gs = find(r, n, "graph-shuffled");
	size_t k = 0;

	if (list && have(&list->build.cm) && have(&list->build.malloc_cold))
		add(t, &k, 1, "build: cm / glibc malloc, both cold", "list",
		    "", list->build.cm.median / list->build.malloc_cold.median,
		    0.5, false);
	for (size_t i = 0; i < n; i++) {
		const struct wl_result *w = &r[i];

		if (strcmp(w->name, "sweep") == 0)
			continue;
		for (int mi = 0; mi < 2; mi++) {
			const struct mode_result *m = &w->modes[mi];
			const struct stat3 *f = m->fig;

			if (!m->mode)
				continue;
			add_fault_ratios(t, &k, w, mi);
			if (have(&f[F_DES]) && have(&f[F_IDEAL]))
				add(t, &k, 2, "deserialize / ideal loop",
				    w->name, mode_name(mi),
				    f[F_DES].median / f[F_IDEAL].median, 1.3,
				    false);
			if (have(&f[F_DES_TRUSTED]) && have(&f[F_IDEAL]))
				add(t, &k, 2, "trusted deserialize / ideal",
				    w->name, mode_name(mi),
				    f[F_DES_TRUSTED].median /
					    f[F_IDEAL].median,
				    1.1, false);
			if (mi == 0 && m->pointers)
				add(t, &k, 3, "relative table bytes / ptr",
				    w->name, mode_name(mi),
				    (double)m->table_bytes /
					    (double)m->pointers,
				    1.0, false);
			if (have(&f[F_LOAD]) && have(&f[F_MMAP_IDEAL]))
				add(t, &k, 4, "load / (mmap private + ideal)",
				    w->name, mode_name(mi),
				    f[F_LOAD].median / f[F_MMAP_IDEAL].median,
				    0.5, false);
			if (w == list && have(&f[F_CHECK]) &&
			    have(&f[F_XXH3_GBPS]))
				add(t, &k, 5, "cm_check / XXH3 throughput",
				    w->name, mode_name(mi),
				    f[F_CHECK].median / f[F_XXH3_GBPS].median,
				    0.7, true);
			if ((w == list || w == g) && have(&f[F_CHECK]) &&
			    have(&f[F_CHECK_SCAN]))
				add(t, &k, 9, "cm_check: with / without scan",
				    w->name, mode_name(mi),
				    f[F_CHECK_SCAN].median / f[F_CHECK].median,
				    0.75, true);
			if (w == list)
				add_tool_ratios(t, &k, w, mi);
			if (have(&f[F_SERIALIZE]) && have(&f[F_MEMCPY_XXH3]))
				add(t, &k, 6, "serialize / (memcpy + XXH3)",
				    w->name, mode_name(mi),
				    f[F_SERIALIZE].median /
					    f[F_MEMCPY_XXH3].median,
				    1.0, false);
			if (have(&f[F_IDEAL]) && have(&f[F_IDEAL_MT]))
				add(t, &k, 7, "[base] ideal loop, 1 / N threads",
				    w->name, mode_name(mi),
				    f[F_IDEAL].median / f[F_IDEAL_MT].median,
				    1.7, true);
			if (have(&f[F_DES]) && have(&f[F_DES_MT]))
				add(t, &k, 7, "1 thread / N threads (checked)",
				    w->name, mode_name(mi),
				    f[F_DES].median / f[F_DES_MT].median, 1.7,
				    true);
			if (have(&f[F_DES_TRUSTED]) &&
			    have(&f[F_DES_MT_TRUSTED]))
				add(t, &k, 7, "1 thread / N threads (trusted)",
				    w->name, mode_name(mi),
				    f[F_DES_TRUSTED].median /
					    f[F_DES_MT_TRUSTED].median,
				    1.7, true);
			/* The hardware bounds the speed-up: against the
			 * ideal loop's on as many threads. */
			if (have(&f[F_DES]) && have(&f[F_DES_MT]) &&
			    have(&f[F_IDEAL]) && have(&f[F_IDEAL_MT]))
				add(t, &k, 7, "checked speed-up / ideal's",
				    w->name, mode_name(mi),
				    (f[F_DES].median / f[F_DES_MT].median) /
					    (f[F_IDEAL].median /
					     f[F_IDEAL_MT].median),
				    0.85, true);
		}
	}
	for (int mi = 0; g && gs && mi < 2; mi++) {
		const struct stat3 *a = g->modes[mi].fig;
		const struct stat3 *b = gs->modes[mi].fig;

		if (have(&a[F_SERIALIZE]) && have(&b[F_SERIALIZE]))
			add(t, &k, 3, "serialize: shuffled / graph",
			    "graph-shuffled", mode_name(mi),
			    b[F_SERIALIZE].median / a[F_SERIALIZE].median, 1.1,
			    false);
		if (have(&a[F_DES]) && have(&b[F_DES]))
			add(t, &k, 3, "deserialize: shuffled / graph",
			    "graph-shuffled", mode_name(mi),
			    b[F_DES].median / a[F_DES].median, 1.1, false);
	}
	if (list && have(&list->build.cm_rss) && list->build.blob_relative)
		add(t, &k, 8, "peak RSS building / blob size", "list",
		    "relative", list->build.cm_rss.median /
				(double)list->build.blob_relative,
		    1.15, false);
	return k;
}

static bool met(const struct target *t)
{
	return t->at_least ? t->ratio >= t->bound : t->ratio <= t->bound;
}

/* Three significant digits without exponents: 0.123, 12.3, 12345. */
static const char *num(char *buf, size_t len, double v)
{
	double a = v < 0 ? -v : v;

	if (a >= 100)
		snprintf(buf, len, "%.0f", v);
	else if (a >= 10)
		snprintf(buf, len, "%.1f", v);
	else if (a >= 1)
		snprintf(buf, len, "%.2f", v);
	else
		snprintf(buf, len, "%.3f", v);
	return buf;
}

static void row(const char *label, const char *unit, const struct stat3 *s,
		double scale)
{
	char a[32], b[32], c[32];

	if (!s->n) {
		printf("    %-36s %-7s %10s\n", label, unit, "-");
		return;
	}
	printf("    %-36s %-7s %10s %10s %10s\n", label, unit,
	       num(a, sizeof(a), s->median * scale),
	       num(b, sizeof(b), s->min * scale),
	       num(c, sizeof(c), s->max * scale));
}

static const char *how_loaded(int relocated)
{
	if (relocated == 0)
		return "mapped at the recorded base";
	return relocated == 1 ? "relocated copy" : "?";
}

static void table_workload(const struct wl_result *w)
{
	const double mib = 1.0 / (1024 * 1024);

	printf("\n%s: %zu nodes of %zu bytes\n", w->name, w->nodes,
	       wl_node_size(w->kind));
	printf("  build, each run in a fresh process %17s %10s %10s\n",
	       "median", "min", "max");
	row("cm_create .. last cm_ptr_to", "ns/node", &w->build.cm, 1);
	row("glibc malloc, new heap", "ns/node", &w->build.malloc_cold, 1);
	row("glibc malloc, warm heap", "ns/node", &w->build.malloc_warm, 1);
	row("peak RSS building, libcma", "MiB", &w->build.cm_rss, mib);
	row("peak RSS building, glibc malloc", "MiB", &w->build.malloc_rss,
	    mib);
	for (int mi = 0; mi < 2; mi++) {
		const struct mode_result *m = &w->modes[mi];

		if (!m->mode)
			continue;
		printf("  %s: %llu pointers, blob %.1f MiB, table %.2f B/ptr\n",
		       mode_name(mi), (unsigned long long)m->pointers,
		       (double)m->blob_bytes * mib,
		       m->pointers ? (double)m->table_bytes /
					     (double)m->pointers
				   : 0.0);
		if (m->dump_summary_bytes)
			printf("    cma-dump's summary: %llu bytes of text\n",
			       (unsigned long long)m->dump_summary_bytes);
		printf("    load via %s: %s; with the base taken: %s\n",
		       m->load_via ? m->load_via : "-",
		       how_loaded(m->load_relocated),
		       how_loaded(m->load_relocated_forced));
		for (int f = 0; f < F_COUNT; f++) {
			char label[64];

			snprintf(label, sizeof(label), "%s%s",
				 fig_info[f].baseline ? "[base] " : "",
				 fig_info[f].label);
			row(label, fig_info[f].unit, &m->fig[f], 1);
		}
	}
}

static void table_sweep(const struct wl_result *r, size_t n)
{
	static const enum fig cols[] = { F_SERIALIZE, F_DES, F_DES_TRUSTED,
					 F_IDEAL, F_LOAD, F_MMAP_IDEAL,
					 F_CHECK };
	bool any = false;

	for (size_t i = 0; i < n; i++) {
		const struct wl_result *w = &r[i];
		char a[32];

		if (strcmp(w->name, "sweep") != 0)
			continue;
		if (!any) {
			printf("\nsweep: list, relative mode, medians; build "
			       "in ns/node, check in GB/s, others ns/ptr\n");
			printf("%9s %6s %6s %6s %6s %6s %6s %6s %6s %6s\n",
			       "nodes", "build", "malloc", "serial", "deser",
			       "trust", "ideal", "load", "mm+id", "check");
			any = true;
		}
		printf("%9zu", w->nodes);
		printf(" %6s", w->build.cm.n ? num(a, sizeof(a),
						   w->build.cm.median) : "-");
		printf(" %6s", w->build.malloc_cold.n
				       ? num(a, sizeof(a),
					     w->build.malloc_cold.median)
				       : "-");
		for (size_t c = 0; c < sizeof(cols) / sizeof(cols[0]); c++) {
			const struct stat3 *s = &w->modes[0].fig[cols[c]];

			printf(" %6s",
			       s->n ? num(a, sizeof(a), s->median) : "-");
		}
		printf("\n");
	}
}

void report_table(const struct bench_opts *o, const struct wl_result *r,
		  size_t n)
{
	struct target t[MAX_TARGETS];
	size_t k;

	printf("cma-bench: medians of %d runs (min and max beside), %d "
	       "threads for _mt\n", o->runs, o->threads);
	printf("[base] rows are baselines measured in the same run\n");
	for (size_t i = 0; i < n; i++)
		if (strcmp(r[i].name, "sweep") != 0)
			table_workload(&r[i]);
	table_sweep(r, n);
	k = targets(r, n, t);
	if (!k)
		return;
	printf("\ngoals (ratios of medians, same run)\n");
	printf("  %-8s %-34s %-15s %-8s %7s %8s  %s\n", "goal", "ratio",
	       "workload", "mode", "value", "bound", "");
	for (size_t i = 0; i < k; i++) {
		char a[32];

		printf("  %-8s %-34s %-15s %-8s %7s %2s %5.2f  %s\n",
		       goal_name(t[i].id),
		       t[i].what, t[i].workload, t[i].mode,
		       num(a, sizeof(a), t[i].ratio),
		       t[i].at_least ? ">=" : "<=", t[i].bound,
		       met(&t[i]) ? "met" : "MISSED");
	}
}

/* ---- JSON ---- */

static void jstr(FILE *f, const char *s)
{
	fputc('"', f);
	for (; s && *s; s++) {
		unsigned char ch = (unsigned char)*s;

		if (ch == '"' || ch == '\\')
			fprintf(f, "\\%c", ch);
		else if (ch < 0x20)
			fprintf(f, "\\u%04x", ch);
		else
			fputc(ch, f);
	}
	fputc('"', f);
}

static void jstat(FILE *f, const char *key, const struct stat3 *s,
		  const char *sep)
{
	fprintf(f, "%s\"%s\": ", sep, key);
	if (!s->n) {
		fprintf(f, "null");
		return;
	}
	fprintf(f, "{\"median\": %.10g, \"min\": %.10g, \"max\": %.10g, "
		"\"runs\": %d}", s->median, s->min, s->max, s->n);
}

static void json_workload(FILE *f, const struct wl_result *w)
{
	const struct build_result *b = &w->build;
	const char *sep = "";

	fprintf(f, "    {\"name\": ");
	jstr(f, w->name);
	fprintf(f, ", \"kind\": ");
	jstr(f, wl_name(w->kind));
	fprintf(f, ", \"nodes\": %zu, \"node_bytes\": %zu,\n", w->nodes,
		wl_node_size(w->kind));
	fprintf(f, "     \"build\": {");
	jstat(f, "cm_ns_per_node", &b->cm, "");
	jstat(f, "malloc_cold_ns_per_node", &b->malloc_cold, ",\n       ");
	jstat(f, "malloc_warm_ns_per_node", &b->malloc_warm, ",\n       ");
	jstat(f, "cm_peak_rss_bytes", &b->cm_rss, ",\n       ");
	jstat(f, "malloc_peak_rss_bytes", &b->malloc_rss, ",\n       ");
	fprintf(f, ",\n       \"blob_relative_bytes\": %llu},\n",
		(unsigned long long)b->blob_relative);
	fprintf(f, "     \"modes\": [");
	for (int mi = 0; mi < 2; mi++) {
		const struct mode_result *m = &w->modes[mi];

		if (!m->mode)
			continue;
		fprintf(f, "%s\n      {\"mode\": \"%s\", \"pointers\": %llu, "
			"\"blob_bytes\": %llu, \"data_bytes\": %llu, "
			"\"table_bytes\": %llu,\n       \"load_via\": ",
			sep, mode_name(mi), (unsigned long long)m->pointers,
			(unsigned long long)m->blob_bytes,
			(unsigned long long)m->data_bytes,
			(unsigned long long)m->table_bytes);
		jstr(f, m->load_via ? m->load_via : "");
		fprintf(f, ", \"load_relocated\": %d, "
			"\"load_relocated_forced\": %d, "
			"\"dump_summary_bytes\": %llu,\n       \"figures\": {",
			m->load_relocated, m->load_relocated_forced,
			(unsigned long long)m->dump_summary_bytes);
		for (int i = 0; i < F_COUNT; i++)
			jstat(f, fig_info[i].key, &m->fig[i],
			      i ? ",\n        " : "");
		fprintf(f, "}}");
		sep = ",";
	}
	fprintf(f, "]}");
}

static void machine(FILE *f)
{
	char line[512], cpu[256] = "", thp[64] = "";
	struct utsname u;
	FILE *in = fopen("/proc/cpuinfo", "re");

	while (in && fgets(line, sizeof(line), in)) {
		char *colon = strchr(line, ':');

		if (strncmp(line, "model name", 10) == 0 && colon) {
			snprintf(cpu, sizeof(cpu), "%s", colon + 2);
			cpu[strcspn(cpu, "\n")] = '\0';
			break;
		}
	}
	if (in)
		fclose(in);
	in = fopen("/sys/kernel/mm/transparent_hugepage/enabled", "re");
	if (in && fgets(line, sizeof(line), in)) {
		char *lb = strchr(line, '['), *rb = strchr(line, ']');

		if (lb && rb && rb > lb)
			snprintf(thp, sizeof(thp), "%.*s", (int)(rb - lb - 1),
				 lb + 1);
	}
	if (in)
		fclose(in);
	if (uname(&u))
		strcpy(u.release, "");
	fprintf(f, "  \"machine\": {\"cpu\": ");
	jstr(f, cpu);
	fprintf(f, ", \"cpus_online\": %ld, \"kernel\": ",
		sysconf(_SC_NPROCESSORS_ONLN));
	jstr(f, u.release);
	fprintf(f, ", \"thp\": ");
	jstr(f, thp);
	fprintf(f, ", \"xxhash_version\": %u},\n", XXH_versionNumber());
}

int report_json(const struct bench_opts *o, const struct wl_result *r,
		size_t n, const char *path)
{
	struct target t[MAX_TARGETS];
	size_t k = targets(r, n, t);
	const char *sep = "";
	FILE *f = fopen(path, "we");

	if (!f)
		return -1;
	fprintf(f, "{\n  \"schema\": \"cma-bench/1\",\n");
	machine(f);
	fprintf(f, "  \"config\": {\"nodes_scale\": %g, \"runs\": %d, "
		"\"threads\": %d, \"tools\": %s},\n", o->scale, o->runs,
		o->threads, o->skip_tools ? "false" : "true");
	for (int pass = 0; pass < 2; pass++) {
		fprintf(f, "  \"%s\": [", pass ? "sweep" : "workloads");
		sep = "";
		for (size_t i = 0; i < n; i++) {
			if ((strcmp(r[i].name, "sweep") == 0) != pass)
				continue;
			fprintf(f, "%s\n", sep);
			json_workload(f, &r[i]);
			sep = ",";
		}
		fprintf(f, "],\n");
	}
	fprintf(f, "  \"targets\": [");
	for (size_t i = 0; i < k; i++) {
		fprintf(f, "%s\n    {\"id\": %d, \"goal\": \"%s\", "
			"\"what\": ", i ? "," : "", t[i].id,
			goal_name(t[i].id));
		jstr(f, t[i].what);
		fprintf(f, ", \"workload\": ");
		jstr(f, t[i].workload);
		fprintf(f, ", \"mode\": ");
		jstr(f, t[i].mode);
		fprintf(f, ", \"ratio\": %.4g, \"op\": \"%s\", \"bound\": "
			"%.4g, \"met\": %s}", t[i].ratio,
			t[i].at_least ? ">=" : "<=", t[i].bound,
			met(&t[i]) ? "true" : "false");
	}
	fprintf(f, "]\n}\n");
	if (ferror(f)) {
		fclose(f);
		errno = EIO;
		return -1;
	}
	return fclose(f);
}
