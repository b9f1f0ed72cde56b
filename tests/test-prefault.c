/* SPDX-License-Identifier: MIT */
/* Pre-faulting a relocation's pages and a seal's table: only the blob's,
 * only when the memory is fresh, off when the kernel refuses, and every
 * guarantee kept. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "test-util.h"
#include "../lib/cma-private.h"

static const int modes[] = { CM_RELATIVE_OFFSET, CM_ABSOLUTE_OFFSET };

/* Several walk chunks (512 KiB): a first to probe, then populated ones. */
#define NODES (160 * 1024)

/* What the stand-in for madvise saw, and what it answers. */
static struct {
	unsigned calls;
	int fail_errno;		/* 0: do the real madvise */
	uintptr_t lo, hi;	/* the lowest and highest byte asked for */
	bool unaligned;
} seen;

static int advise(void *addr, size_t len, int advice)
{
	uintptr_t a = (uintptr_t)addr;

	seen.calls++;
	if (a % 4096 || len % 4096 || !len)
		seen.unaligned = true;
	if (!seen.lo || a < seen.lo)
		seen.lo = a;
	if (a + len > seen.hi)
		seen.hi = a + len;
	if (seen.fail_errno) {
		errno = seen.fail_errno;
		return -1;
	}
	return madvise(addr, len, advice);
}

static void hook(int fail_errno)
{
	memset(&seen, 0, sizeof seen);
	seen.fail_errno = fail_errno;
	cm_prefault_advise = advise;
}

static void unhook(void)
{
	cm_prefault_advise = madvise;
}

/* A file holding `prefix` zero bytes, then the blob; its descriptor. */
static int blob_file(const void *blob, size_t len, size_t prefix)
{
	char path[] = "/tmp/cma-test-prefault-XXXXXX";
	int fd = mkstemp(path);
	uint8_t zero[64] = { 0 };

	ck_assert_int_ge(fd, 0);
	unlink(path);
	ck_assert_uint_le(prefix, sizeof zero);
	ck_assert_int_eq(write(fd, zero, prefix), (ssize_t)prefix);
	ck_assert_int_eq(write(fd, blob, len), (ssize_t)len);
	return fd;
}

static uint8_t *map_file(int fd, size_t len, int share)
{
	void *p = mmap(NULL, len, PROT_READ | PROT_WRITE, share, fd, 0);

	ck_assert_ptr_ne(p, MAP_FAILED);
	return p;
}

/* Every node of the relocated list, from the root down. */
static void walk_list(const struct lnode *n, size_t nodes)
{
	for (size_t i = nodes; i-- > 0; n = n->next) {
		require(n != NULL);
		require_eq(n->x, i);
	}
	ck_assert_ptr_null(n);
}

/* The file's bytes from `at` equal blob's. */
static void file_holds(int fd, size_t at, const uint8_t *blob, size_t len)
{
	uint8_t *back = malloc(len);

	ck_assert_ptr_nonnull(back);
	ck_assert_int_eq(pread(fd, back, len, (off_t)at), (ssize_t)len);
	ck_assert_msg(memcmp(back, blob, len) == 0, "the file changed");
	free(back);
}

/* A private mapping of a file, relocated: the pages are populated ahead,
 * whole pages inside the blob only, even when it starts mid-page. */
START_TEST(private_file_mapping_populated_inside_the_blob)
{
	const size_t prefix = _i / 2 ? 8 : 0;
	size_t len;
	uint8_t *blob = cm_test_list_blob(NODES, modes[_i % 2], &len);
	int fd = blob_file(blob, len, prefix);
	uint8_t *map = map_file(fd, prefix + len, MAP_PRIVATE), *p = map + prefix;
	uintptr_t lo = ((uintptr_t)p + 4095) & ~4095UL;
	uintptr_t hi = ((uintptr_t)p + len) & ~4095UL;

	hook(0);
	walk_list(cm_deserialize(p, len), NODES);
	unhook();
	ck_assert_uint_gt(seen.calls, 0);
	ck_assert(!seen.unaligned);
	ck_assert_uint_ge(seen.lo, lo);
	ck_assert_uint_le(seen.hi, hi);
	/* Copy-on-write: the file keeps the blob as it was. */
	file_holds(fd, prefix, blob, len);
	munmap(map, prefix + len);
	close(fd);
	free(blob);
}
END_TEST

/* A kernel without MADV_POPULATE_WRITE (EINVAL before 5.14), or one that
 * refuses otherwise: asked once, then the writes fault as they would. */
START_TEST(refused_advice_asked_once_then_faults)
{
	static const int errs[] = { EINVAL, ENOSYS, EFAULT, ENOMEM };
	size_t len;
	uint8_t *blob = cm_test_list_blob(NODES, modes[_i % 2], &len);
	int fd = blob_file(blob, len, 0);
	uint8_t *p = map_file(fd, len, MAP_PRIVATE);

	hook(errs[_i / 2]);
	walk_list(cm_deserialize(p, len), NODES);
	unhook();
	ck_assert_uint_eq(seen.calls, 1);
	munmap(p, len);
	close(fd);
	free(blob);
}
END_TEST

