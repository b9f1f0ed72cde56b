/* SPDX-License-Identifier: MIT */
/* cm_serialize: the blob it writes, the errors it gives, the arena after. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "test-util.h"
#include "../lib/cma-private.h"

struct node {
	uint64_t x;
	struct node *next;
};

static const int modes[] = { CM_RELATIVE_OFFSET, CM_ABSOLUTE_OFFSET };

static struct node *push(struct cm_attr *mem, struct node *head, uint64_t x)
{
	struct node *n;

	ck_assert_int_eq(cm_alloc(mem, &n, sizeof *n), 0);
	n->x = x;
	ck_assert_int_eq(cm_ptr_to(mem, &n->next, head), 0);
	return n;
}

static uint64_t walk_sum(const struct node *n)
{
	uint64_t sum = 0;

	for (; n; n = n->next)
		sum += n->x;
	return sum;
}

START_TEST(root_must_be_inside_the_data)
{
	struct cm_attr *mem = cm_create(-1, 1 << 16, MAP_PRIVATE, 0);
	struct node *n;
	int local;

	ck_assert_ptr_nonnull(mem);
	errno = 0;
	ck_assert_ptr_null(cm_serialize(mem, NULL, CM_RELATIVE_OFFSET, 0));
	ck_assert_int_eq(errno, EINVAL);
	n = push(mem, NULL, 1);
	ck_assert_ptr_null(cm_serialize(mem, n + 1, modes[_i], 0));
	ck_assert_int_eq(errno, EINVAL);	/* one past the end */
	ck_assert_ptr_null(cm_serialize(mem, &local, modes[_i], 0));
	ck_assert_int_eq(errno, EINVAL);
	ck_assert_ptr_null(cm_serialize(mem, cm_get_base(mem), modes[_i], 0));
	ck_assert_int_eq(errno, EINVAL);	/* the header */
	ck_assert_ptr_null(cm_serialize(mem, n, 3, 0));
	ck_assert_int_eq(errno, EINVAL);
	ck_assert_ptr_null(cm_serialize(NULL, n, modes[_i], 0));
	ck_assert_int_eq(errno, EINVAL);
	ck_assert_ptr_nonnull(cm_serialize(mem, n, modes[_i], 0));
	cm_delete(mem, CM_ERASE);
}
END_TEST

START_TEST(size_is_the_blob_length_then_follows_the_data)
{
	struct cm_attr *mem = cm_create(-1, 1 << 20, MAP_PRIVATE, 0);
	struct node *head = NULL;
	struct cm_header h;
	uint8_t *blob;
	ssize_t before;

	ck_assert_ptr_nonnull(mem);
	for (int i = 0; i < 100; i++)
		head = push(mem, head, (uint64_t)i);
	before = cm_get_size(mem);
	ck_assert_int_eq(before, CM_HEADER_SIZE + 100 * 16);
	blob = cm_serialize(mem, head, modes[_i], 0);
	ck_assert_ptr_nonnull(blob);
	ck_assert_int_eq(cm_header_read(blob, (size_t)cm_get_size(mem), &h,
					NULL), 0);
	ck_assert_int_eq(cm_get_size(mem), (ssize_t)h.blob_size);
	ck_assert_int_gt(cm_get_size(mem), before);
	ck_assert_int_eq(cm_check(blob, h.blob_size, CM_CHECK_EXACT, NULL), 0);
	/* Allocate more over the old table: zeroed, then a new blob. */
	for (int i = 100; i < 300; i++) {
		head = push(mem, head, (uint64_t)i);
		ck_assert_uint_eq(head->x, (uint64_t)i);
	}
	ck_assert_int_eq(cm_get_size(mem), CM_HEADER_SIZE + 300 * 16);
	blob = cm_serialize(mem, head, modes[_i], 0);
	ck_assert_ptr_nonnull(blob);
	{
		size_t len = (size_t)cm_get_size(mem);
		uint8_t *copy = cm_test_copy(blob, len);
		struct node *root = cm_deserialize(copy, len);

		ck_assert_ptr_nonnull(root);
		ck_assert_uint_eq(walk_sum(root), 299 * 300 / 2);
		free(copy);
	}
	cm_delete(mem, CM_ERASE);
}
END_TEST

