/* SPDX-License-Identifier: MIT */
/* Fuzz target: the type section's parser, and the typed walk and dump of
 * a fuzzed blob by the types it carries. */
#include <stdbool.h>

#include "fuzz-util.h"
#include "cma-types.h"

/* A decoded description must satisfy the rules it was checked by: encode
 * it again and decode that, the same types come back. */
static void payload_round_trip(const uint8_t *data, size_t size)
{
	struct cm_types *t = cm_types_decode(data, size, NULL), *u;
	void *p = NULL;
	size_t n;

	if (!t)
		return;
	FUZZ_ASSERT(cm_types_encode(t, &p, &n, NULL) == 0);
	u = cm_types_decode(p, n, NULL);
	FUZZ_ASSERT(u && u->type_count == t->type_count
		    && u->member_count == t->member_count
		    && u->root == t->root);
	for (uint32_t i = 0; i < t->type_count; i++)
		FUZZ_ASSERT(u->types[i].kind == t->types[i].kind
			    && u->types[i].size == t->types[i].size
			    && u->types[i].target == t->types[i].target);
	cm_types_free(u);
	cm_types_free(t);
	free(p);
}

static void on_error(void *ctx, const char *path, uint64_t offset,
		     const char *message)
{
	size_t *n = ctx;

	/* A path from the root, or past the searched ones, the object. */
	FUZZ_ASSERT((!strncmp(path, "root", 4) || !strncmp(path, "the ", 4)
		     || !strncmp(path, "an ", 3)) && message[0]);
	(void)offset;
	(*n)++;
}

/* Every view of a valid blob by its own types: bounded, no crash. */
static void typed_views(const uint8_t *data, size_t size)
{
	static const enum typed_format formats[] = { TYPED_TEXT, TYPED_JSON,
						     TYPED_DOT };
	struct cm_types *t = cm_types_read(data, size, NULL);
	struct typed_report rep;
	char why[TYPES_WHY_MAX];
	size_t errors = 0;
	int rc;

	if (!t)
		return;
	if (cm_check(data, size, CM_CHECK_EXACT, NULL) != 0) {
		cm_types_free(t);
		return;
	}
	rc = typed_verify(data, size, t, 0, on_error, &errors, &rep);
	FUZZ_ASSERT(rc < 0 || (size_t)rc == (errors != 0));
	FUZZ_ASSERT(rc < 0 || rep.errors == errors);
	for (size_t f = 0; f < 3; f++) {
		struct typed_dump_opts o = { .format = formats[f],
					     .hex = f == 1, .string_max = 64,
					     .max_objects = 1000 };
		char *buf = NULL;
		size_t len = 0;
		FILE *out = open_memstream(&buf, &len);

		FUZZ_ASSERT(out);
		typed_dump(out, data, size, t, &o, why);
		o.path = "root->next";
		typed_dump(out, data, size, t, &o, why);
		fclose(out);
		free(buf);
	}
	cm_types_free(t);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t *copy = fuzz_copy(data, size);

	if (!copy)
		return 0;
	payload_round_trip(copy, size);
	/* A mutated blob's checksum fixed, so the walk gets to run. */
	fuzz_fix_checksum(copy, size);
	typed_views(copy, size);
	free(copy);
	return 0;
}
