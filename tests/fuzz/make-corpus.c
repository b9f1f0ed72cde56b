/* SPDX-License-Identifier: MIT */
/* Writes the fuzz seed corpus: real blobs of every shape, some defective. */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cma-private.h"
#include "blob-edit.h"
#include "legacy-edit.h"

/* Which corpus directories a seed goes to. */
enum {
	T_CHECK = 1 << 0,
	T_DESER = 1 << 1,
	T_CONVERT = 1 << 2,
	T_LEGACY = 1 << 3,
	T_DIFF = 1 << 4,
	T_DUMP = 1 << 5,
	T_V1 = T_CHECK | T_DESER | T_CONVERT | T_DIFF | T_DUMP,
};

static const char *const target_names[] = {
	"fuzz-check", "fuzz-deserialize", "fuzz-convert", "fuzz-legacy",
	"fuzz-differential", "fuzz-dump",
};

static const char *outdir;
static int failures;
/* Every how many-th legacy corruption goes to the corpus. */
static size_t sweep_step = 50;

__attribute__((noreturn, format(printf, 1, 2)))
static void die(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fprintf(stderr, "make-corpus: ");
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
	exit(EXIT_FAILURE);
}

static void put(const char *name, const void *p, size_t n, unsigned targets)
{
	char path[4096];

	for (size_t t = 0; t < 6; t++) {
		FILE *f;

		if (!(targets & (1u << t)))
			continue;
		snprintf(path, sizeof path, "%s/%s", outdir, target_names[t]);
		if (mkdir(path, 0777) != 0 && errno != EEXIST)
			die("%s: %s", path, strerror(errno));
		snprintf(path, sizeof path, "%s/%s/%s", outdir,
			 target_names[t], name);
		f = fopen(path, "wb");
		if (!f || (n && fwrite(p, 1, n, f) != n) || fclose(f) != 0)
			die("%s: %s", path, strerror(errno));
	}
}

/* A seed that claims to be valid (or defective) must be. */
static void expect(const char *name, const void *p, size_t n, int flags,
		   int code)
{
	struct cm_error err = { 0 };
	int rc = cm_check(p, n, flags, &err);

	if (code == CM_OK ? rc == 0 : rc != 0)
		return;
	fprintf(stderr, "make-corpus: %s: expected %s, cm_check gave %s: %s\n",
		name, cm_error_name(code), cm_error_name(err.code),
		rc ? err.message : "valid");
	failures++;
}

/* ---- v1 blobs built through the real API ---- */

struct node {
	uint64_t x;
	struct node *next;
};

struct tnode {
	struct tnode *left, *right;
	uint64_t val;
};

typedef void *(*build_fn)(struct cm_attr *mem);

static void *build_list(struct cm_attr *mem)
{
	struct node *head = NULL, *n;

	for (uint64_t i = 0; i < 5; i++) {
		if (cm_alloc(mem, &n, sizeof *n))
			die("list: %s", strerror(errno));
		n->x = 0x1111 * (i + 1);
		if (cm_ptr_to(mem, &n->next, head))
			die("list: %s", strerror(errno));
		head = n;
	}
	return head;
}

static struct tnode *tree(struct cm_attr *mem, struct tnode **slot, int depth,
			  uint64_t *counter)
{
	struct tnode *t;

	if (cm_alloc(mem, slot, sizeof **slot))
		die("tree: %s", strerror(errno));
	t = *slot;
	t->val = (*counter)++;
	if (depth > 0) {
		tree(mem, &t->left, depth - 1, counter);
		tree(mem, &t->right, depth - 1, counter);
	}
	return t;
}

static void *build_tree(struct cm_attr *mem)
{
	struct tnode *root;
	uint64_t counter = 1;

	return tree(mem, &root, 3, &counter);
}

/* Data and no pointer at all: an empty table. */
static void *build_noptr(struct cm_attr *mem)
{
	uint64_t *p;

	if (cm_alloc(mem, &p, 40))
		die("noptr: %s", strerror(errno));
	for (int i = 0; i < 5; i++)
		p[i] = 0x0123456789abcdefULL * (uint64_t)(i + 1);
	return p;
}

/* Recorded slots that all hold NULL: none is listed. */
static void *build_nulls(struct cm_attr *mem)
{
	void **p;

	if (cm_alloc(mem, &p, 4 * sizeof *p))
		die("nulls: %s", strerror(errno));
	for (int i = 0; i < 4; i++)
		if (cm_ptr_to(mem, &p[i], NULL))
			die("nulls: %s", strerror(errno));
	return p;
}

