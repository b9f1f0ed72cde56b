/* SPDX-License-Identifier: MIT */
/* The arena: its mapping, its backing file, its header and its accessors. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "arena.h"
#include "free-lists.h"
#include "mapping.h"

#define CM_CREATE_FLAGS	(CM_OBJECT_MAP | CM_FIXED_BASE | CM_NO_HUGEPAGES)
/* CM_FIXED_BASE gives up after this many busy candidates. */
#define CM_FIXED_TRIES	64
/* Highest user-space address on x86-64 with 4-level page tables. */
#define CM_USER_TOP	(1ULL << 47)

enum cm_place { CM_PLACE_ANY, CM_PLACE_RANGE, CM_PLACE_EXACT };

/* The arena's mmap flags: its mode, anonymous without a file, and never
 * reserved (capacity is address space until it is written). */
static int arena_map_flags(int fd, int mode)
{
	return mode | (fd < 0 ? MAP_ANONYMOUS : 0) | MAP_NORESERVE;
}

/*
 * The first candidate at or above `addr` (candidates are the range start
 * plus multiples of `step`) that no mapping of this process overlaps,
 * according to /proc/self/maps (sorted by address). Without that file,
 * `addr` itself: the caller then learns from mmap() and steps on.
 */
static uint64_t first_free_candidate(uint64_t addr, uint64_t len,
				     uint64_t step)
{
	FILE *f = fopen("/proc/self/maps", "re");
	unsigned long long lo, hi;
	char line[512];

	if (!f)
		return addr;
	while (fgets(line, sizeof line, f)) {
		if (sscanf(line, "%llx-%llx", &lo, &hi) != 2 || hi <= addr)
			continue;
		if (lo >= addr + len)
			break;
		addr = CM_FIXED_RANGE_START +
		       cm_round_up(hi - CM_FIXED_RANGE_START, step);
	}
	fclose(f);
	return addr;
}

/*
 * A free page-aligned range of the CM_FIXED_RANGE_* window, the lowest
 * candidate first, so producers that run alone all get the same address.
 * Busy ones are skipped, in a bounded number of tries (another thread may
 * map something between the look and the mmap).
 */
static void *map_in_range(size_t len, int fd, int mode)
{
	const uint64_t step = cm_round_up(len, CM_HUGE_PAGE);
	uint64_t addr = CM_FIXED_RANGE_START;

	for (int i = 0; i < CM_FIXED_TRIES; i++, addr += step) {
		addr = first_free_candidate(addr, len, step);
		if (addr > CM_FIXED_RANGE_END ||
		    CM_FIXED_RANGE_END - addr < len)
			break;
		if (cm_map_exact((void *)(uintptr_t)addr, len,
				 PROT_READ | PROT_WRITE,
				 arena_map_flags(fd, mode), fd))
			return (void *)(uintptr_t)addr;
		if (errno != EADDRINUSE)
			return NULL;
	}
	errno = EADDRINUSE;
	return NULL;
}

/* Bookkeeping maps: anonymous and never reserved, so untouched parts of
 * the bitmaps cost nothing. */
static void *map_bookkeeping(size_t len)
{
	void *p = mmap(NULL, len, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);

	return p == MAP_FAILED ? NULL : p;
}

/* Reserve `len` bytes of `fd` from `off`: blocks, not only a size. */
static int file_grow(int fd, size_t off, size_t len)
{
	if (fallocate(fd, 0, (off_t)off, (off_t)len) == 0)
		return 0;
	if (errno != EOPNOTSUPP)
		return -1;
	/* This filesystem cannot reserve: at least make the pages exist. */
	return ftruncate(fd, (off_t)(off + len));
}

int cm_arena_reserve(struct cm_attr *mem, size_t end)
{
	size_t want, target, limit = mem->map_len;
	int e, r;

	if (end <= mem->committed)
		return 0;
	if (end > limit) {
		errno = ENOMEM;
		return -1;
	}
	if (mem->fd < 0)
		return 0;	/* anonymous memory has no file to grow */
	want = cm_round_up(end, cm_page_size());
	/* Grow geometrically so a growing arena makes few system calls. */
	target = mem->committed * 2 > want ? mem->committed * 2 : want;
	target = cm_round_up(target, cm_page_size());
	if (target > limit)
		target = limit;
	if (file_grow(mem->fd, mem->committed, target - mem->committed) == 0)
		goto done;
	/* Near a full disk or a file size limit: ask only for what is due. */
	if ((errno == ENOSPC || errno == EFBIG) && target > want &&
	    file_grow(mem->fd, mem->committed, want - mem->committed) == 0) {
		target = want;
		goto done;
	}
	e = errno;
	/* A partly successful attempt may have grown the file. */
	r = ftruncate(mem->fd, (off_t)mem->committed);
	(void)r;
	errno = e;
	return -1;
done:
	mem->committed = target;
	return 0;
}

