/* SPDX-License-Identifier: MIT */
/*
 * Scanner pump (see scanners.h): sl_scan_to_event() is the privacy stage
 * for scans, like pos_request.c for POS lines; the rest drives the one
 * [scanner] source from the loop (poll a live device, timer batches for a
 * replay, reopen with backoff when a device goes away), as sightings.c
 * does for the radios.
 */
#include "scanners.h"

#include "clock.h"
#include "log.h"
#include "pan.h"
#include "privacy.h"

#include <hal/scanner.h>

#include <errno.h>
#include <mbedtls/platform_util.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define BATCH 512		/* scans per wake-up (replay), then yield to the loop */
#define BACKOFF_MIN_MS 1000
#define BACKOFF_MAX_MS 60000

/* ---- scan → event ----------------------------------------------------- */

/*
 * The track's PAN field: track 1 after the format code up to '^', track 2
 * up to '='. Track 1 without '^' (not format B: some loyalty stripes) has
 * no format code to skip. Points into data.
 */
static void track_field(const char *data, size_t len, const char **field, size_t *flen)
{
	const char *p = data + 1, *end = data + len;
	char stop = data[0] == '%' ? '^' : '=';
	size_t n = 0;

	if (data[0] == '%' && memchr(p, '^', (size_t)(end - p)) && p < end &&
	    *p >= 'A' && *p <= 'Z')
		p++;
	while (p + n < end && p[n] != stop && p[n] != '?')
		n++;
	*field = p;
	*flen = n;
}

/*
 * A number field that is a card number's digits (12-19, spaces and dashes
 * allowed) although the track did not parse: a misread or damaged swipe
 * of a card, not a loyalty stripe. Its digits are card data.
 */
static bool card_shaped(const char *field, size_t flen)
{
	size_t digits = 0;

	for (size_t i = 0; i < flen; i++) {
		if (field[i] >= '0' && field[i] <= '9')
			digits++;
		else if (field[i] != ' ' && field[i] != '-')
			return false;
	}
	return digits >= SL_PAN_MIN && digits <= SL_PAN_MAX;
}

/* ids / ids_next with the card or the loyalty token. */
static int write_ids(struct sl_jw *w, const struct sl_keyring *kr, bool next,
		     enum sl_id_kind kind, const char *canon, size_t len)
{
	char tok[SL_TOKEN_MAX];
	int rc = sl_token(kr, kind, next, canon, len, tok);

	if (rc == 0) {
		sl_jw_key(w, next ? "ids_next" : "ids");
		sl_jw_obj_begin(w);
		sl_jw_key(w, kind == SL_KIND_PAN ? "card" : "loyalty");
		sl_jw_str(w, tok);
		sl_jw_obj_end(w);
	}
	mbedtls_platform_zeroize(tok, sizeof(tok));
	return rc < 0 ? -EIO : 0;
}

int sl_scan_to_event(const struct sl_scan_ctx *ctx, const char *data, size_t len,
		     uint64_t ts_us, bool clock_synced, struct sl_scan_event *ev)
{
	char canon[SL_LOYALTY_MAX + 1];	/* a PAN (SL_PAN_BUF) or a loyalty id */
	size_t canon_len = 0;
	enum sl_scan_kind kind;
	struct sl_jw w;
	int rc;

	if (len == 0 || len > HAL_SCAN_MAX)
		return -EINVAL;
	memset(canon, 0, sizeof(canon));
	if (data[0] == '%' || data[0] == ';') {
		/* a reader may send several tracks in one line: the first one counts */
		const char *q = memchr(data, '?', len);
		size_t seg = q ? (size_t)(q - data) + 1 : len;
		const char *field;
		size_t flen;

		rc = data[0] == '%' ? sl_track1_pan(data, seg, canon, &canon_len)
				    : sl_track2_pan(data, seg, canon, &canon_len);
		if (rc == 0) {
			kind = SL_SCAN_CARD;
		} else {
			kind = SL_SCAN_TRACK_LOYALTY;
			track_field(data, seg, &field, &flen);
			if (card_shaped(field, flen)) {
				rc = -EBADMSG;	/* a bad swipe: never a loyalty token */
				goto out;
			}
			rc = sl_loyalty_canonical(field, flen, canon, sizeof(canon), &canon_len);
		}
	} else {
		kind = SL_SCAN_BARCODE;
		rc = sl_loyalty_canonical(data, len, canon, sizeof(canon), &canon_len);
	}
	if (rc < 0) {
		rc = -EINVAL;
		goto out;
	}
	/* the POS rule for loyalty ids (docs/scanner.md): a card number or
	 * track data read as a barcode must not become a loyalty token */
	if (kind != SL_SCAN_CARD && sl_card_data_in(canon, canon_len, SL_CARD_DATA_ID)) {
		rc = -EPERM;
		goto out;
	}

	rc = sl_event_id(ev->id);
	if (rc < 0)
		goto out;
	ev->kind = kind;
	ev->cls = kind == SL_SCAN_CARD ? SL_CLASS_PURCHASE : SL_CLASS_LOYALTY;
	ev->type = kind == SL_SCAN_CARD ? "card_scan" : "loyalty_scan";
	sl_jw_init(&w, ev->payload, sizeof(ev->payload));
	sl_event_begin(&w, &ctx->origin, ev->type, ev->id, ts_us, clock_synced, ctx->zone);
	{
		enum sl_id_kind ik = kind == SL_SCAN_CARD ? SL_KIND_PAN : SL_KIND_LOYALTY;

		rc = write_ids(&w, ctx->kr, false, ik, canon, canon_len);
		if (rc == 0 && sl_keyring_has_next(ctx->kr))
			rc = write_ids(&w, ctx->kr, true, ik, canon, canon_len);
		if (rc < 0)
			goto out;
	}
	if (kind == SL_SCAN_CARD) {
		sl_jw_key(&w, "card");
		sl_jw_obj_begin(&w);
		sl_jw_key(&w, "brand");
		sl_jw_str(&w, sl_card_brand_name(sl_card_brand(canon, canon_len)));
		sl_jw_obj_end(&w);
	}
	sl_jw_key(&w, "source");
	sl_jw_str(&w, "scanner");
	rc = sl_event_end(&w);
	if (rc < 0)
		goto out;
	ev->len = (size_t)rc;
	rc = 0;
out:
	mbedtls_platform_zeroize(canon, sizeof(canon));
	mbedtls_platform_zeroize(&w, sizeof(w));
	return rc;
}

