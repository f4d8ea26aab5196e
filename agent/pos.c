/* SPDX-License-Identifier: MIT */
/*
 * POS listener (see pos.h). Every socket is non-blocking and owned by the
 * agent's loop. Per connection: an input buffer of one maximum line, a
 * queue of replies in request order (each waiting for a spool sequence
 * number, or ready at once), and an output buffer. A connection whose
 * output backs up stops being read until it drains, and each wake-up reads
 * a bounded amount, so one busy or stalled client cannot hold the others.
 *
 * Every byte of request input is zeroized once its line was handled or
 * discarded: the input buffer is the one place raw card numbers, track
 * data and loyalty ids exist in this process.
 */
#include "pos.h"

#include "clock.h"
#include "jsonw.h"
#include "log.h"
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <mbedtls/constant_time.h>
#include <mbedtls/platform_util.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#define MAX_LISTENERS 8
#define IN_CAP (SL_POS_MAX_LINE + 1)	/* a line + its newline */
#define READ_BUDGET (64 * 1024)		/* bytes per connection per wake-up */
#define OUT_HIGH (64 * 1024)		/* stop reading above this much output */
#define QUEUE_HIGH 1024			/* or this many replies waiting */
#define AUTH_MAX 256

struct reply {
	struct reply *next;
	int64_t seq;		/* spool sequence to wait for; 0 = ready */
	const char *failed;	/* its commit failed: send this line instead */
	size_t len;
	char text[];		/* one JSON line with its newline */
};

struct listener {
	struct sl_io io;
	struct sl_pos *pos;
	bool tcp;
	char addr[128];
	char *unlink_path;	/* Unix socket file to remove at close */
};

struct conn {
	struct sl_io io;
	struct sl_pos *pos;
	bool tcp;
	bool authed;
	bool discarding;	/* inside a too long line */
	bool closing;		/* close once the output is flushed */
	bool paused;		/* not reading: output backed up */
	size_t in_len;
	struct reply *head, *tail;
	size_t queued;
	char *out;
	size_t out_len, out_off, out_cap;
	uint64_t last_ms;	/* last input, for the idle timeout */
	struct conn *prev, *next;
	char in[IN_CAP];
};

struct sl_pos {
	struct sl_loop *loop;
	struct sl_pos_ctx ctx;
	struct sl_pos_sink sink;
	int max_conns;
	uint64_t idle_ms;
	mode_t mode;
	char token[AUTH_MAX];	/* TCP auth token, zeroized at close */
	size_t token_len;
	struct listener lst[MAX_LISTENERS];
	int nlst;
	struct conn *conns;
	struct sl_timer idle_timer;
	struct sl_pos_stats st;
	struct sl_pos_result res;	/* scratch, zeroized after each request */
	int64_t durable;		/* highest sequence reported committed */
	struct conn *parsing;		/* whose input is being handled: must
					 * not be flushed (and so maybe freed)
					 * by a commit made meanwhile */
};

static void conn_update_events(struct conn *c);
static void conn_close(struct conn *c);

static const char spool_error_text[] =
	"{\"ok\":false,\"error\":\"spool_error\","
	"\"message\":\"the event could not be stored; retry\"}\n";
static const char spool_full_text[] =
	"{\"ok\":false,\"error\":\"spool_full\","
	"\"message\":\"the gateway's disk is full; retry later\"}\n";

/* ---- replies ---------------------------------------------------------- */

static int queue_reply(struct conn *c, int64_t seq, const char *json, size_t len)
{
	struct reply *r = malloc(sizeof(*r) + len + 1);

	if (!r)
		return -ENOMEM;
	r->next = NULL;
	r->seq = seq;
	r->failed = NULL;
	r->len = len + 1;
	memcpy(r->text, json, len);
	r->text[len] = '\n';
	if (c->tail)
		c->tail->next = r;
	else
		c->head = r;
	c->tail = r;
	c->queued++;
	return 0;
}

static int queue_error(struct conn *c, const char *code, const char *message)
{
	char buf[512];
	struct sl_jw w;
	int n;

	c->pos->st.errors++;
	sl_jw_init(&w, buf, sizeof(buf));
	sl_jw_obj_begin(&w);
	sl_jw_key(&w, "ok");
	sl_jw_bool(&w, false);
	sl_jw_key(&w, "error");
	sl_jw_str(&w, code);
	sl_jw_key(&w, "message");
	sl_jw_str(&w, message);
	sl_jw_obj_end(&w);
	n = sl_jw_finish(&w);
	return n < 0 ? n : queue_reply(c, 0, buf, (size_t)n);
}

