/* SPDX-License-Identifier: MIT */
/* Fuzz target: cm_check, the header reader, the table iterator, the map. */
#include "fuzz-util.h"

static const int flag_sets[] = {
	0,
	CM_CHECK_EXACT,
	CM_CHECK_NO_CHECKSUM,
	CM_CHECK_STRICT,
	CM_CHECK_EXACT | CM_CHECK_NO_CHECKSUM | CM_CHECK_STRICT,
};
#define NSETS (sizeof flag_sets / sizeof flag_sets[0])

static void assert_error(const struct cm_error *err)
{
	FUZZ_ASSERT(err->code > CM_OK && err->code <= CM_E_UNRECORDED);
	FUZZ_ASSERT(strcmp(cm_error_name(err->code), "CM_E_UNKNOWN") != 0);
	FUZZ_ASSERT(memchr(err->message, '\0', sizeof err->message));
}

struct first_report {
	size_t calls;
	struct cm_error first;
};

static int report(void *ctx, const struct cm_error *err)
{
	struct first_report *r = ctx;

	if (r->calls++ == 0)
		r->first = *err;
	assert_error(err);
	return 0;
}

/*
 * The pointer scan: it refuses only what the rest accepts plus the words
 * its rule names (each checked here against the rule and the table), is
 * skipped exactly below 4 GiB, and cm_check_all finds what cm_check does.
 */
struct scan_reports {
	const uint8_t *data;
	size_t size, calls;
	struct cm_error first;
};

/* Is `off` a slot of the table, as far as it decodes? */
static bool listed_slot(const uint8_t *data, size_t size,
			const struct cm_header *h, uint64_t off)
{
	struct cm_reloc_iter it;
	struct cm_reloc r;

	FUZZ_ASSERT(cm_reloc_begin(&it, data, size, NULL) == 0);
	for (uint64_t i = 0; i < h->pointer_count; i++) {
		/* A bad value still gives its slot; a bad entry none. */
		if (cm_reloc_next(&it, &r, NULL) == 0 || r.slot == 0)
			break;
		if (r.slot >= off)
			return r.slot == off;
	}
	return false;
}

static int scan_report(void *ctx, const struct cm_error *err)
{
	struct scan_reports *r = ctx;
	struct cm_header h;
	uint64_t v;

	if (r->calls++ == 0)
		r->first = *err;
	assert_error(err);
	if (err->code != CM_E_UNRECORDED)
		return 0;
	FUZZ_ASSERT(cm_header_read(r->data, r->size, &h, NULL) == 0);
	FUZZ_ASSERT(h.base >= CM_SCAN_MIN_BASE && err->offset % 8 == 0);
	FUZZ_ASSERT(err->offset >= h.header_size
		    && err->offset + 8 <= h.data_end);
	FUZZ_ASSERT(err->index == UINT64_MAX);
	v = cm_load64(r->data + err->offset);
	FUZZ_ASSERT(v - (h.base + h.header_size) <= h.data_end - h.header_size);
	FUZZ_ASSERT(!listed_slot(r->data, r->size, &h, err->offset));
	return 0;
}

static void check_scan(const uint8_t *data, size_t size, int rc_plain)
{
	struct scan_reports rep = { .data = data, .size = size };
	struct cm_header h;
	struct cm_error err = { 0 };
	int rc = cm_check(data, size, CM_CHECK_POINTERS, &err);
	bool low = cm_header_read(data, size, &h, NULL) == 0
		   && h.base < CM_SCAN_MIN_BASE;

	if (rc_plain != 0) {
		FUZZ_ASSERT(rc == -1);
	} else if (low) {
		FUZZ_ASSERT(rc == CM_SCAN_SKIPPED);
	} else {
		FUZZ_ASSERT(rc == 0 || (rc == -1
					&& err.code == CM_E_UNRECORDED));
	}
	FUZZ_ASSERT(cm_check_all(data, size, CM_CHECK_POINTERS, 0,
				 scan_report, &rep) == rc);
	if (rc == -1)
		FUZZ_ASSERT(rep.calls >= 1 && rep.first.code == err.code
			    && rep.first.offset == err.offset);
	else
		FUZZ_ASSERT(rep.calls == 0);
}

/* Walk the table with the public iterator; @return 0 at a clean end. */
static int walk_table(const uint8_t *data, size_t size,
		      const struct cm_header *h)
{
	struct cm_reloc_iter it;
	struct cm_reloc r;
	struct cm_error err;
	uint64_t n = 0, prev = 0;
	int rc;

	if (cm_reloc_begin(&it, data, size, &err) != 0) {
		assert_error(&err);
		return -1;
	}
	/* Every entry takes at least one byte: the walk must end by then. */
	for (;;) {
		memset(&err, 0, sizeof err);
		rc = cm_reloc_next(&it, &r, &err);
		if (rc <= 0)
			break;
		FUZZ_ASSERT(rc == 1);
		FUZZ_ASSERT(n <= h->table_size);
		FUZZ_ASSERT(r.index == n);
		FUZZ_ASSERT(r.slot % 8 == 0);
		FUZZ_ASSERT(r.slot >= h->header_size);
		FUZZ_ASSERT(r.slot <= h->data_end - 8);
		FUZZ_ASSERT(n == 0 || r.slot > prev);
		FUZZ_ASSERT(r.delta == r.slot - prev);
		FUZZ_ASSERT(r.value == cm_load64(data + r.slot));
		FUZZ_ASSERT(r.encoded_len >= 1 &&
			    r.encoded_len <= sizeof r.encoded);
		FUZZ_ASSERT(r.encoded_at >= h->table_offset);
		FUZZ_ASSERT(r.encoded_at + r.encoded_len <=
			    h->table_offset + h->table_size);
		FUZZ_ASSERT(!memcmp(r.encoded, data + r.encoded_at,
				    r.encoded_len));
		if (h->mode == CM_RELATIVE_OFFSET)
			FUZZ_ASSERT(r.encoded_len <= CM_VLQ_REL_MAX_BYTES);
		else
			FUZZ_ASSERT(r.encoded_len == 8);
		prev = r.slot;
		n++;
	}
	if (rc == 0) {
		FUZZ_ASSERT(n == h->pointer_count);
		return 0;
	}
	FUZZ_ASSERT(rc == -1 && errno == EBADMSG);
	assert_error(&err);
	return -1;
}

