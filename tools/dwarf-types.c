/* SPDX-License-Identifier: MIT */
/* Read a C type and every type it reaches from an ELF file's DWARF. */
#include <dwarf.h>
#include <elfutils/libdw.h>
#include <elfutils/libdwfl.h>
#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cma-types.h"

/* Bounds against hostile DWARF: by-value nesting, types, names. */
#define NEST_MAX	256
#define TYPES_MAX	(1u << 20)
#define NAMES_MAX	(1u << 22)
#define DIMS_MAX	32
#define SIZE_LIMIT	(1ULL << 62)	/* the format's field bound */

/* A named top-level type of some unit ("struct node", "node_t"). */
struct named {
	char *name;
	Dwarf_Die die;
	bool declaration;
};

/* A DIE seen before, by the address of its bytes, and its type index. */
struct seen {
	const void *addr;
	uint32_t index;
};

/* A pointer record whose target is still to be read. */
struct pending {
	uint32_t pointer;
	Dwarf_Die target;
};

struct reader {
	const char *elf;
	char *why;
	bool failed;
	struct named *names;
	size_t nnames, names_cap;
	struct seen *seen;	/* open addressing, seen_cap a power of 2 */
	size_t nseen, seen_cap;
	struct cm_type *types;
	uint32_t ntypes, types_cap;
	struct cm_type_member *members;
	uint32_t nmembers, members_cap;
	struct pending *todo;
	size_t ntodo, todo_cap;
	char **strings;		/* names made here, freed at the end */
	size_t nstrings, strings_cap;
};

#define IN_PROGRESS (UINT32_MAX - 1)

