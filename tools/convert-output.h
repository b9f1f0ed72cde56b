/* SPDX-License-Identifier: MIT */
/* cma-convert's output: buffered, sent to the disk as it goes, the bytes it
 * keeps from the input copied ahead by the kernel (convert-output.c). */
#ifndef CONVERT_OUTPUT_H
#define CONVERT_OUTPUT_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define CONVERT_OUTPUT_BUFFER 65536

/* Input bytes a thread copies into the output at the same offsets. */
struct copy_ahead {
	pthread_t thread;
	bool started;		/* a thread ran: the output's size is set */
	bool running;		/* joined by the first use, or the end */
	bool copied;		/* [from, to) is in the output */
	_Atomic bool stop;	/* the conversion failed: stop copying */
	bool writeback;		/* start the disk on each piece copied */
	int in_fd, out_fd;
	const uint8_t *in_map;	/* the input's mapping: offset 0 */
	uint64_t from, to;
};

struct convert_output {
	int fd;
	size_t n;
	uint64_t written, flushing;	/* bytes written, and sent to disk */
	bool writeback;		/* the output will be fsynced: start early */
	struct copy_ahead ahead;
	uint8_t buf[CONVERT_OUTPUT_BUFFER];
};

/* Start writing to fd (a file, a pipe or a device) at its position 0.
 * With `writeback` (the file is fsynced at the end) each finished piece
 * is sent to the disk while the rest is made, so the fsync waits for the
 * last piece only. */
void output_init(struct convert_output *f, int fd, bool writeback);

/*
 * The input's bytes [from, to), mapped at in_map from in_fd, will be the
 * output's bytes at the same offsets: copy them now, on a thread, inside
 * the kernel (copy_file_range), while the input is checked and the rest
 * is made. The write that brings them then only moves on. Any write that
 * differs overwrites the copy, so a wrong guess costs time, never bytes.
 * fd must be a regular file. A hint: nothing fails when it cannot start.
 */
void output_copy_ahead(struct convert_output *f, int in_fd,
		       const uint8_t *in_map, uint64_t from, uint64_t to);

/* A cm_write_fn: ctx is the struct convert_output. */
int output_write(void *ctx, const void *buf, size_t len);

/* Write what is buffered; the output ends there. @return 0; -1 with
 * errno. */
int output_finish(struct convert_output *f);

/* Stop and join the copy ahead: the output is not to be kept, or is done.
 * Call it before closing or dropping the file. */
void output_end(struct convert_output *f);

#endif /* CONVERT_OUTPUT_H */
