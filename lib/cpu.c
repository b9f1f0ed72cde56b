/* SPDX-License-Identifier: MIT */
/* The CPU probed once: the kernels of its best level, or of CMA_CPU's. */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "format.h"
#include "cpu.h"

static const char *const level_names[CM_CPU_LEVELS] = {
	"scalar", "sse2", "avx2", "avx512",
};
/* Each level's table on this CPU, its name unset above the CPU's best. */
static struct cm_kernels levels[CM_CPU_LEVELS] = {
	[CM_CPU_SCALAR] = {
		CM_CPU_SCALAR, "scalar", cm_stripes_scalar, cm_fold_scalar,
		cm_repeats_scalar, cm_skip_scalar, cm_absolute_scalar,
		cm_emit_relative_scalar, cm_emit_absolute_scalar,
		cm_scan_count_scalar, cm_scan_find_scalar,
	},
};
static enum cm_cpu_level best;
/* NULL until probed; cm_kernels() reads it without a call. */
const struct cm_kernels *cm_kernels_in_use;
static pthread_once_t probed = PTHREAD_ONCE_INIT;

#if CM_CPU_X86
/* The next level: the kernels of the one below it, to be replaced. */
static struct cm_kernels *level_up(void)
{
	struct cm_kernels *k = &levels[++best];

	*k = levels[best - 1];
	k->level = best;
	k->name = level_names[best];
	return k;
}
#endif

static void probe(void)
{
#if CM_CPU_X86
	struct cm_kernels *k;

	__builtin_cpu_init();
	k = level_up();		/* SSE2: in every x86-64 */
	k->repeats = cm_repeats_sse2;
	k->skip_deltas = cm_skip_sse2;
	if (__builtin_cpu_supports("avx2")) {
		k = level_up();
		k->stripes = cm_stripes_avx2;
		k->fold = cm_fold_avx2;
		k->scan_count = cm_scan_count_avx2;
		k->scan_find = cm_scan_find_avx2;
	}
	if (best == CM_CPU_AVX2 && __builtin_cpu_supports("avx512f")) {
		k = level_up();
		k->stripes = cm_stripes_avx512;
		k->fold = cm_fold_avx512;
		k->absolute_bits = cm_absolute_avx512;
		k->scan_count = cm_scan_count_avx512;
		k->scan_find = cm_scan_find_avx512;
		if (__builtin_cpu_supports("avx512bw")
		    && __builtin_cpu_supports("avx512vbmi2")) {
			k->emit_relative = cm_emit_relative_vbmi2;
			k->emit_absolute = cm_emit_absolute_vbmi2;
		}
	}
#endif
	__atomic_store_n(&cm_kernels_in_use,
			 &levels[cm_cpu_level_for(getenv("CMA_CPU"), best)],
			 __ATOMIC_RELEASE);
}

/* A level's number, CM_CPU_LEVELS for "auto" (or none), -1 if unknown. */
static int parse_level(const char *value)
{
	if (!value || !*value || !strcmp(value, "auto"))
		return CM_CPU_LEVELS;
	for (int i = 0; i < CM_CPU_LEVELS; i++)
		if (!strcmp(value, level_names[i]))
			return i;
	return -1;
}

enum cm_cpu_level cm_cpu_level_for(const char *value, enum cm_cpu_level best)
{
	int level = parse_level(value);

	return level < 0 || level > (int)best ? best
					      : (enum cm_cpu_level)level;
}

const struct cm_kernels *cm_kernels_probe(void)
{
	pthread_once(&probed, probe);
	return __atomic_load_n(&cm_kernels_in_use, __ATOMIC_ACQUIRE);
}

CM_API const char *cm_cpu_level(void)
{
	return cm_kernels()->name;
}

CM_API int cm_cpu_select(const char *level)
{
	int want = parse_level(level);

	pthread_once(&probed, probe);
	if (want < 0) {
		errno = EINVAL;
		return -1;
	}
	if (want == CM_CPU_LEVELS)
		want = best;
	if (!levels[want].name) {
		errno = ENOTSUP;
		return -1;
	}
	__atomic_store_n(&cm_kernels_in_use, &levels[want], __ATOMIC_RELEASE);
	return 0;
}
