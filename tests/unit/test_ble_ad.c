/* SPDX-License-Identifier: MIT */
/*
 * BLE AD parser and beacon decoders, from tables of public vectors: the
 * beacontools parser tests, the AltBeacon Android library's parser and URL
 * compressor tests, BlueZ unit/test-eir.c, plus payloads that must be
 * rejected. Each row names its source; rows marked "constructed" were
 * written for this project from the cited format specification.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <hal/ble.h>

#include "jsonw.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

static size_t unhex(const char *s, uint8_t *out, size_t cap)
{
	size_t n = 0;

	while (s[0] && s[1]) {
		unsigned v;

		assert_true(n < cap);
		assert_int_equal(sscanf(s, "%2x", &v), 1);
		out[n++] = (uint8_t)v;
		s += 2;
	}
	assert_int_equal(s[0], '\0');
	return n;
}

static void to_json(const struct hal_ble_beacon *b, char *buf, size_t cap)
{
	struct sl_jw w;

	sl_jw_init(&w, buf, cap);
	hal_ble_beacon_json(&w, b);
	assert_true(sl_jw_finish(&w) > 0);
}

/* ---- decoders ---- */

struct decode_vec {
	const char *hex;
	const char *app_uuid;	/* NULL: no app token configured */
	int rc;
	const char *json;	/* expected output when rc == 0 */
};