/* Memory already written (a copy in the heap) takes no faults: nothing to
 * populate, no call made. */
START_TEST(faulted_memory_not_populated)
{
	size_t len;
	uint8_t *blob = cm_test_list_blob(NODES, modes[_i], &len);

	hook(0);
	walk_list(cm_deserialize(blob, len), NODES);
	unhook();
	ck_assert_uint_eq(seen.calls, 0);
	free(blob);
}
END_TEST

/* Checking writes nothing, so it populates nothing. */
START_TEST(check_populates_nothing)
{
	size_t len;
	uint8_t *blob = cm_test_list_blob(NODES, modes[_i], &len);
	int fd = blob_file(blob, len, 0);
	uint8_t *p = map_file(fd, len, MAP_PRIVATE);

	hook(0);
	ck_assert_int_eq(cm_check(p, len, 0, NULL), 0);
	unhook();
	ck_assert_uint_eq(seen.calls, 0);
	munmap(p, len);
	close(fd);
	free(blob);
}
END_TEST

/*
 * A bad pointer in the last chunk, after populated ones: refused, every
 * byte of the mapping as it was; through a shared mapping the file is
 * unchanged too (populating for write changes no byte; on a shared
 * mapping of the file, as the walk's own writes it undoes).
 */
START_TEST(defect_after_populated_chunks_leaves_every_byte)
{
	const int share = _i / 2 ? MAP_SHARED : MAP_PRIVATE;
	struct cm_error e = { 0 };
	size_t len;
	uint8_t *blob = cm_test_list_blob(NODES, modes[_i % 2], &len);
	int fd;
	uint8_t *p;

	cm_store64(blob + list_slot(NODES - 2), 8);	/* outside the data */
	fd = blob_file(blob, len, 0);
	p = map_file(fd, len, share);
	hook(0);
	ck_assert_ptr_null(cm_deserialize_flags(p, len, 0, &e));
	unhook();
	ck_assert_int_eq(errno, EBADMSG);
	expect_code(&e, CM_E_POINTER);
	/* A shared mapping of written pages may take too few faults to be
	 * populated: its bytes are what this asserts. */
	if (share == MAP_PRIVATE)
		ck_assert_uint_gt(seen.calls, 0);
	ck_assert_msg(memcmp(p, blob, len) == 0, "the mapping changed");
	munmap(p, len);
	file_holds(fd, 0, blob, len);
	close(fd);
	free(blob);
}
END_TEST

/* A list like cm_test_list_blob()'s sealed in a fresh shared-memory arena,
 * MAP_SHARED, on *fd; the blob, at the arena's base, and its length. */
static uint8_t *seal_in_shm(int mode, int *fd, struct cm_attr **mem,
			    size_t *len)
{
	char name[64];
	struct lnode *head = NULL, *n;
	uint8_t *blob;

	snprintf(name, sizeof name, "/cma-test-prefault-%d", (int)getpid());
	*fd = shm_open(name, O_RDWR | O_CREAT | O_EXCL, 0600);
	ck_assert_int_ge(*fd, 0);
	shm_unlink(name);
	*mem = cm_create(*fd, 4096 + NODES * 32, MAP_SHARED, 0);
	ck_assert_ptr_nonnull(*mem);
	for (size_t i = 0; i < NODES; i++) {
		require_eq(cm_alloc(*mem, &n, sizeof *n), 0);
		n->x = i;
		require_eq(cm_ptr_to(*mem, &n->next, head), 0);
		head = n;
	}
	blob = cm_serialize(*mem, head, mode, MS_SYNC);
	ck_assert_ptr_nonnull(blob);
	*len = (size_t)cm_get_size(*mem);
	return blob;
}

/* The seal writes its table to pages past the data that were never
 * touched: they are populated ahead, whole pages of the arena past the
 * data only, and the blob is the one an anonymous arena gives. */
START_TEST(seal_populates_the_table_pages)
{
	struct cm_attr *mem;
	size_t len, ref_len;
	uint8_t *ref = cm_test_list_blob(NODES, modes[_i], &ref_len);
	struct cm_header h = cm_test_header(ref, ref_len);
	uint8_t *blob;
	uintptr_t base;
	int fd;

	hook(0);
	blob = seal_in_shm(modes[_i], &fd, &mem, &len);
	unhook();
	base = (uintptr_t)blob;
	ck_assert_uint_gt(seen.calls, 0);
	ck_assert(!seen.unaligned);
	ck_assert_uint_ge(seen.lo, base + (h.table_offset & ~4095UL));
	ck_assert_uint_le(seen.hi, base + 4096 + NODES * 32);
	ck_assert_uint_eq(len, ref_len);
	check_valid(blob, len, 0);
	ck_assert_msg(memcmp(blob + h.table_offset, ref + h.table_offset,
			     h.table_size) == 0, "the table differs");
	cm_delete(mem, CM_ERASE);
	close(fd);
	free(ref);
}
END_TEST

