/* SPDX-License-Identifier: MIT */
/*
 * Writes blobs for the typed-view tests, built with -g (DWARF 4 and 5, gcc
 * and clang) by cli-types.py, which reads these structs from this very
 * program. Each shape prints its own expectation as one JSON document:
 *   {"root": TYPE, "json": what cma-dump --json shows (good shapes),
 *    "errors": [[PATH, OFFSET], ...] (what typed verification refuses),
 *    "unreachable": N (slots in no object reached from the root)}
 * The wrong shapes are the mistakes the original cma
 * (github.com/Aurel-R/cma) warns about: a pointer stored with '=' (into the
 * data, or into another allocation), and layouts that disagree.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "cma.h"

/* ---- the types ---- */

enum color { RED, GREEN = 5, BLUE = -3 };

struct node {			/* a list: scalars of every kind */
	int v;
	enum color c;
	bool ok;
	double d;
	unsigned bits : 3;
	int sbits : 5;
	char tag[6];
	char *s;
	struct node *next;
};

struct tnode {			/* a binary tree */
	int key;
	struct tnode *left, *right;
};

struct dag {			/* two parents share a child */
	char *name;
	struct dag *a, *b;
	void *any;		/* shown as an offset, not followed */
};

struct point {
	short x, y;
};

struct item {
	struct point at;
	long weight;
	char label[4];
};

struct holder {			/* arrays of structs, of pointers, 2-D */
	unsigned n;
	struct item items[3];
	struct item *ptrs[3];
	long grid[2][3];
};

union value {
	int i;
	float f;
	unsigned char bytes[4];
};

struct tagged {			/* a union: shown raw */
	int kind;
	union value v;
	struct tagged *next;
};

struct anon {			/* anonymous members, read through */
	int id;
	struct {
		int x, y;
		struct {
			unsigned char r, g;
		};
	};
	struct {
		struct anon *next;
		char *label;
	} link;
};

typedef struct anon anon_t;

struct data_srv {		/* the original's producer, GOOD */
	int x;
	char *s;
	struct data_srv *next;
};

struct data {			/* the same layout under the consumer's name */
	int x;
	char *s;
	struct data *next;
};

struct rec {			/* the wrong shapes */
	long id;
	char *name;
	struct rec *next;
	unsigned long cookie;
	void (*fn)(void);
	struct rec *other;
};

/* ---- the arena and the expectation ---- */

static struct cm_attr *mem;
static char *base;
static FILE *out;		/* the expectation, built in memory */
static char *out_buf;
static size_t out_len;

static uint64_t at(const void *p)
{
	return (uint64_t)((const char *)p - base);
}

static void *alloc(void *slot, size_t size)
{
	void **s = slot;

	if (cm_alloc(mem, s, size)) {
		perror("cm_alloc");
		exit(1);
	}
	memset(*s, 0, size);
	return *s;
}

static void link_to(void *slot, void *to)
{
	if (cm_ptr_to(mem, (void **)slot, to)) {
		perror("cm_ptr_to");
		exit(1);
	}
}

static char *string(char **slot, const char *s)
{
	strcpy(alloc(slot, strlen(s) + 1), s);
	return *slot;
}

static void jstr(const char *s)
{
	fputc('"', out);
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == '"' || c == '\\')
			fprintf(out, "\\%c", c);
		else if (c == '\n')
			fputs("\\n", out);
		else if (c < 0x20)
			fprintf(out, "\\u%04x", c);
		else
			fputc(c, out);
	}
	fputc('"', out);
}

static void obj_start(const void *p, const char *type)
{
	fprintf(out, "{\"$offset\": %llu, \"$type\": ",
		(unsigned long long)at(p));
	jstr(type);
}

static void ref(const void *p)
{
	fprintf(out, "{\"$ref\": %llu}", (unsigned long long)at(p));
}

/* ---- good shapes ---- */

static const char *color_name(enum color c)
{
	return c == RED ? "RED" : c == GREEN ? "GREEN" : "BLUE";
}

