/* SPDX-License-Identifier: MIT */
/*
 * Control socket (see control.h). A request is tiny and the reply fits
 * one buffer, so each client is served within one or two wake-ups: read
 * the command line (up to 64 bytes, non-blocking), write the reply, close.
 *
 * Local clients cannot lock storelinkctl out: a client that has not sent
 * its line within CLIENT_TIMEOUT_MS is closed, and when all MAX_CLIENTS
 * slots are taken a new client takes the slot of the oldest one (which is
 * told "busy"): a live command line is answered as soon as it arrives, so
 * a slot held for long is held by an idle client. Every line gets one
 * reply; a bad one an error object with a stable code, never an echo of
 * what was sent.
 */
#include "control.h"

#include "clock.h"
#include "log.h"
#include "unixsock.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#define REPLY_MAX 8192
#define MAX_CLIENTS 8
#define CMD_MAX 64			/* a longer line: command_too_long */
#define CLIENT_TIMEOUT_MS 2000		/* docs/operations.md */
#define ACCEPT_BUDGET 16		/* connections accepted per wake-up */

struct client {
	struct sl_io io;
	struct sl_control *ctl;
	char cmd[CMD_MAX];		/* not NUL-terminated: len bytes */
	size_t len;
	uint64_t since_ms;		/* accepted at (CLOCK_MONOTONIC) */
	uint64_t serial;		/* order of acceptance: ms can tie */
	bool used;
};

struct sl_control {
	struct sl_loop *loop;
	struct sl_io io;
	struct sl_unixsock sock;
	sl_control_status_fn status;
	void *ctx;
	struct client clients[MAX_CLIENTS];
	struct sl_timer timeout;
	uint64_t accepted;		/* serial of the last client accepted */
};

static void client_close(struct client *c)
{
	sl_loop_del(c->ctl->loop, &c->io);
	close(c->io.fd);
	c->used = false;
}

/* Sends one line and closes: a small reply on a fresh socket fits the
 * send buffer, and a client that does not read loses it. */
static void send_close(struct client *c, const char *buf, size_t len)
{
	(void)!send(c->io.fd, buf, len, MSG_NOSIGNAL | MSG_DONTWAIT);
	client_close(c);
}

static void reply_error(struct client *c, const char *code, const char *message)
{
	char buf[256];
	struct sl_jw w;
	int n;

	sl_jw_init(&w, buf, sizeof(buf) - 1);
	sl_jw_obj_begin(&w);
	sl_jw_kv_str(&w, "error", message);
	sl_jw_kv_str(&w, "code", code);
	sl_jw_obj_end(&w);
	n = sl_jw_finish(&w);
	if (n < 0)
		n = snprintf(buf, sizeof(buf), "{\"error\":\"error\"}");
	buf[n++] = '\n';
	send_close(c, buf, (size_t)n);
}

static void reply_status(struct client *c)
{
	struct sl_control *ctl = c->ctl;
	char buf[REPLY_MAX];
	struct sl_jw w;
	int n;

	sl_jw_init(&w, buf, sizeof(buf) - 1);
	ctl->status(ctl->ctx, &w);
	n = sl_jw_finish(&w);
	if (n < 0)
		n = snprintf(buf, sizeof(buf), "{\"error\":\"status too large\",\"code\":\"too_large\"}");
	buf[n++] = '\n';
	send_close(c, buf, (size_t)n);
}

/* line: len bytes without the newline (and without a final CR) */
static void handle_line(struct client *c, const char *line, size_t len)
{
	if (len && line[len - 1] == '\r')
		len--;
	if (memchr(line, '\0', len))
		reply_error(c, "malformed_command", "the command line holds a NUL byte");
	else if (len == 6 && memcmp(line, "status", 6) == 0)
		reply_status(c);
	else
		reply_error(c, "unknown_command", "unknown command (known: status)");
}

static void client_read(struct client *c)
{
	ssize_t n;
	char *nl;

	n = recv(c->io.fd, c->cmd + c->len, sizeof(c->cmd) - c->len, MSG_DONTWAIT);
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n < 0 || (n == 0 && c->len == 0)) {
		client_close(c);
		return;
	}
	if (n == 0) {	/* half-closed after a line without its newline */
		handle_line(c, c->cmd, c->len);
		return;
	}
	c->len += (size_t)n;
	nl = memchr(c->cmd, '\n', c->len);
	if (nl)
		handle_line(c, c->cmd, (size_t)(nl - c->cmd));
	else if (c->len == sizeof(c->cmd))
		reply_error(c, "command_too_long", "command line longer than 63 bytes");
}

