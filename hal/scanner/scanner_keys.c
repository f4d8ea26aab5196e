/* SPDX-License-Identifier: MIT */
/*
 * The US keyboard layout of keyboard-wedge scanners: which character a
 * key press types, with and without shift. Covers what barcodes and
 * magstripe track data use (letters, digits, space, the symbols of ISO
 * 7813 tracks % ^ ; = ? / and the other printable ASCII of a US keyboard,
 * plus the keypad). Linux KEY_* codes (linux/input-event-codes.h).
 */
#include "scanner_internal.h"

#include <errno.h>

struct key {
	char plain, shifted;
};

/* Indexed by KEY_* code; 0 = not in the layout. */
static const struct key us[] = {
	[KEY_1] = { '1', '!' }, [KEY_2] = { '2', '@' }, [KEY_3] = { '3', '#' },
	[KEY_4] = { '4', '$' }, [KEY_5] = { '5', '%' }, [KEY_6] = { '6', '^' },
	[KEY_7] = { '7', '&' }, [KEY_8] = { '8', '*' }, [KEY_9] = { '9', '(' },
	[KEY_0] = { '0', ')' }, [KEY_MINUS] = { '-', '_' }, [KEY_EQUAL] = { '=', '+' },
	[KEY_Q] = { 'q', 'Q' }, [KEY_W] = { 'w', 'W' }, [KEY_E] = { 'e', 'E' },
	[KEY_R] = { 'r', 'R' }, [KEY_T] = { 't', 'T' }, [KEY_Y] = { 'y', 'Y' },
	[KEY_U] = { 'u', 'U' }, [KEY_I] = { 'i', 'I' }, [KEY_O] = { 'o', 'O' },
	[KEY_P] = { 'p', 'P' }, [KEY_LEFTBRACE] = { '[', '{' }, [KEY_RIGHTBRACE] = { ']', '}' },
	[KEY_A] = { 'a', 'A' }, [KEY_S] = { 's', 'S' }, [KEY_D] = { 'd', 'D' },
	[KEY_F] = { 'f', 'F' }, [KEY_G] = { 'g', 'G' }, [KEY_H] = { 'h', 'H' },
	[KEY_J] = { 'j', 'J' }, [KEY_K] = { 'k', 'K' }, [KEY_L] = { 'l', 'L' },
	[KEY_SEMICOLON] = { ';', ':' }, [KEY_APOSTROPHE] = { '\'', '"' },
	[KEY_GRAVE] = { '`', '~' }, [KEY_BACKSLASH] = { '\\', '|' },
	[KEY_Z] = { 'z', 'Z' }, [KEY_X] = { 'x', 'X' }, [KEY_C] = { 'c', 'C' },
	[KEY_V] = { 'v', 'V' }, [KEY_B] = { 'b', 'B' }, [KEY_N] = { 'n', 'N' },
	[KEY_M] = { 'm', 'M' }, [KEY_COMMA] = { ',', '<' }, [KEY_DOT] = { '.', '>' },
	[KEY_SLASH] = { '/', '?' }, [KEY_SPACE] = { ' ', ' ' },
	/* keypad: scanners set to "keypad digits" (NumLock assumed on) */
	[KEY_KP7] = { '7', '7' }, [KEY_KP8] = { '8', '8' }, [KEY_KP9] = { '9', '9' },
	[KEY_KP4] = { '4', '4' }, [KEY_KP5] = { '5', '5' }, [KEY_KP6] = { '6', '6' },
	[KEY_KP1] = { '1', '1' }, [KEY_KP2] = { '2', '2' }, [KEY_KP3] = { '3', '3' },
	[KEY_KP0] = { '0', '0' }, [KEY_KPDOT] = { '.', '.' }, [KEY_KPMINUS] = { '-', '-' },
	[KEY_KPPLUS] = { '+', '+' }, [KEY_KPASTERISK] = { '*', '*' },
	[KEY_KPSLASH] = { '/', '/' },
};

int hal_scanner_key_us(uint16_t code, bool shift, char *out)
{
	if (code == KEY_ENTER || code == KEY_KPENTER)
		return 0;
	if (code >= sizeof(us) / sizeof(us[0]) || !us[code].plain)
		return -ENOENT;
	*out = shift ? us[code].shifted : us[code].plain;
	return 1;
}
