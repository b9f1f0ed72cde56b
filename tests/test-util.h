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

#endif
