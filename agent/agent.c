/* SPDX-License-Identifier: MIT */
/*
 * The running agent (see agent.h). Data flow, as in DESIGN.md:
 *
 *   POS listener ─▶ privacy (pos_request) ─▶ spool append ─┐
 *                                                           ├▶ commit ─▶ POS replies
 *   publisher ◀─ spool fetch ◀──────────────────────────────┘          └▶ publisher kick
 *   publisher PUBACK ─▶ spool delete (durable at the next commit)
 *
 * Commits are batched: appends and deletes only mark the spool dirty; a
 * timer commits when the spool says a commit is due (commit_ms or
 * commit_max), and the loop's post-dispatch hook arms that timer, so a
 * burst of requests read in one wake-up shares one transaction.
 */
#include "agent.h"

#include "autoconf.h"
#include "check.h"
#include "clock.h"
#include "config.h"
#include "control.h"
#include "jsonw.h"
#include "log.h"
#include "loop.h"
#include "pos.h"
#include "privacy.h"
#include "publisher.h"
#include "sdnotify.h"
#ifdef CONFIG_SL_SCANNER
#include "scanners.h"
#endif
#ifdef CONFIG_SL_PRESENCE
#include "sightings.h"
#endif
#include "spool.h"
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <unistd.h>

struct sl_agent {
	struct sl_config *cfg;
	struct sl_loop *loop;
	struct sl_io sig_io;
	int lock_fd;			/* {state_dir}/storelinkd.lock, held while running */
	struct sl_keyring *kr;
	struct sl_spool *spool;
	struct sl_pos *pos;
	struct sl_publisher *pub;
	struct sl_control *ctl;
	struct sl_sightings *sightings;	/* NULL without radio sources */
	struct sl_scanners *scanners;	/* NULL with [scanner] source = off */
	struct sl_timer commit_timer;
	int64_t last_seq;		/* last sequence handed out by the spool */
	uint64_t in[SL_CLASS__COUNT];	/* events accepted since start */
	uint64_t commit_errors;
	/* a run of failed commits is logged once when it starts and once when
	 * it ends (a failing disk fails every commit, every commit_ms) */
	int commit_err;			/* -errno of the run, 0 = commits succeed */
	uint64_t commit_err_since_ms;
	uint64_t commit_err_count;	/* failed commits in the run */
	/* a full spool is logged once when it fills and once when it takes
	 * events again: how long, how many were refused or dropped meanwhile */
	bool spool_full;
	uint64_t full_since_ms;
	uint64_t full_refused, full_dropped;
	uint64_t started_us;		/* sl_boot_us() at start: uptime is a duration */
	char key_ids[2 * SL_KID_MAX + 2];
	char kcv[2][SL_KCV_LEN];		/* key check values: current, next ("") */
	char key_checks[2 * SL_KCV_LEN];	/* "kcv" or "kcv,kcv_next" */
	int exit_status;
};

/* ---- spool commits ---------------------------------------------------- */

static const char *commit_err_reply(int err)
{
	if (err == -ENOSPC)
		return "spool_full";
	return err == -SL_SPOOL_EUNKNOWN ? "spool_unknown" : "spool_error";
}

static void commit_now(struct sl_agent *ag)
{
	int64_t durable = sl_spool_commit(ag->spool);

	if (durable < 0) {
		ag->commit_errors++;
		ag->commit_err_count++;
		if (ag->commit_err != (int)durable) {
			if (durable == -SL_SPOOL_EUNKNOWN)
				sl_err("spool commit failed: syncing the WAL to disk failed; the POS gets "
				       "spool_unknown for the events of the batch (they may reappear after "
				       "a crash: resend with the same txn_id/request_id); further failures "
				       "are counted, not logged");
			else
				sl_err("spool commit failed: %s; the POS gets %s for the events of the "
				       "batch, PUBACK deletes are retried; further failures are counted, "
				       "not logged", strerror((int)-durable), commit_err_reply((int)durable));
			if (!ag->commit_err)
				ag->commit_err_since_ms = sl_mono_ms();
			ag->commit_err = (int)durable;
		}
#ifdef CONFIG_SL_POS
		if (ag->pos)
			sl_pos_commit_failed(ag->pos, ag->last_seq, (int)durable);
#endif
		if (durable == -EUCLEAN) {
			/* the file is damaged: the next start moves it aside */
			sl_err("spool damaged while running; stopping so that the restart recovers it");
			ag->exit_status = 1;
			sl_loop_stop(ag->loop);
		}
		return;
	}
	if (ag->commit_err) {
		sl_warn("spool commits succeed again, after %" PRIu64 " failed in %.1f s",
			ag->commit_err_count, (double)(sl_mono_ms() - ag->commit_err_since_ms) / 1e3);
		ag->commit_err = 0;
		ag->commit_err_count = 0;
	}
#ifdef CONFIG_SL_POS
	if (ag->pos)
		sl_pos_committed(ag->pos, durable);
#endif
	if (ag->pub)
		sl_publisher_kick(ag->pub);
}

