/* SPDX-License-Identifier: MIT */
/*
 * libcma: build pointer-rich data in one contiguous arena, seal it into a
 * relocatable blob, and open that blob safely at any address elsewhere.
 *
 * The only public header. Conventions, for every function below:
 *  - int functions return 0 on success, -1 with errno set on failure;
 *  - pointer functions return NULL with errno set on failure;
 *  - validation functions fill an optional struct cm_error (may be NULL)
 *    with a stable code from enum cm_error_code, the byte offset of the
 *    defect from the blob start, and a one-line message.
 *  - the library never prints, never exits, never touches signal handlers
 *    and never starts a thread unless a function takes a thread count.
 *
 * The blob format is specified byte by byte in doc/format.md.
 */
#ifndef CMA_H
#define CMA_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#ifdef __cplusplus
extern "C" {
#endif

#define CM_VERSION_MAJOR 1	/* blob format major version written */
#define CM_VERSION_MINOR 0	/* blob format minor version written */

/*
 * The library's own version, not the blob format's (above): the macros give
 * the version of this header, cm_version() the version of the library
 * running. Programs built against one major version run with any later
 * release of the same major version (doc/abi.md).
 */
#define CM_LIB_VERSION_MAJOR	1
#define CM_LIB_VERSION_MINOR	0
#define CM_LIB_VERSION_PATCH	0
#define CM_LIB_VERSION_STRING	"1.0.0"
/* One number to compare: 10000 major + 100 minor + patch (10000: 1.0.0). */
#define CM_LIB_VERSION_NUMBER	(CM_LIB_VERSION_MAJOR * 10000 + \
				 CM_LIB_VERSION_MINOR * 100 + \
				 CM_LIB_VERSION_PATCH)

/* @return the running library's version, "1.0.0"; never NULL. */
const char *cm_version(void);

/* ------------------------------------------------------------------ */
/* Flags                                                               */
/* ------------------------------------------------------------------ */

/* cm_create() flags (0 gives the defaults). */
#define CM_OBJECT_MAP	0x01	/* blobs carry the allocation map */
#define CM_FIXED_BASE	0x02	/* place the arena in the CM_FIXED_RANGE_* range */
#define CM_NO_HUGEPAGES	0x04	/* do not advise transparent huge pages */

/* Where CM_FIXED_BASE looks for room: [START, END), page-aligned. */
#define CM_FIXED_RANGE_START	0x600000000000ULL
#define CM_FIXED_RANGE_END	0x700000000000ULL

/* cm_delete() flags. */
#define CM_ERASE	0x00	/* unmap the arena; the backing object keeps the blob */
#define CM_EREASE	CM_ERASE	/* the original cma's spelling */
#define CM_PRESERVE	0x01	/* free only the bookkeeping; the mapping stays */

/* cm_do_alloc() flags. */
#define CM_GROW		0x01	/* record a slot that lies inside the arena */
#define CM_ALIGNED	0x02	/* 8-byte alignment (always given) */

/* cm_serialize() mode, and the mode field of a blob. */
#define CM_RELATIVE_OFFSET	0x01	/* VLQ deltas, data below 2 GiB */
#define CM_ABSOLUTE_OFFSET	0x02	/* 64-bit offsets, no bound */

/* The relative mode's bound: the data must end below this offset. */
#define CM_RELATIVE_LIMIT	0x80000000ULL

/* cm_check() and cm_deserialize_flags() flags. */
#define CM_CHECK_EXACT		0x01	/* len must equal the blob length */
#define CM_CHECK_NO_CHECKSUM	0x02	/* trusted input: skip the checksum */
#define CM_CHECK_STRICT		0x04	/* object map: refuse dangling pointers */
#define CM_CHECK_POINTERS	0x08	/* refuse unrecorded pointers (below) */
#define CM_TRUSTED		CM_CHECK_NO_CHECKSUM

/* cm_open() flags. */
#define CM_OPEN_TRUSTED		0x01	/* skip the validation pass */
#define CM_OPEN_WRITABLE	0x02	/* the mapping may be written */

