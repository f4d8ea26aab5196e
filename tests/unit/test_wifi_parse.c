/* SPDX-License-Identifier: MIT */
/*
 * Unit tests for the Wi-Fi parsers (hal/wifi/radiotap.c, dot11.c): radiotap
 * vectors with extended present bitmaps, radiotap and vendor namespaces,
 * several antennas, XChannel and the FCS flag; frames that must be
 * rejected; every truncation of every vector; link types; the channel
 * helpers and the reopen backoff.
 *
 * The vectors are tests/data/wifi/vectors/{accept,reject}.pcap, built by
 * make_vectors.py and checked against Wireshark 4.0.17 with
 * check_tshark.sh (its output is committed as tshark.txt); each row below
 * quotes what tshark reported for that record.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <pcap/pcap.h>
#include <stdlib.h>
#include <string.h>

#include <hal/wifi.h>

#define N(a) (sizeof(a) / sizeof((a)[0]))
#define VEC_DIR SL_TEST_DATA_DIR "/wifi/vectors/"

static const uint8_t SA_RANDOM[6] = { 0xda, 0xa1, 0x19, 0x00, 0x11, 0x22 };
static const uint8_t SA_GLOBAL[6] = { 0x00, 0x1b, 0x63, 0x84, 0x45, 0xe6 };
#define FP_BASE 0x7dfb9e9351e7f990ull	/* make_vectors.py fingerprint() */

static const struct accept_vec {
	uint16_t rt_len;
	bool has_rssi;
	int8_t rssi;
	uint8_t n_signals;
	uint16_t freq;
	bool fcs;
	uint16_t seq;
	const uint8_t *sa;
	const char *ssid;
	uint64_t fp;
} accept_vecs[] = {
	/* A1 tshark: len 15, dbm_antsignal -42, freq 2437, seq 100 */
	{ 15, true, -42, 1, 2437, false, 100, SA_RANDOM, "store-wifi", FP_BASE },
	/* A2 tshark: len 15, -43, 2437, flags.fcs 1, wlan.fcs 0xcff53868 (good) */
	{ 15, true, -43, 1, 2437, true, 101, SA_RANDOM, "store-wifi", FP_BASE },
	/* A3 tshark: len 38, antsignal -40,-45,-41 antenna 0,1 (combined first) */
	{ 38, true, -40, 3, 2462, false, 4095, SA_GLOBAL, "store-wifi", FP_BASE },
	/* A4 tshark: len 26, antsignal -70,-55 antenna 0,1: strongest = -55 */
	{ 26, true, -55, 2, 5180, false, 0, SA_GLOBAL, "store-wifi", FP_BASE },
	/* A5 tshark: len 50, antsignal -50,-60 antenna 1 (after vendor ns) */
	{ 50, true, -50, 2, 2412, false, 7, SA_RANDOM, "store-wifi", FP_BASE },
	/* A6 tshark: len 42, antsignal -33 antenna 2 (after vendor ns) */
	{ 42, true, -33, 1, 2472, false, 8, SA_RANDOM, "store-wifi", FP_BASE },
	/* A7 tshark: len 20, antsignal -71, xchannel.freq 5745 */
	{ 20, true, -71, 1, 5745, false, 9, SA_GLOBAL, "store-wifi", FP_BASE },
	/* A8 tshark: len 15, -64, 5180, +HTC, SSID <MISSING> (wildcard) */
	{ 15, true, -64, 1, 5180, false, 10, SA_RANDOM, "", 0xc21ecd554dce591dull },
	/* A9 tshark: len 26, -80, 2412 (then an unknown field 32) */
	{ 26, true, -80, 1, 2412, false, 11, SA_GLOBAL, "store-wifi", FP_BASE },
};

