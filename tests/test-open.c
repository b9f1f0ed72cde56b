/* SPDX-License-Identifier: MIT */
/* cm_open: at the recorded base, the relocated fallback, and refusals. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "test-util.h"

#define NODES 1000
/* Over 2 MiB of data: the fallback copy takes the huge-page path. */
#define BIG_NODES 200000

struct node {
	uint64_t x;
	struct node *next;
};

static char path[64];

static void make_path(void)
{
	int fd;

	strcpy(path, "/tmp/test-open-XXXXXX");
	fd = mkstemp(path);
	ck_assert_int_ge(fd, 0);
	close(fd);
}

static void drop_path(void)
{
	unlink(path);
}

/*
 * Write a blob of the list 0, 1, ..., nodes - 1 to `path`, built in a file
 * arena at a CM_FIXED_BASE address; the arena is gone on return, so its
 * address is free again. @return the recorded base.
 */
static uint8_t *write_list(size_t nodes, int mode)
{
	struct cm_attr *mem;
	struct node *head = NULL, *n;
	uint8_t *base;
	int fd;

	fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
	ck_assert_int_ge(fd, 0);
	mem = cm_create(fd, 4096 + nodes * 32, MAP_SHARED, CM_FIXED_BASE);
	ck_assert_ptr_nonnull(mem);
	base = cm_get_base(mem);
	for (size_t i = nodes; i-- > 0;) {
		require_eq(cm_alloc(mem, &n, sizeof *n), 0);
		n->x = i;
		require_eq(cm_ptr_to(mem, &n->next, head), 0);
		head = n;
	}
	ck_assert_ptr_eq(cm_serialize(mem, head, mode, MS_SYNC), base);
	ck_assert_int_eq(cm_delete(mem, CM_ERASE), 0);
	close(fd);
	return base;
}

static off_t file_size(void)
{
	struct stat st;

	ck_assert_int_eq(stat(path, &st), 0);
	return st.st_size;
}

/* The list reads 0, 1, ..., nodes - 1. */
static void check_list(const struct cm_blob *b, size_t nodes)
{
	const struct node *n = cm_blob_root(b);
	size_t i = 0;

	for (; n; n = n->next, i++) {
		require(i < nodes);
		require_eq(n->x, i);
	}
	ck_assert_uint_eq(i, nodes);
}

/* Is `p` inside [base, base + len)? */
static int inside(const void *p, const void *base, size_t len)
{
	return (uintptr_t)p >= (uintptr_t)base &&
	       (uintptr_t)p < (uintptr_t)base + len;
}

/* The permission field of the /proc/self/maps line holding `p`. */
static void perms_of(const void *p, char perms[5])
{
	FILE *f = fopen("/proc/self/maps", "r");
	unsigned long lo, hi;
	char line[512];
	int found = 0;

	ck_assert_ptr_nonnull(f);
	while (fgets(line, sizeof line, f)) {
		if (sscanf(line, "%lx-%lx %4s", &lo, &hi, perms) == 3 &&
		    (uintptr_t)p >= lo && (uintptr_t)p < hi) {
			found = 1;
			break;
		}
	}
	fclose(f);
	ck_assert_msg(found, "no mapping holds %p", p);
}

/* Does writing one byte at `p` kill a child with SIGSEGV? */
static int write_faults(void *p)
{
	int status;
	pid_t pid = fork();

	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		/* The default action, even under a sanitizer's handler. */
		signal(SIGSEGV, SIG_DFL);
		*(volatile uint8_t *)p ^= 1;
		_exit(0);
	}
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	return WIFSIGNALED(status) && WTERMSIG(status) == SIGSEGV;
}

static int count_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	int n = 0;

	ck_assert_ptr_nonnull(d);
	while (readdir(d))
		n++;
	closedir(d);
	return n;
}

/* Map one page at `p` exactly so the address is taken. */
static void *occupy(void *p)
{
	void *q = mmap(p, 4096, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS |
		       MAP_FIXED_NOREPLACE, -1, 0);

	ck_assert_ptr_eq(q, p);
	return q;
}

/* Is [p, p + len) free of mappings? */
static int address_free(void *p, size_t len)
{
	void *q = mmap(p, len, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS |
		       MAP_FIXED_NOREPLACE, -1, 0);

	if (q == MAP_FAILED)
		return 0;
	munmap(q, len);
	return q == p;
}

/* ---- at the recorded base ---- */

/* cm_open(path, flags) succeeds, relocated (1) or at its base (0). */
static struct cm_blob *open_path(int flags, int relocated)
{
	struct cm_blob *b = cm_open(path, flags);

