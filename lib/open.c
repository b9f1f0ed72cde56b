/* SPDX-License-Identifier: MIT */
/* Zero-relocation open: map a blob file at its recorded base, or relocate. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cma-private.h"
#include "mapping.h"

/* One read() call at most: large enough to amortise the syscall. */
#define CM_READ_CHUNK	(64UL << 20)

struct cm_blob {
	void *map;		/* the mapping or the private copy */
	size_t map_len;		/* bytes to munmap at map */
	void *root;
	size_t size;		/* the blob length (the file size) */
	int relocated;		/* 0: at the recorded base */
};

/*
 * Map the file at exactly `base`, without replacing anything.
 * @return the mapping; NULL when the address is unavailable here (taken,
 *	   unaligned, outside the address space) so the caller falls back.
 */
static void *map_at_base(int fd, uint64_t base, size_t size, int flags)
{
	int prot = PROT_READ;
	int share = MAP_SHARED;

	/* A writable open must not write through to the file: copy-on-write. */
	if (flags & CM_OPEN_WRITABLE) {
		prot |= PROT_WRITE;
		share = MAP_PRIVATE;
	}
	if (base == 0 || base % cm_page_size() != 0)
		return NULL;
	return cm_map_exact((void *)(uintptr_t)base, size, prot, share, fd);
}

/*
 * Anonymous memory for `size` bytes, 2 MiB aligned when large enough for
 * huge pages to matter, so the copy is faulted in 2 MiB steps, not 4 KiB.
 */
static void *map_anonymous(size_t size, size_t *map_len)
{
	size_t len = cm_round_up(size, cm_page_size());
	uint8_t *p;

	if (len < CM_HUGE_PAGE) {
		p = mmap(NULL, len, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (p == MAP_FAILED)
			return NULL;
		*map_len = len;
		return p;
	}
	len = cm_round_up(size, CM_HUGE_PAGE);
	p = cm_map_huge_aligned(len, PROT_READ | PROT_WRITE,
				MAP_PRIVATE | MAP_ANONYMOUS, -1);
	if (!p)
		return NULL;
	/* Only advice: a kernel without THP still gives ordinary pages. */
	madvise(p, len, MADV_HUGEPAGE);
	*map_len = len;
	return p;
}

/* Read the whole file into buf; a file that shrank meanwhile is EBADMSG. */
static int read_all(int fd, uint8_t *buf, size_t size)
{
	size_t done = 0;

	while (done < size) {
		size_t want = size - done;
		ssize_t n;

		if (want > CM_READ_CHUNK)
			want = CM_READ_CHUNK;
		n = pread(fd, buf + done, want, (off_t)done);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		if (n == 0) {
			errno = EBADMSG;
			return -1;
		}
		done += (size_t)n;
	}
	return 0;
}

/*
 * The fallback: a private copy, relocated to wherever it landed. On failure
 * b->map stays for the caller to unmap.
 */
static int open_copy(struct cm_blob *b, int fd, int flags)
{
	struct cm_error err;

	b->map = map_anonymous(b->size, &b->map_len);
	if (!b->map || read_all(fd, b->map, b->size) < 0)
		return -1;
	b->root = cm_deserialize_flags(b->map, b->size,
				       (flags & CM_OPEN_TRUSTED) ?
				       CM_TRUSTED : 0, &err);
	if (!b->root)
		return -1;
	if (!(flags & CM_OPEN_WRITABLE) &&
	    mprotect(b->map, b->map_len, PROT_READ) < 0)
		return -1;
	b->relocated = 1;
	return 0;
}

/*
 * What trusting costs: at the base, CM_OPEN_TRUSTED checks the header only,
 * so a damaged or hostile file hands the caller pointers nobody verified
 * (a read may fault or wander anywhere). In the fallback the structure is
 * still checked by the relocation, only the checksum is skipped. And at the
 * base the mapping is shared: it sees later changes to the file, and a
 * truncation raises SIGBUS on access. Validation speaks for the file as it
 * was at open time; the relocated copy alone is immune to later writers.
 */
CM_API struct cm_blob *cm_open(const char *path, int flags)
{
	uint8_t hdr[CM_HEADER_SIZE] = { 0 };
	struct cm_header h;
	struct cm_error err;
	struct cm_blob *b = NULL;
	struct stat st;
	ssize_t got;
	int fd = -1, saved;

	if (!path || (flags & ~(CM_OPEN_TRUSTED | CM_OPEN_WRITABLE))) {
		errno = EINVAL;
		return NULL;
	}
	/* Writable opens are private mappings: the file is never written. */
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return NULL;
	if (fstat(fd, &st) < 0)
		goto fail;
	if (!S_ISREG(st.st_mode)) {
		errno = S_ISDIR(st.st_mode) ? EISDIR : EINVAL;
		goto fail;
	}
	do
		got = pread(fd, hdr, sizeof hdr, 0);
	while (got < 0 && errno == EINTR);
	if (got < 0)
		goto fail;
	/* A short read leaves zeros; the file size is what the header meets. */
	if (cm_header_read(hdr, (size_t)st.st_size, &h, &err) < 0)
		goto fail;
	/* A blob file is exactly its blob: trailing bytes mean damage. */
	if (h.blob_size != (uint64_t)st.st_size) {
		cm_fail(&err, CM_E_LENGTH, CM_H_BLOB_SIZE, UINT64_MAX,
			"file holds %jd bytes, blob %ju", (intmax_t)st.st_size,
			(uintmax_t)h.blob_size);
		goto fail;
	}

	b = calloc(1, sizeof *b);
	if (!b)
		goto fail;
	b->size = (size_t)st.st_size;
	b->map = map_at_base(fd, h.base, b->size, flags);
	if (b->map) {
		b->map_len = cm_round_up(b->size, cm_page_size());
		/* The mapping may be read-only: the check never writes. */
		if (!(flags & CM_OPEN_TRUSTED) &&
		    cm_check(b->map, b->size, CM_CHECK_EXACT, &err) < 0)
			goto fail;
		b->root = (uint8_t *)b->map + h.root;
		b->relocated = 0;
	} else if (open_copy(b, fd, flags) < 0) {
		goto fail;
	}
	/* The mapping keeps its own reference to the file. */
	close(fd);
	return b;
fail:
	saved = errno;
	if (b && b->map)
		munmap(b->map, b->map_len);
	free(b);
	if (fd >= 0)
		close(fd);
	errno = saved;
	return NULL;
}

CM_API void *cm_blob_root(const struct cm_blob *b)
{
	if (!b) {
		errno = EINVAL;
		return NULL;
	}
	return b->root;
}

CM_API size_t cm_blob_size(const struct cm_blob *b)
{
	if (!b) {
		errno = EINVAL;
		return 0;
	}
	return b->size;
}

CM_API int cm_blob_relocated(const struct cm_blob *b)
{
	if (!b) {
		errno = EINVAL;
		return -1;
	}
	return b->relocated;
}

CM_API int cm_close(struct cm_blob *b)
{
	int rc;

	if (!b) {
		errno = EINVAL;
		return -1;
	}
	rc = munmap(b->map, b->map_len);
	/* Freed either way: munmap only fails on arguments we computed. */
	free(b);
	return rc;
}
