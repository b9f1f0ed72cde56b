/* SPDX-License-Identifier: MIT */
/* Typed verification: walk every object reachable from the root by type. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

#include "typed-internal.h"

/* Pointer fields one type may hold by value (its arrays unrolled). */
#define FLAT_MAX (1u << 24)

const char *types_root_name(const struct cm_types *t)
{
	const char *n = t->types[t->root].name;

	return n ? n : "(anonymous type)";
}

/* ---- the blob ---- */

static bool *types_with_pointers(const struct cm_types *t)
{
	bool *has = calloc(t->type_count ? t->type_count : 1, sizeof *has);

	if (!has)
		return NULL;
	/* A field's type comes before its owner: one pass, in order. */
	for (uint32_t i = 0; i < t->type_count; i++) {
		const struct cm_type *ty = &t->types[i];

		if (ty->kind == CM_TYPE_POINTER)
			has[i] = true;
		else if (ty->kind == CM_TYPE_ARRAY)
			has[i] = ty->count && has[ty->target];
		else if (ty->kind == CM_TYPE_STRUCT
			 || ty->kind == CM_TYPE_UNION)
			for (uint32_t k = 0; k < ty->member_count; k++) {
				const struct cm_type_member *m =
					&t->members[ty->first_member + k];

				has[i] |= !m->bit_size && has[m->type];
			}
	}
	return has;
}

int tblob_open(struct tblob *tb, const uint8_t *b, size_t len,
	       const struct cm_types *t)
{
	ssize_t n;

	memset(tb, 0, sizeof *tb);
	tb->b = b;
	tb->len = len;
	tb->t = t;
	if (cm_header_read(b, len, &tb->h, NULL))
		return -1;
	tb->slots = malloc(tblob_bitmap_words(tb) * 8);
	tb->has_ptr = types_with_pointers(t);
	if (!tb->slots || !tb->has_ptr)
		goto nomem;
	if (cm_reloc_bitmap(b, len, tb->slots, tblob_bitmap_words(tb),
			    NULL) < 0)
		goto bad;
	n = cm_object_map(b, len, NULL, 0, NULL);
	if (n < 0)
		goto bad;
	if (n > 0) {
		tb->objs = malloc((size_t)n * sizeof *tb->objs);
		if (!tb->objs)
			goto nomem;
		tb->nobjs = (size_t)cm_object_map(b, len, tb->objs, (size_t)n,
						  NULL);
	}
	return 0;
bad:
	tblob_close(tb);
	errno = EBADMSG;
	return -1;
nomem:
	tblob_close(tb);
	errno = ENOMEM;
	return -1;
}

void tblob_close(struct tblob *tb)
{
	free(tb->slots);
	free(tb->objs);
	free(tb->has_ptr);
	tb->slots = NULL;
	tb->objs = NULL;
	tb->has_ptr = NULL;
}