static const struct decode_vec decode_vecs[] = {
	/* beacontools tests/test_parser.py test_ibeacon */
	{ "0201061aff4c000215414243444546474849404142434445460001000"
	  "2f8", NULL, 0,
	  "{\"format\":\"ibeacon\",\"uuid\":\"41424344-4546-4748-4940-414243444546\","
	  "\"major\":1,\"minor\":2,\"tx_power\":-8}" },
	/* beacontools tests/test_parser.py test_cypress_beacon */
	{ "0201041aff4c000215000500010000100080000080" "5f9b013100026c66c3", NULL, 0,
	  "{\"format\":\"ibeacon\",\"uuid\":\"00050001-0000-1000-8000-00805f9b0131\","
	  "\"major\":2,\"minor\":27750,\"tx_power\":-61}" },
	/* shared snoop log tests/data/ble, frame 134 (scan response; tshark shows Apple 0x004c, 0215...) */
	{ "1aff4c000215494e54454c4c495f524f434b535f48575072f2ffc2", NULL, 0,
	  "{\"format\":\"ibeacon\",\"uuid\":\"494e5445-4c4c-495f-524f-434b535f4857\","
	  "\"major\":20594,\"minor\":62207,\"tx_power\":-62}" },
	/* beacontools test_ibeacon, cut one byte short (constructed: Apple iBeacon length 0x15 broken) */
	{ "0201061aff4c0002154142434445464748494041424344454600010002", NULL, -EBADMSG, NULL },
	{ "02010619ff4c0002154142434445464748494041424344454600010002", NULL, -EPROTO, NULL },
	/* AltBeacon android-beacon-library AltBeaconParserTest testRecognizeBeacon */
	{ "02011a1bff1801beac2f234454cf6d4a0fadf2f4911ba9ffa600010002c50900", NULL, 0,
	  "{\"format\":\"altbeacon\",\"mfg_id\":280,\"id1\":\"2f234454-cf6d-4a0f-adf2-f4911ba9ffa6\","
	  "\"id2\":1,\"id3\":2,\"reserved\":9,\"tx_power\":-59}" },
	/* AltBeacon AltBeaconParserTest testDetectsDaveMHardwareBeacon */
	{ "02011a1bff1801beac2f234454cf6d4a0fadf2f4911ba9ffa600050003be020e09526164426561636f6e"
	  "20555342020a0300000000000000000000000000", NULL, 0,
	  "{\"format\":\"altbeacon\",\"mfg_id\":280,\"id1\":\"2f234454-cf6d-4a0f-adf2-f4911ba9ffa6\","
	  "\"id2\":5,\"id3\":3,\"reserved\":2,\"tx_power\":-66}" },
	/* AltBeacon AltBeaconParserTest testParsesBeaconMissingDataField (no reserved byte) */
	{ "02011a1aff1801beac2f234454cf6d4a0fadf2f4911ba9ffa600010002c5000000", NULL, 0,
	  "{\"format\":\"altbeacon\",\"mfg_id\":280,\"id1\":\"2f234454-cf6d-4a0f-adf2-f4911ba9ffa6\","
	  "\"id2\":1,\"id3\":2,\"tx_power\":-59}" },
	/* AltBeacon AltBeaconParserTest testParseWrongFormatReturnsNothing: the last AD
	 * structure (length 0x09) overruns the payload, so it is rejected outright */
	{ "02011a1aff1801ffff2f234454cf6d4a0fadf2f4911ba9ffa600010002c509", NULL, -EBADMSG, NULL },
	/* AltBeacon testDetectsAlternateBeconType: code 0xaabb is not AltBeacon's 0xbeac */
	{ "02011a1bff1801aabb2f234454cf6d4a0fadf2f4911ba9ffa600010002c50900", NULL, 0,
	  "{\"format\":\"unknown\",\"mfg_id\":280}" },
	/* beacontools test_eddystone_uid */
	{ "0201060303aafe1716aafe00e312345678901234678901000000000001" "0000", NULL, 0,
	  "{\"format\":\"eddystone-uid\",\"namespace\":\"12345678901234678901\","
	  "\"instance\":\"000000000001\",\"tx_power\":-29}" },
	/* beacontools test_bad_packets row 4: FEAA missing from the UUID list; beacontools
	 * rejects it, we decode it (the service data UUID alone is unambiguous) */
	{ "0201060303abfe1716aafe00e312345678901234678901000000000001" "0000", NULL, 0,
	  "{\"format\":\"eddystone-uid\",\"namespace\":\"12345678901234678901\","
	  "\"instance\":\"000000000001\",\"tx_power\":-29}" },
	/* beacontools test_bad_packets row 5: frame type 0x01 is not an Eddystone frame */
	{ "0201060303aafe1716aafe01e312345678901234678901000000000001" "0000", NULL, 0,
	  "{\"format\":\"unknown\"}" },
	/* beacontools test_bad_packets rows 1-3: ASCII "0000000", empty, truncated AD */
	{ "30303030303030", NULL, -EBADMSG, NULL },
	{ "", NULL, 0, "{\"format\":\"unknown\"}" },
	{ "0201060303", NULL, -EBADMSG, NULL },
	/* Eddystone UID spec: 18 or 20 bytes after the UUID (constructed: 19) */
	{ "0201060303aafe1616aafe00e3123456789012346789010000000000010000", NULL, -EPROTO, NULL },
	/* beacontools test_eddystone_url */
	{ "0303aafe1316aafe10f803676974687562" "00" "6369747275" "7a", NULL, 0,
	  "{\"format\":\"eddystone-url\",\"url\":\"https://github.com/citruz\",\"tx_power\":-8}" },
	/* beacontools test_eddystone_tlm */
	{ "0201060303aafe1116aafe20000b181300000014670000" "2ac4", NULL, 0,
	  "{\"format\":\"eddystone-tlm\",\"battery_mv\":2840,\"temp_c\":19.00,"
	  "\"adv_count\":5223,\"uptime_s\":1094.8}" },
	/* Eddystone TLM spec: temperature 0x8000 = not supported (constructed from the row above) */
	{ "0201060303aafe1116aafe20000b188000000014670000" "2ac4", NULL, 0,
	  "{\"format\":\"eddystone-tlm\",\"battery_mv\":2840,\"adv_count\":5223,\"uptime_s\":1094.8}" },
	/* Eddystone TLM spec: negative 8.8 temperature -1.5 C = 0xfe80 (constructed) */
	{ "0201060303aafe1116aafe20000b18fe80000014670000" "2ac4", NULL, 0,
	  "{\"format\":\"eddystone-tlm\",\"battery_mv\":2840,\"temp_c\":-1.50,"
	  "\"adv_count\":5223,\"uptime_s\":1094.8}" },
	/* beacontools test_eddystone_tlm_enc: its length octet 0x11 is 4 short of the frame
	 * (beacontools does not check it), so the payload is malformed here */
	{ "0201060303aafe1116aafe2001414141414141414141414141deadbeff", NULL, -EBADMSG, NULL },
	/* ... with the length fixed (0x15): encrypted TLM is not decoded */
	{ "0201060303aafe1516aafe2001414141414141414141414141deadbeff", NULL, 0,
	  "{\"format\":\"unknown\"}" },
	/* beacontools test_eddystone_tlm, one byte short (constructed) */
	{ "0201060303aafe1016aafe20000b181300000014670000" "2a", NULL, -EPROTO, NULL },
	/* beacontools test_eddystone_eid */
	{ "0201060303aafe0d16aafe30e34549445f74657374", NULL, 0,
	  "{\"format\":\"eddystone-eid\",\"eid\":\"4549445f74657374\",\"tx_power\":-29}" },
	/* app token, 16-bit UUID (constructed: CSS Part A 1.11 service data) */
	{ "0201060b16edfe0102030405060708", "FEED", 0,
	  "{\"format\":\"app-token\",\"token\":\"0102030405060708\"}" },
	{ "0201060b16edfe0102030405060708", "0xfeed", 0,
	  "{\"format\":\"app-token\",\"token\":\"0102030405060708\"}" },
	/* ... the same payload without app_uuid configured */
	{ "0201060b16edfe0102030405060708", NULL, 0, "{\"format\":\"unknown\"}" },
	/* app token, 128-bit UUID 6e400001-b5a3-f393-e0a9-e50e24dcca9e (constructed) */
	{ "1521" "9ecadc240ee5a9e093f3a3b50100406e" "c0ffee42", "6E400001-B5A3-F393-E0A9-E50E24DCCA9E", 0,
	  "{\"format\":\"app-token\",\"token\":\"c0ffee42\"}" },
	/* app token takes precedence over an iBeacon in the same payload (constructed) */
	{ "0516edfe0a0b1aff4c000215414243444546474849404142434445460001000" "2f8", "feed", 0,
	  "{\"format\":\"app-token\",\"token\":\"0a0b\"}" },
	/* app token: empty service data payload (constructed) */
	{ "0316edfe", "feed", -EPROTO, NULL },
	/* AD structure rejects (constructed from CSS Part A): TX power of 2 octets, odd 16-bit
	 * UUID list, 128-bit list of 15 octets, manufacturer data without company id,
	 * service data shorter than its UUID */
	{ "030a0102", NULL, -EBADMSG, NULL },
	{ "0403aafe01", NULL, -EBADMSG, NULL },
	{ "10070102030405060708090a0b0c0d0e0f", NULL, -EBADMSG, NULL },
	{ "02ff4c", NULL, -EBADMSG, NULL },
	{ "0216aa", NULL, -EBADMSG, NULL },
	{ "0220aabbcc", NULL, -EBADMSG, NULL },
	/* a length octet of 0xff with nothing behind it (constructed) */
	{ "ff", NULL, -EBADMSG, NULL },
	/* zero length ends the significant part: what follows is not parsed (CSS Part A 1.0) */
	{ "020106" "00" "ffffffff", NULL, 0, "{\"format\":\"unknown\"}" },
};

