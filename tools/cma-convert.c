/* SPDX-License-Identifier: MIT */
/* cma-convert: re-encode, rebase or import a blob, replacing OUT atomically. */
#include <argp.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <libgen.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tool-common.h"
#include "types-cli.h"

TOOL_EXPORT const char *argp_program_version =
	"cma-convert (libcma) " CMA_VERSION;
TOOL_EXPORT const char *argp_program_bug_address = TOOL_BUG_ADDRESS;

/* A rebased blob must fit below the top of a 48-bit user address space. */
#define REBASE_LIMIT (1ULL << 47)
#define PAGE 4096ULL
#define OUT_BUFFER 65536

enum {
	OPT_ABSOLUTE = 0x100, OPT_RELATIVE, OPT_REBASE, OPT_FROM_LEGACY,
};

struct opts {
	const char *in, *out;
	bool in_place, legacy, rebase;
	int mode;		/* 0: keep the input's */
	int flags;		/* cm_check flags */
	uint64_t base;
	struct types_cli types;
};

static const struct argp_option options[] = {
	{ NULL, 0, NULL, 0, "Destination (one is required):", 1 },
	{ "output", 'o', "OUT", 0, "Write the result to OUT", 1 },
	{ "in-place", 'i', NULL, 0, "Replace IN itself", 1 },
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
		if (!strcmp(arg, "-"))
			argp_error(state, "-o - : the output must be a file "
				   "(it is replaced atomically)");
		o->out = arg;
		break;
	case 'i':
		o->in_place = true;
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
	"and no temporary file remains.\v"
	"Exit status: 0 success, 1 IN is invalid or the conversion is "
	"impossible, 2 usage error, 3 I/O error, 4 IN is not a cma blob "
	"(or has an unknown major version or required flag).",
	NULL, NULL, NULL
};

/* ---- buffered output ---- */

struct out_file {
	int fd;
	size_t n;
	uint8_t buf[OUT_BUFFER];
};

