/* SPDX-License-Identifier: MIT */
/*
 * The id clock (clock.h): a table of wall-clock histories (steps back and
 * forward, synchronised or not, drift, implausible times) and what the id
 * clock must read after each; monotonicity under random steps; the
 * process's id and elapsed clocks; event ids from the id clock.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "clock.h"
#include "event.h"

#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#define S 1000000ll			/* µs per second */
#define DAY (86400 * S)
#define T0 1795389275123000ll		/* 2026-11-22T23:14:35.123Z */
#define B0 (1000 * S)			/* boot clock at the first reading */

/* CLOCK_REALTIME of this test program, shifted by shift_us: the agent's
 * clock.c calls this definition instead of libc's. */
static int64_t shift_us;

int clock_gettime(clockid_t id, struct timespec *ts)
{
	if (syscall(SYS_clock_gettime, id, ts) != 0)
		return -1;
	if (id == CLOCK_REALTIME && shift_us) {
		int64_t t = (int64_t)ts->tv_sec * S + ts->tv_nsec / 1000 + shift_us;

		ts->tv_sec = (time_t)(t / S);
		ts->tv_nsec = (long)(t % S) * 1000;
	}
	return 0;
}

static uint64_t real_us(void)
{
	struct timespec ts;

	syscall(SYS_clock_gettime, CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * S + (uint64_t)ts.tv_nsec / 1000;
}

struct step {
	int64_t boot;		/* boot clock minus B0 */
	int64_t real;		/* wall clock minus T0 */
	bool synced;
	int64_t want;		/* id clock minus T0 */
	enum sl_idclock_event ev;
};

static void run_steps(const char *name, const struct step *st, size_t n)
{
	struct sl_idclock c = { 0 };

	for (size_t i = 0; i < n; i++) {
		uint64_t v = sl_idclock_at(&c, (uint64_t)(T0 + st[i].real),
					   (uint64_t)(B0 + st[i].boot), st[i].synced);

		if ((int64_t)v - T0 != st[i].want || c.event != st[i].ev)
			fail_msg("%s, step %zu: id clock T0%+lld us (event %d), want T0%+lld (%d)",
				 name, i, (long long)((int64_t)v - T0), c.event,
				 (long long)st[i].want, st[i].ev);
		/* the elapsed clock ignores every step */
		assert_int_equal(sl_idclock_elapsed_at(&c, (uint64_t)(B0 + st[i].boot)),
				 T0 + st[i].boot);
	}
}

static void test_steps(void **state)
{
	(void)state;
	/* issue 10 item 8: a backward step of 10 days held every id for 10 days */
	static const struct step back10[] = {
		{ 0, 0, false, 0, SL_IDCLOCK_NONE },
		{ 5 * S, 5 * S - 10 * DAY, false, 5 * S, SL_IDCLOCK_IGNORED },
		{ 6 * S, 6 * S - 10 * DAY, false, 6 * S, SL_IDCLOCK_NONE },	/* counted once */
		/* synchronised, but behind the ids made: still ignored */
		{ 7 * S, 7 * S - 10 * DAY, true, 7 * S, SL_IDCLOCK_NONE },
		/* the wall clock comes back: nothing to correct */
		{ 8 * S, 8 * S, true, 8 * S, SL_IDCLOCK_NONE },
	};
	/* forward while unsynchronised (a wrong `date -s`): ignored */
	static const struct step fwd_unsynced[] = {
		{ 0, 0, false, 0, SL_IDCLOCK_NONE },
		{ 1 * S, 1 * S + 10 * DAY, false, 1 * S, SL_IDCLOCK_IGNORED },
		{ 2 * S, 2 * S + 10 * DAY, false, 2 * S, SL_IDCLOCK_NONE },
		/* the same offset, now vouched for (NTP at boot of an RTC-less Pi): followed */
		{ 3 * S, 3 * S + 10 * DAY, true, 3 * S + 10 * DAY, SL_IDCLOCK_FOLLOWED },
		{ 4 * S, 4 * S + 10 * DAY, true, 4 * S + 10 * DAY, SL_IDCLOCK_NONE },
	};
	/* drift and leap seconds (<= 2 s) are followed quietly, backwards too,
	 * without going below the last value */
	static const struct step drift[] = {
		{ 0, 0, false, 0, SL_IDCLOCK_NONE },
		{ 10 * S, 10 * S + 1500000, false, 10 * S + 1500000, SL_IDCLOCK_NONE },
		{ 11 * S, 11 * S - 500000, false, 10 * S + 1500000, SL_IDCLOCK_NONE },
		{ 13 * S, 13 * S - 500000, false, 13 * S - 500000, SL_IDCLOCK_NONE },
	};
	/* a synchronised backward step that stays ahead of the ids made: followed */
	static const struct step back_plausible[] = {
		{ 0, 0, false, 0, SL_IDCLOCK_NONE },
		{ 100 * S, 50 * S, true, 50 * S, SL_IDCLOCK_FOLLOWED },
		{ 101 * S, 51 * S, true, 51 * S, SL_IDCLOCK_NONE },
	};
	/* synchronised but past 2100: implausible, ignored */
	static const struct step far[] = {
		{ 0, 0, true, 0, SL_IDCLOCK_NONE },
		{ 1 * S, 253402300799000000ll - T0, true, 1 * S, SL_IDCLOCK_IGNORED },
		{ 2 * S, 2 * S, true, 2 * S, SL_IDCLOCK_NONE },
	};
	/* two different ignored steps count twice */
	static const struct step two[] = {
		{ 0, 0, false, 0, SL_IDCLOCK_NONE },
		{ 1 * S, 1 * S - DAY, false, 1 * S, SL_IDCLOCK_IGNORED },
		{ 2 * S, 2 * S + DAY, false, 2 * S, SL_IDCLOCK_IGNORED },
	};

	run_steps("back 10 days", back10, sizeof(back10) / sizeof(back10[0]));
	run_steps("forward unsynced", fwd_unsynced, sizeof(fwd_unsynced) / sizeof(fwd_unsynced[0]));
	run_steps("drift", drift, sizeof(drift) / sizeof(drift[0]));
	run_steps("plausible back", back_plausible,
		  sizeof(back_plausible) / sizeof(back_plausible[0]));
	run_steps("past 2100", far, sizeof(far) / sizeof(far[0]));
	run_steps("two steps", two, sizeof(two) / sizeof(two[0]));
}

static void test_counters(void **state)
{
	struct sl_idclock c = { 0 };

	(void)state;
	sl_idclock_at(&c, T0, B0, false);
	sl_idclock_at(&c, T0 - DAY, B0 + S, true);
	sl_idclock_at(&c, T0 + DAY, B0 + 2 * S, true);
	assert_int_equal(c.ignored, 1);
	assert_int_equal(c.followed, 1);
}

/* Random walks of the wall clock: the id clock never decreases. */
static void test_monotonic(void **state)
{
	(void)state;
	srand(42);
	for (int run = 0; run < 200; run++) {
		struct sl_idclock c = { 0 };
		int64_t boot = B0, real = T0;
		uint64_t prev = 0;

		for (int i = 0; i < 500; i++) {
			uint64_t v;
			int r = rand() % 100;

			boot += rand() % (2 * S);
			real += rand() % (2 * S);
			if (r < 5)
				real -= (int64_t)(rand() % 30) * DAY;
			else if (r < 10)
				real += (int64_t)(rand() % 30) * DAY;
			else if (r < 15)
				real += (rand() % (4 * S)) - 2 * S;
			if (real < 0)
				real = 0;
			v = sl_idclock_at(&c, (uint64_t)real, (uint64_t)boot, rand() % 2);
			assert_true(v >= prev);
			prev = v;
		}
	}
}

static void test_process_clocks(void **state)
{
	char a[SL_UUID_LEN], b[SL_UUID_LEN];
	uint64_t e1, e2, id, b1;

	(void)state;
	b1 = sl_boot_us();
	e1 = sl_clock_elapsed_us();
	id = sl_clock_id_us();
	e2 = sl_clock_elapsed_us();
	assert_true(sl_boot_us() >= b1);
	assert_true(e2 >= e1);
	/* no step in a unit test run: the clocks agree with the wall clock */
	assert_true(id + 60 * S > sl_now_us() && id < sl_now_us() + 60 * S);
	assert_true(e1 + 60 * S > sl_now_us() && e1 < sl_now_us() + 60 * S);
	for (int i = 0; i < 10000; i++) {
		assert_int_equal(sl_event_id(i % 2 ? b : a), 0);
		if (i)
			assert_true(strcmp(i % 2 ? a : b, i % 2 ? b : a) < 0);
	}
}

/* The process's clocks under a real step back of 10 days (issue 10 item 8):
 * ids stay at real time and keep going up, the elapsed clock too, and a live
 * sighting stamped by the stepped wall clock lands at real time on the id
 * clock (the presence engine's time base). */
static void test_process_step(void **state)
{
	uint64_t id1, id2, el1, el2, wall;

	(void)state;
	id1 = sl_clock_id_us();
	el1 = sl_clock_elapsed_us();
	shift_us = -10 * DAY;
	wall = sl_now_us();
	assert_true(wall + 9 * DAY < real_us());
	id2 = sl_clock_id_us();
	el2 = sl_clock_elapsed_us();
	assert_true(id2 >= id1 && id2 < real_us() + 60 * S && id2 + 60 * S > real_us());
	assert_true(el2 >= el1 && el2 < real_us() + 60 * S);
	assert_true(sl_clock_wall_to_id_us(wall) + 60 * S > real_us() &&
		    sl_clock_wall_to_id_us(wall) < real_us() + 60 * S);
	for (int i = 0; i < 1000; i++) {
		uint64_t v = sl_clock_id_us();

		assert_true(v >= id2);
		id2 = v;
	}
	shift_us = 0;
	assert_true(sl_clock_id_us() >= id2);
	assert_true(sl_clock_wall_to_id_us(sl_now_us()) + 60 * S > real_us());
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_steps),
		cmocka_unit_test(test_counters),
		cmocka_unit_test(test_monotonic),
		cmocka_unit_test(test_process_clocks),
		cmocka_unit_test(test_process_step),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