/* ---- the pump --------------------------------------------------------- */

struct sl_scanners {
	struct sl_loop *loop;
	const char *source;		/* cfg->scanner_source */
	struct hal_scanner_cfg hcfg;
	struct sl_scan_ctx ctx;
	sl_scan_submit_fn submit;
	void *submit_ctx;
	struct hal_scanner sc;
	struct sl_io io;
	struct sl_timer timer;		/* replay batches, live continuation, reopen */
	bool replay;			/* lines: read from a timer, not polled */
	bool open;
	bool done;			/* replay reached its end */
	unsigned failures;		/* reopen attempts since the device was lost */
	uint64_t scans, cards, loyalty, invalid, failed, lost, reopens;
	uint64_t bad_swipes;		/* card number field, track unusable: dropped */
	uint64_t card_data;		/* barcode / stripe holding card data: dropped */
	uint64_t overlong, unmapped;	/* HAL counters of earlier opens */
	struct hal_scan buf;		/* RAW: zeroized after each scan */
	struct sl_scan_event ev;
};

static void detach(struct sl_scanners *s)
{
	sl_loop_del(s->loop, &s->io);
}

static void hal_close(struct sl_scanners *s)
{
	if (!s->open)
		return;
	s->overlong += s->sc.stats.overlong;
	s->unmapped += s->sc.stats.unmapped;
	hal_scanner_close(&s->sc);
	s->open = false;
}

static void lost(struct sl_scanners *s, int rc)
{
	unsigned delay = BACKOFF_MIN_MS << (s->failures < 6 ? s->failures : 6);

	if (delay > BACKOFF_MAX_MS)
		delay = BACKOFF_MAX_MS;
	if (s->failures == 0)
		sl_warn("scanner: %s unavailable (%s); retrying with backoff", s->source,
			strerror(-rc));
	detach(s);
	hal_close(s);
	s->failures++;
	sl_timer_arm(s->loop, &s->timer, delay);
}

/* One scan from the HAL into the spool: 1, or the HAL's 0 / -errno. */
static int pump_one(struct sl_scanners *s)
{
	int64_t seq;
	int rc = hal_scanner_read(&s->sc, &s->buf);

	if (rc != 1)
		return rc;
	s->scans++;
	rc = sl_scan_to_event(&s->ctx, s->buf.data, s->buf.len, s->buf.ts_us, sl_clock_synced(),
			      &s->ev);
	mbedtls_platform_zeroize(&s->buf, sizeof(s->buf));
	if (rc == -EINVAL) {
		s->invalid++;
		sl_debug("scanner: scan ignored (not card track data or a loyalty id)");
		return 1;
	}
	if (rc == -EBADMSG) {
		s->bad_swipes++;
		sl_debug("scanner: card swipe ignored (track data unusable)");
		return 1;
	}
	if (rc == -EPERM) {
		s->card_data++;
		sl_debug("scanner: scan ignored (card data outside a card swipe)");
		return 1;
	}
	if (rc < 0) {
		s->failed++;
		sl_debug("scanner: no event for a scan: %s", strerror(-rc));
		return 1;
	}
	seq = s->submit(s->submit_ctx, s->ev.cls, s->ev.id, s->ev.type, s->ev.payload, s->ev.len);
	if (seq < 0) {
		s->lost++;
		sl_warn("scanner: %s %s not stored: %s", s->ev.type, s->ev.id,
			strerror((int)-seq));
	} else if (s->ev.kind == SL_SCAN_CARD) {
		s->cards++;
	} else {
		s->loyalty++;
	}
	mbedtls_platform_zeroize(&s->ev, sizeof(s->ev));
	return 1;
}