static void test_decode_vectors(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(decode_vecs) / sizeof(decode_vecs[0]); i++) {
		const struct decode_vec *v = &decode_vecs[i];
		uint8_t ad[256], app[16];
		struct hal_ble_beacon b;
		char json[512];
		size_t n = unhex(v->hex, ad, sizeof(ad));
		int rc;

		if (v->app_uuid)
			assert_int_equal(hal_ble_uuid_parse(v->app_uuid, app), 0);
		memset(&b, 0x5a, sizeof(b));
		rc = hal_ble_decode(ad, n, v->app_uuid ? app : NULL, &b);
		if (rc != v->rc)
			fail_msg("row %zu (%s): rc %d, want %d", i, v->hex, rc, v->rc);
		if (rc < 0) {
			/* untouched on failure */
			const uint8_t *p = (const uint8_t *)&b;

			for (size_t k = 0; k < sizeof(b); k++)
				assert_int_equal(p[k], 0x5a);
			continue;
		}
		to_json(&b, json, sizeof(json));
		if (strcmp(json, v->json) != 0)
			fail_msg("row %zu: got %s\n want %s", i, json, v->json);
	}
}

/* AltBeacon android-beacon-library UrlBeaconUrlCompressorTest: encoded URL bytes
 * (scheme byte first) and the URL they expand to. */
