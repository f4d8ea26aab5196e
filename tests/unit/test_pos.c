/* SPDX-License-Identifier: MIT */
/*
 * The POS listener over real sockets, with a real spool file: replies
 * only after commit and in request order, too_long keeps the connection,
 * TCP auth, the connection limit, a stalled client that does not hold up
 * the others, the socket's mode; the auth-only parser, a half-closed
 * client, the back-pressure bound at every step, a commit failing inside
 * submit. The loop is driven from the test, so no
 * threads and no sleeps: each wait is "run the loop until X" with a
 * generous deadline.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "clock.h"
#include "loop.h"
#include "pos.h"
#include "privacy.h"
#include "spool.h"

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#define DEADLINE_MS 20000
#define PURCHASE "{\"type\":\"purchase\",\"lane\":\"3\",\"txn_id\":\"T-1\"," \
	"\"pan\":\"4111111111111111\",\"amount\":\"12.34\",\"currency\":\"EUR\"}\n"
#define TOKEN "0123456789abcdef-pos-token"

struct fixture {
	char dir[64];
	char sock[128];
	struct sl_loop *loop;
	struct sl_spool *spool;
	struct sl_keyring *kr;
	struct sl_pos *pos;
	int64_t last_seq;
	int commits;
	int tcp_port;
	bool commit_in_submit;	/* as the agent does at commit_max */
	bool fail_in_submit;	/* ... and that commit fails */
};

static struct fixture fx;

static int64_t submit(void *ctx, enum sl_event_class cls, const char *id, const char *type,
		      const char *payload, size_t len)
{
	(void)ctx;
	fx.last_seq = sl_spool_append(fx.spool, cls, id, type, payload, len);
	if (fx.fail_in_submit && fx.last_seq > 0) {
		sl_pos_commit_failed(fx.pos, fx.last_seq, -EIO);
		return fx.last_seq;
	}
	if (fx.commit_in_submit && fx.last_seq > 0) {
		int64_t durable = sl_spool_commit(fx.spool);

		assert_true(durable >= fx.last_seq);
		fx.commits++;
		sl_pos_committed(fx.pos, durable);
	}
	return fx.last_seq;
}

/* what agent.c does: commit once per loop round when something is pending */
static void post_round(void *ctx)
{
	int64_t durable;

	(void)ctx;
	if (!sl_spool_pending(fx.spool))
		return;
	durable = sl_spool_commit(fx.spool);
	assert_true(durable >= 0);
	fx.commits++;
	sl_pos_committed(fx.pos, durable);
}

static void open_pos(int max_conns)
{
	struct sl_pos_cfg pc = {
		.socket_mode = 0600,
		.max_connections = max_conns,
		.idle_timeout_s = 300,
	};
	struct sl_pos_ctx ctx = { .origin = { "acme", "0042", "gw-1" }, .zone = "store" };
	struct sl_pos_sink sink = { .submit = submit };
	char listen[256], tokfile[128], err[256];
	uint8_t master[32] = { 0 };
	struct sl_spool_cfg sc = { .sync = SL_SPOOL_SYNC_NORMAL };
	char dbpath[128];
	FILE *f;

	memset(&fx, 0, sizeof(fx));
	strcpy(fx.dir, "/tmp/sl-pos-XXXXXX");
	assert_non_null(mkdtemp(fx.dir));
	snprintf(fx.sock, sizeof(fx.sock), "%s/pos.sock", fx.dir);
	snprintf(tokfile, sizeof(tokfile), "%s/pos.token", fx.dir);
	f = fopen(tokfile, "w");
	assert_non_null(f);
	fputs(TOKEN "\n", f);
	fclose(f);
	chmod(tokfile, 0600);
	snprintf(dbpath, sizeof(dbpath), "%s/spool.db", fx.dir);
	sc.path = dbpath;
	assert_int_equal(sl_spool_open(&fx.spool, &sc, NULL), 0);
	assert_int_equal(sl_keyring_new(&fx.kr, "acme", master, "v1", NULL, NULL), 0);
	assert_int_equal(sl_loop_new(&fx.loop), 0);
	snprintf(listen, sizeof(listen), "unix:%s,tcp:127.0.0.1:0", fx.sock);
	pc.listen = listen;
	pc.auth_token_file = tokfile;
	ctx.kr = fx.kr;
	if (sl_pos_open(&fx.pos, fx.loop, &pc, &ctx, &sink, err, sizeof(err)) != 0)
		fail_msg("sl_pos_open: %s", err);
	sl_loop_set_post_hook(fx.loop, post_round, NULL);
	assert_non_null(sl_pos_listen_addr(fx.pos, 1));
	fx.tcp_port = atoi(strrchr(sl_pos_listen_addr(fx.pos, 1), ':') + 1);
	assert_true(fx.tcp_port > 0);
}

