/* SPDX-License-Identifier: MIT */
/*
 * Live BLE backend, socket side: the test plays kernel and controller on
 * the other end of a SOCK_SEQPACKET socketpair. It answers the scan
 * commands, feeds the 412 advertising report events recorded in the shared
 * snoop log and compares the sightings with the btsnoop replay's, and
 * injects what a running bluetoothd does to the scan (commands from the
 * kernel turning scanning off or on, hardware errors) and adapter loss.
 * No fixed sleeps: timers are awaited with poll() on the backend's fd.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <hal/ble.h>

#include "../../hal/ble/ble_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define SNOOP SL_TEST_DATA_DIR "/ble/horizon-74-at_btsnoop_hci.log"
#define N_EVENTS 412

static const struct hal_ble_ops sock_ops = {
	.fd = hal_ble__hci_fd,
	.read = hal_ble__hci_read,
	.close = hal_ble__hci_close,
};

struct ctx {
	struct hal_ble ble;
	int peer;	/* kernel/controller side */
};

static size_t unhex(const char *s, uint8_t *out, size_t cap)
{
	size_t n = 0;

	while (s[0] && s[1]) {
		unsigned v;

		if (*s == ' ') {
			s++;
			continue;
		}
		assert_true(n < cap);
		assert_int_equal(sscanf(s, "%2x", &v), 1);
		out[n++] = (uint8_t)v;
		s += 2;
	}
	return n;
}

static void peer_send(struct ctx *c, const char *hex)
{
	uint8_t b[300];
	size_t n = unhex(hex, b, sizeof(b));

	assert_int_equal(send(c->peer, b, n, 0), (ssize_t)n);
}

/* The next command the backend sent must be hex; none may follow. */
static void expect_cmd(struct ctx *c, const char *hex)
{
	uint8_t want[300], got[300];
	size_t n = unhex(hex, want, sizeof(want));
	ssize_t r = recv(c->peer, got, sizeof(got), MSG_DONTWAIT);

	if (r < 0)
		fail_msg("no command sent, expected %s", hex);
	assert_int_equal(r, (ssize_t)n);
	assert_memory_equal(got, want, n);
}

static void expect_no_cmd(struct ctx *c)
{
	uint8_t got[300];

	assert_int_equal(recv(c->peer, got, sizeof(got), MSG_DONTWAIT), -1);
	assert_true(errno == EAGAIN || errno == EWOULDBLOCK);
}

/* Calls read() until it returns 0; the number of sightings. */
static int drain(struct ctx *c, struct hal_ble_sighting *out, int max)
{
	struct hal_ble_sighting s;
	int n = 0, rc;

	while ((rc = c->ble.ops->read(&c->ble, &s)) == 1) {
		if (n < max)
			out[n] = s;
		n++;
	}
	assert_int_equal(rc, 0);
	return n;
}

/* Waits (no fixed sleep) until the backend's fd is readable. */
static void wait_readable(struct ctx *c)
{
	struct pollfd p = { .fd = c->ble.ops->fd(&c->ble), .events = POLLIN };

	assert_int_equal(poll(&p, 1, 10000), 1);
}

static void open_ctx(struct ctx *c, const struct hal_ble_cfg *cfg)
{
	int sv[2];

	assert_int_equal(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv), 0);
	memset(c, 0, sizeof(*c));
	c->ble.ops = &sock_ops;
	c->ble.name = "hci";
	c->peer = sv[1];
	assert_int_equal(hal_ble__hci_attach(&c->ble, sv[0], cfg), 0);
	expect_cmd(c, "01 0320 00");	/* LE Read Local Supported Features */
	assert_int_equal(hal_ble__hci_scan_state(&c->ble), HAL_BLE__SCAN_FEATURES);
}

static void close_ctx(struct ctx *c)
{
	hal_ble_close(&c->ble);
	close(c->peer);
}

/* Legacy controller: features without extended advertising, passive scan, defaults. */
static void start_legacy(struct ctx *c, const struct hal_ble_cfg *cfg)
{
	open_ctx(c, cfg);
	peer_send(c, "04 0e0c 01 0320 00 0000000000000000");
	assert_int_equal(drain(c, NULL, 0), 0);
	expect_cmd(c, "01 0b20 07 00 a000 5000 00 00");	/* passive, 100 ms, 50 ms */
	assert_int_equal(hal_ble__hci_scan_state(&c->ble), HAL_BLE__SCAN_PARAMS);
	peer_send(c, "04 0e04 01 0b20 00");
	assert_int_equal(drain(c, NULL, 0), 0);
	expect_cmd(c, "01 0c20 02 01 00");		/* enable, no duplicate filter */
	peer_send(c, "04 0e04 01 0c20 00");
	assert_int_equal(drain(c, NULL, 0), 0);
	assert_int_equal(hal_ble__hci_scan_state(&c->ble), HAL_BLE__SCAN_ON);
	assert_false(hal_ble__hci_scan_extended(&c->ble));
	expect_no_cmd(c);
}

