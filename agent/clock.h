/* SPDX-License-Identifier: MIT */
/*
 * Wall-clock helpers for events: microseconds since the epoch, RFC 3339
 * UTC text with milliseconds, the UTC day (for the daily device key), and
 * whether the kernel believes the clock is synchronised (a Raspberry Pi has
 * no RTC: until NTP syncs, its time may be days off).
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

#endif
