/* SPDX-License-Identifier: MIT */
/* cma-bench: the tools end to end, each beside its baseline program. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include "bench-xxh3.h"

#include "cma.h"
#include "bench.h"

extern char **environ;

static volatile uint64_t sink;

#ifndef MADV_POPULATE_READ
#define MADV_POPULATE_READ 22	/* Linux 5.14 */
#endif

/* The file as the tools read a regular file: one read-only private
 * mapping. @return it (*size bytes); NULL, reported. */
static uint8_t *map_input(const char *path, size_t *size)
{
	struct stat st;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	void *p = MAP_FAILED;

	if (fd >= 0 && fstat(fd, &st) == 0)
		p = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd,
			 0);
	if (p == MAP_FAILED) {
		fprintf(stderr, "cma-bench: %s: %s\n", path, strerror(errno));
		if (fd >= 0)
			close(fd);
		return NULL;
	}
	close(fd);
	*size = (size_t)st.st_size;
	return p;
}

int bench_hash_file(const char *path)
{
	size_t size;
	uint8_t *p = map_input(path, &size);

	if (!p)
		return -1;
	/* Read the same way as cma-verify: the pages mapped in one call. */
	madvise(p, size, MADV_POPULATE_READ);
	sink ^= bench_xxh3(p, size);
	munmap(p, size);
	return 0;
}

int bench_json_printf(const char *path)
{
	struct cm_reloc_iter it;
	struct cm_reloc r;
	struct cm_error err = { 0 };
	uint64_t shown = 0;
	size_t size;
	uint8_t *p = map_input(path, &size);
	int ret;

	if (!p)
		return -1;
	/* cma-dump's verdict, then its relocs member as it once wrote it. */
	if (cm_check(p, size, CM_CHECK_EXACT | CM_CHECK_POINTERS, &err) < 0 ||
	    cm_reloc_begin(&it, p, size, &err)) {
		fprintf(stderr, "cma-bench: %s: %s\n", path, err.message);
		return -1;
	}
	fputs("{\"relocs\": [", stdout);
	while ((ret = cm_reloc_next(&it, &r, &err)) > 0) {
		char enc[64];
		size_t pos = 0;

		for (unsigned i = 0; i < r.encoded_len && i < 16; i++)
			pos += (size_t)snprintf(enc + pos, sizeof(enc) - pos,
						"%02x", r.encoded[i]);
		enc[pos] = '\0';
		printf("%s\n    {\"index\": %" PRIu64 ", \"slot\": %" PRIu64
		       ", \"delta\": %" PRIu64 ", \"value\": %" PRIu64
		       ", \"target\": %" PRIu64 ", \"encoded_at\": %" PRIu64
		       ", \"encoded\": \"%s\"}", shown++ ? "," : "", r.index,
		       r.slot, r.delta, r.value, r.target, r.encoded_at, enc);
	}
	puts("\n]}");
	munmap(p, size);
	return ret < 0 || fflush(stdout) ? -1 : 0;
}

