/* SPDX-License-Identifier: MIT */
/* cma-dump --pager: standard output through $PAGER when it is a terminal. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "pager.h"
#include "tool-common.h"

static pid_t pager_pid = -1;

/* At exit: the pager sees the end of its input, and is waited for (the
 * shell must not prompt over it). */
static void pager_wait(void)
{
	fflush(NULL);
	close(STDOUT_FILENO);
	while (waitpid(pager_pid, NULL, 0) < 0 && errno == EINTR)
		;
}

void pager_start(void)
{
	const char *pager = getenv("PAGER");
	int fd[2];
	pid_t pid;

	if (!isatty(STDOUT_FILENO))
		return;
	if (!pager || !*pager)
		pager = "less -R";
	if (pipe(fd) < 0)
		goto fail;
	fflush(stdout);
	pid = fork();
	if (pid < 0) {
		close(fd[0]);
		close(fd[1]);
		goto fail;
	}
	if (pid == 0) {
		dup2(fd[0], STDIN_FILENO);
		close(fd[0]);
		close(fd[1]);
		/* What git sets: quit when it fits, keep colour and screen. */
		setenv("LESS", "FRX", 0);
		execl("/bin/sh", "sh", "-c", pager, (char *)NULL);
		fprintf(stderr, "%s: cannot run the pager '%s': %s\n",
			tool_prog, pager, strerror(errno));
		_exit(127);
	}
	close(fd[0]);
	if (dup2(fd[1], STDOUT_FILENO) < 0) {
		close(fd[1]);
		goto fail;
	}
	close(fd[1]);
	pager_pid = pid;
	atexit(pager_wait);
	return;
fail:
	fprintf(stderr, "%s: note: no pager (%s)\n", tool_prog,
		strerror(errno));
}
