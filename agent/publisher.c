/* SPDX-License-Identifier: MIT */
/*
 * The publisher (see publisher.h and docs/mqtt.md): spool rows go out as
 * QoS 1 PUBLISHes through libmosquitto, driven by the agent's loop.
 *
 * Connection life cycle. Every connection attempt gets a fresh struct
 * mosquitto (options, TLS, will, callbacks): libmosquitto keeps its own
 * queue of unacknowledged messages inside that struct and would resend it
 * after a reconnect; starting from scratch instead leaves the spool as the
 * only source of truth. After each (re)connect the spool cursor is rewound,
 * so every row not yet deleted is sent again: duplicates are limited to the
 * messages that were in flight when the connection broke.
 *
 *   IDLE ──backoff timer──▶ CONNECTING ──CONNACK ok──▶ CONNECTED
 *     ▲                         │ error, refusal,          │ error, keepalive,
 *     └──────── drop ◀──────────┘ no CONNACK in time       │ broker gone
 *     └──────────────────────── drop ◀─────────────────────┘
 *
 * mosquitto_connect_bind_async() resolves the host name with a blocking
 * getaddrinfo() (libmosquitto 2.0 has no asynchronous resolver); the TCP
 * connect, the TLS handshake and everything after are non-blocking. With an
 * IP address or a name in /etc/hosts the lookup does not touch the network.
 *
 * Driving libmosquitto 2.0 from an external loop: while the TLS handshake
 * runs, mosquitto_loop_read() advances it, and mosquitto_want_write() may
 * stay true although nothing can be written until the server answers. So
 * during CONNECTING we wait for EPOLLOUT only once (the TCP connect
 * completing) and afterwards write opportunistically after each read;
 * once connected, EPOLLOUT is requested exactly when mosquitto_want_write().
 * libmosquitto may close its socket inside any call (TLS failure, lost
 * connection); after every call we check mosquitto_socket() before touching
 * the fd again.
 *
 * In-flight window: at most [mqtt] inflight messages without PUBACK. A slot
 * table sized by the window maps a message id to its row ids (batch rows
 * per slot); slots are allocated once at open. A PUBACK with a success
 * reason deletes the rows (durable at the agent's next spool commit), then
 * the window is refilled from the spool in priority order.
 *
 * Refusals. A PUBACK with an error reason (MQTT 5, >= 0x80, e.g. an ACL that
 * denies one topic) keeps the rows and parks their class: rows of a parked
 * class are skipped by the cursor (they stay in the spool) so that other
 * classes keep flowing. After a backoff one row of the class goes out as a
 * probe; when a probe is acknowledged the class is unparked. Skipped rows
 * (and rows whose delete failed) are read again by rewinding the cursor once
 * nothing is in flight, which re-sends exactly the rows still in the spool
 * and nothing twice.
 *
 * Batching ([mqtt] batch > 1): a message carries events of one type (the
 * topic names it), so one batch is built per event class at a time, each in
 * its own slot: interleaved purchases and loyalty scans (as lanes send them)
 * still fill whole batches instead of cutting one at every change of type.
 * A full batch goes out at once, after the batches of more urgent classes
 * (messages stay in priority order); the rest of what a fill pass has built
 * goes out at its end, oldest batch first. Within a priority, events of
 * different types may thus leave in a slightly different order than they
 * were queued (each type's own order is kept).
 */
#include "publisher.h"

#include "clock.h"
#include "jsonw.h"
#include "log.h"

#include <errno.h>
#include <inttypes.h>
#include <mosquitto.h>
#include <mqtt_protocol.h>
#include <openssl/ssl.h>
#include <openssl/x509_vfy.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#define PUB_TOPIC_MAX 512
#define PUB_ERR_MAX 256
#define PUB_STATUS_MAX 512		/* the will: no health */
#define PUB_HEALTH_MAX 8192		/* an online status with its health */
#define PUB_BATCH_MAX_BYTES (256u * 1024u)	/* cap on one batched message */
#define PUB_STABLE_MS 10000u		/* a connection this old resets the backoff */
#define PUB_CONNECT_TIMEOUT_MAX_S 20	/* CONNACK wait, at most; keepalive if shorter */
#define PUB_CLOSE_WAIT_MS 2000		/* at close: wait this long for PUBACKs */
#define PUB_LOGGED_KEYS 4		/* distinct connection errors remembered for the log */

enum pub_state {
	PUB_IDLE,		/* no client; conn_timer armed (unless closing) */
	PUB_CONNECTING,		/* socket open, TCP/TLS/CONNECT under way */
	PUB_CONNECTED,		/* CONNACK success received */
	PUB_CLOSING,		/* sl_publisher_close(): no new publishes */
};

struct pub_row {
	int64_t rowid;
	enum sl_event_class cls;
};

/* A batch being built: a JSON array of one class's events, in one slot. */
struct pub_batch {
	char *buf;
	size_t cap, len;
	int slot;			/* -1 = none being built */
	uint64_t opened;		/* pub->batch_seq when started: flush order */
	char type[64];
};

struct sl_publisher {
	struct sl_loop *loop;
	const struct sl_config *cfg;	/* outlives the publisher */
	struct sl_spool *spool;
	struct mosquitto *mosq;		/* NULL in PUB_IDLE */
	enum pub_state state;
	struct sl_io io;		/* io.fd = mosquitto_socket() while registered */
	struct sl_timer conn_timer;	/* next connection attempt */
	struct sl_timer misc_timer;	/* keepalive (connected) / CONNACK timeout */
	struct sl_timer retry_timer;	/* refused rows: probe, rewind once idle */
	struct sl_timer health_timer;	/* the online status again, with fresh health */
	sl_publisher_health_fn health_fn;
	void *health_ctx;
	uint64_t health_ms;		/* 0: health only at connect */
	bool lib_init;

	/* the current attempt */
	bool tcp_up;			/* first EPOLLOUT seen (TCP connect done) */
	bool failed;			/* a callback saw the connection end */
	uint64_t attempt_ms;		/* sl_mono_ms() at the attempt */
	uint64_t connected_ms;		/* sl_mono_ms() at CONNACK */
	char err[PUB_ERR_MAX];		/* why this attempt/connection ended; "" = not yet */
	char err_key[64];		/* the kind of error, for log de-duplication */
	char tls_err[PUB_ERR_MAX];	/* OpenSSL's reason, as libmosquitto logged it */
	char load_err[PUB_ERR_MAX];	/* libmosquitto could not load a key/certificate */
	bool host_mismatch;		/* libmosquitto logged a host name mismatch */
	long verify;			/* OpenSSL's verify result for the broker's chain */
	uint32_t max_packet;		/* broker's maximum packet size, 0 = none given */

	/* backoff and logging */
	unsigned fail_streak;		/* failed attempts since the last stable connection */
	unsigned retry_streak;		/* refusal retries without a clean round */
	uint64_t rng;			/* xorshift64 state for jitter */
	uint64_t attempts;
	char logged_keys[PUB_LOGGED_KEYS][64];	/* kinds of connection errors logged since the
						 * last stable connection (ring) */
	unsigned nlogged;
	bool announced;			/* "connected" logged since the last error was */
	int refused_logged[SL_CLASS__COUNT];	/* PUBACK reason logged per class, 0 = none */
	bool status_refused_logged;
	char last_error[PUB_ERR_MAX];	/* for stats: "" since the last connect */
	char refusal[PUB_ERR_MAX];	/* the last refusal, shown while a class is parked */

