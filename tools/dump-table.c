/* SPDX-License-Identifier: MIT */
/* cma-dump's relocation table views: every entry, the summary, statistics. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dump.h"

/* Entries the summary shows from the start, and around the root. */
#define SUMMARY_FIRST 8
#define SUMMARY_AROUND_ROOT 4

/* ---- hand-built lines: printf costs more than the table walk ---- */

/*
 * Rows are built straight into this buffer and leave it by fwrite() in
 * blocks larger than stdio's own buffer, which then passes them through
 * without a copy. rows_flush() before any other output.
 */
static char rows[1 << 20];
static size_t rows_len;

/* No row is longer. */
#define ROW_MAX 320

static void rows_flush(void)
{
	fwrite_unlocked(rows, 1, rows_len, stdout);
	rows_len = 0;
}

/* Where the next row goes. */
static char *row_begin(void)
{
	if (rows_len > sizeof rows - ROW_MAX)
		rows_flush();
	return rows + rows_len;
}

static void row_end(const char *end)
{
	rows_len = (size_t)(end - rows);
}

/*
 * Each put_*() writes at `o` and returns the end: a local pointer, which
 * char stores cannot alias the way they alias a global.
 */
/* A string literal: its length known when compiled. */
#define PUT_LIT(o, lit) (memcpy((o), (lit), sizeof(lit) - 1), \
			 (o) + sizeof(lit) - 1)

static const char digit_pairs[] =
	"00010203040506070809101112131415161718192021222324"
	"25262728293031323334353637383940414243444546474849"
	"50515253545556575859606162636465666768697071727374"
	"75767778798081828384858687888990919293949596979899";

/* v < 10^8 as exactly eight digits at p: four independent pair lookups. */
static void dec8(char *p, uint32_t v)
{
	uint32_t hi = v / 10000, lo = v % 10000;

	memcpy(p, digit_pairs + 2 * (hi / 100), 2);
	memcpy(p + 2, digit_pairs + 2 * (hi % 100), 2);
	memcpy(p + 4, digit_pairs + 2 * (lo / 100), 2);
	memcpy(p + 6, digit_pairs + 2 * (lo % 100), 2);
}

/* The number of decimal digits of v. */
static unsigned dec_digits(uint64_t v)
{
	static const uint64_t pow10[20] = {
		1ULL, 10ULL, 100ULL, 1000ULL, 10000ULL, 100000ULL,
		1000000ULL, 10000000ULL, 100000000ULL, 1000000000ULL,
		10000000000ULL, 100000000000ULL, 1000000000000ULL,
		10000000000000ULL, 100000000000000ULL, 1000000000000000ULL,
		10000000000000000ULL, 100000000000000000ULL,
		1000000000000000000ULL, 10000000000000000000ULL,
	};
	/* log10(2) is about 1233 / 4096: a guess one too high at most. */
	unsigned t = (unsigned)(64 - __builtin_clzll(v | 1)) * 1233 >> 12;

	return v < 10 ? 1 : t + 1 - (v < pow10[t]);
}

/*
 * v in decimal, right-aligned in `width` columns (0: as long as it is),
 * written from its last digit back, so nothing is copied after.
 */
static char *put_dec(char *o, uint64_t v, int width)
{
	unsigned n = dec_digits(v);
	char *p;
	uint32_t w;

	for (; width > (int)n; width--)
		*o++ = ' ';
	p = o + n;
	/* Eight digits at a time in 32 bits: values are mostly addresses. */
	while (v >= 100000000) {
		p -= 8;
		dec8(p, (uint32_t)(v % 100000000));
		v /= 100000000;
	}
	for (w = (uint32_t)v; w >= 100; w /= 100) {
		p -= 2;
		memcpy(p, digit_pairs + 2 * (w % 100), 2);
	}
	if (w >= 10)
		memcpy(p - 2, digit_pairs + 2 * w, 2);
	else
		p[-1] = (char)('0' + w);
	return o + n;
}

