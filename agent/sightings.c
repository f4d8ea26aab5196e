/* SPDX-License-Identifier: MIT */
/*
 * Sightings pump (see sightings.h). One struct src per medium; the
 * medium-specific parts are the open and read-one functions, the rest
 * (polling, replay pacing, reopen backoff, end of replay) is shared.
 */
#include "sightings.h"

#include "clock.h"
#include "log.h"
#include "util.h"

#ifdef CONFIG_SL_BLE
#include <hal/ble.h>
#endif
#ifdef CONFIG_SL_WIFI
#include <hal/wifi.h>
#endif

#include <errno.h>
#include <mbedtls/platform_util.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define BATCH 512		/* sightings per wake-up, then yield to the loop */
#define BACKOFF_MIN_MS 1000
#define BACKOFF_MAX_MS 60000

struct sl_sightings;

struct src {
	struct sl_sightings *s;
	const char *medium;		/* "ble" | "wifi" */
	bool enabled;
	bool replay;			/* a file: read from a timer, not polled */
	bool open;
	bool done;			/* replay reached its end */
	struct sl_io io;
	struct sl_timer timer;		/* replay batches, live continuation, reopen */
	struct sl_timer hop;		/* Wi-Fi channel hopping */
	unsigned failures;		/* reopen attempts since the source was lost */
	uint64_t count;			/* sightings read */
	uint64_t rejected;		/* refused by the engine */
	uint64_t reopens;
	uint64_t last_ts;		/* newest sighting time */
	int (*open_fn)(struct src *src);
	int (*fd_fn)(struct src *src);
	int (*read_fn)(struct src *src);	/* 1, 0, -errno as the HAL */
	int (*retry_fn)(struct src *src);
	void (*close_fn)(struct src *src);
};

struct sl_sightings {
	struct sl_loop *loop;
	const struct sl_config *cfg;
	struct sl_presence *engine;
	struct sl_timer advance;	/* live: absence timeouts, footfall, day end */
	bool finished;
#ifdef CONFIG_SL_BLE
	struct hal_ble ble;
	struct hal_ble_cfg ble_cfg;
	struct hal_ble_sighting ble_buf;	/* RAW: zeroized after each */
#endif
#ifdef CONFIG_SL_WIFI
	struct hal_wifi wifi;
	struct hal_wifi_cfg wifi_cfg;
	struct hal_wifi_sighting wifi_buf;	/* RAW: zeroized after each */
#endif
	struct src src[2];
};

static void src_pump(struct src *src);

/* ---- BLE -------------------------------------------------------------- */

#ifdef CONFIG_SL_BLE
static int ble_open(struct src *src)
{
	return hal_ble_open(&src->s->ble, src->s->cfg->ble_source, &src->s->ble_cfg);
}

static int ble_fd(struct src *src)
{
	return src->s->ble.ops->fd(&src->s->ble);
}

static int ble_read(struct src *src)
{
	struct sl_sightings *s = src->s;
	struct sl_presence_sighting ps;
	char id[SL_PRESENCE_ID_MAX + 1];
	int rc = s->ble.ops->read(&s->ble, &s->ble_buf);

	if (rc != 1)
		return rc;
	src->count++;
	if (!src->replay)	/* the engine runs on the id clock (clock.h) */
		s->ble_buf.ts_us = sl_clock_wall_to_id_us(s->ble_buf.ts_us);
	src->last_ts = s->ble_buf.ts_us;
	if (sl_presence_from_ble(&s->ble_buf, &ps, id) == 1 &&
	    sl_presence_sighting(s->engine, &ps) < 0)
		src->rejected++;
	mbedtls_platform_zeroize(&ps, sizeof(ps));
	mbedtls_platform_zeroize(&s->ble_buf, sizeof(s->ble_buf));
	return 1;
}

static void ble_close(struct src *src)
{
	hal_ble_close(&src->s->ble);
}
#endif

/* ---- Wi-Fi ------------------------------------------------------------ */

#ifdef CONFIG_SL_WIFI
static int wifi_open(struct src *src)
{
	return hal_wifi_open(&src->s->wifi, src->s->cfg->wifi_source, &src->s->wifi_cfg);
}

static int wifi_fd(struct src *src)
{
	return hal_wifi_fd(&src->s->wifi);
}

static int wifi_read(struct src *src)
{
	struct sl_sightings *s = src->s;
	struct sl_presence_sighting ps;
	int rc = hal_wifi_read(&s->wifi, &s->wifi_buf);

	if (rc != 1)
		return rc;
	src->count++;
	if (!src->replay)	/* the engine runs on the id clock (clock.h) */
		s->wifi_buf.ts_us = sl_clock_wall_to_id_us(s->wifi_buf.ts_us);
	src->last_ts = s->wifi_buf.ts_us;
	if (sl_presence_from_wifi(&s->wifi_buf, &ps) == 1 &&
	    sl_presence_sighting(s->engine, &ps) < 0)
		src->rejected++;
	mbedtls_platform_zeroize(&ps, sizeof(ps));
	mbedtls_platform_zeroize(&s->wifi_buf, sizeof(s->wifi_buf));
	return 1;
}

