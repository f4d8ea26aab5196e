/* SPDX-License-Identifier: MIT */
/*
 * Integration driver for the publisher alone: a real spool, a real loop and
 * a real broker, without the POS side of the agent. It reads an agent
 * configuration, appends ROWS synthetic events to {state_dir}/spool.db
 * (payloads carry a sequence number and no identifier), then runs the
 * publisher until the spool is empty, committing the PUBACK deletes the
 * way the agent does. tests/integration/test_publisher.py checks what a
 * subscriber received; tools/bench can use it to time a backlog drain.
 *
 *   pub_driver -c FILE [-n ROWS] [-m purchase|mix] [-t TIMEOUT_S]
 *
 * Exit status 0 when everything was acknowledged, 1 on timeout or error.
 * The last stdout line is a JSON summary.
 */
#include "clock.h"
#include "config.h"
#include "event.h"
#include "log.h"
#include "loop.h"
#include "publisher.h"
#include "spool.h"

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <unistd.h>

struct driver {
	struct sl_loop *loop;
	struct sl_spool *spool;
	struct sl_publisher *pub;
	struct sl_timer commit_timer;
	struct sl_timer deadline;
	struct sl_io sig_io;
	bool done;
	bool timed_out;
};

static void commit_now(struct driver *d)
{
	int64_t rc = sl_spool_commit(d->spool);

	if (rc < 0)
		sl_err("spool commit: %s", strerror((int)-rc));
	else
		sl_publisher_kick(d->pub);
}

static void commit_cb(struct sl_timer *t)
{
	commit_now(t->ctx);
}

static void deadline_cb(struct sl_timer *t)
{
	struct driver *d = t->ctx;

	d->timed_out = true;
	sl_loop_stop(d->loop);
}

static void on_signal(struct sl_io *io, uint32_t revents)
{
	struct driver *d = io->ctx;
	struct signalfd_siginfo si;

	(void)revents;
	while (read(io->fd, &si, sizeof(si)) == (ssize_t)sizeof(si))
		sl_loop_stop(d->loop);
}

/* After each round: commit pending deletes when due; stop once empty. */
static void post_round(void *ctx)
{
	struct driver *d = ctx;
	struct sl_spool_stats ss;
	int due;

	if (sl_spool_stats(d->spool, &ss) == 0 && ss.depth == 0) {
		commit_now(d);
		d->done = true;
		sl_loop_stop(d->loop);
		return;
	}
	if (d->commit_timer.armed)
		return;
	due = sl_spool_commit_due_in_ms(d->spool, sl_mono_ms());
	if (due == 0)
		commit_now(d);
	else if (due > 0)
		sl_timer_arm(d->loop, &d->commit_timer, (uint64_t)due);
}

static int append_rows(struct sl_spool *sp, const struct sl_config *cfg, long rows, bool mix)
{
	static const enum sl_event_class mixed[] = {
		SL_CLASS_PRESENCE, SL_CLASS_PURCHASE, SL_CLASS_LOYALTY, SL_CLASS_FOOTFALL,
	};
	char id[SL_UUID_LEN], payload[512];

	for (long i = 0; i < rows; i++) {
		enum sl_event_class cls = mix ? mixed[i % 4] : SL_CLASS_PURCHASE;
		const char *type = sl_event_class_name(cls);
		int64_t seq;
		int n;

		if (sl_uuidv7(sl_now_us() / 1000u, id) < 0)
			return -EIO;
		n = snprintf(payload, sizeof(payload),
			     "{\"schema\":\"storelink.event/1\",\"id\":\"%s\",\"type\":\"%s\","
			     "\"tenant\":\"%s\",\"store\":\"%s\",\"gateway\":\"%s\",\"seq\":%ld}",
			     id, type, cfg->tenant, cfg->store_id, cfg->gateway_id, i);
		seq = sl_spool_append(sp, cls, id, type, payload, (size_t)n);
		if (seq <= 0) {
			sl_err("spool append: %s", seq ? strerror((int)-seq) : "dropped");
			return seq ? (int)seq : -ENOSPC;
		}
		if (sl_spool_commit_due(sp, sl_mono_ms()) && sl_spool_commit(sp) < 0)
			return -EIO;
	}
	return sl_spool_commit(sp) < 0 ? -EIO : 0;
}

