/* SPDX-License-Identifier: MIT */
/*
 * hal_scanner read path: evdev key events (as a USB HID keyboard-wedge
 * scanner produces them: MSC_SCAN, EV_KEY, SYN_REPORT for every press and
 * release, shift around upper-case letters and symbols) written into a
 * pipe; tty line splitting (CR, LF, CRLF) through a pipe; lines: replay
 * from a file; overlong lines discarded whole; buffers zeroized.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <hal/scanner.h>

#include "../../hal/scanner/scanner_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* ---- recorded-style input events ---------------------------------------- */

struct ctx {
	struct hal_scanner sc;
	int wr;			/* the "kernel" side of the pipe */
	uint64_t t_us;		/* event clock */
};

static void put_ev(struct ctx *c, uint16_t type, uint16_t code, int32_t value)
{
	struct input_event ev;

	memset(&ev, 0, sizeof(ev));
	c->t_us += 1000;	/* scanners type about one key per ms */
	ev.input_event_sec = (__kernel_ulong_t)(c->t_us / 1000000u);
	ev.input_event_usec = (__kernel_ulong_t)(c->t_us % 1000000u);
	ev.type = type;
	ev.code = code;
	ev.value = value;
	assert_int_equal(write(c->wr, &ev, sizeof(ev)), (ssize_t)sizeof(ev));
}

/* One key as a HID keyboard reports it: scan code, key, sync. */
static void key(struct ctx *c, uint16_t code, int32_t value)
{
	put_ev(c, EV_MSC, MSC_SCAN, 0x70000 + code);
	put_ev(c, EV_KEY, code, value);
	put_ev(c, EV_SYN, SYN_REPORT, 0);
}

/* The test's own US map (not the one under test): char → key, shift. */
static void code_for(char ch, uint16_t *code, bool *shift)
{
	static const char row_num[] = "1234567890";
	static const char sh_num[] = "!@#$%^&*()";
	static const uint16_t letters[26] = {
		KEY_A, KEY_B, KEY_C, KEY_D, KEY_E, KEY_F, KEY_G, KEY_H, KEY_I, KEY_J, KEY_K,
		KEY_L, KEY_M, KEY_N, KEY_O, KEY_P, KEY_Q, KEY_R, KEY_S, KEY_T, KEY_U, KEY_V,
		KEY_W, KEY_X, KEY_Y, KEY_Z,
	};
	const char *p;

	*shift = false;
	if ((p = strchr(row_num, ch)) && ch) {
		*code = (uint16_t)(KEY_1 + (p - row_num));
		return;
	}
	if ((p = strchr(sh_num, ch)) && ch) {
		*code = (uint16_t)(KEY_1 + (p - sh_num));
		*shift = true;
		return;
	}
	if (ch >= 'a' && ch <= 'z') {
		*code = letters[ch - 'a'];
		return;
	}
	if (ch >= 'A' && ch <= 'Z') {
		*code = letters[ch - 'A'];
		*shift = true;
		return;
	}
	switch (ch) {
	case ' ': *code = KEY_SPACE; return;
	case '-': *code = KEY_MINUS; return;
	case '=': *code = KEY_EQUAL; return;
	case ';': *code = KEY_SEMICOLON; return;
	case '/': *code = KEY_SLASH; return;
	case '?': *code = KEY_SLASH; *shift = true; return;
	}
	fail_msg("no key for 0x%02x", (unsigned)(unsigned char)ch);
}

static void type_str(struct ctx *c, const char *s, uint16_t enter)
{
	for (; *s; s++) {
		uint16_t code = 0;
		bool shift = false;

		code_for(*s, &code, &shift);
		if (shift)
			key(c, KEY_LEFTSHIFT, 1);
		key(c, code, 1);
		key(c, code, 0);
		if (shift)
			key(c, KEY_LEFTSHIFT, 0);
	}
	if (enter) {
		key(c, enter, 1);
		key(c, enter, 0);
	}
}

