/* SPDX-License-Identifier: MIT */
/*
 * Scan → event (agent/scanners.c): track 1 / track 2 with a valid PAN
 * become card_scan events with the docs/tokens.md card token, loyalty
 * stripes and barcodes become loyalty_scan events with the loyalty token,
 * invalid scans make nothing, rotation adds ids_next, and no raw scan data
 * (no 8-character piece of it) appears in any payload. Then the pump end
 * to end: a lines: replay through the loop into a fake spool.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "config.h"
#include "loop.h"
#include "privacy.h"
#include "scanners.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define NOW_US 1795389275123000ull	/* 2026-11-22T23:14:35.123Z */
/* docs/tokens.md vectors: master key bytes 0..31, tenant acme */
#define TOK_PAN "\"card\":\"v1.y6TATuybYSH0sTS_R9JlWP8hxtmKu0tgA6X3zKUSlf4\""
#define TOK_LOYALTY "\"loyalty\":\"v1.Kq5TTXbNZ9zDvVkzp3o3LRE9bugs33Ad0sprjxiKPoQ\""

static struct sl_keyring *kr, *kr_rot;
static struct sl_scan_event ev;

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

/* No 8-byte window of the raw scan may appear in the payload. */
static void assert_no_raw(const char *scan, const char *payload)
{
	size_t n = strlen(scan);

	for (size_t i = 0; i + 8 <= n; i++) {
		char win[9];

		memcpy(win, scan + i, 8);
		win[8] = '\0';
		if (strstr(payload, win))
			fail_msg("raw scan data \"%s\" in %s", win, payload);
	}
}

static int run(struct sl_keyring *k, const char *scan)
{
	const struct sl_scan_ctx ctx = { .kr = k, .origin = { "acme", "0042", "gw-1" },
					 .zone = "entrance" };
	int rc;

	memset(&ev, 0xa5, sizeof(ev));
	rc = sl_scan_to_event(&ctx, scan, strlen(scan), NOW_US, true, &ev);
	if (rc == 0) {
		assert_int_equal(strlen(ev.payload), ev.len);
		assert_no_raw(scan, ev.payload);
		assert_non_null(strstr(ev.payload, "\"zone\":\"entrance\""));
		assert_non_null(strstr(ev.payload, "\"source\":\"scanner\""));
		assert_non_null(strstr(ev.payload, "\"ts\":\"2026-11-22T23:14:35.123Z\""));
	}
	return rc;
}

static void test_card(void **state)
{
	static const char *const cards[] = {
		/* ISO/IEC 7813 track 1 format B (DESIGN.md test card) */
		"%B4111111111111111^DOE/JOHN^30121010000000000000?",
		/* track 2, DESIGN.md */
		";4111111111111111=30121010000000000000?",
		/* without sentinels' end / both tracks on one line (reader setting) */
		";4111111111111111=3012101",
		"%B4111111111111111^DOE/JOHN^30121010000000000000?;4111111111111111=30121010000000000000?",
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cards) / sizeof(cards[0]); i++) {
		assert_int_equal(run(kr, cards[i]), 0);
		assert_int_equal(ev.kind, SL_SCAN_CARD);
		assert_int_equal(ev.cls, SL_CLASS_PURCHASE);
		assert_string_equal(ev.type, "card_scan");
		assert_int_equal(strlen(ev.id), 36);
		assert_non_null(strstr(ev.payload, "\"type\":\"card_scan\""));
		assert_non_null(strstr(ev.payload, TOK_PAN));
		assert_non_null(strstr(ev.payload, "\"card\":{\"brand\":\"visa\"}"));
		assert_null(strstr(ev.payload, "loyalty"));
		assert_null(strstr(ev.payload, "ids_next"));
	}
}

