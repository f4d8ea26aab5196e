/* SPDX-License-Identifier: MIT */
/*
 * bench_ble [BTSNOOP [ROUNDS]]: how fast BLE advertising reports become
 * decoded sightings, and how many heap allocations that costs.
 *
 * 1. decode: every report's AD payload of the capture is loaded once, then
 *    hal_ble_ad_parse() + hal_ble_decode() (all beacon decoders) run over
 *    all of them ROUNDS times. Target: >= 1,000,000 adverts/s, 0 allocations.
 * 2. replay: the whole btsnoop file through hal_ble_open("btsnoop:...") and
 *    the backend's read (HCI event parsing, several reports per event,
 *    address classification, decoding), several times.
 *
 * Allocations are counted by wrapping malloc/calloc/realloc at link time
 * (-Wl,--wrap). Prints numbers; it is not a test.
 */
#include "alloc_count.h"

#include <hal/ble.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#ifndef SL_BENCH_BLE_SNOOP
#define SL_BENCH_BLE_SNOOP "tests/data/ble/horizon-74-at_btsnoop_hci.log"
#endif

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

struct advert {
	uint8_t len;
	uint8_t ad[HAL_BLE_AD_MAX];
};

int main(int argc, char **argv)
{
	const char *path = argc > 1 ? argv[1] : SL_BENCH_BLE_SNOOP;
	long rounds = argc > 2 ? atol(argv[2]) : 5000;
	char source[4096];
	struct hal_ble ble;
	struct hal_ble_cfg cfg = { 0 };
	static struct hal_ble_sighting s;
	struct advert *ads = NULL;
	size_t n = 0, cap = 0, decoded = 0;
	unsigned long long allocs;
	volatile unsigned sink = 0;
	double t0, dt;
	int rc;

	snprintf(source, sizeof(source), "btsnoop:%s", path);
	if (hal_ble_open(&ble, source, &cfg) < 0) {
		fprintf(stderr, "bench_ble: cannot open %s\n", path);
		return 1;
	}
	while ((rc = ble.ops->read(&ble, &s)) == 1) {
		if (n == cap) {
			cap = cap ? cap * 2 : 512;
			ads = realloc(ads, cap * sizeof(*ads));
		}
		ads[n].len = s.ad_len;
		memcpy(ads[n].ad, s.ad, s.ad_len);
		n++;
	}
	hal_ble_close(&ble);
	if (!n) {
		fprintf(stderr, "bench_ble: no reports in %s\n", path);
		return 1;
	}

	/* 1. AD parse + decode */
	allocs = bench_allocs;
	t0 = now_s();
	for (long r = 0; r < rounds; r++) {
		for (size_t i = 0; i < n; i++) {
			struct hal_ble_ad ad;
			struct hal_ble_beacon b;

			if (hal_ble_ad_parse(ads[i].ad, ads[i].len, &ad) == 0 &&
			    hal_ble_decode(ads[i].ad, ads[i].len, NULL, &b) == 0) {
				decoded++;
				sink += b.format;
			}
		}
	}
	dt = now_s() - t0;
	printf("decode: %zu adverts x %ld rounds in %.3f s: %.0f adverts/s (%.1f ns/advert), "
	       "%.3f allocations/advert, %zu decoded\n", n, rounds, dt, (double)n * rounds / dt,
	       dt * 1e9 / ((double)n * rounds), (double)(bench_allocs - allocs) / ((double)n * rounds),
	       decoded / (size_t)rounds);

	/* 2. the replay backend end to end */
	{
		long replay_rounds = rounds / 50 ? rounds / 50 : 1;
		size_t total = 0;

		allocs = bench_allocs;
		t0 = now_s();
		for (long r = 0; r < replay_rounds; r++) {
			if (hal_ble_open(&ble, source, &cfg) < 0)
				return 1;
			while (ble.ops->read(&ble, &s) == 1)
				total++;
			hal_ble_close(&ble);
		}
		dt = now_s() - t0;
		printf("replay: %zu reports in %.3f s: %.0f reports/s, %.1f allocations per file "
		       "open, %.4f per report\n", total, dt, (double)total / dt,
		       (double)(bench_allocs - allocs) / (double)replay_rounds,
		       (double)(bench_allocs - allocs) / (double)total);
	}
	free(ads);
	return sink == 0xffffffff;
}
