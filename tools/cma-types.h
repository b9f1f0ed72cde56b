/* SPDX-License-Identifier: MIT */
/* Typed views of blobs: C types from DWARF, and walks of a blob by type. */
#ifndef CMA_TYPES_H
#define CMA_TYPES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "cma.h"

/* Room for a diagnostic, a list of close names included. */
#define TYPES_WHY_MAX 1024

/*
 * The type named `root` ("struct node", "union u", a typedef, "int") and
 * every type it reaches, read from the DWARF of the ELF file `elf` (an
 * executable, shared object or separate debug file; libdwfl finds
 * .gnu_debuglink and build-id debug files and split .dwo units).
 * Declarations are completed from a definition in any unit; a name defined
 * differently in two units is refused.
 * @return a description for cm_types_free(); NULL with *why filled.
 */
struct cm_types *types_from_dwarf(const char *elf, const char *root,
				  char why[TYPES_WHY_MAX]);

/*
 * Layout diff: every struct, union and enum of the blob's description
 * `blob` compared by name with the same type in `consumer` (read from the
 * DWARF of `consumer_name`). `report` gets one line per difference
 * ("struct data: field 'next' at offset 16 in the blob, 8 in ELF").
 * @return the number of differences.
 */
size_t types_diff(const struct cm_types *blob, const struct cm_types *consumer,
		  const char *consumer_name,
		  void (*report)(void *ctx, const char *line), void *ctx);

/* ---- the typed walk (typed-walk.c) ---- */

/* What typed verification found. */
struct typed_report {
	size_t objects;		/* distinct objects reached */
	size_t pointers;	/* non-NULL pointer fields followed */
	size_t errors;
	size_t unreachable;	/* slots in no reached object */
};

/*
 * Walk every object reachable from the root of the valid blob `blob`
 * (`len` bytes, cm_check passed) by the types `t`, iteratively, and call
 * `on_error` for each defect (at most max_errors, 0: no bound) with the
 * path from the root, the blob offset and a message.
 * @return 0 when no defect; 1 when some; -1 with errno (ENOMEM).
 */
int typed_verify(const uint8_t *blob, size_t len, const struct cm_types *t,
		 size_t max_errors,
		 void (*on_error)(void *ctx, const char *path, uint64_t offset,
				  const char *message),
		 void *ctx, struct typed_report *rep);

/* How typed_dump() prints. */
enum typed_format { TYPED_TEXT, TYPED_JSON, TYPED_DOT };

struct typed_dump_opts {
	enum typed_format format;
	bool hex;		/* integers in hex */
	uint64_t depth;		/* pointers followed at most this deep; 0 all */
	uint64_t max_objects;	/* objects printed at most; 0 no bound */
	const char *path;	/* "root->next->s": print only this value */
	size_t string_max;	/* strings cut after this many bytes */
};

/*
 * Print the blob's data from its root by the types `t` to `out`.
 * @return 0; -1 with *why filled (a bad --path, ENOMEM).
 */
int typed_dump(FILE *out, const uint8_t *blob, size_t len,
	       const struct cm_types *t, const struct typed_dump_opts *o,
	       char why[TYPES_WHY_MAX]);

/* The description's root type name (for messages), never NULL. */
const char *types_root_name(const struct cm_types *t);

#endif /* CMA_TYPES_H */
