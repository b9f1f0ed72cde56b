/* SPDX-License-Identifier: MIT */
/* Hostile input: bounded work, concurrent readers, fuzzing's findings. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "test-util.h"
#include "../lib/cma-private.h"

#ifdef __has_feature
#if __has_feature(address_sanitizer)
#define UNDER_ASAN 1
#endif
#endif
#ifdef __SANITIZE_ADDRESS__
#define UNDER_ASAN 1
#endif

/*
 * Buffers a forked child inherits: held here too, so a leak checker in the
 * child (valgrind follows forks) sees them reachable.
 */
static void *volatile held[4];

static void *hold(int i, void *p)
{
	held[i] = p;
	return p;
}

static int mode_of(int i)
{
	return i == 0 ? CM_RELATIVE_OFFSET : CM_ABSOLUTE_OFFSET;
}

static void set_checksum(uint8_t *blob, size_t len)
{
	struct cm_header h;

	ck_assert_int_eq(cm_header_read(blob, len, &h, NULL), 0);
	cm_store64(blob + CM_H_CHECKSUM, cm_checksum_compute(blob, &h));
}

/*
 * Refused, and by the header alone (cm_header_read reads nothing else):
 * not one table byte was read and nothing was sized by the claimed count.
 */
static void assert_refused_by_header(const uint8_t *blob, size_t len)
{
	struct cm_error err = { 0 };
	struct cm_reloc_iter it;
	struct cm_header h;
	uint8_t *copy = cm_test_copy(blob, len);

	errno = 0;
	ck_assert_int_eq(cm_check(blob, len, 0, &err), -1);
	ck_assert_int_eq(errno, EBADMSG);
	ck_assert_msg(err.code == CM_E_HEADER || err.code == CM_E_COUNT ||
		      err.code == CM_E_TRUNCATED,
		      "refused as %s: %s", cm_error_name(err.code),
		      err.message);
	/* A header field, or the real length the blob size overruns. */
	if (err.code == CM_E_TRUNCATED)
		ck_assert_uint_eq(err.offset, len);
	else
		ck_assert_uint_lt(err.offset, CM_HEADER_SIZE);
	ck_assert_int_eq(cm_header_read(blob, len, &h, NULL), -1);
	ck_assert_int_eq(cm_reloc_begin(&it, blob, len, NULL), -1);
	ck_assert_ptr_null(cm_deserialize(copy, len));
	ck_assert_int_eq(errno, EBADMSG);
	ck_assert_mem_eq(copy, blob, len);
	free(copy);
}

/*
 * In a child whose address space may grow by 256 MiB at most, check the
 * blob: an allocation sized by the claimed count would fail with ENOMEM
 * instead of the refusal. (ASan reserves terabytes: no limit there.)
 */
static void assert_refused_in_small_space(const uint8_t *blob, size_t len)
{
	pid_t pid = fork();
	int status;

	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		struct cm_error err;
		int ok;
#ifndef UNDER_ASAN
		long pages = 0;
		FILE *f = fopen("/proc/self/statm", "r");

		if (f && fscanf(f, "%ld", &pages) == 1) {
			struct rlimit rl;

			rl.rlim_cur = rl.rlim_max = (rlim_t)pages *
				(rlim_t)sysconf(_SC_PAGESIZE) + (256 << 20);
			setrlimit(RLIMIT_AS, &rl);
		}
		if (f)
			fclose(f);
#endif
		errno = 0;
		ok = cm_check(blob, len, 0, &err) == -1 && errno == EBADMSG;
		_exit(ok ? 0 : 1);
	}
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert(WIFEXITED(status));
	ck_assert_int_eq(WEXITSTATUS(status), 0);
}

