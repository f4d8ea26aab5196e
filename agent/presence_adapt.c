/* SPDX-License-Identifier: MIT */
/*
 * Adapters from the HAL's sightings (hal/ble.h, hal/wifi.h) to the presence
 * engine's medium-agnostic struct sl_presence_sighting. They only read the
 * HAL structs (no HAL function is called), so sl_core does not link the HAL
 * libraries; each adapter answers -EOPNOTSUPP when its medium is not built
 * (IS_ENABLED, so both branches still compile). The output holds the raw
 * address: the caller zeroizes it once the engine has seen it.
 */
#include "presence.h"

#include "util.h"

#include <hal/ble.h>
#include <hal/wifi.h>

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <mbedtls/platform_util.h>

static char *hex(char *o, const uint8_t *p, size_t n)
{
	static const char digits[] = "0123456789abcdef";

	for (size_t i = 0; i < n; i++) {
		*o++ = digits[p[i] >> 4];
		*o++ = digits[p[i] & 15];
	}
	*o = '\0';
	return o;
}

/* "xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx" (display order) */
static char *uuid_str(char *o, const uint8_t u[16])
{
	for (int i = 0; i < 16; i++) {
		if (i == 4 || i == 6 || i == 8 || i == 10)
			*o++ = '-';
		o = hex(o, u + i, 1);
	}
	return o;
}

/*
 * Beacon id or app token of a decoded report into idbuf. 1: beacon id,
 * 2: app token, 0: none, -1: a beacon frame without an identity (skip).
 */
static int ble_identity(const struct hal_ble_beacon *b, char idbuf[SL_PRESENCE_ID_MAX + 1])
{
	char *o = idbuf;

	switch (b->format) {
	case HAL_BLE_FMT_IBEACON:
	case HAL_BLE_FMT_ALTBEACON:
		/* 10 + 36 + 1 + 5 + 1 + 5 chars: fits */
		o += sprintf(o, "%s:", b->format == HAL_BLE_FMT_IBEACON ? "ibeacon" : "altbeacon");
		o = uuid_str(o, b->uuid);
		sprintf(o, ":%u:%u", (unsigned)b->major, (unsigned)b->minor);
		return 1;
	case HAL_BLE_FMT_EDDYSTONE_UID:
		o += sprintf(o, "eddystone-uid:");
		o = hex(o, b->namespace_id, sizeof(b->namespace_id));
		*o++ = ':';
		hex(o, b->instance, sizeof(b->instance));
		return 1;
	case HAL_BLE_FMT_EDDYSTONE_EID:
		o += sprintf(o, "eddystone-eid:");
		hex(o, b->eid, sizeof(b->eid));
		return 1;
	case HAL_BLE_FMT_APP_TOKEN:
		if (b->token_len == 0 || b->token_len > SL_PRESENCE_ID_MAX / 2)
			return -1;
		hex(o, b->token, b->token_len);
		return 2;
	case HAL_BLE_FMT_EDDYSTONE_URL:
	case HAL_BLE_FMT_EDDYSTONE_TLM:
		return -1; /* the store's beacons talking, not an identity */
	case HAL_BLE_FMT_NONE:
		break;
	}
	return 0;
}

int sl_presence_from_ble(const struct hal_ble_sighting *in, struct sl_presence_sighting *out,
			 char idbuf[SL_PRESENCE_ID_MAX + 1])
{
	struct sl_presence_sighting o;
	int ident;

	if (!IS_ENABLED(CONFIG_SL_BLE))
		return -EOPNOTSUPP;
	if (!in || !out || !idbuf)
		return -EINVAL;
	memset(&o, 0, sizeof(o));
	o.ts_us = in->ts_us;
	o.medium = SL_PRESENCE_BLE;
	o.rssi = in->rssi == HAL_BLE_RSSI_NONE ? SL_PRESENCE_RSSI_NONE : in->rssi;

	ident = ble_identity(&in->beacon, idbuf);
	if (ident < 0)
		return 0;
	if (ident == 1)
		o.beacon_id = idbuf;
	else if (ident == 2)
		o.app_token = idbuf;

	switch (in->addr_type) {
	case HAL_BLE_ADDR_PUBLIC:
	case HAL_BLE_ADDR_PUBLIC_ID:
		o.addr_kind = SL_PRESENCE_ADDR_PUBLIC;
		break;
	case HAL_BLE_ADDR_RANDOM_ID:
		o.addr_kind = SL_PRESENCE_ADDR_STATIC;
		break;
	case HAL_BLE_ADDR_RANDOM:
		/* 11xxxxxx static; 01 RPA, 00 NRPA, 10 reserved: never tracked */
		o.addr_kind = (in->addr[0] >> 6) == 3 ? SL_PRESENCE_ADDR_STATIC
						       : SL_PRESENCE_ADDR_RANDOM;
		break;
	default:
		/* anonymous advertising: only a beacon id or app token can use it */
		if (!ident)
			return 0;
		o.addr_kind = SL_PRESENCE_ADDR_RANDOM;
		break;
	}
	memcpy(o.addr, in->addr, sizeof(o.addr));
	*out = o;
	mbedtls_platform_zeroize(&o, sizeof(o)); /* raw address copy */
	return 1;
}

int sl_presence_from_wifi(const struct hal_wifi_sighting *in, struct sl_presence_sighting *out)
{
	if (!IS_ENABLED(CONFIG_SL_WIFI))
		return -EOPNOTSUPP;
	if (!in || !out)
		return -EINVAL;
	memset(out, 0, sizeof(*out));
	out->ts_us = in->ts_us;
	out->medium = SL_PRESENCE_WIFI;
	out->addr_kind = in->randomized ? SL_PRESENCE_ADDR_RANDOM : SL_PRESENCE_ADDR_PUBLIC;
	out->rssi = in->has_rssi ? in->rssi : SL_PRESENCE_RSSI_NONE;
	out->fingerprint = in->fp;
	memcpy(out->addr, in->addr, sizeof(out->addr));
	return 1;
}
