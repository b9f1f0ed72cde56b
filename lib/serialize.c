/* SPDX-License-Identifier: MIT */
/* cm_serialize: one pass over the data writes the table and the checksum. */
#include <errno.h>
#include <sys/mman.h>
#include <unistd.h>

#include "cma-private.h"
#include "cpu.h"
#include "prefault.h"

/* Slots are checked, hashed and listed a chunk at a time (a multiple of
 * 64 bytes, so the hash takes whole stripes). */
#define SEAL_CHUNK (256 * 1024)
/* The table goes to pages the arena never touched, which a fresh shm
 * object or file faults in one at a time: this far ahead of the writes
 * they are populated in one call (prefault.h). */
#define TABLE_AHEAD (1024 * 1024)

struct sealer {
	struct cm_attr *mem;
	int mode;
	uint64_t pos;		/* next table byte */
	uint64_t prev;		/* last slot written */
	uint64_t count;
	uint64_t limit;		/* writes below this need no check */
	struct cm_prefault pf;
	uint64_t populated;	/* the table's pages below are populated */
};

/* Room for `need` more bytes at s->pos, inside capacity and the file. */
static int make_room(struct sealer *s, uint64_t need)
{
	struct cm_attr *mem = s->mem;
	uint64_t end = s->pos + need;

	if (end > mem->capacity) {
		errno = ENOMEM;
		return -1;
	}
	if (mem->fd >= 0 && end > mem->committed
	    && cm_arena_reserve(mem, end))
		return -1;
	s->limit = mem->fd >= 0 && mem->committed < mem->capacity
		   ? mem->committed : mem->capacity;
	return 0;
}

/* Table bytes past the extent: later allocations must zero them. */
static void note_dirty(struct cm_attr *mem, uint64_t end)
{
	if (end > mem->dirty_end)
		mem->dirty_end = end;
}

/* Before `need` bytes are written at s->pos. */
static void populate_ahead(struct sealer *s, uint64_t need)
{
	uint64_t end = s->pos + need + TABLE_AHEAD;

	if (s->pos + need <= s->populated)
		return;
	if (end > s->limit)
		end = s->limit;
	if (end > s->populated) {
		cm_prefault_range(&s->pf, s->mem->base + s->populated,
				  end - s->populated);
		s->populated = end;
	}
}

/* The entries of the slots in `bits` (bit i: the word at `first` + 8 i),
 * room made for each. */
static int emit_word_carefully(struct sealer *s, uint64_t first,
			       uint64_t bits)
{
	for (; bits; bits &= bits - 1) {
		uint64_t slot = first + (uint64_t)__builtin_ctzll(bits) * 8;

		if (s->pos + 8 > s->limit && make_room(s, 8))
			return -1;
		s->pos += cm_table_encode((uint32_t)s->mode, slot, s->prev,
					  s->mem->base + s->pos);
		s->prev = slot;
		s->count++;
	}
	return 0;
}

/* Append the table entries of the slots listed (bit i: the word at
 * off + 8 i) in [off, end): room is made a bitmap word at a time. */
static int emit(struct sealer *s, uint64_t off, uint64_t end,
		const uint64_t *listed)
{
	const bool relative = s->mode == CM_RELATIVE_OFFSET;
	const uint64_t most = relative ? CM_VLQ_REL_MAX_BYTES : 8;
	cm_emit_fn *const emit_word = relative
		? cm_kernels()->emit_relative : cm_kernels()->emit_absolute;
	uint8_t *base = s->mem->base;

	for (uint64_t w = 0; w * 512 < end - off; w++) {
		uint64_t bits = listed[w], first = off + w * 512;
		uint64_t n = (uint64_t)__builtin_popcountll(bits), pos, prev;

		if (!n)
			continue;
		/* Room for the worst case, or entry by entry near the end. */
		if (s->pos + n * most + 8 > s->limit
		    && make_room(s, n * most + 8)) {
			if (emit_word_carefully(s, first, bits))
				return -1;
			continue;
		}
		populate_ahead(s, n * most + 8);
		pos = s->pos;
		prev = s->prev;
		emit_word(base, &pos, &prev, first, bits);
		s->pos = pos;
		s->prev = prev;
		s->count += n;
	}
	return 0;
}

/*
 * Hash the data a chunk at a time as it reads with base 0, every recorded
 * slot that holds a pointer checked on the way (one read of the arena),
 * then list those slots in the table. NULL slots are not listed.
 */
