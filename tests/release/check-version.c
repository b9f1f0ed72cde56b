/* SPDX-License-Identifier: MIT */
/* The library's version agrees everywhere: meson, cma.h's macros, cm_version(). */
#include <stdio.h>
#include <string.h>

#include "cma.h"

int main(int argc, char **argv)
{
	char macros[64];
	int failed = 0;

	if (argc != 2) {
		fprintf(stderr, "usage: check-version PROJECT-VERSION\n");
		return 2;
	}
	snprintf(macros, sizeof(macros), "%d.%d.%d", CM_LIB_VERSION_MAJOR,
		 CM_LIB_VERSION_MINOR, CM_LIB_VERSION_PATCH);
	if (strcmp(cm_version(), argv[1]) != 0) {
		printf("cm_version() is %s, the project %s\n", cm_version(),
		       argv[1]);
		failed++;
	}
	if (strcmp(CM_LIB_VERSION_STRING, argv[1]) != 0
	    || strcmp(macros, argv[1]) != 0) {
		printf("cma.h says %s (%s), the project %s\n",
		       CM_LIB_VERSION_STRING, macros, argv[1]);
		failed++;
	}
	if (CM_LIB_VERSION_NUMBER != CM_LIB_VERSION_MAJOR * 10000
	    + CM_LIB_VERSION_MINOR * 100 + CM_LIB_VERSION_PATCH) {
		printf("CM_LIB_VERSION_NUMBER is %d\n", CM_LIB_VERSION_NUMBER);
		failed++;
	}
	printf("%d passed, %d failed\n", 3 - failed, failed);
	return failed != 0;
}
