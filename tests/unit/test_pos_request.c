/* SPDX-License-Identifier: MIT */
/*
 * POS request → event: the DESIGN.md examples, the token vectors of
 * docs/tokens.md as they appear in events, every error code, rotation
 * (ids_next), and that no raw identifier reaches the event or the reply.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "pos_request.h"
#include "privacy.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NOW_US 1795389275123000ull	/* 2026-11-22T23:14:35.123Z */

static struct sl_keyring *kr, *kr_rot;

static int setup(void **state)
{
	uint8_t master[32], next[32];

	(void)state;
	for (int i = 0; i < 32; i++) {
		master[i] = (uint8_t)i;
		next[i] = (uint8_t)(0xff - i);
	}
	if (sl_keyring_new(&kr, "acme", master, "v1", NULL, NULL) < 0)
		return -1;
	return sl_keyring_new(&kr_rot, "acme", master, "v1", next, "v2");
}

static int teardown(void **state)
{
	(void)state;
	sl_keyring_free(kr);
	sl_keyring_free(kr_rot);
	return 0;
}

static struct sl_pos_result res;

static int run_skew(struct sl_keyring *k, const char *line, uint64_t skew_us, bool synced)
{
	struct sl_pos_ctx ctx = { .kr = k, .origin = { "acme", "0042", "gw-1" }, .zone = "store",
				  .max_ts_skew_us = skew_us };
	static char buf[1024];	/* outlives run(): an auth token points into it */
	size_t n = strlen(line);
	int rc;

	assert_true(n < sizeof(buf));
	memcpy(buf, line, n + 1);
	rc = sl_pos_request(&ctx, buf, n, NOW_US, synced, &res);
	return rc;
}

static int run(struct sl_keyring *k, const char *line)
{
	return run_skew(k, line, 0, true);
}

static void expect_error(const char *line, const char *code)
{
	assert_int_equal(run(kr, line), -EINVAL);
	assert_int_equal(res.outcome, SL_POS_OUT_ERROR);
	if (strcmp(res.error, code) != 0)
		fail_msg("%s: got %s, want %s", line, res.error, code);
	assert_non_null(res.message);
}

static void test_purchase(void **state)
{
	(void)state;
	assert_int_equal(run(kr, "{\"type\":\"purchase\",\"lane\":\"3\",\"txn_id\":\"T-881\","
				 "\"pan\":\"4111111111111111\",\"amount\":\"12.34\","
				 "\"currency\":\"EUR\",\"loyalty_id\":\"lc-0042-77\"}"), 0);
	assert_int_equal(res.outcome, SL_POS_OUT_EVENT);
	assert_int_equal(res.cls, SL_CLASS_PURCHASE);
	assert_string_equal(res.type, "purchase");
	assert_int_equal(strlen(res.id), 36);
	assert_int_equal(res.id[14], '7');	/* UUID version 7 */
	assert_int_equal(res.len, strlen(res.payload));
	assert_non_null(strstr(res.payload, "\"schema\":\"storelink.event/1\""));
	assert_non_null(strstr(res.payload, "\"ts\":\"2026-11-22T23:14:35.123Z\""));
	assert_non_null(strstr(res.payload, "\"clock\":\"synced\""));
	assert_non_null(strstr(res.payload, "\"tenant\":\"acme\",\"store\":\"0042\",\"gateway\":\"gw-1\""));
	assert_non_null(strstr(res.payload, "\"zone\":\"lane-3\""));
	/* docs/tokens.md vectors */
	assert_non_null(strstr(res.payload,
		"\"ids\":{\"card\":\"v1.y6TATuybYSH0sTS_R9JlWP8hxtmKu0tgA6X3zKUSlf4\","
		"\"loyalty\":\"v1.Kq5TTXbNZ9zDvVkzp3o3LRE9bugs33Ad0sprjxiKPoQ\"}"));
	assert_non_null(strstr(res.payload, "\"card\":{\"brand\":\"visa\"}"));
	assert_non_null(strstr(res.payload, "\"txn\":{\"id\":\"T-881\",\"amount\":\"12.34\",\"currency\":\"EUR\"}"));
	assert_null(strstr(res.payload, "ids_next"));
	assert_null(strstr(res.payload, "4111111111111111"));
	assert_null(strstr(res.payload, "0042-77"));
	assert_null(strstr(res.payload, "LC004277"));
}