	ck_assert_ptr_nonnull(b);
	ck_assert_int_eq(cm_blob_relocated(b), relocated);
	return b;
}

/* The child exits with status 0. */
static void child_ok(pid_t pid)
{
	int status;

	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert(WIFEXITED(status));
	ck_assert_int_eq(WEXITSTATUS(status), 0);
}

static void open_at_base(int mode)
{
	struct cm_blob *b;
	uint8_t *base;
	char perms[5];

	make_path();
	base = write_list(NODES, mode);
	b = open_path(0, 0);
	ck_assert_uint_eq(cm_blob_size(b), (size_t)file_size());
	ck_assert(inside(cm_blob_root(b), base, cm_blob_size(b)));
	/* The blob starts at the base: its magic is there. */
	ck_assert_int_eq(memcmp(base, "\x89" "CMA\r\n\x1a\n", 8), 0);
	check_list(b, NODES);
	perms_of(base, perms);
	ck_assert_str_eq(perms, "r--s");
	ck_assert(write_faults(cm_blob_root(b)));
	ck_assert_int_eq(cm_close(b), 0);
	/* Closing gives the address back. */
	ck_assert(address_free(base, (size_t)file_size()));
	drop_path();
}

START_TEST(at_base_relative)
{
	open_at_base(CM_RELATIVE_OFFSET);
}
END_TEST

START_TEST(at_base_absolute)
{
	open_at_base(CM_ABSOLUTE_OFFSET);
}
END_TEST

START_TEST(at_base_writable)
{
	struct cm_blob *b;
	struct node *root;
	uint8_t *base;
	char perms[5];

	make_path();
	base = write_list(NODES, CM_RELATIVE_OFFSET);
	b = open_path(CM_OPEN_WRITABLE, 0);
	perms_of(base, perms);
	ck_assert_str_eq(perms, "rw-p");
	root = cm_blob_root(b);
	root->x = 4242;
	ck_assert_int_eq(cm_close(b), 0);

	/* The write stayed private: the file still holds the original. */
	b = cm_open(path, 0);
	ck_assert_ptr_nonnull(b);
	check_list(b, NODES);
	ck_assert_int_eq(cm_close(b), 0);
	drop_path();
}
END_TEST

/*
 * The file at path, whose root holds the damaged value x: refused checked,
 * opened trusted (relocated or not); the open blob.
 */
static struct cm_blob *open_damaged(uint64_t x, int relocated)
{
	struct cm_blob *b;

	errno = 0;
	ck_assert_ptr_null(cm_open(path, 0));
	ck_assert_int_eq(errno, EBADMSG);
	b = open_path(CM_OPEN_TRUSTED, relocated);
	ck_assert_uint_eq(((struct node *)cm_blob_root(b))->x, x);
	return b;
}

/* Trusting skips the checksum: a damaged value goes through unnoticed. */
START_TEST(at_base_trusted)
{
	struct cm_blob *b;
	uint8_t *base;
	struct node *root;
	uint64_t x;
	off_t at;
	void *busy;
	int fd;

	make_path();
	base = write_list(NODES, CM_RELATIVE_OFFSET);
	b = open_path(CM_OPEN_TRUSTED, 0);
	check_list(b, NODES);
	/* Damage the root's value field (not a pointer) in the file. */
	root = cm_blob_root(b);
	at = (off_t)((uint8_t *)&root->x - base);
	ck_assert_int_eq(cm_close(b), 0);
	fd = open(path, O_RDWR);
	ck_assert_int_ge(fd, 0);
	x = 77;
	ck_assert_int_eq(pwrite(fd, &x, sizeof x, at), (ssize_t)sizeof x);
	close(fd);
	ck_assert_int_eq(cm_close(open_damaged(x, 0)), 0);

	/* The relocating fallback skips the checksum alike. */
	busy = occupy(base);
	b = open_damaged(x, 1);
	root = cm_blob_root(b);
	ck_assert_uint_eq(root->next->x, 1);
	ck_assert_int_eq(cm_close(b), 0);
	munmap(busy, 4096);
	drop_path();
}
END_TEST

/* ---- the fallback: the recorded address is taken ---- */

