/* SPDX-License-Identifier: MIT */
/* What cma-dump, cma-verify and cma-convert share: input, verdicts, output. */
#include <argp.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tool-common.h"

const char *tool_prog = "cma";

/* Stands in for the bytes of an empty input: mmap refuses length 0. */
static const uint8_t empty_input[8];

static void on_sigbus(int sig)
{
	static const char msg[] =
		": input file changed size while being read\n";

	(void)sig;
	/* Only async-signal-safe calls here. */
	if (write(STDERR_FILENO, tool_prog, strlen(tool_prog)) >= 0 &&
	    write(STDERR_FILENO, msg, sizeof msg - 1) >= 0)
		_exit(TOOL_IO);
	_exit(TOOL_IO);
}

/* Set once tool_finish() has closed stdout. */
static bool stdout_closed;

/*
 * argp exits by itself after --help, --usage and --version: a write error
 * on stdout must still give status 3 on that path.
 */
static void check_stdout_at_exit(void)
{
	if (stdout_closed)
		return;
	if (fflush(stdout) != 0 || ferror(stdout)) {
		fprintf(stderr, "%s: write error on standard output\n",
			tool_prog);
		_exit(TOOL_IO);
	}
}

/* CMA_CPU, which the library would ignore when unusable, refused here. */
static void check_cpu_level(void)
{
	const char *level = getenv("CMA_CPU");

	if (!level || !cm_cpu_select(level))
		return;
	if (errno == ENOTSUP)
		fprintf(stderr, "%s: CMA_CPU=%s: this CPU or build lacks that "
			"level (the best here is %s)\n", tool_prog, level,
			cm_cpu_level());
	else
		fprintf(stderr, "%s: CMA_CPU=%s: not a level (auto, scalar, "
			"sse2, avx2 or avx512)\n", tool_prog, level);
	exit(TOOL_USAGE);
}

void tool_init(const char *prog)
{
	struct sigaction sa;

	tool_prog = prog;
	argp_err_exit_status = TOOL_USAGE;
	check_cpu_level();
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_sigbus;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGBUS, &sa, NULL);
	atexit(check_stdout_at_exit);
}