static int queue_ok(struct conn *c, int64_t seq, const char *id)
{
	char buf[128];
	struct sl_jw w;
	int n;

	sl_jw_init(&w, buf, sizeof(buf));
	sl_jw_obj_begin(&w);
	sl_jw_key(&w, "ok");
	sl_jw_bool(&w, true);
	if (id) {
		sl_jw_key(&w, "id");
		sl_jw_str(&w, id);
	}
	sl_jw_obj_end(&w);
	n = sl_jw_finish(&w);
	return n < 0 ? n : queue_reply(c, seq, buf, (size_t)n);
}

static int out_append(struct conn *c, const char *p, size_t n)
{
	if (c->out_off && c->out_off == c->out_len)
		c->out_off = c->out_len = 0;
	if (c->out_len + n > c->out_cap) {
		size_t cap = c->out_cap ? c->out_cap : 4096;
		char *q;

		if (c->out_off) {	/* compact first */
			memmove(c->out, c->out + c->out_off, c->out_len - c->out_off);
			c->out_len -= c->out_off;
			c->out_off = 0;
		}
		while (cap < c->out_len + n)
			cap *= 2;
		if (cap != c->out_cap) {
			q = realloc(c->out, cap);
			if (!q)
				return -ENOMEM;
			c->out = q;
			c->out_cap = cap;
		}
	}
	memcpy(c->out + c->out_len, p, n);
	c->out_len += n;
	return 0;
}

/* Moves ready replies (in order) to the output buffer and writes. */
static void conn_flush(struct conn *c)
{
	while (c->head && c->head->seq <= c->pos->durable) {
		struct reply *r = c->head;
		int rc;

		if (r->failed)
			rc = out_append(c, r->failed, strlen(r->failed));
		else
			rc = out_append(c, r->text, r->len);
		if (rc < 0)
			break;
		c->head = r->next;
		if (!c->head)
			c->tail = NULL;
		c->queued--;
		free(r);
	}
	while (c->out_off < c->out_len) {
		ssize_t n = send(c->io.fd, c->out + c->out_off, c->out_len - c->out_off,
				 MSG_NOSIGNAL | MSG_DONTWAIT);

		if (n < 0) {
			if (errno == EAGAIN || errno == EINTR)
				break;
			sl_debug("pos: send: %s", strerror(errno));
			conn_close(c);
			return;
		}
		c->out_off += (size_t)n;
	}
	if (c->out_off == c->out_len)
		c->out_off = c->out_len = 0;
	if (c->closing && !c->head && c->out_len == 0) {
		conn_close(c);
		return;
	}
	conn_update_events(c);
}

/* ---- requests --------------------------------------------------------- */

static void handle_line(struct conn *c, char *line, size_t len)
{
	struct sl_pos *pos = c->pos;
	struct sl_pos_result *res = &pos->res;
	char dup_id[SL_UUID_LEN];
	int64_t seq;

	if (len && line[len - 1] == '\r')	/* tolerate CRLF */
		len--;
	if (!len)		/* an empty CRLF line: ignored, like an empty line */
		return;
	pos->st.requests++;
	sl_pos_request(&pos->ctx, line, len, sl_now_us(), sl_clock_synced(), res);

	if (c->tcp && pos->token_len && !c->authed) {
		if (res->outcome == SL_POS_OUT_AUTH && res->token_len == pos->token_len &&
		    mbedtls_ct_memcmp(res->token, pos->token, pos->token_len) == 0) {
			c->authed = true;
			queue_ok(c, 0, NULL);
		} else {
			queue_error(c, "unauthorized",
				    "send {\"type\":\"auth\",\"token\":...} with the right token first");
			c->closing = true;
		}
		goto out;
	}
	switch (res->outcome) {
	case SL_POS_OUT_AUTH:
		queue_ok(c, 0, NULL);
		break;
	case SL_POS_OUT_ERROR:
		queue_error(c, res->error, res->message);
		break;
	case SL_POS_OUT_EVENT:
		if (res->has_key && pos->sink.find &&
		    pos->sink.find(pos->sink.ctx, res->key, dup_id, &seq) > 0) {
			/* a resend: the first one's reply, once that is committed */
			pos->st.duplicates++;
			queue_ok(c, seq, dup_id);
			break;
		}
		if (res->has_key && pos->sink.submit_key)
			seq = pos->sink.submit_key(pos->sink.ctx, res->cls, res->id, res->type,
						   res->payload, res->len, res->key);
		else
			seq = pos->sink.submit(pos->sink.ctx, res->cls, res->id, res->type,
					       res->payload, res->len);
		if (seq == -ENOSPC) {
			queue_error(c, "spool_full",
				    "the spool is full; retry later (the uplink is down too long)");
		} else if (seq < 0) {
			queue_error(c, "spool_error", "the event could not be stored; retry");
		} else {
			pos->st.events[res->cls]++;
			queue_ok(c, seq, res->id);
		}
		break;
	}
out:
	mbedtls_platform_zeroize(res, sizeof(*res));
}