static void commit_cb(struct sl_timer *t)
{
	commit_now(t->ctx);
}

/* After every round of the loop: schedule a commit for pending work. */
static void post_round(void *ctx)
{
	struct sl_agent *ag = ctx;
	int due;

	if (!ag->spool || ag->commit_timer.armed)
		return;
	due = sl_spool_commit_due_in_ms(ag->spool, sl_mono_ms());
	if (due < 0)
		return;
	if (due == 0)
		commit_now(ag);
	else
		sl_timer_arm(ag->loop, &ag->commit_timer, (uint64_t)due);
}

/* One line when the spool stops taking events (cap or disk), one when it
 * takes them again, whatever the rate of refusals in between. */
static void spool_full_episode(struct sl_agent *ag, int64_t seq)
{
	struct sl_spool_stats st = { 0 };

	if (seq == -ENOSPC || seq == 0) {
		if (seq == -ENOSPC)
			ag->full_refused++;
		else
			ag->full_dropped++;
		if (ag->spool_full)
			return;
		ag->spool_full = true;
		ag->full_since_ms = sl_mono_ms();
		sl_spool_stats(ag->spool, &st);
		sl_warn("spool: full (%llu events, %llu of %llu KiB%s): purchases and loyalty "
			"scans get spool_full and presence events are dropped until the uplink "
			"drains it", (unsigned long long)st.depth,
			(unsigned long long)(st.bytes / 1024), (unsigned long long)(st.cap_bytes / 1024),
			st.disk_low ? "; the disk is nearly full" : "");
		return;
	}
	if (seq > 0 && ag->spool_full) {
		ag->spool_full = false;
		sl_info("spool: taking events again after %.1f s (%llu refused, %llu dropped "
			"meanwhile)", (double)(sl_mono_ms() - ag->full_since_ms) / 1000.0,
			(unsigned long long)ag->full_refused, (unsigned long long)ag->full_dropped);
		ag->full_refused = ag->full_dropped = 0;
	}
}

/* Appends an event and, with key, its idempotency key in the same
 * transaction (before a commit can separate them). */
static int64_t submit_keyed(struct sl_agent *ag, enum sl_event_class cls, const char *id,
			    const char *type, const char *payload, size_t len, const uint8_t *key)
{
	int64_t seq = sl_spool_append(ag->spool, cls, id, type, payload, len);

	if (seq > 0 && key) {
		int64_t now = (int64_t)sl_clock_elapsed_us();
		int rc = sl_spool_key_add(ag->spool, key, id, seq, now,
					  now - (int64_t)ag->cfg->pos_dedup_window_s * 1000000);

		/* the event is stored; only a resend of it would not be recognised */
		if (rc < 0)
			sl_debug("spool: idempotency key not stored: %s", strerror(-rc));
	}
	spool_full_episode(ag, seq);
	if (seq > 0) {
		ag->last_seq = seq;
		ag->in[cls]++;
		if (sl_spool_commit_due(ag->spool, sl_mono_ms()))
			commit_now(ag);
	}
	return seq;
}

static int64_t submit(void *ctx, enum sl_event_class cls, const char *id, const char *type,
		      const char *payload, size_t len)
{
	return submit_keyed(ctx, cls, id, type, payload, len, NULL);
}

