/* SPDX-License-Identifier: MIT */
/*
 * Unit tests for agent/pan.c: PAN canonical form and Luhn over the public
 * test card numbers of the big payment providers (and Luhn-invalid
 * variants of each), brand detection including the IIN range boundaries,
 * ISO/IEC 7813 track 1/2 parsing (valid and malformed), and loyalty ids.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <string.h>

#include "pan.h"

#define N(a) (sizeof(a) / sizeof((a)[0]))

#define STRIPE     "Stripe docs.stripe.com/testing"
#define WORLDPAY   "Worldpay developer.worldpay.com/docs/access-worldpay/testing/payments-test-values"
#define BRAINTREE  "Braintree developer.paypal.com/braintree/docs/reference/general/testing"
#define ADYEN_POS1 "Adyen docs.adyen.com/point-of-sale/testing-pos-payments/test-card-v1"
#define ADYEN_POS2 "Adyen docs.adyen.com/point-of-sale/testing-pos-payments/test-card-v2"
#define MADE       "constructed here: IIN + zero fill + Luhn check digit (length not published by a provider)"

static const struct card {
	const char *pan;
	enum sl_card_brand brand;
	const char *src;
} cards[] = {
	/* Visa: 13, 16, 19 digits */
	{ "4911830000000",       SL_BRAND_VISA, WORLDPAY },   /* Worldpay "Visa" 13 digits */
	{ "4242424242424242",    SL_BRAND_VISA, STRIPE },     /* Stripe "Visa" */
	{ "4000056655665556",    SL_BRAND_VISA, STRIPE },     /* Stripe "Visa (debit)" */
	{ "4111111111111111",    SL_BRAND_VISA, BRAINTREE },  /* Braintree "Visa" */
	{ "4005519200000004",    SL_BRAND_VISA, BRAINTREE },  /* Braintree "Visa" */
	{ "4444333322221111",    SL_BRAND_VISA, WORLDPAY },   /* Worldpay "Visa" */
	{ "4917610000000000",    SL_BRAND_VISA, WORLDPAY },   /* Worldpay "Visa" */
	{ "4462030000000000",    SL_BRAND_VISA, WORLDPAY },   /* Worldpay "Visa Debit" */
	{ "4917300800000000",    SL_BRAND_VISA, WORLDPAY },   /* Worldpay "Visa Electron (UK only)" */
	{ "4151500000000008",    SL_BRAND_VISA, ADYEN_POS2 }, /* Adyen POS test card v2 "MSR" */
	{ "4917610000000000003", SL_BRAND_VISA, WORLDPAY },   /* Worldpay "Visa Debit" 19 digits */
	{ "40000000000000006",   SL_BRAND_VISA, MADE },       /* constructed, 17 digits */
	{ "400000000000000002",  SL_BRAND_VISA, MADE },       /* constructed, 18 digits */
	/* Mastercard: 51-55, 2221-2720 */
	{ "5555555555554444",    SL_BRAND_MASTERCARD, STRIPE },     /* Stripe "Mastercard" */
	{ "2223003122003222",    SL_BRAND_MASTERCARD, STRIPE },     /* Stripe "Mastercard (2-series)" */
	{ "5200828282828210",    SL_BRAND_MASTERCARD, STRIPE },     /* Stripe "Mastercard (debit)" */
	{ "5105105105105100",    SL_BRAND_MASTERCARD, STRIPE },     /* Stripe "Mastercard (prepaid)" */
	{ "5454545454545454",    SL_BRAND_MASTERCARD, WORLDPAY },   /* Worldpay "MasterCard" */
	{ "2221000000000009",    SL_BRAND_MASTERCARD, WORLDPAY },   /* Worldpay "MasterCard" (2221 boundary) */
	{ "5163613613613613",    SL_BRAND_MASTERCARD, WORLDPAY },   /* Worldpay "MasterCard Debit" */
	{ "5413330089099999",    SL_BRAND_MASTERCARD, ADYEN_POS1 }, /* Adyen POS test card v1 "MC NL" */
	{ "5100060000000002",    SL_BRAND_MASTERCARD, ADYEN_POS2 }, /* Adyen POS test card v2 "mc en usa usd" */
	{ "2720000000000005",    SL_BRAND_MASTERCARD, MADE },       /* constructed, 2720 boundary */
	{ "510000000008",        SL_BRAND_MASTERCARD, MADE },       /* constructed, 12 digits */
	/* American Express: 34, 37 (15 digits) */
	{ "378282246310005",     SL_BRAND_AMEX, STRIPE },     /* Stripe "American Express" */
	{ "371449635398431",     SL_BRAND_AMEX, BRAINTREE },  /* Braintree / Stripe "American Express" */
	{ "343434343434343",     SL_BRAND_AMEX, WORLDPAY },   /* Worldpay "American Express" */
	/* Discover: 6011, 644-649, 65, 622126-622925 */
	{ "6011111111111117",    SL_BRAND_DISCOVER, STRIPE },    /* Stripe "Discover" */
	{ "6011000990139424",    SL_BRAND_DISCOVER, STRIPE },    /* Stripe "Discover" */
	{ "6011981111111113",    SL_BRAND_DISCOVER, STRIPE },    /* Stripe "Discover (debit)" */
	{ "6011000991300009",    SL_BRAND_DISCOVER, BRAINTREE }, /* Braintree "Discover" */
	{ "6011000400000000",    SL_BRAND_DISCOVER, WORLDPAY },  /* Worldpay "Discover/ Diners" */
	{ "6555900000604105",    SL_BRAND_DISCOVER, STRIPE },    /* Stripe "BCcard and DinaCard": IIN 65 */
	{ "6440000000000005",    SL_BRAND_DISCOVER, MADE },      /* constructed, 644 */
	{ "6490000000000004",    SL_BRAND_DISCOVER, MADE },      /* constructed, 649 */
	{ "6500000000003",       SL_BRAND_DISCOVER, MADE },      /* constructed, 65, 13 digits */
	{ "6221260000000000",    SL_BRAND_DISCOVER, MADE },      /* constructed, 622126 boundary */
	{ "6229250000000003",    SL_BRAND_DISCOVER, MADE },      /* constructed, 622925 boundary */
	{ "6011000000000000001", SL_BRAND_DISCOVER, MADE },      /* constructed, 19 digits */
	/* JCB: 3528-3589 */
	{ "3566002020360505",    SL_BRAND_JCB, STRIPE },     /* Stripe "JCB" */
	{ "3530111333300000",    SL_BRAND_JCB, BRAINTREE },  /* Braintree "JCB" */
	{ "3528000700000000",    SL_BRAND_JCB, WORLDPAY },   /* Worldpay "JCB" (3528 boundary) */
	{ "3589000000000003",    SL_BRAND_JCB, MADE },       /* constructed, 3589 boundary */
	/* UnionPay: 62 outside 622126-622925, 81 */
	{ "6200000000000005",    SL_BRAND_UNIONPAY, STRIPE }, /* Stripe "UnionPay" */
	{ "6200000000000047",    SL_BRAND_UNIONPAY, STRIPE }, /* Stripe "UnionPay (debit)" */
	{ "6205500000000000004", SL_BRAND_UNIONPAY, STRIPE }, /* Stripe "UnionPay (19-digit card)" */
	{ "6221250000000001",    SL_BRAND_UNIONPAY, MADE },   /* constructed, just below 622126 */
	{ "6229260000000002",    SL_BRAND_UNIONPAY, MADE },   /* constructed, just above 622925 */
	{ "810000000000000002",  SL_BRAND_UNIONPAY, MADE },   /* constructed, 81, 18 digits */
	/* Maestro: 50, 56-58, 6304, 6759, 6761-6763, 67; 12-19 digits */
	{ "500000000009",        SL_BRAND_MAESTRO, MADE },       /* constructed, 12 digits */
	{ "5000000000005",       SL_BRAND_MAESTRO, MADE },       /* constructed, 13 digits */
	{ "67620000000005",      SL_BRAND_MAESTRO, MADE },       /* constructed, 14 digits */
	{ "560000000000002",     SL_BRAND_MAESTRO, MADE },       /* constructed, 15 digits */
	{ "6759649826438453",    SL_BRAND_MAESTRO, WORLDPAY },   /* Worldpay "Maestro" 16 digits */
	{ "6304000000000000",    SL_BRAND_MAESTRO, BRAINTREE },  /* Braintree "Maestro" 16 digits */
	{ "5700000000000002",    SL_BRAND_MAESTRO, MADE },       /* constructed, 57 */
	{ "6763000000000004",    SL_BRAND_MAESTRO, MADE },       /* constructed, 6763 */
	{ "58000000000000008",   SL_BRAND_MAESTRO, MADE },       /* constructed, 17 digits */
	{ "676400000000000003",  SL_BRAND_MAESTRO, MADE },       /* constructed, 67, 18 digits */
	{ "6799998900000099990", SL_BRAND_MAESTRO, ADYEN_POS1 }, /* Adyen POS test card v1 "MS EN" 19 digits */
	{ "6799998900000999991", SL_BRAND_MAESTRO, ADYEN_POS1 }, /* Adyen POS test card v1 "MC ES" 19 digits */
	{ "6761000000000000001", SL_BRAND_MAESTRO, MADE },       /* constructed, 6761, 19 digits */
	/* Diners Club: 300-305, 3095, 36, 38-39 */
	{ "36259600000004",      SL_BRAND_DINERS, BRAINTREE }, /* Braintree "Diners Club" 14 digits */
	{ "36227206271667",      SL_BRAND_DINERS, STRIPE },    /* Stripe "Diners Club (14-digit card)" */
	{ "3056930009020004",    SL_BRAND_DINERS, STRIPE },    /* Stripe "Diners Club" 16 digits */
	{ "30000000000004",      SL_BRAND_DINERS, MADE },      /* constructed, 300 */
	{ "30950000000000",      SL_BRAND_DINERS, MADE },      /* constructed, 3095 */
	{ "38000000000006",      SL_BRAND_DINERS, MADE },      /* constructed, 38 */
	{ "39000000000005",      SL_BRAND_DINERS, MADE },      /* constructed, 39 */
	/* Outside the table */
	{ "6000070736169237003", SL_BRAND_UNKNOWN, ADYEN_POS2 }, /* Adyen POS v2 "ms nl nld eur": Maestro
	                                                            on IIN 60, not in our table (docs/tokens.md) */
	{ "2721000000000004",    SL_BRAND_UNKNOWN, MADE },       /* constructed, just above 2720 */
	{ "2220000000000000",    SL_BRAND_UNKNOWN, MADE },       /* constructed, just below 2221 */
	{ "3527000000000008",    SL_BRAND_UNKNOWN, MADE },       /* constructed, just below 3528 */
	{ "3590000000000000",    SL_BRAND_UNKNOWN, MADE },       /* constructed, just above 3589 */
};