/* A kernel that refuses: asked once, the table written as it would be. */
START_TEST(seal_refused_advice_asked_once)
{
	struct cm_attr *mem;
	size_t len;
	uint8_t *blob;
	int fd;

	hook(EINVAL);
	blob = seal_in_shm(modes[_i], &fd, &mem, &len);
	unhook();
	ck_assert_uint_eq(seen.calls, 1);
	check_valid(blob, len, 0);
	cm_delete(mem, CM_ERASE);
	close(fd);
}
END_TEST

/* Resident pages of the n pages at p (mincore). */
static size_t resident(const uint8_t *p, size_t pages)
{
	unsigned char v[2048];
	size_t count = 0;

	ck_assert_uint_le(pages, sizeof v);
	ck_assert_int_eq(mincore((void *)p, pages * 4096, v), 0);
	for (size_t i = 0; i < pages; i++)
		count += v[i] & 1;
	return count;
}

/* The library's large buffers: a mapping of their own, 2 MiB aligned,
 * every page resident before the first write where the kernel populates;
 * small ones from malloc. Both hold what is written to them. */
START_TEST(scratch_mapped_aligned_and_populated)
{
	/* 640 KiB: a 10M-pointer relative table's shares. */
	static const size_t sizes[] = { 100, CM_SCRATCH_MAPPED - 8,
					CM_SCRATCH_MAPPED, 640 << 10,
					(5 << 20) + 24 };
	size_t n = sizes[_i];
	uint8_t *p = cm_scratch_alloc(n);
	uint8_t probe[1];
	bool populates;

	ck_assert_ptr_nonnull(p);
	/* Does this kernel (or emulator) populate at all? */
	{
		uint8_t *m = mmap(NULL, 4096, PROT_READ | PROT_WRITE,
				  MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

		ck_assert_ptr_ne(m, MAP_FAILED);
		populates = madvise(m, 4096, 23 /* POPULATE_WRITE */) == 0
			    && mincore(m, 4096, probe) == 0 && (probe[0] & 1);
		munmap(m, 4096);
	}
	ck_assert_uint_eq((uintptr_t)p % 16, 0);
	if (n >= CM_SCRATCH_MAPPED) {
		/* Its pages from p's on, in a mapping 2 MiB aligned. */
		uint8_t *page = (uint8_t *)((uintptr_t)p & ~(uintptr_t)4095);
		size_t pages = (size_t)(p + n - page + 4095) / 4096;

		ck_assert_uint_eq((uintptr_t)p % 64, 0);
		ck_assert_uint_eq((uintptr_t)page % (2 << 20), 0);
		if (populates)
			ck_assert_uint_eq(resident(page, pages), pages);
	}
	memset(p, 0xa5, n);
	ck_assert_uint_eq(p[0], 0xa5);
	ck_assert_uint_eq(p[n - 1], 0xa5);
	cm_scratch_free(p, n);
	cm_scratch_free(NULL, n);
	/* Given back, it serves the next call of that size or less. */
	if (n >= CM_SCRATCH_MAPPED) {
		uint8_t *again = cm_scratch_alloc(n), *bigger;

		ck_assert_ptr_eq(again, p);
		memset(again, 0x5a, n);
		bigger = cm_scratch_alloc(n + (4 << 20));
		ck_assert_ptr_nonnull(bigger);
		memset(bigger, 1, n + (4 << 20));
		cm_scratch_free(again, n);
		cm_scratch_free(bigger, n + (4 << 20));
	}
}
END_TEST

Suite *cm_test_suite(void)
{
	Suite *s = suite_create("prefault");
	TCase *tc = tcase_create("populates fresh pages");

	tcase_add_loop_test(tc, private_file_mapping_populated_inside_the_blob,
			    0, 4);
	tcase_add_loop_test(tc, faulted_memory_not_populated, 0, 2);
	tcase_add_loop_test(tc, check_populates_nothing, 0, 2);
	tcase_add_loop_test(tc, seal_populates_the_table_pages, 0, 2);
	tcase_add_loop_test(tc, scratch_mapped_aligned_and_populated, 0, 5);
	suite_add_tcase(s, tc);
	tc = tcase_create("falls back");
	tcase_add_loop_test(tc, refused_advice_asked_once_then_faults, 0, 8);
	tcase_add_loop_test(tc, seal_refused_advice_asked_once, 0, 2);
	suite_add_tcase(s, tc);
	tc = tcase_create("rejects bad input");
	tcase_add_loop_test(tc, defect_after_populated_chunks_leaves_every_byte,
			    0, 4);
	suite_add_tcase(s, tc);
	return s;
}
