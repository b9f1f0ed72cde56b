/* SPDX-License-Identifier: MIT */
/* The allocator: alignment, zeroing, refusals, slot recording, free, reuse. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "test-util.h"
#include "../lib/cma-private.h"	/* white box: the slot bitmap */

struct node {
	uint64_t x;
	struct node *next;
};

static struct cm_attr *mem;

static void setup(void)
{
	mem = cm_create(-1, 4 << 20, MAP_PRIVATE, CM_OBJECT_MAP);
	ck_assert_ptr_nonnull(mem);
}

static void teardown(void)
{
	cm_delete(mem, CM_ERASE);
}

/* `size` bytes for each of the n slots, in this order. */
static void alloc_each(size_t size, void *const *slots, size_t n)
{
	for (size_t i = 0; i < n; i++)
		require_eq(cm_do_alloc(mem, slots[i], size,
				       CM_GROW | CM_ALIGNED), 0);
}

static bool slot_recorded(const void *slot)
{
	uint64_t w = (uint64_t)((const uint8_t *)slot - mem->base) / 8;

	return mem->slots[w / 64] >> (w % 64) & 1;
}

/* Pointer count of a blob sealed from the arena right now. */
static uint64_t sealed_pointer_count(void *root)
{
	struct cm_header h;
	void *blob = cm_serialize(mem, root, CM_ABSOLUTE_OFFSET, 0);

	ck_assert_ptr_nonnull(blob);
	ck_assert_int_eq(cm_header_read(blob, (size_t)cm_get_size(mem), &h,
					NULL), 0);
	ck_assert_int_eq(cm_check(blob, (size_t)cm_get_size(mem), 0, NULL),
			 0);
	return h.pointer_count;
}

static bool all_zero(const void *p, size_t n)
{
	const uint8_t *b = p;

	for (size_t i = 0; i < n; i++)
		if (b[i])
			return false;
	return true;
}

START_TEST(alignment_and_zero)
{
	uint8_t *p, *prev = NULL;

	for (size_t n = 1; n < 100; n++) {
		ck_assert_int_eq(cm_alloc(mem, &p, n), 0);
		ck_assert_uint_eq((uintptr_t)p % 8, 0);
		ck_assert(all_zero(p, n));
		if (prev)
			ck_assert_ptr_eq(p, prev + ((n - 1 + 7) & ~7UL));
		memset(p, 0xff, n);
		prev = p;
	}
}
END_TEST

START_TEST(alloc_refusals)
{
	void *p;
	ssize_t size = cm_get_size(mem);

	errno = 0;
	ck_assert_int_eq(cm_alloc(NULL, &p, 8), -1);
	ck_assert_int_eq(errno, EINVAL);
	errno = 0;
	ck_assert_int_eq(cm_do_alloc(mem, NULL, 8, 0), -1);
	ck_assert_int_eq(errno, EINVAL);
	errno = 0;
	ck_assert_int_eq(cm_alloc(mem, &p, 0), -1);
	ck_assert_int_eq(errno, EINVAL);
	errno = 0;
	ck_assert_int_eq(cm_alloc(mem, &p, SIZE_MAX), -1);
	ck_assert_int_eq(errno, EINVAL);
	ck_assert_int_eq(cm_get_size(mem), size);
	ck_assert_int_eq(cm_get_live_size(mem), 0);
}
END_TEST

/* Full: ENOMEM, nothing changed, smaller requests and reuse still work. */
START_TEST(enomem)
{
	struct cm_attr *small = cm_create(-1, 4096, MAP_PRIVATE, 0);
	void *p, *last = NULL;
	ssize_t size;

	ck_assert_ptr_nonnull(small);
	while (cm_alloc(small, &p, 1000) == 0)
		last = p;
	ck_assert_int_eq(errno, ENOMEM);
	ck_assert_ptr_nonnull(last);
	size = cm_get_size(small);
	ck_assert_int_eq(cm_get_free_size(small), 4096 - size);
	ck_assert_int_eq(cm_alloc(small, &p, 1 << 20), -1);
	ck_assert_int_eq(errno, ENOMEM);
	ck_assert_int_eq(cm_get_size(small), size);
	ck_assert_int_eq(cm_alloc(small, &p, 8), 0);
	ck_assert_int_eq(cm_get_size(small), size + 8);
	ck_assert_int_eq(cm_free(small, last), 0);
	ck_assert_int_eq(cm_alloc(small, &p, 1000), 0);
	ck_assert_ptr_eq(p, last);
	cm_delete(small, CM_ERASE);
}
END_TEST