START_TEST(no_room_for_the_table_leaves_the_arena_intact)
{
	/* Capacity for exactly the header and the nodes, no table. */
	size_t cap = 4096;
	struct cm_attr *mem = cm_create(-1, cap, MAP_PRIVATE, 0);
	struct node *head = NULL;
	uint8_t *copy;
	uint64_t sum;

	ck_assert_ptr_nonnull(mem);
	while (cm_get_free_size(mem) >= (ssize_t)sizeof *head)
		head = push(mem, head, 5);
	sum = walk_sum(head);
	copy = cm_test_copy(cm_get_base(mem), (size_t)cm_get_size(mem));
	errno = 0;
	ck_assert_ptr_null(cm_serialize(mem, head, modes[_i], 0));
	ck_assert_int_eq(errno, ENOMEM);
	ck_assert_mem_eq(copy, cm_get_base(mem), (size_t)cm_get_size(mem));
	ck_assert_uint_eq(walk_sum(head), sum);
	/* Free the top 20 nodes: room enough for a one-byte-a-pointer table. */
	for (int k = 0; k < 20; k++) {
		struct node *next = head->next;

		ck_assert_int_eq(cm_free(mem, head), 0);
		head = next;
	}
	ck_assert_ptr_nonnull(cm_serialize(mem, head, CM_RELATIVE_OFFSET, 0));
	free(copy);
	cm_delete(mem, CM_ERASE);
}
END_TEST

/* A failed serialize over an earlier blob must not leave that blob's
 * header describing a table it has half overwritten. */
START_TEST(a_failed_reseal_leaves_no_stale_blob)
{
	struct cm_attr *mem = cm_create(-1, 4096, MAP_PRIVATE, 0);
	struct node *head = NULL;
	struct cm_error e;

	ck_assert_ptr_nonnull(mem);
	/* Room for a one-byte-a-pointer table, not an eight-byte one. */
	while (cm_get_free_size(mem) >= 2 * (ssize_t)sizeof *head + 512)
		head = push(mem, head, 1);
	ck_assert_ptr_nonnull(cm_serialize(mem, head, CM_RELATIVE_OFFSET, 0));
	ck_assert_int_eq(cm_check(cm_get_base(mem), (size_t)cm_get_size(mem),
				  0, NULL), 0);
	errno = 0;
	ck_assert_ptr_null(cm_serialize(mem, head, CM_ABSOLUTE_OFFSET, 0));
	ck_assert_int_eq(errno, ENOMEM);
	ck_assert_int_eq(cm_check(cm_get_base(mem), 4096, 0, &e), -1);
	ck_assert_int_eq(e.code, CM_E_UNSEALED);
	ck_assert_ptr_nonnull(cm_serialize(mem, head, CM_RELATIVE_OFFSET, 0));
	cm_delete(mem, CM_ERASE);
}
END_TEST

START_TEST(a_foreign_pointer_in_a_slot_is_refused)
{
	struct cm_attr *mem = cm_create(-1, 1 << 16, MAP_PRIVATE, 0);
	struct node *head = push(mem, push(mem, NULL, 1), 2);
	static struct node outside;

	head->next->next = &outside;	/* stored by hand, not cm_ptr_to */
	errno = 0;
	ck_assert_ptr_null(cm_serialize(mem, head, modes[_i], 0));
	ck_assert_int_eq(errno, EINVAL);
	ck_assert_ptr_eq(head->next->next, &outside);
	head->next->next = NULL;
	ck_assert_ptr_nonnull(cm_serialize(mem, head, modes[_i], 0));
	cm_delete(mem, CM_ERASE);
}
END_TEST

START_TEST(no_pointers_at_all)
{
	struct cm_attr *mem = cm_create(-1, 1 << 16, MAP_PRIVATE, 0);
	struct node *n = push(mem, NULL, 9);
	uint8_t *blob = cm_serialize(mem, n, modes[_i], 0);
	size_t len = (size_t)cm_get_size(mem);
	uint8_t *copy;
	struct cm_header h;

	ck_assert_ptr_nonnull(blob);
	ck_assert_int_eq(cm_header_read(blob, len, &h, NULL), 0);
	ck_assert_uint_eq(h.pointer_count, 0);
	ck_assert_uint_eq(h.table_size, 0);
	copy = cm_test_copy(blob, len);
	n = cm_deserialize(copy, len);
	ck_assert_ptr_nonnull(n);
	ck_assert_uint_eq(n->x, 9);
	free(copy);
	cm_delete(mem, CM_ERASE);
}
END_TEST

