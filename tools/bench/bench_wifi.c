/* SPDX-License-Identifier: MIT */
/*
 * bench_wifi [PCAP [ROUNDS]]: how fast the Wi-Fi parsers turn captured
 * packets into sightings, and how many allocations that costs per frame.
 *
 * 1. parse: every packet of the capture is loaded into memory once, then
 *    hal_wifi_frame_parse() (radiotap + 802.11 + fingerprint) runs over all
 *    of them ROUNDS times. Target: >= 1,000,000 frames/s, 0 allocations.
 * 2. read path: the capture read through hal_wifi_open("pcapfile:...") and
 *    hal_wifi_read() (libpcap file reading included), a few times.
 *
 * Allocations are counted by wrapping malloc/calloc/realloc at link time
 * (-Wl,--wrap, see CMakeLists.txt): that sees every call made by this
 * program and the static libraries (hal_wifi, sl_core), not the ones
 * inside libpcap. Prints numbers; it is not a test.
 */
#include "alloc_count.h"

#include <hal/wifi.h>

#include <pcap/pcap.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#ifndef SL_BENCH_WIFI_PCAP
#define SL_BENCH_WIFI_PCAP "tests/data/wifi/sc6-61_2022-10-19_anonymized.pcap"
#endif

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

struct frames {
	uint8_t *data;		/* all packets back to back */
	size_t *off;		/* packet i at data + off[i], length off[i+1] - off[i] */
	uint64_t *ts;
	size_t n;
	int dlt;
};

static int load(const char *path, struct frames *f)
{
	char errbuf[PCAP_ERRBUF_SIZE];
	struct pcap_pkthdr *h;
	const u_char *d;
	size_t cap = 1 << 16, used = 0, ncap = 1024;
	pcap_t *p = pcap_open_offline(path, errbuf);

	if (!p) {
		fprintf(stderr, "bench_wifi: %s: %s\n", path, errbuf);
		return -1;
	}
	f->dlt = pcap_datalink(p);
	f->data = malloc(cap);
	f->off = malloc((ncap + 1) * sizeof(*f->off));
	f->ts = malloc(ncap * sizeof(*f->ts));
	f->n = 0;
	if (!f->data || !f->off || !f->ts)
		goto err;
	while (pcap_next_ex(p, &h, &d) == 1) {
		if (used + h->caplen > cap) {
			uint8_t *nd;

			while (used + h->caplen > cap)
				cap *= 2;
			nd = realloc(f->data, cap);
			if (!nd)
				goto err;
			f->data = nd;
		}
		if (f->n == ncap) {
			size_t *no = realloc(f->off, (2 * ncap + 1) * sizeof(*f->off));
			uint64_t *nt;

			if (!no)
				goto err;
			f->off = no;
			nt = realloc(f->ts, 2 * ncap * sizeof(*f->ts));
			if (!nt)
				goto err;
			f->ts = nt;
			ncap *= 2;
		}
		memcpy(f->data + used, d, h->caplen);
		f->off[f->n] = used;
		f->ts[f->n] = (uint64_t)h->ts.tv_sec * 1000000u + (uint64_t)h->ts.tv_usec;
		used += h->caplen;
		f->n++;
	}
	f->off[f->n] = used;
	pcap_close(p);
	return 0;
err:
	fprintf(stderr, "bench_wifi: out of memory\n");
	free(f->data);
	free(f->off);
	free(f->ts);
	pcap_close(p);
	return -1;
}

int main(int argc, char **argv)
{
	const char *path = argc > 1 ? argv[1] : SL_BENCH_WIFI_PCAP;
	unsigned long rounds = argc > 2 ? strtoul(argv[2], NULL, 10) : 300;
	struct hal_wifi_sighting s;
	unsigned long long ok = 0, allocs, total;
	uint64_t sink = 0;
	struct frames f;
	char source[4096];
	double t0, t1;

	if (rounds == 0)
		rounds = 1;
	if (load(path, &f) < 0)
		return 1;
	printf("capture: %s (%zu frames, link type %d)\n", path, f.n, f.dlt);

	/* warm-up: caches, branch predictors */
	for (size_t i = 0; i < f.n; i++)
		hal_wifi_frame_parse(f.dlt, f.data + f.off[i], f.off[i + 1] - f.off[i], f.ts[i], &s);

	allocs = bench_allocs;
	t0 = now_s();
	for (unsigned long r = 0; r < rounds; r++) {
		for (size_t i = 0; i < f.n; i++) {
			if (hal_wifi_frame_parse(f.dlt, f.data + f.off[i], f.off[i + 1] - f.off[i],
						 f.ts[i], &s) == 0) {
				ok++;
				sink += s.fp + s.seq;
			}
		}
	}
	t1 = now_s();
	allocs = bench_allocs - allocs;
	total = (unsigned long long)rounds * f.n;
	printf("parse:     %llu frames (%lu rounds) in %.3f s: %.0f frames/s, %.1f ns/frame, "
	       "%llu sightings, allocations %llu (%.3f per frame) [sink %llx]\n",
	       total, rounds, t1 - t0, (double)total / (t1 - t0), (t1 - t0) * 1e9 / (double)total,
	       ok, allocs, (double)allocs / (double)total, (unsigned long long)(sink & 0xff));

	snprintf(source, sizeof(source), "pcapfile:%s", path);
	ok = 0;
	total = 0;
	allocs = bench_allocs;
	t0 = now_s();
	for (int r = 0; r < 20; r++) {
		struct hal_wifi w;
		int rc;

		if (hal_wifi_open(&w, source, NULL) < 0) {
			fprintf(stderr, "bench_wifi: cannot open %s\n", path);
			return 1;
		}
		while ((rc = hal_wifi_read(&w, &s)) == 1)
			ok++;
		total += f.n;
		hal_wifi_close(&w);
	}
	t1 = now_s();
	allocs = bench_allocs - allocs;
	printf("read path: %llu frames (20 opens) in %.3f s: %.0f frames/s, %llu sightings, "
	       "allocations %llu outside libpcap (%.4f per frame)\n",
	       total, t1 - t0, (double)total / (t1 - t0), ok, allocs,
	       (double)allocs / (double)total);
	free(f.data);
	free(f.off);
	free(f.ts);
	return 0;
}
