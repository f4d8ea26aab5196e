/* SPDX-License-Identifier: MIT */
/*
 * The two shared captures (tests/data/wifi, see SOURCE.md) through every
 * Wi-Fi read path, checked against their ground-truth CSV on every frame
 * (source address, randomized bit, RSSI, sequence number, frequency, SSID)
 * and on the totals (1694 frames / 24 sources / 18 randomized; 8375 /
 * 2061 / 1811):
 *   - the file backend (pcapfile:FILE);
 *   - hal_wifi_open_stream() over a pipe fed by a child process;
 *   - the live backend's ops and read path, its "interface" replaced by
 *     a pcap savefile arriving through a pipe (wifi_live_attach hooks),
 *     with the fd polled as the agent's loop does;
 * plus pcapng through the file backend.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "wifi_pcap.h"

#define WIFI_DIR SL_TEST_DATA_DIR "/wifi/"

struct capture {
	const char *pcap;
	const char *csv;
	size_t frames, sources, randomized;
};

/* Totals: /work/shared/data/README.md, checked with tshark and the CSV. */
static const struct capture cap_2023 = {
	WIFI_DIR "sc6-61_2023-02-23_anonymized.pcap",
	WIFI_DIR "sc6-61_2023-02-23_ver-99.csv", 1694, 24, 18,
};
static const struct capture cap_2022 = {
	WIFI_DIR "sc6-61_2022-10-19_anonymized.pcap",
	WIFI_DIR "sc6-61_2022-10-19_ver-99.csv", 8375, 2061, 1811,
};

struct csv_row {
	uint8_t src[6];
	int randomized;
	int rssi;
	unsigned int idx, seq, freq;
	char ssid[64];
};

/* datetime;dst;src;src_vendor;randomized;rssi;idx;seq_num;ch_freq;FCfield;ssid;dot11elt;oui;occupancy */
static int csv_next(FILE *f, struct csv_row *r)
{
	char line[4096], *field[14], *p = line;
	size_t n = 0;

	if (!fgets(line, sizeof(line), f))
		return 0;
	line[strcspn(line, "\r\n")] = '\0';
	while (n < 14) {
		field[n++] = p;
		p = strchr(p, ';');
		if (!p)
			break;
		*p++ = '\0';
	}
	assert_int_equal(n, 14);
	assert_int_equal(sscanf(field[2], "%hhx:%hhx:%hhx:%hhx:%hhx:%hhx", &r->src[0],
				&r->src[1], &r->src[2], &r->src[3], &r->src[4], &r->src[5]),
			 6);
	r->randomized = atoi(field[4]);
	r->rssi = atoi(field[5]);
	r->idx = (unsigned int)strtoul(field[6], NULL, 10);
	r->seq = (unsigned int)strtoul(field[7], NULL, 10);
	r->freq = (unsigned int)strtoul(field[8], NULL, 10);
	assert_true(strlen(field[10]) < sizeof(r->ssid));
	strcpy(r->ssid, field[10]);
	return 1;
}

static int mac_cmp(const void *a, const void *b)
{
	return memcmp(a, b, 6);
}

/* Reads w to its end and compares every sighting with the CSV. */
static void check_capture(struct hal_wifi *w, const struct capture *c)
{
	FILE *csv = fopen(c->csv, "r");
	uint8_t (*macs)[6] = calloc(c->frames + 1, 6);
	struct hal_wifi_stats st;
	struct csv_row row;
	char header[512];
	size_t i = 0, sources = 0, randomized = 0;
	int rc;

	assert_non_null(csv);
	assert_non_null(macs);
	assert_non_null(fgets(header, sizeof(header), csv));
	for (;;) {
		struct hal_wifi_sighting s;

		rc = hal_wifi_read(w, &s);
		if (rc == -ENODATA)
			break;
		assert_int_equal(rc, 1);
		assert_int_equal(csv_next(csv, &row), 1);
		assert_int_equal(row.idx, i);
		assert_memory_equal(s.addr, row.src, 6);
		assert_int_equal(s.randomized, row.randomized);
		assert_true(s.has_rssi);
		assert_int_equal(s.rssi, row.rssi);
		assert_int_equal(s.seq, row.seq);
		assert_int_equal(s.freq, row.freq);
		assert_int_equal(s.ssid_len, strlen(row.ssid));
		assert_memory_equal(s.ssid, row.ssid, s.ssid_len);
		assert_true(s.ts_us > 1600000000ull * 1000000u);
		assert_true(i < c->frames);
		memcpy(macs[i], s.addr, 6);
		i++;
	}
	assert_int_equal(csv_next(csv, &row), 0);	/* no CSV row left over */
	assert_int_equal(i, c->frames);
	assert_int_equal(hal_wifi_read(w, &(struct hal_wifi_sighting){ 0 }), -ENODATA);

	qsort(macs, i, 6, mac_cmp);
	for (size_t k = 0; k < i; k++) {
		if (k && memcmp(macs[k], macs[k - 1], 6) == 0)
			continue;
		sources++;
		randomized += macs[k][0] & 0x02 ? 1 : 0;
	}
	assert_int_equal(sources, c->sources);
	assert_int_equal(randomized, c->randomized);

	hal_wifi_get_stats(w, &st);
	assert_int_equal(st.frames, c->frames);
	assert_int_equal(st.sightings, c->frames);
	assert_int_equal(st.malformed, 0);
	assert_int_equal(st.ignored, 0);
	assert_int_equal(st.truncated, 0);
	free(macs);
	fclose(csv);
}

