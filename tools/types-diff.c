/* SPDX-License-Identifier: MIT */
/* Layout diff: a blob's recorded types against a consumer's, by name. */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cma-types.h"

struct differ {
	const struct cm_types *a, *b;	/* the blob's, the consumer's */
	const char *b_name;
	void (*report)(void *ctx, const char *line);
	void *ctx;
	size_t count;
	uint32_t *pair;			/* per blob type: consumer type + 1 */
	uint32_t *queue;
	size_t nqueue;
};

static void say(struct differ *d, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void say(struct differ *d, const char *fmt, ...)
{
	char line[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(line, sizeof line, fmt, ap);
	va_end(ap);
	d->count++;
	d->report(d->ctx, line);
}

static const char *kind_word(uint32_t kind)
{
	static const char *const words[] = {
		"?", "signed integer", "unsigned integer", "char", "bool",
		"float", "enum", "pointer", "struct", "union", "array",
		"function", "opaque type",
	};

	return kind < sizeof words / sizeof *words ? words[kind] : "?";
}

/* A type's shape in words: names for named aggregates, base types by
 * encoding and size ("unsigned long" and "long unsigned int" agree). */
static void shape(const struct cm_types *t, uint32_t ty, char *buf, size_t len)
{
	size_t used = 0;

	buf[0] = 0;
	for (unsigned hops = 0; hops < 8 && used < len; hops++) {
		const struct cm_type *x;

		if (ty == CM_TYPE_NONE) {
			snprintf(buf + used, len - used, "void");
			return;
		}
		x = &t->types[ty];
		switch (x->kind) {
		case CM_TYPE_POINTER:
			used += (size_t)snprintf(buf + used, len - used,
						 "pointer to ");
			ty = x->target;
			continue;
		case CM_TYPE_ARRAY:
			used += (size_t)snprintf(buf + used, len - used,
						 "array of %u ", x->count);
			ty = x->target;
			continue;
		case CM_TYPE_STRUCT:
		case CM_TYPE_UNION:
		case CM_TYPE_ENUM:
		case CM_TYPE_OPAQUE:
			if (x->name) {
				snprintf(buf + used, len - used, "%s",
					 x->name);
				return;
			}
			/* fall through */
		default:
			snprintf(buf + used, len - used, "%s of %" PRIu64
				 " bytes", kind_word(x->kind), x->size);
			return;
		}
	}
}

static void pair_up(struct differ *d, uint32_t a, uint32_t b)
{
	if (d->pair[a])
		return;
	d->pair[a] = b + 1;
	d->queue[d->nqueue++] = a;
}

/*
 * Do field types a (blob) and b (consumer) agree? Pointers and arrays
 * are followed in step; base types agree by kind and size; two structs,
 * unions or enums agree when they are paired (then compared by members),
 * whatever their names: the consumer may call the producer's struct
 * data_srv struct data_cli.
 */
static bool same_shape(struct differ *d, uint32_t a, uint32_t b)
{
	for (unsigned hops = 0; hops < 64; hops++) {
		const struct cm_type *xa, *xb;

		if (a == CM_TYPE_NONE || b == CM_TYPE_NONE)
			return a == b;
		xa = &d->a->types[a];
		xb = &d->b->types[b];
		if (xa->kind != xb->kind)
			return false;
		switch (xa->kind) {
		case CM_TYPE_POINTER:
			a = xa->target;
			b = xb->target;
			continue;
		case CM_TYPE_ARRAY:
			if (xa->count != xb->count)
				return false;
			a = xa->target;
			b = xb->target;
			continue;
		case CM_TYPE_STRUCT:
		case CM_TYPE_UNION:
		case CM_TYPE_ENUM:
			if (d->pair[a])
				return d->pair[a] == b + 1;
			pair_up(d, a, b);
			return true;
		case CM_TYPE_OPAQUE:
			return xa->name && xb->name
			       && !strcmp(xa->name, xb->name);
		default:
			return xa->size == xb->size;
		}
	}
	return false;
}

static const struct cm_type_member *find_member(const struct cm_types *t,
						const struct cm_type *x,
						const struct cm_type_member *m,
						uint32_t k_anon)
{
	uint32_t anon = 0;

	for (uint32_t k = 0; k < x->member_count; k++) {
		const struct cm_type_member *n = &t->members[x->first_member
							     + k];

		if (m->name ? n->name && !strcmp(n->name, m->name)
			    : !n->name && anon++ == k_anon)
			return n;
	}
	return NULL;
}

static void compare_members(struct differ *d, const char *name,
			    const struct cm_type *xa, const struct cm_type *xb)
{
	uint32_t anon = 0;

	for (uint32_t k = 0; k < xa->member_count; k++) {
		const struct cm_type_member *m =
			&d->a->members[xa->first_member + k];
		const struct cm_type_member *n =
			find_member(d->b, xb, m, m->name ? 0 : anon++);
		const char *f = m->name ? m->name : "(anonymous)";
		char sa[160], sb[160];

		if (!n) {
			say(d, "%s: field '%s' is in the blob, not in %s",
			    name, f, d->b_name);
			continue;
		}
		if (m->offset != n->offset || m->bit_offset != n->bit_offset)
			say(d, "%s: field '%s' at offset %" PRIu64 "%s in the "
			    "blob, %" PRIu64 "%s in %s", name, f,
			    m->offset, m->bit_size ? " (bitfield)" : "",
			    n->offset, n->bit_size ? " (bitfield)" : "",
			    d->b_name);
		if (m->bit_size != n->bit_size)
			say(d, "%s: field '%s' is %u bits wide in the blob, "
			    "%u in %s", name, f, m->bit_size, n->bit_size,
			    d->b_name);
		if (!same_shape(d, m->type, n->type)) {
			shape(d->a, m->type, sa, sizeof sa);
			shape(d->b, n->type, sb, sizeof sb);
			say(d, "%s: field '%s' is %s in the blob, %s in %s",
			    name, f, sa, sb, d->b_name);
		}
	}
	for (uint32_t k = 0; k < xb->member_count; k++) {
		const struct cm_type_member *n =
			&d->b->members[xb->first_member + k];

		if (n->name && !find_member(d->a, xa, n, 0))
			say(d, "%s: field '%s' is in %s, not in the blob",
			    name, n->name, d->b_name);
	}
}

static void compare_enum(struct differ *d, const char *name,
			 const struct cm_type *xa, const struct cm_type *xb)
{
	for (uint32_t k = 0; k < xa->member_count; k++) {
		const struct cm_type_member *m =
			&d->a->members[xa->first_member + k];
		const struct cm_type_member *n = find_member(d->b, xb, m, 0);

		if (!n)
			say(d, "%s: enumerator '%s' is in the blob, not in %s",
			    name, m->name ? m->name : "?", d->b_name);
		else if (n->offset != m->offset)
			say(d, "%s: enumerator '%s' is %" PRId64 " in the blob, "
			    "%" PRId64 " in %s", name, m->name,
			    (int64_t)m->offset, (int64_t)n->offset, d->b_name);
	}
}

static void compare(struct differ *d, uint32_t a, uint32_t b)
{
	const struct cm_type *xa = &d->a->types[a], *xb = &d->b->types[b];
	const char *name = xa->name ? xa->name : "(anonymous)";

	if (xa->kind != xb->kind) {
		say(d, "%s: a %s in the blob, a %s in %s", name,
		    kind_word(xa->kind), kind_word(xb->kind), d->b_name);
		return;
	}
	if (xa->size != xb->size)
		say(d, "%s: %" PRIu64 " bytes in the blob, %" PRIu64 " in %s",
		    name, xa->size, xb->size, d->b_name);
	if (xa->kind == CM_TYPE_ENUM)
		compare_enum(d, name, xa, xb);
	else
		compare_members(d, name, xa, xb);
}

size_t types_diff(const struct cm_types *blob, const struct cm_types *consumer,
		  const char *consumer_name,
		  void (*report)(void *ctx, const char *line), void *ctx)
{
	struct differ d = { .a = blob, .b = consumer, .b_name = consumer_name,
			    .report = report, .ctx = ctx };

	d.pair = calloc(blob->type_count, sizeof *d.pair);
	d.queue = calloc(blob->type_count, sizeof *d.queue);
	if (!d.pair || !d.queue) {
		free(d.pair);
		free(d.queue);
		say(&d, "out of memory comparing layouts");
		return d.count;
	}
	/* The roots are the same object, whatever their names. */
	if (!same_shape(&d, blob->root, consumer->root)) {
		char sa[160], sb[160];

		shape(blob, blob->root, sa, sizeof sa);
		shape(consumer, consumer->root, sb, sizeof sb);
		say(&d, "the root is %s in the blob, %s in %s", sa, sb,
		    consumer_name);
	}
	for (uint32_t i = 0; i < blob->type_count; i++) {
		const struct cm_type *x = &blob->types[i];
		uint32_t j;

		if (!x->name || (x->kind != CM_TYPE_STRUCT
				 && x->kind != CM_TYPE_UNION
				 && x->kind != CM_TYPE_ENUM))
			continue;
		if (d.pair[i])
			continue;	/* paired from the root */
		j = cm_types_find(consumer, x->name);
		if (j != CM_TYPE_NONE)
			pair_up(&d, i, j);
	}
	/* Named pairs first, then anonymous members they lead to. */
	for (size_t q = 0; q < d.nqueue; q++)
		compare(&d, d.queue[q], d.pair[d.queue[q]] - 1);
	free(d.pair);
	free(d.queue);
	return d.count;
}
