/* SPDX-License-Identifier: MIT */
/* cma-dump's internal declarations: what its views share. */
#ifndef CMA_DUMP_H
#define CMA_DUMP_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "tool-common.h"
#include "types-cli.h"

/* Without --limit, graphs stop here; tables never stop. */
#define GRAPH_DEFAULT_LIMIT 1000
/* Defects kept for the JSON errors array: the verdict and where met. */
#define MAX_ERRORS 4

enum { SHOW_HEADER = 1, SHOW_RELOCS = 2, SHOW_STATS = 4 };

struct opts {
	const char *file;
	unsigned show;		/* SHOW_* bits; 0: header and relocs */
	bool json, hex, graph;
	int flags;		/* cm_check flags */
	bool limit_set;
	uint64_t limit;
	uint64_t hex_off, hex_len;
	struct types_cli types;
};

/* Everything one dump run needs; errors collected for JSON. */
struct dump {
	const struct opts *o;
	struct tool_input in;
	bool hok;		/* the header decoded */
	struct cm_header h;
	struct cm_error errors[MAX_ERRORS];
	int nerrors;
	bool color;
	struct cm_error scan_note;	/* a valid blob's: the scan skipped */
	uint64_t *unrecorded;	/* words the pointer scan refused, ascending */
	size_t nunrecorded;
};

/* Keep a defect for the JSON errors array, once. */
void dump_note_error(struct dump *d, const struct cm_error *err);

/* Start the table walk; a refusal is shown as a defect. */
bool dump_reloc_begin(struct dump *d, struct cm_reloc_iter *it);

/* The data word at blob offset `off` (in bounds: the caller checked). */
uint64_t dump_word_at(const struct dump *d, uint64_t off);

/* The index of the first of the n ascending v[] at or past x. */
size_t dump_lower_bound(const uint64_t *v, size_t n, uint64_t x);

bool dump_has_object_map(const struct dump *d);

/*
 * Read up to `max` objects into a new array (*out, free() it).
 * @return the map's object count; -1 on a defect (shown).
 */
ssize_t dump_load_objects(struct dump *d, size_t max, struct cm_object **out);

/* --limit as a count of objects or nodes; `dflt` without it. */
size_t dump_object_limit(const struct dump *d, size_t dflt);

/* --graph=dot: the pointer graph. @return 0; -1 on an allocation failure
 * (reported). */
int dump_graph(struct dump *d);

#endif /* CMA_DUMP_H */
