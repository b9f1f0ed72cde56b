/* SPDX-License-Identifier: MIT */
/* Live sharing: a second process attaches to a shared-memory arena. */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "test-util.h"

#ifndef MAP_FIXED_NOREPLACE
#define MAP_FIXED_NOREPLACE 0x100000
#endif

#define CAPACITY (1 << 20)

struct node {
	uint64_t x;
	struct node *next;
};

static int shm_fd(const char *tag)
{
	char name[64];
	int fd;

	snprintf(name, sizeof name, "/test-attach-%s-%d", tag, (int)getpid());
	fd = shm_open(name, O_CREAT | O_EXCL | O_RDWR, 0600);
	ck_assert_int_ge(fd, 0);
	shm_unlink(name);
	return fd;
}

static int wait_child(pid_t pid)
{
	int status;

	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert_msg(WIFEXITED(status), "child died");
	return WEXITSTATUS(status);
}

/*
 * The child inherited the creator's mapping through fork(); drop it to
 * stand for a process that never had it.
 */
static void forget_mapping(void *base)
{
	munmap(base, CAPACITY);
}

/* A shared-memory arena of CAPACITY bytes; its descriptor in *fd. */
static struct cm_attr *shared_arena(const char *tag, int *fd)
{
	struct cm_attr *mem;

	*fd = shm_fd(tag);
	mem = cm_create(*fd, CAPACITY, MAP_SHARED, 0);
	ck_assert_ptr_nonnull(mem);
	return mem;
}

/* head -> second (x = 2); the second's next recorded, back at the head or
 * NULL. */
static struct node *two_nodes(struct cm_attr *mem, bool back)
{
	struct node *head;

	ck_assert_int_eq(cm_alloc(mem, &head, sizeof *head), 0);
	ck_assert_int_eq(cm_alloc(mem, &head->next, sizeof *head), 0);
	head->next->x = 2;
	ck_assert_int_eq(cm_ptr_to(mem, &head->next->next,
				   back ? head : NULL), 0);
	return head;
}

/* Runs child(fd, head, base) in a forked process; it must exit 0. */
static void in_child(int (*child)(int, struct node *, uint8_t *), int fd,
		     struct node *head, uint8_t *base)
{
	pid_t pid = fork();

	ck_assert_int_ge(pid, 0);
	if (pid == 0)
		_exit(child(fd, head, base));
	ck_assert_int_eq(wait_child(pid), 0);
}

static int child_attach(int fd, struct node *head, uint8_t *base)
{
	struct cm_attr *mem;
	struct node *n;
	void *p;

	forget_mapping(base);
	mem = cm_attach(fd, 0);
	if (!mem)
		return 10;
	if (cm_get_base(mem) != base)
		return 11;
	/* The creator's list, at the creator's addresses. */
	if (head->x != 1 || !head->next || head->next->x != 2 ||
	    head->next->next)
		return 12;
	/* Allocation and recording stay with the creator. */
	errno = 0;
	if (cm_alloc(mem, &p, 16) != -1 || errno != EPERM)
		return 13;
	errno = 0;
	if (cm_ptr_to(mem, &head->next->next, head) != -1 || errno != EPERM)
		return 14;
	errno = 0;
	if (cm_free(mem, head->next) != -1 || errno != EPERM)
		return 15;
	/* Writes in place, pointer stores included, reach the creator. */
	n = head->next;
	n->x = 42;
	n->next = head;
	if (cm_delete(mem, CM_ERASE) != 0)
		return 16;
	return 0;
}

START_TEST(attach_shares_data)
{
	int fd;
	struct cm_attr *mem = shared_arena("share", &fd);
	/* Recorded here, so the child's pointer store is serialized. */
	struct node *head = two_nodes(mem, false);

	head->x = 1;
	in_child(child_attach, fd, head, cm_get_base(mem));
	ck_assert_uint_eq(head->next->x, 42);
	ck_assert_ptr_eq(head->next->next, head);
	ck_assert_ptr_nonnull(cm_serialize(mem, head, CM_RELATIVE_OFFSET, 0));
	ck_assert_int_eq(cm_check(cm_get_base(mem), (size_t)cm_get_size(mem),
				  0, NULL), 0);
	cm_delete(mem, CM_ERASE);
	close(fd);
}
END_TEST