static void open_busy(int mode, int flags, size_t nodes, int busy_last)
{
	struct cm_blob *b;
	uint8_t *base;
	size_t size;
	void *busy;

	make_path();
	base = write_list(nodes, mode);
	size = (size_t)file_size();
	/* Taking only the last page must be enough to force the fallback. */
	busy = occupy(busy_last ? base + ((size - 1) & ~(size_t)4095) : base);
	b = open_path(flags, 1);
	ck_assert_uint_eq(cm_blob_size(b), size);
	ck_assert(!inside(cm_blob_root(b), base, size));
	check_list(b, nodes);
	if (flags & CM_OPEN_WRITABLE) {
		((struct node *)cm_blob_root(b))->x = 9;
		ck_assert_uint_eq(((struct node *)cm_blob_root(b))->x, 9);
	} else {
		ck_assert(write_faults(cm_blob_root(b)));
	}
	ck_assert_int_eq(cm_close(b), 0);
	munmap(busy, 4096);
	drop_path();
}

/* The fallback in each mode, size, flag, and with only the last page taken. */
static const struct {
	int mode, flags;
	size_t nodes;
	int busy_last;
} busy_cases[] = {
	{ CM_RELATIVE_OFFSET, 0, NODES, 0 },
	{ CM_ABSOLUTE_OFFSET, 0, NODES, 0 },
	{ CM_RELATIVE_OFFSET, 0, BIG_NODES, 1 },
	{ CM_ABSOLUTE_OFFSET, 0, BIG_NODES, 0 },
	{ CM_RELATIVE_OFFSET, CM_OPEN_WRITABLE, NODES, 0 },
	{ CM_RELATIVE_OFFSET, CM_OPEN_TRUSTED, BIG_NODES, 0 },
};

START_TEST(busy_fallback)
{
	open_busy(busy_cases[_i].mode, busy_cases[_i].flags,
		  busy_cases[_i].nodes, busy_cases[_i].busy_last);
}
END_TEST

/* The fallback copy refuses a damaged pointer whatever the trust. */
START_TEST(busy_damaged_pointer)
{
	struct cm_blob *b;
	uint8_t *base;
	uint64_t v;
	off_t at;
	int fd, fds;
	void *busy;

	make_path();
	base = write_list(NODES, CM_ABSOLUTE_OFFSET);
	b = cm_open(path, 0);
	ck_assert_ptr_nonnull(b);
	at = (off_t)((uint8_t *)&((struct node *)cm_blob_root(b))->next -
		     base);
	ck_assert_int_eq(cm_close(b), 0);
	fd = open(path, O_RDWR);
	ck_assert_int_ge(fd, 0);
	v = (uint64_t)(uintptr_t)base + (uint64_t)file_size() + 4096;
	ck_assert_int_eq(pwrite(fd, &v, sizeof v, at), (ssize_t)sizeof v);
	close(fd);

	busy = occupy(base);
	fds = count_fds();
	errno = 0;
	ck_assert_ptr_null(cm_open(path, CM_OPEN_TRUSTED));
	ck_assert_int_eq(errno, EBADMSG);
	errno = 0;
	ck_assert_ptr_null(cm_open(path, 0));
	ck_assert_int_eq(errno, EBADMSG);
	ck_assert_int_eq(count_fds(), fds);
	munmap(busy, 4096);
	drop_path();
}
END_TEST

/* A base that is not page aligned cannot be mapped: relocate instead. */
START_TEST(unaligned_base)
{
	size_t len;
	void *blob = cm_test_list_blob(NODES, CM_RELATIVE_OFFSET, &len);
	uint8_t *page = aligned_alloc(4096, (len + 4096 * 3) & ~(size_t)4095);
	uint8_t *at = page + 8;
	struct cm_blob *b;
	const struct node *n;
	uint64_t i = NODES;
	FILE *f;

	/* Relocating into `at` makes the blob record `at` as its base. */
	ck_assert_ptr_nonnull(page);
	memcpy(at, blob, len);
	ck_assert_ptr_nonnull(cm_deserialize(at, len));
	make_path();
	f = fopen(path, "w");
	ck_assert_ptr_nonnull(f);
	ck_assert_uint_eq(fwrite(at, 1, len, f), len);
	ck_assert_int_eq(fclose(f), 0);
	b = open_path(0, 1);
	/* cm_test_list_blob prepends: the list counts down. */
	for (n = cm_blob_root(b); n; n = n->next)
		require_eq(n->x, --i);
	ck_assert_uint_eq(i, 0);
	ck_assert_int_eq(cm_close(b), 0);
	free(page);
	free(blob);
	drop_path();
}
END_TEST

/* ---- refusals ---- */

