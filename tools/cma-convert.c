/* SPDX-License-Identifier: MIT */
/* cma-convert: re-encode, rebase or import a blob, replacing OUT atomically. */
#include <argp.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "convert-output.h"
#include "replace-file.h"
#include "tool-common.h"
#include "types-cli.h"

TOOL_EXPORT const char *argp_program_version =
	"cma-convert (libcma) " CMA_VERSION;
TOOL_EXPORT const char *argp_program_bug_address = TOOL_BUG_ADDRESS;

/* A rebased blob must fit below the top of a 48-bit user address space. */
#define REBASE_LIMIT (1ULL << 47)
#define PAGE 4096ULL

enum {
	OPT_ABSOLUTE = 0x100, OPT_RELATIVE, OPT_REBASE, OPT_FROM_LEGACY, OPT_SYNC,
};

struct opts {
	const char *in, *out;
	bool in_place, legacy, rebase, sync;
	int mode;		/* 0: keep the input's */
	int flags;		/* cm_check flags */
	uint64_t base;
	struct types_cli types;
};

static const struct argp_option options[] = {
	{ NULL, 0, NULL, 0, "Destination (one is required):", 1 },
	{ "output", 'o', "OUT", 0,
	  "Write the result to OUT ('-': standard output)", 1 },
	{ "in-place", 'i', NULL, 0, "Replace IN itself (durable, as --sync)",
	  1 },
	{ "sync", OPT_SYNC, NULL, 0,
	  "Fsync OUT and its directory around the rename", 1 },
	{ NULL, 0, NULL, 0, "Conversion (default: keep the mode):", 2 },
	{ "absolute", OPT_ABSOLUTE, NULL, 0,
	  "Write an absolute table (64-bit offsets, no size bound)", 2 },
	{ "relative", OPT_RELATIVE, NULL, 0,
	  "Write a relative table (VLQ deltas, data below 2 GiB)", 2 },
	{ "rebase", OPT_REBASE, "ADDR", 0,
	  "Record base ADDR (0x hex or decimal, a multiple of 4096), "
	  "shifting every pointer; 0 gives canonical bytes", 2 },
	{ "from-legacy", OPT_FROM_LEGACY, NULL, 0,
	  "IN is a pre-1.0 cma blob, written by the original cma "
	  "(github.com/Aurel-R/cma)", 2 },
	{ NULL, 0, NULL, 0, "Verdict on IN:", 3 },
	TOOL_CHECK_OPTIONS(3),
	{ NULL, 0, NULL, 0, "Types (alone, not with a conversion above):",
	  4 },
	TYPES_CLI_CONVERT_OPTIONS(4),
	{ 0 }
};

static error_t parse_opt(int key, char *arg, struct argp_state *state)
{
	struct opts *o = state->input;

	switch (key) {
	case 'o':
		o->out = arg;
		break;
	case 'i':
		o->in_place = true;
		break;
	case OPT_SYNC:
		o->sync = true;
		break;
	case OPT_ABSOLUTE:
	case OPT_RELATIVE: {
		int m = key == OPT_ABSOLUTE ? CM_ABSOLUTE_OFFSET
					    : CM_RELATIVE_OFFSET;

		if (o->mode && o->mode != m)
			argp_error(state, "--absolute and --relative are "
				   "exclusive");
		o->mode = m;
		break;
	}
	case OPT_REBASE:
		if (tool_parse_u64(arg, &o->base))
			argp_error(state, "invalid --rebase address '%s'",
				   arg);
		if (o->base % PAGE || o->base >= REBASE_LIMIT)
			argp_error(state, "--rebase %s: the address must be a "
				   "multiple of 4096 below 2^47", arg);
		o->rebase = true;
		break;
	case OPT_FROM_LEGACY:
		o->legacy = true;
		break;
	case ARGP_KEY_ARG:
		if (o->in)
			argp_error(state, "only one input file");
		o->in = arg;
		break;
	case ARGP_KEY_END:
		if (!o->in)
			argp_error(state, "no input file given");
		if (!!o->out == o->in_place)
			argp_error(state, "give exactly one of -o OUT and "
				   "--in-place");
		if (o->in_place && !strcmp(o->in, "-"))
			argp_error(state, "--in-place needs a file, not "
				   "standard input");
		if ((o->types.attach || o->types.strip)
		    && (o->mode || o->rebase || o->legacy))
			argp_error(state, "--attach-types and --strip-types "
				   "go alone: convert in a second run");
		break;
	default:
		return types_cli_parse(&o->types, key, arg, state);
	}
	return 0;
}

static const struct argp argp = {
	options, parse_opt, "IN",
	"Rewrite a libcma blob: its relocation table in the other encoding "
	"(--absolute, --relative), its recorded base (--rebase), or a legacy "
	"blob imported as a v1 blob (--from-legacy). IN is validated first. "
	"OUT is replaced atomically: on any failure it keeps its old bytes "
	"and no temporary file remains. '-' reads standard input (IN) or "
	"writes standard output (-o -).\v"
	"Exit status: 0 success, 1 IN is invalid or the conversion is "
	"impossible, 2 usage error, 3 I/O error, 4 IN is not a cma blob "
	"(or has an unknown major version or required flag).",
	NULL, NULL, NULL
};

/* ---- main ---- */

