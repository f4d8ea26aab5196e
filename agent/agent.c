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
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <unistd.h>

struct sl_agent {
	struct sl_config *cfg;
	struct sl_loop *loop;
	struct sl_io sig_io;
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
	uint64_t started_us;
	char key_ids[2 * SL_KID_MAX + 2];
	int exit_status;
};

/* ---- spool commits ---------------------------------------------------- */

static void commit_now(struct sl_agent *ag)
{
	int64_t durable = sl_spool_commit(ag->spool);

	if (durable < 0) {
		ag->commit_errors++;
		sl_err("spool commit failed: %s; the POS gets %s for the events of this batch",
		       strerror((int)-durable), durable == -ENOSPC ? "spool_full" : "spool_error");
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

static int64_t submit(void *ctx, enum sl_event_class cls, const char *id, const char *type,
		      const char *payload, size_t len)
{
	struct sl_agent *ag = ctx;
	int64_t seq = sl_spool_append(ag->spool, cls, id, type, payload, len);

	if (seq > 0) {
		ag->last_seq = seq;
		ag->in[cls]++;
		if (sl_spool_commit_due(ag->spool, sl_mono_ms()))
			commit_now(ag);
	}
	return seq;
}

#ifdef CONFIG_SL_PRESENCE
/* Presence and footfall events from the engine: droppable (0 = dropped). */
static int emit_presence(void *ctx, const struct sl_presence_event *ev)
{
	int64_t seq = submit(ctx, ev->cls, ev->id, ev->type, ev->json, ev->len);

	return seq < 0 ? (int)seq : 0;
}
#endif

/* ---- status (storelinkctl status) ------------------------------------- */

static void status_json(void *ctx, struct sl_jw *w)
{
	struct sl_agent *ag = ctx;
	struct sl_spool_stats ss = { 0 };
	struct sl_publisher_stats ps = { 0 };
	uint64_t now = sl_now_us();

	if (ag->spool)
		sl_spool_stats(ag->spool, &ss);
	if (ag->pub)
		sl_publisher_stats(ag->pub, &ps);
	sl_jw_obj_begin(w);
	sl_jw_kv_str(w, "version", SL_VERSION);
	sl_jw_kv_uint(w, "uptime_s", (now - ag->started_us) / 1000000u);
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
	sl_jw_kv_uint(w, "depth", ss.depth);
	sl_jw_key(w, "oldest_age_s");
	if (ss.oldest_created_us > 0 && (uint64_t)ss.oldest_created_us <= now)
		sl_jw_double(w, (double)(now - (uint64_t)ss.oldest_created_us) / 1e6, 3);
	else
		sl_jw_null(w);
	sl_jw_kv_uint(w, "bytes", ss.bytes);
	sl_jw_kv_uint(w, "cap_bytes", ss.cap_bytes);
	sl_jw_kv_uint(w, "commit_errors", ag->commit_errors);
	sl_jw_obj_end(w);

	sl_jw_key(w, "events");
	sl_jw_obj_begin(w);
	for (int c = 0; c < SL_CLASS__COUNT; c++) {
		sl_jw_key(w, sl_event_class_name((enum sl_event_class)c));
		sl_jw_obj_begin(w);
		sl_jw_kv_uint(w, "in", ag->in[c]);
		sl_jw_kv_uint(w, "out", ps.published[c]);
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
	sl_jw_key(w, "keys");
	sl_jw_obj_begin(w);
	sl_jw_kv_str(w, "key_id", sl_keyring_kid(ag->kr));
	sl_jw_kv_str(w, "next_key_id", sl_keyring_next_kid(ag->kr));
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
	sigset_t set;
	int fd;

	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	if (sigprocmask(SIG_BLOCK, &set, NULL) < 0)
		return -errno;
	signal(SIGPIPE, SIG_IGN);	/* a peer closing is an EPIPE, not a death */
	fd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
	if (fd < 0)
		return -errno;
	ag->sig_io.fd = fd;
	ag->sig_io.events = EPOLLIN;
	ag->sig_io.cb = on_signal;
	ag->sig_io.ctx = ag;
	return sl_loop_add(ag->loop, &ag->sig_io);
}

/* ---- start and stop --------------------------------------------------- */

static int keys_load(const struct sl_config *cfg, struct sl_keyring **ret, char *err,
		     size_t errlen)
{
	return sl_keyring_load(ret, cfg->tenant, cfg->master_key_file, cfg->key_id,
			       cfg->next_master_key_file, cfg->next_key_id, err, errlen);
}

int sl_agent_check(const struct sl_config *cfg, char *err, size_t errlen)
{
	struct sl_keyring *kr = NULL;
	const char *files[] = { cfg->mqtt_ca_file, cfg->mqtt_cert_file, cfg->mqtt_key_file };
	int rc;

	rc = keys_load(cfg, &kr, err, errlen);
	sl_keyring_free(kr);
	if (rc < 0)
		return rc;
	for (size_t i = 0; cfg->mqtt_tls && i < ARRAY_SIZE(files); i++)
		if (files[i] && access(files[i], R_OK) < 0) {
			rc = -errno;
			snprintf(err, errlen, "[mqtt] %s: %s", files[i], strerror(-rc));
			return rc;
		}
	return 0;
}

static int state_dir_prepare(const char *dir)
{
	if (mkdir(dir, 0750) < 0 && errno != EEXIST)
		return -errno;
	return 0;
}

static int modules_open(struct sl_agent *ag)
{
	const struct sl_config *cfg = ag->cfg;
	char path[PATH_MAX], err[512] = "";
	bool recovered = false;
	int rc;

	rc = keys_load(cfg, &ag->kr, err, sizeof(err));
	if (rc < 0) {
		sl_err("refusing to start: %s", err);
		return rc;
	}
	snprintf(ag->key_ids, sizeof(ag->key_ids), "%s%s%s", sl_keyring_kid(ag->kr),
		 sl_keyring_has_next(ag->kr) ? "," : "",
		 sl_keyring_has_next(ag->kr) ? sl_keyring_next_kid(ag->kr) : "");

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

		rc = sl_spool_open(&ag->spool, &sc, &recovered);
		if (rc < 0) {
			sl_err("spool %s: %s", path, strerror(-rc));
			return rc;
		}
		if (recovered)
			sl_err("spool %s was damaged: moved aside as spool.db.corrupt-* and "
			       "replaced by an empty one; events in it were not sent", path);
	}

	rc = sl_publisher_open(&ag->pub, ag->loop, cfg, ag->spool, ag->key_ids, err, sizeof(err));
	if (rc < 0) {
		sl_err("mqtt: %s", err);
		return rc;
	}

#ifdef CONFIG_SL_POS
	if (cfg->pos_listen) {
		const struct sl_pos_cfg pc = {
			.listen = cfg->pos_listen,
			.auth_token_file = cfg->pos_auth_token_file,
			.socket_mode = cfg->pos_socket_mode,
			.socket_group = cfg->pos_socket_group,
			.max_connections = cfg->pos_max_connections,
			.idle_timeout_s = cfg->pos_idle_timeout_s,
		};
		const struct sl_pos_ctx ctx = {
			.kr = ag->kr,
			.origin = { cfg->tenant, cfg->store_id, cfg->gateway_id },
			.zone = cfg->zone,
		};
		const struct sl_pos_sink sink = { .submit = submit, .ctx = ag };

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
		.started_us = sl_now_us(),
	};
	struct sl_sd_watchdog watchdog = { 0 };
	int rc;

	if (!cfg->mqtt_tls)
		sl_warn("[mqtt] tls = off: events go to %s:%d in plaintext; use it only for "
			"a broker on this machine", cfg->mqtt_host, cfg->mqtt_port);
	rc = state_dir_prepare(cfg->state_dir);
	if (rc < 0) {
		sl_err("state_dir %s: %s", cfg->state_dir, strerror(-rc));
		return 1;
	}
	rc = sl_loop_new(&ag.loop);
	if (rc < 0) {
		sl_err("event loop: %s", strerror(-rc));
		return 1;
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

	sl_info("storelinkd %s started (tenant %s, store %s, gateway %s, key %s)", SL_VERSION,
		cfg->tenant, cfg->store_id, cfg->gateway_id, ag.key_ids);
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
	return ag.exit_status;
}
