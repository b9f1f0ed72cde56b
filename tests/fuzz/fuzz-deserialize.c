/* SPDX-License-Identifier: MIT */
/* Fuzz target: cm_deserialize on a private copy, then its result checked. */
#include "fuzz-util.h"

/*
 * After a successful relocation every listed slot holds an address inside
 * the copy's data (one past the end allowed), and the recorded base is the
 * copy. The slots come from the untouched input's table.
 */
static void check_relocated(const uint8_t *in, size_t size,
			    const uint8_t *copy, const void *root)
{
	struct cm_reloc_iter it;
	struct cm_header h;
	struct cm_reloc r;
	uint64_t n = 0, lo, hi, v;
	int rc;

	FUZZ_ASSERT(cm_header_read(in, size, &h, NULL) == 0);
	lo = (uintptr_t)copy + h.header_size;
	hi = (uintptr_t)copy + h.data_end;
	FUZZ_ASSERT((uintptr_t)root == (uintptr_t)copy + h.root);
	FUZZ_ASSERT((uintptr_t)root >= lo && (uintptr_t)root < hi);
	FUZZ_ASSERT(cm_load64(copy + CM_H_BASE) == (uintptr_t)copy);
	FUZZ_ASSERT(cm_reloc_begin(&it, in, size, NULL) == 0);
	while ((rc = cm_reloc_next(&it, &r, NULL)) == 1) {
		v = cm_load64(copy + r.slot);
		FUZZ_ASSERT(v >= lo && v <= hi);
		FUZZ_ASSERT(v - (uintptr_t)copy == r.target);
		n++;
	}
	FUZZ_ASSERT(rc == 0 && n == h.pointer_count);
	/* Only slots, the base and nothing past the blob changed. */
	FUZZ_ASSERT(!memcmp(copy + h.blob_size, in + h.blob_size,
			    size - h.blob_size));
}

/* The two roots sit at the same offset in their blobs. */
static int same_offset(const void *r1, const uint8_t *b1, const void *r2,
		       const uint8_t *b2)
{
	return (const uint8_t *)r1 - b1 == (const uint8_t *)r2 - b2;
}

static void deserialize_one(const uint8_t *data, size_t size)
{
	struct cm_error err, cerr;
	uint8_t *copy, *again;
	void *root, *root2;
	int crc;

	copy = fuzz_copy(data, size);
	again = fuzz_copy(data, size);
	FUZZ_ASSERT(copy && again);
	crc = cm_check(data, size, 0, &cerr);

	memset(&err, 0, sizeof err);
	root = cm_deserialize_flags(copy, size, 0, &err);
	if (!root) {
		FUZZ_ASSERT(errno == EBADMSG);
		FUZZ_ASSERT(crc == -1 && err.code == cerr.code);
		FUZZ_ASSERT(!memcmp(copy, data, size));
		goto out;
	}
	FUZZ_ASSERT(crc == 0);
	check_relocated(data, size, copy, root);

	/* Twice is harmless: same root, same bytes. */
	memcpy(again, copy, size);
	root2 = cm_deserialize(again, size);
	FUZZ_ASSERT(root2 && same_offset(root2, again, root, copy));

	/* The relocated copy is a valid blob itself. */
	FUZZ_ASSERT(cm_check(copy, size, 0, NULL) == 0);

	/* With the pointer scan: refused exactly as cm_check refuses, the
	 * bytes as they were; else relocated alike. */
	memcpy(again, data, size);
	crc = cm_check(data, size, CM_CHECK_POINTERS, &cerr);
	root2 = cm_deserialize_flags(again, size, CM_CHECK_POINTERS, &err);
	FUZZ_ASSERT(!root2 == (crc < 0));
	if (root2)
		check_relocated(data, size, again, root2);
	else
		FUZZ_ASSERT(err.code == CM_E_UNRECORDED
			    && err.offset == cerr.offset
			    && !memcmp(again, data, size));

	/* Trusted and threaded relocation give the same bytes. */
	memcpy(again, data, size);
	root2 = cm_deserialize_flags(again, size, CM_TRUSTED, NULL);
	FUZZ_ASSERT(root2 && same_offset(root2, again, root, copy));
	memcpy(again, data, size);
	root2 = cm_deserialize_mt(again, size, 0, 2, NULL);
	FUZZ_ASSERT(root2 && same_offset(root2, again, root, copy));
	check_relocated(data, size, again, root2);
	memcpy(again, data, size);
	root2 = cm_deserialize_mt(again, size, CM_TRUSTED, 3, NULL);
	FUZZ_ASSERT(root2 && same_offset(root2, again, root, copy));
	check_relocated(data, size, again, root2);
out:
	/* A refused threaded run leaves the bytes as they were too. */
	if (!root) {
		root2 = cm_deserialize_mt(again, size, 0, 2, &err);
		FUZZ_ASSERT(!root2 && errno == EBADMSG);
		FUZZ_ASSERT(!memcmp(again, data, size));
	}
	free(copy);
	free(again);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t *fixed;

	/* Split every blob among the threads, however small (parts of no
	 * block at all included): the threaded paths get fuzzed too. */
	cm_mt_min_part = 0;

	deserialize_one(data, size);
	fixed = fuzz_copy(data, size);
	FUZZ_ASSERT(fixed);
	if (fuzz_fix_checksum(fixed, size))
		deserialize_one(fixed, size);
	free(fixed);
	return 0;
}
