/* SPDX-License-Identifier: MIT */
/* Golden blobs in tests/data pin the format: the same structure must give
 * the same bytes, byte for byte, in both modes. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "test-util.h"

struct gold {
	int32_t key;
	uint32_t pad;
	struct gold *left, *right;
	char *name;
};

static const char *const golden_files[] = {
	"data/tree-relative.cm",
	"data/tree-absolute.cm",
};

/* A fixed tree with names, rebased to 0: bytes that depend on nothing. */
static size_t make_golden(int mode, uint8_t *out, size_t cap)
{
	static const int keys[] = { 50, 30, 70, 20, 40, 60, 80, 35 };
	struct cm_attr *mem = cm_create(-1, 1 << 16, MAP_PRIVATE,
					CM_NO_HUGEPAGES);
	struct gold *root = NULL;
	struct cm_test_sink s = { 0 };
	void *blob;

	ck_assert_ptr_nonnull(mem);
	for (size_t i = 0; i < sizeof keys / sizeof *keys; i++) {
		struct gold **link = &root, *n;

		while (*link)
			link = keys[i] < (*link)->key ? &(*link)->left
						      : &(*link)->right;
		ck_assert_int_eq(cm_alloc(mem, link, sizeof **link), 0);
		n = *link;
		n->key = keys[i];
		ck_assert_int_eq(cm_alloc(mem, &n->name, 8), 0);
		snprintf(n->name, 8, "k%d", keys[i]);
	}
	blob = cm_serialize(mem, root, mode, 0);
	ck_assert_ptr_nonnull(blob);
	ck_assert_int_eq(cm_convert(blob, (size_t)cm_get_size(mem), 0, 0, 0,
				    cm_test_write, &s, NULL), 0);
	cm_delete(mem, CM_ERASE);
	ck_assert_uint_le(s.len, cap);
	memcpy(out, s.p, s.len);
	free(s.p);
	return s.len;
}

START_TEST(same_bytes_as_the_golden_blob)
{
	const char *path = golden_files[_i];
	int mode = _i == 0 ? CM_RELATIVE_OFFSET : CM_ABSOLUTE_OFFSET;
	uint8_t made[8192], file[8192];
	size_t len = make_golden(mode, made, sizeof made);
	ssize_t got;
	int fd;

	ck_assert_int_eq(cm_check(made, len, CM_CHECK_EXACT, NULL), 0);
	if (getenv("CMA_REGEN_GOLDEN")) {
		fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
		ck_assert_int_ge(fd, 0);
		ck_assert_int_eq(write(fd, made, len), (ssize_t)len);
		close(fd);
	}
	fd = open(path, O_RDONLY);
	ck_assert_msg(fd >= 0, "%s: %s", path, strerror(errno));
	got = read(fd, file, sizeof file);
	close(fd);
	ck_assert_int_eq(got, (ssize_t)len);
	ck_assert_msg(memcmp(made, file, len) == 0,
		      "%s: the format changed: the bytes differ", path);
}
END_TEST

START_TEST(golden_blob_opens_anywhere)
{
	uint8_t file[8192];
	int fd = open(golden_files[_i], O_RDONLY);
	ssize_t len = read(fd, file, sizeof file);
	uint8_t *copy;
	struct gold *root;

	close(fd);
	ck_assert_int_gt(len, 0);
	copy = cm_test_copy(file, (size_t)len);
	root = cm_deserialize(copy, (size_t)len);
	ck_assert_ptr_nonnull(root);
	ck_assert_int_eq(root->key, 50);
	ck_assert_str_eq(root->name, "k50");
	ck_assert_int_eq(root->left->right->left->key, 35);
	ck_assert_str_eq(root->right->right->name, "k80");
	free(copy);
}
END_TEST

Suite *cm_test_suite(void)
{
	Suite *s = suite_create("golden");
	TCase *tc = tcase_create("format pinned");

	tcase_add_loop_test(tc, same_bytes_as_the_golden_blob, 0, 2);
	tcase_add_loop_test(tc, golden_blob_opens_anywhere, 0, 2);
	suite_add_tcase(s, tc);
	return s;
}
