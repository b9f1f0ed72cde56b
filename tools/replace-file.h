/* SPDX-License-Identifier: MIT */
/* Replacing an output file atomically: a temporary beside it, then rename. */
#ifndef REPLACE_FILE_H
#define REPLACE_FILE_H

#include <stdbool.h>
#include <sys/types.h>

/* Where the result goes, and the temporary file on its way there. */
struct replace_file {
	const char *path;	/* the file to replace */
	char *dir, *base;	/* its directory and name */
	char *tmp;		/* a named temporary, once it exists */
	bool unnamed;		/* O_TMPFILE: nothing to clean up */
	bool direct;		/* a device or FIFO: written in place */
	int fd;			/* write the new contents here */
};

/* The mode of a new file: 0666 less the umask. */
mode_t replace_new_file_mode(void);

/*
 * Open a temporary in the directory of `path` (unnamed where the kernel
 * allows, so a crash leaves nothing behind). A `path` that is a device or
 * a FIFO (/dev/null, a named pipe) is opened for writing instead: it has
 * no contents to keep, and must not be replaced by a file.
 * @return 0 with r->fd open; -1 with errno.
 */
int replace_open(struct replace_file *r, const char *path, mode_t perm);

/*
 * Make the written temporary the file: permissions, rename. With `durable`
 * the file is fsynced before the rename and its directory after, so a
 * crash leaves the old contents or the new, never an empty file; without
 * it, as cp(1), the kernel writes the bytes back when it will. Readers see
 * the old file or the new one either way. @return 0; -1 with errno (the
 * file untouched unless the directory fsync failed, after the rename).
 */
int replace_commit(struct replace_file *r, mode_t perm, bool durable);

/* Drop the temporary, if any: the file keeps whatever it held. */
void replace_abort(struct replace_file *r);

#endif /* REPLACE_FILE_H */
