/* SPDX-License-Identifier: MIT */
/* The arena: creation on each backing, refusals, accounting, placement. */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "test-util.h"

#ifndef MAP_FIXED_NOREPLACE
#define MAP_FIXED_NOREPLACE 0x100000
#endif

#define MAGIC "\x89" "CMA\r\n\x1a\n"

static size_t page(void)
{
	return (size_t)sysconf(_SC_PAGESIZE);
}

static int temp_file(void)
{
	char path[] = "/tmp/test-arena-XXXXXX";
	int fd = mkstemp(path);

	ck_assert_int_ge(fd, 0);
	unlink(path);
	return fd;
}

/* An arena of `capacity` bytes shared over a new temporary file (*fd). */
static struct cm_attr *file_arena(size_t capacity, int flags, int *fd)
{
	struct cm_attr *mem;

	*fd = temp_file();
	mem = cm_create(*fd, capacity, MAP_SHARED, flags);
	ck_assert_ptr_nonnull(mem);
	return mem;
}

static off_t file_size(int fd)
{
	struct stat st;

	ck_assert_int_eq(fstat(fd, &st), 0);
	return st.st_size;
}

static uint64_t load64(const void *p)
{
	uint64_t v;

	memcpy(&v, p, 8);
	return v;
}

static uint32_t load32(const void *p)
{
	uint32_t v;

	memcpy(&v, p, 4);
	return v;
}

/* The live header every new arena starts with. */
static void check_live_header(struct cm_attr *mem, size_t capacity)
{
	const uint8_t *h = cm_get_base(mem);

	ck_assert_ptr_nonnull(h);
	ck_assert_mem_eq(h, MAGIC, 8);
	ck_assert_uint_eq(h[8] | h[9] << 8, 1);
	ck_assert_uint_eq(h[10] | h[11] << 8, 0);
	ck_assert_uint_eq(load32(h + 12), 128);
	ck_assert_uint_eq(load32(h + 20), 1);	/* LIVE */
	ck_assert_uint_eq(load64(h + 32), (uintptr_t)h);
	ck_assert_uint_eq(load64(h + 40), capacity);
}

/* Whether anything is mapped in [p, p + len): ask for the range without
 * replacing anything (a probe that valgrind does not report). */
static bool is_mapped(void *p, size_t len)
{
	void *q = mmap(p, len, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS |
		       MAP_FIXED_NOREPLACE, -1, 0);

	if (q == MAP_FAILED)
		return true;
	munmap(q, len);
	return q != p;
}

START_TEST(create_anonymous)
{
	const size_t cap = 1 << 20;
	struct cm_attr *mem = cm_create(-1, cap, MAP_PRIVATE, 0);
	uint8_t *base;

	ck_assert_ptr_nonnull(mem);
	check_live_header(mem, cap);
	base = cm_get_base(mem);
	/* Aligned for transparent huge pages. */
	ck_assert_uint_eq((uintptr_t)base % (2 << 20), 0);
	ck_assert_int_eq(cm_get_size(mem), 128);
	ck_assert_int_eq(cm_get_free_size(mem), cap - 128);
	ck_assert_int_eq(cm_get_live_size(mem), 0);
	ck_assert_int_eq(cm_delete(mem, CM_ERASE), 0);

	mem = cm_create(-1, cap, MAP_SHARED, CM_NO_HUGEPAGES);
	ck_assert_ptr_nonnull(mem);
	check_live_header(mem, cap);
	ck_assert_int_eq(cm_delete(mem, CM_ERASE), 0);
}
END_TEST

START_TEST(create_file)
{
	int fd = temp_file();
	char junk[8192];
	struct cm_attr *mem;
	uint8_t *p;

	/* Whatever the file held is gone: a new arena starts empty. */
	memset(junk, 0xa5, sizeof junk);
	for (int i = 0; i < 16; i++)
		ck_assert_int_eq(write(fd, junk, sizeof junk), sizeof junk);
	mem = cm_create(fd, 16 << 20, MAP_SHARED, 0);
	ck_assert_ptr_nonnull(mem);
	check_live_header(mem, 16 << 20);
	ck_assert_int_eq(file_size(fd) % page(), 0);
	ck_assert_int_lt(file_size(fd), 16 * 8192);
	ck_assert_int_eq(cm_alloc(mem, &p, 20000), 0);
	for (int i = 0; i < 20000; i++)
		require_eq(p[i], 0);
	ck_assert_int_eq(cm_delete(mem, CM_ERASE), 0);
	close(fd);
}
END_TEST