/* cm_open refuses the file at `path` with EBADMSG and leaks nothing. */
static void refused(uint8_t *base)
{
	int fds = count_fds();
	void *busy;

	errno = 0;
	ck_assert_ptr_null(cm_open(path, 0));
	ck_assert_int_eq(errno, EBADMSG);
	errno = 0;
	ck_assert_ptr_null(cm_open(path, CM_OPEN_WRITABLE));
	ck_assert_int_eq(errno, EBADMSG);
	ck_assert_int_eq(count_fds(), fds);
	if (!base)
		return;
	ck_assert(address_free(base, 4096));
	/* The relocating fallback refuses it too. */
	busy = occupy(base);
	errno = 0;
	ck_assert_ptr_null(cm_open(path, 0));
	ck_assert_int_eq(errno, EBADMSG);
	ck_assert_int_eq(count_fds(), fds);
	munmap(busy, 4096);
}

START_TEST(refuses_flipped_byte)
{
	uint8_t *base;
	uint8_t c;
	off_t at;
	int fd;

	make_path();
	base = write_list(NODES, CM_RELATIVE_OFFSET);
	/* A byte in the middle of the data: only the checksum sees it. */
	at = file_size() / 2;
	fd = open(path, O_RDWR);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(pread(fd, &c, 1, at), 1);
	c ^= 0x10;
	ck_assert_int_eq(pwrite(fd, &c, 1, at), 1);
	close(fd);
	refused(base);
	drop_path();
}
END_TEST

START_TEST(refuses_truncated)
{
	uint8_t *base;

	make_path();
	base = write_list(NODES, CM_ABSOLUTE_OFFSET);
	ck_assert_int_eq(truncate(path, file_size() - 8), 0);
	refused(base);
	ck_assert_int_eq(truncate(path, 100), 0);
	refused(base);
	ck_assert_int_eq(truncate(path, 0), 0);
	refused(base);
	drop_path();
}
END_TEST

START_TEST(refuses_trailing_bytes)
{
	uint8_t *base;

	make_path();
	base = write_list(NODES, CM_RELATIVE_OFFSET);
	ck_assert_int_eq(truncate(path, file_size() + 8), 0);
	refused(base);
	drop_path();
}
END_TEST

START_TEST(refuses_not_a_blob)
{
	static const char text[] = "not a blob, just some text\n";
	FILE *f;

	make_path();
	f = fopen(path, "w");
	ck_assert_ptr_nonnull(f);
	for (int i = 0; i < 100; i++)
		fputs(text, f);
	ck_assert_int_eq(fclose(f), 0);
	refused(NULL);
	drop_path();
}
END_TEST

/* A live arena's file, never serialized, is not a blob. */
START_TEST(refuses_live_arena)
{
	struct cm_attr *mem;
	uint64_t *p;
	int fd;

	make_path();
	fd = open(path, O_RDWR | O_TRUNC);
	ck_assert_int_ge(fd, 0);
	mem = cm_create(fd, 1 << 20, MAP_SHARED, 0);
	ck_assert_ptr_nonnull(mem);
	ck_assert_int_eq(cm_alloc(mem, &p, 64), 0);
	ck_assert_int_eq(cm_delete(mem, CM_ERASE), 0);
	close(fd);
	refused(NULL);
	drop_path();
}
END_TEST

START_TEST(refuses_bad_arguments)
{
	int fds = count_fds();

	errno = 0;
	ck_assert_ptr_null(cm_open("/nonexistent/cma/blob", 0));
	ck_assert_int_eq(errno, ENOENT);
	errno = 0;
	ck_assert_ptr_null(cm_open("/tmp", 0));
	ck_assert_int_eq(errno, EISDIR);
	errno = 0;
	ck_assert_ptr_null(cm_open(NULL, 0));
	ck_assert_int_eq(errno, EINVAL);
	errno = 0;
	ck_assert_ptr_null(cm_open("/nonexistent", 0x100));
	ck_assert_int_eq(errno, EINVAL);
	ck_assert_int_eq(count_fds(), fds);

	errno = 0;
	ck_assert_int_eq(cm_close(NULL), -1);
	ck_assert_int_eq(errno, EINVAL);
	errno = 0;
	ck_assert_ptr_null(cm_blob_root(NULL));
	ck_assert_int_eq(errno, EINVAL);
	errno = 0;
	ck_assert_uint_eq(cm_blob_size(NULL), 0);
	ck_assert_int_eq(errno, EINVAL);
	errno = 0;
	ck_assert_int_eq(cm_blob_relocated(NULL), -1);
	ck_assert_int_eq(errno, EINVAL);
}
END_TEST