START_TEST(slot_recording)
{
	struct node *a, *b, *outside;
	void **unaligned;
	ssize_t size;

	ck_assert_int_eq(cm_alloc(mem, &a, sizeof *a), 0);
	/* A slot outside the arena is written, not recorded. */
	ck_assert_int_eq(cm_alloc(mem, &outside, sizeof *outside), 0);
	/* A slot inside is both. */
	ck_assert_int_eq(cm_alloc(mem, &a->next, sizeof *b), 0);
	ck_assert(slot_recorded(&a->next));
	ck_assert(!slot_recorded(&a->x));
	b = a->next;
	ck_assert_ptr_eq(b, outside + 1);

	/* Inside the arena but unaligned, or in the header: nothing done. */
	size = cm_get_size(mem);
	unaligned = (void **)((uint8_t *)&a->next + 4);
	errno = 0;
	ck_assert_int_eq(cm_alloc(mem, unaligned, 8), -1);
	ck_assert_int_eq(errno, EINVAL);
	errno = 0;
	ck_assert_int_eq(cm_alloc(mem, (void **)mem->base + 4, 8), -1);
	ck_assert_int_eq(errno, EINVAL);
	errno = 0;
	ck_assert_int_eq(cm_alloc(mem, (void **)(mem->base + size), 8), -1);
	ck_assert_int_eq(errno, EINVAL);
	ck_assert_int_eq(cm_get_size(mem), size);
	ck_assert_ptr_eq(a->next, b);
	ck_assert_uint_eq(sealed_pointer_count(a), 1);
}
END_TEST

START_TEST(ptr_to_refusals)
{
	struct node *a, *b, stack;
	uint8_t *end;

	ck_assert_int_eq(cm_alloc(mem, &a, sizeof *a), 0);
	ck_assert_int_eq(cm_alloc(mem, &b, sizeof *b), 0);
	end = mem->base + cm_get_size(mem);

	ck_assert_int_eq(cm_ptr_to(mem, &a->next, b), 0);
	ck_assert_ptr_eq(a->next, b);
	ck_assert(slot_recorded(&a->next));
	ck_assert_int_eq(cm_ptr_to(mem, &a->next, b), 0);	/* twice */
	ck_assert_int_eq(cm_ptr_to(mem, &b->next, NULL), 0);
	ck_assert(slot_recorded(&b->next));
	/* One past the end of the data is a valid target. */
	ck_assert_int_eq(cm_ptr_to(mem, &b->next, (struct node *)end), 0);
	ck_assert_ptr_eq(b->next, end);

	/* Targets outside the data. */
	errno = 0;
	ck_assert_int_eq(cm_ptr_to(mem, &a->next, &stack), -1);
	ck_assert_int_eq(errno, EINVAL);
	ck_assert_int_eq(cm_do_ptr_to(mem, (void **)&a->next, mem->base), -1);
	ck_assert_int_eq(cm_do_ptr_to(mem, (void **)&a->next, end + 8), -1);
	ck_assert_ptr_eq(a->next, b);
	/* Slots unaligned, outside the data, in the header, past the end:
	 * addresses no typed slot has, so the function, not the macro. */
	errno = 0;
	ck_assert_int_eq(cm_do_ptr_to(mem, (void **)((uint8_t *)&a->next + 1), b),
			 -1);
	ck_assert_int_eq(errno, EINVAL);
	ck_assert_int_eq(cm_ptr_to(mem, &stack.next, b), -1);
	ck_assert_int_eq(cm_do_ptr_to(mem, (void **)(mem->base + 16), b), -1);
	ck_assert_int_eq(cm_do_ptr_to(mem, (void **)end, b), -1);
	ck_assert_int_eq(cm_do_ptr_to(mem, (void **)(end - 4), b), -1);
	ck_assert_int_eq(cm_ptr_to(NULL, &a->next, b), -1);
	/* b->next is one past the end: counted, NULL slots are not. */
	ck_assert_int_eq(cm_ptr_to(mem, &b->next, NULL), 0);
	ck_assert_uint_eq(sealed_pointer_count(a), 1);
}
END_TEST

