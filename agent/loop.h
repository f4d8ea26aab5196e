/* SPDX-License-Identifier: MIT */
/*
 * The agent's single event loop: epoll over every fd (POS listener and
 * connections, control socket, radio sources, libmosquitto's socket), one
 * timerfd for all timers, one signalfd. Nothing polls: with no fd ready and
 * no timer due the process sleeps in epoll_wait.
 *
 * Watches and timers are embedded in their owner's struct; the loop never
 * allocates per watch. A watch removed during dispatch is not called again
 * in the same round, so a callback may close any fd, including its own.
 */
#ifndef SL_LOOP_H
#define SL_LOOP_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/epoll.h>

struct sl_loop;

struct sl_io {
	int fd;
	uint32_t events;		/* EPOLLIN | EPOLLOUT ... */
	void (*cb)(struct sl_io *io, uint32_t revents);
	void *ctx;
	bool added;			/* registered with the loop */
};

struct sl_timer {
	uint64_t due_ms;		/* CLOCK_MONOTONIC ms; valid when armed */
	void (*cb)(struct sl_timer *t);
	void *ctx;
	bool armed;
	struct sl_timer *next;		/* sorted by due_ms, owned by the loop */
};

int sl_loop_new(struct sl_loop **ret);
void sl_loop_free(struct sl_loop *loop);	/* NULL ok; does not close watched fds */

/* Runs until sl_loop_stop(); returns 0, or -errno if epoll itself failed. */
int sl_loop_run(struct sl_loop *loop);
/* Handles ready fds and due timers once, waiting at most timeout_ms (-1 = until something happens). */
int sl_loop_run_once(struct sl_loop *loop, int timeout_ms);
void sl_loop_stop(struct sl_loop *loop);
bool sl_loop_stopping(const struct sl_loop *loop);

/* io->fd, io->events, io->cb (and io->ctx) set by the caller. 0 or -errno. */
int sl_loop_add(struct sl_loop *loop, struct sl_io *io);
int sl_loop_mod(struct sl_loop *loop, struct sl_io *io, uint32_t events);
/* Safe on a watch that was never added. */
void sl_loop_del(struct sl_loop *loop, struct sl_io *io);

/* (Re)arms t to fire once after delay_ms; t->cb set by the caller. */
void sl_timer_arm(struct sl_loop *loop, struct sl_timer *t, uint64_t delay_ms);
/* Arms at an absolute CLOCK_MONOTONIC time in ms. */
void sl_timer_arm_at(struct sl_loop *loop, struct sl_timer *t, uint64_t due_ms);
void sl_timer_cancel(struct sl_loop *loop, struct sl_timer *t);

/*
 * Called once after every round of dispatch (fds and timers), e.g. to
 * schedule a spool commit for work queued during the round. One hook.
 */
void sl_loop_set_post_hook(struct sl_loop *loop, void (*hook)(void *ctx), void *ctx);

/* Counters for benchmarks (wake-ups when idle). */
uint64_t sl_loop_wakeups(const struct sl_loop *loop);

#endif
