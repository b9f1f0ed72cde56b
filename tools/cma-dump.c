/* SPDX-License-Identifier: MIT */
/* cma-dump: show a blob's header, relocation table, bytes and pointer graph. */
#include <argp.h>
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "dump.h"
#include "pager.h"
#include "tool-common.h"
#include "types-cli.h"

TOOL_EXPORT const char *argp_program_version =
	"cma-dump (libcma) " CMA_VERSION;
TOOL_EXPORT const char *argp_program_bug_address = TOOL_BUG_ADDRESS;

/* Objects listed without --limit, by a view and by the summary. */
#define OBJECTS_DEFAULT_LIMIT 1000
#define SUMMARY_OBJECTS 8

enum { OPT_PAGER = 0x180 };

/* --pager: set by parse_opt(), acted on once the colour is decided. */
static bool use_pager;

static const struct argp_option options[] = {
	{ NULL, 0, NULL, 0, "What to show (default: a summary: the header, "
	  "statistics, the first entries and those around the root):", 1 },
	{ "all", 'a', NULL, 0,
	  "Everything: header, statistics, the whole relocation table and "
	  "object map", 1 },
	{ "header", 'H', NULL, 0, "The header summary", 1 },
	{ "relocs", 'r', NULL, 0,
	  "The relocation table (and the object map, if any)", 1 },
	{ "stats", 's', NULL, 0,
	  "Table cost per pointer in each mode, pointer density, largest "
	  "delta", 1 },
	{ "hex", 'x', "OFFSET[,LEN]", OPTION_ARG_OPTIONAL,
	  "A hexdump by blob offset, pointer slots marked", 1 },
	{ "graph", 'g', "dot", 0,
	  "The pointer graph in Graphviz dot syntax", 1 },
	{ NULL, 0, NULL, 0, "Output:", 2 },
	{ "json", 'j', NULL, 0,
	  "One JSON document on stdout (schema in cma-dump(1))", 2 },
	{ "limit", 'n', "N", 0,
	  "At most N table entries or objects, or N graph nodes "
	  "(default: all entries, 1000 nodes)", 2 },
	{ "pager", OPT_PAGER, NULL, 0,
	  "Page the output through $PAGER (default: less -R) when stdout is "
	  "a terminal", 2 },
	{ NULL, 0, NULL, 0, "Verdict:", 3 },
	TOOL_CHECK_OPTIONS(3),
	TOOL_SCAN_OPTION(3),
	{ NULL, 0, NULL, 0, "Typed view (by the producer's C types; --json, "
	  "--hex and --limit apply):", 4 },
	TYPES_CLI_DUMP_OPTIONS(4),
	{ 0 }
};

static void parse_hex(struct opts *o, const char *arg,
		      struct argp_state *state)
{
	char *copy, *comma;

	o->hex = true;
	o->hex_off = 0;
	o->hex_len = UINT64_MAX;
	if (!arg)
		return;
	copy = strdup(arg);
	if (!copy)
		argp_failure(state, TOOL_IO, ENOMEM, "--hex");
	comma = strchr(copy, ',');
	if (comma)
		*comma++ = '\0';
	if ((*copy && tool_parse_u64(copy, &o->hex_off)) ||
	    (comma && tool_parse_u64(comma, &o->hex_len))) {
		free(copy);
		argp_error(state, "invalid --hex: '%s'", arg);
	}
	free(copy);
}

