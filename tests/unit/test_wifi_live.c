/* SPDX-License-Identifier: MIT */
/*
 * The Wi-Fi live backend's state machine with its device replaced by
 * hooks (wifi_live_attach): capture lost mid-stream (a pipe whose pcap
 * record is cut short), retries that fail then succeed, channel restored
 * after a reopen, channel hopping order and failures, open failures at
 * every step (nothing leaks: run under ASan); and the public front door's
 * errors (hal_wifi_open, hal_wifi_open_stream, file sources refusing
 * retry/hop, close on NULL and twice).
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "wifi_pcap.h"

#define CAPTURE SL_TEST_DATA_DIR "/wifi/sc6-61_2023-02-23_anonymized.pcap"
#define CAPTURE_FRAMES 1694

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

struct fake {
	const uint8_t *buf;	/* what the next open delivers */
	size_t len;
	int open_rc;		/* injected open failure, 0 = succeed */
	int set_rc;		/* injected set_freq failure */
	int dlt;		/* != 0: open a dead handle of this link type */
	int opens;
	pid_t pids[8];
	int npids;
	unsigned int freqs[32];	/* every set_freq call */
	int nfreqs;
};

static int fake_open(const char *iface, void *ctx, pcap_t **ret)
{
	struct fake *fk = ctx;
	char errbuf[PCAP_ERRBUF_SIZE];
	pcap_t *p;

	assert_string_equal(iface, "wlan1mon");
	fk->opens++;
	if (fk->open_rc)
		return fk->open_rc;
	if (fk->dlt) {
		*ret = pcap_open_dead(fk->dlt, 65535);
		return 0;
	}
	assert_true(fk->npids < 8);
	p = pcap_fopen_offline(feed(fk->buf, fk->len, &fk->pids[fk->npids++]), errbuf);
	assert_non_null(p);
	*ret = p;
	return 0;
}

static int fake_set_freq(struct wifi_pcap *wp, unsigned int freq)
{
	struct fake *fk = wp->hooks.ctx;

	assert_true(fk->nfreqs < 32);
	fk->freqs[fk->nfreqs++] = freq;
	return fk->set_rc;
}

static void reap_all(struct fake *fk)
{
	for (int i = 0; i < fk->npids; i++) {
		int status;

		assert_int_equal(waitpid(fk->pids[i], &status, 0), fk->pids[i]);
	}
	fk->npids = 0;
}