static void open_pipe(struct ctx *c, enum hal_scanner_kind kind)
{
	int p[2];

	memset(c, 0, sizeof(*c));
	c->t_us = 1795389275000000ull;
	assert_int_equal(pipe2(p, O_CLOEXEC), 0);
	c->wr = p[1];
	assert_int_equal(hal_scanner_open_fd(&c->sc, kind, p[0], NULL), 0);
	assert_true(hal_scanner_fd(&c->sc) == p[0]);
}

static void close_pipe(struct ctx *c)
{
	if (c->wr >= 0)
		close(c->wr);
	hal_scanner_close(&c->sc);
}

static void expect_scan(struct ctx *c, const char *want)
{
	struct hal_scan s;
	struct hal_scanner__priv *p = c->sc.priv;

	assert_int_equal(hal_scanner_read(&c->sc, &s), 1);
	assert_int_equal(s.len, strlen(want));
	assert_string_equal(s.data, want);
	/* the line buffer held raw data: nothing of it may stay behind */
	for (size_t i = 0; i < sizeof(p->line); i++)
		assert_int_equal(p->line[i], 0);
}

static void test_evdev_barcode(void **state)
{
	struct ctx c;
	struct hal_scan s;

	(void)state;
	open_pipe(&c, HAL_SCANNER_EVDEV);
	assert_int_equal(hal_scanner_read(&c.sc, &s), 0);	/* nothing yet */
	type_str(&c, "lc-0042-77", KEY_ENTER);
	expect_scan(&c, "lc-0042-77");
	assert_int_equal(hal_scanner_read(&c.sc, &s), 0);
	/* a scanner sending keypad Enter, and upper case via shift */
	type_str(&c, "LC 0042 77", KEY_KPENTER);
	expect_scan(&c, "LC 0042 77");
	assert_int_equal(c.sc.stats.scans, 2);
	assert_int_equal(c.sc.stats.unmapped, 0);
	close_pipe(&c);
}

static void test_evdev_track1(void **state)
{
	static const char *const tracks[] = {
		/* ISO/IEC 7813 format B, the test card of DESIGN.md */
		"%B4111111111111111^DOE/JOHN^30121010000000000000?",
		/* track 2 of the same card */
		";4111111111111111=30121010000000000000?",
		/* a reader sending both tracks on one line */
		"%B4111111111111111^DOE/JOHN^30121010000000000000?;4111111111111111=30121010000000000000?",
	};
	struct ctx c;
	uint64_t before;

	(void)state;
	open_pipe(&c, HAL_SCANNER_EVDEV);
	for (size_t i = 0; i < sizeof(tracks) / sizeof(tracks[0]); i++) {
		struct hal_scan s;

		type_str(&c, tracks[i], KEY_ENTER);
		before = c.t_us;
		assert_int_equal(hal_scanner_read(&c.sc, &s), 1);
		assert_string_equal(s.data, tracks[i]);
		/* the time of the Enter press (the release came 3 events later) */
		assert_true(s.ts_us < before && s.ts_us >= before - 6000);
	}
	close_pipe(&c);
}

static void test_evdev_noise(void **state)
{
	struct ctx c;
	struct hal_scan s;
	struct input_event ev;

	(void)state;
	open_pipe(&c, HAL_SCANNER_EVDEV);
	/* autorepeat (value 2) and modifiers are no characters; F1 is unmapped;
	 * an empty Enter is no scan; right shift works like left */
	key(&c, KEY_ENTER, 1);
	key(&c, KEY_ENTER, 0);
	key(&c, KEY_LEFTCTRL, 1);
	key(&c, KEY_LEFTCTRL, 0);
	key(&c, KEY_F1, 1);
	key(&c, KEY_F1, 0);
	key(&c, KEY_4, 1);
	key(&c, KEY_4, 2);
	key(&c, KEY_4, 0);
	key(&c, KEY_RIGHTSHIFT, 1);
	key(&c, KEY_6, 1);
	key(&c, KEY_6, 0);
	key(&c, KEY_RIGHTSHIFT, 0);
	key(&c, KEY_KP7, 1);
	key(&c, KEY_KP7, 0);
	/* half an event: nothing until the rest arrives */
	memset(&ev, 0, sizeof(ev));
	ev.type = EV_KEY;
	ev.code = KEY_ENTER;
	ev.value = 1;
	assert_int_equal(write(c.wr, &ev, 10), 10);
	assert_int_equal(hal_scanner_read(&c.sc, &s), 0);
	assert_int_equal(write(c.wr, (char *)&ev + 10, sizeof(ev) - 10),
			 (ssize_t)(sizeof(ev) - 10));
	expect_scan(&c, "4^7");
	assert_int_equal(c.sc.stats.unmapped, 2);	/* ctrl, F1 */
	/* the device goes away */
	close(c.wr);
	c.wr = -1;
	assert_int_equal(hal_scanner_read(&c.sc, &s), -ENODEV);
	close_pipe(&c);
}