/* A literal, then a number: one member of a JSON object. */
#define PUT_MEMBER(o, lit, v) put_dec(PUT_LIT(o, lit), (v), 0)

/* v in lowercase hex, at least `digits` digits, zero-padded. */
static char *put_hex(char *o, uint64_t v, int digits)
{
	static const char xd[] = "0123456789abcdef";
	char tmp[16];
	int n = 0;

	do {
		tmp[n++] = xd[v & 15];
		v >>= 4;
	} while (v);
	for (; digits > n; digits--)
		*o++ = '0';
	while (n)
		*o++ = tmp[--n];
	return o;
}

/* The entry's encoded bytes in hex, `sep` between them. */
static char *put_encoded(char *o, const struct cm_reloc *r, bool sep)
{
	unsigned n = r->encoded_len < sizeof r->encoded ? r->encoded_len
							: sizeof r->encoded;

	for (unsigned i = 0; i < n; i++) {
		if (sep && i)
			*o++ = ' ';
		o = put_hex(o, r->encoded[i], 2);
	}
	return o;
}

/* ---- text rows ---- */

static void text_columns(const struct dump *d)
{
	printf("  %7s  %10s  %-11s  %10s  %18s  %10s\n", "index", "slot",
	       d->h.mode == CM_RELATIVE_OFFSET ? "encoded" : "", "delta",
	       "value", "target");
}

/*
 * One row. `r` gives the encoded bytes (relative mode), or NULL where
 * they are not known: "-" then.
 */
static void text_row(const struct dump *d, uint64_t index, uint64_t slot,
		     uint64_t delta, const struct cm_reloc *r)
{
	uint64_t value = dump_word_at(d, slot);
	char *o = row_begin(), *enc;

	o = PUT_LIT(o, "  ");
	o = put_dec(o, index, 7);
	o = PUT_LIT(o, "  0x");
	o = put_hex(o, slot, 8);
	o = PUT_LIT(o, "  ");
	enc = o;
	if (d->h.mode == CM_RELATIVE_OFFSET)
		o = r ? put_encoded(o, r, true) : PUT_LIT(o, "-");
	while (o - enc < 11)
		*o++ = ' ';
	o = PUT_LIT(o, "  ");
	o = put_dec(o, delta, 10);
	o = PUT_LIT(o, "  0x");
	o = put_hex(o, value, 16);
	o = PUT_LIT(o, "  0x");
	o = put_hex(o, value - d->h.base, 8);
	*o++ = '\n';
	row_end(o);
}

/* Start the table walk; a refusal is shown as a defect. */
bool dump_reloc_begin(struct dump *d, struct cm_reloc_iter *it)
{
	struct cm_error e;

	if (!d->hok)
		return false;
	if (cm_reloc_begin(it, d->in.data, d->in.len, &e) == 0)
		return true;
	dump_show_defect(d, &e);
	return false;
}

/*
 * Up to `max` rows from the table's start (UINT64_MAX: all).
 * @return the rows shown; a defect met is shown in place.
 */
static uint64_t text_rows(struct dump *d, struct cm_reloc_iter *it,
			  uint64_t max)
{
	struct cm_reloc r;
	struct cm_error e;
	uint64_t shown = 0;
	int ret;

	while (shown < max) {
		ret = cm_reloc_next(it, &r, &e);
		if (ret == 0)
			break;
		if (ret < 0) {
			rows_flush();
			dump_show_defect(d, &e);
			break;
		}
		text_row(d, r.index, r.slot, r.delta, &r);
		shown++;
	}
	rows_flush();
	return shown;
}

static void text_title(struct dump *d, const char *what)
{
	printf("\n%sRelocation table:%s %" PRIu64 " entr%s (%s)%s\n",
	       dump_sgr(d, BOLD), dump_sgr(d, RESET), d->h.pointer_count,
	       d->h.pointer_count == 1 ? "y" : "ies",
	       tool_mode_name(d->h.mode), what);
}

