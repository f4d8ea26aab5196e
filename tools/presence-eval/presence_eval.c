/* SPDX-License-Identifier: MIT */
/*
 * presence_eval: replays a Wi-Fi capture (pcap/pcapng, through the Wi-Fi
 * HAL's file backend, "pcapfile:") or a BLE capture (btsnoop, through the
 * BLE HAL) into the presence engine and prints every event it emits, one
 * JSON object per line, on stdout; the engine's counters go to stderr as
 * one JSON object. Engine settings come from options (defaults: those of
 * sl_presence_cfg_defaults()). tools/presence-eval/presence-eval drives it
 * and scores the occupancy estimate against the capture's ground truth.
 *
 * Device hashes use a fixed, public evaluation key (docs/tokens.md's test
 * master key): the output is for evaluation, not for a CDP.
 */
#include "presence.h"
#include "privacy.h"
#include "util.h"

#include <hal/ble.h>
#include <hal/wifi.h>

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <mbedtls/platform_util.h>

static int print_event(void *ctx, const struct sl_presence_event *ev)
{
	(void)ctx;
	fwrite(ev->json, 1, ev->len, stdout);
	fputc('\n', stdout);
	return 0;
}

static void usage(FILE *f)
{
	fprintf(f,
		"usage: presence_eval [options] pcapfile:FILE | btsnoop:FILE\n"
		"  --enter-rssi N --exit-rssi N --absence-s N --min-sightings N\n"
		"  --capacity N --interval-s N --min-count N --footfall-rssi N\n"
		"  --burst-ms N --smoothing ema|median --smooth-n N --weight X\n");
}

static int parse_long(const char *s, long lo, long hi, long *ret)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || end == s || *end || v < lo || v > hi)
		return -EINVAL;
	*ret = v;
	return 0;
}

struct feed {
	struct sl_presence *p;
	uint64_t last_us;
	uint64_t fed, skipped, rejected;
};

static void feed_one(struct feed *f, struct sl_presence_sighting *s)
{
	if (sl_presence_sighting(f->p, s) < 0)
		f->rejected++;
	else
		f->fed++;
	if (s->ts_us > f->last_us)
		f->last_us = s->ts_us;
	mbedtls_platform_zeroize(s->addr, sizeof(s->addr));
}

static int replay_wifi(struct feed *f, const char *source)
{
	struct hal_wifi w;
	struct hal_wifi_sighting ws;
	struct sl_presence_sighting s;
	int rc;

	if (!IS_ENABLED(CONFIG_SL_WIFI))
		return -EPROTONOSUPPORT;
	memset(&w, 0, sizeof(w));
	rc = hal_wifi_open(&w, source, NULL);
	if (rc < 0)
		return rc;
	while ((rc = hal_wifi_read(&w, &ws)) == 1) {
		if (sl_presence_from_wifi(&ws, &s) == 1)
			feed_one(f, &s);
		else
			f->skipped++;
		mbedtls_platform_zeroize(&ws, sizeof(ws));
	}
	hal_wifi_close(&w);
	return rc == -ENODATA ? 0 : rc;
}