static void check_map(const uint8_t *data, size_t size,
		      const struct cm_header *h, int valid)
{
	struct cm_object obj[16];
	struct cm_error err;
	ssize_t n;

	n = cm_object_map(data, size, obj, 16, &err);
	if (n < 0) {
		FUZZ_ASSERT(errno == EBADMSG);
		FUZZ_ASSERT(!valid);
		return;
	}
	FUZZ_ASSERT(cm_object_map(data, size, NULL, 0, NULL) == n);
	if (!valid)
		return;
	for (ssize_t i = 0; i < n && i < 16; i++) {
		FUZZ_ASSERT(obj[i].size > 0);
		FUZZ_ASSERT(obj[i].offset >= h->header_size);
		FUZZ_ASSERT(obj[i].offset + obj[i].size <= h->data_end);
		FUZZ_ASSERT(i == 0 ||
			    obj[i - 1].offset + obj[i - 1].size <=
			    obj[i].offset);
	}
}

static void check_one(const uint8_t *data, size_t size)
{
	struct cm_error err[NSETS], herr;
	struct first_report rep = { 0 };
	struct cm_header h;
	int rc[NSETS], hrc;
	uint8_t *shifted;

	for (size_t i = 0; i < NSETS; i++) {
		memset(&err[i], 0, sizeof err[i]);
		rc[i] = cm_check(data, size, flag_sets[i], &err[i]);
		FUZZ_ASSERT(rc[i] == 0 || rc[i] == -1);
		if (rc[i] == 0)
			continue;
		FUZZ_ASSERT(errno == EBADMSG);
		assert_error(&err[i]);
	}
	/* Fewer checks never refuse more. */
	if (rc[1] == 0)
		FUZZ_ASSERT(rc[0] == 0);
	if (rc[0] == 0)
		FUZZ_ASSERT(rc[2] == 0);
	if (rc[3] == 0)
		FUZZ_ASSERT(rc[0] == 0);
	if (rc[4] == 0)
		FUZZ_ASSERT(rc[2] == 0);
	FUZZ_ASSERT(cm_check(data, size, 0x4000, NULL) == -1 &&
		    errno == EINVAL);

	/* Any alignment: the same verdict one byte further on. */
	shifted = malloc(size + 1);
	FUZZ_ASSERT(shifted);
	memcpy(shifted + 1, data, size);
	FUZZ_ASSERT(cm_check(shifted + 1, size, 0, &herr) == rc[0]);
	if (rc[0])
		FUZZ_ASSERT(herr.code == err[0].code &&
			    herr.offset == err[0].offset);
	free(shifted);

	/* cm_check_all agrees on the verdict and on the first defect. */
	FUZZ_ASSERT(cm_check_all(data, size, 0, 0, report, &rep) == rc[0]);
	FUZZ_ASSERT(rc[0] == 0 ? rep.calls == 0 : rep.calls >= 1);
	if (rc[0])
		FUZZ_ASSERT(rep.first.code == err[0].code &&
			    rep.first.offset == err[0].offset);
	rep.calls = 0;
	cm_check_all(data, size, CM_CHECK_NO_CHECKSUM, 1, report, &rep);
	FUZZ_ASSERT(rep.calls <= 1);
	check_scan(data, size, rc[0]);

	memset(&herr, 0, sizeof herr);
	hrc = cm_header_read(data, size, &h, &herr);
	if (hrc != 0) {
		FUZZ_ASSERT(errno == EBADMSG);
		assert_error(&herr);
		/* The header is judged first, the same way. */
		FUZZ_ASSERT(rc[2] == -1 && err[2].code == herr.code);
		return;
	}
	FUZZ_ASSERT(h.blob_size <= size);
	FUZZ_ASSERT(h.header_size >= CM_HEADER_SIZE);
	FUZZ_ASSERT(h.data_end <= h.blob_size);
	FUZZ_ASSERT(h.table_offset == cm_align8(h.data_end));
	FUZZ_ASSERT(h.table_offset + h.table_size <= h.blob_size);

	if (walk_table(data, size, &h) != 0)
		FUZZ_ASSERT(rc[2] == -1);

	if (rc[2] == 0) {
		uint64_t sum = cm_checksum_compute(data, &h);

		FUZZ_ASSERT((sum == h.checksum) == (rc[0] == 0));
		if (rc[0])
			FUZZ_ASSERT(err[0].code == CM_E_CHECKSUM);
	} else {
		/* Must not crash on a defective table either. */
		(void)cm_checksum_compute(data, &h);
	}
	check_map(data, size, &h, rc[0] == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t *fixed;

	check_one(data, size);
	fixed = fuzz_copy(data, size);
	FUZZ_ASSERT(fixed);
	if (fuzz_fix_checksum(fixed, size))
		check_one(fixed, size);
	free(fixed);
	return 0;
}
