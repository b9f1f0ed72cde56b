/* SPDX-License-Identifier: MIT */
/* The typed options of the three tools: where types come from, and runs. */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "types-cli.h"

#define STRING_MAX_DEFAULT 256

int types_cli_parse(struct types_cli *c, int key, char *arg,
		    struct argp_state *state)
{
	uint64_t v = 0;

	switch (key) {
	case TYPES_OPT_DEPTH:
	case TYPES_OPT_MAX_OBJECTS:
	case TYPES_OPT_STRING_MAX:
		if (tool_parse_u64(arg, &v) || v > SIZE_MAX)
			argp_error(state, "invalid number '%s'", arg);
		break;
	default:
		break;
	}
	switch (key) {
	case TYPES_OPT_ATTACH:
		c->attach = true;
		/* fall through */
	case TYPES_OPT_TYPES:
		c->elf = arg;
		break;
	case TYPES_OPT_ROOT:
		c->root = arg;
		break;
	case TYPES_OPT_NO_TYPES:
		c->no_types = true;
		break;
	case TYPES_OPT_TYPED:
		c->typed = true;
		break;
	case TYPES_OPT_DOT:
		c->dot = true;
		break;
	case TYPES_OPT_STRIP:
		c->strip = true;
		break;
	case TYPES_OPT_PATH:
		c->dump.path = arg;
		break;
	case TYPES_OPT_DEPTH:
		c->dump.depth = v;
		break;
	case TYPES_OPT_MAX_OBJECTS:
		c->dump.max_objects = v;
		break;
	case TYPES_OPT_STRING_MAX:
		c->dump.string_max = (size_t)v;
		break;
	default:
		return ARGP_ERR_UNKNOWN;
	}
	return 0;
}

bool types_cli_dump_wanted(const struct types_cli *c)
{
	return c->elf || c->root || c->typed || c->dot || c->dump.path
	       || c->dump.depth || c->dump.max_objects || c->dump.string_max;
}

/* The blob's own types and the ELF's; at least one, or a reported
 * failure. @return 0, or the exit status. */
static int load(const struct types_cli *c, const struct tool_input *in,
		struct cm_types **blob, struct cm_types **elf)
{
	char why[TYPES_WHY_MAX];
	struct cm_error e = { 0 };
	const char *root;

	*blob = *elf = NULL;
	if (!c->no_types) {
		*blob = cm_types_read(in->data, in->len, &e);
		if (!*blob && errno == ENOTSUP)
			fprintf(stderr, "%s: %s: note: %s; ignored\n",
				tool_prog, in->name, e.message);
		else if (!*blob && errno != ENOENT) {
			tool_report(in->name, &e);
			return TOOL_INVALID;
		}
	}
	if (!c->elf)
		return 0;
	root = c->root ? c->root : *blob ? types_root_name(*blob) : NULL;
	if (!root) {
		fprintf(stderr, "%s: %s: no --root-type given and the blob "
			"carries no types\n", tool_prog, in->name);
		cm_types_free(*blob);
		*blob = NULL;
		return TOOL_USAGE;
	}
	*elf = types_from_dwarf(c->elf, root, why);
	if (!*elf) {
		fprintf(stderr, "%s: %s\n", tool_prog, why);
		cm_types_free(*blob);
		*blob = NULL;
		return TOOL_USAGE;
	}
	return 0;
}

/* Where typed defects go: cma-verify's lines or its JSON array. */
struct sink {
	const char *file;
	bool json, quiet;
	size_t *nerrors;
};

static void json_error_start(struct sink *s)
{
	fputs(*s->nerrors ? ",\n    " : "\n    ", stdout);
	(*s->nerrors)++;
}

static void on_layout(void *ctx, const char *line)
{
	struct sink *s = ctx;

	if (s->json) {
		json_error_start(s);
		fputs("{\"code\": null, \"name\": \"CM_TYPES_LAYOUT\", "
		      "\"offset\": null, \"path\": null, \"message\": ",
		      stdout);
		tool_json_string(stdout, line);
		putchar('}');
	} else if (!s->quiet) {
		printf("%s: %s\n", s->file, line);
	}
}