static error_t parse_opt(int key, char *arg, struct argp_state *state)
{
	struct opts *o = state->input;

	switch (key) {
	case 'a':
		o->show |= SHOW_HEADER | SHOW_RELOCS | SHOW_STATS;
		o->all = true;
		break;
	case 'H':
		o->show |= SHOW_HEADER;
		break;
	case 'r':
		o->show |= SHOW_RELOCS;
		break;
	case 's':
		o->show |= SHOW_STATS;
		break;
	case 'x':
		parse_hex(o, arg, state);
		break;
	case 'g':
		if (strcmp(arg, "dot"))
			argp_error(state, "unknown graph format '%s' "
				   "(known: dot)", arg);
		o->graph = true;
		break;
	case 'j':
		o->json = true;
		break;
	case OPT_PAGER:
		use_pager = true;
		break;
	case 'n':
		if (tool_parse_u64(arg, &o->limit))
			argp_error(state, "invalid --limit: '%s'", arg);
		o->limit_set = true;
		break;
	case ARGP_KEY_ARG:
		if (o->file)
			argp_error(state, "only one FILE at a time");
		o->file = arg;
		break;
	case ARGP_KEY_END:
		if (!o->file)
			argp_error(state, "no FILE given");
		if (o->graph && (o->json || o->hex || o->show))
			argp_error(state, "--graph prints only the graph");
		if (o->json && o->hex && !types_cli_dump_wanted(&o->types))
			argp_error(state, "--hex has no JSON form");
		break;
	default:
		return types_cli_parse(&o->types, key, arg, state);
	}
	return 0;
}

static const struct argp argp = {
	options, parse_opt, "FILE",
	"Show what a libcma blob holds: its header, relocation table, bytes "
	"and pointer graph. A defective blob is shown as far as it decodes, "
	"the defect where it was met. '-' reads standard input.\v"
	"Exit status: 0 a valid blob, 1 an invalid blob, 2 usage error, "
	"3 I/O error, 4 not a cma blob (or an unknown major version or "
	"required flag).",
	NULL, NULL, NULL
};

/* Keep a defect for the JSON errors array, once. */
void dump_note_error(struct dump *d, const struct cm_error *err)
{
	for (int i = 0; i < d->nerrors; i++)
		if (d->errors[i].code == err->code &&
		    d->errors[i].offset == err->offset)
			return;
	if (d->nerrors < MAX_ERRORS)
		d->errors[d->nerrors++] = *err;
}

const char *dump_sgr(const struct dump *d, const char *code)
{
	return d->color ? code : "";
}

/* A defect met while dumping, shown in place on stdout. */
void dump_show_defect(struct dump *d, const struct cm_error *err)
{
	dump_note_error(d, err);
	if (!d->o->json)
		printf("  %s** defect at offset 0x%" PRIx64 ": %s%s%s\n",
		       dump_sgr(d, RED), err->offset, err->message,
		       tool_error_hint(err->code), dump_sgr(d, RESET));
}

/* ---- unrecorded pointers ---- */

/* cm_check_all's report: keep the words the pointer scan refused. */
static int keep_unrecorded(void *ctx, const struct cm_error *err)
{
	struct dump *d = ctx;
	uint64_t *grown;

	if (err->code != CM_E_UNRECORDED)
		return 0;
	if ((d->nunrecorded & (d->nunrecorded + 1)) == 0) {	/* 2^k - 1 */
		grown = realloc(d->unrecorded,
				(2 * d->nunrecorded + 1) * sizeof *grown);
		if (!grown)
			return 1;	/* the ones kept are still shown */
		d->unrecorded = grown;
	}
	d->unrecorded[d->nunrecorded++] = err->offset;
	return 0;
}

/* Find them, for the views to mark: only an invalid blob can have any. */
static void find_unrecorded(struct dump *d, int status)
{
	if (status && d->hok && (d->o->flags & CM_CHECK_POINTERS))
		cm_check_all(d->in.data, d->in.len,
			     d->o->flags | CM_CHECK_EXACT, 0, keep_unrecorded,
			     d);
}

uint64_t dump_word_at(const struct dump *d, uint64_t off)
{
	uint64_t v;

	memcpy(&v, d->in.data + off, 8);
	return v;
}

