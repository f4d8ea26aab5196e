/* SPDX-License-Identifier: MIT */
/*
 * The event model (schema "storelink.event/1", docs/events.md): UUIDv7
 * ids and the envelope every event carries. Type-specific members are
 * written by the producer between sl_event_begin() and sl_event_end().
 * Only tokens reach this module; it never sees a raw identifier.
 */
#ifndef SL_EVENT_H
#define SL_EVENT_H

#include "jsonw.h"

#include <stdbool.h>
#include <stdint.h>

#define SL_EVENT_SCHEMA "storelink.event/1"
#define SL_UUID_LEN 37		/* 36 chars + NUL */
#define SL_EVENT_MAX 4096	/* bytes of one serialized event */

struct sl_event_origin {
	const char *tenant;
	const char *store;
	const char *gateway;
};

/*
 * RFC 9562 UUIDv7 for unix_ms: 48-bit timestamp, then 74 random bits of
 * which the top 12 (rand_a) count up within one millisecond, so ids made
 * by one agent sort in creation order. 0 or -errno (getrandom).
 */
int sl_uuidv7(uint64_t unix_ms, char out[SL_UUID_LEN]);
/* A new event id from the agent's id clock (sl_clock_id_us(), clock.h):
 * never from an event's own time. 0 or -errno. */
int sl_event_id(char out[SL_UUID_LEN]);

/*
 * Opens the event object and writes schema, id, type, ts (RFC 3339 UTC,
 * ms), clock ("synced" | "unsynced"), tenant, store, gateway, zone.
 */
void sl_event_begin(struct sl_jw *w, const struct sl_event_origin *o, const char *type,
		    const char *id, uint64_t ts_us, bool clock_synced, const char *zone);
/* Closes the object; returns the length or -ENOSPC. */
int sl_event_end(struct sl_jw *w);

#endif
