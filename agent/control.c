/* SPDX-License-Identifier: MIT */
/*
 * Control socket (see control.h). A request is tiny and the reply fits
 * one buffer, so each client is served within one or two wake-ups: read
 * the command (up to 64 bytes, non-blocking), write the reply, close. A
 * client that never sends its command is closed after 5 s.
 */
#include "control.h"

#include "clock.h"
#include "log.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#define REPLY_MAX 8192
#define MAX_CLIENTS 8

struct client {
	struct sl_io io;
	struct sl_control *ctl;
	char cmd[64];
	size_t len;
	uint64_t since_ms;
	bool used;
};

struct sl_control {
	struct sl_loop *loop;
	struct sl_io io;
	char *path;
	sl_control_status_fn status;
	void *ctx;
	struct client clients[MAX_CLIENTS];
	struct sl_timer timeout;
};

static void client_close(struct client *c)
{
	sl_loop_del(c->ctl->loop, &c->io);
	close(c->io.fd);
	c->used = false;
}

static void reply(struct client *c, const char *cmd)
{
	struct sl_control *ctl = c->ctl;
	char buf[REPLY_MAX];
	struct sl_jw w;
	int n;

	sl_jw_init(&w, buf, sizeof(buf) - 1);
	if (strcmp(cmd, "status") == 0) {
		ctl->status(ctl->ctx, &w);
	} else {
		sl_jw_obj_begin(&w);
		sl_jw_key(&w, "error");
		sl_jw_str(&w, "unknown command (known: status)");
		sl_jw_obj_end(&w);
	}
	n = sl_jw_finish(&w);
	if (n < 0)
		n = snprintf(buf, sizeof(buf), "{\"error\":\"status too large\"}");
	buf[n++] = '\n';
	/* small reply on a fresh socket: fits the send buffer */
	(void)!send(c->io.fd, buf, (size_t)n, MSG_NOSIGNAL | MSG_DONTWAIT);
	client_close(c);
}

static void client_cb(struct sl_io *io, uint32_t revents)
{
	struct client *c = io->ctx;
	ssize_t n;
	char *nl;

	(void)revents;
	n = recv(io->fd, c->cmd + c->len, sizeof(c->cmd) - 1 - c->len, MSG_DONTWAIT);
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n <= 0) {
		client_close(c);
		return;
	}
	c->len += (size_t)n;
	c->cmd[c->len] = '\0';
	nl = strchr(c->cmd, '\n');
	if (!nl && c->len < sizeof(c->cmd) - 1)
		return;
	if (nl)
		*nl = '\0';
	if (nl && nl > c->cmd && nl[-1] == '\r')
		nl[-1] = '\0';
	reply(c, c->cmd);
}

static void timeout_cb(struct sl_timer *t)
{
	struct sl_control *ctl = t->ctx;
	uint64_t now = sl_mono_ms();
	bool any = false;

	for (int i = 0; i < MAX_CLIENTS; i++) {
		struct client *c = &ctl->clients[i];

		if (c->used && c->since_ms + 5000 <= now)
			client_close(c);
		else if (c->used)
			any = true;
	}
	if (any)
		sl_timer_arm(ctl->loop, t, 1000);
}

static void accept_cb(struct sl_io *io, uint32_t revents)
{
	struct sl_control *ctl = io->ctx;
	struct client *c = NULL;
	int fd;

	(void)revents;
	fd = accept4(io->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
	if (fd < 0)
		return;
	for (int i = 0; i < MAX_CLIENTS && !c; i++)
		if (!ctl->clients[i].used)
			c = &ctl->clients[i];
	if (!c) {
		close(fd);
		return;
	}
	memset(c, 0, sizeof(*c));
	c->used = true;
	c->ctl = ctl;
	c->since_ms = sl_mono_ms();
	c->io.fd = fd;
	c->io.events = EPOLLIN;
	c->io.cb = client_cb;
	c->io.ctx = c;
	if (sl_loop_add(ctl->loop, &c->io) < 0) {
		close(fd);
		c->used = false;
		return;
	}
	if (!ctl->timeout.armed)
		sl_timer_arm(ctl->loop, &ctl->timeout, 5000);
}

int sl_control_open(struct sl_control **ret, struct sl_loop *loop, const char *path,
		    sl_control_status_fn status, void *ctx, char *err, size_t errlen)
{
	struct sl_control *ctl;
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct stat st;
	int fd, rc;

	if (strlen(path) >= sizeof(sa.sun_path)) {
		snprintf(err, errlen, "control socket %s: path too long", path);
		return -ENAMETOOLONG;
	}
	strcpy(sa.sun_path, path);
	ctl = calloc(1, sizeof(*ctl));
	if (!ctl)
		return -ENOMEM;
	ctl->path = strdup(path);
	if (!ctl->path) {
		rc = -ENOMEM;
		goto err_free;
	}
	if (lstat(path, &st) == 0 && S_ISSOCK(st.st_mode))
		unlink(path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		rc = -errno;
		goto err_free;
	}
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || chmod(path, 0660) < 0 ||
	    listen(fd, 16) < 0) {
		rc = -errno;
		snprintf(err, errlen, "control socket %s: %s", path, strerror(-rc));
		goto err_close;
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
	if (rc < 0)
		goto err_unlink;
	*ret = ctl;
	return 0;

err_unlink:
	unlink(path);
err_close:
	close(fd);
err_free:
	free(ctl->path);
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
	unlink(ctl->path);
	free(ctl->path);
	free(ctl);
}