static bool fail(struct reader *r, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static bool fail(struct reader *r, const char *fmt, ...)
{
	va_list ap;

	if (r->failed)
		return false;
	r->failed = true;
	va_start(ap, fmt);
	vsnprintf(r->why, TYPES_WHY_MAX, fmt, ap);
	va_end(ap);
	return false;
}

/* Grow *p (n used, *cap room, `size` bytes each) to hold one more. */
static bool grow(void **p, size_t n, size_t *cap, size_t size)
{
	size_t c = *cap ? *cap * 2 : 64;
	void *q;

	if (n < *cap)
		return true;
	q = realloc(*p, c * size);
	if (!q)
		return false;
	*p = q;
	*cap = c;
	return true;
}

static char *keep_string(struct reader *r, char *s)
{
	if (!s || !grow((void **)&r->strings, r->nstrings, &r->strings_cap,
			sizeof *r->strings)) {
		free(s);
		fail(r, "out of memory");
		return NULL;
	}
	r->strings[r->nstrings++] = s;
	return s;
}

static char *join(const char *a, const char *b)
{
	char *s;

	return asprintf(&s, "%s%s", a, b) < 0 ? NULL : s;
}

/* The C spelling of a type DIE's name: "struct x", "t"; NULL if none. */
static char *spelled_name(Dwarf_Die *die)
{
	const char *n = dwarf_diename(die);

	if (!n)
		return NULL;
	switch (dwarf_tag(die)) {
	case DW_TAG_structure_type:
	case DW_TAG_class_type:
		return join("struct ", n);
	case DW_TAG_union_type:
		return join("union ", n);
	case DW_TAG_enumeration_type:
		return join("enum ", n);
	case DW_TAG_typedef:
	case DW_TAG_base_type:
		return strdup(n);
	default:
		return NULL;
	}
}

static bool is_declaration(Dwarf_Die *die)
{
	Dwarf_Attribute a;
	bool flag = false;

	if (dwarf_attr_integrate(die, DW_AT_declaration, &a))
		dwarf_formflag(&a, &flag);
	return flag;
}

static void index_unit(struct reader *r, Dwarf_Die *unit)
{
	Dwarf_Die child;

	if (dwarf_child(unit, &child) != 0)
		return;
	do {
		struct named *nm;
		char *name = spelled_name(&child);

		if (!name)
			continue;
		if (r->nnames >= NAMES_MAX
		    || !grow((void **)&r->names, r->nnames, &r->names_cap,
			     sizeof *r->names)) {
			free(name);
			fail(r, "%s: too many type names", r->elf);
			return;
		}
		nm = &r->names[r->nnames++];
		nm->name = name;
		nm->die = child;
		nm->declaration = is_declaration(&child);
	} while (dwarf_siblingof(&child, &child) == 0);
}

/* A skeleton unit whose .dwo is missing: packed into a .dwp, maybe,
 * which this libdw cannot read. */
static bool no_dwo(struct reader *r)
{
	char dwp[4096];

	snprintf(dwp, sizeof dwp, "%s.dwp", r->elf);
	if (access(dwp, R_OK) == 0)
		return fail(r, "%s: its split DWARF is packed in %s, which "
			    "this libdw cannot read; give the .dwo files "
			    "instead (build without dwp)", r->elf, dwp);
	return fail(r, "%s: a unit's split DWARF (.dwo) was not found; keep "
		    "the .dwo files where the build put them", r->elf);
}

/* Every top-level named type of every unit, type and split units too. */
static bool index_dwarf(struct reader *r, Dwarf *dw)
{
	Dwarf_CU *cu = NULL, *next;
	Dwarf_Half version;
	uint8_t unit_type;
	Dwarf_Die cudie, subdie;
	size_t units = 0;
	int rc;

	while ((rc = dwarf_get_units(dw, cu, &next, &version, &unit_type,
				     &cudie, &subdie)) == 0) {
		cu = next;
		units++;
		if (unit_type == DW_UT_skeleton) {
			if (!subdie.addr)
				return no_dwo(r);
			index_unit(r, &subdie);
		} else if (unit_type == DW_UT_type
			   || unit_type == DW_UT_split_type) {
			index_unit(r, &cudie);
		} else if (cudie.addr) {
			index_unit(r, &cudie);
		}
		if (r->failed)
			return false;
	}
	if (rc < 0)
		return fail(r, "%s: bad DWARF: %s", r->elf, dwarf_errmsg(-1));
	if (units == 0)
		return fail(r, "%s: ELF has no DWARF; rebuild the producer "
			    "with -g", r->elf);
	return true;
}

/* ---- memo of DIEs read ---- */

static uint32_t *seen_slot(struct reader *r, const void *addr, bool add)
{
	size_t h;

	if (add && (r->nseen + 1) * 2 > r->seen_cap) {
		size_t cap = r->seen_cap ? r->seen_cap * 2 : 1024;
		struct seen *s = calloc(cap, sizeof *s);

		if (!s)
			return NULL;
		for (size_t i = 0; i < r->seen_cap; i++) {
			if (!r->seen[i].addr)
				continue;
			h = ((uintptr_t)r->seen[i].addr >> 3) & (cap - 1);
			while (s[h].addr)
				h = (h + 1) & (cap - 1);
			s[h] = r->seen[i];
		}
		free(r->seen);
		r->seen = s;
		r->seen_cap = cap;
	}
	if (!r->seen_cap)
		return NULL;
	h = ((uintptr_t)addr >> 3) & (r->seen_cap - 1);
	while (r->seen[h].addr && r->seen[h].addr != addr)
		h = (h + 1) & (r->seen_cap - 1);
	if (r->seen[h].addr)
		return &r->seen[h].index;
	if (!add)
		return NULL;
	r->seen[h].addr = addr;
	r->nseen++;
	return &r->seen[h].index;
}

/* ---- building the description ---- */

static uint32_t add_type(struct reader *r, const struct cm_type *t)
{
	size_t cap = r->types_cap;

	if (r->ntypes >= TYPES_MAX) {
		fail(r, "%s: more than %u types reached", r->elf, TYPES_MAX);
		return CM_TYPE_NONE;
	}
	if (!grow((void **)&r->types, r->ntypes, &cap, sizeof *r->types)) {
		fail(r, "out of memory");
		return CM_TYPE_NONE;
	}
	r->types_cap = (uint32_t)cap;
	r->types[r->ntypes] = *t;
	/* Members follow type order: a memberless type's start is the
	 * running count. */
	if (!t->member_count)
		r->types[r->ntypes].first_member = r->nmembers;
	return r->ntypes++;
}

static bool udata(Dwarf_Die *die, unsigned attr, Dwarf_Word *v)
{
	Dwarf_Attribute a;

	return dwarf_attr_integrate(die, attr, &a) && dwarf_formudata(&a, v)
	       == 0;
}

/* Skip qualifiers and typedefs; *alias gets the first typedef's name. */
static bool peel(struct reader *r, Dwarf_Die *die, const char **alias)
{
	for (unsigned hops = 0;; hops++) {
		int tag = dwarf_tag(die);
		Dwarf_Attribute a;

		if (tag != DW_TAG_typedef && tag != DW_TAG_const_type
		    && tag != DW_TAG_volatile_type
		    && tag != DW_TAG_restrict_type
		    && tag != DW_TAG_atomic_type)
			return true;
		if (hops > NEST_MAX)
			return fail(r, "%s: a cycle of typedefs or qualifiers",
				    r->elf);
		if (tag == DW_TAG_typedef && !*alias)
			*alias = dwarf_diename(die);
		if (!dwarf_attr_integrate(die, DW_AT_type, &a)) {
			/* const void: a qualifier of nothing. */
			die->addr = NULL;
			return true;
		}
		if (!dwarf_formref_die(&a, die))
			return fail(r, "%s: bad type reference: %s", r->elf,
				    dwarf_errmsg(-1));
	}
}

/* A definition for a declared struct, union or enum, from any unit. */
static bool find_definition(struct reader *r, Dwarf_Die *die)
{
	char *name = spelled_name(die);
	bool found = false;

	if (!name)
		return false;
	for (size_t i = 0; i < r->nnames && !found; i++)
		if (!r->names[i].declaration
		    && dwarf_tag(&r->names[i].die) == dwarf_tag(die)
		    && !strcmp(r->names[i].name, name)) {
			*die = r->names[i].die;
			found = true;
		}
	free(name);
	return found;
}

static uint32_t read_type(struct reader *r, Dwarf_Die die, unsigned depth);

static uint32_t base_type(struct reader *r, Dwarf_Die *die, const char *name)
{
	Dwarf_Word enc = 0, size = 0;
	struct cm_type t = { .target = CM_TYPE_NONE, .name = name };

	udata(die, DW_AT_encoding, &enc);
	udata(die, DW_AT_byte_size, &size);
	t.size = size;
	switch (enc) {
	case DW_ATE_signed:
		t.kind = CM_TYPE_INT;
		break;
	case DW_ATE_unsigned:
		t.kind = CM_TYPE_UINT;
		break;
	case DW_ATE_signed_char:
		t.kind = size == 1 ? CM_TYPE_CHAR : CM_TYPE_INT;
		t.flags = size == 1 ? CM_TYPE_SIGNED : 0;
		break;
	case DW_ATE_unsigned_char:
	case DW_ATE_UTF:
		t.kind = size == 1 ? CM_TYPE_CHAR : CM_TYPE_UINT;
		break;
	case DW_ATE_boolean:
		t.kind = size == 1 ? CM_TYPE_BOOL : CM_TYPE_UINT;
		break;
	case DW_ATE_float:
		t.kind = CM_TYPE_FLOAT;
		break;
	default:
		fail(r, "%s: base type '%s' (DWARF encoding 0x%x) cannot be "
		     "shown", r->elf, name ? name : "?", (unsigned)enc);
		return CM_TYPE_NONE;
	}
	return add_type(r, &t);
}

static uint32_t pointer_type(struct reader *r, Dwarf_Die *die)
{
	struct cm_type t = { .kind = CM_TYPE_POINTER, .size = 8,
			     .target = CM_TYPE_NONE };
	Dwarf_Attribute a;
	Dwarf_Word size = 8;
	uint32_t i;

	if (udata(die, DW_AT_byte_size, &size) && size != 8) {
		fail(r, "%s: a %u-byte pointer: only 64-bit producers make "
		     "blobs", r->elf, (unsigned)size);
		return CM_TYPE_NONE;
	}
	i = add_type(r, &t);
	if (i == CM_TYPE_NONE || !dwarf_attr_integrate(die, DW_AT_type, &a))
		return i;	/* void * */
	if (!grow((void **)&r->todo, r->ntodo, &r->todo_cap, sizeof *r->todo)) {
		fail(r, "out of memory");
		return CM_TYPE_NONE;
	}
	if (!dwarf_formref_die(&a, &r->todo[r->ntodo].target)) {
		fail(r, "%s: bad pointer target: %s", r->elf, dwarf_errmsg(-1));
		return CM_TYPE_NONE;
	}
	r->todo[r->ntodo++].pointer = i;
	return i;
}

/* A member's place: byte offset and bits, DWARF 5 and DWARF 4 ways. */
static bool member_place(struct reader *r, Dwarf_Die *m, uint64_t field_size,
			 struct cm_type_member *out)
{
	Dwarf_Word loc = 0, bits = 0, bitoff, storage;
	Dwarf_Attribute a;

	if (dwarf_attr_integrate(m, DW_AT_data_member_location, &a)
	    && dwarf_formudata(&a, &loc) != 0) {
		Dwarf_Op *ops;
		size_t n;

		/* DWARF 2 style: DW_OP_plus_uconst N. */
		if (dwarf_getlocation(&a, &ops, &n) != 0 || n != 1
		    || ops[0].atom != DW_OP_plus_uconst)
			return fail(r, "%s: a member location that is not a "
				    "constant", r->elf);
		loc = ops[0].number;
	}
	out->offset = loc;
	if (!udata(m, DW_AT_bit_size, &bits))
		return true;
	if (bits == 0 || bits > 64)
		return fail(r, "%s: a bitfield of %u bits", r->elf,
			    (unsigned)bits);
	if (udata(m, DW_AT_data_bit_offset, &bitoff)) {
		/* DWARF 5: bits from the struct's start. */
	} else if (udata(m, DW_AT_bit_offset, &bitoff)) {
		/* DWARF 4: from the storage unit's most significant bit. */
		if (!udata(m, DW_AT_byte_size, &storage))
			storage = field_size;
		if (bitoff + bits > storage * 8)
			return fail(r, "%s: a bitfield outside its storage "
				    "unit", r->elf);
		bitoff = loc * 8 + storage * 8 - bitoff - bits;
	} else {
		bitoff = loc * 8;
	}
	out->offset = bitoff / 8;
	out->bit_offset = (uint32_t)(bitoff % 8);
	out->bit_size = (uint32_t)bits;
	return true;
}

/* Append the record with its members (they follow every earlier type's). */
static uint32_t add_with_members(struct reader *r, struct cm_type *t,
				 struct cm_type_member *m, uint32_t n)
{
	size_t cap = r->members_cap;

	if (r->nmembers + (uint64_t)n > UINT32_MAX / 2) {
		fail(r, "%s: too many members", r->elf);
		return CM_TYPE_NONE;
	}
	while (r->nmembers + n > cap) {
		if (!grow((void **)&r->members, cap, &cap, sizeof *m)) {
			fail(r, "out of memory");
			return CM_TYPE_NONE;
		}
	}
	r->members_cap = (uint32_t)cap;
	memcpy(r->members + r->nmembers, m, n * sizeof *m);
	t->first_member = r->nmembers;
	t->member_count = n;
	r->nmembers += n;
	return add_type(r, t);
}

static uint32_t aggregate_type(struct reader *r, Dwarf_Die *die,
			       const char *name, unsigned depth)
{
	struct cm_type t = { .name = name, .target = CM_TYPE_NONE };
	struct cm_type_member *m = NULL;
	size_t n = 0, cap = 0;
	Dwarf_Word size = 0;
	Dwarf_Die child;
	int tag = dwarf_tag(die);
	uint32_t i = CM_TYPE_NONE;

	t.kind = tag == DW_TAG_union_type ? CM_TYPE_UNION : tag
		 == DW_TAG_enumeration_type ? CM_TYPE_ENUM : CM_TYPE_STRUCT;
	udata(die, DW_AT_byte_size, &size);
	t.size = size;
	if (dwarf_child(die, &child) == 0) {
		do {
			int ct = dwarf_tag(&child);
			struct cm_type_member *o;
			Dwarf_Attribute a;
			Dwarf_Die ft;

			if (ct != DW_TAG_member && ct != DW_TAG_enumerator)
				continue;
			if (!grow((void **)&m, n, &cap, sizeof *m)) {
				fail(r, "out of memory");
				goto out;
			}
			o = &m[n++];
			*o = (struct cm_type_member){
				.name = dwarf_diename(&child),
				.type = CM_TYPE_NONE,
			};
			if (ct == DW_TAG_enumerator) {
				Dwarf_Sword sv;

				if (!dwarf_attr_integrate(&child,
							  DW_AT_const_value, &a)
				    || dwarf_formsdata(&a, &sv) != 0) {
					fail(r, "%s: enumerator without a "
					     "value", r->elf);
					goto out;
				}
				o->offset = (uint64_t)sv;
				if (sv < 0)
					t.flags |= CM_TYPE_SIGNED;
				continue;
			}
			if (!dwarf_attr_integrate(&child, DW_AT_type, &a)
			    || !dwarf_formref_die(&a, &ft)) {
				fail(r, "%s: member '%s' has no type", r->elf,
				     o->name ? o->name : "?");
				goto out;
			}
			o->type = read_type(r, ft, depth + 1);
			if (o->type == CM_TYPE_NONE
			    || !member_place(r, &child,
					     r->types[o->type].size, o))
				goto out;
		} while (dwarf_siblingof(&child, &child) == 0);
	}
	if (t.kind == CM_TYPE_ENUM) {
		Dwarf_Attribute a;
		Dwarf_Die under;
		const char *no = NULL;

		if (dwarf_attr_integrate(die, DW_AT_type, &a)
		    && dwarf_formref_die(&a, &under) && peel(r, &under, &no)
		    && under.addr) {
			Dwarf_Word enc = 0;

			udata(&under, DW_AT_encoding, &enc);
			if (enc == DW_ATE_signed || enc == DW_ATE_signed_char)
				t.flags |= CM_TYPE_SIGNED;
		}
	}
	i = add_with_members(r, &t, m, (uint32_t)n);
out:
	free(m);
	return i;
}

static uint32_t array_type(struct reader *r, Dwarf_Die *die, unsigned depth)
{
	Dwarf_Word counts[DIMS_MAX];
	unsigned dims = 0;
	Dwarf_Attribute a;
	Dwarf_Die elem, child;
	uint32_t i;

	if (!dwarf_attr_integrate(die, DW_AT_type, &a)
	    || !dwarf_formref_die(&a, &elem)) {
		fail(r, "%s: an array without an element type", r->elf);
		return CM_TYPE_NONE;
	}
	if (dwarf_child(die, &child) == 0) {
		do {
			Dwarf_Word c = 0, lo = 0, hi;

			if (dwarf_tag(&child) != DW_TAG_subrange_type)
				continue;
			if (dims == DIMS_MAX) {
				fail(r, "%s: an array of over %u dimensions",
				     r->elf, DIMS_MAX);
				return CM_TYPE_NONE;
			}
			/* Sizes from the bounds: dwarf_aggregate_size() is
			 * 0 for arrays in dwz partial units. */
			if (!udata(&child, DW_AT_count, &c)
			    && udata(&child, DW_AT_upper_bound, &hi)) {
				udata(&child, DW_AT_lower_bound, &lo);
				c = hi >= lo ? hi - lo + 1 : 0;
			}
			counts[dims++] = c;	/* no bound: flexible, 0 */
		} while (dwarf_siblingof(&child, &child) == 0);
	}
	if (dims == 0)
		counts[dims++] = 0;
	i = read_type(r, elem, depth + 1);
	while (i != CM_TYPE_NONE && dims--) {
		struct cm_type t = { .kind = CM_TYPE_ARRAY, .target = i };
		uint64_t es = r->types[i].size;

		if (counts[dims] > UINT32_MAX
		    || (es && counts[dims] > (SIZE_LIMIT / es))) {
			fail(r, "%s: an array of %llu elements", r->elf,
			     (unsigned long long)counts[dims]);
			return CM_TYPE_NONE;
		}
		t.count = (uint32_t)counts[dims];
		t.size = es * t.count;
		i = add_type(r, &t);
	}
	return i;
}

/* The index of the type `die` names, read with everything it holds. */
static uint32_t read_type(struct reader *r, Dwarf_Die die, unsigned depth)
{
	const char *alias = NULL;
	char *name = NULL;
	uint32_t *memo, i;
	int tag;

	if (r->failed)
		return CM_TYPE_NONE;
	if (depth > NEST_MAX) {
		fail(r, "%s: types nested deeper than %u", r->elf, NEST_MAX);
		return CM_TYPE_NONE;
	}
	if (!peel(r, &die, &alias))
		return CM_TYPE_NONE;
	if (!die.addr) {
		fail(r, "%s: a field of type void", r->elf);
		return CM_TYPE_NONE;
	}
	tag = dwarf_tag(&die);
	if ((tag == DW_TAG_structure_type || tag == DW_TAG_union_type
	     || tag == DW_TAG_enumeration_type || tag == DW_TAG_class_type)
	    && is_declaration(&die) && !find_definition(r, &die)) {
		struct cm_type t = { .kind = CM_TYPE_OPAQUE,
				     .target = CM_TYPE_NONE };

		t.name = keep_string(r, spelled_name(&die));
		return t.name ? add_type(r, &t) : CM_TYPE_NONE;
	}
	memo = seen_slot(r, die.addr, false);
	if (memo) {
		if (*memo == IN_PROGRESS)
			fail(r, "%s: a type that holds itself by value",
			     r->elf);
		return *memo == IN_PROGRESS ? CM_TYPE_NONE : *memo;
	}
	memo = seen_slot(r, die.addr, true);
	if (!memo) {
		fail(r, "out of memory");
		return CM_TYPE_NONE;
	}
	*memo = IN_PROGRESS;
	if (tag != DW_TAG_pointer_type && tag != DW_TAG_array_type
	    && tag != DW_TAG_subroutine_type) {
		name = spelled_name(&die);
		if (!name && alias)
			name = strdup(alias);
		if (name && !keep_string(r, name))
			return CM_TYPE_NONE;
	}
	switch (tag) {
	case DW_TAG_base_type:
		i = base_type(r, &die, name);
		break;
	case DW_TAG_pointer_type:
	case DW_TAG_reference_type:
	case DW_TAG_rvalue_reference_type:
		i = pointer_type(r, &die);
		break;
	case DW_TAG_structure_type:
	case DW_TAG_class_type:
	case DW_TAG_union_type:
	case DW_TAG_enumeration_type:
		i = aggregate_type(r, &die, name, depth);
		break;
	case DW_TAG_array_type:
		i = array_type(r, &die, depth);
		break;
	case DW_TAG_subroutine_type: {
		struct cm_type t = { .kind = CM_TYPE_FUNCTION,
				     .target = CM_TYPE_NONE };

		i = add_type(r, &t);
		break;
	}
	default:
		fail(r, "%s: DWARF type tag 0x%x cannot be shown", r->elf,
		     (unsigned)tag);
		i = CM_TYPE_NONE;
	}
	/* The memo may have moved with a rehash. */
	memo = seen_slot(r, die.addr, false);
	if (memo)
		*memo = i;
	return i;
}

/* ---- finding the root, and names close to a wrong one ---- */

static size_t edit_distance(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b), row[128];

	if (la > 120 || lb > 120)
		return SIZE_MAX;
	for (size_t j = 0; j <= lb; j++)
		row[j] = j;
	for (size_t i = 1; i <= la; i++) {
		size_t diag = row[0];

		row[0] = i;
		for (size_t j = 1; j <= lb; j++) {
			size_t up = row[j], best = diag + (a[i - 1] != b[j - 1]);

			if (row[j] + 1 < best)
				best = row[j] + 1;
			if (row[j - 1] + 1 < best)
				best = row[j - 1] + 1;
			diag = up;
			row[j] = best;
		}
	}
	return row[lb];
}

