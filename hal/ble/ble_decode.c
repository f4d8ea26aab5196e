/* SPDX-License-Identifier: MIT */
/*
 * Beacon decoders over a parsed AD payload: the retailer app token,
 * iBeacon (Apple), AltBeacon (altbeacon.org spec), Eddystone UID, URL,
 * TLM (unencrypted) and EID (github.com/google/eddystone protocol
 * specification), and their JSON form for storelinkctl and the agent.
 */
#include <hal/ble.h>

#include "jsonw.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#define COMPANY_APPLE 0x004c
#define EDDYSTONE_UUID16 0xfeaa

/* Eddystone-URL scheme prefixes and expansion codes 0x00..0x0d. */
static const char *const url_scheme[] = { "http://www.", "https://www.", "http://", "https://" };
static const char *const url_expansion[] = {
	".com/", ".org/", ".edu/", ".net/", ".info/", ".biz/", ".gov/",
	".com", ".org", ".edu", ".net", ".info", ".biz", ".gov",
};

static uint16_t be16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static uint32_t be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static bool is_uuid16(const uint8_t uuid[16], uint16_t v)
{
	static const uint8_t tail[12] = { 0x00, 0x00, 0x10, 0x00, 0x80, 0x00,
					  0x00, 0x80, 0x5f, 0x9b, 0x34, 0xfb };

	return uuid[0] == 0 && uuid[1] == 0 && be16(uuid + 2) == v &&
	       memcmp(uuid + 4, tail, sizeof(tail)) == 0;
}

/* iBeacon: 0x02 0x15, UUID(16), major, minor (big-endian), measured power. */
static int ibeacon(const struct hal_ble_ad_mfg *m, struct hal_ble_beacon *b)
{
	if (m->company != COMPANY_APPLE || m->len < 2 || m->data[0] != 0x02 || m->data[1] != 0x15)
		return 0;
	if (m->len != 2 + 0x15)
		return -EPROTO;
	b->format = HAL_BLE_FMT_IBEACON;
	memcpy(b->uuid, m->data + 2, 16);
	b->major = be16(m->data + 18);
	b->minor = be16(m->data + 20);
	b->has_tx_power = true;
	b->tx_power = (int8_t)m->data[22];
	return 1;
}

/*
 * AltBeacon: beacon code 0xBEAC, id1(16) id2(2) id3(2), reference RSSI,
 * manufacturer-reserved byte; the AltBeacon library also accepts frames
 * without the reserved byte. Any other length is simply not an AltBeacon.
 */
static int altbeacon(const struct hal_ble_ad_mfg *m, struct hal_ble_beacon *b)
{
	if ((m->len != 24 && m->len != 23) || m->data[0] != 0xbe || m->data[1] != 0xac)
		return 0;
	b->format = HAL_BLE_FMT_ALTBEACON;
	b->has_mfg_id = true;
	b->mfg_id = m->company;
	memcpy(b->uuid, m->data + 2, 16);
	b->major = be16(m->data + 18);
	b->minor = be16(m->data + 20);
	b->has_tx_power = true;
	b->tx_power = (int8_t)m->data[22];
	b->has_reserved = m->len == 24;
	b->reserved = b->has_reserved ? m->data[23] : 0;
	return 1;
}

static int eddystone_url(const uint8_t *d, unsigned len, struct hal_ble_beacon *b)
{
	size_t k;

	/* frame, tx power, scheme, 0..17 encoded bytes */
	if (len < 3 || len > 3 + 17 || d[2] >= sizeof(url_scheme) / sizeof(url_scheme[0]))
		return -EPROTO;
	k = strlen(url_scheme[d[2]]);
	memcpy(b->url, url_scheme[d[2]], k);
	for (unsigned i = 3; i < len; i++) {
		uint8_t c = d[i];

		if (c < sizeof(url_expansion) / sizeof(url_expansion[0])) {
			size_t n = strlen(url_expansion[c]);

			memcpy(b->url + k, url_expansion[c], n);
			k += n;
		} else if (c > 0x20 && c < 0x7f) {
			b->url[k++] = (char)c;
		} else {
			return -EPROTO;	/* 0x0e..0x20 and 0x7f..0xff are reserved */
		}
	}
	b->url[k] = '\0';	/* k <= 12 + 17 * 6 < HAL_BLE_URL_MAX */
	b->has_tx_power = true;
	b->tx_power = (int8_t)d[1];
	b->format = HAL_BLE_FMT_EDDYSTONE_URL;
	return 1;
}

/* d: service data after the 0xFEAA UUID. */
static int eddystone(const uint8_t *d, unsigned len, struct hal_ble_beacon *b)
{
	if (len < 1)
		return -EPROTO;
	switch (d[0]) {
	case 0x00:	/* UID: frame, tx, namespace(10), instance(6), [RFU(2)] */
		if (len != 18 && len != 20)
			return -EPROTO;
		b->format = HAL_BLE_FMT_EDDYSTONE_UID;
		b->has_tx_power = true;
		b->tx_power = (int8_t)d[1];
		memcpy(b->namespace_id, d + 2, 10);
		memcpy(b->instance, d + 12, 6);
		return 1;
	case 0x10:
		return eddystone_url(d, len, b);
	case 0x20:	/* TLM: frame, version, vbatt, temp, adv_cnt, sec_cnt */
		if (len < 2)
			return -EPROTO;
		if (d[1] != 0x00)
			return 0;	/* 0x01 is encrypted TLM: not decoded */
		if (len != 14)
			return -EPROTO;
		b->format = HAL_BLE_FMT_EDDYSTONE_TLM;
		b->battery_mv = be16(d + 2);
		b->has_temp = be16(d + 4) != 0x8000;	/* 0x8000: not supported */
		b->temp_8_8 = (int16_t)be16(d + 4);
		b->adv_count = be32(d + 6);
		b->uptime_ds = be32(d + 10);
		return 1;
	case 0x30:	/* EID: frame, tx, ephemeral id(8) */
		if (len != 10)
			return -EPROTO;
		b->format = HAL_BLE_FMT_EDDYSTONE_EID;
		b->has_tx_power = true;
		b->tx_power = (int8_t)d[1];
		memcpy(b->eid, d + 2, 8);
		return 1;
	default:
		return 0;
	}
}

