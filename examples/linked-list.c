/* SPDX-License-Identifier: MIT */
/*
 * A linked list in the call shapes of the original cma
 * (github.com/Aurel-R/cma): a producer builds a list in a shared-memory
 * arena and serializes it; a consumer in another process maps the object
 * privately and deserializes it. Code written for the original API keeps
 * compiling and working.
 *
 * Usage: linked-list serialize NAME [sorted]
 *        linked-list deserialize NAME
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cma.h"

#define SIZE		(64UL << 20)
#define NODES		100000UL
#define SORTED_NODES	2000UL	/* sorted insertion is quadratic */

struct node {
	unsigned x;
	struct node *nxt;
};

static unsigned next_value(unsigned long *state)
{
	*state = *state * 6364136223846793005UL + 1442695040888963407UL;
	return (unsigned)(*state >> 33) % 100000;
}

/* Prepend every node: each link recorded as it is stored. */
static struct node *build_list(struct cm_attr *mem)
{
	struct node *curr, *head = NULL;
	unsigned long state = 1;

	for (unsigned long i = 0; i < NODES; i++) {
		if (cm_alloc(mem, &curr, sizeof(*curr)) < 0)
			return NULL;
		curr->x = next_value(&state);
		if (cm_ptr_to(mem, &curr->nxt, head) < 0)
			return NULL;
		head = curr;
	}
	return head;
}

/* Record each link as NULL first, then store to it with plain writes. */
static struct node *build_sorted(struct cm_attr *mem)
{
	struct node *curr, *head = NULL, **link;
	unsigned long state = 2;

	for (unsigned long i = 0; i < SORTED_NODES; i++) {
		if (cm_alloc(mem, &curr, sizeof(*curr)) < 0)
			return NULL;
		if (cm_ptr_to(mem, &curr->nxt, NULL) < 0)
			return NULL;
		curr->x = next_value(&state);
		for (link = &head; *link && (*link)->x < curr->x;
		     link = &(*link)->nxt)
			;
		curr->nxt = *link;
		*link = curr;
	}
	return head;
}

static void print_list(const struct node *head)
{
	for (const struct node *n = head; n; n = n->nxt)
		printf("%u\n", n->x);
}

static int serialize(const char *name, int sorted)
{
	struct cm_attr *mem;
	struct node *head;
	int fd;

	shm_unlink(name);
	fd = shm_open(name, O_CREAT | O_EXCL | O_RDWR, S_IRUSR | S_IWUSR);
	if (fd == -1) {
		perror("shm_open");
		return 1;
	}
	mem = cm_create(fd, SIZE, MAP_SHARED, 0);
	if (!mem) {
		perror("cm_create");
		goto err;
	}
	head = sorted ? build_sorted(mem) : build_list(mem);
	if (!head || !cm_serialize(mem, head, CM_RELATIVE_OFFSET, MS_SYNC)) {
		perror("cma");
		cm_delete(mem, CM_EREASE);
		goto err;
	}
	print_list(head);
	cm_delete(mem, CM_EREASE);
	close(fd);
	return 0;
err:
	close(fd);
	shm_unlink(name);
	return 1;
}

static int deserialize(const char *name)
{
	struct node *head;
	struct stat st;
	void *cm;
	int fd, rc = 1;

	fd = shm_open(name, O_RDONLY, S_IRUSR);
	if (fd == -1) {
		perror("shm_open");
		return 1;
	}
	if (fstat(fd, &st) == -1) {
		perror("fstat");
		goto out;
	}
	cm = mmap(NULL, st.st_size, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd,
		  0);
	if (cm == MAP_FAILED) {
		perror("mmap");
		goto out;
	}
	head = cm_deserialize(cm, st.st_size);
	if (head) {
		print_list(head);
		rc = 0;
	} else {
		perror("cm_deserialize");
	}
	munmap(cm, st.st_size);
out:
	close(fd);
	shm_unlink(name);
	return rc;
}

int main(int argc, char **argv)
{
	if (argc == 3 && !strcmp(argv[1], "deserialize"))
		return deserialize(argv[2]);
	if ((argc == 3 || (argc == 4 && !strcmp(argv[3], "sorted"))) &&
	    !strcmp(argv[1], "serialize"))
		return serialize(argv[2], argc == 4);
	fprintf(stderr, "usage: %s serialize NAME [sorted]\n"
		"       %s deserialize NAME\n", argv[0], argv[0]);
	return 2;
}