#ifdef CONFIG_SL_POS
static int64_t submit_key(void *ctx, enum sl_event_class cls, const char *id, const char *type,
			  const char *payload, size_t len, const uint8_t key[SL_SPOOL_KEY_LEN])
{
	return submit_keyed(ctx, cls, id, type, payload, len, key);
}

/* A resend within [pos] dedup_window_s (elapsed clock: no wall step moves it). */
static int key_find(void *ctx, const uint8_t key[SL_SPOOL_KEY_LEN], char id[SL_UUID_LEN],
		    int64_t *ret_seq)
{
	struct sl_agent *ag = ctx;
	int64_t now = (int64_t)sl_clock_elapsed_us();

	return sl_spool_key_find(ag->spool, key, now - (int64_t)ag->cfg->pos_dedup_window_s * 1000000,
				 id, SL_UUID_LEN, ret_seq);
}
#endif

#ifdef CONFIG_SL_PRESENCE
/* Presence and footfall events from the engine: droppable (0 = dropped). */
static int emit_presence(void *ctx, const struct sl_presence_event *ev)
{
	int64_t seq = submit(ctx, ev->cls, ev->id, ev->type, ev->json, ev->len);

	return seq < 0 ? (int)seq : 0;
}
#endif

/* ---- status (storelinkctl status) ------------------------------------- */

/* The spool's figures both status views share (inside the "spool" object). */
static void spool_fields_json(const struct sl_agent *ag, const struct sl_spool_stats *ss,
			      struct sl_jw *w)
{
	sl_jw_kv_uint(w, "depth", ss->depth);
	sl_jw_key(w, "oldest_age_s");
	if (ss->depth && ss->oldest_age_us >= 0)
		sl_jw_double(w, (double)ss->oldest_age_us / 1e6, 3);
	else
		sl_jw_null(w);
	sl_jw_kv_uint(w, "bytes", ss->bytes);
	sl_jw_kv_uint(w, "cap_bytes", ss->cap_bytes);
	sl_jw_kv_uint(w, "commit_errors", ag->commit_errors);
	sl_jw_key(w, "disk_low");
	sl_jw_bool(w, ss->disk_low);
}

/* The retained status message's "health" (docs/mqtt.md): what a fleet
 * dashboard needs about this gateway, without asking it. */
static void health_json(void *ctx, struct sl_jw *w)
{
	struct sl_agent *ag = ctx;
	struct sl_spool_stats ss = { 0 };
	char day[SL_DAY_LEN];
	int64_t days;

	if (ag->spool)
		sl_spool_stats(ag->spool, &ss);
	sl_jw_obj_begin(w);
	sl_jw_kv_str(w, "board", SL_BOARD);
	sl_jw_kv_uint(w, "uptime_s", (sl_boot_us() - ag->started_us) / 1000000u);
	sl_jw_key(w, "clock_synced");
	sl_jw_bool(w, sl_clock_synced());

	sl_jw_key(w, "spool");
	sl_jw_obj_begin(w);
	spool_fields_json(ag, &ss, w);
	sl_jw_key(w, "classes");
	sl_jw_obj_begin(w);
	for (int c = 0; c < SL_CLASS__COUNT; c++) {
		sl_jw_key(w, sl_event_class_name((enum sl_event_class)c));
		sl_jw_obj_begin(w);
		sl_jw_kv_uint(w, "queued", ss.depth_by_class[c]);
		sl_jw_kv_uint(w, "dropped_overflow", ss.dropped_by_class[c]);
		sl_jw_obj_end(w);
	}
	sl_jw_obj_end(w);
	sl_jw_obj_end(w);

#ifdef CONFIG_SL_POS
	if (ag->pos) {
		struct sl_pos_stats pst;

		sl_pos_stats(ag->pos, &pst);
		sl_jw_key(w, "pos");
		sl_jw_obj_begin(w);
		sl_jw_kv_uint(w, "requests", pst.requests);
		sl_jw_kv_uint(w, "errors", pst.errors);
		sl_jw_kv_uint(w, "auth_failed", pst.auth_failed);
		sl_jw_key(w, "errors_by_code");
		sl_jw_obj_begin(w);
		for (size_t i = 0; i < SL_POS_ERROR_CODES && pst.by_code[i].code; i++)
			sl_jw_kv_uint(w, pst.by_code[i].code, pst.by_code[i].n);
		sl_jw_obj_end(w);
		sl_jw_obj_end(w);
	}
#endif
	sl_jw_key(w, "cert");
	if (ag->cfg->mqtt_tls && sl_cert_not_after(ag->cfg->mqtt_cert_file, day, &days) == 0) {
		sl_jw_obj_begin(w);
		sl_jw_kv_str(w, "not_after", day);
		sl_jw_key(w, "days_left");
		sl_jw_int(w, days);
		sl_jw_obj_end(w);
	} else {
		sl_jw_null(w);
	}
	sl_jw_obj_end(w);
}

