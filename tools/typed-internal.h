/* SPDX-License-Identifier: MIT */
/* What the typed walk and the typed dump share: the blob, seen objects. */
#ifndef TYPED_INTERNAL_H
#define TYPED_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "cma-types.h"

/* A checked blob and its types, read for a walk. */
struct tblob {
	const uint8_t *b;
	size_t len;
	struct cm_header h;
	const struct cm_types *t;
	uint64_t *slots;	/* bit per data word: a recorded slot */
	struct cm_object *objs;	/* the object map, or NULL */
	size_t nobjs;
	bool *has_ptr;		/* per type: holds a pointer by value */
};

/* @return 0; -1 with errno (ENOMEM, EBADMSG). */
int tblob_open(struct tblob *tb, const uint8_t *b, size_t len,
	       const struct cm_types *t);
void tblob_close(struct tblob *tb);

static inline uint64_t tload64(const struct tblob *tb, uint64_t off)
{
	uint64_t v;

	memcpy(&v, tb->b + off, 8);
	return v;
}

/* 64-bit words of a bitmap with a bit per data word (the slot bitmap,
 * and the walk's own): one more than cm_reloc_bitmap() needs, which
 * spares it a copy. */
static inline size_t tblob_bitmap_words(const struct tblob *tb)
{
	return (size_t)(tb->h.data_end / 512 + 2);
}

/* Bit `i` of a bitmap. */
static inline bool bit_get(const uint64_t *m, uint64_t i)
{
	return m[i / 64] >> (i % 64) & 1;
}

static inline void bit_set(uint64_t *m, uint64_t i)
{
	m[i / 64] |= 1ULL << (i % 64);
}

/* Is the word at blob offset `off` (8-aligned, in the data) a slot? */
static inline bool tblob_is_slot(const struct tblob *tb, uint64_t off)
{
	return off % 8 == 0 && bit_get(tb->slots, off / 8);
}

/* Where a pointer value points, as a blob offset (base taken away). */
static inline uint64_t tblob_target(const struct tblob *tb, uint64_t v)
{
	return v - tb->h.base;
}

/* The object map's allocation holding `off`, or NULL. */
const struct cm_object *tblob_object_at(const struct tblob *tb, uint64_t off);

/* Objects reached, by (offset, type): a bitmap by word offset for each of
 * the first few types met (most blobs hold objects of a handful of
 * types), a hash set for the rest and for unaligned offsets. */
#define SEEN_BITMAPS 8

struct seen_key {
	uint64_t off;
	uint32_t type;
	uint32_t used;
};

struct seen_set {
	uint64_t **bitmap;	/* per type: its bitmap, or NULL */
	uint32_t type_count, nbitmaps;
	size_t words;		/* of each bitmap */
	struct seen_key *more;	/* open addressing, more_cap a power of 2 */
	size_t nmore, more_cap;
};

int seen_init(struct seen_set *s, const struct tblob *tb);
void seen_free(struct seen_set *s);
/* @return 1 when new (now added), 0 when seen, -1 on ENOMEM. */
int seen_add(struct seen_set *s, uint64_t off, uint32_t type);

/* The pointer fields one type holds by value, its arrays unrolled. */
enum flat_kind { FLAT_POINTER, FLAT_FUNCTION, FLAT_UNION };

struct flat_entry {
	uint64_t off;		/* inside the object */
	uint32_t kind;		/* enum flat_kind */
	uint32_t target;	/* FLAT_POINTER: the pointee, or NONE */
	uint64_t len;		/* FLAT_UNION: its bytes */
};

struct flat {
	struct flat_entry *e;
	size_t n;
	bool done;
};

/* Per type, made when first asked (by_type: type_count, zeroed). */
struct flats {
	struct flat *by_type;
};

/* @return the type's pointer fields; NULL with errno (ENOMEM, E2BIG). */
const struct flat *flat_of(const struct tblob *tb, struct flats *fs,
			   uint32_t ty);
void flats_free(struct flats *fs, uint32_t n);

/* The value of an integer-like field (size bytes at p, bits optional). */
uint64_t field_bits(const uint8_t *p, uint64_t size, uint32_t bit_offset,
		    uint32_t bit_size);

/* Is type `ty` a char (a pointer to it is a string)? */
static inline bool is_char(const struct cm_types *t, uint32_t ty)
{
	return ty != CM_TYPE_NONE && t->types[ty].kind == CM_TYPE_CHAR;
}

/*
 * A path from the root as text: ".name" and "[i]" inside an object,
 * "->name" across a pointer, runs of one step shown once with a count
 * ("root->next (x498)->s").
 */
struct path_text {
	char buf[512];
	size_t len;
	char last[64];		/* the last pointer step, for runs */
	uint64_t run;
};

void path_start(struct path_text *p);
/* Append the fields inside type `ty` leading to `rel` bytes in. */
void path_fields(struct path_text *p, const struct cm_types *t, uint32_t ty,
		 uint64_t rel, bool after_pointer);
/* The text, runs closed. */
const char *path_end(struct path_text *p);

/*
 * The path from the root to the pointer field at blob offset `field`
 * inside the object (obj, obj_type) reached by the walk; found by a second
 * walk, iterative, stopping at the object. NULL field: to the object.
 */
const char *path_to(const struct tblob *tb, uint64_t obj, uint32_t obj_type,
		    uint64_t field, struct path_text *out);

#endif /* TYPED_INTERNAL_H */
