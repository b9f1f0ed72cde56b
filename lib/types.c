/* SPDX-License-Identifier: MIT */
/* The type section: encode, check and decode a blob's type description. */
#include <errno.h>
#include <stdlib.h>

#include "cma-private.h"

/* Byte layout (doc/format.md, type 2). */
#define TS_HEADER	24
#define TS_TYPE		32
#define TS_MEMBER	24
#define TS_NONE		UINT32_MAX

static bool kind_known(uint32_t kind)
{
	return kind >= CM_TYPE_INT && kind <= CM_TYPE_OPAQUE;
}

/* Kinds a field or an array element may have (a function or an opaque
 * struct has no layout to hold by value). */
static bool kind_by_value(uint32_t kind)
{
	return kind != CM_TYPE_FUNCTION && kind != CM_TYPE_OPAQUE;
}

static bool kind_has_members(uint32_t kind)
{
	return kind == CM_TYPE_STRUCT || kind == CM_TYPE_UNION
	       || kind == CM_TYPE_ENUM;
}

static bool kind_bitfield(uint32_t kind)
{
	return kind == CM_TYPE_INT || kind == CM_TYPE_UINT
	       || kind == CM_TYPE_CHAR || kind == CM_TYPE_BOOL
	       || kind == CM_TYPE_ENUM;
}

/* Is `size` a size the kind may have? */
static bool size_fits_kind(uint32_t kind, uint64_t size)
{
	switch (kind) {
	case CM_TYPE_INT:
	case CM_TYPE_UINT:
		return size == 1 || size == 2 || size == 4 || size == 8
		       || size == 16;
	case CM_TYPE_CHAR:
	case CM_TYPE_BOOL:
		return size == 1;
	case CM_TYPE_FLOAT:
		return size == 4 || size == 8 || size == 16;
	case CM_TYPE_ENUM:
		return size == 1 || size == 2 || size == 4 || size == 8;
	case CM_TYPE_POINTER:
		return size == 8;
	case CM_TYPE_FUNCTION:
	case CM_TYPE_OPAQUE:
		return size == 0;
	default:
		return size < CM_FIELD_LIMIT;
	}
}

/* A section being read: where it is, for error offsets. */
struct ts {
	const uint8_t *p;
	uint64_t size, at;	/* payload size; blob offset of byte 0 */
	uint32_t root, ntypes, nmembers, nstrings;
	const uint8_t *types, *members;
	const char *strings;
};

static bool name_ok(const struct ts *t, uint32_t name)
{
	return name == TS_NONE || name < t->nstrings;
}

static uint64_t type_size(const struct ts *t, uint32_t i)
{
	return cm_load64(t->types + (uint64_t)i * TS_TYPE + 8);
}

static uint32_t type_kind(const struct ts *t, uint32_t i)
{
	return t->types[(uint64_t)i * TS_TYPE];
}

/* One member of type `owner` (kind `kind`, size `size`); NULL when good,
 * else what is wrong. */
static const char *member_defect(const struct ts *t, uint32_t owner,
				 uint32_t kind, uint64_t size,
				 const uint8_t *m)
{
	uint32_t name = cm_load32(m), type = cm_load32(m + 4);
	uint64_t off = cm_load64(m + 8);
	uint32_t bit_off = m[16] | (uint32_t)m[17] << 8;
	uint32_t bit_size = m[18] | (uint32_t)m[19] << 8;
	uint64_t fsize;

	if (!name_ok(t, name))
		return "name outside the string table";
	if (cm_load32(m + 20))
		return "reserved bytes are not zero";
	if (kind == CM_TYPE_ENUM)
		return type != TS_NONE || bit_off || bit_size
		       ? "enumerator with a type or bits" : NULL;
	if (type >= owner)
		return "field type not defined before its struct";
	if (!kind_by_value(type_kind(t, type)))
		return "field of a function or opaque type";
	fsize = type_size(t, type);
	if (off > size)
		return "field outside the type";
	if (!bit_size)
		return bit_off ? "bit offset without a bit size"
		       : fsize > size - off ? "field outside the type" : NULL;
	/* A bitfield's bits must fit, not its declared type's bytes. */
	if (!kind_bitfield(type_kind(t, type)) || bit_size > 64
	    || bit_size > fsize * 8 || bit_off > 7)
		return "bitfield of a bad type, width or offset";
	if ((size - off) * 8 < (uint64_t)bit_off + bit_size)
		return "bitfield outside the type";
	return NULL;
}