static void suggest(struct reader *r, const char *root)
{
	const char *best[5] = { 0 };
	size_t dist[5], n = 0;
	size_t used = strlen(r->why);

	for (size_t i = 0; i < r->nnames; i++) {
		size_t d = edit_distance(root, r->names[i].name), k;
		bool dup = false;

		for (k = 0; k < n; k++)
			dup |= !strcmp(best[k], r->names[i].name);
		if (dup || d == SIZE_MAX)
			continue;
		for (k = n; k > 0 && dist[k - 1] > d; k--)
			if (k < 5) {
				best[k] = best[k - 1];
				dist[k] = dist[k - 1];
			}
		if (k < 5) {
			best[k] = r->names[i].name;
			dist[k] = d;
			if (n < 5)
				n++;
		}
	}
	for (size_t k = 0; k < n && used < TYPES_WHY_MAX; k++)
		used += (size_t)snprintf(r->why + used, TYPES_WHY_MAX - used,
					 "%s'%s'", k ? ", " : "; closest: ",
					 best[k]);
}

/* The root's DIE: a definition of that name, or of "struct NAME" etc. */
static bool find_root(struct reader *r, const char *root, Dwarf_Die *die)
{
	static const char *const prefixes[] = { "", "struct ", "union ",
						"enum " };

	for (size_t p = 0; p < 4; p++) {
		char *want = join(prefixes[p], root);
		bool decl_only = false, found = false;

		for (size_t i = 0; want && i < r->nnames && !found; i++) {
			if (strcmp(r->names[i].name, want))
				continue;
			if (r->names[i].declaration) {
				decl_only = true;
				continue;
			}
			*die = r->names[i].die;
			found = true;
		}
		free(want);
		if (found)
			return true;
		if (decl_only) {
			fail(r, "%s: '%s' is only declared, never defined, "
			     "in this ELF", r->elf, root);
			return false;
		}
		if (p == 0 && (!strncmp(root, "struct ", 7)
			       || !strncmp(root, "union ", 6)
			       || !strncmp(root, "enum ", 5)))
			break;
	}
	fail(r, "%s: no type named '%s'", r->elf, root);
	suggest(r, root);
	return false;
}