static int wifi_retry(struct src *src)
{
	return hal_wifi_retry(&src->s->wifi);
}

static void wifi_close(struct src *src)
{
	hal_wifi_close(&src->s->wifi);
}

static void hop_cb(struct sl_timer *t)
{
	struct src *src = t->ctx;
	int rc = hal_wifi_hop(&src->s->wifi);

	if (rc < 0 && rc != -ENETDOWN)
		sl_debug("wifi: channel hop: %s", strerror(-rc));
	sl_timer_arm(src->s->loop, t, src->s->wifi_cfg.hop_ms);
}
#endif

/* ---- shared driver ---------------------------------------------------- */

static bool all_replays_done(const struct sl_sightings *s)
{
	for (size_t i = 0; i < ARRAY_SIZE(s->src); i++)
		if (s->src[i].enabled && (!s->src[i].replay || !s->src[i].done))
			return false;
	return true;
}

static bool any_live(const struct sl_sightings *s)
{
	for (size_t i = 0; i < ARRAY_SIZE(s->src); i++)
		if (s->src[i].enabled && !s->src[i].replay)
			return true;
	return false;
}

static void arm_advance(struct sl_sightings *s)
{
	uint64_t due = sl_presence_next_deadline(s->engine), now = sl_clock_id_us();

	if (!any_live(s) || due == UINT64_MAX)
		return;
	sl_timer_arm(s->loop, &s->advance, due > now ? (due - now) / 1000 + 1 : 0);
}

static void advance_cb(struct sl_timer *t)
{
	struct sl_sightings *s = t->ctx;

	sl_presence_advance(s->engine, sl_clock_id_us());	/* live only: see arm_advance */
	arm_advance(s);
}

static void src_detach(struct src *src)
{
	sl_loop_del(src->s->loop, &src->io);
	sl_timer_cancel(src->s->loop, &src->hop);
}

static void src_lost(struct src *src, int rc)
{
	unsigned delay = BACKOFF_MIN_MS << (src->failures < 6 ? src->failures : 6);

	if (delay > BACKOFF_MAX_MS)
		delay = BACKOFF_MAX_MS;
	if (src->failures == 0)
		sl_warn("%s: source %s lost (%s); reopening with backoff", src->medium,
			src->medium[0] == 'b' ? src->s->cfg->ble_source : src->s->cfg->wifi_source,
			strerror(-rc));
	src_detach(src);
	if (src->open && !src->retry_fn) {
		src->close_fn(src);
		src->open = false;
	}
	src->failures++;
	sl_timer_arm(src->s->loop, &src->timer, delay);
}

static void replay_done(struct src *src, int rc)
{
	struct sl_sightings *s = src->s;

	src_detach(src);
	src->done = true;
	if (rc == -ENODATA)
		sl_info("%s: replay finished: %llu sightings", src->medium,
			(unsigned long long)src->count);
	else
		sl_err("%s: replay stopped after %llu sightings: %s", src->medium,
		       (unsigned long long)src->count, strerror(-rc));
	if (all_replays_done(s) && !s->finished) {
		uint64_t last = 0;

		for (size_t i = 0; i < ARRAY_SIZE(s->src); i++)
			if (s->src[i].last_ts > last)
				last = s->src[i].last_ts;
		/* the replay's own end: exits for everyone, the last footfall */
		sl_presence_finish(s->engine, last);
		s->finished = true;
	}
}

static void src_pump(struct src *src)
{
	int rc = 0;

	for (int i = 0; i < BATCH; i++) {
		rc = src->read_fn(src);
		if (rc != 1)
			break;
	}
	if (rc == 1) {
		/* more may be buffered: continue after the others had a turn */
		sl_timer_arm(src->s->loop, &src->timer, 0);
	} else if (rc == 0) {
		if (src->replay)
			sl_timer_arm(src->s->loop, &src->timer, 0);
	} else if (src->replay) {
		replay_done(src, rc);
	} else {
		src_lost(src, rc);
	}
	arm_advance(src->s);
}

static void io_cb(struct sl_io *io, uint32_t revents)
{
	(void)revents;
	src_pump(io->ctx);
}