static void status_json(void *ctx, struct sl_jw *w)
{
	struct sl_agent *ag = ctx;
	struct sl_spool_stats ss = { 0 };
	struct sl_publisher_stats ps = { 0 };
	struct sl_idclock ck;
	uint64_t now = sl_boot_us();

	sl_clock_id_state(&ck);
	if (ag->spool)
		sl_spool_stats(ag->spool, &ss);
	if (ag->pub)
		sl_publisher_stats(ag->pub, &ps);
	sl_jw_obj_begin(w);
	sl_jw_kv_str(w, "version", SL_VERSION);
	sl_jw_kv_uint(w, "uptime_s", now > ag->started_us ? (now - ag->started_us) / 1000000u : 0);
	sl_jw_kv_str(w, "tenant", ag->cfg->tenant);
	sl_jw_kv_str(w, "store", ag->cfg->store_id);
	sl_jw_kv_str(w, "gateway", ag->cfg->gateway_id);

	sl_jw_key(w, "mqtt");
	sl_jw_obj_begin(w);
	sl_jw_key(w, "connected");
	sl_jw_bool(w, ps.connected);
	sl_jw_key(w, "last_error");
	if (ps.last_error[0])
		sl_jw_str(w, ps.last_error);
	else
		sl_jw_null(w);
	sl_jw_kv_uint(w, "reconnects", ps.reconnects);
	sl_jw_kv_uint(w, "inflight", ps.inflight);
	sl_jw_obj_end(w);

	sl_jw_key(w, "spool");
	sl_jw_obj_begin(w);
	spool_fields_json(ag, &ss, w);
	sl_jw_kv_uint(w, "deletes_pending", ss.deletes_pending);
	sl_jw_obj_end(w);

	sl_jw_key(w, "events");
	sl_jw_obj_begin(w);
	for (int c = 0; c < SL_CLASS__COUNT; c++) {
		sl_jw_key(w, sl_event_class_name((enum sl_event_class)c));
		sl_jw_obj_begin(w);
		sl_jw_kv_uint(w, "in", ag->in[c]);
		sl_jw_kv_uint(w, "out", ss.deleted_by_class[c]);	/* durable deletes after PUBACK */
		sl_jw_kv_uint(w, "queued", ss.depth_by_class[c]);
		sl_jw_kv_uint(w, "dropped", ss.dropped_by_class[c]);
		sl_jw_obj_end(w);
	}
	sl_jw_obj_end(w);

#ifdef CONFIG_SL_POS
	if (ag->pos) {
		struct sl_pos_stats pst;

		sl_pos_stats(ag->pos, &pst);
		sl_jw_key(w, "pos");
		sl_jw_obj_begin(w);
		sl_jw_kv_uint(w, "connections_open", pst.open);
		sl_jw_kv_uint(w, "connections", pst.connections);
		sl_jw_kv_uint(w, "rejected", pst.rejected);
		sl_jw_kv_uint(w, "requests", pst.requests);
		sl_jw_kv_uint(w, "errors", pst.errors);
		sl_jw_kv_uint(w, "unauthenticated", pst.unauthenticated);
		sl_jw_kv_uint(w, "auth_failed", pst.auth_failed);
		sl_jw_kv_uint(w, "auth_blocked", pst.auth_blocked);
		sl_jw_kv_uint(w, "auth_dropped", pst.auth_dropped);
		sl_jw_kv_uint(w, "replies_queued", pst.replies_queued);
		sl_jw_kv_uint(w, "reply_bytes_queued", pst.reply_bytes_queued);
		sl_jw_kv_uint(w, "duplicates", pst.duplicates);
		sl_jw_key(w, "listen");
		sl_jw_arr_begin(w);
		for (int i = 0; sl_pos_listen_addr(ag->pos, i); i++)
			sl_jw_str(w, sl_pos_listen_addr(ag->pos, i));
		sl_jw_arr_end(w);
		sl_jw_obj_end(w);
	}
#endif
#ifdef CONFIG_SL_SCANNER
	if (ag->scanners) {
		sl_jw_key(w, "scanner");
		sl_scanners_status(ag->scanners, w);
	}
#endif
#ifdef CONFIG_SL_PRESENCE
	if (ag->sightings) {
		sl_jw_key(w, "sightings");
		sl_sightings_status(ag->sightings, w);
	}
#endif
	sl_jw_key(w, "clock");
	sl_jw_obj_begin(w);
	sl_jw_key(w, "synced");
	sl_jw_bool(w, sl_clock_synced());
	/* wall clock minus the id clock: non-zero after an ignored step */
	sl_jw_key(w, "offset_s");
	sl_jw_double(w, (double)((int64_t)sl_now_us() - (int64_t)sl_clock_id_us()) / 1e6, 3);
	sl_jw_kv_uint(w, "steps_followed", ck.followed);
	sl_jw_kv_uint(w, "steps_ignored", ck.ignored);
	sl_jw_obj_end(w);

	sl_jw_key(w, "keys");
	sl_jw_obj_begin(w);
	sl_jw_kv_str(w, "key_id", sl_keyring_kid(ag->kr));
	sl_jw_kv_str(w, "key_check", ag->kcv[0]);
	sl_jw_kv_str(w, "next_key_id", sl_keyring_next_kid(ag->kr));
	sl_jw_kv_str(w, "next_key_check", ag->kcv[1][0] ? ag->kcv[1] : NULL);
	sl_jw_obj_end(w);
	sl_jw_kv_uint(w, "loop_wakeups", sl_loop_wakeups(ag->loop));
	sl_jw_obj_end(w);
}