static const struct reject_vec {
	int rc;
	const char *why;
} reject_vecs[] = {
	/* R1 tshark: Malformed Packet: 802.11 Radiotap */
	{ -EINVAL, "truncated radiotap header" },
	/* R2 tshark: Malformed Packet: 802.11 Radiotap */
	{ -EINVAL, "it_len past the buffer" },
	/* R3 tshark: Radiotap data goes past the end of the radiotap header */
	{ -EINVAL, "aligned Channel field past it_len" },
	/* R4 tshark: not flagged; radiotap.org: each present word must fit */
	{ -EINVAL, "extended present bitmap past it_len" },
	/* R5 tshark: Radiotap data goes past the end of the radiotap header */
	{ -EINVAL, "vendor namespace skip_length past it_len" },
	/* R6 tshark: not flagged; radiotap.org defines it_version 0 only */
	{ -EPROTONOSUPPORT, "radiotap version 1" },
	/* R7 tshark: wlan.fc.type_subtype 0x0008 (beacon) */
	{ -ENOMSG, "beacon" },
	/* R8 tshark: 0x0005 (probe response) */
	{ -ENOMSG, "probe response" },
	/* R9 tshark: 0x0020 (data) */
	{ -ENOMSG, "data frame" },
	/* R10 tshark: Tag Length is longer than remaining payload */
	{ -EBADMSG, "truncated element" },
	/* R11 tshark: SSID length (33) greater than maximum (32) */
	{ -EBADMSG, "SSID of 33 bytes" },
	/* R12 tshark: Malformed Packet: IEEE 802.11 */
	{ -EBADMSG, "802.11 header cut at 20 bytes" },
	/* R13 tshark: flags.fcs 1, Tag Length is longer than remaining payload */
	{ -EBADMSG, "FCS flag without an FCS" },
	/* R14 tshark: flags.badfcs 1 */
	{ -EBADMSG, "FCS check failed" },
	/* R15 tshark: Malformed Packet: IEEE 802.11 */
	{ -EBADMSG, "element id without length" },
	/* R16 tshark: not flagged (Protected probe requests do not exist) */
	{ -EBADMSG, "Protected probe request" },
	/* R17 tshark: Malformed Packet: IEEE 802.11 */
	{ -EBADMSG, "FCS flag, 2 bytes of frame" },
};

/*
 * First record of sc6-61_2023-02-23_anonymized.pcap (ESP32 sniffer: dBm
 * signal and Antenna 0 in one radiotap namespace). tshark: antsignal -87,
 * antenna 0, freq 2417, seq 3042, SA 7c:8b:ca:ec:a0:18; CSV row idx 0
 * agrees; fingerprint from make_vectors.py fingerprint().
 */
static const uint8_t esp32_frame[] = {
	0x00, 0x00, 0x0e, 0x00, 0x28, 0x08, 0x00, 0x00, 0x71, 0x09, 0x80, 0x00,
	0xa9, 0x00, 0x40, 0x00, 0x00, 0x00, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
	0x7c, 0x8b, 0xca, 0xec, 0xa0, 0x18, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
	0x20, 0xbe, 0x00, 0x00, 0x01, 0x08, 0x82, 0x84, 0x8b, 0x96, 0x0c, 0x12,
	0x18, 0x24, 0x32, 0x04, 0x30, 0x48, 0x60, 0x6c, 0x2d, 0x1a, 0x6e, 0x18,
	0x02, 0xff, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x46, 0x05, 0x32, 0x00, 0x01, 0x00, 0x00, 0x7f, 0x09, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
};

struct rec {
	uint8_t *data;
	size_t len;
};

/* Reads every record of a vector pcap into exact-size heap copies (so
 * ASan sees any read past a record). */
static size_t load_pcap(const char *path, struct rec *out, size_t cap)
{
	char errbuf[PCAP_ERRBUF_SIZE];
	struct pcap_pkthdr *h;
	const u_char *d;
	size_t n = 0;
	pcap_t *p = pcap_open_offline(path, errbuf);

	assert_non_null(p);
	assert_int_equal(pcap_datalink(p), HAL_WIFI_DLT_RADIOTAP);
	while (pcap_next_ex(p, &h, &d) == 1) {
		assert_true(n < cap);
		out[n].len = h->caplen;
		out[n].data = malloc(h->caplen ? h->caplen : 1);
		assert_non_null(out[n].data);
		memcpy(out[n].data, d, h->caplen);
		n++;
	}
	pcap_close(p);
	return n;
}

static void free_recs(struct rec *r, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(r[i].data);
}

static void test_accept_vectors(void **state)
{
	struct rec recs[32];
	size_t n = load_pcap(VEC_DIR "accept.pcap", recs, N(recs));

	(void)state;
	assert_int_equal(n, N(accept_vecs));
	for (size_t i = 0; i < n; i++) {
		const struct accept_vec *v = &accept_vecs[i];
		struct hal_wifi_radiotap rt;
		struct hal_wifi_sighting s;

		print_message("A%zu\n", i + 1);
		assert_int_equal(hal_wifi_radiotap_parse(recs[i].data, recs[i].len, &rt), 0);
		assert_int_equal(rt.len, v->rt_len);
		assert_int_equal(rt.has_fcs, v->fcs);
		assert_false(rt.bad_fcs);
		assert_int_equal(rt.n_signals, v->n_signals);
		assert_int_equal(rt.freq, v->freq);

		memset(&s, 0xa5, sizeof(s));
		assert_int_equal(hal_wifi_frame_parse(HAL_WIFI_DLT_RADIOTAP, recs[i].data,
						      recs[i].len, 1234567, &s), 0);
		assert_int_equal(s.ts_us, 1234567);
		assert_int_equal(s.has_rssi, v->has_rssi);
		assert_int_equal(s.rssi, v->rssi);
		assert_int_equal(s.freq, v->freq);
		assert_int_equal(s.seq, v->seq);
		assert_memory_equal(s.addr, v->sa, 6);
		assert_int_equal(s.randomized, v->sa == SA_RANDOM);
		assert_int_equal(s.ssid_len, strlen(v->ssid));
		assert_memory_equal(s.ssid, v->ssid, s.ssid_len);
		for (size_t k = s.ssid_len; k < HAL_WIFI_SSID_MAX; k++)
			assert_int_equal(s.ssid[k], 0);
		assert_int_equal(s.fp, v->fp);
	}
	free_recs(recs, n);
}

