/* SPDX-License-Identifier: MIT */
/* Fuzz target: what cma-dump does with a blob, defective ones included. */
#include <stdbool.h>

#include "fuzz-util.h"
#include "tool-common.h"

/*
 * tools/ has no function that prints a whole blob, so this drives the same
 * public calls cma-dump makes (header, iterator, object map, checksum,
 * check_all) and the shared tool code that formats what they return, and
 * prints into a memory stream.
 */

#define LIMIT 1000

/* Every JSON string the tools emit stays free of raw control bytes. */
static void assert_json_clean(const char *buf, size_t len)
{
	bool in_string = false;

	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)buf[i];

		if (in_string) {
			FUZZ_ASSERT(c >= 0x20);
			if (c == '\\')
				i++;
			else if (c == '"')
				in_string = false;
		} else if (c == '"') {
			in_string = true;
		}
	}
	FUZZ_ASSERT(!in_string);
}

static int report(void *ctx, const struct cm_error *err)
{
	FILE *f = ctx;

	tool_json_error(f, err);
	fputc('\n', f);
	return 0;
}

static void dump_header(FILE *f, const uint8_t *data,
			const struct cm_header *h)
{
	char size[32];

	tool_human_size(h->data_end - h->header_size, size, sizeof size);
	fprintf(f, "version %u.%u %s base 0x%llx root 0x%llx data %s\n",
		h->version_major, h->version_minor, tool_mode_name(h->mode),
		(unsigned long long)h->base, (unsigned long long)h->root,
		size);
	fprintf(f, "table %llu bytes, %llu pointers",
		(unsigned long long)h->table_size,
		(unsigned long long)h->pointer_count);
	if (h->pointer_count)
		fprintf(f, ", %.2f bytes per pointer",
			(double)h->table_size / (double)h->pointer_count);
	fprintf(f, "\nchecksum stored 0x%016llx computed 0x%016llx\n",
		(unsigned long long)h->checksum,
		(unsigned long long)cm_checksum_compute(data, h));
}

static void dump_relocs(FILE *f, const uint8_t *data, size_t size)
{
	struct cm_reloc_iter it;
	struct cm_error err;
	struct cm_reloc r;
	int rc = 0, n = 0;

	if (cm_reloc_begin(&it, data, size, &err) != 0)
		goto defect;
	while (n++ < LIMIT && (rc = cm_reloc_next(&it, &r, &err)) == 1) {
		fprintf(f, "%llu 0x%llx ", (unsigned long long)r.index,
			(unsigned long long)r.slot);
		FUZZ_ASSERT(r.encoded_len <= sizeof r.encoded);
		for (uint32_t i = 0; i < r.encoded_len; i++)
			fprintf(f, "%02x", r.encoded[i]);
		fprintf(f, " +%llu 0x%llx -> 0x%llx\n",
			(unsigned long long)r.delta,
			(unsigned long long)r.value,
			(unsigned long long)r.target);
	}
	if (rc >= 0)
		return;
	/* At a defect *r holds what was decoded: shown as far as it goes. */
	FUZZ_ASSERT(r.encoded_len <= sizeof r.encoded);
	for (uint32_t i = 0; i < r.encoded_len; i++)
		fprintf(f, "%02x", r.encoded[i]);
defect:
	tool_json_error(f, &err);
	fputc('\n', f);
}

static void dump_map(FILE *f, const uint8_t *data, size_t size)
{
	struct cm_object obj[32];
	struct cm_error err;
	ssize_t n = cm_object_map(data, size, obj, 32, &err);

	if (n < 0) {
		tool_json_error(f, &err);
		return;
	}
	for (ssize_t i = 0; i < n && i < 32; i++)
		fprintf(f, "object 0x%llx %llu\n",
			(unsigned long long)obj[i].offset,
			(unsigned long long)obj[i].size);
}

/* A hexdump of the first bytes, as far as the input goes. */
static void dump_hex(FILE *f, const uint8_t *data, size_t size)
{
	for (size_t i = 0; i < size && i < 512; i++)
		fprintf(f, "%02x%c", data[i], i % 16 == 15 ? '\n' : ' ');
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct tool_input in = { .name = "fuzz", .data = data, .len = size };
	struct cm_error err;
	struct cm_header h;
	char *buf = NULL;
	size_t len = 0;
	FILE *f;
	int status;

	f = open_memstream(&buf, &len);
	FUZZ_ASSERT(f);
	status = tool_check(&in, 0, &err);
	FUZZ_ASSERT(status == TOOL_OK || status == TOOL_INVALID ||
		    status == TOOL_NOT_CMA);
	FUZZ_ASSERT((status == TOOL_OK) ==
		    (cm_check(data, size, CM_CHECK_EXACT, NULL) == 0));
	if (status != TOOL_OK) {
		FUZZ_ASSERT(tool_status_of(err.code) == status);
		tool_json_error(f, &err);
		fputc('\n', f);
	}
	if (cm_header_read(data, size, &h, &err) == 0) {
		dump_header(f, data, &h);
		dump_relocs(f, data, size);
		dump_map(f, data, size);
	}
	cm_check_all(data, size, CM_CHECK_EXACT, 16, report, f);
	dump_hex(f, data, size);
	FUZZ_ASSERT(fclose(f) == 0);
	assert_json_clean(buf, len);
	free(buf);
	return 0;
}