/* ---- one C name, two layouts ---- */

static const char *unit_name(Dwarf_Die *die)
{
	Dwarf_Die cu;
	const char *n = NULL;

	if (dwarf_diecu(die, &cu, NULL, NULL))
		n = dwarf_diename(&cu);
	return n ? n : "a unit";
}

/* A member's placing attributes as written, and its type's tag and size. */
static void raw_place(Dwarf_Die *m, Dwarf_Word out[6])
{
	static const unsigned attrs[] = {
		DW_AT_data_member_location, DW_AT_bit_size,
		DW_AT_data_bit_offset, DW_AT_bit_offset,
	};
	Dwarf_Attribute a;
	Dwarf_Die t;

	for (size_t i = 0; i < 4; i++)
		if (!udata(m, attrs[i], &out[i]))
			out[i] = UINT64_MAX;
	out[4] = out[5] = 0;
	if (dwarf_attr_integrate(m, DW_AT_type, &a)
	    && dwarf_formref_die(&a, &t)) {
		for (unsigned hops = 0; hops < NEST_MAX
		     && (dwarf_tag(&t) == DW_TAG_typedef
			 || dwarf_tag(&t) == DW_TAG_const_type
			 || dwarf_tag(&t) == DW_TAG_volatile_type)
		     && dwarf_attr_integrate(&t, DW_AT_type, &a)
		     && dwarf_formref_die(&a, &t); hops++)
			;
		out[4] = (Dwarf_Word)dwarf_tag(&t);
		if (!udata(&t, DW_AT_byte_size, &out[5]))
			out[5] = 0;
	}
}