/* A successful open keeps no descriptor: the mapping holds the file. */
START_TEST(no_fd_kept)
{
	struct cm_blob *b;
	uint8_t *base;
	int fds;
	void *busy;

	make_path();
	base = write_list(NODES, CM_RELATIVE_OFFSET);
	fds = count_fds();
	b = cm_open(path, 0);
	ck_assert_ptr_nonnull(b);
	ck_assert_int_eq(count_fds(), fds);
	ck_assert_int_eq(cm_close(b), 0);
	busy = occupy(base);
	b = cm_open(path, 0);
	ck_assert_ptr_nonnull(b);
	ck_assert_int_eq(count_fds(), fds);
	ck_assert_int_eq(cm_close(b), 0);
	munmap(busy, 4096);
	drop_path();
}
END_TEST

/* ---- two processes ---- */

/* Child: open at the base, walk, tell the parent, wait for its go. */
static int child_open(int ready, int go)
{
	struct cm_blob *b = cm_open(path, 0);
	const struct node *n;
	uint64_t i = 0;
	char c = 0;

	if (!b || cm_blob_relocated(b) != 0)
		return 1;
	for (n = cm_blob_root(b); n; n = n->next, i++)
		if (n->x != i)
			return 2;
	if (i != NODES)
		return 3;
	if (write(ready, &c, 1) != 1 || read(go, &c, 1) != 1)
		return 4;
	return cm_close(b) == 0 ? 0 : 5;
}

START_TEST(two_processes_at_base)
{
	int ready[2], go[2];
	struct cm_blob *b;
	uint8_t *base;
	char c = 0;
	pid_t pid;

	make_path();
	base = write_list(NODES, CM_RELATIVE_OFFSET);
	ck_assert_int_eq(pipe(ready), 0);
	ck_assert_int_eq(pipe(go), 0);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0)
		_exit(child_open(ready[1], go[0]));
	/* Both hold the blob at the same base at the same time. */
	ck_assert_int_eq(read(ready[0], &c, 1), 1);
	b = open_path(0, 0);
	ck_assert(inside(cm_blob_root(b), base, cm_blob_size(b)));
	check_list(b, NODES);
	ck_assert_int_eq(write(go[1], &c, 1), 1);
	child_ok(pid);
	ck_assert_int_eq(cm_close(b), 0);
	drop_path();
}
END_TEST

/* A child inherits the parent's mapping, so its own open must relocate. */
START_TEST(inherited_mapping_relocates)
{
	struct cm_blob *b, *c;
	pid_t pid;

	make_path();
	write_list(NODES, CM_ABSOLUTE_OFFSET);
	b = open_path(0, 0);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		int rc;

		c = cm_open(path, 0);
		rc = !c ? 1 : cm_blob_relocated(c) != 1 ? 2 :
		     cm_blob_root(c) == cm_blob_root(b) ? 3 : 0;
		if (c && cm_close(c) < 0)
			rc = 4;
		_exit(rc);
	}
	child_ok(pid);
	ck_assert_int_eq(cm_close(b), 0);
	drop_path();
}
END_TEST

Suite *cm_test_suite(void)
{
	Suite *s = suite_create("open");
	TCase *tc;

	tc = tcase_create("at the base");
	tcase_add_test(tc, at_base_relative);
	tcase_add_test(tc, at_base_absolute);
	tcase_add_test(tc, at_base_writable);
	tcase_add_test(tc, at_base_trusted);
	tcase_add_test(tc, no_fd_kept);
	suite_add_tcase(s, tc);

	tc = tcase_create("fallback");
	tcase_add_loop_test(tc, busy_fallback, 0,
			    sizeof busy_cases / sizeof *busy_cases);
	tcase_add_test(tc, busy_damaged_pointer);
	tcase_add_test(tc, unaligned_base);
	suite_add_tcase(s, tc);

	tc = tcase_create("refuses bad input");
	tcase_add_test(tc, refuses_flipped_byte);
	tcase_add_test(tc, refuses_truncated);
	tcase_add_test(tc, refuses_trailing_bytes);
	tcase_add_test(tc, refuses_not_a_blob);
	tcase_add_test(tc, refuses_live_arena);
	tcase_add_test(tc, refuses_bad_arguments);
	suite_add_tcase(s, tc);

	tc = tcase_create("two processes");
	tcase_add_test(tc, two_processes_at_base);
	tcase_add_test(tc, inherited_mapping_relocates);
	suite_add_tcase(s, tc);
	return s;
}