/* ------------------------------------------------------------------ */
/* Errors                                                              */
/* ------------------------------------------------------------------ */

/*
 * Why a blob was refused. The numbers are part of the format's contract:
 * they never change once released (doc/format.md tables them).
 */
enum cm_error_code {
	CM_OK = 0,
	CM_E_TRUNCATED = 1,	/* shorter than its header or recorded length */
	CM_E_MAGIC = 2,		/* not a cma blob */
	CM_E_VERSION = 3,	/* unknown major version */
	CM_E_REQUIRED_FLAG = 4,	/* unknown required flag */
	CM_E_HEADER = 5,	/* a header field is out of range */
	CM_E_LENGTH = 6,	/* trailing bytes (CM_CHECK_EXACT) */
	CM_E_MODE = 7,		/* unknown mode, or relative over 2 GiB */
	CM_E_ROOT = 8,		/* root offset outside the data */
	CM_E_PADDING = 9,	/* a padding or reserved byte is not zero */
	CM_E_ENCODING = 10,	/* a VLQ is overlong, oversized or cut */
	CM_E_ORDER = 11,	/* slots not strictly ascending */
	CM_E_SLOT = 12,		/* a slot outside the data or unaligned */
	CM_E_POINTER = 13,	/* a slot value outside the data, or NULL */
	CM_E_COUNT = 14,	/* pointer count disagrees with the table */
	CM_E_CHECKSUM = 15,	/* checksum mismatch */
	CM_E_SECTION = 16,	/* a malformed optional section */
	CM_E_OBJECT_MAP = 17,	/* object map unsorted, overlapping, outside */
	CM_E_DANGLING = 18,	/* pointer into no live object (strict) */
	CM_E_UNSEALED = 19,	/* a live arena, never serialized */
	CM_E_LEGACY = 20,	/* legacy import: inconsistent legacy blob */
	CM_E_CONVERT = 21,	/* the conversion asked for is impossible */
	CM_E_UNRECORDED = 22,	/* a data word points into the data, no slot */
};

#define CM_ERROR_MESSAGE_MAX 128

struct cm_error {
	int code;		/* enum cm_error_code */
	uint64_t offset;	/* byte offset of the defect in the blob */
	uint64_t index;		/* relocation index, or UINT64_MAX */
	char message[CM_ERROR_MESSAGE_MAX];
};

/*
 * The stable name of an error code ("CM_E_CHECKSUM"), or "CM_E_UNKNOWN".
 * @return a static string; never NULL.
 */
const char *cm_error_name(int code);

/* ------------------------------------------------------------------ */
/* Building: the arena                                                 */
/* ------------------------------------------------------------------ */

struct cm_attr;

/*
 * Create an arena of capacity `length` bytes (header, data and room for
 * the relocation table). `fd` is -1 for anonymous memory, or a regular file
 * or shm_open() descriptor opened read-write: it is truncated to empty and
 * then grows with the data, in page steps, blocks reserved ahead so a full
 * filesystem fails cm_alloc() instead of raising SIGBUS. `mode` is
 * MAP_SHARED or MAP_PRIVATE, with MAP_ANONYMOUS allowed when fd is -1 (the
 * original cma's way to ask for anonymous memory). `flags`: CM_OBJECT_MAP,
 * CM_FIXED_BASE, CM_NO_HUGEPAGES, or 0.
 * @return the arena; NULL with EINVAL (bad mode, flags or length), ENOMEM
 *	   (no address space), EADDRINUSE (CM_FIXED_BASE found no room), or
 *	   the errno of ftruncate/fallocate/mmap.
 */
struct cm_attr *cm_create(int fd, size_t length, int mode, int flags);

/*
 * As cm_create(), placed exactly at `addr` (page-aligned).
 * @return NULL with EADDRINUSE when anything is mapped there, EINVAL when
 *	   addr is not page-aligned.
 */
