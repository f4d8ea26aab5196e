/* SPDX-License-Identifier: MIT */
/*
 * Card numbers and loyalty ids: canonical forms, Luhn, brand from the IIN,
 * and ISO/IEC 7813 track 1/2 parsing that extracts the PAN and nothing
 * else. The track parsers validate the other fields in place (they are
 * never copied) and hand the PAN slice to sl_pan_canonical(), which owns
 * the only scratch buffer and zeroizes it. See docs/tokens.md.
 */
#include "pan.h"

#include <errno.h>
#include <string.h>

#include <mbedtls/platform_util.h>

static bool is_digit(char c)
{
	return c >= '0' && c <= '9';
}

bool sl_luhn_valid(const char *digits, size_t len)
{
	unsigned int sum = 0;
	bool dbl = false;

	if (!digits || len == 0)
		return false;
	for (size_t i = len; i-- > 0;) {
		unsigned int d;

		if (!is_digit(digits[i]))
			return false;
		d = (unsigned int)(digits[i] - '0');
		if (dbl) {
			d *= 2;
			if (d > 9)
				d -= 9;
		}
		sum += d;
		dbl = !dbl;
	}
	return sum % 10 == 0;
}

/* "0000000000000000" passes Luhn but is no card number (issue 10). */
static bool all_zeros(const char *d, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (d[i] != '0')
			return false;
	return true;
}

int sl_pan_canonical(const char *in, size_t len, char out[SL_PAN_BUF], size_t *ret_len)
{
	char buf[SL_PAN_BUF];
	size_t n = 0;
	int rc;

	if (!in || !out)
		return -EINVAL;
	for (size_t i = 0; i < len; i++) {
		char c = in[i];

		if (c == ' ' || c == '-')
			continue;
		if (!is_digit(c) || n == SL_PAN_MAX) {
			rc = -EINVAL;
			goto out_zero;
		}
		buf[n++] = c;
	}
	if (n < SL_PAN_MIN || all_zeros(buf, n)) {
		rc = -EINVAL;
		goto out_zero;
	}
	if (!sl_luhn_valid(buf, n)) {
		rc = -EBADMSG;
		goto out_zero;
	}
	memset(out, 0, SL_PAN_BUF);
	memcpy(out, buf, n);
	if (ret_len)
		*ret_len = n;
	rc = 0;
out_zero:
	mbedtls_platform_zeroize(buf, sizeof(buf));
	return rc;
}

/* The first n digits as a number, or -1 if the PAN is shorter. */
static long prefix(const char *d, size_t len, size_t n)
{
	long v = 0;

	if (len < n)
		return -1;
	for (size_t i = 0; i < n; i++) {
		if (!is_digit(d[i]))
			return -1;
		v = v * 10 + (d[i] - '0');
	}
	return v;
}

static bool in_range(long v, long lo, long hi)
{
	return v >= lo && v <= hi;
}

/*
 * Checked in this order; the first match wins. The only overlap is
 * 622126-622925 (Discover, listed before UnionPay's 62: see docs/tokens.md).
 */
enum sl_card_brand sl_card_brand(const char *digits, size_t len)
{
	long p1, p2, p3, p4, p6;

	if (!digits)
		return SL_BRAND_UNKNOWN;
	p1 = prefix(digits, len, 1);
	p2 = prefix(digits, len, 2);
	p3 = prefix(digits, len, 3);
	p4 = prefix(digits, len, 4);
	p6 = prefix(digits, len, 6);

	if (p1 == 4)
		return SL_BRAND_VISA;
	if (p2 == 34 || p2 == 37)
		return SL_BRAND_AMEX;
	if (in_range(p3, 300, 305) || p4 == 3095 || p2 == 36 || in_range(p2, 38, 39))
		return SL_BRAND_DINERS;
	if (in_range(p4, 3528, 3589))
		return SL_BRAND_JCB;
	if (in_range(p2, 51, 55) || in_range(p4, 2221, 2720))
		return SL_BRAND_MASTERCARD;
	if (p4 == 6011 || in_range(p3, 644, 649) || p2 == 65 || in_range(p6, 622126, 622925))
		return SL_BRAND_DISCOVER;
	if (p2 == 62 || p2 == 81)
		return SL_BRAND_UNIONPAY;
	if (p2 == 50 || in_range(p2, 56, 58) || p4 == 6304 || p4 == 6759 ||
	    in_range(p4, 6761, 6763) || p2 == 67)
		return SL_BRAND_MAESTRO;
	return SL_BRAND_UNKNOWN;
}

const char *sl_card_brand_name(enum sl_card_brand brand)
{
	switch (brand) {
	case SL_BRAND_VISA:       return "visa";
	case SL_BRAND_MASTERCARD: return "mastercard";
	case SL_BRAND_AMEX:       return "amex";
	case SL_BRAND_DISCOVER:   return "discover";
	case SL_BRAND_JCB:        return "jcb";
	case SL_BRAND_UNIONPAY:   return "unionpay";
	case SL_BRAND_MAESTRO:    return "maestro";
	case SL_BRAND_DINERS:     return "diners";
	case SL_BRAND_UNKNOWN:    break;
	}
	return "unknown";
}

