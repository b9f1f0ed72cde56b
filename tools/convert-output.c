/* SPDX-License-Identifier: MIT */
/*
 * cma-convert's output. Most of a converted blob is its input's data, at
 * the same offsets: a thread copies those bytes inside the kernel while
 * the input is checked and the new table made (and, when the output is to
 * be fsynced, starts the disk on them), so the conversion costs little
 * more than the copy.
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include "convert-output.h"

/* Written bytes are sent to the disk, and copied, in pieces of this size. */
#define WRITEBACK_STEP (8u << 20)
/* Less than this is not worth a thread. */
#define COPY_AHEAD_MIN (1u << 20)

void output_init(struct convert_output *f, int fd, bool writeback)
{
	memset(f, 0, offsetof(struct convert_output, buf));
	f->fd = fd;
	f->writeback = writeback;
}

/* ---- the copy ahead ---- */

static void *copy_thread(void *arg)
{
	struct copy_ahead *a = arg;
	uint64_t at = a->from;

	while (at < a->to && !a->stop) {
		uint64_t left = a->to - at;
		off_t in_off = (off_t)at, out_off = (off_t)at;
		ssize_t n = copy_file_range(a->in_fd, &in_off, a->out_fd,
					    &out_off, left < WRITEBACK_STEP
					    ? left : WRITEBACK_STEP, 0);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)	/* unsupported here, or the input shrank */
			return NULL;
		if (a->writeback)
			sync_file_range(a->out_fd, (off_t)at, n,
					SYNC_FILE_RANGE_WRITE);
		at += (uint64_t)n;
	}
	a->copied = at == a->to;
	return NULL;
}

void output_copy_ahead(struct convert_output *f, int in_fd,
		       const uint8_t *in_map, uint64_t from, uint64_t to)
{
	struct copy_ahead *a = &f->ahead;

	if (a->running || to < from || to - from < COPY_AHEAD_MIN)
		return;
	*a = (struct copy_ahead){ .in_fd = in_fd, .out_fd = f->fd,
				  .in_map = in_map, .from = from, .to = to,
				  .writeback = f->writeback };
	a->running = a->started =
		pthread_create(&a->thread, NULL, copy_thread, a) == 0;
}

static void copy_join(struct copy_ahead *a)
{
	if (a->running)
		pthread_join(a->thread, NULL);
	a->running = false;
}

/* The n bytes at p for output offset `at`: are they the copy's? Any other
 * write into its range waits for the thread, then replaces its bytes. */
static bool copied_already(struct convert_output *f, const uint8_t *p,
			   size_t n, uint64_t at)
{
	struct copy_ahead *a = &f->ahead;

	if (!a->running && !a->copied)
		return false;
	if (at >= a->to || at + n <= a->from)
		return false;
	copy_join(a);
	return a->copied && at >= a->from && at + n <= a->to
	       && p == a->in_map + at;
}

/* ---- writing ---- */

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

/*
 * Write, and with f->writeback start the disk writing each finished piece
 * while the rest is converted. sync_file_range() is a hint; where it fails
 * (a pipe) nothing is lost.
 */
static int output_put(struct convert_output *f, const uint8_t *p, size_t len)
{
	if (copied_already(f, p, len, f->written)) {
		f->written += len;
		f->flushing = f->written;	/* the thread sent them */
		return lseek(f->fd, (off_t)f->written, SEEK_SET) < 0 ? -1 : 0;
	}
	while (len) {
		size_t take = len < WRITEBACK_STEP ? len : WRITEBACK_STEP;

		if (write_all(f->fd, p, take) < 0)
			return -1;
		f->written += take;
		p += take;
		len -= take;
		if (f->writeback && f->written - f->flushing >= WRITEBACK_STEP) {
			sync_file_range(f->fd, (off_t)f->flushing,
					(off_t)(f->written - f->flushing),
					SYNC_FILE_RANGE_WRITE);
			f->flushing = f->written;
		}
	}
	return 0;
}

/* The buffer out. */
static int drain(struct convert_output *f)
{
	size_t n = f->n;

	f->n = 0;
	return output_put(f, f->buf, n);
}

int output_finish(struct convert_output *f)
{
	if (drain(f) < 0)
		return -1;
	/* What the thread copied past the end written is no output. */
	copy_join(&f->ahead);
	if (f->ahead.started && ftruncate(f->fd, (off_t)f->written) < 0)
		return -1;
	return 0;
}

int output_write(void *ctx, const void *buf, size_t len)
{
	struct convert_output *f = ctx;

	if (f->n + len > sizeof f->buf && drain(f) < 0)
		return -1;
	if (len >= sizeof f->buf)
		return output_put(f, buf, len);
	memcpy(f->buf + f->n, buf, len);
	f->n += len;
	return 0;
}

void output_end(struct convert_output *f)
{
	f->ahead.stop = true;
	copy_join(&f->ahead);
}