/* Splits the input into lines; keeps a partial line for the next read. */
static void conn_parse(struct conn *c, size_t old_len)
{
	size_t start = 0, i = old_len;

	for (; i < c->in_len; i++) {
		if (c->in[i] != '\n')
			continue;
		if (c->discarding) {
			c->discarding = false;
			queue_error(c, "too_long", "request line longer than 16384 bytes");
		} else if (i > start) {
			handle_line(c, c->in + start, i - start);
		}
		mbedtls_platform_zeroize(c->in + start, i + 1 - start);
		start = i + 1;
		if (c->closing)
			break;
	}
	if (c->closing) {
		mbedtls_platform_zeroize(c->in, c->in_len);
		c->in_len = 0;
		return;
	}
	if (start) {
		memmove(c->in, c->in + start, c->in_len - start);
		mbedtls_platform_zeroize(c->in + c->in_len - start, start);
		c->in_len -= start;
	}
	if (c->in_len > SL_POS_MAX_LINE || (c->discarding && c->in_len)) {
		/* no newline within the limit: drop what we have, skip to the next one */
		mbedtls_platform_zeroize(c->in, c->in_len);
		c->in_len = 0;
		c->discarding = true;
	}
}

static void conn_cb(struct sl_io *io, uint32_t revents)
{
	struct conn *c = io->ctx;
	size_t budget = READ_BUDGET;
	bool eof = false;

	if (revents & EPOLLOUT) {
		conn_flush(c);
		return;		/* c may be gone; input is handled next round */
	}
	if (revents & (EPOLLIN | EPOLLHUP | EPOLLERR)) {
		c->pos->parsing = c;
		while (budget && !c->closing && !c->paused) {
			size_t room = IN_CAP - c->in_len, old = c->in_len;
			ssize_t n = recv(io->fd, c->in + c->in_len, room, MSG_DONTWAIT);

			if (n < 0) {
				if (errno == EAGAIN || errno == EINTR)
					break;
				eof = true;
				break;
			}
			if (n == 0) {
				eof = true;
				break;
			}
			c->last_ms = sl_mono_ms();
			c->in_len += (size_t)n;
			budget = (size_t)n >= budget ? 0 : budget - (size_t)n;
			conn_parse(c, old);
			if (c->queued >= QUEUE_HIGH || c->out_len - c->out_off >= OUT_HIGH)
				c->paused = true;
		}
		c->pos->parsing = NULL;
	}
	if (eof) {
		/* the client is gone: its replies cannot be delivered; events
		 * already queued are committed anyway */
		conn_close(c);
		return;
	}
	conn_flush(c);
}

static void conn_update_events(struct conn *c)
{
	uint32_t ev = 0;

	if (c->paused && c->queued < QUEUE_HIGH / 2 && c->out_len - c->out_off < OUT_HIGH / 2)
		c->paused = false;
	if (!c->paused && !c->closing)
		ev |= EPOLLIN;
	if (c->out_off < c->out_len)
		ev |= EPOLLOUT;
	sl_loop_mod(c->pos->loop, &c->io, ev);
}

static void conn_close(struct conn *c)
{
	struct sl_pos *pos = c->pos;

	sl_loop_del(pos->loop, &c->io);
	close(c->io.fd);
	while (c->head) {
		struct reply *r = c->head;

		c->head = r->next;
		free(r);
	}
	if (c->prev)
		c->prev->next = c->next;
	else
		pos->conns = c->next;
	if (c->next)
		c->next->prev = c->prev;
	pos->st.open--;
	mbedtls_platform_zeroize(c->in, sizeof(c->in));
	free(c->out);
	free(c);
}