/* Pointers to the data's first byte, to itself, and one past the end. */
static void *build_edges(struct cm_attr *mem)
{
	void **p;
	uint64_t *tail;

	if (cm_alloc(mem, &p, 4 * sizeof *p) || cm_alloc(mem, &tail, 24))
		die("edges: %s", strerror(errno));
	if (cm_ptr_to(mem, &p[0], p) || cm_ptr_to(mem, &p[1], &p[1]) ||
	    cm_ptr_to(mem, &p[2], (char *)tail + 24) ||
	    cm_ptr_to(mem, &p[3], (char *)tail + 4))
		die("edges: %s", strerror(errno));
	return p;
}

/* Two slots far apart: a wide relative delta (2 VLQ bytes). */
static size_t gap_bytes = 2048;

static void *build_gap(struct cm_attr *mem)
{
	void **first, **last;
	char *gap;

	if (cm_alloc(mem, &first, 8) || cm_alloc(mem, &gap, gap_bytes) ||
	    cm_alloc(mem, &last, 8))
		die("gap: %s", strerror(errno));
	if (cm_ptr_to(mem, first, last) || cm_ptr_to(mem, last, first))
		die("gap: %s", strerror(errno));
	gap[0] = 1;
	return first;
}

/* With the object map; a freed object leaves one pointer dangling. */
static void *build_dangling(struct cm_attr *mem)
{
	struct node *head = build_list(mem), *extra, *tail;

	/* The tail keeps the data end past the freed node. */
	if (cm_alloc(mem, &extra, sizeof *extra) ||
	    cm_alloc(mem, &tail, sizeof *tail))
		die("dangling: %s", strerror(errno));
	tail->x = 7;
	if (cm_ptr_to(mem, (void **)&head->x, &extra->next) ||
	    cm_free(mem, extra))
		die("dangling: %s", strerror(errno));
	return head;
}

/* Build, serialize, return a malloc'd copy of the blob. */
static uint8_t *make(build_fn fn, int mode, int flags, size_t cap,
		     size_t *len)
{
	struct cm_attr *mem = cm_create(-1, cap, MAP_PRIVATE,
					flags | CM_NO_HUGEPAGES);
	uint8_t *blob, *copy;
	void *root;

	if (!mem)
		die("cm_create: %s", strerror(errno));
	root = fn(mem);
	blob = cm_serialize(mem, root, mode, 0);
	if (!blob)
		die("cm_serialize: %s", strerror(errno));
	*len = (size_t)cm_get_size(mem);
	copy = malloc(*len + 64);
	if (!copy)
		die("out of memory");
	memcpy(copy, blob, *len);
	memset(copy + *len, 0, 64);
	cm_delete(mem, CM_ERASE);
	return copy;
}

struct sink {
	uint8_t buf[1 << 16];
	size_t len;
};

static int sink_write(void *ctx, const void *p, size_t n)
{
	struct sink *s = ctx;

	if (n > sizeof s->buf - s->len) {
		errno = ENOSPC;
		return -1;
	}
	memcpy(s->buf + s->len, p, n);
	s->len += n;
	return 0;
}

static void v1_seeds(void)
{
	static const struct {
		const char *name;
		build_fn fn;
		int flags;
	} shapes[] = {
		{ "list", build_list, 0 },
		{ "tree", build_tree, 0 },
		{ "noptr", build_noptr, 0 },
		{ "nulls", build_nulls, 0 },
		{ "edges", build_edges, 0 },
		{ "gap", build_gap, 0 },
		{ "map-list", build_list, CM_OBJECT_MAP },
		{ "map-tree", build_tree, CM_OBJECT_MAP },
		{ "map-dangling", build_dangling, CM_OBJECT_MAP },
	};
	static struct sink s;
	char name[128];

	for (size_t i = 0; i < sizeof shapes / sizeof shapes[0]; i++) {
		for (int mode = 1; mode <= 2; mode++) {
			const char *m = mode == 1 ? "rel" : "abs";
			struct cm_error err;
			size_t len;
			uint8_t *b = make(shapes[i].fn, mode, shapes[i].flags,
					  1 << 20, &len);

			snprintf(name, sizeof name, "%s-%s", shapes[i].name,
				 m);
			expect(name, b, len, CM_CHECK_EXACT, CM_OK);
			if (shapes[i].fn == build_dangling)
				expect(name, b, len, CM_CHECK_STRICT,
				       CM_E_DANGLING);
			put(name, b, len, T_V1);

			/* Canonical bytes: rebased to 0. */
			s.len = 0;
			if (cm_convert(b, len, 0, 0, 0, sink_write, &s,
				       &err) != 0)
				die("%s: cm_convert: %s", name, err.message);
			snprintf(name, sizeof name, "%s-%s-base0",
				 shapes[i].name, m);
			expect(name, s.buf, s.len, CM_CHECK_EXACT, CM_OK);
			put(name, s.buf, s.len, T_V1);
			free(b);
		}
	}
}