START_TEST(create_shm)
{
	char name[64];
	struct cm_attr *mem;
	uint64_t *p;
	int fd;

	snprintf(name, sizeof name, "/test-arena-%d", (int)getpid());
	fd = shm_open(name, O_CREAT | O_EXCL | O_RDWR, 0600);
	ck_assert_int_ge(fd, 0);
	shm_unlink(name);
	mem = cm_create(fd, 8 << 20, MAP_SHARED, 0);
	ck_assert_ptr_nonnull(mem);
	check_live_header(mem, 8 << 20);
	for (int i = 0; i < 1000; i++) {
		require_eq(cm_alloc(mem, &p, 1000), 0);
		p[124] = (uint64_t)i;
	}
	ck_assert_int_eq(cm_get_size(mem), 128 + 1000 * 1000);
	ck_assert_int_ge(file_size(fd), 128 + 1000 * 1000);
	ck_assert_int_eq(cm_delete(mem, CM_ERASE), 0);
	close(fd);
}
END_TEST

START_TEST(create_refusals)
{
	int fd = temp_file(), pipefd[2];

	errno = 0;
	ck_assert_ptr_null(cm_create(-1, 1 << 20, 0, 0));
	ck_assert_int_eq(errno, EINVAL);
	errno = 0;
	ck_assert_ptr_null(cm_create(-1, 1 << 20, MAP_SHARED | MAP_PRIVATE,
				     0));
	ck_assert_int_eq(errno, EINVAL);
	errno = 0;
	ck_assert_ptr_null(cm_create(-1, 1 << 20, MAP_PRIVATE, 0x100));
	ck_assert_int_eq(errno, EINVAL);
	errno = 0;
	ck_assert_ptr_null(cm_create(-1, 0, MAP_PRIVATE, 0));
	ck_assert_int_eq(errno, EINVAL);
	errno = 0;
	ck_assert_ptr_null(cm_create(-1, 128, MAP_PRIVATE, 0));
	ck_assert_int_eq(errno, EINVAL);
	errno = 0;
	ck_assert_ptr_null(cm_create(-1, SIZE_MAX, MAP_PRIVATE, 0));
	ck_assert_int_eq(errno, EINVAL);
	/* A file descriptor that is not a regular file. */
	ck_assert_int_eq(pipe(pipefd), 0);
	errno = 0;
	ck_assert_ptr_null(cm_create(pipefd[0], 1 << 20, MAP_SHARED, 0));
	ck_assert_int_eq(errno, EINVAL);
	close(pipefd[0]);
	close(pipefd[1]);
	errno = 0;
	ck_assert_ptr_null(cm_create(pipefd[0], 1 << 20, MAP_SHARED, 0));
	ck_assert_int_eq(errno, EBADF);
	/* A refused mode leaves the file alone. */
	ck_assert_int_eq(write(fd, "data", 4), 4);
	ck_assert_ptr_null(cm_create(fd, 1 << 20, 0x7, 0));
	ck_assert_int_eq(file_size(fd), 4);
	close(fd);

	errno = 0;
	ck_assert_int_eq(cm_get_size(NULL), -1);
	ck_assert_int_eq(errno, EINVAL);
	ck_assert_int_eq(cm_get_free_size(NULL), -1);
	ck_assert_int_eq(cm_get_live_size(NULL), -1);
	ck_assert_ptr_null(cm_get_base(NULL));
}
END_TEST