static int child_busy(int fd, uint8_t *base, bool remap)
{
	void *other;

	if (remap) {
		/* Something else of this process sits at the address. */
		forget_mapping(base);
		other = mmap(base + CAPACITY / 2, 4096, PROT_READ,
			     MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE,
			     -1, 0);
		if (other != base + CAPACITY / 2)
			return 20;
	}
	errno = 0;
	if (cm_attach(fd, 0) || errno != EADDRINUSE)
		return 21;
	/* Nothing was replaced: the start is still free. */
	if (remap) {
		other = mmap(base, 4096, PROT_NONE, MAP_PRIVATE |
			     MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
		if (other != base)
			return 22;
	}
	return 0;
}

START_TEST(attach_address_busy)
{
	int fd;
	struct cm_attr *mem = shared_arena("busy", &fd);
	uint8_t *base = cm_get_base(mem);
	pid_t pid;

	/* In the creator itself: its own arena holds the address. */
	errno = 0;
	ck_assert_ptr_null(cm_attach(fd, 0));
	ck_assert_int_eq(errno, EADDRINUSE);
	for (int remap = 0; remap < 2; remap++) {
		pid = fork();
		ck_assert_int_ge(pid, 0);
		if (pid == 0)
			_exit(child_busy(fd, base, remap));
		ck_assert_int_eq(wait_child(pid), 0);
	}
	cm_delete(mem, CM_ERASE);
	close(fd);
}
END_TEST

static int child_attach_sealed(int fd, struct node *head, uint8_t *base)
{
	struct cm_attr *mem;

	forget_mapping(base);
	mem = cm_attach(fd, 0);
	if (!mem)
		return 30;
	if (head->next->x != 2 || head->next->next != head)
		return 31;
	cm_delete(mem, CM_ERASE);
	return 0;
}

/* An arena its creator has sealed in place can still be attached. */
START_TEST(attach_sealed)
{
	int fd;
	struct cm_attr *mem = shared_arena("sealed", &fd);
	struct node *head = two_nodes(mem, true);

	ck_assert_ptr_nonnull(cm_serialize(mem, head, CM_ABSOLUTE_OFFSET, 0));
	in_child(child_attach_sealed, fd, head, cm_get_base(mem));
	cm_delete(mem, CM_ERASE);
	close(fd);
}
END_TEST

START_TEST(attach_refusals)
{
	int fd = shm_fd("bad");
	uint8_t junk[4096];
	struct cm_attr *mem;

	/* Empty, then garbage: no arena there. */
	errno = 0;
	ck_assert_ptr_null(cm_attach(fd, 0));
	ck_assert_int_eq(errno, EBADMSG);
	memset(junk, 0x3c, sizeof junk);
	ck_assert_int_eq(write(fd, junk, sizeof junk), sizeof junk);
	errno = 0;
	ck_assert_ptr_null(cm_attach(fd, 0));
	ck_assert_int_eq(errno, EBADMSG);

	/* An arena header with one field spoiled at a time. */
	mem = cm_create(fd, CAPACITY, MAP_SHARED, 0);
	ck_assert_ptr_nonnull(mem);
	memcpy(junk, cm_get_base(mem), 128);
	cm_delete(mem, CM_ERASE);
	static const size_t fields[] = { 0, 8, 12, 20, 32, 40 };
	for (size_t i = 0; i < sizeof fields / sizeof *fields; i++) {
		uint8_t h[128];

		memcpy(h, junk, 128);
		/* Base: no longer page-aligned; the others: out of range. */
		h[fields[i]] ^= fields[i] == 32 ? 0x08 : 0x40;
		if (fields[i] == 40)
			memset(h + 40, 0xff, 8);
		ck_assert_int_eq(pwrite(fd, h, 128, 0), 128);
		errno = 0;
		ck_assert_ptr_null(cm_attach(fd, 0));
		ck_assert_int_eq(errno, EBADMSG);
	}
	errno = 0;
	ck_assert_ptr_null(cm_attach(fd, 1));
	ck_assert_int_eq(errno, EINVAL);
	errno = 0;
	ck_assert_ptr_null(cm_attach(-1, 0));
	ck_assert_int_eq(errno, EBADF);
	close(fd);
}
END_TEST

Suite *cm_test_suite(void)
{
	Suite *s = suite_create("attach");
	TCase *tc = tcase_create("attach");

	tcase_add_test(tc, attach_shares_data);
	tcase_add_test(tc, attach_address_busy);
	tcase_add_test(tc, attach_sealed);
	tcase_add_test(tc, attach_refusals);
	suite_add_tcase(s, tc);
	return s;
}