/* The index of the first of the n ascending v[] at or past x. */
size_t dump_lower_bound(const uint64_t *v, size_t n, uint64_t x)
{
	size_t lo = 0, hi = n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (v[mid] < x)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

static const char *scan_state(const struct dump *d)
{
	if (!(d->o->flags & CM_CHECK_POINTERS))
		return "off";
	return d->scan_note.message[0] ? "skipped" : "on";
}

/* At most `max` of them listed. */
static void text_unrecorded(struct dump *d, size_t max)
{
	size_t n = d->nunrecorded < max ? d->nunrecorded : max;

	printf("\n%sUnrecorded pointers:%s %zu word%s point%s into the data "
	       "but %s no recorded slot%s\n", dump_sgr(d, BOLD), dump_sgr(d, RESET),
	       d->nunrecorded, d->nunrecorded == 1 ? "" : "s",
	       d->nunrecorded == 1 ? "s" : "", d->nunrecorded == 1 ? "is"
							       : "are",
	       tool_error_hint(CM_E_UNRECORDED));
	printf("  %10s  %18s  %10s\n", "offset", "value", "target");
	for (size_t i = 0; i < n; i++) {
		uint64_t v = dump_word_at(d, d->unrecorded[i]);

		printf("  0x%08" PRIx64 "  0x%016" PRIx64 "  0x%08" PRIx64 "\n",
		       d->unrecorded[i], v, v - d->h.base);
	}
	if (n < d->nunrecorded)
		printf("  ... %zu more (%s)\n", d->nunrecorded - n,
		       d->o->limit_set ? "--limit" : "--all");
}

static void json_unrecorded(struct dump *d)
{
	printf(",\n  \"pointer_scan\": \"%s\", \"unrecorded\": [",
	       scan_state(d));
	for (size_t i = 0; i < d->nunrecorded; i++) {
		uint64_t v = dump_word_at(d, d->unrecorded[i]);

		printf("%s\n    {\"offset\": %" PRIu64 ", \"value\": %" PRIu64
		       ", \"target\": %" PRIu64 "}", i ? "," : "",
		       d->unrecorded[i], v, v - d->h.base);
	}
	fputs(d->nunrecorded ? "\n  ]" : "]", stdout);
}

bool dump_has_object_map(const struct dump *d)
{
	return d->hok && (d->h.optional_flags & 1);
}

/* ---- checksum ---- */

/*
 * The checksum as computed now, when it can be: cm_check already computed
 * it when the blob is valid; after a mismatch it is computed again, but
 * only over a structure cm_check accepted.
 * @return true with *sum set.
 */
static bool computed_checksum(struct dump *d, int status,
			      const struct cm_error *verdict, uint64_t *sum)
{
	struct cm_error e;

	if (status == TOOL_OK && !(d->o->flags & CM_CHECK_NO_CHECKSUM)) {
		*sum = d->h.checksum;
		return true;
	}
	if (status == TOOL_OK || verdict->code == CM_E_CHECKSUM) {
		if (cm_check(d->in.data, d->in.len,
			     CM_CHECK_EXACT | CM_CHECK_NO_CHECKSUM, &e))
			return false;
		*sum = cm_checksum_compute(d->in.data, &d->h);
		return true;
	}
	return false;
}

/* ---- header ---- */

static double bytes_per_pointer(const struct cm_header *h)
{
	return h->pointer_count ? (double)h->table_size / h->pointer_count
				: 0.0;
}

static void text_header(struct dump *d, int status,
			const struct cm_error *verdict,
			const struct cm_error *herr)
{
	const struct cm_header *h = &d->h;
	const char *b = dump_sgr(d, BOLD), *r = dump_sgr(d, RESET);
	uint64_t sum;

	printf("%sFile:%s            %s (%zu bytes)\n", b, r, d->in.name,
	       d->in.len);
	if (!d->hok) {
		printf("%sHeader:%s          not decodable\n", b, r);
		dump_show_defect(d, herr);
		return;
	}
	printf("%sFormat version:%s  %u.%u\n", b, r, h->version_major,
	       h->version_minor);
	printf("%sMode:%s            %s\n", b, r, tool_mode_name(h->mode));
	printf("%sHeader size:%s     %u\n", b, r, h->header_size);
	printf("%sBase:%s            0x%" PRIx64 "\n", b, r, h->base);
	printf("%sCapacity:%s        %" PRIu64 "\n", b, r, h->capacity);
	printf("%sRoot offset:%s     0x%" PRIx64 "\n", b, r, h->root);
	printf("%sData:%s            [0x%x, 0x%" PRIx64 "), %" PRIu64
	       " bytes\n", b, r, h->header_size, h->data_end,
	       h->data_end - h->header_size);
	printf("%sTable:%s           at 0x%" PRIx64 ", %" PRIu64
	       " bytes, %.2f bytes/pointer\n", b, r, h->table_offset,
	       h->table_size, bytes_per_pointer(h));
	printf("%sPointer count:%s   %" PRIu64 "\n", b, r, h->pointer_count);
	if (h->sections_size)
		printf("%sSections:%s        at 0x%" PRIx64 ", %" PRIu64
		       " bytes%s\n", b, r, h->sections_offset,
		       h->sections_size,
		       dump_has_object_map(d) ? " (object map)" : "");
	else
		printf("%sSections:%s        none\n", b, r);
	printf("%sBlob size:%s       %" PRIu64 "\n", b, r, h->blob_size);
	printf("%sChecksum:%s        stored 0x%016" PRIx64, b, r,
	       h->checksum);
	if (computed_checksum(d, status, verdict, &sum))
		printf(", computed 0x%016" PRIx64 " (%s%s%s)\n", sum,
		       sum == h->checksum ? "" : dump_sgr(d, RED),
		       sum == h->checksum ? "match" : "MISMATCH", r);
	else if (d->o->flags & CM_CHECK_NO_CHECKSUM)
		printf(", not computed (--no-checksum)\n");
	else
		printf(", not computed (the structure is defective)\n");
	printf("%sPointer scan:%s    ", b, r);
	if (strcmp(scan_state(d), "on"))
		printf("%s\n", d->scan_note.message[0]
			       ? "skipped: the recorded base is below 4 GiB"
			       : "off (--no-pointer-scan)");
	else if (d->nunrecorded)
		printf("%s%zu unrecorded pointer%s%s\n", dump_sgr(d, RED),
		       d->nunrecorded, d->nunrecorded == 1 ? "" : "s", r);
	else
		printf("no unrecorded pointers%s\n",
		       status == TOOL_OK ? "" : " found");
	if (status == TOOL_OK)
		printf("%sVerdict:%s         valid\n", b, r);
	else
		printf("%sVerdict:%s         %sinvalid: offset 0x%" PRIx64
		       ": %s%s%s\n", b, r, dump_sgr(d, RED), verdict->offset,
		       verdict->message, tool_error_hint(verdict->code), r);
}

static void json_header(struct dump *d, int status,
			const struct cm_error *verdict)
{
	const struct cm_header *h = &d->h;
	uint64_t sum;

	if (!d->hok) {
		fputs(",\n  \"header\": null", stdout);
		return;
	}
	printf(",\n  \"header\": {\"version_major\": %u, \"version_minor\": %u"
	       ", \"header_size\": %u, \"mode\": \"%s\", \"mode_value\": %u"
	       ", \"required_flags\": %u, \"optional_flags\": %u"
	       ", \"base\": %" PRIu64 ", \"capacity\": %" PRIu64
	       ", \"root\": %" PRIu64 ", \"data_start\": %u"
	       ", \"data_end\": %" PRIu64 ", \"data_size\": %" PRIu64
	       ", \"table_offset\": %" PRIu64 ", \"table_size\": %" PRIu64
	       ", \"pointer_count\": %" PRIu64,
	       h->version_major, h->version_minor, h->header_size,
	       tool_mode_name(h->mode), h->mode, h->required_flags,
	       h->optional_flags, h->base, h->capacity, h->root,
	       h->header_size, h->data_end, h->data_end - h->header_size,
	       h->table_offset, h->table_size, h->pointer_count);
	if (h->pointer_count)
		printf(", \"bytes_per_pointer\": %.4f", bytes_per_pointer(h));
	else
		fputs(", \"bytes_per_pointer\": null", stdout);
	printf(", \"sections_offset\": %" PRIu64 ", \"sections_size\": %"
	       PRIu64 ", \"object_map\": %s, \"blob_size\": %" PRIu64
	       ", \"checksum\": %" PRIu64,
	       h->sections_offset, h->sections_size,
	       dump_has_object_map(d) ? "true" : "false", h->blob_size,
	       h->checksum);
	if (computed_checksum(d, status, verdict, &sum))
		printf(", \"checksum_computed\": %" PRIu64
		       ", \"checksum_ok\": %s}", sum,
		       sum == h->checksum ? "true" : "false");
	else
		fputs(", \"checksum_computed\": null, \"checksum_ok\": null}",
		      stdout);
}

/* ---- object map ---- */

/*
 * Read up to `max` objects into a new array (*out, free() it).
 * @return the map's object count; -1 on a defect (shown).
 */
ssize_t dump_load_objects(struct dump *d, size_t max,
			    struct cm_object **out)
{
	struct cm_error e;
	ssize_t n;

	*out = NULL;
	n = cm_object_map(d->in.data, d->in.len, NULL, 0, &e);
	if (n < 0)
		goto fail;
	if ((size_t)n < max)
		max = (size_t)n;
	if (max == 0)
		return n;
	*out = calloc(max, sizeof **out);
	if (!*out) {
		tool_report_errno(d->in.name, "object map", errno);
		return -1;
	}
	if (cm_object_map(d->in.data, d->in.len, *out, max, &e) >= 0)
		return n;
	free(*out);
	*out = NULL;
fail:
	dump_show_defect(d, &e);
	return -1;
}

size_t dump_object_limit(const struct dump *d, size_t dflt)
{
	if (!d->o->limit_set)
		return dflt;
	return d->o->limit > SIZE_MAX / 2 ? SIZE_MAX / 2
					  : (size_t)d->o->limit;
}

/* Up to --limit objects, or `dflt` without it. */
static void dump_objects(struct dump *d, size_t dflt)
{
	struct cm_object *obj;
	size_t max = dump_object_limit(d, dflt), shown;
	ssize_t n;

	if (!d->o->json)
		printf("\n%sObject map:%s\n", dump_sgr(d, BOLD), dump_sgr(d, RESET));
	else
		fputs(",\n  \"objects\": [", stdout);
	n = dump_load_objects(d, max, &obj);
	shown = n < 0 ? 0 : (size_t)n < max ? (size_t)n : max;
	for (size_t i = 0; i < shown; i++) {
		if (d->o->json)
			printf("%s\n    {\"offset\": %" PRIu64
			       ", \"size\": %" PRIu64 "}", i ? "," : "",
			       obj[i].offset, obj[i].size);
		else
			printf("  %7zu  0x%08" PRIx64 "  %10" PRIu64
			       " bytes%s\n", i, obj[i].offset, obj[i].size,
			       obj[i].offset <= d->h.root &&
			       d->h.root < obj[i].offset + obj[i].size ?
			       "  (root)" : "");
	}
	if (d->o->json)
		printf("%s],\n  \"objects_total\": %zd", shown ? "\n  " : "",
		       n < 0 ? (ssize_t)0 : n);
	else if (n >= 0)
		printf("  %zd object%s%s\n", n, n == 1 ? "" : "s",
		       (size_t)n > shown ? " (the rest cut: --limit)" : "");
	free(obj);
}

/* ---- hexdump ---- */

/* Label the parts of the blob that start in [off, end). */
static void part_labels(const struct dump *d, uint64_t off, uint64_t end)
{
	const struct cm_header *h = &d->h;
	const struct {
		uint64_t at;
		const char *name;
		bool present;
	} part[] = {
		{ 0, "header", true },
		{ h->header_size, "data", true },
		{ h->data_end, "padding", h->data_end < h->table_offset },
		{ h->table_offset, "relocation table", h->table_size > 0 },
		{ h->sections_offset, "sections", h->sections_size > 0 },
		{ h->blob_size, "trailing bytes", h->blob_size < d->in.len },
	};

	for (size_t i = 0; i < sizeof part / sizeof part[0]; i++)
		if (part[i].present && part[i].at >= off && part[i].at < end)
			printf("%s-- %s at 0x%" PRIx64 " --%s\n",
			       dump_sgr(d, BOLD), part[i].name, part[i].at,
			       dump_sgr(d, RESET));
}

static void dump_hex(struct dump *d)
{
	const uint8_t *p = d->in.data;
	uint64_t start = d->o->hex_off, end, line;
	struct cm_reloc_iter it;
	struct cm_reloc r;
	struct cm_error e;
	bool have = false, walking;
	size_t u = dump_lower_bound(d->unrecorded, d->nunrecorded, start & ~15ULL);
	int ret;

	if (d->o->show)
		printf("\n%sHexdump:%s\n", dump_sgr(d, BOLD), dump_sgr(d, RESET));
	end = d->in.len - start < d->o->hex_len ? d->in.len
						: start + d->o->hex_len;
	walking = d->hok && cm_reloc_begin(&it, p, d->in.len, &e) == 0;
	for (line = start & ~15ULL; line < end; line += 16) {
		uint64_t slots[2] = { UINT64_MAX, UINT64_MAX };
		uint64_t targets[2];
		uint64_t strays[2];
		int ns = 0, nstrays = 0;

		/* The line's unrecorded words (aligned: two at most). */
		for (; u < d->nunrecorded && d->unrecorded[u] < line + 16; u++)
			if (d->unrecorded[u] >= line && nstrays < 2)
				strays[nstrays++] = d->unrecorded[u];

		/* Slots ascend: advance the walk up to this line's end. */
		while (walking) {
			if (!have) {
				ret = cm_reloc_next(&it, &r, &e);
				if (ret <= 0) {
					walking = false;
					break;
				}
				have = true;
			}
			if (r.slot >= line + 16)
				break;
			if (r.slot >= line && ns < 2) {
				slots[ns] = r.slot;
				targets[ns++] = r.target;
			}
			have = false;
		}
		if (d->hok)
			part_labels(d, line, line + 16);
		printf("%08" PRIx64 " ", line);
		for (uint64_t i = line; i < line + 16; i++) {
			bool in_slot = false, in_stray = false;
			const char *color;

			for (int k = 0; k < ns; k++)
				in_slot |= i >= slots[k] && i < slots[k] + 8;
			for (int k = 0; k < nstrays; k++)
				in_stray |= i >= strays[k] && i < strays[k] + 8;
			color = in_stray ? dump_sgr(d, RED) : dump_sgr(d, CYAN);
			in_slot |= in_stray;
			if (i % 8 == 0)
				putchar(' ');
			if (i < start || i >= end)
				fputs("   ", stdout);
			else
				printf("%s%02x%s ", in_slot ? color : "",
				       p[i], in_slot ? dump_sgr(d, RESET) : "");
		}
		fputs(" |", stdout);
		for (uint64_t i = line; i < line + 16; i++)
			putchar(i < start || i >= end ? ' ' :
				p[i] >= 0x20 && p[i] < 0x7f ? p[i] : '.');
		putchar('|');
		for (int k = 0; k < ns; k++)
			printf(" ptr@+%" PRIu64 "->0x%" PRIx64,
			       slots[k] - line, targets[k]);
		for (int k = 0; k < nstrays; k++)
			printf(" %sunrecorded@+%" PRIu64 "->0x%" PRIx64 "%s",
			       dump_sgr(d, RED), strays[k] - line,
			       dump_word_at(d, strays[k]) - d->h.base,
			       dump_sgr(d, RESET));
		putchar('\n');
	}
}

/* ---- main ---- */

/* Objects listed without --limit: all of them with --all. */
static size_t object_default(const struct dump *d)
{
	return d->o->all ? SIZE_MAX / 2 : OBJECTS_DEFAULT_LIMIT;
}

static void json_document(struct dump *d, int status,
			  const struct cm_error *verdict)
{
	unsigned show = d->o->show ? d->o->show : SHOW_HEADER | SHOW_RELOCS;

	fputs("{\"schema\": \"cma-dump/1\", \"file\": ", stdout);
	tool_json_string(stdout, d->in.name);
	printf(", \"file_size\": %zu, \"valid\": %s, \"status\": %d",
	       d->in.len, status ? "false" : "true", status);
	if (show & SHOW_HEADER)
		json_header(d, status, verdict);
	if (show & SHOW_RELOCS) {
		dump_relocs_json(d);
		json_unrecorded(d);
		if (dump_has_object_map(d))
			dump_objects(d, object_default(d));
	}
	if (show & SHOW_STATS)
		dump_stats(d);
	fputs(",\n  \"errors\": [", stdout);
	for (int i = 0; i < d->nerrors; i++) {
		fputs(i ? ",\n    " : "\n    ", stdout);
		tool_json_error(stdout, &d->errors[i]);
	}
	puts(d->nerrors ? "\n  ]\n}" : "]\n}");
}

/*
 * What cma-dump prints without a view option: what a person reads first,
 * in a time and length that do not grow with the table (but for the check
 * and one pass over the table's bits).
 */
static void text_summary(struct dump *d, int status,
			 const struct cm_error *verdict,
			 const struct cm_error *herr)
{
	size_t rows = d->o->limit_set ? dump_object_limit(d, 0)
				      : SUMMARY_OBJECTS;

	text_header(d, status, verdict, herr);
	if (!d->hok)
		return;
	dump_stats(d);
	dump_relocs_summary(d);
	if (d->nunrecorded)
		text_unrecorded(d, rows);
	if (dump_has_object_map(d))
		dump_objects(d, rows);
}

static void text_document(struct dump *d, int status,
			  const struct cm_error *verdict,
			  const struct cm_error *herr)
{
	unsigned show = d->o->show;
	size_t rows = d->o->limit_set ? dump_object_limit(d, 0) : SIZE_MAX;

	if (!show && !d->o->hex) {
		text_summary(d, status, verdict, herr);
		return;
	}
	if (show & SHOW_HEADER || (!d->hok && show))
		text_header(d, status, verdict, herr);
	if (show & SHOW_RELOCS && d->hok) {
		dump_relocs_text(d);
		if (d->nunrecorded)
			text_unrecorded(d, rows);
		if (dump_has_object_map(d))
			dump_objects(d, object_default(d));
	}
	if (show & SHOW_STATS && d->hok)
		dump_stats(d);
	if (d->o->hex)
		dump_hex(d);
}

int main(int argc, char **argv)
{
	struct opts o = { .flags = CM_CHECK_POINTERS };
	struct dump d = { .o = &o };
	struct cm_error verdict, herr;
	int status;

	tool_init("cma-dump");
	tool_parse(&argp, argc, argv, &o, &o.flags);
	if (tool_input_open(&d.in, o.file, false) < 0)
		return tool_finish(TOOL_IO);
	if (o.hex && o.hex_off > d.in.len) {
		fprintf(stderr, "%s: %s: --hex offset 0x%" PRIx64 " is past "
			"the end (0x%zx)\n", tool_prog, d.in.name, o.hex_off,
			d.in.len);
		tool_input_close(&d.in);
		return tool_finish(TOOL_USAGE);
	}
	d.color = !o.json && tool_color(stdout);
	if (use_pager)
		pager_start();
	status = tool_check(&d.in, o.flags, &verdict);
	if (status) {
		tool_report(d.in.name, &verdict);
		dump_note_error(&d, &verdict);
	} else {
		d.scan_note = verdict;
	}
	if (types_cli_dump_wanted(&o.types)) {
		if (status == TOOL_OK)
			status = types_cli_dump(&o.types, &d.in, o.json, o.hex,
						o.limit_set ? o.limit : 0);
		tool_input_close(&d.in);
		return tool_finish(status);
	}
	herr = verdict;
	d.hok = d.in.len >= 8 &&
		cm_header_read(d.in.data, d.in.len, &d.h, &herr) == 0;
	/*
	 * A truncated blob still has a header worth showing: decode it alone
	 * (cm_header_read reads only the header). Every later read, the
	 * table walk included, uses the real length and meets the cut.
	 */
	if (!d.hok && herr.code == CM_E_TRUNCATED && d.in.len >= 128)
		d.hok = cm_header_read(d.in.data, SIZE_MAX, &d.h, NULL) == 0;
	find_unrecorded(&d, status);
	if (o.json) {
		json_document(&d, status, &verdict);
	} else if (o.graph) {
		if (dump_graph(&d) < 0 && status < TOOL_IO)
			status = TOOL_IO;
	} else {
		text_document(&d, status, &verdict, &herr);
	}
	tool_input_close(&d.in);
	free(d.unrecorded);
	free(d.bits);
	return tool_finish(status);
}
