/* SPDX-License-Identifier: MIT */
/* Typed dump: a blob's data as the C structs it holds, text, JSON or dot. */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>

#include "typed-internal.h"

#define INDENT_MAX 32	/* deeper levels print at this indentation */

/* One aggregate being printed: its fields, or its elements, one by one. */
struct dframe {
	uint64_t off;		/* blob offset of the aggregate */
	uint32_t type;
	uint32_t idx;		/* next member or element */
	uint32_t level;		/* nesting, for indentation */
	uint32_t depth;		/* pointers followed to get here */
	uint64_t closers;	/* finished parents still to close after it */
	bool header;		/* JSON: "$offset" and "$type" came first */
	bool flat;		/* an anonymous struct: its fields are the
				 * parent's (p->x), no braces of its own */
	bool comma;		/* flat: a field came before its first */
};

/* Output through a buffer of our own: a typed dump of a large blob is
 * hundreds of megabytes of small pieces, too many for stdio calls. */
#define OBUF_SIZE (1 << 16)

struct dumper {
	FILE *out;
	char obuf[OBUF_SIZE];
	size_t on;
	const struct tblob *tb;
	const struct typed_dump_opts *o;
	struct seen_set seen;
	struct dframe *st;
	size_t top, cap;
	uint64_t objects;
	bool json;
	char *why;
};

static void oflush(struct dumper *d)
{
	fwrite(d->obuf, 1, d->on, d->out);
	d->on = 0;
}

static void owrite(struct dumper *d, const char *s, size_t n)
{
	if (d->on + n > OBUF_SIZE) {
		oflush(d);
		if (n > OBUF_SIZE) {
			fwrite(s, 1, n, d->out);
			return;
		}
	}
	memcpy(d->obuf + d->on, s, n);
	d->on += n;
}

static inline void ochar(struct dumper *d, char c)
{
	if (d->on == OBUF_SIZE)
		oflush(d);
	d->obuf[d->on++] = c;
}

static void oputs(struct dumper *d, const char *s)
{
	owrite(d, s, strlen(s));
}

