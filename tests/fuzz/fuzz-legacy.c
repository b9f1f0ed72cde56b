/* SPDX-License-Identifier: MIT */
/* Fuzz target: import of pre-1.0 cma blobs, which have no header. */
#include "fuzz-util.h"

/*
 * The output bound: header, the data (never more than the input), padding,
 * an absolute table of at most one u64 per input byte.
 */
static size_t bound(size_t size)
{
	return 16 * size + 4096;
}

/*
 * The import's promise to the consumer: relocated anywhere, no word of the
 * data still holds an address of the producer's legacy data [B + 8,
 * B + data end] (it would be followed out of the blob), and every slot
 * holds NULL or a pointer into the new data.
 */
static void assert_relocatable(const struct fuzz_sink *s,
			       const struct cm_header *h, uint64_t b)
{
	uint8_t *copy = malloc(s->len);
	uint64_t lo = b + 8, span = h->data_end - CM_HEADER_SIZE;
	uint64_t next = UINT64_MAX, at, here;
	struct cm_reloc_iter it;
	struct cm_reloc r;
	int n;

	FUZZ_ASSERT(copy != NULL);
	memcpy(copy, s->buf, s->len);
	FUZZ_ASSERT(cm_deserialize_flags(copy, s->len, 0, NULL) != NULL);
	here = (uintptr_t)copy;
	FUZZ_ASSERT(cm_reloc_begin(&it, s->buf, s->len, NULL) == 0);
	n = cm_reloc_next(&it, &r, NULL);
	for (at = CM_HEADER_SIZE; at + 8 <= h->data_end; at += 8) {
		uint64_t v = cm_load64(copy + at);

		next = n == 1 ? r.slot : UINT64_MAX;
		if (at == next) {
			FUZZ_ASSERT(v == 0 || (v - here >= CM_HEADER_SIZE
					       && v - here <= h->data_end));
			n = cm_reloc_next(&it, &r, NULL);
		} else if (b >= CM_SCAN_MIN_BASE) {
			FUZZ_ASSERT(v - lo > span);
		}
	}
	FUZZ_ASSERT(n == 0);
	free(copy);
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
				    err.code == CM_E_TRUNCATED ||
				    err.code == CM_E_UNRECORDED ||
				    err.code == CM_E_CONVERT);
		rc = errno == EBADMSG ? err.code : -errno;
		goto out;
	}
	/* The pointer scan passes too (or cannot run: a base under 4 GiB). */
	FUZZ_ASSERT(cm_check(s.buf, s.len, CM_CHECK_EXACT | CM_CHECK_POINTERS,
			     &cerr) >= 0);
	FUZZ_ASSERT(cm_header_read(s.buf, s.len, &h, NULL) == 0);
	assert_relocatable(&s, &h, cm_load64(data + size - 8));
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