static void test_reject_vectors(void **state)
{
	struct rec recs[32];
	size_t n = load_pcap(VEC_DIR "reject.pcap", recs, N(recs));

	(void)state;
	assert_int_equal(n, N(reject_vecs));
	for (size_t i = 0; i < n; i++) {
		struct hal_wifi_sighting s, before;

		print_message("R%zu: %s\n", i + 1, reject_vecs[i].why);
		memset(&s, 0x5a, sizeof(s));
		before = s;
		assert_int_equal(hal_wifi_frame_parse(HAL_WIFI_DLT_RADIOTAP, recs[i].data,
						      recs[i].len, 1, &s),
				 reject_vecs[i].rc);
		assert_memory_equal(&s, &before, sizeof(s));	/* untouched */
	}
	free_recs(recs, n);
}

/* Every prefix of every vector: no read outside it (ASan), a clean
 * error or a parse that stays inside. */
static void test_truncations(void **state)
{
	struct rec recs[64];
	size_t n = load_pcap(VEC_DIR "accept.pcap", recs, N(recs));

	(void)state;
	n += load_pcap(VEC_DIR "reject.pcap", recs + n, N(recs) - n);
	for (size_t i = 0; i < n; i++) {
		for (size_t len = 0; len < recs[i].len; len++) {
			uint8_t *cut = malloc(len ? len : 1);
			struct hal_wifi_radiotap rt;
			struct hal_wifi_sighting s;
			int rc;

			assert_non_null(cut);
			memcpy(cut, recs[i].data, len);
			rc = hal_wifi_radiotap_parse(cut, len, &rt);
			if (rc == 0)
				assert_true(rt.len <= len);
			rc = hal_wifi_frame_parse(HAL_WIFI_DLT_RADIOTAP, cut, len, 0, &s);
			assert_true(rc == 0 || rc == -EINVAL || rc == -EBADMSG ||
				    rc == -ENOMSG || rc == -EPROTONOSUPPORT);
			if (rc == 0)
				assert_true(s.ssid_len <= HAL_WIFI_SSID_MAX);
			free(cut);
		}
	}
	free_recs(recs, n);
}

static void test_esp32_frame(void **state)
{
	struct hal_wifi_sighting s;
	static const uint8_t sa[6] = { 0x7c, 0x8b, 0xca, 0xec, 0xa0, 0x18 };

	(void)state;
	assert_int_equal(hal_wifi_frame_parse(HAL_WIFI_DLT_RADIOTAP, esp32_frame,
					      sizeof(esp32_frame), 5, &s), 0);
	assert_true(s.has_rssi);
	assert_int_equal(s.rssi, -87);
	assert_int_equal(s.freq, 2417);
	assert_int_equal(s.seq, 3042);
	assert_memory_equal(s.addr, sa, 6);
	assert_false(s.randomized);
	assert_int_equal(s.ssid_len, 0);
	assert_int_equal(s.fp, 0x99fad5d6ef3d1d56ull);
}

