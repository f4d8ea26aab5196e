/* SPDX-License-Identifier: MIT */
/*
 * POS listener (see pos.h). Every socket is non-blocking and owned by the
 * agent's loop. Per connection: an input buffer of one maximum line, a
 * queue of replies in request order (each waiting for a spool sequence
 * number, or ready at once), and an output buffer. A connection whose
 * output backs up stops being read until it drains, and each wake-up reads
 * a bounded amount, so one busy or stalled client cannot hold the others.
 * Backpressure is checked before each line: lines already read wait in
 * the input buffer (a resume timer parses them once the output drained).
 *
 * Replies are matched to lines by position only, so a reply that cannot be
 * queued (no memory) must not be skipped: the connection takes no more
 * input and is closed once the replies before it were written. The reply
 * to an event is allocated before the event is submitted.
 *
 * Every byte of request input is zeroized once its line was handled or
 * discarded: the input buffer is the one place raw card numbers, track
 * data and loyalty ids exist in this process.
 */
#include "pos.h"

#include "clock.h"
#include "jsonw.h"
#include "log.h"
#include "unixsock.h"
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <mbedtls/constant_time.h>
#include <mbedtls/platform_util.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>
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
#define OUT_HIGH (64 * 1024)		/* parse no line while this many bytes of replies
					 * wait (queued + output buffer) */
#define QUEUE_HIGH 1024			/* or this many replies are queued */
#define AUTH_MAX 256
#define AUTH_TIMEOUT_DEF_S 5
#define MAX_UNAUTH_DEF 16
#define AUTH_FAILURES_DEF 10
#define PEER_SLOTS 256			/* addresses whose auth failures are remembered */
#define PEER_FORGET_MS (10 * 60 * 1000)	/* failures forgiven after this long without one */
#define BLOCK_MAX_SHIFT 8		/* blocks last 1 s, 2 s, 4 s ... 256 s */
#define AUTH_LOG_MS 10000		/* at most one auth-failure log line per 10 s */

/* A TCP peer's address: 4 bytes (IPv4, also as v4-mapped IPv6) or 16. */
struct peer_addr {
	uint8_t len;		/* 0: none (Unix) */
	uint8_t b[16];
};

struct peer {
	struct peer_addr addr;	/* len 0: slot free */
	uint32_t failures;	/* failed auth lines, forgiven after PEER_FORGET_MS */
	uint64_t last_ms;	/* of the last failure */
	uint64_t blocked_until;	/* connections refused before this (mono ms) */
};

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
	struct sl_unixsock sock;	/* Unix socket file to remove at close */
};

struct conn {
	struct sl_io io;
	struct sl_pos *pos;
	bool tcp;
	bool authed;		/* TCP: counted in n_est, else in n_unauth */
	bool discarding;	/* inside a too long line */
	bool closing;		/* no more input; close once the output is flushed */
	bool paused;		/* not parsing nor reading: replies backed up */
	bool eof;		/* the client shut down its side: no more reading,
				 * close once the input is handled and answered */
	bool resume;		/* unpaused with input left: resume_timer parses it */
	size_t in_len;
	size_t scanned;		/* in[0..scanned) holds no newline */
	struct reply *head, *tail;
	size_t queued;		/* replies in head..tail */
	size_t queued_bytes;	/* their bytes */
	char *out;
	size_t out_len, out_off, out_cap;
	uint64_t accept_ms;	/* for the auth deadline */
	uint64_t last_ms;	/* last complete line, for the idle timeout */
	struct peer_addr peer;
	struct conn *prev, *next;
	char in[IN_CAP];
};

