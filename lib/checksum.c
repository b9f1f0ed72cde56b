/* SPDX-License-Identifier: MIT */
/*
 * The blob checksum: XXH3-64 of the blob as it reads with base 0.
 *
 * The data must be hashed as if every pointer held value - base. Handing it
 * to libxxhash would mean copying it first, and the copy costs more than
 * the hash. So the long-input loop of XXH3 (64-byte stripes, a scramble
 * every 16 of them; its kernels in hash-kernels.c and x86/) runs here and
 * takes each stripe's pointer words rebased on the fly, from a bitmap of
 * slots: one read of memory checks, hashes and (when deserializing)
 * relocates. The digest is XXH3_64bits bit for bit:
 * inputs up to 240 bytes go to libxxhash itself, the secret comes from it,
 * and the tests compare every path against it.
 */
#include <pthread.h>
#include <stdlib.h>
#define XXH_STATIC_LINKING_ONLY	/* XXH3_generateSecret_fromSeed */
#include <xxhash.h>

#include "hash-kernels.h"
#include "scratch.h"

#define LAST_STRIPE_KEY (SECRET_SIZE - STRIPE - 7)
#define MERGE_KEY 11
#define SHORT_MAX 240		/* XXH3's own short and mid-size paths */

#define PRIME32_2 0x85EBCA77U
#define PRIME32_3 0xC2B2AE3DU
#define PRIME64_1 0x9E3779B185EBCA87ULL
#define PRIME64_2 0xC2B2AE3D27D4EB4FULL
#define PRIME64_3 0x165667B19E3779F9ULL
#define PRIME64_4 0x85EBCA77C2B2AE63ULL
#define PRIME64_5 0x27D4EB2F165667C5ULL

static pthread_once_t secret_once = PTHREAD_ONCE_INIT;

/* XXH3's default secret: the one of seed 0. */
static void make_secret(void)
{
	XXH3_generateSecret_fromSeed(cm_hash_secret, 0);
}

void cm_hash_init(struct cm_hash *s)
{
	static const uint64_t init[8] = {
		PRIME32_3, PRIME64_1, PRIME64_2, PRIME64_3,
		PRIME64_4, PRIME32_2, PRIME64_5, PRIME32_1,
	};

	pthread_once(&secret_once, make_secret);
	memcpy(s->acc, init, sizeof init);
	s->total = 0;
	s->stripes = 0;
	s->pending = 0;
}

/* The mix a call asks for, or -1 for one no caller asks for (sums or not
 * is a run-time test in the kernel, outside the stripe loop's hot path). */
static int mix_asked(const uint64_t *acc, const uint8_t *slots,
		     const uint8_t *listed, unsigned how)
{
	if (how == 0 && !acc && !listed && slots)
		return CM_MIX_SCAN;
	if (how == 0 && acc && !listed)
		return slots ? CM_MIX_CHECK : CM_MIX_RAW;
	if (how == CM_REBASE_WRITE && !listed && slots)
		return acc ? CM_MIX_RELOCATE : CM_MIX_TRUSTED;
	if (how == CM_REBASE_SKIP_NULL && acc && listed && slots)
		return CM_MIX_SEAL;
	return -1;
}

static bool stripes(const struct cm_stripes_job *job, unsigned how)
{
	int m = mix_asked(job->acc, job->slots, job->listed, how);

	if (m >= 0)
		return cm_kernels()->stripes[m](job);
	return cm_stripes_reference(job, how);
}

/* ---- streaming ---- */

static void take_stripes(struct cm_hash *s, const uint8_t *p, size_t n)
{
	static const struct cm_rebase none;

	stripes(&(struct cm_stripes_job){ .acc = s->acc,
					  .in_block = &s->stripes,
					  .p = (uint8_t *)p, .n = n,
					  .r = &none }, 0);
	memcpy(s->last, p + (n - 1) * STRIPE, STRIPE);
}

/* XXH3 takes a stripe only once more input follows: the last one is hashed
 * differently, so 1 to 64 bytes are always held back in s->buf. */
void cm_hash_raw(struct cm_hash *s, const void *data, size_t n)
{
	const uint8_t *p = data;
	size_t k;

	if (n == 0)
		return;
	if (s->total < SHORT_MAX)
		memcpy(s->head + s->total, p,
		       n < SHORT_MAX - s->total ? n : SHORT_MAX - s->total);
	s->total += n;
	if (s->pending + n <= STRIPE) {
		memcpy(s->buf + s->pending, p, n);
		s->pending += (unsigned)n;
		return;
	}
	if (s->pending) {
		size_t fill = STRIPE - s->pending;

		memcpy(s->buf + s->pending, p, fill);
		take_stripes(s, s->buf, 1);
		p += fill;
		n -= fill;
	}
	k = (n - 1) / STRIPE;
	if (k)
		take_stripes(s, p, k);
	memcpy(s->buf, p + k * STRIPE, n - k * STRIPE);
	s->pending = (unsigned)(n - k * STRIPE);
}