/* Do two definitions of one name have the same members in the same
 * places? (Member types are compared by tag and size.) */
static bool same_layout(Dwarf_Die *a, Dwarf_Die *b)
{
	Dwarf_Word sa = 0, sb = 0;
	Dwarf_Die ca, cb;
	int ra, rb;

	udata(a, DW_AT_byte_size, &sa);
	udata(b, DW_AT_byte_size, &sb);
	if (sa != sb)
		return false;
	ra = dwarf_child(a, &ca);
	rb = dwarf_child(b, &cb);
	while (ra == 0 && rb == 0) {
		const char *na = dwarf_diename(&ca), *nb = dwarf_diename(&cb);
		Dwarf_Word pa[6], pb[6];
		Dwarf_Sword va = 0, vb = 0;
		Dwarf_Attribute x;

		if (dwarf_tag(&ca) != dwarf_tag(&cb)
		    || !na != !nb || (na && strcmp(na, nb)))
			return false;
		raw_place(&ca, pa);
		raw_place(&cb, pb);
		if (dwarf_tag(&ca) == DW_TAG_member
		    && memcmp(pa, pb, sizeof pa))
			return false;
		if (dwarf_tag(&ca) == DW_TAG_enumerator
		    && dwarf_attr_integrate(&ca, DW_AT_const_value, &x)
		    && !dwarf_formsdata(&x, &va)
		    && dwarf_attr_integrate(&cb, DW_AT_const_value, &x)
		    && !dwarf_formsdata(&x, &vb) && va != vb)
			return false;
		ra = dwarf_siblingof(&ca, &ca);
		rb = dwarf_siblingof(&cb, &cb);
	}
	return ra == rb;
}