static void test_loyalty(void **state)
{
	static const char *const scans[] = {
		"lc-0042-77",		/* docs/tokens.md loyalty vector, as a barcode */
		"LC 0042 77",		/* docs/pos-protocol.md: the same customer */
		";LC-0042-77?",		/* loyalty stripe, track 2 style */
		"%LC004277?",		/* loyalty stripe, track 1 without format B */
		"%BLC004277^MEMBER/A^?",	/* track 1 format B, PAN field not a card */
	};

	(void)state;
	for (size_t i = 0; i < sizeof(scans) / sizeof(scans[0]); i++) {
		assert_int_equal(run(kr, scans[i]), 0);
		assert_int_equal(ev.cls, SL_CLASS_LOYALTY);
		assert_string_equal(ev.type, "loyalty_scan");
		assert_int_equal(ev.kind, i < 2 ? SL_SCAN_BARCODE : SL_SCAN_TRACK_LOYALTY);
		assert_non_null(strstr(ev.payload, "\"type\":\"loyalty_scan\""));
		if (!strstr(ev.payload, TOK_LOYALTY))
			fail_msg("%s: %s", scans[i], ev.payload);
		assert_null(strstr(ev.payload, "\"card\""));
	}
	/* barcodes: EAN-13 (Wikipedia "International Article Number"), one that
	 * also passes Luhn (a product code all the same), a Luhn-valid loyalty
	 * number outside the card schemes' IINs, stripes with short numbers */
	static const char *const numbers[] = {
		"4006381333931", "4006381333924", "9826300000000000006", "2026 1122 0001 30",
	};

	for (size_t i = 0; i < sizeof(numbers) / sizeof(numbers[0]); i++) {
		if (run(kr, numbers[i]) != 0)
			fail_msg("%s refused", numbers[i]);
		assert_int_equal(ev.kind, SL_SCAN_BARCODE);
	}
	assert_int_equal(run(kr, ";12345678?"), 0);
	assert_int_equal(ev.kind, SL_SCAN_TRACK_LOYALTY);
	assert_int_equal(run(kr, ";98263000000000000060?"), 0);	/* 20 digits: no PAN */
	assert_int_equal(ev.kind, SL_SCAN_TRACK_LOYALTY);
}

/*
 * issue 10 item 5. A track whose number field is a card number's digits but
 * that does not parse (Luhn failure, a damaged or partial read) was
 * tokenized with the loyalty key and published as a loyalty_scan; a card
 * number or track data read as a barcode became a loyalty token of the
 * card number. Both are dropped now (-EBADMSG, -EPERM), counted by the pump.
 */
static void test_card_data_dropped(void **state)
{
	static const char *const bad_swipes[] = {
		";4111111111111112=3012?",			/* fails Luhn (was a loyalty_scan) */
		";4111111111111111=30?",			/* valid PAN, tail cut short */
		";4111111111111111=3012101X?",			/* valid PAN, tail not digits */
		"%B4111111111111112^DOE/JOHN^30121010000000000000?",	/* track 1, fails Luhn */
		"%B4111 1111 1111 1111^DOE/JOHN^30?",		/* track 1, short tail */
		";0000000000000000=30121010000000000000?",	/* all zeros */
		";4111111111111111?",				/* no separator at all */
	};
	static const char *const card_data[] = {
		"4111111111111111",				/* a PAN as a barcode */
		"4111 1111 1111 1111",
		"4111-1111-1111-1111",
		"4111111111111111=30121010000000000000",	/* track 2 without sentinels */
		"4111111111111112=3012101",			/* the same, fails Luhn */
		"B4111111111111111^DOE/JOHN^3012101",		/* track 1 without sentinels */
		"378282246310005",				/* Amex, Stripe */
		"%BLC4111111111111111^MEMBER/A^?",		/* a stripe field holding a PAN */
	};

	(void)state;
	for (size_t i = 0; i < sizeof(bad_swipes) / sizeof(bad_swipes[0]); i++)
		if (run(kr, bad_swipes[i]) != -EBADMSG)
			fail_msg("bad swipe #%zu not dropped", i);
	for (size_t i = 0; i < sizeof(card_data) / sizeof(card_data[0]); i++)
		if (run(kr, card_data[i]) != -EPERM)
			fail_msg("card data #%zu not dropped", i);
}