struct sl_pos {
	struct sl_loop *loop;
	struct sl_pos_ctx ctx;
	struct sl_pos_sink sink;
	int max_conns;		/* Unix + authenticated TCP */
	int max_unauth;		/* TCP before auth */
	int n_est, n_unauth;	/* open now, by those budgets */
	uint32_t auth_max_failures;
	uint64_t idle_ms;
	uint64_t auth_ms;
	mode_t mode;
	char token[AUTH_MAX];	/* TCP auth token, zeroized at close */
	size_t token_len;
	struct listener lst[MAX_LISTENERS];
	int nlst;
	struct conn *conns;
	struct sl_timer idle_timer;	/* idle and auth deadlines */
	struct sl_timer resume_timer;	/* unpaused connections with input left */
	struct peer peers[PEER_SLOTS];
	uint64_t auth_log_next;		/* mono ms: no auth log line before */
	uint64_t auth_log_quiet;	/* failures not logged since the last line */
	struct sl_pos_stats st;
	struct sl_pos_result res;	/* scratch, zeroized after each request */
	int64_t durable;		/* highest sequence reported committed */
	int64_t failed_upto;		/* highest sequence of a failed commit */
	const char *failed_text;	/* and its reply */
	struct conn *parsing;		/* whose input is being handled: must
					 * not be flushed (and so maybe freed)
					 * by a commit made meanwhile */
};

static void conn_update_events(struct conn *c);
static void conn_close(struct conn *c);
static void idle_arm(struct sl_pos *pos);

static const char spool_error_text[] =
	"{\"ok\":false,\"error\":\"spool_error\","
	"\"message\":\"the event could not be stored; retry\"}\n";
static const char spool_unknown_text[] =
	"{\"ok\":false,\"error\":\"spool_unknown\","
	"\"message\":\"the event may have been stored; resend it with the same txn_id/request_id\"}\n";
static const char spool_full_text[] =
	"{\"ok\":false,\"error\":\"spool_full\","
	"\"message\":\"the gateway's disk is full; retry later\"}\n";

/* ---- replies ---------------------------------------------------------- */

static struct reply *reply_new(int64_t seq, const char *json, size_t len)
{
	struct reply *r = malloc(sizeof(*r) + len + 1);

	if (!r)
		return NULL;
	r->next = NULL;
	r->seq = seq;
	r->failed = NULL;
	r->len = len + 1;
	memcpy(r->text, json, len);
	r->text[len] = '\n';
	return r;
}

static void reply_push(struct conn *c, struct reply *r)
{
	if (c->tail)
		c->tail->next = r;
	else
		c->head = r;
	c->tail = r;
	c->queued++;
	c->queued_bytes += r->len;
}

static int queue_reply(struct conn *c, int64_t seq, const char *json, size_t len)
{
	struct reply *r = reply_new(seq, json, len);

	if (!r)
		return -ENOMEM;
	reply_push(c, r);
	return 0;
}

/* One more error reply with this stable code (a static string). */
static void count_error(struct sl_pos *pos, const char *code)
{
	pos->st.errors++;
	for (size_t i = 0; i < SL_POS_ERROR_CODES; i++) {
		if (!pos->st.by_code[i].code)
			pos->st.by_code[i].code = code;
		if (pos->st.by_code[i].code == code || strcmp(pos->st.by_code[i].code, code) == 0) {
			pos->st.by_code[i].n++;
			return;
		}
	}
}

/* "spool_full" from one of the canned failure replies */
static const char *failed_code(const char *text)
{
	return text == spool_full_text ? "spool_full"
	       : text == spool_unknown_text ? "spool_unknown" : "spool_error";
}

static int queue_error(struct conn *c, const char *code, const char *message)
{
	char buf[512];
	struct sl_jw w;
	int n;

	count_error(c->pos, code);
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

/* {"ok":true[,"id":...]}, not yet queued; NULL: no memory. */
static struct reply *ok_reply(const char *id)
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
	return n < 0 ? NULL : reply_new(0, buf, (size_t)n);
}

static int queue_ok(struct conn *c)
{
	struct reply *r = ok_reply(NULL);

	if (!r)
		return -ENOMEM;
	reply_push(c, r);
	return 0;
}

/* A reply could not be queued: answering the next lines would put every
 * later reply on the wrong request. Take no more input; the replies
 * before it still go out, then the connection is closed (the POS resends
 * what got no reply). */
static void conn_fail(struct conn *c)
{
	sl_debug("pos: no memory for a reply: closing the connection");
	c->closing = true;
}

/* Replies waiting (queued or in the output buffer) reached the documented
 * bound: parse no more lines until they drain. */
static bool conn_full(const struct conn *c)
{
	return c->queued >= QUEUE_HIGH ||
	       c->queued_bytes + (c->out_len - c->out_off) >= OUT_HIGH;
}

