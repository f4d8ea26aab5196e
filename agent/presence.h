/* SPDX-License-Identifier: MIT */
/*
 * The presence engine: turns BLE and Wi-Fi sightings into a few meaningful
 * events (docs/presence.md): "presence" (a subject entered / left, with
 * dwell, strongest RSSI and sighting count) and "footfall" (per interval
 * and medium: distinct devices, k-anonymous, and an occupancy estimate).
 *
 * Subjects are beacons (by beacon id), the retailer app (by app token) and
 * devices with a public or static address (by the daily device hash of
 * agent/privacy.h). Randomized addresses are never subjects, only counted.
 * The table stores keyed 64-bit hashes, never a raw address; the raw bytes
 * of a sighting are read during sl_presence_sighting() only.
 *
 * Memory is fixed at sl_presence_new() (sl_presence_mem_bytes()): an
 * open-addressing table of `capacity` subjects with least-recently-seen
 * eviction, and bounded distinct-count sets for footfall. Nothing is
 * allocated afterwards.
 *
 * The engine's clock is the sightings' own timestamps (plus
 * sl_presence_advance() when nothing is heard), so a replay is
 * deterministic and runs as fast as the machine allows. Single-threaded.
 */
#ifndef SL_PRESENCE_H
#define SL_PRESENCE_H

#include "event.h"
#include "spool.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct sl_keyring;
struct hal_ble_sighting;
struct hal_wifi_sighting;

#define SL_PRESENCE_ID_MAX 64		/* beacon id / app token / device hash, chars */
#define SL_PRESENCE_RSSI_NONE 127	/* sighting without an RSSI */
#define SL_PRESENCE_MEDIAN_MAX 5	/* longest median window */

enum sl_presence_medium {
	SL_PRESENCE_BLE,
	SL_PRESENCE_WIFI,
	SL_PRESENCE_MEDIUM__COUNT,
};

enum sl_presence_addr_kind {
	SL_PRESENCE_ADDR_PUBLIC,	/* IEEE-assigned (BLE public, Wi-Fi globally administered) */
	SL_PRESENCE_ADDR_STATIC,	/* BLE random static: stable until power cycle */
	SL_PRESENCE_ADDR_RANDOM,	/* BLE RPA/NRPA, Wi-Fi locally administered: counted only */
};

/*
 * One sighting, whatever the medium. The engine reads it during the call
 * only; the caller zeroizes addr afterwards (it is a raw identifier).
 * A beacon id makes the sighting a beacon's (its address is then ignored);
 * otherwise an app token makes it the app's; otherwise the address kind
 * decides: public/static -> device subject, random -> counted only.
 */
struct sl_presence_sighting {
	uint64_t ts_us;			/* µs since the epoch: the engine's clock */
	uint64_t fingerprint;		/* device-model fingerprint (Wi-Fi element
					 * fingerprint), 0 = none; only used to count
					 * randomized devices, never stored */
	const char *beacon_id;		/* NULL or "ibeacon:<uuid>:<major>:<minor>", ... */
	const char *app_token;		/* NULL or the app's token (lower-case hex) */
	enum sl_presence_medium medium;
	enum sl_presence_addr_kind addr_kind;
	uint8_t addr[6];		/* display order; RAW IDENTIFIER */
	int8_t rssi;			/* dBm, SL_PRESENCE_RSSI_NONE = unknown */
};

enum sl_presence_smoothing {
	SL_PRESENCE_SMOOTH_EMA,		/* alpha = 2 / (smooth_n + 1) */
	SL_PRESENCE_SMOOTH_MEDIAN,	/* median of the last smooth_n sightings */
};

/*
 * Engine settings: the [presence] keys of struct sl_config plus knobs that
 * have no config key yet (sl_presence_cfg_defaults() sets them all; the
 * eval tool overrides some). Strings are borrowed for the engine's life.
 */
struct sl_presence_cfg {
	int enter_rssi;			/* dBm: enter when the smoothed RSSI >= this */
	int exit_rssi;			/* dBm, <= enter_rssi: exit when smoothed < this */
	uint32_t absence_s;		/* exit after this long unseen, >= 1 */
	uint32_t min_sightings;		/* strong sightings (see burst_ms) before an enter, >= 1 */
	uint32_t capacity;		/* subjects in the table, 1 .. SL_PRESENCE_CAPACITY_MAX */
	uint32_t footfall_interval_s;	/* >= 1 */
	uint32_t footfall_min_count;	/* k: counts in 1..k-1 are suppressed, >= 1 */
	int footfall_rssi;		/* dBm: weaker sightings are not counted */

