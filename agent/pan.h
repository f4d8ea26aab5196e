/* SPDX-License-Identifier: MIT */
/*
 * Card numbers (PAN) and loyalty ids: the canonical forms the privacy stage
 * tokenizes (docs/tokens.md), the Luhn check, brand detection from the IIN,
 * and ISO/IEC 7813 magnetic-stripe track 1 / track 2 parsing that keeps the
 * PAN only.
 *
 * Every function here handles raw identifiers: none of them logs, none puts
 * input bytes in an error, and local scratch copies are zeroized before
 * return. Output parameters are written on success only.
 */
#ifndef SL_PAN_H
#define SL_PAN_H

#include <stdbool.h>
#include <stddef.h>

#define SL_PAN_MIN 12
#define SL_PAN_MAX 19
#define SL_PAN_BUF (SL_PAN_MAX + 1)     /* digits + NUL */
#define SL_LOYALTY_MAX 64               /* canonical length, without NUL */
#define SL_TRACK1_MAX 79                /* ISO/IEC 7813: incl. sentinels + LRC */
#define SL_TRACK2_MAX 40                /* ISO/IEC 7813: incl. sentinels + LRC */

/*
 * PAN → digits only. Accepts ASCII digits separated by spaces and dashes
 * (anywhere). On success writes the digits + NUL to out, zero-fills the
 * rest of out, and sets *ret_len (may be NULL).
 * -EINVAL: another character, not 12-19 digits, or all zeros
 *          ("card number must be 12-19 digits, not all zeros")
 * -EBADMSG: 12-19 digits but the Luhn check fails
 */
int sl_pan_canonical(const char *in, size_t len, char out[SL_PAN_BUF], size_t *ret_len);

/* Luhn (ISO/IEC 7812-1 annex B) over len ASCII digits; false for a
 * non-digit or len 0. */
bool sl_luhn_valid(const char *digits, size_t len);

enum sl_card_brand {
	SL_BRAND_UNKNOWN = 0,
	SL_BRAND_VISA,
	SL_BRAND_MASTERCARD,
	SL_BRAND_AMEX,
	SL_BRAND_DISCOVER,
	SL_BRAND_JCB,
	SL_BRAND_UNIONPAY,
	SL_BRAND_MAESTRO,
	SL_BRAND_DINERS,
};

/* Brand from the IIN prefix of a canonical PAN (table in docs/tokens.md).
 * Prefix only: the length is not checked. */
enum sl_card_brand sl_card_brand(const char *digits, size_t len);
/* "visa", "mastercard", "amex", "discover", "jcb", "unionpay", "maestro",
 * "diners", "unknown" (also for an out-of-range value). */
const char *sl_card_brand_name(enum sl_card_brand brand);

/*
 * Track 1, format B: [%]B PAN ^ NAME ^ YYMM SSS discretionary [? [LRC]]
 * (start sentinel, end sentinel and LRC optional; no line terminator).
 * Only the PAN is copied out, canonicalised as sl_pan_canonical() does;
 * the name, expiry, service code and discretionary data are validated
 * in place and never copied.
 * -EINVAL: malformed (no 'B', missing '^', bad PAN characters or length,
 *          name > 26 chars, expiry/service code not digits, > 79 chars,
 *          data after the LRC, empty)
 * -EBADMSG: the PAN fails the Luhn check
 */
int sl_track1_pan(const char *in, size_t len, char out[SL_PAN_BUF], size_t *ret_len);

/*
 * Track 2: [;] PAN = YYMM SSS discretionary-digits [? [LRC]]
 * Same contract and errors as sl_track1_pan() (max 40 chars, PAN digits
 * only, everything after '=' digits only).
 */
int sl_track2_pan(const char *in, size_t len, char out[SL_PAN_BUF], size_t *ret_len);

/* How sl_card_data_in() judges a digit run; track data counts in both. */
enum sl_card_data_mode {
	/* free text (txn_id, lane, amount): any Luhn-valid 12-19 digit run */
	SL_CARD_DATA_TEXT,
	/* an identifier that may legitimately be a Luhn number (loyalty id,
	 * barcode): only a run in a card scheme's IIN range with one of its
	 * lengths (sl_card_brand()), and not a UPC-A / EAN-13 product code
	 * (12 or 13 digits with a valid GS1 check digit) */
	SL_CARD_DATA_ID,
};

/*
 * Card data anywhere in s[0..len) (docs/pos-protocol.md, "Card data in
 * other fields"): true if it holds
 *  - a card number: a maximal run of 12-19 ASCII digits, or digit groups
 *    joined by single ' ', '-' or '.' in a card layout (4-4-4-4,
 *    4-4-4-4-3, 4-4-4-1..., 4-6-5, 4-6-4), that passes Luhn, is not all
 *    zeros, and (SL_CARD_DATA_ID) is a scheme's number as above;
 *  - track 2 data: 12-19 digits, '=', 4 digits (YYMM), sentinel or not;
 *  - track 1 data: 'B', 12-19 digits (spaces and dashes allowed), '^'.
 * So whatever sl_track1_pan() or sl_track2_pan() accepts is card data.
 * A digit run longer than 19 is not a card number. Keeps no copy (its
 * scratch buffer is zeroized). NULL: false.
 */
bool sl_card_data_in(const char *s, size_t len, enum sl_card_data_mode mode);

/*
 * Loyalty id → printable ASCII, upper-cased, spaces and dashes removed.
 * -EINVAL: control character, non-ASCII byte, empty result, or result
 *          longer than SL_LOYALTY_MAX
 * -ENOSPC: outsz cannot hold the result + NUL
 */
int sl_loyalty_canonical(const char *in, size_t len, char *out, size_t outsz, size_t *ret_len);

#endif
