/* SPDX-License-Identifier: MIT */
/*
 * Small helpers shared by agent/, hal/ and tools/: IS_ENABLED() for Kconfig
 * symbols in C (both branches still compile; the dead one is dropped), as
 * in the Linux kernel and Zephyr, ARRAY_SIZE, and a hex digit's value.
 */
#ifndef SL_UTIL_H
#define SL_UTIL_H

#include "autoconf.h"

/*
 * IS_ENABLED(CONFIG_FOO) is 1 when autoconf.h has "#define CONFIG_FOO 1"
 * and 0 when the symbol is not defined at all.
 */
#define SL__ARG_PLACEHOLDER_1 0,
#define SL__TAKE_SECOND(ignored, val, ...) val
#define SL__IS_ENABLED3(arg1_or_junk) SL__TAKE_SECOND(arg1_or_junk 1, 0, 0)
#define SL__IS_ENABLED2(val) SL__IS_ENABLED3(SL__ARG_PLACEHOLDER_##val)
#define IS_ENABLED(option) SL__IS_ENABLED2(option)

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* Value of one hex digit (either case), or -1. */
static inline int sl_hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

#endif