static void node_json(const struct node *n, const struct node *head)
{
	if (!n) {
		fputs("null", out);
		return;
	}
	obj_start(n, "struct node");
	fprintf(out, ", \"v\": %d, \"c\": \"%s\", \"ok\": %s, \"d\": %.17g, "
		"\"bits\": %u, \"sbits\": %d, \"tag\": ", n->v,
		color_name(n->c), n->ok ? "true" : "false", n->d, n->bits,
		n->sbits);
	jstr(n->tag);
	fputs(", \"s\": ", out);
	jstr(n->s);
	fputs(", \"next\": ", out);
	if (head && n->next == head)
		ref(head);
	else
		node_json(n->next, head);
	fputc('}', out);
}

static void *shape_list(bool cycle)
{
	struct node *head = NULL, *prev = NULL, *n;
	static const enum color colors[] = { RED, GREEN, BLUE };

	for (int i = 0; i < 5; i++) {
		char s[16];

		alloc(&n, sizeof *n);
		n->v = i * 7 - 3;
		n->c = colors[i % 3];
		n->ok = i & 1;
		n->d = i / 4.0 - 0.1;
		n->bits = (unsigned)i + 2;
		n->sbits = -i * 3;
		snprintf(n->tag, sizeof n->tag, "t%d\"", i);
		snprintf(s, sizeof s, "s%d\n\ttab", i);
		string(&n->s, s);
		if (prev)
			link_to(&prev->next, n);
		else
			head = n;
		prev = n;
	}
	if (cycle)
		link_to(&prev->next, head);
	fputs("{\"root\": \"struct node\", \"json\": ", out);
	node_json(head, cycle ? head : NULL);
	return head;
}

static struct tnode *tree(int lo, int hi)
{
	struct tnode *t;
	int mid = (lo + hi) / 2;

	if (lo > hi)
		return NULL;
	alloc(&t, sizeof *t);
	t->key = mid * 10;
	if (lo < hi) {
		struct tnode *l = tree(lo, mid - 1), *r = tree(mid + 1, hi);

		if (l)
			link_to(&t->left, l);
		if (r)
			link_to(&t->right, r);
	}
	return t;
}

static void tree_json(const struct tnode *t)
{
	if (!t) {
		fputs("null", out);
		return;
	}
	obj_start(t, "struct tnode");
	fprintf(out, ", \"key\": %d, \"left\": ", t->key);
	tree_json(t->left);
	fputs(", \"right\": ", out);
	tree_json(t->right);
	fputc('}', out);
}

static void *shape_tree(void)
{
	struct tnode *root = tree(1, 7);

	fputs("{\"root\": \"struct tnode\", \"json\": ", out);
	tree_json(root);
	return root;
}

/* A chain of 200000 through 'left': deeper than any stack would take a
 * frame a node. No expectation printed: it is checked by counts. */
static void *shape_long(void)
{
	struct tnode *root = NULL, *prev = NULL, *t;

	for (int i = 0; i < 200000; i++) {
		alloc(&t, sizeof *t);
		t->key = i * 10;
		if (prev)
			link_to(&prev->left, t);
		else
			root = t;
		prev = t;
	}
	fputs("{\"root\": \"struct tnode\"", out);
	return root;
}

static void *shape_dag(void)
{
	struct dag *r, *x, *y, *z;

	alloc(&r, sizeof *r);
	alloc(&x, sizeof *x);
	alloc(&y, sizeof *y);
	alloc(&z, sizeof *z);
	string(&r->name, "root");
	string(&x->name, "x");
	string(&y->name, "y");
	string(&z->name, "shared");
	link_to(&r->a, x);
	link_to(&r->b, y);
	link_to(&x->a, z);
	link_to(&y->b, z);
	link_to(&r->any, z);
	fputs("{\"root\": \"struct dag\", \"json\": ", out);
	obj_start(r, "struct dag");
	fputs(", \"name\": \"root\", \"a\": ", out);
	obj_start(x, "struct dag");
	fputs(", \"name\": \"x\", \"a\": ", out);
	obj_start(z, "struct dag");
	fputs(", \"name\": \"shared\", \"a\": null, \"b\": null, \"any\": "
	      "null}, \"b\": null, \"any\": null}, \"b\": ", out);
	obj_start(y, "struct dag");
	fputs(", \"name\": \"y\", \"a\": null, \"b\": ", out);
	ref(z);
	fprintf(out, ", \"any\": null}, \"any\": {\"$offset\": %llu}}",
		(unsigned long long)at(z));
	return r;
}