/*
 * The part of a track after the PAN separator: YYMM, 3-digit service code,
 * then discretionary data up to the optional end sentinel '?', which may
 * be followed by one LRC character and nothing else. 'disc_ok' says which
 * discretionary characters the track's character set allows.
 */
static int check_track_tail(const char *p, size_t len, bool (*disc_ok)(char))
{
	size_t i;

	if (len < 7)
		return -EINVAL;
	for (i = 0; i < 7; i++)
		if (!is_digit(p[i]))
			return -EINVAL;
	for (; i < len && p[i] != '?'; i++)
		if (!disc_ok(p[i]))
			return -EINVAL;
	if (i == len)
		return 0;                       /* no end sentinel */
	i++;                                    /* '?' */
	if (i == len)
		return 0;                       /* no LRC */
	if (p[i] < 0x20 || p[i] > 0x7e)
		return -EINVAL;
	return i + 1 == len ? 0 : -EINVAL;      /* one LRC, then the end */
}

static bool track1_disc_ok(char c)
{
	return c >= 0x20 && c <= 0x7e;
}

static bool track2_disc_ok(char c)
{
	return is_digit(c);
}

int sl_track1_pan(const char *in, size_t len, char out[SL_PAN_BUF], size_t *ret_len)
{
	const char *pan, *name, *tail, *end;
	size_t i = 0;
	int rc;

	if (!in || !out || len == 0 || len > SL_TRACK1_MAX)
		return -EINVAL;
	end = in + len;
	if (in[i] == '%')
		i++;
	if (i == len || in[i] != 'B')
		return -EINVAL;
	i++;
	pan = in + i;
	name = memchr(pan, '^', (size_t)(end - pan));
	if (!name)
		return -EINVAL;
	name++;
	tail = memchr(name, '^', (size_t)(end - name));
	if (!tail || tail - name > 26)
		return -EINVAL;
	for (const char *c = name; c < tail; c++)
		if (*c < 0x20 || *c > 0x7e || *c == '?' || *c == '%')
			return -EINVAL;
	tail++;
	rc = check_track_tail(tail, (size_t)(end - tail), track1_disc_ok);
	if (rc < 0)
		return rc;
	return sl_pan_canonical(pan, (size_t)(name - 1 - pan), out, ret_len);
}

int sl_track2_pan(const char *in, size_t len, char out[SL_PAN_BUF], size_t *ret_len)
{
	const char *pan, *sep, *end;
	int rc;

	if (!in || !out || len == 0 || len > SL_TRACK2_MAX)
		return -EINVAL;
	end = in + len;
	pan = in[0] == ';' ? in + 1 : in;
	sep = memchr(pan, '=', (size_t)(end - pan));
	if (!sep)
		return -EINVAL;
	for (const char *c = pan; c < sep; c++)
		if (!is_digit(*c))
			return -EINVAL;         /* track 2 PANs have no separators */
	rc = check_track_tail(sep + 1, (size_t)(end - sep - 1), track2_disc_ok);
	if (rc < 0)
		return rc;
	return sl_pan_canonical(pan, (size_t)(sep - pan), out, ret_len);
}

int sl_loyalty_canonical(const char *in, size_t len, char *out, size_t outsz, size_t *ret_len)
{
	char buf[SL_LOYALTY_MAX + 1];
	size_t n = 0;
	int rc;

	if (!in || !out)
		return -EINVAL;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)in[i];

		if (c == ' ' || c == '-')
			continue;
		if (c < 0x21 || c > 0x7e || n == SL_LOYALTY_MAX) {
			rc = -EINVAL;
			goto out_zero;
		}
		if (c >= 'a' && c <= 'z')
			c = (unsigned char)(c - 'a' + 'A');
		buf[n++] = (char)c;
	}
	if (n == 0) {
		rc = -EINVAL;
		goto out_zero;
	}
	if (outsz < n + 1) {
		rc = -ENOSPC;
		goto out_zero;
	}
	memcpy(out, buf, n);
	out[n] = '\0';
	if (ret_len)
		*ret_len = n;
	rc = 0;
out_zero:
	mbedtls_platform_zeroize(buf, sizeof(buf));
	return rc;
}

/* ---- card data inside other fields (docs/pos-protocol.md) ------------- */

/* Separators a card number is commonly written with: 4111 1111-1111.1111 */
static bool pan_sep(char c)
{
	return c == ' ' || c == '-' || c == '.';
}

/* Valid lengths of each brand's PANs (the schemes' published ranges). */
static bool brand_length(enum sl_card_brand b, size_t n)
{
	switch (b) {
	case SL_BRAND_VISA:       return n >= 13;
	case SL_BRAND_MASTERCARD: return n == 16;
	case SL_BRAND_AMEX:       return n == 15;
	case SL_BRAND_DINERS:     return n >= 14;
	case SL_BRAND_MAESTRO:    return true;
	case SL_BRAND_DISCOVER:
	case SL_BRAND_JCB:
	case SL_BRAND_UNIONPAY:   return n >= 16;
	case SL_BRAND_UNKNOWN:    break;
	}
	return false;
}

