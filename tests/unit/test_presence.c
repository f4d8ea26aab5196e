/* SPDX-License-Identifier: MIT */
/*
 * Unit tests for agent/presence.c (the presence engine) and
 * agent/presence_adapt.c (HAL sightings to engine sightings): synthetic
 * sighting sequences for enter, exit, dwell, hysteresis, absence timeouts
 * and minimum sightings; subjects (devices, beacons, app; randomized
 * addresses only counted); least-recently-seen eviction and the memory
 * budget under 200,000 distinct addresses; the UTC day change (new device
 * hash, old day key zeroized); footfall counting, occupancy and k-anonymity.
 * The engine's clock is the sightings' timestamps: no sleeps anywhere.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "presence.h"
#include "privacy.h"
#include "util.h"

#include <hal/ble.h>
#include <hal/wifi.h>

#define S 1000000ull
#define MS 1000ull
/* 2022-10-19T13:00:00Z, a multiple of 300 s */
#define T0 (1666184400ull * S)
/* 2022-10-20T00:00:00Z */
#define MIDNIGHT (1666224000ull * S)

struct rec {
	bool footfall;
	bool exit;
	enum sl_presence_medium medium;
	enum sl_presence_subject_kind kind;
	char subject[SL_PRESENCE_ID_MAX + 1];
	enum sl_presence_reason reason;
	uint64_t enter_us, exit_us;
	int rssi_max;
	uint32_t sightings;
	uint64_t start_us, end_us, observed_us;
	int64_t devices_static, devices_random;
	double occupancy;
	bool suppressed;
	char json[SL_EVENT_MAX];
};

#define MAX_REC 64

struct sink {
	struct rec r[MAX_REC];
	size_t n;		/* kept (the first MAX_REC) */
	size_t total;
	size_t presence, footfall;
};

static int capture(void *ctx, const struct sl_presence_event *ev)
{
	struct sink *k = ctx;
	struct rec *r;

	assert_non_null(ev->json);
	assert_int_equal(strlen(ev->json), ev->len);
	assert_string_equal(ev->type, ev->cls == SL_CLASS_PRESENCE ? "presence" : "footfall");
	k->total++;
	if (ev->cls == SL_CLASS_PRESENCE)
		k->presence++;
	else
		k->footfall++;
	if (k->n >= MAX_REC)
		return 0;
	r = &k->r[k->n++];
	memset(r, 0, sizeof(*r));
	r->footfall = ev->cls == SL_CLASS_FOOTFALL;
	r->medium = ev->medium;
	r->exit = ev->exit;
	r->kind = ev->kind;
	if (ev->subject)
		snprintf(r->subject, sizeof(r->subject), "%s", ev->subject);
	r->reason = ev->reason;
	r->enter_us = ev->enter_us;
	r->exit_us = ev->exit_us;
	r->rssi_max = ev->rssi_max;
	r->sightings = ev->sightings;
	r->start_us = ev->start_us;
	r->end_us = ev->end_us;
	r->observed_us = ev->observed_us;
	r->devices_static = ev->devices_static;
	r->devices_random = ev->devices_random;
	r->occupancy = ev->occupancy;
	r->suppressed = ev->suppressed;
	memcpy(r->json, ev->json, ev->len + 1);
	return 0;
}

static struct sl_keyring *keyring(void)
{
	uint8_t k[SL_KEY_LEN];
	struct sl_keyring *kr = NULL;

	for (int i = 0; i < SL_KEY_LEN; i++) /* docs/tokens.md test master key */
		k[i] = (uint8_t)i;
	assert_int_equal(sl_keyring_new(&kr, "acme", k, "v1", NULL, NULL), 0);
	return kr;
}

/* Simple settings: no smoothing, 1 s bursts, k = 1 unless a test changes it. */
static void test_cfg(struct sl_presence_cfg *c)
{
	sl_presence_cfg_defaults(c);
	c->enter_rssi = -75;
	c->exit_rssi = -85;
	c->absence_s = 60;
	c->min_sightings = 2;
	c->capacity = 64;
	c->footfall_interval_s = 300;
	c->footfall_min_count = 1;
	c->footfall_rssi = -90;
	c->smoothing = SL_PRESENCE_SMOOTH_EMA;
	c->smooth_n = 1;
	c->burst_ms = 1000;
	c->random_weight[SL_PRESENCE_WIFI] = 0;
	c->random_weight[SL_PRESENCE_BLE] = 0;
	c->origin.tenant = "acme";
	c->origin.store = "0042";
	c->origin.gateway = "gw-1";
	c->zone = "entrance";
}

struct fx {
	struct sl_keyring *kr;
	struct sl_presence *p;
	struct sink sink;
	struct sl_presence_cfg cfg;
};

static void fx_open(struct fx *f)
{
	assert_int_equal(sl_presence_new(&f->p, &f->cfg, f->kr, capture, &f->sink), 0);
}

static struct fx *fx_new(void (*tweak)(struct sl_presence_cfg *))
{
	struct fx *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	f->kr = keyring();
	test_cfg(&f->cfg);
	if (tweak)
		tweak(&f->cfg);
	fx_open(f);
	return f;
}

static void fx_free(struct fx *f)
{
	sl_presence_free(f->p);
	sl_keyring_free(f->kr);
	free(f);
}

static void mkaddr(uint8_t a[6], uint32_t n)
{
	a[0] = 0x00; /* globally administered */
	a[1] = 0x1b;
	a[2] = (uint8_t)(n >> 24);
	a[3] = (uint8_t)(n >> 16);
	a[4] = (uint8_t)(n >> 8);
	a[5] = (uint8_t)n;
}

static int see_kind(struct fx *f, uint64_t ts, uint32_t dev, enum sl_presence_addr_kind kind, int rssi)
{
	struct sl_presence_sighting s;

	memset(&s, 0, sizeof(s));
	s.ts_us = ts;
	s.medium = SL_PRESENCE_WIFI;
	s.addr_kind = kind;
	mkaddr(s.addr, dev);
	if (kind == SL_PRESENCE_ADDR_RANDOM)
		s.addr[0] = 0x02; /* locally administered */
	s.rssi = (int8_t)rssi;
	return sl_presence_sighting(f->p, &s);
}

static int see(struct fx *f, uint64_t ts, uint32_t dev, int rssi)
{
	return see_kind(f, ts, dev, SL_PRESENCE_ADDR_PUBLIC, rssi);
}

