/* SPDX-License-Identifier: MIT */
/*
 * Uses of cm_alloc() and cm_ptr_to() that must compile without a warning,
 * in C and in C++, and, with WRONG_ALLOC or WRONG_PTR_TO defined, one wrong
 * use each that the compiler must refuse (check-macros.py). Compiled only,
 * never run.
 */
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>

#include "cma.h"

struct node {
	int x;
	char *name;
	const char *label;
	void *any;
	uint64_t word;		/* a pointer the caller stores as a word */
	char text[16];
	struct node *next;
	struct node *links[4];
};

/* The original cma's call shapes: a list head, its fields, a shared
 * string, a NULL link. */
static int original_shapes(struct cm_attr *mem)
{
	struct node *head, *curr;

	if (cm_alloc(mem, &head, sizeof(*head)))
		return -1;
	if (cm_alloc(mem, &head->name, 5 * sizeof(*head->name)))
		return -1;
	memcpy(head->name, "toto", 5);
	if (cm_alloc(mem, &head->next, sizeof(*head->next)))
		return -1;
	if (cm_ptr_to(mem, &head->next->name, head->name))
		return -1;
	curr = head->next;
	if (cm_ptr_to(mem, &curr->next, head) ||
	    cm_ptr_to(mem, &curr->next, NULL))
		return -1;
	return 0;
}

/* Every other slot and target type the macros take. */
static int other_shapes(struct cm_attr *mem, struct node *n)
{
	struct node **link = &n->next;
	void *raw;
	int r = 0;

	r |= cm_alloc(mem, &raw, 64);			/* a void * slot */
	r |= cm_alloc(mem, (void **)&n->name, 8);	/* cast by the caller */
	r |= cm_alloc(mem, &n->any, 8);
	r |= cm_alloc(mem, &n->label, 8);		/* const char * */
	r |= cm_alloc(mem, link, sizeof **link);	/* a T ** variable */
	r |= cm_alloc(mem, n->links, sizeof *n);	/* an array of pointers */
	r |= cm_alloc(mem, &n->links[1], sizeof *n);
	r |= cm_ptr_to(mem, &n->any, n);		/* any pointer in void * */
	r |= cm_ptr_to(mem, &raw, n->name);
	r |= cm_ptr_to(mem, &n->name, n->text);		/* an array decays */
	r |= cm_ptr_to(mem, &n->label, n->name);	/* const added */
	r |= cm_ptr_to(mem, &n->label, n->label);
	r |= cm_ptr_to(mem, &n->next, 0);
	r |= cm_ptr_to(mem, &n->links[2], n->links[1]);
	r |= cm_ptr_to(mem, (void **)&n->name, n);	/* cast by the caller */
	r |= cm_ptr_to(mem, (void **)&n->word, n);
	r |= cm_alloc(mem, (void **)&n->word, 8);
	return r;
}

#ifdef WRONG_ALLOC
/* The & forgotten: n is the node, not the address of a pointer. */
int wrong_alloc(struct cm_attr *mem, struct node *n);
int wrong_alloc(struct cm_attr *mem, struct node *n)
{
	return cm_alloc(mem, n, sizeof *n);
}
#endif

#ifdef WRONG_PTR_TO
/* A char * slot given a struct node *. */
int wrong_ptr_to(struct cm_attr *mem, struct node *n, struct node *other);
int wrong_ptr_to(struct cm_attr *mem, struct node *n, struct node *other)
{
	return cm_ptr_to(mem, &n->name, other);
}
#endif

int main(void)
{
	struct cm_attr *mem = cm_create(-1, 1 << 20, MAP_PRIVATE, 0);
	struct node *n = NULL;
	int r = original_shapes(mem);

	if (cm_alloc(mem, &n, sizeof *n) == 0)
		r |= other_shapes(mem, n);
	cm_delete(mem, CM_ERASE);
	return r ? 1 : 0;
}