/* Read a stream whole: stdin, a pipe, a character device. */
static int read_whole(struct tool_input *in, int fd)
{
	size_t cap = 65536, len = 0;
	uint8_t *buf = malloc(cap), *nbuf;
	ssize_t n;
	int saved;

	if (!buf)
		return -1;
	for (;;) {
		if (len == cap) {
			if (cap > SIZE_MAX / 2) {
				errno = EFBIG;
				goto fail;
			}
			nbuf = realloc(buf, cap * 2);
			if (!nbuf)
				goto fail;
			buf = nbuf;
			cap *= 2;
		}
		n = read(fd, buf + len, cap - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			goto fail;
		if (n == 0)
			break;
		len += (size_t)n;
	}
	in->heap = buf;
	in->data = len ? buf : empty_input;
	in->len = len;
	return 0;
fail:
	saved = errno;
	free(buf);
	errno = saved;
	return -1;
}

static int input_open(struct tool_input *in, const char *path)
{
	struct stat st;
	int fd = STDIN_FILENO, ret = -1, saved;

	memset(in, 0, sizeof *in);
	in->name = strcmp(path, "-") ? path : "<stdin>";
	in->data = empty_input;
	if (strcmp(path, "-")) {
		fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			return -1;
	}
	if (fstat(fd, &st) < 0)
		goto out;
	if (S_ISDIR(st.st_mode)) {
		errno = EISDIR;
		goto out;
	}
	if (!S_ISREG(st.st_mode) || fd == STDIN_FILENO) {
		ret = read_whole(in, fd);
		goto out;
	}
	if ((uint64_t)st.st_size > SIZE_MAX) {
		errno = EFBIG;
		goto out;
	}
	if (st.st_size > 0) {
		void *p = mmap(NULL, (size_t)st.st_size, PROT_READ,
			       MAP_PRIVATE, fd, 0);

		if (p == MAP_FAILED)
			goto out;
		in->map = p;
		in->map_len = (size_t)st.st_size;
		in->map_fd = fd;	/* closed with the mapping */
		in->data = p;
		in->len = (size_t)st.st_size;
		return 0;
	}
	ret = 0;
out:
	saved = errno;
	if (fd != STDIN_FILENO)
		close(fd);
	errno = saved;
	return ret;
}

int tool_input_open(struct tool_input *in, const char *path, bool quiet)
{
	if (input_open(in, path) == 0)
		return 0;
	if (!quiet) {
		int saved = errno;

		tool_report_errno(in->name, "cannot read", saved);
		errno = saved;
	}
	return -1;
}

#ifndef MADV_POPULATE_READ
#define MADV_POPULATE_READ 22	/* Linux 5.14; older kernels say EINVAL */
#endif

void tool_input_read_all_soon(const struct tool_input *in)
{
	int saved = errno;
	long pages = sysconf(_SC_PHYS_PAGES), page = sysconf(_SC_PAGESIZE);

	if (!in->map)
		return;
	/* Populating a file larger than half the memory would evict its
	 * first pages before they are read: read-ahead only. */
	if (pages <= 0 || page <= 0
	    || in->map_len / (size_t)page > (size_t)pages / 2
	    || madvise(in->map, in->map_len, MADV_POPULATE_READ))
		madvise(in->map, in->map_len, MADV_WILLNEED);
	errno = saved;
}

void tool_input_close(struct tool_input *in)
{
	if (in->map) {
		munmap(in->map, in->map_len);
		close(in->map_fd);
	}
	free(in->heap);
	memset(in, 0, sizeof *in);
}

/* The tool's own parser and where the check flags go, for parse_opt(). */
static argp_parser_t tool_parser;
static int *check_flags;

static error_t parse_opt(int key, char *arg, struct argp_state *state)
{
	switch (key) {
	case TOOL_OPT_NO_CHECKSUM:
		*check_flags |= CM_CHECK_NO_CHECKSUM;
		return 0;
	case TOOL_OPT_STRICT:
		*check_flags |= CM_CHECK_STRICT;
		return 0;
	case TOOL_OPT_NO_SCAN:
		*check_flags &= ~CM_CHECK_POINTERS;
		return 0;
	default:
		return tool_parser(key, arg, state);
	}
}

void tool_parse(const struct argp *argp, int argc, char **argv, void *input,
		int *flags)
{
	struct argp a = *argp;

	tool_parser = argp->parser;
	check_flags = flags;
	a.parser = parse_opt;
	argp_parse(&a, argc, argv, 0, NULL, input);
}

int tool_status_of(int code)
{
	switch (code) {
	case CM_OK:
		return TOOL_OK;
	case CM_E_MAGIC:
	case CM_E_VERSION:
	case CM_E_REQUIRED_FLAG:
		return TOOL_NOT_CMA;
	default:
		return TOOL_INVALID;
	}
}

int tool_check(const struct tool_input *in, int flags, struct cm_error *err)
{
	int rc;

	memset(err, 0, sizeof *err);
	err->index = UINT64_MAX;
	/* Fewer bytes than the magic is "not a cma blob" whatever follows. */
	if (in->len < 8) {
		err->code = CM_E_MAGIC;
		if (in->len)
			snprintf(err->message, sizeof err->message,
				 "%zu bytes, shorter than the magic: not a "
				 "cma blob", in->len);
		else
			snprintf(err->message, sizeof err->message,
				 "empty file: not a cma blob");
		return TOOL_NOT_CMA;
	}
	/* One thread: the checksum is computed chunk by chunk as the scan
	 * passes, while the chunk is in cache. A second thread hashing the
	 * whole blob beside it reads every byte from memory twice, and was
	 * slower end to end. */
	rc = cm_check(in->data, in->len, flags | CM_CHECK_EXACT, err);
	switch (rc) {
	case 0:
		return TOOL_OK;
	case CM_SCAN_SKIPPED:
		tool_scan_skipped(in, err);
		return TOOL_OK;
	}
	if (errno != EBADMSG) {
		err->code = CM_E_HEADER;
		snprintf(err->message, sizeof err->message,
			 "cannot check: %s", strerror(errno));
	}
	return tool_status_of(err->code);
}

void tool_scan_skipped(const struct tool_input *in, struct cm_error *err)
{
	struct cm_header h = { 0 };

	cm_header_read(in->data, in->len, &h, NULL);
	memset(err, 0, sizeof *err);
	err->index = UINT64_MAX;
	snprintf(err->message, sizeof err->message,
		 "pointer scan skipped: the recorded base 0x%" PRIx64
		 " is below 4 GiB, where small integers look like addresses",
		 h.base);
}

const char *tool_error_hint(int code)
{
	if (code == CM_E_UNRECORDED)
		return " (stored with '=' instead of cm_ptr_to()?)";
	return "";
}

bool tool_color(FILE *stream)
{
	const char *nc = getenv("NO_COLOR");

	if (nc && *nc)
		return false;
	return isatty(fileno(stream));
}

void tool_report(const char *file, const struct cm_error *err)
{
	bool c = tool_color(stderr);

	fprintf(stderr, "%s: %s: %soffset 0x%" PRIx64 ": %s%s%s\n", tool_prog,
		file, c ? "\033[1;31m" : "", err->offset, err->message,
		tool_error_hint(err->code), c ? "\033[0m" : "");
}

void tool_report_errno(const char *file, const char *what, int errnum)
{
	fprintf(stderr, "%s: %s: %s: %s\n", tool_prog, file, what,
		strerror(errnum));
}

const char *tool_mode_name(uint32_t mode)
{
	switch (mode) {
	case CM_RELATIVE_OFFSET:
		return "relative";
	case CM_ABSOLUTE_OFFSET:
		return "absolute";
	default:
		return "unknown";
	}
}

void tool_human_size(uint64_t n, char *buf, size_t len)
{
	static const char *const unit[] = { "KiB", "MiB", "GiB", "TiB",
					    "PiB", "EiB" };
	double v = (double)n;
	int u = -1;

	if (n < 1024) {
		snprintf(buf, len, "%" PRIu64 " B", n);
		return;
	}
	while (v >= 1024 && u < 5) {
		v /= 1024;
		u++;
	}
	snprintf(buf, len, "%.1f %s", v, unit[u]);
}

int tool_parse_u64(const char *s, uint64_t *v)
{
	int base = 10;
	char *end;

	if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
		base = 16;
		s += 2;
	}
	/* strtoull would accept blanks, a sign and an empty string. */
	if (!(base == 16 ? isxdigit((unsigned char)*s) :
			   isdigit((unsigned char)*s)))
		return -1;
	errno = 0;
	*v = strtoull(s, &end, base);
	if (errno || *end)
		return -1;
	return 0;
}