static void expected_hash(uint32_t dev, const char *day, char out[SL_TOKEN_MAX])
{
	struct sl_keyring *kr = keyring();
	uint8_t a[6];

	mkaddr(a, dev);
	assert_int_equal(sl_device_hash(kr, day, a, sizeof(a), out), 0);
	sl_keyring_free(kr);
}

static const struct rec *only_presence(const struct sink *k, size_t i)
{
	for (size_t j = 0, seen = 0; j < k->n; j++) {
		if (k->r[j].footfall)
			continue;
		if (seen++ == i)
			return &k->r[j];
	}
	fail_msg("no presence event %zu", i);
	return NULL;
}

static const struct rec *only_footfall(const struct sink *k, size_t i)
{
	for (size_t j = 0, seen = 0; j < k->n; j++) {
		if (!k->r[j].footfall)
			continue;
		if (seen++ == i)
			return &k->r[j];
	}
	fail_msg("no footfall event %zu", i);
	return NULL;
}

/* ---- enter, min sightings, bursts --------------------------------------- */

static void min3(struct sl_presence_cfg *c)
{
	c->min_sightings = 3;
}

static void test_enter_after_min_sightings(void **state)
{
	struct fx *f = fx_new(min3);
	char hash[SL_TOKEN_MAX];
	const struct rec *r;

	(void)state;
	assert_int_equal(see(f, T0 + 10 * S, 7, -60), 0);
	assert_int_equal(see(f, T0 + 10 * S + 100 * MS, 7, -50), 0); /* same burst: not counted */
	assert_int_equal(see(f, T0 + 11 * S + 200 * MS, 7, -62), 0); /* 2nd */
	assert_int_equal(f->sink.presence, 0);
	assert_int_equal(see(f, T0 + 12 * S + 300 * MS, 7, -61), 0); /* 3rd: enter */
	assert_int_equal(f->sink.presence, 1);

	r = only_presence(&f->sink, 0);
	expected_hash(7, "2022-10-19", hash);
	assert_false(r->exit);
	assert_int_equal(r->kind, SL_PRESENCE_SUBJECT_DEVICE);
	assert_int_equal(r->medium, SL_PRESENCE_WIFI);
	assert_string_equal(r->subject, hash);
	assert_int_equal(r->enter_us, T0 + 10 * S);
	assert_int_equal(r->rssi_max, -50);
	assert_int_equal(r->sightings, 4);
	assert_non_null(strstr(r->json, "\"type\":\"presence\""));
	assert_non_null(strstr(r->json, "\"medium\":\"wifi\""));
	assert_non_null(strstr(r->json, "\"phase\":\"enter\""));
	assert_non_null(strstr(r->json, "\"enter\":\"2022-10-19T13:00:10.000Z\""));
	assert_non_null(strstr(r->json, "\"exit\":null"));
	assert_non_null(strstr(r->json, "\"zone\":\"entrance\""));
	{
		char want[128];

		snprintf(want, sizeof(want), "\"subject\":{\"kind\":\"device\",\"id\":\"%s\"}", hash);
		assert_non_null(strstr(r->json, want));
	}
	fx_free(f);
}

static void burst0(struct sl_presence_cfg *c)
{
	c->burst_ms = 0;
}

static void test_burst_zero_counts_every_frame(void **state)
{
	struct fx *f = fx_new(burst0);

	(void)state;
	assert_int_equal(see(f, T0, 1, -60), 0);
	assert_int_equal(see(f, T0 + 10 * MS, 1, -60), 0);
	assert_int_equal(f->sink.presence, 1);
	fx_free(f);
}

static void test_min_sightings_run_resets_on_weak(void **state)
{
	struct fx *f = fx_new(NULL);

	(void)state;
	assert_int_equal(see(f, T0, 1, -60), 0);	  /* strong: 1 */
	assert_int_equal(see(f, T0 + 2 * S, 1, -80), 0); /* below enter: run restarts */
	assert_int_equal(see(f, T0 + 4 * S, 1, -60), 0); /* strong: 1 again */
	assert_int_equal(f->sink.presence, 0);
	assert_int_equal(see(f, T0 + 6 * S, 1, -60), 0); /* 2: enter */
	assert_int_equal(f->sink.presence, 1);
	assert_int_equal(only_presence(&f->sink, 0)->enter_us, T0 + 4 * S);
	assert_int_equal(only_presence(&f->sink, 0)->sightings, 2);
	fx_free(f);
}

/* ---- exit, dwell, timeouts -------------------------------------------------- */

static void test_exit_on_absence_with_dwell(void **state)
{
	struct fx *f = fx_new(NULL);
	const struct rec *r;

	(void)state;
	for (int i = 0; i <= 10; i++)
		assert_int_equal(see(f, T0 + (uint64_t)i * 5 * S, 3, -60 - i), 0);
	assert_int_equal(f->sink.presence, 1);
	/* last sighting at +50 s: absence 60 s ends after +110 s */
	assert_int_equal(sl_presence_next_deadline(f->p), T0 + 110 * S + 1);
	assert_int_equal(sl_presence_advance(f->p, T0 + 110 * S), 0);
	assert_int_equal(f->sink.presence, 1);
	assert_int_equal(sl_presence_advance(f->p, T0 + 110 * S + 1), 0);
	assert_int_equal(f->sink.presence, 2);

	r = only_presence(&f->sink, 1);
	assert_true(r->exit);
	assert_int_equal(r->reason, SL_PRESENCE_REASON_ABSENCE);
	assert_int_equal(r->enter_us, T0);
	assert_int_equal(r->exit_us, T0 + 50 * S);
	assert_int_equal(r->sightings, 11);
	assert_int_equal(r->rssi_max, -60);
	assert_string_equal(r->subject, only_presence(&f->sink, 0)->subject);
	assert_non_null(strstr(r->json, "\"phase\":\"exit\""));
	assert_non_null(strstr(r->json, "\"dwell_s\":50"));
	assert_non_null(strstr(r->json, "\"exit\":\"2022-10-19T13:00:50.000Z\""));
	assert_non_null(strstr(r->json, "\"reason\":\"absence\""));
	assert_non_null(strstr(r->json, "\"sightings\":11"));

	/* the subject left the table: seen again, it needs min_sightings again */
	{
		struct sl_presence_stats st;

		sl_presence_get_stats(f->p, &st);
		assert_int_equal(st.subjects, 0);
		assert_int_equal(st.present, 0);
	}
	assert_int_equal(see(f, T0 + 200 * S, 3, -60), 0);
	assert_int_equal(f->sink.presence, 2);
	fx_free(f);
}