static void test_track2_and_numbers(void **state)
{
	(void)state;
	/* DESIGN.md example; amount and lane as JSON numbers */
	assert_int_equal(run(kr, "{\"type\":\"purchase\",\"lane\":3,\"track2\":"
				 "\";5555555555554444=30121010000000000000?\",\"txn_id\":\"T-9\","
				 "\"amount\":7.5,\"currency\":\"USD\",\"ts\":\"2026-01-02T03:04:05+01:00\"}"), 0);
	assert_non_null(strstr(res.payload,
		"\"card\":\"v1.nn283vkkds8BNd239Qlh7M7id1i7YUs2e6qDECnu2iU\""));
	assert_non_null(strstr(res.payload, "\"brand\":\"mastercard\""));
	assert_non_null(strstr(res.payload, "\"amount\":\"7.5\""));
	assert_non_null(strstr(res.payload, "\"ts\":\"2026-01-02T02:04:05.000Z\""));
	assert_null(strstr(res.payload, "5555555555554444"));
	assert_null(strstr(res.payload, "3012"));	/* expiry and service code gone */
}

static void test_loyalty_scan(void **state)
{
	(void)state;
	assert_int_equal(run(kr, "{\"type\":\"loyalty_scan\",\"lane\":\"3\",\"loyalty_id\":\"LC 0042 77\"}"), 0);
	assert_int_equal(res.cls, SL_CLASS_LOYALTY);
	assert_string_equal(res.type, "loyalty_scan");
	assert_non_null(strstr(res.payload,
		"\"ids\":{\"loyalty\":\"v1.Kq5TTXbNZ9zDvVkzp3o3LRE9bugs33Ad0sprjxiKPoQ\"}"));
	assert_null(strstr(res.payload, "\"txn\""));
	/* no lane: the gateway's zone */
	assert_int_equal(run(kr, "{\"type\":\"loyalty_scan\",\"loyalty_id\":\"X1\"}"), 0);
	assert_non_null(strstr(res.payload, "\"zone\":\"store\""));
}

static void test_rotation(void **state)
{
	(void)state;
	assert_int_equal(run(kr_rot, "{\"type\":\"loyalty_scan\",\"loyalty_id\":\"lc-0042-77\"}"), 0);
	assert_non_null(strstr(res.payload, "\"ids\":{\"loyalty\":\"v1.Kq5TTXbNZ9zDvVkzp3o3LRE9bugs33Ad0sprjxiKPoQ\"}"));
	assert_non_null(strstr(res.payload, "\"ids_next\":{\"loyalty\":\"v2."));
}

static void test_auth(void **state)
{
	(void)state;
	assert_int_equal(run(kr, "{\"type\":\"auth\",\"token\":\"s3cret-token-value\"}"), 0);
	assert_int_equal(res.outcome, SL_POS_OUT_AUTH);
	assert_int_equal(res.token_len, 18);
	assert_memory_equal(res.token, "s3cret-token-value", 18);
	expect_error("{\"type\":\"auth\"}", "unauthorized");
}

static void test_errors(void **state)
{
	(void)state;
	expect_error("not json", "bad_json");
	expect_error("{\"type\":\"purchase\",}", "bad_json");
	expect_error("{\"lane\":\"3\"}", "missing_field");
	expect_error("{\"type\":7}", "unknown_type");
	expect_error("{\"type\":\"refund\"}", "unknown_type");
	/* DESIGN.md: Luhn failure */
	expect_error("{\"type\":\"purchase\",\"pan\":\"4111111111111112\",\"txn_id\":\"T\","
		     "\"amount\":\"1\",\"currency\":\"EUR\"}", "invalid_pan");
	assert_string_equal(res.message, "card number fails the Luhn check");
	expect_error("{\"type\":\"purchase\",\"pan\":\"4111\",\"txn_id\":\"T\",\"amount\":\"1\","
		     "\"currency\":\"EUR\"}", "invalid_pan");
	expect_error("{\"type\":\"purchase\",\"pan\":4111111111111111,\"txn_id\":\"T\","
		     "\"amount\":\"1\",\"currency\":\"EUR\"}", "invalid_pan");
	expect_error("{\"type\":\"purchase\",\"track2\":\"garbage\",\"txn_id\":\"T\","
		     "\"amount\":\"1\",\"currency\":\"EUR\"}", "invalid_track");
	expect_error("{\"type\":\"purchase\",\"pan\":\"4111111111111111\",\"track2\":"
		     "\";5555555555554444=3012101?\",\"txn_id\":\"T\",\"amount\":\"1\","
		     "\"currency\":\"EUR\"}", "invalid_track");
	expect_error("{\"type\":\"purchase\",\"txn_id\":\"T\",\"amount\":\"1\",\"currency\":\"EUR\"}",
		     "missing_field");
	expect_error("{\"type\":\"purchase\",\"pan\":\"4111111111111111\"}", "missing_field");
	expect_error("{\"type\":\"purchase\",\"pan\":\"4111111111111111\",\"txn_id\":\"T\","
		     "\"amount\":\"12,34\",\"currency\":\"EUR\"}", "invalid_field");
	expect_error("{\"type\":\"purchase\",\"pan\":\"4111111111111111\",\"txn_id\":\"T\","
		     "\"amount\":\"1\",\"currency\":\"eur\"}", "invalid_field");
	expect_error("{\"type\":\"purchase\",\"pan\":\"4111111111111111\",\"txn_id\":\"T x\","
		     "\"amount\":\"1\",\"currency\":\"EUR\"}", "invalid_field");
	expect_error("{\"type\":\"loyalty_scan\",\"loyalty_id\":\"X\",\"ts\":\"yesterday\"}",
		     "invalid_field");
	expect_error("{\"type\":\"loyalty_scan\",\"loyalty_id\":\"X\",\"lane\":\"a\\\"b\"}",
		     "invalid_field");
	expect_error("{\"type\":\"loyalty_scan\"}", "missing_field");
	expect_error("{\"type\":\"loyalty_scan\",\"loyalty_id\":\"--\"}", "invalid_loyalty_id");
	expect_error("{\"type\":\"loyalty_scan\",\"loyalty_id\":5}", "invalid_loyalty_id");
}