static void test_file_backend(void **state)
{
	const struct capture *caps[] = { &cap_2023, &cap_2022 };

	(void)state;
	for (size_t i = 0; i < 2; i++) {
		char source[512];
		struct hal_wifi w = { 0 };

		snprintf(source, sizeof(source), "pcapfile:%s", caps[i]->pcap);
		assert_int_equal(hal_wifi_open(&w, source, NULL), 0);
		assert_string_equal(w.name, caps[i]->pcap);
		assert_true(hal_wifi_fd(&w) >= 0);
		check_capture(&w, caps[i]);
		hal_wifi_close(&w);
		assert_null(w.ops);
	}
}

static uint8_t *slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	uint8_t *buf;
	long n;

	assert_non_null(f);
	assert_int_equal(fseek(f, 0, SEEK_END), 0);
	n = ftell(f);
	assert_true(n > 0);
	rewind(f);
	buf = malloc((size_t)n);
	assert_non_null(buf);
	assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
	fclose(f);
	*len = (size_t)n;
	return buf;
}

/* A child writes buf into a pipe and exits; returns the read end. */
static FILE *feed(const uint8_t *buf, size_t len, pid_t *pid)
{
	int fds[2];
	FILE *f;

	assert_int_equal(pipe2(fds, O_CLOEXEC), 0);
	*pid = fork();
	assert_true(*pid >= 0);
	if (*pid == 0) {
		size_t off = 0;

		close(fds[0]);
		while (off < len) {
			ssize_t n = write(fds[1], buf + off, len - off);

			if (n <= 0)
				_exit(1);
			off += (size_t)n;
		}
		_exit(0);
	}
	close(fds[1]);
	f = fdopen(fds[0], "rb");
	assert_non_null(f);
	return f;
}

static void reap(pid_t pid)
{
	int status;

	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

static void test_stream_over_pipe(void **state)
{
	struct hal_wifi w = { 0 };
	size_t len;
	uint8_t *buf = slurp(cap_2023.pcap, &len);
	pid_t pid;

	(void)state;
	assert_int_equal(hal_wifi_open_stream(&w, feed(buf, len, &pid), "pipe"), 0);
	assert_string_equal(w.name, "pipe");
	check_capture(&w, &cap_2023);
	hal_wifi_close(&w);
	reap(pid);
	free(buf);
}

struct pipe_src {
	const uint8_t *buf;
	size_t len;
	pid_t pid;
};

/* Hook: the "interface" is a savefile arriving through a pipe. */
static int pipe_open(const char *iface, void *ctx, pcap_t **ret)
{
	struct pipe_src *ps = ctx;
	char errbuf[PCAP_ERRBUF_SIZE];
	pcap_t *p;

	assert_string_equal(iface, "mon0");
	p = pcap_fopen_offline(feed(ps->buf, ps->len, &ps->pid), errbuf);
	assert_non_null(p);
	*ret = p;
	return 0;
}

static int no_set_freq(struct wifi_pcap *wp, unsigned int freq)
{
	(void)wp;
	(void)freq;
	fail_msg("no channel configured, none must be set");
	return -EIO;
}

static void test_live_read_path(void **state)
{
	const struct capture *caps[] = { &cap_2023, &cap_2022 };

	(void)state;
	for (size_t i = 0; i < 2; i++) {
		struct pipe_src ps = { 0 };
		const struct wifi_live_hooks hooks = { pipe_open, no_set_freq, &ps };
		struct hal_wifi w = { 0 };
		struct pollfd pfd;
		uint8_t *buf = slurp(caps[i]->pcap, &ps.len);

		ps.buf = buf;
		assert_int_equal(wifi_live_attach(&w, "mon0", NULL, &hooks), 0);
		assert_ptr_equal(w.ops, &wifi_live_ops);
		assert_string_equal(w.name, "mon0");
		pfd.fd = hal_wifi_fd(&w);
		pfd.events = POLLIN;
		assert_true(pfd.fd >= 0);
		assert_int_equal(poll(&pfd, 1, -1), 1);
		assert_true(pfd.revents & (POLLIN | POLLHUP));
		check_capture(&w, caps[i]);
		hal_wifi_close(&w);
		reap(ps.pid);
		free(buf);
	}
}

static void test_pcapng(void **state)
{
	struct hal_wifi w = { 0 };
	struct hal_wifi_sighting s;
	struct hal_wifi_stats st;
	int n = 0, rc;

	(void)state;
	assert_int_equal(hal_wifi_open(&w, "pcapfile:" SL_TEST_DATA_DIR
				       "/wifi/vectors/accept.pcapng", NULL), 0);
	while ((rc = hal_wifi_read(&w, &s)) == 1) {
		/* make_vectors.py: record i at 1767225600 + i s + i µs */
		assert_int_equal(s.ts_us, (1767225600ull + (unsigned)n) * 1000000u + (unsigned)n);
		n++;
	}
	assert_int_equal(rc, -ENODATA);
	assert_int_equal(n, 9);
	hal_wifi_close(&w);

	/* the rejects: every record counted, none a sighting */
	assert_int_equal(hal_wifi_open(&w, "pcapfile:" SL_TEST_DATA_DIR
				       "/wifi/vectors/reject.pcap", NULL), 0);
	assert_int_equal(hal_wifi_read(&w, &s), -ENODATA);
	hal_wifi_get_stats(&w, &st);
	assert_int_equal(st.frames, 17);
	assert_int_equal(st.sightings, 0);
	assert_int_equal(st.ignored, 3);	/* beacon, probe response, data */
	assert_int_equal(st.malformed, 14);
	hal_wifi_close(&w);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_file_backend),
		cmocka_unit_test(test_stream_over_pipe),
		cmocka_unit_test(test_live_read_path),
		cmocka_unit_test(test_pcapng),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