int hal_ble_decode(const uint8_t *ad, size_t len, const uint8_t *app_uuid,
		   struct hal_ble_beacon *out)
{
	struct hal_ble_ad a;
	struct hal_ble_beacon b;
	int rc;

	rc = hal_ble_ad_parse(ad, len, &a);
	if (rc < 0)
		return rc;
	memset(&b, 0, sizeof(b));

	for (unsigned i = 0; app_uuid && i < a.n_svc; i++) {
		const struct hal_ble_ad_svc *s = &a.svc[i];

		if (memcmp(s->uuid, app_uuid, 16) != 0)
			continue;
		if (s->len == 0 || s->len > HAL_BLE_TOKEN_MAX)
			return -EPROTO;
		b.format = HAL_BLE_FMT_APP_TOKEN;
		memcpy(b.token, s->data, s->len);
		b.token_len = s->len;
		goto done;
	}
	for (unsigned i = 0; i < a.n_mfg; i++) {
		rc = ibeacon(&a.mfg[i], &b);
		if (rc == 0)
			rc = altbeacon(&a.mfg[i], &b);
		if (rc < 0)
			return rc;
		if (rc > 0)
			goto done;
	}
	/*
	 * Eddystone asks for 0xFEAA in the 16-bit UUID list too (for iOS
	 * background scanning); the service data UUID alone is unambiguous,
	 * so a beacon that forgets the list is still decoded.
	 */
	for (unsigned i = 0; i < a.n_svc; i++) {
		if (!is_uuid16(a.svc[i].uuid, EDDYSTONE_UUID16))
			continue;
		rc = eddystone(a.svc[i].data, a.svc[i].len, &b);
		if (rc < 0)
			return rc;
		if (rc > 0)
			goto done;
	}
	memset(&b, 0, sizeof(b));
	if (a.n_mfg) {
		b.has_mfg_id = true;
		b.mfg_id = a.mfg[0].company;
	}
done:
	*out = b;
	return 0;
}

void hal_ble_beacon_json(struct sl_jw *w, const struct hal_ble_beacon *b)
{
	char uuid[HAL_BLE_UUID_STR_LEN];

	sl_jw_obj_begin(w);
	sl_jw_kv_str(w, "format", hal_ble_format_name(b->format));
	switch (b->format) {
	case HAL_BLE_FMT_IBEACON:
		hal_ble_uuid_str(b->uuid, uuid);
		sl_jw_kv_str(w, "uuid", uuid);
		sl_jw_kv_uint(w, "major", b->major);
		sl_jw_kv_uint(w, "minor", b->minor);
		break;
	case HAL_BLE_FMT_ALTBEACON:
		hal_ble_uuid_str(b->uuid, uuid);
		sl_jw_kv_uint(w, "mfg_id", b->mfg_id);
		sl_jw_kv_str(w, "id1", uuid);
		sl_jw_kv_uint(w, "id2", b->major);
		sl_jw_kv_uint(w, "id3", b->minor);
		if (b->has_reserved) {
			sl_jw_kv_uint(w, "reserved", b->reserved);
		}
		break;
	case HAL_BLE_FMT_EDDYSTONE_UID:
		sl_jw_key(w, "namespace");
		sl_jw_hex(w, b->namespace_id, sizeof(b->namespace_id));
		sl_jw_key(w, "instance");
		sl_jw_hex(w, b->instance, sizeof(b->instance));
		break;
	case HAL_BLE_FMT_EDDYSTONE_URL:
		sl_jw_kv_str(w, "url", b->url);
		break;
	case HAL_BLE_FMT_EDDYSTONE_TLM:
		sl_jw_kv_uint(w, "battery_mv", b->battery_mv);
		if (b->has_temp) {
			sl_jw_key(w, "temp_c");
			sl_jw_double(w, b->temp_8_8 / 256.0, 2);
		}
		sl_jw_kv_uint(w, "adv_count", b->adv_count);
		sl_jw_key(w, "uptime_s");
		sl_jw_double(w, b->uptime_ds / 10.0, 1);
		break;
	case HAL_BLE_FMT_EDDYSTONE_EID:
		sl_jw_key(w, "eid");
		sl_jw_hex(w, b->eid, sizeof(b->eid));
		break;
	case HAL_BLE_FMT_APP_TOKEN:
		sl_jw_key(w, "token");
		sl_jw_hex(w, b->token, b->token_len);
		break;
	case HAL_BLE_FMT_NONE:
		if (b->has_mfg_id) {
			sl_jw_kv_uint(w, "mfg_id", b->mfg_id);
		}
		break;
	}
	if (b->has_tx_power) {
		sl_jw_kv_int(w, "tx_power", b->tx_power);
	}
	sl_jw_obj_end(w);
}
