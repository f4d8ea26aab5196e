/* SPDX-License-Identifier: MIT */
/*
 * The flat JSON reader: valid objects, escapes (RFC 8259 §7), and inputs
 * that must be rejected, from the JSONTestSuite naming (n_*) where a case
 * comes from there (github.com/nst/JSONTestSuite, test_parsing/).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "json.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

static int parse(const char *text, struct sl_json_obj *o, char *buf, size_t cap)
{
	size_t n = strlen(text);

	assert_true(n < cap);
	memcpy(buf, text, n + 1);
	return sl_json_parse(buf, n, o);
}

static void test_valid(void **state)
{
	struct sl_json_obj o;
	char buf[512];
	const struct sl_json_field *f;

	(void)state;
	assert_int_equal(parse(" {\"type\" : \"purchase\", \"amount\":12.34,\"n\":-0.5e3,"
			       "\"t\":true,\"f\":false,\"z\":null} ", &o, buf, sizeof(buf)), 0);
	assert_int_equal(o.n, 6);
	f = sl_json_get(&o, "type");
	assert_non_null(f);
	assert_int_equal(f->type, SL_JSON_STRING);
	assert_string_equal(f->val, "purchase");
	f = sl_json_get(&o, "amount");
	assert_int_equal(f->type, SL_JSON_NUMBER);
	assert_string_equal(f->val, "12.34");
	assert_string_equal(sl_json_get(&o, "n")->val, "-0.5e3");
	assert_int_equal(sl_json_get(&o, "t")->type, SL_JSON_TRUE);
	assert_int_equal(sl_json_get(&o, "f")->type, SL_JSON_FALSE);
	assert_int_equal(sl_json_get(&o, "z")->type, SL_JSON_NULL);
	assert_null(sl_json_get(&o, "missing"));
	assert_int_equal(parse("{}", &o, buf, sizeof(buf)), 0);
	assert_int_equal(o.n, 0);
}

static void test_escapes(void **state)
{
	struct sl_json_obj o;
	char buf[256];
	const struct sl_json_field *f;

	(void)state;
	/* RFC 8259 §7: two-character escapes, \u escapes, a surrogate pair */
	assert_int_equal(parse("{\"s\":\"a\\\"b\\\\c\\/d\\n\\t\\u00e9\\u20ac\\ud83d\\ude00\"}",
			       &o, buf, sizeof(buf)), 0);
	f = sl_json_get(&o, "s");
	assert_string_equal(f->val, "a\"b\\c/d\n\t\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80");
	assert_int_equal(f->len, strlen(f->val));
	/* a \u escape of a non-NUL control character is kept */
	assert_int_equal(parse("{\"s\":\"a\\u0001b\"}", &o, buf, sizeof(buf)), 0);
	assert_int_equal(sl_json_get(&o, "s")->len, 3);
}

/*
 * issue 10 item 10: "purchase\u0000x" was read as "purchase" by strcmp()
 * and a ts with \u0000junk after a valid time passed the RFC 3339 parser.
 * \u0000 is refused in every string (keys already were), so every value
 * handed out is a C string of length len.
 */
static void test_nul_refused(void **state)
{
	static const char *const bad[] = {
		"{\"type\":\"purchase\\u0000x\"}",			/* the audit's line */
		"{\"ts\":\"2026-11-22T23:14:35Z\\u0000junk\"}",	/* the audit's ts */
		"{\"s\":\"\\u0000\"}",
		"{\"s\":\"a\\u0000\"}",
		"{\"a\":1,\"s\":\"x\\u0000\\u0000\"}",
		"{\"k\\u0000\":1}",					/* NUL in a key */
	};
	char buf[256];

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct sl_json_obj o;

		if (parse(bad[i], &o, buf, sizeof(buf)) != -EINVAL)
			fail_msg("accepted: %s", bad[i]);
		assert_string_equal(o.error, "\\u0000 (NUL) in a string");
	}
}

static void test_invalid(void **state)
{
	static const char *const bad[] = {
		"",				/* n_structure_no_data */
		"[]",				/* not an object */
		"{",				/* n_structure_unclosed_object */
		"{\"a\":1",
		"{\"a\" 1}",			/* n_object_missing_colon */
		"{\"a\":}",			/* n_object_missing_value */
		"{a:1}",			/* n_object_unquoted_key */
		"{\"a\":1,}",			/* n_object_trailing_comma */
		"{\"a\":1}x",			/* n_structure_trailing_garbage */
		"{\"a\":01}",			/* n_number_with_leading_zero */
		"{\"a\":1.}",			/* n_number_real_without_fractional_part */
		"{\"a\":.5}",			/* n_number_starting_with_dot */
		"{\"a\":-}",			/* n_number_minus_sign_only */
		"{\"a\":1e}",			/* n_number_exponent_without_digits */
		"{\"a\":tru}",			/* n_incomplete_true */
		"{\"a\":\"x}",			/* n_string_unterminated */
		"{\"a\":\"\\x\"}",		/* n_string_escape_x */
		"{\"a\":\"\\u12\"}",		/* n_string_incomplete_escaped_character */
		"{\"a\":\"\\ud800\"}",		/* n_string_incomplete_surrogate (lone high) */
		"{\"a\":\"\\udc00\"}",		/* lone low surrogate */
		"{\"a\":\"\t\"}",		/* n_string_unescaped_tab */
		"{\"a\":{\"b\":1}}",		/* nested: not accepted here */
		"{\"a\":[1]}",
		"{\"a\":1,\"a\":2}",		/* duplicate key */
	};
	char buf[256];

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct sl_json_obj o;

		if (parse(bad[i], &o, buf, sizeof(buf)) != -EINVAL)
			fail_msg("accepted: %s", bad[i]);
		assert_non_null(o.error);
	}
}

static void test_too_many_fields(void **state)
{
	char text[1024] = "{", buf[1024];
	struct sl_json_obj o;

	(void)state;
	for (int i = 0; i <= SL_JSON_MAX_FIELDS; i++)
		snprintf(text + strlen(text), sizeof(text) - strlen(text), "%s\"k%d\":%d",
			 i ? "," : "", i, i);
	strcat(text, "}");
	assert_int_equal(parse(text, &o, buf, sizeof(buf)), -EINVAL);
	assert_string_equal(o.error, "too many fields");
}

/* The parser must not read past len: no NUL terminator given. */
static void test_bounds(void **state)
{
	char buf[8] = { '{', '"', 'a', '"', ':', '"', 'b', 'x' };
	struct sl_json_obj o;

	(void)state;
	assert_int_equal(sl_json_parse(buf, sizeof(buf), &o), -EINVAL);
	memcpy(buf, "{\"a\":12", 7);
	assert_int_equal(sl_json_parse(buf, 7, &o), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_valid),
		cmocka_unit_test(test_escapes),
		cmocka_unit_test(test_nul_refused),
		cmocka_unit_test(test_invalid),
		cmocka_unit_test(test_too_many_fields),
		cmocka_unit_test(test_bounds),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
