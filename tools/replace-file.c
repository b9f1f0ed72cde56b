/* SPDX-License-Identifier: MIT */
/* Replacing an output file atomically: a temporary beside it, then rename. */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdlib.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include "replace-file.h"

mode_t replace_new_file_mode(void)
{
	mode_t um = umask(0);

	umask(um);
	return 0666 & ~um;
}

/* dir/.base.XXXXXX with six random characters. */
static void random_name(const struct replace_file *d, char *buf, size_t len)
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

int replace_open(struct replace_file *d, const char *path, mode_t perm)
{
	char *a = strdup(path), *b = strdup(path);
	struct stat st;
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
	/* Renaming over /dev/null or a FIFO would put a file in its place. */
	if (stat(path, &st) == 0 && !S_ISREG(st.st_mode) &&
	    !S_ISDIR(st.st_mode)) {
		d->fd = open(path, O_WRONLY | O_CLOEXEC);
		if (d->fd < 0)
			goto fail;
		d->direct = true;
		goto done;
	}
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
	if (d->unnamed || d->direct)
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

void replace_abort(struct replace_file *d)
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

/* Give the unnamed file a name: the file itself when it does not exist. */
static int link_unnamed(struct replace_file *d)
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

int replace_commit(struct replace_file *d, mode_t perm, bool durable)
{
	int dirfd, linked = 0, ret = -1;

	if (d->direct)
		return 0;
	if (fchmod(d->fd, perm) < 0 || (durable && fsync(d->fd) < 0))
		return -1;
	if (d->unnamed) {
		linked = link_unnamed(d);
		if (linked < 0)
			return -1;
	}
	if (!linked && rename(d->tmp, d->path) < 0)
		return -1;
	d->tmp[0] = '\0';
	if (!durable)
		return 0;
	dirfd = open(d->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dirfd < 0)
		return -1;
	if (fsync(dirfd) == 0)
		ret = 0;
	close(dirfd);
	return ret;
}