void dump_relocs_text(struct dump *d)
{
	struct cm_reloc_iter it;
	uint64_t max = d->o->limit_set ? d->o->limit : UINT64_MAX, shown;

	text_title(d, "");
	if (!dump_reloc_begin(d, &it))
		return;
	text_columns(d);
	shown = text_rows(d, &it, max);
	if (shown == max && shown < d->h.pointer_count)
		printf("  ... %" PRIu64 " more (--limit)\n",
		       d->h.pointer_count - shown);
}

void dump_relocs_json(struct dump *d)
{
	struct cm_reloc_iter it;
	struct cm_reloc r;
	struct cm_error e;
	uint64_t shown = 0;
	bool truncated = false;
	char *o;
	int ret;

	fputs(",\n  \"relocs\": [", stdout);
	if (dump_reloc_begin(d, &it)) {
		for (;;) {
			ret = cm_reloc_next(&it, &r, &e);
			if (ret == 0)
				break;
			if (ret < 0) {
				dump_note_error(d, &e);
				break;
			}
			if (d->o->limit_set && shown == d->o->limit) {
				truncated = true;
				break;
			}
			o = row_begin();
			if (shown)
				*o++ = ',';
			o = PUT_MEMBER(o, "\n    {\"index\": ", r.index);
			o = PUT_MEMBER(o, ", \"slot\": ", r.slot);
			o = PUT_MEMBER(o, ", \"delta\": ", r.delta);
			o = PUT_MEMBER(o, ", \"value\": ", r.value);
			o = PUT_MEMBER(o, ", \"target\": ", r.target);
			o = PUT_MEMBER(o, ", \"encoded_at\": ", r.encoded_at);
			o = PUT_LIT(o, ", \"encoded\": \"");
			o = put_encoded(o, &r, false);
			o = PUT_LIT(o, "\"}");
			row_end(o);
			shown++;
		}
	}
	rows_flush();
	printf("%s],\n  \"relocs_shown\": %" PRIu64
	       ", \"relocs_truncated\": %s", shown ? "\n  " : "", shown,
	       truncated ? "true" : "false");
}

/* ---- the slots as a bitmap: the table decoded in one fast pass ---- */

/*
 * d->bits, made once, for a blob the check accepted; NULL otherwise: the
 * bitmap checks the table, not the values, and a refused blob's views stop
 * at the first defect, where the entry-by-entry walk meets it.
 */
static const uint64_t *slot_bits(struct dump *d)
{
	size_t words = d->h.data_end / 512 + 2;	/* one more: no copy */
	struct cm_header h;
	ssize_t n;

	if (d->bits_tried || d->nerrors)
		return d->bits;
	d->bits_tried = true;
	/* A header decoded past a cut says nothing about the real length. */
	if (cm_header_read(d->in.data, d->in.len, &h, NULL))
		return NULL;
	d->bits = malloc(words * sizeof *d->bits);
	if (!d->bits)
		return NULL;
	n = cm_reloc_bitmap(d->in.data, d->in.len, d->bits, words, NULL);
	if (n < 0) {
		free(d->bits);
		d->bits = NULL;
		return NULL;
	}
	d->bits_words = words;
	return d->bits;
}

/* The first slot at or past blob offset `off`; UINT64_MAX: none. */
static uint64_t slot_from(const struct dump *d, uint64_t off)
{
	size_t w = (size_t)(off / 512);
	uint64_t x;

	if (w >= d->bits_words)
		return UINT64_MAX;
	x = d->bits[w] & (~0ULL << (off / 8 % 64));
	while (!x) {
		if (++w == d->bits_words)
			return UINT64_MAX;
		x = d->bits[w];
	}
	return ((uint64_t)w * 64 + (uint64_t)__builtin_ctzll(x)) * 8;
}