/* One type record; NULL when good, else what is wrong. *next_member
 * advances past its members. */
static const char *type_defect(const struct ts *t, uint32_t i,
			       uint32_t *next_member, uint64_t *where)
{
	const uint8_t *r = t->types + (uint64_t)i * TS_TYPE;
	uint32_t kind = r[0], flags = r[1], name = cm_load32(r + 4);
	uint64_t size = cm_load64(r + 8);
	uint32_t target = cm_load32(r + 16), count = cm_load32(r + 20);
	uint32_t first = cm_load32(r + 24), n = cm_load32(r + 28);

	if (!kind_known(kind))
		return "unknown kind";
	if ((flags & ~CM_TYPE_SIGNED) || r[2] || r[3])
		return "unknown flag or reserved byte";
	if (!name_ok(t, name))
		return "name outside the string table";
	if (!size_fits_kind(kind, size))
		return "size impossible for its kind";
	if (kind == CM_TYPE_POINTER) {
		if (target != TS_NONE && target >= t->ntypes)
			return "pointer target is no type";
	} else if (kind == CM_TYPE_ARRAY) {
		if (target >= i)
			return "array element not defined before its array";
		if (!kind_by_value(type_kind(t, target)))
			return "array of a function or opaque type";
		if (type_size(t, target) * (uint64_t)count != size)
			return "array size is not count x element size";
	} else if (target != TS_NONE) {
		return "target on a kind that has none";
	}
	if (kind != CM_TYPE_ARRAY && count)
		return "count on a kind that has none";
	if (first != *next_member || n > t->nmembers - first
	    || (n && !kind_has_members(kind)))
		return "members out of order, past the end or on a "
		       "kind that has none";
	for (uint32_t k = 0; k < n; k++) {
		const uint8_t *m = t->members + (uint64_t)(first + k)
				   * TS_MEMBER;
		const char *why = member_defect(t, i, kind, size, m);

		if (why) {
			*where = (uint64_t)(m - t->p);
			return why;
		}
	}
	*next_member = first + n;
	return NULL;
}

/*
 * Check a type section's payload `p` of `size` bytes, at blob offset `at`;
 * with `h`, the root type must also fit at the blob's root.
 * @return 0; -1 with EBADMSG, *err (CM_E_SECTION) naming the byte.
 */
