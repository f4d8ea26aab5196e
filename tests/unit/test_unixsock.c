/* SPDX-License-Identifier: MIT */
/*
 * sl_unixsock_listen()/sl_unixsock_release() (agent/unixsock.h): a stale
 * socket file is replaced, a socket someone answers on (even with a full
 * backlog) and a file that is not a socket are refused and left alone, and
 * release removes only the file this process bound; a new file is owner-only
 * until the caller's chmod, whatever the umask.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "unixsock.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

static char dir[64], path[128];
static char err[512];

static int setup(void **state)
{
	(void)state;
	strcpy(dir, "/tmp/sl-unixsock-XXXXXX");
	if (!mkdtemp(dir))
		return -1;
	snprintf(path, sizeof(path), "%s/s.sock", dir);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	unlink(path);
	rmdir(dir);
	return 0;
}

/* A socket bound to path by "another process"; listening unless backlog < 0. */
static int other_socket(int backlog)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	assert_true(fd >= 0);
	strcpy(sa.sun_path, path);
	assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	if (backlog >= 0)
		assert_int_equal(listen(fd, backlog), 0);
	return fd;
}

static int connect_to(int flags)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | flags, 0);

	assert_true(fd >= 0);
	strcpy(sa.sun_path, path);
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		int e = errno;

		close(fd);
		errno = e;
		return -1;
	}
	return fd;
}

static ino_t inode(void)
{
	struct stat st;

	assert_int_equal(lstat(path, &st), 0);
	return st.st_ino;
}

static void test_fresh_and_release(void **state)
{
	struct sl_unixsock us;
	struct stat st;
	int fd, c;

	mode_t mask;

	(void)state;
	mask = umask(0);	/* owner only even so, until the caller's chmod */
	fd = sl_unixsock_listen(&us, path, 4, err, sizeof(err));
	umask(mask);
	assert_true(fd >= 0);
	assert_int_equal(lstat(path, &st), 0);
	assert_true(S_ISSOCK(st.st_mode));
	assert_int_equal(st.st_mode & 07777, 0600);
	c = connect_to(0);
	assert_true(c >= 0);
	close(c);
	sl_unixsock_release(&us);
	assert_int_equal(lstat(path, &st), -1);
	assert_null(us.path);
	sl_unixsock_release(&us);	/* twice: no-op */
	close(fd);
}

static void test_stale_replaced(void **state)
{
	struct sl_unixsock us;
	int fd, c;

	(void)state;
	close(other_socket(4));	/* the file stays: a kill -9'd agent's */
	fd = sl_unixsock_listen(&us, path, 4, err, sizeof(err));
	assert_true(fd >= 0);
	c = connect_to(0);
	assert_true(c >= 0);
	close(c);
	sl_unixsock_release(&us);
	close(fd);
}

static void test_live_refused(void **state)
{
	struct sl_unixsock us;
	int other = other_socket(4), fd, c;
	ino_t before = inode();

	(void)state;
	fd = sl_unixsock_listen(&us, path, 4, err, sizeof(err));
	assert_int_equal(fd, -EADDRINUSE);
	assert_non_null(strstr(err, "another process answers on it"));
	assert_null(us.path);
	assert_true(inode() == before);
	/* the live socket still works: drain the probe, then a new client */
	c = accept(other, NULL, NULL);
	assert_true(c >= 0);
	close(c);
	c = connect_to(0);
	assert_true(c >= 0);
	close(c);
	close(other);
}

static void test_live_full_backlog_refused(void **state)
{
	struct sl_unixsock us;
	int other = other_socket(0), clients[64], n = 0, fd;
	ino_t before = inode();

	(void)state;
	/* fill the backlog: a non-blocking connect then fails with EAGAIN */
	while (n < 64) {
		int c = connect_to(SOCK_NONBLOCK);

		if (c < 0) {
			assert_int_equal(errno, EAGAIN);
			break;
		}
		clients[n++] = c;
	}
	assert_true(n < 64);
	fd = sl_unixsock_listen(&us, path, 4, err, sizeof(err));
	assert_int_equal(fd, -EADDRINUSE);
	assert_true(inode() == before);
	while (n)
		close(clients[--n]);
	close(other);
}

static void test_not_a_socket(void **state)
{
	struct sl_unixsock us;
	int f = open(path, O_WRONLY | O_CREAT | O_EXCL, 0600), fd;
	struct stat st;

	(void)state;
	assert_true(f >= 0);
	assert_int_equal(write(f, "keep", 4), 4);
	close(f);
	fd = sl_unixsock_listen(&us, path, 4, err, sizeof(err));
	assert_int_equal(fd, -EEXIST);
	assert_int_equal(lstat(path, &st), 0);
	assert_true(S_ISREG(st.st_mode));
	assert_int_equal(st.st_size, 4);
}

static void test_release_keeps_a_replacement(void **state)
{
	struct sl_unixsock us;
	int fd, other;
	struct stat st;

	(void)state;
	fd = sl_unixsock_listen(&us, path, 4, err, sizeof(err));
	assert_true(fd >= 0);
	/* someone else removed it and bound their own (the old bug's victim) */
	assert_int_equal(unlink(path), 0);
	other = other_socket(4);
	sl_unixsock_release(&us);
	assert_int_equal(lstat(path, &st), 0);
	close(other);
	close(fd);
}

static void test_path_too_long(void **state)
{
	struct sl_unixsock us;
	char lp[200];

	(void)state;
	memset(lp, 'a', sizeof(lp) - 1);
	lp[0] = '/';
	lp[sizeof(lp) - 1] = '\0';
	assert_int_equal(sl_unixsock_listen(&us, lp, 4, err, sizeof(err)), -ENAMETOOLONG);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_fresh_and_release, setup, teardown),
		cmocka_unit_test_setup_teardown(test_stale_replaced, setup, teardown),
		cmocka_unit_test_setup_teardown(test_live_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_live_full_backlog_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_not_a_socket, setup, teardown),
		cmocka_unit_test_setup_teardown(test_release_keeps_a_replacement, setup, teardown),
		cmocka_unit_test_setup_teardown(test_path_too_long, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
