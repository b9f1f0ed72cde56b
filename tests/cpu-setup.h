/* SPDX-License-Identifier: MIT */
/* The CPU level a test setup forces (CMA_CPU): taken, or the test skipped. */
#ifndef CPU_SETUP_H
#define CPU_SETUP_H

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include "cma.h"

/* Meson counts a test that exits 77 as skipped. */
#define CM_TEST_SKIP 77

/*
 * The library ignores a level it cannot use; a test must not pass on the
 * wrong kernels. A level this CPU lacks skips the test, saying so; a name
 * that is no level fails it.
 */
static inline void cm_test_cpu_setup(void)
{
	const char *level = getenv("CMA_CPU");

	if (!level || !cm_cpu_select(level))
		return;
	if (errno == ENOTSUP) {
		printf("CMA_CPU=%s: this CPU or build lacks that level, "
		       "skipped (the best here is %s)\n", level,
		       cm_cpu_level());
		exit(CM_TEST_SKIP);
	}
	fprintf(stderr, "CMA_CPU=%s: not a CPU level\n", level);
	exit(EXIT_FAILURE);
}

#endif /* CPU_SETUP_H */