START_TEST(huge_pointer_count)
{
	static const uint64_t counts[] = {
		1ULL << 63, 1ULL << 62, 1ULL << 61, 1ULL << 40, 1ULL << 27,
		1ULL << 24,
	};
	size_t len;
	uint8_t *blob = hold(0, cm_test_list_blob(4, mode_of(_i), &len));
	uint8_t *bad = hold(1, malloc(len));
	struct cm_header h;

	ck_assert_ptr_nonnull(bad);
	ck_assert_int_eq(cm_header_read(blob, len, &h, NULL), 0);
	for (size_t i = 0; i < sizeof counts / sizeof counts[0]; i++) {
		uint64_t n = counts[i];
		uint64_t tsize = h.mode == CM_ABSOLUTE_OFFSET ? 8 * n : n;

		/* The count alone. */
		memcpy(bad, blob, len);
		cm_store64(bad + CM_H_POINTER_COUNT, n);
		assert_refused_by_header(bad, len);
		assert_refused_in_small_space(bad, len);

		/* The count with table and blob sizes that agree with it:
		 * only the real length can tell. */
		if (tsize < n || tsize >= CM_FIELD_LIMIT)
			continue;
		cm_store64(bad + CM_H_TABLE_SIZE, tsize);
		cm_store64(bad + CM_H_BLOB_SIZE, h.table_offset + tsize);
		assert_refused_by_header(bad, len);
		assert_refused_in_small_space(bad, len);
	}
	free(bad);
	free(blob);
}
END_TEST

#define VLQ_RUN 1000000

/*
 * A relative blob whose table is a million continuation bytes after
 * `good` valid entries. The walk must stop at the entry that never ends,
 * within the 4 bytes an entry may take.
 */
static void vlq_run(int good)
{
	struct cm_error err = { 0 }, derr = { 0 };
	struct cm_reloc_iter it;
	struct cm_reloc r;
	struct cm_header h;
	size_t len, blen;
	uint8_t *blob = cm_test_list_blob(1, CM_RELATIVE_OFFSET, &len);
	uint8_t *big, *copy;
	uint64_t entry_at, node;
	int rc;

	ck_assert_int_eq(cm_header_read(blob, len, &h, NULL), 0);
	ck_assert_uint_eq(h.pointer_count, 0);
	blen = h.table_offset + VLQ_RUN;
	big = aligned_alloc(64, (blen + 63) & ~(size_t)63);
	ck_assert_ptr_nonnull(big);
	memcpy(big, blob, h.table_offset);
	memset(big + h.table_offset, 0x80, VLQ_RUN);
	entry_at = h.table_offset;
	if (good) {
		/* The node's next field points to the node itself. */
		node = h.root;
		cm_store64(big + node + 8, h.base + node);
		big[entry_at++] = (uint8_t)((node + 8) / 8);
	}
	cm_store64(big + CM_H_TABLE_SIZE, VLQ_RUN);
	cm_store64(big + CM_H_POINTER_COUNT, VLQ_RUN / 4);
	cm_store64(big + CM_H_BLOB_SIZE, blen);
	set_checksum(big, blen);
	copy = cm_test_copy(big, blen);

	ck_assert_int_eq(cm_check(big, blen, 0, &err), -1);
	ck_assert_int_eq(err.code, CM_E_ENCODING);
	ck_assert_uint_eq(err.index, (uint64_t)good);
	ck_assert_uint_ge(err.offset, entry_at);
	ck_assert_uint_le(err.offset, entry_at + CM_VLQ_REL_MAX_BYTES);

	ck_assert_ptr_null(cm_deserialize_flags(copy, blen, 0, &derr));
	ck_assert_int_eq(derr.code, err.code);
	ck_assert_uint_eq(derr.offset, err.offset);
	ck_assert_mem_eq(copy, big, blen);

	/* The iterator stops there too, one entry's bytes in hand. */
	ck_assert_int_eq(cm_reloc_begin(&it, big, blen, NULL), 0);
	for (int i = 0; i < good; i++)
		ck_assert_int_eq(cm_reloc_next(&it, &r, NULL), 1);
	rc = cm_reloc_next(&it, &r, &err);
	ck_assert_int_eq(rc, -1);
	ck_assert_int_eq(err.code, CM_E_ENCODING);
	ck_assert_uint_le(err.offset, entry_at + CM_VLQ_REL_MAX_BYTES);
	free(copy);
	free(big);
	free(blob);
}

START_TEST(vlq_run_first_entry)
{
	vlq_run(0);
}
END_TEST

START_TEST(vlq_run_second_entry)
{
	vlq_run(1);
}
END_TEST

/* ---- concurrent readers ---- */

