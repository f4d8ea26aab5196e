/* SPDX-License-Identifier: MIT */
/*
 * Wi-Fi HAL: 802.11 probe requests heard by a monitor-mode interface,
 * turned into sightings for the presence engine.
 *
 * A source is an ops table plus an instance (see STYLE.md). Two backends
 * share one read path (libpcap -> radiotap parser -> 802.11 parser):
 *   "pcap:IFACE"     live capture on a monitor-mode interface, kernel BPF
 *                    filter for probe requests, non-blocking, optional
 *                    channel hopping through nl80211;
 *   "pcapfile:FILE"  a pcap or pcapng file (link type 127 radiotap, or
 *                    105 plain 802.11).
 * The parsers below are pure functions over (buffer, length): they never
 * allocate, never read outside the buffer and return -errno on anything
 * malformed. docs/wifi.md describes the choices they make (which antenna
 * signal, the element fingerprint).
 *
 * A sighting holds raw identifiers (source address, SSID): it must reach
 * the privacy stage only and be zeroized there (mbedtls_platform_zeroize).
 */
#ifndef HAL_WIFI_H
#define HAL_WIFI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define HAL_WIFI_SSID_MAX 32		/* 802.11 SSID element: 0..32 bytes */
#define HAL_WIFI_MAX_CHANNELS 32	/* [wifi] channels: at most this many */

/* pcap link types (DLT_*) the read path accepts. */
#define HAL_WIFI_DLT_IEEE802_11 105	/* 802.11 frame, no metadata */
#define HAL_WIFI_DLT_RADIOTAP 127	/* radiotap header + 802.11 frame */

struct hal_wifi_sighting {
	uint64_t ts_us;		/* capture time, µs since the epoch (kernel
				 * CLOCK_REALTIME for live, pcap record time
				 * for files) */
	uint64_t fp;		/* element fingerprint (hal_wifi_probe.fp) */
	uint16_t freq;		/* channel centre frequency in MHz, 0 = unknown */
	uint16_t seq;		/* 802.11 sequence number, 0..4095 */
	int8_t rssi;		/* dBm, meaningful only when has_rssi */
	bool has_rssi;		/* radiotap carried a dBm antenna signal */
	bool randomized;	/* locally administered bit (addr[0] & 0x02) */
	uint8_t addr[6];	/* transmitter (SA), RAW IDENTIFIER */
	uint8_t ssid_len;	/* 0..HAL_WIFI_SSID_MAX; 0 = wildcard/absent */
	uint8_t ssid[HAL_WIFI_SSID_MAX]; /* not NUL-terminated, RAW */
};

/*
 * What the radiotap parser extracted. Radiotap signal selection: the
 * combined signal (a dBm antenna signal in a namespace without an Antenna
 * field, as Linux mac80211 puts first) when present, otherwise the
 * strongest of the per-antenna signals.
 */
struct hal_wifi_radiotap {
	uint16_t len;		/* it_len: the 802.11 frame starts here */
	uint16_t freq;		/* Channel (or XChannel) MHz, 0 = absent */
	uint8_t flags;		/* Flags field, 0 when absent */
	bool has_fcs;		/* Flags 0x10: frame ends with a 4-byte FCS */
	bool bad_fcs;		/* Flags 0x40: the FCS check failed */
	bool has_signal;	/* signal is valid */
	int8_t signal;		/* chosen dBm antenna signal (see above) */
	uint8_t n_signals;	/* dBm antenna signal fields seen */
};

/*
 * A parsed probe request. Pointers point into the parsed buffer (nothing
 * raw is copied); they are valid as long as that buffer is.
 */
struct hal_wifi_probe {
	const uint8_t *sa;	/* 6 bytes: source address */
	const uint8_t *ssid;	/* ssid_len bytes (NULL when no SSID element) */
	uint8_t ssid_len;
	uint16_t seq;		/* sequence number (Sequence Control >> 4) */
	uint8_t n_elements;	/* information elements seen (saturates at 255) */
	uint64_t fp;		/* FNV-1a 64 over the element fingerprint input,
				 * see hal_wifi_probe_parse() */
};

