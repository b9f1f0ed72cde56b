/* SPDX-License-Identifier: MIT */
/* Faults: a backing file that cannot grow fails cm_alloc, never SIGBUS. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "test-util.h"

#define LIMIT	(256 << 10)	/* the file size limit of the child */

struct item {
	uint64_t value;
	struct item *next;
	uint8_t pad[1008];
};

/*
 * In the child: fill a file-backed arena past RLIMIT_FSIZE. Every failure
 * is an exit status; a SIGBUS would show as a signal.
 */
static int fill_past_limit(int fd, int mode)
{
	const struct rlimit rl = { LIMIT, LIMIT };
	struct item *head = NULL, *it;
	struct cm_attr *mem;
	size_t count = 0, n;
	ssize_t size;
	void *blob;

	signal(SIGXFSZ, SIG_IGN);
	if (setrlimit(RLIMIT_FSIZE, &rl) != 0)
		return 10;
	mem = cm_create(fd, 64 << 20, mode, 0);
	if (!mem)
		return 11;
	for (;;) {
		if (cm_alloc(mem, &it, sizeof *it) != 0)
			break;
		/* Every byte handed out is backed: store into all of it. */
		memset(it->pad, 0x5a, sizeof it->pad);
		it->value = count++;
		if (cm_ptr_to(mem, &it->next, head) != 0)
			return 12;
		head = it;
	}
	if (errno != EFBIG && errno != ENOSPC)
		return 13;
	/* The limit is what stopped it, and growth got close to it. */
	if (count * sizeof *it > LIMIT || count * sizeof *it < LIMIT / 2)
		return 14;
	/* Unchanged by the failure, and still usable. */
	size = cm_get_size(mem);
	if (cm_alloc(mem, &it, sizeof *it) == 0 || cm_get_size(mem) != size)
		return 15;
	if (cm_free(mem, head->next) != 0)
		return 16;
	if (cm_alloc(mem, &head->next, sizeof *it) != 0)
		return 17;
	head->next->value = count - 2;
	if (cm_ptr_to(mem, &head->next->next, NULL) != 0)
		return 18;
	n = 0;
	for (it = head; it; it = it->next) {
		if (it->value != count - 1 - n)
			return 19;
		n++;
	}
	/* Sealing may need more file than the limit allows: either way it
	 * says so cleanly and the arena stays intact. */
	blob = cm_serialize(mem, head, CM_RELATIVE_OFFSET, 0);
	if (blob) {
		if (cm_check(blob, (size_t)cm_get_size(mem), 0, NULL) != 0)
			return 20;
	} else if (errno != EFBIG && errno != ENOSPC && errno != ENOMEM) {
		return 21;
	}
	n = 0;
	for (it = head; it; it = it->next)
		n++;
	if (n != 2)
		return 22;
	cm_delete(mem, CM_ERASE);
	return 0;
}

static void run_child(int mode)
{
	char path[] = "/tmp/test-faults-XXXXXX";
	int fd = mkstemp(path), status;
	pid_t pid;

	ck_assert_int_ge(fd, 0);
	unlink(path);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0)
		_exit(fill_past_limit(fd, mode));
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert_msg(!WIFSIGNALED(status), "child killed by signal %d",
		      WTERMSIG(status));
	ck_assert_int_eq(WEXITSTATUS(status), 0);
	close(fd);
}

START_TEST(file_limit_shared)
{
	run_child(MAP_SHARED);
}
END_TEST

START_TEST(file_limit_private)
{
	run_child(MAP_PRIVATE);
}
END_TEST

Suite *cm_test_suite(void)
{
	Suite *s = suite_create("faults");
	TCase *tc = tcase_create("file size limit");

	tcase_add_test(tc, file_limit_shared);
	tcase_add_test(tc, file_limit_private);
	suite_add_tcase(s, tc);
	return s;
}