struct cm_attr *cm_create_at(int fd, size_t length, int mode, int flags,
			     void *addr);

/*
 * Map, in a second process, a MAP_SHARED arena that another process created
 * with cm_create() on the shared object `fd`, at the creator's address.
 * Data may be read and written in place; allocation and slot recording stay
 * with the creator (cm_alloc, cm_ptr_to, cm_free and cm_serialize fail with
 * EPERM on the attached handle). Concurrent writers need their own locking.
 * `flags` must be 0.
 * @return NULL with EADDRINUSE (the address is taken here), EBADMSG (fd
 *	   holds no live arena), or the errno of fstat/pread/mmap.
 */
struct cm_attr *cm_attach(int fd, int flags);

/*
 * Free the arena's bookkeeping. CM_ERASE also unmaps the arena (a backing
 * file or shared-memory object keeps its contents); CM_PRESERVE leaves the
 * mapping to the caller.
 * @return 0; -1 with EINVAL on a NULL arena or an unknown flag.
 */
int cm_delete(struct cm_attr *mem, int flag);

/* Bytes in use: the header plus the data up to its highest allocated byte;
 * right after cm_serialize(), the blob length. -1 with EINVAL on NULL. */
ssize_t cm_get_size(const struct cm_attr *mem);

/* Capacity not yet used by the extent. -1 with EINVAL on NULL. */
ssize_t cm_get_free_size(const struct cm_attr *mem);

/* Bytes held by live allocations (data only: the header not counted). */
ssize_t cm_get_live_size(const struct cm_attr *mem);

/* The arena's first byte (its header): the address blobs record as base. */
void *cm_get_base(const struct cm_attr *mem);

/*
 * cm_alloc() and cm_ptr_to() check their arguments' types when compiled
 * (C, and C++11 or later): `slot` must be the address of a pointer, so
 * cm_alloc(mem, n, size) with the & forgotten is an error; `to` must be a
 * value that `*slot = to` accepts, so a char * slot given a struct node *
 * is a warning in C and an error in C++. The check is an assignment inside
 * sizeof, never run: each argument is still evaluated once. (The
 * conditional keeps a caller's own cast, (void **)&word, from reading as
 * type punning to -Wstrict-aliasing.)
 */
#if !defined(__cplusplus)
#define CM_SLOT_LVALUE_(slot)		(*(0 ? 0 : (slot)))
#define CM_TYPECHECK_SLOT_(slot) \
	((void)sizeof(CM_SLOT_LVALUE_(slot) = (void *)0, 0))
#define CM_TYPECHECK_TARGET_(slot, to) \
	((void)sizeof(CM_SLOT_LVALUE_(slot) = (to), 0))
#elif __cplusplus >= 201103L
#define CM_SLOT_LVALUE_(slot)		(*(0 ? nullptr : (slot)))
#define CM_TYPECHECK_SLOT_(slot) \
	((void)sizeof(CM_SLOT_LVALUE_(slot) = nullptr, 0))
#define CM_TYPECHECK_TARGET_(slot, to) \
	((void)sizeof(CM_SLOT_LVALUE_(slot) = (to), 0))
#else	/* C++98: unchecked */
#define CM_TYPECHECK_SLOT_(slot)	((void)0)
#define CM_TYPECHECK_TARGET_(slot, to)	((void)0)
#endif

/*
 * Allocate `size` bytes, 8-byte aligned and zeroed, and write the address
 * to `*slot`. With CM_GROW, a `slot` that lies inside the arena is recorded
 * as a pointer slot; without it the address is stored but not recorded
 * (cm_ptr_to() can record it later). CM_ALIGNED changes nothing: every
 * allocation is 8-byte aligned. Freed space is reused.
 * @return 0; -1 with EINVAL (NULL argument, size 0, a flag other than
 *	   CM_GROW and CM_ALIGNED, slot inside the arena but unaligned),
 *	   ENOMEM (capacity exhausted), ENOSPC or EFBIG (the backing file
 *	   cannot grow), EPERM (attached handle). On failure the arena is
 *	   unchanged and stays usable.
 */