/* A 3-byte relative delta needs 128 KiB between two slots. */
static void big_gap_seed(void)
{
	size_t len;
	uint8_t *b;

	gap_bytes = 130 * 1024;
	b = make(build_gap, CM_RELATIVE_OFFSET, 0, 1 << 20, &len);
	gap_bytes = 2048;
	expect("gap3-rel", b, len, CM_CHECK_EXACT, CM_OK);
	put("gap3-rel", b, len, T_CHECK | T_DIFF);
	free(b);
}

/* Pointers stored without cm_ptr_to(): a list's integer words holding
 * addresses of its nodes, refused by the pointer scan only. */
static void unrecorded_seeds(void)
{
	for (int mode = 1; mode <= 2; mode++) {
		const char *name = mode == 1 ? "unrecorded-rel"
					     : "unrecorded-abs";
		size_t len;
		uint8_t *b = make(build_list, mode, 0, 1 << 20, &len);
		struct cm_header h = raw_header(b);

		/* The first node's x: the data start; the last's: one past
		 * the end (both ends of the rule). */
		st64(b + h.header_size, h.base + h.header_size);
		st64(b + h.data_end - 16, h.base + h.data_end);
		reseal(b);
		expect(name, b, len, CM_CHECK_EXACT, CM_OK);
		expect(name, b, len, CM_CHECK_POINTERS, CM_E_UNRECORDED);
		put(name, b, len, T_V1);
		free(b);
	}
}

/* Defective blobs, each refused for one named reason. */
static void bad_seeds(void)
{
	struct cm_header h;
	size_t len, alen;
	uint8_t *b = make(build_list, CM_RELATIVE_OFFSET, 0, 1 << 20, &len);
	uint8_t *a = make(build_list, CM_ABSOLUTE_OFFSET, 0, 1 << 20, &alen);
	uint8_t *c = malloc(alen + 64);

	if (!c || cm_header_read(b, len, &h, NULL) != 0)
		die("bad seeds: no base blob");

	/* Trailing bytes: valid, but not with CM_CHECK_EXACT. */
	expect("trailing", b, len + 8, 0, CM_OK);
	expect("trailing", b, len + 8, CM_CHECK_EXACT, CM_E_LENGTH);
	put("trailing", b, len + 8, T_V1);

	put("empty", b, 0, T_V1);
	put("magic-only", b, CM_MAGIC_LEN, T_V1);
	expect("header-only", b, HDR, 0, CM_E_TRUNCATED);
	put("header-only", b, HDR, T_V1);
	expect("truncated", b, len - 3, 0, CM_E_TRUNCATED);
	put("truncated", b, len - 3, T_V1);

	memcpy(c, b, len);
	c[0] = 'C';
	expect("bad-magic", c, len, 0, CM_E_MAGIC);
	put("bad-magic", c, len, T_CHECK | T_DUMP | T_DIFF);

	memcpy(c, b, len);
	c[h.header_size] ^= 1;
	expect("bad-checksum", c, len, 0, CM_E_CHECKSUM);
	put("bad-checksum", c, len, T_V1);

	/* A pointer one word past the data end. */
	memcpy(c, b, len);
	st64(c + h.root + 8, h.base + h.data_end + 8);
	reseal(c);
	expect("bad-pointer", c, len, 0, CM_E_POINTER);
	put("bad-pointer", c, len, T_V1);

	/* A VLQ cut short: the first entry becomes a continuation byte. */
	memcpy(c, b, len);
	c[h.table_offset] |= 0x80;
	reseal(c);
	expect("bad-vlq", c, len, 0, CM_E_ENCODING);
	put("bad-vlq", c, len, T_V1);

	/* A zero delta: slots not ascending. */
	memcpy(c, b, len);
	c[h.table_offset + 1] = 0;
	reseal(c);
	expect("bad-order", c, len, 0, CM_E_ORDER);
	put("bad-order", c, len, T_V1);

	/* An unaligned absolute slot. */
	if (cm_header_read(a, alen, &h, NULL) != 0)
		die("bad seeds: no absolute blob");
	memcpy(c, a, alen);
	st64(c + h.table_offset, ld64(c + h.table_offset) + 4);
	reseal(c);
	expect("bad-slot", c, alen, 0, CM_E_SLOT);
	put("bad-slot", c, alen, T_V1);

	/* A non-zero reserved byte. */
	memcpy(c, a, alen);
	c[H_RES1] = 1;
	expect("bad-reserved", c, alen, 0, CM_E_PADDING);
	put("bad-reserved", c, alen, T_V1);

	/* A header claiming 2^63 pointers. */
	memcpy(c, a, alen);
	st64(c + H_COUNT, 1ULL << 63);
	expect("huge-count", c, alen, 0, CM_E_HEADER);
	put("huge-count", c, alen, T_V1);

	/* A live arena, never sealed. */
	memcpy(c, a, alen);
	st32(c + H_REQUIRED, CM_REQ_LIVE);
	expect("unsealed", c, alen, 0, CM_E_UNSEALED);
	put("unsealed", c, alen, T_V1);

	free(a);
	free(b);
	free(c);
}

