/* SPDX-License-Identifier: MIT */
/*
 * Live backend, the part that opens the adapter ([ble] source = hci:hci0
 * or hci:AA:BB:CC:DD:EE:FF): a raw HCI socket bound to the adapter, with a
 * filter passing the events we parse and the commands others send. Needs
 * CAP_NET_RAW to send LE commands. Everything after the bind is in
 * ble_hci_sock.c, where the tests reach it; this file needs a real
 * adapter and is not run by the tests.
 */
#include "ble_internal.h"

#include <bluetooth/bluetooth.h>
#include <bluetooth/hci.h>
#include <bluetooth/hci_lib.h>

#include <errno.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

static int bluez_open(struct hal_ble *ble, const struct hal_ble_cfg *cfg)
{
	const char *dev = strchr(cfg->source, ':') + 1;
	struct sockaddr_hci sa = { .hci_family = AF_BLUETOOTH, .hci_channel = HCI_CHANNEL_RAW };
	struct hci_filter flt;
	struct hci_dev_info di = { 0 };
	int id, fd, rc;

	id = hci_devid(dev);	/* "hci0" or the adapter's address */
	if (id < 0)
		return -ENODEV;
	fd = socket(AF_BLUETOOTH, SOCK_RAW | SOCK_CLOEXEC | SOCK_NONBLOCK, BTPROTO_HCI);
	if (fd < 0)
		return errno == EAFNOSUPPORT ? -EPROTONOSUPPORT : -errno;
	di.dev_id = (uint16_t)id;
	if (ioctl(fd, HCIGETDEVINFO, &di) < 0) {
		rc = errno == ENODEV ? -ENODEV : -errno;
		goto err_close;
	}
	if (!hci_test_bit(HCI_UP, &di.flags)) {
		rc = -ENETDOWN;
		goto err_close;
	}
	hci_filter_clear(&flt);
	hci_filter_set_ptype(HCI_EVENT_PKT, &flt);
	hci_filter_set_ptype(HCI_COMMAND_PKT, &flt);
	hci_filter_set_event(EVT_CMD_COMPLETE, &flt);
	hci_filter_set_event(EVT_CMD_STATUS, &flt);
	hci_filter_set_event(EVT_HARDWARE_ERROR, &flt);
	hci_filter_set_event(EVT_LE_META_EVENT, &flt);
	if (setsockopt(fd, SOL_HCI, HCI_FILTER, &flt, sizeof(flt)) < 0) {
		rc = -errno;
		goto err_close;
	}
	sa.hci_dev = (uint16_t)id;
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		rc = -errno;
		goto err_close;
	}
	return hal_ble__hci_attach(ble, fd, cfg);	/* owns fd from here */

err_close:
	close(fd);
	return rc;
}

const struct hal_ble_ops hal_ble__bluez_ops = {
	.open = bluez_open,
	.fd = hal_ble__hci_fd,
	.read = hal_ble__hci_read,
	.close = hal_ble__hci_close,
};