static int write_table(struct sealer *s, struct cm_hash *hash)
{
	struct cm_attr *mem = s->mem;
	uint64_t base = (uintptr_t)mem->base;
	const struct cm_rebase r = {
		.base = base, .lo = base + CM_HEADER_SIZE,
		.span = mem->extent - CM_HEADER_SIZE,
	};
	/* The arena's slot bitmap, read as bytes: byte i, words 8i-8i+7. */
	const uint8_t *slots = (const uint8_t *)mem->slots;

	for (uint64_t off = CM_HEADER_SIZE; off < mem->extent;
	     off += SEAL_CHUNK) {
		uint64_t end = off + SEAL_CHUNK < mem->extent
			       ? off + SEAL_CHUNK : mem->extent;
		uint64_t listed[SEAL_CHUNK / 512] = { 0 };

		if (cm_hash_rebased(hash, mem->base + off, end - off,
				    slots + off / 64, (uint8_t *)listed, &r,
				    CM_REBASE_SKIP_NULL)) {
			errno = EINVAL;	/* it could never relocate */
			return -1;
		}
		if (emit(s, off, end, listed))
			return -1;
	}
	return 0;
}

static int write_object_map(struct sealer *s)
{
	struct cm_attr *mem = s->mem;
	uint64_t at = s->pos, pos = 0, off, size, count = 0;

	if (make_room(s, CM_SECTION_HEADER))
		return -1;
	s->pos += CM_SECTION_HEADER;
	while (cm_arena_next_object(mem, &pos, &off, &size)) {
		if (make_room(s, 16))
			return -1;
		cm_store64(mem->base + s->pos, off);
		cm_store64(mem->base + s->pos + 8, size);
		s->pos += 16;
		count++;
	}
	cm_store32(mem->base + at, CM_SECTION_OBJECT_MAP);
	cm_store32(mem->base + at + 4, 0);
	cm_store64(mem->base + at + 8, count * 16);
	return 0;
}

/* Zero [from, to): padding between the parts of the blob. */
static int pad(struct sealer *s, uint64_t to)
{
	if (to > s->pos) {
		if (make_room(s, to - s->pos))
			return -1;
		memset(s->mem->base + s->pos, 0, to - s->pos);
		s->pos = to;
	}
	return 0;
}

CM_API void *cm_serialize(struct cm_attr *mem, void *root, int mode,
			  int msync_flags)
{
	uint8_t header[CM_HEADER_SIZE];
	struct cm_header h = { 0 };
	struct sealer s = { .mem = mem, .mode = mode };
	struct cm_hash hash;
	uint8_t *r = root;

	if (!mem || (mode != CM_RELATIVE_OFFSET && mode != CM_ABSOLUTE_OFFSET)) {
		errno = EINVAL;
		return NULL;
	}
	if (mem->attached) {
		errno = EPERM;
		return NULL;
	}
	if (r < mem->base + CM_HEADER_SIZE || r >= mem->base + mem->extent) {
		errno = EINVAL;
		return NULL;
	}
	if (mode == CM_RELATIVE_OFFSET && mem->extent >= CM_RELATIVE_LIMIT) {
		errno = ERANGE;
		return NULL;
	}
	cm_hash_init(&hash);
	/* A previous blob is about to be overwritten: it is live again. */
	cm_arena_unseal(mem);
	s.pos = mem->extent;
	s.limit = s.pos;
	if (pad(&s, cm_align8(mem->extent)))
		goto fail;
	h.table_offset = s.pos;
	s.populated = s.pos;
	cm_prefault_start(&s.pf, mem->base, mem->capacity);
	if (write_table(&s, &hash))
		goto fail;
	h.table_size = s.pos - h.table_offset;
	if (mem->flags & CM_OBJECT_MAP) {
		if (pad(&s, cm_align8(s.pos)))
			goto fail;
		h.sections_offset = s.pos;
		if (write_object_map(&s))
			goto fail;
		h.sections_size = s.pos - h.sections_offset;
		h.optional_flags = CM_OPT_OBJECT_MAP;
	}
	cm_hash_raw(&hash, mem->base + h.table_offset, s.pos - h.table_offset);
	note_dirty(mem, s.pos);

	h.version_major = CM_VERSION_MAJOR;
	h.version_minor = CM_VERSION_MINOR;
	h.header_size = CM_HEADER_SIZE;
	h.mode = (uint32_t)mode;
	h.base = (uintptr_t)mem->base;
	h.capacity = mem->capacity;
	h.root = (uint64_t)(r - mem->base);
	h.data_end = mem->extent;
	h.pointer_count = s.count;
	h.blob_size = s.pos;
	cm_header_encode(&h, header);
	cm_hash_header(&hash, header, CM_HEADER_SIZE);
	h.checksum = cm_hash_digest(&hash);
	cm_store64(header + CM_H_CHECKSUM, h.checksum);

	if (mem->fd >= 0 && mem->committed != h.blob_size) {
		if (ftruncate(mem->fd, (off_t)h.blob_size))
			goto fail;
		mem->committed = h.blob_size;
	}
	memcpy(mem->base, header, CM_HEADER_SIZE);
	mem->sealed_size = h.blob_size;
	if (msync_flags && msync(mem->base, h.blob_size, msync_flags))
		return NULL;	/* the blob is complete; only the sync failed */
	return mem->base;
fail:
	note_dirty(mem, s.pos);
	return NULL;
}
