/* SPDX-License-Identifier: MIT */
/* The original cma's calls, as its users wrote them (doc/compatibility.md). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "test-util.h"

#define ARENA (1 << 20)

struct example {
	int x;
	char *s;
	struct example *nxt;
};

static int temp_file(void)
{
	char path[] = "/tmp/test-compat-XXXXXX";
	int fd = mkstemp(path);

	ck_assert_int_ge(fd, 0);
	unlink(path);
	return fd;
}

/* The pointer count a serialize of `root` records. */
static uint64_t sealed_pointers(struct cm_attr *mem, void *root)
{
	void *blob = cm_serialize(mem, root, CM_ABSOLUTE_OFFSET, 0);

	ck_assert_ptr_nonnull(blob);
	return cm_test_header(blob, (size_t)cm_get_size(mem)).pointer_count;
}

/* The original's example: two nodes sharing one string, then relocated. */
START_TEST(anonymous_private)
{
	struct cm_attr *mem = cm_create(-1, ARENA, MAP_PRIVATE | MAP_ANONYMOUS,
					0);
	struct example *ur, *back;
	void *copy;
	size_t len;

	ck_assert_ptr_nonnull(mem);
	ck_assert_int_eq(cm_alloc(mem, &ur, sizeof(*ur)), 0);
	ur->x = 1;
	ck_assert_int_eq(cm_alloc(mem, &ur->s, 5), 0);
	memcpy(ur->s, "toto", 5);
	ck_assert_int_eq(cm_alloc(mem, &ur->nxt, sizeof(*ur->nxt)), 0);
	ur->nxt->x = 2;
	ck_assert_int_eq(cm_ptr_to(mem, &ur->nxt->s, ur->s), 0);
	ck_assert_ptr_eq(cm_serialize(mem, ur, CM_RELATIVE_OFFSET, 0),
			 cm_get_base(mem));
	len = (size_t)cm_get_size(mem);
	copy = cm_test_copy(cm_get_base(mem), len);
	ck_assert_int_eq(cm_delete(mem, CM_EREASE), 0);

	back = cm_deserialize(copy, len);
	ck_assert_ptr_nonnull(back);
	ck_assert_int_eq(back->x, 1);
	ck_assert_str_eq(back->s, "toto");
	ck_assert_int_eq(back->nxt->x, 2);
	ck_assert_ptr_eq(back->nxt->s, back->s);
	ck_assert_ptr_null(back->nxt->nxt);
	free(copy);
}
END_TEST

/* MAP_SHARED | MAP_ANONYMOUS: a child's writes reach the parent. */
START_TEST(anonymous_shared)
{
	struct cm_attr *mem = cm_create(-1, ARENA, MAP_SHARED | MAP_ANONYMOUS,
					0);
	struct example *ur;
	int status;
	pid_t pid;

	ck_assert_ptr_nonnull(mem);
	ck_assert_int_eq(cm_alloc(mem, &ur, sizeof(*ur)), 0);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		ur->x = 42;
		_exit(0);
	}
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	ck_assert_int_eq(ur->x, 42);
	cm_delete(mem, CM_ERASE);
}
END_TEST

/* Modes the original passed to mmap() that mean nothing here are refused,
 * before a backing file is touched. */
START_TEST(mode_refusals)
{
	int fd = temp_file();
	struct stat st;

	ck_assert_int_eq(write(fd, "keep", 4), 4);
	errno = 0;
	ck_assert_ptr_null(cm_create(fd, ARENA, MAP_SHARED | MAP_ANONYMOUS, 0));
	ck_assert_int_eq(errno, EINVAL);
	ck_assert_int_eq(fstat(fd, &st), 0);
	ck_assert_int_eq(st.st_size, 4);
	errno = 0;
	ck_assert_ptr_null(cm_create(-1, ARENA, MAP_ANONYMOUS, 0));
	ck_assert_int_eq(errno, EINVAL);
	errno = 0;
	ck_assert_ptr_null(cm_create(-1, ARENA,
				     MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE,
				     0));
	ck_assert_int_eq(errno, EINVAL);
	errno = 0;
	ck_assert_ptr_null(cm_create_at(fd, ARENA, MAP_SHARED | MAP_ANONYMOUS,
					0, (void *)0x600000000000));
	ck_assert_int_eq(errno, EINVAL);
	close(fd);
}
END_TEST

/* CM_GROW records a slot inside the arena; without it the address is
 * stored, not recorded, until cm_ptr_to() records it. */
