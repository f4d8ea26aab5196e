/* SPDX-License-Identifier: MIT */
/*
 * Radiotap header parser (https://www.radiotap.org): walks the chain of
 * present bitmaps, follows radiotap and vendor namespaces, and locates each
 * field at its natural alignment (relative to the start of the header) to
 * pick out Flags, Channel/XChannel and the dBm antenna signals. Pure: no
 * allocation, no read outside [buf, buf + it_len). The walk follows the
 * Linux kernel's iterator (net/wireless/radiotap.c).
 */
#include <hal/wifi.h>

#include <errno.h>

#define RT_FLAGS	1
#define RT_CHANNEL	3
#define RT_DBM_ANTSIGNAL 5
#define RT_ANTENNA	11
#define RT_XCHANNEL	18
#define RT_RADIOTAP_NS	29
#define RT_VENDOR_NS	30
#define RT_EXT		31

#define RT_F_FCS	0x10	/* frame includes FCS */
#define RT_F_BADFCS	0x40	/* frame failed FCS check */

/* Alignment and size of the radiotap-namespace fields, by bit number. */
static const struct {
	uint8_t align;
	uint8_t size;
} rt_fields[] = {
	[0] = { 8, 8 },		/* TSFT */
	[1] = { 1, 1 },		/* Flags */
	[2] = { 1, 1 },		/* Rate */
	[3] = { 2, 4 },		/* Channel: u16 freq, u16 flags */
	[4] = { 2, 2 },		/* FHSS */
	[5] = { 1, 1 },		/* dBm antenna signal */
	[6] = { 1, 1 },		/* dBm antenna noise */
	[7] = { 2, 2 },		/* Lock quality */
	[8] = { 2, 2 },		/* TX attenuation */
	[9] = { 2, 2 },		/* dB TX attenuation */
	[10] = { 1, 1 },	/* dBm TX power */
	[11] = { 1, 1 },	/* Antenna */
	[12] = { 1, 1 },	/* dB antenna signal */
	[13] = { 1, 1 },	/* dB antenna noise */
	[14] = { 2, 2 },	/* RX flags */
	[15] = { 2, 2 },	/* TX flags */
	[16] = { 1, 1 },	/* RTS retries */
	[17] = { 1, 1 },	/* data retries */
	[18] = { 4, 8 },	/* XChannel: u32 flags, u16 freq, u8 chan, u8 maxpower */
	[19] = { 1, 3 },	/* MCS */
	[20] = { 4, 8 },	/* A-MPDU status */
	[21] = { 2, 12 },	/* VHT */
	[22] = { 8, 12 },	/* timestamp */
	[23] = { 2, 12 },	/* HE */
	[24] = { 2, 12 },	/* HE-MU */
	[25] = { 2, 6 },	/* HE-MU-other-user */
	[26] = { 1, 1 },	/* 0-length-PSDU */
	[27] = { 2, 4 },	/* L-SIG */
	/* 28: TLVs follow; from there on fields are not bitmap-located */
};
#define RT_N_FIELDS (sizeof(rt_fields) / sizeof(rt_fields[0]))

static uint16_t le16(const uint8_t *p)
{
	return (uint16_t)(p[0] | p[1] << 8);
}

static uint32_t le32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	       (uint32_t)p[3] << 24;
}

/* Signals seen in one radiotap-namespace instance (between namespace switches). */
struct rt_ns {
	bool has_signal;
	bool has_antenna;
	int8_t signal;
};

struct rt_sel {
	bool has_combined;
	int8_t combined;
	bool has_best;
	int8_t best;		/* strongest per-antenna signal */
};

static void ns_finish(struct rt_sel *sel, struct rt_ns *ns)
{
	if (ns->has_signal) {
		if (!ns->has_antenna) {
			if (!sel->has_combined) {
				sel->has_combined = true;
				sel->combined = ns->signal;
			}
		} else if (!sel->has_best || ns->signal > sel->best) {
			sel->has_best = true;
			sel->best = ns->signal;
		}
	}
	*ns = (struct rt_ns){ 0 };
}