static int src_attach(struct src *src)
{
	int fd;

	if (src->replay) {
		sl_timer_arm(src->s->loop, &src->timer, 0);
		return 0;
	}
	fd = src->fd_fn(src);
	if (fd < 0)
		return fd;
	src->io.fd = fd;
	src->io.events = EPOLLIN;
	src->io.cb = io_cb;
	src->io.ctx = src;
	return sl_loop_add(src->s->loop, &src->io);
}

static void timer_cb(struct sl_timer *t)
{
	struct src *src = t->ctx;
	int rc;

	if (src->open && (src->replay || src->io.added)) {
		src_pump(src);
		return;
	}
	/* reopening a lost live source (or one absent at start: never opened) */
	rc = src->retry_fn && src->open ? src->retry_fn(src) : src->open_fn(src);
	if (rc == 0) {
		src->open = true;
		rc = src_attach(src);
	}
	if (rc < 0) {
		src_lost(src, rc);
		return;
	}
	sl_info("%s: source back after %u attempt(s)", src->medium, src->failures);
	src->failures = 0;
	src->reopens++;
#ifdef CONFIG_SL_WIFI
	if (src == &src->s->src[1] && src->s->wifi_cfg.n_channels > 1)
		sl_timer_arm(src->s->loop, &src->hop, src->s->wifi_cfg.hop_ms);
#endif
	src_pump(src);
}

/* Errors that mean "no such adapter (yet)" rather than a wrong setting. */
static bool adapter_absent(int rc)
{
	return rc == -ENODEV || rc == -ENOENT || rc == -ENXIO || rc == -ENETDOWN ||
	       rc == -EHOSTDOWN || rc == -ERFKILL;
}

static int src_start(struct src *src, char *err, size_t errlen, const char *source)
{
	int rc;

	src->timer.cb = timer_cb;
	src->timer.ctx = src;
	rc = src->open_fn(src);
	if (rc < 0 && !src->replay && adapter_absent(rc)) {
		/* an adapter that is not there (yet): a USB dongle plugged in
		 * later, a driver still loading. Wait for it, as for scanners */
		sl_warn("[%s] source = %s: %s; waiting for it (retrying with backoff)",
			src->medium, source, strerror(-rc));
		src->failures = 1;	/* src_lost() logged nothing more */
		sl_timer_arm(src->s->loop, &src->timer, BACKOFF_MIN_MS);
		return 0;
	}
	if (rc < 0) {
		snprintf(err, errlen, "[%s] source = %s: %s", src->medium, source, strerror(-rc));
		return rc;
	}
	src->open = true;
	rc = src_attach(src);
	if (rc < 0) {
		snprintf(err, errlen, "[%s] source = %s: %s", src->medium, source, strerror(-rc));
		return rc;
	}
	sl_info("%s: reading %s", src->medium, source);
	return 0;
}

static void presence_cfg(const struct sl_config *cfg, struct sl_presence_cfg *pc)
{
	sl_presence_cfg_defaults(pc);
	pc->enter_rssi = cfg->presence_enter_rssi;
	pc->exit_rssi = cfg->presence_exit_rssi;
	pc->absence_s = (uint32_t)cfg->presence_absence_s;
	pc->min_sightings = (uint32_t)cfg->presence_min_sightings;
	pc->capacity = (uint32_t)cfg->presence_capacity;
	pc->footfall_interval_s = (uint32_t)cfg->presence_footfall_interval_s;
	pc->footfall_min_count = (uint32_t)cfg->presence_footfall_min_count;
	pc->footfall_rssi = cfg->presence_footfall_rssi;
	pc->origin.tenant = cfg->tenant;
	pc->origin.store = cfg->store_id;
	pc->origin.gateway = cfg->gateway_id;
	pc->zone = cfg->zone;
}

