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

#endif