/* ---- pre-1.0 blobs, laid out by hand (legacy-edit.h) ---- */

#define LEGACY_BASE 0x7f3a12340000ULL

/* How an import of a legacy seed must end. */
static void expect_legacy(const char *name, const uint8_t *p, size_t n,
			  int code)
{
	static struct sink s;
	struct cm_error err = { 0 };
	int rc;

	s.len = 0;
	rc = cm_legacy_import(p, n, 0, UINT64_MAX, sink_write, &s, &err);
	if (code == CM_OK && rc != 0) {
		fprintf(stderr, "make-corpus: %s: import refused: %s\n",
			name, err.message);
		failures++;
	} else if (code != CM_OK && (rc == 0 || err.code != code)) {
		fprintf(stderr, "make-corpus: %s: expected %s, import gave "
			"%s\n", name, cm_error_name(code),
			rc ? cm_error_name(err.code) : "success");
		failures++;
	} else if (code == CM_OK) {
		expect(name, s.buf, s.len, CM_CHECK_EXACT | CM_CHECK_POINTERS,
		       CM_OK);
	}
}

static void put_legacy(const char *name, const uint8_t *p, size_t n,
		       int code)
{
	expect_legacy(name, p, n, code);
	put(name, p, n, T_LEGACY);
}

/*
 * The corruption sweep of the two lists: every `step`-th one (each class
 * is among them), or with step 1 all of them, which is what a fuzzing
 * campaign starts from (make-corpus --all-legacy-corruptions).
 */
static void legacy_sweep(size_t step)
{
	size_t size = legacy_list_size(LEGACY_SWEEP_NODES);
	uint8_t *valid = malloc(size), *bad = malloc(size);
	struct legacy_layout lay;
	char name[64];

	if (!valid || !bad)
		die("out of memory");
	for (int absolute = 0; absolute < 2; absolute++) {
		legacy_list(valid, absolute, LEGACY_SWEEP_NODES, LEGACY_BASE,
			    &lay);
		for (size_t i = 0; i < LEGACY_SWEEP_EACH; i += step) {
			enum legacy_class cls;
			size_t n = legacy_corrupt(valid, &lay, i, bad, &cls);

			snprintf(name, sizeof name, "legacy-%s-corrupt-%04zu",
				 absolute ? "abs" : "rel", i);
			put(name, bad, n, T_LEGACY);
		}
	}
	free(valid);
	free(bad);
}

/* The newer format of the original cma: a header {bitmap offset, bitmap
 * length, base, root}, the data, a bitmap of the pointer words. */
static size_t bitmap_blob(uint8_t *out)
{
	const size_t data = 48, off = 32 + data, bits = 8 * ((off >> 9) + 1);

	memset(out, 0, off + bits);
	st64(out, off);
	st64(out + 8, bits);
	st64(out + 16, LEGACY_BASE);
	st64(out + 24, LEGACY_BASE + 32);
	st64(out + 40, LEGACY_BASE + 48);	/* a pointer word */
	out[off] = 1 << (40 / 8);
	return off + bits;
}