static void test_cards_valid(void **state)
{
	(void)state;
	for (size_t i = 0; i < N(cards); i++) {
		const char *pan = cards[i].pan;
		char out[SL_PAN_BUF];
		size_t len = 0;

		assert_true(sl_luhn_valid(pan, strlen(pan)));
		assert_int_equal(sl_pan_canonical(pan, strlen(pan), out, &len), 0);
		assert_int_equal(len, strlen(pan));
		assert_string_equal(out, pan);
		if (sl_card_brand(out, len) != cards[i].brand)
			fail_msg("row %zu (%s): brand %s, want %s", i, cards[i].src,
				 sl_card_brand_name(sl_card_brand(out, len)),
				 sl_card_brand_name(cards[i].brand));
	}
}

/* Every row with its last digit + 1 (mod 10) fails the Luhn check. */
static void test_cards_luhn_invalid(void **state)
{
	(void)state;
	for (size_t i = 0; i < N(cards); i++) {
		char bad[SL_PAN_BUF], out[SL_PAN_BUF];
		size_t n = strlen(cards[i].pan), len = 99;

		memcpy(bad, cards[i].pan, n + 1);
		bad[n - 1] = (char)('0' + (bad[n - 1] - '0' + 1) % 10);
		memset(out, 'X', sizeof(out));
		assert_false(sl_luhn_valid(bad, n));
		assert_int_equal(sl_pan_canonical(bad, n, out, &len), -EBADMSG);
		for (size_t j = 0; j < sizeof(out); j++)
			assert_int_equal(out[j], 'X');  /* untouched on failure */
		assert_int_equal(len, 99);
	}
}