int main(int argc, char **argv)
{
	struct driver d = { .sig_io.fd = -1 };
	struct sl_publisher_stats ps;
	struct sl_config *cfg = NULL;
	enum sl_log_level level;
	char err[4096], path[PATH_MAX];
	const char *conf = NULL;
	long rows = 1000, timeout_s = 300;
	bool mix = false;
	uint64_t t0;
	sigset_t set;
	int opt, rc, status = 1;

	while ((opt = getopt(argc, argv, "c:n:m:t:")) != -1) {
		switch (opt) {
		case 'c':
			conf = optarg;
			break;
		case 'n':
			rows = strtol(optarg, NULL, 10);
			break;
		case 'm':
			mix = strcmp(optarg, "mix") == 0;
			break;
		case 't':
			timeout_s = strtol(optarg, NULL, 10);
			break;
		default:
			fprintf(stderr, "usage: pub_driver -c FILE [-n ROWS] [-m purchase|mix] "
				"[-t TIMEOUT_S]\n");
			return 2;
		}
	}
	if (!conf || rows < 0 || timeout_s <= 0) {
		fprintf(stderr, "pub_driver: -c FILE is required\n");
		return 2;
	}
	signal(SIGPIPE, SIG_IGN);
	if (sl_config_load(&cfg, conf, err, sizeof(err)) < 0) {
		fprintf(stderr, "%s\n", err);
		return 2;
	}
	if (sl_log_level_parse(cfg->log_level, &level) == 0)
		sl_log_set_level(level);
	if (mkdir(cfg->state_dir, 0750) < 0 && errno != EEXIST) {
		sl_err("%s: %s", cfg->state_dir, strerror(errno));
		goto out_cfg;
	}
	snprintf(path, sizeof(path), "%s/spool.db", cfg->state_dir);
	{
		const struct sl_spool_cfg sc = {
			.path = path,
			.max_mb = (uint32_t)cfg->spool_max_mb,
			.sync = SL_SPOOL_SYNC_NORMAL,
			.commit_ms = (uint32_t)cfg->spool_commit_ms,
			.commit_max = (uint32_t)cfg->spool_commit_max,
		};

		rc = sl_spool_open(&d.spool, &sc, NULL);
		if (rc < 0) {
			sl_err("spool %s: %s", path, strerror(-rc));
			goto out_cfg;
		}
	}
	if (append_rows(d.spool, cfg, rows, mix) < 0)
		goto out_spool;

	rc = sl_loop_new(&d.loop);
	if (rc < 0)
		goto out_spool;
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigprocmask(SIG_BLOCK, &set, NULL);
	d.sig_io.fd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
	d.sig_io.events = EPOLLIN;
	d.sig_io.cb = on_signal;
	d.sig_io.ctx = &d;
	if (d.sig_io.fd < 0 || sl_loop_add(d.loop, &d.sig_io) < 0)
		goto out_loop;
	d.commit_timer.cb = commit_cb;
	d.commit_timer.ctx = &d;
	d.deadline.cb = deadline_cb;
	d.deadline.ctx = &d;

	t0 = sl_mono_ms();
	rc = sl_publisher_open(&d.pub, d.loop, cfg, d.spool, cfg->key_id, NULL, err,
			       sizeof(err));
	if (rc < 0) {
		sl_err("publisher: %s", err);
		goto out_loop;
	}
	sl_timer_arm(d.loop, &d.deadline, (uint64_t)timeout_s * 1000u);
	sl_loop_set_post_hook(d.loop, post_round, &d);
	rc = sl_loop_run(d.loop);
	sl_loop_set_post_hook(d.loop, NULL, NULL);
	sl_timer_cancel(d.loop, &d.deadline);
	sl_timer_cancel(d.loop, &d.commit_timer);

	sl_publisher_stats(d.pub, &ps);
	printf("{\"rows\":%ld,\"done\":%s,\"timed_out\":%s,\"elapsed_ms\":%" PRIu64
	       ",\"published\":%" PRIu64 ",\"reconnects\":%" PRIu64 ",\"wakeups\":%" PRIu64 "}\n",
	       rows, d.done ? "true" : "false", d.timed_out ? "true" : "false",
	       sl_mono_ms() - t0,
	       ps.published[SL_CLASS_PURCHASE] + ps.published[SL_CLASS_LOYALTY] +
	       ps.published[SL_CLASS_PRESENCE] + ps.published[SL_CLASS_FOOTFALL] +
	       ps.published[SL_CLASS_STATUS],
	       ps.reconnects, sl_loop_wakeups(d.loop));
	fflush(stdout);
	if (rc == 0 && d.done)
		status = 0;
	sl_publisher_close(d.pub);

out_loop:
	if (d.sig_io.fd >= 0) {
		sl_loop_del(d.loop, &d.sig_io);
		close(d.sig_io.fd);
	}
	sl_loop_free(d.loop);
out_spool:
	sl_spool_close(d.spool);
out_cfg:
	sl_config_free(cfg);
	return status;
}
