/* SPDX-License-Identifier: MIT */
/*
 * Channel setting for builds without libnl-genl: the live Wi-Fi backend
 * then stays on the channel the interface was given (`iw dev mon0 set
 * channel 6`), and a [wifi] channels list is refused with -EOPNOTSUPP.
 */
#include "wifi_pcap.h"

#include <errno.h>

int wifi_nl_open(struct wifi_nl **ret)
{
	(void)ret;
	return -EOPNOTSUPP;
}

int wifi_nl_set_freq(struct wifi_nl *nl, const char *iface, unsigned int freq)
{
	(void)nl;
	(void)iface;
	(void)freq;
	return -EOPNOTSUPP;
}

void wifi_nl_close(struct wifi_nl *nl)
{
	(void)nl;
}