const struct cm_object *tblob_object_at(const struct tblob *tb, uint64_t off)
{
	size_t lo = 0, hi = tb->nobjs;

	while (lo < hi) {	/* the first object ending past off */
		size_t mid = lo + (hi - lo) / 2;

		if (tb->objs[mid].offset + tb->objs[mid].size <= off)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < tb->nobjs && tb->objs[lo].offset <= off ? &tb->objs[lo]
							     : NULL;
}

/* ---- objects seen ---- */

int seen_init(struct seen_set *s, const struct tblob *tb)
{
	memset(s, 0, sizeof *s);
	s->type_count = tb->t->type_count;
	s->words = tblob_bitmap_words(tb);
	s->bitmap = calloc(s->type_count ? s->type_count : 1,
			   sizeof *s->bitmap);
	if (!s->bitmap) {
		errno = ENOMEM;
		return -1;
	}
	return 0;
}

void seen_free(struct seen_set *s)
{
	for (uint32_t i = 0; s->bitmap && i < s->type_count; i++)
		free(s->bitmap[i]);
	free(s->bitmap);
	free(s->more);
	memset(s, 0, sizeof *s);
}

static struct seen_key *more_slot(struct seen_key *set, size_t cap,
				  uint64_t off, uint32_t type)
{
	uint64_t mix = (off ^ (uint64_t)type << 40) * 0x9e3779b97f4a7c15ULL;
	size_t h = (size_t)(mix >> 24) & (cap - 1);

	while (set[h].used && (set[h].off != off || set[h].type != type))
		h = (h + 1) & (cap - 1);
	return &set[h];
}

static int more_add(struct seen_set *s, uint64_t off, uint32_t type)
{
	struct seen_key *k;

	if ((s->nmore + 1) * 2 > s->more_cap) {
		size_t cap = s->more_cap ? s->more_cap * 2 : 256;
		struct seen_key *n = calloc(cap, sizeof *n);

		if (!n) {
			errno = ENOMEM;
			return -1;
		}
		for (size_t i = 0; i < s->more_cap; i++)
			if (s->more[i].used)
				*more_slot(n, cap, s->more[i].off,
					   s->more[i].type) = s->more[i];
		free(s->more);
		s->more = n;
		s->more_cap = cap;
	}
	k = more_slot(s->more, s->more_cap, off, type);
	if (k->used)
		return 0;
	*k = (struct seen_key){ off, type, 1 };
	s->nmore++;
	return 1;
}

int seen_add(struct seen_set *s, uint64_t off, uint32_t type)
{
	uint64_t *m;

	if (off % 8 || type >= s->type_count)
		return more_add(s, off, type);
	m = s->bitmap[type];
	if (!m && s->nbitmaps < SEEN_BITMAPS) {
		m = s->bitmap[type] = calloc(s->words, 8);
		if (!m) {
			errno = ENOMEM;
			return -1;
		}
		s->nbitmaps++;
	}
	if (!m)
		return more_add(s, off, type);
	if (bit_get(m, off / 8))
		return 0;
	bit_set(m, off / 8);
	return 1;
}

uint64_t field_bits(const uint8_t *p, uint64_t size, uint32_t bit_offset,
		    uint32_t bit_size)
{
	uint64_t v = 0;

	if (!bit_size) {
		memcpy(&v, p, size < 8 ? size : 8);
		return v;
	}
	/* Bits [bit_offset, + bit_size) of the little-endian bytes at p. */
	for (uint32_t i = 0; i < bit_size; i++) {
		uint32_t b = bit_offset + i;

		v |= (uint64_t)(p[b / 8] >> (b % 8) & 1) << i;
	}
	return v;
}

/* ---- pointer fields of a type, flattened ---- */

struct frame {
	uint32_t type;
	uint32_t idx;
	uint64_t base;
};

static int flat_push(struct flat *f, size_t *cap, uint64_t off,
		     uint32_t kind, uint32_t target, uint64_t len)
{
	if (f->n == *cap) {
		size_t c = *cap ? *cap * 2 : 8;
		struct flat_entry *e;

		if (f->n >= FLAT_MAX) {
			errno = E2BIG;
			return -1;
		}
		e = realloc(f->e, c * sizeof *e);
		if (!e) {
			errno = ENOMEM;
			return -1;
		}
		f->e = e;
		*cap = c;
	}
	f->e[f->n++] = (struct flat_entry){ off, kind, target, len };
	return 0;
}

static int flat_pointer(const struct cm_types *t, struct flat *f,
			size_t *cap, uint64_t off, uint32_t ptr)
{
	uint32_t to = t->types[ptr].target;

	if (to != CM_TYPE_NONE && t->types[to].kind == CM_TYPE_FUNCTION)
		return flat_push(f, cap, off, FLAT_FUNCTION, to, 8);
	return flat_push(f, cap, off, FLAT_POINTER, to, 8);
}

/* Every pointer inside type `ty` by value, iteratively (nesting is as
 * deep as the type count at most). */
static int flatten(const struct tblob *tb, uint32_t ty, struct flat *f)
{
	const struct cm_types *t = tb->t;
	struct frame *st = malloc(((size_t)t->type_count + 1) * sizeof *st);
	size_t top = 0, cap = 0;
	int rc = 0;

	if (!st) {
		errno = ENOMEM;
		return -1;
	}
	f->done = true;
	st[top++] = (struct frame){ ty, 0, 0 };
	while (top && rc == 0) {
		struct frame *fr = &st[top - 1];
		const struct cm_type *x = &t->types[fr->type];
		uint32_t inner;
		uint64_t at;

		if (x->kind == CM_TYPE_POINTER) {
			rc = flat_pointer(t, f, &cap, fr->base, fr->type);
			top--;
			continue;
		}
		if (x->kind == CM_TYPE_UNION) {
			if (tb->has_ptr[fr->type])
				rc = flat_push(f, &cap, fr->base, FLAT_UNION,
					       fr->type, x->size);
			top--;
			continue;
		}
		if (x->kind == CM_TYPE_STRUCT && fr->idx < x->member_count) {
			const struct cm_type_member *m =
				&t->members[x->first_member + fr->idx++];

			if (m->bit_size || !tb->has_ptr[m->type])
				continue;
			inner = m->type;
			at = fr->base + m->offset;
		} else if (x->kind == CM_TYPE_ARRAY && fr->idx < x->count
			   && tb->has_ptr[x->target]) {
			inner = x->target;
			at = fr->base + fr->idx++ * t->types[inner].size;
		} else {
			top--;
			continue;
		}
		/* Nesting goes to lower indices: never more than the count. */
		st[top++] = (struct frame){ inner, 0, at };
	}
	free(st);
	return rc;
}

const struct flat *flat_of(const struct tblob *tb, struct flats *fs,
				  uint32_t ty)
{
	struct flat *f = &fs->by_type[ty];

	if (!f->done && flatten(tb, ty, f))
		return NULL;
	return f;
}

void flats_free(struct flats *fs, uint32_t n)
{
	for (uint32_t i = 0; fs->by_type && i < n; i++)
		free(fs->by_type[i].e);
	free(fs->by_type);
}

/* ---- paths ---- */

void path_start(struct path_text *p)
{
	strcpy(p->buf, "root");
	p->len = 4;
	p->last[0] = 0;
	p->run = 0;
}

static void path_put(struct path_text *p, const char *s)
{
	size_t n = strlen(s);

	if (p->len + n >= sizeof p->buf - 8) {
		if (p->len < sizeof p->buf - 4)
			strcpy(p->buf + p->len, "...");
		p->len = sizeof p->buf - 4;
		return;
	}
	memcpy(p->buf + p->len, s, n + 1);
	p->len += n;
}

/* A run of one pointer step: spelled out up to RUN_SPELLED, then
 * counted ("->next (x498)"). */
#define RUN_SPELLED 3

static void path_close_run(struct path_text *p)
{
	char count[32];

	if (p->run > RUN_SPELLED) {
		snprintf(count, sizeof count, " (x%" PRIu64 ")", p->run);
		path_put(p, count);
	} else {
		for (uint64_t i = 1; i < p->run; i++)
			path_put(p, p->last);
	}
	p->run = 0;
	p->last[0] = 0;
}

/* One step; repeated pointer steps (->next->next) are counted. */
static void path_step(struct path_text *p, const char *s, bool pointer)
{
	if (pointer && p->run && !strcmp(p->last, s)) {
		p->run++;
		return;
	}
	path_close_run(p);
	path_put(p, s);
	if (pointer && strlen(s) < sizeof p->last) {
		strcpy(p->last, s);
		p->run = 1;
	}
}

void path_fields(struct path_text *p, const struct cm_types *t, uint32_t ty,
		 uint64_t rel, bool after_pointer)
{
	char step[160];
	bool first = true;

	for (uint32_t hops = 0; hops <= t->type_count; hops++) {
		const struct cm_type *x = &t->types[ty];
		const char *sep = first && after_pointer ? "->" : ".";
		uint32_t next = CM_TYPE_NONE;

		if (x->kind == CM_TYPE_ARRAY && t->types[x->target].size) {
			uint64_t es = t->types[x->target].size, i = rel / es;

			snprintf(step, sizeof step, "[%" PRIu64 "]", i);
			path_step(p, step, false);
			rel -= i * es;
			ty = x->target;
			first = false;
			continue;
		}
		if (x->kind != CM_TYPE_STRUCT && x->kind != CM_TYPE_UNION)
			return;
		for (uint32_t k = 0; k < x->member_count; k++) {
			const struct cm_type_member *m =
				&t->members[x->first_member + k];
			uint64_t sz = t->types[m->type].size;

			if (m->bit_size || rel < m->offset
			    || rel - m->offset >= (sz ? sz : 1))
				continue;
			next = k;
			/* Prefer the member holding a pointer there. */
			if (t->types[m->type].kind == CM_TYPE_POINTER)
				break;
		}
		if (next == CM_TYPE_NONE)
			return;
		{
			const struct cm_type_member *m =
				&t->members[x->first_member + next];
			bool last = t->types[m->type].kind == CM_TYPE_POINTER;

			if (m->name) {
				snprintf(step, sizeof step, "%s%s", sep,
					 m->name);
				path_step(p, step, first && after_pointer
						   && last);
				first = false;
			}
			rel -= m->offset;
			ty = m->type;
		}
	}
}

const char *path_end(struct path_text *p)
{
	path_close_run(p);
	return p->buf;
}

/* ---- the walk ---- */

struct todo {
	uint64_t off;
	uint32_t type;
};

struct walker {
	const struct tblob *tb;
	struct flats flats;
	struct seen_set seen;
	struct todo *stack;
	size_t top, cap;
	uint64_t *consumed;	/* slots met at a pointer field */
	uint64_t *covered;	/* words of reached objects */
};

static int walker_push(struct walker *w, uint64_t off, uint32_t type)
{
	int fresh = seen_add(&w->seen, off, type);

	if (fresh <= 0)
		return fresh;
	if (w->top == w->cap) {
		size_t c = w->cap ? w->cap * 2 : 1024;
		struct todo *s = realloc(w->stack, c * sizeof *s);

		if (!s) {
			errno = ENOMEM;
			return -1;
		}
		w->stack = s;
		w->cap = c;
	}
	w->stack[w->top++] = (struct todo){ off, type };
	return 1;
}

static int walker_init(struct walker *w, const struct tblob *tb)
{
	memset(w, 0, sizeof *w);
	w->tb = tb;
	w->flats.by_type = calloc(tb->t->type_count, sizeof(struct flat));
	if (!w->flats.by_type || seen_init(&w->seen, tb)) {
		free(w->flats.by_type);
		errno = ENOMEM;
		return -1;
	}
	return 0;
}

static void walker_free(struct walker *w)
{
	flats_free(&w->flats, w->tb->t->type_count);
	seen_free(&w->seen);
	free(w->stack);
	free(w->consumed);
	free(w->covered);
}

/* Does an object of type `ty` fit at `target`? NULL, or why not. */
static const char *target_defect(const struct tblob *tb, uint64_t target,
				 uint32_t ty, char *buf, size_t len)
{
	const struct cm_type *x = &tb->t->types[ty];
	const char *name = x->name ? x->name : "the target type";
	const struct cm_object *o;

	if (x->size > tb->h.data_end - target) {
		snprintf(buf, len, "target object (%s, %" PRIu64 " bytes) at "
			 "0x%" PRIx64 " does not fit in the data (it ends at "
			 "0x%" PRIx64 ")", name, x->size, target,
			 tb->h.data_end);
		return buf;
	}
	if (!tb->objs || x->kind == CM_TYPE_OPAQUE)
		return NULL;
	o = tblob_object_at(tb, target);
	if (o && o->offset + o->size - target < x->size) {
		snprintf(buf, len, "the allocation at 0x%" PRIx64 " of %"
			 PRIu64 " bytes is smaller than %s (%" PRIu64
			 " bytes) at 0x%" PRIx64, o->offset, o->size, name,
			 x->size, target);
		return buf;
	}
	return NULL;
}

/* May the walk follow this pointer to an object? (the same rule in the
 * walk and in the search for paths) */
static bool followable(const struct tblob *tb, const struct flat_entry *e,
		       uint64_t at)
{
	char buf[8];
	uint64_t v = tload64(tb, at);

	return e->kind == FLAT_POINTER && v && e->target != CM_TYPE_NONE
	       && !is_char(tb->t, e->target)
	       && tb->t->types[e->target].kind != CM_TYPE_OPAQUE
	       && tblob_is_slot(tb, at)
	       && !target_defect(tb, tblob_target(tb, v), e->target, buf,
				 sizeof buf);
}

/* A DFS that keeps its path: frames of (object, type, next entry). */
struct pframe {
	uint64_t off;
	uint32_t type;
	uint32_t next;
};

const char *path_to(const struct tblob *tb, uint64_t obj, uint32_t obj_type,
		    uint64_t field, struct path_text *out)
{
	struct walker w;
	struct pframe *st = NULL;
	size_t top = 0, cap = 0;
	bool found = false;

	path_start(out);
	if (walker_init(&w, tb))
		return path_end(out);
	seen_add(&w.seen, tb->h.root, tb->t->root);
	st = malloc(sizeof *st * (cap = 1024));
	if (!st)
		goto out;
	st[top++] = (struct pframe){ tb->h.root, tb->t->root, 0 };
	while (top) {
		struct pframe *f = &st[top - 1];
		const struct flat *fl = flat_of(tb, &w.flats, f->type);
		uint64_t size = tb->t->types[f->type].size;

		if (obj_type == CM_TYPE_NONE ? field >= f->off
					       && field - f->off < size
					     : f->off == obj
					       && f->type == obj_type) {
			found = true;
			break;
		}
		if (!fl || f->next >= fl->n) {
			top--;
			continue;
		}
		{
			const struct flat_entry *e = &fl->e[f->next++];
			uint64_t at = f->off + e->off, t;

			if (!followable(tb, e, at))
				continue;
			t = tblob_target(tb, tload64(tb, at));
			if (seen_add(&w.seen, t, e->target) != 1)
				continue;
			if (top == cap) {
				struct pframe *n = realloc(st, sizeof *st
							   * (cap *= 2));
				if (!n)
					goto out;
				st = n;
			}
			st[top++] = (struct pframe){ t, e->target, 0 };
		}
	}
	if (found) {
		for (size_t k = 0; k + 1 < top; k++) {
			const struct flat *fl = flat_of(tb, &w.flats,
							st[k].type);

			path_fields(out, tb->t, st[k].type,
				    fl->e[st[k].next - 1].off, true);
		}
		path_fields(out, tb->t, st[top - 1].type,
			    field - st[top - 1].off, true);
	}
out:
	free(st);
	walker_free(&w);
	return path_end(out);
}

struct verify {
	struct walker w;
	const struct tblob *tb;
	size_t max_errors;
	void (*on_error)(void *ctx, const char *path, uint64_t offset,
			 const char *message);
	void *ctx;
	struct typed_report *rep;
	bool stop;
};

/* Each path is a second walk from the root: past this many defects, a
 * defect names the object holding it instead, so --all-errors on a blob
 * with a defect in every object stays linear. */
#define PATHS_SEARCHED_MAX 100

static void verify_error(struct verify *v, uint64_t obj, uint32_t type,
			 uint64_t at, const char *msg)
{
	struct path_text p;
	char where[64];
	const char *path = where;

	if (v->stop)
		return;
	v->rep->errors++;
	if (v->rep->errors <= PATHS_SEARCHED_MAX)
		path = path_to(v->tb, obj, type, at, &p);
	else if (type == CM_TYPE_NONE)
		snprintf(where, sizeof where, "an object reached from the "
			 "root");
	else
		snprintf(where, sizeof where, "the object at 0x%" PRIx64, obj);
	v->on_error(v->ctx, path, at, msg);
	if (v->max_errors && v->rep->errors >= v->max_errors)
		v->stop = true;
}

static void mark_range(uint64_t *m, uint64_t from, uint64_t len)
{
	for (uint64_t w = from / 8; w < (from + len + 7) / 8; w++)
		bit_set(m, w);
}

/* One pointer field of an object reached. */
static int verify_field(struct verify *v, const struct todo *o,
			const struct flat_entry *e)
{
	const struct tblob *tb = v->tb;
	uint64_t at = o->off + e->off, val = tload64(tb, at), t;
	char msg[CM_ERROR_MESSAGE_MAX * 2];
	const char *why;

	if (e->kind == FLAT_UNION) {
		/* A union's pointers cannot be told from its other
		 * members: any slot in it is accepted, none followed. */
		for (uint64_t w = (at + 7) / 8; w * 8 + 8 <= at + e->len; w++)
			if (bit_get(tb->slots, w))
				bit_set(v->w.consumed, w);
		return 0;
	}
	if (!val)
		return 0;
	if (e->kind == FLAT_FUNCTION) {
		snprintf(msg, sizeof msg, "function pointer 0x%" PRIx64
			 ": a function's address is never valid in a blob",
			 val);
		verify_error(v, o->off, o->type, at, msg);
		if (tblob_is_slot(tb, at))
			bit_set(v->w.consumed, at / 8);
		return 0;
	}
	if (!tblob_is_slot(tb, at)) {
		snprintf(msg, sizeof msg, "pointer field holds 0x%" PRIx64
			 " but is not a recorded slot (stored with '=' "
			 "instead of cm_ptr_to()?)", val);
		verify_error(v, o->off, o->type, at, msg);
		return 0;
	}
	bit_set(v->w.consumed, at / 8);
	v->rep->pointers++;
	t = tblob_target(tb, val);
	if (e->target == CM_TYPE_NONE
	    || tb->t->types[e->target].kind == CM_TYPE_OPAQUE)
		return 0;	/* void *: an offset, nothing to follow */
	if (is_char(tb->t, e->target)) {
		if (!memchr(tb->b + t, 0, tb->h.data_end - t)) {
			snprintf(msg, sizeof msg, "string at 0x%" PRIx64
				 " runs past the data end (0x%" PRIx64 ")", t,
				 tb->h.data_end);
			verify_error(v, o->off, o->type, at, msg);
		}
		return 0;
	}
	why = target_defect(tb, t, e->target, msg, sizeof msg);
	if (why) {
		verify_error(v, o->off, o->type, at, why);
		return 0;
	}
	return walker_push(&v->w, t, e->target) < 0 ? -1 : 0;
}

/* Slots no pointer field took: in a reached object, a layout mismatch;
 * elsewhere, unreachable data. */
static void leftover_slots(struct verify *v)
{
	const struct tblob *tb = v->tb;
	char msg[CM_ERROR_MESSAGE_MAX];

	for (size_t i = 0; i < tblob_bitmap_words(tb); i++) {
		uint64_t left = tb->slots[i] & ~v->w.consumed[i];

		while (left && !v->stop) {
			uint64_t word = i * 64 + (uint64_t)__builtin_ctzll(left);

			left &= left - 1;
			if (!bit_get(v->w.covered, word)) {
				v->rep->unreachable++;
				continue;
			}
			snprintf(msg, sizeof msg, "recorded slot lies at no "
				 "pointer field of the object holding it (a "
				 "layout mismatch?)");
			verify_error(v, 0, CM_TYPE_NONE, word * 8, msg);
		}
	}
}

int typed_verify(const uint8_t *blob, size_t len, const struct cm_types *t,
		 size_t max_errors,
		 void (*on_error)(void *ctx, const char *path, uint64_t offset,
				  const char *message),
		 void *ctx, struct typed_report *rep)
{
	struct tblob tb;
	struct verify v = { .tb = &tb, .max_errors = max_errors,
			    .on_error = on_error, .ctx = ctx, .rep = rep };
	uint64_t words;
	int rc = -1;

	memset(rep, 0, sizeof *rep);
	if (tblob_open(&tb, blob, len, t))
		return -1;
	words = tblob_bitmap_words(&tb);
	if (walker_init(&v.w, &tb))
		goto out_blob;
	v.w.consumed = calloc(words, 8);
	v.w.covered = calloc(words, 8);
	if (!v.w.consumed || !v.w.covered)
		goto out;
	if (t->types[t->root].size > tb.h.data_end - tb.h.root) {
		char msg[CM_ERROR_MESSAGE_MAX];

		snprintf(msg, sizeof msg, "the root type %s (%" PRIu64
			 " bytes) does not fit in the data at the root",
			 types_root_name(t), t->types[t->root].size);
		rep->errors++;
		on_error(ctx, "root", tb.h.root, msg);
		rc = 1;
		goto out;
	}
	if (walker_push(&v.w, tb.h.root, t->root) < 0)
		goto out;
	while (v.w.top && !v.stop) {
		struct todo o = v.w.stack[--v.w.top];
		const struct flat *f = flat_of(&tb, &v.w.flats, o.type);

		if (!f)
			goto out;
		rep->objects++;
		mark_range(v.w.covered, o.off, t->types[o.type].size);
		for (size_t k = 0; k < f->n && !v.stop; k++)
			if (verify_field(&v, &o, &f->e[k]))
				goto out;
	}
	if (!v.stop)
		leftover_slots(&v);
	rc = rep->errors ? 1 : 0;
out:
	walker_free(&v.w);
out_blob:
	tblob_close(&tb);
	return rc;
}