static void on_typed(void *ctx, const char *path, uint64_t offset,
		     const char *message)
{
	struct sink *s = ctx;

	if (s->json) {
		json_error_start(s);
		printf("{\"code\": null, \"name\": \"CM_TYPED\", \"offset\": %"
		       PRIu64 ", \"path\": ", offset);
		tool_json_string(stdout, path);
		fputs(", \"message\": ", stdout);
		tool_json_string(stdout, message);
		putchar('}');
	} else if (!s->quiet) {
		printf("%s: %s, offset 0x%" PRIx64 ": %s\n", s->file, path,
		       offset, message);
	}
}

int types_cli_verify(const struct types_cli *c, const struct tool_input *in,
		     bool json, bool quiet, size_t max_errors,
		     size_t *nerrors)
{
	struct sink s = { .file = in->name, .json = json, .quiet = quiet,
			  .nerrors = nerrors };
	struct cm_types *blob, *elf;
	struct typed_report rep;
	const struct cm_types *t;
	int st = load(c, in, &blob, &elf), rc;

	if (st || (!blob && !elf))
		return st;
	if (blob && elf
	    && types_diff(blob, elf, c->elf, on_layout, &s)) {
		st = TOOL_INVALID;
		goto out;
	}
	t = elf ? elf : blob;
	rc = typed_verify(in->data, in->len, t, max_errors, on_typed, &s,
			  &rep);
	if (rc < 0) {
		tool_report_errno(in->name, "typed verification", errno);
		st = TOOL_IO;
		goto out;
	}
	st = rc ? TOOL_INVALID : TOOL_OK;
	if (rep.unreachable && !quiet)
		fprintf(json ? stderr : stdout, "%s: warning: %zu recorded "
			"slot%s lie in no object reached from the root "
			"(unreachable data)\n", in->name, rep.unreachable,
			rep.unreachable == 1 ? "" : "s");
	if (!rc && !quiet && !json)
		printf("%s: typed OK (%s from %s: %zu objects, %zu pointers "
		       "followed)\n", in->name, types_root_name(t),
		       elf ? c->elf : "the blob's types", rep.objects,
		       rep.pointers);
out:
	cm_types_free(blob);
	cm_types_free(elf);
	return st;
}

int types_cli_dump(const struct types_cli *c, const struct tool_input *in,
		   bool json, bool hex, uint64_t limit)
{
	struct typed_dump_opts o = c->dump;
	struct cm_types *blob, *elf;
	char why[TYPES_WHY_MAX];
	int st = load(c, in, &blob, &elf);

	if (st)
		return st;
	if (!blob && !elf) {
		fprintf(stderr, "%s: %s: the blob carries no types; give "
			"--types=ELF --root-type=TYPE\n", tool_prog, in->name);
		return TOOL_USAGE;
	}
	o.format = c->dot ? TYPED_DOT : json ? TYPED_JSON : TYPED_TEXT;
	o.hex = hex;
	if (!o.max_objects)
		o.max_objects = limit;
	if (!o.string_max)
		o.string_max = STRING_MAX_DEFAULT;
	if (typed_dump(stdout, in->data, in->len, elf ? elf : blob, &o, why)) {
		fprintf(stderr, "%s: %s: %s\n", tool_prog, in->name, why);
		st = TOOL_USAGE;
	}
	cm_types_free(blob);
	cm_types_free(elf);
	return st;
}

int types_cli_prepare(struct types_cli *c, const struct tool_input *in)
{
	char why[TYPES_WHY_MAX];

	(void)in;
	if (c->attach && c->strip) {
		fprintf(stderr, "%s: --attach-types and --strip-types are "
			"exclusive\n", tool_prog);
		return TOOL_USAGE;
	}
	if (!c->attach)
		return 0;
	if (!c->root) {
		fprintf(stderr, "%s: --attach-types needs --root-type=TYPE "
			"(the type of the object at the root)\n", tool_prog);
		return TOOL_USAGE;
	}
	c->loaded = types_from_dwarf(c->elf, c->root, why);
	if (!c->loaded) {
		fprintf(stderr, "%s: %s\n", tool_prog, why);
		return TOOL_USAGE;
	}
	return 0;
}
