/* SPDX-License-Identifier: MIT */
/* Link-time wrappers counting heap allocations (see alloc_count.h). */
#include "alloc_count.h"

#include <stddef.h>

uint64_t bench_allocs;
uint64_t bench_alloc_bytes;

void *__real_malloc(size_t n);
void *__real_calloc(size_t n, size_t size);
void *__real_realloc(void *p, size_t n);
void *__wrap_malloc(size_t n);
void *__wrap_calloc(size_t n, size_t size);
void *__wrap_realloc(void *p, size_t n);

void *__wrap_malloc(size_t n)
{
	bench_allocs++;
	bench_alloc_bytes += n;
	return __real_malloc(n);
}

void *__wrap_calloc(size_t n, size_t size)
{
	bench_allocs++;
	bench_alloc_bytes += n * size;
	return __real_calloc(n, size);
}

void *__wrap_realloc(void *p, size_t n)
{
	bench_allocs++;
	bench_alloc_bytes += n;
	return __real_realloc(p, n);
}
