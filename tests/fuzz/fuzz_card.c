/* SPDX-License-Identifier: MIT */
/*
 * Fuzz target for the identifier parsers of the privacy stage: PAN,
 * track 1, track 2, loyalty id, email and phone canonical forms. Besides
 * memory safety (ASan/UBSan) it checks their contracts and aborts when one
 * breaks: a PAN result is 12-19 digits and Luhn-valid, every canonical
 * form is a fixed point (canonicalising it again gives itself), a
 * failed call leaves its output buffer untouched, and the card-data
 * detector (sl_card_data_in) finds every track the track parsers accept
 * and every card number written as digits only.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "pan.h"
#include "privacy.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CANARY 0x5a

static void check_pan(const char *out, size_t len)
{
	if (len < SL_PAN_MIN || len > SL_PAN_MAX || strlen(out) != len || !sl_luhn_valid(out, len))
		abort();
	for (size_t i = len; i < SL_PAN_BUF; i++)
		if (out[i] != 0)
			abort();
	if (!sl_card_brand_name(sl_card_brand(out, len)))
		abort();
}

static void check_untouched(const char *buf, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if ((uint8_t)buf[i] != CANARY)
			abort();
}

typedef int (*canon_fn)(const char *, size_t, char *, size_t, size_t *);

/* Runs fn; on success checks the result is a fixed point of fn. */
static void run_canon(canon_fn fn, const char *in, size_t size, size_t cap)
{
	char out[SL_EMAIL_MAX + 1], again[SL_EMAIL_MAX + 1];
	size_t len = 0, len2 = 0;

	memset(out, CANARY, sizeof(out));
	if (fn(in, size, out, cap, &len) < 0) {
		check_untouched(out, sizeof(out));
		return;
	}
	if (len == 0 || len >= cap || strlen(out) != len)
		abort();
	if (fn(out, len, again, cap, &len2) != 0 || len2 != len || memcmp(out, again, len) != 0)
		abort();
}

static int pan_canon(const char *in, size_t len, char *out, size_t outsz, size_t *ret_len)
{
	(void)outsz;
	return sl_pan_canonical(in, len, out, ret_len);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *in = (const char *)data;
	char out[SL_PAN_BUF];
	size_t len = 0;

	bool digits_only = size > 0;

	for (size_t i = 0; i < size; i++)
		if (in[i] < '0' || in[i] > '9')
			digits_only = false;
	memset(out, CANARY, sizeof(out));
	if (sl_pan_canonical(in, size, out, &len) == 0) {
		check_pan(out, len);
		if (digits_only && !sl_card_data_in(in, size, SL_CARD_DATA_TEXT))
			abort();
	} else {
		check_untouched(out, sizeof(out));
	}

	memset(out, CANARY, sizeof(out));
	if (sl_track1_pan(in, size, out, &len) == 0) {
		check_pan(out, len);
		if (!sl_card_data_in(in, size, SL_CARD_DATA_TEXT) ||
		    !sl_card_data_in(in, size, SL_CARD_DATA_ID))
			abort();
	} else {
		check_untouched(out, sizeof(out));
	}

	memset(out, CANARY, sizeof(out));
	if (sl_track2_pan(in, size, out, &len) == 0) {
		check_pan(out, len);
		if (!sl_card_data_in(in, size, SL_CARD_DATA_TEXT) ||
		    !sl_card_data_in(in, size, SL_CARD_DATA_ID))
			abort();
	} else {
		check_untouched(out, sizeof(out));
	}
	/* an identifier flagged is flagged as text too */
	if (sl_card_data_in(in, size, SL_CARD_DATA_ID) && !sl_card_data_in(in, size, SL_CARD_DATA_TEXT))
		abort();

	(void)sl_luhn_valid(in, size);
	(void)sl_card_brand(in, size);

	run_canon(pan_canon, in, size, SL_PAN_BUF);
	run_canon(sl_loyalty_canonical, in, size, SL_LOYALTY_MAX + 1);
	run_canon(sl_email_canonical, in, size, SL_EMAIL_MAX + 1);
	run_canon(sl_phone_canonical, in, size, SL_PHONE_BUF);
	return 0;
}