/* Nothing more will be read: close once the replies are written. */
static bool conn_done(const struct conn *c)
{
	return c->closing || (c->eof && !c->in_len && !c->discarding);
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
		if (rc < 0) {
			/* dropping it would shift the next replies: close */
			sl_debug("pos: no memory for the output: closing the connection");
			conn_close(c);
			return;
		}
		c->head = r->next;
		if (!c->head)
			c->tail = NULL;
		c->queued--;
		c->queued_bytes -= r->len;
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
	if (conn_done(c) && !c->head && c->out_len == 0) {
		conn_close(c);
		return;
	}
	conn_update_events(c);
}

/* ---- TCP auth: per-address failures ------------------------------------- */

static void peer_addr_of(const struct sockaddr_storage *ss, struct peer_addr *pa)
{
	pa->len = 0;
	if (ss->ss_family == AF_INET) {
		memcpy(pa->b, &((const struct sockaddr_in *)ss)->sin_addr, 4);
		pa->len = 4;
	} else if (ss->ss_family == AF_INET6) {
		const struct in6_addr *a = &((const struct sockaddr_in6 *)ss)->sin6_addr;

		if (IN6_IS_ADDR_V4MAPPED(a)) {
			memcpy(pa->b, a->s6_addr + 12, 4);
			pa->len = 4;
		} else {
			memcpy(pa->b, a->s6_addr, 16);
			pa->len = 16;
		}
	}
}

/* pa's slot; with create, a free or the least recently failing one. */
static struct peer *peer_find(struct sl_pos *pos, const struct peer_addr *pa, bool create)
{
	struct peer *spare = NULL;

	if (!pa->len)
		return NULL;
	for (int i = 0; i < PEER_SLOTS; i++) {
		struct peer *p = &pos->peers[i];

		if (p->addr.len == pa->len && memcmp(p->addr.b, pa->b, pa->len) == 0)
			return p;
		if (!spare || (spare->addr.len && (!p->addr.len || p->last_ms < spare->last_ms)))
			spare = p;
	}
	if (!create)
		return NULL;
	memset(spare, 0, sizeof(*spare));
	spare->addr = *pa;
	return spare;
}

static bool peer_blocked(struct sl_pos *pos, const struct peer_addr *pa)
{
	const struct peer *p = peer_find(pos, pa, false);

	return p && sl_mono_ms() < p->blocked_until;
}

/* After auth_max_failures, each failure refuses the address for twice as
 * long as the one before (1 s, 2 s, ... 256 s): a token cannot be guessed
 * faster than that, and a POS elsewhere is not affected. */
static void peer_failed(struct sl_pos *pos, const struct peer_addr *pa)
{
	struct peer *p = peer_find(pos, pa, true);
	uint64_t now = sl_mono_ms();

	if (!p)
		return;
	if (now - p->last_ms > PEER_FORGET_MS)
		p->failures = 0;
	p->failures++;
	p->last_ms = now;
	if (p->failures > pos->auth_max_failures) {
		uint32_t shift = p->failures - pos->auth_max_failures - 1;

		if (shift > BLOCK_MAX_SHIFT)
			shift = BLOCK_MAX_SHIFT;
		p->blocked_until = now + (1000ull << shift);
	}
}

static void peer_forgive(struct sl_pos *pos, const struct peer_addr *pa)
{
	struct peer *p = peer_find(pos, pa, false);

	if (p)
		memset(p, 0, sizeof(*p));
}

/* A security event the operator must see, so a warning (not debug), at
 * most one line per AUTH_LOG_MS; never the token that was sent. */
static void auth_log(struct sl_pos *pos, const struct peer_addr *pa, const char *why)
{
	uint64_t now = sl_mono_ms();
	char addr[INET6_ADDRSTRLEN] = "?";

	if (now < pos->auth_log_next) {
		pos->auth_log_quiet++;
		return;
	}
	if (pa->len)
		inet_ntop(pa->len == 4 ? AF_INET : AF_INET6, pa->b, addr, sizeof(addr));
	sl_warn("pos: TCP client %s not authenticated: %s (since start: %llu failed, %llu refused "
		"for repeated failures; %llu not logged since the last line)", addr, why,
		(unsigned long long)pos->st.auth_failed, (unsigned long long)pos->st.auth_blocked,
		(unsigned long long)pos->auth_log_quiet);
	pos->auth_log_next = now + AUTH_LOG_MS;
	pos->auth_log_quiet = 0;
}