/* Each named struct, union or enum reached: every definition of its name
 * in any unit must agree. */
static bool check_one_definition(struct reader *r)
{
	for (size_t i = 0; i < r->nnames; i++) {
		struct named *a = &r->names[i];

		if (a->declaration || (strncmp(a->name, "struct ", 7) != 0
				       && strncmp(a->name, "union ", 6) != 0
				       && strncmp(a->name, "enum ", 5) != 0))
			continue;
		if (!seen_slot(r, a->die.addr, false))
			continue;	/* not reached */
		for (size_t j = 0; j < r->nnames; j++) {
			struct named *b = &r->names[j];

			if (j == i || b->declaration
			    || b->die.addr == a->die.addr
			    || strcmp(a->name, b->name)
			    || same_layout(&a->die, &b->die))
				continue;
			return fail(r, "%s: '%s' is defined differently in "
				    "%s and %s (C has no one-definition "
				    "rule); build the producer so one "
				    "layout is used", r->elf, a->name,
				    unit_name(&a->die), unit_name(&b->die));
		}
	}
	return true;
}

/* ---- the ELF itself: what libdw 0.188 cannot read ---- */

static bool check_elf(struct reader *r, const char *path, bool *has_debug)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	Elf *elf;
	Elf_Scn *scn = NULL;
	size_t shstrndx;
	bool ok = true;

	*has_debug = false;
	if (fd < 0)
		return fail(r, "%s: cannot open: %s", path, strerror(errno));
	elf_version(EV_CURRENT);
	elf = elf_begin(fd, ELF_C_READ, NULL);
	if (!elf || elf_kind(elf) != ELF_K_ELF
	    || elf_getshdrstrndx(elf, &shstrndx) != 0) {
		ok = fail(r, "%s: not an ELF file (%s)", path,
			  elf_errmsg(-1));
		goto out;
	}
	while (ok && (scn = elf_nextscn(elf, scn))) {
		GElf_Shdr sh;
		const char *name;

		if (!gelf_getshdr(scn, &sh)
		    || !(name = elf_strptr(elf, shstrndx, sh.sh_name)))
			continue;
		if (!strcmp(name, ".debug_cu_index")
		    || !strcmp(name, ".debug_tu_index"))
			ok = fail(r, "%s: a DWARF package (.dwp) cannot be "
				  "read here; give the executable with its "
				  ".dwo files instead", path);
		if (strncmp(name, ".debug_info", 11) != 0
		    && strncmp(name, ".zdebug_info", 12) != 0)
			continue;
		*has_debug = true;
		if (sh.sh_flags & SHF_COMPRESSED) {
			GElf_Chdr ch;

			if (gelf_getchdr(scn, &ch) && ch.ch_type == 2)
				ok = fail(r, "%s: its debug sections are "
					  "zstd-compressed, which this libdw "
					  "cannot read; run 'objcopy "
					  "--decompress-debug-sections %s' "
					  "first", path, path);
		}
	}
