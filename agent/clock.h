/* SPDX-License-Identifier: MIT */
/*
 * Wall-clock helpers for events: microseconds since the epoch, RFC 3339
 * UTC text with milliseconds, the UTC day (for the daily device key), and
 * whether the kernel believes the clock is synchronised (a Raspberry Pi has
 * no RTC: until NTP syncs, its time may be days off). Also the agent's own
 * clocks, which a wall-clock step cannot move backwards: the id clock (event
 * ids) and the elapsed clock (ages and durations), see below.
 */
#ifndef SL_CLOCK_H
#define SL_CLOCK_H

#include <stdbool.h>
#include <stdint.h>

#define SL_RFC3339_LEN 25 /* "2026-11-22T23:14:35.123Z" + NUL */
#define SL_DAY_LEN 11     /* "2026-11-22" + NUL */

/* CLOCK_REALTIME in microseconds since 1970-01-01T00:00:00Z. */
uint64_t sl_now_us(void);
/* CLOCK_MONOTONIC in milliseconds, for timeouts and backoff. */
uint64_t sl_mono_ms(void);
/* "YYYY-MM-DDTHH:MM:SS.mmmZ" */
void sl_rfc3339(uint64_t us, char out[SL_RFC3339_LEN]);
/* Parses RFC 3339 ("Z" or ±hh:mm offset, optional fraction); 0 or -EINVAL
 * (also for a day the month does not have: 2026-02-31, 2025-02-29). */
int sl_rfc3339_parse(const char *s, uint64_t *ret_us);
/* "YYYY-MM-DD" (UTC) */
void sl_utc_day(uint64_t us, char out[SL_DAY_LEN]);
/* true when adjtimex(2) reports the clock synchronised (STA_UNSYNC clear);
 * the kernel is asked at most once a second. */
bool sl_clock_synced(void);

/* CLOCK_BOOTTIME in microseconds: durations (it counts suspend and no
 * wall-clock step moves it). */
uint64_t sl_boot_us(void);

/*
 * The id clock: what event ids (UUIDv7 time) are made from. It is the wall
 * clock at the first reading plus CLOCK_BOOTTIME elapsed since, re-anchored
 * to the wall clock when the two differ by
 *   - at most SL_CLOCK_DRIFT_US (drift, leap seconds): always;
 *   - more (a step): only when the kernel reports the clock synchronised,
 *     the new wall time is not before the last value returned (ids never go
 *     back) and before SL_CLOCK_MAX_US (plausible). Other steps are ignored:
 *     the id clock keeps running at the boot clock's pace.
 * Values returned never decrease. A request's own time (a POS "ts") never
 * reaches it. sl_idclock_at() is the pure state machine (unit-tested);
 * sl_clock_id_us() runs it on the process's instance with the real clocks
 * and logs each step followed or ignored once.
 */
#define SL_CLOCK_DRIFT_US 2000000u		/* 2 s */
#define SL_CLOCK_MAX_US 4102444800000000u	/* 2100-01-01T00:00:00Z */

enum sl_idclock_event {
	SL_IDCLOCK_NONE,
	SL_IDCLOCK_FOLLOWED,	/* a step was followed (the ids jump forward) */
	SL_IDCLOCK_IGNORED,	/* a new step is ignored */
};

struct sl_idclock {
	bool init;
	uint64_t real0_us, boot0_us;	/* wall and boot clock at the first reading */
	int64_t corr_us;		/* steps followed: id = real0 + (boot - boot0) + corr */
	uint64_t last_us;		/* highest value returned */
	int64_t ignored_off_us;		/* wall - id while a step is ignored */
	bool ignoring;
	uint64_t followed, ignored;	/* steps, since start */
	enum sl_idclock_event event;	/* of the last call */
};

uint64_t sl_idclock_at(struct sl_idclock *c, uint64_t real_us, uint64_t boot_us, bool synced);
/* Elapsed clock of c: real0 + (boot - boot0), no corrections (0 before init). */
uint64_t sl_idclock_elapsed_at(const struct sl_idclock *c, uint64_t boot_us);

/* The process's id clock now (microseconds since the epoch). */
uint64_t sl_clock_id_us(void);
/*
 * The process's elapsed clock now: the wall clock when the id clock was
 * first read plus CLOCK_BOOTTIME since. Exact durations within the process;
 * across restarts it is as right as the wall clock was at both starts.
 * Spool rows and dedup keys are stamped with it.
 */
uint64_t sl_clock_elapsed_us(void);
/*
 * A wall-clock time read just now (a live sighting's kernel timestamp) moved
 * onto the id clock: wall_us + (id clock - wall clock), the offset an
 * ignored step left. The presence engine runs on the id clock for live
 * sources, so a step the ids ignore neither freezes nor flushes it.
 */
uint64_t sl_clock_wall_to_id_us(uint64_t wall_us);
/* Snapshot of the process's id clock (for status). */
void sl_clock_id_state(struct sl_idclock *out);

#endif