/* ---- requests --------------------------------------------------------- */

/* The first line of a TCP connection: only the auth request is parsed. */
static void handle_auth(struct conn *c, char *line, size_t len)
{
	struct sl_pos *pos = c->pos;
	const char *tok = NULL;
	size_t tok_len = 0;

	if (sl_pos_auth_request(line, len, &tok, &tok_len) < 0 || tok_len != pos->token_len ||
	    mbedtls_ct_memcmp(tok, pos->token, pos->token_len) != 0) {
		pos->st.auth_failed++;
		peer_failed(pos, &c->peer);
		auth_log(pos, &c->peer, tok ? "wrong token" : "first line not an auth request");
		/* no memory for the reply: closed without it */
		(void)queue_error(c, "unauthorized",
				  "send {\"type\":\"auth\",\"token\":...} with the right token first");
		c->closing = true;
		return;
	}
	peer_forgive(pos, &c->peer);
	if (pos->n_est >= pos->max_conns) {
		pos->st.rejected++;
		(void)queue_error(c, "too_many_connections", "connection limit reached; retry later");
		c->closing = true;
		return;
	}
	c->authed = true;
	pos->n_unauth--;
	pos->n_est++;
	if (queue_ok(c) < 0)
		conn_fail(c);
}

static void handle_line(struct conn *c, char *line, size_t len)
{
	struct sl_pos *pos = c->pos;
	struct sl_pos_result *res = &pos->res;
	struct reply *r;
	char dup_id[SL_UUID_LEN];
	int64_t seq;
	int rc = 0;

	if (len && line[len - 1] == '\r')	/* tolerate CRLF */
		len--;
	if (!len)		/* an empty CRLF line: ignored, like an empty line */
		return;
	if (c->tcp && !c->authed) {
		handle_auth(c, line, len);
		return;
	}
	pos->st.requests++;
	sl_pos_request(&pos->ctx, line, len, sl_now_us(), sl_clock_synced(), res);

	switch (res->outcome) {
	case SL_POS_OUT_AUTH:
		rc = queue_ok(c);
		break;
	case SL_POS_OUT_ERROR:
		rc = queue_error(c, res->error, res->message);
		break;
	case SL_POS_OUT_EVENT:
		if (res->has_key && pos->sink.find &&
		    pos->sink.find(pos->sink.ctx, res->key, dup_id, &seq) > 0) {
			/* a resend: the first one's reply, once that is committed */
			r = ok_reply(dup_id);
			if (!r) {
				rc = -ENOMEM;
				break;
			}
			pos->st.duplicates++;
			r->seq = seq;
			reply_push(c, r);
			break;
		}
		/* the reply first: once submitted the event is stored, and
		 * without its reply the POS would resend it */
		r = ok_reply(res->id);
		if (!r) {
			rc = -ENOMEM;
			break;
		}
		if (res->has_key && pos->sink.submit_key)
			seq = pos->sink.submit_key(pos->sink.ctx, res->cls, res->id, res->type,
						   res->payload, res->len, res->key);
		else
			seq = pos->sink.submit(pos->sink.ctx, res->cls, res->id, res->type,
					       res->payload, res->len);
		if (seq < 0) {
			free(r);
			if (seq == -ENOSPC)
				rc = queue_error(c, "spool_full", "the spool is full; retry later "
						 "(the uplink is down too long)");
			else
				rc = queue_error(c, "spool_error",
						 "the event could not be stored; retry");
		} else {
			pos->st.events[res->cls]++;
			r->seq = seq;
			if (seq <= pos->failed_upto) {
				/* the sink committed inside submit, and that failed:
				 * sl_pos_commit_failed() could not see this reply yet */
				r->seq = 0;
				r->failed = pos->failed_text;
				count_error(pos, failed_code(pos->failed_text));
			}
			reply_push(c, r);
		}
		break;
	}
	if (rc < 0)
		conn_fail(c);
	mbedtls_platform_zeroize(res, sizeof(*res));
}

