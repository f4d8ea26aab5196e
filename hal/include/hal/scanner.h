/* SPDX-License-Identifier: MIT */
/*
 * Barcode and magstripe scanners: the HAL class that turns what a scanner
 * types or sends into struct hal_scan, one complete scan (one line) at a
 * time. docs/scanner.md lists the devices and how to set them up.
 *
 * Backends, picked by hal_scanner_open() from the [scanner] source string:
 *   "evdev:PATH"  USB HID keyboard-wedge scanner or magstripe reader
 *                 (/dev/input/by-id/...-event-kbd), grabbed with EVIOCGRAB
 *                 so its keystrokes do not reach the console; US layout
 *   "tty:PATH"    CDC-ACM / serial scanner (/dev/ttyACM0), raw termios,
 *                 one scan per line (CR, LF or CRLF)
 *   "lines:FILE"  replay: one scan per line (tests, demo)
 *
 * A scan is RAW: it may hold card track data or a loyalty id. The consumer
 * turns it into a token at once, zeroizes it (mbedtls_platform_zeroize) and
 * never logs it. Backends zeroize their own buffers after each scan, and a
 * line longer than HAL_SCAN_MAX is discarded whole (never split) and
 * counted in stats.overlong.
 */
#ifndef HAL_SCANNER_H
#define HAL_SCANNER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define HAL_SCAN_MAX 255		/* bytes of one scan, without NUL */

/* One scan. Fixed size: no allocation per scan. */
struct hal_scan {
	uint64_t ts_us;			/* CLOCK_REALTIME µs (evdev: the Enter key's event time) */
	uint16_t len;			/* 1..HAL_SCAN_MAX */
	char data[HAL_SCAN_MAX + 1];	/* RAW; NUL-terminated; printable ASCII for evdev */
};

enum hal_scanner_kind {
	HAL_SCANNER_EVDEV,		/* struct input_event stream */
	HAL_SCANNER_TTY,		/* byte stream, end of stream = device gone */
	HAL_SCANNER_LINES,		/* byte stream, end of stream = end of replay */
};

/* Backend configuration; strings are only read during open(). */
struct hal_scanner_cfg {
	const char *source;		/* set by hal_scanner_open() from its argument */
	const char *layout;		/* keyboard layout of evdev scanners: NULL or "us" */
};

/* Counters kept by every backend (reset by open). */
struct hal_scanner_stats {
	uint64_t scans;			/* complete scans returned */
	uint64_t overlong;		/* lines longer than HAL_SCAN_MAX, discarded */
	uint64_t unmapped;		/* evdev: key presses outside the layout, dropped */
};

struct hal_scanner;

struct hal_scanner_ops {
	/* 0 or -errno; on failure hal_scanner_open() calls close(). */
	int (*open)(struct hal_scanner *sc, const struct hal_scanner_cfg *cfg);
	/* The fd for the poll loop (POLLIN). */
	int (*fd)(const struct hal_scanner *sc);
	/*
	 * 1: one scan in *out; 0: nothing more now (poll again); -ENODATA:
	 * the replay reached its end; -ENODEV: the device went away (close,
	 * then open again later with backoff); other -errno: I/O error.
	 * Empty lines are skipped, overlong lines discarded and counted.
	 */
	int (*read)(struct hal_scanner *sc, struct hal_scan *out);
	/* Frees and zeroizes everything; accepts a half-open instance. */
	void (*close)(struct hal_scanner *sc);
};

struct hal_scanner {
	const struct hal_scanner_ops *ops;
	const char *name;		/* backend: "evdev", "tty" or "lines" */
	void *priv;			/* owned by the backend, freed in close() */
	struct hal_scanner_stats stats;
};

/*
 * Opens the backend named by source; cfg may be NULL (defaults). 0;
 * -EINVAL (bad source string, layout other than "us"); -ENOENT (no such
 * device or file); -EACCES (no permission: see the udev rule in
 * docs/scanner.md); -EBUSY (an evdev device grabbed by someone else);
 * -ENOTTY (tty: not a terminal; evdev: not an input device); other -errno.
 */
int hal_scanner_open(struct hal_scanner *sc, const char *source,
		     const struct hal_scanner_cfg *cfg);
/*
 * Reads an already open fd as kind (tests, fuzzing, recorded streams):
 * takes ownership of fd (closed by hal_scanner_close(), and on failure).
 * The fd is made non-blocking. 0, -EINVAL, -ENOMEM.
 */
int hal_scanner_open_fd(struct hal_scanner *sc, enum hal_scanner_kind kind, int fd,
			const char *name);
int hal_scanner_fd(const struct hal_scanner *sc);
/* ops->read(); see struct hal_scanner_ops for the return codes. */
int hal_scanner_read(struct hal_scanner *sc, struct hal_scan *out);
/* ops->close() and clears *sc. NULL and never-opened (zeroed) ok. */
void hal_scanner_close(struct hal_scanner *sc);

/*
 * US keyboard layout: the character a key press (Linux KEY_* code) types,
 * with or without shift. 1 with *out set; 0 for a key that ends a scan
 * (KEY_ENTER, KEY_KPENTER); -ENOENT for a key outside the layout
 * (modifiers included).
 */
int hal_scanner_key_us(uint16_t code, bool shift, char *out);

#endif