static int write_all(int fd, const uint8_t *p, size_t len)
{
	while (len) {
		ssize_t n = write(fd, p, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -1;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

static int out_flush(struct out_file *f)
{
	size_t n = f->n;

	f->n = 0;
	return write_all(f->fd, f->buf, n);
}

static int out_write(void *ctx, const void *buf, size_t len)
{
	struct out_file *f = ctx;

	if (f->n + len > sizeof f->buf && out_flush(f) < 0)
		return -1;
	if (len >= sizeof f->buf)
		return write_all(f->fd, buf, len);
	memcpy(f->buf + f->n, buf, len);
	f->n += len;
	return 0;
}

/* ---- atomic replacement ---- */

/* Where the result goes, and the temporary file on its way there. */
struct dest {
	const char *path;	/* OUT */
	char *dir, *base;	/* its directory and name */
	char *tmp;		/* a named temporary, once it exists */
	bool unnamed;		/* O_TMPFILE: nothing to clean up */
	int fd;
};

/* dir/.base.XXXXXX with six random characters. */
static void random_name(const struct dest *d, char *buf, size_t len)
{
	static const char set[] = "abcdefghijklmnopqrstuvwxyz"
				  "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
	uint8_t r[6];

	if (getrandom(r, sizeof r, 0) != sizeof r)
		for (unsigned i = 0; i < sizeof r; i++)
			r[i] = (uint8_t)(rand() ^ getpid() ^ i);
	snprintf(buf, len, "%s/.%s.%c%c%c%c%c%c", d->dir, d->base,
		 set[r[0] % 62], set[r[1] % 62], set[r[2] % 62],
		 set[r[3] % 62], set[r[4] % 62], set[r[5] % 62]);
}

static int dest_open(struct dest *d, const char *path, mode_t perm)
{
	char *a = strdup(path), *b = strdup(path);
	size_t len;

	memset(d, 0, sizeof *d);
	d->path = path;
	d->fd = -1;
	if (!a || !b)
		goto fail;
	d->dir = strdup(dirname(a));
	d->base = strdup(basename(b));
	if (!d->dir || !d->base)
		goto fail;
	len = strlen(d->dir) + strlen(d->base) + 16;
	d->tmp = malloc(len);
	if (!d->tmp)
		goto fail;
	/* Unnamed first: a crash then leaves nothing behind. */
	if (access("/proc/self/fd", X_OK) == 0) {
		d->fd = open(d->dir, O_TMPFILE | O_WRONLY | O_CLOEXEC, perm);
		if (d->fd >= 0) {
			d->unnamed = true;
			goto done;
		}
		if (errno != EOPNOTSUPP && errno != EISDIR &&
		    errno != EINVAL)
			goto fail;
	}
	snprintf(d->tmp, len, "%s/.%s.XXXXXX", d->dir, d->base);
	d->fd = mkostemp(d->tmp, O_CLOEXEC);
	if (d->fd < 0)
		goto fail;
done:
	if (d->unnamed)
		d->tmp[0] = '\0';
	free(a);
	free(b);
	return 0;
fail:
	len = (size_t)errno;
	free(a);
	free(b);
	free(d->dir);
	free(d->base);
	free(d->tmp);
	memset(d, 0, sizeof *d);
	d->fd = -1;
	errno = (int)len;
	return -1;
}

/* Drop the temporary: OUT keeps whatever it held. */
static void dest_abort(struct dest *d)
{
	if (d->fd >= 0)
		close(d->fd);
	if (d->tmp && d->tmp[0])
		unlink(d->tmp);
	free(d->dir);
	free(d->base);
	free(d->tmp);
	memset(d, 0, sizeof *d);
	d->fd = -1;
}

/* Give the unnamed file a name: OUT itself when OUT does not exist. */
static int link_unnamed(struct dest *d)
{
	char proc[64];
	size_t len = strlen(d->dir) + strlen(d->base) + 16;

	snprintf(proc, sizeof proc, "/proc/self/fd/%d", d->fd);
	if (linkat(AT_FDCWD, proc, AT_FDCWD, d->path, AT_SYMLINK_FOLLOW) == 0)
		return 1;
	if (errno != EEXIST)
		return -1;
	for (int tries = 0; tries < 100; tries++) {
		random_name(d, d->tmp, len);
		if (linkat(AT_FDCWD, proc, AT_FDCWD, d->tmp,
			   AT_SYMLINK_FOLLOW) == 0)
			return 0;
		if (errno != EEXIST)
			break;
	}
	d->tmp[0] = '\0';
	return -1;
}

/*
 * Make the written temporary OUT: permissions, fsync, rename, fsync of the
 * directory. @return 0; -1 with errno (OUT untouched unless the directory
 * fsync failed, after the rename).
 */
static int dest_commit(struct dest *d, mode_t perm)
{
	int dirfd, linked = 0, ret = -1;

	if (fchmod(d->fd, perm) < 0 || fsync(d->fd) < 0)
		return -1;
	if (d->unnamed) {
		linked = link_unnamed(d);
		if (linked < 0)
			return -1;
	}
	if (!linked && rename(d->tmp, d->path) < 0)
		return -1;
	d->tmp[0] = '\0';
	dirfd = open(d->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dirfd < 0)
		return -1;
	if (fsync(dirfd) == 0)
		ret = 0;
	close(dirfd);
	return ret;
}

/* ---- main ---- */

static mode_t new_file_mode(void)
{
	mode_t um = umask(0);

	umask(um);
	return 0666 & ~um;
}

/* -o naming the input itself would truncate what is being read. */
static bool same_file(const char *a, const char *b)
{
	struct stat sa, sb;

	return stat(a, &sa) == 0 && stat(b, &sb) == 0 &&
	       sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino;
}

static int convert(const struct opts *o, const struct tool_input *in,
		   struct out_file *f, struct cm_error *err)
{
	uint64_t base = o->rebase ? o->base : UINT64_MAX;

	if (o->types.attach || o->types.strip)
		return cm_types_attach(in->data, in->len, o->types.loaded,
				       o->flags, out_write, f, err);
	if (o->legacy)
		return cm_legacy_import(in->data, in->len, o->mode, base,
					out_write, f, err);
	return cm_convert(in->data, in->len, o->mode, base, o->flags,
			  out_write, f, err);
}

int main(int argc, char **argv)
{
	struct opts o = { 0 };
	struct tool_input in;
	struct out_file *f = NULL;
	struct dest d = { .fd = -1 };
	struct cm_error err;
	struct stat st;
	const char *target;
	mode_t perm;
	int status = TOOL_IO;

	tool_init("cma-convert");
	tool_parse(&argp, argc, argv, &o, &o.flags);
	target = o.in_place ? o.in : o.out;
	if (!o.in_place && strcmp(o.in, "-") && same_file(o.in, o.out)) {
		fprintf(stderr, "%s: -o %s names the input; use --in-place\n",
			tool_prog, o.out);
		return tool_finish(TOOL_USAGE);
	}
	if (tool_input_open(&in, o.in, false) < 0)
		return tool_finish(TOOL_IO);
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
	perm = new_file_mode();
	if (o.in_place) {
		if (stat(o.in, &st) < 0) {
			tool_report_errno(in.name, "cannot stat", errno);
			goto out;
		}
		perm = st.st_mode & 07777;
	}
	f = malloc(sizeof *f);
	if (!f) {
		tool_report_errno(target, "cannot convert", errno);
		goto out;
	}
	if (dest_open(&d, target, perm) < 0) {
		tool_report_errno(target, "cannot create a temporary file",
				  errno);
		goto out;
	}
	f->fd = d.fd;
	f->n = 0;
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
	if (out_flush(f) < 0) {
		tool_report_errno(target, "cannot write", errno);
		goto out;
	}
	if (dest_commit(&d, perm) < 0) {
		tool_report_errno(target, "cannot replace", errno);
		goto out;
	}
	status = TOOL_OK;
out:
	dest_abort(&d);
	cm_types_free(o.types.loaded);
	free(f);
	tool_input_close(&in);
	return tool_finish(status);
}