static void pump(struct sl_scanners *s)
{
	int rc = 0;

	for (int i = 0; i < BATCH; i++) {
		rc = pump_one(s);
		if (rc != 1)
			break;
	}
	if (rc == 1 || (rc == 0 && s->replay)) {
		/* more may be buffered: continue after the others had a turn */
		sl_timer_arm(s->loop, &s->timer, 0);
	} else if (rc < 0 && s->replay) {
		detach(s);
		s->done = true;
		if (rc == -ENODATA)
			sl_info("scanner: replay finished: %llu scans",
				(unsigned long long)s->scans);
		else
			sl_err("scanner: replay stopped after %llu scans: %s",
			       (unsigned long long)s->scans, strerror(-rc));
	} else if (rc < 0) {
		lost(s, rc);
	}
}

static void io_cb(struct sl_io *io, uint32_t revents)
{
	(void)revents;
	pump(io->ctx);
}

static int attach(struct sl_scanners *s)
{
	int fd;

	if (s->replay) {
		sl_timer_arm(s->loop, &s->timer, 0);
		return 0;
	}
	fd = hal_scanner_fd(&s->sc);
	if (fd < 0)
		return fd;
	s->io.fd = fd;
	s->io.events = EPOLLIN;
	s->io.cb = io_cb;
	s->io.ctx = s;
	return sl_loop_add(s->loop, &s->io);
}

static int start(struct sl_scanners *s)
{
	int rc = hal_scanner_open(&s->sc, s->source, &s->hcfg);

	if (rc < 0)
		return rc;
	s->open = true;
	rc = attach(s);
	if (rc < 0)
		hal_close(s);
	return rc;
}

static void timer_cb(struct sl_timer *t)
{
	struct sl_scanners *s = t->ctx;
	int rc;

	if (s->open) {
		pump(s);
		return;
	}
	rc = start(s);
	if (rc < 0) {
		lost(s, rc);
		return;
	}
	sl_info("scanner: %s back after %u attempt(s)", s->source, s->failures);
	s->failures = 0;
	s->reopens++;
	pump(s);
}

int sl_scanners_open(struct sl_scanners **ret, struct sl_loop *loop, const struct sl_config *cfg,
		     struct sl_keyring *kr, sl_scan_submit_fn submit, void *ctx, char *err,
		     size_t errlen)
{
	struct sl_scanners *s;
	int rc;

	*ret = NULL;
	if (!cfg->scanner_source || strcmp(cfg->scanner_source, "off") == 0)
		return 0;
	s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	s->loop = loop;
	s->source = cfg->scanner_source;
	s->hcfg.layout = cfg->scanner_layout;
	s->ctx.kr = kr;
	s->ctx.origin = (struct sl_event_origin){ cfg->tenant, cfg->store_id, cfg->gateway_id };
	s->ctx.zone = cfg->zone;
	s->submit = submit;
	s->submit_ctx = ctx;
	s->replay = strncmp(s->source, "lines:", 6) == 0;
	s->timer.cb = timer_cb;
	s->timer.ctx = s;
	rc = start(s);
	if (rc == 0) {
		sl_info("scanner: reading %s", s->source);
	} else if (!s->replay && (rc == -ENOENT || rc == -ENODEV)) {
		/* a USB scanner not plugged in yet must not stop the POS path */
		lost(s, rc);
	} else {
		snprintf(err, errlen, "[scanner] source = %s: %s", s->source, strerror(-rc));
		free(s);
		return rc;
	}
	*ret = s;
	return 0;
}

void sl_scanners_close(struct sl_scanners *s)
{
	if (!s)
		return;
	detach(s);
	sl_timer_cancel(s->loop, &s->timer);
	hal_close(s);
	mbedtls_platform_zeroize(s, sizeof(*s));
	free(s);
}

void sl_scanners_status(const struct sl_scanners *s, struct sl_jw *w)
{
	uint64_t overlong = s->overlong + (s->open ? s->sc.stats.overlong : 0);
	uint64_t unmapped = s->unmapped + (s->open ? s->sc.stats.unmapped : 0);

	sl_jw_obj_begin(w);
	sl_jw_kv_str(w, "state", s->done ? "finished" : s->open ? "reading" : "lost");
	sl_jw_kv_uint(w, "scans", s->scans);
	sl_jw_kv_uint(w, "card_scans", s->cards);
	sl_jw_kv_uint(w, "loyalty_scans", s->loyalty);
	sl_jw_kv_uint(w, "invalid", s->invalid);
	sl_jw_kv_uint(w, "bad_swipes", s->bad_swipes);
	sl_jw_kv_uint(w, "card_data_dropped", s->card_data);
	sl_jw_kv_uint(w, "overlong", overlong);
	sl_jw_kv_uint(w, "unmapped_keys", unmapped);
	sl_jw_kv_uint(w, "errors", s->failed);
	sl_jw_kv_uint(w, "not_stored", s->lost);
	sl_jw_kv_uint(w, "reopens", s->reopens);
	sl_jw_obj_end(w);
}