static const struct {
	const char *encoded;	/* hex */
	int rc;
	const char *url;
} url_vecs[] = {
	/* testCompressURL */
	{ "00" "7261646975736e6574776f726b73" "07", 0, "http://www.radiusnetworks.com" },
	/* testUncompressHttpsURL */
	{ "01" "7261646975736e6574776f726b73" "07", 0, "https://www.radiusnetworks.com" },
	/* testUncompressHttpsURLWithTrailingSlash */
	{ "01" "7261646975736e6574776f726b73" "00", 0, "https://www.radiusnetworks.com/" },
	/* testDecompressWithPath */
	{ "02" "676f6f676c65" "00" "313233", 0, "http://google.com/123" },
	/* testUncompressWithoutTLD */
	{ "02" "787878", 0, "http://xxx" },
	/* testUncompressWithSubdomains */
	{ "00" "666f72756d732e676f6f676c65" "07", 0, "http://www.forums.google.com" },
	/* testUncompressWithSubdomainsAndTrailingSlash */
	{ "00" "666f72756d732e676f6f676c65" "00", 0, "http://www.forums.google.com/" },
	/* testUncompressWithSubdomainsAndSlashesInPath: 21 URL bytes, beyond Eddystone-URL's
	 * 17 (the library does not enforce the limit; the Eddystone spec does) */
	{ "00" "666f72756d732e676f6f676c65" "00" "3132332f343536", -EPROTO, NULL },
	/* ... shortened to 17 bytes (constructed) */
	{ "00" "666f72756d732e676f6f676c65" "00" "313233", 0, "http://www.forums.google.com/123" },
	/* testDecompressWithDotCoTLD */
	{ "02" "676f6f676c652e636f", 0, "http://google.co" },
	/* testCompressWithDotCaTLDWithSlash */
	{ "02" "676f6f676c652e63612f", 0, "http://google.ca/" },
	/* testUncompressWithDotInfoTLD */
	{ "02" "676f6f676c65" "0b", 0, "http://google.info" },
	/* testCompressWithShortenedURLContainingCaps */
	{ "02" "676f6f2e676c2f4332484334" "38", 0, "http://goo.gl/C2HC48" },
	/* testCompressEntireURLInCapsWithPath: 21 URL bytes, beyond 17 */
	{ "01" "7261646975736e6574776f726b73" "00" "433248433438", -EPROTO, NULL },
	/* testCompressWithMoreSubdomains: 27 encoded bytes, beyond Eddystone-URL's 17 */
	{ "00" "666f72756d732e646576656c6f7065722e676f6f676c65" "00" "313233", -EPROTO, NULL },
	/* Eddystone-URL spec: schemes 0x04.. are reserved (constructed) */
	{ "04" "787878", -EPROTO, NULL },
	/* Eddystone-URL spec: 0x0e..0x20 and 0x7f..0xff are reserved (constructed) */
	{ "02" "78" "0e" "78", -EPROTO, NULL },
	{ "02" "78" "20" "78", -EPROTO, NULL },
	{ "02" "78" "7f", -EPROTO, NULL },
	{ "02" "78" "ff", -EPROTO, NULL },
	/* every expansion code 0x00..0x0d once (constructed from the Eddystone-URL table) */
	{ "03" "61000102030405060708090a0b0c0d", 0,
	  "https://a.com/.org/.edu/.net/.info/.biz/.gov/.com.org.edu.net.info.biz.gov" },
	/* scheme only: an empty URL body is allowed (0..17 bytes) */
	{ "01", 0, "https://www." },
};

static void test_eddystone_url_table(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(url_vecs) / sizeof(url_vecs[0]); i++) {
		uint8_t enc[64], ad[96];
		size_t n = unhex(url_vecs[i].encoded, enc, sizeof(enc));
		struct hal_ble_beacon b;
		size_t k = 0;
		int rc;

		/* 0x03 0x03 0xaa 0xfe, then service data: FEAA, frame 0x10, tx 0xee */
		ad[k++] = 0x03;
		ad[k++] = 0x03;
		ad[k++] = 0xaa;
		ad[k++] = 0xfe;
		ad[k++] = (uint8_t)(5 + n);
		ad[k++] = 0x16;
		ad[k++] = 0xaa;
		ad[k++] = 0xfe;
		ad[k++] = 0x10;
		ad[k++] = 0xee;
		memcpy(ad + k, enc, n);
		k += n;
		rc = hal_ble_decode(ad, k, NULL, &b);
		if (rc != url_vecs[i].rc)
			fail_msg("url row %zu: rc %d, want %d", i, rc, url_vecs[i].rc);
		if (rc == 0) {
			assert_int_equal(b.format, HAL_BLE_FMT_EDDYSTONE_URL);
			assert_string_equal(b.url, url_vecs[i].url);
			assert_int_equal(b.tx_power, -18);
		}
	}
}

