/* SPDX-License-Identifier: MIT */
/* The VLQ codec: group boundaries, limits, and the encodings it refuses. */
#include "test-util.h"
#include <stdlib.h>
#include "../lib/cma-private.h"

static const uint64_t boundaries[] = {
	0, 1, 127, 128, 16383, 16384, 2097151, 2097152, 268435455,
	268435456, (1ULL << 31) - 1, 1ULL << 31, (1ULL << 35) - 1,
	UINT64_MAX >> 1, UINT64_MAX,
};

/* 7 bits a byte: the length steps up exactly past each group. */
static unsigned expected_length(uint64_t v)
{
	unsigned n = 1;

	while (v >>= 7)
		n++;
	return n;
}

START_TEST(round_trip_at_group_boundaries)
{
	uint64_t v = boundaries[_i], back = 0;
	uint8_t buf[16];
	unsigned n = cm_vlq_encode(v, buf);
	int why = -1;

	ck_assert_uint_eq(n, expected_length(v));
	ck_assert_uint_eq(cm_vlq_decode(buf, buf + n, 10, &back, &why), n);
	ck_assert_uint_eq(back, v);
	for (unsigned i = 0; i + 1 < n; i++)
		ck_assert(buf[i] & 0x80);
	ck_assert(!(buf[n - 1] & 0x80));
}
END_TEST

START_TEST(truncated_sequence_refused)
{
	uint8_t buf[16];
	unsigned n = cm_vlq_encode(16384, buf);
	uint64_t v;
	int why = -1;

	ck_assert_uint_eq(n, 3);
	for (unsigned cut = 0; cut < n; cut++) {
		ck_assert_uint_eq(cm_vlq_decode(buf, buf + cut, 10, &v, &why),
				  0);
		ck_assert_int_eq(why, 0);
	}
}
END_TEST

START_TEST(overlong_sequence_refused)
{
	const uint8_t overlong[] = { 0x81, 0x00 };	/* 1 in two bytes */
	const uint8_t zero2[] = { 0x80, 0x00 };
	uint64_t v;
	int why = -1;

	ck_assert_uint_eq(cm_vlq_decode(overlong, overlong + 2, 10, &v, &why),
			  0);
	ck_assert_int_eq(why, 1);
	ck_assert_uint_eq(cm_vlq_decode(zero2, zero2 + 2, 10, &v, &why), 0);
	ck_assert_int_eq(why, 1);
}
END_TEST

START_TEST(oversized_sequence_refused)
{
	uint8_t buf[16];
	uint64_t v;
	int why = -1;
	/* 2^28 needs 5 bytes: over the relative table's 4. */
	unsigned n = cm_vlq_encode(1ULL << 28, buf);

	ck_assert_uint_eq(n, 5);
	ck_assert_uint_eq(cm_vlq_decode(buf, buf + n, CM_VLQ_REL_MAX_BYTES, &v,
					&why), 0);
	ck_assert_int_eq(why, 2);
	/* 2^28 - 1 fits exactly. */
	n = cm_vlq_encode((1ULL << 28) - 1, buf);
	ck_assert_uint_eq(cm_vlq_decode(buf, buf + n, CM_VLQ_REL_MAX_BYTES, &v,
					&why), 4);
	ck_assert_uint_eq(v, (1ULL << 28) - 1);
	/* Past 64 bits: ten bytes whose last carries more than one bit. */
	memset(buf, 0xff, 9);
	buf[9] = 0x02;
	ck_assert_uint_eq(cm_vlq_decode(buf, buf + 10, 10, &v, &why), 0);
	ck_assert_int_eq(why, 2);
}
END_TEST

START_TEST(million_continuation_bytes_stop_early)
{
	size_t len = 1000000;
	uint8_t *run = malloc(len);
	uint64_t v;
	int why = -1;

	ck_assert_ptr_nonnull(run);
	memset(run, 0x80, len);
	ck_assert_uint_eq(cm_vlq_decode(run, run + len, CM_VLQ_REL_MAX_BYTES,
					&v, &why), 0);
	ck_assert_int_eq(why, 2);
	free(run);
}
END_TEST

Suite *cm_test_suite(void)
{
	Suite *s = suite_create("vlq");
	TCase *tc = tcase_create("round trip");

	tcase_add_loop_test(tc, round_trip_at_group_boundaries, 0,
			    sizeof boundaries / sizeof *boundaries);
	suite_add_tcase(s, tc);
	tc = tcase_create("rejects bad input");
	tcase_add_test(tc, truncated_sequence_refused);
	tcase_add_test(tc, overlong_sequence_refused);
	tcase_add_test(tc, oversized_sequence_refused);
	tcase_add_test(tc, million_continuation_bytes_stop_early);
	suite_add_tcase(s, tc);
	return s;
}
