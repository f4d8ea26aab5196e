/* SPDX-License-Identifier: MIT */
/*
 * systemd readiness notification (Type=notify) without libsystemd: one
 * datagram to $NOTIFY_SOCKET. Does nothing when the variable is unset.
 * The watchdog keep-alive (WatchdogSec=) is a loop timer: WATCHDOG=1 goes
 * out only while the loop runs its timers, so a loop stuck in a callback
 * stops the keep-alives and systemd restarts the service.
 */
#ifndef SL_SDNOTIFY_H
#define SL_SDNOTIFY_H

#include "loop.h"

#include <stdint.h>

/* state: "READY=1", "STOPPING=1", "RELOADING=1", "STATUS=..."; 0 or -errno. */
int sl_sd_notify(const char *state);

/*
 * The keep-alive period systemd asks for, as sd_watchdog_enabled(3) reads
 * it: half of $WATCHDOG_USEC, and only when $WATCHDOG_PID is unset or is
 * this process. 1 and *ret_ms set (at least 1); 0 when no watchdog is
 * asked for (*ret_ms untouched); -EINVAL when WATCHDOG_USEC or WATCHDOG_PID
 * is not a positive decimal number.
 */
int sl_sd_watchdog_period_ms(uint64_t *ret_ms);

struct sl_sd_watchdog {
	struct sl_loop *loop;		/* NULL while stopped */
	struct sl_timer timer;
	uint64_t period_ms;
	uint64_t sent;			/* WATCHDOG=1 datagrams sent */
};

/*
 * Arms wd (embedded in its owner, zeroed) on loop when systemd asked for a
 * watchdog: WATCHDOG=1 then goes out every period. 1 when armed, 0 when no
 * watchdog was asked for, -EINVAL as sl_sd_watchdog_period_ms().
 */
int sl_sd_watchdog_start(struct sl_sd_watchdog *wd, struct sl_loop *loop);
/* Cancels the timer; safe on a watchdog that was never started. */
void sl_sd_watchdog_stop(struct sl_sd_watchdog *wd);

#endif