static void test_pan_separators(void **state)
{
	static const struct { const char *in; int rc; const char *want; } v[] = {
		{ "4111 1111 1111 1111", 0, "4111111111111111" },
		{ "4111-1111-1111-1111", 0, "4111111111111111" },
		{ " 3782-822463-10005 ", 0, "378282246310005" },
		{ "4111111111111111", 0, "4111111111111111" },
		{ "4111.1111.1111.1111", -EINVAL, NULL },   /* dot is not a separator */
		{ "4111\t1111 1111 1111", -EINVAL, NULL },  /* nor is tab */
		{ "411111111111111A", -EINVAL, NULL },      /* letter */
		{ "41111111111", -EINVAL, NULL },           /* 11 digits */
		{ "41111111111111111111", -EINVAL, NULL },  /* 20 digits */
		{ "", -EINVAL, NULL },
		{ " - - ", -EINVAL, NULL },
		{ "4111111111111112", -EBADMSG, NULL },     /* DESIGN.md: fails Luhn */
		{ "\xef\xbc\x94""111111111111111", -EINVAL, NULL }, /* fullwidth digit four */
	};

	(void)state;
	for (size_t i = 0; i < N(v); i++) {
		char out[SL_PAN_BUF];
		size_t len;
		int rc = sl_pan_canonical(v[i].in, strlen(v[i].in), out, &len);

		assert_int_equal(rc, v[i].rc);
		if (rc == 0)
			assert_string_equal(out, v[i].want);
	}
	/* an embedded NUL is not a digit */
	{
		char out[SL_PAN_BUF];

		assert_int_equal(sl_pan_canonical("41111111\0" "1111111", 16, out, NULL), -EINVAL);
	}
	assert_false(sl_luhn_valid("", 0));
	assert_false(sl_luhn_valid("4a", 2));
	assert_true(sl_luhn_valid("0", 1));
	assert_true(sl_luhn_valid("79927398713", 11)); /* Wikipedia "Luhn algorithm" example */
}