int cm_do_alloc(struct cm_attr *mem, void **slot, size_t size, int flags);
#define cm_alloc(mem, slot, size) \
	(CM_TYPECHECK_SLOT_(slot), \
	 cm_do_alloc((mem), (void **)(slot), (size), CM_GROW | CM_ALIGNED))

/*
 * Store `to` into `*slot` and record the slot. `slot` must be an 8-byte
 * aligned address inside the data; `to` NULL or inside the data (one past
 * the end allowed). Recording twice is harmless; a recorded slot later set
 * to NULL is skipped by cm_serialize().
 * @return 0; -1 with EINVAL (slot or target outside the data, slot
 *	   unaligned), EPERM (attached handle).
 */
int cm_do_ptr_to(struct cm_attr *mem, void **slot, void *to);
#define cm_ptr_to(mem, slot, to) \
	(CM_TYPECHECK_TARGET_(slot, to), \
	 cm_do_ptr_to((mem), (void **)(slot), (void *)(to)))

/*
 * Return the allocation at `ptr` to the arena: its bytes are zeroed and the
 * slots recorded inside it forgotten. cm_free(mem, NULL) does nothing.
 * @return 0; -1 with EINVAL (not the start of a live allocation, freed
 *	   twice, outside the arena), EPERM (attached handle).
 */
int cm_free(struct cm_attr *mem, void *ptr);

/*
 * Seal the arena into a blob: write the header and the relocation table in
 * `mode`, compute the checksum, truncate a backing file to the blob length
 * and msync() with `msync_flags` when non-zero. The arena stays usable:
 * allocating more and serializing again works.
 * @return the blob start (the arena base); NULL with EINVAL (root not in
 *	   the data, bad mode), ERANGE (relative mode, data over 2 GiB),
 *	   ENOMEM (no capacity left for the table), EPERM (attached handle),
 *	   or the errno of ftruncate/msync. On failure the arena is intact.
 */
void *cm_serialize(struct cm_attr *mem, void *root, int mode,
		   int msync_flags);

/* ------------------------------------------------------------------ */
/* Opening: validation and relocation                                  */
/* ------------------------------------------------------------------ */

/*
 * The pointer scan (CM_CHECK_POINTERS) catches a pointer stored with '='
 * instead of cm_ptr_to(): an 8-byte aligned data word that is no slot of
 * the table but whose value lies in [base + header_size, base + data_end]
 * is refused with CM_E_UNRECORDED, at the word's offset (doc/format.md).
 * An integer that happens to equal such an address is refused too; a
 * pointer into another allocation is not seen. Under a recorded base of
 * CM_SCAN_MIN_BASE (4 GiB) small integers would look like addresses: the
 * scan does not run, and cm_check() and cm_check_all() of a blob that is
 * otherwise valid return CM_SCAN_SKIPPED instead of 0. Blobs written by
 * cm_serialize() always have a real base.
 */
#define CM_SCAN_MIN_BASE	0x100000000ULL
#define CM_SCAN_SKIPPED		1

/*
 * Validate the blob at `blob` (any alignment) without writing anything.
 * `len` may exceed the blob length (the tail is ignored) unless
 * CM_CHECK_EXACT. Flags: CM_CHECK_EXACT, CM_CHECK_NO_CHECKSUM,
 * CM_CHECK_STRICT, CM_CHECK_POINTERS.
 * @return 0 when valid; CM_SCAN_SKIPPED when valid but CM_CHECK_POINTERS
 *	   could not scan (the base is below CM_SCAN_MIN_BASE): test for
 *	   `< 0`, not for non-zero, to tell a defect; -1 with EBADMSG (a
 *	   defect, described in *err), EINVAL (NULL blob or unknown flag).
 */
int cm_check(const void *blob, size_t len, int flags, struct cm_error *err);

