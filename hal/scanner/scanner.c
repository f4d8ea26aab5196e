/* SPDX-License-Identifier: MIT */
/*
 * hal_scanner front and read path: the backend registry behind
 * hal_scanner_open(), and the one reader shared by every backend. An evdev
 * scanner is a stream of struct input_event (key presses through the US
 * layout into a line, Enter ends it); a tty or a replay file is a byte
 * stream (CR or LF ends a line). Only opening differs per backend, so the
 * whole decoding path runs in the tests on pipes.
 */
#include "scanner_internal.h"

#include "clock.h"
#include "util.h"

#include <mbedtls/platform_util.h>

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

/* ---- line assembly ------------------------------------------------------ */

static void line_add(struct hal_scanner *sc, struct hal_scanner__priv *p, char c)
{
	if (p->discarding)
		return;
	if (p->len == HAL_SCAN_MAX) {
		/* never split a scan: drop all of it, up to its end */
		mbedtls_platform_zeroize(p->line, sizeof(p->line));
		p->len = 0;
		p->discarding = true;
		sc->stats.overlong++;
		return;
	}
	p->line[p->len++] = c;
}

/* 1 with a scan in *out, 0 when the line was empty or discarded. */
static int line_end(struct hal_scanner *sc, struct hal_scanner__priv *p, uint64_t ts_us,
		    struct hal_scan *out)
{
	if (p->discarding) {
		p->discarding = false;
		return 0;
	}
	if (p->len == 0)
		return 0;
	memset(out, 0, sizeof(*out));
	out->ts_us = ts_us;
	out->len = (uint16_t)p->len;
	memcpy(out->data, p->line, p->len);
	mbedtls_platform_zeroize(p->line, sizeof(p->line));
	p->len = 0;
	sc->stats.scans++;
	return 1;
}

/* ---- decoding ----------------------------------------------------------- */

static int evdev_step(struct hal_scanner *sc, struct hal_scanner__priv *p, struct hal_scan *out)
{
	struct input_event ev;
	char c;
	int rc;

	memcpy(&ev, p->buf + p->pos, sizeof(ev));
	p->pos += sizeof(ev);
	if (ev.type != EV_KEY)
		goto none;
	if (ev.code == KEY_LEFTSHIFT || ev.code == KEY_RIGHTSHIFT) {
		bool down = ev.value != 0;

		if (ev.code == KEY_LEFTSHIFT)
			p->shift_l = down;
		else
			p->shift_r = down;
		goto none;
	}
	if (ev.value != 1)		/* releases and autorepeat */
		goto none;
	rc = hal_scanner_key_us(ev.code, p->shift_l || p->shift_r, &c);
	if (rc == 1) {
		line_add(sc, p, c);
	} else if (rc == 0) {
		uint64_t ts = (uint64_t)ev.input_event_sec * 1000000u + (uint64_t)ev.input_event_usec;

		rc = line_end(sc, p, ts, out);
		mbedtls_platform_zeroize(&ev, sizeof(ev));
		return rc;
	} else {
		sc->stats.unmapped++;
	}
none:
	mbedtls_platform_zeroize(&ev, sizeof(ev));
	return 0;
}

static int byte_step(struct hal_scanner *sc, struct hal_scanner__priv *p, struct hal_scan *out)
{
	char c = (char)p->buf[p->pos++];

	if (c == '\r' || c == '\n')
		return line_end(sc, p, sl_now_us(), out);
	line_add(sc, p, c);
	return 0;
}

/* Drops the consumed part of buf, keeping a partial input_event. */
static void buf_compact(struct hal_scanner__priv *p)
{
	size_t rest = p->fill - p->pos;

	if (rest)
		memmove(p->buf, p->buf + p->pos, rest);
	mbedtls_platform_zeroize(p->buf + rest, p->fill - rest);
	p->fill = rest;
	p->pos = 0;
}