/* One line (without its newline): a request, the end of a too long one, or empty. */
static void conn_line(struct conn *c, char *line, size_t len)
{
	if (c->discarding) {
		c->discarding = false;
		if (queue_error(c, "too_long", "request line longer than 16384 bytes") < 0)
			conn_fail(c);
	} else if (len) {
		handle_line(c, line, len);
	}
}

/* Handles the complete lines of the input (and at EOF a last line without
 * its newline) while the replies are under the bound; keeps the rest. */
static void conn_parse(struct conn *c)
{
	size_t start = 0, scan = c->scanned;
	bool held = false;	/* stopped before a complete line: backpressure */

	while (!c->closing) {
		char *nl = memchr(c->in + scan, '\n', c->in_len - scan);
		size_t end, next;

		if (nl) {
			end = (size_t)(nl - c->in);
			next = end + 1;
		} else if (c->eof && (start < c->in_len || c->discarding)) {
			end = next = c->in_len;
			if (end - start > SL_POS_MAX_LINE)
				c->discarding = true;
		} else {
			scan = c->in_len;
			break;
		}
		if (conn_full(c)) {
			c->paused = true;
			held = true;
			scan = start;
			break;
		}
		c->last_ms = sl_mono_ms();
		conn_line(c, c->in + start, end - start);
		mbedtls_platform_zeroize(c->in + start, next - start);
		start = scan = next;
	}
	if (c->closing) {
		mbedtls_platform_zeroize(c->in, c->in_len);
		c->in_len = c->scanned = 0;
		return;
	}
	if (start) {
		memmove(c->in, c->in + start, c->in_len - start);
		mbedtls_platform_zeroize(c->in + c->in_len - start, start);
		c->in_len -= start;
		scan -= start;
	}
	c->scanned = scan;
	if (!held && (c->in_len > SL_POS_MAX_LINE || (c->discarding && c->in_len))) {
		/* no newline within the limit: drop what we have, skip to the next one */
		mbedtls_platform_zeroize(c->in, c->in_len);
		c->in_len = c->scanned = 0;
		c->discarding = true;
	}
}

static void conn_cb(struct sl_io *io, uint32_t revents)
{
	struct conn *c = io->ctx;
	size_t budget = READ_BUDGET;
	bool gone = false;

	if (revents & EPOLLOUT) {
		conn_flush(c);
		return;		/* c may be gone; input is handled next round */
	}
	if (revents & (EPOLLIN | EPOLLHUP | EPOLLERR)) {
		c->pos->parsing = c;
		if (c->resume) {	/* lines held by backpressure come first */
			c->resume = false;
			conn_parse(c);
		}
		while (budget && !c->closing && !c->paused && !c->eof && c->in_len < IN_CAP) {
			ssize_t n = recv(io->fd, c->in + c->in_len, IN_CAP - c->in_len, MSG_DONTWAIT);

			if (n < 0) {
				if (errno != EAGAIN && errno != EINTR)
					gone = true;
				break;
			}
			if (n == 0)	/* maybe only half-closed: answer what came */
				c->eof = true;
			c->in_len += (size_t)n;
			budget = (size_t)n >= budget ? 0 : budget - (size_t)n;
			conn_parse(c);
		}
		c->pos->parsing = NULL;
	}
	if (gone || (revents & (EPOLLHUP | EPOLLERR))) {
		/* reset, or shut down both ways: replies cannot be delivered;
		 * events already queued are committed anyway */
		conn_close(c);
		return;
	}
	conn_flush(c);
}

static void conn_update_events(struct conn *c)
{
	uint32_t ev = 0;

	if (c->paused && c->queued < QUEUE_HIGH / 2 &&
	    c->queued_bytes + (c->out_len - c->out_off) < OUT_HIGH / 2) {
		c->paused = false;
		if (c->in_len || c->eof) {	/* no new input may ever wake it */
			c->resume = true;
			sl_timer_arm(c->pos->loop, &c->pos->resume_timer, 0);
		}
	}
	if (!c->paused && !c->closing && !c->eof)
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
	if (c->tcp && !c->authed)
		pos->n_unauth--;
	else
		pos->n_est--;
	mbedtls_platform_zeroize(c->in, sizeof(c->in));
	free(c->out);
	free(c);
}

/* ---- idle and auth deadlines ------------------------------------------- */

