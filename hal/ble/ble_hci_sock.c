/* SPDX-License-Identifier: MIT */
/*
 * Live backend, the part that talks over an open raw HCI socket: it turns
 * LE advertising report events into sightings and keeps the controller
 * scanning with our parameters (passive or active, duplicate filtering
 * off) next to a running bluetoothd. Opening the adapter is in
 * ble_bluez.c; everything here works on any fd that carries H4-framed
 * packets, so the tests drive it through a socketpair.
 *
 * Scanning. Start: LE Read Local Supported Features, then Set Scan
 * Parameters and Set Scan Enable, in the extended form when the controller
 * supports extended advertising (as the kernel does: a controller refuses a
 * mix of legacy and extended commands), else the legacy form; on failure
 * the other form once, then a retry with backoff. "Command Disallowed" on
 * the parameters means someone else is scanning: we then only re-enable
 * with duplicate filtering off (a "nudge") and take their parameters.
 *
 * The kernel (bluetoothd discovery, background scanning for connections)
 * may stop or reprogram the scan at any time. The socket also carries the
 * commands the kernel sends (raw sockets see outgoing commands); when one
 * turns scanning off we restart ours rearm_ms later unless someone turned
 * it on again meanwhile, and when someone turns it on with duplicate
 * filtering we nudge it off. The timerfd for these delays and the socket
 * are combined in one epoll fd, which is what fd() returns.
 */
#include "ble_internal.h"
#include "clock.h"

#include <mbedtls/platform_util.h>

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <unistd.h>

#define OP_LE_READ_FEATURES 0x2003
#define OP_LE_SCAN_PARAMS 0x200b
#define OP_LE_SCAN_ENABLE 0x200c
#define OP_LE_EXT_SCAN_PARAMS 0x2041
#define OP_LE_EXT_SCAN_ENABLE 0x2042

#define ST_COMMAND_DISALLOWED 0x0c

#define CMD_TIMEOUT_MS 3000
#define BACKOFF_MIN_MS 2000
#define BACKOFF_MAX_MS 60000
#define PACKETS_PER_READ 64	/* non-report packets handled before returning 0 */
#define PKT_MAX (1 + 3 + 255)	/* H4 indicator + command header + parameters */

/* The opcodes whose completions we track, and their slots. */
static const uint16_t tracked[] = {
	OP_LE_READ_FEATURES, OP_LE_SCAN_PARAMS, OP_LE_SCAN_ENABLE,
	OP_LE_EXT_SCAN_PARAMS, OP_LE_EXT_SCAN_ENABLE,
};
#define N_TRACKED (sizeof(tracked) / sizeof(tracked[0]))

struct hci {
	int sock;
	int timer;
	int ep;
	struct hal_ble__common common;
	bool active;
	uint16_t interval, window;	/* 0.625 ms units */
	unsigned rearm_ms;

	enum hal_ble__scan_state state;
	bool ext_supported;	/* controller has LE Extended Advertising */
	bool ext;		/* the command family in use */
	bool tried_other;	/* this attempt already fell back to the other family */
	uint16_t pending;	/* opcode of our command awaiting completion, 0 = none */
	unsigned foreign_ahead;	/* completions for pending's opcode owed to others first */
	unsigned foreign[N_TRACKED]; /* others' commands seen and not yet completed */
	unsigned backoff_ms;

	struct hal_ble__hci_iter it;
	bool in_event;		/* it walks pkt */
	uint64_t evt_ts;
	uint8_t pkt[PKT_MAX + 1];
};

static int slot(uint16_t op)
{
	for (unsigned i = 0; i < N_TRACKED; i++)
		if (tracked[i] == op)
			return (int)i;
	return -1;
}

static int arm(struct hci *h, unsigned ms)
{
	struct itimerspec its = { 0 };

	its.it_value.tv_sec = ms / 1000;
	its.it_value.tv_nsec = (long)(ms % 1000) * 1000000L;
	if (ms == 0)
		its.it_value.tv_nsec = 1;	/* 0 would disarm */
	return timerfd_settime(h->timer, 0, &its, NULL) < 0 ? -errno : 0;
}

static void disarm(struct hci *h)
{
	struct itimerspec its = { 0 };

	timerfd_settime(h->timer, 0, &its, NULL);
}