int hal_scanner__read(struct hal_scanner *sc, struct hal_scan *out)
{
	struct hal_scanner__priv *p = sc->priv;
	size_t unit = p->kind == HAL_SCANNER_EVDEV ? sizeof(struct input_event) : 1;
	ssize_t n;
	int rc;

	for (;;) {
		while (p->fill - p->pos >= unit) {
			rc = p->kind == HAL_SCANNER_EVDEV ? evdev_step(sc, p, out)
							  : byte_step(sc, p, out);
			if (rc)
				return rc;
		}
		buf_compact(p);
		n = read(p->fd, p->buf + p->fill, sizeof(p->buf) - p->fill);
		if (n > 0) {
			p->fill += (size_t)n;
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return 0;
		if (n < 0 && errno != ENODEV && errno != EIO)
			return -errno;
		/* end of stream (n == 0), or the device is gone (ENODEV, EIO) */
		if (p->kind != HAL_SCANNER_LINES)
			return -ENODEV;
		if (n < 0)
			return -EIO;
		/* a last line without its newline still counts */
		rc = line_end(sc, p, sl_now_us(), out);
		return rc ? rc : -ENODATA;
	}
}

int hal_scanner__fd(const struct hal_scanner *sc)
{
	const struct hal_scanner__priv *p = sc->priv;

	return p ? p->fd : -EBADF;
}

void hal_scanner__close(struct hal_scanner *sc)
{
	struct hal_scanner__priv *p = sc->priv;

	if (!p)
		return;
	if (p->fd >= 0) {
		if (p->kind == HAL_SCANNER_EVDEV)
			(void)ioctl(p->fd, EVIOCGRAB, 0);	/* fails harmlessly on a pipe */
		close(p->fd);
	}
	mbedtls_platform_zeroize(p, sizeof(*p));
	free(p);
	sc->priv = NULL;
}

int hal_scanner__attach(struct hal_scanner *sc, enum hal_scanner_kind kind, int fd)
{
	struct hal_scanner__priv *p = calloc(1, sizeof(*p));

	if (!p) {
		close(fd);
		return -ENOMEM;
	}
	p->kind = kind;
	p->fd = fd;
	sc->priv = p;
	memset(&sc->stats, 0, sizeof(sc->stats));
	return 0;
}

/* ---- backends ----------------------------------------------------------- */

static int check_cfg(const struct hal_scanner_cfg *cfg)
{
	if (cfg->layout && strcmp(cfg->layout, "us") != 0)
		return -EINVAL;
	return 0;
}

static int evdev_open(struct hal_scanner *sc, const struct hal_scanner_cfg *cfg)
{
	int fd, rc = check_cfg(cfg);

	if (rc < 0)
		return rc;
	fd = hal_scanner__evdev_open_dev(cfg->source + strlen("evdev:"));
	if (fd < 0)
		return fd;
	return hal_scanner__attach(sc, HAL_SCANNER_EVDEV, fd);
}

static int tty_open(struct hal_scanner *sc, const struct hal_scanner_cfg *cfg)
{
	int fd = hal_scanner__tty_open_dev(cfg->source + strlen("tty:"));

	if (fd < 0)
		return fd;
	return hal_scanner__attach(sc, HAL_SCANNER_TTY, fd);
}

static int lines_open(struct hal_scanner *sc, const struct hal_scanner_cfg *cfg)
{
	int fd = open(cfg->source + strlen("lines:"), O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return -errno;
	return hal_scanner__attach(sc, HAL_SCANNER_LINES, fd);
}

static const struct hal_scanner_ops evdev_ops = {
	.open = evdev_open,
	.fd = hal_scanner__fd,
	.read = hal_scanner__read,
	.close = hal_scanner__close,
};

static const struct hal_scanner_ops tty_ops = {
	.open = tty_open,
	.fd = hal_scanner__fd,
	.read = hal_scanner__read,
	.close = hal_scanner__close,
};

static const struct hal_scanner_ops lines_ops = {
	.open = lines_open,
	.fd = hal_scanner__fd,
	.read = hal_scanner__read,
	.close = hal_scanner__close,
};

static const struct backend {
	const char *prefix;	/* source string prefix, with the colon */
	const char *name;
	enum hal_scanner_kind kind;
	const struct hal_scanner_ops *ops;
} backends[] = {
	/* indexed by enum hal_scanner_kind */
	{ "evdev:", "evdev", HAL_SCANNER_EVDEV, &evdev_ops },
	{ "tty:", "tty", HAL_SCANNER_TTY, &tty_ops },
	{ "lines:", "lines", HAL_SCANNER_LINES, &lines_ops },
};

int hal_scanner_open(struct hal_scanner *sc, const char *source,
		     const struct hal_scanner_cfg *cfg)
{
	struct hal_scanner_cfg c = { 0 };
	int rc;

	if (!sc || !source)
		return -EINVAL;
	if (cfg)
		c = *cfg;
	c.source = source;
	for (size_t i = 0; i < ARRAY_SIZE(backends); i++) {
		const struct backend *b = &backends[i];
		size_t n = strlen(b->prefix);

		if (strncmp(source, b->prefix, n) != 0)
			continue;
		if (source[n] == '\0')
			return -EINVAL;
		memset(sc, 0, sizeof(*sc));
		sc->ops = b->ops;
		sc->name = b->name;
		rc = b->ops->open(sc, &c);
		if (rc < 0) {
			b->ops->close(sc);
			memset(sc, 0, sizeof(*sc));
		}
		return rc;
	}
	return -EINVAL;
}

int hal_scanner_open_fd(struct hal_scanner *sc, enum hal_scanner_kind kind, int fd,
			const char *name)
{
	int flags;

	if (!sc || fd < 0 || (unsigned)kind >= ARRAY_SIZE(backends)) {
		if (fd >= 0)
			close(fd);
		return -EINVAL;
	}
	flags = fcntl(fd, F_GETFL);
	if (flags >= 0)
		(void)fcntl(fd, F_SETFL, flags | O_NONBLOCK);
	memset(sc, 0, sizeof(*sc));
	sc->ops = backends[kind].ops;
	sc->name = name ? name : backends[kind].name;
	return hal_scanner__attach(sc, kind, fd);
}

int hal_scanner_fd(const struct hal_scanner *sc)
{
	return sc->ops->fd(sc);
}

int hal_scanner_read(struct hal_scanner *sc, struct hal_scan *out)
{
	return sc->ops->read(sc, out);
}

void hal_scanner_close(struct hal_scanner *sc)
{
	if (!sc)
		return;
	if (sc->ops && sc->ops->close)
		sc->ops->close(sc);
	memset(sc, 0, sizeof(*sc));
}