int cm_types_check(const uint8_t *p, uint64_t size, uint64_t at,
		   const struct cm_header *h, struct cm_error *err)
{
	struct ts t = { .p = p, .size = size, .at = at };
	uint32_t next_member = 0;
	uint64_t where = 0;
	const char *why = NULL;

	if (size < TS_HEADER)
		return cm_fail(err, CM_E_SECTION, at, UINT64_MAX,
			       "type section of %llu bytes is shorter than "
			       "its header", (unsigned long long)size);
	if (cm_load32(p) != CM_TYPES_VERSION)
		return 0;	/* a later version: optional, skipped */
	t.root = cm_load32(p + 4);
	t.ntypes = cm_load32(p + 8);
	t.nmembers = cm_load32(p + 12);
	t.nstrings = cm_load32(p + 16);
	if (cm_load32(p + 20))
		return cm_fail(err, CM_E_SECTION, at + 20, UINT64_MAX,
			       "type section reserved field is not zero");
	if (TS_HEADER + (uint64_t)t.ntypes * TS_TYPE
	    + (uint64_t)t.nmembers * TS_MEMBER + t.nstrings != size)
		return cm_fail(err, CM_E_SECTION, at + 8, UINT64_MAX,
			       "type section counts (%u types, %u members, "
			       "%u string bytes) disagree with its %llu bytes",
			       t.ntypes, t.nmembers, t.nstrings,
			       (unsigned long long)size);
	if (t.root >= t.ntypes)
		return cm_fail(err, CM_E_SECTION, at + 4, UINT64_MAX,
			       "root type %u is not one of the %u types",
			       t.root, t.ntypes);
	t.types = p + TS_HEADER;
	t.members = t.types + (uint64_t)t.ntypes * TS_TYPE;
	t.strings = (const char *)t.members + (uint64_t)t.nmembers * TS_MEMBER;
	if (t.nstrings && t.strings[t.nstrings - 1])
		return cm_fail(err, CM_E_SECTION, at + size - 1, UINT64_MAX,
			       "type section string table does not end "
			       "in NUL");
	for (uint32_t i = 0; i < t.ntypes && !why; i++) {
		where = TS_HEADER + (uint64_t)i * TS_TYPE;
		why = type_defect(&t, i, &next_member, &where);
		if (why)
			return cm_fail(err, CM_E_SECTION, at + where,
				       UINT64_MAX, "type %u: %s", i, why);
	}
	if (next_member != t.nmembers)
		return cm_fail(err, CM_E_SECTION, at + 12, UINT64_MAX,
			       "type section has %u members no type owns",
			       t.nmembers - next_member);
	if (!kind_by_value(type_kind(&t, t.root)))
		return cm_fail(err, CM_E_SECTION, at + 4, UINT64_MAX,
			       "root type is a function or opaque type");
	if (h && type_size(&t, t.root) > h->data_end - h->root)
		return cm_fail(err, CM_E_SECTION, at + 4, UINT64_MAX,
			       "root type of %llu bytes does not fit in the "
			       "data at the root 0x%llx",
			       (unsigned long long)type_size(&t, t.root),
			       (unsigned long long)h->root);
	return 0;
}

static const char *string_at(const struct ts *t, uint32_t name)
{
	return name == TS_NONE ? NULL : t->strings + name;
}

CM_API struct cm_types *cm_types_decode(const void *payload, size_t size,
					struct cm_error *err)
{
	struct ts t = { .p = payload, .size = size };
	struct cm_types *out;
	char *strings;

	if (!payload) {
		errno = EINVAL;
		return NULL;
	}
	if (size >= 4 && cm_load32(payload) != CM_TYPES_VERSION) {
		cm_fail(err, CM_E_SECTION, 0, UINT64_MAX,
			"type section version %u is not supported (1 is)",
			cm_load32(payload));
		errno = ENOTSUP;
		return NULL;
	}
	if (cm_types_check(payload, size, 0, NULL, err))
		return NULL;
	t.root = cm_load32(t.p + 4);
	t.ntypes = cm_load32(t.p + 8);
	t.nmembers = cm_load32(t.p + 12);
	t.nstrings = cm_load32(t.p + 16);
	t.types = t.p + TS_HEADER;
	t.members = t.types + (uint64_t)t.ntypes * TS_TYPE;
	t.strings = (const char *)t.members + (uint64_t)t.nmembers * TS_MEMBER;
	/* One block: the struct, the types, the members, the strings. */
	out = malloc(sizeof *out + (size_t)t.ntypes * sizeof(struct cm_type)
		     + (size_t)t.nmembers * sizeof(struct cm_type_member)
		     + t.nstrings);
	if (!out)
		return NULL;
	out->root = t.root;
	out->type_count = t.ntypes;
	out->member_count = t.nmembers;
	out->types = (struct cm_type *)(out + 1);
	out->members = (struct cm_type_member *)(out->types + t.ntypes);
	strings = (char *)(out->members + t.nmembers);
	memcpy(strings, t.strings, t.nstrings);
	t.strings = strings;
	for (uint32_t i = 0; i < t.ntypes; i++) {
		const uint8_t *r = t.types + (uint64_t)i * TS_TYPE;

		out->types[i] = (struct cm_type){
			.kind = r[0], .flags = r[1],
			.name = string_at(&t, cm_load32(r + 4)),
			.size = cm_load64(r + 8),
			.target = cm_load32(r + 16),
			.count = cm_load32(r + 20),
			.first_member = cm_load32(r + 24),
			.member_count = cm_load32(r + 28),
		};
	}
	for (uint32_t i = 0; i < t.nmembers; i++) {
		const uint8_t *m = t.members + (uint64_t)i * TS_MEMBER;

		out->members[i] = (struct cm_type_member){
			.name = string_at(&t, cm_load32(m)),
			.type = cm_load32(m + 4),
			.offset = cm_load64(m + 8),
			.bit_offset = m[16] | (uint32_t)m[17] << 8,
			.bit_size = m[18] | (uint32_t)m[19] << 8,
		};
	}
	return out;
}