static void test_link_types(void **state)
{
	const uint8_t *frame = esp32_frame + 14;	/* it_len 14 */
	size_t flen = sizeof(esp32_frame) - 14;
	struct hal_wifi_sighting s;
	struct hal_wifi_probe p;

	(void)state;
	/* DLT 105: the same 802.11 frame without metadata */
	assert_int_equal(hal_wifi_frame_parse(HAL_WIFI_DLT_IEEE802_11, frame, flen, 0, &s), 0);
	assert_false(s.has_rssi);
	assert_int_equal(s.freq, 0);
	assert_int_equal(s.seq, 3042);
	assert_int_equal(s.fp, 0x99fad5d6ef3d1d56ull);
	/* Ethernet (DLT 1) is not ours */
	assert_int_equal(hal_wifi_frame_parse(1, frame, flen, 0, &s), -EPROTONOSUPPORT);

	assert_int_equal(hal_wifi_probe_parse(frame, flen, &p), 0);
	assert_ptr_equal(p.sa, frame + 10);
	assert_ptr_equal(p.ssid, frame + 26);	/* SSID element at 24, empty */
	assert_int_equal(p.ssid_len, 0);
	assert_int_equal(p.n_elements, 6);	/* CSV dot11elt [0, 1, 50, 45, 70, 127] */
	/* protocol version 1 */
	{
		uint8_t bad[64];

		memcpy(bad, frame, sizeof(bad));
		bad[0] |= 1;
		assert_int_equal(hal_wifi_probe_parse(bad, sizeof(bad), &p), -EBADMSG);
	}
	assert_int_equal(hal_wifi_probe_parse(frame, 1, &p), -EBADMSG);
	assert_int_equal(hal_wifi_radiotap_parse(esp32_frame, 7, &(struct hal_wifi_radiotap){ 0 }),
			 -EINVAL);
}

static void test_chan_to_freq(void **state)
{
	/* IEEE 802.11-2020 §19.3.15 / §17.3.8.4.2: 2407 + 5 n, 2484 (ch 14), 5000 + 5 n */
	static const struct { unsigned int chan, freq; } v[] = {
		{ 1, 2412 }, { 6, 2437 }, { 11, 2462 }, { 13, 2472 }, { 14, 2484 },
		{ 36, 5180 }, { 100, 5500 }, { 149, 5745 }, { 165, 5825 }, { 177, 5885 },
		{ 0, 0 }, { 15, 0 }, { 31, 0 }, { 178, 0 }, { 1000, 0 },
	};

	(void)state;
	for (size_t i = 0; i < N(v); i++)
		assert_int_equal(hal_wifi_chan_to_freq(v[i].chan), v[i].freq);
}

static void test_channels_parse(void **state)
{
	static const char *const bad[] = {
		"1,,6", "abc", "1,6,", ",1", "15", "1;6", "6 11", "-1", "99999999999",
	};
	struct hal_wifi_cfg cfg = { 0 }, before;
	char many[256] = "";

	(void)state;
	assert_int_equal(hal_wifi_channels_parse("1,6,11", &cfg), 0);
	assert_int_equal(cfg.n_channels, 3);
	assert_int_equal(cfg.channels[0], 1);
	assert_int_equal(cfg.channels[1], 6);
	assert_int_equal(cfg.channels[2], 11);
	assert_int_equal(hal_wifi_channels_parse(" 36 , 149\t", &cfg), 0);
	assert_int_equal(cfg.n_channels, 2);
	assert_int_equal(cfg.channels[1], 149);
	assert_int_equal(hal_wifi_channels_parse("", &cfg), 0);
	assert_int_equal(cfg.n_channels, 0);

	assert_int_equal(hal_wifi_channels_parse("1,6", &cfg), 0);
	before = cfg;
	for (size_t i = 0; i < N(bad); i++) {
		assert_int_equal(hal_wifi_channels_parse(bad[i], &cfg), -EINVAL);
		assert_memory_equal(&cfg, &before, sizeof(cfg));
	}
	for (int i = 0; i <= HAL_WIFI_MAX_CHANNELS; i++)
		strcat(many, i ? ",1" : "1");
	assert_int_equal(hal_wifi_channels_parse(many, &cfg), -EINVAL);
	many[strlen(many) - 2] = '\0';	/* exactly HAL_WIFI_MAX_CHANNELS */
	assert_int_equal(hal_wifi_channels_parse(many, &cfg), 0);
	assert_int_equal(cfg.n_channels, HAL_WIFI_MAX_CHANNELS);
}

static void test_backoff(void **state)
{
	(void)state;
	assert_int_equal(hal_wifi_backoff_ms(0), 1000);
	assert_int_equal(hal_wifi_backoff_ms(1), 2000);
	assert_int_equal(hal_wifi_backoff_ms(5), 32000);
	assert_int_equal(hal_wifi_backoff_ms(6), 60000);
	assert_int_equal(hal_wifi_backoff_ms(1000), 60000);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_accept_vectors),
		cmocka_unit_test(test_reject_vectors),
		cmocka_unit_test(test_truncations),
		cmocka_unit_test(test_esp32_frame),
		cmocka_unit_test(test_link_types),
		cmocka_unit_test(test_chan_to_freq),
		cmocka_unit_test(test_channels_parse),
		cmocka_unit_test(test_backoff),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