struct test_node {
	uint64_t x;
	struct test_node *next;
};

#define READERS 4
#define ROUNDS 20
#define NODES 5000

/* What a reader sees: every x, in list order, folded into one number. */
static uint64_t walk_sum(const struct test_node *n, const uint8_t *lo,
			 const uint8_t *hi)
{
	uint64_t sum = 0, count = 0;

	for (; n; n = n->next) {
		if ((const uint8_t *)n < lo || (const uint8_t *)(n + 1) > hi)
			return 0;
		sum = sum * 1000003 + n->x + 1;
		count++;
	}
	return sum ^ count;
}

static int sink_fd(void *ctx, const void *buf, size_t len)
{
	return write(*(int *)ctx, buf, len) == (ssize_t)len ? 0 : -1;
}

/* One reader: a private mapping relocated and walked, ROUNDS times. */
static int reader(const char *path, size_t len, uint64_t expect)
{
	for (int i = 0; i < ROUNDS; i++) {
		int fd = open(path, O_RDONLY);
		uint8_t *p;
		void *root;
		uint64_t sum;

		if (fd < 0)
			return 1;
		p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd,
			 0);
		close(fd);
		if (p == MAP_FAILED)
			return 1;
		root = cm_deserialize(p, len);
		sum = root ? walk_sum(root, p, p + len) : 0;
		munmap(p, len);
		if (sum != expect)
			return 2;
	}
	return 0;
}

/* The verifier: the shared mapping, checked ROUNDS times. */
static int checker(const char *path, size_t len)
{
	int fd = open(path, O_RDONLY);
	uint8_t *p;
	int bad = 0;

	if (fd < 0)
		return 1;
	p = mmap(NULL, len, PROT_READ, MAP_SHARED, fd, 0);
	close(fd);
	if (p == MAP_FAILED)
		return 1;
	for (int i = 0; i < ROUNDS; i++)
		bad |= cm_check(p, len, CM_CHECK_EXACT, NULL) != 0;
	munmap(p, len);
	return bad ? 3 : 0;
}

START_TEST(concurrent_readers)
{
	char path[] = "/tmp/cma-regress-XXXXXX";
	size_t len;
	uint8_t *blob = hold(0, cm_test_list_blob(NODES, mode_of(_i), &len));
	uint8_t *copy, *after;
	pid_t pids[READERS + 1];
	int fd, go[2], status;
	uint64_t expect;
	char c;

	/* Rebased to 0: no mapping can sit there, every reader relocates. */
	fd = mkstemp(path);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(cm_convert(blob, len, 0, 0, 0, sink_fd, &fd, NULL),
			 0);
	ck_assert_int_eq(close(fd), 0);

	copy = hold(1, cm_test_copy(blob, len));
	ck_assert_ptr_nonnull(cm_deserialize(copy, len));
	expect = walk_sum((const void *)(copy + cm_load64(copy + CM_H_ROOT)),
			  copy, copy + len);
	ck_assert_uint_ne(expect, 0);

	ck_assert_int_eq(pipe(go), 0);
	for (int i = 0; i <= READERS; i++) {
		pids[i] = fork();
		ck_assert_int_ge(pids[i], 0);
		if (pids[i] == 0) {
			close(go[1]);
			/* Start together: block until the parent closes. */
			if (read(go[0], &c, 1) != 0)
				_exit(4);
			_exit(i == READERS ? checker(path, len)
					   : reader(path, len, expect));
		}
	}
	close(go[0]);
	close(go[1]);
	for (int i = 0; i <= READERS; i++) {
		ck_assert_int_eq(waitpid(pids[i], &status, 0), pids[i]);
		ck_assert(WIFEXITED(status));
		ck_assert_msg(WEXITSTATUS(status) == 0, "process %d: %d", i,
			      WEXITSTATUS(status));
	}

	/* Private relocations never reached the file. */
	fd = open(path, O_RDONLY);
	ck_assert_int_ge(fd, 0);
	after = malloc(len + 1);
	ck_assert_ptr_nonnull(after);
	ck_assert_int_eq(read(fd, after, len + 1), (ssize_t)len);
	close(fd);
	ck_assert_int_eq(cm_check(after, len, CM_CHECK_EXACT, NULL), 0);
	ck_assert_uint_eq(cm_load64(after + CM_H_BASE), 0);
	unlink(path);
	free(after);
	free(copy);
	free(blob);
}
END_TEST

