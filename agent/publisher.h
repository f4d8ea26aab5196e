/* SPDX-License-Identifier: MIT */
/*
 * The publisher: spool rows → MQTT (QoS 1) on the CDP's broker, through
 * libmosquitto driven by the agent's own loop (mosquitto_socket() +
 * mosquitto_loop_read/write/misc; no library thread). A row is deleted
 * from the spool only after the broker's PUBACK; delivery is at least
 * once, and the event's id lets the CDP de-duplicate.
 *
 * Topics: {prefix}/{tenant}/{store}/{gateway}/events/{type}, and the
 * retained {prefix}/{tenant}/{store}/{gateway}/status ("online" on
 * connect, "offline" as the will), see docs/mqtt.md.
 */
#ifndef SL_PUBLISHER_H
#define SL_PUBLISHER_H

#include "config.h"
#include "loop.h"
#include "spool.h"

#include <stdbool.h>
#include <stdint.h>

struct sl_publisher;

struct sl_publisher_stats {
	bool connected;
	char last_error[256];		/* "" if none since the last connect */
	uint64_t reconnects;		/* connection attempts after the first */
	uint64_t inflight;		/* published, PUBACK pending */
	uint64_t published[SL_CLASS__COUNT];	/* PUBACKed (deletes queued; durable ones: sl_spool_stats()) */
	int64_t last_ack_us;		/* wall clock of the last PUBACK, 0 = none */
};

/*
 * Sets up libmosquitto from cfg ([mqtt], [agent] ids), registers with the
 * loop and starts connecting (asynchronously; failures are retried with
 * backoff and logged once per distinct error). key_ids is put into the
 * status message ("v1" or "v1,v2"), and key_checks (may be NULL), their
 * key check values in the same order. On failure a one-line reason is
 * written to err. 0 or -errno.
 */
int sl_publisher_open(struct sl_publisher **ret, struct sl_loop *loop,
		      const struct sl_config *cfg, struct sl_spool *spool, const char *key_ids,
		      const char *key_checks, char *err, size_t errlen);
/* Publishes "offline" (retained), disconnects, frees. NULL ok. Rows in
 * flight stay in the spool and are sent again after the next start. */
void sl_publisher_close(struct sl_publisher *pub);
/* New rows were committed: publish while the in-flight window has room. */
void sl_publisher_kick(struct sl_publisher *pub);
void sl_publisher_stats(const struct sl_publisher *pub, struct sl_publisher_stats *out);
/*
 * Fleet health in the retained status message: every "online" status then
 * carries "health", an object fn writes (spool, POS errors, certificate...),
 * and "uplink" (reconnects, refusals); it is published again every
 * interval_s while connected (0: only at connect). docs/mqtt.md.
 */
struct sl_jw;
typedef void (*sl_publisher_health_fn)(void *ctx, struct sl_jw *w);
void sl_publisher_set_health(struct sl_publisher *pub, sl_publisher_health_fn fn, void *ctx,
			     unsigned interval_s);
/*
 * The TLS client key must be private to the agent's user (no group or other
 * permission bits), like the master key: 0; -EPERM with a one-line reason in
 * err (it names the file, not the setting); -errno when it cannot be
 * stat()ed (a missing file is reported at connect time instead, and
 * retried).
 */
int sl_publisher_key_private(const char *path, char *err, size_t errlen);

#endif
