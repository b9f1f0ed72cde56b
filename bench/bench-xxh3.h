/* SPDX-License-Identifier: MIT */
/* The XXH3 the baselines hash with: libxxhash's fastest on this CPU. */
#ifndef CMA_BENCH_XXH3_H
#define CMA_BENCH_XXH3_H

#if defined(__x86_64__)
#include <xxh_x86dispatch.h>	/* AVX-512, AVX2 or SSE2, chosen at run time */
#define bench_xxh3 XXH3_64bits_dispatch
#define BENCH_XXH3_NAME "XXH3_64bits_dispatch"
#else
#include <xxhash.h>		/* built for the architecture's vector unit */
#define bench_xxh3 XXH3_64bits
#define BENCH_XXH3_NAME "XXH3_64bits"
#endif

#endif /* CMA_BENCH_XXH3_H */