static void client_cb(struct sl_io *io, uint32_t revents)
{
	(void)revents;
	client_read(io->ctx);
}

static void timeout_arm(struct sl_control *ctl)
{
	uint64_t due = UINT64_MAX;

	for (int i = 0; i < MAX_CLIENTS; i++)
		if (ctl->clients[i].used && ctl->clients[i].since_ms + CLIENT_TIMEOUT_MS < due)
			due = ctl->clients[i].since_ms + CLIENT_TIMEOUT_MS;
	if (due == UINT64_MAX)
		sl_timer_cancel(ctl->loop, &ctl->timeout);
	else
		sl_timer_arm_at(ctl->loop, &ctl->timeout, due);
}

static void timeout_cb(struct sl_timer *t)
{
	struct sl_control *ctl = t->ctx;
	uint64_t now = sl_mono_ms();

	for (int i = 0; i < MAX_CLIENTS; i++) {
		struct client *c = &ctl->clients[i];

		if (c->used && c->since_ms + CLIENT_TIMEOUT_MS <= now)
			reply_error(c, "timeout", "no command line within 2 s");
	}
	timeout_arm(ctl);
}

/* A free slot, or the oldest client's, which is told so and closed. */
static struct client *slot_take(struct sl_control *ctl)
{
	struct client *oldest = NULL;

	for (int i = 0; i < MAX_CLIENTS; i++) {
		struct client *c = &ctl->clients[i];

		if (!c->used)
			return c;
		if (!oldest || c->serial < oldest->serial)
			oldest = c;
	}
	reply_error(oldest, "busy", "too many control clients; closed the oldest");
	return oldest;
}

static void accept_cb(struct sl_io *io, uint32_t revents)
{
	struct sl_control *ctl = io->ctx;

	(void)revents;
	for (int k = 0; k < ACCEPT_BUDGET; k++) {
		int fd = accept4(io->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		struct client *c;

		if (fd < 0)
			break;
		c = slot_take(ctl);
		memset(c, 0, sizeof(*c));
		c->used = true;
		c->ctl = ctl;
		c->since_ms = sl_mono_ms();
		c->serial = ++ctl->accepted;
		c->io.fd = fd;
		c->io.events = EPOLLIN;
		c->io.cb = client_cb;
		c->io.ctx = c;
		if (sl_loop_add(ctl->loop, &c->io) < 0) {
			close(fd);
			c->used = false;
			continue;
		}
		/* storelinkctl writes its line right after connect(): often
		 * it is already here, so answer without another wake-up */
		client_read(c);
	}
	timeout_arm(ctl);
}

int sl_control_open(struct sl_control **ret, struct sl_loop *loop, const char *path,
		    sl_control_status_fn status, void *ctx, char *err, size_t errlen)
{
	struct sl_control *ctl;
	char msg[256];
	int fd, rc;

	ctl = calloc(1, sizeof(*ctl));
	if (!ctl)
		return -ENOMEM;
	fd = sl_unixsock_listen(&ctl->sock, path, 32, msg, sizeof(msg));
	if (fd < 0) {
		rc = fd;
		snprintf(err, errlen, "control socket %s", msg);
		goto err_free;
	}
	if (chmod(path, 0660) < 0) {
		rc = -errno;
		snprintf(err, errlen, "control socket %s: chmod: %s", path, strerror(-rc));
		goto err_unlink;
	}
	ctl->loop = loop;
	ctl->status = status;
	ctl->ctx = ctx;
	ctl->timeout.cb = timeout_cb;
	ctl->timeout.ctx = ctl;
	ctl->io.fd = fd;
	ctl->io.events = EPOLLIN;
	ctl->io.cb = accept_cb;
	ctl->io.ctx = ctl;
	rc = sl_loop_add(loop, &ctl->io);
	if (rc < 0) {
		snprintf(err, errlen, "control socket %s: %s", path, strerror(-rc));
		goto err_unlink;
	}
	*ret = ctl;
	return 0;

err_unlink:
	sl_unixsock_release(&ctl->sock);
	close(fd);
err_free:
	free(ctl);
	return rc;
}

void sl_control_close(struct sl_control *ctl)
{
	if (!ctl)
		return;
	for (int i = 0; i < MAX_CLIENTS; i++)
		if (ctl->clients[i].used)
			client_close(&ctl->clients[i]);
	sl_timer_cancel(ctl->loop, &ctl->timeout);
	sl_loop_del(ctl->loop, &ctl->io);
	close(ctl->io.fd);
	sl_unixsock_release(&ctl->sock);
	free(ctl);
}
