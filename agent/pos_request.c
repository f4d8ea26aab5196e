/* SPDX-License-Identifier: MIT */
/*
 * POS request → event (see pos_request.h). The flow for a purchase:
 * parse the line in place, take the card number from pan / track2 /
 * track1 (several must agree), canonicalise it and check Luhn, derive the
 * brand, make the tokens (and the next key's tokens while rotating), then
 * zeroize every scratch buffer before the event is serialized. Messages
 * are static strings, so no input can ever be echoed.
 */
#include "pos_request.h"

#include "clock.h"
#include "dedup.h"
#include "json.h"
#include "pan.h"
#include "privacy.h"

#include <errno.h>
#include <mbedtls/platform_util.h>
#include <stdio.h>
#include <string.h>

#define LANE_MAX 32
#define TXN_MAX 64
#define REQUEST_ID_MAX 64

static int fail(struct sl_pos_result *res, const char *code, const char *message)
{
	res->outcome = SL_POS_OUT_ERROR;
	res->error = code;
	res->message = message;
	return -EINVAL;
}

/* Printable ASCII without quotes or backslash: safe in topics and logs. */
static bool printable(const char *s, size_t len, size_t max)
{
	if (len == 0 || len > max)
		return false;
	for (size_t i = 0; i < len; i++)
		if (s[i] < 0x21 || s[i] > 0x7e || s[i] == '"' || s[i] == '\\')
			return false;
	return true;
}

/* "12.34", "-5", "0.5": up to 12 integer digits, up to 4 decimals. */
static bool amount_ok(const char *s, size_t len)
{
	size_t i = 0, ints = 0, decs = 0;

	if (len && s[0] == '-')
		i++;
	while (i < len && s[i] >= '0' && s[i] <= '9') {
		i++;
		ints++;
	}
	if (i < len && s[i] == '.') {
		i++;
		while (i < len && s[i] >= '0' && s[i] <= '9') {
			i++;
			decs++;
		}
		if (decs == 0)
			return false;
	}
	return i == len && ints >= 1 && ints <= 12 && decs <= 4;
}

static bool currency_ok(const char *s, size_t len)
{
	if (len != 3)
		return false;
	for (size_t i = 0; i < 3; i++)
		if (s[i] < 'A' || s[i] > 'Z')
			return false;
	return true;
}

static const struct sl_json_field *str_field(const struct sl_json_obj *o, const char *key,
					     bool *bad)
{
	const struct sl_json_field *f = sl_json_get(o, key);

	if (f && f->type == SL_JSON_NULL)
		return NULL;
	if (f && f->type != SL_JSON_STRING)
		*bad = true;
	return f;
}

/* A string, or a number written as text (lane 3, amount 12.34). */
static const struct sl_json_field *text_field(const struct sl_json_obj *o, const char *key,
					      bool *bad)
{
	const struct sl_json_field *f = sl_json_get(o, key);

	if (f && f->type == SL_JSON_NULL)
		return NULL;
	if (f && f->type != SL_JSON_STRING && f->type != SL_JSON_NUMBER)
		*bad = true;
	return f;
}

/* Card number from pan / track2 / track1; several given must agree. */
static int card_pan(const struct sl_json_obj *o, char pan[SL_PAN_BUF], size_t *pan_len,
		    struct sl_pos_result *res)
{
	static const struct {
		const char *key;
		int (*parse)(const char *, size_t, char *, size_t *);
		const char *code, *bad, *luhn;
	} src[] = {
		{ "pan", sl_pan_canonical, "invalid_pan",
		  "card number must be 12-19 digits, not all zeros",
		  "card number fails the Luhn check" },
		{ "track2", sl_track2_pan, "invalid_track",
		  "track 2 data is malformed", "card number fails the Luhn check" },
		{ "track1", sl_track1_pan, "invalid_track",
		  "track 1 data is malformed", "card number fails the Luhn check" },
	};
	char tmp[SL_PAN_BUF];
	size_t tmp_len;
	bool found = false, bad = false;
	int rc = 0;