static void close_pos(void)
{
	char path[160];

	sl_pos_close(fx.pos);
	sl_loop_free(fx.loop);
	sl_spool_close(fx.spool);
	sl_keyring_free(fx.kr);
	const char *files[] = { "pos.token", "spool.db", "spool.db-wal", "spool.db-shm" };
	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		snprintf(path, sizeof(path), "%s/%s", fx.dir, files[i]);
		unlink(path);
	}
	rmdir(fx.dir);
}

static int connect_unix(void)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0);

	strcpy(sa.sun_path, fx.sock);
	assert_true(fd >= 0);
	assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	return fd;
}

static int connect_tcp(void)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t)fx.tcp_port) };
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);

	inet_pton(AF_INET, "127.0.0.1", &sa.sin_addr);
	assert_true(fd >= 0);
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
		assert_int_equal(errno, EINPROGRESS);
	return fd;
}

static void send_all(int fd, const char *s, size_t n)
{
	while (n) {
		ssize_t w = send(fd, s, n, MSG_NOSIGNAL);

		if (w < 0 && errno == EAGAIN) {
			sl_loop_run_once(fx.loop, 10);
			continue;
		}
		assert_true(w > 0);
		s += w;
		n -= (size_t)w;
	}
}

/* Runs the loop until fd yields a full line (into out) or EOF (returns false). */
static bool read_line(int fd, char *out, size_t cap)
{
	static char pending[65536];
	static size_t plen;
	static int pfd = -1;
	uint64_t end = sl_mono_ms() + DEADLINE_MS;

	if (pfd != fd) {
		pfd = fd;
		plen = 0;
	}
	for (;;) {
		char *nl = memchr(pending, '\n', plen);
		ssize_t n;

		if (nl) {
			size_t l = (size_t)(nl - pending);

			assert_true(l < cap);
			memcpy(out, pending, l);
			out[l] = '\0';
			memmove(pending, nl + 1, plen - l - 1);
			plen -= l + 1;
			return true;
		}
		n = recv(fd, pending + plen, sizeof(pending) - plen, 0);
		if (n == 0)
			return false;
		if (n > 0) {
			plen += (size_t)n;
			continue;
		}
		assert_int_equal(errno, EAGAIN);
		if (sl_mono_ms() > end)
			fail_msg("no reply within %d ms", DEADLINE_MS);
		sl_loop_run_once(fx.loop, 50);
	}
}

static void test_purchase_reply_after_commit(void **state)
{
	struct sl_spool_stats st;
	char line[512];
	int fd;

	(void)state;
	open_pos(8);
	fd = connect_unix();
	send_all(fd, PURCHASE, strlen(PURCHASE));
	assert_true(read_line(fd, line, sizeof(line)));
	assert_non_null(strstr(line, "{\"ok\":true,\"id\":\""));
	assert_null(strstr(line, "4111"));
	/* the reply came after a commit: the row is durable */
	assert_true(fx.commits >= 1);
	assert_int_equal(sl_spool_stats(fx.spool, &st), 0);
	assert_int_equal(st.depth, 1);
	close(fd);
	close_pos();
}