START_TEST(size_accounting)
{
	const size_t cap = 64 << 10;
	struct cm_attr *mem = cm_create(-1, cap, MAP_PRIVATE, 0);
	size_t want = 128, live = 0;
	void *p;

	ck_assert_ptr_nonnull(mem);
	for (size_t n = 1; n < 200; n += 7) {
		ck_assert_int_eq(cm_alloc(mem, &p, n), 0);
		want += (n + 7) & ~(size_t)7;
		live += (n + 7) & ~(size_t)7;
		ck_assert_int_eq(cm_get_size(mem), want);
		ck_assert_int_eq(cm_get_free_size(mem), cap - want);
		ck_assert_int_eq(cm_get_live_size(mem), live);
	}
	cm_delete(mem, CM_ERASE);
}
END_TEST

/* The backing file follows the data in whole pages, reserved, not sparse. */
START_TEST(file_grows_in_pages)
{
	int fd;
	struct cm_attr *mem = file_arena(32 << 20, 0, &fd);
	off_t prev = 0, grew = 0;
	struct stat st;
	void *p;

	for (int i = 0; i < 3000; i++) {
		off_t sz;

		require_eq(cm_alloc(mem, &p, 1000), 0);
		sz = file_size(fd);
		require_eq(sz % page(), 0);
		require(sz >= cm_get_size(mem));
		require(sz <= 32 << 20);
		require(sz >= prev);
		grew += sz != prev;
		prev = sz;
	}
	/* Geometric growth: a few steps, not one per page. */
	ck_assert_int_lt(grew, 20);
	ck_assert_int_eq(fstat(fd, &st), 0);
	ck_assert_int_ge((off_t)st.st_blocks * 512, cm_get_size(mem));
	cm_delete(mem, CM_ERASE);
	close(fd);
}
END_TEST

/* Sealing cuts the file to the blob; growing again follows the data. */
START_TEST(file_after_serialize)
{
	int fd;
	struct cm_attr *mem = file_arena(8 << 20, 0, &fd);
	uint64_t *p, *q;
	ssize_t blob;

	ck_assert_int_eq(cm_alloc(mem, &p, 5000), 0);
	ck_assert_int_eq(cm_do_ptr_to(mem, (void **)&p[3], p), 0);
	ck_assert_ptr_eq(cm_serialize(mem, p, CM_RELATIVE_OFFSET, 0),
			 cm_get_base(mem));
	blob = cm_get_size(mem);
	ck_assert_int_gt(blob, 128 + 5000);
	ck_assert_int_eq(file_size(fd), blob);
	ck_assert_int_eq(cm_alloc(mem, &q, 100000), 0);
	ck_assert_int_eq(cm_get_size(mem), 128 + 5000 + 100000);
	ck_assert_int_eq(file_size(fd) % page(), 0);
	ck_assert_int_ge(file_size(fd), cm_get_size(mem));
	q[100000 / 8 - 1] = 1;
	ck_assert_ptr_nonnull(cm_serialize(mem, p, CM_ABSOLUTE_OFFSET, 0));
	ck_assert_int_eq(file_size(fd), cm_get_size(mem));
	ck_assert_int_eq(cm_check(cm_get_base(mem), (size_t)cm_get_size(mem),
				  CM_CHECK_EXACT, NULL), 0);
	cm_delete(mem, CM_ERASE);
	close(fd);
}
END_TEST

START_TEST(delete_flags)
{
	int fd;
	struct cm_attr *mem = file_arena(1 << 20, 0, &fd);
	uint8_t *base, head[8];
	uint64_t *p;

	errno = 0;
	ck_assert_int_eq(cm_delete(NULL, CM_ERASE), -1);
	ck_assert_int_eq(errno, EINVAL);
	errno = 0;
	ck_assert_int_eq(cm_delete(mem, 7), -1);
	ck_assert_int_eq(errno, EINVAL);
	/* Still usable after the refusal. */
	ck_assert_int_eq(cm_alloc(mem, &p, 8), 0);
	*p = 42;
	base = cm_get_base(mem);
	ck_assert_int_eq(cm_delete(mem, CM_ERASE), 0);
	ck_assert(!is_mapped(base, page()));
	/* The backing file keeps its contents. */
	ck_assert_int_eq(pread(fd, head, 8, 0), 8);
	ck_assert_mem_eq(head, MAGIC, 8);
	ck_assert_int_eq(pread(fd, head, 8, 128), 8);
	ck_assert_uint_eq(load64(head), 42);

	mem = cm_create(-1, 1 << 20, MAP_PRIVATE, 0);
	ck_assert_ptr_nonnull(mem);
	ck_assert_int_eq(cm_alloc(mem, &p, 8), 0);
	*p = 7;
	base = cm_get_base(mem);
	ck_assert_int_eq(cm_delete(mem, CM_PRESERVE), 0);
	/* The mapping is the caller's now. */
	ck_assert(is_mapped(base, page()));
	ck_assert_mem_eq(base, MAGIC, 8);
	ck_assert_uint_eq(*p, 7);
	ck_assert_int_eq(munmap(base, 1 << 20), 0);
	close(fd);
}
END_TEST

