/* SPDX-License-Identifier: MIT */
/*
 * The running agent (see agent.h): builds the loop, installs the signalfd,
 * starts the modules the configuration asks for, notifies systemd, and
 * tears everything down in reverse order on SIGTERM/SIGINT.
 */
#include "agent.h"

#include "config.h"
#include "log.h"
#include "loop.h"
#include "sdnotify.h"
#include "util.h"

#include <errno.h>
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
	int exit_status;
};

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

int sl_agent_check(const struct sl_config *cfg, char *err, size_t errlen)
{
	(void)cfg;
	if (errlen)
		err[0] = '\0';
	return 0;
}

static int state_dir_prepare(const char *dir)
{
	if (mkdir(dir, 0750) < 0 && errno != EEXIST)
		return -errno;
	return 0;
}

int sl_agent_run(struct sl_config *cfg)
{
	struct sl_agent ag = { .cfg = cfg, .sig_io.fd = -1 };
	int rc;

	if (!cfg->mqtt_tls)
		sl_warn("[mqtt] tls = off: events go to %s:%d in plaintext", cfg->mqtt_host,
			cfg->mqtt_port);
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
	rc = signals_open(&ag);
	if (rc < 0) {
		sl_err("signals: %s", strerror(-rc));
		ag.exit_status = 1;
		goto out_loop;
	}

	sl_info("storelinkd %s started (tenant %s, store %s, gateway %s)", SL_VERSION,
		cfg->tenant, cfg->store_id, cfg->gateway_id);
	if (IS_ENABLED(CONFIG_SL_SYSTEMD))
		sl_sd_notify("READY=1");
	rc = sl_loop_run(ag.loop);
	if (rc < 0) {
		sl_err("event loop: %s", strerror(-rc));
		ag.exit_status = 1;
	}
	sl_info("stopped");

	sl_loop_del(ag.loop, &ag.sig_io);
	close(ag.sig_io.fd);
out_loop:
	sl_loop_free(ag.loop);
	return ag.exit_status;
}