/* GS1 check digit (UPC-A, EAN-13): weights 3,1,3... from the right of the body. */
static bool gs1_valid(const char *d, size_t n)
{
	unsigned int sum = 0;

	for (size_t i = 0; i + 1 < n; i++)
		sum += (unsigned int)(d[n - 2 - i] - '0') * (i % 2 == 0 ? 3u : 1u);
	return (10 - sum % 10) % 10 == (unsigned int)(d[n - 1] - '0');
}

/* Is d[0..n) (12-19 ASCII digits) a card number under mode? */
static bool pan_candidate(const char *d, size_t n, enum sl_card_data_mode mode)
{
	if (all_zeros(d, n) || !sl_luhn_valid(d, n))
		return false;
	if (mode == SL_CARD_DATA_TEXT)
		return true;
	/* an identifier: only a payment scheme's number, and not a product code */
	if (!brand_length(sl_card_brand(d, n), n))
		return false;
	return !((n == 12 || n == 13) && gs1_valid(d, n));
}

/*
 * The groups g[first..last] (digit runs joined by one separator each) in a
 * card layout: one run, 4-4-...-4-x (x 1-4: 4-4-4-4 and 4-4-4-4-3), or
 * 4-6-4 / 4-6-5 (Diners, Amex).
 */
static bool card_layout(const size_t *glen, size_t first, size_t last)
{
	if (first == last)
		return true;
	if (last - first == 2 && glen[first] == 4 && glen[first + 1] == 6 &&
	    (glen[last] == 4 || glen[last] == 5))
		return true;
	for (size_t i = first; i < last; i++)
		if (glen[i] != 4)
			return false;
	return glen[last] >= 1 && glen[last] <= 4;
}

/* Track 1 format B at s[i]: 'B' PAN '^', the PAN 12-19 digits with spaces
 * or dashes (what sl_track1_pan() accepts). */
static bool track1_at(const char *s, size_t len, size_t i)
{
	size_t n = 0;

	if (s[i] != 'B')
		return false;
	for (i++; i < len && (is_digit(s[i]) || s[i] == ' ' || s[i] == '-'); i++)
		if (is_digit(s[i]))
			n++;
	return i < len && s[i] == '^' && n >= SL_PAN_MIN && n <= SL_PAN_MAX;
}

/* Track 2: the run ending at s[end] (12-19 digits) then '=' YYMM. */
static bool track2_after(const char *s, size_t len, size_t end, size_t run)
{
	if (run < SL_PAN_MIN || run > SL_PAN_MAX || end + 5 > len || s[end] != '=')
		return false;
	for (size_t i = end + 1; i < end + 5; i++)
		if (!is_digit(s[i]))
			return false;
	return true;
}

/*
 * One pass over s. Digit runs joined by single separators form a chain;
 * kept are the last SL_PAN_MAX runs of the chain (start, length): a
 * candidate has at most 19 digits, so at most 19 runs. Each time a run
 * ends, every candidate ending with it is tried.
 */
bool sl_card_data_in(const char *s, size_t len, enum sl_card_data_mode mode)
{
	size_t gpos[SL_PAN_MAX], glen[SL_PAN_MAX], ng = 0;
	char d[SL_PAN_BUF];
	bool found = false;
	size_t i = 0;

	if (!s)
		return false;
	while (i < len && !found) {
		size_t start, run, digits = 0;

		if (track1_at(s, len, i)) {
			found = true;
			break;
		}
		if (!is_digit(s[i])) {
			/* a chain continues over exactly one separator */
			if (!(ng && pan_sep(s[i]) && gpos[ng - 1] + glen[ng - 1] == i &&
			      i + 1 < len && is_digit(s[i + 1])))
				ng = 0;
			i++;
			continue;
		}
		start = i;
		while (i < len && is_digit(s[i]))
			i++;
		run = i - start;
		if (track2_after(s, len, i, run)) {
			found = true;
			break;
		}
		if (ng && gpos[ng - 1] + glen[ng - 1] + 1 != start)
			ng = 0;
		if (ng == SL_PAN_MAX) {
			memmove(gpos, gpos + 1, (ng - 1) * sizeof(gpos[0]));
			memmove(glen, glen + 1, (ng - 1) * sizeof(glen[0]));
			ng--;
		}
		gpos[ng] = start;
		glen[ng] = run;
		ng++;
		/* candidates g[k..ng-1], the newest run last */
		for (size_t k = ng; k-- > 0 && !found;) {
			digits += glen[k];
			if (digits > SL_PAN_MAX)
				break;
			if (digits < SL_PAN_MIN || !card_layout(glen, k, ng - 1))
				continue;
			for (size_t g = k, n = 0; g < ng; g++) {
				memcpy(d + n, s + gpos[g], glen[g]);
				n += glen[g];
			}
			found = pan_candidate(d, digits, mode);
		}
	}
	mbedtls_platform_zeroize(d, sizeof(d));
	return found;
}