/* ---- idle timeout ----------------------------------------------------- */

static void idle_arm(struct sl_pos *pos)
{
	uint64_t first = 0;

	for (struct conn *c = pos->conns; c; c = c->next)
		if (!c->head && (!first || c->last_ms < first))
			first = c->last_ms;
	if (first)
		sl_timer_arm_at(pos->loop, &pos->idle_timer, first + pos->idle_ms);
	else
		sl_timer_cancel(pos->loop, &pos->idle_timer);
}

static void idle_cb(struct sl_timer *t)
{
	struct sl_pos *pos = t->ctx;
	uint64_t now = sl_mono_ms();
	struct conn *c = pos->conns, *next;

	for (; c; c = next) {
		next = c->next;
		if (!c->head && c->last_ms + pos->idle_ms <= now) {
			sl_debug("pos: closing a connection idle for %llu s",
				 (unsigned long long)(pos->idle_ms / 1000));
			conn_close(c);
		}
	}
	idle_arm(pos);
}

/* ---- listeners -------------------------------------------------------- */

static void accept_cb(struct sl_io *io, uint32_t revents)
{
	struct listener *l = io->ctx;
	struct sl_pos *pos = l->pos;

	(void)revents;
	for (int i = 0; i < 16; i++) {
		int fd = accept4(io->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		struct conn *c;

		if (fd < 0) {
			if (errno != EAGAIN && errno != EINTR)
				sl_debug("pos: accept: %s", strerror(errno));
			return;
		}
		if ((int)pos->st.open >= pos->max_conns) {
			static const char msg[] =
				"{\"ok\":false,\"error\":\"too_many_connections\","
				"\"message\":\"connection limit reached; retry later\"}\n";

			(void)!send(fd, msg, sizeof(msg) - 1, MSG_NOSIGNAL | MSG_DONTWAIT);
			close(fd);
			pos->st.rejected++;
			continue;
		}
		c = calloc(1, sizeof(*c));
		if (!c) {
			close(fd);
			continue;
		}
		if (l->tcp) {
			int one = 1;

			setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		}
		c->pos = pos;
		c->tcp = l->tcp;
		c->last_ms = sl_mono_ms();
		c->io.fd = fd;
		c->io.events = EPOLLIN;
		c->io.cb = conn_cb;
		c->io.ctx = c;
		if (sl_loop_add(pos->loop, &c->io) < 0) {
			close(fd);
			free(c);
			continue;
		}
		c->next = pos->conns;
		if (pos->conns)
			pos->conns->prev = c;
		pos->conns = c;
		pos->st.open++;
		pos->st.connections++;
		if (!pos->idle_timer.armed)
			idle_arm(pos);
	}
}

static int listen_unix(struct sl_pos *pos, struct listener *l, const char *path,
		       const char *group, char *err, size_t errlen)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct stat st;
	int fd, rc;

	if (strlen(path) >= sizeof(sa.sun_path)) {
		snprintf(err, errlen, "unix:%s: path too long", path);
		return -ENAMETOOLONG;
	}
	strcpy(sa.sun_path, path);
	/* a stale socket from a previous run (never remove anything else) */
	if (lstat(path, &st) == 0) {
		if (!S_ISSOCK(st.st_mode)) {
			snprintf(err, errlen, "unix:%s exists and is not a socket", path);
			return -EEXIST;
		}
		unlink(path);
	}
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		rc = -errno;
		snprintf(err, errlen, "unix:%s: bind: %s", path, strerror(-rc));
		goto err_close;
	}
	l->unlink_path = strdup(path);
	if (group) {
		struct group *gr = getgrnam(group);

		if (!gr) {
			rc = -ENOENT;
			snprintf(err, errlen, "[pos] socket_group '%s': no such group", group);
			goto err_unlink;
		}
		if (chown(path, (uid_t)-1, gr->gr_gid) < 0) {
			rc = -errno;
			snprintf(err, errlen, "unix:%s: chown to group %s: %s", path, group,
				 strerror(-rc));
			goto err_unlink;
		}
	}
	if (chmod(path, pos->mode) < 0) {
		rc = -errno;
		snprintf(err, errlen, "unix:%s: chmod: %s", path, strerror(-rc));
		goto err_unlink;
	}
	if (listen(fd, 128) < 0) {
		rc = -errno;
		snprintf(err, errlen, "unix:%s: listen: %s", path, strerror(-rc));
		goto err_unlink;
	}
	snprintf(l->addr, sizeof(l->addr), "unix:%s", path);
	return fd;

