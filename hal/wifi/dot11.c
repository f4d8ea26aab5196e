/* SPDX-License-Identifier: MIT */
/*
 * 802.11 probe request parser and the packet-to-sighting step shared by
 * every Wi-Fi backend: radiotap (hal_wifi_radiotap_parse), FCS stripping,
 * management header, information elements, the element fingerprint. Also
 * the channel helpers for [wifi] channels. Pure: no allocation, nothing
 * read outside the given buffer, raw bytes copied only into the caller's
 * sighting.
 */
#include <hal/wifi.h>

#include <errno.h>
#include <string.h>

#define FC_TYPE(fc)	(((fc) >> 2) & 3)
#define FC_SUBTYPE(fc)	(((fc) >> 4) & 15)
#define FC_TODS		0x0100
#define FC_FROMDS	0x0200
#define FC_PROTECTED	0x4000
#define FC_ORDER	0x8000	/* +HTC: 4-byte HT Control field after Sequence Control */

#define TYPE_MGMT	0
#define SUBTYPE_PROBE_REQ 4

#define EID_SSID	0
#define EID_RATES	1
#define EID_HT_CAP	45
#define EID_EXT_RATES	50
#define EID_EXT_CAP	127
#define EID_VHT_CAP	191
#define EID_VENDOR	221
#define EID_EXTENSION	255

#define FNV64_BASIS	0xcbf29ce484222325ull
#define FNV64_PRIME	0x100000001b3ull

static uint16_t le16(const uint8_t *p)
{
	return (uint16_t)(p[0] | p[1] << 8);
}

static uint64_t fnv_byte(uint64_t h, uint8_t b)
{
	return (h ^ b) * FNV64_PRIME;
}

static uint64_t fnv_bytes(uint64_t h, const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		h = fnv_byte(h, p[i]);
	return h;
}

/* How many leading body bytes of element `id` enter the fingerprint. */
static size_t fp_body_len(uint8_t id, size_t elen)
{
	size_t n;

	switch (id) {
	case EID_RATES:
	case EID_EXT_RATES:
	case EID_EXT_CAP:
		return elen;
	case EID_HT_CAP:
		n = 2;
		break;
	case EID_VHT_CAP:
	case EID_VENDOR:
		n = 4;
		break;
	case EID_EXTENSION:
		n = 1;
		break;
	default:
		return SIZE_MAX;	/* id only */
	}
	return elen < n ? elen : n;
}

int hal_wifi_probe_parse(const uint8_t *frame, size_t len,
			 struct hal_wifi_probe *ret)
{
	struct hal_wifi_probe p = { 0 };
	uint64_t h = FNV64_BASIS;
	size_t hdr, off;
	bool seen_ssid = false;
	uint16_t fc;

	if (len < 2)
		return -EBADMSG;
	fc = le16(frame);
	if (fc & 3)
		return -EBADMSG;	/* protocol version 0 only */
	if (FC_TYPE(fc) != TYPE_MGMT || FC_SUBTYPE(fc) != SUBTYPE_PROBE_REQ)
		return -ENOMSG;
	if (fc & (FC_TODS | FC_FROMDS | FC_PROTECTED))
		return -EBADMSG;
	hdr = 24 + ((fc & FC_ORDER) ? 4 : 0);
	if (len < hdr)
		return -EBADMSG;
	p.sa = frame + 10;
	p.seq = le16(frame + 22) >> 4;

	for (off = hdr; off < len;) {
		uint8_t id, elen;
		const uint8_t *body;
		size_t n;

		if (len - off < 2)
			return -EBADMSG;
		id = frame[off];
		elen = frame[off + 1];
		body = frame + off + 2;
		if (len - off - 2 < elen)
			return -EBADMSG;
		if (id == EID_SSID && !seen_ssid) {
			if (elen > HAL_WIFI_SSID_MAX)
				return -EBADMSG;
			seen_ssid = true;
			p.ssid = body;
			p.ssid_len = elen;
		}
		h = fnv_byte(h, id);
		n = fp_body_len(id, elen);
		if (n != SIZE_MAX) {
			h = fnv_byte(h, (uint8_t)n);
			h = fnv_bytes(h, body, n);
		}
		if (p.n_elements < UINT8_MAX)
			p.n_elements++;
		off += 2 + (size_t)elen;
	}
	p.fp = h;
	*ret = p;
	return 0;
}

int hal_wifi_frame_parse(int dlt, const uint8_t *pkt, size_t len,
			 uint64_t ts_us, struct hal_wifi_sighting *ret)
{
	struct hal_wifi_radiotap rt = { 0 };
	struct hal_wifi_probe p;
	const uint8_t *frame = pkt;
	size_t flen = len;
	int rc;

	if (dlt == HAL_WIFI_DLT_RADIOTAP) {
		rc = hal_wifi_radiotap_parse(pkt, len, &rt);
		if (rc < 0)
			return rc;
		frame = pkt + rt.len;
		flen = len - rt.len;
		if (rt.bad_fcs)
			return -EBADMSG;
		if (rt.has_fcs) {
			if (flen < 4)
				return -EBADMSG;
			flen -= 4;
		}
	} else if (dlt != HAL_WIFI_DLT_IEEE802_11) {
		return -EPROTONOSUPPORT;
	}
	rc = hal_wifi_probe_parse(frame, flen, &p);
	if (rc < 0)
		return rc;

	ret->ts_us = ts_us;
	ret->fp = p.fp;
	ret->freq = rt.freq;
	ret->seq = p.seq;
	ret->has_rssi = rt.has_signal;
	ret->rssi = rt.has_signal ? rt.signal : 0;
	memcpy(ret->addr, p.sa, 6);
	ret->randomized = p.sa[0] & 0x02;
	ret->ssid_len = p.ssid_len;
	if (p.ssid_len)
		memcpy(ret->ssid, p.ssid, p.ssid_len);
	/* no stale bytes of an earlier SSID behind this one */
	memset(ret->ssid + p.ssid_len, 0, HAL_WIFI_SSID_MAX - p.ssid_len);
	return 0;
}

unsigned int hal_wifi_chan_to_freq(unsigned int chan)
{
	if (chan >= 1 && chan <= 13)
		return 2407 + 5 * chan;
	if (chan == 14)
		return 2484;
	if (chan >= 32 && chan <= 177)
		return 5000 + 5 * chan;
	return 0;
}

int hal_wifi_channels_parse(const char *s, struct hal_wifi_cfg *cfg)
{
	uint16_t ch[HAL_WIFI_MAX_CHANNELS];
	unsigned int n = 0;

	for (;;) {
		unsigned int v = 0;
		bool digits = false;

		while (*s == ' ' || *s == '\t')
			s++;
		if (!*s && n == 0)
			break;	/* empty list */
		while (*s >= '0' && *s <= '9') {
			v = v * 10 + (unsigned int)(*s - '0');
			if (v > 1000)
				return -EINVAL;
			digits = true;
			s++;
		}
		while (*s == ' ' || *s == '\t')
			s++;
		if (!digits || !hal_wifi_chan_to_freq(v) ||
		    n == HAL_WIFI_MAX_CHANNELS)
			return -EINVAL;
		ch[n++] = (uint16_t)v;
		if (!*s)
			break;
		if (*s != ',')
			return -EINVAL;
		s++;
	}
	memcpy(cfg->channels, ch, n * sizeof(ch[0]));
	cfg->n_channels = n;
	return 0;
}