/* The reference path for a few words: rebased into a copy, hashed raw. */
static bool rebase_copy(struct cm_hash *s, uint8_t *p, size_t n,
			const uint8_t *slots, uint8_t *listed, size_t word0,
			const struct cm_rebase *r, unsigned how)
{
	uint8_t copy[STRIPE];
	bool bad = false;

	for (size_t i = 0; i < n / 8; i++) {
		size_t w = word0 + i;
		bool t;

		cm_store64(copy + 8 * i,
			   cm_rebase_word(p + 8 * i,
				       slots && slots[w / 8] >> w % 8 & 1,
				       r, how, &bad, &t));
		if (listed && t)
			listed[w / 8] |= (uint8_t)(1u << w % 8);
	}
	memcpy(copy + n / 8 * 8, p + n / 8 * 8, n % 8);	/* no whole word */
	if (s)
		cm_hash_raw(s, copy, n);
	return bad;
}

bool cm_hash_rebased(struct cm_hash *s, uint8_t *p, size_t n,
		     const uint8_t *slots, uint8_t *listed,
		     const struct cm_rebase *r, unsigned how)
{
	size_t done = 0, k;
	bool bad = false;
	unsigned no_block = 0;

	pthread_once(&secret_once, make_secret);
	/* Word by word until the stream is stripe-aligned and past XXH3's
	 * short inputs. */
	while (s && done < n
	       && (s->total < 4 * STRIPE || s->pending % STRIPE
		   || s->pending % 8)) {
		size_t take = STRIPE - s->pending % STRIPE;

		if (take > n - done || s->pending % 8)
			take = n - done < 8 ? n - done : 8;
		bad |= rebase_copy(s, p + done, take, slots, listed, done / 8,
				   r, how);
		done += take;
	}
	if (done == n)
		return bad;
	if (s && s->pending == STRIPE) {	/* more follows: take it */
		take_stripes(s, s->buf, 1);
		s->pending = 0;
	}
	/* Whole stripes; hashing, the last one and any tail go the
	 * streaming way, which keeps what digest needs of them. */
	k = (n - done) / STRIPE;
	if (s)
		k = n - done > 2 * STRIPE ? (n - done - 1) / STRIPE - 1 : 0;
	if (k) {
		if (slots && done % STRIPE)	/* never with aligned callers */
			k = 0;
		else
			bad |= stripes(&(struct cm_stripes_job){
				.acc = s ? s->acc : NULL,
				.in_block = s ? &s->stripes : &no_block,
				.p = p + done, .n = k,
				.slots = slots ? slots + done / STRIPE : NULL,
				.listed = listed ? listed + done / STRIPE
						 : NULL,
				.r = r }, how);
		if (s && k)
			s->total += k * STRIPE;
		done += k * STRIPE;
	}
	while (done < n) {
		size_t take = n - done < STRIPE ? n - done : STRIPE;

		bad |= rebase_copy(s, p + done, take, slots, listed, done / 8,
				   r, how);
		done += take;
	}
	return bad;
}

bool cm_hash_block_sums(uint8_t *p, size_t blocks, const uint8_t *slots,
			const struct cm_rebase *r, unsigned how, uint64_t *sums,
			uint8_t *last)
{
	const size_t n = blocks * STRIPES_PER_BLOCK;
	uint64_t acc[8] = { 0 };
	unsigned in_block = 0;
	bool bad;

	pthread_once(&secret_once, make_secret);
	bad = stripes(&(struct cm_stripes_job){ .acc = acc,
						.in_block = &in_block,
						.p = p, .n = n, .slots = slots,
						.r = r, .sums = sums }, how);
	/* The final stripe as it was hashed: written slots shifted back. */
	for (int j = 0; last && n && j < 8; j++) {
		uint64_t v = cm_load64(p + (n - 1) * STRIPE + 8 * j);

		if (slots && slots[n - 1] >> j & 1
		    && !((how & CM_REBASE_SKIP_NULL) && v == 0))
			v -= (how & CM_REBASE_WRITE ? r->shift : 0) + r->base;
		cm_store64(last + 8 * j, v);
	}
	return bad;
}

bool cm_hash_take_blocks(struct cm_hash *s, const uint64_t *sums,
			 size_t blocks, const uint8_t *last)
{
	const size_t block = STRIPE * STRIPES_PER_BLOCK;

	if (!blocks)
		return true;
	if (s->total % block == 0 && s->pending == STRIPE) {
		take_stripes(s, s->buf, 1);	/* more follows: it is due */
		s->pending = 0;
	}
	/* (Past any block, the input is no short one: head is unused.) */
	if (s->pending || s->stripes || s->total % block)
		return false;
	cm_kernels()->fold(s->acc, sums, blocks);
	s->total += blocks * block;
	memcpy(s->last, last, STRIPE);
	return true;
}