/*
 * As cm_check(), but report every defect found, not only the first: `report`
 * is called once per defect (at most `max_errors`, 0 for no bound) and may
 * return non-zero to stop. Defects that make the rest undecodable stop the
 * walk. With CM_CHECK_POINTERS every unrecorded pointer is reported.
 * @return 0 when valid; CM_SCAN_SKIPPED as cm_check(); -1 with EBADMSG
 *	   when any defect was reported.
 */
int cm_check_all(const void *blob, size_t len, int flags, size_t max_errors,
		 int (*report)(void *ctx, const struct cm_error *err),
		 void *ctx);

/*
 * Relocate, in place, every pointer of the blob at `blob` (8-byte aligned)
 * to this address, and return its root. Verifies everything cm_check()
 * with flags 0 verifies; on any defect returns NULL with errno EBADMSG and
 * leaves every byte exactly as it was (a shared mapping may observe
 * transient writes in between). Never reads or writes outside
 * [blob, blob + len). When the blob already records this address nothing is
 * written. Deserializing twice is harmless.
 * @return the root; NULL with EINVAL (NULL or unaligned blob), EBADMSG.
 */
void *cm_deserialize(void *blob, size_t len);

/*
 * cm_deserialize() with flags (CM_TRUSTED skips the checksum; structure is
 * always checked; CM_CHECK_STRICT and CM_CHECK_POINTERS as for cm_check(),
 * the scan not run under CM_SCAN_MIN_BASE) and an optional error report.
 */
void *cm_deserialize_flags(void *blob, size_t len, int flags,
			   struct cm_error *err);

/*
 * cm_deserialize_flags() on `threads` threads (1 to 64; 1 runs in the
 * caller), each starting and ending inside this call. The data is split
 * into parts that are checked and relocated in parallel (a relative
 * table's deltas are summed first to find where each part's entries
 * start); checked, each thread also adds up its part's share of the XXH3
 * checksum and the caller combines them (one allocation of 1/16 of the
 * data). A blob with sections, under 1 MiB of data a thread, whose table
 * cannot be read that far, an allocation that fails, or CM_CHECK_STRICT or
 * CM_CHECK_POINTERS: it runs as cm_deserialize_flags() in the caller.
 * @return as cm_deserialize_flags(); EINVAL for a thread count out of range,
 *	   EAGAIN when a thread could not start (nothing changed).
 */
void *cm_deserialize_mt(void *blob, size_t len, int flags, int threads,
			struct cm_error *err);

/* ------------------------------------------------------------------ */
/* Inspecting: header and relocation table                             */
/* ------------------------------------------------------------------ */

/* The header fields of a blob, decoded (doc/format.md names each). */
struct cm_header {
	uint16_t version_major;
	uint16_t version_minor;
	uint32_t header_size;
	uint32_t mode;			/* CM_RELATIVE_OFFSET or _ABSOLUTE_ */
	uint32_t required_flags;
	uint32_t optional_flags;
	uint64_t base;			/* address recorded for offset 0 */
	uint64_t capacity;		/* the producer's arena capacity */
	uint64_t root;			/* root offset */
	uint64_t data_end;		/* data = [header_size, data_end) */
	uint64_t table_offset;
	uint64_t table_size;
	uint64_t pointer_count;
	uint64_t sections_offset;
	uint64_t sections_size;
	uint64_t blob_size;
	uint64_t checksum;
};

/*
 * Decode and check the header of the blob at `blob` (only the header: its
 * fields against each other and against `len`).
 * @return 0; -1 with EBADMSG (err says why), EINVAL (NULL argument).
 */
int cm_header_read(const void *blob, size_t len, struct cm_header *h,
		   struct cm_error *err);

/*
 * The blob's checksum as computed now (the stored field is not used). `h`
 * must be what cm_header_read() accepted for this blob: the function trusts
 * its fields for every bound. @return the checksum; 0 when the table
 * cannot be decoded (no checksum is meaningful then).
 */
uint64_t cm_checksum_compute(const void *blob, const struct cm_header *h);

