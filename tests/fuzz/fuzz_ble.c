/* SPDX-License-Identifier: MIT */
/*
 * Fuzz target for hal_ble's parsers. The first byte picks the path:
 *   0: one HCI event (code, length, parameters) through the advertising
 *      report iterator, each report finished (AD decode, app token, JSON);
 *   1: one AD payload through hal_ble_ad_parse() and hal_ble_decode();
 *   2: a btsnoop file (from a memfd) through the replay backend;
 *   3: H4 packets (each prefixed by a length octet) written into a
 *      socketpair read by the live backend's socket side, whose scan state
 *      machine answers them.
 */
#include <hal/ble.h>

#include "../../hal/ble/ble_internal.h"
#include "jsonw.h"

#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* 0xFEED, the app token UUID of the seed corpus */
static const uint8_t app_uuid[16] = { 0x00, 0x00, 0xfe, 0xed, 0x00, 0x00, 0x10, 0x00,
				      0x80, 0x00, 0x00, 0x80, 0x5f, 0x9b, 0x34, 0xfb };

static void emit(const struct hal_ble_sighting *s)
{
	char buf[1024];
	struct sl_jw w;

	sl_jw_init(&w, buf, sizeof(buf));
	hal_ble_beacon_json(&w, &s->beacon);
	if (sl_jw_finish(&w) < 0)
		__builtin_trap();	/* a beacon always fits */
	(void)hal_ble_addr_kind(s->addr_type, s->addr);
	(void)hal_ble_event_name(s->event);
}

static void hci_event(const uint8_t *p, size_t n)
{
	static struct hal_ble_sighting s;
	struct hal_ble__common c = { .has_app_uuid = true };
	struct hal_ble__hci_iter it;
	unsigned count = 0;

	memcpy(c.app_uuid, app_uuid, 16);
	if (hal_ble__hci_iter_init(&it, p, n) < 0)
		return;
	while (hal_ble__hci_iter_next(&it, 1, &s) == 1) {
		hal_ble__finish(&c, &s);
		emit(&s);
		count++;
	}
	if (count == 0)
		__builtin_trap();	/* a valid event has at least one report */
}

static void ad_payload(const uint8_t *p, size_t n)
{
	struct hal_ble_beacon b;
	struct hal_ble_ad ad;
	uint8_t u[16];
	char buf[1024];
	struct sl_jw w;

	if (hal_ble_ad_parse(p, n, &ad) == 0) {
		for (size_t i = 0; hal_ble_ad_uuid(&ad, i, u) == 0; i++)
			;
		if (ad.name && ad.name + ad.name_len > p + n)
			__builtin_trap();
	}
	if (hal_ble_decode(p, n, app_uuid, &b) == 0) {
		sl_jw_init(&w, buf, sizeof(buf));
		hal_ble_beacon_json(&w, &b);
		if (sl_jw_finish(&w) < 0 || strlen(b.url) >= HAL_BLE_URL_MAX)
			__builtin_trap();
	}
}

static void btsnoop(const uint8_t *p, size_t n)
{
	static struct hal_ble_sighting s;
	struct hal_ble ble = { 0 };
	char src[64];
	int fd, rc;

	fd = memfd_create("fuzz_ble", MFD_CLOEXEC);
	if (fd < 0)
		return;
	if (write(fd, p, n) != (ssize_t)n)
		goto out;
	snprintf(src, sizeof(src), "btsnoop:/proc/self/fd/%d", fd);
	if (hal_ble_open(&ble, src, NULL) < 0)
		goto out;
	while ((rc = ble.ops->read(&ble, &s)) >= 0)
		if (rc == 1)
			emit(&s);
	hal_ble_close(&ble);
out:
	close(fd);
}

static void live_socket(const uint8_t *p, size_t n)
{
	static const struct hal_ble_ops ops = {
		.fd = hal_ble__hci_fd, .read = hal_ble__hci_read, .close = hal_ble__hci_close,
	};
	static struct hal_ble_sighting s;
	struct hal_ble_cfg cfg = { .rearm_ms = 60000 };
	struct hal_ble ble = { .ops = &ops };
	uint8_t sink[300];
	int sv[2];

	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0)
		return;
	if (hal_ble__hci_attach(&ble, sv[0], &cfg) < 0) {
		close(sv[1]);
		return;
	}
	while (n > 0) {
		size_t len = p[0];

		if (len > n - 1)
			len = n - 1;
		if (len > 0 && send(sv[1], p + 1, len, MSG_DONTWAIT) < 0)
			break;
		p += 1 + len;
		n -= 1 + len;
		while (ble.ops->read(&ble, &s) == 1)
			emit(&s);
		while (recv(sv[1], sink, sizeof(sink), MSG_DONTWAIT) > 0)
			;	/* the commands it sent */
	}
	hal_ble_close(&ble);
	close(sv[1]);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	switch (data[0] & 3) {
	case 0:
		hci_event(data + 1, size - 1);
		break;
	case 1:
		ad_payload(data + 1, size - 1);
		break;
	case 2:
		btsnoop(data + 1, size - 1);
		break;
	default:
		live_socket(data + 1, size - 1);
		break;
	}
	return 0;
}