/* ---- inputs fuzzing found (tests/fuzz/regress/ holds the files) ---- */

/*
 * An absolute table entry of 2^64 - 8: "slot + 8 > data_end" wraps to 0,
 * so the slot passed as inside the data. The iterator then read the 8
 * bytes before the blob, and cm_check refused with an error it never
 * filled in. Built here from a real blob; the fuzzer's input follows.
 */
START_TEST(abs_slot_wraps)
{
	struct cm_error err;
	struct cm_reloc_iter it;
	struct cm_reloc r;
	struct cm_header h;
	size_t len;
	uint8_t *blob = cm_test_list_blob(3, CM_ABSOLUTE_OFFSET, &len);
	uint64_t last;
	int rc;

	ck_assert_int_eq(cm_header_read(blob, len, &h, NULL), 0);
	ck_assert_uint_eq(h.pointer_count, 2);
	last = h.table_offset + 8;
	cm_store64(blob + last, UINT64_MAX - 7);
	set_checksum(blob, len);

	memset(&err, 0xff, sizeof err);
	ck_assert_int_eq(cm_check(blob, len, 0, &err), -1);
	ck_assert_int_eq(err.code, CM_E_SLOT);
	ck_assert_uint_eq(err.offset, last);
	ck_assert_uint_eq(err.index, 1);
	ck_assert_ptr_nonnull(memchr(err.message, 0, sizeof err.message));

	ck_assert_int_eq(cm_reloc_begin(&it, blob, len, NULL), 0);
	ck_assert_int_eq(cm_reloc_next(&it, &r, NULL), 1);
	rc = cm_reloc_next(&it, &r, &err);
	ck_assert_int_eq(rc, -1);
	ck_assert_int_eq(err.code, CM_E_SLOT);
	free(blob);
}
END_TEST

/*
 * An absolute header claiming 2^61 + n pointers for a table of 8n bytes:
 * "table_size != 8 * pointer_count" wrapped and held, and the walk read
 * entries past the table, past the end of the blob.
 */
START_TEST(abs_count_wraps)
{
	struct cm_error err;
	size_t len;
	uint8_t *blob = cm_test_list_blob(3, CM_ABSOLUTE_OFFSET, &len);
	uint8_t *copy;
	struct cm_header h;

	ck_assert_int_eq(cm_header_read(blob, len, &h, NULL), 0);
	cm_store64(blob + CM_H_POINTER_COUNT, (1ULL << 61) + h.pointer_count);
	copy = cm_test_copy(blob, len);
	ck_assert_int_eq(cm_check(blob, len, 0, &err), -1);
	ck_assert(err.code == CM_E_COUNT || err.code == CM_E_HEADER);
	ck_assert_uint_lt(err.offset, CM_HEADER_SIZE);
	ck_assert_int_eq(cm_header_read(blob, len, &h, NULL), -1);
	ck_assert_ptr_null(cm_deserialize(copy, len));
	ck_assert_mem_eq(copy, blob, len);
	free(copy);
	free(blob);
}
END_TEST

/*
 * The fuzzers' findings, read from tests/fuzz/regress/ (the folder the
 * replay runs too): a new finding is a new file there, nothing else.
 */
#define REGRESS_DIR "fuzz/regress"
#define MAX_FINDINGS 256

static char *finding_names[MAX_FINDINGS];
static int finding_count;

static int is_input(const struct dirent *d)
{
	return d->d_type == DT_REG && d->d_name[0] != '.';
}

/* Before the suite is built: its loop test needs the count. */
static void list_findings(void)
{
	struct dirent **list;
	int n = scandir(REGRESS_DIR, &list, is_input, alphasort);

	if (n < 0) {
		fprintf(stderr, "test-regress: %s: %s\n", REGRESS_DIR,
			strerror(errno));
		exit(EXIT_FAILURE);
	}
	for (int i = 0; i < n; i++) {
		if (finding_count < MAX_FINDINGS)
			finding_names[finding_count++] =
				strdup(list[i]->d_name);
		free(list[i]);
	}
	free(list);
}

