/* SPDX-License-Identifier: MIT */
/*
 * sd_notify(3) and the WatchdogSec= keep-alive: the period read from
 * WATCHDOG_USEC/WATCHDOG_PID as sd_watchdog_enabled(3) reads them, and
 * WATCHDOG=1 datagrams arriving on a fake $NOTIFY_SOCKET while the loop runs.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "loop.h"
#include "sdnotify.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

static const struct {
	const char *usec, *pid;		/* NULL = unset; "SELF" = getpid() */
	int rc;
	uint64_t ms;
} periods[] = {
	/* sd_watchdog_enabled(3): unset means no watchdog */
	{ NULL, NULL, 0, 0 },
	{ "", NULL, 0, 0 },
	/* WatchdogSec=30s: systemd sets WATCHDOG_USEC=30000000; ping at half */
	{ "30000000", NULL, 1, 15000 },
	{ "30000000", "SELF", 1, 15000 },
	/* WATCHDOG_PID names another process of the unit: not for us */
	{ "30000000", "1", 0, 0 },
	/* below 2 ms the half rounds to 0: at least 1 ms */
	{ "1000", NULL, 1, 1 },
	{ "0", NULL, -EINVAL, 0 },
	{ "-5", NULL, -EINVAL, 0 },
	{ "30s", NULL, -EINVAL, 0 },
	{ " 30", NULL, -EINVAL, 0 },
	{ "99999999999999999999999", NULL, -EINVAL, 0 },
	{ "30000000", "me", -EINVAL, 0 },
};

static void set_env(const char *name, const char *v)
{
	char pid[32];

	if (!v) {
		unsetenv(name);
		return;
	}
	if (strcmp(v, "SELF") == 0) {
		snprintf(pid, sizeof(pid), "%ld", (long)getpid());
		v = pid;
	}
	setenv(name, v, 1);
}

static void test_period(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(periods) / sizeof(periods[0]); i++) {
		uint64_t ms = 777;

		set_env("WATCHDOG_USEC", periods[i].usec);
		set_env("WATCHDOG_PID", periods[i].pid);
		int rc = sl_sd_watchdog_period_ms(&ms);
		if (rc != periods[i].rc)
			fail_msg("row %zu (%s): rc %d, want %d", i, periods[i].usec ? periods[i].usec : "unset",
				 rc, periods[i].rc);
		assert_int_equal(ms, rc == 1 ? periods[i].ms : 777);	/* untouched unless 1 */
	}
	unsetenv("WATCHDOG_USEC");
	unsetenv("WATCHDOG_PID");
}

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* a fake systemd: a datagram socket; name "@..." is abstract */
static int fake_systemd(const char *name)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	size_t len = strlen(name);
	int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);

	assert_true(fd >= 0);
	assert_true(len < sizeof(sa.sun_path));
	memcpy(sa.sun_path, name, len);
	if (name[0] == '@')
		sa.sun_path[0] = '\0';
	unlink(name);
	assert_int_equal(bind(fd, (struct sockaddr *)&sa,
			      (socklen_t)(offsetof(struct sockaddr_un, sun_path) + len)), 0);
	setenv("NOTIFY_SOCKET", name, 1);
	return fd;
}

/* runs the loop until n WATCHDOG=1 datagrams arrived (generous deadline) */
static void expect_keepalives(struct sl_loop *loop, int fd, int n)
{
	uint64_t deadline = now_ms() + 60000;
	char buf[64];
	int got = 0;

	while (got < n) {
		ssize_t r;

		if (now_ms() > deadline)
			fail_msg("only %d of %d WATCHDOG=1 in 60 s", got, n);
		assert_true(sl_loop_run_once(loop, 50) >= 0);
		while ((r = recv(fd, buf, sizeof(buf) - 1, 0)) > 0) {
			buf[r] = '\0';
			assert_string_equal(buf, "WATCHDOG=1");
			got++;
		}
	}
}

static void keepalive(const char *name)
{
	struct sl_sd_watchdog wd = { 0 };
	struct sl_loop *loop;
	char buf[64];
	int fd = fake_systemd(name);

	setenv("WATCHDOG_USEC", "20000", 1);	/* 20 ms: a ping every 10 ms */
	unsetenv("WATCHDOG_PID");
	assert_int_equal(sl_loop_new(&loop), 0);
	assert_int_equal(sl_sd_watchdog_start(&wd, loop), 1);
	assert_int_equal(wd.period_ms, 10);
	expect_keepalives(loop, fd, 3);
	assert_true(wd.sent >= 3);

	/* stopped: the timer is gone, nothing more is sent */
	sl_sd_watchdog_stop(&wd);
	while (recv(fd, buf, sizeof(buf), 0) > 0)
		;
	for (int i = 0; i < 3; i++)
		assert_true(sl_loop_run_once(loop, 30) >= 0);
	assert_true(recv(fd, buf, sizeof(buf), 0) < 0);
	sl_sd_watchdog_stop(&wd);	/* twice is fine */

	sl_loop_free(loop);
	close(fd);
	if (name[0] != '@')
		unlink(name);
	unsetenv("NOTIFY_SOCKET");
	unsetenv("WATCHDOG_USEC");
}

static void test_keepalive_path(void **state)
{
	char name[64];

	(void)state;
	snprintf(name, sizeof(name), "/tmp/sl-notify-%ld.sock", (long)getpid());
	keepalive(name);
}

static void test_keepalive_abstract(void **state)
{
	char name[64];

	(void)state;
	snprintf(name, sizeof(name), "@sl-notify-%ld", (long)getpid());
	keepalive(name);
}

static void test_not_asked(void **state)
{
	struct sl_sd_watchdog wd = { 0 };
	struct sl_loop *loop;

	(void)state;
	unsetenv("WATCHDOG_USEC");
	assert_int_equal(sl_loop_new(&loop), 0);
	assert_int_equal(sl_sd_watchdog_start(&wd, loop), 0);
	assert_null(wd.loop);
	sl_sd_watchdog_stop(&wd);	/* never started: fine */
	setenv("WATCHDOG_USEC", "soon", 1);
	assert_int_equal(sl_sd_watchdog_start(&wd, loop), -EINVAL);
	assert_null(wd.loop);
	unsetenv("WATCHDOG_USEC");
	sl_loop_free(loop);
}

static void test_notify_no_socket(void **state)
{
	(void)state;
	unsetenv("NOTIFY_SOCKET");
	assert_int_equal(sl_sd_notify("READY=1"), 0);
	setenv("NOTIFY_SOCKET", "relative/path", 1);
	assert_int_equal(sl_sd_notify("READY=1"), -EINVAL);
	unsetenv("NOTIFY_SOCKET");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_period),
		cmocka_unit_test(test_keepalive_path),
		cmocka_unit_test(test_keepalive_abstract),
		cmocka_unit_test(test_not_asked),
		cmocka_unit_test(test_notify_no_socket),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
