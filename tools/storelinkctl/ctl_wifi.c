/* SPDX-License-Identifier: MIT */
/*
 * storelinkctl replay --pcap FILE [--raw]: one JSON line per 802.11 probe
 * request of a pcap/pcapng capture, read through the agent's Wi-Fi HAL
 * (pcapfile: backend, same parsers as the live capture). docs/wifi.md
 * lists the fields.
 *
 * The source address and the element fingerprint are hashed as the agent
 * hashes device identifiers (daily key, sl_device_hash(), UTC day of the
 * frame), under a random master key made for this run: hashes are
 * consistent within one run only and cannot be linked to the agent's.
 * --raw prints the address, the fingerprint and the SSID themselves (an
 * SSID can reveal where someone lives or works: it is never printed
 * otherwise).
 */
#include "ctl.h"
#include "clock.h"
#include "jsonw.h"
#include "privacy.h"

#include <hal/wifi.h>

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include <mbedtls/platform_util.h>

static void replay_usage(FILE *f)
{
	fprintf(f, "usage: storelinkctl replay --pcap FILE [--raw]\n"
		"One JSON line per 802.11 probe request: medium, ts, addr, random, rssi,\n"
		"seq, freq, fp [, ssid with --raw]. addr and fp are device hashes (the\n"
		"agent's daily HMAC) under a random key made for this run: consistent\n"
		"within one run only. --raw prints the address, the fingerprint and the\n"
		"SSID themselves.\n");
}

/* true if p[0..n) is well-formed UTF-8 (RFC 3629: no overlongs, no
 * surrogates, nothing above U+10FFFF). */
static bool utf8_valid(const uint8_t *p, size_t n)
{
	size_t i = 0;

	while (i < n) {
		uint8_t c = p[i];
		size_t len;
		uint32_t cp;

		if (c < 0x80) {
			i++;
			continue;
		} else if (c >= 0xc2 && c <= 0xdf) {
			len = 2;
			cp = c & 0x1f;
		} else if (c >= 0xe0 && c <= 0xef) {
			len = 3;
			cp = c & 0x0f;
		} else if (c >= 0xf0 && c <= 0xf4) {
			len = 4;
			cp = c & 0x07;
		} else {
			return false;
		}
		if (n - i < len)
			return false;
		for (size_t k = 1; k < len; k++) {
			if ((p[i + k] & 0xc0) != 0x80)
				return false;
			cp = cp << 6 | (p[i + k] & 0x3f);
		}
		if ((len == 3 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) ||
		    (len == 4 && (cp < 0x10000 || cp > 0x10ffff)))
			return false;
		i += len;
	}
	return true;
}

static void mac_str(const uint8_t a[6], char out[18])
{
	snprintf(out, 18, "%02x:%02x:%02x:%02x:%02x:%02x", a[0], a[1], a[2], a[3], a[4], a[5]);
}

static int sighting_json(const struct hal_wifi_sighting *s, struct sl_keyring *kr, char *buf,
			 size_t cap)
{
	char ts[SL_RFC3339_LEN], day[SL_DAY_LEN], addr[SL_TOKEN_MAX], fp[SL_TOKEN_MAX];
	uint8_t fp_be[8];
	struct sl_jw w;
	int rc = 0;

	for (int i = 0; i < 8; i++)
		fp_be[i] = (uint8_t)(s->fp >> (56 - 8 * i));
	if (kr) {
		sl_utc_day(s->ts_us, day);
		rc = sl_device_hash(kr, day, s->addr, sizeof(s->addr), addr);
		if (rc == 0)
			rc = sl_device_hash(kr, day, fp_be, sizeof(fp_be), fp);
		if (rc < 0)
			goto out;
	} else {
		mac_str(s->addr, addr);
		snprintf(fp, sizeof(fp), "%016llx", (unsigned long long)s->fp);
	}

	sl_rfc3339(s->ts_us, ts);
	sl_jw_init(&w, buf, cap);
	sl_jw_obj_begin(&w);
	sl_jw_key(&w, "medium");
	sl_jw_str(&w, "wifi");
	sl_jw_key(&w, "ts");
	sl_jw_str(&w, ts);
	sl_jw_key(&w, "addr");
	sl_jw_str(&w, addr);
	sl_jw_key(&w, "random");
	sl_jw_bool(&w, s->randomized);
	sl_jw_key(&w, "rssi");
	if (s->has_rssi)
		sl_jw_int(&w, s->rssi);
	else
		sl_jw_null(&w);
	sl_jw_key(&w, "seq");
	sl_jw_uint(&w, s->seq);
	sl_jw_key(&w, "freq");
	if (s->freq)
		sl_jw_uint(&w, s->freq);
	else
		sl_jw_null(&w);
	sl_jw_key(&w, "fp");
	sl_jw_str(&w, fp);
	if (!kr) {
		sl_jw_key(&w, "ssid");
		if (utf8_valid(s->ssid, s->ssid_len)) {
			sl_jw_strn(&w, (const char *)s->ssid, s->ssid_len);
		} else {
			sl_jw_null(&w);
			sl_jw_key(&w, "ssid_hex");
			sl_jw_hex(&w, s->ssid, s->ssid_len);
		}
	}
	sl_jw_obj_end(&w);
	rc = sl_jw_finish(&w) < 0 ? -ENOSPC : 0;
out:
	mbedtls_platform_zeroize(addr, sizeof(addr));
	mbedtls_platform_zeroize(fp, sizeof(fp));
	mbedtls_platform_zeroize(fp_be, sizeof(fp_be));
	return rc;
}

int ctl_replay_pcap(int argc, char **argv)
{
	const char *file = NULL;
	struct hal_wifi wifi = { 0 };
	struct hal_wifi_sighting s;
	struct sl_keyring *kr = NULL;
	char source[4096], line[1024];
	bool raw = false;
	int rc, status = 0;

	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
			replay_usage(stdout);
			return 0;
		} else if (strcmp(argv[i], "--pcap") == 0 && i + 1 < argc) {
			file = argv[++i];
		} else if (strcmp(argv[i], "--raw") == 0) {
			raw = true;
		} else {
			replay_usage(stderr);
			return 2;
		}
	}
	if (!file) {
		replay_usage(stderr);
		return 2;
	}
	if ((size_t)snprintf(source, sizeof(source), "pcapfile:%s", file) >= sizeof(source)) {
		fprintf(stderr, "storelinkctl: file name too long\n");
		return 2;
	}
	if (!raw) {
		rc = ctl_replay_keyring(&kr);
		if (rc < 0) {
			fprintf(stderr, "storelinkctl: cannot make a hashing key: %s\n", strerror(-rc));
			return 1;
		}
	}
	rc = hal_wifi_open(&wifi, source, NULL);
	if (rc < 0) {
		fprintf(stderr, "storelinkctl: %s: %s\n", file,
			rc == -EINVAL ? "not a pcap or pcapng file" :
			rc == -EPROTONOSUPPORT ? "not an 802.11 capture (link type 127 or 105)" :
			strerror(-rc));
		status = 1;
		goto out;
	}
	memset(&s, 0, sizeof(s));
	for (;;) {
		rc = hal_wifi_read(&wifi, &s);
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
			rc == -EIO ? "damaged or truncated capture" : strerror(-rc));
		status = 1;
	}
	if (fflush(stdout) != 0)
		status = 1;
out:
	mbedtls_platform_zeroize(&s, sizeof(s));
	mbedtls_platform_zeroize(line, sizeof(line));
	hal_wifi_close(&wifi);
	sl_keyring_free(kr);
	return status;
}