static void test_invalid(void **state)
{
	static const char *const bad[] = {
		"   ",			/* empty after canonicalisation */
		"- -",
		"ab\001cd",		/* control character */
		"caf\xc3\xa9",		/* not ASCII */
		";=3012?",		/* empty PAN field */
		"%B^DOE/JOHN^3012?",
		"%?",
		/* 65 characters: longer than a loyalty id may be */
		"12345678901234567890123456789012345678901234567890123456789012345",
	};
	const struct sl_scan_ctx ctx = { .kr = kr, .origin = { "acme", "0042", "gw-1" },
					 .zone = "store" };

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (run(kr, bad[i]) != -EINVAL)
			fail_msg("accepted bad scan #%zu", i);
	assert_int_equal(sl_scan_to_event(&ctx, "x", 0, NOW_US, true, &ev), -EINVAL);
	assert_int_equal(sl_scan_to_event(&ctx, "x", 256, NOW_US, true, &ev), -EINVAL);
}

static void test_rotation(void **state)
{
	(void)state;
	assert_int_equal(run(kr_rot, ";4111111111111111=30121010000000000000?"), 0);
	assert_non_null(strstr(ev.payload, "\"ids\":{" TOK_PAN "}"));
	assert_non_null(strstr(ev.payload, "\"ids_next\":{\"card\":\"v2."));
	assert_int_equal(run(kr_rot, "lc-0042-77"), 0);
	assert_non_null(strstr(ev.payload, "\"ids\":{" TOK_LOYALTY "}"));
	assert_non_null(strstr(ev.payload, "\"ids_next\":{\"loyalty\":\"v2."));
}

/* ---- the pump, end to end ------------------------------------------------ */

struct sink {
	unsigned n, cards, loyalty;
	char all[8192];
};

static int64_t fake_submit(void *ctx, enum sl_event_class cls, const char *id, const char *type,
			   const char *payload, size_t len)
{
	struct sink *s = ctx;

	assert_int_equal(strlen(id), 36);
	assert_int_equal(strlen(payload), len);
	if (cls == SL_CLASS_PURCHASE) {
		assert_string_equal(type, "card_scan");
		s->cards++;
	} else {
		assert_int_equal(cls, SL_CLASS_LOYALTY);
		s->loyalty++;
	}
	strncat(s->all, payload, sizeof(s->all) - strlen(s->all) - 1);
	return ++s->n;
}

