/* SPDX-License-Identifier: MIT */
/*
 * LD_PRELOAD shim for the durability tests: each fsync() and fdatasync()
 * appends one line, "fsync file" or "fsync dir", to the file named by
 * FSYNC_LOG, then does the real call. The build hides symbols by default:
 * these two must be seen to take the place of libc's.
 */
#define SHIM __attribute__((visibility("default")))
#include <dlfcn.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static void note(int fd)
{
	const char *log = getenv("FSYNC_LOG");
	struct stat st;
	const char *what;
	int out;

	if (!log)
		return;
	what = fstat(fd, &st) == 0 && S_ISDIR(st.st_mode) ? "fsync dir\n"
							   : "fsync file\n";
	out = open(log, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
	if (out < 0)
		return;
	if (write(out, what, strlen(what)) < 0)
		perror("fsync-log");
	close(out);
}

SHIM int fsync(int fd)
{
	int (*real)(int) = (int (*)(int))dlsym(RTLD_NEXT, "fsync");

	note(fd);
	return real(fd);
}

SHIM int fdatasync(int fd)
{
	int (*real)(int) = (int (*)(int))dlsym(RTLD_NEXT, "fdatasync");

	note(fd);
	return real(fd);
}