static void test_brand_names(void **state)
{
	(void)state;
	assert_string_equal(sl_card_brand_name(SL_BRAND_VISA), "visa");
	assert_string_equal(sl_card_brand_name(SL_BRAND_MASTERCARD), "mastercard");
	assert_string_equal(sl_card_brand_name(SL_BRAND_AMEX), "amex");
	assert_string_equal(sl_card_brand_name(SL_BRAND_DISCOVER), "discover");
	assert_string_equal(sl_card_brand_name(SL_BRAND_JCB), "jcb");
	assert_string_equal(sl_card_brand_name(SL_BRAND_UNIONPAY), "unionpay");
	assert_string_equal(sl_card_brand_name(SL_BRAND_MAESTRO), "maestro");
	assert_string_equal(sl_card_brand_name(SL_BRAND_DINERS), "diners");
	assert_string_equal(sl_card_brand_name(SL_BRAND_UNKNOWN), "unknown");
	assert_string_equal(sl_card_brand_name((enum sl_card_brand)99), "unknown");
	assert_int_equal(sl_card_brand("4", 1), SL_BRAND_VISA);
	assert_int_equal(sl_card_brand("62212", 5), SL_BRAND_UNIONPAY); /* too short for 622126 */
	assert_int_equal(sl_card_brand("", 0), SL_BRAND_UNKNOWN);
	assert_int_equal(sl_card_brand(NULL, 0), SL_BRAND_UNKNOWN);
}

struct track_vec {
	const char *in;
	int rc;
	const char *pan;
};

static void run_tracks(const struct track_vec *v, size_t n,
		       int (*parse)(const char *, size_t, char *, size_t *))
{
	for (size_t i = 0; i < n; i++) {
		char out[SL_PAN_BUF];
		size_t len = 77;
		int rc;

		memset(out, 0xa5, sizeof(out));
		rc = parse(v[i].in, strlen(v[i].in), out, &len);
		if (rc != v[i].rc)
			fail_msg("row %zu: rc %d, want %d", i, rc, v[i].rc);
		if (rc == 0) {
			assert_int_equal(len, strlen(v[i].pan));
			assert_string_equal(out, v[i].pan);
		} else {
			assert_int_equal(len, 77);
			for (size_t j = 0; j < sizeof(out); j++)
				assert_int_equal((unsigned char)out[j], 0xa5);
		}
	}
}