static int sock_err(int e)
{
	return e == EPIPE || e == ECONNRESET ? -ENODEV : -e;
}

static int send_cmd(struct hci *h, uint16_t op, const uint8_t *par, uint8_t plen)
{
	uint8_t b[4 + 255];
	int s = slot(op);

	b[0] = HCI_PKT_COMMAND;
	b[1] = (uint8_t)op;
	b[2] = (uint8_t)(op >> 8);
	b[3] = plen;
	if (plen)
		memcpy(b + 4, par, plen);
	if (send(h->sock, b, 4u + plen, MSG_DONTWAIT | MSG_NOSIGNAL) < 0)
		return sock_err(errno);
	h->pending = op;
	h->foreign_ahead = s >= 0 ? h->foreign[s] : 0;
	return arm(h, CMD_TIMEOUT_MS);
}

static int send_params(struct hci *h)
{
	uint8_t p[8];
	uint8_t type = h->active ? 0x01 : 0x00;

	h->state = HAL_BLE__SCAN_PARAMS;
	if (h->ext) {
		/* own address public, accept all, LE 1M only, then per PHY */
		p[0] = 0x00;
		p[1] = 0x00;
		p[2] = 0x01;
		p[3] = type;
		p[4] = (uint8_t)h->interval;
		p[5] = (uint8_t)(h->interval >> 8);
		p[6] = (uint8_t)h->window;
		p[7] = (uint8_t)(h->window >> 8);
		return send_cmd(h, OP_LE_EXT_SCAN_PARAMS, p, 8);
	}
	p[0] = type;
	p[1] = (uint8_t)h->interval;
	p[2] = (uint8_t)(h->interval >> 8);
	p[3] = (uint8_t)h->window;
	p[4] = (uint8_t)(h->window >> 8);
	p[5] = 0x00;	/* own address public */
	p[6] = 0x00;	/* accept all advertisers */
	return send_cmd(h, OP_LE_SCAN_PARAMS, p, 7);
}

/* Enable with duplicate filtering off; continuous (no duration/period). */
static int send_enable(struct hci *h, enum hal_ble__scan_state next)
{
	static const uint8_t p[6] = { 0x01, 0x00, 0, 0, 0, 0 };

	h->state = next;
	if (h->ext)
		return send_cmd(h, OP_LE_EXT_SCAN_ENABLE, p, 6);
	return send_cmd(h, OP_LE_SCAN_ENABLE, p, 2);
}

static int wait_retry(struct hci *h)
{
	unsigned ms = h->backoff_ms;

	h->state = HAL_BLE__SCAN_WAIT;
	h->backoff_ms = ms * 2 > BACKOFF_MAX_MS ? BACKOFF_MAX_MS : ms * 2;
	return arm(h, ms);
}

/* Our attempt failed: try the other command family once, then back off. */
static int fallback(struct hci *h)
{
	if (!h->tried_other && (h->ext || h->ext_supported)) {
		h->tried_other = true;
		h->ext = !h->ext;
		return send_params(h);
	}
	return wait_retry(h);
}

static int restart(struct hci *h)
{
	h->tried_other = false;
	h->ext = h->ext_supported;
	return send_params(h);
}

static void scanning(struct hci *h, enum hal_ble__scan_state st)
{
	h->state = st;
	h->backoff_ms = BACKOFF_MIN_MS;
	h->tried_other = false;
	disarm(h);
}

/* Completion (or failed status) of one of our commands. */
static int our_complete(struct hci *h, uint16_t op, uint8_t status, const uint8_t *ret,
			size_t len)
{
	h->pending = 0;
	disarm(h);
	switch (op) {
	case OP_LE_READ_FEATURES:
		/* LE Extended Advertising: feature bit 12 (octet 1, bit 4). */
		h->ext_supported = status == 0 && len >= 8 && (ret[1] & 0x10);
		return restart(h);
	case OP_LE_SCAN_PARAMS:
	case OP_LE_EXT_SCAN_PARAMS:
		if (status == 0)
			return send_enable(h, HAL_BLE__SCAN_ENABLE);
		if (status == ST_COMMAND_DISALLOWED)
			return send_enable(h, HAL_BLE__SCAN_NUDGE);
		return fallback(h);
	default:	/* enable */
		if (status != 0)
			return fallback(h);
		scanning(h, h->state == HAL_BLE__SCAN_NUDGE ? HAL_BLE__SCAN_FOREIGN
							     : HAL_BLE__SCAN_ON);
		return 0;
	}
}