static void test_order_and_errors(void **state)
{
	const char *req = PURCHASE "{bad json\n"
		"{\"type\":\"loyalty_scan\",\"loyalty_id\":\"LC-1\"}\n"
		"{\"type\":\"purchase\",\"pan\":\"4111111111111112\"}\n"
		"\n"	/* empty lines are ignored */
		"{\"type\":\"nope\"}\r\n";
	char line[512];
	int fd;

	(void)state;
	open_pos(8);
	fd = connect_unix();
	send_all(fd, req, strlen(req));
	assert_true(read_line(fd, line, sizeof(line)));
	assert_non_null(strstr(line, "\"ok\":true"));
	assert_true(read_line(fd, line, sizeof(line)));
	assert_non_null(strstr(line, "\"error\":\"bad_json\""));
	assert_true(read_line(fd, line, sizeof(line)));
	assert_non_null(strstr(line, "\"ok\":true"));
	assert_true(read_line(fd, line, sizeof(line)));
	assert_string_equal(line, "{\"ok\":false,\"error\":\"invalid_pan\","
			    "\"message\":\"card number fails the Luhn check\"}");
	assert_true(read_line(fd, line, sizeof(line)));
	assert_non_null(strstr(line, "\"error\":\"unknown_type\""));
	close(fd);
	close_pos();
}

static void test_too_long_survives(void **state)
{
	size_t big = SL_POS_MAX_LINE * 3;
	char *req = malloc(big + 1), line[512];
	int fd;

	(void)state;
	open_pos(8);
	fd = connect_unix();
	memset(req, '7', big);	/* digits: a card-number-like flood */
	req[big] = '\n';
	send_all(fd, req, big + 1);
	send_all(fd, PURCHASE, strlen(PURCHASE));
	assert_true(read_line(fd, line, sizeof(line)));
	assert_string_equal(line, "{\"ok\":false,\"error\":\"too_long\","
			    "\"message\":\"request line longer than 16384 bytes\"}");
	assert_true(read_line(fd, line, sizeof(line)));
	assert_non_null(strstr(line, "\"ok\":true"));
	/* exactly at the limit is fine (a bad request, but not too long) */
	memset(req, ' ', SL_POS_MAX_LINE);
	req[SL_POS_MAX_LINE] = '\n';
	send_all(fd, req, SL_POS_MAX_LINE + 1);
	assert_true(read_line(fd, line, sizeof(line)));
	assert_non_null(strstr(line, "\"error\":\"bad_json\""));
	free(req);
	close(fd);
	close_pos();
}

static void test_tcp_auth(void **state)
{
	char line[512];
	int fd;

	(void)state;
	open_pos(8);
	/* no auth first: refused and closed */
	fd = connect_tcp();
	send_all(fd, PURCHASE, strlen(PURCHASE));
	assert_true(read_line(fd, line, sizeof(line)));
	assert_non_null(strstr(line, "\"error\":\"unauthorized\""));
	assert_false(read_line(fd, line, sizeof(line)));
	close(fd);
	assert_int_equal(fx.last_seq, 0);	/* nothing reached the spool */
	/* wrong token */
	fd = connect_tcp();
	send_all(fd, "{\"type\":\"auth\",\"token\":\"wrong-token-wrong-token\"}\n", 50);
	assert_true(read_line(fd, line, sizeof(line)));
	assert_non_null(strstr(line, "\"error\":\"unauthorized\""));
	assert_false(read_line(fd, line, sizeof(line)));
	close(fd);
	/* right token */
	fd = connect_tcp();
	send_all(fd, "{\"type\":\"auth\",\"token\":\"" TOKEN "\"}\n",
		 strlen("{\"type\":\"auth\",\"token\":\"" TOKEN "\"}\n"));
	send_all(fd, PURCHASE, strlen(PURCHASE));
	assert_true(read_line(fd, line, sizeof(line)));
	assert_string_equal(line, "{\"ok\":true}");
	assert_true(read_line(fd, line, sizeof(line)));
	assert_non_null(strstr(line, "\"ok\":true,\"id\""));
	close(fd);
	close_pos();
}

static void test_max_connections(void **state)
{
	struct sl_pos_stats st;
	char line[512];
	int a, b, c;

	(void)state;
	open_pos(2);
	a = connect_unix();
	b = connect_unix();
	send_all(a, PURCHASE, strlen(PURCHASE));
	assert_true(read_line(a, line, sizeof(line)));
	send_all(b, PURCHASE, strlen(PURCHASE));
	assert_true(read_line(b, line, sizeof(line)));
	c = connect_unix();
	assert_true(read_line(c, line, sizeof(line)));
	assert_non_null(strstr(line, "\"error\":\"too_many_connections\""));
	assert_false(read_line(c, line, sizeof(line)));
	sl_pos_stats(fx.pos, &st);
	assert_int_equal(st.rejected, 1);
	assert_int_equal(st.open, 2);
	close(a);
	close(b);
	close(c);
	close_pos();
}

