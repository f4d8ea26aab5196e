/* SPDX-License-Identifier: MIT */
/*
 * One POS request line → one outcome: a tokenized event ready for the
 * spool, an auth request, or an error with a stable code. Pure: no I/O,
 * so it is unit-tested and fuzzed as is. This is where raw card numbers,
 * track data and loyalty ids become tokens; every scratch copy is
 * zeroized here, and the caller zeroizes the line buffer itself
 * (docs/pos-protocol.md lists requests, replies and error codes).
 */
#ifndef SL_POS_REQUEST_H
#define SL_POS_REQUEST_H

#include "event.h"
#include "spool.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct sl_keyring;

enum sl_pos_outcome {
	SL_POS_OUT_EVENT,	/* payload holds an event for the spool */
	SL_POS_OUT_AUTH,	/* {"type":"auth"}: token/token_len point into the line */
	SL_POS_OUT_ERROR,	/* error + message */
};

struct sl_pos_ctx {
	struct sl_keyring *kr;
	struct sl_event_origin origin;
	const char *zone;	/* default zone when a request has no lane */
	uint64_t max_ts_skew_us;	/* a "ts" further from now is refused while the
					 * clock is synced ([pos] max_ts_skew_s); 0: no bound */
};

struct sl_pos_result {
	enum sl_pos_outcome outcome;
	const char *error;		/* stable code, e.g. "invalid_pan" */
	const char *message;		/* fixed text: never contains input */
	enum sl_event_class cls;
	const char *type;		/* "purchase" | "loyalty_scan" */
	char id[SL_UUID_LEN];
	const char *token;		/* auth only: inside the line buffer */
	size_t token_len;
	bool has_key;			/* event only: key names the request (resends) */
	uint8_t key[SL_SPOOL_KEY_LEN];	/* dedup.h: request_id, else a purchase's
					 * store + lane + txn_id */
	size_t len;			/* bytes of payload */
	char payload[SL_EVENT_MAX];
};

/*
 * Handles line[0..len) (no newline), parsing it in place. now_us and
 * clock_synced stamp events without a "ts" and bound the "ts" of the
 * others (ctx->max_ts_skew_us). Always fills res; returns 0 (event or
 * auth) or -EINVAL (res->error set).
 */
int sl_pos_request(const struct sl_pos_ctx *ctx, char *line, size_t len, uint64_t now_us,
		   bool clock_synced, struct sl_pos_result *res);

/*
 * The only parse an unauthenticated TCP line gets: line[0..len) must be a
 * flat JSON object with "type":"auth" and a string "token" (other fields
 * are ignored and never looked at). Parses in place; *token points into
 * line. 0, or -EINVAL (not an auth request; outputs untouched). No card
 * field is read, no token computed.
 */
int sl_pos_auth_request(char *line, size_t len, const char **token, size_t *token_len);

#endif