CM_API void cm_types_free(struct cm_types *t)
{
	free(t);
}

/* Bytes a name takes in the string table (its NUL included). */
static uint64_t name_bytes(const char *s)
{
	return s ? strlen(s) + 1 : 0;
}

static uint32_t put_name(char *strings, uint64_t *pos, const char *s)
{
	uint32_t at = (uint32_t)*pos;

	if (!s)
		return TS_NONE;
	memcpy(strings + *pos, s, strlen(s) + 1);
	*pos += strlen(s) + 1;
	return at;
}

CM_API int cm_types_encode(const struct cm_types *t, void **payload,
			   size_t *size, struct cm_error *err)
{
	uint64_t nstrings = 0, total, pos = 0;
	uint8_t *p, *r;
	char *strings;

	if (!t || !payload || !size || (t->type_count && !t->types)
	    || (t->member_count && !t->members)) {
		errno = EINVAL;
		return -1;
	}
	for (uint32_t i = 0; i < t->type_count; i++)
		nstrings += name_bytes(t->types[i].name);
	for (uint32_t i = 0; i < t->member_count; i++)
		nstrings += name_bytes(t->members[i].name);
	if (nstrings >= UINT32_MAX) {
		errno = EINVAL;
		return -1;
	}
	total = TS_HEADER + (uint64_t)t->type_count * TS_TYPE
		+ (uint64_t)t->member_count * TS_MEMBER + nstrings;
	p = calloc(1, total);
	if (!p)
		return -1;
	cm_store32(p, CM_TYPES_VERSION);
	cm_store32(p + 4, t->root);
	cm_store32(p + 8, t->type_count);
	cm_store32(p + 12, t->member_count);
	cm_store32(p + 16, (uint32_t)nstrings);
	r = p + TS_HEADER;
	strings = (char *)r + (uint64_t)t->type_count * TS_TYPE
		  + (uint64_t)t->member_count * TS_MEMBER;
	for (uint32_t i = 0; i < t->type_count; i++, r += TS_TYPE) {
		const struct cm_type *ty = &t->types[i];

		r[0] = (uint8_t)(ty->kind > 255 ? 0 : ty->kind);
		r[1] = (uint8_t)(ty->flags > 255 ? 0xff : ty->flags);
		cm_store32(r + 4, put_name(strings, &pos, ty->name));
		cm_store64(r + 8, ty->size);
		cm_store32(r + 16, ty->target);
		cm_store32(r + 20, ty->count);
		cm_store32(r + 24, ty->first_member);
		cm_store32(r + 28, ty->member_count);
	}
	for (uint32_t i = 0; i < t->member_count; i++, r += TS_MEMBER) {
		const struct cm_type_member *m = &t->members[i];
		uint32_t bo = m->bit_offset > 0xffff ? 0xffff : m->bit_offset;
		uint32_t bs = m->bit_size > 0xffff ? 0xffff : m->bit_size;

		cm_store32(r, put_name(strings, &pos, m->name));
		cm_store32(r + 4, m->type);
		cm_store64(r + 8, m->offset);
		r[16] = (uint8_t)bo;
		r[17] = (uint8_t)(bo >> 8);
		r[18] = (uint8_t)bs;
		r[19] = (uint8_t)(bs >> 8);
	}
	if (cm_types_check(p, total, 0, NULL, err)) {
		free(p);
		errno = EINVAL;
		return -1;
	}
	*payload = p;
	*size = (size_t)total;
	return 0;
}

CM_API uint32_t cm_types_find(const struct cm_types *t, const char *name)
{
	if (!t || !name)
		return CM_TYPE_NONE;
	for (uint32_t i = 0; i < t->type_count; i++)
		if (t->types[i].name && !strcmp(t->types[i].name, name))
			return i;
	return CM_TYPE_NONE;
}