START_TEST(do_alloc_grow)
{
	struct cm_attr *mem = cm_create(-1, ARENA, MAP_PRIVATE, 0);
	struct example *root;

	ck_assert_ptr_nonnull(mem);
	ck_assert_int_eq(cm_alloc(mem, &root, sizeof(*root)), 0);
	ck_assert_int_eq(cm_do_alloc(mem, (void **)&root->s, 5, CM_GROW), 0);
	ck_assert_uint_eq(sealed_pointers(mem, root), 1);
	ck_assert_int_eq(cm_do_alloc(mem, (void **)&root->nxt,
				     sizeof(*root->nxt), CM_ALIGNED), 0);
	ck_assert_ptr_nonnull(root->nxt);
	ck_assert_uint_eq(sealed_pointers(mem, root), 1);
	ck_assert_int_eq(cm_do_alloc(mem, (void **)&root->nxt->s, 3, 0), 0);
	ck_assert_uint_eq(sealed_pointers(mem, root), 1);
	ck_assert_int_eq(cm_ptr_to(mem, &root->nxt, root->nxt), 0);
	ck_assert_uint_eq(sealed_pointers(mem, root), 2);
	cm_delete(mem, CM_ERASE);
}
END_TEST

/* Every allocation is 8-byte aligned, CM_ALIGNED or not. */
START_TEST(do_alloc_aligned)
{
	struct cm_attr *mem = cm_create(-1, ARENA, MAP_PRIVATE, 0);
	void *p;

	ck_assert_ptr_nonnull(mem);
	for (int flags = 0; flags <= (CM_GROW | CM_ALIGNED); flags++) {
		ck_assert_int_eq(cm_do_alloc(mem, &p, 3, flags), 0);
		ck_assert_uint_eq((uintptr_t)p % 8, 0);
	}
	cm_delete(mem, CM_ERASE);
}
END_TEST

/* Any other flag bit is refused and changes nothing. */
START_TEST(do_alloc_unknown_flags)
{
	struct cm_attr *mem = cm_create(-1, ARENA, MAP_PRIVATE, 0);
	ssize_t size;
	void *p = &p;

	ck_assert_ptr_nonnull(mem);
	size = cm_get_size(mem);
	for (int bit = 2; bit < 31; bit++) {
		errno = 0;
		ck_assert_int_eq(cm_do_alloc(mem, &p, 8,
					     CM_GROW | CM_ALIGNED | 1 << bit),
				 -1);
		ck_assert_int_eq(errno, EINVAL);
	}
	ck_assert_ptr_eq(p, &p);
	ck_assert_int_eq(cm_get_size(mem), size);
	ck_assert_int_eq(cm_get_live_size(mem), 0);
	cm_delete(mem, CM_ERASE);
}
END_TEST

/* CM_PRESERVE: the bookkeeping goes, the mapping stays the caller's. */
START_TEST(delete_preserve)
{
	struct cm_attr *mem = cm_create(-1, ARENA + 1, MAP_PRIVATE, 0);
	size_t page = (size_t)sysconf(_SC_PAGESIZE);
	size_t map_len = (ARENA + 1 + page - 1) / page * page;
	struct example *ur;
	uint8_t *base;

	ck_assert_ptr_nonnull(mem);
	ck_assert_int_eq(cm_alloc(mem, &ur, sizeof(*ur)), 0);
	ur->x = 5;
	base = cm_get_base(mem);
	ck_assert_int_eq(cm_delete(mem, CM_PRESERVE), 0);
	ck_assert_int_eq(ur->x, 5);
	base[map_len - 1] = 1;
	ck_assert_int_eq(munmap(base, map_len), 0);
}
END_TEST

Suite *cm_test_suite(void)
{
	Suite *s = suite_create("compat");
	TCase *tc;

	tc = tcase_create("create");
	tcase_add_test(tc, anonymous_private);
	tcase_add_test(tc, anonymous_shared);
	tcase_add_test(tc, mode_refusals);
	suite_add_tcase(s, tc);

	tc = tcase_create("alloc flags");
	tcase_add_test(tc, do_alloc_grow);
	tcase_add_test(tc, do_alloc_aligned);
	tcase_add_test(tc, do_alloc_unknown_flags);
	suite_add_tcase(s, tc);

	tc = tcase_create("delete");
	tcase_add_test(tc, delete_preserve);
	suite_add_tcase(s, tc);
	return s;
}