/* One relocation table entry. */
struct cm_reloc {
	uint64_t index;		/* from 0, in table order */
	uint64_t slot;		/* slot offset from the blob start */
	uint64_t delta;		/* slot minus the previous slot (first: slot) */
	uint64_t value;		/* the stored pointer */
	uint64_t target;	/* value minus the recorded base */
	uint64_t encoded_at;	/* offset of the entry's encoded bytes */
	uint8_t encoded[16];	/* the entry's encoded bytes */
	uint32_t encoded_len;
};

/* A relocation table iterator; every field is private. */
struct cm_reloc_iter {
	const uint8_t *blob;
	size_t len;
	struct cm_header h;
	uint64_t pos, index, prev, limit;
};

/*
 * Start iterating the table of a blob whose header cm_header_read()
 * accepted. @return 0; -1 with EINVAL/EBADMSG.
 */
int cm_reloc_begin(struct cm_reloc_iter *it, const void *blob, size_t len,
		   struct cm_error *err);

/*
 * The next entry, every bound checked.
 * @return 1 with *r filled; 0 at the end of a well-formed table; -1 with
 *	   EBADMSG at a defect (err says which; *r holds what was decoded).
 */
int cm_reloc_next(struct cm_reloc_iter *it, struct cm_reloc *r,
		  struct cm_error *err);

/*
 * Every recorded slot of a blob whose header cm_header_read() accepted, as
 * bits: bit i of `bits` (words 64-bit words, at least data_end / 512 + 1,
 * zeroed here) is set when the word at blob offset 8 i is a slot. The
 * table is decoded and checked as cm_reloc_next() would, in one pass.
 * @return the number of slots; -1 with EINVAL (too few words), ENOMEM, or
 *	   EBADMSG (a defect in the table: err says which). One word more
 *	   than the minimum saves a copy.
 */
ssize_t cm_reloc_bitmap(const void *blob, size_t len, uint64_t *bits,
			size_t words, struct cm_error *err);

/* One live object of a blob's object map. */
struct cm_object {
	uint64_t offset;	/* from the blob start */
	uint64_t size;
};

/*
 * The object map of a blob that carries one (CM_OBJECT_MAP at creation).
 * Stores at most `max` objects into `out` (which may be NULL with max 0).
 * @return the number of objects in the map (0 without a map); -1 with
 *	   EBADMSG/EINVAL.
 */
ssize_t cm_object_map(const void *blob, size_t len, struct cm_object *out,
		      size_t max, struct cm_error *err);

/* ------------------------------------------------------------------ */
/* Converting                                                          */
/* ------------------------------------------------------------------ */

/* A sink for converted bytes: return 0, or -1 with errno set to stop. */
typedef int (*cm_write_fn)(void *ctx, const void *buf, size_t len);

/*
 * Write the blob at `blob` to `write`, its table re-encoded in `mode`
 * (0 keeps the input's mode) and its pointers rebased to `base`
 * (UINT64_MAX keeps the recorded base). The input is validated first with
 * `flags` (as cm_check; CM_CHECK_EXACT is implied). Memory use is constant.
 * @return 0; -1 with EBADMSG (defective input, or CM_E_CONVERT: the
 *	   result would break the relative bound), EINVAL (bad mode or base),
 *	   or the errno `write` set.
 */
int cm_convert(const void *blob, size_t len, int mode, uint64_t base,
	       int flags, cm_write_fn write, void *ctx, struct cm_error *err);