/* ---- recorded events ---- */

static uint8_t events[N_EVENTS][260];
static size_t event_len[N_EVENTS];
static struct hal_ble_sighting replayed[N_EVENTS];

static uint32_t rd32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* H4 records of the shared log that are LE Advertising Report events (with indicator). */
static int load_events(void)
{
	static uint8_t file[200000];
	FILE *f = fopen(SNOOP, "rb");
	size_t len, pos = 16;
	int n = 0;

	if (!f)
		return -1;
	len = fread(file, 1, sizeof(file), f);
	fclose(f);
	while (pos + 24 <= len) {
		uint32_t incl = rd32(file + pos + 4);
		const uint8_t *p = file + pos + 24;

		if (pos + 24 + incl > len)
			return -1;
		if (incl >= 4 && p[0] == 0x04 && p[1] == 0x3e && p[3] == 0x02) {
			if (n == N_EVENTS || incl > sizeof(events[0]))
				return -1;
			memcpy(events[n], p, incl);
			event_len[n++] = incl;
		}
		pos += 24 + incl;
	}
	return n;
}

static int setup(void **state)
{
	struct hal_ble ble = { 0 };
	struct hal_ble_sighting s;
	int n = 0, rc;

	(void)state;
	if (load_events() != N_EVENTS)
		return -1;
	if (hal_ble_open(&ble, "btsnoop:" SNOOP, NULL) < 0)
		return -1;
	while ((rc = ble.ops->read(&ble, &s)) >= 0)
		if (rc == 1 && n < N_EVENTS)
			replayed[n++] = s;
	hal_ble_close(&ble);
	return n == N_EVENTS && rc == -ENODATA ? 0 : -1;
}

static void test_recorded_events(void **state)
{
	static struct hal_ble_sighting got[N_EVENTS + 1];
	struct hal_ble_cfg cfg = { 0 };
	struct ctx c;
	int n = 0, distinct = 0;

	(void)state;
	start_legacy(&c, &cfg);
	/* in batches: the socket buffer holds a few dozen packets */
	for (int i = 0; i < N_EVENTS; i += 20) {
		for (int k = i; k < i + 20 && k < N_EVENTS; k++)
			assert_int_equal(send(c.peer, events[k], event_len[k], 0),
					 (ssize_t)event_len[k]);
		if (i == 200) {	/* noise the reader must step over */
			peer_send(&c, "04 3e03 02 00 00");		/* malformed report */
			peer_send(&c, "04 0e04 01 0310 00");		/* someone's completion */
			peer_send(&c, "04 3e0a 01 00 0000 00 0000000000");	/* another subevent */
			peer_send(&c, "02 0100 0400 02000000");		/* ACL data */
			peer_send(&c, "04");				/* runt */
		}
		wait_readable(&c);
		n += drain(&c, got + n, N_EVENTS + 1 - n);
	}
	assert_int_equal(n, N_EVENTS);
	for (int i = 0; i < N_EVENTS; i++) {
		const struct hal_ble_sighting *a = &got[i], *b = &replayed[i];
		int k;

		assert_true(a->ts_us > 0);
		assert_memory_equal(a->addr, b->addr, 6);
		assert_int_equal(a->addr_type, b->addr_type);
		assert_int_equal(a->event, b->event);
		assert_int_equal(a->rssi, b->rssi);
		assert_int_equal(a->ad_len, b->ad_len);
		assert_memory_equal(a->ad, b->ad, a->ad_len);
		assert_memory_equal(&a->beacon, &b->beacon, sizeof(a->beacon));
		for (k = 0; k < i; k++)
			if (got[k].addr_type == a->addr_type && memcmp(got[k].addr, a->addr, 6) == 0)
				break;
		distinct += k == i;
	}
	assert_int_equal(distinct, 36);
	expect_no_cmd(&c);
	close_ctx(&c);
}