/* Layouts from ISO/IEC 7813 (format B); data values are test cards above. */
static void test_track1(void **state)
{
	static const struct track_vec v[] = {
		{ "%B4111111111111111^DOE/JOHN^3012101000000000000000?", 0, "4111111111111111" },
		{ "%B4111111111111111^DOE/JOHN^3012101000000000000000?;", 0, "4111111111111111" }, /* + LRC */
		{ "B4111111111111111^DOE/JOHN^3012101", 0, "4111111111111111" },   /* no sentinels */
		{ "%B378282246310005^AMEX/TEST   ^301210112345?", 0, "378282246310005" },
		{ "%B4111 1111 1111 1111^DOE/JOHN^3012101?", 0, "4111111111111111" },
		{ "%B6799998900000099990^^3012101?", 0, "6799998900000099990" },  /* empty name */
		{ "%B5555555555554444^DOE/JANE^3012201^X?Y^Z?", -EINVAL, NULL },  /* data after LRC */
		{ "%B4111111111111111DOE/JOHN3012101?", -EINVAL, NULL },         /* no separators */
		{ "%B4111111111111111^DOE/JOHN3012101?", -EINVAL, NULL },        /* second ^ missing */
		{ "%B41111111111111A1^DOE/JOHN^3012101?", -EINVAL, NULL },       /* letter in PAN */
		{ "%A4111111111111111^DOE/JOHN^3012101?", -EINVAL, NULL },       /* format code A */
		{ "%4111111111111111^DOE/JOHN^3012101?", -EINVAL, NULL },        /* no format code */
		{ "%B4111111111111111^ABCDEFGHIJKLMNOPQRSTUVWXYZA^3012101?", -EINVAL, NULL }, /* name 27 */
		{ "%B4111111111111111^DOE/JOHN^30AB101?", -EINVAL, NULL },       /* expiry not digits */
		{ "%B4111111111111111^DOE/JOHN^301?", -EINVAL, NULL },           /* no service code */
		{ "%B4111111111111111^DOE/JOHN^3012101?xy", -EINVAL, NULL },     /* two chars after ? */
		{ "%B4111111111111111^DOE/JOHN^3012101000000000000000000000000000000000000000000000000000?",
		  -EINVAL, NULL },                                                /* 80 chars: too long */
		{ "%B500000000009^DOE/JOHN^3012101?", 0, "500000000009" },        /* 12-digit PAN */
		{ "%B41111111111^DOE/JOHN^3012101?", -EINVAL, NULL },            /* PAN 11 digits */
		{ "%B^DOE/JOHN^3012101?", -EINVAL, NULL },                        /* empty PAN */
		{ "%B4111111111111112^DOE/JOHN^3012101?", -EBADMSG, NULL },      /* Luhn */
		{ "", -EINVAL, NULL },
		{ "%", -EINVAL, NULL },
		{ "%B", -EINVAL, NULL },
		{ "%B4111111111111111^DOE\x01JOHN^3012101?", -EINVAL, NULL },    /* control char in name */
	};

	(void)state;
	run_tracks(v, N(v), sl_track1_pan);
}