err_unlink:
	unlink(path);
	free(l->unlink_path);
	l->unlink_path = NULL;
err_close:
	close(fd);
	return rc;
}

static int listen_tcp(struct listener *l, const char *spec, char *err, size_t errlen)
{
	char host[128];
	const char *colon = strrchr(spec, ':');
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM, .ai_flags = AI_PASSIVE };
	struct addrinfo *ai = NULL;
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);
	char hbuf[64], pbuf[16];
	int fd = -1, rc, one = 1;
	size_t hl;

	if (!colon || (hl = (size_t)(colon - spec)) >= sizeof(host))
		return -EINVAL;
	memcpy(host, spec, hl);
	host[hl] = '\0';
	if (hl >= 2 && host[0] == '[' && host[hl - 1] == ']') {	/* [::1]:7410 */
		memmove(host, host + 1, hl - 2);
		host[hl - 2] = '\0';
	}
	rc = getaddrinfo(host, colon + 1, &hints, &ai);
	if (rc != 0) {
		snprintf(err, errlen, "tcp:%s: %s", spec, gai_strerror(rc));
		return -EINVAL;
	}
	fd = socket(ai->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		rc = -errno;
		goto err_free;
	}
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, ai->ai_addr, ai->ai_addrlen) < 0 || listen(fd, 128) < 0) {
		rc = -errno;
		snprintf(err, errlen, "tcp:%s: %s", spec, strerror(-rc));
		goto err_close;
	}
	if (getsockname(fd, (struct sockaddr *)&ss, &sl) == 0 &&
	    getnameinfo((struct sockaddr *)&ss, sl, hbuf, sizeof(hbuf), pbuf, sizeof(pbuf),
			NI_NUMERICHOST | NI_NUMERICSERV) == 0)
		snprintf(l->addr, sizeof(l->addr), ss.ss_family == AF_INET6 ? "tcp:[%s]:%s" :
			 "tcp:%s:%s", hbuf, pbuf);
	l->tcp = true;
	freeaddrinfo(ai);
	return fd;

err_close:
	close(fd);
err_free:
	freeaddrinfo(ai);
	return rc;
}

static int read_token(struct sl_pos *pos, const char *path, char *err, size_t errlen)
{
	struct stat st;
	ssize_t n;
	int fd, rc = 0;

	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0) {
		rc = -errno;
		snprintf(err, errlen, "[pos] auth_token_file %s: %s", path, strerror(-rc));
		return rc;
	}
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		snprintf(err, errlen, "[pos] auth_token_file %s: not a regular file", path);
		rc = -EINVAL;
		goto out;
	}
	if (st.st_mode & 0007) {
		snprintf(err, errlen, "[pos] auth_token_file %s is readable by others (mode %04o); "
			 "chmod o-rwx it", path, (unsigned)(st.st_mode & 07777));
		rc = -EPERM;
		goto out;
	}
	n = read(fd, pos->token, sizeof(pos->token) - 1);
	if (n < 0) {
		rc = -errno;
		snprintf(err, errlen, "[pos] auth_token_file %s: %s", path, strerror(-rc));
		goto out;
	}
	while (n > 0 && (pos->token[n - 1] == '\n' || pos->token[n - 1] == '\r' ||
			 pos->token[n - 1] == ' ' || pos->token[n - 1] == '\t'))
		pos->token[--n] = '\0';
	if (n < 16) {
		snprintf(err, errlen, "[pos] auth_token_file %s: token shorter than 16 characters",
			 path);
		rc = -EINVAL;
		goto out;
	}
	pos->token_len = (size_t)n;
out:
	close(fd);
	return rc;
}