static void oprintf(struct dumper *d, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void oprintf(struct dumper *d, const char *fmt, ...)
{
	size_t room;
	va_list ap;
	int n;

	if (OBUF_SIZE - d->on < 512)
		oflush(d);
	room = OBUF_SIZE - d->on;
	va_start(ap, fmt);
	n = vsnprintf(d->obuf + d->on, room, fmt, ap);
	va_end(ap);
	if (n > 0)
		d->on += (size_t)n < room ? (size_t)n : room - 1;
}

/* A number in decimal, without printf's format parsing. */
static void ou64(struct dumper *d, uint64_t v)
{
	char b[24];
	size_t i = sizeof b;

	do {
		b[--i] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	owrite(d, b + i, sizeof b - i);
}

static void oi64(struct dumper *d, int64_t v)
{
	if (v < 0) {
		ochar(d, '-');
		ou64(d, -(uint64_t)v);
	} else {
		ou64(d, (uint64_t)v);
	}
}

static void indent(struct dumper *d, uint32_t level)
{
	ochar(d, '\n');
	for (uint32_t i = 0; i < (level < INDENT_MAX ? level : INDENT_MAX); i++)
		owrite(d, "  ", 2);
}

/* A quoted, escaped string of n bytes (JSON escapes suit C readers too);
 * runs of plain bytes are copied whole. */
static void quoted(struct dumper *d, const uint8_t *s, size_t n)
{
	ochar(d, '"');
	for (size_t i = 0; i < n;) {
		size_t run = i;
		uint8_t c;

		while (run < n && s[run] >= 0x20 && s[run] < 0x7f
		       && s[run] != '"' && s[run] != '\\')
			run++;
		owrite(d, (const char *)s + i, run - i);
		if (run == n)
			break;
		c = s[run];
		if (c == '"' || c == '\\')
			oprintf(d, "\\%c", c);
		else if (c == '\n')
			owrite(d, "\\n", 2);
		else if (c == '\t')
			owrite(d, "\\t", 2);
		else
			oprintf(d, "\\u%04x", c);
		i = run + 1;
	}
	ochar(d, '"');
}

/* A string at blob offset t: quoted, cut at the bound. */
static void string_at(struct dumper *d, uint64_t t)
{
	const uint8_t *s = d->tb->b + t;
	uint64_t room = d->tb->h.data_end - t;
	const uint8_t *nul = memchr(s, 0, room);
	size_t n = nul ? (size_t)(nul - s) : (size_t)room;
	size_t cut = n > d->o->string_max ? d->o->string_max : n;

	if (!nul) {
		oprintf(d, d->json ? "{\"$error\": \"string at %" PRIu64
			" runs past the data end\"}"
			: "<error: string at 0x%" PRIx64 " runs past the data "
			  "end>", t);
		return;
	}
	if (cut < n && d->json)
		oputs(d, "{\"$string\": ");
	quoted(d, s, cut);
	if (cut < n)
		oprintf(d, d->json ? ", \"$length\": %zu}"
				      : "... (%zu bytes)", n);
}

static int64_t sign_extend(uint64_t v, unsigned bits)
{
	if (bits >= 64)
		return (int64_t)v;
	return (int64_t)(v << (64 - bits)) >> (64 - bits);
}

static void number(struct dumper *d, uint64_t v, bool is_signed,
		   unsigned bits)
{
	if (d->o->hex)
		oprintf(d, d->json ? "\"0x%" PRIx64 "\"" : "0x%" PRIx64,
			bits < 64 ? v & ((UINT64_C(1) << bits) - 1) : v);
	else if (is_signed)
		oi64(d, sign_extend(v, bits));
	else
		ou64(d, v);
}

static void floating(struct dumper *d, const uint8_t *p, uint64_t size)
{
	long double x;

	if (size == 4) {
		float f;

		memcpy(&f, p, 4);
		x = f;
	} else if (size == 8) {
		double f;

		memcpy(&f, p, 8);
		x = f;
	} else {
		memcpy(&x, p, sizeof x < size ? sizeof x : size);
	}
	if (!isfinite(x))
		oprintf(d, d->json ? "\"%Lg\"" : "%Lg", x);
	else
		oprintf(d, size == 4 ? "%.9Lg" : "%.17Lg", x);
}

static void enum_value(struct dumper *d, const struct cm_type *x,
		       uint64_t v, unsigned bits)
{
	const struct cm_types *t = d->tb->t;
	bool sg = x->flags & CM_TYPE_SIGNED;
	uint64_t want = sg ? (uint64_t)sign_extend(v, bits) : v;

	for (uint32_t k = 0; k < x->member_count; k++) {
		const struct cm_type_member *m = &t->members[x->first_member
							     + k];

		if (m->offset == want && m->name) {
			oprintf(d, d->json ? "\"%s\"" : "%s", m->name);
			return;
		}
	}
	number(d, v, sg, bits);
}

/* A union: raw bytes, since which member is live is not recorded. */
static void union_raw(struct dumper *d, uint64_t off, const struct cm_type *x)
{
	oputs(d, d->json ? "{\"$union\": \"" : "<union, shown raw: ");
	for (uint64_t i = 0; i < x->size && i < 256; i++)
		oprintf(d, "%02x", d->tb->b[off + i]);
	oputs(d, x->size > 256 ? "..." : "");
	oputs(d, d->json ? "\", \"$note\": \"which member is live is not "
			"recorded\"}"
		      : ">");
}

static int push(struct dumper *d, struct dframe f)
{
	if (d->top == d->cap) {
		size_t c = d->cap ? d->cap * 2 : 256;
		struct dframe *s = realloc(d->st, c * sizeof *s);

		if (!s) {
			snprintf(d->why, TYPES_WHY_MAX, "out of memory");
			return -1;
		}
		d->st = s;
		d->cap = c;
	}
	d->st[d->top++] = f;
	return 0;
}

static bool is_aggregate(const struct cm_type *x)
{
	return x->kind == CM_TYPE_STRUCT || x->kind == CM_TYPE_ARRAY;
}

static bool char_array(const struct cm_types *t, const struct cm_type *x)
{
	return x->kind == CM_TYPE_ARRAY && is_char(t, x->target);
}

/* Open an aggregate (its frame then prints the inside). */
static int open_aggregate(struct dumper *d, uint64_t off, uint32_t ty,
			  uint32_t level, uint32_t depth, bool object)
{
	const struct cm_type *x = &d->tb->t->types[ty];

	if (object && d->json) {
		owrite(d, "{\"$offset\": ", 12);
		ou64(d, off);
		owrite(d, ", \"$type\": ", 11);
		quoted(d, (const uint8_t *)(x->name ? x->name : "?"),
		       strlen(x->name ? x->name : "?"));
		oputs(d, x->kind == CM_TYPE_ARRAY ? ", \"$elements\": [" : "");
	} else if (object) {
		oprintf(d, "%s @0x%" PRIx64 " ",
			x->name ? x->name : "(anonymous)", off);
	}
	if (!object || !d->json || x->kind != CM_TYPE_ARRAY)
		oputs(d, x->kind == CM_TYPE_ARRAY ? "[" : object && d->json
			  ? "" : "{");
	return push(d, (struct dframe){ .off = off, .type = ty,
				       .level = level, .depth = depth,
				       .header = object && d->json
						 && x->kind != CM_TYPE_ARRAY,
				       .closers = object && d->json
						  && x->kind == CM_TYPE_ARRAY });
}

/* Pop finished struct frames under a pointer about to be followed, so a
 * long list does not stack a frame a node: the child closes them. */
static uint64_t elide_finished(struct dumper *d)
{
	uint64_t closers = 0;

	while (d->top) {
		struct dframe *f = &d->st[d->top - 1];
		const struct cm_type *x = &d->tb->t->types[f->type];

		if (x->kind != CM_TYPE_STRUCT || f->idx < x->member_count)
			break;
		closers += !f->flat + f->closers;
		d->top--;
	}
	return closers;
}

static int pointer_value(struct dumper *d, uint64_t at, uint32_t ptr,
			 uint32_t level, uint32_t depth, bool last)
{
	const struct tblob *tb = d->tb;
	const struct cm_types *t = tb->t;
	uint32_t to = t->types[ptr].target;
	uint64_t v = tload64(tb, at), target;
	const struct cm_type *x;
	int fresh;

	if (!v) {
		oputs(d, d->json ? "null" : "NULL");
		return 0;
	}
	x = to == CM_TYPE_NONE ? NULL : &t->types[to];
	/* First, as typed verification: any address is wrong there. */
	if (x && x->kind == CM_TYPE_FUNCTION) {
		oputs(d, d->json ? "{\"$error\": \"function pointer: never valid "
				"in a blob\"}"
			      : "<error: a function pointer is never valid in "
				"a blob>");
		return 0;
	}
	if (!tblob_is_slot(tb, at)) {
		oprintf(d, d->json ? "{\"$error\": \"not a recorded slot"
			"\", \"value\": %" PRIu64 "}"
			: "<error: 0x%" PRIx64 " is not a recorded slot>", v);
		return 0;
	}
	target = tblob_target(tb, v);
	if (!x || x->kind == CM_TYPE_OPAQUE) {
		oprintf(d, d->json ? "{\"$offset\": %" PRIu64 "}"
					: "@0x%" PRIx64, target);
		return 0;
	}
	if (x->kind == CM_TYPE_CHAR) {
		string_at(d, target);
		return 0;
	}
	if (x->size > tb->h.data_end - target) {
		oprintf(d, d->json ? "{\"$error\": \"target does not fit "
			"in the data\", \"$offset\": %" PRIu64 "}"
			: "<error: target @0x%" PRIx64 " does not fit in the "
			  "data>", target);
		return 0;
	}
	if ((d->o->depth && depth >= d->o->depth)
	    || (d->o->max_objects && d->objects >= d->o->max_objects)) {
		oprintf(d, d->json ? "{\"$ref\": %" PRIu64 ", \"$cut\": "
			"true}" : "-> @0x%" PRIx64 " (not followed)", target);
		return 0;
	}
	fresh = seen_add(&d->seen, target, to);
	if (fresh < 0) {
		snprintf(d->why, TYPES_WHY_MAX, "out of memory");
		return -1;
	}
	if (!fresh) {
		if (d->json) {
			owrite(d, "{\"$ref\": ", 9);
			ou64(d, target);
			ochar(d, '}');
		} else {
			oprintf(d, "-> @0x%" PRIx64 " (seen)", target);
		}
		return 0;
	}
	d->objects++;
	if (!d->json)
		oputs(d, "-> ");
	if (!is_aggregate(x)) {
		/* A pointer to a scalar: the scalar, in an object. */
		if (d->json)
			oprintf(d, "{\"$offset\": %" PRIu64
				", \"$value\": ", target);
		else
			oprintf(d, "@0x%" PRIx64 " ", target);
		return 1;	/* the caller prints the value, then closes */
	}
	if (char_array(t, x)) {
		string_at(d, target);
		return 0;
	}
	{
		uint64_t closers = last ? elide_finished(d) : 0;

		if (open_aggregate(d, target, to, level, depth + 1, true))
			return -1;
		d->st[d->top - 1].closers += closers;
	}
	return 0;
}

/* One value of type ty at off (bits for a bitfield). Aggregates open a
 * frame; `last`: nothing follows it in its parent. */
static int value(struct dumper *d, uint64_t off, uint32_t ty, uint32_t bo,
		 uint32_t bs, uint32_t level, uint32_t depth, bool last)
{
	const struct cm_types *t = d->tb->t;
	const struct cm_type *x = &t->types[ty];
	const uint8_t *p = d->tb->b + off;
	unsigned bits = bs ? bs : (unsigned)(x->size * 8);
	uint64_t v;
	int rc;

	for (unsigned hops = 0; hops < 64; hops++) {
		switch (x->kind) {
		case CM_TYPE_INT:
		case CM_TYPE_UINT:
		case CM_TYPE_CHAR:
			if (x->size > 8) {
				oputs(d, d->json ? "\"0x" : "0x");
				for (uint64_t i = x->size; i--;)
					oprintf(d, "%02x", p[i]);
				oputs(d, d->json ? "\"" : "");
				return 0;
			}
			v = field_bits(p, x->size, bo, bs);
			number(d, v, x->kind == CM_TYPE_INT
				     || (x->flags & CM_TYPE_SIGNED), bits);
			if (x->kind == CM_TYPE_CHAR && !d->json && v >= 0x20
			    && v < 0x7f)
				oprintf(d, " '%c'", (char)v);
			return 0;
		case CM_TYPE_BOOL:
			v = field_bits(p, 1, bo, bs);
			if (v > 1)
				number(d, v, false, bits);
			else
				oputs(d, v ? "true" : "false");
			return 0;
		case CM_TYPE_FLOAT:
			floating(d, p, x->size);
			return 0;
		case CM_TYPE_ENUM:
			enum_value(d, x, field_bits(p, x->size, bo, bs), bits);
			return 0;
		case CM_TYPE_UNION:
			union_raw(d, off, x);
			return 0;
		case CM_TYPE_POINTER:
			rc = pointer_value(d, off, ty, level, depth, last);
			if (rc != 1)
				return rc;
			/* A pointer to a scalar: print it here. */
			ty = x->target;
			x = &t->types[ty];
			off = tblob_target(d->tb, tload64(d->tb, off));
			p = d->tb->b + off;
			bits = (unsigned)(x->size * 8);
			bo = bs = 0;
			if (x->kind == CM_TYPE_POINTER) {
				rc = pointer_value(d, off, ty, level, depth,
						   false);
				oputs(d, d->json ? "}" : "");
				return rc < 0 ? -1 : 0;
			}
			rc = value(d, off, ty, 0, 0, level, depth + 1, false);
			oputs(d, d->json ? "}" : "");
			return rc;
		case CM_TYPE_ARRAY:
			if (char_array(t, x)) {
				const uint8_t *nul = memchr(p, 0, x->size);
				size_t n = nul ? (size_t)(nul - p)
					       : (size_t)x->size;

				quoted(d, p, n > d->o->string_max
						  ? d->o->string_max : n);
				return 0;
			}
			return open_aggregate(d, off, ty, level, depth, false);
		case CM_TYPE_STRUCT:
			return open_aggregate(d, off, ty, level, depth, false);
		default:
			oputs(d, d->json ? "null" : "<no value>");
			return 0;
		}
	}
	return 0;
}

static void close_frame(struct dumper *d, const struct dframe *f)
{
	const struct cm_type *x = &d->tb->t->types[f->type];
	uint64_t n = f->closers;

	if (!f->flat) {
		if (!d->json)
			indent(d, f->level);
		oputs(d, x->kind == CM_TYPE_ARRAY ? "]" : "}");
	}
	for (uint64_t i = 0; i < n; i++) {
		uint32_t lv = f->level > i + 1 ? f->level - (uint32_t)i - 1 : 0;

		if (!d->json)
			indent(d, lv);
		oputs(d, "}");
	}
}

/* Print the frames until the stack is empty. */
static int run(struct dumper *d)
{
	const struct cm_types *t = d->tb->t;

	while (d->top) {
		struct dframe *f = &d->st[d->top - 1];
		const struct cm_type *x = &t->types[f->type];
		uint32_t n = x->kind == CM_TYPE_ARRAY ? x->count
						      : x->member_count;
		uint32_t i = f->idx, level = f->level + 1, depth = f->depth;
		uint64_t at;
		bool last;

		if (i >= n) {
			struct dframe done = *f;

			d->top--;
			close_frame(d, &done);
			continue;
		}
		f->idx++;
		last = i + 1 == n;
		if (x->kind == CM_TYPE_ARRAY) {
			at = f->off + (uint64_t)i * t->types[x->target].size;
			if (d->json)
				oputs(d, i ? ", " : "");
			else
				indent(d, level);
			if (value(d, at, x->target, 0, 0, level, depth, last))
				return -1;
			continue;
		}
		{
			const struct cm_type_member *m =
				&t->members[x->first_member + i];
			const char *name = m->name ? m->name : "(anonymous)";
			bool comma = i || f->header || f->comma;

			at = f->off + m->offset;
			if (!m->name && !m->bit_size
			    && t->types[m->type].kind == CM_TYPE_STRUCT) {
				if (push(d, (struct dframe){
						.off = at, .type = m->type,
						.level = f->level,
						.depth = depth, .flat = true,
						.comma = comma }))
					return -1;
				continue;
			}
			if (d->json) {
				oputs(d, comma ? ", " : "");
				quoted(d, (const uint8_t *)name,
				       strlen(name));
				oputs(d, ": ");
			} else {
				indent(d, level);
				oprintf(d, "%s = ", name);
			}
			if (value(d, at, m->type, m->bit_offset, m->bit_size,
				  level, depth, last))
				return -1;
		}
	}
	return 0;
}

/* ---- --path root->next->s ---- */

/* The member `name` of struct/union ty, found through anonymous members
 * at any depth as C finds it; its offset added to *off. Field types come
 * before their owners, so the nesting is bounded by the type count. */
static bool member_named(const struct cm_types *t, uint32_t *ty,
			 uint64_t *off, const char *name, size_t len,
			 const struct cm_type_member **out)
{
	const struct cm_type *x = &t->types[*ty];

	if (x->kind != CM_TYPE_STRUCT && x->kind != CM_TYPE_UNION)
		return false;
	for (uint32_t k = 0; k < x->member_count; k++) {
		const struct cm_type_member *m =
			&t->members[x->first_member + k];
		uint32_t inner = m->type;
		uint64_t inner_off = *off + m->offset;

		if (m->name && strlen(m->name) == len
		    && !memcmp(m->name, name, len)) {
			*off = inner_off;
			*ty = m->type;
			*out = m;
			return true;
		}
		if (!m->name && member_named(t, &inner, &inner_off, name, len,
					     out)) {
			*off = inner_off;
			*ty = inner;
			return true;
		}
	}
	return false;
}

static int path_fail(char *why, const char *path, size_t at, const char *what)
{
	snprintf(why, TYPES_WHY_MAX, "--path %s: at '%s': %s", path,
		 path + at, what);
	return -1;
}

/* Resolve --path to a value: its offset, type and bits. */
static int resolve_path(const struct tblob *tb, const char *path,
			uint64_t *off, uint32_t *ty,
			const struct cm_type_member **mem, char *why)
{
	const struct cm_types *t = tb->t;
	size_t i = 4;

	if (strncmp(path, "root", 4))
		return path_fail(why, path, 0, "a path starts with 'root'");
	*off = tb->h.root;
	*ty = t->root;
	*mem = NULL;
	/* "root" names the root object; "root->f" its member f. */
	if (!strncmp(path + 4, "->", 2)) {
		i = 4;
	}
	while (path[i]) {
		const char *s = path + i;
		size_t start = i;

		if (s[0] == '[') {
			char *end;
			unsigned long long k = strtoull(s + 1, &end, 10);
			const struct cm_type *x = &t->types[*ty];

			if (*end != ']' || x->kind != CM_TYPE_ARRAY
			    || k >= x->count)
				return path_fail(why, path, start, "not an "
						 "index of an array");
			*ty = x->target;
			*off += k * t->types[*ty].size;
			*mem = NULL;
			i = (size_t)(end + 1 - path);
			continue;
		}
		if (!strncmp(s, "->", 2) && start > 4) {
			const struct cm_type *x = &t->types[*ty];
			uint64_t v;

			if (x->kind != CM_TYPE_POINTER)
				return path_fail(why, path, start, "'->' on "
						 "no pointer");
			v = tload64(tb, *off);
			if (!v || !tblob_is_slot(tb, *off)
			    || x->target == CM_TYPE_NONE)
				return path_fail(why, path, start, "a NULL, "
						 "void or unrecorded pointer");
			*off = tblob_target(tb, v);
			*ty = x->target;
			if (t->types[*ty].size > tb->h.data_end - *off)
				return path_fail(why, path, start, "target "
						 "outside the data");
			i += 2;
		} else if (!strncmp(s, "->", 2)) {
			i += 2;	/* root->: the root object's member */
		} else if (s[0] == '.') {
			i += 1;
		} else {
			return path_fail(why, path, start, "expected '->', "
					 "'.' or '['");
		}
		{
			size_t len = strcspn(path + i, "-.[");

			if (!len || !member_named(t, ty, off, path + i, len,
						  mem))
				return path_fail(why, path, start, "no such "
						 "field");
			i += len;
		}
	}
	return 0;
}

/* ---- dot ---- */

static void dot_label_scalar(struct dumper *d, uint64_t off,
			     const struct cm_type_member *m)
{
	const struct cm_type *x = &d->tb->t->types[m->type];

	if (x->kind == CM_TYPE_STRUCT || x->kind == CM_TYPE_UNION
	    || (x->kind == CM_TYPE_ARRAY && !char_array(d->tb->t, x))) {
		oputs(d, "...");
		return;
	}
	if (x->kind == CM_TYPE_POINTER) {
		uint64_t v = tload64(d->tb, off + m->offset);

		oputs(d, v ? "*" : "NULL");
		return;
	}
	/* Scalars through the JSON printer: quotes escaped for dot. */
	d->json = true;
	value(d, off + m->offset, m->type, m->bit_offset, m->bit_size, 0, 0,
	      false);
}

static int dump_dot(struct dumper *d)
{
	const struct tblob *tb = d->tb;
	const struct cm_types *t = tb->t;
	struct flats fs = { calloc(t->type_count, sizeof(struct flat)) };
	struct { uint64_t off; uint32_t type; } *todo = NULL;
	size_t n = 0, cap = 0;
	int rc = 0;

	if (!fs.by_type)
		return -1;
	oputs(d, "digraph cma {\n  node [shape=record, fontname=monospace];\n");
	seen_add(&d->seen, tb->h.root, t->root);
	todo = malloc(sizeof *todo * (cap = 256));
	if (!todo)
		goto nomem;
	todo[n].off = tb->h.root;
	todo[n++].type = t->root;
	while (n && rc == 0) {
		uint64_t off = todo[--n].off;
		uint32_t ty = todo[n].type;
		const struct cm_type *x = &t->types[ty];
		const struct flat *f = flat_of(tb, &fs, ty);

		if (!f)
			goto nomem;
		d->objects++;
		oprintf(d, "  n%" PRIx64 " [label=\"{%s @0x%" PRIx64,
			off, x->name ? x->name : "(anonymous)", off);
		for (uint32_t k = 0; x->kind == CM_TYPE_STRUCT
		     && k < x->member_count; k++) {
			const struct cm_type_member *m =
				&t->members[x->first_member + k];
			FILE *real = d->out;
			char *buf = NULL;
			size_t blen = 0;

			oflush(d);
			d->out = open_memstream(&buf, &blen);
			if (!d->out) {
				d->out = real;
				goto nomem;
			}
			dot_label_scalar(d, off, m);
			oflush(d);
			fclose(d->out);
			d->out = real;
			oprintf(d, "|<f%u>%s = ", k,
				m->name ? m->name : "(anonymous)");
			for (size_t c = 0; c < blen && c < 64; c++)
				oprintf(d, "%s%c", strchr("\"{}<>|\\",
							       buf[c])
					? "\\" : "", buf[c]);
			free(buf);
		}
		oputs(d, "}\"];\n");
		for (size_t k = 0; k < f->n; k++) {
			const struct flat_entry *e = &f->e[k];
			uint64_t at = off + e->off, v = tload64(tb, at), tg;

			if (e->kind != FLAT_POINTER || !v
			    || e->target == CM_TYPE_NONE
			    || !tblob_is_slot(tb, at)
			    || is_char(t, e->target))
				continue;
			tg = tblob_target(tb, v);
			if (t->types[e->target].size > tb->h.data_end - tg)
				continue;
			oprintf(d, "  n%" PRIx64 " -> n%" PRIx64
				" [label=\"+%" PRIu64 "\"];\n", off, tg,
				e->off);
			if ((d->o->max_objects
			     && d->objects + n >= d->o->max_objects)
			    || seen_add(&d->seen, tg, e->target) != 1)
				continue;
			if (n == cap) {
				void *p = realloc(todo, sizeof *todo
						  * (cap *= 2));
				if (!p)
					goto nomem;
				todo = p;
			}
			todo[n].off = tg;
			todo[n++].type = e->target;
		}
	}
	oputs(d, "}\n");
	goto out;
nomem:
	snprintf(d->why, TYPES_WHY_MAX, "out of memory");
	rc = -1;
out:
	free(todo);
	flats_free(&fs, t->type_count);
	return rc;
}

int typed_dump(FILE *out, const uint8_t *blob, size_t len,
	       const struct cm_types *t, const struct typed_dump_opts *o,
	       char why[TYPES_WHY_MAX])
{
	struct tblob tb;
	struct dumper d = { .out = out, .tb = &tb, .o = o, .why = why,
			    .json = o->format == TYPED_JSON };
	uint64_t off;
	uint32_t ty;
	const struct cm_type_member *m;
	int rc = -1;

	why[0] = 0;
	if (tblob_open(&tb, blob, len, t)) {
		snprintf(why, TYPES_WHY_MAX, "cannot read the blob: %s",
			 strerror(errno));
		return -1;
	}
	if (seen_init(&d.seen, &tb)) {
		snprintf(why, TYPES_WHY_MAX, "out of memory");
		goto out;
	}
	if (t->types[t->root].size > tb.h.data_end - tb.h.root) {
		snprintf(why, TYPES_WHY_MAX, "the root type %s (%" PRIu64
			 " bytes) does not fit in the data at the root",
			 types_root_name(t), t->types[t->root].size);
		goto out;
	}
	if (o->format == TYPED_DOT) {
		rc = dump_dot(&d);
		goto out;
	}
	if (o->path) {
		if (resolve_path(&tb, o->path, &off, &ty, &m, why))
			goto out;
	} else {
		off = tb.h.root;
		ty = t->root;
		m = NULL;
	}
	seen_add(&d.seen, off, ty);
	d.objects = 1;
	if (!d.json)
		oprintf(&d, "%s: ", o->path ? o->path : "root");
	if (!o->path && is_aggregate(&t->types[ty])
	    && !char_array(t, &t->types[ty]))
		rc = open_aggregate(&d, off, ty, 0, 0, true);
	else
		rc = value(&d, off, ty, m ? m->bit_offset : 0,
			   m ? m->bit_size : 0, 0, 0, false);
	if (rc == 0)
		rc = run(&d);
	ochar(&d, '\n');
out:
	oflush(&d);
	free(d.st);
	seen_free(&d.seen);
	tblob_close(&tb);
	return rc;
}