static void item_fields(const struct item *it)
{
	fprintf(out, "\"at\": {\"x\": %d, \"y\": %d}, \"weight\": %ld, "
		"\"label\": ", it->at.x, it->at.y, it->weight);
	jstr(it->label);
}

static void *shape_arrays(void)
{
	struct holder *h;
	struct item *lone;

	alloc(&h, sizeof *h);
	h->n = 3;
	for (int i = 0; i < 3; i++) {
		h->items[i] = (struct item){ { (short)(i - 1), (short)(i * 100) },
					     -1000L * i, "" };
		snprintf(h->items[i].label, sizeof h->items[i].label, "i%d", i);
	}
	for (int i = 0; i < 6; i++)
		h->grid[i / 3][i % 3] = i * i - 4;
	alloc(&lone, sizeof *lone);
	*lone = (struct item){ { 7, -7 }, 77, "one" };
	link_to(&h->ptrs[0], lone);
	link_to(&h->ptrs[2], &h->items[1]);	/* into the holder itself */
	fputs("{\"root\": \"struct holder\", \"json\": ", out);
	obj_start(h, "struct holder");
	fputs(", \"n\": 3, \"items\": [", out);
	for (int i = 0; i < 3; i++) {
		fputs(i ? ", {" : "{", out);
		item_fields(&h->items[i]);
		fputc('}', out);
	}
	fputs("], \"ptrs\": [", out);
	obj_start(lone, "struct item");
	fputs(", ", out);
	item_fields(lone);
	fputs("}, null, ", out);
	obj_start(&h->items[1], "struct item");
	fputs(", ", out);
	item_fields(&h->items[1]);
	fputs("}], \"grid\": [", out);
	for (int i = 0; i < 2; i++)
		fprintf(out, "%s[%ld, %ld, %ld]", i ? ", " : "", h->grid[i][0],
			h->grid[i][1], h->grid[i][2]);
	fputs("]}", out);
	return h;
}

static void *shape_union(void)
{
	struct tagged *a, *b;

	alloc(&a, sizeof *a);
	alloc(&b, sizeof *b);
	a->kind = 1;
	a->v.i = 0x01020304;
	b->kind = 2;
	b->v.f = 1.5f;
	link_to(&a->next, b);
	fputs("{\"root\": \"struct tagged\", \"json\": ", out);
	for (int k = 0; k < 2; k++) {
		const struct tagged *t = k ? b : a;

		fputs(k ? ", \"next\": " : "", out);
		obj_start(t, "struct tagged");
		fprintf(out, ", \"kind\": %d, \"v\": {\"$union\": \"", t->kind);
		for (int i = 0; i < 4; i++)
			fprintf(out, "%02x", t->v.bytes[i]);
		fputs("\", \"$note\": \"which member is live is not "
		      "recorded\"}", out);
	}
	fputs(", \"next\": null}}", out);
	return a;
}

static void *shape_anon(void)
{
	anon_t *a, *b;

	alloc(&a, sizeof *a);
	alloc(&b, sizeof *b);
	a->id = 1;
	a->x = -5;
	a->y = 6;
	a->r = 200;
	a->g = 1;
	b->id = 2;
	string(&a->link.label, "first");
	link_to(&a->link.next, b);
	fputs("{\"root\": \"anon_t\", \"json\": ", out);
	obj_start(a, "struct anon");
	fputs(", \"id\": 1, \"x\": -5, \"y\": 6, \"r\": 200, \"g\": 1, "
	      "\"link\": {\"next\": ", out);
	obj_start(b, "struct anon");
	fputs(", \"id\": 2, \"x\": 0, \"y\": 0, \"r\": 0, \"g\": 0, "
	      "\"link\": {\"next\": null, \"label\": null}}, \"label\": "
	      "\"first\"}}", out);
	return a;
}