static int completion(struct hci *h, uint16_t op, uint8_t status, const uint8_t *ret, size_t len)
{
	int s = slot(op);

	if (s < 0)
		return 0;
	if (h->pending == op && h->foreign_ahead == 0)
		return our_complete(h, op, status, ret, len);
	if (h->pending == op)
		h->foreign_ahead--;
	if (h->foreign[s])
		h->foreign[s]--;
	return 0;
}

/* Someone else (the kernel for bluetoothd, another raw socket) sent a command. */
static int foreign_command(struct hci *h, const uint8_t *c, size_t len)
{
	uint16_t op;
	int s;

	if (len < 3 || (size_t)c[2] != len - 3)
		return 0;
	op = (uint16_t)(c[0] | c[1] << 8);
	s = slot(op);
	if (s < 0)
		return 0;
	h->foreign[s]++;
	if ((op != OP_LE_SCAN_ENABLE && op != OP_LE_EXT_SCAN_ENABLE) || len < 5)
		return 0;
	if (h->state != HAL_BLE__SCAN_ON && h->state != HAL_BLE__SCAN_FOREIGN &&
	    h->state != HAL_BLE__SCAN_WAIT)
		return 0;	/* in the middle of our own sequence */
	h->ext = op == OP_LE_EXT_SCAN_ENABLE;	/* the family the kernel found working */
	if (c[3] == 0x00) {
		h->state = HAL_BLE__SCAN_WAIT;
		return arm(h, h->rearm_ms);
	}
	if (c[4] != 0x00)	/* their duplicate filter would hide repeated adverts */
		return send_enable(h, HAL_BLE__SCAN_NUDGE);
	scanning(h, HAL_BLE__SCAN_FOREIGN);
	return 0;
}

static int on_timer(struct hci *h)
{
	uint16_t op = h->pending;

	if (op) {	/* our command got no completion: treat as failed */
		h->pending = 0;
		memset(h->foreign, 0, sizeof(h->foreign));	/* completions were lost */
		if (op == OP_LE_READ_FEATURES)
			return restart(h);
		return fallback(h);
	}
	if (h->state == HAL_BLE__SCAN_WAIT)
		return restart(h);
	return 0;
}

/* One packet in h->pkt. Returns 0 or -errno from sending a command. */
static int packet(struct hci *h, size_t n)
{
	const uint8_t *e = h->pkt + 1;
	size_t len = n - 1;

	if (h->pkt[0] == HCI_PKT_COMMAND)
		return foreign_command(h, e, len);
	if (h->pkt[0] != HCI_PKT_EVENT || len < 2 || (size_t)e[1] != len - 2)
		return 0;
	switch (e[0]) {
	case HCI_EV_CMD_COMPLETE:	/* ncmd, opcode, status, return parameters */
		if (len < 6)
			return 0;
		return completion(h, (uint16_t)(e[3] | e[4] << 8), e[5], e + 6, len - 6);
	case HCI_EV_CMD_STATUS:		/* status, ncmd, opcode */
		if (len < 6 || e[2] == 0)
			return 0;
		return completion(h, (uint16_t)(e[4] | e[5] << 8), e[2], NULL, 0);
	case HCI_EV_HW_ERROR:		/* the kernel resets the controller */
		h->pending = 0;
		memset(h->foreign, 0, sizeof(h->foreign));
		h->state = HAL_BLE__SCAN_WAIT;
		return arm(h, h->rearm_ms);
	case HCI_EV_LE_META:
		h->in_event = hal_ble__hci_iter_init(&h->it, e, len) == 0;
		h->evt_ts = sl_now_us();
		return 0;
	default:
		return 0;
	}
}

