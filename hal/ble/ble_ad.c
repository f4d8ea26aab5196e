/* SPDX-License-Identifier: MIT */
/*
 * AD payload parser (Core Specification Supplement, Part A) and UUID
 * helpers. The parser only points into the caller's buffer: no copy, no
 * allocation, and every length is checked before a byte is read.
 */
#include <hal/ble.h>

#include "util.h"

#include <errno.h>
#include <string.h>

#define AD_FLAGS 0x01
#define AD_UUID16_INCOMPLETE 0x02
#define AD_UUID16_COMPLETE 0x03
#define AD_UUID32_INCOMPLETE 0x04
#define AD_UUID32_COMPLETE 0x05
#define AD_UUID128_INCOMPLETE 0x06
#define AD_UUID128_COMPLETE 0x07
#define AD_NAME_SHORT 0x08
#define AD_NAME_COMPLETE 0x09
#define AD_TX_POWER 0x0a
#define AD_SVC_DATA16 0x16
#define AD_SVC_DATA32 0x20
#define AD_SVC_DATA128 0x21
#define AD_MFG_DATA 0xff

/* 00000000-0000-1000-8000-00805f9b34fb, display order */
static const uint8_t base_uuid[16] = {
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x10, 0x00,
	0x80, 0x00, 0x00, 0x80, 0x5f, 0x9b, 0x34, 0xfb,
};

/* On-air little-endian UUID of width 2, 4 or 16 bytes to display order. */
static void uuid_from_air(const uint8_t *p, unsigned width, uint8_t out[16])
{
	if (width == 16) {
		for (unsigned i = 0; i < 16; i++)
			out[i] = p[15 - i];
		return;
	}
	memcpy(out, base_uuid, 16);
	for (unsigned i = 0; i < width; i++)
		out[3 - i] = p[i];
}

static int uuid_list(struct hal_ble_ad *ad, const uint8_t *p, unsigned len, unsigned width,
		     bool complete)
{
	if (len % width != 0)
		return -EBADMSG;
	if (ad->n_uuids < HAL_BLE_AD_SLOTS) {
		struct hal_ble_ad_uuids *u = &ad->uuids[ad->n_uuids++];

		u->p = p;
		u->width = (uint8_t)width;
		u->count = (uint8_t)(len / width);
		u->complete = complete;
	}
	return 0;
}

static int svc_data(struct hal_ble_ad *ad, const uint8_t *p, unsigned len, unsigned width)
{
	if (len < width)
		return -EBADMSG;
	if (ad->n_svc < HAL_BLE_AD_SLOTS) {
		struct hal_ble_ad_svc *s = &ad->svc[ad->n_svc++];

		uuid_from_air(p, width, s->uuid);
		s->width = (uint8_t)width;
		s->data = p + width;
		s->len = (uint8_t)(len - width);
	}
	return 0;
}

static int field(struct hal_ble_ad *ad, uint8_t type, const uint8_t *p, unsigned len)
{
	switch (type) {
	case AD_FLAGS:
		/* The Supplement allows a zero-length flags field. */
		ad->has_flags = true;
		ad->flags = len ? p[0] : 0;
		return 0;
	case AD_UUID16_INCOMPLETE:
	case AD_UUID16_COMPLETE:
		return uuid_list(ad, p, len, 2, type == AD_UUID16_COMPLETE);
	case AD_UUID32_INCOMPLETE:
	case AD_UUID32_COMPLETE:
		return uuid_list(ad, p, len, 4, type == AD_UUID32_COMPLETE);
	case AD_UUID128_INCOMPLETE:
	case AD_UUID128_COMPLETE:
		return uuid_list(ad, p, len, 16, type == AD_UUID128_COMPLETE);
	case AD_NAME_SHORT:
	case AD_NAME_COMPLETE:
		if (!ad->name) {
			ad->name = p;
			ad->name_len = (uint8_t)len;
			ad->name_complete = type == AD_NAME_COMPLETE;
		}
		return 0;
	case AD_TX_POWER:
		if (len != 1)
			return -EBADMSG;
		ad->has_tx_power = true;
		ad->tx_power = (int8_t)p[0];
		return 0;
	case AD_SVC_DATA16:
		return svc_data(ad, p, len, 2);
	case AD_SVC_DATA32:
		return svc_data(ad, p, len, 4);
	case AD_SVC_DATA128:
		return svc_data(ad, p, len, 16);
	case AD_MFG_DATA:
		if (len < 2)
			return -EBADMSG;
		if (ad->n_mfg < HAL_BLE_AD_SLOTS) {
			struct hal_ble_ad_mfg *m = &ad->mfg[ad->n_mfg++];

			m->company = (uint16_t)(p[0] | p[1] << 8);
			m->data = p + 2;
			m->len = (uint8_t)(len - 2);
		}
		return 0;
	default:
		return 0;
	}
}

