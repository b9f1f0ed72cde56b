/* SPDX-License-Identifier: MIT */
/*
 * The one main of the unit test programs: each program is one area's
 * test-<area>.c, which defines cm_test_suite(); this runs it. Alone in its
 * file, so the linker takes it from the test library only for a program
 * that has no main of its own.
 */
#include "test-util.h"

int main(void)
{
	return cm_test_run(cm_test_suite());
}
