/* SPDX-License-Identifier: MIT */
/*
 * storelinkctl ble-decode / replay --btsnoop.
 *
 * ble-decode HEX: decodes one advertisement's AD payload with the same
 * decoders the agent uses and prints one JSON object (docs/ble.md lists
 * the fields); a malformed payload prints {"error": ...} and exits 1.
 *
 * replay --btsnoop FILE: one JSON line per advertising report of a btsnoop
 * capture. Addresses are hashed as the agent hashes device identifiers
 * (daily key, sl_device_hash()), but under a random master key made for
 * this run: hashes are consistent within one run only and cannot be linked
 * to the agent's. --raw prints the addresses themselves.
 */
#include "ctl.h"

#include "util.h"
#include "clock.h"
#include "jsonw.h"
#include "privacy.h"

#include <hal/ble.h>

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include <mbedtls/platform_util.h>

#define DECODE_MAX 1650		/* longest AD payload (chained extended advertising) */

/* Hex digits, optionally "0x"-prefixed, with spaces or colons between bytes. */
static int parse_hex(const char *s, uint8_t *out, size_t cap, size_t *ret_len)
{
	size_t n = 0;

	if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X'))
		s += 2;
	while (*s) {
		int hi, lo;

		if (*s == ' ' || *s == ':') {
			s++;
			continue;
		}
		hi = sl_hexval((unsigned char)s[0]);
		lo = hi < 0 ? -1 : sl_hexval((unsigned char)s[1]);
		if (hi < 0 || lo < 0)
			return -EINVAL;
		if (n == cap)
			return -E2BIG;
		out[n++] = (uint8_t)(hi << 4 | lo);
		s += 2;
	}
	*ret_len = n;
	return 0;
}

static void print_error(const char *code, const char *message)
{
	char buf[512];
	struct sl_jw w;

	sl_jw_init(&w, buf, sizeof(buf));
	sl_jw_obj_begin(&w);
	sl_jw_key(&w, "error");
	sl_jw_str(&w, code);
	sl_jw_key(&w, "message");
	sl_jw_str(&w, message);
	sl_jw_obj_end(&w);
	if (sl_jw_finish(&w) >= 0)
		printf("%s\n", buf);
}

static void decode_usage(FILE *f)
{
	fprintf(f, "usage: storelinkctl ble-decode [--app-uuid UUID] HEX\n"
		"  HEX       one advertisement's AD payload (e.g. 0201061aff4c000215...)\n"
		"  --app-uuid  16-bit or 128-bit service-data UUID of the retailer app token\n"
		"Prints one JSON object: format = ibeacon | altbeacon | eddystone-uid |\n"
		"eddystone-url | eddystone-tlm | eddystone-eid | app-token | unknown.\n");
}

int ctl_ble_decode(int argc, char **argv)
{
	uint8_t ad[DECODE_MAX], app[16];
	const char *hex = NULL, *app_uuid = NULL;
	struct hal_ble_beacon b;
	char out[1024];
	struct sl_jw w;
	size_t len;
	int rc;

	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
			decode_usage(stdout);
			return 0;
		} else if (strcmp(argv[i], "--app-uuid") == 0 && i + 1 < argc) {
			app_uuid = argv[++i];
		} else if (argv[i][0] == '-' && argv[i][1] == '-') {
			decode_usage(stderr);
			return 2;
		} else if (!hex) {
			hex = argv[i];
		} else {
			decode_usage(stderr);
			return 2;
		}
	}
	if (!hex) {
		decode_usage(stderr);
		return 2;
	}
	if (app_uuid && hal_ble_uuid_parse(app_uuid, app) < 0) {
		fprintf(stderr, "storelinkctl: --app-uuid: expected 1234 or "
			"xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx\n");
		return 2;
	}
	rc = parse_hex(hex, ad, sizeof(ad), &len);
	if (rc < 0) {
		print_error("bad_hex", rc == -E2BIG ? "payload longer than 1650 bytes"
						    : "expected pairs of hex digits");
		return 1;
	}
	rc = hal_ble_decode(ad, len, app_uuid ? app : NULL, &b);
	if (rc == -EBADMSG) {
		print_error("malformed_ad", "an AD structure overruns the payload or has an "
			    "impossible length for its type");
		return 1;
	}
	if (rc < 0) {
		print_error("malformed_beacon", "a beacon frame has an invalid length or value");
		return 1;
	}
	sl_jw_init(&w, out, sizeof(out));
	hal_ble_beacon_json(&w, &b);
	if (sl_jw_finish(&w) < 0)
		return 1;
	printf("%s\n", out);
	return 0;
}

static void replay_usage(FILE *f)
{
	fprintf(f, "usage: storelinkctl replay --btsnoop FILE [--raw] [--app-uuid UUID] [--irk-file FILE]\n"
		"One JSON line per LE advertising report: medium, ts, addr, addr_type,\n"
		"addr_kind, rssi, event, [primary_phy, secondary_phy], [irk], [beacon].\n"
		"addr is a device hash (the agent's daily HMAC) under a random key made\n"
		"for this run: hashes are consistent within one run only. --raw prints\n"
		"the addresses themselves.\n");
}

static void addr_str(const uint8_t a[6], char out[18])
{
	snprintf(out, 18, "%02X:%02X:%02X:%02X:%02X:%02X", a[0], a[1], a[2], a[3], a[4], a[5]);
}