/* ---- signals ---------------------------------------------------------- */

static void reload(struct sl_agent *ag)
{
	struct sl_config *fresh;
	enum sl_log_level level;
	char err[4096];

	if (sl_config_load(&fresh, ag->cfg->path, err, sizeof(err)) < 0) {
		sl_err("SIGHUP: configuration not reloaded:\n%s", err);
		return;
	}
	if (sl_log_level_parse(fresh->log_level, &level) == 0)
		sl_log_set_level(level);
	sl_info("SIGHUP: configuration re-read; log_level = %s applied, other changes "
		"take effect at the next start", fresh->log_level);
	sl_config_free(fresh);
}

static void on_signal(struct sl_io *io, uint32_t revents)
{
	struct sl_agent *ag = io->ctx;
	struct signalfd_siginfo si;

	(void)revents;
	while (read(io->fd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
		switch (si.ssi_signo) {
		case SIGTERM:
		case SIGINT:
			sl_info("%s: stopping", strsignal((int)si.ssi_signo));
			if (IS_ENABLED(CONFIG_SL_SYSTEMD))
				sl_sd_notify("STOPPING=1");
			sl_loop_stop(ag->loop);
			break;
		case SIGHUP:
			reload(ag);
			break;
		}
	}
}

static int signals_open(struct sl_agent *ag)
{
	sigset_t set, old;
	int fd, rc;

	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	if (sigprocmask(SIG_BLOCK, &set, &old) < 0)
		return -errno;
	signal(SIGPIPE, SIG_IGN);	/* a peer closing is an EPIPE, not a death */
	fd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
	if (fd < 0) {
		rc = -errno;
		goto err_unblock;
	}
	ag->sig_io.fd = fd;
	ag->sig_io.events = EPOLLIN;
	ag->sig_io.cb = on_signal;
	ag->sig_io.ctx = ag;
	rc = sl_loop_add(ag->loop, &ag->sig_io);
	if (rc < 0)
		goto err_close;
	return 0;

err_close:
	close(fd);
	ag->sig_io.fd = -1;
err_unblock:
	sigprocmask(SIG_SETMASK, &old, NULL);
	return rc;
}

/* ---- start and stop --------------------------------------------------- */

static int keys_load(const struct sl_config *cfg, struct sl_keyring **ret, char *err,
		     size_t errlen)
{
	return sl_keyring_load(ret, cfg->tenant, cfg->master_key_file, cfg->key_id,
			       cfg->next_master_key_file, cfg->next_key_id, err, errlen);
}

static int state_dir_prepare(const char *dir)
{
	if (mkdir(dir, 0750) < 0 && errno != EEXIST)
		return -errno;
	return 0;
}

/* The pid in a lock file, or 0 if it holds none (yet). */
static long lock_holder(int fd)
{
	char buf[32];
	ssize_t n = pread(fd, buf, sizeof(buf) - 1, 0);
	char *end;
	long pid;

	if (n <= 0)
		return 0;
	buf[n] = '\0';
	pid = strtol(buf, &end, 10);
	return end != buf && (*end == '\n' || *end == '\0') && pid > 0 ? pid : 0;
}

/*
 * One agent per state_dir: an exclusive OFD lock on {state_dir}/storelinkd.lock,
 * taken before the spool or any socket is touched and held until exit (the
 * kernel drops it when the process dies, kill -9 included). The file holds
 * the holder's pid for the "already running" message; it is never removed
 * (removing a lock file lets two processes lock two different files).
 * Returns the fd, or -EBUSY (message logged with the holder's pid) or
 * another -errno.
 */
static int instance_lock(const char *dir)
{
	struct flock fl = { .l_type = F_WRLCK, .l_whence = SEEK_SET };
	char path[PATH_MAX], pid[32];
	long holder = 0;
	int fd, rc, n;

	if (snprintf(path, sizeof(path), "%s/storelinkd.lock", dir) >= (int)sizeof(path)) {
		sl_err("state_dir %s: path too long", dir);
		return -ENAMETOOLONG;
	}
	fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0640);
	if (fd < 0) {
		rc = -errno;
		sl_err("%s: %s", path, strerror(-rc));
		return rc;
	}
	if (fcntl(fd, F_OFD_SETLK, &fl) < 0) {
		rc = -errno;
		if (rc != -EAGAIN && rc != -EACCES) {
			sl_err("%s: lock: %s", path, strerror(-rc));
			goto err_close;
		}
		/* the holder writes its pid right after locking: give it a moment */
		for (int i = 0; i < 50 && !(holder = lock_holder(fd)); i++)
			usleep(10000);
		if (holder)
			sl_err("refusing to start: already running (pid %ld) with state_dir %s "
			       "(lock %s)", holder, dir, path);
		else
			sl_err("refusing to start: already running (pid unknown) with state_dir "
			       "%s (lock %s)", dir, path);
		rc = -EBUSY;
		goto err_close;
	}
	n = snprintf(pid, sizeof(pid), "%ld\n", (long)getpid());
	if (ftruncate(fd, 0) < 0 || pwrite(fd, pid, (size_t)n, 0) != n) {
		rc = errno ? -errno : -EIO;
		sl_err("%s: %s", path, strerror(-rc));
		goto err_close;
	}
	return fd;

err_close:
	close(fd);
	return rc;
}