	uint32_t burst_ms;		/* strong sightings closer than this to the
					 * last counted one do not count again toward
					 * min_sightings (a probe burst is one) */
	enum sl_presence_smoothing smoothing;
	uint32_t smooth_n;		/* 1 .. (EMA 64, median SL_PRESENCE_MEDIAN_MAX) */
	double random_weight[SL_PRESENCE_MEDIUM__COUNT]; /* occupancy: people per
					 * distinct randomized device (>= 0) */
	uint32_t footfall_set_max;	/* distinct values counted exactly per set and
					 * interval; beyond, counts are sampled estimates */

	struct sl_event_origin origin;	/* tenant, store, gateway of the envelope */
	const char *zone;		/* envelope zone */
};

#define SL_PRESENCE_CAPACITY_MAX (1u << 26)

/* Defaults of docs/configuration.md and docs/presence.md; origin/zone NULL. */
void sl_presence_cfg_defaults(struct sl_presence_cfg *cfg);

enum sl_presence_subject_kind {
	SL_PRESENCE_SUBJECT_BEACON,
	SL_PRESENCE_SUBJECT_DEVICE,
	SL_PRESENCE_SUBJECT_APP,
};

enum sl_presence_reason {
	SL_PRESENCE_REASON_NONE,	/* enter events */
	SL_PRESENCE_REASON_ABSENCE,	/* unseen for absence_s */
	SL_PRESENCE_REASON_RSSI,	/* smoothed RSSI fell below exit_rssi */
	SL_PRESENCE_REASON_EVICTED,	/* table full: least recently seen made room */
	SL_PRESENCE_REASON_DAY_END,	/* UTC day ended: device hashes change */
	SL_PRESENCE_REASON_SHUTDOWN,	/* sl_presence_finish() */
};

/*
 * What the engine hands to the agent: the serialized event (for the spool)
 * and the same content structured (for tools and tests). Pointers are valid
 * during the callback only.
 */
struct sl_presence_event {
	enum sl_event_class cls;	/* SL_CLASS_PRESENCE or SL_CLASS_FOOTFALL */
	const char *type;		/* "presence" | "footfall" */
	const char *id;			/* UUIDv7 */
	const char *json;		/* the event, NUL-terminated */
	size_t len;
	enum sl_presence_medium medium;

	/* presence */
	bool exit;			/* false: enter event */
	enum sl_presence_subject_kind kind;
	const char *subject;		/* beacon id, app token or device hash */
	enum sl_presence_reason reason;
	uint64_t enter_us, exit_us;	/* exit_us 0 for enter events */
	int rssi_max;
	uint32_t sightings;

	/* footfall; suppressed values are -1 */
	uint64_t start_us, end_us;	/* the interval [start, end) */
	uint64_t observed_us;		/* part of it the engine was running */
	int64_t devices_static, devices_random;
	double occupancy;		/* < 0: suppressed */
	bool suppressed;
};

/* 0, or -errno: counted in stats.emit_errors, the engine goes on. The
 * callback must not call back into the engine. */
typedef int (*sl_presence_emit_fn)(void *ctx, const struct sl_presence_event *ev);

struct sl_presence;

/*
 * Bytes sl_presence_new() allocates for cfg (the whole budget: the engine
 * never allocates again), or 0 for an invalid cfg.
 */
size_t sl_presence_mem_bytes(const struct sl_presence_cfg *cfg);

/*
 * Builds an engine. kr is borrowed (device hashes; the engine calls
 * sl_keyring_forget_day() when its clock passes midnight UTC); emit is
 * called for every event. 0, -EINVAL (bad cfg: exit_rssi > enter_rssi, a
 * zero count, capacity too large, NULL kr/emit), -ENOMEM, -errno from
 * getrandom (table keys).
 */
int sl_presence_new(struct sl_presence **ret, const struct sl_presence_cfg *cfg,
		    struct sl_keyring *kr, sl_presence_emit_fn emit, void *ctx);

/* Zeroizes the keys and frees; emits nothing (call sl_presence_finish() first). NULL ok. */
void sl_presence_free(struct sl_presence *p);

