/* SPDX-License-Identifier: MIT */
/*
 * Allocation-failure injection for storelinkd_failalloc, a test-only build
 * of the daemon linked with -Wl,--wrap=malloc,calloc,realloc,strdup,accept4
 * (tests/integration/CMakeLists.txt): only the agent's own calls come here,
 * not those made inside SQLite, mbedTLS or libmosquitto.
 *
 * Counting starts at the first accepted connection (start-up is not what
 * test_pos_alloc.py walks). SL_FAILALLOC_NTH=N: the Nth counted allocation
 * fails (NULL, errno ENOMEM), only that one; unset or 0: none fails.
 * SL_FAILALLOC_REPORT=path: at exit, "<counted> <failed>\n" is written there.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

void *__real_malloc(size_t n);
void *__real_calloc(size_t n, size_t size);
void *__real_realloc(void *p, size_t n);
char *__real_strdup(const char *s);
int __real_accept4(int fd, struct sockaddr *sa, socklen_t *len, int flags);
void *__wrap_malloc(size_t n);
void *__wrap_calloc(size_t n, size_t size);
void *__wrap_realloc(void *p, size_t n);
char *__wrap_strdup(const char *s);
int __wrap_accept4(int fd, struct sockaddr *sa, socklen_t *len, int flags);

static unsigned long nth;	/* 0: never fail */
static unsigned long counted;
static unsigned long failed;
static bool armed;
static const char *report;

__attribute__((constructor)) static void failalloc_init(void)
{
	const char *s = getenv("SL_FAILALLOC_NTH");

	nth = s ? strtoul(s, NULL, 10) : 0;
	report = getenv("SL_FAILALLOC_REPORT");
}

__attribute__((destructor)) static void failalloc_report(void)
{
	char buf[64];
	int fd, n;

	if (!report)
		return;
	fd = open(report, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		return;
	n = snprintf(buf, sizeof(buf), "%lu %lu\n", counted, failed);
	if (n > 0)
		(void)!write(fd, buf, (size_t)n);
	close(fd);
}

static bool fail_now(void)
{
	if (!armed)
		return false;
	counted++;
	if (nth && counted == nth) {
		failed++;
		errno = ENOMEM;
		return true;
	}
	return false;
}

void *__wrap_malloc(size_t n)
{
	return fail_now() ? NULL : __real_malloc(n);
}

void *__wrap_calloc(size_t n, size_t size)
{
	return fail_now() ? NULL : __real_calloc(n, size);
}

void *__wrap_realloc(void *p, size_t n)
{
	return fail_now() ? NULL : __real_realloc(p, n);
}

char *__wrap_strdup(const char *s)
{
	return fail_now() ? NULL : __real_strdup(s);
}

int __wrap_accept4(int fd, struct sockaddr *sa, socklen_t *len, int flags)
{
	int rc = __real_accept4(fd, sa, len, flags);

	if (rc >= 0)
		armed = true;
	return rc;
}
