/* SPDX-License-Identifier: MIT */
/* cma-verify: validate blobs completely, one verdict line per file. */
#include <argp.h>
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "junit-report.h"
#include "tool-common.h"
#include "types-cli.h"

TOOL_EXPORT const char *argp_program_version =
	"cma-verify (libcma) " CMA_VERSION;
TOOL_EXPORT const char *argp_program_bug_address = TOOL_BUG_ADDRESS;

enum { OPT_MAX_ERRORS = 0x100, OPT_JUNIT };

struct opts {
	bool quiet, json, all_errors;
	int flags;		/* cm_check flags */
	size_t max_errors;
	const char *junit;	/* --junit's FILE, "-" for stdout */
	struct junit_report *report;
	struct types_cli types;
	char **files;
	int nfiles;
};

static const struct argp_option options[] = {
	{ NULL, 0, NULL, 0, "Output:", 1 },
	{ "quiet", 'q', NULL, 0,
	  "Print nothing; the exit status says it all", 1 },
	{ "json", 'j', NULL, 0,
	  "Print a JSON array of per-file results on stdout", 1 },
	{ "junit", OPT_JUNIT, "FILE", 0,
	  "Also write a JUnit XML report to FILE, one test case per blob "
	  "('-': on stdout, instead of the verdict lines)", 1 },
	{ NULL, 0, NULL, 0, "Checks:", 2 },
	{ "all-errors", 'a', NULL, 0,
	  "Keep going past the first defect of a file", 2 },
	{ "max-errors", OPT_MAX_ERRORS, "N", 0,
	  "Report at most N defects per file (implies --all-errors; "
	  "0: no bound)", 2 },
	TOOL_CHECK_OPTIONS(2),
	TOOL_SCAN_OPTION(2),
	{ NULL, 0, NULL, 0, "Typed checks (by the producer's C types):", 3 },
	TYPES_CLI_VERIFY_OPTIONS(3),
	{ 0 }
};

static error_t parse_opt(int key, char *arg, struct argp_state *state)
{
	struct opts *o = state->input;
	uint64_t v;

	switch (key) {
	case 'q':
		o->quiet = true;
		break;
	case 'j':
		o->json = true;
		break;
	case 'a':
		o->all_errors = true;
		break;
	case OPT_JUNIT:
		o->junit = arg;
		break;
	case OPT_MAX_ERRORS:
		if (tool_parse_u64(arg, &v) || v > SIZE_MAX)
			argp_error(state, "invalid --max-errors: '%s'", arg);
		o->max_errors = (size_t)v;
		o->all_errors = true;
		break;
	case ARGP_KEY_ARGS:
		o->files = state->argv + state->next;
		o->nfiles = state->argc - state->next;
		break;
	case ARGP_KEY_NO_ARGS:
		argp_error(state, "no FILE given");
		break;
	case ARGP_KEY_END:
		if (o->junit && !strcmp(o->junit, "-") && o->json)
			argp_error(state, "--json and --junit=- both want "
				   "stdout");
		break;
	default:
		return types_cli_parse(&o->types, key, arg, state);
	}
	return 0;
}

static const struct argp argp = {
	options, parse_opt, "FILE...",
	"Validate libcma blobs completely: header, data bounds, relocation "
	"table, every pointer, checksum, exact length. One line per file on "
	"stdout; '-' reads standard input.\v"
	"Exit status: 0 all valid, 1 a blob is invalid, 2 usage error, "
	"3 I/O error, 4 not a cma blob (or an unknown major version or "
	"required flag); with several files, the highest.",
	NULL, NULL, NULL
};

/* Per-file state seen by the cm_check_all() callback. */
struct verify_ctx {
	const struct opts *o;
	const char *name;
	struct cm_error first;
	size_t nerrors;
	struct cm_error note;	/* a valid blob's note: the scan skipped */
};

static void print_error_line(const struct verify_ctx *v,
			     const struct cm_error *err)
{
	printf("%s: offset 0x%" PRIx64 ": %s%s\n", v->name, err->offset,
	       err->message, tool_error_hint(err->code));
}

static int on_defect(void *ctx, const struct cm_error *err)
{
	struct verify_ctx *v = ctx;

	if (v->nerrors == 0)
		v->first = *err;
	if (v->o->report)
		junit_case_defect(v->o->report, err);
	if (v->o->json) {
		fputs(v->nerrors ? ",\n    " : "\n    ", stdout);
		tool_json_error(stdout, err);
	} else if (!v->o->quiet) {
		print_error_line(v, err);
	}
	v->nerrors++;
	return 0;
}

/* The status of one checked input; errors already printed. */
static int run_check(struct verify_ctx *v, const struct tool_input *in,
		     int flags)
{
	struct cm_error err;
	int st;

	if (!v->o->all_errors || in->len < 8) {
		st = tool_check(in, flags, &err);
		if (st)
			on_defect(v, &err);
		else
			v->note = err;
		return st;
	}
	switch (cm_check_all(in->data, in->len, flags | CM_CHECK_EXACT,
			     v->o->max_errors, on_defect, v)) {
	case CM_SCAN_SKIPPED:
		tool_scan_skipped(in, &v->note);
		/* fall through */
	case 0:
		return TOOL_OK;
	}
	if (v->nerrors == 0) {
		/* Refused without a report: an argument problem. */
		memset(&err, 0, sizeof err);
		err.code = CM_E_HEADER;
		err.index = UINT64_MAX;
		snprintf(err.message, sizeof err.message, "cannot check: %s",
			 strerror(errno));
		on_defect(v, &err);
	}
	return tool_status_of(v->first.code);
}

