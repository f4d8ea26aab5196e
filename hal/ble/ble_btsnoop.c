/* SPDX-License-Identifier: MIT */
/*
 * btsnoop replay backend ([ble] source = btsnoop:FILE). Reads the btsnoop
 * format (RFC 1761 style header "btsnoop\0", version 1; big-endian records
 * of original length, included length, flags, drops, timestamp in µs since
 * 0000-01-01) with datalink H1 (1001), H4 (1002, Android's and most tools')
 * or Linux monitor (2001, btmon -w), and hands HCI events to the shared
 * advertising report parser. Sightings carry the record's timestamp.
 *
 * The fd for the poll loop is the file itself (always readable); read()
 * returns -ENODATA at the end of the file. A record that is cut short is
 * -EBADMSG. One buffer allocated at open, none per record.
 */
#include "ble_internal.h"

#include <mbedtls/platform_util.h>

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define DLT_H1 1001
#define DLT_H4 1002
#define DLT_MONITOR 2001
#define MONITOR_EVENT_PKT 3
#define HDR_LEN 16
#define REC_HDR_LEN 24
#define REC_MAX (1u << 20)	/* no HCI packet is near this: a bigger one is damage */
#define EPOCH_DELTA_US 0x00dcddb30f2f8000ull	/* 0000-01-01 to 1970-01-01 */
#define BUF_LEN (64 * 1024)
#define RECORDS_PER_READ 256	/* then return 0 so the loop serves others */

struct snoop {
	int fd;
	uint32_t datalink;
	struct hal_ble__common common;
	uint8_t *buf;		/* BUF_LEN read buffer */
	size_t pos, len;	/* unread bytes are buf[pos..len) */
	bool eof;
	struct hal_ble__hci_iter it;
	bool in_event;		/* it walks evt */
	uint64_t evt_ts;
	uint8_t evt[HCI_EVENT_MAX];
};

static uint32_t be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* Makes n bytes (n <= BUF_LEN) available at buf + pos. 1, 0 (EOF before
 * any byte), -EBADMSG (EOF inside), -errno. */
static int fill(struct snoop *s, size_t n)
{
	if (s->len - s->pos >= n)
		return 1;
	if (s->pos > 0) {
		memmove(s->buf, s->buf + s->pos, s->len - s->pos);
		s->len -= s->pos;
		s->pos = 0;
	}
	while (s->len < n && !s->eof) {
		ssize_t r = read(s->fd, s->buf + s->len, BUF_LEN - s->len);

		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return -errno;
		if (r == 0)
			s->eof = true;
		s->len += (size_t)r;
	}
	if (s->len >= n)
		return 1;
	return s->len == 0 ? 0 : -EBADMSG;
}

/* Skips n bytes of payload that may be longer than the buffer. */
static int skip(struct snoop *s, size_t n)
{
	while (n) {
		size_t chunk = n < BUF_LEN ? n : BUF_LEN;
		int rc = fill(s, chunk);

		if (rc <= 0)
			return rc == 0 ? -EBADMSG : rc;
		s->pos += chunk;
		n -= chunk;
	}
	return 0;
}

static int snoop_open(struct hal_ble *ble, const struct hal_ble_cfg *cfg)
{
	const char *path = strchr(cfg->source, ':') + 1;
	struct snoop *s;
	uint8_t *h;
	int rc;

	s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	s->fd = -1;
	ble->priv = s;
	rc = hal_ble__common_init(&s->common, cfg);
	if (rc < 0)
		return rc;
	s->buf = malloc(BUF_LEN);
	if (!s->buf)
		return -ENOMEM;
	s->fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (s->fd < 0)
		return -errno;
	rc = fill(s, HDR_LEN);
	if (rc < 0 && rc != -EBADMSG)
		return rc;
	if (rc <= 0)
		return -EBADMSG;
	h = s->buf + s->pos;
	if (memcmp(h, "btsnoop\0", 8) != 0 || be32(h + 8) != 1)
		return -EBADMSG;
	s->datalink = be32(h + 12);
	if (s->datalink != DLT_H1 && s->datalink != DLT_H4 && s->datalink != DLT_MONITOR)
		return -EPROTONOSUPPORT;
	s->pos += HDR_LEN;
	return 0;
}

