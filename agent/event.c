/* SPDX-License-Identifier: MIT */
/*
 * Event envelope and UUIDv7 (see event.h). Random bits come from
 * getrandom(2) in blocks of 256 bytes, so making an id is usually no
 * system call.
 */
#include "event.h"

#include "clock.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>

static uint8_t pool[256];
static size_t pool_left;
static uint64_t last_ms;
static uint16_t last_seq;	/* rand_a of the last id made in last_ms */

static int random_bytes(uint8_t *out, size_t n)
{
	if (pool_left < n) {
		ssize_t got = getrandom(pool, sizeof(pool), 0);

		if (got != (ssize_t)sizeof(pool))
			return got < 0 ? -errno : -EIO;
		pool_left = sizeof(pool);
	}
	memcpy(out, pool + sizeof(pool) - pool_left, n);
	memset(pool + sizeof(pool) - pool_left, 0, n);
	pool_left -= n;
	return 0;
}

int sl_uuidv7(uint64_t unix_ms, char out[SL_UUID_LEN])
{
	static const char hex[] = "0123456789abcdef";
	uint8_t b[16];
	uint16_t seq;
	int rc;

	rc = random_bytes(b + 6, 10);
	if (rc < 0)
		return rc;
	if (unix_ms <= last_ms && last_seq < 0xfff) {
		/* same (or earlier: clock stepped back) ms: keep order */
		unix_ms = last_ms;
		seq = (uint16_t)(last_seq + 1);
	} else {
		seq = (uint16_t)(((b[6] << 8) | b[7]) & 0x3ff); /* leave room to count */
		if (unix_ms <= last_ms)
			unix_ms = last_ms + 1;
	}
	last_ms = unix_ms;
	last_seq = seq;
	for (int i = 0; i < 6; i++)
		b[i] = (uint8_t)(unix_ms >> (40 - 8 * i));
	b[6] = (uint8_t)(0x70 | (seq >> 8));
	b[7] = (uint8_t)seq;
	b[8] = (uint8_t)(0x80 | (b[8] & 0x3f));
	for (int i = 0, o = 0; i < 16; i++) {
		if (i == 4 || i == 6 || i == 8 || i == 10)
			out[o++] = '-';
		out[o++] = hex[b[i] >> 4];
		out[o++] = hex[b[i] & 15];
	}
	out[36] = '\0';
	return 0;
}

int sl_event_id(char out[SL_UUID_LEN])
{
	return sl_uuidv7(sl_clock_id_us() / 1000u, out);
}

void sl_event_begin(struct sl_jw *w, const struct sl_event_origin *o, const char *type,
		    const char *id, uint64_t ts_us, bool clock_synced, const char *zone)
{
	char ts[SL_RFC3339_LEN];

	sl_rfc3339(ts_us, ts);
	sl_jw_obj_begin(w);
	sl_jw_kv_str(w, "schema", SL_EVENT_SCHEMA);
	sl_jw_kv_str(w, "id", id);
	sl_jw_kv_str(w, "type", type);
	sl_jw_kv_str(w, "ts", ts);
	sl_jw_kv_str(w, "clock", clock_synced ? "synced" : "unsynced");
	sl_jw_kv_str(w, "tenant", o->tenant);
	sl_jw_kv_str(w, "store", o->store);
	sl_jw_kv_str(w, "gateway", o->gateway);
	sl_jw_kv_str(w, "zone", zone);
}

int sl_event_end(struct sl_jw *w)
{
	sl_jw_obj_end(w);
	return sl_jw_finish(w);
}