START_TEST(fixed_base)
{
	const uint64_t start = CM_FIXED_RANGE_START;
	bool start_free = !is_mapped((void *)(uintptr_t)start, page());
	struct cm_attr *mem;
	uintptr_t base, again;
	void *busy;

	/* Alone, an arena gets the first address of the range (unless a
	 * sanitizer's heap already lives there), and the same one again. */
	mem = cm_create(-1, 1 << 20, MAP_PRIVATE, CM_FIXED_BASE);
	ck_assert_ptr_nonnull(mem);
	base = (uintptr_t)cm_get_base(mem);
	if (start_free)
		ck_assert_uint_eq(base, start);
	ck_assert_uint_ge(base, start);
	ck_assert_uint_le(base + (1 << 20), CM_FIXED_RANGE_END);
	check_live_header(mem, 1 << 20);
	cm_delete(mem, CM_ERASE);
	mem = cm_create(-1, 1 << 20, MAP_PRIVATE, CM_FIXED_BASE);
	ck_assert_ptr_nonnull(mem);
	ck_assert_uint_eq((uintptr_t)cm_get_base(mem), base);
	cm_delete(mem, CM_ERASE);

	/* A busy candidate is skipped, and nothing of it replaced. */
	busy = mmap((void *)base, page(), PROT_READ, MAP_PRIVATE |
		    MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
	ck_assert_ptr_eq(busy, (void *)base);
	mem = cm_create(-1, 1 << 20, MAP_PRIVATE, CM_FIXED_BASE);
	ck_assert_ptr_nonnull(mem);
	again = (uintptr_t)cm_get_base(mem);
	ck_assert_uint_gt(again, base);
	ck_assert_uint_le(again + (1 << 20), CM_FIXED_RANGE_END);
	ck_assert_uint_eq(again % page(), 0);
	ck_assert(is_mapped(busy, page()));
	cm_delete(mem, CM_ERASE);
	munmap(busy, page());

	/* A busy stretch of many candidates is crossed too. */
	busy = mmap((void *)base, 256 << 20, PROT_NONE, MAP_PRIVATE |
		    MAP_ANONYMOUS | MAP_NORESERVE | MAP_FIXED_NOREPLACE, -1, 0);
	ck_assert_ptr_eq(busy, (void *)base);
	mem = cm_create(-1, 1 << 20, MAP_PRIVATE, CM_FIXED_BASE);
	ck_assert_ptr_nonnull(mem);
	ck_assert_uint_ge((uintptr_t)cm_get_base(mem), base + (256 << 20));
	cm_delete(mem, CM_ERASE);
	munmap(busy, 256 << 20);
}
END_TEST

/* Candidates are the range start plus multiples of the arena's size in
 * 2 MiB steps, whatever that size (the step need not be a power of two). */
START_TEST(fixed_base_steps)
{
	const uint64_t start = CM_FIXED_RANGE_START, step = 6 << 20;
	struct cm_attr *mem;
	void *busy;

	if (is_mapped((void *)(uintptr_t)start, page()))
		return;	/* a sanitizer's heap lives there */
	busy = mmap((void *)(uintptr_t)start, page(), PROT_READ, MAP_PRIVATE |
		    MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
	ck_assert_ptr_eq(busy, (void *)(uintptr_t)start);
	mem = cm_create(-1, step, MAP_PRIVATE, CM_FIXED_BASE);
	ck_assert_ptr_nonnull(mem);
	ck_assert_uint_eq((uintptr_t)cm_get_base(mem), start + step);
	cm_delete(mem, CM_ERASE);
	munmap(busy, page());
}
END_TEST

START_TEST(fixed_base_file)
{
	int fd;
	struct cm_attr *mem = file_arena(1 << 20, CM_FIXED_BASE, &fd);
	uint64_t *p;

	ck_assert_uint_ge((uintptr_t)cm_get_base(mem), CM_FIXED_RANGE_START);
	ck_assert_uint_lt((uintptr_t)cm_get_base(mem), CM_FIXED_RANGE_END);
	ck_assert_int_eq(cm_alloc(mem, &p, 64), 0);
	cm_delete(mem, CM_ERASE);
	close(fd);
}
END_TEST

START_TEST(create_at)
{
	const size_t len = 1 << 20;
	struct cm_attr *mem, *other;
	uint8_t *addr;
	uint64_t *p;

	/* Find a free range, then give it back and ask for it. */
	addr = mmap(NULL, len, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ck_assert_ptr_ne(addr, MAP_FAILED);
	munmap(addr, len);
	mem = cm_create_at(-1, len, MAP_PRIVATE, 0, addr);
	ck_assert_ptr_nonnull(mem);
	ck_assert_ptr_eq(cm_get_base(mem), addr);
	check_live_header(mem, len);
	ck_assert_int_eq(cm_alloc(mem, &p, 8), 0);
	ck_assert_ptr_eq(p, addr + 128);

	/* The same address again is taken: refused, nothing replaced. */
	errno = 0;
	other = cm_create_at(-1, len, MAP_PRIVATE, 0, addr);
	ck_assert_ptr_null(other);
	ck_assert_int_eq(errno, EADDRINUSE);
	errno = 0;
	other = cm_create_at(-1, len, MAP_PRIVATE, 0, addr + len / 2);
	ck_assert_ptr_null(other);
	ck_assert_int_eq(errno, EADDRINUSE);
	ck_assert_mem_eq(addr, MAGIC, 8);

	errno = 0;
	ck_assert_ptr_null(cm_create_at(-1, len, MAP_PRIVATE, 0, addr + 8));
	ck_assert_int_eq(errno, EINVAL);
	errno = 0;
	ck_assert_ptr_null(cm_create_at(-1, len, MAP_PRIVATE, 0, NULL));
	ck_assert_int_eq(errno, EINVAL);
	cm_delete(mem, CM_ERASE);
}
END_TEST

START_TEST(create_at_file)
{
	int fd = temp_file();
	const size_t len = 1 << 20;
	struct cm_attr *mem;
	uint8_t *addr;

	addr = mmap(NULL, len, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ck_assert_ptr_ne(addr, MAP_FAILED);
	munmap(addr, len);
	mem = cm_create_at(fd, len, MAP_SHARED, 0, addr);
	ck_assert_ptr_nonnull(mem);
	ck_assert_ptr_eq(cm_get_base(mem), addr);
	cm_delete(mem, CM_ERASE);
	close(fd);
}
END_TEST

Suite *cm_test_suite(void)
{
	Suite *s = suite_create("arena");
	TCase *tc;

	tc = tcase_create("create");
	tcase_add_test(tc, create_anonymous);
	tcase_add_test(tc, create_file);
	tcase_add_test(tc, create_shm);
	tcase_add_test(tc, create_refusals);
	suite_add_tcase(s, tc);

	tc = tcase_create("accounting");
	tcase_add_test(tc, size_accounting);
	tcase_add_test(tc, file_grows_in_pages);
	tcase_add_test(tc, file_after_serialize);
	tcase_add_test(tc, delete_flags);
	suite_add_tcase(s, tc);

	tc = tcase_create("placement");
	tcase_add_test(tc, fixed_base);
	tcase_add_test(tc, fixed_base_steps);
	tcase_add_test(tc, fixed_base_file);
	tcase_add_test(tc, create_at);
	tcase_add_test(tc, create_at_file);
	suite_add_tcase(s, tc);
	return s;
}