void cm_arena_write_live_header(struct cm_attr *mem)
{
	uint8_t *h = mem->base;

	memset(h, 0, CM_HEADER_SIZE);
	memcpy(h + CM_H_MAGIC, CM_MAGIC, CM_MAGIC_LEN);
	h[CM_H_VERSION_MAJOR] = CM_VERSION_MAJOR;
	h[CM_H_VERSION_MINOR] = CM_VERSION_MINOR;
	cm_store32(h + CM_H_HEADER_SIZE, CM_HEADER_SIZE);
	cm_store32(h + CM_H_REQUIRED, CM_REQ_LIVE);
	cm_store64(h + CM_H_BASE, (uint64_t)(uintptr_t)mem->base);
	cm_store64(h + CM_H_CAPACITY, mem->capacity);
}

void cm_arena_unseal(struct cm_attr *mem)
{
	if (!mem->sealed_size)
		return;
	mem->sealed_size = 0;
	/*
	 * The blob's header would describe data about to change: a live
	 * header again, so nobody takes the mapping for a sealed blob.
	 * cm_serialize() left mem->committed at the blob length, which
	 * the file still holds; cm_arena_reserve() grows it from there.
	 */
	cm_arena_write_live_header(mem);
}

static void arena_free(struct cm_attr *mem)
{
	if (mem->slots)
		munmap(mem->slots, 3 * mem->bitmap_bytes);
	cm_free_lists_destroy(mem->free_lists);
	free(mem);
}

static struct cm_attr *create(int fd, size_t length, int mode, int flags,
			      void *addr, enum cm_place place)
{
	struct cm_attr *mem = NULL;
	struct stat st;
	size_t map_len, bits;
	uint8_t *base = NULL;
	int e;

	/* The original cma passed mode to mmap(): MAP_ANONYMOUS asked for
	 * anonymous memory, which fd -1 gives here. */
	if (mode & MAP_ANONYMOUS) {
		if (fd >= 0) {
			errno = EINVAL;
			return NULL;
		}
		mode &= ~MAP_ANONYMOUS;
	}
	if ((mode != MAP_SHARED && mode != MAP_PRIVATE) ||
	    (flags & ~CM_CREATE_FLAGS) || length <= CM_HEADER_SIZE ||
	    length > CM_FIELD_LIMIT || length > CM_USER_TOP) {
		errno = EINVAL;
		return NULL;
	}
	if (place == CM_PLACE_EXACT &&
	    (!addr || (uintptr_t)addr % cm_page_size())) {
		errno = EINVAL;
		return NULL;
	}
	if (fd >= 0) {
		if (fstat(fd, &st) != 0)
			return NULL;
		if (!S_ISREG(st.st_mode)) {
			errno = EINVAL;
			return NULL;
		}
	}
	map_len = cm_round_up(length, cm_page_size());
	mem = calloc(1, sizeof *mem);
	if (!mem)
		return NULL;
	mem->fd = fd;
	mem->map_flags = mode;
	mem->flags = flags;
	mem->capacity = length;
	mem->map_len = map_len;
	mem->extent = CM_HEADER_SIZE;
	mem->owns_mapping = true;
	/* The arena first: the caller may have just freed `addr`. */
	if (place == CM_PLACE_EXACT)
		base = cm_map_exact(addr, map_len, PROT_READ | PROT_WRITE,
				    arena_map_flags(fd, mode), fd);
	else if (place == CM_PLACE_RANGE)
		base = map_in_range(map_len, fd, mode);
	else
		base = cm_map_huge_aligned(map_len, PROT_READ | PROT_WRITE,
					   arena_map_flags(fd, mode), fd);
	if (!base)
		goto fail;
	mem->base = base;

	/* One bit per 8-byte word of capacity, in whole 64-bit words. */
	bits = (length + 7) / 8;
	mem->bitmap_bytes = cm_round_up((bits + 63) / 64 * 8, cm_page_size());
	mem->slots = map_bookkeeping(3 * mem->bitmap_bytes);
	if (!mem->slots)
		goto fail;
	mem->starts = mem->slots + mem->bitmap_bytes / 8;
	mem->ends = mem->starts + mem->bitmap_bytes / 8;
	mem->free_lists = cm_free_lists_new();
	if (!mem->free_lists)
		goto fail;
	if (!(flags & CM_NO_HUGEPAGES)) {
		/* Advice only: an arena without huge pages still works. */
		(void)madvise(base, map_len, MADV_HUGEPAGE);
		if (mem->bitmap_bytes >= CM_HUGE_PAGE)
			(void)madvise(mem->slots, 3 * mem->bitmap_bytes,
				      MADV_HUGEPAGE);
	}

	if (fd >= 0) {
		/* A new arena starts empty, whatever the file held. */
		if (ftruncate(fd, 0) != 0)
			goto fail;
		mem->committed = 0;
		if (cm_arena_reserve(mem, CM_HEADER_SIZE) != 0)
			goto fail;
	} else {
		mem->committed = map_len;
	}
	cm_arena_write_live_header(mem);
	return mem;

fail:
	e = errno;
	if (base)
		munmap(base, map_len);
	arena_free(mem);
	errno = e;
	return NULL;
}