static void test_track2(void **state)
{
	static const struct track_vec v[] = {
		{ ";4111111111111111=30121010000000000000?", 0, "4111111111111111" }, /* DESIGN.md */
		{ ";4111111111111111=30121010000000000000?5", 0, "4111111111111111" }, /* + LRC */
		{ "4111111111111111=3012101", 0, "4111111111111111" },                 /* no sentinels */
		{ ";6205500000000000004=301210100000000000?", 0, "6205500000000000004" },
		{ ";500000000009=3012101?", 0, "500000000009" },
		{ ";41111111111111113012101?", -EINVAL, NULL },                      /* no separator */
		{ ";41111111111111A1=3012101?", -EINVAL, NULL },                     /* letter in PAN */
		{ ";4111 1111 1111 1111=3012101?", -EINVAL, NULL },                  /* space in PAN */
		{ ";4111111111111111=30121010000000000000000?", -EINVAL, NULL },      /* 41 chars */
		{ ";4111111111111111=301210100A?", -EINVAL, NULL },                   /* letter in data */
		{ ";4111111111111111=3012?", -EINVAL, NULL },                         /* no service code */
		{ ";4111111111111111=3012101?12", -EINVAL, NULL },                    /* two after ? */
		{ ";=3012101?", -EINVAL, NULL },                                      /* empty PAN */
		{ ";41111111111111111111=3012101?", -EINVAL, NULL },                  /* 20-digit PAN */
		{ ";4111111111111112=3012101?", -EBADMSG, NULL },                     /* Luhn */
		{ "", -EINVAL, NULL },
		{ ";", -EINVAL, NULL },
		{ "?", -EINVAL, NULL },
	};

	(void)state;
	run_tracks(v, N(v), sl_track2_pan);
}

/* The output buffer holds the PAN, a NUL and zeros: no name, expiry,
 * service code or discretionary data, whatever was in it before. */
static void test_track_output_only_pan(void **state)
{
	const char *t1 = "%B5555555555554444^CARDHOLDER/NAME^2812101987654321?";
	const char *t2 = ";5555555555554444=28121019876543210?";
	char out[SL_PAN_BUF];
	size_t len;

	(void)state;
	memset(out, 'Z', sizeof(out));
	assert_int_equal(sl_track1_pan(t1, strlen(t1), out, &len), 0);
	assert_int_equal(len, 16);
	assert_memory_equal(out, "5555555555554444", 16);
	for (size_t i = 16; i < sizeof(out); i++)
		assert_int_equal(out[i], 0);
	assert_null(memmem(out, sizeof(out), "CARD", 4));
	assert_null(memmem(out, sizeof(out), "2812", 4));

	memset(out, 'Z', sizeof(out));
	assert_int_equal(sl_track2_pan(t2, strlen(t2), out, &len), 0);
	assert_memory_equal(out, "5555555555554444", 16);
	for (size_t i = 16; i < sizeof(out); i++)
		assert_int_equal(out[i], 0);
	assert_null(memmem(out, sizeof(out), "2812", 4));
}

/* Reading stops at len: a track inside a larger buffer is parsed alone. */
static void test_track_bounded(void **state)
{
	const char *buf = ";4111111111111111=3012101?XXXXXXXX";
	char out[SL_PAN_BUF];

	(void)state;
	assert_int_equal(sl_track2_pan(buf, 26, out, NULL), 0);
	assert_int_equal(sl_track2_pan(buf, 16, out, NULL), -EINVAL); /* cut before '=' */
}

static void test_loyalty(void **state)
{
	static const struct { const char *in; int rc; const char *want; } v[] = {
		{ "lc-0042-77", 0, "LC004277" },         /* DESIGN.md example */
		{ "LC-0042-77", 0, "LC004277" },
		{ " ab c-d ", 0, "ABCD" },
		{ "x_y.z/1", 0, "X_Y.Z/1" },
		{ "", -EINVAL, NULL },
		{ " - -  ", -EINVAL, NULL },
		{ "ab\tc", -EINVAL, NULL },              /* control char */
		{ "ab\nc", -EINVAL, NULL },
		{ "ab\x7f", -EINVAL, NULL },
		{ "caf\xc3\xa9", -EINVAL, NULL },        /* non-ASCII */
		{ "1234567890123456789012345678901234567890123456789012345678901234", 0,
		  "1234567890123456789012345678901234567890123456789012345678901234" }, /* 64 */
		{ "12345678901234567890123456789012345678901234567890123456789012345", -EINVAL, NULL },
	};
	char out[SL_LOYALTY_MAX + 1];
	size_t len;

	(void)state;
	for (size_t i = 0; i < N(v); i++) {
		int rc = sl_loyalty_canonical(v[i].in, strlen(v[i].in), out, sizeof(out), &len);

		if (rc != v[i].rc)
			fail_msg("row %zu: rc %d, want %d", i, rc, v[i].rc);
		if (rc == 0) {
			assert_string_equal(out, v[i].want);
			assert_int_equal(len, strlen(v[i].want));
		}
	}
	/* 67 chars in, 64 once the dashes are gone: the limit applies to the canonical form */
	{
		const char *in = "1234567890123456-1234567890123456-1234567890123456-1234567890123456";

		assert_int_equal(strlen(in), 67);
		assert_int_equal(sl_loyalty_canonical(in, strlen(in), out, sizeof(out), &len), 0);
		assert_int_equal(len, 64);
	}
	/* output buffer too small */
	assert_int_equal(sl_loyalty_canonical("ABCD", 4, out, 4, &len), -ENOSPC);
	assert_int_equal(sl_loyalty_canonical("ABCD", 4, out, 5, &len), 0);
}

