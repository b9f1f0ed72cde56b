/* SPDX-License-Identifier: MIT */
/* The dictionary the zero-relocation examples write and read. */
#ifndef ZERO_RELOC_H
#define ZERO_RELOC_H

#include <stdint.h>

struct word {
	struct word *next;	/* insertion order */
	char *text;
	uint64_t length;
};

struct dictionary {
	uint64_t count;
	struct word *first;
	struct word **sorted;	/* count pointers, alphabetical */
};

#endif