/*
 * Import a pre-1.0 cma blob, written by the original cma
 * (github.com/Aurel-R/cma; its layout: doc/legacy-format.md), as a v1 blob
 * in `mode` (0: the legacy blob's own mode), recorded base `base`
 * (UINT64_MAX: the legacy base rounded down to 4 KiB, a page, so that
 * cm_open() maps the result there without relocating; 0 when that would
 * wrap). Legacy offset o becomes v1 offset o + 120 (the v1 header replaces
 * the root word). Every bound the original never checked is checked, and
 * the pointer scan (CM_CHECK_POINTERS) runs on the legacy data: a word the
 * table does not list that holds an address of the data is refused. A slot
 * registered twice is listed once. Memory use is constant but for the
 * slots, sorted in a buffer of 8 bytes a listed slot (and, for a relative
 * table read on past a zero delta, a bit per data word).
 * @return 0; -1 with EBADMSG (the defect's offset in the legacy blob, and
 *	   code CM_E_LEGACY: an inconsistent legacy blob, or one of the
 *	   original's newer bitmap format; CM_E_TRUNCATED: a legacy blob cut
 *	   short in its tail; CM_E_UNRECORDED: an unlisted pointer word;
 *	   CM_E_CONVERT: relative output over 2 GiB), EINVAL (bad mode or
 *	   base), ENOMEM, or the errno `write` set.
 */
int cm_legacy_import(const void *legacy, size_t len, int mode, uint64_t base,
		     cm_write_fn write, void *ctx, struct cm_error *err);

/* ------------------------------------------------------------------ */
/* Types: the optional type section                                    */
/* ------------------------------------------------------------------ */

/*
 * A description of the root object's C type and of every type it reaches,
 * as a blob's type section carries it (doc/format.md, section type 2;
 * doc/types.md). Types are referred to by index. A field's type and an
 * array's element come before the type holding them (so no type holds
 * itself by value); a pointer's target may be any type.
 */
enum cm_type_kind {
	CM_TYPE_INT = 1,	/* signed integer, 1 to 16 bytes */
	CM_TYPE_UINT = 2,	/* unsigned integer */
	CM_TYPE_CHAR = 3,	/* a character (CM_TYPE_SIGNED: signed char) */
	CM_TYPE_BOOL = 4,	/* _Bool, one byte */
	CM_TYPE_FLOAT = 5,	/* IEEE float of 4, 8 or 16 bytes */
	CM_TYPE_ENUM = 6,	/* members: enumerators (offset holds value) */
	CM_TYPE_POINTER = 7,	/* 8 bytes; target CM_TYPE_NONE: void * */
	CM_TYPE_STRUCT = 8,	/* members: fields */
	CM_TYPE_UNION = 9,	/* members: fields, all at their offsets */
	CM_TYPE_ARRAY = 10,	/* count elements of type target */
	CM_TYPE_FUNCTION = 11,	/* size 0: only a pointer may target it */
	CM_TYPE_OPAQUE = 12,	/* declared, never defined: size 0 */
};
#define CM_TYPE_NONE	UINT32_MAX	/* no type, no name */
#define CM_TYPE_SIGNED	0x01		/* cm_type.flags: a signed char/enum */

struct cm_type_member {
	const char *name;	/* NULL: an anonymous struct or union field */
	uint32_t type;		/* field type; CM_TYPE_NONE for an enumerator */
	uint32_t bit_offset;	/* bitfield: first bit past offset (0 to 7) */
	uint32_t bit_size;	/* bitfield width (1 to 64), 0 if none */
	uint64_t offset;	/* byte offset; enumerator: its value */
};

struct cm_type {
	uint32_t kind;		/* enum cm_type_kind */
	uint32_t flags;		/* CM_TYPE_SIGNED */
	const char *name;	/* "struct node", "node_t", "int"; NULL if none */
	uint64_t size;		/* bytes */
	uint32_t target;	/* pointer: pointee; array: element */
	uint32_t count;		/* array: element count */
	uint32_t first_member;	/* members in order: type i's come after */
	uint32_t member_count;	/* type i-1's */
};

struct cm_types {
	uint32_t root;		/* the type of the object at the blob's root */
	uint32_t type_count, member_count;
	struct cm_type *types;
	struct cm_type_member *members;
};

/*
 * Encode a description as a type section's payload (malloc'd, *size
 * bytes); the description is checked by the rules cm_check() applies.
 * @return 0; -1 with EINVAL (a rule broken: *err, optional, says which,
 *	   its offset in the payload), ENOMEM.
 */
