/* SPDX-License-Identifier: MIT */
/*
 * Internal to hal/wifi (and its white-box tests): the state every
 * libpcap-based Wi-Fi backend shares, the one read path they all use
 * (pcap_next_ex -> hal_wifi_frame_parse), and the live backend's hooks to
 * the outside world (opening the interface, tuning its channel), which a
 * test replaces to feed recorded bytes through a pipe and to inject
 * failures.
 */
#ifndef SL_WIFI_PCAP_H
#define SL_WIFI_PCAP_H

#include <hal/wifi.h>

#include <pcap/pcap.h>

struct wifi_pcap;
struct wifi_nl;

struct wifi_live_hooks {
	/* Opens iface ready to read: activated, radiotap link type, probe
	 * request filter, non-blocking. 0 or -errno. */
	int (*open)(const char *iface, void *ctx, pcap_t **ret);
	/* Tunes the interface to freq MHz. 0 or -errno. */
	int (*set_freq)(struct wifi_pcap *wp, unsigned int freq);
	void *ctx;
};

struct wifi_pcap {
	pcap_t *pcap;		/* NULL while a live capture is lost */
	int fd;			/* pcap_get_selectable_fd, -1 with pcap == NULL */
	int dlt;		/* HAL_WIFI_DLT_* */
	bool live;		/* a read error means "capture lost", not EOF */
	struct wifi_live_hooks hooks;
	struct wifi_nl *nl;	/* live: nl80211 socket, opened on first use */
	uint16_t freqs[HAL_WIFI_MAX_CHANNELS]; /* live: MHz, from cfg->channels */
	unsigned int n_freqs;
	unsigned int cur;	/* index in freqs of the current channel */
	struct hal_wifi_stats stats;
	char name[];		/* interface or file name */
};

extern const struct hal_wifi_ops wifi_live_ops;
extern const struct hal_wifi_ops wifi_file_ops;

/* Allocates the shared state with a copy of name. 0 or -ENOMEM. */
int wifi_pcap_new(const char *name, struct wifi_pcap **ret);
/* Takes p (on success only): checks its link type, fetches its fd.
 * 0 or -EPROTONOSUPPORT / -EOPNOTSUPP (no selectable fd). */
int wifi_pcap_attach(struct wifi_pcap *wp, pcap_t *p);
/* Frees wp and what it holds (pcap handle). Accepts NULL. */
void wifi_pcap_free(struct wifi_pcap *wp);

/* The shared ops implementations (see struct hal_wifi_ops). */
int wifi_pcap_fd(const struct hal_wifi *w);
int wifi_pcap_read(struct hal_wifi *w, struct hal_wifi_sighting *out);
void wifi_pcap_stats(const struct hal_wifi *w, struct hal_wifi_stats *ret);

/*
 * The live backend on interface iface with the given hooks (the real ones
 * are wifi_live_default_hooks). Same returns as hal_wifi_open(); *w is set
 * only on success.
 */
int wifi_live_attach(struct hal_wifi *w, const char *iface,
		     const struct hal_wifi_cfg *cfg,
		     const struct wifi_live_hooks *hooks);
extern const struct wifi_live_hooks wifi_live_default_hooks;

/* nl80211 through libnl-genl (wifi_nl80211.c; wifi_nl80211_none.c returns
 * -EOPNOTSUPP when the build has no libnl-genl). */
int wifi_nl_open(struct wifi_nl **ret);
int wifi_nl_set_freq(struct wifi_nl *nl, const char *iface, unsigned int freq);
void wifi_nl_close(struct wifi_nl *nl);

#endif