/* One event with three reports: three reads, one per report. */
static void test_multi_report_event(void **state)
{
	struct hal_ble_sighting s[4];
	struct hal_ble_cfg cfg = { 0 };
	struct ctx c;

	(void)state;
	start_legacy(&c, &cfg);
	peer_send(&c, "04 3e29 02 03"
		      " 00 00 ab6fbf38c1a4 03 020106 c5"
		      " 04 01 fd81175f94c1 00 7f"
		      " 03 01 428c4d498d0e 06 050aaabbccdd b0");
	assert_int_equal(drain(&c, s, 4), 3);
	assert_int_equal(s[0].rssi, -59);
	assert_int_equal(s[1].event, HAL_BLE_EVT_SCAN_RSP);
	assert_int_equal(s[1].rssi, HAL_BLE_RSSI_NONE);
	assert_true(s[2].ad_malformed);		/* TX power field of 4 octets */
	assert_int_equal(s[2].addr[0], 0x0e);
	close_ctx(&c);
}

static void test_extended_controller(void **state)
{
	struct hal_ble_sighting s[2];
	struct hal_ble_cfg cfg = { .active = true, .interval_ms = 60, .window_ms = 30 };
	struct ctx c;

	(void)state;
	open_ctx(&c, &cfg);
	/* LE features octet 1 bit 4: LE Extended Advertising */
	peer_send(&c, "04 0e0c 01 0320 00 0010000000000000");
	assert_int_equal(drain(&c, NULL, 0), 0);
	/* own public, accept all, LE 1M; active, 60 ms (0x60), 30 ms (0x30) */
	expect_cmd(&c, "01 4120 08 00 00 01 01 6000 3000");
	peer_send(&c, "04 0e04 01 4120 00");
	assert_int_equal(drain(&c, NULL, 0), 0);
	expect_cmd(&c, "01 4220 06 01 00 0000 0000");
	peer_send(&c, "04 0e04 01 4220 00");
	assert_int_equal(drain(&c, NULL, 0), 0);
	assert_int_equal(hal_ble__hci_scan_state(&c.ble), HAL_BLE__SCAN_ON);
	assert_true(hal_ble__hci_scan_extended(&c.ble));
	/* an extended report: ADV_EXT_IND non-connectable, 1M/2M, SID 2, tx -4, rssi -70 */
	peer_send(&c, "04 3e1d 0d 01 0000 01 fd81175f94c1 01 02 02 fc ba 0000 00 000000000000 03 020106");
	assert_int_equal(drain(&c, s, 2), 1);
	assert_true(s[0].extended);
	assert_int_equal(s[0].secondary_phy, HAL_BLE_PHY_2M);
	assert_int_equal(s[0].tx_power, -4);
	close_ctx(&c);
}

/* Extended commands refused (e.g. a controller with broken extended scanning): legacy. */
static void test_fallback_to_legacy(void **state)
{
	struct hal_ble_cfg cfg = { 0 };
	struct ctx c;

	(void)state;
	open_ctx(&c, &cfg);
	peer_send(&c, "04 0e0c 01 0320 00 0010000000000000");
	assert_int_equal(drain(&c, NULL, 0), 0);
	expect_cmd(&c, "01 4120 08 00 00 01 00 a000 5000");
	peer_send(&c, "04 0e04 01 4120 01");		/* Unknown HCI Command */
	assert_int_equal(drain(&c, NULL, 0), 0);
	expect_cmd(&c, "01 0b20 07 00 a000 5000 00 00");
	peer_send(&c, "04 0e04 01 0b20 00");
	assert_int_equal(drain(&c, NULL, 0), 0);
	expect_cmd(&c, "01 0c20 02 01 00");
	peer_send(&c, "04 0f04 12 01 0c20");		/* Command Status: Invalid Parameters */
	assert_int_equal(drain(&c, NULL, 0), 0);
	/* both families failed: wait and retry later */
	assert_int_equal(hal_ble__hci_scan_state(&c.ble), HAL_BLE__SCAN_WAIT);
	expect_no_cmd(&c);
	close_ctx(&c);
}

/* Features unavailable (Command Status error): legacy commands. */
static void test_features_fail(void **state)
{
	struct hal_ble_cfg cfg = { 0 };
	struct ctx c;

	(void)state;
	open_ctx(&c, &cfg);
	peer_send(&c, "04 0f04 01 01 0320");
	assert_int_equal(drain(&c, NULL, 0), 0);
	expect_cmd(&c, "01 0b20 07 00 a000 5000 00 00");
	close_ctx(&c);
}

