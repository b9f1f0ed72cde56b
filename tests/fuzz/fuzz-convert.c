/* SPDX-License-Identifier: MIT */
/* Fuzz target: cm_convert to both modes and bases, and back again. */
#include "fuzz-util.h"

/* An address no test machine maps: blobs rebased there always relocate. */
#define FAR_BASE 0x7e5a00000000ULL

/* Convert into a fresh sink; @return cm_convert's result. */
static int convert(const uint8_t *in, size_t len, int mode, uint64_t base,
		   int flags, struct fuzz_sink *s, struct cm_error *err)
{
	/* A relative table grows at most 8 times in absolute mode. */
	FUZZ_ASSERT(fuzz_sink_init(s, 8 * len + 4096) == 0);
	memset(err, 0, sizeof *err);
	return cm_convert(in, len, mode, base, flags, fuzz_sink_write, s, err);
}

/* in -> (mode, base) -> back to in's own mode and base: the same bytes. */
static void round_trip(const uint8_t *in, size_t len,
		       const struct cm_header *h, int mode, uint64_t base)
{
	struct fuzz_sink out, back;
	struct cm_header oh;
	struct cm_error err;

	FUZZ_ASSERT(convert(in, len, mode, base, 0, &out, &err) == 0);
	FUZZ_ASSERT(cm_check(out.buf, out.len, CM_CHECK_EXACT, &err) == 0);
	FUZZ_ASSERT(cm_header_read(out.buf, out.len, &oh, NULL) == 0);
	FUZZ_ASSERT(oh.mode == (uint32_t)(mode ? mode : (int)h->mode));
	FUZZ_ASSERT(oh.base == (base == UINT64_MAX ? h->base : base));
	FUZZ_ASSERT(oh.root == h->root && oh.data_end == h->data_end);
	FUZZ_ASSERT(oh.pointer_count == h->pointer_count);

	FUZZ_ASSERT(convert(out.buf, out.len, (int)h->mode, h->base, 0, &back,
			    &err) == 0);
	FUZZ_ASSERT(back.len == len && !memcmp(back.buf, in, len));
	fuzz_sink_free(&back);
	fuzz_sink_free(&out);
}

static void convert_one(const uint8_t *data, size_t size)
{
	static const int modes[] = {
		0, CM_RELATIVE_OFFSET, CM_ABSOLUTE_OFFSET,
	};
	struct cm_error err, cerr;
	struct fuzz_sink s;
	struct cm_header h;
	int crc;

	crc = cm_check(data, size, CM_CHECK_EXACT, &cerr);
	if (crc != 0) {
		/* One verdict: refused for the reason cm_check gives, and
		 * nothing written. */
		for (size_t i = 0; i < 3; i++) {
			FUZZ_ASSERT(convert(data, size, modes[i], UINT64_MAX,
					    0, &s, &err) == -1);
			FUZZ_ASSERT(errno == EBADMSG);
			FUZZ_ASSERT(err.code == cerr.code);
			FUZZ_ASSERT(s.len == 0);
			fuzz_sink_free(&s);
		}
		/* Trusted conversion must not crash on anything. */
		convert(data, size, CM_ABSOLUTE_OFFSET, 0,
			CM_CHECK_NO_CHECKSUM, &s, &err);
		fuzz_sink_free(&s);
		return;
	}
	FUZZ_ASSERT(cm_header_read(data, size, &h, NULL) == 0);
	for (size_t i = 0; i < 3; i++) {
		round_trip(data, size, &h, modes[i], UINT64_MAX);
		round_trip(data, size, &h, modes[i], 0);
		round_trip(data, size, &h, modes[i], FAR_BASE);
	}

	/* Impossible requests are refused before anything is written. */
	FUZZ_ASSERT(convert(data, size, 3, UINT64_MAX, 0, &s, &err) == -1);
	FUZZ_ASSERT(errno == EINVAL && s.len == 0);
	fuzz_sink_free(&s);
	FUZZ_ASSERT(convert(data, size, 0, 4, 0, &s, &err) == -1);
	FUZZ_ASSERT(errno == EINVAL && s.len == 0);
	fuzz_sink_free(&s);
	FUZZ_ASSERT(convert(data, size, 0, UINT64_MAX - 7, 0, &s, &err) == -1);
	FUZZ_ASSERT(errno == EINVAL && s.len == 0);
	fuzz_sink_free(&s);

	/* A failing sink stops the conversion with its errno. */
	s.buf = NULL;
	s.len = s.cap = s.calls = 0;
	FUZZ_ASSERT(cm_convert(data, size, 0, UINT64_MAX, 0, fuzz_sink_write,
			       &s, &err) == -1);
	FUZZ_ASSERT(errno == ENOSPC && s.calls >= 1);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t *fixed;

	convert_one(data, size);
	fixed = fuzz_copy(data, size);
	FUZZ_ASSERT(fixed);
	if (fuzz_fix_checksum(fixed, size))
		convert_one(fixed, size);
	free(fixed);
	return 0;
}