static void test_timeout_driven_by_other_sightings(void **state)
{
	struct fx *f = fx_new(NULL);

	(void)state;
	assert_int_equal(see(f, T0, 1, -60), 0);
	assert_int_equal(see(f, T0 + 2 * S, 1, -60), 0);
	/* device 2 keeps the clock moving; device 1 times out in between */
	for (uint64_t t = 10; t <= 100; t += 10)
		assert_int_equal(see(f, T0 + t * S, 2, -60), 0);
	assert_int_equal(f->sink.presence, 3);
	assert_false(only_presence(&f->sink, 0)->exit);
	assert_false(only_presence(&f->sink, 1)->exit); /* device 2 enters at +20 s */
	assert_true(only_presence(&f->sink, 2)->exit);  /* device 1 leaves at +62 s */
	assert_int_equal(only_presence(&f->sink, 2)->exit_us, T0 + 2 * S);
	assert_string_equal(only_presence(&f->sink, 2)->subject, only_presence(&f->sink, 0)->subject);
	fx_free(f);
}

static void test_hysteresis(void **state)
{
	struct fx *f = fx_new(NULL);
	const struct rec *r;

	(void)state;
	/* a candidate between exit and enter never enters */
	for (uint64_t t = 0; t < 10; t++)
		assert_int_equal(see(f, T0 + t * 2 * S, 9, -80), 0);
	assert_int_equal(f->sink.presence, 0);

	assert_int_equal(see(f, T0 + 30 * S, 1, -70), 0);
	assert_int_equal(see(f, T0 + 32 * S, 1, -70), 0);
	assert_int_equal(f->sink.presence, 1);
	/* between exit (-85) and enter (-75): stays */
	assert_int_equal(see(f, T0 + 34 * S, 1, -80), 0);
	assert_int_equal(see(f, T0 + 36 * S, 1, -85), 0);
	assert_int_equal(f->sink.presence, 1);
	/* below exit: leaves, exit time = last sighting while present */
	assert_int_equal(see(f, T0 + 38 * S, 1, -86), 0);
	assert_int_equal(f->sink.presence, 2);
	r = only_presence(&f->sink, 1);
	assert_int_equal(r->reason, SL_PRESENCE_REASON_RSSI);
	assert_int_equal(r->exit_us, T0 + 36 * S);
	assert_int_equal(r->sightings, 4);
	assert_non_null(strstr(r->json, "\"dwell_s\":6"));
	/* and comes back through the enter threshold again */
	assert_int_equal(see(f, T0 + 40 * S, 1, -80), 0);
	assert_int_equal(f->sink.presence, 2);
	assert_int_equal(see(f, T0 + 42 * S, 1, -74), 0);
	assert_int_equal(see(f, T0 + 44 * S, 1, -74), 0);
	assert_int_equal(f->sink.presence, 3);
	assert_int_equal(only_presence(&f->sink, 2)->enter_us, T0 + 42 * S);
	fx_free(f);
}

static void ema3(struct sl_presence_cfg *c)
{
	c->smooth_n = 3; /* alpha 1/2 */
}

static void test_smoothing_rides_out_one_weak_sighting(void **state)
{
	struct fx *f = fx_new(ema3);

	(void)state;
	assert_int_equal(see(f, T0, 1, -70), 0);
	assert_int_equal(see(f, T0 + 2 * S, 1, -70), 0);
	assert_int_equal(f->sink.presence, 1);
	/* raw -95 alone would exit; the EMA is (-70 - 95) / 2 = -82.5 */
	assert_int_equal(see(f, T0 + 4 * S, 1, -95), 0);
	assert_int_equal(f->sink.presence, 1);
	/* a second weak one brings it to -88.75: exit */
	assert_int_equal(see(f, T0 + 6 * S, 1, -95), 0);
	assert_int_equal(f->sink.presence, 2);
	fx_free(f);
}

static void median3(struct sl_presence_cfg *c)
{
	c->smoothing = SL_PRESENCE_SMOOTH_MEDIAN;
	c->smooth_n = 3;
}

static void test_median_ignores_an_outlier(void **state)
{
	struct fx *f = fx_new(median3);

	(void)state;
	assert_int_equal(see(f, T0, 1, -70), 0);
	assert_int_equal(see(f, T0 + 2 * S, 1, -70), 0);
	assert_int_equal(see(f, T0 + 4 * S, 1, -120), 0); /* median -70 */
	assert_int_equal(see(f, T0 + 6 * S, 1, -70), 0);
	assert_int_equal(f->sink.presence, 1);
	assert_int_equal(see(f, T0 + 8 * S, 1, -120), 0); /* -120,-70,-120: -120 */
	assert_int_equal(f->sink.presence, 2);
	fx_free(f);
}

static void test_no_rssi_keeps_alive_only(void **state)
{
	struct fx *f = fx_new(NULL);
	struct sl_presence_stats st;

	(void)state;
	assert_int_equal(see(f, T0, 1, SL_PRESENCE_RSSI_NONE), 0);
	sl_presence_get_stats(f->p, &st);
	assert_int_equal(st.subjects, 0);
	assert_int_equal(see(f, T0 + 1 * S, 1, -60), 0);
	assert_int_equal(see(f, T0 + 3 * S, 1, -60), 0);
	assert_int_equal(f->sink.presence, 1);
	for (uint64_t t = 50; t <= 300; t += 50)
		assert_int_equal(see(f, T0 + t * S, 1, SL_PRESENCE_RSSI_NONE), 0);
	assert_int_equal(f->sink.presence, 1);
	assert_int_equal(sl_presence_advance(f->p, T0 + 361 * S), 0);
	assert_int_equal(f->sink.presence, 2);
	assert_int_equal(only_presence(&f->sink, 1)->exit_us, T0 + 300 * S);
	fx_free(f);
}

/* ---- subjects --------------------------------------------------------------- */

static void k1_min1(struct sl_presence_cfg *c)
{
	c->min_sightings = 1;
}

static void test_randomized_counted_never_tracked(void **state)
{
	struct fx *f = fx_new(k1_min1);
	struct sl_presence_stats st;
	const struct rec *r;

	(void)state;
	for (uint32_t d = 0; d < 10; d++)
		for (uint64_t t = 0; t < 5; t++)
			assert_int_equal(see_kind(f, T0 + t * S + d * MS, d, SL_PRESENCE_ADDR_RANDOM, -50), 0);
	sl_presence_get_stats(f->p, &st);
	assert_int_equal(st.subjects, 0);
	assert_int_equal(f->sink.presence, 0);
	assert_int_equal(sl_presence_advance(f->p, T0 + 300 * S), 0);
	assert_int_equal(f->sink.footfall, 1);
	r = only_footfall(&f->sink, 0);
	assert_int_equal(r->devices_random, 10);
	assert_int_equal(r->devices_static, 0);
	assert_false(r->suppressed);
	fx_free(f);
}