START_TEST(free_misuse)
{
	uint64_t *a, *b, *c, stack = 0;
	ssize_t size, live;

	ck_assert_int_eq(cm_free(mem, NULL), 0);
	alloc_each(32, (void *[]){ &a, &b, &c }, 3);
	b[1] = 5;
	size = cm_get_size(mem);
	live = cm_get_live_size(mem);

	uint64_t *bad[] = {
		b + 1, (uint64_t *)((uint8_t *)b + 3), &stack,
		(uint64_t *)mem->base, (uint64_t *)(mem->base + size),
		(uint64_t *)(mem->base + (1 << 20)),
	};
	for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
		errno = 0;
		ck_assert_int_eq(cm_free(mem, bad[i]), -1);
		ck_assert_int_eq(errno, EINVAL);
	}
	errno = 0;
	ck_assert_int_eq(cm_free(NULL, b), -1);
	ck_assert_int_eq(errno, EINVAL);
	ck_assert_int_eq(cm_get_size(mem), size);
	ck_assert_int_eq(cm_get_live_size(mem), live);
	ck_assert_uint_eq(b[1], 5);

	ck_assert_int_eq(cm_free(mem, b), 0);
	ck_assert_int_eq(cm_get_live_size(mem), live - 32);
	errno = 0;
	ck_assert_int_eq(cm_free(mem, b), -1);	/* twice */
	ck_assert_int_eq(errno, EINVAL);
	ck_assert_int_eq(cm_get_live_size(mem), live - 32);
	ck_assert_int_eq(cm_get_size(mem), size);
}
END_TEST

START_TEST(free_zeroes_and_reuses)
{
	uint8_t *a, *b, *c, *d;

	alloc_each(40, (void *[]){ &a, &b, &c }, 3);
	memset(b, 0xee, 40);
	ck_assert_int_eq(cm_free(mem, b), 0);
	ck_assert(all_zero(b, 40));
	ck_assert_int_eq(cm_alloc(mem, &d, 40), 0);
	ck_assert_ptr_eq(d, b);
	/* A smaller request is carved from a larger hole. */
	memset(d, 0x11, 40);
	ck_assert_int_eq(cm_free(mem, d), 0);
	ck_assert_int_eq(cm_alloc(mem, &d, 16), 0);
	ck_assert_ptr_eq(d, b);
	ck_assert(all_zero(d, 16));
	ck_assert_int_eq(cm_alloc(mem, &d, 24), 0);
	ck_assert_ptr_eq(d, b + 16);
	ck_assert(all_zero(d, 24));
	ck_assert_int_eq(cm_get_size(mem), 128 + 3 * 40);
}
END_TEST

/* Freeing at the top gives the space back, swallowing holes below it. */
START_TEST(free_gives_back_top)
{
	uint8_t *a, *b, *c, *d;

	alloc_each(64, (void *[]){ &a, &b, &c, &d }, 4);
	ck_assert_int_eq(cm_get_size(mem), 128 + 4 * 64);
	ck_assert_int_eq(cm_free(mem, d), 0);
	ck_assert_int_eq(cm_get_size(mem), 128 + 3 * 64);
	ck_assert_int_eq(cm_free(mem, b), 0);
	ck_assert_int_eq(cm_get_size(mem), 128 + 3 * 64);
	ck_assert_int_eq(cm_free(mem, c), 0);
	ck_assert_int_eq(cm_get_size(mem), 128 + 64);
	ck_assert_int_eq(cm_get_free_size(mem), (4 << 20) - 128 - 64);
	ck_assert_int_eq(cm_free(mem, a), 0);
	ck_assert_int_eq(cm_get_size(mem), 128);
	ck_assert_int_eq(cm_get_live_size(mem), 0);
	/* And the next allocation starts at the bottom again. */
	ck_assert_int_eq(cm_alloc(mem, &b, 8), 0);
	ck_assert_ptr_eq(b, a);
}
END_TEST