/* Error messages are fixed texts: a card number in the request never comes back. */
static void test_no_echo(void **state)
{
	static const char *const lines[] = {
		"{\"type\":\"purchase\",\"pan\":\"4111111111111112\",\"txn_id\":\"T\",\"amount\":\"1\",\"currency\":\"EUR\"}",
		"{\"type\":\"purchase\",\"pan\":\"41111111111111119999\",\"txn_id\":\"T\",\"amount\":\"1\",\"currency\":\"EUR\"}",
		"{\"type\":\"purchase\",\"track1\":\"%B4111111111111111^DOE/JOHN^3012101?\",\"txn_id\":\"T\",\"amount\":\"x\",\"currency\":\"EUR\"}",
		"{\"type\":\"4111111111111111\"}",
	};

	(void)state;
	for (size_t i = 0; i < sizeof(lines) / sizeof(lines[0]); i++) {
		assert_int_equal(run(kr, lines[i]), -EINVAL);
		assert_null(strstr(res.message, "4111"));
		assert_null(strstr(res.error, "4111"));
		assert_null(strstr(res.payload, "4111"));
	}
}

/* The reply and the event never carry a digit run of the line's card data. */
static void assert_no_card_digits(void)
{
	static const char *const pieces[] = { "411111", "401288", "888888", "111111" };

	for (size_t i = 0; i < sizeof(pieces) / sizeof(pieces[0]); i++) {
		assert_null(strstr(res.message, pieces[i]));
		assert_null(strstr(res.error, pieces[i]));
		assert_null(strstr(res.payload, pieces[i]));
	}
}

#define BUY_HEAD "{\"type\":\"purchase\",\"pan\":\"5555555555554444\","

/*
 * issue 10 item 5: card data in free-text fields was stored and published
 * verbatim (the audit's examples first). Refused with invalid_field, the
 * message naming the field, never the value.
 */
