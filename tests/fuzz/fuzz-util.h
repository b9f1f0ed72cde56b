/* SPDX-License-Identifier: MIT */
/* Helpers shared by the fuzz targets: assertions, sinks, copies, fix-ups. */
#ifndef FUZZ_UTIL_H
#define FUZZ_UTIL_H

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "cma-private.h"

#ifdef __has_feature
#if __has_feature(address_sanitizer)
#define FUZZ_ASAN 1
#endif
#endif
#if defined(__SANITIZE_ADDRESS__) && !defined(FUZZ_ASAN)
#define FUZZ_ASAN 1
#endif
#ifdef FUZZ_ASAN
#include <sanitizer/asan_interface.h>
#define FUZZ_POISON(p, n) __asan_poison_memory_region((p), (n))
#define FUZZ_UNPOISON(p, n) __asan_unpoison_memory_region((p), (n))
#else
#define FUZZ_POISON(p, n) ((void)(p), (void)(n))
#define FUZZ_UNPOISON(p, n) ((void)(p), (void)(n))
#endif

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/*
 * A broken invariant is a finding: abort() so libFuzzer saves the input
 * and the replay test fails.
 */
#define FUZZ_ASSERT(cond)						\
	do {								\
		if (!(cond)) {						\
			fprintf(stderr, "%s:%d: invariant broken: %s\n",\
				__FILE__, __LINE__, #cond);		\
			abort();					\
		}							\
	} while (0)

/* A bounded output buffer fed by cm_write_fn. */
struct fuzz_sink {
	uint8_t *buf;
	size_t len, cap;
	size_t calls;
};

static inline int fuzz_sink_init(struct fuzz_sink *s, size_t cap)
{
	s->buf = malloc(cap ? cap : 1);
	s->len = 0;
	s->cap = cap;
	s->calls = 0;
	return s->buf ? 0 : -1;
}

static inline void fuzz_sink_free(struct fuzz_sink *s)
{
	free(s->buf);
	s->buf = NULL;
}

/* A producer that writes past the bound is refused with ENOSPC. */
static inline int fuzz_sink_write(void *ctx, const void *buf, size_t len)
{
	struct fuzz_sink *s = ctx;

	s->calls++;
	if (len > s->cap - s->len) {
		errno = ENOSPC;
		return -1;
	}
	memcpy(s->buf + s->len, buf, len);
	s->len += len;
	return 0;
}

/* An 8-byte aligned heap copy (ASan sees reads past n: no slack). */
static inline uint8_t *fuzz_copy(const uint8_t *data, size_t size)
{
	uint8_t *p = malloc(size ? size : 1);

	/* malloc already aligns to 16; ASan's malloc too. */
	if (p && size)
		memcpy(p, data, size);
	return p;
}

/*
 * When the header reads, store the checksum the bytes have now, so the
 * mutated table and data reach the deep checks instead of stopping at a
 * mismatch. @return 1 when the copy was changed.
 */
static inline int fuzz_fix_checksum(uint8_t *blob, size_t size)
{
	struct cm_header h;
	uint64_t sum;

	if (cm_header_read(blob, size, &h, NULL) != 0)
		return 0;
	sum = cm_checksum_compute(blob, &h);
	if (sum == cm_load64(blob + CM_H_CHECKSUM))
		return 0;
	cm_store64(blob + CM_H_CHECKSUM, sum);
	return 1;
}

/*
 * A buffer with PROT_NONE guard pages on both sides, the n bytes placed
 * against the end guard (8-aligned: up to 7 slack bytes, poisoned for ASan
 * and filled with a canary that must survive).
 */
struct fuzz_guard {
	uint8_t *map;
	size_t map_len;
	uint8_t *blob;
	size_t len;
	size_t slack;
};

#define FUZZ_CANARY 0xa5

static inline int fuzz_guard_init(struct fuzz_guard *g, const uint8_t *data,
				  size_t n)
{
	size_t page = (size_t)sysconf(_SC_PAGESIZE);
	size_t body = (n + 7 + page - 1) / page * page;
	uint8_t *end;

	if (body == 0)
		body = page;
	g->map_len = body + 2 * page;
	g->map = mmap(NULL, g->map_len, PROT_NONE,
		      MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (g->map == MAP_FAILED)
		return -1;
	if (mprotect(g->map + page, body, PROT_READ | PROT_WRITE) != 0) {
		munmap(g->map, g->map_len);
		return -1;
	}
	end = g->map + page + body;
	g->blob = (uint8_t *)((uintptr_t)(end - n) & ~(uintptr_t)7);
	g->len = n;
	g->slack = (size_t)(end - g->blob) - n;
	memset(g->map + page, FUZZ_CANARY, body);
	if (n)
		memcpy(g->blob, data, n);
	FUZZ_POISON(g->blob + n, g->slack);
	FUZZ_POISON(g->map + page, (size_t)(g->blob - (g->map + page)));
	return 0;
}

/* The canary bytes around the blob are intact. */
static inline int fuzz_guard_intact(const struct fuzz_guard *g)
{
	size_t page = (size_t)sysconf(_SC_PAGESIZE);
	const uint8_t *p, *end = g->map + g->map_len - page;
	int ok = 1;

	FUZZ_UNPOISON(g->map + page, (size_t)(end - (g->map + page)));
	for (p = g->map + page; p < g->blob; p++)
		ok &= *p == FUZZ_CANARY;
	for (p = g->blob + g->len; p < end; p++)
		ok &= *p == FUZZ_CANARY;
	FUZZ_POISON(g->blob + g->len, g->slack);
	FUZZ_POISON(g->map + page, (size_t)(g->blob - (g->map + page)));
	return ok;
}

static inline int fuzz_guard_protect(struct fuzz_guard *g, int prot)
{
	size_t page = (size_t)sysconf(_SC_PAGESIZE);

	return mprotect(g->map + page, g->map_len - 2 * page, prot);
}

static inline void fuzz_guard_free(struct fuzz_guard *g)
{
	size_t page = (size_t)sysconf(_SC_PAGESIZE);

	if (!g->map)
		return;
	FUZZ_UNPOISON(g->map + page, g->map_len - 2 * page);
	munmap(g->map, g->map_len);
	g->map = NULL;
}

#endif /* FUZZ_UTIL_H */