static void legacy_seeds(void)
{
	/* Three nodes {x, next} at 8, 24, 40 and a pointer at 56. */
	uint8_t data[4096] = { 0 }, out[8192];
	uint64_t rel_slots[] = { 16, 48, 32, 56 };
	uint64_t abs_slots[] = { 16, 32, 48, 56 };
	uint64_t dup_slots[] = { 16, 32, 32, 48, 56 };
	uint64_t far_slots[] = { 16, 1000, 2040, 32, 48, 56 };
	struct legacy_layout lay;
	size_t len;

	st64(data, LEGACY_BASE + 8);
	st64(data + 8, 1);
	st64(data + 16, LEGACY_BASE + 24);
	st64(data + 24, 2);
	st64(data + 32, 0);		/* a NULL slot */
	st64(data + 40, 3);
	st64(data + 48, LEGACY_BASE + 8);
	st64(data + 56, LEGACY_BASE + 64);	/* one past the end */

	len = legacy_relative(out, data, 64, rel_slots, 4, LEGACY_BASE);
	put_legacy("legacy-rel", out, len, CM_OK);
	len = legacy_absolute(out, data, 64, abs_slots, 4, LEGACY_BASE);
	put_legacy("legacy-abs", out, len, CM_OK);
	/* A slot registered twice in a row: a zero delta, not the end. */
	len = legacy_relative(out, data, 64, dup_slots, 5, LEGACY_BASE);
	put_legacy("legacy-rel-repeat", out, len, CM_OK);
	len = legacy_absolute(out, data, 64, dup_slots, 5, LEGACY_BASE);
	put_legacy("legacy-abs-repeat", out, len, CM_OK);

	/* Data with no pointer, in both modes (absolute: n == 0 too). */
	len = legacy_relative(out, data, 16, NULL, 0, LEGACY_BASE);
	st64(out, LEGACY_BASE + 8);
	put_legacy("legacy-noptr", out, len, CM_OK);

	/* Multi-byte and negative deltas over a wider data area. */
	st64(data + 1000, LEGACY_BASE + 2048);
	st64(data + 2040, LEGACY_BASE + 16);
	len = legacy_relative(out, data, 2048, far_slots, 6, LEGACY_BASE);
	put_legacy("legacy-rel-wide", out, len, CM_OK);
	st64(data + 1000, 0);
	st64(data + 2040, 0);

	/* The lists the corruption sweep starts from. */
	len = legacy_list(out, false, LEGACY_SWEEP_NODES, LEGACY_BASE, &lay);
	put_legacy("legacy-list-rel", out, len, CM_OK);
	len = legacy_list(out, true, LEGACY_SWEEP_NODES, LEGACY_BASE, &lay);
	put_legacy("legacy-list-abs", out, len, CM_OK);

	/* Defects the importer must refuse. */
	len = legacy_relative(out, data, 64, rel_slots, 4, LEGACY_BASE);
	st64(out, 0);
	put_legacy("legacy-null-root", out, len, CM_E_LEGACY);

	len = legacy_relative(out, data, 64, rel_slots, 4, LEGACY_BASE);
	out[64] = 0x81;		/* the terminator gone */
	put_legacy("legacy-no-end", out, len, CM_E_LEGACY);

	len = legacy_absolute(out, data, 64, abs_slots, 4, LEGACY_BASE);
	st64(out + 72, 16);	/* unsorted: 16, 16 < 32 ... */
	st64(out + 64, 32);
	put_legacy("legacy-unsorted", out, len, CM_E_LEGACY);

	len = legacy_absolute(out, data, 64, abs_slots, 4, LEGACY_BASE);
	st64(out + 64 + 32, 9);	/* n larger than the table */
	put_legacy("legacy-big-n", out, len, CM_E_LEGACY);

	/* The table lost a slot: its pointer would keep the producer's
	 * address. */
	len = legacy_absolute(out, data, 64, abs_slots + 1, 3, LEGACY_BASE);
	put_legacy("legacy-lost-slot", out, len, CM_E_UNRECORDED);

	len = legacy_relative(out, data, 64, rel_slots, 4, LEGACY_BASE);
	put_legacy("legacy-cut-rel", out, len - 3, CM_E_TRUNCATED);
	len = legacy_absolute(out, data, 64, abs_slots, 4, LEGACY_BASE);
	put_legacy("legacy-cut-abs", out, len - 5, CM_E_TRUNCATED);

	len = bitmap_blob(out);
	put_legacy("legacy-bitmap-format", out, len, CM_E_LEGACY);

	put("legacy-tiny", out, 15, T_LEGACY);
	legacy_sweep(sweep_step);
}

int main(int argc, char **argv)
{
	if (argc == 3 && !strcmp(argv[1], "--all-legacy-corruptions")) {
		sweep_step = 1;
		argv++;
	} else if (argc != 2) {
		fprintf(stderr, "usage: make-corpus "
			"[--all-legacy-corruptions] OUTDIR\n");
		return 2;
	}
	outdir = argv[1];
	if (mkdir(outdir, 0777) != 0 && errno != EEXIST)
		die("%s: %s", outdir, strerror(errno));
	v1_seeds();
	big_gap_seed();
	unrecorded_seeds();
	bad_seeds();
	legacy_seeds();
	if (failures)
		fprintf(stderr, "make-corpus: %d seeds not as expected\n",
			failures);
	return failures ? EXIT_FAILURE : EXIT_SUCCESS;
}