/* ---- AD parser ---- */

struct ad_vec {
	const char *name;
	const char *hex;
	int flags;		/* 0 when absent, as BlueZ reports */
	const char *local_name;	/* NULL: none */
	bool name_complete;
	int tx_power;		/* 127: absent */
	const char *uuids[9];
	int mfg_company;	/* -1: none */
};

static const struct ad_vec ad_vecs[] = {
	/* BlueZ unit/test-eir.c bluesc_data */
	{ "bluesc", "0201060302161812095761686f6f20426c756553432076312e34", 0x06,
	  "Wahoo BlueSC v1.4", true, 127, { "00001816-0000-1000-8000-00805f9b34fb", NULL }, -1 },
	/* BlueZ unit/test-eir.c wahoo_scale_data */
	{ "wahoo-scale", "0201060302011911095761686f6f205363616c652076312e3305ff0000009c", 0x06,
	  "Wahoo Scale v1.3", true, 127, { "00001901-0000-1000-8000-00805f9b34fb", NULL }, 0x0000 },
	/* BlueZ unit/test-eir.c mio_alpha_data */
	{ "mio-alpha", "02010603020d180609414c504841", 0x06, "ALPHA", true, 127,
	  { "0000180d-0000-1000-8000-00805f9b34fb", NULL }, -1 },
	/* BlueZ unit/test-eir.c cookoo_data */
	{ "cookoo", "020105050202180a180d09434f4f4b4f4f207761746368", 0x05, "COOKOO watch", true,
	  127, { "00001802-0000-1000-8000-00805f9b34fb", "0000180a-0000-1000-8000-00805f9b34fb",
		 NULL }, -1 },
	/* BlueZ unit/test-eir.c citizen_adv_data (0x12: connection interval range, skipped) */
	{ "citizen-adv", "02010505127f018f01140945636f2d44726976652050726f78696d697479", 0x05,
	  "Eco-Drive Proximity", true, 127, { NULL }, -1 },
	/* BlueZ unit/test-eir.c citizen_scan_data */
	{ "citizen-scan", "020a0011071bc5d5a50200469ae111b78d60b4452d", 0, NULL, false, 0,
	  { "2d45b460-8db7-11e1-9a46-0002a5d5c51b", NULL }, -1 },
	/* BlueZ unit/test-eir.c gigaset_gtag_data */
	{ "g-tag", "0201060dff8001021512348091d0f2bbc503020f18000000000000000000", 0x06, NULL,
	  false, 127, { "0000180f-0000-1000-8000-00805f9b34fb", NULL }, 0x0180 },
	/* BlueZ unit/test-eir.c uri_beacon_data */
	{ "uri-beacon", "0303d8fe0c16d8fe002000626c75657a08", 0, NULL, false, 127,
	  { "0000fed8-0000-1000-8000-00805f9b34fb", NULL }, -1 },
	/* BlueZ unit/test-eir.c fuelband_data (first 40 of its 240 bytes; the rest is padding) */
	{ "fuelband", "0f094e696b652b204675656c42616e64110700000000decafadedecadeafdecacaff020a"
	  "00000000", 0, "Nike+ FuelBand", true, 0,
	  { "ffcacade-afde-cade-defa-cade00000000", NULL }, -1 },
	/* BlueZ unit/test-eir.c nokia_bh907_data (first 48 bytes; 0x0d class of device skipped) */
	{ "bh907", "16094e6f6b6961205265616374696f6e2042482d393037020a040f020d110b110e110f11"
	  "1e1108113111000000000000", 0, "Nokia Reaction BH-907", true, 4,
	  { "0000110d-0000-1000-8000-00805f9b34fb", "0000110b-0000-1000-8000-00805f9b34fb",
	    "0000110e-0000-1000-8000-00805f9b34fb", "0000110f-0000-1000-8000-00805f9b34fb",
	    "0000111e-0000-1000-8000-00805f9b34fb", "00001108-0000-1000-8000-00805f9b34fb",
	    "00001131-0000-1000-8000-00805f9b34fb", NULL }, -1 },
	/* BlueZ unit/test-eir.c iphone5_data (first 104 bytes; an empty 32-bit list, 0x01 0x05) */
	{ "iphone5", "14094d617263656ce2809973206950686f6e6520350f0300121f112f110a110c11161132"
	  "1101051107fecacadeafdecadedefacade0000000027ff004c0224020000000000000000"
	  "0000000000000000000000000000000000000000000000000000000000000000", 0,
	  "Marcel\xe2\x80\x99s iPhone 5", true, 127,
	  { "00001200-0000-1000-8000-00805f9b34fb", "0000111f-0000-1000-8000-00805f9b34fb",
	    "0000112f-0000-1000-8000-00805f9b34fb", "0000110a-0000-1000-8000-00805f9b34fb",
	    "0000110c-0000-1000-8000-00805f9b34fb", "00001116-0000-1000-8000-00805f9b34fb",
	    "00001132-0000-1000-8000-00805f9b34fb", "00000000-deca-fade-deca-deafdecacafe", NULL },
	  0x4c00 },
};

