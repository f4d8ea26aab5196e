/* SPDX-License-Identifier: MIT */
/*
 * bench_presence: sightings per second through the presence engine and its
 * memory with 200,000 subjects. Not a test: no pass/fail, it prints numbers.
 *
 *   steady  capacity 200,000; 200,000 public addresses enter, then random
 *           sightings over them (a third from randomized addresses, counted
 *           for footfall only), 20 µs apart on the sightings' clock
 *   churn   capacity 4,096; every sighting a new public address, so every
 *           one evicts the least recently seen subject
 *
 * Allocations are counted by wrapping malloc & co (-Wl,--wrap): the engine
 * allocates its whole budget in sl_presence_new() and nothing afterwards.
 *
 *   bench_presence [MILLION_SIGHTINGS]   default 10
 */
#include "alloc_count.h"

#include "presence.h"
#include "privacy.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static size_t rss_bytes(void)
{
	FILE *fp = fopen("/proc/self/statm", "r");
	unsigned long size = 0, resident = 0;

	if (!fp)
		return 0;
	if (fscanf(fp, "%lu %lu", &size, &resident) != 2)
		resident = 0;
	fclose(fp);
	return resident * (size_t)sysconf(_SC_PAGESIZE);
}

static uint64_t lcg(uint64_t *x)
{
	*x = *x * 6364136223846793005ull + 1442695040888963407ull;
	return *x >> 11;
}

static uint64_t n_events;

static int count_event(void *ctx, const struct sl_presence_event *ev)
{
	(void)ctx;
	(void)ev;
	n_events++;
	return 0;
}

#define SUBJECTS 200000u
#define T0 (1666184400ull * 1000000ull)

static void addr_of(uint32_t i, bool random, uint8_t a[6])
{
	uint64_t h = (uint64_t)i * 0x9e3779b97f4a7c15ull;

	for (int b = 0; b < 6; b++)
		a[b] = (uint8_t)(h >> (8 * b + 8));
	a[0] = (uint8_t)((a[0] & 0xfc) | (random ? 2 : 0));
}

static struct sl_keyring *keyring(void)
{
	uint8_t k[SL_KEY_LEN];
	struct sl_keyring *kr = NULL;

	for (int i = 0; i < SL_KEY_LEN; i++)
		k[i] = (uint8_t)i;
	if (sl_keyring_new(&kr, "bench", k, "v1", NULL, NULL) < 0) {
		fprintf(stderr, "bench_presence: keyring\n");
		exit(1);
	}
	return kr;
}

static void cfg_base(struct sl_presence_cfg *c)
{
	sl_presence_cfg_defaults(c);
	c->origin.tenant = "bench";
	c->origin.store = "0001";
	c->origin.gateway = "gw";
	c->zone = "bench";
}

