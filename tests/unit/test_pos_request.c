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

static int run(struct sl_keyring *k, const char *line)
{
	struct sl_pos_ctx ctx = { .kr = k, .origin = { "acme", "0042", "gw-1" }, .zone = "store" };
	static char buf[1024];	/* outlives run(): an auth token points into it */
	size_t n = strlen(line);
	int rc;

	assert_true(n < sizeof(buf));
	memcpy(buf, line, n + 1);
	rc = sl_pos_request(&ctx, buf, n, NOW_US, true, &res);
	return rc;
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
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
