/* SPDX-License-Identifier: MIT */
/* The data both shm examples share: its layout and how it is printed. */
#ifndef SHM_EXAMPLE_H
#define SHM_EXAMPLE_H

#include <stdint.h>
#include <stdio.h>

/* A singly linked list... */
struct item {
	uint64_t value;
	struct item *next;
};

/* ...and a binary search tree, both hanging off one root. */
struct tree_node {
	uint64_t key;
	struct tree_node *left, *right;
};

struct catalog {
	struct item *list;
	struct tree_node *tree;
	uint64_t items, keys;
};

static inline void print_tree(const struct tree_node *t, unsigned depth)
{
	/* In order, with the depth: two different shapes print differently. */
	for (; t; t = t->right, depth++) {
		print_tree(t->left, depth + 1);
		printf("tree %llu depth %u\n", (unsigned long long)t->key,
		       depth);
	}
}

static inline void print_catalog(const struct catalog *c)
{
	printf("items %llu keys %llu\n", (unsigned long long)c->items,
	       (unsigned long long)c->keys);
	for (const struct item *i = c->list; i; i = i->next)
		printf("list %llu\n", (unsigned long long)i->value);
	print_tree(c->tree, 0);
}

#endif