/* issue 10 item 10: all zeros passes Luhn but is not a card number */
static void test_pan_all_zeros(void **state)
{
	static const char *const zeros[] = {
		"0000000000000000000",		/* the audit's value, 19 digits */
		"000000000000",			/* 12 */
		"0000 0000 0000 0000",
	};
	char out[SL_PAN_BUF];

	(void)state;
	for (size_t i = 0; i < N(zeros); i++) {
		assert_true(sl_luhn_valid("0000000000000000000", 19));
		assert_int_equal(sl_pan_canonical(zeros[i], strlen(zeros[i]), out, NULL), -EINVAL);
	}
	assert_int_equal(sl_track2_pan(";0000000000000000=30121010000000000000?", 40, out, NULL),
			 -EINVAL);
	assert_int_equal(sl_track1_pan("%B0000000000000000^DOE/JOHN^3012101?", 36, out, NULL),
			 -EINVAL);
	/* one non-zero digit is enough: 0000000000000018 passes Luhn */
	assert_int_equal(sl_pan_canonical("0000000000000018", 16, out, NULL), 0);
}

/*
 * issue 10 item 5: card data inside free text and identifiers
 * (sl_card_data_in). Rows: the audit's examples, the separators and card
 * layouts, track data with and without sentinels, and what must pass
 * (transaction ids, dates, amounts, product barcodes, loyalty numbers).
 */
