/* SPDX-License-Identifier: MIT */
/* cma-verify --junit: a JUnit XML report, one test case a blob. */
#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "junit-report.h"
#include "replace-file.h"
#include "tool-common.h"

/* A growing text in memory (open_memstream). */
struct text {
	FILE *f;
	char *buf;
	size_t len;
};

struct junit_report {
	char *name;
	struct text cases;	/* the finished <testcase> elements */
	struct text details;	/* the current case's defects, a line each */
	char *file;		/* the current case's input */
	char first[sizeof ((struct cm_error *)0)->message + 64];
	char first_type[32];
	size_t tests, failures, errors;
	struct timespec started;
	double seconds;		/* all cases */
	bool failed;		/* out of memory: the report cannot be right */
};

static int text_open(struct text *t)
{
	t->buf = NULL;
	t->len = 0;
	t->f = open_memstream(&t->buf, &t->len);
	return t->f ? 0 : -1;
}

static void text_close(struct text *t)
{
	if (t->f)
		fclose(t->f);
	free(t->buf);
	memset(t, 0, sizeof *t);
}

/*
 * `s` as XML character data, or as an attribute value (`attr`: tabs and
 * newlines as character references, which attribute normalisation would
 * otherwise turn into spaces): the five markup characters as entities;
 * what XML 1.0 cannot hold (other control characters, bad UTF-8, U+FFFE
 * and U+FFFF) as U+FFFD.
 */
static void xml_escaped(FILE *f, const char *str, bool attr)
{
	const unsigned char *s = (const unsigned char *)str;
	size_t n;

	while (*s) {
		switch (*s) {
		case '&':
			fputs("&amp;", f);
			break;
		case '<':
			fputs("&lt;", f);
			break;
		case '>':
			fputs("&gt;", f);
			break;
		case '"':
			fputs("&quot;", f);
			break;
		case '\'':
			fputs("&apos;", f);
			break;
		case '\t':
		case '\n':
			if (attr)
				fprintf(f, "&#%d;", *s);
			else
				putc(*s, f);
			break;
		default:
			n = tool_utf8_len(s);
			if (*s < 0x20 || n == 0 ||
			    (n == 3 && s[0] == 0xef && s[1] == 0xbf &&
			     s[2] >= 0xbe)) {
				fputs("\xef\xbf\xbd", f);
				s += n ? n : 1;
				continue;
			}
			fwrite(s, 1, n, f);
			s += n;
			continue;
		}
		s++;
	}
}

static double seconds_since(const struct timespec *t0)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)(t.tv_sec - t0->tv_sec) +
	       (double)(t.tv_nsec - t0->tv_nsec) / 1e9;
}

struct junit_report *junit_new(const char *name)
{
	struct junit_report *r = calloc(1, sizeof *r);

	if (!r)
		return NULL;
	r->name = strdup(name);
	if (!r->name || text_open(&r->cases) < 0) {
		junit_free(r);
		return NULL;
	}
	return r;
}

void junit_case_begin(struct junit_report *r, const char *file)
{
	free(r->file);
	r->file = strdup(file);
	r->first[0] = '\0';
	r->first_type[0] = '\0';
	if (!r->file || text_open(&r->details) < 0)
		r->failed = true;
	clock_gettime(CLOCK_MONOTONIC, &r->started);
}

/* The first defect names the failure: its type and message. */
static void keep_first(struct junit_report *r, const char *type,
		       const char *line)
{
	if (r->first[0])
		return;
	snprintf(r->first, sizeof r->first, "%s", line);
	snprintf(r->first_type, sizeof r->first_type, "%s", type);
}

void junit_case_defect(struct junit_report *r, const struct cm_error *err)
{
	char line[sizeof r->first];

	snprintf(line, sizeof line, "offset 0x%" PRIx64 ": %s%s", err->offset,
		 err->message, tool_error_hint(err->code));
	keep_first(r, cm_error_name(err->code), line);
	if (r->details.f)
		fprintf(r->details.f, "%s\n", line);
}

void junit_case_note(struct junit_report *r, const char *text)
{
	keep_first(r, "typed", text);
	if (r->details.f)
		fprintf(r->details.f, "%s\n", text);
}

void junit_case_end(struct junit_report *r, int status,
		    const char *io_error)
{
	FILE *f = r->cases.f;
	double took = seconds_since(&r->started);

	r->tests++;
	r->seconds += took;
	if (!r->file || !r->details.f || fflush(r->details.f)) {
		r->failed = true;
		goto out;
	}
	fputs("    <testcase classname=\"", f);
	xml_escaped(f, r->name, true);
	fputs("\" name=\"", f);
	xml_escaped(f, r->file, true);
	fprintf(f, "\" time=\"%.6f\"", took);
	if (status == TOOL_OK) {
		fputs("/>\n", f);
		goto out;
	}
	if (status == TOOL_IO) {
		r->errors++;
		fputs(">\n      <error type=\"io\" message=\"", f);
		xml_escaped(f, io_error ? io_error : "cannot read", true);
		fputs("\"/>\n    </testcase>\n", f);
		goto out;
	}
	r->failures++;
	if (!r->first[0])
		keep_first(r, "invalid", "invalid blob");
	fputs(">\n      <failure type=\"", f);
	xml_escaped(f, r->first_type, true);
	fputs("\" message=\"", f);
	xml_escaped(f, r->first, true);
	fputs("\">", f);
	xml_escaped(f, r->details.len ? r->details.buf : r->first, false);
	fputs("</failure>\n    </testcase>\n", f);
out:
	text_close(&r->details);
}

/* The whole document on f. @return 0, or -1 when f could not take it. */
static int write_document(struct junit_report *r, FILE *f)
{
	if (fflush(r->cases.f))
		return -1;
	fputs("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites name=\"",
	      f);
	xml_escaped(f, r->name, true);
	fprintf(f, "\" tests=\"%zu\" failures=\"%zu\" errors=\"%zu\" "
		"time=\"%.6f\">\n  <testsuite name=\"", r->tests, r->failures,
		r->errors, r->seconds);
	xml_escaped(f, r->name, true);
	fprintf(f, "\" tests=\"%zu\" failures=\"%zu\" errors=\"%zu\" "
		"skipped=\"0\" time=\"%.6f\">\n", r->tests, r->failures,
		r->errors, r->seconds);
	fwrite(r->cases.buf, 1, r->cases.len, f);
	fputs("  </testsuite>\n</testsuites>\n", f);
	return fflush(f) || ferror(f) ? -1 : 0;
}

int junit_write(struct junit_report *r, const char *path)
{
	struct replace_file dest;
	mode_t perm = replace_new_file_mode();
	FILE *f;
	int fd, written, ret = -1, saved;

	if (r->failed) {
		errno = ENOMEM;
		return -1;
	}
	if (!strcmp(path, "-"))
		return write_document(r, stdout);
	if (replace_open(&dest, path, perm) < 0)
		return -1;
	fd = dup(dest.fd);
	f = fd >= 0 ? fdopen(fd, "w") : NULL;
	if (f) {
		errno = 0;
		written = write_document(r, f);
		if (fclose(f) != 0)
			written = -1;
		if (written == 0)
			ret = replace_commit(&dest, perm, true);
		else if (errno == 0)
			errno = EIO;
	} else if (fd >= 0) {
		close(fd);
	}
	saved = errno;
	replace_abort(&dest);
	errno = saved;
	return ret;
}

void junit_free(struct junit_report *r)
{
	if (!r)
		return;
	text_close(&r->cases);
	text_close(&r->details);
	free(r->file);
	free(r->name);
	free(r);
}