/* -o naming the input itself would truncate what is being read. */
static bool same_file(const char *a, const char *b)
{
	struct stat sa, sb;

	return stat(a, &sa) == 0 && stat(b, &sb) == 0 &&
	       sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino;
}

static int convert(const struct opts *o, const struct tool_input *in,
		   struct convert_output *f, struct cm_error *err)
{
	uint64_t base = o->rebase ? o->base : UINT64_MAX;

	if (o->types.attach || o->types.strip)
		return cm_types_attach(in->data, in->len, o->types.loaded,
				       o->flags, output_write, f, err);
	if (o->legacy)
		return cm_legacy_import(in->data, in->len, o->mode, base,
					output_write, f, err);
	return cm_convert(in->data, in->len, o->mode, base, o->flags,
			  output_write, f, err);
}

/* The output keeps the input's data where it is unless pointers move or a
 * pre-1.0 blob is rebuilt: its copy can start before the check ends. */
static void copy_data_ahead(const struct opts *o, const struct tool_input *in,
			    struct convert_output *f)
{
	struct cm_header h;

	if (in->map && !o->legacy && !cm_header_read(in->data, in->len, &h, NULL)
	    && (!o->rebase || o->base == h.base) && h.data_end <= in->len)
		output_copy_ahead(f, in->map_fd, in->data, h.header_size,
				  h.data_end);
}

int main(int argc, char **argv)
{
	struct opts o = { 0 };
	struct tool_input in;
	struct convert_output *f = NULL;
	struct replace_file d = { .fd = -1 };
	struct cm_error err;
	struct stat st;
	const char *target;
	mode_t perm;
	int status = TOOL_IO;
	bool to_stdout, durable;

	tool_init("cma-convert");
	tool_parse(&argp, argc, argv, &o, &o.flags);
	target = o.in_place ? o.in : o.out;
	to_stdout = !o.in_place && !strcmp(o.out, "-");
	/* In place, IN is the only copy of the data: a crash must not lose it. */
	durable = o.in_place || o.sync;
	if (to_stdout && isatty(STDOUT_FILENO)) {
		fprintf(stderr, "%s: -o -: standard output is a terminal; "
			"redirect it to a file or a pipe\n", tool_prog);
		return tool_finish(TOOL_USAGE);
	}
	/* --in-place has no -o to compare (o.out is NULL). */
	if (!o.in_place && !to_stdout && strcmp(o.in, "-") &&
	    same_file(o.in, o.out)) {
		fprintf(stderr, "%s: -o %s names the input; use --in-place\n",
			tool_prog, o.out);
		return tool_finish(TOOL_USAGE);
	}
	if (tool_input_open(&in, o.in, false) < 0)
		return tool_finish(TOOL_IO);
	tool_input_read_all_soon(&in);
	if (o.rebase && in.len > REBASE_LIMIT - o.base) {
		fprintf(stderr, "%s: --rebase 0x%" PRIx64 ": the blob (%zu "
			"bytes) would end past 2^47\n", tool_prog, o.base,
			in.len);
		status = TOOL_USAGE;
		goto out;
	}
	if (!o.legacy) {
		/* The verdict cma-verify gives to what the magic refuses. */
		if (in.len < 8) {
			status = tool_check(&in, 0, &err);
			tool_report(in.name, &err);
			goto out;
		}
	}
	status = types_cli_prepare(&o.types, &in);
	if (status)
		goto out;
	status = TOOL_IO;
	perm = replace_new_file_mode();
	if (o.in_place) {
		if (stat(o.in, &st) < 0) {
			tool_report_errno(in.name, "cannot stat", errno);
			goto out;
		}
		perm = st.st_mode & 07777;
	}
	f = calloc(1, sizeof *f);	/* output_end() at out: sees no copy */
	if (!f) {
		tool_report_errno(target, "cannot convert", errno);
		goto out;
	}
	if (to_stdout) {
		/* A stream: the blob is checked whole before a byte is written,
		 * so only a write error can cut it short (status 3). */
		target = "<stdout>";
	} else if (replace_open(&d, target, perm) < 0) {
		tool_report_errno(target, "cannot create a temporary file",
				  errno);
		goto out;
	}
	output_init(f, to_stdout ? STDOUT_FILENO : d.fd,
		    durable && !to_stdout && !d.direct);
	if (!to_stdout && !d.direct)
		copy_data_ahead(&o, &in, f);
	memset(&err, 0, sizeof err);
	if (convert(&o, &in, f, &err) < 0) {
		if (errno == EBADMSG) {
			tool_report(in.name, &err);
			status = tool_status_of(err.code);
		} else if (errno == EINVAL) {
			tool_report_errno(in.name, "cannot convert", errno);
			status = TOOL_INVALID;
		} else {
			tool_report_errno(target, "cannot write", errno);
		}
		goto out;
	}
	if (output_finish(f) < 0) {
		tool_report_errno(target, "cannot write", errno);
		goto out;
	}
	if (!to_stdout && replace_commit(&d, perm, durable) < 0) {
		tool_report_errno(target, "cannot replace", errno);
		goto out;
	}
	status = TOOL_OK;
out:
	if (f)
		output_end(f);
	replace_abort(&d);
	cm_types_free(o.types.loaded);
	free(f);
	tool_input_close(&in);
	return tool_finish(status);
}