/* When c is closed if nothing happens (mono ms), 0: never. A TCP stranger
 * has auth_timeout_s from its accept whatever it sends; otherwise idleness
 * counts from the last complete line, not while replies are pending. */
static uint64_t conn_deadline(const struct sl_pos *pos, const struct conn *c)
{
	if (c->tcp && !c->authed)
		return c->accept_ms + pos->auth_ms;
	if (c->head)
		return 0;
	return c->last_ms + pos->idle_ms;
}

static void idle_arm(struct sl_pos *pos)
{
	uint64_t first = 0;

	for (struct conn *c = pos->conns; c; c = c->next) {
		uint64_t d = conn_deadline(pos, c);

		if (d && (!first || d < first))
			first = d;
	}
	if (first)
		sl_timer_arm_at(pos->loop, &pos->idle_timer, first);
	else
		sl_timer_cancel(pos->loop, &pos->idle_timer);
}

static void idle_cb(struct sl_timer *t)
{
	static const char auth_late[] =
		"{\"ok\":false,\"error\":\"unauthorized\","
		"\"message\":\"no auth request within auth_timeout_s\"}\n";
	struct sl_pos *pos = t->ctx;
	uint64_t now = sl_mono_ms();
	struct conn *c = pos->conns, *next;

	for (; c; c = next) {
		uint64_t d = conn_deadline(pos, c);

		next = c->next;
		if (!d || d > now)
			continue;
		if (c->tcp && !c->authed) {
			pos->st.auth_dropped++;
			if (!c->head && c->out_off == c->out_len)	/* best effort */
				(void)!send(c->io.fd, auth_late, sizeof(auth_late) - 1,
					    MSG_NOSIGNAL | MSG_DONTWAIT);
			sl_debug("pos: closing a TCP connection without auth after %llu s",
				 (unsigned long long)(pos->auth_ms / 1000));
		} else {
			sl_debug("pos: closing a connection idle for %llu s",
				 (unsigned long long)(pos->idle_ms / 1000));
		}
		conn_close(c);
	}
	idle_arm(pos);
}

/* Parses the input of connections unpaused with lines left (see conn_update_events). */
static void resume_cb(struct sl_timer *t)
{
	struct sl_pos *pos = t->ctx;

again:
	for (struct conn *c = pos->conns; c; c = c->next) {
		if (!c->resume)
			continue;
		c->resume = false;
		pos->parsing = c;
		conn_parse(c);
		pos->parsing = NULL;
		/* may close c, and a commit made while parsing may have closed
		 * others: start over (each pass clears one flag) */
		conn_flush(c);
		goto again;
	}
}

/* ---- listeners -------------------------------------------------------- */

static void refuse(int fd, const char *msg, size_t len)
{
	(void)!send(fd, msg, len, MSG_NOSIGNAL | MSG_DONTWAIT);
	close(fd);
}

/* The TCP connection waiting longest for its auth line makes room. */
static void evict_unauth(struct sl_pos *pos)
{
	struct conn *oldest = NULL;

	for (struct conn *c = pos->conns; c; c = c->next)	/* newest first */
		if (c->tcp && !c->authed)
			oldest = c;
	if (oldest) {
		pos->st.auth_dropped++;
		conn_close(oldest);
	}
}

static void accept_cb(struct sl_io *io, uint32_t revents)
{
	static const char too_many[] =
		"{\"ok\":false,\"error\":\"too_many_connections\","
		"\"message\":\"connection limit reached; retry later\"}\n";
	static const char blocked[] =
		"{\"ok\":false,\"error\":\"unauthorized\","
		"\"message\":\"too many failed auth attempts from this address; retry later\"}\n";
	struct listener *l = io->ctx;
	struct sl_pos *pos = l->pos;

	(void)revents;
	for (int i = 0; i < 16; i++) {
		struct sockaddr_storage ss;
		socklen_t sl = sizeof(ss);
		int fd = accept4(io->fd, (struct sockaddr *)&ss, &sl, SOCK_NONBLOCK | SOCK_CLOEXEC);
		struct peer_addr pa = { 0 };
		struct conn *c;

		if (fd < 0) {
			if (errno != EAGAIN && errno != EINTR)
				sl_debug("pos: accept: %s", strerror(errno));
			return;
		}
		if (l->tcp)
			peer_addr_of(&ss, &pa);
		if (pos->n_est >= pos->max_conns) {
			refuse(fd, too_many, sizeof(too_many) - 1);
			pos->st.rejected++;
			continue;
		}
		if (l->tcp && peer_blocked(pos, &pa)) {
			refuse(fd, blocked, sizeof(blocked) - 1);
			pos->st.auth_blocked++;
			auth_log(pos, &pa, "refused: too many failed auth attempts");
			continue;
		}
		if (l->tcp && pos->n_unauth >= pos->max_unauth)
			evict_unauth(pos);
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
		c->peer = pa;
		c->accept_ms = c->last_ms = sl_mono_ms();
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
		if (c->tcp)
			pos->n_unauth++;
		else
			pos->n_est++;
		if (c->tcp || !pos->idle_timer.armed)
			idle_arm(pos);
	}
}