static void test_beacon_and_app_subjects(void **state)
{
	struct fx *f = fx_new(k1_min1);
	struct sl_presence_sighting s;
	const char *beacon = "ibeacon:f7826da6-4fa2-4e98-8024-bc5b71e0893e:1:2";
	const char *app = "00112233445566778899aabbccddeeff";
	const struct rec *r;

	(void)state;
	memset(&s, 0, sizeof(s));
	s.ts_us = T0;
	s.medium = SL_PRESENCE_BLE;
	s.addr_kind = SL_PRESENCE_ADDR_PUBLIC;
	mkaddr(s.addr, 1);
	s.rssi = -60;
	s.beacon_id = beacon;
	assert_int_equal(sl_presence_sighting(f->p, &s), 0);
	s.beacon_id = NULL;
	s.app_token = app;
	s.addr_kind = SL_PRESENCE_ADDR_RANDOM;
	s.addr[0] = 0x42;
	assert_int_equal(sl_presence_sighting(f->p, &s), 0);
	assert_int_equal(f->sink.presence, 2);
	r = only_presence(&f->sink, 0);
	assert_int_equal(r->kind, SL_PRESENCE_SUBJECT_BEACON);
	assert_string_equal(r->subject, beacon);
	assert_int_equal(r->medium, SL_PRESENCE_BLE);
	assert_non_null(strstr(r->json, "\"medium\":\"ble\""));
	assert_non_null(strstr(r->json, "\"kind\":\"beacon\""));
	r = only_presence(&f->sink, 1);
	assert_int_equal(r->kind, SL_PRESENCE_SUBJECT_APP);
	assert_string_equal(r->subject, app);

	/* footfall: the beacon is the store's, not counted; the app phone's address is */
	assert_int_equal(sl_presence_advance(f->p, T0 + 300 * S), 0);
	r = only_footfall(&f->sink, 0);
	assert_int_equal(r->medium, SL_PRESENCE_BLE);
	assert_int_equal(r->devices_static, 0);
	assert_int_equal(r->devices_random, 1);

	/* ids: empty and too long are refused */
	s.app_token = "";
	assert_int_equal(sl_presence_sighting(f->p, &s), -EINVAL);
	{
		char longid[SL_PRESENCE_ID_MAX + 2];

		memset(longid, 'a', sizeof(longid) - 1);
		longid[sizeof(longid) - 1] = '\0';
		s.app_token = longid;
		assert_int_equal(sl_presence_sighting(f->p, &s), -EINVAL);
		longid[SL_PRESENCE_ID_MAX] = '\0';
		assert_int_equal(sl_presence_sighting(f->p, &s), 0);
	}
	fx_free(f);
}

/* ---- the table: eviction and the memory budget ------------------------------ */

static void cap4(struct sl_presence_cfg *c)
{
	c->capacity = 4;
	c->min_sightings = 1;
}

static void test_lru_eviction(void **state)
{
	struct fx *f = fx_new(cap4);
	struct sl_presence_stats st;
	const struct rec *r;

	(void)state;
	for (uint32_t d = 1; d <= 4; d++)
		assert_int_equal(see(f, T0 + d * S, d, -60), 0);
	assert_int_equal(see(f, T0 + 5 * S, 1, -60), 0); /* 1 is recent again: 2 is the oldest */
	assert_int_equal(f->sink.presence, 4);
	assert_int_equal(see(f, T0 + 6 * S, 5, -60), 0);
	assert_int_equal(f->sink.presence, 6);
	r = only_presence(&f->sink, 4);
	assert_true(r->exit);
	assert_int_equal(r->reason, SL_PRESENCE_REASON_EVICTED);
	assert_string_equal(r->subject, only_presence(&f->sink, 1)->subject); /* device 2 */
	assert_false(only_presence(&f->sink, 5)->exit);
	sl_presence_get_stats(f->p, &st);
	assert_int_equal(st.subjects, 4);
	assert_int_equal(st.evictions, 1);
	/* everyone else is still there: sightings do not re-enter them */
	for (uint32_t d = 1; d <= 5; d++)
		if (d != 2)
			assert_int_equal(see(f, T0 + 7 * S, d, -60), 0);
	assert_int_equal(f->sink.presence, 6);
	fx_free(f);
}

static size_t rss_bytes(void)
{
	FILE *fp = fopen("/proc/self/statm", "r");
	unsigned long size = 0, resident = 0;

	assert_non_null(fp);
	assert_int_equal(fscanf(fp, "%lu %lu", &size, &resident), 2);
	fclose(fp);
	return resident * (size_t)sysconf(_SC_PAGESIZE);
}

static uint64_t lcg(uint64_t *x)
{
	*x = *x * 6364136223846793005ull + 1442695040888963407ull;
	return *x >> 16;
}

static void cap4096(struct sl_presence_cfg *c)
{
	c->capacity = 4096;
}

static void test_200k_addresses_within_budget(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));
	struct sl_presence_stats st;
	size_t budget, rss0, rss1;
	uint64_t x = 42;

	(void)state;
	assert_non_null(f);
	f->kr = keyring();
	test_cfg(&f->cfg);
	cap4096(&f->cfg);
	budget = sl_presence_mem_bytes(&f->cfg);
	assert_true(budget > 0);
	assert_true(budget < 2u * 1024 * 1024);

	rss0 = rss_bytes();
	fx_open(f);
	for (uint32_t i = 0; i < 200000; i++) {
		struct sl_presence_sighting s;
		uint64_t r = lcg(&x);

		memset(&s, 0, sizeof(s));
		s.ts_us = T0 + i; /* all within absence_s: the table must evict */
		s.medium = (i & 1) ? SL_PRESENCE_WIFI : SL_PRESENCE_BLE;
		s.addr_kind = (i % 3 == 0) ? SL_PRESENCE_ADDR_RANDOM : SL_PRESENCE_ADDR_PUBLIC;
		for (int b = 0; b < 6; b++)
			s.addr[b] = (uint8_t)(r >> (8 * b));
		s.addr[0] = (uint8_t)((s.addr[0] & 0xfc) |
				      (s.addr_kind == SL_PRESENCE_ADDR_RANDOM ? 2 : 0));
		s.rssi = (int8_t)(-40 - (int)(r >> 56) % 50);
		assert_int_equal(sl_presence_sighting(f->p, &s), 0);
	}
	rss1 = rss_bytes();
	sl_presence_get_stats(f->p, &st);
	assert_int_equal(st.sightings, 200000);
	assert_true(st.subjects <= 4096);
	assert_int_equal(st.subjects, 4096);
	assert_true(st.evictions >= 200000 / 3 * 2 - 4096 - 10);
	assert_int_equal(st.mem_bytes, budget);
	/*
	 * RSS grew by the budget at most (plus allocator/sanitizer overhead):
	 * 200,000 distinct addresses kept without a bound would need > 20 MB.
	 */
	print_message("budget %zu bytes, RSS growth %zu bytes\n", budget,
		      rss1 > rss0 ? rss1 - rss0 : 0);
	assert_true(rss1 <= rss0 + budget + budget / 4 + 4u * 1024 * 1024);
	fx_free(f);
}

