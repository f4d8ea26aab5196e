/* SPDX-License-Identifier: MIT */
/*
 * Wi-Fi HAL front door: picks the backend from the source string
 * ("pcap:IFACE" | "pcapfile:FILE") and forwards to its ops table, so the
 * agent's loop sees one interface whatever the source.
 */
#include "wifi_pcap.h"

#include <errno.h>
#include <string.h>

static const struct {
	const char *prefix;
	const struct hal_wifi_ops *ops;
} backends[] = {
	{ "pcap:", &wifi_live_ops },
	{ "pcapfile:", &wifi_file_ops },
};

int hal_wifi_open(struct hal_wifi *w, const char *source,
		  const struct hal_wifi_cfg *cfg)
{
	struct hal_wifi tmp = { 0 };
	int rc;

	if (!w || !source)
		return -EINVAL;
	for (size_t i = 0; i < sizeof(backends) / sizeof(backends[0]); i++) {
		size_t n = strlen(backends[i].prefix);

		if (strncmp(source, backends[i].prefix, n) == 0) {
			tmp.ops = backends[i].ops;
			tmp.name = source + n;	/* the backend keeps a copy */
			break;
		}
	}
	if (!tmp.ops || !*tmp.name)
		return -EINVAL;
	rc = tmp.ops->open(&tmp, cfg);
	if (rc < 0)
		return rc;
	*w = tmp;
	return 0;
}

int hal_wifi_fd(const struct hal_wifi *w)
{
	return w->ops->fd(w);
}

int hal_wifi_read(struct hal_wifi *w, struct hal_wifi_sighting *out)
{
	return w->ops->read(w, out);
}

int hal_wifi_retry(struct hal_wifi *w)
{
	return w->ops->retry ? w->ops->retry(w) : -EOPNOTSUPP;
}

unsigned int hal_wifi_backoff_ms(unsigned int failures)
{
	if (failures >= 6)
		return 60000;	/* 1 s << 6 = 64 s: cap */
	return 1000u << failures;
}

int hal_wifi_hop(struct hal_wifi *w)
{
	return w->ops->hop ? w->ops->hop(w) : -EOPNOTSUPP;
}

void hal_wifi_get_stats(const struct hal_wifi *w, struct hal_wifi_stats *ret)
{
	if (w && w->ops && w->ops->stats) {
		w->ops->stats(w, ret);
		return;
	}
	*ret = (struct hal_wifi_stats){ 0 };
}

void hal_wifi_close(struct hal_wifi *w)
{
	if (!w)
		return;
	if (w->ops && w->ops->close)
		w->ops->close(w);
	*w = (struct hal_wifi){ 0 };
}