int sl_pos_open(struct sl_pos **ret, struct sl_loop *loop, const struct sl_pos_cfg *cfg,
		const struct sl_pos_ctx *ctx, const struct sl_pos_sink *sink, char *err,
		size_t errlen)
{
	struct sl_pos *pos = calloc(1, sizeof(*pos));
	char *list = NULL, *save = NULL;
	int rc = 0;

	if (!pos)
		return -ENOMEM;
	pos->loop = loop;
	pos->ctx = *ctx;
	pos->sink = *sink;
	pos->max_conns = cfg->max_connections;
	pos->idle_ms = (uint64_t)cfg->idle_timeout_s * 1000;
	pos->mode = (mode_t)cfg->socket_mode;
	pos->idle_timer.cb = idle_cb;
	pos->idle_timer.ctx = pos;
	if (cfg->auth_token_file) {
		rc = read_token(pos, cfg->auth_token_file, err, errlen);
		if (rc < 0)
			goto err_free;
	}
	list = strdup(cfg->listen ? cfg->listen : "");
	if (!list) {
		rc = -ENOMEM;
		goto err_free;
	}
	for (char *t = strtok_r(list, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
		struct listener *l = &pos->lst[pos->nlst];
		int fd;

		while (*t == ' ')
			t++;
		if (pos->nlst == MAX_LISTENERS) {
			snprintf(err, errlen, "[pos] listen: more than %d listeners", MAX_LISTENERS);
			rc = -E2BIG;
			goto err_close;
		}
		if (strncmp(t, "unix:", 5) == 0) {
			fd = listen_unix(pos, l, t + 5, cfg->socket_group, err, errlen);
		} else if (strncmp(t, "tcp:", 4) == 0 && IS_ENABLED(CONFIG_SL_POS_TCP)) {
			if (!pos->token_len) {
				snprintf(err, errlen, "%s: TCP needs [pos] auth_token_file", t);
				rc = -EINVAL;
				goto err_close;
			}
			fd = listen_tcp(l, t + 4, err, errlen);
		} else {
			snprintf(err, errlen, "[pos] listen: '%s' not supported by this build", t);
			fd = -EINVAL;
		}
		if (fd < 0) {
			rc = fd;
			goto err_close;
		}
		l->pos = pos;
		l->io.fd = fd;
		l->io.events = EPOLLIN;
		l->io.cb = accept_cb;
		l->io.ctx = l;
		pos->nlst++;
		rc = sl_loop_add(loop, &l->io);
		if (rc < 0)
			goto err_close;
	}
	free(list);
	*ret = pos;
	return 0;

err_close:
	free(list);
	sl_pos_close(pos);
	return rc;
err_free:
	mbedtls_platform_zeroize(pos->token, sizeof(pos->token));
	free(pos);
	return rc;
}

void sl_pos_close(struct sl_pos *pos)
{
	if (!pos)
		return;
	while (pos->conns)
		conn_close(pos->conns);
	for (int i = 0; i < pos->nlst; i++) {
		struct listener *l = &pos->lst[i];

		sl_loop_del(pos->loop, &l->io);
		close(l->io.fd);
		if (l->unlink_path) {
			unlink(l->unlink_path);
			free(l->unlink_path);
		}
	}
	sl_timer_cancel(pos->loop, &pos->idle_timer);
	mbedtls_platform_zeroize(pos->token, sizeof(pos->token));
	free(pos);
}

void sl_pos_committed(struct sl_pos *pos, int64_t durable_seq)
{
	struct conn *c = pos->conns, *next;

	if (durable_seq > pos->durable)
		pos->durable = durable_seq;
	for (; c; c = next) {
		next = c->next;	/* conn_flush may close c */
		if (c->head && c != pos->parsing)
			conn_flush(c);
	}
	idle_arm(pos);
}

void sl_pos_commit_failed(struct sl_pos *pos, int64_t upto_seq, int err)
{
	const char *text = err == -ENOSPC ? spool_full_text : spool_error_text;

	for (struct conn *c = pos->conns; c; c = c->next)
		for (struct reply *r = c->head; r; r = r->next)
			if (r->seq > 0 && r->seq <= upto_seq) {
				r->seq = 0;
				r->failed = text;
				pos->st.errors++;
			}
	sl_pos_committed(pos, 0);
}

void sl_pos_stats(const struct sl_pos *pos, struct sl_pos_stats *out)
{
	*out = pos->st;
}

const char *sl_pos_listen_addr(const struct sl_pos *pos, int i)
{
	return i >= 0 && i < pos->nlst ? pos->lst[i].addr : NULL;
}