CM_API struct cm_attr *cm_create(int fd, size_t length, int mode, int flags)
{
	return create(fd, length, mode, flags, NULL,
		      flags & CM_FIXED_BASE ? CM_PLACE_RANGE : CM_PLACE_ANY);
}

CM_API struct cm_attr *cm_create_at(int fd, size_t length, int mode,
				    int flags, void *addr)
{
	return create(fd, length, mode, flags, addr, CM_PLACE_EXACT);
}

/* Whether a header read from an object describes an arena we can map. */
static bool header_attachable(const uint8_t *h)
{
	uint64_t base = cm_load64(h + CM_H_BASE);
	uint64_t capacity = cm_load64(h + CM_H_CAPACITY);

	/* A live arena, or one its creator has sealed in place. */
	return memcmp(h, CM_MAGIC, CM_MAGIC_LEN) == 0 &&
	       h[CM_H_VERSION_MAJOR] == CM_VERSION_MAJOR &&
	       h[CM_H_VERSION_MAJOR + 1] == 0 &&
	       cm_load32(h + CM_H_HEADER_SIZE) == CM_HEADER_SIZE &&
	       (cm_load32(h + CM_H_REQUIRED) & ~CM_REQ_KNOWN) == 0 &&
	       base && base % cm_page_size() == 0 && base < CM_USER_TOP &&
	       capacity > CM_HEADER_SIZE && capacity <= CM_USER_TOP - base;
}

CM_API struct cm_attr *cm_attach(int fd, int flags)
{
	uint8_t h[CM_HEADER_SIZE];
	struct cm_attr *mem = NULL;
	struct stat st;
	uint64_t base, capacity;
	ssize_t n;
	int e;

	if (flags != 0) {
		errno = EINVAL;
		return NULL;
	}
	if (fstat(fd, &st) != 0)
		return NULL;
	n = pread(fd, h, sizeof h, 0);
	if (n < 0)
		return NULL;
	if ((size_t)n < sizeof h || !header_attachable(h)) {
		errno = EBADMSG;
		return NULL;
	}
	base = cm_load64(h + CM_H_BASE);
	capacity = cm_load64(h + CM_H_CAPACITY);
	mem = calloc(1, sizeof *mem);
	if (!mem)
		return NULL;
	mem->map_len = cm_round_up(capacity, cm_page_size());
	if (!cm_map_exact((void *)(uintptr_t)base, mem->map_len,
			  PROT_READ | PROT_WRITE, arena_map_flags(fd, MAP_SHARED),
			  fd))
		goto fail;
	mem->base = (uint8_t *)(uintptr_t)base;
	mem->capacity = capacity;
	/* What the creator has written so far, as far as we can tell. */
	mem->extent = (uint64_t)st.st_size < capacity ? (size_t)st.st_size
						      : capacity;
	mem->committed = mem->extent;
	mem->fd = fd;
	mem->map_flags = MAP_SHARED;
	mem->attached = true;
	mem->owns_mapping = true;
	return mem;
fail:
	e = errno;
	free(mem);
	errno = e;
	return NULL;
}

CM_API int cm_delete(struct cm_attr *mem, int flag)
{
	if (!mem || (flag != CM_ERASE && flag != CM_PRESERVE)) {
		errno = EINVAL;
		return -1;
	}
	if (flag == CM_ERASE && mem->owns_mapping)
		munmap(mem->base, mem->map_len);
	arena_free(mem);
	return 0;
}

CM_API ssize_t cm_get_size(const struct cm_attr *mem)
{
	if (!mem) {
		errno = EINVAL;
		return -1;
	}
	return (ssize_t)(mem->sealed_size ? mem->sealed_size : mem->extent);
}

CM_API ssize_t cm_get_free_size(const struct cm_attr *mem)
{
	if (!mem) {
		errno = EINVAL;
		return -1;
	}
	return (ssize_t)(mem->capacity - mem->extent);
}

CM_API ssize_t cm_get_live_size(const struct cm_attr *mem)
{
	if (!mem) {
		errno = EINVAL;
		return -1;
	}
	return (ssize_t)mem->live;
}

CM_API void *cm_get_base(const struct cm_attr *mem)
{
	if (!mem) {
		errno = EINVAL;
		return NULL;
	}
	return mem->base;
}