	/* the in-flight window */
	int window;			/* [mqtt] inflight */
	int batch;			/* [mqtt] batch: rows per message */
	int *mids;			/* window entries; 0 = free slot */
	int *nrows;			/* rows in each slot */
	struct pub_row *rows;		/* window * batch */
	int *free_slots;		/* stack of free slot indices */
	int nfree;
	int status_mid;			/* mid of the status message in flight, 0 = none */
	struct sl_spool_cursor cursor;
	bool need_fill;
	bool rewind_wanted;		/* rewind the cursor once nothing is in flight */
	uint32_t parked;		/* classes (bits) the broker refused: held back */
	uint32_t probe;			/* parked classes allowed one probe message */
	uint64_t refusals;		/* messages refused (PUBACK >= 0x80 or unsendable) */
	uint64_t refusals_at_rewind;

	/* the batches being built (batch > 1), one per class */
	struct pub_batch batches[SL_CLASS__COUNT];
	uint64_t batch_seq;

	/* names */
	char topic_base[PUB_TOPIC_MAX];	/* {prefix}/{tenant}/{store}/{gateway}/ */
	size_t topic_base_len;
	char status_topic[PUB_TOPIC_MAX + 8];
	char key_ids[64];
	char key_checks[64];		/* check values, in key_ids' order */

	/* stats */
	uint64_t reconnects;
	uint64_t published[SL_CLASS__COUNT];
	int64_t last_ack_us;
};

static void pub_settle(struct sl_publisher *pub);

/* ---- small helpers ------------------------------------------------------ */

static uint64_t pub_rand(struct sl_publisher *pub)
{
	uint64_t x = pub->rng;

	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	pub->rng = x;
	return x;
}

/* Exponential backoff with jitter: a random delay in [d/2, d], where d
 * doubles per step from min to max. */
static uint64_t pub_backoff(struct sl_publisher *pub, unsigned step)
{
	uint64_t d = (uint64_t)pub->cfg->mqtt_backoff_min_ms;
	uint64_t max = (uint64_t)pub->cfg->mqtt_backoff_max_ms;

	for (unsigned i = 0; i < step && d < max; i++)
		d *= 2;
	if (d > max)
		d = max;
	if (d < 2)
		return d;
	return d / 2 + pub_rand(pub) % (d / 2 + 1);
}

/*
 * First error wins: the root cause is set before the generic "connection
 * lost". key names the kind of error ("tls-host", "net:14:111", ...): the
 * log shows a connection error once per distinct key, however many retries
 * fail the same way, even if details (an OpenSSL reason) vary between them.
 */