size_t tool_utf8_len(const unsigned char *s)
{
	size_t n, i;
	uint32_t cp;

	if (s[0] < 0x80)
		return 1;
	if (s[0] >= 0xc2 && s[0] <= 0xdf)
		n = 2, cp = s[0] & 0x1f;
	else if (s[0] >= 0xe0 && s[0] <= 0xef)
		n = 3, cp = s[0] & 0x0f;
	else if (s[0] >= 0xf0 && s[0] <= 0xf4)
		n = 4, cp = s[0] & 0x07;
	else
		return 0;
	for (i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (s[i] & 0x3f);
	}
	if ((n == 3 && cp < 0x800) || (n == 4 && cp < 0x10000) ||
	    cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return n;
}

void tool_json_string(FILE *f, const char *str)
{
	const unsigned char *s = (const unsigned char *)str;
	size_t n;

	putc('"', f);
	while (*s) {
		if (*s == '"' || *s == '\\') {
			fprintf(f, "\\%c", *s++);
		} else if (*s < 0x20 || *s == 0x7f) {
			fprintf(f, "\\u%04x", *s++);
		} else if ((n = tool_utf8_len(s)) == 0) {
			/* A file name need not be UTF-8; JSON must be. */
			fputs("\\ufffd", f);
			s++;
		} else {
			fwrite(s, 1, n, f);
			s += n;
		}
	}
	putc('"', f);
}

void tool_json_error(FILE *f, const struct cm_error *err)
{
	fprintf(f, "{\"code\": %d, \"name\": ", err->code);
	tool_json_string(f, cm_error_name(err->code));
	fprintf(f, ", \"offset\": %" PRIu64 ", \"index\": ", err->offset);
	if (err->index == UINT64_MAX)
		fputs("null", f);
	else
		fprintf(f, "%" PRIu64, err->index);
	fputs(", \"message\": ", f);
	tool_json_string(f, err->message);
	putc('}', f);
}

int tool_finish(int status)
{
	bool bad = ferror(stdout) != 0;

	stdout_closed = true;
	if (fclose(stdout) != 0)
		bad = true;
	if (bad) {
		/* stderr is still open: say why the status is 3. */
		fprintf(stderr, "%s: write error on standard output\n",
			tool_prog);
		if (status < TOOL_IO)
			status = TOOL_IO;
	}
	return status;
}