	for (size_t i = 0; i < sizeof(src) / sizeof(src[0]); i++) {
		const struct sl_json_field *f = str_field(o, src[i].key, &bad);

		if (bad) {
			rc = fail(res, src[i].code, "card fields must be JSON strings");
			goto out;
		}
		if (!f)
			continue;
		rc = src[i].parse(f->val, f->len, found ? tmp : pan, found ? &tmp_len : pan_len);
		if (rc == -EBADMSG) {
			rc = fail(res, "invalid_pan", src[i].luhn);
			goto out;
		}
		if (rc < 0) {
			rc = fail(res, src[i].code, src[i].bad);
			goto out;
		}
		if (found && (tmp_len != *pan_len || memcmp(tmp, pan, tmp_len) != 0)) {
			rc = fail(res, "invalid_track", "card fields name different card numbers");
			goto out;
		}
		found = true;
	}
	if (!found)
		rc = fail(res, "missing_field", "a purchase needs pan, track2 or track1");
out:
	mbedtls_platform_zeroize(tmp, sizeof(tmp));
	if (rc < 0)
		mbedtls_platform_zeroize(pan, SL_PAN_BUF);
	return rc;
}

/*
 * Free text that ends up in the event (txn.*, the zone) must hold no card
 * data: a POS that put the card number or the track in the wrong field
 * would have it stored and published verbatim. The message names the
 * field, never the value.
 */
static bool card_data(const struct sl_json_field *f)
{
	return f && sl_card_data_in(f->val, f->len, SL_CARD_DATA_TEXT);
}

/* txn_id, amount and currency of a purchase. */
static int txn_fields(const struct sl_json_obj *o, const struct sl_json_field **txn,
		      const struct sl_json_field **amount, const struct sl_json_field **currency,
		      struct sl_pos_result *res)
{
	bool bad = false;

	*txn = text_field(o, "txn_id", &bad);
	*amount = text_field(o, "amount", &bad);
	*currency = str_field(o, "currency", &bad);
	if (bad)
		return fail(res, "invalid_field", "txn_id, amount and currency must be strings");
	if (!*txn || !*amount || !*currency)
		return fail(res, "missing_field", "a purchase needs txn_id, amount and currency");
	if (!printable((*txn)->val, (*txn)->len, TXN_MAX))
		return fail(res, "invalid_field", "txn_id must be 1-64 printable characters");
	if (!amount_ok((*amount)->val, (*amount)->len))
		return fail(res, "invalid_field", "amount must be a decimal like 12.34");
	if (!currency_ok((*currency)->val, (*currency)->len))
		return fail(res, "invalid_field", "currency must be an ISO 4217 code like EUR");
	if (card_data(*txn))
		return fail(res, "invalid_field", "txn_id holds card data (a card number or track)");
	if (card_data(*amount))
		return fail(res, "invalid_field", "amount holds card data (a card number)");
	return 0;
}

/* ids / ids_next: card and loyalty tokens under the current or next key. */
static int write_ids(struct sl_jw *w, const struct sl_keyring *kr, bool next,
		     const char *pan, size_t pan_len, const char *loyalty, size_t loyalty_len)
{
	char tok[SL_TOKEN_MAX];
	int rc = 0;

	sl_jw_key(w, next ? "ids_next" : "ids");
	sl_jw_obj_begin(w);
	if (pan_len) {
		rc = sl_token(kr, SL_KIND_PAN, next, pan, pan_len, tok);
		if (rc < 0)
			goto out;
		sl_jw_kv_str(w, "card", tok);
	}
	if (loyalty_len) {
		rc = sl_token(kr, SL_KIND_LOYALTY, next, loyalty, loyalty_len, tok);
		if (rc < 0)
			goto out;
		sl_jw_kv_str(w, "loyalty", tok);
	}
	sl_jw_obj_end(w);
out:
	mbedtls_platform_zeroize(tok, sizeof(tok));
	return rc;
}

