/* SPDX-License-Identifier: MIT */
/*
 * Wi-Fi file backend ([wifi] source = pcapfile:FILE): a pcap or pcapng
 * capture read through libpcap and the shared read path, for replay and
 * demos. hal_wifi_open_stream() is the same over an already open stream
 * (a pipe), which is how the tests feed recorded bytes through the read
 * path the live backend uses.
 */
#include "wifi_pcap.h"

#include <errno.h>
#include <stdio.h>

/* Takes f in every case (closed on failure). */
static int stream_attach(struct hal_wifi *w, FILE *f, const char *name)
{
	char errbuf[PCAP_ERRBUF_SIZE];
	struct wifi_pcap *wp;
	pcap_t *p;
	int rc;

	rc = wifi_pcap_new(name, &wp);
	if (rc < 0)
		goto err_close_file;
	p = pcap_fopen_offline_with_tstamp_precision(f, PCAP_TSTAMP_PRECISION_MICRO,
						     errbuf);
	if (!p) {
		rc = -EINVAL;	/* not a pcap/pcapng file, or cut short */
		goto err_free_state;
	}
	rc = wifi_pcap_attach(wp, p);
	if (rc < 0) {
		pcap_close(p);	/* closes f too */
		wifi_pcap_free(wp);
		return rc;
	}
	w->ops = &wifi_file_ops;
	w->name = wp->name;
	w->priv = wp;
	return 0;

err_free_state:
	wifi_pcap_free(wp);
err_close_file:
	fclose(f);
	return rc;
}

static int file_open(struct hal_wifi *w, const struct hal_wifi_cfg *cfg)
{
	FILE *f;

	(void)cfg;	/* channels mean nothing to a file */
	f = fopen(w->name, "rbe");
	if (!f)
		return -errno;
	return stream_attach(w, f, w->name);
}

static void file_close(struct hal_wifi *w)
{
	wifi_pcap_free(w->priv);
	w->priv = NULL;
}

const struct hal_wifi_ops wifi_file_ops = {
	.open = file_open,
	.fd = wifi_pcap_fd,
	.read = wifi_pcap_read,
	.close = file_close,
	.stats = wifi_pcap_stats,
};

int hal_wifi_open_stream(struct hal_wifi *w, FILE *f, const char *name)
{
	struct hal_wifi tmp = { 0 };
	int rc;

	if (!w || !f) {
		if (f)
			fclose(f);
		return -EINVAL;
	}
	rc = stream_attach(&tmp, f, name ? name : "stream");
	if (rc < 0)
		return rc;
	*w = tmp;
	return 0;
}