/* Holes merge with both neighbours, so one large request fits. */
START_TEST(free_coalesces)
{
	uint8_t *p[8], *q;

	for (int i = 0; i < 8; i++)
		ck_assert_int_eq(cm_alloc(mem, &p[i], 48), 0);
	ck_assert_int_eq(cm_free(mem, p[2]), 0);
	ck_assert_int_eq(cm_free(mem, p[4]), 0);
	ck_assert_int_eq(cm_free(mem, p[3]), 0);
	ck_assert_int_eq(cm_alloc(mem, &q, 3 * 48), 0);
	ck_assert_ptr_eq(q, p[2]);
	ck_assert_int_eq(cm_get_size(mem), 128 + 8 * 48);
}
END_TEST

/* The same sizes freed and allocated in a loop never grow the extent. */
START_TEST(free_loop_stable)
{
	static const size_t sizes[] = { 8, 24, 16, 200, 72, 1000, 8, 4096 };
	enum { N = sizeof sizes / sizeof *sizes };
	void *p[N];
	ssize_t size = 0;

	for (int round = 0; round < 200; round++) {
		for (int i = 0; i < N; i++)
			ck_assert_int_eq(cm_alloc(mem, &p[i], sizes[i]), 0);
		if (round == 0)
			size = cm_get_size(mem);
		ck_assert_int_eq(cm_get_size(mem), size);
		/* Free in an order that leaves holes between live blocks. */
		for (int i = 0; i < N; i += 2)
			ck_assert_int_eq(cm_free(mem, p[i]), 0);
		for (int i = 1; i < N; i += 2)
			ck_assert_int_eq(cm_free(mem, p[i]), 0);
	}
	ck_assert_int_eq(cm_get_live_size(mem), 0);
}
END_TEST

/*
 * A random workload at a steady live size: the extent stays within a bound
 * of the live bytes. The figure measured is documented with the allocator.
 */
START_TEST(steady_state_bound)
{
	enum { SLOTS = 2000, OPS = 100000 };
	struct cm_attr *big = cm_create(-1, 64 << 20, MAP_PRIVATE, 0);
	void **held = calloc(SLOTS, sizeof *held);
	double worst = 0;
	uint64_t seed = 12345;

	ck_assert_ptr_nonnull(big);
	ck_assert_ptr_nonnull(held);
	for (int i = 0; i < OPS; i++) {
		size_t k, n;

		seed = seed * 6364136223846793005ULL + 1442695040888963407ULL;
		k = (size_t)(seed >> 33) % SLOTS;
		n = 8 + (size_t)(seed >> 17) % 505;
		if (held[k])
			ck_assert_int_eq(cm_free(big, held[k]), 0);
		ck_assert_int_eq(cm_alloc(big, &held[k], n), 0);
		if (i >= 2 * SLOTS) {
			double r = (double)(cm_get_size(big) - 128) /
				   (double)cm_get_live_size(big);

			if (r > worst)
				worst = r;
		}
	}
	fprintf(stderr, "steady state: extent <= %.3f x live\n", worst);
	ck_assert(worst <= 1.5);
	free(held);
	cm_delete(big, CM_ERASE);
}
END_TEST