static void instance_unlock(int fd)
{
	if (fd < 0)
		return;
	/* an empty file says "nobody": the lock itself goes with the fd */
	(void)!ftruncate(fd, 0);
	close(fd);
}

static int modules_open(struct sl_agent *ag)
{
	const struct sl_config *cfg = ag->cfg;
	char path[PATH_MAX], err[512] = "";
	struct sl_spool_recovery rec;
	int rc;

	rc = keys_load(cfg, &ag->kr, err, sizeof(err));
	if (rc < 0) {
		sl_err("refusing to start: %s", err);
		return rc;
	}
	snprintf(ag->key_ids, sizeof(ag->key_ids), "%s%s%s", sl_keyring_kid(ag->kr),
		 sl_keyring_has_next(ag->kr) ? "," : "",
		 sl_keyring_has_next(ag->kr) ? sl_keyring_next_kid(ag->kr) : "");
	rc = sl_keyring_kcv(ag->kr, false, ag->kcv[0]);
	if (rc == 0 && sl_keyring_has_next(ag->kr))
		rc = sl_keyring_kcv(ag->kr, true, ag->kcv[1]);
	if (rc < 0) {
		sl_err("refusing to start: key check value: %s", strerror(-rc));
		return rc;
	}
	snprintf(ag->key_checks, sizeof(ag->key_checks), "%s%s%s", ag->kcv[0],
		 ag->kcv[1][0] ? "," : "", ag->kcv[1]);

	if (snprintf(path, sizeof(path), "%s/spool.db", cfg->state_dir) >= (int)sizeof(path))
		return -ENAMETOOLONG;
	{
		struct sl_spool_cfg sc = {
			.path = path,
			.max_mb = (uint32_t)cfg->spool_max_mb,
			.sync = cfg->spool_sync_full ? SL_SPOOL_SYNC_FULL : SL_SPOOL_SYNC_NORMAL,
			.commit_ms = (uint32_t)cfg->spool_commit_ms,
			.commit_max = (uint32_t)cfg->spool_commit_max,
		};

		rc = sl_spool_open(&ag->spool, &sc, &rec);
		if (rc < 0) {
			sl_err("spool %s: %s", path, strerror(-rc));
			return rc;
		}
		if (rec.damaged)
			sl_err("spool %s was damaged (%s): moved aside as %s (and -wal); recovered "
			       "%" PRIu64 " events into a fresh spool (%" PRIu64 " pages and %" PRIu64
			       " WAL frames read; unreadable: %" PRIu64 " records, %" PRIu64
			       " pages, %" PRIu64 " WAL frames)", path, rec.reason, rec.moved_to,
			       rec.rows, rec.pages, rec.wal_frames, rec.rows_bad, rec.pages_bad,
			       rec.wal_frames_bad);
	}

	rc = sl_publisher_open(&ag->pub, ag->loop, cfg, ag->spool, ag->key_ids, ag->key_checks,
			       err, sizeof(err));
	if (rc < 0) {
		sl_err("mqtt: %s", err);
		return rc;
	}
	sl_publisher_set_health(ag->pub, health_json, ag, (unsigned)cfg->mqtt_status_interval_s);

#ifdef CONFIG_SL_POS
	if (cfg->pos_listen) {
		const struct sl_pos_cfg pc = {
			.listen = cfg->pos_listen,
			.auth_token_file = cfg->pos_auth_token_file,
			.socket_mode = cfg->pos_socket_mode,
			.socket_group = cfg->pos_socket_group,
			.max_connections = cfg->pos_max_connections,
			.idle_timeout_s = cfg->pos_idle_timeout_s,
			.auth_timeout_s = cfg->pos_auth_timeout_s,
			.max_unauthenticated = cfg->pos_max_unauthenticated,
			.auth_max_failures = cfg->pos_auth_max_failures,
		};
		const struct sl_pos_ctx ctx = {
			.kr = ag->kr,
			.origin = { cfg->tenant, cfg->store_id, cfg->gateway_id },
			.zone = cfg->zone,
			.max_ts_skew_us = (uint64_t)cfg->pos_max_ts_skew_s * 1000000u,
		};
		const bool dedup = cfg->pos_dedup_window_s > 0;
		const struct sl_pos_sink sink = {
			.submit = submit,
			.ctx = ag,
			.find = dedup ? key_find : NULL,
			.submit_key = dedup ? submit_key : NULL,
		};

		rc = sl_pos_open(&ag->pos, ag->loop, &pc, &ctx, &sink, err, sizeof(err));
		if (rc < 0) {
			sl_err("pos: %s", err);
			return rc;
		}
		for (int i = 0; sl_pos_listen_addr(ag->pos, i); i++)
			sl_info("pos: listening on %s", sl_pos_listen_addr(ag->pos, i));
	}
#endif

#ifdef CONFIG_SL_SCANNER
	rc = sl_scanners_open(&ag->scanners, ag->loop, cfg, ag->kr, submit, ag, err, sizeof(err));
	if (rc < 0) {
		sl_err("%s", err);
		return rc;
	}
#endif

#ifdef CONFIG_SL_PRESENCE
	rc = sl_sightings_open(&ag->sightings, ag->loop, cfg, ag->kr, emit_presence, ag, err,
			       sizeof(err));
	if (rc < 0) {
		sl_err("%s", err);
		return rc;
	}
#endif

	if (IS_ENABLED(CONFIG_SL_CONTROL)) {
		rc = sl_control_open(&ag->ctl, ag->loop, cfg->control_socket, status_json, ag, err,
				     sizeof(err));
		if (rc < 0) {
			sl_err("%s", err);
			return rc;
		}
	}
	return 0;
}