static void test_ad_vectors(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(ad_vecs) / sizeof(ad_vecs[0]); i++) {
		const struct ad_vec *v = &ad_vecs[i];
		uint8_t buf[256], u[16];
		char s[HAL_BLE_UUID_STR_LEN];
		struct hal_ble_ad ad;
		size_t n = unhex(v->hex, buf, sizeof(buf)), k = 0;

		if (hal_ble_ad_parse(buf, n, &ad) != 0)
			fail_msg("%s: parse failed", v->name);
		assert_int_equal(ad.has_flags ? ad.flags : 0, v->flags);
		assert_int_equal(ad.has_tx_power ? ad.tx_power : 127, v->tx_power);
		if (v->local_name) {
			assert_non_null(ad.name);
			assert_int_equal(ad.name_len, strlen(v->local_name));
			assert_memory_equal(ad.name, v->local_name, ad.name_len);
			assert_int_equal(ad.name_complete, v->name_complete);
		} else {
			assert_null(ad.name);
		}
		for (k = 0; v->uuids[k]; k++) {
			assert_int_equal(hal_ble_ad_uuid(&ad, k, u), 0);
			hal_ble_uuid_str(u, s);
			if (strcmp(s, v->uuids[k]) != 0)
				fail_msg("%s: uuid %zu = %s, want %s", v->name, k, s, v->uuids[k]);
		}
		assert_int_equal(hal_ble_ad_uuid_count(&ad), k);
		assert_int_equal(hal_ble_ad_uuid(&ad, k, u), -ENOENT);
		if (v->mfg_company >= 0) {
			assert_int_equal(ad.n_mfg, 1);
			assert_int_equal(ad.mfg[0].company, v->mfg_company);
		} else {
			assert_int_equal(ad.n_mfg, 0);
		}
	}
}

/* BlueZ unit/test-eir.c bluesc_data, checked field by field (its name has a NUL-free
 * 0x12-byte complete name right after a 16-bit list). */
static void test_ad_bluesc(void **state)
{
	static const uint8_t d[] = {
		0x02, 0x01, 0x06, 0x03, 0x02, 0x16, 0x18, 0x12,
		0x09, 0x57, 0x61, 0x68, 0x6f, 0x6f, 0x20, 0x42,
		0x6c, 0x75, 0x65, 0x53, 0x43, 0x20, 0x76, 0x31,
		0x2e, 0x34,
	};
	struct hal_ble_ad ad;
	uint8_t u[16];
	char s[HAL_BLE_UUID_STR_LEN];

	(void)state;
	assert_int_equal(hal_ble_ad_parse(d, sizeof(d), &ad), 0);
	assert_int_equal(ad.flags, 0x06);
	assert_int_equal(ad.name_len, 17);
	assert_memory_equal(ad.name, "Wahoo BlueSC v1.4", 17);
	assert_false(ad.uuids[0].complete);	/* 0x02: incomplete list */
	assert_int_equal(hal_ble_ad_uuid(&ad, 0, u), 0);
	hal_ble_uuid_str(u, s);
	assert_string_equal(s, "00001816-0000-1000-8000-00805f9b34fb");
	/* every shorter prefix that cuts a structure is rejected */
	for (size_t n = 1; n < sizeof(d); n++) {
		bool boundary = n == 3 || n == 7;

		assert_int_equal(hal_ble_ad_parse(d, n, &ad), boundary ? 0 : -EBADMSG);
	}
}