/*
 * Parses a radiotap header at the start of buf: version 0, it_len within
 * buf, the chain of present bitmaps (extended bitmaps, radiotap and vendor
 * namespaces; vendor data is skipped by its skip_length), each field at its
 * natural alignment from the start of the header. Parsing of fields stops
 * quietly at the first field this parser does not know the size of (later
 * fields cannot be located; the frame itself still starts at it_len).
 * Returns 0, -EINVAL (truncated, it_len past buf or < 8, a bitmap or field
 * past it_len) or -EPROTONOSUPPORT
 * (it_version != 0). *ret is untouched on failure.
 */
int hal_wifi_radiotap_parse(const uint8_t *buf, size_t len,
			    struct hal_wifi_radiotap *ret);

/*
 * Parses an 802.11 management probe request (no FCS: strip it first).
 * Header: protocol version 0, type 0 subtype 4, ToDS = FromDS = 0, not
 * protected; a +HTC/Order frame carries a 4-byte HT Control field. Every
 * information element must fit in len; an SSID element must be <= 32
 * bytes (the first SSID element counts).
 * The fingerprint is FNV-1a 64 (offset basis 0xcbf29ce484222325, prime
 * 0x100000001b3) over, for each element in order: its id, then for
 *   1 Supported Rates, 50 Extended Supported Rates, 127 Extended
 *   Capabilities: a length byte and the whole body;
 *   45 HT Capabilities: a length byte and the 2-byte HT Capabilities Info;
 *   191 VHT Capabilities: a length byte and the 4-byte VHT Capabilities Info;
 *   221 Vendor Specific: a length byte and the OUI + OUI type (4 bytes);
 *   255 Extension: a length byte and the Element ID Extension (1 byte);
 * (shorter bodies: what there is); nothing more for other elements (SSID
 * contents, DS Parameter Set channel, ... are left out).
 * Returns 0, -ENOMSG (a well-formed frame that is not a probe request) or
 * -EBADMSG (truncated header or element, SSID > 32, bad version, ToDS/
 * FromDS or Protected set). *ret is untouched on failure.
 */
int hal_wifi_probe_parse(const uint8_t *frame, size_t len,
			 struct hal_wifi_probe *ret);

/*
 * One captured packet of link type dlt (HAL_WIFI_DLT_*) to a sighting:
 * radiotap (FCS stripped when its flag says so) then the probe request.
 * Returns 0, -EPROTONOSUPPORT (unknown dlt or radiotap version), -EINVAL
 * (malformed radiotap), -EBADMSG (malformed 802.11, frame too short for its
 * FCS, or radiotap's bad-FCS flag) or -ENOMSG (not a probe request).
 * *ret is untouched on failure.
 */
int hal_wifi_frame_parse(int dlt, const uint8_t *pkt, size_t len,
			 uint64_t ts_us, struct hal_wifi_sighting *ret);

/*
 * Channel number to centre frequency (MHz): 2.4 GHz 1..14, 5 GHz 32..177.
 * Returns the frequency or 0 when the channel is not one of those.
 */
unsigned int hal_wifi_chan_to_freq(unsigned int chan);

struct hal_wifi_cfg {
	uint16_t channels[HAL_WIFI_MAX_CHANNELS]; /* channel numbers */
	unsigned int n_channels;	/* 0: leave the interface's channel alone;
					 * 1: fixed channel; >1: hop list */
	unsigned int hop_ms;		/* dwell per channel when hopping (the
					 * caller's timer calls hal_wifi_hop) */
};

/*
 * Parses a [wifi] channels value ("1,6,11"; spaces allowed; "" = none)
 * into cfg->channels / n_channels. Returns 0 or -EINVAL (not a number, a
 * channel hal_wifi_chan_to_freq() does not know, more than
 * HAL_WIFI_MAX_CHANNELS); cfg is untouched on failure.
 */
int hal_wifi_channels_parse(const char *s, struct hal_wifi_cfg *cfg);

struct hal_wifi_stats {
	uint64_t frames;	/* packets read from the capture */
	uint64_t sightings;	/* probe requests turned into sightings */
	uint64_t ignored;	/* well-formed, but not a probe request */
	uint64_t malformed;	/* rejected by the radiotap or 802.11 parser */
	uint64_t truncated;	/* cut short by the capture's snap length */
	uint64_t lost;		/* times the live capture was lost */
	uint64_t reopened;	/* times hal_wifi_retry() got it back */
	uint64_t hops;		/* channel changes done */
	uint64_t kernel_drops;	/* live only: pcap_stats() ps_drop */
};

struct hal_wifi;