static void modules_close(struct sl_agent *ag)
{
	sl_control_close(ag->ctl);
#ifdef CONFIG_SL_POS
	sl_pos_close(ag->pos);
#endif
#ifdef CONFIG_SL_SCANNER
	sl_scanners_close(ag->scanners);
#endif
#ifdef CONFIG_SL_PRESENCE
	/* last exits and footfall go into the spool before it closes */
	sl_sightings_close(ag->sightings);
#endif
	/* what the POS was told is committed; commit the deletes too */
	if (ag->spool && sl_spool_pending(ag->spool))
		commit_now(ag);
	sl_publisher_close(ag->pub);
	sl_timer_cancel(ag->loop, &ag->commit_timer);
	sl_spool_close(ag->spool);
	sl_keyring_free(ag->kr);
}

int sl_agent_run(struct sl_config *cfg)
{
	struct sl_agent ag = {
		.cfg = cfg,
		.sig_io.fd = -1,
		.lock_fd = -1,
		.started_us = sl_boot_us(),
	};
	struct sl_sd_watchdog watchdog = { 0 };
	int rc;

	(void)sl_clock_id_us();	/* anchors the id and elapsed clocks at start */
	if (!cfg->mqtt_tls)
		sl_warn("[mqtt] tls = off: events go to %s:%d in plaintext; use it only for "
			"a broker on this machine", cfg->mqtt_host, cfg->mqtt_port);
	rc = state_dir_prepare(cfg->state_dir);
	if (rc < 0) {
		sl_err("state_dir %s: %s", cfg->state_dir, strerror(-rc));
		return 1;
	}
	ag.lock_fd = instance_lock(cfg->state_dir);
	if (ag.lock_fd < 0)
		return 1;
	rc = sl_loop_new(&ag.loop);
	if (rc < 0) {
		sl_err("event loop: %s", strerror(-rc));
		ag.exit_status = 1;
		goto out_unlock;
	}
	ag.commit_timer.cb = commit_cb;
	ag.commit_timer.ctx = &ag;
	rc = signals_open(&ag);
	if (rc < 0) {
		sl_err("signals: %s", strerror(-rc));
		ag.exit_status = 1;
		goto out_loop;
	}
	rc = modules_open(&ag);
	if (rc < 0) {
		ag.exit_status = 1;
		goto out_modules;
	}
	sl_loop_set_post_hook(ag.loop, post_round, &ag);

	sl_info("storelinkd %s started (tenant %s, store %s, gateway %s, key %s, check %s)",
		SL_VERSION, cfg->tenant, cfg->store_id, cfg->gateway_id, ag.key_ids,
		ag.key_checks);
	if (IS_ENABLED(CONFIG_SL_SYSTEMD))
		sl_sd_notify("READY=1");
	if (IS_ENABLED(CONFIG_SL_SYSTEMD) && sl_sd_watchdog_start(&watchdog, ag.loop) < 0)
		sl_warn("WATCHDOG_USEC/WATCHDOG_PID not numbers: no watchdog keep-alives");
	rc = sl_loop_run(ag.loop);
	sl_sd_watchdog_stop(&watchdog);
	if (rc < 0) {
		sl_err("event loop: %s", strerror(-rc));
		ag.exit_status = 1;
	}
	sl_loop_set_post_hook(ag.loop, NULL, NULL);

out_modules:
	modules_close(&ag);
	sl_loop_del(ag.loop, &ag.sig_io);
	if (ag.sig_io.fd >= 0)
		close(ag.sig_io.fd);
	sl_info("stopped");
out_loop:
	sl_loop_free(ag.loop);
out_unlock:
	instance_unlock(ag.lock_fd);
	return ag.exit_status;
}