/* More structures than slots: all are checked, the first HAL_BLE_AD_SLOTS kept. */
static void test_ad_slots(void **state)
{
	uint8_t d[64];
	struct hal_ble_ad ad;
	size_t k = 0;

	(void)state;
	for (int i = 0; i < 6; i++) {
		d[k++] = 3;
		d[k++] = 0xff;
		d[k++] = (uint8_t)i;
		d[k++] = 0x00;
	}
	assert_int_equal(hal_ble_ad_parse(d, k, &ad), 0);
	assert_int_equal(ad.n_mfg, HAL_BLE_AD_SLOTS);
	assert_int_equal(ad.mfg[3].company, 3);
	d[k++] = 2;
	d[k++] = 0x0a;	/* TX power with no octet: still rejected after the slots filled */
	assert_int_equal(hal_ble_ad_parse(d, k, &ad), -EBADMSG);
	assert_int_equal(hal_ble_ad_parse(NULL, 0, &ad), 0);
	assert_int_equal(hal_ble_ad_parse(NULL, 1, &ad), -EINVAL);
}

static void test_uuid_parse(void **state)
{
	uint8_t u[16];
	char s[HAL_BLE_UUID_STR_LEN];

	(void)state;
	assert_int_equal(hal_ble_uuid_parse("FEAA", u), 0);
	hal_ble_uuid_str(u, s);
	assert_string_equal(s, "0000feaa-0000-1000-8000-00805f9b34fb");
	assert_int_equal(hal_ble_uuid_parse("0x180D", u), 0);
	hal_ble_uuid_str(u, s);
	assert_string_equal(s, "0000180d-0000-1000-8000-00805f9b34fb");
	assert_int_equal(hal_ble_uuid_parse("6E400001-B5A3-F393-E0A9-E50E24DCCA9E", u), 0);
	hal_ble_uuid_str(u, s);
	assert_string_equal(s, "6e400001-b5a3-f393-e0a9-e50e24dcca9e");
	assert_int_equal(hal_ble_uuid_parse("FEA", u), -EINVAL);
	assert_int_equal(hal_ble_uuid_parse("FEAAB", u), -EINVAL);
	assert_int_equal(hal_ble_uuid_parse("FEAG", u), -EINVAL);
	assert_int_equal(hal_ble_uuid_parse("", u), -EINVAL);
	assert_int_equal(hal_ble_uuid_parse(NULL, u), -EINVAL);
	assert_int_equal(hal_ble_uuid_parse("6e400001b5a3-f393-e0a9-e50e24dcca9e0", u), -EINVAL);
	assert_int_equal(hal_ble_uuid_parse("6e400001-b5a3-f393-e0a9-e50e24dcca9g", u), -EINVAL);
	assert_int_equal(hal_ble_uuid_parse("12345678", u), -EINVAL);	/* 32-bit: not a config form */
}

static void test_names(void **state)
{
	(void)state;
	assert_string_equal(hal_ble_format_name(HAL_BLE_FMT_NONE), "unknown");
	assert_string_equal(hal_ble_format_name(HAL_BLE_FMT_EDDYSTONE_TLM), "eddystone-tlm");
	assert_string_equal(hal_ble_format_name(HAL_BLE_FMT_APP_TOKEN), "app-token");
	assert_string_equal(hal_ble_event_name(HAL_BLE_EVT_ADV_NONCONN_IND), "adv_nonconn_ind");
	assert_string_equal(hal_ble_event_name(HAL_BLE_EVT_EXT_SCAN_RSP), "ext_scan_rsp");
	assert_string_equal(hal_ble_event_name(200), "unknown");
	assert_string_equal(hal_ble_phy_name(HAL_BLE_PHY_CODED), "coded");
	assert_string_equal(hal_ble_phy_name(9), "none");
	assert_string_equal(hal_ble_addr_type_name(HAL_BLE_ADDR_RANDOM_ID), "random");
	assert_string_equal(hal_ble_addr_type_name(7), "unknown");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_decode_vectors),
		cmocka_unit_test(test_eddystone_url_table),
		cmocka_unit_test(test_ad_vectors),
		cmocka_unit_test(test_ad_bluesc),
		cmocka_unit_test(test_ad_slots),
		cmocka_unit_test(test_uuid_parse),
		cmocka_unit_test(test_names),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
