/* SPDX-License-Identifier: MIT */
/*
 * epoll + timerfd event loop (see loop.h). Timers form a sorted singly
 * linked list: the agent has a handful of them (commit, MQTT housekeeping,
 * reconnect backoff, presence tick, per-connection idle checks), so an O(n)
 * insert is cheaper than any heap. The timerfd is armed to the earliest
 * deadline only when that deadline changes.
 */
#include "loop.h"

#include "clock.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/timerfd.h>
#include <unistd.h>

#define MAX_EVENTS 64

struct sl_loop {
	int epfd;
	int tfd;
	struct sl_io timer_io;
	struct sl_timer *timers;	/* sorted by due_ms */
	uint64_t tfd_due;		/* what tfd is armed for, 0 = disarmed */
	struct epoll_event ev[MAX_EVENTS];
	int nev;			/* events of the round being dispatched */
	int cur;			/* index being dispatched */
	bool stop;
	uint64_t wakeups;
	void (*post_hook)(void *ctx);
	void *post_ctx;
};

static void rearm(struct sl_loop *loop)
{
	struct itimerspec its = { 0 };
	uint64_t due = loop->timers ? loop->timers->due_ms : 0;

	if (due == loop->tfd_due)
		return;
	loop->tfd_due = due;
	if (due) {
		/* absolute CLOCK_MONOTONIC; 0 would disarm, so use >= 1 ns */
		its.it_value.tv_sec = (time_t)(due / 1000);
		its.it_value.tv_nsec = (long)(due % 1000) * 1000000L;
		if (!its.it_value.tv_sec && !its.it_value.tv_nsec)
			its.it_value.tv_nsec = 1;
	}
	timerfd_settime(loop->tfd, TFD_TIMER_ABSTIME, &its, NULL);
}

static void run_timers(struct sl_loop *loop)
{
	uint64_t now = sl_mono_ms();

	while (loop->timers && loop->timers->due_ms <= now && !loop->stop) {
		struct sl_timer *t = loop->timers;

		loop->timers = t->next;
		t->next = NULL;
		t->armed = false;
		t->cb(t);
	}
	rearm(loop);
}

static void timer_fd_cb(struct sl_io *io, uint32_t revents)
{
	struct sl_loop *loop = io->ctx;
	uint64_t expirations;

	(void)revents;
	(void)!read(loop->tfd, &expirations, sizeof(expirations));
	loop->tfd_due = 0;	/* fired: must be re-armed even for the same due */
	run_timers(loop);
}

int sl_loop_new(struct sl_loop **ret)
{
	struct sl_loop *loop = calloc(1, sizeof(*loop));
	int rc;

	if (!loop)
		return -ENOMEM;
	loop->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (loop->epfd < 0) {
		rc = -errno;
		goto err_free;
	}
	loop->tfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	if (loop->tfd < 0) {
		rc = -errno;
		goto err_close_ep;
	}
	loop->timer_io.fd = loop->tfd;
	loop->timer_io.events = EPOLLIN;
	loop->timer_io.cb = timer_fd_cb;
	loop->timer_io.ctx = loop;
	rc = sl_loop_add(loop, &loop->timer_io);
	if (rc < 0)
		goto err_close_tfd;
	*ret = loop;
	return 0;

err_close_tfd:
	close(loop->tfd);
err_close_ep:
	close(loop->epfd);
err_free:
	free(loop);
	return rc;
}

void sl_loop_free(struct sl_loop *loop)
{
	if (!loop)
		return;
	close(loop->tfd);
	close(loop->epfd);
	free(loop);
}

int sl_loop_add(struct sl_loop *loop, struct sl_io *io)
{
	struct epoll_event ev = { .events = io->events, .data.ptr = io };

	if (epoll_ctl(loop->epfd, EPOLL_CTL_ADD, io->fd, &ev) < 0)
		return -errno;
	io->added = true;
	return 0;
}

int sl_loop_mod(struct sl_loop *loop, struct sl_io *io, uint32_t events)
{
	struct epoll_event ev = { .events = events, .data.ptr = io };

	if (io->events == events)
		return 0;
	if (epoll_ctl(loop->epfd, EPOLL_CTL_MOD, io->fd, &ev) < 0)
		return -errno;
	io->events = events;
	return 0;
}

void sl_loop_del(struct sl_loop *loop, struct sl_io *io)
{
	if (!io->added)
		return;
	epoll_ctl(loop->epfd, EPOLL_CTL_DEL, io->fd, NULL);
	io->added = false;
	/* not to be dispatched later in this round: its owner may be freed */
	for (int i = loop->cur + 1; i < loop->nev; i++)
		if (loop->ev[i].data.ptr == io)
			loop->ev[i].data.ptr = NULL;
}

void sl_timer_arm_at(struct sl_loop *loop, struct sl_timer *t, uint64_t due_ms)
{
	struct sl_timer **pp;

	if (t->armed)
		sl_timer_cancel(loop, t);
	t->due_ms = due_ms ? due_ms : 1;
	for (pp = &loop->timers; *pp && (*pp)->due_ms <= t->due_ms; pp = &(*pp)->next)
		;
	t->next = *pp;
	*pp = t;
	t->armed = true;
	rearm(loop);
}

void sl_timer_arm(struct sl_loop *loop, struct sl_timer *t, uint64_t delay_ms)
{
	sl_timer_arm_at(loop, t, sl_mono_ms() + delay_ms);
}

void sl_timer_cancel(struct sl_loop *loop, struct sl_timer *t)
{
	struct sl_timer **pp;

	if (!t->armed)
		return;
	for (pp = &loop->timers; *pp; pp = &(*pp)->next)
		if (*pp == t) {
			*pp = t->next;
			break;
		}
	t->next = NULL;
	t->armed = false;
	rearm(loop);
}

int sl_loop_run_once(struct sl_loop *loop, int timeout_ms)
{
	int n = epoll_wait(loop->epfd, loop->ev, MAX_EVENTS, timeout_ms);

	if (n < 0)
		return errno == EINTR ? 0 : -errno;
	loop->wakeups++;
	loop->nev = n;
	for (loop->cur = 0; loop->cur < n; loop->cur++) {
		struct sl_io *io = loop->ev[loop->cur].data.ptr;

		if (io)
			io->cb(io, loop->ev[loop->cur].events);
	}
	loop->nev = 0;
	loop->cur = 0;
	/* timers that came due while fds were handled, without another wake-up */
	if (loop->timers && loop->timers->due_ms <= sl_mono_ms())
		run_timers(loop);
	if (loop->post_hook)
		loop->post_hook(loop->post_ctx);
	return 0;
}

int sl_loop_run(struct sl_loop *loop)
{
	int rc = 0;

	loop->stop = false;
	while (!loop->stop && rc == 0)
		rc = sl_loop_run_once(loop, -1);
	return rc;
}

void sl_loop_stop(struct sl_loop *loop)
{
	loop->stop = true;
}

bool sl_loop_stopping(const struct sl_loop *loop)
{
	return loop->stop;
}

void sl_loop_set_post_hook(struct sl_loop *loop, void (*hook)(void *ctx), void *ctx)
{
	loop->post_hook = hook;
	loop->post_ctx = ctx;
}

uint64_t sl_loop_wakeups(const struct sl_loop *loop)
{
	return loop->wakeups;
}