/* A client that writes thousands of requests and never reads must not
 * stop another client from being served. */
static void test_stalled_client(void **state)
{
	char *flood, line[512];
	size_t n = 0, one = strlen(PURCHASE), count = 4000;
	int stalled, other, sndbuf = 4096;

	(void)state;
	open_pos(8);
	stalled = connect_unix();
	setsockopt(stalled, SOL_SOCKET, SO_RCVBUF, &sndbuf, sizeof(sndbuf));
	flood = malloc(one * count);
	for (size_t i = 0; i < count; i++, n += one)
		memcpy(flood + n, PURCHASE, one);
	/* write what the socket takes, without reading replies */
	for (size_t off = 0; off < n;) {
		ssize_t w = send(stalled, flood + off, n - off, MSG_NOSIGNAL | MSG_DONTWAIT);

		if (w <= 0)
			break;
		off += (size_t)w;
		sl_loop_run_once(fx.loop, 0);
	}
	for (int i = 0; i < 50; i++)
		sl_loop_run_once(fx.loop, 0);
	other = connect_unix();
	send_all(other, PURCHASE, strlen(PURCHASE));
	assert_true(read_line(other, line, sizeof(line)));
	assert_non_null(strstr(line, "\"ok\":true"));
	free(flood);
	close(stalled);
	close(other);
	close_pos();
}

/* The sink commits while the request is being handled (the agent does
 * this when commit_max is reached): the reply must still go out, not wait
 * for a later commit that may never come. */
static void test_commit_inside_submit(void **state)
{
	char line[512];
	int fd;

	(void)state;
	open_pos(8);
	fx.commit_in_submit = true;
	fd = connect_unix();
	send_all(fd, PURCHASE, strlen(PURCHASE));
	assert_true(read_line(fd, line, sizeof(line)));
	assert_non_null(strstr(line, "\"ok\":true"));
	close(fd);
	close_pos();
}

/* The commit made inside submit fails: this request's reply is
 * spool_error, not an ok sent after a later commit. */
static void test_commit_fails_inside_submit(void **state)
{
	char line[512];
	int fd;

	(void)state;
	open_pos(8);
	fx.fail_in_submit = true;
	fd = connect_unix();
	send_all(fd, PURCHASE, strlen(PURCHASE));
	assert_true(read_line(fd, line, sizeof(line)));
	assert_non_null(strstr(line, "\"error\":\"spool_error\""));
	close(fd);
	close_pos();
}

static void test_socket_mode(void **state)
{
	struct stat st;

	(void)state;
	open_pos(8);
	assert_int_equal(stat(fx.sock, &st), 0);
	assert_true(S_ISSOCK(st.st_mode));
	assert_int_equal(st.st_mode & 0777, 0600);
	close_pos();
	assert_int_equal(stat(fx.sock, &st), -1);	/* removed at close */
}

/* The only parse a TCP stranger's line gets (pos_request.h). */
static void test_auth_request_parser(void **state)
{
	static const struct { const char *line; int rc; const char *token; } v[] = {
		{ "{\"type\":\"auth\",\"token\":\"abc\"}", 0, "abc" },
		{ "{\"token\":\"x y\",\"type\":\"auth\",\"pan\":\"4111111111111111\"}", 0, "x y" },
		{ "{\"type\":\"auth\",\"token\":\"\"}", 0, "" },
		{ "{\"type\":\"auth\"}", -EINVAL, NULL },
		{ "{\"type\":\"auth\",\"token\":12345}", -EINVAL, NULL },
		{ "{\"type\":\"auth\",\"token\":null}", -EINVAL, NULL },
		{ "{\"type\":\"authx\",\"token\":\"abc\"}", -EINVAL, NULL },
		{ "{\"type\":\"auth\\u0000\",\"token\":\"abc\"}", -EINVAL, NULL },
		{ "{\"type\":\"purchase\",\"pan\":\"4111111111111111\"}", -EINVAL, NULL },
		{ "{\"type\":\"auth\",\"token\":", -EINVAL, NULL },
		{ "not json", -EINVAL, NULL },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		char buf[256];
		const char *tok = "untouched";
		size_t tok_len = 99;

		strcpy(buf, v[i].line);
		assert_int_equal(sl_pos_auth_request(buf, strlen(buf), &tok, &tok_len), v[i].rc);
		if (v[i].rc == 0) {
			assert_int_equal(tok_len, strlen(v[i].token));
			assert_memory_equal(tok, v[i].token, tok_len);
		} else {
			assert_string_equal(tok, "untouched");
			assert_int_equal(tok_len, 99);
		}
	}
}

