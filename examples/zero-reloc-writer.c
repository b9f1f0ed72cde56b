/* SPDX-License-Identifier: MIT */
/*
 * Write a small dictionary into a blob file built at a CM_FIXED_BASE
 * address, so readers can usually map it in place (zero-reloc-reader.c).
 *
 * Usage: zero-reloc-writer FILE
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "cma.h"
#include "zero-reloc.h"

static const char *const words[] = {
	"relocation", "arena", "pointer", "blob", "mapping", "checksum",
	"table", "header", "slot", "offset", "base", "page", "kernel",
	"address", "private", "shared", "trusted", "writable",
};
#define WORDS (sizeof words / sizeof words[0])

static int by_text(const void *a, const void *b)
{
	const struct word *const *x = a, *const *y = b;

	return strcmp((*x)->text, (*y)->text);
}

static int build(struct cm_attr *mem, struct dictionary *d)
{
	struct word **tail = &d->first;

	/* Allocating into a slot inside the arena records that slot. */
	if (cm_alloc(mem, &d->sorted, WORDS * sizeof *d->sorted) < 0)
		return -1;
	for (size_t i = 0; i < WORDS; i++) {
		struct word *w;
		size_t len = strlen(words[i]);

		if (cm_alloc(mem, tail, sizeof **tail) < 0)
			return -1;
		w = *tail;
		if (cm_alloc(mem, &w->text, len + 1) < 0)
			return -1;
		memcpy(w->text, words[i], len + 1);
		w->length = len;
		if (cm_ptr_to(mem, &d->sorted[i], w) < 0)
			return -1;
		tail = &w->next;
		d->count++;
	}
	/* Recorded slots may then be stored to freely: qsort moves them. */
	qsort(d->sorted, d->count, sizeof *d->sorted, by_text);
	return 0;
}

int main(int argc, char **argv)
{
	struct cm_attr *mem = NULL;
	struct dictionary *d;
	int fd, status = EXIT_FAILURE;

	if (argc != 2) {
		fprintf(stderr, "usage: %s FILE\n", argv[0]);
		return 2;
	}
	fd = open(argv[1], O_RDWR | O_CREAT | O_TRUNC, 0644);
	if (fd < 0) {
		perror(argv[1]);
		return EXIT_FAILURE;
	}
	/* A rarely used address range: readers are likely to find it free. */
	mem = cm_create(fd, 1 << 20, MAP_SHARED, CM_FIXED_BASE);
	if (!mem) {
		perror("cm_create");
		goto out;
	}
	if (cm_alloc(mem, &d, sizeof *d) < 0 || build(mem, d) < 0) {
		perror("cm_alloc");
		goto out;
	}
	/* MS_SYNC: the file is complete on disk when we report success. */
	if (!cm_serialize(mem, d, CM_RELATIVE_OFFSET, MS_SYNC)) {
		perror("cm_serialize");
		goto out;
	}
	fprintf(stderr, "%s: %zd bytes, base %p\n", argv[1], cm_get_size(mem),
		cm_get_base(mem));
	status = EXIT_SUCCESS;
out:
	if (mem)
		cm_delete(mem, CM_ERASE);
	close(fd);
	return status;
}