static void test_lost_and_recovered(void **state)
{
	struct fake fk = { 0 };
	const struct wifi_live_hooks hooks = { fake_open, fake_set_freq, &fk };
	struct hal_wifi_cfg cfg = { .channels = { 1, 6, 11 }, .n_channels = 3, .hop_ms = 250 };
	struct hal_wifi w = { 0 };
	struct hal_wifi_sighting s;
	struct hal_wifi_stats st;
	size_t len, cut;
	uint8_t *buf = slurp(CAPTURE, &len);
	int n, rc;

	(void)state;
	/* pcap header (24), 3 records (16-byte header + caplen), then a
	 * record cut short: libpcap reports "truncated dump file", which the
	 * live backend takes as the capture lost */
	cut = 24;
	for (int i = 0; i < 3; i++)
		cut += 16 + (size_t)(buf[cut + 8] | buf[cut + 9] << 8);
	cut += 16 + 10;
	fk.buf = buf;
	fk.len = cut;
	assert_int_equal(wifi_live_attach(&w, "wlan1mon", &cfg, &hooks), 0);
	assert_int_equal(fk.nfreqs, 1);
	assert_int_equal(fk.freqs[0], 2412);	/* first channel tuned at open */
	assert_true(hal_wifi_fd(&w) >= 0);
	for (int i = 0; i < 3; i++)
		assert_int_equal(hal_wifi_read(&w, &s), 1);
	assert_int_equal(hal_wifi_read(&w, &s), -ENETDOWN);
	assert_int_equal(hal_wifi_fd(&w), -ENETDOWN);
	assert_int_equal(hal_wifi_read(&w, &s), -ENETDOWN);
	assert_int_equal(hal_wifi_hop(&w), -ENETDOWN);
	hal_wifi_get_stats(&w, &st);
	assert_int_equal(st.lost, 1);
	assert_int_equal(st.sightings, 3);

	/* the interface is still missing */
	fk.open_rc = -ENODEV;
	assert_int_equal(hal_wifi_retry(&w), -ENODEV);
	assert_int_equal(hal_wifi_fd(&w), -ENETDOWN);
	/* it is back, but tuning fails: still down, nothing leaked */
	fk.open_rc = 0;
	fk.len = len;
	fk.set_rc = -EBUSY;
	assert_int_equal(hal_wifi_retry(&w), -EBUSY);
	assert_int_equal(hal_wifi_fd(&w), -ENETDOWN);
	/* and now it works: same channel restored */
	fk.set_rc = 0;
	fk.nfreqs = 0;
	assert_int_equal(hal_wifi_retry(&w), 0);
	assert_int_equal(fk.nfreqs, 1);
	assert_int_equal(fk.freqs[0], 2412);
	assert_true(hal_wifi_fd(&w) >= 0);
	rc = hal_wifi_retry(&w);	/* up: nothing to do */
	assert_int_equal(rc, 0);
	assert_int_equal(fk.opens, 4);
	for (n = 0; (rc = hal_wifi_read(&w, &s)) == 1; n++)
		;
	assert_int_equal(rc, -ENODATA);
	assert_int_equal(n, CAPTURE_FRAMES);
	hal_wifi_get_stats(&w, &st);
	assert_int_equal(st.reopened, 1);
	assert_int_equal(st.lost, 1);
	assert_int_equal(st.sightings, 3 + CAPTURE_FRAMES);

	/* hopping: 6, 11, back to 1; a failed hop moves on anyway */
	fk.nfreqs = 0;
	assert_int_equal(hal_wifi_hop(&w), 0);
	assert_int_equal(hal_wifi_hop(&w), 0);
	assert_int_equal(hal_wifi_hop(&w), 0);
	fk.set_rc = -EBUSY;
	assert_int_equal(hal_wifi_hop(&w), -EBUSY);
	fk.set_rc = 0;
	assert_int_equal(hal_wifi_hop(&w), 0);
	assert_int_equal(fk.nfreqs, 5);
	assert_int_equal(fk.freqs[0], 2437);
	assert_int_equal(fk.freqs[1], 2462);
	assert_int_equal(fk.freqs[2], 2412);
	assert_int_equal(fk.freqs[3], 2437);
	assert_int_equal(fk.freqs[4], 2462);
	hal_wifi_get_stats(&w, &st);
	assert_int_equal(st.hops, 4);

	hal_wifi_close(&w);
	hal_wifi_close(&w);	/* twice is fine */
	reap_all(&fk);
	free(buf);
}

static void test_attach_errors(void **state)
{
	static const char *const bad_names[] = {
		"", "a-very-long-name0", "../x",
	};
	struct fake fk = { 0 };
	const struct wifi_live_hooks hooks = { fake_open, fake_set_freq, &fk };
	struct hal_wifi_cfg one = { .channels = { 6 }, .n_channels = 1 };
	struct hal_wifi_cfg bad = { .channels = { 1, 15 }, .n_channels = 2 };
	struct hal_wifi w, before;
	size_t len;
	uint8_t *buf = slurp(CAPTURE, &len);

	(void)state;
	memset(&w, 0x5a, sizeof(w));
	before = w;
	fk.buf = buf;
	fk.len = len;
	for (size_t i = 0; i < sizeof(bad_names) / sizeof(bad_names[0]); i++)
		assert_int_equal(wifi_live_attach(&w, bad_names[i], NULL, &hooks), -EINVAL);
	assert_int_equal(wifi_live_attach(&w, "wlan1mon", &bad, &hooks), -EINVAL);
	assert_int_equal(fk.opens, 0);

	fk.open_rc = -EPERM;	/* no CAP_NET_RAW */
	assert_int_equal(wifi_live_attach(&w, "wlan1mon", NULL, &hooks), -EPERM);
	fk.open_rc = 0;
	fk.dlt = 1;		/* Ethernet: not a monitor interface */
	assert_int_equal(wifi_live_attach(&w, "wlan1mon", NULL, &hooks), -EPROTONOSUPPORT);
	fk.dlt = 0;
	fk.set_rc = -EOPNOTSUPP;	/* channel set, no nl80211 */
	assert_int_equal(wifi_live_attach(&w, "wlan1mon", &one, &hooks), -EOPNOTSUPP);
	assert_memory_equal(&w, &before, sizeof(w));	/* untouched throughout */

	/* one fixed channel: tuned once, cannot hop */
	fk.set_rc = 0;
	fk.nfreqs = 0;
	assert_int_equal(wifi_live_attach(&w, "wlan1mon", &one, &hooks), 0);
	assert_int_equal(fk.nfreqs, 1);
	assert_int_equal(fk.freqs[0], 2437);
	assert_int_equal(hal_wifi_hop(&w), -EINVAL);
	hal_wifi_close(&w);
	reap_all(&fk);
	free(buf);
}