out:
	if (elf)
		elf_end(elf);
	close(fd);
	return ok;
}

static const Dwfl_Callbacks offline_callbacks = {
	.find_debuginfo = dwfl_standard_find_debuginfo,
	.section_address = dwfl_offline_section_address,
};

static void reader_free(struct reader *r)
{
	for (size_t i = 0; i < r->nnames; i++)
		free(r->names[i].name);
	for (size_t i = 0; i < r->nstrings; i++)
		free(r->strings[i]);
	free(r->names);
	free(r->seen);
	free(r->types);
	free(r->members);
	free(r->todo);
	free(r->strings);
}

/* Read the root and then, one by one, every pointer's target. */
static struct cm_types *read_all(struct reader *r, Dwarf_Die *root)
{
	struct cm_types desc = { 0 }, *out = NULL;
	struct cm_error e;
	void *payload;
	size_t size;

	desc.root = read_type(r, *root, 0);
	while (!r->failed && r->ntodo) {
		struct pending p = r->todo[--r->ntodo];
		uint32_t t = read_type(r, p.target, 0);

		if (t != CM_TYPE_NONE)
			r->types[p.pointer].target = t;
	}
	if (r->failed || !check_one_definition(r))
		return NULL;
	if (r->types[desc.root].kind == CM_TYPE_POINTER) {
		fail(r, "%s: the root type is a pointer; name the type of "
		     "the object at the root", r->elf);
		return NULL;
	}
	desc.type_count = r->ntypes;
	desc.member_count = r->nmembers;
	desc.types = r->types;
	desc.members = r->members;
	/* Through the section's encoding: the same checks, one owner. */
	if (cm_types_encode(&desc, &payload, &size, &e)) {
		fail(r, "%s: the types read break a rule of the type section: "
		     "%s", r->elf, e.message);
		return NULL;
	}
	out = cm_types_decode(payload, size, &e);
	if (!out)
		fail(r, "%s: %s", r->elf, e.message);
	free(payload);
	return out;
}