static int listen_unix(struct sl_pos *pos, struct listener *l, const char *path,
		       const char *group, char *err, size_t errlen)
{
	char msg[256];
	int fd, rc;

	/* a stale socket from a previous run is replaced, a live one or
	 * anything else is never removed (unixsock.h) */
	fd = sl_unixsock_listen(&l->sock, path, 128, msg, sizeof(msg));
	if (fd < 0) {
		snprintf(err, errlen, "unix:%s", msg);
		return fd;
	}
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
	snprintf(l->addr, sizeof(l->addr), "unix:%s", path);
	return fd;

err_unlink:
	sl_unixsock_release(&l->sock);
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
	pos->max_unauth = cfg->max_unauthenticated > 0 ? cfg->max_unauthenticated : MAX_UNAUTH_DEF;
	pos->auth_max_failures = cfg->auth_max_failures > 0 ? (uint32_t)cfg->auth_max_failures :
			       AUTH_FAILURES_DEF;
	pos->idle_ms = (uint64_t)cfg->idle_timeout_s * 1000;
	pos->auth_ms = (uint64_t)(cfg->auth_timeout_s > 0 ? cfg->auth_timeout_s :
				  AUTH_TIMEOUT_DEF_S) * 1000;
	pos->mode = (mode_t)cfg->socket_mode;
	pos->idle_timer.cb = idle_cb;
	pos->idle_timer.ctx = pos;
	pos->resume_timer.cb = resume_cb;
	pos->resume_timer.ctx = pos;
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
		sl_unixsock_release(&l->sock);
	}
	sl_timer_cancel(pos->loop, &pos->idle_timer);
	sl_timer_cancel(pos->loop, &pos->resume_timer);
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
	const char *text = err == -ENOSPC ? spool_full_text
			   : err == -SL_SPOOL_EUNKNOWN ? spool_unknown_text : spool_error_text;

	if (upto_seq > pos->failed_upto) {
		pos->failed_upto = upto_seq;
		pos->failed_text = text;
	}
	for (struct conn *c = pos->conns; c; c = c->next)
		for (struct reply *r = c->head; r; r = r->next)
			if (r->seq > 0 && r->seq <= upto_seq) {
				r->seq = 0;
				r->failed = text;
				count_error(pos, failed_code(text));
			}
	sl_pos_committed(pos, 0);
}

void sl_pos_stats(const struct sl_pos *pos, struct sl_pos_stats *out)
{
	*out = pos->st;
	out->unauthenticated = (uint64_t)pos->n_unauth;
	out->replies_queued = out->reply_bytes_queued = 0;
	for (const struct conn *c = pos->conns; c; c = c->next) {
		out->replies_queued += c->queued;
		out->reply_bytes_queued += c->queued_bytes + (c->out_len - c->out_off);
	}
}

const char *sl_pos_listen_addr(const struct sl_pos *pos, int i)
{
	return i >= 0 && i < pos->nlst ? pos->lst[i].addr : NULL;
}

int sl_pos_check_token_file(const char *path, char *err, size_t errlen)
{
	struct sl_pos *pos = calloc(1, sizeof(*pos));
	int rc;

	if (!pos)
		return -ENOMEM;
	rc = read_token(pos, path, err, errlen);
	mbedtls_platform_zeroize(pos->token, sizeof(pos->token));
	free(pos);
	return rc;
}
