/* SPDX-License-Identifier: MIT */
/* Writes sample blobs (list, tree, graph...) for the command-line tests. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cma.h"

struct list_node {
	uint64_t value;
	struct list_node *next;
};

struct tree_node {
	uint64_t key;
	struct tree_node *left, *right;
};

struct graph_node {
	uint64_t id;
	struct graph_node *next, *other, *self;
	void *end;
};

static int usage(void)
{
	fprintf(stderr,
		"usage: make-blob SHAPE N relative|absolute PATH [map]\n"
		"       SHAPE: list, tree, graph, flat, dangling\n"
		"       make-blob rechecksum PATH\n");
	return 2;
}

#define TRY(x) do { if ((x) != 0) { perror(#x); goto out; } } while (0)

/* A list of n nodes, built back to front: the root is the last one. */
static void *list(struct cm_attr *mem, size_t n)
{
	struct list_node *head = NULL, *node;

	for (size_t i = 0; i < n; i++) {
		if (cm_alloc(mem, &node, sizeof *node))
			return NULL;
		node->value = n - i;
		if (cm_ptr_to(mem, &node->next, head))
			return NULL;
		head = node;
	}
	return head;
}

/* A complete binary tree of n nodes; leaves record NULL slots. */
static void *tree(struct cm_attr *mem, size_t n)
{
	struct tree_node **all = calloc(n, sizeof *all);
	void *root = NULL;

	if (!all)
		return NULL;
	for (size_t i = 0; i < n; i++) {
		if (i == 0) {
			if (cm_alloc(mem, &all[0], sizeof *all[0]))
				goto out;
		} else {
			struct tree_node *p = all[(i - 1) / 2];
			struct tree_node **slot = i % 2 ? &p->left : &p->right;

			if (cm_alloc(mem, slot, sizeof **slot))
				goto out;
			all[i] = *slot;
		}
		all[i]->key = i;
	}
	for (size_t i = n / 2; i < n; i++)
		if (cm_ptr_to(mem, &all[i]->left, NULL) ||
		    cm_ptr_to(mem, &all[i]->right, NULL))
			goto out;
	root = all[0];
out:
	free(all);
	return root;
}

/* Nodes pointing forward, somewhere else, at themselves, past the end. */
static void *graph(struct cm_attr *mem, size_t n)
{
	struct graph_node **all = calloc(n, sizeof *all);
	void *root = NULL;
	uint64_t x = 12345;

	if (!all || n == 0)
		goto out;
	for (size_t i = 0; i < n; i++) {
		if (cm_alloc(mem, &all[i], sizeof *all[i]))
			goto out;
		all[i]->id = i;
	}
	for (size_t i = 0; i < n; i++) {
		x = x * 6364136223846793005ULL + 1442695040888963407ULL;
		if (cm_ptr_to(mem, &all[i]->next, all[(i + 1) % n]) ||
		    cm_ptr_to(mem, &all[i]->other, all[(x >> 33) % n]) ||
		    cm_ptr_to(mem, &all[i]->self, all[i]))
			goto out;
	}
	/* One-past-the-end of the data, as C allows. */
	if (cm_ptr_to(mem, &all[n - 1]->end,
		      (char *)cm_get_base(mem) + cm_get_size(mem)))
		goto out;
	root = all[0];
out:
	free(all);
	return root;
}

/* Data without a single pointer. */
static void *flat(struct cm_attr *mem, size_t n)
{
	uint64_t *p;

	if (cm_alloc(mem, &p, 8 * (n ? n : 1)))
		return NULL;
	for (size_t i = 0; i < n; i++)
		p[i] = i * 0x0101010101010101ULL;
	return p;
}

/* A list whose second node was freed: the first points into nothing. */
static void *dangling(struct cm_attr *mem, size_t n)
{
	struct list_node *head = list(mem, n < 3 ? 3 : n);
	struct list_node *victim;

	if (!head)
		return NULL;
	victim = head->next;
	head->next = victim->next;
	if (cm_free(mem, victim))
		return NULL;
	/*
	 * Keep a pointer into the middle of the freed node (its start would
	 * be one past the previous object's end, which is allowed).
	 */
	head->next = (struct list_node *)((char *)victim + 8);
	return head;
}

static int write_file(const char *path, const void *p, size_t len)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	const char *c = p;

	if (fd < 0)
		return -1;
	while (len) {
		ssize_t n = write(fd, c, len);

		if (n < 0) {
			close(fd);
			return -1;
		}
		c += n;
		len -= (size_t)n;
	}
	return close(fd);
}

/* Store the checksum a hand-edited blob should carry. */
static int rechecksum(const char *path)
{
	struct cm_header h;
	struct cm_error err;
	struct stat st;
	uint8_t *p = MAP_FAILED;
	uint64_t sum;
	int fd = open(path, O_RDWR), ret = 1;

	if (fd < 0 || fstat(fd, &st) < 0) {
		perror(path);
		goto out;
	}
	p = mmap(NULL, (size_t)st.st_size, PROT_READ | PROT_WRITE, MAP_SHARED,
		 fd, 0);
	if (p == MAP_FAILED) {
		perror("mmap");
		goto out;
	}
	if (cm_header_read(p, (size_t)st.st_size, &h, &err)) {
		fprintf(stderr, "%s: %s\n", path, err.message);
		goto out;
	}
	sum = cm_checksum_compute(p, &h);
	memcpy(p + 112, &sum, 8);
	ret = 0;
out:
	if (p != MAP_FAILED)
		munmap(p, (size_t)st.st_size);
	if (fd >= 0)
		close(fd);
	return ret;
}

int main(int argc, char **argv)
{
	struct cm_attr *mem = NULL;
	void *root = NULL, *blob;
	size_t n;
	int mode, flags = 0, ret = 1;

	if (argc == 3 && !strcmp(argv[1], "rechecksum"))
		return rechecksum(argv[2]);
	if (argc < 5 || argc > 6)
		return usage();
	n = strtoul(argv[2], NULL, 0);
	if (!strcmp(argv[3], "relative"))
		mode = CM_RELATIVE_OFFSET;
	else if (!strcmp(argv[3], "absolute"))
		mode = CM_ABSOLUTE_OFFSET;
	else
		return usage();
	if (argc == 6) {
		if (strcmp(argv[5], "map"))
			return usage();
		flags |= CM_OBJECT_MAP;
	}
	mem = cm_create(-1, 65536 + n * 128, MAP_PRIVATE, flags);
	if (!mem) {
		perror("cm_create");
		return 1;
	}
	if (!strcmp(argv[1], "list"))
		root = list(mem, n);
	else if (!strcmp(argv[1], "tree"))
		root = tree(mem, n);
	else if (!strcmp(argv[1], "graph"))
		root = graph(mem, n);
	else if (!strcmp(argv[1], "flat"))
		root = flat(mem, n);
	else if (!strcmp(argv[1], "dangling"))
		root = dangling(mem, n);
	else {
		ret = usage();
		goto out;
	}
	if (!root) {
		perror(argv[1]);
		goto out;
	}
	blob = cm_serialize(mem, root, mode, 0);
	if (!blob) {
		perror("cm_serialize");
		goto out;
	}
	TRY(write_file(argv[4], blob, (size_t)cm_get_size(mem)));
	ret = 0;
out:
	cm_delete(mem, CM_ERASE);
	return ret;
}
