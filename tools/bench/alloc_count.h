/* SPDX-License-Identifier: MIT */
/*
 * Heap allocation counter for the benchmarks: malloc, calloc and realloc
 * are wrapped at link time (sl_bench_count_allocs() in CMakeLists.txt adds
 * -Wl,--wrap=...), which sees every call made by the benchmark and the
 * static libraries it links (hal_*, sl_core), not those inside shared
 * libraries such as libpcap or libsqlite3.
 */
#ifndef SL_BENCH_ALLOC_COUNT_H
#define SL_BENCH_ALLOC_COUNT_H

#include <stdint.h>

extern uint64_t bench_allocs;		/* calls */
extern uint64_t bench_alloc_bytes;	/* bytes asked for */

#endif
