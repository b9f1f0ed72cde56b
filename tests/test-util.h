/* SPDX-License-Identifier: MIT */
/* Helpers shared by the unit tests. */
#ifndef TEST_UTIL_H
#define TEST_UTIL_H

#include <check.h>
#include <stddef.h>
#include <stdint.h>

#include "cma.h"

/* Run one suite, print Check's summary; the process exit status. */
int cm_test_run(Suite *s);

/* The area's suite: each test-<area>.c defines it, test-main.c runs it. */
Suite *cm_test_suite(void);

/* 8-byte aligned heap copy of n bytes (free with free()). */
void *cm_test_copy(const void *p, size_t n);

/*
 * A small sample blob: a list of `nodes` nodes {uint64 x; node *next} in
 * `mode`, built in an anonymous arena. Returns a malloc'd copy of the blob
 * and its length.
 */
void *cm_test_list_blob(size_t nodes, int mode, size_t *len);

/* The same, the arena created with `flags` (CM_OBJECT_MAP adds a section). */
void *cm_test_list_blob_flags(size_t nodes, int mode, int flags,
			      size_t *len);
/* The same list with gaps[i] bytes allocated before node i (gaps may be
 * NULL), in an arena of `capacity` bytes. */
void *cm_test_spread_list_blob(size_t nodes, const size_t *gaps,
			       size_t capacity, int mode, int flags,
			       size_t *len);

/* The header of a blob, which must decode. */
struct cm_header cm_test_header(const void *blob, size_t len);

/*
 * A growing in-memory cm_write_fn target (start it zeroed; free(p) after);
 * it can be told to fail on its n-th call.
 */
struct cm_test_sink {
	uint8_t *p;
	size_t len, cap;
	unsigned calls;
	unsigned fail_at;	/* 0: never; else fail on this call */
	int fail_errno;
};

/* A cm_write_fn appending to the struct cm_test_sink at ctx. */
int cm_test_write(void *ctx, const void *buf, size_t len);

/*
 * Checks for loops over many nodes. A passing ck_assert records its line
 * through Check's pipe, one write(2) each: a 160k-node list walked with
 * them spent most of its time there. These speak only when they fail.
 */
#define require(expr)							\
	do {								\
		if (!(expr))						\
			ck_abort_msg("Assertion '%s' failed", #expr);	\
	} while (0)

#define require_eq(a, b)						\
	do {								\
		uintmax_t a_ = (uintmax_t)(a), b_ = (uintmax_t)(b);	\
		if (a_ != b_)						\
			ck_abort_msg("Assertion '%s == %s' failed: "	\
				     "%ju != %ju", #a, #b, a_, b_);	\
	} while (0)

/* ---- outcomes, asserted ---- */

/* e holds `code`, or the test fails naming both. */
void expect_code(const struct cm_error *e, int code);

/* cm_check refuses with `code` at `offset`. */
void check_refused(const uint8_t *b, size_t len, int flags, int code,
		   uint64_t offset);

/* cm_check accepts. */
void check_valid(const uint8_t *b, size_t len, int flags);

/* cm_deserialize_flags refuses with `code`, every byte left as it was. */
void deser_refused(const uint8_t *b, size_t len, int flags, int code);

/*
 * cm_deserialize_mt with `threads` refuses a copy of b, every byte left as
 * it was; `e` (optional) gets the report. Returns the errno it left.
 */
int mt_refused(const uint8_t *b, size_t len, int flags, int threads,
	       struct cm_error *e);

/* What cm_check_all reported, through collect(). */
struct reports {
	size_t n;
	size_t stop_at;		/* return non-zero at this report; 0 never */
	struct cm_error e[64];
};

/* A cm_check_all report callback filling the struct reports at ctx. */
int collect(void *ctx, const struct cm_error *e);

/* The nodes of cm_test_list_blob(). */
struct lnode {
	uint64_t x;
	struct lnode *next;
};

/* cm_test_list_blob: node i at 128 + 16 i; slot of node i (i >= 1) at
 * 136 + 16 i, pointing to node i - 1. */
static inline uint64_t list_slot(size_t i)
{
	return 128 + 16 * i + 8;
}

#endif