int hal_ble_ad_parse(const uint8_t *p, size_t len, struct hal_ble_ad *out)
{
	struct hal_ble_ad ad;
	size_t pos = 0;

	memset(&ad, 0, sizeof(ad));
	if (!p && len)
		return -EINVAL;
	while (pos < len) {
		unsigned flen = p[pos];
		int rc;

		if (flen == 0)
			break;	/* early termination: the rest is padding */
		if (flen > len - pos - 1)
			return -EBADMSG;
		rc = field(&ad, p[pos + 1], p + pos + 2, flen - 1);
		if (rc < 0)
			return rc;
		pos += 1 + flen;
	}
	*out = ad;
	return 0;
}

size_t hal_ble_ad_uuid_count(const struct hal_ble_ad *ad)
{
	size_t n = 0;

	for (unsigned i = 0; i < ad->n_uuids; i++)
		n += ad->uuids[i].count;
	return n;
}

int hal_ble_ad_uuid(const struct hal_ble_ad *ad, size_t i, uint8_t out[16])
{
	for (unsigned l = 0; l < ad->n_uuids; l++) {
		const struct hal_ble_ad_uuids *u = &ad->uuids[l];

		if (i < u->count) {
			uuid_from_air(u->p + i * u->width, u->width, out);
			return 0;
		}
		i -= u->count;
	}
	return -ENOENT;
}

int hal_ble_uuid_parse(const char *s, uint8_t out[16])
{
	uint8_t u[16];
	size_t n;

	if (!s)
		return -EINVAL;
	if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X'))
		s += 2;
	n = strlen(s);
	if (n == 4) {
		int d[4];

		for (int i = 0; i < 4; i++)
			if ((d[i] = sl_hexval(s[i])) < 0)
				return -EINVAL;
		memcpy(u, base_uuid, 16);
		u[2] = (uint8_t)(d[0] << 4 | d[1]);
		u[3] = (uint8_t)(d[2] << 4 | d[3]);
	} else if (n == 36) {
		unsigned k = 0;

		for (size_t i = 0; i < 36; i++) {
			int hi, lo;

			if (i == 8 || i == 13 || i == 18 || i == 23) {
				if (s[i] != '-')
					return -EINVAL;
				continue;
			}
			hi = sl_hexval(s[i]);
			lo = sl_hexval(s[i + 1]);
			if (hi < 0 || lo < 0)
				return -EINVAL;
			u[k++] = (uint8_t)(hi << 4 | lo);
			i++;
		}
	} else {
		return -EINVAL;
	}
	memcpy(out, u, 16);
	return 0;
}

void hal_ble_uuid_str(const uint8_t uuid[16], char out[HAL_BLE_UUID_STR_LEN])
{
	static const char hex[] = "0123456789abcdef";
	size_t k = 0;

	for (unsigned i = 0; i < 16; i++) {
		if (i == 4 || i == 6 || i == 8 || i == 10)
			out[k++] = '-';
		out[k++] = hex[uuid[i] >> 4];
		out[k++] = hex[uuid[i] & 15];
	}
	out[k] = '\0';
}