static void test_open_errors(void **state)
{
	struct hal_wifi w, before;
	struct hal_wifi_stats st;
	char errbuf[PCAP_ERRBUF_SIZE];
	char path[] = "/tmp/test_wifi_live.XXXXXX";
	pcap_t *dead;
	pcap_dumper_t *d;
	int fd, rc;

	(void)state;
	memset(&w, 0x5a, sizeof(w));
	before = w;
	assert_int_equal(hal_wifi_open(&w, NULL, NULL), -EINVAL);
	assert_int_equal(hal_wifi_open(&w, "bogus:x", NULL), -EINVAL);
	assert_int_equal(hal_wifi_open(&w, "pcapfile:", NULL), -EINVAL);
	assert_int_equal(hal_wifi_open(&w, "pcap:", NULL), -EINVAL);
	assert_int_equal(hal_wifi_open(&w, "pcap:a-very-long-name0", NULL), -EINVAL);
	assert_int_equal(hal_wifi_open(&w, "pcapfile:/nonexistent/x.pcap", NULL), -ENOENT);
	/* a CSV is not a capture */
	assert_int_equal(hal_wifi_open(&w, "pcapfile:" SL_TEST_DATA_DIR
				       "/wifi/sc6-61_2023-02-23_ver-99.csv", NULL), -EINVAL);
	/* an Ethernet capture is not ours */
	fd = mkstemp(path);
	assert_true(fd >= 0);
	close(fd);
	dead = pcap_open_dead(1, 65535);
	d = pcap_dump_open(dead, path);
	assert_non_null(d);
	pcap_dump_close(d);
	pcap_close(dead);
	{
		char src[64];

		snprintf(src, sizeof(src), "pcapfile:%s", path);
		assert_int_equal(hal_wifi_open(&w, src, NULL), -EPROTONOSUPPORT);
	}
	unlink(path);
	/* a real interface that does not exist: -ENODEV natively, -EPERM
	 * without CAP_NET_RAW, -EIO where packet sockets are not emulated
	 * (qemu-user) -- a failure in any case */
	rc = hal_wifi_open(&w, "pcap:slnone0", NULL);
	print_message("pcap:slnone0 -> %d\n", rc);
	assert_true(rc < 0);
	assert_memory_equal(&w, &before, sizeof(w));

	assert_int_equal(hal_wifi_open_stream(&w, NULL, NULL), -EINVAL);
	memset(errbuf, 0, sizeof(errbuf));	/* 8 zero bytes: no pcap magic */
	assert_int_equal(hal_wifi_open_stream(&w, fmemopen(errbuf, 8, "r"), NULL), -EINVAL);
	assert_memory_equal(&w, &before, sizeof(w));

	/* a file cannot be reopened nor hopped */
	assert_int_equal(hal_wifi_open(&w, "pcapfile:" CAPTURE, NULL), 0);
	assert_int_equal(hal_wifi_retry(&w), -EOPNOTSUPP);
	assert_int_equal(hal_wifi_hop(&w), -EOPNOTSUPP);
	hal_wifi_close(&w);
	hal_wifi_get_stats(&w, &st);	/* closed: zeros */
	assert_int_equal(st.frames, 0);
	hal_wifi_close(NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_lost_and_recovered),
		cmocka_unit_test(test_attach_errors),
		cmocka_unit_test(test_open_errors),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