/*
 * Feeds one sighting: advances the clock to s->ts_us (expiries, footfall
 * intervals and day changes due before it are processed first, in time
 * order), counts it for footfall and updates its subject. A timestamp
 * earlier than the clock is used as is for its subject but does not move
 * the clock back.
 * A timestamp from a UTC day the engine has already left is refused
 * (-ESTALE): it would bring back yesterday's day key. If it is more than an
 * hour older than the clock, the wall clock was stepped back: the engine
 * finishes (as sl_presence_finish() at its clock) and starts over at it.
 * Returns 0; -EINVAL (bad medium/kind, empty or too long beacon id or app
 * token); -ESTALE (late, dropped, counted); -EIO (device hash failed).
 */
int sl_presence_sighting(struct sl_presence *p, const struct sl_presence_sighting *s);

/*
 * Moves the clock to now_us without a sighting: the agent's timer calls it
 * at sl_presence_next_deadline(). Earlier times do nothing. Returns 0.
 */
int sl_presence_advance(struct sl_presence *p, uint64_t now_us);

/*
 * When advance() next has something to do: an absence timeout, the end of
 * the footfall interval or of the UTC day. UINT64_MAX before any sighting.
 */
uint64_t sl_presence_next_deadline(const struct sl_presence *p);

/*
 * End of a replay or of the agent: advances to now_us, emits an exit
 * (reason shutdown) for every subject present and the footfall of the
 * interval in progress (observed up to now_us), and empties the table.
 * The engine may be fed again afterwards. Returns 0.
 */
int sl_presence_finish(struct sl_presence *p, uint64_t now_us);

struct sl_presence_stats {
	uint64_t sightings;		/* accepted */
	uint64_t late;			/* -ESTALE */
	uint64_t clock_steps;		/* restarts after the clock stepped back */
	uint64_t enters, exits;
	uint64_t exits_by_reason[SL_PRESENCE_REASON_SHUTDOWN + 1];
	uint64_t evictions;		/* subjects dropped to make room (present or not) */
	uint64_t footfall_events;
	uint64_t emit_errors;		/* callback returned < 0 */
	uint32_t subjects;		/* in the table now */
	uint32_t present;		/* of them present */
	size_t mem_bytes;		/* allocated at new(): sl_presence_mem_bytes() */
};

void sl_presence_get_stats(const struct sl_presence *p, struct sl_presence_stats *ret);

/*
 * Test hook: derives the table and footfall keys from seed and makes their
 * rotation deterministic, so that sampled footfall counts repeat from run
 * to run. Never used by the agent (the keys must be random there).
 */
void sl_presence__seed_keys(struct sl_presence *p, uint64_t seed);

/* "ble" | "wifi"; "beacon" | "device" | "app"; "absence" | "rssi" | ... */
const char *sl_presence_medium_name(enum sl_presence_medium m);
const char *sl_presence_subject_kind_name(enum sl_presence_subject_kind k);
const char *sl_presence_reason_name(enum sl_presence_reason r);

/* ---- adapters from the HAL sightings (agent/presence_adapt.c) ----------- */

/*
 * A BLE report to a presence sighting. Beacon ids: "ibeacon:<uuid>:<major>:
 * <minor>", "altbeacon:<uuid>:<id2>:<id3>", "eddystone-uid:<namespace hex>:
 * <instance hex>", "eddystone-eid:<eid hex>"; app token: its bytes in
 * lower-case hex. Both are written into idbuf, which out points into.
 * Address kind: public and public identity -> PUBLIC; random static and
 * random identity -> STATIC; RPA, NRPA, reserved -> RANDOM.
 * Returns 1 (out filled), 0 (nothing for the engine: Eddystone URL/TLM
 * frames are beacon telemetry, an anonymous report without a beacon id),
 * -EOPNOTSUPP (built without CONFIG_SL_BLE). out is untouched unless 1.
 */
int sl_presence_from_ble(const struct hal_ble_sighting *in, struct sl_presence_sighting *out,
			 char idbuf[SL_PRESENCE_ID_MAX + 1]);

/*
 * A Wi-Fi probe request to a presence sighting: randomized (locally
 * administered) -> RANDOM, else PUBLIC; the element fingerprint is passed
 * on; the SSID never is. Returns 1, or -EOPNOTSUPP (built without
 * CONFIG_SL_WIFI).
 */
int sl_presence_from_wifi(const struct hal_wifi_sighting *in, struct sl_presence_sighting *out);

#endif
