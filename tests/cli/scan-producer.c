/* SPDX-License-Identifier: MIT */
/*
 * Writes blobs for the pointer-scan tests: a list whose string pointers are
 * stored as the original cma (github.com/Aurel-R/cma) warns not to
 * (`n->s2 = n->s1`, no cm_ptr_to()), and a correct twin whose nodes also
 * carry counters, hashes and pointer-sized integers that are no address in
 * the data.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "cma.h"

struct node {
	int x;
	char *s1;		/* its string; cm_alloc() records the slot */
	char *s2;		/* the same string, a second pointer to it */
	struct node *next;
	uint64_t counter;
	uint64_t hash;
	uintptr_t cookie;	/* pointer-sized, no address in the data */
};

static int usage(void)
{
	fprintf(stderr,
		"usage: scan-producer wrong|twin relative|absolute NODES WRONG "
		"PATH\n"
		"  wrong: WRONG of the NODES nodes store s2 with '='; each\n"
		"  such word is printed as 'SLOT TARGET' (offsets, hex)\n");
	return 2;
}

static uint64_t mix(uint64_t x)	/* splitmix64's finaliser */
{
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
	return x ^ (x >> 31);
}

/* Integers a scan must not take for pointers: the header's own address,
 * one byte short of the data, far past the arena, an offset, all ones. */
static uintptr_t cookie(const struct cm_attr *mem, size_t i, uintptr_t stack)
{
	uintptr_t base = (uintptr_t)cm_get_base(mem);

	switch (i % 6) {
	case 0:
		return base;
	case 1:
		return base + 127;
	case 2:
		return base + ((uintptr_t)1 << 40);
	case 3:
		return i * sizeof(struct node);
	case 4:
		return stack;
	default:
		return UINTPTR_MAX;
	}
}

/* Is node i, of n, one of the `wrong` stored with '='? */
static int is_wrong(size_t i, size_t n, size_t wrong)
{
	for (size_t j = 0; j < wrong; j++)
		if (i == (2 * j + 1) * n / (2 * wrong))
			return 1;
	return 0;
}

int main(int argc, char **argv)
{
	struct node *head = NULL, *prev = NULL, *n;
	struct cm_attr *mem;
	size_t nodes, wrong;
	int fd, mode, bad, ret = 1;

	if (argc != 6)
		return usage();
	bad = strcmp(argv[1], "wrong") == 0;
	if (!bad && strcmp(argv[1], "twin"))
		return usage();
	if (strcmp(argv[2], "relative") == 0)
		mode = CM_RELATIVE_OFFSET;
	else if (strcmp(argv[2], "absolute") == 0)
		mode = CM_ABSOLUTE_OFFSET;
	else
		return usage();
	nodes = strtoul(argv[3], NULL, 0);
	wrong = bad ? strtoul(argv[4], NULL, 0) : 0;
	if (nodes == 0 || wrong > nodes)
		return usage();
	fd = open(argv[5], O_RDWR | O_CREAT | O_TRUNC, 0644);
	if (fd < 0) {
		perror(argv[5]);
		return 1;
	}
	mem = cm_create(fd, 64 << 20, MAP_SHARED, 0);
	if (!mem) {
		perror("cm_create");
		goto out;
	}
	for (size_t i = 0; i < nodes; i++) {
		if (cm_alloc(mem, prev ? &prev->next : &head, sizeof *n))
			goto fail;
		n = prev ? prev->next : head;
		n->x = (int)i;
		if (cm_alloc(mem, &n->s1, 16))
			goto fail;
		snprintf(n->s1, 16, "node %u", (unsigned)i);
		if (is_wrong(i, nodes, wrong)) {
			n->s2 = n->s1;	/* WRONG: the slot is not recorded */
			printf("0x%zx 0x%zx\n",
			       (size_t)((char *)&n->s2 -
					(char *)cm_get_base(mem)),
			       (size_t)(n->s1 - (char *)cm_get_base(mem)));
		} else if (cm_ptr_to(mem, &n->s2, n->s1)) {	/* GOOD */
			goto fail;
		}
		n->counter = i;
		n->hash = mix(i);
		n->cookie = cookie(mem, i, (uintptr_t)&n);
		prev = n;
	}
	if (!cm_serialize(mem, head, mode, MS_SYNC))
		goto fail;
	ret = 0;
fail:
	if (ret)
		perror("scan-producer");
	cm_delete(mem, CM_ERASE);
out:
	close(fd);
	return ret;
}
