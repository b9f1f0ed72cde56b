/* SPDX-License-Identifier: MIT */
/* Fuzz target: cm_check and cm_deserialize never disagree. */
#include "fuzz-util.h"

/*
 * Relocate a guarded copy: whatever cm_check (flags 0) refuses,
 * cm_deserialize refuses with the same code, and the bytes are unchanged;
 * whatever it accepts is relocated without a byte outside the blob
 * touched, and converts back to the input exactly.
 */
static void relocate_guarded(const uint8_t *data, size_t size)
{
	struct cm_error cerr, derr;
	struct fuzz_guard g;
	struct fuzz_sink back;
	struct cm_header h;
	void *root;
	int crc;

	FUZZ_ASSERT(fuzz_guard_init(&g, data, size) == 0);
	memset(&cerr, 0, sizeof cerr);
	memset(&derr, 0, sizeof derr);
	crc = cm_check(g.blob, size, 0, &cerr);
	root = cm_deserialize_flags(g.blob, size, 0, &derr);
	FUZZ_ASSERT(fuzz_guard_intact(&g));
	if (crc != 0) {
		FUZZ_ASSERT(!root && errno == EBADMSG);
		FUZZ_ASSERT(derr.code == cerr.code);
		FUZZ_ASSERT(derr.offset == cerr.offset);
		FUZZ_ASSERT(!memcmp(g.blob, data, size));
		goto out;
	}
	FUZZ_ASSERT(root);
	FUZZ_ASSERT(cm_header_read(data, size, &h, NULL) == 0);
	FUZZ_ASSERT((uint8_t *)root == g.blob + h.root);
	/* The tail past the blob is ignored, never written. */
	FUZZ_ASSERT(!memcmp(g.blob + h.blob_size, data + h.blob_size,
			    size - h.blob_size));
	/* Back at the original base: the input, byte for byte. */
	FUZZ_ASSERT(fuzz_sink_init(&back, h.blob_size) == 0);
	FUZZ_ASSERT(cm_convert(g.blob, h.blob_size, 0, h.base, 0,
			       fuzz_sink_write, &back, &derr) == 0);
	FUZZ_ASSERT(back.len == h.blob_size &&
		    !memcmp(back.buf, data, back.len));
	fuzz_sink_free(&back);
out:
	fuzz_guard_free(&g);
}

/*
 * At its recorded base a blob is verified without a single write: the
 * copy is read-only, so a write faults. Accepted input is first rebased to
 * the guarded address; other input has its base field set to it.
 */
static void verify_in_place(const uint8_t *data, size_t size)
{
	struct cm_error cerr, derr;
	struct fuzz_guard g;
	struct fuzz_sink s;
	struct cm_header h;
	const uint8_t *src = data;
	size_t len = size;
	void *root;
	int crc;

	s.buf = NULL;
	if (cm_header_read(data, size, &h, NULL) != 0)
		return;
	FUZZ_ASSERT(fuzz_guard_init(&g, data, size) == 0);
	if (cm_check(data, size, CM_CHECK_EXACT, NULL) == 0) {
		FUZZ_ASSERT(fuzz_sink_init(&s, size) == 0);
		FUZZ_ASSERT(cm_convert(data, size, 0, (uintptr_t)g.blob, 0,
				       fuzz_sink_write, &s, NULL) == 0);
		FUZZ_ASSERT(s.len == size);
		src = s.buf;
		memcpy(g.blob, src, len);
	} else {
		cm_store64(g.blob + CM_H_BASE, (uintptr_t)g.blob);
	}
	FUZZ_ASSERT(fuzz_guard_protect(&g, PROT_READ) == 0);
	crc = cm_check(g.blob, len, 0, &cerr);
	root = cm_deserialize_flags(g.blob, len, 0, &derr);
	FUZZ_ASSERT((crc == 0) == (root != NULL));
	if (root)
		FUZZ_ASSERT((uint8_t *)root == g.blob + h.root);
	else
		FUZZ_ASSERT(derr.code == cerr.code);
	if (src != data)
		FUZZ_ASSERT(root);
	fuzz_guard_free(&g);
	fuzz_sink_free(&s);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t *fixed;

	relocate_guarded(data, size);
	verify_in_place(data, size);
	fixed = fuzz_copy(data, size);
	FUZZ_ASSERT(fixed);
	if (fuzz_fix_checksum(fixed, size)) {
		relocate_guarded(fixed, size);
		verify_in_place(fixed, size);
	}
	free(fixed);
	return 0;
}