/* The last slot before blob offset `off`; UINT64_MAX: none. */
static uint64_t slot_before(const struct dump *d, uint64_t off)
{
	size_t w;
	uint64_t x;

	if (off / 8 == 0)
		return UINT64_MAX;
	off = off / 8 - 1;	/* the last bit to look at */
	w = (size_t)(off / 64);
	if (w >= d->bits_words) {
		w = d->bits_words - 1;
		off = (uint64_t)w * 64 + 63;
	}
	x = d->bits[w] & (~0ULL >> (63 - off % 64));
	while (!x) {
		if (w == 0)
			return UINT64_MAX;
		x = d->bits[--w];
	}
	return ((uint64_t)w * 64 + 63 - (uint64_t)__builtin_clzll(x)) * 8;
}

/* How many slots lie before blob offset `slot`: its index. */
static uint64_t slot_index(const struct dump *d, uint64_t slot)
{
	size_t w = (size_t)(slot / 512);
	uint64_t n = 0;

	for (size_t i = 0; i < w && i < d->bits_words; i++)
		n += (uint64_t)__builtin_popcountll(d->bits[i]);
	if (w < d->bits_words && slot / 8 % 64)
		n += (uint64_t)__builtin_popcountll(
			d->bits[w] & (~0ULL >> (64 - slot / 8 % 64)));
	return n;
}

/* ---- summary ---- */

/*
 * The entries around the root: the last few before its offset, the first
 * few from it, those the first rows did not show. Without the encoded
 * bytes, which only a walk from the start can give.
 */
static void around_root(struct dump *d, uint64_t first_rows)
{
	uint64_t root = d->h.root, slot = root, index;
	uint64_t prev;

	for (int i = 0; i < SUMMARY_AROUND_ROOT; i++) {
		uint64_t s = slot_before(d, slot);

		if (s == UINT64_MAX)
			break;
		slot = s;
	}
	slot = slot_from(d, slot);
	if (slot == UINT64_MAX)
		return;
	index = slot_index(d, slot);
	while (index < first_rows && slot != UINT64_MAX) {
		slot = slot_from(d, slot + 8);
		index++;
	}
	if (slot == UINT64_MAX)
		return;
	printf("\n%sAround the root%s (offset 0x%" PRIx64 ")%s:\n",
	       dump_sgr(d, BOLD), dump_sgr(d, RESET), root,
	       d->h.mode == CM_RELATIVE_OFFSET ? ", encoded bytes not shown"
						 : "");
	text_columns(d);
	prev = slot_before(d, slot);
	for (int after = 0; slot != UINT64_MAX &&
			    after < SUMMARY_AROUND_ROOT; index++) {
		after += slot >= root;
		text_row(d, index, slot, prev == UINT64_MAX ? slot
							    : slot - prev, NULL);
		prev = slot;
		slot = slot_from(d, slot + 8);
	}
	rows_flush();
}

void dump_relocs_summary(struct dump *d)
{
	uint64_t first = d->o->limit_set ? d->o->limit : SUMMARY_FIRST;
	uint64_t n = d->h.pointer_count, shown;
	struct cm_reloc_iter it;

	text_title(d, n > first ? ", the first entries" : "");
	if (!dump_reloc_begin(d, &it))
		return;
	text_columns(d);
	shown = text_rows(d, &it, first);
	if (shown < first || shown == n)
		return;
	if (slot_bits(d))
		around_root(d, shown);
	printf("\n  ... %" PRIu64 " entr%s in all: --relocs or --all lists "
	       "every one\n", n, n == 1 ? "y" : "ies");
}

/* ---- statistics ---- */

struct stats {
	uint64_t count, rel_bytes, largest, largest_slot;
	bool complete;
};

/* The bytes of v as one VLQ: 7 bits a byte. */
static unsigned vlq_len(uint64_t v)
{
	return (unsigned)(64 - __builtin_clzll(v | 1) + 6) / 7;
}

static void stats_add(struct stats *s, uint64_t slot, uint64_t delta)
{
	s->count++;
	s->rel_bytes += vlq_len(delta / 8);
	if (delta > s->largest) {
		s->largest = delta;
		s->largest_slot = slot;
	}
}

