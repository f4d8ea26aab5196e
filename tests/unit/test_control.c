/* SPDX-License-Identifier: MIT */
/*
 * The control socket (agent/control.c) over a real Unix socket, the loop
 * driven from the test: status is answered; idle clients filling every
 * slot do not lock status out (the oldest is closed with "busy"); an idle
 * client is closed after its timeout; a line with a NUL, an unknown one and
 * a too long one each get an error object that never repeats the input; a
 * failed chmod leaves no socket file behind (chmod wrapped at link time:
 * -Wl,--wrap=chmod).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "clock.h"
#include "control.h"
#include "loop.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#define DEADLINE_MS 20000

int __real_chmod(const char *path, mode_t mode);
int __wrap_chmod(const char *path, mode_t mode);

static bool fail_chmod;

int __wrap_chmod(const char *path, mode_t mode)
{
	if (fail_chmod) {
		errno = EPERM;
		return -1;
	}
	return __real_chmod(path, mode);
}

static char dir[64], path[128];
static struct sl_loop *loop;
static struct sl_control *ctl;

static void status_cb(void *ctx, struct sl_jw *w)
{
	(void)ctx;
	sl_jw_obj_begin(w);
	sl_jw_kv_str(w, "status", "fine");
	sl_jw_obj_end(w);
}

static int setup(void **state)
{
	char err[512];

	(void)state;
	strcpy(dir, "/tmp/sl-control-XXXXXX");
	if (!mkdtemp(dir))
		return -1;
	snprintf(path, sizeof(path), "%s/control.sock", dir);
	if (sl_loop_new(&loop) < 0)
		return -1;
	if (sl_control_open(&ctl, loop, path, status_cb, NULL, err, sizeof(err)) < 0) {
		fprintf(stderr, "%s\n", err);
		return -1;
	}
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	sl_control_close(ctl);
	ctl = NULL;
	sl_loop_free(loop);
	loop = NULL;
	unlink(path);
	rmdir(dir);
	return 0;
}

static int client(void)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	assert_true(fd >= 0);
	strcpy(sa.sun_path, path);
	assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	return fd;
}

/* Runs the loop until fd has a whole line (or EOF); returns its length. */
static size_t reply(int fd, char *buf, size_t cap)
{
	uint64_t deadline = sl_mono_ms() + DEADLINE_MS;
	size_t len = 0;

	while (sl_mono_ms() < deadline) {
		ssize_t n = recv(fd, buf + len, cap - 1 - len, MSG_DONTWAIT);

		if (n > 0) {
			len += (size_t)n;
			buf[len] = '\0';
			if (memchr(buf, '\n', len))
				return len;
			continue;
		}
		if (n == 0)
			break;
		sl_loop_run_once(loop, 10);
	}
	buf[len] = '\0';
	return len;
}

static void send_all(int fd, const char *s, size_t n)
{
	assert_int_equal(send(fd, s, n, MSG_NOSIGNAL), (ssize_t)n);
}

static void test_status(void **state)
{
	char buf[512];
	int fd = client();

	(void)state;
	send_all(fd, "status\n", 7);
	reply(fd, buf, sizeof(buf));
	assert_string_equal(buf, "{\"status\":\"fine\"}\n");
	close(fd);
}

static void test_idle_clients_do_not_lock_out_status(void **state)
{
	int idle[16];
	char buf[512];
	int fd, busy = 0;

	(void)state;
	for (int i = 0; i < 16; i++) {
		idle[i] = client();
		/* let the agent accept each one in turn, so "oldest" is defined */
		for (int k = 0; k < 5; k++)
			sl_loop_run_once(loop, 0);
	}
	fd = client();
	send_all(fd, "status\n", 7);
	reply(fd, buf, sizeof(buf));
	assert_string_equal(buf, "{\"status\":\"fine\"}\n");
	close(fd);
	/* the first ones were closed with "busy" */
	for (int i = 0; i < 8; i++) {
		reply(idle[i], buf, sizeof(buf));
		if (strstr(buf, "\"code\":\"busy\""))
			busy++;
	}
	assert_int_equal(busy, 8);
	for (int i = 0; i < 16; i++)
		close(idle[i]);
}

static void test_idle_client_times_out(void **state)
{
	char buf[512];
	int fd = client();

	(void)state;
	send_all(fd, "sta", 3);	/* half a command, then nothing */
	reply(fd, buf, sizeof(buf));
	assert_non_null(strstr(buf, "\"code\":\"timeout\""));
	close(fd);
}

static void expect_error(const char *line, size_t n, const char *code)
{
	char buf[512], want[64];
	int fd = client();

	send_all(fd, line, n);
	reply(fd, buf, sizeof(buf));
	snprintf(want, sizeof(want), "\"code\":\"%s\"", code);
	assert_non_null(strstr(buf, want));
	assert_non_null(strstr(buf, "\"error\":"));
	assert_null(strstr(buf, "4111"));
	assert_null(strstr(buf, "junk"));
	close(fd);
}

static void test_malformed_lines_answered(void **state)
{
	char lng[100];

	(void)state;
	expect_error("status\0x\n", 9, "malformed_command");
	expect_error("status\0junk4111\n", 16, "malformed_command");
	expect_error("4111111111111111\n", 17, "unknown_command");
	expect_error("junk\r\n", 6, "unknown_command");
	expect_error("\n", 1, "unknown_command");
	memset(lng, '4', sizeof(lng));
	expect_error(lng, sizeof(lng), "command_too_long");
}

static void test_half_closed_line_answered(void **state)
{
	char buf[512];
	int fd = client();

	(void)state;
	send_all(fd, "status", 6);
	shutdown(fd, SHUT_WR);
	reply(fd, buf, sizeof(buf));
	assert_string_equal(buf, "{\"status\":\"fine\"}\n");
	close(fd);
}

static void test_chmod_failure_leaves_no_file(void **state)
{
	struct sl_control *c2 = NULL;
	char p2[160], err[512];
	struct stat st;
	int rc;

	(void)state;
	snprintf(p2, sizeof(p2), "%s/other.sock", dir);
	fail_chmod = true;
	rc = sl_control_open(&c2, loop, p2, status_cb, NULL, err, sizeof(err));
	fail_chmod = false;
	assert_int_equal(rc, -EPERM);
	assert_null(c2);
	assert_non_null(strstr(err, "chmod"));
	assert_int_equal(lstat(p2, &st), -1);
	assert_int_equal(errno, ENOENT);
}

static void test_second_open_refused(void **state)
{
	struct sl_control *c2 = NULL;
	char buf[512], err[512];
	int fd;

	(void)state;
	assert_int_equal(sl_control_open(&c2, loop, path, status_cb, NULL, err, sizeof(err)),
			 -EADDRINUSE);
	assert_null(c2);
	/* the first one still answers */
	fd = client();
	send_all(fd, "status\n", 7);
	reply(fd, buf, sizeof(buf));
	assert_string_equal(buf, "{\"status\":\"fine\"}\n");
	close(fd);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_status, setup, teardown),
		cmocka_unit_test_setup_teardown(test_idle_clients_do_not_lock_out_status, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_idle_client_times_out, setup, teardown),
		cmocka_unit_test_setup_teardown(test_malformed_lines_answered, setup, teardown),
		cmocka_unit_test_setup_teardown(test_half_closed_line_answered, setup, teardown),
		cmocka_unit_test_setup_teardown(test_chmod_failure_leaves_no_file, setup, teardown),
		cmocka_unit_test_setup_teardown(test_second_open_refused, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
