/* SPDX-License-Identifier: MIT */
/*
 * Everything the library's files declare to each other, for the files and
 * white-box tests that use many areas; never installed. Each area has its
 * own small header, included here bottom-up as the data flows.
 */
#ifndef CMA_PRIVATE_H
#define CMA_PRIVATE_H

#include "format.h"		/* layout, bytes, errors, VLQ, header */
#include "hash.h"		/* the checksum */
#include "table.h"		/* reading the relocation table */
#include "scan.h"		/* the pointer scan */
#include "prefault.h"		/* pages populated before writes */
#include "scratch.h"		/* the library's large buffers */
#include "walk.h"		/* checks, the one-pass walk, relocation */
#include "blob-writer.h"	/* writing a blob from a slot source */

/* ---- building: the arena, then the allocator on it ---- */
#include "arena.h"		/* the arena's mapping, file and header */
#include "alloc.h"		/* allocation and slot bookkeeping */

#endif /* CMA_PRIVATE_H */