/* Someone (bluetoothd discovery) is already scanning: take their scan, no duplicate filter. */
static void test_already_scanning(void **state)
{
	struct hal_ble_cfg cfg = { 0 };
	struct ctx c;

	(void)state;
	open_ctx(&c, &cfg);
	peer_send(&c, "04 0e0c 01 0320 00 0000000000000000");
	assert_int_equal(drain(&c, NULL, 0), 0);
	expect_cmd(&c, "01 0b20 07 00 a000 5000 00 00");
	peer_send(&c, "04 0e04 01 0b20 0c");		/* Command Disallowed */
	assert_int_equal(drain(&c, NULL, 0), 0);
	expect_cmd(&c, "01 0c20 02 01 00");
	assert_int_equal(hal_ble__hci_scan_state(&c.ble), HAL_BLE__SCAN_NUDGE);
	peer_send(&c, "04 0e04 01 0c20 00");
	assert_int_equal(drain(&c, NULL, 0), 0);
	assert_int_equal(hal_ble__hci_scan_state(&c.ble), HAL_BLE__SCAN_FOREIGN);
	close_ctx(&c);
}

/* The kernel stops scanning (discovery ended): we restart rearm_ms later. */
static void test_rearm_after_foreign_disable(void **state)
{
	struct hal_ble_cfg cfg = { .rearm_ms = 1 };
	struct ctx c;

	(void)state;
	start_legacy(&c, &cfg);
	peer_send(&c, "01 0c20 02 00 00");		/* kernel: LE Set Scan Enable off */
	peer_send(&c, "04 0e04 01 0c20 00");		/* ... completed */
	assert_int_equal(drain(&c, NULL, 0), 0);
	expect_no_cmd(&c);
	assert_int_equal(hal_ble__hci_scan_state(&c.ble), HAL_BLE__SCAN_WAIT);
	wait_readable(&c);				/* the re-arm timer */
	assert_int_equal(drain(&c, NULL, 0), 0);
	expect_cmd(&c, "01 0b20 07 00 a000 5000 00 00");
	peer_send(&c, "04 0e04 01 0b20 00");
	assert_int_equal(drain(&c, NULL, 0), 0);
	expect_cmd(&c, "01 0c20 02 01 00");
	peer_send(&c, "04 0e04 01 0c20 00");
	assert_int_equal(drain(&c, NULL, 0), 0);
	assert_int_equal(hal_ble__hci_scan_state(&c.ble), HAL_BLE__SCAN_ON);
	close_ctx(&c);
}

/* The kernel restarts scanning itself: with its duplicate filter on we turn it off;
 * its completion, which arrives first, is not taken for ours. */
static void test_foreign_enable(void **state)
{
	struct hal_ble_cfg cfg = { .rearm_ms = 60000 };
	struct ctx c;

	(void)state;
	start_legacy(&c, &cfg);
	peer_send(&c, "01 0c20 02 00 00");
	peer_send(&c, "04 0e04 01 0c20 00");
	peer_send(&c, "01 0b20 07 01 1200 1200 01 00");	/* kernel: its own active params */
	peer_send(&c, "04 0e04 01 0b20 00");
	peer_send(&c, "01 0c20 02 01 01");		/* kernel: enable, filter duplicates */
	assert_int_equal(drain(&c, NULL, 0), 0);
	expect_cmd(&c, "01 0c20 02 01 00");		/* nudge */
	assert_int_equal(hal_ble__hci_scan_state(&c.ble), HAL_BLE__SCAN_NUDGE);
	peer_send(&c, "04 0e04 01 0c20 00");		/* the kernel's completion */
	assert_int_equal(drain(&c, NULL, 0), 0);
	assert_int_equal(hal_ble__hci_scan_state(&c.ble), HAL_BLE__SCAN_NUDGE);
	peer_send(&c, "04 0e04 01 0c20 00");		/* ours */
	assert_int_equal(drain(&c, NULL, 0), 0);
	assert_int_equal(hal_ble__hci_scan_state(&c.ble), HAL_BLE__SCAN_FOREIGN);

	/* without duplicate filtering: nothing to do */
	peer_send(&c, "01 0c20 02 00 00");
	assert_int_equal(drain(&c, NULL, 0), 0);
	assert_int_equal(hal_ble__hci_scan_state(&c.ble), HAL_BLE__SCAN_WAIT);
	peer_send(&c, "01 4220 06 01 00 0000 0000");	/* ext enable: the kernel's family */
	assert_int_equal(drain(&c, NULL, 0), 0);
	assert_int_equal(hal_ble__hci_scan_state(&c.ble), HAL_BLE__SCAN_FOREIGN);
	assert_true(hal_ble__hci_scan_extended(&c.ble));
	expect_no_cmd(&c);
	/* malformed foreign commands are ignored */
	peer_send(&c, "01 0c20 05 00 00");
	peer_send(&c, "01 0c");
	assert_int_equal(drain(&c, NULL, 0), 0);
	assert_int_equal(hal_ble__hci_scan_state(&c.ble), HAL_BLE__SCAN_FOREIGN);
	close_ctx(&c);
}