/* The finding's bytes, 8-byte aligned as a mapping would be. */
static uint8_t *read_finding(const char *name, size_t *len)
{
	char path[512];
	struct stat st;
	uint8_t *p;
	int fd;

	snprintf(path, sizeof path, "%s/%s", REGRESS_DIR, name);
	fd = open(path, O_RDONLY);
	ck_assert_msg(fd >= 0, "%s: %s", path, strerror(errno));
	ck_assert_int_eq(fstat(fd, &st), 0);
	*len = (size_t)st.st_size;
	p = aligned_alloc(64, (*len + 64) & ~(size_t)63);
	ck_assert_ptr_nonnull(p);
	ck_assert_int_eq(read(fd, p, *len), (ssize_t)*len);
	close(fd);
	return p;
}

static int count_write(void *ctx, const void *buf, size_t len)
{
	(void)buf;
	*(size_t *)ctx += len;
	return 0;
}

static void assert_error_filled(const struct cm_error *err)
{
	ck_assert_int_gt(err->code, CM_OK);
	ck_assert_int_le(err->code, CM_E_CONVERT);
	ck_assert_ptr_nonnull(memchr(err->message, 0, sizeof err->message));
}

/*
 * Each finding replayed through the paths fuzzing checks: a refusal comes
 * with a real error and leaves the bytes alone, cm_check and
 * cm_deserialize agree, the iterator yields only slots inside the data.
 */
START_TEST(fuzz_findings)
{
	struct cm_error cerr, derr, ierr;
	struct cm_reloc_iter it;
	struct cm_header h;
	struct cm_reloc r;
	size_t len, out = 0;
	uint8_t *bytes = read_finding(finding_names[_i], &len);
	uint8_t *copy = cm_test_copy(bytes, len);
	int crc, rc;

	memset(&cerr, 0xff, sizeof cerr);
	memset(&derr, 0xff, sizeof derr);
	crc = cm_check(bytes, len, 0, &cerr);
	if (crc == 0) {
		ck_assert_ptr_nonnull(cm_deserialize_flags(copy, len, 0,
							   &derr));
	} else {
		assert_error_filled(&cerr);
		ck_assert_ptr_null(cm_deserialize_flags(copy, len, 0,
							&derr));
		ck_assert_int_eq(derr.code, cerr.code);
		ck_assert_mem_eq(copy, bytes, len);
	}
	if (cm_header_read(bytes, len, &h, NULL) == 0 &&
	    cm_reloc_begin(&it, bytes, len, NULL) == 0) {
		memset(&ierr, 0xff, sizeof ierr);
		while ((rc = cm_reloc_next(&it, &r, &ierr)) == 1) {
			ck_assert_uint_ge(r.slot, h.header_size);
			ck_assert_uint_le(r.slot, h.data_end - 8);
		}
		if (rc < 0)
			assert_error_filled(&ierr);
	}
	cm_convert(bytes, len, CM_ABSOLUTE_OFFSET, 0, 0, count_write,
		   &out, NULL);
	cm_legacy_import(bytes, len, 0, UINT64_MAX, count_write, &out,
			 NULL);
	free(copy);
	free(bytes);
}
END_TEST

static Suite *regress_suite(void)
{
	Suite *s = suite_create("regress");
	TCase *tc;

	tc = tcase_create("bounded work");
	tcase_add_loop_test(tc, huge_pointer_count, 0, 2);
	tcase_add_test(tc, vlq_run_first_entry);
	tcase_add_test(tc, vlq_run_second_entry);
	suite_add_tcase(s, tc);

	tc = tcase_create("concurrent readers");
	tcase_add_loop_test(tc, concurrent_readers, 0, 2);
	suite_add_tcase(s, tc);

	tc = tcase_create("fuzz findings");
	tcase_add_test(tc, abs_slot_wraps);
	tcase_add_test(tc, abs_count_wraps);
	tcase_add_loop_test(tc, fuzz_findings, 0, finding_count);
	suite_add_tcase(s, tc);
	return s;
}

Suite *cm_test_suite(void)
{
	list_findings();
	return regress_suite();
}
