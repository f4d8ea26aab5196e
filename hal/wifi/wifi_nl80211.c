/* SPDX-License-Identifier: MIT */
/*
 * Channel setting for the live Wi-Fi backend through nl80211 (libnl-genl):
 * NL80211_CMD_SET_WIPHY on the monitor interface with a frequency and no
 * HT, the same request `iw dev mon0 set freq 2437` sends. One generic
 * netlink socket per source, blocking until the kernel's ack (the
 * mac80211 reply is immediate; hops are a few per second at most).
 */
#include "wifi_pcap.h"

#include <errno.h>
#include <linux/nl80211.h>
#include <net/if.h>
#include <netlink/errno.h>
#include <netlink/genl/ctrl.h>
#include <netlink/genl/genl.h>
#include <stdlib.h>

struct wifi_nl {
	struct nl_sock *sock;
	int family;		/* nl80211 generic netlink family id */
};

/* libnl's NLE_* codes back to -errno (the kernel's errno was mapped to them). */
static int nle_errno(int nle)
{
	switch (nle < 0 ? -nle : nle) {
	case NLE_NOMEM:
		return -ENOMEM;
	case NLE_PERM:
		return -EPERM;
	case NLE_BUSY:
		return -EBUSY;
	case NLE_NODEV:
		return -ENODEV;
	case NLE_INVAL:
	case NLE_RANGE:
		return -EINVAL;
	case NLE_OPNOTSUPP:
		return -EOPNOTSUPP;
	case NLE_OBJ_NOTFOUND:
		return -ENOENT;
	case NLE_AGAIN:
		return -EAGAIN;
	default:
		return -EIO;
	}
}

int wifi_nl_open(struct wifi_nl **ret)
{
	struct wifi_nl *nl;
	int rc;

	nl = calloc(1, sizeof(*nl));
	if (!nl)
		return -ENOMEM;
	nl->sock = nl_socket_alloc();
	if (!nl->sock) {
		rc = -ENOMEM;
		goto err_free;
	}
	rc = genl_connect(nl->sock);
	if (rc < 0) {
		rc = nle_errno(rc);
		goto err_free_sock;
	}
	nl->family = genl_ctrl_resolve(nl->sock, NL80211_GENL_NAME);
	if (nl->family < 0) {
		rc = -EOPNOTSUPP;	/* no cfg80211 in this kernel */
		goto err_free_sock;
	}
	*ret = nl;
	return 0;

err_free_sock:
	nl_socket_free(nl->sock);
err_free:
	free(nl);
	return rc;
}

int wifi_nl_set_freq(struct wifi_nl *nl, const char *iface, unsigned int freq)
{
	unsigned int ifindex = if_nametoindex(iface);
	struct nl_msg *msg;
	int rc;

	if (!ifindex)
		return -ENODEV;
	msg = nlmsg_alloc();
	if (!msg)
		return -ENOMEM;
	if (!genlmsg_put(msg, NL_AUTO_PORT, NL_AUTO_SEQ, nl->family, 0, 0,
			 NL80211_CMD_SET_WIPHY, 0) ||
	    nla_put_u32(msg, NL80211_ATTR_IFINDEX, ifindex) < 0 ||
	    nla_put_u32(msg, NL80211_ATTR_WIPHY_FREQ, freq) < 0 ||
	    nla_put_u32(msg, NL80211_ATTR_WIPHY_CHANNEL_TYPE, NL80211_CHAN_NO_HT) < 0) {
		rc = -ENOMEM;
		goto out_free_msg;
	}
	rc = nl_send_auto(nl->sock, msg);
	if (rc < 0) {
		rc = nle_errno(rc);
		goto out_free_msg;
	}
	rc = nl_wait_for_ack(nl->sock);
	rc = rc < 0 ? nle_errno(rc) : 0;
out_free_msg:
	nlmsg_free(msg);
	return rc;
}

void wifi_nl_close(struct wifi_nl *nl)
{
	if (!nl)
		return;
	nl_socket_free(nl->sock);
	free(nl);
}
