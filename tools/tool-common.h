/* SPDX-License-Identifier: MIT */
/* What cma-dump, cma-verify and cma-convert share: input, verdicts, output. */
#ifndef TOOL_COMMON_H
#define TOOL_COMMON_H

#include <argp.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "cma.h"

/* The exit status table, the same in the three tools (see the man pages). */
enum tool_status {
	TOOL_OK = 0,		/* success */
	TOOL_INVALID = 1,	/* a defective blob, impossible conversion */
	TOOL_USAGE = 2,		/* bad command line */
	TOOL_IO = 3,		/* cannot open, read or write */
	TOOL_NOT_CMA = 4,	/* no magic, unknown major version or flag */
};

#ifndef CMA_VERSION
#define CMA_VERSION "unknown"
#endif
/* argp reads these from libc: the build hides symbols by default. */
#define TOOL_EXPORT __attribute__((visibility("default")))
/* Where bugs go: meson setup -Dbug_report=... (CONTRIBUTING.md). */
#define TOOL_BUG_ADDRESS CMA_BUG_REPORT

/* The program name used in every diagnostic ("cma-dump"). */
extern const char *tool_prog;

/* One input blob: a read-only private mapping, or stdin read whole. */
struct tool_input {
	const char *name;	/* as shown in messages ("<stdin>" for -) */
	const uint8_t *data;
	size_t len;
	void *map;		/* munmap() this, map_len bytes, when set */
	size_t map_len;
	int map_fd;		/* with map: the file, open for reading */
	void *heap;		/* free() this when set */
};

/*
 * Set up the program: its name, argp's usage status, a SIGBUS handler (a
 * mapped file truncated under us is an I/O error, not a crash), the CPU
 * level CMA_CPU names (one the library cannot use exits with status 2).
 */
void tool_init(const char *prog);

/*
 * Open `path` ("-" is stdin) and map or read it whole. in->name is set
 * even on failure. Unless `quiet`, a failure is reported on stderr as
 * "PROG: FILE: cannot read: why".
 * @return 0; -1 with errno (exit status 3).
 */
int tool_input_open(struct tool_input *in, const char *path, bool quiet);
void tool_input_close(struct tool_input *in);

/*
 * For a tool about to read every byte (cma-verify, cma-convert): map the
 * whole file's pages in one call (MADV_POPULATE_READ, Linux 5.14) instead
 * of one page fault per 64 KiB on each thread; older kernels, and files
 * larger than half the memory, only get read-ahead (MADV_WILLNEED). A
 * hint: nothing fails if the kernel declines.
 */
void tool_input_read_all_soon(const struct tool_input *in);

/*
 * The options that judge the input, the same in every tool: argp_option
 * entries for help group `group`, parsed by tool_parse().
 */
enum { TOOL_OPT_NO_CHECKSUM = 0x200, TOOL_OPT_STRICT, TOOL_OPT_NO_SCAN };
#define TOOL_CHECK_OPTIONS(group)					\
	{ "no-checksum", TOOL_OPT_NO_CHECKSUM, NULL, 0,			\
	  "Skip the checksum (trusted input)", group },			\
	{ "strict", TOOL_OPT_STRICT, NULL, 0,				\
	  "With an object map, refuse pointers into no live object", group }
/* For a tool whose flags start with CM_CHECK_POINTERS: turns it off. */
#define TOOL_SCAN_OPTION(group)						\
	{ "no-pointer-scan", TOOL_OPT_NO_SCAN, NULL, 0,			\
	  "Do not refuse data words that point into the data but are no "\
	  "recorded slot (pointers stored without cm_ptr_to())", group }

/*
 * argp_parse() the command line for `argp`, whose parser sees `input`;
 * TOOL_CHECK_OPTIONS are parsed here, their cm_check() flags added to
 * *flags. Usage errors exit with status 2.
 */
void tool_parse(const struct argp *argp, int argc, char **argv, void *input,
		int *flags);

/*
 * The verdict on a blob, exactly as cma-verify gives it: cm_check() with
 * CM_CHECK_EXACT and `flags`.
 * @return 0 when valid, *err then holds CM_OK and an empty message, or the
 *	   note of tool_scan_skipped(); else the exit status (1 or 4), *err
 *	   filled.
 */
int tool_check(const struct tool_input *in, int flags, struct cm_error *err);

/*
 * A valid blob whose pointer scan could not run (CM_SCAN_SKIPPED): *err
 * gets CM_OK and a note saying why, for "PROG: FILE: note: ..." lines.
 */
void tool_scan_skipped(const struct tool_input *in, struct cm_error *err);

/* What a user may have done to cause an error of `code`, as " (...)" to
 * append to its message; "" when there is nothing to add. */
const char *tool_error_hint(int code);

/* The exit status for an error code: 4 for "not a cma blob", else 1. */
int tool_status_of(int code);

/* Whether colour escapes may go to `stream` (a terminal, NO_COLOR unset). */
bool tool_color(FILE *stream);

/* "PROG: FILE: offset 0x1f8: message" on stderr. */
void tool_report(const char *file, const struct cm_error *err);

/* "PROG: FILE: what: strerror(errnum)" on stderr. */
void tool_report_errno(const char *file, const char *what, int errnum);

/* "relative", "absolute" or "unknown". */
const char *tool_mode_name(uint32_t mode);

/* "5.0 MiB", "312 B". */
void tool_human_size(uint64_t n, char *buf, size_t len);

/* A number: hex with a 0x prefix or decimal, the whole string, no sign. */
int tool_parse_u64(const char *s, uint64_t *v);

/* The length of the valid UTF-8 sequence at s (overlong forms and
 * surrogates are not valid), or 0. */
size_t tool_utf8_len(const unsigned char *s);

/* A JSON string literal (control characters and bad UTF-8 escaped). */
void tool_json_string(FILE *f, const char *s);

/* {"code": 15, "name": "CM_E_CHECKSUM", "offset": 112, ...} */
void tool_json_error(FILE *f, const struct cm_error *err);

/*
 * Flush and close stdout. @return `status`, or 3 when stdout could not be
 * written (a full disk, a closed pipe) and status was lower.
 */
int tool_finish(int status);

#endif /* TOOL_COMMON_H */
