/* SPDX-License-Identifier: MIT */
/* The typed options of cma-dump, cma-verify and cma-convert, and their runs. */
#ifndef TYPES_CLI_H
#define TYPES_CLI_H

#include "cma-types.h"
#include "tool-common.h"

enum {
	TYPES_OPT_TYPES = 0x7100, TYPES_OPT_ROOT, TYPES_OPT_NO_TYPES,
	TYPES_OPT_TYPED, TYPES_OPT_DEPTH, TYPES_OPT_MAX_OBJECTS,
	TYPES_OPT_PATH, TYPES_OPT_STRING_MAX, TYPES_OPT_DOT,
	TYPES_OPT_ATTACH, TYPES_OPT_STRIP,
};

/* What the typed options asked for. */
struct types_cli {
	const char *elf;	/* --types, --attach-types */
	const char *root;	/* --root-type */
	bool no_types, typed, attach, strip, dot;
	struct typed_dump_opts dump;
	struct cm_types *loaded;	/* types_cli_prepare() */
};

#define TYPES_CLI_SOURCE_OPTIONS(group)					\
	{ "types", TYPES_OPT_TYPES, "ELF", 0,				\
	  "Read the C types from ELF's DWARF (built with -g)", group },	\
	{ "root-type", TYPES_OPT_ROOT, "TYPE", 0,			\
	  "The root object's C type ('struct node', a typedef)", group }

#define TYPES_CLI_VERIFY_OPTIONS(group)					\
	TYPES_CLI_SOURCE_OPTIONS(group),				\
	{ "no-types", TYPES_OPT_NO_TYPES, NULL, 0,			\
	  "Ignore the type section a blob carries", group }

#define TYPES_CLI_DUMP_OPTIONS(group)					\
	TYPES_CLI_SOURCE_OPTIONS(group),				\
	{ "typed", TYPES_OPT_TYPED, NULL, 0,				\
	  "The typed view, by the blob's own type section", group },	\
	{ "path", TYPES_OPT_PATH, "PATH", 0,				\
	  "Print one value: root->next->name, root.items[2]", group },	\
	{ "depth", TYPES_OPT_DEPTH, "N", 0,				\
	  "Follow pointers at most N deep", group },			\
	{ "max-objects", TYPES_OPT_MAX_OBJECTS, "N", 0,			\
	  "Print at most N objects", group },				\
	{ "string-max", TYPES_OPT_STRING_MAX, "N", 0,			\
	  "Cut strings after N bytes (default 256)", group },		\
	{ "dot", TYPES_OPT_DOT, NULL, 0,				\
	  "The typed object graph in Graphviz dot syntax", group }

#define TYPES_CLI_CONVERT_OPTIONS(group)				\
	{ "attach-types", TYPES_OPT_ATTACH, "ELF", 0,			\
	  "Add a type section read from ELF's DWARF (with "		\
	  "--root-type)", group },					\
	{ "root-type", TYPES_OPT_ROOT, "TYPE", 0,			\
	  "The root object's C type, for --attach-types", group },	\
	{ "strip-types", TYPES_OPT_STRIP, NULL, 0,			\
	  "Remove the type section", group }

/* Parse one typed option. @return 0, or ARGP_ERR_UNKNOWN. */
int types_cli_parse(struct types_cli *c, int key, char *arg,
		    struct argp_state *state);

/* Did the dump options ask for the typed view? */
bool types_cli_dump_wanted(const struct types_cli *c);

/*
 * cma-verify: typed verification of a blob cma-verify accepted, when
 * --types is given or the blob carries types; a layout diff first when
 * both. Defects are printed like cma-verify's ("FILE: PATH, offset 0x..:
 * message"), or as JSON error objects after *nerrors others.
 * @return the exit status.
 */
int types_cli_verify(const struct types_cli *c, const struct tool_input *in,
		     bool json, bool quiet, size_t max_errors,
		     size_t *nerrors);

/* cma-dump: the typed view of a blob. @return the exit status. */
int types_cli_dump(const struct types_cli *c, const struct tool_input *in,
		   bool json, bool hex, uint64_t limit);

/* cma-convert: read --attach-types' description into c->loaded.
 * @return 0, or the exit status of a failure (reported). */
int types_cli_prepare(struct types_cli *c, const struct tool_input *in);

#endif /* TYPES_CLI_H */