START_TEST(file_ends_at_the_blob_length)
{
	char path[] = "/tmp/cma-serialize-XXXXXX";
	int fd = mkstemp(path);
	struct cm_attr *mem;
	struct node *head = NULL;
	struct stat st;
	uint8_t *map;
	size_t len;

	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(write(fd, "stale bytes", 11), 11);
	mem = cm_create(fd, 1 << 24, MAP_SHARED, 0);
	ck_assert_ptr_nonnull(mem);
	ck_assert_int_eq(fstat(fd, &st), 0);
	ck_assert_int_eq(st.st_size % 4096, 0);	/* page steps */
	for (int i = 0; i < 10000; i++)
		head = push(mem, head, (uint64_t)i);
	ck_assert_int_eq(fstat(fd, &st), 0);
	ck_assert_int_ge(st.st_size, cm_get_size(mem));
	ck_assert_int_eq(st.st_size % 4096, 0);
	ck_assert_ptr_nonnull(cm_serialize(mem, head, modes[_i], MS_SYNC));
	len = (size_t)cm_get_size(mem);
	ck_assert_int_eq(fstat(fd, &st), 0);
	ck_assert_int_eq(st.st_size, (off_t)len);
	ck_assert_int_eq(cm_delete(mem, CM_ERASE), 0);
	/* The file is the blob: another mapping relocates it. */
	map = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
	ck_assert_ptr_ne(map, MAP_FAILED);
	ck_assert_int_eq(cm_check(map, len, CM_CHECK_EXACT, NULL), 0);
	head = cm_deserialize(map, len);
	ck_assert_ptr_nonnull(head);
	ck_assert_uint_eq(walk_sum(head), 9999ULL * 10000 / 2);
	munmap(map, len);
	close(fd);
	unlink(path);
}
END_TEST

START_TEST(same_program_same_checksum)
{
	uint64_t sums[2];

	for (int run = 0; run < 2; run++) {
		struct cm_attr *mem = cm_create(-1, 1 << 20, MAP_PRIVATE, 0);
		struct node *head = NULL;
		uint8_t *blob;

		for (int i = 0; i < 1000; i++)
			head = push(mem, head, (uint64_t)i * 7);
		blob = cm_serialize(mem, head, modes[_i], 0);
		ck_assert_ptr_nonnull(blob);
		sums[run] = cm_load64(blob + CM_H_CHECKSUM);
		if (run == 0) {
			/* Keep run 0's arena mapped: run 1 lands elsewhere. */
			ck_assert_int_eq(cm_delete(mem, CM_PRESERVE), 0);
		} else {
			cm_delete(mem, CM_ERASE);
		}
	}
	ck_assert_uint_eq(sums[0], sums[1]);
}
END_TEST

Suite *cm_test_suite(void)
{
	Suite *s = suite_create("serialize");
	TCase *tc = tcase_create("blob");

	tcase_add_loop_test(tc, size_is_the_blob_length_then_follows_the_data,
			    0, 2);
	tcase_add_loop_test(tc, no_pointers_at_all, 0, 2);
	tcase_add_loop_test(tc, file_ends_at_the_blob_length, 0, 2);
	tcase_add_loop_test(tc, same_program_same_checksum, 0, 2);
	suite_add_tcase(s, tc);
	tc = tcase_create("refusals");
	tcase_add_loop_test(tc, root_must_be_inside_the_data, 0, 2);
	tcase_add_loop_test(tc, no_room_for_the_table_leaves_the_arena_intact,
			    0, 2);
	tcase_add_loop_test(tc, a_foreign_pointer_in_a_slot_is_refused, 0, 2);
	tcase_add_test(tc, a_failed_reseal_leaves_no_stale_blob);
	suite_add_tcase(s, tc);
	return s;
}