static void test_card_data_in_free_text(void **state)
{
	static const struct { const char *line, *code, *field; } v[] = {
		/* the audit: txn_id = a PAN, a full track 2, an escaped PAN; lane = a PAN */
		{ BUY_HEAD "\"txn_id\":\"4111111111111111\",\"amount\":\"1\",\"currency\":\"EUR\"}",
		  "invalid_field", "txn_id" },
		{ BUY_HEAD "\"txn_id\":\";4111111111111111=30121010000000000000?\",\"amount\":\"1\","
		  "\"currency\":\"EUR\"}", "invalid_field", "txn_id" },
		{ BUY_HEAD "\"txn_id\":\"\\u0034111111111111111\",\"amount\":\"1\",\"currency\":\"EUR\"}",
		  "invalid_field", "txn_id" },
		{ BUY_HEAD "\"lane\":\"4012888888881881\",\"txn_id\":\"T-1\",\"amount\":\"1\","
		  "\"currency\":\"EUR\"}", "invalid_field", "lane" },
		/* more shapes */
		{ BUY_HEAD "\"txn_id\":\"T-4111-1111-1111-1111\",\"amount\":\"1\",\"currency\":\"EUR\"}",
		  "invalid_field", "txn_id" },
		{ BUY_HEAD "\"txn_id\":\"4111111111111111=3012101\",\"amount\":\"1\",\"currency\":\"EUR\"}",
		  "invalid_field", "txn_id" },
		{ BUY_HEAD "\"txn_id\":\"%B4111111111111111^DOE/JOHN^3012101?\",\"amount\":\"1\","
		  "\"currency\":\"EUR\"}", "invalid_field", "txn_id" },
		{ BUY_HEAD "\"lane\":4111111111111111,\"txn_id\":\"T-1\",\"amount\":\"1\","
		  "\"currency\":\"EUR\"}", "invalid_field", "lane" },
		{ BUY_HEAD "\"txn_id\":\"T-1\",\"amount\":\"411111111111\",\"currency\":\"EUR\"}",
		  NULL, NULL },	/* 411111111111 fails Luhn: a (large) amount */
		{ BUY_HEAD "\"txn_id\":\"T-1\",\"amount\":\"500000000009\",\"currency\":\"EUR\"}",
		  "invalid_field", "amount" },
		/* every request type: a loyalty_scan's lane too */
		{ "{\"type\":\"loyalty_scan\",\"lane\":\"4012888888881881\",\"loyalty_id\":\"X1\"}",
		  "invalid_field", "lane" },
		/* loyalty ids: a card number must not become a loyalty token */
		{ "{\"type\":\"loyalty_scan\",\"loyalty_id\":\"4111111111111111\"}",
		  "invalid_loyalty_id", "loyalty_id" },
		{ "{\"type\":\"loyalty_scan\",\"loyalty_id\":\"4111 1111 1111 1111\"}",
		  "invalid_loyalty_id", "loyalty_id" },
		{ "{\"type\":\"loyalty_scan\",\"loyalty_id\":\";4111111111111112=3012?\"}",
		  "invalid_loyalty_id", "loyalty_id" },
		{ BUY_HEAD "\"txn_id\":\"T-1\",\"amount\":\"1\",\"currency\":\"EUR\","
		  "\"loyalty_id\":\"\\u0034111111111111111\"}", "invalid_loyalty_id", "loyalty_id" },
		/* what must still pass */
		{ BUY_HEAD "\"txn_id\":\"2026-11-22-000130\",\"amount\":\"1\",\"currency\":\"EUR\"}",
		  NULL, NULL },
		{ BUY_HEAD "\"txn_id\":\"4111111111111112\",\"amount\":\"1\",\"currency\":\"EUR\"}",
		  NULL, NULL },
		{ "{\"type\":\"loyalty_scan\",\"loyalty_id\":\"9826300000000000006\"}", NULL, NULL },
		{ "{\"type\":\"loyalty_scan\",\"loyalty_id\":\"4006381333924\"}", NULL, NULL },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		int rc = run(kr, v[i].line);

		if (!v[i].code) {
			if (rc != 0)
				fail_msg("row %zu refused: %s", i, res.error);
			continue;
		}
		if (rc != -EINVAL || strcmp(res.error, v[i].code) != 0)
			fail_msg("row %zu: %d %s, want %s", i, rc, rc ? res.error : "accepted",
				 v[i].code);
		if (strncmp(res.message, v[i].field, strlen(v[i].field)) != 0)
			fail_msg("row %zu: message \"%s\" does not name %s", i, res.message,
				 v[i].field);
		assert_no_card_digits();
	}
}

/* issue 10 item 10: the audit's accepted-although-invalid requests. */
static void test_invalid_accepted_before(void **state)
{
	(void)state;
	expect_error("{\"type\":\"purchase\\u0000x\",\"pan\":\"4111111111111111\",\"txn_id\":\"T\","
		     "\"amount\":\"1\",\"currency\":\"EUR\"}", "bad_json");
	expect_error("{\"type\":\"loyalty_scan\",\"loyalty_id\":\"X\","
		     "\"ts\":\"2026-11-22T23:14:35Z\\u0000junk\"}", "bad_json");
	expect_error("{\"type\":\"loyalty_scan\",\"loyalty_id\":\"X\",\"txn\":\"\\u0000\"}",
		     "bad_json");	/* in any string, even one not read */
	expect_error("{\"type\":\"purchase\",\"pan\":\"0000000000000000000\",\"txn_id\":\"T\","
		     "\"amount\":\"1\",\"currency\":\"EUR\"}", "invalid_pan");
	assert_string_equal(res.message, "card number must be 12-19 digits, not all zeros");
	expect_error("{\"type\":\"purchase\",\"track2\":\";0000000000000000=3012101?\","
		     "\"txn_id\":\"T\",\"amount\":\"1\",\"currency\":\"EUR\"}", "invalid_track");
}

