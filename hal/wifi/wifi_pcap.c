/* SPDX-License-Identifier: MIT */
/*
 * The read path shared by the live and file Wi-Fi backends: packets from a
 * libpcap handle (a monitor interface, a file, a pipe) through
 * hal_wifi_frame_parse() into sightings, with counters. Nothing here
 * allocates per packet; libpcap owns the packet buffer.
 */
#include "wifi_pcap.h"

#include "log.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

int wifi_pcap_new(const char *name, struct wifi_pcap **ret)
{
	size_t n = strlen(name);
	struct wifi_pcap *wp = calloc(1, sizeof(*wp) + n + 1);

	if (!wp)
		return -ENOMEM;
	memcpy(wp->name, name, n + 1);
	wp->fd = -1;
	*ret = wp;
	return 0;
}

int wifi_pcap_attach(struct wifi_pcap *wp, pcap_t *p)
{
	int dlt = pcap_datalink(p);
	int fd;

	if (dlt != HAL_WIFI_DLT_RADIOTAP && dlt != HAL_WIFI_DLT_IEEE802_11)
		return -EPROTONOSUPPORT;
	fd = pcap_get_selectable_fd(p);
	if (fd < 0)
		return -EOPNOTSUPP;
	wp->pcap = p;
	wp->dlt = dlt;
	wp->fd = fd;
	return 0;
}

void wifi_pcap_free(struct wifi_pcap *wp)
{
	if (!wp)
		return;
	if (wp->pcap)
		pcap_close(wp->pcap);
	free(wp);
}

int wifi_pcap_fd(const struct hal_wifi *w)
{
	const struct wifi_pcap *wp = w->priv;

	return wp->pcap ? wp->fd : -ENETDOWN;
}

/* The live capture is gone (interface removed or down): drop the handle. */
static int capture_lost(struct wifi_pcap *wp)
{
	sl_debug("wifi: capture on %s lost: %s", wp->name, pcap_geterr(wp->pcap));
	pcap_close(wp->pcap);
	wp->pcap = NULL;
	wp->fd = -1;
	wp->stats.lost++;
	return -ENETDOWN;
}

int wifi_pcap_read(struct hal_wifi *w, struct hal_wifi_sighting *out)
{
	struct wifi_pcap *wp = w->priv;

	if (!wp->pcap)
		return -ENETDOWN;
	for (;;) {
		struct pcap_pkthdr *h;
		const u_char *data;
		uint64_t ts;
		int rc = pcap_next_ex(wp->pcap, &h, &data);

		if (rc == 0)
			return 0;
		if (rc == PCAP_ERROR_BREAK)
			return -ENODATA;
		if (rc < 0)
			return wp->live ? capture_lost(wp) : -EIO;
		wp->stats.frames++;
		if (h->caplen < h->len) {
			wp->stats.truncated++;
			continue;
		}
		ts = h->ts.tv_sec < 0 ? 0 :
		     (uint64_t)h->ts.tv_sec * 1000000u + (uint64_t)h->ts.tv_usec;
		rc = hal_wifi_frame_parse(wp->dlt, data, h->caplen, ts, out);
		if (rc == 0) {
			wp->stats.sightings++;
			return 1;
		}
		if (rc == -ENOMSG)
			wp->stats.ignored++;
		else
			wp->stats.malformed++;
	}
}

void wifi_pcap_stats(const struct hal_wifi *w, struct hal_wifi_stats *ret)
{
	const struct wifi_pcap *wp = w->priv;
	struct hal_wifi_stats s = wp->stats;
	struct pcap_stat ps;

	if (wp->live && wp->pcap && pcap_stats(wp->pcap, &ps) == 0)
		s.kernel_drops = ps.ps_drop;
	*ret = s;
}