int hal_wifi_radiotap_parse(const uint8_t *buf, size_t len,
			    struct hal_wifi_radiotap *ret)
{
	struct hal_wifi_radiotap r = { 0 };
	struct rt_sel sel = { 0 };
	struct rt_ns ns = { 0 };
	bool in_vendor = false;	/* current namespace is a vendor one (skipped) */
	unsigned int base = 0;	/* bit number of bit 0 of this word in its namespace */
	size_t it_len, nwords = 0, pos;
	bool done = false, seen_flags = false;
	uint16_t xfreq = 0;

	if (len < 8)
		return -EINVAL;
	if (buf[0] != 0)
		return -EPROTONOSUPPORT;
	it_len = le16(buf + 2);
	if (it_len < 8 || it_len > len)
		return -EINVAL;

	/* The present words come first, chained by bit 31. */
	pos = 4;
	for (;;) {
		uint32_t word;

		if (it_len - pos < 4)
			return -EINVAL;
		word = le32(buf + pos);
		pos += 4;
		nwords++;
		if (!(word & (1u << RT_EXT)))
			break;
	}

	for (size_t i = 0; i < nwords && !done; i++) {
		uint32_t word = le32(buf + 4 + 4 * i);
		int next = 0;	/* 0 same namespace, 1 radiotap, 2 vendor */
		size_t skip;

		for (unsigned int bit = 0; bit < RT_RADIOTAP_NS && !done; bit++) {
			unsigned int idx = base + bit, align, size;
			const uint8_t *f;

			if (!(word & (1u << bit)) || in_vendor)
				continue;
			if (idx >= RT_N_FIELDS) {
				/* Unknown size: later fields cannot be located. */
				done = true;
				break;
			}
			align = rt_fields[idx].align;
			size = rt_fields[idx].size;
			pos = (pos + align - 1) & ~(size_t)(align - 1);
			if (pos > it_len || it_len - pos < size)
				return -EINVAL;
			f = buf + pos;
			switch (idx) {
			case RT_FLAGS:
				if (!seen_flags)
					r.flags = f[0];
				seen_flags = true;
				break;
			case RT_CHANNEL:
				if (!r.freq)
					r.freq = le16(f);
				break;
			case RT_XCHANNEL:
				if (!xfreq)
					xfreq = le16(f + 4);
				break;
			case RT_DBM_ANTSIGNAL:
				if (!ns.has_signal) {
					ns.has_signal = true;
					ns.signal = (int8_t)f[0];
				}
				if (r.n_signals < UINT8_MAX)
					r.n_signals++;
				break;
			case RT_ANTENNA:
				ns.has_antenna = true;
				break;
			default:
				break;
			}
			pos += size;
		}
		if (done)
			break;
		/* Both namespace bits: the vendor one wins, as in Linux. */
		if (word & (1u << RT_VENDOR_NS)) {
			/* OUI[3], sub_namespace, le16 skip_length; its data follows */
			pos = (pos + 1) & ~(size_t)1;
			if (pos > it_len || it_len - pos < 6)
				return -EINVAL;
			skip = le16(buf + pos + 4);
			pos += 6;
			if (it_len - pos < skip)
				return -EINVAL;
			pos += skip;
			next = 2;
		} else if (word & (1u << RT_RADIOTAP_NS)) {
			next = 1;
		}
		if (next) {
			ns_finish(&sel, &ns);
			in_vendor = next == 2;
			base = 0;
		} else {
			base += 32;
		}
	}
	ns_finish(&sel, &ns);

	r.len = (uint16_t)it_len;
	if (!r.freq)
		r.freq = xfreq;
	r.has_fcs = r.flags & RT_F_FCS;
	r.bad_fcs = r.flags & RT_F_BADFCS;
	if (sel.has_combined) {
		r.has_signal = true;
		r.signal = sel.combined;
	} else if (sel.has_best) {
		r.has_signal = true;
		r.signal = sel.best;
	}
	*ret = r;
	return 0;
}