int sl_sightings_open(struct sl_sightings **ret, struct sl_loop *loop,
		      const struct sl_config *cfg, struct sl_keyring *kr,
		      sl_presence_emit_fn emit, void *ctx, char *err, size_t errlen)
{
	bool ble_on = strcmp(cfg->ble_source, "off") != 0;
	bool wifi_on = strcmp(cfg->wifi_source, "off") != 0;
	struct sl_presence_cfg pc;
	struct sl_sightings *s;
	int rc;

	*ret = NULL;
	if (!ble_on && !wifi_on)
		return 0;
	s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	s->loop = loop;
	s->cfg = cfg;
	s->advance.cb = advance_cb;
	s->advance.ctx = s;
	presence_cfg(cfg, &pc);
	rc = sl_presence_new(&s->engine, &pc, kr, emit, ctx);
	if (rc < 0) {
		snprintf(err, errlen, "[presence]: %s", strerror(-rc));
		free(s);
		return rc;
	}
	for (size_t i = 0; i < ARRAY_SIZE(s->src); i++) {
		s->src[i].s = s;
		s->src[i].hop.ctx = &s->src[i];
	}
#ifdef CONFIG_SL_BLE
	if (ble_on) {
		struct src *src = &s->src[0];

		src->medium = "ble";
		src->enabled = true;
		src->replay = strncmp(cfg->ble_source, "btsnoop:", 8) == 0;
		src->open_fn = ble_open;
		src->fd_fn = ble_fd;
		src->read_fn = ble_read;
		src->close_fn = ble_close;
		s->ble_cfg.active = cfg->ble_active_scan;
		s->ble_cfg.app_uuid = cfg->ble_app_uuid;
		s->ble_cfg.irk_file = cfg->ble_irk_file;
		rc = src_start(src, err, errlen, cfg->ble_source);
		if (rc < 0)
			goto err_close;
	}
#endif
#ifdef CONFIG_SL_WIFI
	if (wifi_on) {
		struct src *src = &s->src[1];

		src->medium = "wifi";
		src->enabled = true;
		src->replay = strncmp(cfg->wifi_source, "pcapfile:", 9) == 0;
		src->open_fn = wifi_open;
		src->fd_fn = wifi_fd;
		src->read_fn = wifi_read;
		src->retry_fn = src->replay ? NULL : wifi_retry;
		src->close_fn = wifi_close;
		src->hop.cb = hop_cb;
		s->wifi_cfg.hop_ms = (unsigned)cfg->wifi_hop_ms;
		if (cfg->wifi_channels &&
		    hal_wifi_channels_parse(cfg->wifi_channels, &s->wifi_cfg) < 0) {
			snprintf(err, errlen, "[wifi] channels = %s: not a list of channels",
				 cfg->wifi_channels);
			rc = -EINVAL;
			goto err_close;
		}
		rc = src_start(src, err, errlen, cfg->wifi_source);
		if (rc < 0)
			goto err_close;
		if (!src->replay && src->open && s->wifi_cfg.n_channels > 1)
			sl_timer_arm(loop, &src->hop, s->wifi_cfg.hop_ms);
	}
#endif
	*ret = s;
	return 0;

err_close:
	s->finished = true;	/* nothing to report for a start that failed */
	sl_sightings_close(s);
	return rc;
}

void sl_sightings_close(struct sl_sightings *s)
{
	if (!s)
		return;
	if (!s->finished) {
		uint64_t end = 0;

		for (size_t i = 0; i < ARRAY_SIZE(s->src); i++)
			if (s->src[i].enabled && s->src[i].last_ts > end)
				end = s->src[i].last_ts;
		if (any_live(s))
			end = sl_clock_id_us();
		sl_presence_finish(s->engine, end);
	}
	for (size_t i = 0; i < ARRAY_SIZE(s->src); i++) {
		struct src *src = &s->src[i];

		if (!src->enabled)
			continue;
		src_detach(src);
		sl_timer_cancel(s->loop, &src->timer);
		if (src->open)
			src->close_fn(src);
	}
	sl_timer_cancel(s->loop, &s->advance);
	sl_presence_free(s->engine);
	mbedtls_platform_zeroize(s, sizeof(*s));
	free(s);
}

void sl_sightings_status(const struct sl_sightings *s, struct sl_jw *w)
{
	struct sl_presence_stats ps;

	sl_presence_get_stats(s->engine, &ps);
	sl_jw_obj_begin(w);
	for (size_t i = 0; i < ARRAY_SIZE(s->src); i++) {
		const struct src *src = &s->src[i];

		if (!src->enabled)
			continue;
		sl_jw_key(w, src->medium);
		sl_jw_obj_begin(w);
		sl_jw_kv_str(w, "state", src->done ? "finished" : !src->failures ? "reading"
					 : src->reopens || src->count ? "lost" : "waiting");
		sl_jw_kv_uint(w, "attempts", src->failures);	/* since lost or absent */
		sl_jw_kv_uint(w, "sightings", src->count);
		sl_jw_kv_uint(w, "rejected", src->rejected);
		sl_jw_kv_uint(w, "reopens", src->reopens);
		sl_jw_obj_end(w);
	}
	sl_jw_key(w, "presence");
	sl_jw_obj_begin(w);
	sl_jw_kv_uint(w, "subjects", ps.subjects);
	sl_jw_kv_uint(w, "present", ps.present);
	sl_jw_kv_uint(w, "enters", ps.enters);
	sl_jw_kv_uint(w, "exits", ps.exits);
	sl_jw_kv_uint(w, "footfall_events", ps.footfall_events);
	sl_jw_kv_uint(w, "evictions", ps.evictions);
	sl_jw_kv_uint(w, "mem_bytes", ps.mem_bytes);
	sl_jw_obj_end(w);
	sl_jw_obj_end(w);
}