/* The original's list of struct data_srv (or struct data): each node's
 * string is its own allocation of 8 bytes, so a consumer that reads 's'
 * as 'next' (the WRONG struct data_cli) meets an allocation smaller than
 * its struct. */
#define SRV_LIST(T, NAME)						\
	static void *shape_##T(void)					\
	{								\
		struct T *head = NULL, *prev = NULL, *n;		\
									\
		for (int i = 0; i < 3; i++) {				\
			char s[8];					\
									\
			alloc(&n, sizeof *n);				\
			n->x = 40 + i;					\
			snprintf(s, sizeof s, "n%d", i);		\
			strcpy(alloc(&n->s, 8), s);			\
			if (prev)					\
				link_to(&prev->next, n);		\
			else						\
				head = n;				\
			prev = n;					\
		}							\
		fputs("{\"root\": \"" NAME "\", \"json\": ", out);	\
		for (n = head; n; n = n->next) {			\
			obj_start(n, NAME);				\
			fprintf(out, ", \"x\": %d, \"s\": \"%s\", "	\
				"\"next\": ", n->x, n->s);		\
		}							\
		fputs("null}}}", out);					\
		/* A consumer with 'next' at 8 reads the root's 's'. */	\
		fprintf(out, ", \"wrong_consumer\": [[\"root->next\", "	\
			"%llu]]", (unsigned long long)at(&head->s));	\
		return head;						\
	}
SRV_LIST(data_srv, "struct data_srv")
SRV_LIST(data, "struct data")

/* ---- wrong shapes: struct rec ---- */

static void never_in_a_blob(void)
{
}

static void error_at(const char *path, const void *where, bool first)
{
	fprintf(out, "%s[\"%s\", %llu]", first ? "" : ", ", path,
		(unsigned long long)at(where));
}

/* Three records r0 -> r1 -> r2, each with its name. */
static struct rec *recs(struct rec *r[3])
{
	for (int i = 0; i < 3; i++) {
		char s[8];

		alloc(&r[i], sizeof *r[i]);
		r[i]->id = i;
		snprintf(s, sizeof s, "r%d", i);
		string(&r[i]->name, s);
		if (i)
			link_to(&r[i - 1]->next, r[i]);
	}
	return r[0];
}

static void *shape_wrong(const char *kind)
{
	struct rec *r[3], *extra;
	char *tail;
	static char foreign[] = "a string outside the arena";

	recs(r);
	fputs("{\"root\": \"struct rec\", \"errors\": [", out);
	if (!strcmp(kind, "assign")) {
		/* cm->s2 = cm->s1, the original's WRONG line */
		r[1]->other = r[0];
		error_at("root->next->other", &r[1]->other, true);
	} else if (!strcmp(kind, "foreign")) {
		/* '=' into another allocation: no scan can see it */
		r[2]->other = (struct rec *)foreign;
		error_at("root->next->next->other", &r[2]->other, true);
	} else if (!strcmp(kind, "fnptr")) {
		r[1]->fn = never_in_a_blob;
		error_at("root->next->fn", &r[1]->fn, true);
	} else if (!strcmp(kind, "layout")) {
		/* a slot where the type has an integer */
		link_to(&r[0]->cookie, r[2]);
		error_at("root->cookie", &r[0]->cookie, true);
	} else if (!strcmp(kind, "past-end")) {
		/* the last allocation: a string with no NUL */
		memset(alloc(&tail, 8), 'x', 8);
		link_to(&r[2]->name, tail);
		error_at("root->next->next->name", &r[2]->name, true);
	} else if (!strcmp(kind, "no-fit")) {
		alloc(&tail, 8);
		link_to(&r[1]->other, tail);
		error_at("root->next->other", &r[1]->other, true);
	} else if (!strcmp(kind, "small")) {
		/* with the object map: 8 bytes where a struct rec is read */
		alloc(&tail, 8);
		alloc(&extra, sizeof *extra);
		link_to(&r[0]->other, tail);
		error_at("root->other", &r[0]->other, true);
	} else if (!strcmp(kind, "unreachable")) {
		/* a record no pointer reaches: two slots, only a warning */
		alloc(&extra, sizeof *extra);
		string(&extra->name, "lost");
		link_to(&extra->next, r[0]);
		fputs("], \"unreachable\": 2", out);
		return r[0];
	}
	fputc(']', out);
	return r[0];
}

