/* SPDX-License-Identifier: MIT */
/*
 * Wall-clock helpers (see clock.h). The synchronisation state comes from
 * adjtimex(2): the kernel clears STA_UNSYNC once an NTP client (chrony,
 * systemd-timesyncd) has disciplined the clock, and adjtimex() returns
 * TIME_ERROR while it is unsynchronised.
 *
 * The id clock (see clock.h) exists because the wall clock is not a good
 * source for ids: one backward step of 10 days used to hold every later id
 * at the old time (ids only count up), and a forward step while nobody
 * vouches for it (unsynchronised) would carry every later id with it.
 */
#include "clock.h"

#include "log.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/timex.h>
#include <time.h>

uint64_t sl_now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

uint64_t sl_mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

void sl_rfc3339(uint64_t us, char out[SL_RFC3339_LEN])
{
	time_t sec = (time_t)(us / 1000000u);
	unsigned ms = (unsigned)((us / 1000u) % 1000u);
	struct tm tm;

	char tmp[64];

	gmtime_r(&sec, &tm);
	snprintf(tmp, sizeof(tmp), "%04d-%02d-%02dT%02d:%02d:%02d.%03uZ",
		 (tm.tm_year + 1900) % 10000, tm.tm_mon + 1, tm.tm_mday,
		 tm.tm_hour, tm.tm_min, tm.tm_sec, ms);
	memcpy(out, tmp, SL_RFC3339_LEN - 1);
	out[SL_RFC3339_LEN - 1] = '\0';
}

void sl_utc_day(uint64_t us, char out[SL_DAY_LEN])
{
	time_t sec = (time_t)(us / 1000000u);
	struct tm tm;

	char tmp[48];

	gmtime_r(&sec, &tm);
	snprintf(tmp, sizeof(tmp), "%04d-%02d-%02d", (tm.tm_year + 1900) % 10000,
		 tm.tm_mon + 1, tm.tm_mday);
	memcpy(out, tmp, SL_DAY_LEN - 1);
	out[SL_DAY_LEN - 1] = '\0';
}

static int digits(const char **p, int n, int *ret)
{
	int v = 0;

	for (int i = 0; i < n; i++) {
		char c = (*p)[i];

		if (c < '0' || c > '9')
			return -EINVAL;
		v = v * 10 + (c - '0');
	}
	*p += n;
	*ret = v;
	return 0;
}

/* Days in month mo (1-12) of year y, Gregorian leap years. */
static int month_days(int y, int mo)
{
	static const int days[12] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
	bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;

	return mo == 2 && leap ? 29 : days[mo - 1];
}

int sl_rfc3339_parse(const char *s, uint64_t *ret_us)
{
	struct tm tm = { 0 };
	int y, mo, d, h, mi, sec, off = 0;
	uint64_t frac_us = 0;
	const char *p = s;
	time_t t;

	if (digits(&p, 4, &y) || *p++ != '-' || digits(&p, 2, &mo) ||
	    *p++ != '-' || digits(&p, 2, &d) || (*p != 'T' && *p != 't') ||
	    !++p || digits(&p, 2, &h) || *p++ != ':' || digits(&p, 2, &mi) ||
	    *p++ != ':' || digits(&p, 2, &sec))
		return -EINVAL;
	if (y < 1970 || mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 ||
	    mi > 59 || sec > 60)
		return -EINVAL;
	/* timegm() would roll 2026-02-31 over to 03-03: refuse it instead */
	if (d > month_days(y, mo))
		return -EINVAL;
	if (*p == '.') {
		uint64_t scale = 100000;
		int n = 0;

		p++;
		while (*p >= '0' && *p <= '9') {
			frac_us += (uint64_t)(*p - '0') * scale;
			scale /= 10;
			p++;
			n++;
		}
		if (n == 0)
			return -EINVAL;
	}
	if (*p == 'Z' || *p == 'z') {
		p++;
	} else if (*p == '+' || *p == '-') {
		int sign = *p == '-' ? -1 : 1, oh, om;

		p++;
		if (digits(&p, 2, &oh) || *p++ != ':' || digits(&p, 2, &om) ||
		    oh > 23 || om > 59)
			return -EINVAL;
		off = sign * (oh * 3600 + om * 60);
	} else {
		return -EINVAL;
	}
	if (*p)
		return -EINVAL;
	tm.tm_year = y - 1900;
	tm.tm_mon = mo - 1;
	tm.tm_mday = d;
	tm.tm_hour = h;
	tm.tm_min = mi;
	tm.tm_sec = sec;
	t = timegm(&tm);
	if (t == (time_t)-1 || (int64_t)t - off < 0)
		return -EINVAL;
	*ret_us = (uint64_t)((int64_t)t - off) * 1000000u + frac_us;
	return 0;
}