/* The idempotency key: request_id if given, else a purchase's lane + txn_id. */
static int request_key(const struct sl_pos_ctx *ctx, bool purchase,
		       const struct sl_json_field *lane, const struct sl_json_field *txn,
		       const struct sl_json_field *rid, struct sl_pos_result *res)
{
	const char *f[4] = { ctx->origin.tenant ? ctx->origin.tenant : "",
			     ctx->origin.store ? ctx->origin.store : "", "", "" };
	size_t l[4] = { strlen(f[0]), strlen(f[1]), 0, 0 };
	int rc;

	if (rid) {
		f[2] = rid->val;
		l[2] = rid->len;
		rc = sl_dedup_key("request_id", f, l, 3, res->key);
	} else if (purchase) {
		if (lane) {
			f[2] = lane->val;
			l[2] = lane->len;
		}
		f[3] = txn->val;
		l[3] = txn->len;
		rc = sl_dedup_key("purchase", f, l, 4, res->key);
	} else {
		return 0;	/* a loyalty scan without request_id: no key */
	}
	res->has_key = rc == 0;
	return rc;
}

int sl_pos_request(const struct sl_pos_ctx *ctx, char *line, size_t len, uint64_t now_us,
		   bool clock_synced, struct sl_pos_result *res)
{
	struct sl_json_obj o;
	const struct sl_json_field *type, *lane, *loyalty, *ts, *txn = NULL, *amount = NULL,
				   *currency = NULL, *rid;
	char pan[SL_PAN_BUF] = "";
	char loy[SL_LOYALTY_MAX + 1] = "";
	char zone[LANE_MAX + 8];
	size_t pan_len = 0, loy_len = 0;
	uint64_t ev_us = now_us;
	bool purchase, bad = false;
	struct sl_jw w;
	int rc;

	memset(res, 0, offsetof(struct sl_pos_result, payload));
	res->payload[0] = '\0';
	if (sl_json_parse(line, len, &o) < 0)
		return fail(res, "bad_json", o.error);
	type = sl_json_get(&o, "type");
	if (!type)
		return fail(res, "missing_field", "every request needs a \"type\"");
	if (type->type != SL_JSON_STRING)
		return fail(res, "unknown_type", "\"type\" must be a string");
	if (strcmp(type->val, "auth") == 0) {
		const struct sl_json_field *t = str_field(&o, "token", &bad);

		if (!t || bad)
			return fail(res, "unauthorized", "auth needs a \"token\" string");
		res->outcome = SL_POS_OUT_AUTH;
		res->token = t->val;
		res->token_len = t->len;
		return 0;
	}
	if (strcmp(type->val, "purchase") == 0)
		purchase = true;
	else if (strcmp(type->val, "loyalty_scan") == 0)
		purchase = false;
	else
		return fail(res, "unknown_type", "type must be purchase, loyalty_scan or auth");

	lane = text_field(&o, "lane", &bad);
	ts = str_field(&o, "ts", &bad);
	rid = str_field(&o, "request_id", &bad);
	if (bad)
		return fail(res, "invalid_field", "lane, ts and request_id must be strings");
	if (rid && !printable(rid->val, rid->len, REQUEST_ID_MAX))
		return fail(res, "invalid_field", "request_id must be 1-64 printable characters");
	if (lane && !printable(lane->val, lane->len, LANE_MAX))
		return fail(res, "invalid_field", "lane must be 1-32 printable characters");
	if (card_data(lane))
		return fail(res, "invalid_field", "lane holds card data (a card number or track)");
	if (ts && sl_rfc3339_parse(ts->val, &ev_us) < 0)
		return fail(res, "invalid_field", "ts must be an RFC 3339 timestamp");
	/* only a synced clock can tell: an unsynced one may be the wrong one */
	if (ts && ctx->max_ts_skew_us && clock_synced &&
	    (ev_us > now_us + ctx->max_ts_skew_us ||
	     (now_us > ctx->max_ts_skew_us && ev_us < now_us - ctx->max_ts_skew_us)))
		return fail(res, "invalid_field",
			    "ts is further from the agent's clock than [pos] max_ts_skew_s");

	if (purchase) {
		/* the card first: its errors matter most to the integrator */
		rc = card_pan(&o, pan, &pan_len, res);
		if (rc < 0)
			goto out;
		rc = txn_fields(&o, &txn, &amount, &currency, res);
		if (rc < 0)
			goto out;
	}

	/* from here on pan[] may hold the card number: leave through out */
	loyalty = str_field(&o, "loyalty_id", &bad);
	if (bad) {
		rc = fail(res, "invalid_loyalty_id", "loyalty_id must be a string");
		goto out;
	}
	if (loyalty) {
		rc = sl_loyalty_canonical(loyalty->val, loyalty->len, loy, sizeof(loy), &loy_len);
		if (rc < 0) {
			rc = fail(res, "invalid_loyalty_id",
				  "loyalty_id must be 1-64 printable characters");
			goto out;
		}
		/* a card number must not become a loyalty token (nor be one) */
		if (sl_card_data_in(loy, loy_len, SL_CARD_DATA_ID)) {
			rc = fail(res, "invalid_loyalty_id",
				  "loyalty_id holds card data (a card number or track)");
			goto out;
		}
	} else if (!purchase) {
		rc = fail(res, "missing_field", "a loyalty_scan needs loyalty_id");
		goto out;
	}

	rc = sl_event_id(res->id);	/* not from ts: that is data */
	if (rc < 0) {
		rc = fail(res, "internal", "no randomness for the event id");
		goto out;
	}
	if (lane)
		snprintf(zone, sizeof(zone), "lane-%s", lane->val);
	res->type = purchase ? "purchase" : "loyalty_scan";
	res->cls = purchase ? SL_CLASS_PURCHASE : SL_CLASS_LOYALTY;

	sl_jw_init(&w, res->payload, sizeof(res->payload));
	sl_event_begin(&w, &ctx->origin, res->type, res->id, ev_us, clock_synced,
		       lane ? zone : ctx->zone);
	rc = write_ids(&w, ctx->kr, false, pan, pan_len, loy, loy_len);
	if (rc == 0 && sl_keyring_has_next(ctx->kr))
		rc = write_ids(&w, ctx->kr, true, pan, pan_len, loy, loy_len);
	if (rc < 0) {
		rc = fail(res, "internal", "tokenization failed");
		goto out;
	}
	if (purchase) {
		sl_jw_key(&w, "card");
		sl_jw_obj_begin(&w);
		sl_jw_key(&w, "brand");
		sl_jw_str(&w, sl_card_brand_name(sl_card_brand(pan, pan_len)));
		sl_jw_obj_end(&w);
		sl_jw_key(&w, "txn");
		sl_jw_obj_begin(&w);
		sl_jw_key(&w, "id");
		sl_jw_strn(&w, txn->val, txn->len);
		sl_jw_key(&w, "amount");
		sl_jw_strn(&w, amount->val, amount->len);
		sl_jw_key(&w, "currency");
		sl_jw_strn(&w, currency->val, currency->len);
		sl_jw_obj_end(&w);
	}
	rc = sl_event_end(&w);
	if (rc < 0) {
		rc = fail(res, "internal", "event too large");
		goto out;
	}
	res->len = (size_t)rc;
	rc = request_key(ctx, purchase, lane, txn, rid, res);
	if (rc < 0) {
		rc = fail(res, "internal", "hashing failed");
		goto out;
	}
	res->outcome = SL_POS_OUT_EVENT;
out:
	mbedtls_platform_zeroize(pan, sizeof(pan));
	mbedtls_platform_zeroize(loy, sizeof(loy));
	return rc;
}

int sl_pos_auth_request(char *line, size_t len, const char **token, size_t *token_len)
{
	struct sl_json_obj o;
	const struct sl_json_field *type, *t;

	if (sl_json_parse(line, len, &o) < 0)
		return -EINVAL;
	type = sl_json_get(&o, "type");
	t = sl_json_get(&o, "token");
	if (!type || type->type != SL_JSON_STRING || type->len != 4 ||
	    memcmp(type->val, "auth", 4) != 0 || !t || t->type != SL_JSON_STRING)
		return -EINVAL;
	*token = t->val;
	*token_len = t->len;
	return 0;
}
