/* SPDX-License-Identifier: MIT */
/* Helpers shared by the unit tests. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "cpu-setup.h"
#include "test-util.h"

int cm_test_run(Suite *s)
{
	SRunner *sr;
	int failed;

	cm_test_cpu_setup();
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}

void *cm_test_copy(const void *p, size_t n)
{
	void *q = aligned_alloc(64, (n + 63) & ~(size_t)63);

	ck_assert_ptr_nonnull(q);
	memcpy(q, p, n);
	return q;
}

struct test_node {
	uint64_t x;
	struct test_node *next;
};

void *cm_test_list_blob(size_t nodes, int mode, size_t *len)
{
	return cm_test_list_blob_flags(nodes, mode, 0, len);
}

void *cm_test_list_blob_flags(size_t nodes, int mode, int flags,
			      size_t *len)
{
	return cm_test_spread_list_blob(nodes, NULL, 4096 + nodes * 32, mode,
					flags, len);
}

void *cm_test_spread_list_blob(size_t nodes, const size_t *gaps,
			       size_t capacity, int mode, int flags,
			       size_t *len)
{
	struct cm_attr *mem = cm_create(-1, capacity, MAP_PRIVATE, flags);
	struct test_node *head = NULL, *n;
	uint8_t *pad;
	void *blob, *copy;

	ck_assert_ptr_nonnull(mem);
	for (size_t i = 0; i < nodes; i++) {
		if (gaps && gaps[i])
			require_eq(cm_alloc(mem, &pad, gaps[i]), 0);
		require_eq(cm_alloc(mem, &n, sizeof *n), 0);
		n->x = i;
		require_eq(cm_ptr_to(mem, &n->next, head), 0);
		head = n;
	}
	blob = cm_serialize(mem, head, mode, 0);
	ck_assert_ptr_nonnull(blob);
	*len = (size_t)cm_get_size(mem);
	copy = cm_test_copy(blob, *len);
	cm_delete(mem, CM_ERASE);
	return copy;
}

struct cm_header cm_test_header(const void *blob, size_t len)
{
	struct cm_header h;
	struct cm_error e;

	ck_assert_msg(cm_header_read(blob, len, &h, &e) == 0, "%s",
		      e.message);
	return h;
}

int cm_test_write(void *ctx, const void *buf, size_t len)
{
	struct cm_test_sink *m = ctx;

	if (++m->calls == m->fail_at) {
		errno = m->fail_errno;
		return -1;
	}
	if (m->len + len > m->cap) {
		m->cap = (m->len + len) * 2;
		m->p = realloc(m->p, m->cap);
		ck_assert_ptr_nonnull(m->p);
	}
	memcpy(m->p + m->len, buf, len);
	m->len += len;
	return 0;
}

/* ---- outcomes ---- */

void expect_code(const struct cm_error *e, int code)
{
	ck_assert_msg(e->code == code, "got %s, expected %s (%s)",
		      cm_error_name(e->code), cm_error_name(code), e->message);
}

/* cm_check refuses with `code` at `offset`. */
void check_refused(const uint8_t *b, size_t len, int flags, int code,
		   uint64_t offset)
{
	struct cm_error e;

	memset(&e, 0xa5, sizeof e);
	errno = 0;
	ck_assert_int_eq(cm_check(b, len, flags, &e), -1);
	ck_assert_int_eq(errno, EBADMSG);
	expect_code(&e, code);
	ck_assert_msg(e.offset == offset, "%s at 0x%llx, expected 0x%llx (%s)",
		      cm_error_name(code), (unsigned long long)e.offset,
		      (unsigned long long)offset, e.message);
	ck_assert_ptr_nonnull(memchr(e.message, 0, sizeof e.message));
}

void check_valid(const uint8_t *b, size_t len, int flags)
{
	struct cm_error e = { 0 };

	ck_assert_msg(cm_check(b, len, flags, &e) == 0, "refused: %s at 0x%llx"
		      " (%s)", cm_error_name(e.code),
		      (unsigned long long)e.offset, e.message);
}

/* cm_deserialize_flags refuses with `code`, every byte left as it was. */
void deser_refused(const uint8_t *b, size_t len, int flags, int code)
{
	uint8_t *w = cm_test_copy(b, len);
	struct cm_error e;

	memset(&e, 0, sizeof e);
	errno = 0;
	ck_assert_ptr_null(cm_deserialize_flags(w, len, flags, &e));
	ck_assert_int_eq(errno, EBADMSG);
	expect_code(&e, code);
	ck_assert_mem_eq(w, b, len);
	free(w);
}

/*
 * cm_deserialize_mt with `threads` refuses a copy of b, every byte left as
 * it was; `e` (optional) gets the report. Returns the errno it left.
 */
int mt_refused(const uint8_t *b, size_t len, int flags, int threads,
		      struct cm_error *e)
{
	uint8_t *w = cm_test_copy(b, len);
	int err;

	errno = 0;
	ck_assert_msg(!cm_deserialize_mt(w, len, flags, threads, e),
		      "%d threads accepted the blob", threads);
	err = errno;
	ck_assert_mem_eq(w, b, len);
	free(w);
	return err;
}

int collect(void *ctx, const struct cm_error *e)
{
	struct reports *r = ctx;

	if (r->n < 64)
		r->e[r->n] = *e;
	r->n++;
	return r->stop_at && r->n >= r->stop_at;
}
