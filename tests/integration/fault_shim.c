/* SPDX-License-Identifier: MIT */
/*
 * LD_PRELOAD fault shim for storelinkd's start-up error paths
 * (test_start_failures.py). SL_SHIM selects the fault:
 *
 *   epoll_signalfd  epoll_ctl(EPOLL_CTL_ADD) of a signalfd fails with ENOMEM
 *   chmod_control   chmod() of a path ending in "/control.sock" fails with EPERM
 *
 * At exit it writes "sl-shim: open signalfds at exit: N" to stderr, so a
 * test sees whether an error path left the signalfd open.
 */
#include <dirent.h>
#include <dlfcn.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/stat.h>
#include <unistd.h>

static bool is_signalfd(int fd)
{
	char link[64], target[64];
	ssize_t n;

	snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
	n = readlink(link, target, sizeof(target) - 1);
	if (n < 0)
		return false;
	target[n] = '\0';
	return strcmp(target, "anon_inode:[signalfd]") == 0;
}

static bool fault(const char *name)
{
	const char *s = getenv("SL_SHIM");

	return s && strcmp(s, name) == 0;
}

int epoll_ctl(int epfd, int op, int fd, struct epoll_event *ev)
{
	int (*real)(int, int, int, struct epoll_event *) =
		(int (*)(int, int, int, struct epoll_event *))dlsym(RTLD_NEXT, "epoll_ctl");

	if (op == EPOLL_CTL_ADD && fault("epoll_signalfd") && is_signalfd(fd)) {
		errno = ENOMEM;
		return -1;
	}
	return real(epfd, op, fd, ev);
}

int chmod(const char *path, mode_t mode)
{
	int (*real)(const char *, mode_t) = (int (*)(const char *, mode_t))dlsym(RTLD_NEXT, "chmod");
	size_t n = strlen(path);

	if (fault("chmod_control") && n >= 13 && strcmp(path + n - 13, "/control.sock") == 0) {
		errno = EPERM;
		return -1;
	}
	return real(path, mode);
}

__attribute__((destructor)) static void report(void)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *e;
	int n = 0;

	if (!d)
		return;
	while ((e = readdir(d)))
		if (e->d_name[0] != '.' && is_signalfd(atoi(e->d_name)))
			n++;
	closedir(d);
	dprintf(2, "sl-shim: open signalfds at exit: %d\n", n);
}
