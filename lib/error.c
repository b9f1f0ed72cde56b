/* SPDX-License-Identifier: MIT */
/* Error codes: their stable names, and the one way defects are reported. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>

#include "cma-private.h"

static const char *const error_names[] = {
	[CM_OK] = "CM_OK",
	[CM_E_TRUNCATED] = "CM_E_TRUNCATED",
	[CM_E_MAGIC] = "CM_E_MAGIC",
	[CM_E_VERSION] = "CM_E_VERSION",
	[CM_E_REQUIRED_FLAG] = "CM_E_REQUIRED_FLAG",
	[CM_E_HEADER] = "CM_E_HEADER",
	[CM_E_LENGTH] = "CM_E_LENGTH",
	[CM_E_MODE] = "CM_E_MODE",
	[CM_E_ROOT] = "CM_E_ROOT",
	[CM_E_PADDING] = "CM_E_PADDING",
	[CM_E_ENCODING] = "CM_E_ENCODING",
	[CM_E_ORDER] = "CM_E_ORDER",
	[CM_E_SLOT] = "CM_E_SLOT",
	[CM_E_POINTER] = "CM_E_POINTER",
	[CM_E_COUNT] = "CM_E_COUNT",
	[CM_E_CHECKSUM] = "CM_E_CHECKSUM",
	[CM_E_SECTION] = "CM_E_SECTION",
	[CM_E_OBJECT_MAP] = "CM_E_OBJECT_MAP",
	[CM_E_DANGLING] = "CM_E_DANGLING",
	[CM_E_UNSEALED] = "CM_E_UNSEALED",
	[CM_E_LEGACY] = "CM_E_LEGACY",
	[CM_E_CONVERT] = "CM_E_CONVERT",
	[CM_E_UNRECORDED] = "CM_E_UNRECORDED",
};

CM_API const char *cm_error_name(int code)
{
	if (code < 0 || (size_t)code >= sizeof error_names / sizeof *error_names
	    || !error_names[code])
		return "CM_E_UNKNOWN";
	return error_names[code];
}

int cm_fail(struct cm_error *err, int code, uint64_t offset, uint64_t index,
	    const char *fmt, ...)
{
	if (err) {
		va_list ap;

		err->code = code;
		err->offset = offset;
		err->index = index;
		va_start(ap, fmt);
		vsnprintf(err->message, sizeof err->message, fmt, ap);
		va_end(ap);
	}
	errno = EBADMSG;
	return -1;
}

int cm_fail_pointer(struct cm_error *err, uint64_t slot, uint64_t index,
		    uint64_t value)
{
	return cm_fail(err, CM_E_POINTER, slot, index,
		       "relocation %llu points outside the data (0x%llx)",
		       (unsigned long long)index, (unsigned long long)value);
}
