/* SPDX-License-Identifier: MIT */
/* cma.h must compile first and alone, in C and without _GNU_SOURCE help. */
#include "cma.h"
#include "cma.h" /* and twice */

int main(void)
{
	struct cm_error e = { .code = CM_OK };

	return e.code;
}