/* Hardware error: the kernel resets the controller; we start over after rearm_ms. */
static void test_hardware_error(void **state)
{
	struct hal_ble_cfg cfg = { .rearm_ms = 1 };
	struct ctx c;

	(void)state;
	start_legacy(&c, &cfg);
	peer_send(&c, "04 1001 00");
	assert_int_equal(drain(&c, NULL, 0), 0);
	assert_int_equal(hal_ble__hci_scan_state(&c.ble), HAL_BLE__SCAN_WAIT);
	wait_readable(&c);
	assert_int_equal(drain(&c, NULL, 0), 0);
	expect_cmd(&c, "01 0b20 07 00 a000 5000 00 00");
	close_ctx(&c);
}

/* The adapter goes away: read reports it, the agent closes and reopens later. */
static void test_adapter_gone(void **state)
{
	struct hal_ble_sighting s;
	struct hal_ble_cfg cfg = { 0 };
	struct ctx c;
	int sv[2], rc;

	(void)state;
	start_legacy(&c, &cfg);
	close(c.peer);
	c.peer = -1;
	assert_int_equal(c.ble.ops->read(&c.ble, &s), -ENODEV);
	hal_ble_close(&c.ble);

	/* gone before the first command */
	assert_int_equal(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv), 0);
	close(sv[1]);
	c.ble.ops = &sock_ops;
	rc = hal_ble__hci_attach(&c.ble, sv[0], &cfg);
	assert_int_equal(rc, -ENODEV);
	assert_null(c.ble.priv);
	assert_int_equal(fcntl(sv[0], F_GETFD), -1);	/* fd closed */
}

/* attach() on a fresh socketpair; the peer end is closed at once. */
static int attach_fresh(struct hal_ble *ble, const struct hal_ble_cfg *cfg, int *fd)
{
	int sv[2];

	assert_int_equal(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv), 0);
	*fd = sv[0];
	close(sv[1]);
	return hal_ble__hci_attach(ble, sv[0], cfg);
}

static void test_bad_config(void **state)
{
	struct hal_ble ble = { .ops = &sock_ops };
	struct hal_ble_cfg cfg = { .interval_ms = 50, .window_ms = 60 };
	int fd;

	(void)state;
	assert_int_equal(attach_fresh(&ble, &cfg, &fd), -EINVAL);	/* window > interval */
	assert_int_equal(fcntl(fd, F_GETFD), -1);
	cfg.interval_ms = 2;	/* below 2.5 ms */
	cfg.window_ms = 2;
	assert_int_equal(attach_fresh(&ble, &cfg, &fd), -EINVAL);
	cfg.interval_ms = 10241;	/* above 10.24 s */
	cfg.window_ms = 0;
	assert_int_equal(attach_fresh(&ble, &cfg, &fd), -EINVAL);
	cfg.interval_ms = 0;
	cfg.app_uuid = "nope";
	assert_int_equal(attach_fresh(&ble, &cfg, &fd), -EINVAL);
	assert_int_equal(fcntl(fd, F_GETFD), -1);
	cfg.app_uuid = NULL;
	assert_int_equal(hal_ble__hci_attach(&ble, -1, &cfg), -EBADF);
	assert_null(ble.priv);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_recorded_events),
		cmocka_unit_test(test_multi_report_event),
		cmocka_unit_test(test_extended_controller),
		cmocka_unit_test(test_fallback_to_legacy),
		cmocka_unit_test(test_features_fail),
		cmocka_unit_test(test_already_scanning),
		cmocka_unit_test(test_rearm_after_foreign_disable),
		cmocka_unit_test(test_foreign_enable),
		cmocka_unit_test(test_hardware_error),
		cmocka_unit_test(test_adapter_gone),
		cmocka_unit_test(test_bad_config),
	};

	return cmocka_run_group_tests(tests, setup, NULL);
}