static void steady(uint64_t total)
{
	struct sl_keyring *kr = keyring();
	struct sl_presence_cfg cfg;
	struct sl_presence_stats st;
	struct sl_presence_sighting s;
	struct sl_presence *p = NULL;
	uint64_t allocs0, bytes0, x = 1, ts = T0;
	size_t rss0, rss1;
	double t0, t1, t2;

	cfg_base(&cfg);
	cfg.capacity = SUBJECTS;
	rss0 = rss_bytes();
	allocs0 = bench_allocs;
	bytes0 = bench_alloc_bytes;
	if (sl_presence_new(&p, &cfg, kr, count_event, NULL) < 0) {
		fprintf(stderr, "bench_presence: sl_presence_new failed\n");
		exit(1);
	}
	printf("steady: capacity %u, budget %zu bytes (%.1f MiB, %.0f bytes/subject), "
	       "allocated at new(): %" PRIu64 " bytes in %" PRIu64 " allocations\n",
	       cfg.capacity, sl_presence_mem_bytes(&cfg),
	       sl_presence_mem_bytes(&cfg) / 1048576.0,
	       (double)sl_presence_mem_bytes(&cfg) / cfg.capacity, bench_alloc_bytes - bytes0,
	       bench_allocs - allocs0);
	allocs0 = bench_allocs;

	memset(&s, 0, sizeof(s));
	s.medium = SL_PRESENCE_WIFI;
	s.addr_kind = SL_PRESENCE_ADDR_PUBLIC;
	s.rssi = -60;
	t0 = now_s();
	/* every subject seen twice, 1.5 s apart: 200,000 enters (and as many device hashes) */
	for (int pass = 0; pass < 2; pass++) {
		for (uint32_t i = 0; i < SUBJECTS; i++) {
			s.ts_us = T0 + (uint64_t)pass * 1500000u + i;
			addr_of(i, false, s.addr);
			sl_presence_sighting(p, &s);
		}
	}
	ts = T0 + 3000000u;
	t1 = now_s();
	for (uint64_t n = 0; n < total; n++) {
		uint64_t r = lcg(&x);
		bool random = r % 3 == 0;

		s.ts_us = ts += 20;
		s.addr_kind = random ? SL_PRESENCE_ADDR_RANDOM : SL_PRESENCE_ADDR_PUBLIC;
		addr_of((uint32_t)((r >> 8) % SUBJECTS), random, s.addr);
		s.rssi = (int8_t)(-45 - (int)((r >> 40) % 40));
		s.fingerprint = random ? (r >> 50) % 64 + 1 : 0;
		sl_presence_sighting(p, &s);
	}
	t2 = now_s();
	rss1 = rss_bytes();
	sl_presence_get_stats(p, &st);
	printf("steady: 200,000 subjects entered in %.3f s (%.0f sightings/s, incl. %" PRIu64
	       " enter events and device hashes)\n",
	       t1 - t0, 2.0 * SUBJECTS / (t1 - t0), st.enters);
	printf("steady: %" PRIu64 " sightings in %.3f s = %.0f sightings/s "
	       "(%.0f ns each; subjects %u, present %u, exits %" PRIu64 ", footfall events %" PRIu64 ")\n",
	       total, t2 - t1, (double)total / (t2 - t1), (t2 - t1) * 1e9 / (double)total,
	       st.subjects, st.present, st.exits, st.footfall_events);
	printf("steady: allocations after new(): %" PRIu64 "; RSS growth %.1f MiB "
	       "(budget %.1f MiB)\n",
	       bench_allocs - allocs0, (double)(rss1 - rss0) / 1048576.0,
	       (double)st.mem_bytes / 1048576.0);
	sl_presence_free(p);
	sl_keyring_free(kr);
}

static void churn(uint64_t total)
{
	struct sl_keyring *kr = keyring();
	struct sl_presence_cfg cfg;
	struct sl_presence_stats st;
	struct sl_presence_sighting s;
	struct sl_presence *p = NULL;
	uint64_t allocs0;
	double t0, t1;

	cfg_base(&cfg);
	cfg.capacity = 4096;
	if (sl_presence_new(&p, &cfg, kr, count_event, NULL) < 0) {
		fprintf(stderr, "bench_presence: sl_presence_new failed\n");
		exit(1);
	}
	allocs0 = bench_allocs;
	memset(&s, 0, sizeof(s));
	s.medium = SL_PRESENCE_BLE;
	s.addr_kind = SL_PRESENCE_ADDR_PUBLIC;
	s.rssi = -60;
	t0 = now_s();
	for (uint64_t n = 0; n < total; n++) {
		s.ts_us = T0 + n;
		addr_of((uint32_t)n, false, s.addr);
		s.addr[5] ^= (uint8_t)(n >> 32);
		sl_presence_sighting(p, &s);
	}
	t1 = now_s();
	sl_presence_get_stats(p, &st);
	printf("churn: capacity %u, %" PRIu64 " distinct addresses in %.3f s = %.0f sightings/s; "
	       "evictions %" PRIu64 ", subjects %u, allocations after new(): %" PRIu64
	       ", budget %zu bytes\n",
	       cfg.capacity, total, t1 - t0, (double)total / (t1 - t0), st.evictions, st.subjects,
	       bench_allocs - allocs0, st.mem_bytes);
	sl_presence_free(p);
	sl_keyring_free(kr);
}

int main(int argc, char **argv)
{
	uint64_t millions = 10;

	if (argc > 1) {
		char *end;
		unsigned long v = strtoul(argv[1], &end, 10);

		if (end == argv[1] || *end || v == 0 || v > 1000) {
			fprintf(stderr, "usage: bench_presence [MILLION_SIGHTINGS]\n");
			return 2;
		}
		millions = v;
	}
	steady(millions * 1000000u);
	churn(2000000u);
	printf("events emitted: %" PRIu64 "\n", n_events);
	return 0;
}
