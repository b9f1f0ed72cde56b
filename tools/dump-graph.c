/* SPDX-License-Identifier: MIT */
/* cma-dump --graph=dot: the pointer graph in Graphviz syntax. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dump.h"

/* A sorted set of the smallest distinct offsets seen, at most cap. */
struct offset_set {
	uint64_t *v;
	size_t n, cap;
};

static void set_add(struct offset_set *s, uint64_t x)
{
	size_t i;

	if (s->n == s->cap && x >= s->v[s->n - 1])
		return;
	i = dump_lower_bound(s->v, s->n, x);
	if (i < s->n && s->v[i] == x)
		return;
	if (s->n == s->cap)
		s->n--;
	memmove(s->v + i + 1, s->v + i, (s->n - i) * sizeof *s->v);
	s->v[i] = x;
	s->n++;
}

/* A graph node: a region [start, end), or an object of the map. */
struct graph {
	struct cm_object *node;
	size_t n;		/* nodes shown */
	bool cut;		/* more nodes exist past the last shown */
	bool dangling, past_end, beyond;
};

/* The node holding offset x (one past a node's end allowed), or -1. */
static ssize_t node_of(const struct graph *g, uint64_t x, bool one_past)
{
	size_t lo = 0, hi = g->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (g->node[mid].offset <= x)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo == 0)
		return -1;
	lo--;
	if (x < g->node[lo].offset + g->node[lo].size ||
	    (one_past && x == g->node[lo].offset + g->node[lo].size))
		return (ssize_t)lo;
	return -1;
}

/* Nodes without a map: regions from the data start, root and targets. */
static int regions(struct dump *d, size_t limit, struct graph *g)
{
	struct offset_set s = { NULL, 0, limit + 1 };
	struct cm_reloc_iter it;
	struct cm_reloc r;
	struct cm_error e;
	int ret;

	s.v = calloc(s.cap, sizeof *s.v);
	g->node = calloc(s.cap, sizeof *g->node);
	if (!s.v || !g->node)
		goto fail;
	set_add(&s, d->h.header_size);
	set_add(&s, d->h.root);
	if (dump_reloc_begin(d, &it)) {
		while ((ret = cm_reloc_next(&it, &r, &e)) > 0)
			if (r.target >= d->h.header_size &&
			    r.target < d->h.data_end)
				set_add(&s, r.target);
		if (ret < 0)
			dump_note_error(d, &e);
	}
	g->cut = s.n > limit;
	g->n = g->cut ? limit : s.n;
	for (size_t i = 0; i < g->n; i++) {
		g->node[i].offset = s.v[i];
		g->node[i].size = (i + 1 < s.n ? s.v[i + 1] : d->h.data_end) -
				  s.v[i];
	}
	free(s.v);
	return 0;
fail:
	tool_report_errno(d->in.name, "graph", errno);
	free(s.v);
	return -1;
}

static void graph_target(struct dump *d, struct graph *g, uint64_t target,
			 char *buf, size_t len)
{
	ssize_t t = node_of(g, target, false);

	if (t < 0 && dump_has_object_map(d))
		t = node_of(g, target, true);
	if (t >= 0) {
		snprintf(buf, len, "n%zd", t);
	} else if (target == d->h.data_end) {
		g->past_end = true;
		snprintf(buf, len, "data_end");
	} else if (g->cut && g->n &&
		   target >= g->node[g->n - 1].offset) {
		g->beyond = true;
		snprintf(buf, len, "more");
	} else {
		g->dangling = true;
		snprintf(buf, len, "dangling");
	}
}

int dump_graph(struct dump *d)
{
	size_t limit = dump_object_limit(d, GRAPH_DEFAULT_LIMIT);
	struct graph g = { 0 };
	struct cm_reloc_iter it;
	struct cm_reloc r;
	struct cm_error e;
	char to[32];
	int ret, rc = -1;

	if (!d->hok) {
		printf("digraph cma {\n\tlabel=\"the header is defective\";"
		       "\n}\n");
		return 0;
	}
	if (limit == 0)
		limit = 1;
	if (dump_has_object_map(d)) {
		ssize_t n = dump_load_objects(d, limit, &g.node);

		if (n < 0)
			goto out;
		g.n = (size_t)n < limit ? (size_t)n : limit;
		g.cut = (size_t)n > limit;
	} else if (regions(d, limit, &g) < 0) {
		goto out;
	}
	printf("digraph cma {\n\tnode [shape=box, fontname=\"monospace\"];\n"
	       "\tedge [fontname=\"monospace\", fontsize=10];\n");
	for (size_t i = 0; i < g.n; i++) {
		bool root = d->h.root >= g.node[i].offset &&
			    d->h.root < g.node[i].offset + g.node[i].size;

		printf("\tn%zu [label=\"0x%" PRIx64 "\\n%" PRIu64 " B%s\"%s];"
		       "\n", i, g.node[i].offset, g.node[i].size,
		       root ? "\\nroot" : "", root ? ", penwidth=2" : "");
	}
	if (dump_reloc_begin(d, &it)) {
		while ((ret = cm_reloc_next(&it, &r, &e)) > 0) {
			ssize_t s = node_of(&g, r.slot, false);

			if (s < 0)
				continue;	/* in a region past the cut */
			graph_target(d, &g, r.target, to, sizeof to);
			printf("\tn%zd -> %s [label=\"+%" PRIu64 "\"];\n", s,
			       to, r.slot - g.node[s].offset);
		}
		if (ret < 0)
			dump_note_error(d, &e);
	}
	/* Pointers stored without cm_ptr_to(): edges a consumer would not
	 * have relocated. */
	for (size_t i = 0; i < d->nunrecorded; i++) {
		uint64_t at = d->unrecorded[i];
		ssize_t s = node_of(&g, at, false);

		if (s < 0)
			continue;
		graph_target(d, &g, dump_word_at(d, at) - d->h.base, to, sizeof to);
		printf("\tn%zd -> %s [label=\"+%" PRIu64 " unrecorded\", "
		       "style=dashed, color=red];\n", s, to,
		       at - g.node[s].offset);
	}
	if (g.past_end)
		printf("\tdata_end [shape=plaintext, "
		       "label=\"end of data\"];\n");
	if (g.dangling)
		printf("\tdangling [shape=octagon, color=red, "
		       "label=\"no object\"];\n");
	if (g.beyond)
		printf("\tmore [shape=plaintext, label=\"...\"];\n");
	if (g.cut) {
		printf("\tlabel=\"graph cut at %zu nodes (--limit)\";\n", g.n);
		fprintf(stderr, "%s: %s: graph cut at %zu nodes (--limit)\n",
			tool_prog, d->in.name, g.n);
	}
	for (int i = 0; i < d->nerrors; i++) {
		printf("\t/* defect at offset 0x%" PRIx64 ": ",
		       d->errors[i].offset);
		/* A message must not close the comment early. */
		for (const char *m = d->errors[i].message; *m; m++)
			putchar(m[0] == '*' && m[1] == '/' ? '+' : *m);
		printf(" */\n");
	}
	printf("}\n");
	rc = 0;
out:
	free(g.node);
	return rc;
}