/*
 * Reads the next record. 1: an HCI event copied to s->evt (*evt_len set);
 * 2: some other record, skipped; 0: clean end of file; -errno.
 */
static int next_record(struct snoop *s, size_t *evt_len)
{
	const uint8_t *r;
	uint32_t incl, flags;
	uint64_t ts;
	size_t off = 0;
	bool is_event;
	int rc;

	rc = fill(s, REC_HDR_LEN);
	if (rc <= 0)
		return rc;
	r = s->buf + s->pos;
	incl = be32(r + 4);
	flags = be32(r + 8);
	ts = (uint64_t)be32(r + 16) << 32 | be32(r + 20);
	if (incl > be32(r) || incl > REC_MAX)
		return -EBADMSG;
	s->pos += REC_HDR_LEN;
	s->evt_ts = ts > EPOCH_DELTA_US ? ts - EPOCH_DELTA_US : 0;

	switch (s->datalink) {
	case DLT_H4:
		/* The first payload byte is the H4 packet indicator. */
		if (incl < 1)
			return 2;
		rc = fill(s, 1);
		if (rc <= 0)
			return rc == 0 ? -EBADMSG : rc;
		is_event = s->buf[s->pos] == HCI_PKT_EVENT;
		off = 1;
		break;
	case DLT_H1:
		is_event = (flags & 3) == 3;	/* command/event, received */
		break;
	default:
		is_event = (flags & 0xffff) == MONITOR_EVENT_PKT;
		break;
	}
	if (!is_event || incl - off > HCI_EVENT_MAX) {
		rc = skip(s, incl);
		return rc < 0 ? rc : 2;
	}
	rc = fill(s, incl);
	if (rc <= 0)
		return rc == 0 ? -EBADMSG : rc;
	memcpy(s->evt, s->buf + s->pos + off, incl - off);
	*evt_len = incl - off;
	s->pos += incl;
	return 1;
}

static int snoop_read(struct hal_ble *ble, struct hal_ble_sighting *out)
{
	struct snoop *s = ble->priv;

	for (unsigned n = 0; n < RECORDS_PER_READ; n++) {
		size_t len = 0;
		int rc;

		if (s->in_event) {
			if (hal_ble__hci_iter_next(&s->it, s->evt_ts, out) == 1) {
				hal_ble__finish(&s->common, out);
				return 1;
			}
			s->in_event = false;
		}
		rc = next_record(s, &len);
		if (rc == 0)
			return -ENODATA;
		if (rc < 0)
			return rc;
		if (rc == 2)
			continue;
		/* Malformed or non-advertising events are skipped. */
		s->in_event = hal_ble__hci_iter_init(&s->it, s->evt, len) == 0;
	}
	return 0;
}

static int snoop_fd(const struct hal_ble *ble)
{
	const struct snoop *s = ble->priv;

	return s ? s->fd : -1;
}

static void snoop_close(struct hal_ble *ble)
{
	struct snoop *s = ble ? ble->priv : NULL;

	if (!s)
		return;
	if (s->fd >= 0)
		close(s->fd);
	if (s->buf) {
		mbedtls_platform_zeroize(s->buf, BUF_LEN);	/* held device addresses */
		free(s->buf);
	}
	hal_ble__common_free(&s->common);
	mbedtls_platform_zeroize(s, sizeof(*s));
	free(s);
	ble->priv = NULL;
}

const struct hal_ble_ops hal_ble__btsnoop_ops = {
	.open = snoop_open,
	.fd = snoop_fd,
	.read = snoop_read,
	.close = snoop_close,
};