int hal_ble__hci_read(struct hal_ble *ble, struct hal_ble_sighting *out)
{
	struct hci *h = ble->priv;

	for (unsigned budget = PACKETS_PER_READ; budget > 0; budget--) {
		ssize_t n;
		int rc;

		if (h->in_event) {
			if (hal_ble__hci_iter_next(&h->it, h->evt_ts, out) == 1) {
				hal_ble__finish(&h->common, out);
				return 1;
			}
			h->in_event = false;
			mbedtls_platform_zeroize(h->pkt, sizeof(h->pkt));
		}
		n = recv(h->sock, h->pkt, PKT_MAX, MSG_DONTWAIT);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			uint64_t expirations;

			if (read(h->timer, &expirations, sizeof(expirations)) == sizeof(expirations))
				return on_timer(h);
			return 0;
		}
		if (n < 0)
			return sock_err(errno);
		if (n == 0)
			return -ENODEV;	/* the other end went away */
		rc = packet(h, (size_t)n);
		if (rc < 0)
			return rc;
	}
	return 0;
}

int hal_ble__hci_fd(const struct hal_ble *ble)
{
	const struct hci *h = ble->priv;

	return h ? h->ep : -1;
}

void hal_ble__hci_close(struct hal_ble *ble)
{
	struct hci *h = ble ? ble->priv : NULL;

	if (!h)
		return;
	/* Scanning is left on: the kernel or the next open takes it from here. */
	if (h->ep >= 0)
		close(h->ep);
	if (h->timer >= 0)
		close(h->timer);
	if (h->sock >= 0)
		close(h->sock);
	hal_ble__common_free(&h->common);
	mbedtls_platform_zeroize(h, sizeof(*h));
	free(h);
	ble->priv = NULL;
}

static int ms_to_units(unsigned ms, unsigned dflt, uint16_t *ret)
{
	unsigned u = (ms ? ms : dflt) * 8u / 5u;	/* 0.625 ms units */

	if (u < 0x0004 || u > 0x4000)
		return -EINVAL;
	*ret = (uint16_t)u;
	return 0;
}

int hal_ble__hci_attach(struct hal_ble *ble, int fd, const struct hal_ble_cfg *cfg)
{
	struct epoll_event ev = { .events = EPOLLIN };
	struct hci *h;
	int rc, fl;

	h = calloc(1, sizeof(*h));
	if (!h) {
		close(fd);
		return -ENOMEM;
	}
	h->sock = fd;
	h->timer = -1;
	h->ep = -1;
	ble->priv = h;
	h->active = cfg->active;
	h->rearm_ms = cfg->rearm_ms ? cfg->rearm_ms : 1000;
	h->backoff_ms = BACKOFF_MIN_MS;
	if (ms_to_units(cfg->interval_ms, 100, &h->interval) < 0 ||
	    ms_to_units(cfg->window_ms, 50, &h->window) < 0 || h->window > h->interval) {
		rc = -EINVAL;
		goto err_close;
	}
	rc = hal_ble__common_init(&h->common, cfg);
	if (rc < 0)
		goto err_close;
	fl = fcntl(fd, F_GETFL);
	if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0)
		goto err_errno;
	h->timer = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	if (h->timer < 0)
		goto err_errno;
	h->ep = epoll_create1(EPOLL_CLOEXEC);
	if (h->ep < 0)
		goto err_errno;
	ev.data.fd = h->sock;
	if (epoll_ctl(h->ep, EPOLL_CTL_ADD, h->sock, &ev) < 0)
		goto err_errno;
	ev.data.fd = h->timer;
	if (epoll_ctl(h->ep, EPOLL_CTL_ADD, h->timer, &ev) < 0)
		goto err_errno;
	h->state = HAL_BLE__SCAN_FEATURES;
	rc = send_cmd(h, OP_LE_READ_FEATURES, NULL, 0);
	if (rc < 0)
		goto err_close;
	return 0;

err_errno:
	rc = -errno;
err_close:
	hal_ble__hci_close(ble);	/* closes fd too */
	return rc;
}

enum hal_ble__scan_state hal_ble__hci_scan_state(const struct hal_ble *ble)
{
	const struct hci *h = ble->priv;

	return h->state;
}

bool hal_ble__hci_scan_extended(const struct hal_ble *ble)
{
	const struct hci *h = ble->priv;

	return h->ext;
}