/* issue 10 item 10: 2026-02-31 was stored as 2026-03-03. */
static void test_ts_calendar(void **state)
{
	static const struct { const char *ts, *want; } v[] = {
		{ "2026-02-31T10:00:00Z", NULL },		/* the audit's date */
		{ "2026-02-29T10:00:00Z", NULL },		/* 2026 is no leap year */
		{ "2100-02-29T10:00:00Z", NULL },		/* nor is 2100 */
		{ "2026-04-31T10:00:00Z", NULL },
		{ "2026-06-31T10:00:00Z", NULL },
		{ "2026-09-31T10:00:00Z", NULL },
		{ "2026-11-31T10:00:00Z", NULL },
		{ "2026-01-32T10:00:00Z", NULL },
		{ "2026-02-00T10:00:00Z", NULL },
		{ "2024-02-29T10:00:00Z", "2024-02-29T10:00:00.000Z" },	/* leap year */
		{ "2000-02-29T10:00:00Z", "2000-02-29T10:00:00.000Z" },	/* divisible by 400 */
		{ "2026-02-28T23:59:59Z", "2026-02-28T23:59:59.000Z" },
		{ "2026-12-31T23:59:59Z", "2026-12-31T23:59:59.000Z" },
		{ "2026-04-30T10:00:00+02:00", "2026-04-30T08:00:00.000Z" },
	};
	char line[256], want[64];

	(void)state;
	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		snprintf(line, sizeof(line),
			 "{\"type\":\"loyalty_scan\",\"loyalty_id\":\"X\",\"ts\":\"%s\"}", v[i].ts);
		if (!v[i].want) {
			expect_error(line, "invalid_field");
			assert_string_equal(res.message, "ts must be an RFC 3339 timestamp");
			continue;
		}
		assert_int_equal(run(kr, line), 0);
		snprintf(want, sizeof(want), "\"ts\":\"%s\"", v[i].want);
		if (!strstr(res.payload, want))
			fail_msg("%s: %s", v[i].ts, res.payload);
	}
}

/* issue 10 item 8: a ts further than [pos] max_ts_skew_s from the agent's clock. */
static void test_ts_skew(void **state)
{
	const uint64_t week = 7ull * 86400 * 1000000;
	static const struct { const char *ts; bool ok; } v[] = {
		{ "9999-12-31T23:59:59Z", false },	/* the audit's ts */
		{ "2026-11-30T23:14:36Z", false },	/* now + 8 days */
		{ "2026-11-14T23:14:35Z", false },	/* now - 8 days */
		{ "1970-01-01T00:00:00Z", false },
		{ "2026-11-28T23:14:35Z", true },	/* now + 6 days */
		{ "2026-11-16T23:14:35Z", true },	/* now - 6 days: a POS that was offline */
		{ "2026-11-29T23:14:35.123Z", true },	/* exactly now + 7 days */
		{ "2026-11-15T23:14:35.123Z", true },	/* exactly now - 7 days */
	};
	char line[256];

	(void)state;
	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		snprintf(line, sizeof(line),
			 "{\"type\":\"loyalty_scan\",\"loyalty_id\":\"X\",\"ts\":\"%s\"}", v[i].ts);
		if (run_skew(kr, line, week, true) != (v[i].ok ? 0 : -EINVAL))
			fail_msg("%s: %s", v[i].ts, v[i].ok ? res.error : "accepted");
		if (!v[i].ok) {
			assert_string_equal(res.error, "invalid_field");
			assert_string_equal(res.message,
					    "ts is further from the agent's clock than [pos] max_ts_skew_s");
		}
		/* the bound needs a synced clock; 0 means none */
		assert_int_equal(run_skew(kr, line, week, false), 0);
		assert_int_equal(run_skew(kr, line, 0, true), 0);
	}
	/* without a ts the agent's clock stamps the event: nothing to bound */
	assert_int_equal(run_skew(kr, "{\"type\":\"loyalty_scan\",\"loyalty_id\":\"X\"}", 1, true), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_purchase),
		cmocka_unit_test(test_track2_and_numbers),
		cmocka_unit_test(test_loyalty_scan),
		cmocka_unit_test(test_rotation),
		cmocka_unit_test(test_auth),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_no_echo),
		cmocka_unit_test(test_card_data_in_free_text),
		cmocka_unit_test(test_invalid_accepted_before),
		cmocka_unit_test(test_ts_calendar),
		cmocka_unit_test(test_ts_skew),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