int cm_types_encode(const struct cm_types *t, void **payload, size_t *size,
		    struct cm_error *err);

/*
 * Check and decode a type section's payload. Error offsets count from the
 * payload's first byte. @return the description, one allocation to give
 * to cm_types_free(); NULL with EBADMSG (a defect), ENOTSUP (a version
 * this library does not read), EINVAL, ENOMEM.
 */
struct cm_types *cm_types_decode(const void *payload, size_t size,
				 struct cm_error *err);

/*
 * The type section of a blob, decoded (its header and section framing
 * checked; cm_check() checks the rest of the blob).
 * @return as cm_types_decode(); NULL with ENOENT when the blob has none.
 */
struct cm_types *cm_types_read(const void *blob, size_t len,
			       struct cm_error *err);

void cm_types_free(struct cm_types *t);

/* The index of the type named `name`, or CM_TYPE_NONE. */
uint32_t cm_types_find(const struct cm_types *t, const char *name);

/*
 * Write the blob at `blob` with its type section replaced by one that
 * describes `types` (NULL: removed), everything else as it was and the
 * checksum updated. The input is validated first (as cm_check with `flags`
 * and CM_CHECK_EXACT); the root type must fit at the root.
 * @return 0; -1 with EBADMSG (defective input or description: *err),
 *	   EINVAL, ENOMEM, or the errno `write` set.
 */
int cm_types_attach(const void *blob, size_t len, const struct cm_types *types,
		    int flags, cm_write_fn write, void *ctx,
		    struct cm_error *err);

/* ------------------------------------------------------------------ */
/* Zero-relocation open                                                */
/* ------------------------------------------------------------------ */

struct cm_blob;

/*
 * Map the blob file `path`. First at its recorded base (MAP_FIXED_NOREPLACE,
 * shared read-only through the page cache: nothing relocated); when that
 * address is taken, into a private copy that is relocated. Checked unless
 * CM_OPEN_TRUSTED; read-only unless CM_OPEN_WRITABLE (at the base, a
 * writable open is a private mapping).
 * @return the handle; NULL with EBADMSG (defective blob), or the errno of
 *	   open/fstat/mmap.
 */
struct cm_blob *cm_open(const char *path, int flags);
void *cm_blob_root(const struct cm_blob *b);
size_t cm_blob_size(const struct cm_blob *b);
/* 0: mapped at the recorded base, nothing relocated; 1: relocated copy. */
int cm_blob_relocated(const struct cm_blob *b);
/* @return 0; -1 with EINVAL on NULL, or the errno of munmap. */
int cm_close(struct cm_blob *b);

/* ------------------------------------------------------------------ */
/* CPU kernels                                                         */
/* ------------------------------------------------------------------ */

/*
 * Hashing, table decoding and sealing run on the kernels of one instruction
 * set level, probed once: "scalar" (portable C, the only one on other
 * CPUs or a -Dcpu=portable build), "sse2", "avx2", "avx512". Every level
 * gives the same bytes and verdicts; only speed differs. By default the
 * library takes the best level the CPU has. The environment variable
 * CMA_CPU, read at the first call that needs a kernel, names another; a
 * value that is no level, or a level this CPU lacks, is ignored: the best
 * level is used (the tools refuse such a value with exit status 2).
 */

/* @return the level in use: "scalar", "sse2", "avx2" or "avx512". */
const char *cm_cpu_level(void);

/*
 * Use the kernels of `level` from now on ("auto" or NULL: the best this CPU
 * has). Safe while other threads use the library: a call already running
 * finishes on the kernels it began with.
 * @return 0; -1 with EINVAL when `level` is no level, ENOTSUP when this CPU
 *	   (or this build) lacks it; the level in use is then unchanged.
 */
int cm_cpu_select(const char *level);

#ifdef __cplusplus
}
#endif

#endif /* CMA_H */
