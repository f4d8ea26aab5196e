/* SPDX-License-Identifier: MIT */
/*
 * Wi-Fi live backend ([wifi] source = pcap:IFACE): libpcap on a
 * monitor-mode interface with a kernel BPF filter for probe requests,
 * non-blocking, read through the shared path (wifi_pcap.c). When the
 * interface goes away the handle is dropped and hal_wifi_retry(), driven
 * by the caller's timer, opens it again; the channel list ([wifi]
 * channels) is applied through nl80211 at open, after each reopen, and on
 * every hal_wifi_hop(). Opening the device is the untestable part; the
 * tests replace it through struct wifi_live_hooks.
 */
#include "wifi_pcap.h"

#include "log.h"

#include <errno.h>
#include <net/if.h>
#include <string.h>

#define LIVE_SNAPLEN 4096		/* a probe request is well below this */
#define LIVE_BUFFER (1 << 20)		/* kernel ring: bursts while the loop is busy */
#define LIVE_FILTER "type mgt subtype probe-req"

static int pcap_errno(int rc)
{
	switch (rc) {
	case PCAP_ERROR_NO_SUCH_DEVICE:
		return -ENODEV;
	case PCAP_ERROR_PERM_DENIED:
	case PCAP_ERROR_PROMISC_PERM_DENIED:
		return -EPERM;
	case PCAP_ERROR_IFACE_NOT_UP:
		return -ENETDOWN;
	case PCAP_ERROR_RFMON_NOTSUP:
	case PCAP_ERROR_NOT_RFMON:
		return -EPROTONOSUPPORT;
	default:
		return -EIO;
	}
}

static int live_pcap_open(const char *iface, void *ctx, pcap_t **ret)
{
	char errbuf[PCAP_ERRBUF_SIZE];
	struct bpf_program prog;
	pcap_t *p;
	int rc;

	(void)ctx;
	p = pcap_create(iface, errbuf);
	if (!p)
		return -ENOMEM;
	if (pcap_set_snaplen(p, LIVE_SNAPLEN) != 0 ||
	    pcap_set_immediate_mode(p, 1) != 0 ||
	    pcap_set_buffer_size(p, LIVE_BUFFER) != 0 ||
	    pcap_set_tstamp_precision(p, PCAP_TSTAMP_PRECISION_MICRO) != 0) {
		rc = -EIO;
		goto err_close;
	}
	rc = pcap_activate(p);
	if (rc < 0) {
		sl_debug("wifi: %s: %s", iface, pcap_geterr(p));
		rc = pcap_errno(rc);
		goto err_close;
	}
	/* A monitor interface may offer several link types: ask for radiotap. */
	if (pcap_datalink(p) != HAL_WIFI_DLT_RADIOTAP &&
	    pcap_set_datalink(p, HAL_WIFI_DLT_RADIOTAP) != 0 &&
	    pcap_datalink(p) != HAL_WIFI_DLT_IEEE802_11) {
		rc = -EPROTONOSUPPORT;	/* not in monitor mode */
		goto err_close;
	}
	if (pcap_compile(p, &prog, LIVE_FILTER, 1, PCAP_NETMASK_UNKNOWN) != 0) {
		rc = -EIO;
		goto err_close;
	}
	rc = pcap_setfilter(p, &prog);
	pcap_freecode(&prog);
	if (rc != 0) {
		rc = -EIO;
		goto err_close;
	}
	if (pcap_setnonblock(p, 1, errbuf) != 0) {
		rc = -EIO;
		goto err_close;
	}
	*ret = p;
	return 0;

err_close:
	pcap_close(p);
	return rc;
}

static int live_set_freq(struct wifi_pcap *wp, unsigned int freq)
{
	int rc;

	if (!wp->nl) {
		rc = wifi_nl_open(&wp->nl);
		if (rc < 0)
			return rc;
	}
	return wifi_nl_set_freq(wp->nl, wp->name, freq);
}

const struct wifi_live_hooks wifi_live_default_hooks = {
	.open = live_pcap_open,
	.set_freq = live_set_freq,
};

/* Opens the capture and tunes the current channel; wp->pcap set on success. */
static int live_start(struct wifi_pcap *wp)
{
	pcap_t *p;
	int rc;

	rc = wp->hooks.open(wp->name, wp->hooks.ctx, &p);
	if (rc < 0)
		return rc;
	rc = wifi_pcap_attach(wp, p);
	if (rc < 0) {
		pcap_close(p);
		return rc;
	}
	if (wp->n_freqs) {
		rc = wp->hooks.set_freq(wp, wp->freqs[wp->cur]);
		if (rc < 0) {
			pcap_close(wp->pcap);
			wp->pcap = NULL;
			wp->fd = -1;
			return rc;
		}
	}
	return 0;
}

int wifi_live_attach(struct hal_wifi *w, const char *iface,
		     const struct hal_wifi_cfg *cfg,
		     const struct wifi_live_hooks *hooks)
{
	struct wifi_pcap *wp;
	size_t n = strlen(iface);
	int rc;

	if (n == 0 || n >= IFNAMSIZ || strchr(iface, '/'))
		return -EINVAL;
	if (cfg && cfg->n_channels > HAL_WIFI_MAX_CHANNELS)
		return -EINVAL;
	rc = wifi_pcap_new(iface, &wp);
	if (rc < 0)
		return rc;
	wp->live = true;
	wp->hooks = *hooks;
	for (unsigned int i = 0; cfg && i < cfg->n_channels; i++) {
		unsigned int f = hal_wifi_chan_to_freq(cfg->channels[i]);

		if (!f) {
			rc = -EINVAL;
			goto err_free_state;
		}
		wp->freqs[wp->n_freqs++] = (uint16_t)f;
	}
	rc = live_start(wp);
	if (rc < 0)
		goto err_free_state;
	w->ops = &wifi_live_ops;
	w->name = wp->name;
	w->priv = wp;
	return 0;

err_free_state:
	wifi_nl_close(wp->nl);
	wifi_pcap_free(wp);
	return rc;
}

static int live_open(struct hal_wifi *w, const struct hal_wifi_cfg *cfg)
{
	return wifi_live_attach(w, w->name, cfg, &wifi_live_default_hooks);
}

static int live_retry(struct hal_wifi *w)
{
	struct wifi_pcap *wp = w->priv;
	int rc;

	if (wp->pcap)
		return 0;
	rc = live_start(wp);
	if (rc < 0)
		return rc;
	wp->stats.reopened++;
	return 0;
}

static int live_hop(struct hal_wifi *w)
{
	struct wifi_pcap *wp = w->priv;
	int rc;

	if (wp->n_freqs < 2)
		return -EINVAL;
	if (!wp->pcap)
		return -ENETDOWN;
	wp->cur = (wp->cur + 1) % wp->n_freqs;
	rc = wp->hooks.set_freq(wp, wp->freqs[wp->cur]);
	if (rc < 0)
		return rc;
	wp->stats.hops++;
	return 0;
}

static void live_close(struct hal_wifi *w)
{
	struct wifi_pcap *wp = w->priv;

	if (wp)
		wifi_nl_close(wp->nl);
	wifi_pcap_free(wp);
	w->priv = NULL;
}

const struct hal_wifi_ops wifi_live_ops = {
	.open = live_open,
	.fd = wifi_pcap_fd,
	.read = wifi_pcap_read,
	.close = live_close,
	.retry = live_retry,
	.hop = live_hop,
	.stats = wifi_pcap_stats,
};