/* The walk entry by entry: where a defect is, it is shown in place. */
static void stats_walk(struct dump *d, struct stats *s)
{
	struct cm_reloc_iter it;
	struct cm_reloc r;
	struct cm_error e;
	int ret;

	if (!dump_reloc_begin(d, &it))
		return;
	while ((ret = cm_reloc_next(&it, &r, &e)) > 0)
		stats_add(s, r.slot, r.delta);
	if (ret < 0)
		dump_show_defect(d, &e);
	s->complete = ret == 0;
}

static void gather_stats(struct dump *d, struct stats *s)
{
	uint64_t prev = 0;

	memset(s, 0, sizeof *s);
	if (!slot_bits(d)) {
		stats_walk(d, s);
		return;
	}
	for (size_t w = 0; w < d->bits_words; w++) {
		for (uint64_t x = d->bits[w]; x; x &= x - 1) {
			uint64_t slot = ((uint64_t)w * 64 +
					 (uint64_t)__builtin_ctzll(x)) * 8;

			stats_add(s, slot, slot - prev);
			prev = slot;
		}
	}
	s->complete = true;
}

void dump_stats(struct dump *d)
{
	const struct cm_header *h = &d->h;
	uint64_t words = (h->data_end - h->header_size) / 8;
	bool rel_ok = h->data_end < CM_RELATIVE_LIMIT;
	bool rel = h->mode == CM_RELATIVE_OFFSET;
	double density;
	struct stats s;

	if (!d->o->json)
		printf("\n%sStatistics:%s\n", dump_sgr(d, BOLD),
		       dump_sgr(d, RESET));
	if (!d->hok) {
		if (d->o->json)
			fputs(",\n  \"stats\": null", stdout);
		else
			printf("  none: the header is defective\n");
		return;
	}
	gather_stats(d, &s);
	density = words ? (double)s.count / words : 0.0;
	if (d->o->json) {
		printf(",\n  \"stats\": {\"complete\": %s, \"pointers\": %"
		       PRIu64 ", \"data_size\": %" PRIu64
		       ", \"data_words\": %" PRIu64 ", \"density\": %.6f"
		       ", \"table_size\": %" PRIu64, s.complete ? "true" :
		       "false", s.count, h->data_end - h->header_size, words,
		       density, h->table_size);
		if (rel_ok)
			printf(", \"relative_size\": %" PRIu64, s.rel_bytes);
		else
			fputs(", \"relative_size\": null", stdout);
		printf(", \"absolute_size\": %" PRIu64, s.count * 8);
		if (rel_ok && s.count)
			printf(", \"relative_bytes_per_pointer\": %.4f",
			       (double)s.rel_bytes / s.count);
		else
			fputs(", \"relative_bytes_per_pointer\": null",
			      stdout);
		printf(", \"absolute_bytes_per_pointer\": %s"
		       ", \"largest_delta\": %" PRIu64 "}",
		       s.count ? "8.0" : "null", s.largest);
		return;
	}
	printf("  pointers:         %" PRIu64 "%s\n", s.count,
	       s.complete ? "" : " (table decoded up to a defect)");
	printf("  data size:        %" PRIu64 " bytes (%" PRIu64 " words)\n",
	       h->data_end - h->header_size, words);
	printf("  pointer density:  %.1f%% of the data words are pointers\n",
	       density * 100);
	if (rel_ok)
		printf("  relative table:   %" PRIu64 " bytes, %.2f bytes/"
		       "pointer%s\n", s.rel_bytes, s.count ?
		       (double)s.rel_bytes / s.count : 0.0,
		       rel ? " (this blob)" : " (after --relative)");
	else
		printf("  relative table:   impossible (data over 2 GiB)\n");
	printf("  absolute table:   %" PRIu64 " bytes, %.2f bytes/pointer%s\n",
	       s.count * 8, s.count ? 8.0 : 0.0,
	       rel ? " (after --absolute)" : " (this blob)");
	if (s.count)
		printf("  largest delta:    %" PRIu64 " bytes (to the slot at "
		       "0x%" PRIx64 ")\n", s.largest, s.largest_slot);
}
