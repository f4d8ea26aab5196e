/* SPDX-License-Identifier: MIT */
/*
 * LD_PRELOAD shim for the clock tests: shifts CLOCK_REALTIME (and
 * gettimeofday(), time()) by an offset read from the file named by
 * $SL_CLOCKSHIFT_FILE, re-read at every call so a test can step the wall
 * clock forward or back while the agent runs. CLOCK_MONOTONIC,
 * CLOCK_BOOTTIME and timerfd are left alone (libfaketime shifts timerfd
 * deadlines too, which breaks the agent's loop).
 *
 * File: "<offset seconds, may be negative or fractional> [synced|unsynced]".
 * The optional word overrides what adjtimex(2) reports (STA_UNSYNC and
 * TIME_ERROR), so a test decides whether the kernel "vouches" for a step.
 * A missing or unreadable file means no shift and no override.
 */
#include <dlfcn.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <sys/timex.h>
#include <time.h>
#include <unistd.h>

struct shift {
	long long ns;
	int sync;		/* -1 no override, 0 unsynced, 1 synced */
};

static struct shift shift_read(void)
{
	struct shift s = { 0, -1 };
	const char *path = getenv("SL_CLOCKSHIFT_FILE");
	char buf[128], *end;
	ssize_t n;
	int fd;

	if (!path)
		return s;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return s;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return s;
	buf[n] = '\0';
	s.ns = (long long)(strtod(buf, &end) * 1e9);
	if (strstr(end, "unsynced"))
		s.sync = 0;
	else if (strstr(end, "synced"))
		s.sync = 1;
	return s;
}

static void shift_ts(struct timespec *ts, long long ns)
{
	long long t = (long long)ts->tv_sec * 1000000000LL + ts->tv_nsec + ns;

	ts->tv_sec = (time_t)(t / 1000000000LL);
	ts->tv_nsec = (long)(t % 1000000000LL);
	if (ts->tv_nsec < 0) {
		ts->tv_nsec += 1000000000L;
		ts->tv_sec--;
	}
}

static int (*real_clock_gettime(void))(clockid_t, struct timespec *)
{
	static int (*fn)(clockid_t, struct timespec *);

	if (!fn)
		fn = (int (*)(clockid_t, struct timespec *))dlsym(RTLD_NEXT, "clock_gettime");
	return fn;
}

int clock_gettime(clockid_t id, struct timespec *ts)
{
	int rc = real_clock_gettime()(id, ts);

	if (rc == 0 && (id == CLOCK_REALTIME || id == CLOCK_REALTIME_COARSE))
		shift_ts(ts, shift_read().ns);
	return rc;
}

int gettimeofday(struct timeval *restrict tv, void *restrict tz)
{
	struct timespec ts;

	(void)tz;
	if (clock_gettime(CLOCK_REALTIME, &ts) < 0)
		return -1;
	tv->tv_sec = ts.tv_sec;
	tv->tv_usec = ts.tv_nsec / 1000;
	return 0;
}

time_t time(time_t *t)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	if (t)
		*t = ts.tv_sec;
	return ts.tv_sec;
}

static int adj(struct timex *tx, const char *name)
{
	int (*fn)(struct timex *) = (int (*)(struct timex *))dlsym(RTLD_NEXT, name);
	int rc = fn(tx);
	struct shift s = shift_read();

	if (rc < 0 || s.sync < 0 || tx->modes)
		return rc;
	if (s.sync) {
		tx->status &= ~STA_UNSYNC;
		return rc == TIME_ERROR ? TIME_OK : rc;
	}
	tx->status |= STA_UNSYNC;
	return TIME_ERROR;
}

int adjtimex(struct timex *tx)
{
	return adj(tx, "adjtimex");
}

int ntp_adjtime(struct timex *tx)
{
	return adj(tx, "ntp_adjtime");
}