/* Slots recorded inside a freed block are forgotten. */
START_TEST(free_forgets_slots)
{
	struct node *a, *b, *c;

	ck_assert_int_eq(cm_alloc(mem, &a, sizeof *a), 0);
	ck_assert_int_eq(cm_alloc(mem, &a->next, sizeof *b), 0);
	b = a->next;
	ck_assert_int_eq(cm_alloc(mem, &b->next, sizeof *c), 0);
	c = b->next;
	ck_assert_int_eq(cm_ptr_to(mem, &c->next, a), 0);
	ck_assert_uint_eq(sealed_pointer_count(a), 3);
	ck_assert_int_eq(cm_free(mem, b), 0);
	ck_assert(!slot_recorded(&b->next));
	ck_assert_ptr_null(b->next);
	/* a->next now dangles into a hole: unlink it as a user would. */
	ck_assert_int_eq(cm_ptr_to(mem, &a->next, c), 0);
	ck_assert_uint_eq(sealed_pointer_count(a), 2);
	/* The reused block starts with no slots recorded. */
	ck_assert_int_eq(cm_alloc(mem, &b, sizeof *b), 0);
	ck_assert_ptr_eq(b, (struct node *)a + 1);
	b->next = c;	/* a store, not recorded */
	ck_assert(!slot_recorded(&b->next));
}
END_TEST

/* The object iterator sees exactly the live allocations, in order. */
START_TEST(object_iteration)
{
	uint8_t *p[64];
	uint64_t pos = 0, off, size, prev_end = 0;
	size_t seen = 0, live = 0;

	for (int i = 0; i < 64; i++)
		ck_assert_int_eq(cm_alloc(mem, &p[i], 8 * (i % 9 + 1)), 0);
	for (int i = 0; i < 64; i += 3)
		ck_assert_int_eq(cm_free(mem, p[i]), 0);
	while (cm_arena_next_object(mem, &pos, &off, &size)) {
		uint8_t *q = mem->base + off;
		int i = 0;

		while (i < 64 && p[i] != q)
			i++;
		ck_assert_int_lt(i, 64);
		ck_assert_int_ne(i % 3, 0);
		ck_assert_uint_eq(size, 8 * (uint64_t)(i % 9 + 1));
		ck_assert_uint_ge(off, prev_end);
		prev_end = off + size;
		seen++;
		live += size;
	}
	ck_assert_uint_eq(seen, 64 - 22);
	ck_assert_uint_eq(live, (size_t)cm_get_live_size(mem));
}
END_TEST

/* After cm_serialize the arena grows on, over the table it wrote. */
START_TEST(alloc_after_serialize)
{
	struct node *a, *b;
	void *blob;
	uint32_t req;

	ck_assert_int_eq(cm_alloc(mem, &a, sizeof *a), 0);
	ck_assert_int_eq(cm_alloc(mem, &a->next, sizeof *b), 0);
	blob = cm_serialize(mem, a, CM_ABSOLUTE_OFFSET, 0);
	ck_assert_ptr_eq(blob, mem->base);
	ck_assert_int_gt(cm_get_size(mem), 128 + 32);
	memcpy(&req, mem->base + 20, 4);
	ck_assert_uint_eq(req & 1, 0);
	/* The new block lies over the old table: it must read as zero. */
	ck_assert_int_eq(cm_alloc(mem, &b, 64), 0);
	ck_assert(all_zero(b, 64));
	memcpy(&req, mem->base + 20, 4);
	ck_assert_uint_eq(req & 1, 1);
	ck_assert_int_eq(cm_get_size(mem), 128 + 32 + 64);
	ck_assert_uint_eq(sealed_pointer_count(a), 1);
}
END_TEST

Suite *cm_test_suite(void)
{
	Suite *s = suite_create("alloc");
	TCase *tc;

	tc = tcase_create("alloc");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, alignment_and_zero);
	tcase_add_test(tc, alloc_refusals);
	tcase_add_test(tc, enomem);
	tcase_add_test(tc, alloc_after_serialize);
	suite_add_tcase(s, tc);

	tc = tcase_create("slots");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, slot_recording);
	tcase_add_test(tc, ptr_to_refusals);
	suite_add_tcase(s, tc);

	tc = tcase_create("free");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, free_misuse);
	tcase_add_test(tc, free_zeroes_and_reuses);
	tcase_add_test(tc, free_gives_back_top);
	tcase_add_test(tc, free_coalesces);
	tcase_add_test(tc, free_loop_stable);
	tcase_add_test(tc, steady_state_bound);
	tcase_add_test(tc, free_forgets_slots);
	tcase_add_test(tc, object_iteration);
	suite_add_tcase(s, tc);
	return s;
}