static void test_card_data_in(void **state)
{
	static const struct { const char *s; bool text, id; const char *why; } v[] = {
		/* the audit: txn_id = a PAN, a full track 2; lane = a PAN */
		{ "4111111111111111", true, true, BRAINTREE },
		{ ";4111111111111111=30121010000000000000?", true, true, "track 2, DESIGN.md" },
		{ "4012888888881881", true, true, "Stripe/Braintree Visa, the audit's lane" },
		/* inside other text */
		{ "T-4111111111111111", true, true, "prefixed" },
		{ "abc6011000990139424xyz", true, true, STRIPE },
		{ "4111111111111111 1", true, true, "the 16-digit run alone" },
		/* separators in a card layout */
		{ "4111 1111 1111 1111", true, true, "4-4-4-4 spaces" },
		{ "4111-1111-1111-1111", true, true, "4-4-4-4 dashes" },
		{ "4111.1111.1111.1111", true, true, "4-4-4-4 dots" },
		{ "4111 1111-1111.1111", true, true, "mixed separators" },
		{ "3782-822463-10005", true, true, "Amex 4-6-5, " STRIPE },
		{ "3625-960000-0004", true, true, "Diners 4-6-4, " BRAINTREE },
		{ "6799 9989 0000 0099 990", true, true, "4-4-4-4-3, " ADYEN_POS1 },
		{ "X:4111-1111-1111-1111:Y", true, true, "layout inside text" },
		{ "2026-4111-1111-1111-1111", true, true, "the last four groups" },
		/* lengths */
		{ "500000000009", true, true, "Maestro 12 digits, " MADE },
		{ "6799998900000099990", true, true, "Maestro 19 digits, " ADYEN_POS1 },
		{ "41111111111111111111", false, false, "a 20-digit run is no card number" },
		/* track data: structure, Luhn or not, sentinels or not */
		{ "4111111111111111=3012101", true, true, "track 2 without sentinels" },
		{ "4111111111111112=3012", true, true, "track 2, PAN fails Luhn" },
		{ "id;4111111111111112=30121010000000000000?", true, true, "track 2 inside text" },
		{ "%B4111111111111111^DOE/JOHN^30121010000000000000?", true, true, "track 1" },
		{ "B4111111111111112^DOE/JOHN^", true, true, "track 1, PAN fails Luhn" },
		{ "B4111 1111 1111 1112^", true, true, "track 1, PAN with spaces" },
		{ "4111=3012", false, false, "too short for a card number" },
		{ "B1234^X^", false, false, "too short" },
		{ "4111111111111112=30", false, false, "no YYMM, fails Luhn" },
		/* not card data */
		{ "", false, false, "empty" },
		{ "T-881", false, false, "DESIGN.md txn_id" },
		{ "3", false, false, "lane" },
		{ "12.34", false, false, "amount" },
		{ "4111111111111112", false, false, "DESIGN.md: fails Luhn" },
		{ "0000000000000000000", false, false, "all zeros (passes Luhn)" },
		{ "000000000000", false, false, "all zeros, 12" },
		{ "20261122000130", true, false, "Luhn-valid 14 digits, no scheme's IIN" },
		{ "2026-11-22-000130", false, false, "the same as a date: not a card layout" },
		{ "4111 1111  1111 1111", false, false, "two spaces end a run" },
		{ "41111 11111 11111 1", false, false, "5-5-5-1 is no card layout" },
		/* identifiers that may be Luhn numbers */
		{ "4006381333931", false, false, "EAN-13, Wikipedia 'International Article Number'" },
		{ "4006381333924", true, false, "EAN-13 passing GS1 and Luhn: a product code" },
		{ "9826300000000000006", true, false, "loyalty number on IIN 9, " MADE },
		{ "2500000000007", true, false, "13 digits in the Mastercard range: MC is 16" },
		{ "400000000002", true, false, "12 digits on a Visa IIN: Visa is 13-19" },
		{ "4000000000014", true, true, "13-digit Visa, no GS1 check digit" },
		{ "LC004277", false, false, "docs/tokens.md loyalty id" },
		{ "6000070736169237003", true, false, "Maestro on IIN 60: not in the brand table" },
	};

	(void)state;
	for (size_t i = 0; i < N(v); i++) {
		size_t n = strlen(v[i].s);

		if (sl_card_data_in(v[i].s, n, SL_CARD_DATA_TEXT) != v[i].text)
			fail_msg("row %zu (%s): text mode %d", i, v[i].why, !v[i].text);
		if (sl_card_data_in(v[i].s, n, SL_CARD_DATA_ID) != v[i].id)
			fail_msg("row %zu (%s): id mode %d", i, v[i].why, !v[i].id);
	}
	/* bounded by len, not by a NUL */
	assert_false(sl_card_data_in("4111111111111111", 15, SL_CARD_DATA_TEXT));
	assert_false(sl_card_data_in("4111111111111112=3012", 20, SL_CARD_DATA_TEXT));
	assert_true(sl_card_data_in("4111111111111112=3012", 21, SL_CARD_DATA_TEXT));
	assert_false(sl_card_data_in(NULL, 0, SL_CARD_DATA_TEXT));
	/* a long text: a card number after many short runs */
	{
		char buf[512] = "";

		for (int i = 0; i < 60; i++)
			strcat(buf, "12-");
		strcat(buf, "4111-1111-1111-1111");
		assert_true(sl_card_data_in(buf, strlen(buf), SL_CARD_DATA_TEXT));
		buf[strlen(buf) - 1] = '2';
		assert_false(sl_card_data_in(buf, strlen(buf), SL_CARD_DATA_TEXT));
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_cards_valid),
		cmocka_unit_test(test_cards_luhn_invalid),
		cmocka_unit_test(test_pan_separators),
		cmocka_unit_test(test_brand_names),
		cmocka_unit_test(test_track1),
		cmocka_unit_test(test_track2),
		cmocka_unit_test(test_track_output_only_pan),
		cmocka_unit_test(test_track_bounded),
		cmocka_unit_test(test_loyalty),
		cmocka_unit_test(test_pan_all_zeros),
		cmocka_unit_test(test_card_data_in),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