static void test_pump_replay(void **state)
{
	static const char text[] =
		"lc-0042-77\n"
		"%B4111111111111111^DOE/JOHN^30121010000000000000?\n"
		"\x01\x02\n"
		";4111111111111111=30121010000000000000?\r\n"
		";4111111111111112=30121010000000000000?\n"	/* bad swipe */
		"4111-1111-1111-1111\n";			/* a PAN as a barcode */
	char path[] = "/tmp/test_scanner_pumpXXXXXX", conf[512], err[512], status[1024];
	struct sl_config *cfg;
	struct sl_scanners *sc;
	struct sl_loop *loop;
	struct sink sink = { 0 };
	struct sl_jw w;
	int fd, i;

	(void)state;
	fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
	snprintf(conf, sizeof(conf),
		 "[agent]\ntenant = acme\nstore_id = 0042\ngateway_id = gw-1\nzone = lane-9\n"
		 "[keys]\nmaster_key_file = /nonexistent\n"
		 "[mqtt]\nhost = localhost\ntls = off\n"
		 "[scanner]\nsource = lines:%s\n", path);
	assert_int_equal(sl_config_load_string(&cfg, "test.conf", conf, err, sizeof(err)), 0);
	assert_int_equal(sl_loop_new(&loop), 0);
	assert_int_equal(sl_scanners_open(&sc, loop, cfg, kr, fake_submit, &sink, err,
					  sizeof(err)), 0);
	assert_non_null(sc);
	for (i = 0; i < 100; i++) {
		sl_jw_init(&w, status, sizeof(status));
		sl_scanners_status(sc, &w);
		assert_true(sl_jw_finish(&w) >= 0);
		if (strstr(status, "\"state\":\"finished\""))
			break;
		assert_true(sl_loop_run_once(loop, 1000) >= 0);
	}
	assert_non_null(strstr(status, "\"scans\":6"));
	assert_non_null(strstr(status, "\"card_scans\":2"));
	assert_non_null(strstr(status, "\"loyalty_scans\":1"));
	assert_non_null(strstr(status, "\"invalid\":1"));
	assert_non_null(strstr(status, "\"bad_swipes\":1"));
	assert_non_null(strstr(status, "\"card_data_dropped\":1"));
	assert_int_equal(sink.cards, 2);
	assert_int_equal(sink.loyalty, 1);
	assert_non_null(strstr(sink.all, TOK_PAN));
	assert_non_null(strstr(sink.all, TOK_LOYALTY));
	assert_non_null(strstr(sink.all, "\"zone\":\"lane-9\""));
	assert_null(strstr(sink.all, "411111"));
	assert_null(strstr(sink.all, "DOE"));
	assert_null(strstr(sink.all, "004277"));
	sl_scanners_close(sc);
	sl_scanners_close(NULL);
	sl_loop_free(loop);
	sl_config_free(cfg);
	unlink(path);
}

static void test_pump_errors(void **state)
{
	char err[512] = "";
	struct sl_config *cfg;
	struct sl_scanners *sc = (struct sl_scanners *)1;
	struct sl_loop *loop;
	struct sink sink = { 0 };
	static const char base[] =
		"[agent]\ntenant = acme\nstore_id = 0042\ngateway_id = gw-1\n"
		"[keys]\nmaster_key_file = /nonexistent\n[mqtt]\nhost = localhost\ntls = off\n";
	char conf[512];

	(void)state;
	assert_int_equal(sl_loop_new(&loop), 0);
	/* off */
	assert_int_equal(sl_config_load_string(&cfg, "t", base, err, sizeof(err)), 0);
	assert_int_equal(sl_scanners_open(&sc, loop, cfg, kr, fake_submit, &sink, err,
					  sizeof(err)), 0);
	assert_null(sc);
	sl_config_free(cfg);
	/* a missing replay file fails the start, naming the source only */
	snprintf(conf, sizeof(conf), "%s[scanner]\nsource = lines:/nonexistent/scans\n", base);
	assert_int_equal(sl_config_load_string(&cfg, "t", conf, err, sizeof(err)), 0);
	assert_int_equal(sl_scanners_open(&sc, loop, cfg, kr, fake_submit, &sink, err,
					  sizeof(err)), -ENOENT);
	assert_non_null(strstr(err, "[scanner] source = lines:/nonexistent/scans"));
	sl_config_free(cfg);
	/* a missing live device is waited for: the agent starts */
	snprintf(conf, sizeof(conf), "%s[scanner]\nsource = evdev:/nonexistent/event-kbd\n", base);
	assert_int_equal(sl_config_load_string(&cfg, "t", conf, err, sizeof(err)), 0);
	assert_int_equal(sl_scanners_open(&sc, loop, cfg, kr, fake_submit, &sink, err,
					  sizeof(err)), 0);
	assert_non_null(sc);
	sl_scanners_close(sc);
	sl_config_free(cfg);
	sl_loop_free(loop);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_card),
		cmocka_unit_test(test_loyalty),
		cmocka_unit_test(test_invalid),
		cmocka_unit_test(test_card_data_dropped),
		cmocka_unit_test(test_rotation),
		cmocka_unit_test(test_pump_replay),
		cmocka_unit_test(test_pump_errors),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
