/* SPDX-License-Identifier: MIT */
/*
 * sd_notify(3) protocol: send the state string as one datagram to the
 * AF_UNIX socket named by $NOTIFY_SOCKET ('@' = abstract namespace), and
 * the WatchdogSec= keep-alive as a loop timer.
 */
#include "sdnotify.h"

#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

int sl_sd_notify(const char *state)
{
	const char *path = getenv("NOTIFY_SOCKET");
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	size_t len;
	socklen_t salen;
	int fd, rc = 0;

	if (!path || !*path)
		return 0;
	len = strlen(path);
	if (len >= sizeof(sa.sun_path) || (path[0] != '/' && path[0] != '@'))
		return -EINVAL;
	memcpy(sa.sun_path, path, len);
	if (sa.sun_path[0] == '@')
		sa.sun_path[0] = '\0';
	salen = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + len);
	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (sendto(fd, state, strlen(state), MSG_NOSIGNAL, (struct sockaddr *)&sa, salen) < 0)
		rc = -errno;
	close(fd);
	return rc;
}

/* a positive decimal number, nothing else */
static int parse_u64(const char *s, uint64_t *ret)
{
	char *end;
	unsigned long long v;

	if (!s || *s < '0' || *s > '9')
		return -EINVAL;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || *end || v == 0)
		return -EINVAL;
	*ret = v;
	return 0;
}

int sl_sd_watchdog_period_ms(uint64_t *ret_ms)
{
	const char *usec = getenv("WATCHDOG_USEC");
	const char *pid = getenv("WATCHDOG_PID");
	uint64_t us, p, ms;

	if (!usec || !*usec)
		return 0;
	if (parse_u64(usec, &us) < 0)
		return -EINVAL;
	if (pid && *pid) {
		if (parse_u64(pid, &p) < 0)
			return -EINVAL;
		if (p != (uint64_t)getpid())
			return 0;	/* meant for another process of the unit */
	}
	ms = us / 2000;		/* half the interval, as sd_watchdog_enabled(3) advises */
	*ret_ms = ms ? ms : 1;
	return 1;
}

static void watchdog_cb(struct sl_timer *t)
{
	struct sl_sd_watchdog *wd = t->ctx;

	if (sl_sd_notify("WATCHDOG=1") == 0)
		wd->sent++;
	sl_timer_arm(wd->loop, &wd->timer, wd->period_ms);
}

int sl_sd_watchdog_start(struct sl_sd_watchdog *wd, struct sl_loop *loop)
{
	uint64_t ms;
	int rc = sl_sd_watchdog_period_ms(&ms);

	if (rc <= 0)
		return rc;
	wd->loop = loop;
	wd->period_ms = ms;
	wd->timer.cb = watchdog_cb;
	wd->timer.ctx = wd;
	sl_timer_arm(loop, &wd->timer, ms);
	return 1;
}

void sl_sd_watchdog_stop(struct sl_sd_watchdog *wd)
{
	if (!wd->loop)
		return;
	sl_timer_cancel(wd->loop, &wd->timer);
	wd->loop = NULL;
}
