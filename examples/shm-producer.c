/* SPDX-License-Identifier: MIT */
/*
 * Build a list and a search tree in a POSIX shared-memory arena and seal
 * it into a blob that another process can open (see shm-consumer.c).
 *
 * Usage: shm-producer NAME relative|absolute
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "cma.h"
#include "shm-example.h"

#define ITEMS	1000
#define KEYS	500

/* xorshift64: the same keys on every machine, unlike rand(). */
static uint64_t next_random(uint64_t *state)
{
	*state ^= *state << 13;
	*state ^= *state >> 7;
	*state ^= *state << 17;
	return *state;
}

/*
 * Insert `key`. The new node is allocated straight into the NULL link that
 * will hold it: a slot inside the arena, so cm_alloc records it too.
 */
static int tree_insert(struct cm_attr *mem, struct tree_node **link,
		       uint64_t key)
{
	while (*link) {
		if (key == (*link)->key)
			return 0;
		link = key < (*link)->key ? &(*link)->left : &(*link)->right;
	}
	if (cm_alloc(mem, link, sizeof **link) < 0)
		return -1;
	(*link)->key = key;
	return 1;
}

static int build(struct cm_attr *mem, struct catalog *c)
{
	struct item **tail = &c->list;
	uint64_t state = 0x2545f4914f6cdd1dULL;
	int rc;

	for (uint64_t i = 0; i < ITEMS; i++) {
		if (cm_alloc(mem, tail, sizeof **tail) < 0)
			return -1;
		(*tail)->value = i * i % 997;
		tail = &(*tail)->next;
		c->items++;
	}
	for (int i = 0; i < KEYS; i++) {
		rc = tree_insert(mem, &c->tree, next_random(&state) % 100000);
		if (rc < 0)
			return -1;
		c->keys += (uint64_t)rc;
	}
	return 0;
}

int main(int argc, char **argv)
{
	struct cm_attr *mem = NULL;
	struct catalog *c;
	int fd, mode, status = EXIT_FAILURE;

	if (argc != 3 || (strcmp(argv[2], "relative") &&
			  strcmp(argv[2], "absolute"))) {
		fprintf(stderr, "usage: %s NAME relative|absolute\n", argv[0]);
		return 2;
	}
	mode = strcmp(argv[2], "relative") ? CM_ABSOLUTE_OFFSET :
					     CM_RELATIVE_OFFSET;

	shm_unlink(argv[1]);
	fd = shm_open(argv[1], O_CREAT | O_EXCL | O_RDWR, 0600);
	if (fd < 0) {
		perror("shm_open");
		return EXIT_FAILURE;
	}
	/* Capacity is address space only: the object grows with the data. */
	mem = cm_create(fd, 16 << 20, MAP_SHARED, 0);
	if (!mem) {
		perror("cm_create");
		goto out;
	}
	if (cm_alloc(mem, &c, sizeof *c) < 0 || build(mem, c) < 0) {
		perror("cm_alloc");
		goto out;
	}
	if (!cm_serialize(mem, c, mode, 0)) {
		perror("cm_serialize");
		goto out;
	}
	print_catalog(c);
	status = EXIT_SUCCESS;
out:
	if (mem)
		cm_delete(mem, CM_ERASE);
	close(fd);
	/* On success the consumer unlinks the object once it has read it. */
	if (status != EXIT_SUCCESS)
		shm_unlink(argv[1]);
	return status;
}
