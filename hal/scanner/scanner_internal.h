/* SPDX-License-Identifier: MIT */
/*
 * Shared inside hal_scanner: the state every backend keeps (one fd, a read
 * buffer and the line being assembled), the opening functions of the
 * device backends (kept apart because they need a real device) and the
 * common read path that the tests drive through pipes.
 */
#ifndef HAL_SCANNER_INTERNAL_H
#define HAL_SCANNER_INTERNAL_H

#include <hal/scanner.h>

#include <linux/input.h>

#define HAL_SCANNER__BUF 4096	/* a multiple of sizeof(struct input_event) on every ABI */

struct hal_scanner__priv {
	enum hal_scanner_kind kind;
	int fd;			/* -1 when not open */
	bool shift_l, shift_r;	/* evdev: shift keys held */
	bool discarding;	/* the current line is overlong: drop it up to its end */
	size_t len;		/* bytes in line */
	size_t pos, fill;	/* consumed / filled part of buf */
	char line[HAL_SCAN_MAX + 1];	/* RAW: zeroized after each scan */
	unsigned char buf[HAL_SCANNER__BUF];	/* RAW: zeroized once consumed */
};

/* Allocates priv for kind around fd (owned from now on). 0 or -ENOMEM (fd closed). */
int hal_scanner__attach(struct hal_scanner *sc, enum hal_scanner_kind kind, int fd);

/* Device side (not testable without the device): open, check, grab/configure.
 * An fd, or -errno as listed at hal_scanner_open(). */
int hal_scanner__evdev_open_dev(const char *path);
int hal_scanner__tty_open_dev(const char *path);

int hal_scanner__fd(const struct hal_scanner *sc);
int hal_scanner__read(struct hal_scanner *sc, struct hal_scan *out);
void hal_scanner__close(struct hal_scanner *sc);

#endif