static void test_mem_bytes_scales_with_capacity(void **state)
{
	struct sl_presence_cfg c;
	size_t a, b;

	(void)state;
	test_cfg(&c);
	c.capacity = 1000;
	a = sl_presence_mem_bytes(&c);
	c.capacity = 2000;
	b = sl_presence_mem_bytes(&c);
	assert_true(b > a);
	assert_true(b - a >= 1000 * 64);
	assert_true(b - a <= 1000 * 256);
}

/* ---- day change --------------------------------------------------------------- */

static void test_day_change_rotates_device_hash(void **state)
{
	struct fx *f = fx_new(k1_min1);
	char h1[SL_TOKEN_MAX], h2[SL_TOKEN_MAX];
	const struct rec *r;

	(void)state;
	assert_int_equal(see(f, MIDNIGHT - 60 * S, 5, -60), 0);
	assert_int_equal(see(f, MIDNIGHT - 1 * S, 5, -60), 0);
	assert_int_equal(f->sink.presence, 1);
	expected_hash(5, "2022-10-19", h1);
	assert_string_equal(only_presence(&f->sink, 0)->subject, h1);
	assert_non_null(sl_keyring_day(f->kr));
	assert_string_equal(sl_keyring_day(f->kr), "2022-10-19");

	/* midnight passes: the device leaves (day_end) and the day key is forgotten */
	assert_true(sl_presence_next_deadline(f->p) <= MIDNIGHT);
	assert_int_equal(sl_presence_advance(f->p, MIDNIGHT + 1), 0);
	assert_int_equal(f->sink.presence, 2);
	r = only_presence(&f->sink, 1);
	assert_true(r->exit);
	assert_int_equal(r->reason, SL_PRESENCE_REASON_DAY_END);
	assert_int_equal(r->exit_us, MIDNIGHT - 1 * S);
	assert_null(sl_keyring_day(f->kr));
	assert_true(sl_keyring__stale_day_key_zeroed(f->kr));

	/* a late sighting from yesterday is refused: it would revive yesterday's key */
	assert_int_equal(see(f, MIDNIGHT - 2 * S, 5, -60), -ESTALE);
	assert_null(sl_keyring_day(f->kr));

	/* the same device today has today's hash */
	assert_int_equal(see(f, MIDNIGHT + 5 * S, 5, -60), 0);
	assert_int_equal(f->sink.presence, 3);
	expected_hash(5, "2022-10-20", h2);
	assert_string_not_equal(h1, h2);
	assert_string_equal(only_presence(&f->sink, 2)->subject, h2);
	assert_string_equal(sl_keyring_day(f->kr), "2022-10-20");
	assert_true(sl_keyring__stale_day_key_zeroed(f->kr));
	{
		struct sl_presence_stats st;

		sl_presence_get_stats(f->p, &st);
		assert_int_equal(st.late, 1);
	}
	fx_free(f);
}

static void test_clock_stepped_back_restarts(void **state)
{
	struct fx *f = fx_new(k1_min1);
	struct sl_presence_stats st;

	(void)state;
	assert_int_equal(see(f, MIDNIGHT + 5 * S, 1, -60), 0);
	assert_int_equal(f->sink.presence, 1);
	/* two hours earlier, yesterday: not a late sighting, a clock step */
	assert_int_equal(see(f, MIDNIGHT - 2 * 3600 * S, 1, -60), 0);
	sl_presence_get_stats(f->p, &st);
	assert_int_equal(st.clock_steps, 1);
	assert_int_equal(st.late, 0);
	assert_int_equal(f->sink.presence, 3); /* exit (shutdown), enter again */
	assert_int_equal(only_presence(&f->sink, 1)->reason, SL_PRESENCE_REASON_SHUTDOWN);
	assert_false(only_presence(&f->sink, 2)->exit);
	assert_int_equal(only_presence(&f->sink, 2)->enter_us, MIDNIGHT - 2 * 3600 * S);
	fx_free(f);
}

static void test_day_change_keeps_beacons(void **state)
{
	struct fx *f = fx_new(k1_min1);
	struct sl_presence_sighting s;

	(void)state;
	memset(&s, 0, sizeof(s));
	s.medium = SL_PRESENCE_BLE;
	s.addr_kind = SL_PRESENCE_ADDR_RANDOM;
	s.rssi = -60;
	s.beacon_id = "eddystone-uid:00112233445566778899:aabbccddeeff";
	for (uint64_t t = 0; t < 20; t++) {
		s.ts_us = MIDNIGHT - 10 * S + t * S;
		assert_int_equal(sl_presence_sighting(f->p, &s), 0);
	}
	assert_int_equal(f->sink.presence, 1); /* one enter, no day_end exit */
	fx_free(f);
}

/* ---- footfall --------------------------------------------------------------- */

static void k5(struct sl_presence_cfg *c)
{
	c->footfall_min_count = 5;
	c->min_sightings = 1000; /* nobody enters: occupancy comes from counts only */
}