static int replay_ble(struct feed *f, const char *source)
{
	struct hal_ble b;
	struct hal_ble_sighting bs;
	struct sl_presence_sighting s;
	char id[SL_PRESENCE_ID_MAX + 1];
	int rc;

	if (!IS_ENABLED(CONFIG_SL_BLE))
		return -EPROTONOSUPPORT;
	memset(&b, 0, sizeof(b));
	rc = hal_ble_open(&b, source, NULL);
	if (rc < 0)
		return rc;
	while ((rc = b.ops->read(&b, &bs)) == 1) {
		if (sl_presence_from_ble(&bs, &s, id) == 1)
			feed_one(f, &s);
		else
			f->skipped++;
		mbedtls_platform_zeroize(&bs, sizeof(bs));
	}
	hal_ble_close(&b);
	return rc == -ENODATA ? 0 : rc;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "enter-rssi", required_argument, NULL, 'e' },
		{ "exit-rssi", required_argument, NULL, 'x' },
		{ "absence-s", required_argument, NULL, 'a' },
		{ "min-sightings", required_argument, NULL, 'm' },
		{ "capacity", required_argument, NULL, 'c' },
		{ "interval-s", required_argument, NULL, 'i' },
		{ "min-count", required_argument, NULL, 'k' },
		{ "footfall-rssi", required_argument, NULL, 'f' },
		{ "burst-ms", required_argument, NULL, 'b' },
		{ "smoothing", required_argument, NULL, 's' },
		{ "smooth-n", required_argument, NULL, 'n' },
		{ "weight", required_argument, NULL, 'w' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	uint8_t master[SL_KEY_LEN];
	struct sl_presence_cfg cfg;
	struct sl_presence_stats st;
	struct sl_keyring *kr = NULL;
	struct feed f;
	const char *source;
	int c, rc;
	long v;

	sl_presence_cfg_defaults(&cfg);
	cfg.origin.tenant = "eval";
	cfg.origin.store = "lab";
	cfg.origin.gateway = "replay";
	cfg.zone = "eval";
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		rc = 0;
		switch (c) {
		case 'e':
			rc = parse_long(optarg, -128, 127, &v);
			cfg.enter_rssi = (int)v;
			break;
		case 'x':
			rc = parse_long(optarg, -128, 127, &v);
			cfg.exit_rssi = (int)v;
			break;
		case 'f':
			rc = parse_long(optarg, -128, 127, &v);
			cfg.footfall_rssi = (int)v;
			break;
		case 'a':
			rc = parse_long(optarg, 1, 86400, &v);
			cfg.absence_s = (uint32_t)v;
			break;
		case 'm':
			rc = parse_long(optarg, 1, 1000, &v);
			cfg.min_sightings = (uint32_t)v;
			break;
		case 'c':
			rc = parse_long(optarg, 1, SL_PRESENCE_CAPACITY_MAX, &v);
			cfg.capacity = (uint32_t)v;
			break;
		case 'i':
			rc = parse_long(optarg, 1, 86400, &v);
			cfg.footfall_interval_s = (uint32_t)v;
			break;
		case 'k':
			rc = parse_long(optarg, 1, 1000, &v);
			cfg.footfall_min_count = (uint32_t)v;
			break;
		case 'b':
			rc = parse_long(optarg, 0, 3600000, &v);
			cfg.burst_ms = (uint32_t)v;
			break;
		case 'n':
			rc = parse_long(optarg, 1, 64, &v);
			cfg.smooth_n = (uint32_t)v;
			break;
		case 's':
			if (strcmp(optarg, "ema") == 0)
				cfg.smoothing = SL_PRESENCE_SMOOTH_EMA;
			else if (strcmp(optarg, "median") == 0)
				cfg.smoothing = SL_PRESENCE_SMOOTH_MEDIAN;
			else
				rc = -EINVAL;
			break;
		case 'w': {
			char *end;
			double d = strtod(optarg, &end);

			if (end == optarg || *end || !(d >= 0))
				rc = -EINVAL;
			for (int i = 0; i < SL_PRESENCE_MEDIUM__COUNT; i++)
				cfg.random_weight[i] = d;
			break;
		}
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
		if (rc < 0) {
			fprintf(stderr, "presence_eval: bad value '%s'\n", optarg);
			usage(stderr);
			return 2;
		}
	}
	if (optind != argc - 1) {
		usage(stderr);
		return 2;
	}
	source = argv[optind];

	for (int i = 0; i < SL_KEY_LEN; i++)
		master[i] = (uint8_t)i;
	rc = sl_keyring_new(&kr, "eval", master, "v1", NULL, NULL);
	mbedtls_platform_zeroize(master, sizeof(master));
	if (rc < 0) {
		fprintf(stderr, "presence_eval: keyring: %s\n", strerror(-rc));
		return 1;
	}
	memset(&f, 0, sizeof(f));
	rc = sl_presence_new(&f.p, &cfg, kr, print_event, NULL);
	if (rc < 0) {
		fprintf(stderr, "presence_eval: engine: %s (check the settings)\n", strerror(-rc));
		sl_keyring_free(kr);
		return 2;
	}
	if (strncmp(source, "pcapfile:", 9) == 0)
		rc = replay_wifi(&f, source);
	else if (strncmp(source, "btsnoop:", 8) == 0)
		rc = replay_ble(&f, source);
	else
		rc = -EINVAL;
	if (rc < 0) {
		fprintf(stderr, "presence_eval: %s: %s\n", source, strerror(-rc));
		sl_presence_free(f.p);
		sl_keyring_free(kr);
		return 1;
	}
	sl_presence_finish(f.p, f.last_us);
	sl_presence_get_stats(f.p, &st);
	fprintf(stderr,
		"{\"fed\":%" PRIu64 ",\"skipped\":%" PRIu64 ",\"rejected\":%" PRIu64
		",\"enters\":%" PRIu64 ",\"exits\":%" PRIu64 ",\"exit_absence\":%" PRIu64
		",\"exit_rssi\":%" PRIu64 ",\"exit_evicted\":%" PRIu64 ",\"exit_day_end\":%" PRIu64
		",\"exit_shutdown\":%" PRIu64 ",\"footfall\":%" PRIu64 ",\"mem_bytes\":%zu}\n",
		f.fed, f.skipped, f.rejected, st.enters, st.exits,
		st.exits_by_reason[SL_PRESENCE_REASON_ABSENCE],
		st.exits_by_reason[SL_PRESENCE_REASON_RSSI],
		st.exits_by_reason[SL_PRESENCE_REASON_EVICTED],
		st.exits_by_reason[SL_PRESENCE_REASON_DAY_END],
		st.exits_by_reason[SL_PRESENCE_REASON_SHUTDOWN], st.footfall_events, st.mem_bytes);
	sl_presence_free(f.p);
	sl_keyring_free(kr);
	return 0;
}
