/* SPDX-License-Identifier: MIT */
/*
 * HCI advertising report parser, shared by the live backend (events read
 * from a raw HCI socket) and the btsnoop replay: LE Meta event, subevents
 * LE Advertising Report (0x02, legacy, several reports per event) and LE
 * Extended Advertising Report (0x0D). Reports are laid out one after the
 * other (Event_Type, Address_Type, Address, ..., Data, RSSI), as Linux and
 * Zephyr read them. The whole event is validated before the first report is
 * returned; nothing is read past its length.
 */
#include "ble_internal.h"

#include <errno.h>
#include <string.h>

#define LEGACY_FIXED 10		/* type, addr type, addr(6), length, rssi */
#define LEGACY_DATA_MAX 31
#define EXT_FIXED 24		/* see ext_report() */

#define EXT_CONNECTABLE 0x0001
#define EXT_SCANNABLE 0x0002
#define EXT_DIRECTED 0x0004
#define EXT_SCAN_RSP 0x0008
#define EXT_LEGACY 0x0010
#define EXT_DATA_STATUS(t) (((t) >> 5) & 3)

static bool addr_type_ok(uint8_t t, bool ext)
{
	return t <= HAL_BLE_ADDR_RANDOM_ID || (ext && t == HAL_BLE_ADDR_ANONYMOUS);
}

/* Walks the reports once to check every length and enumerated value. */
static int validate(const uint8_t *p, size_t len, uint8_t sub, unsigned num)
{
	size_t pos = 0;

	for (unsigned i = 0; i < num; i++) {
		size_t dlen;

		if (sub == HCI_LE_ADV_REPORT) {
			if (len - pos < LEGACY_FIXED)
				return -EBADMSG;
			if (p[pos] > 0x04 || !addr_type_ok(p[pos + 1], false))
				return -EBADMSG;
			dlen = p[pos + 8];
			if (dlen > LEGACY_DATA_MAX || len - pos - LEGACY_FIXED < dlen)
				return -EBADMSG;
			pos += LEGACY_FIXED + dlen;
		} else {
			uint16_t type;

			if (len - pos < EXT_FIXED)
				return -EBADMSG;
			type = (uint16_t)(p[pos] | p[pos + 1] << 8);
			if (EXT_DATA_STATUS(type) == 3 || !addr_type_ok(p[pos + 2], true))
				return -EBADMSG;
			if (p[pos + 9] < HAL_BLE_PHY_1M || p[pos + 9] > HAL_BLE_PHY_CODED ||
			    p[pos + 10] > HAL_BLE_PHY_CODED)
				return -EBADMSG;
			dlen = p[pos + 23];
			if (len - pos - EXT_FIXED < dlen)
				return -EBADMSG;
			pos += EXT_FIXED + dlen;
		}
	}
	return pos == len ? 0 : -EBADMSG;
}

int hal_ble__hci_iter_init(struct hal_ble__hci_iter *it, const uint8_t *evt, size_t len)
{
	int rc;

	if (len < 2 || (size_t)evt[1] != len - 2)
		return -EBADMSG;
	if (evt[0] != HCI_EV_LE_META)
		return -ENOMSG;
	if (len < 3)
		return -EBADMSG;
	if (evt[2] != HCI_LE_ADV_REPORT && evt[2] != HCI_LE_EXT_ADV_REPORT)
		return -ENOMSG;
	if (len < 4 || evt[3] == 0)
		return -EBADMSG;
	rc = validate(evt + 4, len - 4, evt[2], evt[3]);
	if (rc < 0)
		return rc;
	it->p = evt + 4;
	it->sub = evt[2];
	it->left = evt[3];
	return 0;
}

static void addr_from_air(const uint8_t *p, uint8_t out[6])
{
	for (unsigned i = 0; i < 6; i++)
		out[i] = p[5 - i];
}

static uint8_t legacy_event(uint16_t t)
{
	if (t & EXT_SCAN_RSP)
		return HAL_BLE_EVT_SCAN_RSP;
	if (t & EXT_DIRECTED)
		return HAL_BLE_EVT_ADV_DIRECT_IND;
	if (t & EXT_CONNECTABLE)
		return HAL_BLE_EVT_ADV_IND;
	if (t & EXT_SCANNABLE)
		return HAL_BLE_EVT_ADV_SCAN_IND;
	return HAL_BLE_EVT_ADV_NONCONN_IND;
}

/*
 * Event_Type(2) Address_Type(1) Address(6) Primary_PHY(1) Secondary_PHY(1)
 * Advertising_SID(1) TX_Power(1) RSSI(1) Periodic_Advertising_Interval(2)
 * Direct_Address_Type(1) Direct_Address(6) Data_Length(1) Data(n)
 */
static const uint8_t *ext_report(const uint8_t *p, struct hal_ble_sighting *s)
{
	uint16_t t = (uint16_t)(p[0] | p[1] << 8);

	s->extended = true;
	s->ext_event_type = t;
	if (t & EXT_LEGACY)
		s->event = legacy_event(t);
	else
		s->event = (t & EXT_SCAN_RSP) ? HAL_BLE_EVT_EXT_SCAN_RSP : HAL_BLE_EVT_EXT_ADV;
	s->data_status = EXT_DATA_STATUS(t);
	s->addr_type = p[2];
	if (s->addr_type != HAL_BLE_ADDR_ANONYMOUS)
		addr_from_air(p + 3, s->addr);
	s->primary_phy = p[9];
	s->secondary_phy = p[10];
	s->sid = p[11];
	s->tx_power = (int8_t)p[12];
	s->rssi = (int8_t)p[13];
	s->ad_len = p[23];
	memcpy(s->ad, p + EXT_FIXED, s->ad_len);
	return p + EXT_FIXED + s->ad_len;
}

static const uint8_t *legacy_report(const uint8_t *p, struct hal_ble_sighting *s)
{
	s->event = p[0];	/* 0..4 match enum hal_ble_event */
	s->addr_type = p[1];
	addr_from_air(p + 2, s->addr);
	s->ad_len = p[8];
	memcpy(s->ad, p + 9, s->ad_len);
	s->rssi = (int8_t)p[9 + s->ad_len];
	s->primary_phy = HAL_BLE_PHY_1M;
	s->secondary_phy = HAL_BLE_PHY_NONE;
	s->tx_power = HAL_BLE_RSSI_NONE;
	s->sid = 0xff;
	s->data_status = HAL_BLE_DATA_COMPLETE;
	return p + LEGACY_FIXED + s->ad_len;
}

int hal_ble__hci_iter_next(struct hal_ble__hci_iter *it, uint64_t ts_us,
			   struct hal_ble_sighting *out)
{
	if (it->left == 0)
		return 0;
	/* Clear the header only: the AD buffer is overwritten up to ad_len. */
	memset(out, 0, offsetof(struct hal_ble_sighting, ad));
	out->ts_us = ts_us;
	out->irk = -1;
	if (it->sub == HCI_LE_ADV_REPORT)
		it->p = legacy_report(it->p, out);
	else
		it->p = ext_report(it->p, out);
	it->left--;
	return 1;
}