static void test_footfall_suppressed_below_k(void **state)
{
	struct fx *f = fx_new(k5);
	const struct rec *r;

	(void)state;
	assert_int_equal(sl_presence_advance(f->p, T0), 0);
	for (uint32_t d = 0; d < 4; d++)
		assert_int_equal(see(f, T0 + 10 * S + d * S, d, -60), 0);
	assert_int_equal(see(f, T0 + 20 * S, 99, -95), 0); /* below footfall_rssi: not counted */
	for (uint32_t d = 0; d < 5; d++)
		assert_int_equal(see(f, T0 + 310 * S + d * S, 100 + d, -60), 0);
	assert_int_equal(sl_presence_advance(f->p, T0 + 900 * S), 0);
	assert_int_equal(f->sink.footfall, 3);

	r = only_footfall(&f->sink, 0);
	assert_int_equal(r->start_us, T0);
	assert_int_equal(r->end_us, T0 + 300 * S);
	assert_int_equal(r->observed_us, 300 * S);
	assert_int_equal(r->devices_static, -1);
	assert_int_equal(r->devices_random, 0);
	assert_true(r->suppressed);
	assert_non_null(strstr(r->json, "\"type\":\"footfall\""));
	assert_non_null(strstr(r->json, "\"devices\":{\"static\":null,\"randomized\":0}"));
	assert_non_null(strstr(r->json, "\"suppressed\":true"));
	assert_non_null(strstr(r->json, "\"interval\":{\"start\":\"2022-10-19T13:00:00.000Z\","
				     "\"end\":\"2022-10-19T13:05:00.000Z\",\"observed_s\":300}"));

	r = only_footfall(&f->sink, 1);
	assert_int_equal(r->devices_static, 5);
	assert_false(r->suppressed);
	assert_non_null(strstr(r->json, "\"static\":5"));
	assert_non_null(strstr(r->json, "\"suppressed\":false"));

	r = only_footfall(&f->sink, 2); /* nobody: 0 is not suppressed */
	assert_int_equal(r->devices_static, 0);
	assert_false(r->suppressed);
	fx_free(f);
}

static void occ_cfg(struct sl_presence_cfg *c)
{
	c->min_sightings = 1;
	c->absence_s = 1000;
	c->random_weight[SL_PRESENCE_WIFI] = 0.5;
}

static void test_occupancy_estimate(void **state)
{
	struct fx *f = fx_new(occ_cfg);
	struct sl_presence_sighting s;
	const struct rec *r;

	(void)state;
	assert_int_equal(sl_presence_advance(f->p, T0), 0);
	/* one device present for the second half of the first interval */
	assert_int_equal(see(f, T0 + 150 * S, 1, -60), 0);
	/* the same device counted once however often it is seen */
	for (uint64_t t = 151; t < 300; t += 7)
		assert_int_equal(see(f, T0 + t * S, 1, -60), 0);
	/* randomized: 4 addresses with one fingerprint + 2 without = 3 devices */
	memset(&s, 0, sizeof(s));
	s.medium = SL_PRESENCE_WIFI;
	s.addr_kind = SL_PRESENCE_ADDR_RANDOM;
	s.rssi = -60;
	for (int i = 0; i < 6; i++) {
		s.ts_us = T0 + 200 * S + (uint64_t)i;
		s.addr[0] = 0x02;
		s.addr[5] = (uint8_t)i;
		s.fingerprint = i < 4 ? 0x1234 : 0;
		assert_int_equal(sl_presence_sighting(f->p, &s), 0);
	}
	assert_int_equal(sl_presence_advance(f->p, T0 + 600 * S), 0);
	r = only_footfall(&f->sink, 0);
	assert_int_equal(r->devices_static, 1);
	assert_int_equal(r->devices_random, 6);
	assert_true(r->occupancy > 0.5 + 1.5 - 1e-9 && r->occupancy < 0.5 + 1.5 + 1e-9);
	assert_non_null(strstr(r->json, "\"occupancy\":2.0"));
	r = only_footfall(&f->sink, 1); /* present all along */
	assert_true(r->occupancy > 1 - 1e-9 && r->occupancy < 1 + 1e-9);
	fx_free(f);
}

static void sample64(struct sl_presence_cfg *c)
{
	c->footfall_set_max = 64;
	c->min_sightings = 1000;
}

static int64_t sampled_count(uint32_t n)
{
	struct fx *f = fx_new(sample64);
	int64_t v;

	sl_presence__seed_keys(f->p, 7);
	for (uint32_t d = 0; d < n; d++)
		assert_int_equal(see_kind(f, T0 + d, d, SL_PRESENCE_ADDR_RANDOM, -60), 0);
	for (uint32_t d = 0; d < n; d++) /* repeats change nothing */
		assert_int_equal(see_kind(f, T0 + n + d, d, SL_PRESENCE_ADDR_RANDOM, -60), 0);
	assert_int_equal(sl_presence_advance(f->p, T0 + 300 * S), 0);
	v = only_footfall(&f->sink, 0)->devices_random;
	fx_free(f);
	return v;
}

static void test_footfall_sets_are_bounded(void **state)
{
	int64_t a, b;

	(void)state;
	assert_int_equal(sampled_count(60), 60);	/* exact below the set size */
	a = sampled_count(5000);		/* sampled beyond */
	b = sampled_count(5000);
	assert_int_equal(a, b);			/* seeded: repeatable */
	print_message("5000 distinct counted as %lld with a 64-value set\n", (long long)a);
	assert_true(a >= 2500 && a <= 10000);
}

/* ---- determinism, finish, arguments -------------------------------------- */

static void strip_id(char *json)
{
	char *p = strstr(json, "\"id\":\"");

	assert_non_null(p);
	memset(p + 6, 'x', 36);
}

static void run_sequence(struct sink *k)
{
	struct fx *f = fx_new(NULL);
	uint64_t x = 1, t = T0;

	for (int i = 0; i < 3000; i++) {
		uint64_t r = lcg(&x);

		t += (r % 4000) * MS;
		assert_int_equal(see_kind(f, t, (uint32_t)(r >> 20) % 40,
					  (r >> 40) % 4 ? SL_PRESENCE_ADDR_PUBLIC : SL_PRESENCE_ADDR_RANDOM,
					  -50 - (int)((r >> 32) % 45)), 0);
	}
	assert_int_equal(sl_presence_finish(f->p, t + 1), 0);
	*k = f->sink;
	fx_free(f);
}

static void test_replay_is_deterministic(void **state)
{
	struct sink *a = calloc(1, sizeof(*a)), *b = calloc(1, sizeof(*b));

	(void)state;
	assert_non_null(a);
	assert_non_null(b);
	run_sequence(a);
	run_sequence(b); /* another engine: other random table keys */
	assert_true(a->total > 20);
	assert_int_equal(a->total, b->total);
	for (size_t i = 0; i < a->n; i++) {
		strip_id(a->r[i].json);
		strip_id(b->r[i].json);
		assert_string_equal(a->r[i].json, b->r[i].json);
	}
	free(a);
	free(b);
}