struct cm_types *types_from_dwarf(const char *elf, const char *root,
				  char why[TYPES_WHY_MAX])
{
	struct reader r = { .elf = elf, .why = why };
	struct cm_types *out = NULL;
	Dwfl *dwfl = NULL;
	Dwfl_Module *mod;
	Dwarf *dw;
	Dwarf_Addr bias;
	Dwarf_Die die;
	const char *debugfile = NULL;
	bool has_debug;

	why[0] = 0;
	if (!check_elf(&r, elf, &has_debug))
		goto out;
	dwfl = dwfl_begin(&offline_callbacks);
	if (!dwfl) {
		fail(&r, "libdwfl: %s", dwfl_errmsg(-1));
		goto out;
	}
	mod = dwfl_report_offline(dwfl, elf, elf, -1);
	dwfl_report_end(dwfl, NULL, NULL);
	if (!mod) {
		fail(&r, "%s: %s", elf, dwfl_errmsg(-1));
		goto out;
	}
	dw = dwfl_module_getdwarf(mod, &bias);
	dwfl_module_info(mod, NULL, NULL, NULL, NULL, NULL, NULL, &debugfile);
	if (debugfile && strcmp(debugfile, elf)
	    && !check_elf(&r, debugfile, &has_debug))
		goto out;
	if (!dw) {
		fail(&r, "%s: ELF has no DWARF; rebuild the producer with -g",
		     elf);
		goto out;
	}
	if (!index_dwarf(&r, dw) || !find_root(&r, root, &die))
		goto out;
	out = read_all(&r, &die);
out:
	if (dwfl)
		dwfl_end(dwfl);
	reader_free(&r);
	return out;
}