bool sl_clock_synced(void)
{
	/* adjtimex() is a costly system call and the state changes rarely:
	 * ask the kernel at most once a second */
	static uint64_t asked_ms;
	static bool synced;
	uint64_t now = sl_mono_ms();
	struct timex tx;
	int state;

	if (asked_ms && now - asked_ms < 1000)
		return synced;
	memset(&tx, 0, sizeof(tx));
	state = adjtimex(&tx);
	synced = state >= 0 && state != TIME_ERROR && !(tx.status & STA_UNSYNC);
	asked_ms = now;
	return synced;
}

uint64_t sl_boot_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_BOOTTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

uint64_t sl_idclock_elapsed_at(const struct sl_idclock *c, uint64_t boot_us)
{
	if (!c->init)
		return 0;
	return c->real0_us + (boot_us - c->boot0_us);
}

uint64_t sl_idclock_at(struct sl_idclock *c, uint64_t real_us, uint64_t boot_us, bool synced)
{
	int64_t est, d;
	uint64_t v;

	c->event = SL_IDCLOCK_NONE;
	if (!c->init) {
		c->init = true;
		c->real0_us = real_us;
		c->boot0_us = boot_us;
	}
	est = (int64_t)sl_idclock_elapsed_at(c, boot_us) + c->corr_us;
	d = (int64_t)real_us - est;
	if (d >= -(int64_t)SL_CLOCK_DRIFT_US && d <= (int64_t)SL_CLOCK_DRIFT_US) {
		c->corr_us += d;	/* drift: follow quietly */
		c->ignoring = false;
	} else if (synced && real_us >= c->last_us && real_us < SL_CLOCK_MAX_US) {
		c->corr_us += d;	/* a step the kernel vouches for */
		c->followed++;
		c->ignoring = false;
		c->event = SL_IDCLOCK_FOLLOWED;
	} else if (!c->ignoring || d - c->ignored_off_us > (int64_t)SL_CLOCK_DRIFT_US ||
		   c->ignored_off_us - d > (int64_t)SL_CLOCK_DRIFT_US) {
		c->ignoring = true;	/* a new step: count it once */
		c->ignored_off_us = d;
		c->ignored++;
		c->event = SL_IDCLOCK_IGNORED;
	}
	est = (int64_t)sl_idclock_elapsed_at(c, boot_us) + c->corr_us;
	v = est > 0 ? (uint64_t)est : 0;
	if (v < c->last_us)
		v = c->last_us;
	c->last_us = v;
	return v;
}

static struct sl_idclock proc_clock;	/* the process's id clock */

uint64_t sl_clock_id_us(void)
{
	uint64_t boot = sl_boot_us(), real = sl_now_us(), last = proc_clock.last_us;
	int64_t before = proc_clock.corr_us;
	bool synced = sl_clock_synced();
	uint64_t v = sl_idclock_at(&proc_clock, real, boot, synced);

	if (proc_clock.event == SL_IDCLOCK_FOLLOWED)
		sl_info("wall clock stepped by %+.3f s (synchronised): event ids follow it",
			(double)(proc_clock.corr_us - before) / 1e6);
	else if (proc_clock.event == SL_IDCLOCK_IGNORED)
		sl_warn("wall clock stepped by %+.3f s (%s): event ids keep the agent's clock",
			(double)proc_clock.ignored_off_us / 1e6,
			!synced ? "not synchronised" : real < last ? "behind ids already made" :
			"implausible");
	return v;
}

uint64_t sl_clock_elapsed_us(void)
{
	if (!proc_clock.init)
		(void)sl_clock_id_us();
	return sl_idclock_elapsed_at(&proc_clock, sl_boot_us());
}

uint64_t sl_clock_wall_to_id_us(uint64_t wall_us)
{
	int64_t off = (int64_t)sl_clock_id_us() - (int64_t)sl_now_us();

	return off < 0 && (uint64_t)-off > wall_us ? 0 : (uint64_t)((int64_t)wall_us + off);
}

void sl_clock_id_state(struct sl_idclock *out)
{
	*out = proc_clock;
}