static void pub_set_err(struct sl_publisher *pub, const char *key, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void pub_set_err(struct sl_publisher *pub, const char *key, const char *fmt, ...)
{
	va_list ap;

	if (pub->err[0])
		return;
	snprintf(pub->err_key, sizeof(pub->err_key), "%s", key);
	va_start(ap, fmt);
	vsnprintf(pub->err, sizeof(pub->err), fmt, ap);
	va_end(ap);
}

static const char *pub_proto_name(const struct sl_publisher *pub)
{
	return pub->cfg->mqtt_protocol == SL_MQTT_V311 ? "3.1.1" : "5";
}

/* libmosquitto's messages end with a period; ours go on after them. */
static const char *pub_text(const char *msg, char *buf, size_t cap)
{
	size_t n;

	snprintf(buf, cap, "%s", msg ? msg : "?");
	n = strlen(buf);
	while (n && (buf[n - 1] == '.' || buf[n - 1] == ' '))
		buf[--n] = '\0';
	return buf;
}

/*
 * Why the broker's certificate chain failed verification, from OpenSSL's own
 * verify result (captured during the handshake, see pub_on_log()), not from
 * the wording of its error text: each cause has its own key and advice.
 */
static void pub_set_verify_err(struct sl_publisher *pub, const char *detail)
{
	const struct sl_config *cfg = pub->cfg;
	char now[SL_RFC3339_LEN];

	sl_rfc3339(sl_now_us(), now);
	switch (pub->verify) {
	case X509_V_ERR_CERT_HAS_EXPIRED:
		pub_set_err(pub, "tls-expired", "TLS: the broker's certificate (or one of its "
			    "chain) has expired by this gateway's clock (%s, %s): renew it, or "
			    "fix the clock", now,
			    sl_clock_synced() ? "NTP synchronised" : "NOT synchronised");
		break;
	case X509_V_ERR_CERT_NOT_YET_VALID:
		pub_set_err(pub, "tls-not-yet-valid", "TLS: the broker's certificate (or one "
			    "of its chain) is not valid yet by this gateway's clock (%s, %s): is "
			    "the clock right?", now,
			    sl_clock_synced() ? "NTP synchronised" : "NOT synchronised");
		break;
	case X509_V_ERR_INVALID_PURPOSE:
		pub_set_err(pub, "tls-purpose", "TLS: the broker's certificate is not for a TLS "
			    "server (its extended key usage lacks serverAuth)");
		break;
	case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT:
	case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY:
	case X509_V_ERR_UNABLE_TO_VERIFY_LEAF_SIGNATURE:
	case X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT:
	case X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN:
	case X509_V_ERR_CERT_UNTRUSTED:
	case X509_V_ERR_CERT_SIGNATURE_FAILURE:
		pub_set_err(pub, "tls-untrusted", "TLS: the broker's certificate is not "
			    "trusted by [mqtt] ca_file %s (%s)", cfg->mqtt_ca_file,
			    X509_verify_cert_error_string(pub->verify));
		break;
	default:
		pub_set_err(pub, "tls-verify", "TLS: the broker's certificate failed "
			    "verification: %s (%s)", X509_verify_cert_error_string(pub->verify),
			    detail);
		break;
	}
}

/* Turns a libmosquitto result into text; errno must still be the call's. */
static void pub_set_mosq_err(struct sl_publisher *pub, int rc, const char *what)
{
	const struct sl_config *cfg = pub->cfg;
	int e = errno;
	char key[64];
	/* before the CONNACK, a TLS connection that breaks is the TLS layer's doing:
	 * with TLS 1.3 a rejected client certificate shows up after the client's
	 * side of the handshake, as an alert, a reset or EPROTO on the next read */
	bool tls = cfg->mqtt_tls && pub->state == PUB_CONNECTING &&
		   (rc == MOSQ_ERR_TLS || pub->tls_err[0] || pub->load_err[0] ||
		    pub->host_mismatch || rc == MOSQ_ERR_CONN_LOST ||
		    (rc == MOSQ_ERR_ERRNO && (e == EPROTO || e == ECONNRESET || e == EPIPE)));
	char buf[128];
	const char *detail = pub->tls_err[0] ? pub->tls_err
			     : pub_text(rc == MOSQ_ERR_ERRNO ? strerror(e) : mosquitto_strerror(rc),
					buf, sizeof(buf));

	if (tls) {
		if (pub->host_mismatch)
			pub_set_err(pub, "tls-host", "TLS: the broker's certificate does not match "
				    "the host name '%s' ([mqtt] host) (%s)", cfg->mqtt_host,
				    detail);
		else if (pub->load_err[0])
			pub_set_err(pub, "tls-local", "TLS: %s (%s)", pub->load_err, detail);
		else if (pub->verify != X509_V_OK)
			pub_set_verify_err(pub, detail);
		else if (strstr(detail, "certificate verify failed"))
			pub_set_err(pub, "tls-untrusted", "TLS: the broker's certificate is not "
				    "trusted by [mqtt] ca_file %s (%s)", cfg->mqtt_ca_file, detail);
		else
			pub_set_err(pub, "tls-rejected", "TLS: the broker ended the handshake "
				    "(%s): does it accept the client certificate [mqtt] "
				    "cert_file %s, and TLS 1.2 or later?", detail,
				    cfg->mqtt_cert_file);
		return;
	}
	snprintf(key, sizeof(key), "net:%s:%d:%d", what, rc, rc == MOSQ_ERR_ERRNO ? e : 0);
	pub_set_err(pub, key, "%s %s:%d: %s", what, cfg->mqtt_host, cfg->mqtt_port, detail);
}

/* ---- the window --------------------------------------------------------- */

static void pub_window_reset(struct sl_publisher *pub)
{
	for (int i = 0; i < pub->window; i++) {
		pub->mids[i] = 0;
		pub->nrows[i] = 0;
		pub->free_slots[i] = pub->window - 1 - i;
	}
	pub->nfree = pub->window;
	pub->status_mid = 0;
	for (int c = 0; c < SL_CLASS__COUNT; c++) {
		pub->batches[c].slot = -1;
		pub->batches[c].len = 0;
	}
}

static int pub_inflight(const struct sl_publisher *pub)
{
	return pub->window - pub->nfree;
}

static int pub_slot_take(struct sl_publisher *pub)
{
	if (!pub->nfree)
		return -1;
	return pub->free_slots[--pub->nfree];
}

static void pub_slot_put(struct sl_publisher *pub, int slot)
{
	pub->mids[slot] = 0;
	pub->nrows[slot] = 0;
	pub->free_slots[pub->nfree++] = slot;
}

/* Linear scan: the window is small (default 32, at most 1024 ints). */
static int pub_slot_find(const struct sl_publisher *pub, int mid)
{
	if (mid <= 0)
		return -1;	/* 0 marks a free slot */
	for (int i = 0; i < pub->window; i++)
		if (pub->mids[i] == mid)
			return i;
	return -1;
}

/* Rows that could not be delivered stay in the spool; retry them later. */
static void pub_want_retry(struct sl_publisher *pub)
{
	uint64_t delay;

	if (pub->retry_timer.armed)
		return;
	delay = pub_backoff(pub, pub->retry_streak);
	if (pub->retry_streak < 32)
		pub->retry_streak++;
	sl_timer_arm(pub->loop, &pub->retry_timer, delay);
}

static void pub_retry_cb(struct sl_timer *t)
{
	struct sl_publisher *pub = t->ctx;

	/* one message of each refused class may try again; rows held back
	 * (and rows whose delete failed) are read again from the oldest */
	pub->probe |= pub->parked;
	pub->rewind_wanted = true;
	pub->need_fill = true;
	pub_settle(pub);
}

/* ---- status messages ---------------------------------------------------- */

static int pub_status_json(const struct sl_publisher *pub, char *buf, size_t cap,
			   const char *status, const char *reason, bool with_ts)
{
	char ts[SL_RFC3339_LEN];
	struct sl_jw w;
	const char *lists[2] = { pub->key_ids, pub->key_checks };
	static const char *const names[2] = { "key_ids", "key_checks" };

	sl_jw_init(&w, buf, cap);
	sl_jw_obj_begin(&w);
	sl_jw_key(&w, "schema");
	sl_jw_str(&w, "storelink.status/1");
	sl_jw_key(&w, "status");
	sl_jw_str(&w, status);
	if (reason) {
		sl_jw_key(&w, "reason");
		sl_jw_str(&w, reason);
	}
	sl_jw_key(&w, "version");
	sl_jw_str(&w, SL_VERSION);
	/* key_checks[i] is the check value of key_ids[i] (docs/tokens.md) */
	for (int i = 0; i < 2; i++) {
		const char *p = lists[i];

		if (i && !*p)
			break;
		sl_jw_key(&w, names[i]);
		sl_jw_arr_begin(&w);
		while (*p) {
			size_t n = strcspn(p, ",");

			if (n)
				sl_jw_strn(&w, p, n);
			p += n;
			if (*p == ',')
				p++;
		}
		sl_jw_arr_end(&w);
	}
	if (with_ts && pub->health_fn && strcmp(status, "online") == 0) {
		sl_jw_key(&w, "uplink");
		sl_jw_obj_begin(&w);
		sl_jw_kv_uint(&w, "reconnects", pub->reconnects);
		sl_jw_kv_uint(&w, "refusals", pub->refusals);
		sl_jw_kv_str(&w, "last_refusal", pub->refusal[0] ? pub->refusal : NULL);
		sl_jw_obj_end(&w);
		sl_jw_key(&w, "health");
		pub->health_fn(pub->health_ctx, &w);
	}
	if (with_ts) {
		sl_rfc3339(sl_now_us(), ts);
		sl_jw_key(&w, "ts");
		sl_jw_str(&w, ts);
	}
	sl_jw_obj_end(&w);
	return sl_jw_finish(&w);
}

static void pub_publish_status(struct sl_publisher *pub, const char *status, const char *reason)
{
	static char buf[PUB_HEALTH_MAX];	/* one loop, one status at a time */
	int len = pub_status_json(pub, buf, sizeof(buf), status, reason, true);
	int mid = 0, rc;

	if (pub->health_ms && strcmp(status, "online") == 0)
		sl_timer_arm(pub->loop, &pub->health_timer, pub->health_ms);
	if (len < 0) {
		sl_debug("mqtt: status message: %s", strerror(-len));
		return;
	}
	rc = mosquitto_publish(pub->mosq, &mid, pub->status_topic, len, buf, 1, true);
	if (rc == MOSQ_ERR_SUCCESS)
		pub->status_mid = mid;
	else
		sl_debug("mqtt: status message: %s", mosquitto_strerror(rc));
}

static void pub_health_cb(struct sl_timer *t)
{
	struct sl_publisher *pub = t->ctx;

	if (pub->state != PUB_CONNECTED)
		return;		/* the next CONNACK publishes it */
	if (pub->status_mid) {	/* the previous one is still in flight */
		sl_timer_arm(pub->loop, &pub->health_timer, pub->health_ms);
		return;
	}
	pub_publish_status(pub, "online", NULL);
}

void sl_publisher_set_health(struct sl_publisher *pub, sl_publisher_health_fn fn, void *ctx,
			     unsigned interval_s)
{
	pub->health_fn = fn;
	pub->health_ctx = ctx;
	pub->health_ms = (uint64_t)interval_s * 1000u;
	pub->health_timer.cb = pub_health_cb;
	pub->health_timer.ctx = pub;
}

/* ---- libmosquitto callbacks (inside mosquitto_loop_*: no destroy here) --- */

static void pub_on_log(struct mosquitto *m, void *obj, int level, const char *msg)
{
	struct sl_publisher *pub = obj;

	/* library messages name topics and sizes, never payloads */
	sl_debug("mqtt: libmosquitto: %s", msg);
	if (!(level & MOSQ_LOG_ERR))
		return;
	if (strstr(msg, "host name verification failed"))
		pub->host_mismatch = true;
	else if (strstr(msg, "OpenSSL Error")) {
		/* logged while the failed handshake's SSL object still exists:
		 * the verify result tells why the broker's chain was refused */
		SSL *ssl = mosquitto_ssl_get(m);

		snprintf(pub->tls_err, sizeof(pub->tls_err), "%s", msg);
		if (ssl && pub->verify == X509_V_OK)
			pub->verify = SSL_get_verify_result(ssl);
	}
	else if (strstr(msg, "Unable to load") || strstr(msg, "inconsistent"))
		snprintf(pub->load_err, sizeof(pub->load_err), "%s", msg);
}

static void pub_on_connect(struct mosquitto *m, void *obj, int rc, int flags,
			   const mosquitto_property *props)
{
	struct sl_publisher *pub = obj;
	uint32_t maxp = 0;
	int keepalive_ms;
	char key[32], buf[128];

	(void)flags;
	if (rc != 0) {
		snprintf(key, sizeof(key), "connack:%d", rc);
		if (pub->cfg->mqtt_protocol == SL_MQTT_V311)
			pub_set_err(pub, key, "the broker %s:%d refused the connection: %s "
				    "(CONNACK %d)", pub->cfg->mqtt_host, pub->cfg->mqtt_port,
				    pub_text(mosquitto_connack_string(rc), buf, sizeof(buf)), rc);
		else
			pub_set_err(pub, key, "the broker %s:%d refused the connection: %s "
				    "(CONNACK reason 0x%02x)", pub->cfg->mqtt_host,
				    pub->cfg->mqtt_port, mosquitto_reason_string(rc), rc);
		pub->failed = true;
		return;
	}
	if (mosquitto_property_read_int32(props, MQTT_PROP_MAXIMUM_PACKET_SIZE, &maxp, false))
		pub->max_packet = maxp;
	pub->state = PUB_CONNECTED;
	pub->connected_ms = sl_mono_ms();
	pub->last_error[0] = '\0';
	if (!pub->announced) {
		sl_info("mqtt: connected to %s:%d (MQTT %s, %s)", pub->cfg->mqtt_host,
			pub->cfg->mqtt_port, pub_proto_name(pub),
			pub->cfg->mqtt_tls ? "TLS" : "plaintext");
		pub->announced = true;
	}
	/* the library logs a line per packet: only listen while connecting */
	mosquitto_log_callback_set(m, NULL);
	/* after a reconnect everything not deleted goes again, oldest first */
	memset(pub->cursor.after, 0, sizeof(pub->cursor.after));
	pub->rewind_wanted = false;
	pub_publish_status(pub, "online", NULL);
	pub->need_fill = true;
	/* keepalive: wake at a quarter of it so a PINGREQ is never late */
	keepalive_ms = pub->cfg->mqtt_keepalive * 1000 / 4;
	sl_timer_arm(pub->loop, &pub->misc_timer,
		     (uint64_t)(keepalive_ms > 1000 ? keepalive_ms : 1000));
}

static void pub_on_disconnect(struct mosquitto *m, void *obj, int rc,
			      const mosquitto_property *props)
{
	struct sl_publisher *pub = obj;

	(void)m;
	(void)props;
	if (rc >= 0x80)
		pub_set_err(pub, "broker-disconnect", "the broker %s:%d closed the connection: "
			    "%s (reason 0x%02x)", pub->cfg->mqtt_host, pub->cfg->mqtt_port,
			    mosquitto_reason_string(rc), rc);
	else if (rc == MOSQ_ERR_KEEPALIVE)
		pub_set_err(pub, "keepalive", "no answer from %s:%d within the keepalive (%d s)",
			    pub->cfg->mqtt_host, pub->cfg->mqtt_port, pub->cfg->mqtt_keepalive);
	else if (rc != 0)
		pub_set_mosq_err(pub, rc, "connection to");
	pub->failed = true;
}

static void pub_refused(struct sl_publisher *pub, int slot, int reason)
{
	enum sl_event_class cls = pub->rows[(size_t)slot * (size_t)pub->batch].cls;

	/* hold the class back (other classes keep flowing) until a probe passes;
	 * some brokers (mosquitto 2.0) also drop the connection after a refusal */
	pub->parked |= 1u << cls;
	pub->probe &= ~(1u << cls);
	pub->refusals++;
	snprintf(pub->refusal, sizeof(pub->refusal),
		 "the broker refused %s messages: %s (PUBACK reason 0x%02x)",
		 sl_event_class_name(cls), mosquitto_reason_string(reason), reason);
	if (pub->refused_logged[cls] != reason) {
		sl_warn("mqtt: %s; the events stay in the spool and are retried with backoff",
			pub->refusal);
		pub->refused_logged[cls] = reason;
	}
	pub_want_retry(pub);
}

static void pub_on_publish(struct mosquitto *m, void *obj, int mid, int reason,
			   const mosquitto_property *props)
{
	struct sl_publisher *pub = obj;
	int slot;

	(void)m;
	(void)props;
	if (mid == pub->status_mid) {
		pub->status_mid = 0;
		if (reason >= 0x80 && !pub->status_refused_logged) {
			sl_warn("mqtt: the broker refused the status message on %s: %s (0x%02x)",
				pub->status_topic, mosquitto_reason_string(reason), reason);
			pub->status_refused_logged = true;
		}
		return;
	}
	slot = pub_slot_find(pub, mid);
	if (slot < 0)
		return;
	if (reason >= 0x80) {
		pub_refused(pub, slot, reason);
	} else {
		const struct pub_row *r = &pub->rows[(size_t)slot * (size_t)pub->batch];
		uint32_t bit = 1u << r[0].cls;

		if (pub->parked & bit) {
			/* the probe passed: read the rows held back again */
			pub->parked &= ~bit;
			pub->probe &= ~bit;
			pub->rewind_wanted = true;
			if (!pub->parked)
				pub->retry_streak = 0;
		}
		for (int i = 0; i < pub->nrows[slot]; i++) {
			int rc = sl_spool_delete(pub->spool, r[i].rowid);

			if (rc == 0) {
				pub->published[r[i].cls]++;
				pub->refused_logged[r[i].cls] = 0;
			} else if (rc != -ENOENT) {
				/* the row stays: sent again after a rewind */
				sl_debug("mqtt: spool delete after PUBACK: %s", strerror(-rc));
				pub->refusals++;
				pub_want_retry(pub);
			}
		}
		pub->last_ack_us = (int64_t)sl_now_us();
	}
	pub_slot_put(pub, slot);
	pub->need_fill = true;
}

/* ---- publishing --------------------------------------------------------- */

static int pub_topic(const struct sl_publisher *pub, const char *type, char *buf, size_t cap)
{
	int n = snprintf(buf, cap, "%sevents/%s", pub->topic_base, type);

	return n < 0 || (size_t)n >= cap ? -ENAMETOOLONG : 0;
}

/*
 * Publishes one message for slot. Returns 0, 1 when the message cannot be
 * sent as is (too large for the broker: a refusal, the rows stay), or -1 when
 * the connection failed (pub->err set).
 */
static int pub_send(struct sl_publisher *pub, int slot, const char *type, const void *payload,
		    size_t len)
{
	char topic[PUB_TOPIC_MAX];
	int mid = 0, rc;

	if (pub_topic(pub, type, topic, sizeof(topic)) < 0 || len > INT32_MAX) {
		rc = MOSQ_ERR_PAYLOAD_SIZE;
	} else {
		errno = 0;
		rc = mosquitto_publish(pub->mosq, &mid, topic, (int)len, payload, 1, false);
	}
	if (rc == MOSQ_ERR_SUCCESS) {
		pub->mids[slot] = mid;
		return 0;
	}
	if (rc == MOSQ_ERR_OVERSIZE_PACKET || rc == MOSQ_ERR_PAYLOAD_SIZE || rc == MOSQ_ERR_INVAL) {
		enum sl_event_class cls = pub->rows[(size_t)slot * (size_t)pub->batch].cls;
		char buf[128];

		pub->refusals++;
		snprintf(pub->last_error, sizeof(pub->last_error),
			 "a %s message of %zu bytes cannot be sent: %s", sl_event_class_name(cls),
			 len, pub_text(mosquitto_strerror(rc), buf, sizeof(buf)));
		if (pub->refused_logged[cls] != -rc) {
			sl_warn("mqtt: %s; it stays in the spool", pub->last_error);
			pub->refused_logged[cls] = -rc;
		}
		pub_want_retry(pub);
		return 1;
	}
	pub_set_mosq_err(pub, rc, "publishing to");
	pub->failed = true;
	return -1;
}

/* Sends a batch being built as a JSON array. */
static int pub_batch_flush(struct sl_publisher *pub, struct pub_batch *b)
{
	int slot = b->slot, rc;

	if (slot < 0)
		return 0;
	b->buf[b->len++] = ']';
	rc = pub_send(pub, slot, b->type, b->buf, b->len);
	b->slot = -1;
	b->len = 0;
	if (rc != 0)
		pub_slot_put(pub, slot);
	return rc < 0 ? -1 : 0;
}

/*
 * Sends the batches being built whose class has a priority number below
 * max_prio (all of them: SL_SPOOL_PRIO_COUNT), in the order they were
 * started. Rows come in priority order, so sending the more urgent batches
 * first keeps messages in priority order.
 */
static int pub_batch_flush_prio(struct sl_publisher *pub, int max_prio)
{
	for (;;) {
		struct pub_batch *first = NULL;

		for (int c = 0; c < SL_CLASS__COUNT; c++) {
			struct pub_batch *b = &pub->batches[c];

			if (b->slot < 0 ||
			    sl_event_class_priority((enum sl_event_class)c) >= max_prio)
				continue;
			if (!first || b->opened < first->opened)
				first = b;
		}
		if (!first)
			return 0;
		if (pub_batch_flush(pub, first) < 0)
			return -1;
	}
}

static int pub_batch_flush_all(struct sl_publisher *pub)
{
	return pub_batch_flush_prio(pub, SL_SPOOL_PRIO_COUNT);
}

/* Sends class cls's batch, after those of more urgent classes. */
static int pub_batch_flush_class(struct sl_publisher *pub, enum sl_event_class cls)
{
	if (pub_batch_flush_prio(pub, sl_event_class_priority(cls)) < 0)
		return -1;
	return pub_batch_flush(pub, &pub->batches[cls]);
}

static int pub_batch_reserve(struct pub_batch *b, size_t need)
{
	char *p;
	size_t cap = b->cap ? b->cap : 4096;

	if (need <= b->cap)
		return 0;
	while (cap < need)
		cap *= 2;
	p = realloc(b->buf, cap);
	if (!p)
		return -ENOMEM;
	b->buf = p;
	b->cap = cap;
	return 0;
}

struct fill_ctx {
	struct sl_publisher *pub;
	bool stopped;			/* the callback refused a row on purpose */
};

#define FILL_STOP (-EAGAIN)

static int pub_fetch_one(const struct sl_spool_row *row, void *arg)
{
	struct fill_ctx *fc = arg;
	struct sl_publisher *pub = fc->pub;
	uint32_t bit = 1u << row->cls;
	int slot, rc;

	/* a refused class: skipped (it stays in the spool) except for one probe */
	if ((pub->parked & bit) && !(pub->probe & bit))
		return 0;
	slot = pub_slot_take(pub);
	if (slot < 0) {
		fc->stopped = true;
		return FILL_STOP;
	}
	pub->probe &= ~bit;
	pub->rows[slot].rowid = row->rowid;
	pub->rows[slot].cls = row->cls;
	pub->nrows[slot] = 1;
	rc = pub_send(pub, slot, row->type, row->payload, row->len);
	if (rc != 0) {
		pub_slot_put(pub, slot);
		if (rc < 0) {
			fc->stopped = true;
			return FILL_STOP;
		}
	}
	return 0;
}

static size_t pub_batch_bytes(const struct sl_publisher *pub)
{
	size_t cap = PUB_BATCH_MAX_BYTES;

	/* stay well under the broker's limit: topic and header overhead */
	if (pub->max_packet && pub->max_packet > 1024 && pub->max_packet - 1024 < cap)
		cap = pub->max_packet - 1024;
	return cap;
}

static int pub_fetch_batch(const struct sl_spool_row *row, void *arg)
{
	struct fill_ctx *fc = arg;
	struct sl_publisher *pub = fc->pub;
	uint32_t bit = 1u << row->cls;
	bool probe = pub->parked & bit;
	struct pub_batch *b = &pub->batches[row->cls];
	struct pub_row *r;
	int slot = b->slot;

	/* a refused class: skipped (it stays in the spool) except for one probe,
	 * which goes alone */
	if (probe && !(pub->probe & bit))
		return 0;
	if (slot >= 0 && (probe || strcmp(row->type, b->type) != 0 ||
			  pub->nrows[slot] >= pub->batch ||
			  b->len + row->len + 2 > pub_batch_bytes(pub))) {
		if (pub_batch_flush_class(pub, row->cls) < 0) {
			fc->stopped = true;
			return FILL_STOP;
		}
		slot = -1;
	}
	if (slot < 0) {
		if (strlen(row->type) >= sizeof(b->type) || !pub->nfree) {
			fc->stopped = true;
			return FILL_STOP;
		}
		slot = pub_slot_take(pub);
		b->slot = slot;
		b->opened = pub->batch_seq++;
		snprintf(b->type, sizeof(b->type), "%s", row->type);
		b->len = 0;
		if (pub_batch_reserve(b, 1) < 0)
			goto err_nomem;
		b->buf[b->len++] = '[';
	}
	/* room for ",", the event and the closing "]" */
	if (pub_batch_reserve(b, b->len + row->len + 2) < 0)
		goto err_nomem;
	if (pub->nrows[slot])
		b->buf[b->len++] = ',';
	memcpy(b->buf + b->len, row->payload, row->len);
	b->len += row->len;
	r = &pub->rows[(size_t)slot * (size_t)pub->batch + (size_t)pub->nrows[slot]];
	r->rowid = row->rowid;
	r->cls = row->cls;
	pub->nrows[slot]++;
	if (probe) {
		pub->probe &= ~bit;
		if (pub_batch_flush_class(pub, row->cls) < 0) {
			fc->stopped = true;
			return FILL_STOP;
		}
	}
	return 0;

err_nomem:
	/* rows of this batch were taken from the cursor: retry them later */
	b->slot = -1;
	b->len = 0;
	pub_slot_put(pub, slot);
	pub->refusals++;
	pub_want_retry(pub);
	fc->stopped = true;
	return FILL_STOP;
}

/* Publishes spool rows while the window has room. */
static void pub_fill(struct sl_publisher *pub)
{
	pub->need_fill = false;
	if (pub->state != PUB_CONNECTED || pub->failed)
		return;
	if (pub->rewind_wanted) {
		if (pub_inflight(pub) > 0)
			return;	/* the last PUBACK brings us back here */
		memset(pub->cursor.after, 0, sizeof(pub->cursor.after));
		pub->rewind_wanted = false;
		pub->refusals_at_rewind = pub->refusals;
	}
	while (pub->nfree > 0 && !pub->failed) {
		struct fill_ctx fc = { .pub = pub };
		size_t max = (size_t)pub->nfree * (size_t)pub->batch;
		int n;

		n = sl_spool_fetch(pub->spool, &pub->cursor, max,
				   pub->batch > 1 ? pub_fetch_batch : pub_fetch_one, &fc);
		if (pub->batch > 1 && pub_batch_flush_all(pub) < 0)
			break;
		if (n < 0 && !fc.stopped) {
			/* e.g. -EBUSY: try again after a backoff, even if no kick comes */
			sl_debug("mqtt: spool fetch: %s", strerror(-n));
			pub_want_retry(pub);
			break;
		}
		if (n <= 0 || fc.stopped || (size_t)n < max)
			break;	/* window full, or nothing more to send for now */
	}
	/* a retry round went through without new refusals: back to short delays */
	if (!pub->parked && !pub->rewind_wanted && !pub->retry_timer.armed &&
	    pub->refusals == pub->refusals_at_rewind)
		pub->retry_streak = 0;
}

/* ---- connection management ---------------------------------------------- */

static void pub_update_events(struct sl_publisher *pub)
{
	uint32_t ev = EPOLLIN;
	int rc;

	if (pub->state == PUB_CONNECTING ? !pub->tcp_up : mosquitto_want_write(pub->mosq))
		ev |= EPOLLOUT;
	rc = sl_loop_mod(pub->loop, &pub->io, ev);
	if (rc < 0) {
		pub_set_err(pub, "loop", "event loop: %s", strerror(-rc));
		pub->failed = true;
	}
}

static void pub_unregister(struct sl_publisher *pub)
{
	sl_loop_del(pub->loop, &pub->io);
	pub->io.fd = -1;
}

/* true if this kind of error was logged since the last stable connection;
 * remembers it otherwise (a flapping connection alternates a few kinds) */
static bool pub_key_logged(struct sl_publisher *pub, const char *key)
{
	unsigned n = pub->nlogged < PUB_LOGGED_KEYS ? pub->nlogged : PUB_LOGGED_KEYS;

	for (unsigned i = 0; i < n; i++)
		if (strcmp(pub->logged_keys[i], key) == 0)
			return true;
	snprintf(pub->logged_keys[pub->nlogged % PUB_LOGGED_KEYS], sizeof(pub->logged_keys[0]),
		 "%s", key);
	pub->nlogged++;
	return false;
}

/* Ends the current client and schedules the next attempt. */
static void pub_drop(struct sl_publisher *pub)
{
	uint64_t now = sl_mono_ms(), delay;
	const char *why;

	if (pub->state == PUB_CONNECTED && now - pub->connected_ms >= PUB_STABLE_MS) {
		pub->fail_streak = 0;
		pub->nlogged = 0;
	}
	if (!pub->err[0])
		pub_set_err(pub, "lost", "connection to %s:%d lost", pub->cfg->mqtt_host,
			    pub->cfg->mqtt_port);
	why = pub->err;
	snprintf(pub->last_error, sizeof(pub->last_error), "%s", why);

	pub_unregister(pub);
	if (pub->mosq) {
		mosquitto_destroy(pub->mosq);
		pub->mosq = NULL;
	}
	pub->state = PUB_IDLE;
	sl_timer_cancel(pub->loop, &pub->misc_timer);
	sl_timer_cancel(pub->loop, &pub->health_timer);
	pub->rewind_wanted = false;	/* the next CONNACK rewinds; probes stay scheduled */
	pub_window_reset(pub);
	memset(pub->cursor.after, 0, sizeof(pub->cursor.after));
	/* a probe lost with the connection (no PUBACK came back) counts as refused */
	if (pub->parked)
		pub_want_retry(pub);

	delay = pub_backoff(pub, pub->fail_streak);
	if (pub->fail_streak < 32)
		pub->fail_streak++;
	if (!pub_key_logged(pub, pub->err_key)) {
		sl_warn("mqtt: %s; retrying with backoff (next attempt in %.1f s, "
			"at most every %.1f s)", why, (double)delay / 1000.0,
			(double)pub->cfg->mqtt_backoff_max_ms / 1000.0);
		pub->announced = false;
	} else {
		sl_debug("mqtt: %s; next attempt in %" PRIu64 " ms", why, delay);
	}
	sl_timer_arm(pub->loop, &pub->conn_timer, delay);
}

/* Checks one readable file; an error message that names the key. */
int sl_publisher_key_private(const char *path, char *err, size_t errlen)
{
	struct stat st;

	if (stat(path, &st) < 0)
		return -errno;
	if (st.st_mode & 077) {
		snprintf(err, errlen, "%s is %s by group or others (mode %04o); "
			 "chmod 600 it", path, (st.st_mode & 066) ? "readable or writable" :
			 "accessible", (unsigned int)(st.st_mode & 07777));
		return -EPERM;
	}
	return 0;
}

static bool pub_file_ok(struct sl_publisher *pub, const char *key, const char *path)
{
	if (path && access(path, R_OK) == 0) {
		char err[PUB_ERR_MAX];

		if (strcmp(key, "key_file") || sl_publisher_key_private(path, err, sizeof(err)) != -EPERM)
			return true;
		pub_set_err(pub, key, "[mqtt] key_file %s", err);
		return false;
	}
	pub_set_err(pub, key, "[mqtt] %s %s: %s", key, path ? path : "(unset)",
		    path ? strerror(errno) : "required with TLS");
	return false;
}

/* Refuses to prompt on the terminal for an encrypted key. */
static int pub_no_password(char *buf, int size, int rwflag, void *userdata)
{
	(void)buf;
	(void)size;
	(void)rwflag;
	(void)userdata;
	return 0;
}

/* A fresh client with every option; 0 or -1 (pub->err set). */
static int pub_client_new(struct sl_publisher *pub)
{
	const struct sl_config *cfg = pub->cfg;
	char will[PUB_STATUS_MAX];
	int will_len, rc;

	pub->mosq = mosquitto_new(cfg->mqtt_client_id, true, pub);
	if (!pub->mosq) {
		pub_set_err(pub, "new", "libmosquitto: %s", strerror(errno ? errno : ENOMEM));
		return -1;
	}
	mosquitto_log_callback_set(pub->mosq, pub_on_log);
	mosquitto_connect_v5_callback_set(pub->mosq, pub_on_connect);
	mosquitto_disconnect_v5_callback_set(pub->mosq, pub_on_disconnect);
	mosquitto_publish_v5_callback_set(pub->mosq, pub_on_publish);

	rc = mosquitto_int_option(pub->mosq, MOSQ_OPT_PROTOCOL_VERSION,
				  cfg->mqtt_protocol == SL_MQTT_V311 ? MQTT_PROTOCOL_V311
								     : MQTT_PROTOCOL_V5);
	/* + 1: the status message shares libmosquitto's in-flight quota */
	if (!rc)
		rc = mosquitto_int_option(pub->mosq, MOSQ_OPT_SEND_MAXIMUM, pub->window + 1);
	if (!rc)
		rc = mosquitto_int_option(pub->mosq, MOSQ_OPT_TCP_NODELAY, 1);
	if (rc) {
		pub_set_err(pub, "options", "libmosquitto options: %s", mosquitto_strerror(rc));
		return -1;
	}

	if (cfg->mqtt_tls) {
		if (!pub_file_ok(pub, "ca_file", cfg->mqtt_ca_file) ||
		    !pub_file_ok(pub, "cert_file", cfg->mqtt_cert_file) ||
		    !pub_file_ok(pub, "key_file", cfg->mqtt_key_file))
			return -1;
		rc = mosquitto_tls_set(pub->mosq, cfg->mqtt_ca_file, NULL, cfg->mqtt_cert_file,
				       cfg->mqtt_key_file, pub_no_password);
		/* "tlsv1.2" is a minimum in libmosquitto 2.0: TLS 1.3 is negotiated
		 * when the broker offers it, 1.1 and older never */
		if (!rc)
			rc = mosquitto_tls_opts_set(pub->mosq, SSL_VERIFY_PEER, "tlsv1.2",
						    NULL);
		if (!rc)
			rc = mosquitto_tls_insecure_set(pub->mosq, false);
		if (rc) {
			pub_set_err(pub, "tls-setup",
				    "TLS setup ([mqtt] ca_file, cert_file, key_file): %s",
				    mosquitto_strerror(rc));
			return -1;
		}
	}

	will_len = pub_status_json(pub, will, sizeof(will), "offline", "connection lost", false);
	rc = will_len < 0 ? MOSQ_ERR_INVAL
			  : mosquitto_will_set(pub->mosq, pub->status_topic, will_len, will, 1,
					       true);
	if (rc) {
		pub_set_err(pub, "will", "will message: %s", mosquitto_strerror(rc));
		return -1;
	}
	return 0;
}

static void pub_io_cb(struct sl_io *io, uint32_t revents);
static void pub_misc_cb(struct sl_timer *t);

static void pub_attempt(struct sl_publisher *pub)
{
	const struct sl_config *cfg = pub->cfg;
	int rc, fd, timeout_s;

	if (pub->state != PUB_IDLE)
		return;
	if (pub->attempts++)
		pub->reconnects++;
	pub->err[0] = '\0';
	pub->err_key[0] = '\0';
	pub->tls_err[0] = '\0';
	pub->load_err[0] = '\0';
	pub->host_mismatch = false;
	pub->verify = X509_V_OK;
	pub->failed = false;
	pub->tcp_up = false;
	pub->max_packet = 0;
	pub->attempt_ms = sl_mono_ms();
	pub->state = PUB_CONNECTING;

	if (pub_client_new(pub) < 0)
		goto fail;
	errno = 0;
	rc = mosquitto_connect_bind_async(pub->mosq, cfg->mqtt_host, cfg->mqtt_port,
					  cfg->mqtt_keepalive, NULL);
	if (rc != MOSQ_ERR_SUCCESS) {
		pub_set_mosq_err(pub, rc, "connecting to");
		goto fail;
	}
	fd = mosquitto_socket(pub->mosq);
	if (fd < 0) {
		pub_set_mosq_err(pub, MOSQ_ERR_NO_CONN, "connecting to");
		goto fail;
	}
	pub->io.fd = fd;
	pub->io.events = EPOLLIN | EPOLLOUT;
	rc = sl_loop_add(pub->loop, &pub->io);
	if (rc < 0) {
		pub_set_err(pub, "loop", "event loop: %s", strerror(-rc));
		goto fail;
	}
	sl_debug("mqtt: connecting to %s:%d (attempt %" PRIu64 ")", cfg->mqtt_host,
		 cfg->mqtt_port, pub->attempts);
	timeout_s = cfg->mqtt_keepalive < PUB_CONNECT_TIMEOUT_MAX_S ? cfg->mqtt_keepalive
								    : PUB_CONNECT_TIMEOUT_MAX_S;
	sl_timer_arm(pub->loop, &pub->misc_timer, (uint64_t)timeout_s * 1000u);
	return;

fail:
	pub_drop(pub);
}

static void pub_conn_cb(struct sl_timer *t)
{
	struct sl_publisher *pub = t->ctx;

	pub_attempt(pub);
	pub_settle(pub);
}

/* After every entry from the loop: refill, then either drop a dead
 * connection or update what we wait for. */
static void pub_settle(struct sl_publisher *pub)
{
	if (!pub->mosq || pub->state == PUB_CLOSING)
		return;
	if (!pub->failed && mosquitto_socket(pub->mosq) >= 0 && pub->need_fill)
		pub_fill(pub);
	if (pub->failed || mosquitto_socket(pub->mosq) < 0) {
		pub_drop(pub);
		return;
	}
	pub_update_events(pub);
	if (pub->failed)
		pub_drop(pub);
}

/* The socket's pending error after a failed non-blocking connect. */
static void pub_socket_error(struct sl_publisher *pub)
{
	int e = 0;
	socklen_t len = sizeof(e);
	const char *what;
	char key[64];

	if (getsockopt(pub->io.fd, SOL_SOCKET, SO_ERROR, &e, &len) < 0)
		return;
	if (!e && pub->state == PUB_CONNECTING) {
		struct sockaddr_storage peer;
		socklen_t plen = sizeof(peer);

		/* libmosquitto's first TLS write already consumed the error of a
		 * connect that was refused at once (loopback, LAN): no peer means
		 * no TCP connection */
		if (getpeername(pub->io.fd, (struct sockaddr *)&peer, &plen) < 0 &&
		    errno == ENOTCONN)
			e = ECONNREFUSED;
	}
	if (!e)
		return;
	/* the same kind as an error that connect() or read() reports itself */
	what = pub->state == PUB_CONNECTING ? "connecting to" : "connection to";
	snprintf(key, sizeof(key), "net:%s:%d:%d", what, MOSQ_ERR_ERRNO, e);
	pub_set_err(pub, key, "%s %s:%d: %s", what, pub->cfg->mqtt_host, pub->cfg->mqtt_port,
		    strerror(e));
}

static void pub_io_cb(struct sl_io *io, uint32_t revents)
{
	struct sl_publisher *pub = io->ctx;
	bool err = revents & (EPOLLERR | EPOLLHUP);
	int rc;

	if (!pub->mosq)
		return;
	if (pub->state == PUB_CONNECTING && !pub->tcp_up) {
		if (err)
			pub_socket_error(pub);
		if (revents & EPOLLOUT)
			pub->tcp_up = true;
	}
	if ((revents & EPOLLIN) || err || pub->state == PUB_CONNECTING) {
		errno = 0;
		rc = mosquitto_loop_read(pub->mosq, 1);
		if (rc != MOSQ_ERR_SUCCESS) {
			pub_set_mosq_err(pub, rc, "connection to");
			pub->failed = true;
		}
	}
	if (!pub->failed && mosquitto_socket(pub->mosq) >= 0 &&
	    ((revents & EPOLLOUT) || pub->state == PUB_CONNECTING) &&
	    mosquitto_want_write(pub->mosq)) {
		errno = 0;
		rc = mosquitto_loop_write(pub->mosq, 1);
		if (rc != MOSQ_ERR_SUCCESS) {
			pub_set_mosq_err(pub, rc, "connection to");
			pub->failed = true;
		}
	}
	/* an error condition that reading did not clear would wake us forever */
	if (err && !pub->failed && mosquitto_socket(pub->mosq) >= 0) {
		pub_socket_error(pub);
		pub->failed = true;
	}
	pub_settle(pub);
}

static void pub_misc_cb(struct sl_timer *t)
{
	struct sl_publisher *pub = t->ctx;
	int rc, keepalive_ms;

	if (!pub->mosq)
		return;
	if (pub->state == PUB_CONNECTING) {
		pub_set_err(pub, "no-connack", "no CONNACK from %s:%d within %" PRIu64 " s",
			    pub->cfg->mqtt_host, pub->cfg->mqtt_port,
			    (sl_mono_ms() - pub->attempt_ms) / 1000u);
		pub->failed = true;
		pub_settle(pub);
		return;
	}
	errno = 0;
	rc = mosquitto_loop_misc(pub->mosq);
	if (rc != MOSQ_ERR_SUCCESS) {
		pub_set_mosq_err(pub, rc, "connection to");
		pub->failed = true;
	}
	pub_settle(pub);
	if (pub->mosq && pub->state == PUB_CONNECTED) {
		keepalive_ms = pub->cfg->mqtt_keepalive * 1000 / 4;
		sl_timer_arm(pub->loop, t, (uint64_t)(keepalive_ms > 1000 ? keepalive_ms : 1000));
	}
}

/* ---- public API --------------------------------------------------------- */

/* MQTT topic levels we build must not contain wildcards (or '/' for ids). */
static bool pub_level_ok(const char *s, bool slash_ok)
{
	if (!s || !*s)
		return false;
	for (; *s; s++)
		if (*s == '+' || *s == '#' || (!slash_ok && *s == '/'))
			return false;
	return true;
}

int sl_publisher_open(struct sl_publisher **ret, struct sl_loop *loop,
		      const struct sl_config *cfg, struct sl_spool *spool, const char *key_ids,
		      const char *key_checks, char *err, size_t errlen)
{
	struct sl_publisher *pub;
	int n, rc;

	if (!ret || !loop || !cfg || !spool) {
		snprintf(err, errlen, "publisher: invalid arguments");
		return -EINVAL;
	}
	if (!cfg->mqtt_host || !*cfg->mqtt_host || cfg->mqtt_inflight < 1 || cfg->mqtt_batch < 1 ||
	    cfg->mqtt_keepalive < 5) {
		snprintf(err, errlen,
			 "[mqtt] host, inflight, batch or keepalive missing or invalid");
		return -EINVAL;
	}
	if (!pub_level_ok(cfg->mqtt_topic_prefix, true) || !pub_level_ok(cfg->tenant, false) ||
	    !pub_level_ok(cfg->store_id, false) || !pub_level_ok(cfg->gateway_id, false)) {
		snprintf(err, errlen, "[mqtt] topic_prefix, [agent] tenant, store_id and gateway_id "
			 "must be non-empty and free of MQTT wildcards (+ #); ids also of '/'");
		return -EINVAL;
	}

	/* a private key others can read is refused at start, like the master key */
	if (cfg->mqtt_tls && cfg->mqtt_key_file) {
		char why[PUB_ERR_MAX];

		rc = sl_publisher_key_private(cfg->mqtt_key_file, why, sizeof(why));
		if (rc == -EPERM) {
			snprintf(err, errlen, "[mqtt] key_file %s", why);
			return rc;
		}
	}

	pub = calloc(1, sizeof(*pub));
	if (!pub)
		goto err_nomem;
	pub->loop = loop;
	pub->cfg = cfg;
	pub->spool = spool;
	pub->io.fd = -1;
	pub->io.cb = pub_io_cb;
	pub->io.ctx = pub;
	pub->conn_timer.cb = pub_conn_cb;
	pub->conn_timer.ctx = pub;
	pub->misc_timer.cb = pub_misc_cb;
	pub->misc_timer.ctx = pub;
	pub->retry_timer.cb = pub_retry_cb;
	pub->retry_timer.ctx = pub;
	pub->window = cfg->mqtt_inflight;
	pub->batch = cfg->mqtt_batch;
	pub->rng = (sl_now_us() ^ ((uint64_t)getpid() << 32)) | 1u;
	snprintf(pub->key_ids, sizeof(pub->key_ids), "%s", key_ids ? key_ids : "");
	snprintf(pub->key_checks, sizeof(pub->key_checks), "%s", key_checks ? key_checks : "");

	n = snprintf(pub->topic_base, sizeof(pub->topic_base), "%s/%s/%s/%s/",
		     cfg->mqtt_topic_prefix, cfg->tenant, cfg->store_id, cfg->gateway_id);
	if (n < 0 || (size_t)n + 64 >= sizeof(pub->topic_base)) {
		snprintf(err, errlen, "MQTT topic prefix too long");
		rc = -ENAMETOOLONG;
		goto err_free;
	}
	pub->topic_base_len = (size_t)n;
	snprintf(pub->status_topic, sizeof(pub->status_topic), "%sstatus", pub->topic_base);

	pub->mids = calloc((size_t)pub->window, sizeof(*pub->mids));
	pub->nrows = calloc((size_t)pub->window, sizeof(*pub->nrows));
	pub->free_slots = calloc((size_t)pub->window, sizeof(*pub->free_slots));
	pub->rows = calloc((size_t)pub->window * (size_t)pub->batch, sizeof(*pub->rows));
	if (!pub->mids || !pub->nrows || !pub->free_slots || !pub->rows) {
		free(pub->mids);
		free(pub->nrows);
		free(pub->free_slots);
		free(pub->rows);
		free(pub);
		goto err_nomem;
	}
	pub_window_reset(pub);

	rc = mosquitto_lib_init();
	if (rc != MOSQ_ERR_SUCCESS) {
		snprintf(err, errlen, "libmosquitto: %s", mosquitto_strerror(rc));
		rc = -EIO;
		goto err_free;
	}
	pub->lib_init = true;

	/* the first attempt runs from the loop, like every later one */
	sl_timer_arm(loop, &pub->conn_timer, 0);
	*ret = pub;
	return 0;

err_free:
	sl_publisher_close(pub);
	return rc;
err_nomem:
	snprintf(err, errlen, "publisher: out of memory");
	return -ENOMEM;
}

/* At close: announce "offline", wait briefly for PUBACKs of what is in
 * flight (fewer duplicates after the restart), then disconnect. */
static void pub_goodbye(struct sl_publisher *pub)
{
	uint64_t deadline = sl_mono_ms() + PUB_CLOSE_WAIT_MS;
	bool disconnected = false;

	pub->state = PUB_CLOSING;
	pub_publish_status(pub, "offline", "shutdown");
	for (;;) {
		uint64_t now = sl_mono_ms();
		struct pollfd pfd;
		bool want_out = mosquitto_want_write(pub->mosq);
		int fd = mosquitto_socket(pub->mosq), rc;

		if (fd < 0 || now >= deadline)
			break;
		if (!disconnected && !pub->status_mid && !pub_inflight(pub)) {
			mosquitto_disconnect(pub->mosq);
			disconnected = true;
			continue;
		}
		if (disconnected && !want_out)
			break;
		pfd.fd = fd;
		pfd.events = POLLIN | (want_out ? POLLOUT : 0);
		pfd.revents = 0;
		if (poll(&pfd, 1, (int)(deadline - now)) < 0 && errno != EINTR)
			break;
		if (pfd.revents & (POLLIN | POLLERR | POLLHUP)) {
			rc = mosquitto_loop_read(pub->mosq, 1);
			if (rc != MOSQ_ERR_SUCCESS)
				break;
		}
		if ((pfd.revents & POLLOUT) && mosquitto_socket(pub->mosq) >= 0) {
			rc = mosquitto_loop_write(pub->mosq, 1);
			if (rc != MOSQ_ERR_SUCCESS)
				break;
		}
	}
	if (!disconnected && mosquitto_socket(pub->mosq) >= 0)
		mosquitto_disconnect(pub->mosq);
	sl_info("mqtt: disconnected (%d message%s still unacknowledged stay in the spool)",
		pub_inflight(pub), pub_inflight(pub) == 1 ? "" : "s");
}

void sl_publisher_close(struct sl_publisher *pub)
{
	if (!pub)
		return;
	sl_timer_cancel(pub->loop, &pub->conn_timer);
	sl_timer_cancel(pub->loop, &pub->misc_timer);
	sl_timer_cancel(pub->loop, &pub->health_timer);
	sl_timer_cancel(pub->loop, &pub->retry_timer);
	pub_unregister(pub);
	if (pub->mosq) {
		if (pub->state == PUB_CONNECTED && mosquitto_socket(pub->mosq) >= 0)
			pub_goodbye(pub);
		mosquitto_destroy(pub->mosq);
	}
	if (pub->lib_init)
		mosquitto_lib_cleanup();
	for (int c = 0; c < SL_CLASS__COUNT; c++)
		free(pub->batches[c].buf);
	free(pub->rows);
	free(pub->free_slots);
	free(pub->nrows);
	free(pub->mids);
	free(pub);
}

void sl_publisher_kick(struct sl_publisher *pub)
{
	if (!pub || pub->state != PUB_CONNECTED)
		return;
	pub->need_fill = true;
	pub_settle(pub);
}

void sl_publisher_stats(const struct sl_publisher *pub, struct sl_publisher_stats *out)
{
	memset(out, 0, sizeof(*out));
	if (!pub)
		return;
	out->connected = pub->state == PUB_CONNECTED;
	/* a refusal is the root cause of what follows (mosquitto 2.0 drops the
	 * connection after one): show it while its class is held back */
	snprintf(out->last_error, sizeof(out->last_error), "%s",
		 pub->parked ? pub->refusal : pub->last_error);
	out->reconnects = pub->reconnects;
	out->inflight = (uint64_t)pub_inflight(pub);
	memcpy(out->published, pub->published, sizeof(out->published));
	out->last_ack_us = pub->last_ack_us;
}
