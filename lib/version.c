/* SPDX-License-Identifier: MIT */
/* cm_version: the version of the library that is running. */
#include "cma-private.h"

CM_API const char *cm_version(void)
{
	return CM_LIB_VERSION_STRING;
}