static void test_evdev_overlong(void **state)
{
	char line[HAL_SCAN_MAX + 2];
	struct ctx c;
	struct hal_scan s;

	(void)state;
	open_pipe(&c, HAL_SCANNER_EVDEV);
	/* 256 characters: discarded whole, the next scan is intact */
	memset(line, '7', sizeof(line) - 1);
	line[sizeof(line) - 1] = '\0';
	type_str(&c, line, KEY_ENTER);
	assert_int_equal(hal_scanner_read(&c.sc, &s), 0);
	type_str(&c, "123", KEY_ENTER);
	expect_scan(&c, "123");
	assert_int_equal(c.sc.stats.overlong, 1);
	/* exactly 255: kept */
	line[HAL_SCAN_MAX] = '\0';
	type_str(&c, line, KEY_ENTER);
	expect_scan(&c, line);
	assert_int_equal(c.sc.stats.overlong, 1);
	close_pipe(&c);
}

static void test_keymap(void **state)
{
	/* linux/input-event-codes.h, US layout */
	static const struct { uint16_t code; bool shift; int rc; char ch; } v[] = {
		{ KEY_5, true, 1, '%' }, { KEY_6, true, 1, '^' }, { KEY_SEMICOLON, false, 1, ';' },
		{ KEY_EQUAL, false, 1, '=' }, { KEY_SLASH, true, 1, '?' },
		{ KEY_SLASH, false, 1, '/' }, { KEY_SPACE, false, 1, ' ' },
		{ KEY_MINUS, false, 1, '-' }, { KEY_B, true, 1, 'B' }, { KEY_B, false, 1, 'b' },
		{ KEY_0, false, 1, '0' }, { KEY_KP0, false, 1, '0' },
		{ KEY_ENTER, false, 0, 0 }, { KEY_KPENTER, true, 0, 0 },
		{ KEY_LEFTSHIFT, false, -ENOENT, 0 }, { KEY_F12, false, -ENOENT, 0 },
		{ 0xffff, false, -ENOENT, 0 },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		char ch = 0;

		assert_int_equal(hal_scanner_key_us(v[i].code, v[i].shift, &ch), v[i].rc);
		assert_int_equal(ch, v[i].ch);
	}
}

static void test_tty_lines(void **state)
{
	static const char stream[] = "123\r456\nLC-0042-77\r\n\r\n\n;4111=?\n789";
	struct ctx c;
	struct hal_scan s;

	(void)state;
	open_pipe(&c, HAL_SCANNER_TTY);
	assert_int_equal(write(c.wr, stream, strlen(stream)), (ssize_t)strlen(stream));
	expect_scan(&c, "123");			/* CR */
	expect_scan(&c, "456");			/* LF */
	expect_scan(&c, "LC-0042-77");		/* CRLF: no empty scan after it */
	expect_scan(&c, ";4111=?");
	assert_int_equal(hal_scanner_read(&c.sc, &s), 0);	/* "789" waits for its end */
	assert_int_equal(write(c.wr, "0\r", 2), 2);
	expect_scan(&c, "7890");
	/* hang-up: the device is gone, a partial line is dropped */
	assert_int_equal(write(c.wr, "12", 2), 2);
	close(c.wr);
	c.wr = -1;
	assert_int_equal(hal_scanner_read(&c.sc, &s), -ENODEV);
	close_pipe(&c);
}