void cm_hash_header(struct cm_hash *s, const uint8_t *header, uint64_t size)
{
	uint8_t copy[CM_HEADER_SIZE];

	memcpy(copy, header, CM_HEADER_SIZE);
	cm_store64(copy + CM_H_BASE, 0);
	cm_store64(copy + CM_H_CHECKSUM, 0);
	cm_hash_raw(s, copy, CM_HEADER_SIZE);
	if (size > CM_HEADER_SIZE)
		cm_hash_raw(s, header + CM_HEADER_SIZE, size - CM_HEADER_SIZE);
}

/* Smaller tables are simply hashed again at the end. */
#define SHARES_MIN_TABLE (256 * 1024)

size_t cm_table_shares_plan(struct cm_table_shares *t,
			    const struct cm_header *h)
{
	const uint64_t block = STRIPE * STRIPES_PER_BLOCK;
	uint64_t end = h->table_offset + h->table_size;
	uint64_t into = h->table_offset - h->header_size;

	*t = (struct cm_table_shares){ 0 };
	if (h->table_size < SHARES_MIN_TABLE)
		return 0;
	t->at = h->table_offset + (block - into % block) % block;
	if (t->at >= end)
		return 0;
	t->blocks = (end - t->at) / block;
	return t->blocks * 64;
}

void cm_table_shares_start(struct cm_table_shares *t,
			   const struct cm_header *h)
{
	if (cm_table_shares_plan(t, h))
		t->sums = cm_scratch_alloc(t->blocks * 64);
}

void cm_table_shares_end(struct cm_table_shares *t)
{
	cm_scratch_free(t->sums, t->blocks * 64);
	t->sums = NULL;
}

void cm_table_shares_add(struct cm_table_shares *t, const uint8_t *blob,
			 uint64_t from, uint64_t to, uint64_t *first,
			 uint64_t *end)
{
	static const struct cm_rebase as_is;
	const uint64_t block = STRIPE * STRIPES_PER_BLOCK;

	*first = *end = 0;
	if (!t->sums || to <= t->at)
		return;
	*first = cm_table_shares_first(t, from);
	*end = (to - t->at) / block;
	if (*end > t->blocks)
		*end = t->blocks;
	if (*first >= *end) {
		*first = *end = 0;
		return;
	}
	cm_hash_block_sums((uint8_t *)blob + t->at + *first * block,
			   *end - *first, NULL, &as_is, 0, t->sums + 8 * *first,
			   NULL);
}

void cm_table_shares_upto(struct cm_table_shares *t, const uint8_t *blob,
			  uint64_t pos)
{
	const uint64_t block = STRIPE * STRIPES_PER_BLOCK;
	uint64_t first, end;

	if (!t->sums || pos < t->at + (t->done + 1) * block)
		return;
	cm_table_shares_add(t, blob, t->at + t->done * block, pos, &first,
			    &end);
	if (first == t->done && end > first)
		t->done = end;
}

uint64_t cm_table_shares_first(const struct cm_table_shares *t,
			       uint64_t pos)
{
	const uint64_t block = STRIPE * STRIPES_PER_BLOCK;

	return pos <= t->at ? 0 : (pos - t->at + block - 1) / block;
}

uint64_t cm_hash_blob_end(struct cm_hash *s, const uint8_t *blob,
			  const struct cm_header *h,
			  const struct cm_table_shares *t)
{
	uint64_t from = h->table_offset;

	if (t && t->sums && t->blocks && t->done == t->blocks) {
		uint64_t end = t->at + t->blocks * STRIPE * STRIPES_PER_BLOCK;

		cm_hash_raw(s, blob + from, t->at - from);
		from = cm_hash_take_blocks(s, t->sums, t->blocks,
					   blob + end - STRIPE) ? end : t->at;
	}
	cm_hash_raw(s, blob + from, h->blob_size - from);
	cm_hash_header(s, blob, h->header_size);
	return cm_hash_digest(s);
}

static uint64_t mul128_fold64(uint64_t a, uint64_t b)
{
	unsigned __int128 x = (unsigned __int128)a * b;

	return (uint64_t)x ^ (uint64_t)(x >> 64);
}

uint64_t cm_hash_digest(const struct cm_hash *s)
{
	uint64_t acc[8], h;
	uint8_t last[STRIPE];

	if (s->total <= SHORT_MAX)
		return XXH3_64bits(s->head, s->total);
	memcpy(acc, s->acc, sizeof acc);
	/* The input's last 64 bytes: the end of the stripe taken last, then
	 * what is held back. */
	memcpy(last, s->last + s->pending, STRIPE - s->pending);
	memcpy(last + STRIPE - s->pending, s->buf, s->pending);
	cm_accumulate(acc, last, cm_hash_secret + LAST_STRIPE_KEY);
	h = s->total * PRIME64_1;
	for (int i = 0; i < 4; i++) {
		const uint8_t *key = cm_hash_secret + MERGE_KEY + 16 * i;

		h += mul128_fold64(acc[2 * i] ^ cm_load64(key),
				   acc[2 * i + 1] ^ cm_load64(key + 8));
	}
	h ^= h >> 37;
	h *= 0x165667919E3779F9ULL;
	return h ^ (h >> 32);
}