/* One report as a JSON line into buf. 0 or -errno. */
static int sighting_json(const struct hal_ble_sighting *s, struct sl_keyring *kr, char *buf,
			 size_t cap)
{
	char ts[SL_RFC3339_LEN], day[SL_DAY_LEN], addr[SL_TOKEN_MAX];
	enum hal_ble_addr_kind kind = hal_ble_addr_kind(s->addr_type, s->addr);
	struct sl_jw w;
	int rc = 0;

	sl_rfc3339(s->ts_us, ts);
	sl_jw_init(&w, buf, cap);
	sl_jw_obj_begin(&w);
	sl_jw_key(&w, "medium");
	sl_jw_str(&w, "ble");
	sl_jw_key(&w, "ts");
	sl_jw_str(&w, ts);
	sl_jw_key(&w, "addr");
	if (kind == HAL_BLE_KIND_ANONYMOUS) {
		sl_jw_null(&w);
	} else if (!kr) {
		addr_str(s->addr, addr);
		sl_jw_str(&w, addr);
	} else {
		sl_utc_day(s->ts_us, day);
		rc = sl_device_hash(kr, day, s->addr, sizeof(s->addr), addr);
		if (rc < 0)
			return rc;
		sl_jw_str(&w, addr);
	}
	mbedtls_platform_zeroize(addr, sizeof(addr));
	sl_jw_key(&w, "addr_type");
	sl_jw_str(&w, hal_ble_addr_type_name(s->addr_type));
	sl_jw_key(&w, "addr_kind");
	sl_jw_str(&w, hal_ble_addr_kind_name(kind));
	sl_jw_key(&w, "rssi");
	if (s->rssi == HAL_BLE_RSSI_NONE)
		sl_jw_null(&w);
	else
		sl_jw_int(&w, s->rssi);
	sl_jw_key(&w, "event");
	sl_jw_str(&w, hal_ble_event_name(s->event));
	if (s->extended) {
		sl_jw_key(&w, "primary_phy");
		sl_jw_str(&w, hal_ble_phy_name(s->primary_phy));
		sl_jw_key(&w, "secondary_phy");
		sl_jw_str(&w, hal_ble_phy_name(s->secondary_phy));
	}
	if (s->irk >= 0) {
		sl_jw_key(&w, "irk");
		sl_jw_int(&w, s->irk);
	}
	if (s->beacon.format != HAL_BLE_FMT_NONE) {
		sl_jw_key(&w, "beacon");
		hal_ble_beacon_json(&w, &s->beacon);
	}
	sl_jw_obj_end(&w);
	return sl_jw_finish(&w) < 0 ? -ENOSPC : 0;
}

int ctl_replay_btsnoop(int argc, char **argv)
{
	const char *file = NULL, *app_uuid = NULL, *irk_file = NULL;
	struct hal_ble_cfg cfg = { 0 };
	struct hal_ble ble = { 0 };
	struct hal_ble_sighting s;
	struct sl_keyring *kr = NULL;
	char source[4096], line[2048];
	uint8_t uuid[16];
	bool raw = false;
	int rc, status = 0;

	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
			replay_usage(stdout);
			return 0;
		} else if (strcmp(argv[i], "--btsnoop") == 0 && i + 1 < argc) {
			file = argv[++i];
		} else if (strcmp(argv[i], "--raw") == 0) {
			raw = true;
		} else if (strcmp(argv[i], "--app-uuid") == 0 && i + 1 < argc) {
			app_uuid = argv[++i];
		} else if (strcmp(argv[i], "--irk-file") == 0 && i + 1 < argc) {
			irk_file = argv[++i];
		} else {
			replay_usage(stderr);
			return 2;
		}
	}
	if (!file) {
		replay_usage(stderr);
		return 2;
	}
	if ((size_t)snprintf(source, sizeof(source), "btsnoop:%s", file) >= sizeof(source)) {
		fprintf(stderr, "storelinkctl: file name too long\n");
		return 2;
	}
	if (app_uuid && hal_ble_uuid_parse(app_uuid, uuid) < 0) {
		fprintf(stderr, "storelinkctl: --app-uuid: expected 1234 or "
			"xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx\n");
		return 2;
	}
	if (!raw) {
		rc = ctl_replay_keyring(&kr);
		if (rc < 0) {
			fprintf(stderr, "storelinkctl: cannot make a hashing key: %s\n", strerror(-rc));
			return 1;
		}
	}
	cfg.app_uuid = app_uuid;
	cfg.irk_file = irk_file;
	rc = hal_ble_open(&ble, source, &cfg);
	if (rc < 0) {
		fprintf(stderr, "storelinkctl: %s: %s\n", file,
			rc == -EBADMSG ? "not a btsnoop file" :
			rc == -EPERM && irk_file ? "IRK file is readable by group or others" :
			strerror(-rc));
		status = 1;
		goto out;
	}
	for (;;) {
		rc = ble.ops->read(&ble, &s);
		if (rc == 0)
			continue;	/* a file is always readable: go on */
		if (rc < 0)
			break;
		rc = sighting_json(&s, kr, line, sizeof(line));
		if (rc < 0)
			break;
		fputs(line, stdout);
		fputc('\n', stdout);
	}
	if (rc != -ENODATA) {
		fprintf(stderr, "storelinkctl: %s: %s\n", file,
			rc == -EBADMSG ? "damaged or truncated record" : strerror(-rc));
		status = 1;
	}
	if (fflush(stdout) != 0)
		status = 1;
out:
	mbedtls_platform_zeroize(&s, sizeof(s));
	mbedtls_platform_zeroize(line, sizeof(line));
	hal_ble_close(&ble);
	sl_keyring_free(kr);
	return status;
}
