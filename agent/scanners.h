/* SPDX-License-Identifier: MIT */
/*
 * The scanner pump: opens the [scanner] source (evdev keyboard wedge, serial
 * tty or a replay file), reads scans from the agent's loop and turns each
 * one into a tokenized event for the spool (docs/scanner.md):
 *
 *   '%' track 1 / ';' track 2 with a Luhn-valid PAN  → card_scan (ids.card, card.brand)
 *   track data whose number field is 12-19 digits    → nothing (bad_swipes)
 *     but no usable card (Luhn, malformed track)
 *   other track data (loyalty stripe)                → loyalty_scan (the PAN field)
 *   anything else (a barcode)                        → loyalty_scan
 *   a barcode / stripe field holding card data       → nothing (card_data_dropped)
 *     (sl_card_data_in(), SL_CARD_DATA_ID: the POS loyalty_id rule)
 *
 * Raw scan data lives only in the HAL's buffers and in struct hal_scan
 * here; each is zeroized as soon as its token exists, and scan content is
 * never logged. A live device that goes away (unplugged) is reopened with
 * backoff; a replay file is read in batches from a timer.
 */
#ifndef SL_SCANNERS_H
#define SL_SCANNERS_H

#include "config.h"
#include "event.h"
#include "jsonw.h"
#include "loop.h"
#include "spool.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct sl_keyring;

/* What a scan was taken for. */
enum sl_scan_kind {
	SL_SCAN_CARD,		/* track 1/2 with a Luhn-valid PAN → card_scan */
	SL_SCAN_TRACK_LOYALTY,	/* track data, PAN field not card-like → loyalty_scan */
	SL_SCAN_BARCODE,	/* anything else → loyalty_scan */
};

struct sl_scan_ctx {
	struct sl_keyring *kr;
	struct sl_event_origin origin;
	const char *zone;	/* [agent] zone */
};

struct sl_scan_event {
	enum sl_scan_kind kind;
	enum sl_event_class cls;	/* SL_CLASS_PURCHASE (card) or SL_CLASS_LOYALTY */
	const char *type;		/* "card_scan" | "loyalty_scan" */
	char id[SL_UUID_LEN];
	size_t len;			/* bytes of payload */
	char payload[SL_EVENT_MAX];	/* tokens only, never scan data */
};

/*
 * One scan data[0..len) → one event in *ev. Pure (no I/O): unit-tested and
 * fuzzed as is. Scratch copies are zeroized; the caller zeroizes data.
 * 0; -EINVAL: not usable (empty or invalid loyalty id after
 * canonicalisation, control characters, PAN field empty); -EBADMSG: track
 * data whose number field is 12-19 digits that make no usable card (a bad
 * swipe); -EPERM: a loyalty id (barcode, stripe field) holding card data;
 * -EIO (tokenization); -ENOSPC (event too large); -errno (no randomness
 * for the id). *ev is only meaningful on 0.
 */
int sl_scan_to_event(const struct sl_scan_ctx *ctx, const char *data, size_t len,
		     uint64_t ts_us, bool clock_synced, struct sl_scan_event *ev);

/* Queues an event for the spool: sequence number > 0 or -errno (agent.c's submit). */
typedef int64_t (*sl_scan_submit_fn)(void *ctx, enum sl_event_class cls, const char *id,
				     const char *type, const char *payload, size_t len);

struct sl_scanners;

/*
 * Opens [scanner] source (off: *ret = NULL and 0). A live device that is
 * missing at start (-ENOENT, -ENODEV) is waited for with backoff; other
 * open errors fail, with a one-line reason in err.
 */
int sl_scanners_open(struct sl_scanners **ret, struct sl_loop *loop, const struct sl_config *cfg,
		     struct sl_keyring *kr, sl_scan_submit_fn submit, void *ctx, char *err,
		     size_t errlen);
/* Stops reading and zeroizes everything. NULL ok. */
void sl_scanners_close(struct sl_scanners *s);
/* "scanner": state and counters (never content). */
void sl_scanners_status(const struct sl_scanners *s, struct sl_jw *w);

#endif