struct hal_wifi_ops {
	int (*open)(struct hal_wifi *w, const struct hal_wifi_cfg *cfg);
	/* the fd for the poll loop (POLLIN), or -errno while down */
	int (*fd)(const struct hal_wifi *w);
	/* 1 one sighting, 0 nothing more now, -ENODATA end of file, -errno */
	int (*read)(struct hal_wifi *w, struct hal_wifi_sighting *out);
	void (*close)(struct hal_wifi *w);	/* accepts a half-open source */
	int (*retry)(struct hal_wifi *w);	/* NULL: cannot recover */
	int (*hop)(struct hal_wifi *w);		/* NULL: cannot hop */
	void (*stats)(const struct hal_wifi *w, struct hal_wifi_stats *ret);
};

struct hal_wifi {
	const struct hal_wifi_ops *ops;
	const char *name;	/* interface or file name (owned by priv) */
	void *priv;		/* owned by the backend, freed in close() */
};

/*
 * Opens source ("pcap:IFACE" | "pcapfile:FILE"); cfg may be NULL (no
 * channel setting). Returns 0 or -errno: -EINVAL (unknown source form,
 * bad channel list, interface name too long), -ENOENT/-EACCES/... (file),
 * -EPROTONOSUPPORT (link type is not radiotap/802.11: not a monitor
 * interface), -ENODEV (no such interface), -EPERM (no CAP_NET_RAW),
 * -ENETDOWN (interface down), -EOPNOTSUPP (channels configured in a build
 * without nl80211), -ENOMEM, -EIO (other libpcap failure). *w is untouched
 * on failure.
 */
int hal_wifi_open(struct hal_wifi *w, const char *source,
		  const struct hal_wifi_cfg *cfg);

/*
 * Opens a source over an already open pcap/pcapng stream (for instance the
 * read end of a pipe, fdopen'd), read through the live backend's read path;
 * takes ownership of f (closed by hal_wifi_close, and on failure). It never
 * reports the capture lost: a stream error is -EIO, its end -ENODATA.
 */
int hal_wifi_open_stream(struct hal_wifi *w, FILE *f, const char *name);

/* The fd to poll for POLLIN, or -errno (-ENETDOWN while the capture is lost). */
int hal_wifi_fd(const struct hal_wifi *w);

/*
 * Reads the next probe request, skipping other and malformed frames (they
 * are counted in the stats). Returns 1 (one sighting in *out), 0 (nothing
 * more now: poll again; the live backend is non-blocking), -ENODATA (end
 * of a file or stream), -ENETDOWN (live: the interface went away or down;
 * its fd is closed -- drop it from the poll set -- and hal_wifi_retry()
 * reopens it), -EIO (read error on a file or stream).
 * A caller must read until 0 before polling again.
 */
int hal_wifi_read(struct hal_wifi *w, struct hal_wifi_sighting *out);

/*
 * Live backend after -ENETDOWN: tries once to reopen the interface and
 * restore its channel. Call it from a timer, waiting hal_wifi_backoff_ms()
 * between attempts. Returns 0 (capturing again: fetch the new fd with
 * hal_wifi_fd()), or the open error (-ENODEV while the interface is
 * missing, ...), or -EOPNOTSUPP (a file or stream source). Returns 0 at
 * once when the capture was not lost.
 */
int hal_wifi_retry(struct hal_wifi *w);

/*
 * Delay before reopen attempt number `failures` (0 = first): 1 s doubling
 * up to 60 s.
 */
unsigned int hal_wifi_backoff_ms(unsigned int failures);

/*
 * Moves the live capture to the next channel of cfg->channels (wrapping).
 * Call it every cfg->hop_ms. Returns 0, -EOPNOTSUPP (not a live source, or
 * built without nl80211), -EINVAL (fewer than two channels configured),
 * -ENETDOWN (capture lost; the channel is restored by hal_wifi_retry), or
 * the nl80211 error (-EBUSY, -ENODEV, ...; the next call tries the next
 * channel).
 */
int hal_wifi_hop(struct hal_wifi *w);

/* Counters since open; zeros for a source that keeps none. */
void hal_wifi_get_stats(const struct hal_wifi *w, struct hal_wifi_stats *ret);

/* Closes the source and zeroes *w; accepts NULL and a zeroed/closed *w. */
void hal_wifi_close(struct hal_wifi *w);

#endif
