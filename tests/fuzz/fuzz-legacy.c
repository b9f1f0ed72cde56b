/* SPDX-License-Identifier: MIT */
/* Fuzz target: import of the seed's headerless blobs. */
#include "fuzz-util.h"

/*
 * The output bound: header, the data (never more than the input), padding,
 * an absolute table of at most one u64 per input byte.
 */
static size_t bound(size_t size)
{
	return 16 * size + 4096;
}

/* @return 0 imported, else the error code (or -errno). */
static int import_one(const uint8_t *data, size_t size, int mode,
		      uint64_t base, struct fuzz_sink *first)
{
	struct cm_error err, cerr;
	struct cm_header h;
	struct fuzz_sink s;
	int rc;

	FUZZ_ASSERT(fuzz_sink_init(&s, bound(size)) == 0);
	memset(&err, 0, sizeof err);
	rc = cm_legacy_import(data, size, mode, base, fuzz_sink_write, &s,
			      &err);
	if (rc != 0) {
		FUZZ_ASSERT(errno == EBADMSG || errno == EINVAL);
		if (errno == EBADMSG)
			FUZZ_ASSERT(err.code == CM_E_LEGACY ||
				    err.code == CM_E_CONVERT);
		rc = errno == EBADMSG ? err.code : -errno;
		goto out;
	}
	FUZZ_ASSERT(cm_check(s.buf, s.len, CM_CHECK_EXACT | CM_CHECK_STRICT,
			     &cerr) == 0 ||
		    cm_check(s.buf, s.len, CM_CHECK_EXACT, &cerr) == 0);
	FUZZ_ASSERT(cm_header_read(s.buf, s.len, &h, NULL) == 0);
	if (mode)
		FUZZ_ASSERT(h.mode == (uint32_t)mode);
	if (base != UINT64_MAX)
		FUZZ_ASSERT(h.base == base);
	if (!first->buf) {
		*first = s;
		return 0;
	}
	/* Another mode or base of the same import: convertible into it. */
	{
		struct fuzz_sink c;
		struct cm_header fh;

		FUZZ_ASSERT(cm_header_read(first->buf, first->len, &fh,
					   NULL) == 0);
		FUZZ_ASSERT(fuzz_sink_init(&c, 8 * s.len + 4096) == 0);
		FUZZ_ASSERT(cm_convert(s.buf, s.len, (int)fh.mode, fh.base, 0,
				       fuzz_sink_write, &c, &err) == 0);
		/*
		 * The same bytes, but for the informative capacity (the
		 * import records its own output's length; a conversion keeps
		 * the input's) and the checksum that covers it.
		 */
		FUZZ_ASSERT(c.len == first->len);
		FUZZ_ASSERT(!memcmp(c.buf, first->buf, CM_H_CAPACITY));
		FUZZ_ASSERT(!memcmp(c.buf + CM_H_ROOT, first->buf + CM_H_ROOT,
				    CM_H_CHECKSUM - CM_H_ROOT));
		FUZZ_ASSERT(!memcmp(c.buf + CM_H_RESERVED1,
				    first->buf + CM_H_RESERVED1,
				    c.len - CM_H_RESERVED1));
		fuzz_sink_free(&c);
	}
out:
	fuzz_sink_free(&s);
	return rc;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_sink first = { 0 };
	int a, b;

	/* The first success is the reference the others convert into. */
	import_one(data, size, 0, UINT64_MAX, &first);
	import_one(data, size, CM_ABSOLUTE_OFFSET, UINT64_MAX, &first);
	/*
	 * With an explicit base, only the legacy bytes decide: an
	 * inconsistent legacy blob is refused whatever the output mode.
	 */
	a = import_one(data, size, CM_RELATIVE_OFFSET, 0, &first);
	b = import_one(data, size, CM_ABSOLUTE_OFFSET, 0x7e5a00000000ULL,
		       &first);
	FUZZ_ASSERT((a == CM_E_LEGACY) == (b == CM_E_LEGACY));
	fuzz_sink_free(&first);
	return 0;
}