/* shutdown(SHUT_WR) after the requests: every reply, then EOF. */
static void test_half_close(void **state)
{
	const char *req = PURCHASE "{bad json\n"
		"{\"type\":\"loyalty_scan\",\"loyalty_id\":\"LC-1\"}";	/* no newline */
	struct sl_pos_stats st;
	char line[512];
	int fd;

	(void)state;
	open_pos(8);
	fd = connect_unix();
	send_all(fd, req, strlen(req));
	assert_int_equal(shutdown(fd, SHUT_WR), 0);
	assert_true(read_line(fd, line, sizeof(line)));
	assert_non_null(strstr(line, "\"ok\":true,\"id\""));
	assert_true(read_line(fd, line, sizeof(line)));
	assert_non_null(strstr(line, "\"error\":\"bad_json\""));
	assert_true(read_line(fd, line, sizeof(line)));
	assert_non_null(strstr(line, "\"ok\":true,\"id\""));
	assert_false(read_line(fd, line, sizeof(line)));	/* then closed */
	sl_pos_stats(fx.pos, &st);
	assert_int_equal(st.open, 0);
	close(fd);
	close_pos();
}

/* A client that never reads: the replies held stay within 1024 / 64 KiB
 * at every step, and every line is answered once it reads. */
static void test_backpressure_bound(void **state)
{
	size_t one = strlen(PURCHASE), count = 20000, off = 0, got = 0;
	char *flood = malloc(one * count), line[512];
	struct sl_pos_stats st;
	int fd, sndbuf = 16384;

	(void)state;
	open_pos(8);
	fd = connect_unix();
	setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof(sndbuf));
	for (size_t i = 0; i < count; i++)
		memcpy(flood + i * one, PURCHASE, one);
	for (int round = 0; round < 2000 && off < one * count; round++) {
		ssize_t w = send(fd, flood + off, one * count - off, MSG_NOSIGNAL | MSG_DONTWAIT);

		if (w > 0)
			off += (size_t)w;
		sl_loop_run_once(fx.loop, 0);
		sl_pos_stats(fx.pos, &st);
		assert_true(st.replies_queued <= 1024);
		assert_true(st.reply_bytes_queued <= 64 * 1024 + 512);
	}
	assert_true(off < one * count);		/* the agent stopped reading */
	while (got < count) {
		if (off < one * count) {
			ssize_t w = send(fd, flood + off, one * count - off,
					 MSG_NOSIGNAL | MSG_DONTWAIT);

			if (w > 0)
				off += (size_t)w;
		}
		assert_true(read_line(fd, line, sizeof(line)));
		assert_non_null(strstr(line, "\"ok\":true,\"id\""));
		got++;
	}
	free(flood);
	close(fd);
	close_pos();
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_purchase_reply_after_commit),
		cmocka_unit_test(test_order_and_errors),
		cmocka_unit_test(test_too_long_survives),
		cmocka_unit_test(test_tcp_auth),
		cmocka_unit_test(test_max_connections),
		cmocka_unit_test(test_stalled_client),
		cmocka_unit_test(test_commit_inside_submit),
		cmocka_unit_test(test_socket_mode),
		cmocka_unit_test(test_commit_fails_inside_submit),
		cmocka_unit_test(test_auth_request_parser),
		cmocka_unit_test(test_half_close),
		cmocka_unit_test(test_backpressure_bound),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