static void test_tty_overlong(void **state)
{
	char big[600];
	struct ctx c;

	(void)state;
	open_pipe(&c, HAL_SCANNER_TTY);
	memset(big, 'x', sizeof(big));
	big[300] = '\n';	/* 300 bytes: discarded, never split into 255 + 45 */
	big[599] = '\r';	/* 298 more after it: discarded too */
	assert_int_equal(write(c.wr, big, sizeof(big)), (ssize_t)sizeof(big));
	assert_int_equal(write(c.wr, "ok\n", 3), 3);
	expect_scan(&c, "ok");
	assert_int_equal(c.sc.stats.overlong, 2);
	assert_int_equal(c.sc.stats.scans, 1);
	close_pipe(&c);
}

static void test_lines_replay(void **state)
{
	char path[] = "/tmp/test_scanner_linesXXXXXX", src[64];
	static const char text[] = "lc-0042-77\n\n;4111111111111111=30121010000000000000?\r\nlast";
	struct hal_scanner sc;
	struct hal_scan s;
	int fd;

	(void)state;
	fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
	snprintf(src, sizeof(src), "lines:%s", path);
	assert_int_equal(hal_scanner_open(&sc, src, NULL), 0);
	assert_string_equal(sc.name, "lines");
	assert_int_equal(hal_scanner_read(&sc, &s), 1);
	assert_string_equal(s.data, "lc-0042-77");
	assert_int_equal(hal_scanner_read(&sc, &s), 1);
	assert_string_equal(s.data, ";4111111111111111=30121010000000000000?");
	assert_int_equal(hal_scanner_read(&sc, &s), 1);	/* no newline at the end */
	assert_string_equal(s.data, "last");
	assert_int_equal(hal_scanner_read(&sc, &s), -ENODATA);
	assert_int_equal(sc.stats.scans, 3);
	hal_scanner_close(&sc);
	hal_scanner_close(&sc);	/* twice: harmless */
	unlink(path);
}

static void test_open_errors(void **state)
{
	struct hal_scanner sc;
	const struct hal_scanner_cfg de = { .layout = "de" };

	(void)state;
	assert_int_equal(hal_scanner_open(&sc, "usb:0", NULL), -EINVAL);
	assert_int_equal(hal_scanner_open(&sc, "lines:", NULL), -EINVAL);
	assert_int_equal(hal_scanner_open(&sc, "lines:/nonexistent/x", NULL), -ENOENT);
	assert_int_equal(hal_scanner_open(&sc, "evdev:/dev/null", &de), -EINVAL);
	assert_int_equal(hal_scanner_open(&sc, "evdev:/nonexistent", NULL), -ENOENT);
	{
		/* not an input device: the kernel answers EVIOCGRAB with ENOTTY;
		 * qemu-user (the aarch64 test run) with ENOSYS, as it does for
		 * ioctls it does not translate */
		int rc = hal_scanner_open(&sc, "evdev:/dev/null", NULL);

		if (rc != -ENOTTY && rc != -ENOSYS)
			fail_msg("evdev:/dev/null: %d, want -ENOTTY (or -ENOSYS under qemu)", rc);
	}
	assert_int_equal(hal_scanner_open(&sc, "tty:/dev/null", NULL), -ENOTTY);
	assert_int_equal(hal_scanner_open_fd(&sc, (enum hal_scanner_kind)7, -1, NULL), -EINVAL);
	hal_scanner_close(NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_evdev_barcode),
		cmocka_unit_test(test_evdev_track1),
		cmocka_unit_test(test_evdev_noise),
		cmocka_unit_test(test_evdev_overlong),
		cmocka_unit_test(test_keymap),
		cmocka_unit_test(test_tty_lines),
		cmocka_unit_test(test_tty_overlong),
		cmocka_unit_test(test_lines_replay),
		cmocka_unit_test(test_open_errors),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