static void test_finish_flushes(void **state)
{
	struct fx *f = fx_new(k1_min1);
	struct sl_presence_stats st;
	const struct rec *r;

	(void)state;
	assert_int_equal(see(f, T0 + 100 * S, 1, -60), 0);
	assert_int_equal(see(f, T0 + 120 * S, 1, -60), 0);
	assert_int_equal(sl_presence_finish(f->p, T0 + 130 * S), 0);
	assert_int_equal(f->sink.presence, 2);
	r = only_presence(&f->sink, 1);
	assert_int_equal(r->reason, SL_PRESENCE_REASON_SHUTDOWN);
	assert_int_equal(r->exit_us, T0 + 120 * S);
	assert_non_null(strstr(r->json, "\"reason\":\"shutdown\""));
	r = only_footfall(&f->sink, 0);
	assert_int_equal(r->observed_us, 30 * S);
	assert_int_equal(r->devices_static, 1);
	sl_presence_get_stats(f->p, &st);
	assert_int_equal(st.subjects, 0);
	assert_int_equal(sl_presence_next_deadline(f->p), UINT64_MAX);
	/* usable again */
	assert_int_equal(see(f, T0 + 200 * S, 1, -60), 0);
	assert_int_equal(f->sink.presence, 3);
	fx_free(f);
}

static void test_bad_arguments(void **state)
{
	struct sl_keyring *kr = keyring();
	struct sl_presence_cfg c;
	struct sl_presence *p = NULL;
	struct sink k = { 0 };
	struct sl_presence_sighting s;

	(void)state;
	test_cfg(&c);
	c.exit_rssi = c.enter_rssi + 1;
	assert_int_equal(sl_presence_new(&p, &c, kr, capture, &k), -EINVAL);
	assert_int_equal(sl_presence_mem_bytes(&c), 0);
	test_cfg(&c);
	c.capacity = 0;
	assert_int_equal(sl_presence_new(&p, &c, kr, capture, &k), -EINVAL);
	test_cfg(&c);
	c.capacity = SL_PRESENCE_CAPACITY_MAX + 1;
	assert_int_equal(sl_presence_new(&p, &c, kr, capture, &k), -EINVAL);
	test_cfg(&c);
	c.smoothing = SL_PRESENCE_SMOOTH_MEDIAN;
	c.smooth_n = SL_PRESENCE_MEDIAN_MAX + 1;
	assert_int_equal(sl_presence_new(&p, &c, kr, capture, &k), -EINVAL);
	test_cfg(&c);
	c.min_sightings = 0;
	assert_int_equal(sl_presence_new(&p, &c, kr, capture, &k), -EINVAL);
	test_cfg(&c);
	assert_int_equal(sl_presence_new(&p, &c, NULL, capture, &k), -EINVAL);
	assert_int_equal(sl_presence_new(&p, &c, kr, NULL, &k), -EINVAL);
	assert_null(p);
	assert_int_equal(sl_presence_new(&p, &c, kr, capture, &k), 0);
	memset(&s, 0, sizeof(s));
	s.medium = SL_PRESENCE_MEDIUM__COUNT;
	assert_int_equal(sl_presence_sighting(p, &s), -EINVAL);
	s.medium = SL_PRESENCE_WIFI;
	s.addr_kind = (enum sl_presence_addr_kind)7;
	assert_int_equal(sl_presence_sighting(p, &s), -EINVAL);
	assert_int_equal(sl_presence_advance(NULL, 0), -EINVAL);
	assert_int_equal(sl_presence_next_deadline(p), UINT64_MAX);
	sl_presence_free(p);
	sl_presence_free(NULL);
	sl_keyring_free(kr);
	assert_string_equal(sl_presence_medium_name(SL_PRESENCE_BLE), "ble");
	assert_string_equal(sl_presence_subject_kind_name(SL_PRESENCE_SUBJECT_APP), "app");
	assert_string_equal(sl_presence_reason_name(SL_PRESENCE_REASON_DAY_END), "day_end");
	assert_null(sl_presence_reason_name(SL_PRESENCE_REASON_NONE));
}

/* ---- adapters ------------------------------------------------------------ */

static void test_adapt_wifi(void **state)
{
	struct hal_wifi_sighting w;
	struct sl_presence_sighting s;

	(void)state;
	memset(&w, 0, sizeof(w));
	w.ts_us = T0;
	w.fp = 0xabcdef;
	w.has_rssi = true;
	w.rssi = -61;
	w.randomized = true;
	memcpy(w.addr, "\x02\x11\x22\x33\x44\x55", 6);
	memcpy(w.ssid, "secret", 6);
	w.ssid_len = 6;
	if (!IS_ENABLED(CONFIG_SL_WIFI)) {
		assert_int_equal(sl_presence_from_wifi(&w, &s), -EOPNOTSUPP);
		return;
	}
	assert_int_equal(sl_presence_from_wifi(&w, &s), 1);
	assert_int_equal(s.ts_us, T0);
	assert_int_equal(s.medium, SL_PRESENCE_WIFI);
	assert_int_equal(s.addr_kind, SL_PRESENCE_ADDR_RANDOM);
	assert_int_equal(s.rssi, -61);
	assert_int_equal(s.fingerprint, 0xabcdef);
	assert_memory_equal(s.addr, w.addr, 6);
	assert_null(s.beacon_id);
	assert_null(s.app_token);
	w.randomized = false;
	w.has_rssi = false;
	assert_int_equal(sl_presence_from_wifi(&w, &s), 1);
	assert_int_equal(s.addr_kind, SL_PRESENCE_ADDR_PUBLIC);
	assert_int_equal(s.rssi, SL_PRESENCE_RSSI_NONE);
}