/* One program run, stdout to `out` (a path), timed from spawn to exit. */
static int run_program(const char *what, char *const *argv, const char *out,
		       uint64_t *ns)
{
	posix_spawn_file_actions_t fa;
	uint64_t t0;
	pid_t pid;
	int status = 0, e;

	if (posix_spawn_file_actions_init(&fa))
		return -1;
	if (posix_spawn_file_actions_addopen(&fa, 1, out,
					     O_WRONLY | O_CREAT | O_TRUNC,
					     0600)) {
		posix_spawn_file_actions_destroy(&fa);
		return -1;
	}
	t0 = bench_now_ns();
	e = posix_spawnp(&pid, argv[0], &fa, NULL, argv, environ);
	while (e == 0 && waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	*ns = bench_now_ns() - t0;
	posix_spawn_file_actions_destroy(&fa);
	if (e || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		fprintf(stderr, "cma-bench: %s: %s failed (%s)\n", what,
			argv[0], e ? strerror(e) : "exit status");
		return -1;
	}
	return 0;
}

/* A program measured `runs` times, interleaved with the others. */
struct timed {
	enum fig fig;
	char *argv[8];
	const char *unlink_after;	/* an output to remove after each run */
	double bytes;			/* MB/s of these bytes; 0: seconds */
	double v[BENCH_MAX_RUNS];
	bool failed;
};

static void time_interleaved(const struct bench_opts *o, const char *what,
			     struct timed *t, size_t n, struct mode_result *r)
{
	int runs = o->runs;

	for (int run = 0; run < runs; run++) {
		for (size_t i = 0; i < n; i++) {
			uint64_t ns = 0;

			if (t[i].failed)
				continue;
			if (run_program(what, t[i].argv, "/dev/null", &ns)) {
				t[i].failed = true;
				bench_status = 1;
			}
			if (t[i].unlink_after)
				unlink(t[i].unlink_after);
			if (ns == 0)
				ns = 1;
			t[i].v[run] = t[i].bytes ? t[i].bytes * 1000 / ns
						 : ns / 1e9;
		}
	}
	for (size_t i = 0; i < n; i++)
		if (!t[i].failed)
			stat3_from(&r->fig[t[i].fig], t[i].v, runs);
}

/* The size of what plain cma-dump prints, from one untimed run. */
static uint64_t summary_bytes(const char *what, char *const *argv,
			      const char *out)
{
	struct stat st;
	uint64_t ns;

	if (run_program(what, argv, out, &ns) || stat(out, &st))
		return 0;
	unlink(out);
	return (uint64_t)st.st_size;
}

/* The programs measured, in the order they run. */
enum { T_XXH3, T_VERIFY, T_CP, T_CP_SYNC, T_CONVERT, T_CONVERT_SYNC,
       T_PRINTF, T_JSON, T_SUMMARY, T_COUNT };

void measure_tools(const struct bench_opts *o, const struct tool_src *s,
		   struct mode_result *r)
{
	char verify[PATH_MAX], convert[PATH_MAX], dump[PATH_MAX];
	char out[PATH_MAX], copy[PATH_MAX], copy_src[PATH_MAX];
	const char *other = s->mode == CM_RELATIVE_OFFSET ? "--absolute"
							   : "--relative";
	struct timed t[T_COUNT] = {
		[T_XXH3] = { .fig = F_XXH3_FILE,
			.argv = { (char *)o->self, (char *)"--hash-file",
				  (char *)s->path },
			.bytes = (double)s->size },
		[T_VERIFY] = { .fig = F_VERIFY,
			.argv = { verify, (char *)s->path },
			.bytes = (double)s->size },
		[T_CP] = { .fig = F_CP,
			.argv = { (char *)"cp", copy_src, copy },
			.unlink_after = copy },
		/* The same copy made durable, as cma-convert --sync makes OUT. */
		[T_CP_SYNC] = { .fig = F_CP_SYNC,
			.argv = { (char *)"sh", (char *)"-c",
				  (char *)"cp \"$0\" \"$1\" && sync \"$1\"",
				  copy_src, copy },
			.unlink_after = copy },
		[T_CONVERT] = { .fig = F_CONVERT,
			.argv = { convert, (char *)s->path, (char *)"-o", out,
				  (char *)other },
			.unlink_after = out },
		[T_CONVERT_SYNC] = { .fig = F_CONVERT_SYNC,
			.argv = { convert, (char *)s->path, (char *)"-o", out,
				  (char *)other, (char *)"--sync" },
			.unlink_after = out },
		[T_PRINTF] = { .fig = F_JSON_PRINTF,
			.argv = { (char *)o->self, (char *)"--json-printf",
				  (char *)s->path },
			.bytes = (double)s->size },
		[T_JSON] = { .fig = F_DUMP_JSON,
			.argv = { dump, (char *)"--json", (char *)s->path },
			.bytes = (double)s->size },
		[T_SUMMARY] = { .fig = F_DUMP_SUMMARY,
			.argv = { dump, (char *)s->path } },
	};
	struct stat st;
	uint64_t ns;

	snprintf(verify, sizeof(verify), "%s/cma-verify", o->tools_dir);
	snprintf(convert, sizeof(convert), "%s/cma-convert", o->tools_dir);
	snprintf(dump, sizeof(dump), "%s/cma-dump", o->tools_dir);
	snprintf(out, sizeof(out), "%s.out", s->path);
	snprintf(copy_src, sizeof(copy_src), "%s.converted", s->path);
	snprintf(copy, sizeof(copy), "%s.copy", s->path);
	bench_track_file(1, out);
	bench_track_file(2, copy_src);
	bench_track_file(3, copy);
	for (size_t i = 0; i < T_COUNT; i++) {
		if (t[i].argv[0][0] == '/' && access(t[i].argv[0], X_OK)) {
			fprintf(stderr, "cma-bench: %s: %s not built, not "
				"measured\n", s->what, t[i].argv[0]);
			t[i].failed = true;
		}
	}
	/* cp's input: the converted blob itself, on the same filesystem. */
	if (!t[T_CONVERT].failed &&
	    (run_program(s->what, t[T_CONVERT].argv, "/dev/null", &ns) ||
	     rename(out, copy_src) || stat(copy_src, &st))) {
		fprintf(stderr, "cma-bench: %s: cannot make cp's input: %s\n",
			s->what, strerror(errno));
		t[T_CONVERT].failed = true;
	}
	if (t[T_CONVERT].failed) {
		t[T_CP].failed = t[T_CP_SYNC].failed = true;
		t[T_CONVERT_SYNC].failed = true;
	} else {
		t[T_CP].bytes = t[T_CP_SYNC].bytes = (double)st.st_size;
		t[T_CONVERT].bytes = t[T_CONVERT_SYNC].bytes = t[T_CP].bytes;
	}
	if (!t[T_SUMMARY].failed)
		r->dump_summary_bytes = summary_bytes(s->what,
						      t[T_SUMMARY].argv, out);
	time_interleaved(o, s->what, t, T_COUNT, r);
	unlink(copy_src);
	for (int slot = 1; slot <= 3; slot++)
		bench_track_file(slot, NULL);
}