static void json_header_fields(const struct tool_input *in)
{
	struct cm_header h;

	printf(",\n   \"file_size\": %zu", in->len);
	if (in->len < 8 || cm_header_read(in->data, in->len, &h, NULL)) {
		fputs(", \"mode\": null, \"version\": null, "
		      "\"blob_size\": null, \"data_size\": null, "
		      "\"table_size\": null, \"pointer_count\": null", stdout);
		return;
	}
	printf(", \"mode\": \"%s\", \"version\": \"%u.%u\", "
	       "\"blob_size\": %" PRIu64 ", \"data_size\": %" PRIu64
	       ", \"table_size\": %" PRIu64 ", \"pointer_count\": %" PRIu64,
	       tool_mode_name(h.mode), h.version_major, h.version_minor,
	       h.blob_size, h.data_end - h.header_size, h.table_size,
	       h.pointer_count);
}

/* End the file's JUnit test case; its cm_check() defects are in already. */
static void junit_verdict(const struct opts *o, int st, int read_errno,
			  size_t typed_defects)
{
	char why[160];

	if (!o->report)
		return;
	if (typed_defects) {
		snprintf(why, sizeof why, "%zu typed defect%s (listed in "
			 "cma-verify's output)", typed_defects,
			 typed_defects == 1 ? "" : "s");
		junit_case_note(o->report, why);
	}
	if (st == TOOL_IO)
		snprintf(why, sizeof why, "%s: %s", read_errno ? "cannot read"
			 : "typed verification failed",
			 strerror(read_errno ? read_errno : EIO));
	junit_case_end(o->report, st, st == TOOL_IO ? why : NULL);
}

static int verify_one(const struct opts *o, const char *path, bool first)
{
	struct verify_ctx v = { .o = o };
	struct tool_input in;
	size_t untyped;
	int st, saved, rc;

	rc = tool_input_open(&in, path, o->quiet);
	saved = errno;
	if (rc == 0)
		tool_input_read_all_soon(&in);
	if (o->report)
		junit_case_begin(o->report, in.name);
	if (o->json) {
		fputs(first ? "\n  {\"file\": " : ",\n  {\"file\": ", stdout);
		tool_json_string(stdout, in.name);
	}
	if (rc < 0) {
		if (o->json) {
			fputs(", \"valid\": false, \"status\": 3, "
			      "\"io_error\": ", stdout);
			tool_json_string(stdout, strerror(saved));
			fputs(", \"pointer_scan\": null"
			      ",\n   \"file_size\": null, \"mode\": null, "
			      "\"version\": null, \"blob_size\": null, "
			      "\"data_size\": null, \"table_size\": null, "
			      "\"pointer_count\": null, \"errors\": []}",
			      stdout);
		}
		junit_verdict(o, TOOL_IO, saved, 0);
		return TOOL_IO;
	}
	v.name = in.name;
	if (o->json)
		fputs(", \"errors\": [", stdout);
	st = run_check(&v, &in, o->flags);
	untyped = v.nerrors;
	if (st == TOOL_OK)
		st = types_cli_verify(&o->types, &in, o->json, o->quiet,
				      o->all_errors ? o->max_errors : 1,
				      &v.nerrors);
	junit_verdict(o, st, 0, v.nerrors - untyped);
	if (o->json) {
		fputs(v.nerrors ? "\n   ]" : "]", stdout);
		printf(", \"valid\": %s, \"status\": %d, \"io_error\": null"
		       ", \"pointer_scan\": \"%s\"", st ? "false" : "true", st,
		       !(o->flags & CM_CHECK_POINTERS) ? "off"
		       : v.note.message[0] ? "skipped" : "on");
		json_header_fields(&in);
		putchar('}');
	} else if (!o->quiet && st == TOOL_OK) {
		struct cm_header h;
		char size[32];

		if (v.note.message[0])
			fprintf(stderr, "%s: %s: note: %s\n", tool_prog,
				in.name, v.note.message);
		if (cm_header_read(in.data, in.len, &h, NULL) == 0) {
			tool_human_size(in.len, size, sizeof size);
			printf("%s: OK (%s, %" PRIu64 " pointer%s, %s)\n",
			       in.name, tool_mode_name(h.mode),
			       h.pointer_count,
			       h.pointer_count == 1 ? "" : "s", size);
		} else {
			printf("%s: OK\n", in.name);
		}
	}
	tool_input_close(&in);
	return st;
}

int main(int argc, char **argv)
{
	struct opts o = { .flags = CM_CHECK_POINTERS };
	int status = TOOL_OK;

	tool_init("cma-verify");
	tool_parse(&argp, argc, argv, &o, &o.flags);
	/* The report on stdout stands alone: no verdict lines beside it. */
	if (o.junit && !strcmp(o.junit, "-"))
		o.quiet = true;
	if (o.quiet)
		o.json = false;
	if (o.junit && !(o.report = junit_new("cma-verify"))) {
		tool_report_errno(o.junit, "cannot make the JUnit report",
				  errno);
		return tool_finish(TOOL_IO);
	}
	if (o.json)
		putchar('[');
	for (int i = 0; i < o.nfiles; i++) {
		int st = verify_one(&o, o.files[i], i == 0);

		if (st > status)
			status = st;
		/* Thousands of files: keep verdicts flowing to a pipe. */
		if (!o.json)
			fflush(stdout);
	}
	if (o.json)
		puts("\n]");
	if (o.report && junit_write(o.report, o.junit) < 0) {
		tool_report_errno(strcmp(o.junit, "-") ? o.junit : "<stdout>",
				  "cannot write the JUnit report", errno);
		if (status < TOOL_IO)
			status = TOOL_IO;
	}
	junit_free(o.report);
	return tool_finish(status);
}