/* 300 records, each with a pointer into another allocation stored with
 * '=': a defect in every object. */
static void *shape_many(void)
{
	static char foreign[8];
	struct rec *head = NULL, *prev = NULL, *r;

	fputs("{\"root\": \"struct rec\", \"errors\": [", out);
	for (int i = 0; i < 300; i++) {
		alloc(&r, sizeof *r);
		r->id = i;
		r->other = (struct rec *)foreign;
		if (prev)
			link_to(&prev->next, r);
		else
			head = r;
		prev = r;
		fprintf(out, "%s%llu", i ? ", " : "",
			(unsigned long long)at(&r->other));
	}
	fputc(']', out);
	return head;
}

/* ---- main ---- */

static const char *const good[] = { "list", "cycle", "tree", "dag",
				    "arrays", "union", "anon", "data_srv",
				    "data", "long", "many" };
static const char *const wrong[] = { "assign", "foreign", "fnptr",
				     "layout", "past-end", "no-fit", "small",
				     "unreachable" };

static bool listed(const char *s, const char *const *list, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!strcmp(s, list[i]))
			return true;
	return false;
}

static void *make(const char *shape)
{
	if (!strcmp(shape, "list") || !strcmp(shape, "cycle"))
		return shape_list(!strcmp(shape, "cycle"));
	if (!strcmp(shape, "tree"))
		return shape_tree();
	if (!strcmp(shape, "dag"))
		return shape_dag();
	if (!strcmp(shape, "long"))
		return shape_long();
	if (!strcmp(shape, "many"))
		return shape_many();
	if (!strcmp(shape, "arrays"))
		return shape_arrays();
	if (!strcmp(shape, "union"))
		return shape_union();
	if (!strcmp(shape, "anon"))
		return shape_anon();
	if (!strcmp(shape, "data_srv"))
		return shape_data_srv();
	if (!strcmp(shape, "data"))
		return shape_data();
	return shape_wrong(shape);
}

int main(int argc, char **argv)
{
	void *root, *blob;
	FILE *f;

	if (argc != 3 || !(listed(argv[1], good, sizeof good / sizeof *good)
			   || listed(argv[1], wrong,
				     sizeof wrong / sizeof *wrong))) {
		fprintf(stderr, "usage: types-producer SHAPE OUT.cm\n");
		return 2;
	}
	mem = cm_create(-1, 64 << 20, MAP_PRIVATE, CM_OBJECT_MAP);
	out = open_memstream(&out_buf, &out_len);
	if (!mem || !out) {
		perror("types-producer");
		return 1;
	}
	base = cm_get_base(mem);
	root = make(argv[1]);
	fputs("}\n", out);
	fclose(out);
	blob = cm_serialize(mem, root, CM_RELATIVE_OFFSET, 0);
	f = blob ? fopen(argv[2], "wb") : NULL;
	if (!f || fwrite(blob, 1, (size_t)cm_get_size(mem), f)
		  != (size_t)cm_get_size(mem) || fclose(f)) {
		perror(argv[2]);
		return 1;
	}
	fputs(out_buf, stdout);
	free(out_buf);
	return 0;
}
