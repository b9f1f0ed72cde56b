/* SPDX-License-Identifier: MIT */
/*
 * Open the dictionary zero-reloc-writer wrote with cm_open(): mapped in
 * place at its recorded base when that address is free here (nothing is
 * relocated, the pages are shared with every other reader), or copied and
 * relocated when it is not.
 *
 * Usage: zero-reloc-reader [--trusted] [--occupy] FILE
 *   --trusted  skip the validation pass (only for files you produced)
 *   --occupy   take the recorded address first, to show the fallback
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cma.h"
#include "zero-reloc.h"

/* Map a page at the file's recorded base so cm_open() finds it taken. */
static int occupy_base(const char *path)
{
	unsigned char buf[128] = { 0 };
	struct cm_header h;
	struct cm_error err;
	struct stat st;
	void *want, *p;
	int fd = open(path, O_RDONLY);

	if (fd < 0 || fstat(fd, &st) < 0 || pread(fd, buf, sizeof buf, 0) < 0) {
		perror(path);
		if (fd >= 0)
			close(fd);
		return -1;
	}
	close(fd);
	if (cm_header_read(buf, (size_t)st.st_size, &h, &err) < 0) {
		fprintf(stderr, "%s: %s\n", path, err.message);
		return -1;
	}
	want = (void *)(uintptr_t)h.base;
	p = mmap(want, 4096, PROT_NONE,
		 MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
	if (p != want) {
		fprintf(stderr, "%s: cannot take %p\n", path, want);
		return -1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	const struct dictionary *d;
	struct cm_blob *b;
	const char *path = NULL;
	int flags = 0, occupy = 0, usage = 0;

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--trusted"))
			flags |= CM_OPEN_TRUSTED;
		else if (!strcmp(argv[i], "--occupy"))
			occupy = 1;
		else if (!path && argv[i][0] != '-')
			path = argv[i];
		else
			usage = 1;
	}
	if (!path || usage) {
		fprintf(stderr, "usage: %s [--trusted] [--occupy] FILE\n",
			argv[0]);
		return 2;
	}
	if (occupy && occupy_base(path) < 0)
		return EXIT_FAILURE;

	b = cm_open(path, flags);
	if (!b) {
		perror(path);
		return EXIT_FAILURE;
	}
	d = cm_blob_root(b);
	printf("relocated: %d\n", cm_blob_relocated(b));
	printf("words: %llu\n", (unsigned long long)d->count);
	for (const struct word *w = d->first; w; w = w->next)
		printf("in order: %s (%llu)\n", w->text,
		       (unsigned long long)w->length);
	for (uint64_t i = 0; i < d->count; i++)
		printf("sorted: %s\n", d->sorted[i]->text);
	/* Read-only: any store into the blob would fault. */
	cm_close(b);
	return EXIT_SUCCESS;
}
