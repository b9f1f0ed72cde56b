/* SPDX-License-Identifier: MIT */
/* The benchmark's list (cma-bench's list workload) as a blob file, built
 * with -g so the typed tools can read struct lnode from this program. */
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>

#include "cma.h"

/* The same node as cma-bench's list: each points to the one before. */
struct lnode {
	unsigned x;
	struct lnode *next;
};

int main(int argc, char **argv)
{
	size_t nodes = argc == 3 ? strtoull(argv[1], NULL, 10) : 0;
	struct cm_attr *mem;
	struct lnode *prev = NULL, *n;
	const void *blob;
	FILE *f;

	if (!nodes) {
		fprintf(stderr, "usage: typed-list NODES OUT.cm\n");
		return 2;
	}
	mem = cm_create(-1, nodes * 24 + (2u << 20), MAP_PRIVATE, 0);
	if (!mem)
		goto fail;
	for (size_t i = 0; i < nodes; i++) {
		if (cm_alloc(mem, &n, sizeof *n))
			goto fail;
		n->x = (unsigned)i;
		if (prev && cm_ptr_to(mem, &n->next, prev))
			goto fail;
		prev = n;
	}
	blob = cm_serialize(mem, prev, CM_RELATIVE_OFFSET, 0);
	f = blob ? fopen(argv[2], "wb") : NULL;
	if (!f || fwrite(blob, 1, cm_get_size(mem), f) != cm_get_size(mem)
	    || fclose(f))
		goto fail;
	cm_delete(mem, CM_ERASE);
	return 0;
fail:
	perror("typed-list");
	return 1;
}
