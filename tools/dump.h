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
	unsigned show;		/* SHOW_* bits; 0: the summary */
	bool json, hex, graph;
	bool all;		/* --all: every entry, every object */
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
	uint64_t *bits;		/* the slots as bits, once made (dump-table.c) */
	size_t bits_words;
	bool bits_tried;
	uint64_t *unrecorded;	/* words the pointer scan refused, ascending */
	size_t nunrecorded;
};

/* SGR escapes for the text views, used only when d->color. */
#define BOLD "\033[1m"
#define RED "\033[1;31m"
#define CYAN "\033[36m"
#define RESET "\033[0m"

/* `code`, or "" without colour. */
const char *dump_sgr(const struct dump *d, const char *code);

/* Keep a defect for the JSON errors array, once. */
void dump_note_error(struct dump *d, const struct cm_error *err);

/* A defect met while dumping, shown in place on stdout (kept for JSON). */
void dump_show_defect(struct dump *d, const struct cm_error *err);

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

/* The relocation table, every entry (up to --limit): text or JSON. */
void dump_relocs_text(struct dump *d);
void dump_relocs_json(struct dump *d);

/* The summary's table: the first entries and those around the root. */
void dump_relocs_summary(struct dump *d);

/* --stats: the table's cost in each mode, density, largest delta. */
void dump_stats(struct dump *d);

/* --graph=dot: the pointer graph. @return 0; -1 on an allocation failure
 * (reported). */
int dump_graph(struct dump *d);

#endif /* CMA_DUMP_H */