static void test_adapt_ble(void **state)
{
	static const uint8_t uuid[16] = { 0xf7, 0x82, 0x6d, 0xa6, 0x4f, 0xa2, 0x4e, 0x98,
					  0x80, 0x24, 0xbc, 0x5b, 0x71, 0xe0, 0x89, 0x3e };
	struct hal_ble_sighting b;
	struct sl_presence_sighting s;
	char id[SL_PRESENCE_ID_MAX + 1];

	(void)state;
	memset(&b, 0, sizeof(b));
	b.ts_us = T0;
	b.rssi = -70;
	b.addr_type = HAL_BLE_ADDR_RANDOM;
	memcpy(b.addr, "\xc1\x11\x22\x33\x44\x55", 6); /* 11xxxxxx: static */
	if (!IS_ENABLED(CONFIG_SL_BLE)) {
		assert_int_equal(sl_presence_from_ble(&b, &s, id), -EOPNOTSUPP);
		return;
	}
	assert_int_equal(sl_presence_from_ble(&b, &s, id), 1);
	assert_int_equal(s.medium, SL_PRESENCE_BLE);
	assert_int_equal(s.addr_kind, SL_PRESENCE_ADDR_STATIC);
	assert_int_equal(s.rssi, -70);
	assert_null(s.beacon_id);

	b.addr[0] = 0x41; /* 01xxxxxx: RPA */
	assert_int_equal(sl_presence_from_ble(&b, &s, id), 1);
	assert_int_equal(s.addr_kind, SL_PRESENCE_ADDR_RANDOM);
	b.addr[0] = 0x01; /* 00xxxxxx: NRPA */
	assert_int_equal(sl_presence_from_ble(&b, &s, id), 1);
	assert_int_equal(s.addr_kind, SL_PRESENCE_ADDR_RANDOM);
	b.addr_type = HAL_BLE_ADDR_PUBLIC;
	assert_int_equal(sl_presence_from_ble(&b, &s, id), 1);
	assert_int_equal(s.addr_kind, SL_PRESENCE_ADDR_PUBLIC);
	b.addr_type = HAL_BLE_ADDR_RANDOM_ID;
	assert_int_equal(sl_presence_from_ble(&b, &s, id), 1);
	assert_int_equal(s.addr_kind, SL_PRESENCE_ADDR_STATIC);

	/* beacon ids */
	b.beacon.format = HAL_BLE_FMT_IBEACON;
	memcpy(b.beacon.uuid, uuid, 16);
	b.beacon.major = 3838;
	b.beacon.minor = 4949;
	assert_int_equal(sl_presence_from_ble(&b, &s, id), 1);
	assert_string_equal(s.beacon_id, "ibeacon:f7826da6-4fa2-4e98-8024-bc5b71e0893e:3838:4949");
	b.beacon.format = HAL_BLE_FMT_ALTBEACON;
	b.beacon.major = 65535;
	b.beacon.minor = 65535;
	assert_int_equal(sl_presence_from_ble(&b, &s, id), 1);
	assert_string_equal(s.beacon_id, "altbeacon:f7826da6-4fa2-4e98-8024-bc5b71e0893e:65535:65535");
	assert_true(strlen(s.beacon_id) <= SL_PRESENCE_ID_MAX);
	b.beacon.format = HAL_BLE_FMT_EDDYSTONE_UID;
	memcpy(b.beacon.namespace_id, "\x00\x01\x02\x03\x04\x05\x06\x07\x08\x09", 10);
	memcpy(b.beacon.instance, "\xaa\xbb\xcc\xdd\xee\xff", 6);
	assert_int_equal(sl_presence_from_ble(&b, &s, id), 1);
	assert_string_equal(s.beacon_id, "eddystone-uid:00010203040506070809:aabbccddeeff");
	b.beacon.format = HAL_BLE_FMT_EDDYSTONE_EID;
	memcpy(b.beacon.eid, "\x01\x23\x45\x67\x89\xab\xcd\xef", 8);
	assert_int_equal(sl_presence_from_ble(&b, &s, id), 1);
	assert_string_equal(s.beacon_id, "eddystone-eid:0123456789abcdef");

	/* app token: hex of its bytes, the address is then irrelevant */
	b.beacon.format = HAL_BLE_FMT_APP_TOKEN;
	memset(b.beacon.token, 0xa5, HAL_BLE_TOKEN_MAX);
	b.beacon.token_len = HAL_BLE_TOKEN_MAX;
	assert_int_equal(sl_presence_from_ble(&b, &s, id), 1);
	assert_null(s.beacon_id);
	assert_non_null(s.app_token);
	assert_int_equal(strlen(s.app_token), 2 * HAL_BLE_TOKEN_MAX);
	assert_int_equal(strncmp(s.app_token, "a5a5", 4), 0);

	/* telemetry and URL frames: nothing for the engine */
	memset(&s, 0x5a, sizeof(s));
	b.beacon.format = HAL_BLE_FMT_EDDYSTONE_TLM;
	assert_int_equal(sl_presence_from_ble(&b, &s, id), 0);
	b.beacon.format = HAL_BLE_FMT_EDDYSTONE_URL;
	assert_int_equal(sl_presence_from_ble(&b, &s, id), 0);
	/* anonymous advertising without an identity: nothing */
	b.beacon.format = HAL_BLE_FMT_NONE;
	b.addr_type = HAL_BLE_ADDR_ANONYMOUS;
	assert_int_equal(sl_presence_from_ble(&b, &s, id), 0);
	/* no RSSI */
	b.addr_type = HAL_BLE_ADDR_PUBLIC;
	b.rssi = HAL_BLE_RSSI_NONE;
	assert_int_equal(sl_presence_from_ble(&b, &s, id), 1);
	assert_int_equal(s.rssi, SL_PRESENCE_RSSI_NONE);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_enter_after_min_sightings),
		cmocka_unit_test(test_burst_zero_counts_every_frame),
		cmocka_unit_test(test_min_sightings_run_resets_on_weak),
		cmocka_unit_test(test_exit_on_absence_with_dwell),
		cmocka_unit_test(test_timeout_driven_by_other_sightings),
		cmocka_unit_test(test_hysteresis),
		cmocka_unit_test(test_smoothing_rides_out_one_weak_sighting),
		cmocka_unit_test(test_median_ignores_an_outlier),
		cmocka_unit_test(test_no_rssi_keeps_alive_only),
		cmocka_unit_test(test_randomized_counted_never_tracked),
		cmocka_unit_test(test_beacon_and_app_subjects),
		cmocka_unit_test(test_lru_eviction),
		cmocka_unit_test(test_200k_addresses_within_budget),
		cmocka_unit_test(test_mem_bytes_scales_with_capacity),
		cmocka_unit_test(test_day_change_rotates_device_hash),
		cmocka_unit_test(test_clock_stepped_back_restarts),
		cmocka_unit_test(test_day_change_keeps_beacons),
		cmocka_unit_test(test_footfall_suppressed_below_k),
		cmocka_unit_test(test_occupancy_estimate),
		cmocka_unit_test(test_footfall_sets_are_bounded),
		cmocka_unit_test(test_replay_is_deterministic),
		cmocka_unit_test(test_finish_flushes),
		cmocka_unit_test(test_bad_arguments),
		cmocka_unit_test(test_adapt_wifi),
		cmocka_unit_test(test_adapt_ble),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
