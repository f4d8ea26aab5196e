/* SPDX-License-Identifier: MIT */
/*
 * The presence engine (see presence.h, docs/presence.md).
 *
 * Subjects live in a dense array of `capacity` entries, found through an
 * open-addressing index (linear probing, at most half full, backward-shift
 * deletion: no tombstones) keyed by a 64-bit SipHash-2-4 of the subject's
 * identity. Device keys use a random key that is replaced (and the old one
 * zeroized) at every UTC day change, when all device subjects leave the
 * table; beacon and app keys use a random key for the engine's life. A
 * doubly-linked list through the entries keeps them in least-recently-seen
 * order: its tail is both the next absence timeout and the eviction victim.
 *
 * Footfall counts distinct values per interval in bounded sets of SipHash
 * values under a random per-interval key (adaptive sampling, Flajolet 1990:
 * exact up to footfall_set_max values, then only values whose low `level`
 * bits are zero are kept and the count is n << level).
 *
 * Time only moves forward, driven by the sightings (run_until()); every
 * timed action (absence timeout, end of interval, end of UTC day) happens
 * at its own time, in time order, so a replay gives the same events
 * whatever the machine's speed.
 */
#include "presence.h"

#include "clock.h"
#include "event.h"
#include "jsonw.h"
#include "privacy.h"
#include "util.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include <mbedtls/platform_util.h>

#define NIL UINT32_MAX
#define US_PER_S 1000000ull
#define DAY_US (86400ull * US_PER_S)
#define EMA_N_MAX 64u
#define SET_MAX_LIMIT (1u << 24)
#define SKIP_EMPTY_US DAY_US	/* longer gaps without anyone present are skipped */
#define STEP_BACK_US (3600ull * US_PER_S) /* older than yesterday by this: clock stepped back */

enum { ST_CANDIDATE, ST_PRESENT };
enum { FF_STATIC, FF_RANDOM, FF_RANDOM_DEV, FF__COUNT };

struct subj {
	uint64_t key;			/* SipHash of the identity; never 0 */
	uint64_t touch_us;		/* engine clock at the last sighting: LRU order */
	uint64_t first_us;		/* first sighting of the current strong run (enter time) */
	uint64_t last_in_us;		/* present: last sighting while present (exit time) */
	uint64_t counted_us;		/* last sighting counted toward min_sightings */
	uint32_t prev, next;		/* LRU list (head = most recent); free list: next */
	uint32_t sightings;		/* since first_us */
	uint16_t qualified;		/* counted strong sightings in the run */
	int16_t ema_q4;			/* EMA of the RSSI, dBm * 16 */
	int8_t win[SL_PRESENCE_MEDIAN_MAX]; /* last RSSIs (median), ring */
	uint8_t win_n, win_pos;		/* win_n: samples so far (<= smooth_n) */
	int8_t rssi_max;		/* since first_us */
	uint8_t medium, kind, state;
	char id[SL_PRESENCE_ID_MAX + 1]; /* as emitted; devices: "" until the enter */
};

struct ffset {
	uint64_t *slot;			/* 0 = empty */
	uint32_t mask;
	uint32_t n;			/* values kept, <= max */
	uint32_t max;
	uint8_t level;			/* kept values have their low `level` bits zero */
};

struct medium_state {
	bool active;			/* had a sighting: emits footfall */
	uint64_t since_us;		/* observed from, within the current interval */
	uint32_t present;		/* present device and app subjects */
	uint64_t area;			/* present-subject µs in the current interval */
	uint64_t area_t;		/* area counts up to this time */
	struct ffset set[FF__COUNT];
};

struct sl_presence {
	struct sl_presence_cfg cfg;
	struct sl_keyring *kr;
	sl_presence_emit_fn emit;
	void *ctx;

	struct subj *subj;		/* capacity entries */
	uint32_t *index;		/* mask + 1 buckets: entry + 1, 0 = empty */
	uint32_t mask;
	uint32_t used;			/* entries ever handed out (bump) */
	uint32_t count;			/* entries in the table */
	uint32_t head, tail, free_head;
	uint64_t *scratch;		/* footfall_set_max values, for set resampling */

	uint8_t key_dev[16];		/* devices; replaced every UTC day */
	uint8_t key_fixed[16];		/* beacons, apps */
	uint8_t key_ff[16];		/* footfall sets; replaced every interval */

	bool seeded;			/* test hook: keys derived from a seed */
	bool started;
	uint64_t clock;			/* latest time seen */
	uint64_t target;		/* the time run_until() is moving to */
	uint64_t iv_start, iv_end;
	uint64_t day_end;		/* start of the next UTC day */
	uint64_t absence_us, iv_us, burst_us;
	uint32_t ema_alpha_q8;		/* EMA: alpha * 256 */
	struct medium_state m[SL_PRESENCE_MEDIUM__COUNT];

	struct sl_presence_stats st;
	size_t mem;
	char buf[SL_EVENT_MAX];
};

/* ---- SipHash-2-4 (Aumasson & Bernstein; reference: github.com/veorq/SipHash) ---- */

#define ROTL(x, b) (uint64_t)(((x) << (b)) | ((x) >> (64 - (b))))
#define SIPROUND                                                                                   \
	do {                                                                                       \
		v0 += v1; v1 = ROTL(v1, 13); v1 ^= v0; v0 = ROTL(v0, 32);                          \
		v2 += v3; v3 = ROTL(v3, 16); v3 ^= v2;                                             \
		v0 += v3; v3 = ROTL(v3, 21); v3 ^= v0;                                             \
		v2 += v1; v1 = ROTL(v1, 17); v1 ^= v2; v2 = ROTL(v2, 32);                          \
	} while (0)

static uint64_t le64(const uint8_t *p)
{
	uint64_t v = 0;

	for (int i = 7; i >= 0; i--)
		v = (v << 8) | p[i];
	return v;
}

static uint64_t siphash24(const uint8_t key[16], const uint8_t *in, size_t len)
{
	uint64_t k0 = le64(key), k1 = le64(key + 8);
	uint64_t v0 = 0x736f6d6570736575ull ^ k0;
	uint64_t v1 = 0x646f72616e646f6dull ^ k1;
	uint64_t v2 = 0x6c7967656e657261ull ^ k0;
	uint64_t v3 = 0x7465646279746573ull ^ k1;
	uint64_t b = (uint64_t)len << 56;
	size_t i;

	for (i = 0; i + 8 <= len; i += 8) {
		uint64_t m = le64(in + i);

		v3 ^= m;
		SIPROUND;
		SIPROUND;
		v0 ^= m;
	}
	for (size_t j = 0; i + j < len; j++)
		b |= (uint64_t)in[i + j] << (8 * j);
	v3 ^= b;
	SIPROUND;
	SIPROUND;
	v0 ^= b;
	v2 ^= 0xff;
	SIPROUND;
	SIPROUND;
	SIPROUND;
	SIPROUND;
	return v0 ^ v1 ^ v2 ^ v3;
}

static uint64_t nonzero(uint64_t h)
{
	return h ? h : 1;
}

/* Key of an address: addr, medium and a domain tag in one 8-byte block. */
static uint64_t addr_hash(const uint8_t key[16], const uint8_t addr[6], unsigned medium, uint8_t tag)
{
	uint8_t b[8];
	uint64_t h;

	memcpy(b, addr, 6);
	b[6] = (uint8_t)medium;
	b[7] = tag;
	h = siphash24(key, b, sizeof(b));
	mbedtls_platform_zeroize(b, sizeof(b));
	return nonzero(h);
}

static uint64_t fp_hash(const uint8_t key[16], uint64_t fp, unsigned medium)
{
	uint8_t b[10];

	for (int i = 0; i < 8; i++)
		b[i] = (uint8_t)(fp >> (8 * i));
	b[8] = (uint8_t)medium;
	b[9] = 'F';
	return nonzero(siphash24(key, b, sizeof(b)));
}

static uint64_t id_hash(const uint8_t key[16], const char *id, size_t len, unsigned medium,
			unsigned kind)
{
	uint8_t b[2 + SL_PRESENCE_ID_MAX];

	b[0] = (uint8_t)medium;
	b[1] = (uint8_t)kind;
	memcpy(b + 2, id, len);
	return nonzero(siphash24(key, b, 2 + len));
}

static int fresh_key(uint8_t key[16])
{
	uint8_t k[16];
	ssize_t n = getrandom(k, sizeof(k), 0);

	if (n != (ssize_t)sizeof(k)) {
		mbedtls_platform_zeroize(k, sizeof(k));
		return n < 0 ? -errno : -EIO;
	}
	mbedtls_platform_zeroize(key, 16);
	memcpy(key, k, sizeof(k));
	mbedtls_platform_zeroize(k, sizeof(k));
	return 0;
}

/*
 * Replaces key. getrandom() does not fail once the pool is initialised; if
 * it ever does, the key is replaced by a one-way function of itself so the
 * old key still disappears. Seeded engines (tests) always take that path.
 */
static void rotate_key(uint8_t key[16], bool seeded)
{
	uint8_t next[16];
	uint64_t a, b;

	if (!seeded && fresh_key(key) == 0)
		return;
	a = siphash24(key, (const uint8_t *)"storelink/rot/a", 15);
	b = siphash24(key, (const uint8_t *)"storelink/rot/b", 15);
	for (int i = 0; i < 8; i++) {
		next[i] = (uint8_t)(a >> (8 * i));
		next[8 + i] = (uint8_t)(b >> (8 * i));
	}
	memcpy(key, next, sizeof(next));
	mbedtls_platform_zeroize(next, sizeof(next));
}

/* ---- names ---------------------------------------------------------------- */

const char *sl_presence_medium_name(enum sl_presence_medium m)
{
	switch (m) {
	case SL_PRESENCE_BLE:
		return "ble";
	case SL_PRESENCE_WIFI:
		return "wifi";
	default:
		return NULL;
	}
}

const char *sl_presence_subject_kind_name(enum sl_presence_subject_kind k)
{
	switch (k) {
	case SL_PRESENCE_SUBJECT_BEACON:
		return "beacon";
	case SL_PRESENCE_SUBJECT_DEVICE:
		return "device";
	case SL_PRESENCE_SUBJECT_APP:
		return "app";
	default:
		return NULL;
	}
}

const char *sl_presence_reason_name(enum sl_presence_reason r)
{
	switch (r) {
	case SL_PRESENCE_REASON_NONE:
		return NULL;
	case SL_PRESENCE_REASON_ABSENCE:
		return "absence";
	case SL_PRESENCE_REASON_RSSI:
		return "rssi";
	case SL_PRESENCE_REASON_EVICTED:
		return "evicted";
	case SL_PRESENCE_REASON_DAY_END:
		return "day_end";
	case SL_PRESENCE_REASON_SHUTDOWN:
		return "shutdown";
	}
	return NULL;
}

/* ---- configuration and memory -------------------------------------------- */

void sl_presence_cfg_defaults(struct sl_presence_cfg *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->enter_rssi = -75;
	cfg->exit_rssi = -85;
	cfg->absence_s = 60;
	cfg->min_sightings = 2;
	cfg->capacity = 4096;
	cfg->footfall_interval_s = 300;
	cfg->footfall_min_count = 5;
	cfg->footfall_rssi = -90;
	cfg->burst_ms = 1000;
	cfg->smoothing = SL_PRESENCE_SMOOTH_EMA;
	cfg->smooth_n = 5;
	cfg->random_weight[SL_PRESENCE_BLE] = 0.25;
	cfg->random_weight[SL_PRESENCE_WIFI] = 0.25;
	cfg->footfall_set_max = 4096;
}

static bool cfg_valid(const struct sl_presence_cfg *c)
{
	if (c->exit_rssi > c->enter_rssi || c->enter_rssi < -128 || c->enter_rssi > 127 ||
	    c->exit_rssi < -128 || c->footfall_rssi < -128 || c->footfall_rssi > 127)
		return false;
	if (c->absence_s == 0 || c->absence_s > 86400u * 366u || c->min_sightings == 0 ||
	    c->min_sightings > UINT16_MAX || c->capacity == 0 ||
	    c->capacity > SL_PRESENCE_CAPACITY_MAX || c->footfall_interval_s == 0 ||
	    c->footfall_interval_s > 86400u * 366u || c->footfall_min_count == 0 ||
	    c->footfall_set_max == 0 || c->footfall_set_max > SET_MAX_LIMIT ||
	    c->burst_ms > 86400u * 1000u)
		return false;
	switch (c->smoothing) {
	case SL_PRESENCE_SMOOTH_EMA:
		if (c->smooth_n == 0 || c->smooth_n > EMA_N_MAX)
			return false;
		break;
	case SL_PRESENCE_SMOOTH_MEDIAN:
		if (c->smooth_n == 0 || c->smooth_n > SL_PRESENCE_MEDIAN_MAX)
			return false;
		break;
	default:
		return false;
	}
	for (int i = 0; i < SL_PRESENCE_MEDIUM__COUNT; i++)
		if (!(c->random_weight[i] >= 0 && c->random_weight[i] <= 1000))
			return false;
	return true;
}

static uint32_t pow2_at_least(uint64_t n)
{
	uint64_t b = 1;

	while (b < n)
		b <<= 1;
	return (uint32_t)b;
}

static uint32_t index_buckets(uint32_t capacity)
{
	return pow2_at_least(2ull * capacity);
}

static uint32_t set_buckets(uint32_t max)
{
	return pow2_at_least(2ull * max);
}

size_t sl_presence_mem_bytes(const struct sl_presence_cfg *cfg)
{
	size_t sets;

	if (!cfg || !cfg_valid(cfg))
		return 0;
	sets = (size_t)SL_PRESENCE_MEDIUM__COUNT * FF__COUNT * set_buckets(cfg->footfall_set_max);
	return sizeof(struct sl_presence) + (size_t)cfg->capacity * sizeof(struct subj) +
	       (size_t)index_buckets(cfg->capacity) * sizeof(uint32_t) +
	       (sets + cfg->footfall_set_max) * sizeof(uint64_t);
}

/* ---- the subject table ----------------------------------------------------- */

static uint32_t find(const struct sl_presence *p, uint64_t key, uint32_t *bucket)
{
	uint32_t b = (uint32_t)key & p->mask;

	for (;;) {
		uint32_t e = p->index[b];

		if (e == 0 || p->subj[e - 1].key == key) {
			*bucket = b;
			return e ? e - 1 : NIL;
		}
		b = (b + 1) & p->mask;
	}
}

/* Backward-shift deletion (Knuth 6.4, algorithm R). */
static void index_remove(struct sl_presence *p, uint32_t b)
{
	uint32_t i = b, j = b;

	for (;;) {
		uint32_t e, home;
		bool stays;

		j = (j + 1) & p->mask;
		e = p->index[j];
		if (e == 0)
			break;
		home = (uint32_t)p->subj[e - 1].key & p->mask;
		/* the entry at j may stay if its home lies cyclically in (i, j] */
		stays = i <= j ? (home > i && home <= j) : (home > i || home <= j);
		if (!stays) {
			p->index[i] = e;
			i = j;
		}
	}
	p->index[i] = 0;
}

static void lru_unlink(struct sl_presence *p, uint32_t i)
{
	struct subj *s = &p->subj[i];

	if (s->prev != NIL)
		p->subj[s->prev].next = s->next;
	else
		p->head = s->next;
	if (s->next != NIL)
		p->subj[s->next].prev = s->prev;
	else
		p->tail = s->prev;
}

static void lru_push_head(struct sl_presence *p, uint32_t i)
{
	struct subj *s = &p->subj[i];

	s->prev = NIL;
	s->next = p->head;
	if (p->head != NIL)
		p->subj[p->head].prev = i;
	p->head = i;
	if (p->tail == NIL)
		p->tail = i;
}

static void remove_subject(struct sl_presence *p, uint32_t i)
{
	uint32_t b;

	if (find(p, p->subj[i].key, &b) == i)
		index_remove(p, b);
	lru_unlink(p, i);
	memset(&p->subj[i], 0, sizeof(p->subj[i]));
	p->subj[i].next = p->free_head;
	p->free_head = i;
	p->count--;
}

/* ---- events ---------------------------------------------------------------- */

static void emit(struct sl_presence *p, struct sl_presence_event *ev, struct sl_jw *w)
{
	int n = sl_event_end(w);

	if (n < 0) {
		p->st.emit_errors++;
		return;
	}
	ev->json = p->buf;
	ev->len = (size_t)n;
	if (p->emit(p->ctx, ev) < 0)
		p->st.emit_errors++;
}

static bool begin(struct sl_presence *p, struct sl_jw *w, struct sl_presence_event *ev,
		  char id[SL_UUID_LEN], uint64_t ts_us)
{
	if (sl_event_id(id) < 0) {
		p->st.emit_errors++;
		return false;
	}
	ev->id = id;
	sl_jw_init(w, p->buf, sizeof(p->buf));
	sl_event_begin(w, &p->cfg.origin, ev->type, id, ts_us, sl_clock_synced(), p->cfg.zone);
	sl_jw_kv_str(w, "medium", sl_presence_medium_name(ev->medium));
	return true;
}

static void put_time(struct sl_jw *w, const char *key, uint64_t us)
{
	char t[SL_RFC3339_LEN];

	sl_jw_key(w, key);
	if (!us) {
		sl_jw_null(w);
		return;
	}
	sl_rfc3339(us, t);
	sl_jw_str(w, t);
}

static void emit_presence(struct sl_presence *p, const struct subj *s, bool is_exit,
			  enum sl_presence_reason reason)
{
	struct sl_presence_event ev = {
		.cls = SL_CLASS_PRESENCE,
		.type = "presence",
		.medium = s->medium,
		.exit = is_exit,
		.kind = s->kind,
		.subject = s->id,
		.reason = reason,
		.enter_us = s->first_us,
		.exit_us = is_exit ? s->last_in_us : 0,
		.rssi_max = s->rssi_max,
		.sightings = s->sightings,
	};
	char id[SL_UUID_LEN];
	struct sl_jw w;

	if (!begin(p, &w, &ev, id, is_exit ? ev.exit_us : ev.enter_us))
		return;
	sl_jw_key(&w, "subject");
	sl_jw_obj_begin(&w);
	sl_jw_key(&w, "kind");
	sl_jw_str(&w, sl_presence_subject_kind_name(ev.kind));
	sl_jw_key(&w, "id");
	sl_jw_str(&w, ev.subject);
	sl_jw_obj_end(&w);
	sl_jw_key(&w, "phase");
	sl_jw_str(&w, is_exit ? "exit" : "enter");
	put_time(&w, "enter", ev.enter_us);
	put_time(&w, "exit", ev.exit_us);
	sl_jw_key(&w, "dwell_s");
	if (is_exit)
		sl_jw_uint(&w, (ev.exit_us - ev.enter_us) / US_PER_S);
	else
		sl_jw_null(&w);
	sl_jw_key(&w, "rssi_max");
	sl_jw_int(&w, ev.rssi_max);
	sl_jw_key(&w, "sightings");
	sl_jw_uint(&w, ev.sightings);
	sl_jw_key(&w, "reason");
	sl_jw_str(&w, sl_presence_reason_name(reason));
	emit(p, &ev, &w);
}

/* ---- occupancy bookkeeping -------------------------------------------------- */

static bool counts_for_occupancy(const struct subj *s)
{
	return s->kind != SL_PRESENCE_SUBJECT_BEACON; /* beacons are the store's */
}

static void area_to(struct medium_state *m, uint64_t t)
{
	if (t > m->area_t) {
		m->area += (uint64_t)m->present * (t - m->area_t);
		m->area_t = t;
	}
}

static void do_enter(struct sl_presence *p, struct subj *s)
{
	s->state = ST_PRESENT;
	p->st.enters++;
	p->st.present++;
	if (counts_for_occupancy(s)) {
		area_to(&p->m[s->medium], p->clock);
		p->m[s->medium].present++;
	}
	emit_presence(p, s, false, SL_PRESENCE_REASON_NONE);
}

/* t: when the engine decided (for the occupancy integral); the event says last_in_us. */
static void do_exit(struct sl_presence *p, struct subj *s, enum sl_presence_reason reason, uint64_t t)
{
	s->state = ST_CANDIDATE;
	s->qualified = 0;
	p->st.exits++;
	p->st.exits_by_reason[reason]++;
	p->st.present--;
	if (counts_for_occupancy(s)) {
		area_to(&p->m[s->medium], t);
		p->m[s->medium].present--;
	}
	emit_presence(p, s, true, reason);
}

/* Removes subject i, first emitting its exit if it is present. */
static void drop(struct sl_presence *p, uint32_t i, enum sl_presence_reason reason, uint64_t t)
{
	if (p->subj[i].state == ST_PRESENT)
		do_exit(p, &p->subj[i], reason, t);
	remove_subject(p, i);
}

/* ---- footfall sets ------------------------------------------------------------- */

static void set_insert_raw(struct ffset *s, uint64_t v)
{
	uint32_t b = (uint32_t)(v >> 32) & s->mask;

	while (s->slot[b]) {
		if (s->slot[b] == v)
			return;
		b = (b + 1) & s->mask;
	}
	s->slot[b] = v;
	s->n++;
}

static bool set_keeps(const struct ffset *s, uint64_t v)
{
	return s->level == 0 || (v & ((1ull << s->level) - 1)) == 0;
}

/* Halves the sampling rate until there is room: keeps values with one more low zero bit. */
static void set_resample(struct ffset *s, uint64_t *scratch)
{
	while (s->n >= s->max && s->level < 63) {
		uint32_t n = 0;

		s->level++;
		for (uint32_t i = 0; i <= s->mask; i++)
			if (s->slot[i] && set_keeps(s, s->slot[i]))
				scratch[n++] = s->slot[i];
		memset(s->slot, 0, ((size_t)s->mask + 1) * sizeof(*s->slot));
		s->n = 0;
		for (uint32_t i = 0; i < n; i++)
			set_insert_raw(s, scratch[i]);
	}
}

static void set_add(struct ffset *s, uint64_t v, uint64_t *scratch)
{
	uint32_t b;

	if (!set_keeps(s, v))
		return;
	for (b = (uint32_t)(v >> 32) & s->mask; s->slot[b]; b = (b + 1) & s->mask)
		if (s->slot[b] == v)
			return;
	if (s->n >= s->max) {
		set_resample(s, scratch);
		if (!set_keeps(s, v))
			return;
		set_insert_raw(s, v);
		return;
	}
	s->slot[b] = v;
	s->n++;
}

static uint64_t set_estimate(const struct ffset *s)
{
	return (uint64_t)s->n << s->level;
}

static void set_clear(struct ffset *s)
{
	if (s->n)
		memset(s->slot, 0, ((size_t)s->mask + 1) * sizeof(*s->slot));
	s->n = 0;
	s->level = 0;
}

/* ---- footfall intervals ----------------------------------------------------- */

static int64_t k_anon(const struct sl_presence *p, uint64_t v, bool *suppressed)
{
	if (v > 0 && v < p->cfg.footfall_min_count) {
		*suppressed = true;
		return -1;
	}
	return (int64_t)v;
}

static void emit_footfall(struct sl_presence *p, enum sl_presence_medium mi, uint64_t upto)
{
	struct medium_state *m = &p->m[mi];
	struct sl_presence_event ev = {
		.cls = SL_CLASS_FOOTFALL,
		.type = "footfall",
		.medium = mi,
		.start_us = p->iv_start,
		.end_us = p->iv_end,
	};
	uint64_t since = m->since_us > p->iv_start ? m->since_us : p->iv_start;
	double occ;
	char id[SL_UUID_LEN];
	struct sl_jw w;
	bool sup = false;

	area_to(m, upto);
	ev.observed_us = upto > since ? upto - since : 0;
	if (ev.observed_us == 0)
		return;
	occ = (double)m->area / (double)ev.observed_us +
	      p->cfg.random_weight[mi] * (double)set_estimate(&m->set[FF_RANDOM_DEV]);
	ev.devices_static = k_anon(p, set_estimate(&m->set[FF_STATIC]), &sup);
	ev.devices_random = k_anon(p, set_estimate(&m->set[FF_RANDOM]), &sup);
	ev.occupancy = k_anon(p, (uint64_t)(occ + 0.5), &sup) < 0 ? -1 : occ; /* occ >= 0 */
	ev.suppressed = sup;
	p->st.footfall_events++;

	if (!begin(p, &w, &ev, id, upto))
		return;
	sl_jw_key(&w, "interval");
	sl_jw_obj_begin(&w);
	put_time(&w, "start", ev.start_us);
	put_time(&w, "end", ev.end_us);
	sl_jw_key(&w, "observed_s");
	sl_jw_uint(&w, ev.observed_us / US_PER_S);
	sl_jw_obj_end(&w);
	sl_jw_key(&w, "devices");
	sl_jw_obj_begin(&w);
	sl_jw_key(&w, "static");
	if (ev.devices_static < 0)
		sl_jw_null(&w);
	else
		sl_jw_int(&w, ev.devices_static);
	sl_jw_key(&w, "randomized");
	if (ev.devices_random < 0)
		sl_jw_null(&w);
	else
		sl_jw_int(&w, ev.devices_random);
	sl_jw_obj_end(&w);
	sl_jw_key(&w, "occupancy");
	if (ev.occupancy < 0)
		sl_jw_null(&w);
	else
		sl_jw_double(&w, ev.occupancy, 1);
	sl_jw_key(&w, "suppressed");
	sl_jw_bool(&w, ev.suppressed);
	emit(p, &ev, &w);
}

/* Emits the interval in progress for every active medium, observed up to upto, and resets. */
static void close_interval(struct sl_presence *p, uint64_t upto)
{
	for (int i = 0; i < SL_PRESENCE_MEDIUM__COUNT; i++) {
		struct medium_state *m = &p->m[i];

		if (!m->active)
			continue;
		emit_footfall(p, (enum sl_presence_medium)i, upto);
		for (int j = 0; j < FF__COUNT; j++)
			set_clear(&m->set[j]);
		m->area = 0;
		m->area_t = upto;
		m->since_us = upto;
	}
	rotate_key(p->key_ff, p->seeded);
}

static void next_interval(struct sl_presence *p)
{
	uint64_t start = p->iv_end;

	/* Nobody present and a long gap (clock step, replay gap): skip the empty intervals. */
	if (p->st.present == 0 && p->target >= start + SKIP_EMPTY_US)
		start = p->target / p->iv_us * p->iv_us;
	p->iv_start = start;
	p->iv_end = start + p->iv_us;
	for (int i = 0; i < SL_PRESENCE_MEDIUM__COUNT; i++) {
		if (p->m[i].since_us < start)
			p->m[i].since_us = start;
		if (p->m[i].area_t < start)
			p->m[i].area_t = start;
	}
}

/* ---- the clock --------------------------------------------------------------- */

/* Midnight UTC at t: device subjects leave, their key and the day key go. */
static void day_change(struct sl_presence *p, uint64_t t)
{
	uint32_t i = p->head;

	while (i != NIL) {
		uint32_t next = p->subj[i].next;

		if (p->subj[i].kind == SL_PRESENCE_SUBJECT_DEVICE)
			drop(p, i, SL_PRESENCE_REASON_DAY_END, t);
		i = next;
	}
	rotate_key(p->key_dev, p->seeded);
	sl_keyring_forget_day(p->kr);
	p->day_end = (p->target / DAY_US + 1) * DAY_US;
}

static void start(struct sl_presence *p, uint64_t t)
{
	p->started = true;
	p->clock = t;
	p->target = t;
	p->iv_start = t / p->iv_us * p->iv_us;
	p->iv_end = p->iv_start + p->iv_us;
	p->day_end = (t / DAY_US + 1) * DAY_US;
	for (int i = 0; i < SL_PRESENCE_MEDIUM__COUNT; i++) {
		p->m[i].since_us = t;
		p->m[i].area_t = t;
	}
}

/* Processes every timed action due before now, in time order, then sets the clock. */
static void run_until(struct sl_presence *p, uint64_t now)
{
	if (now <= p->clock)
		return;
	p->target = now;
	for (;;) {
		uint64_t t_exp = UINT64_MAX, t_iv = UINT64_MAX, t_day = UINT64_MAX;

		if (p->tail != NIL) {
			uint64_t d = p->subj[p->tail].touch_us + p->absence_us;

			if (d < now)
				t_exp = d;
		}
		if (p->iv_end <= now)
			t_iv = p->iv_end;
		if (p->day_end <= now)
			t_day = p->day_end;
		if (t_exp != UINT64_MAX && t_exp <= t_iv && t_exp <= t_day) {
			drop(p, p->tail, SL_PRESENCE_REASON_ABSENCE, t_exp);
		} else if (t_iv != UINT64_MAX && t_iv <= t_day) {
			close_interval(p, t_iv);
			next_interval(p);
		} else if (t_day != UINT64_MAX) {
			day_change(p, t_day);
		} else {
			break;
		}
	}
	p->clock = now;
}

/* ---- sightings ------------------------------------------------------------------ */

static int smooth(const struct sl_presence *p, struct subj *s, int8_t rssi)
{
	int8_t v[SL_PRESENCE_MEDIAN_MAX];
	unsigned n;

	if (p->cfg.smoothing == SL_PRESENCE_SMOOTH_EMA) {
		int32_t x = rssi * 16;

		if (s->win_n == 0) {
			s->ema_q4 = (int16_t)x;
			s->win_n = 1;
		} else {
			s->ema_q4 = (int16_t)(s->ema_q4 +
					      ((x - s->ema_q4) * (int32_t)p->ema_alpha_q8) / 256);
		}
		return s->ema_q4 >= 0 ? (s->ema_q4 + 8) / 16 : -((-s->ema_q4 + 8) / 16);
	}
	s->win[s->win_pos] = rssi;
	s->win_pos = (uint8_t)((s->win_pos + 1) % p->cfg.smooth_n);
	if (s->win_n < p->cfg.smooth_n)
		s->win_n++;
	n = s->win_n;
	memcpy(v, s->win, n);
	for (unsigned i = 1; i < n; i++) { /* insertion sort of at most 5 */
		int8_t x = v[i];
		unsigned j = i;

		for (; j > 0 && v[j - 1] > x; j--)
			v[j] = v[j - 1];
		v[j] = x;
	}
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

static int device_id(struct sl_presence *p, struct subj *s, const struct sl_presence_sighting *in)
{
	char day[SL_DAY_LEN];

	if (s->kind != SL_PRESENCE_SUBJECT_DEVICE || s->id[0])
		return 0;
	sl_utc_day(in->ts_us, day);
	if (sl_device_hash(p->kr, day, in->addr, sizeof(in->addr), s->id) < 0) {
		s->id[0] = '\0';
		return -EIO;
	}
	return 0;
}

static int update(struct sl_presence *p, struct subj *s, const struct sl_presence_sighting *in)
{
	uint64_t ts = in->ts_us;
	int sm, rc;

	if (in->rssi == SL_PRESENCE_RSSI_NONE) {
		/* no RSSI: keeps a present subject present, never makes one enter */
		if (s->state == ST_PRESENT) {
			if (ts > s->last_in_us)
				s->last_in_us = ts;
			s->sightings++;
		}
		return 0;
	}
	sm = smooth(p, s, in->rssi);
	if (s->state == ST_PRESENT) {
		if (sm < p->cfg.exit_rssi) {
			do_exit(p, s, SL_PRESENCE_REASON_RSSI, p->clock);
			return 0;
		}
		if (ts > s->last_in_us)
			s->last_in_us = ts;
		s->sightings++;
		if (in->rssi > s->rssi_max)
			s->rssi_max = in->rssi;
		return 0;
	}
	if (sm < p->cfg.enter_rssi) {
		s->qualified = 0;
		return 0;
	}
	if (s->qualified == 0) {
		s->first_us = ts;
		s->counted_us = ts;
		s->sightings = 0;
		s->rssi_max = in->rssi;
		s->qualified = 1;
	} else if (ts >= s->counted_us + p->burst_us && s->qualified < UINT16_MAX) {
		s->qualified++;
		s->counted_us = ts;
	}
	s->sightings++;
	if (in->rssi > s->rssi_max)
		s->rssi_max = in->rssi;
	if (s->qualified < p->cfg.min_sightings)
		return 0;
	rc = device_id(p, s, in);
	if (rc < 0)
		return rc;
	s->last_in_us = ts > s->first_us ? ts : s->first_us;
	do_enter(p, s);
	return 0;
}

/* A free entry, evicting the least recently seen subject if the table is full. */
static uint32_t take_entry(struct sl_presence *p)
{
	uint32_t i;

	if (p->free_head != NIL) {
		i = p->free_head;
		p->free_head = p->subj[i].next;
		return i;
	}
	if (p->used < p->cfg.capacity)
		return p->used++;
	p->st.evictions++;
	drop(p, p->tail, SL_PRESENCE_REASON_EVICTED, p->clock);
	i = p->free_head;
	p->free_head = p->subj[i].next;
	return i;
}

static int id_len(const char *id, size_t *ret)
{
	size_t n = strnlen(id, SL_PRESENCE_ID_MAX + 1);

	if (n == 0 || n > SL_PRESENCE_ID_MAX)
		return -EINVAL;
	*ret = n;
	return 0;
}

static void count_footfall(struct sl_presence *p, const struct sl_presence_sighting *in)
{
	struct medium_state *m = &p->m[in->medium];

	if (in->beacon_id || in->rssi == SL_PRESENCE_RSSI_NONE || in->rssi < p->cfg.footfall_rssi)
		return;
	if (in->addr_kind == SL_PRESENCE_ADDR_RANDOM) {
		uint64_t a = addr_hash(p->key_ff, in->addr, in->medium, 'R');

		set_add(&m->set[FF_RANDOM], a, p->scratch);
		set_add(&m->set[FF_RANDOM_DEV],
			in->fingerprint ? fp_hash(p->key_ff, in->fingerprint, in->medium) : a,
			p->scratch);
	} else {
		set_add(&m->set[FF_STATIC], addr_hash(p->key_ff, in->addr, in->medium, 'S'),
			p->scratch);
	}
}

int sl_presence_sighting(struct sl_presence *p, const struct sl_presence_sighting *in)
{
	struct medium_state *m;
	enum sl_presence_subject_kind kind;
	const char *id = NULL;
	size_t len = 0;
	uint64_t key;
	uint32_t i, b;

	if (!p || !in || (unsigned)in->medium >= SL_PRESENCE_MEDIUM__COUNT ||
	    (unsigned)in->addr_kind > SL_PRESENCE_ADDR_RANDOM)
		return -EINVAL;
	if (in->beacon_id) {
		kind = SL_PRESENCE_SUBJECT_BEACON;
		id = in->beacon_id;
	} else if (in->app_token) {
		kind = SL_PRESENCE_SUBJECT_APP;
		id = in->app_token;
	} else {
		kind = SL_PRESENCE_SUBJECT_DEVICE;
	}
	if (id && id_len(id, &len) < 0)
		return -EINVAL;

	if (p->started && in->ts_us < p->day_end - DAY_US) {
		if (in->ts_us + STEP_BACK_US > p->clock) {
			p->st.late++;
			return -ESTALE;
		}
		/* far behind: the wall clock was stepped back; start over at ts */
		p->st.clock_steps++;
		sl_presence_finish(p, p->clock);
	}
	if (!p->started)
		start(p, in->ts_us);
	run_until(p, in->ts_us);
	p->st.sightings++;
	m = &p->m[in->medium];
	m->active = true; /* observed since the engine started (start()) */
	count_footfall(p, in);

	if (kind == SL_PRESENCE_SUBJECT_DEVICE) {
		if (in->addr_kind == SL_PRESENCE_ADDR_RANDOM)
			return 0; /* counted, never tracked */
		key = addr_hash(p->key_dev, in->addr, in->medium, 'D');
	} else {
		key = id_hash(p->key_fixed, id, len, in->medium, kind);
	}

	i = find(p, key, &b);
	if (i == NIL) {
		if (in->rssi == SL_PRESENCE_RSSI_NONE)
			return 0;
		i = take_entry(p);
		find(p, key, &b); /* an eviction may have shifted the probe sequence */
		memset(&p->subj[i], 0, sizeof(p->subj[i]));
		p->subj[i].key = key;
		p->subj[i].medium = (uint8_t)in->medium;
		p->subj[i].kind = (uint8_t)kind;
		if (id)
			memcpy(p->subj[i].id, id, len);
		p->index[b] = i + 1;
		p->count++;
	} else {
		lru_unlink(p, i);
	}
	lru_push_head(p, i);
	p->subj[i].touch_us = p->clock;
	return update(p, &p->subj[i], in);
}

int sl_presence_advance(struct sl_presence *p, uint64_t now_us)
{
	if (!p)
		return -EINVAL;
	if (!p->started)
		start(p, now_us);
	run_until(p, now_us);
	return 0;
}

uint64_t sl_presence_next_deadline(const struct sl_presence *p)
{
	uint64_t d;

	if (!p || !p->started)
		return UINT64_MAX;
	d = p->iv_end < p->day_end ? p->iv_end : p->day_end;
	if (p->tail != NIL && p->subj[p->tail].touch_us + p->absence_us + 1 < d)
		d = p->subj[p->tail].touch_us + p->absence_us + 1;
	return d;
}

int sl_presence_finish(struct sl_presence *p, uint64_t now_us)
{
	if (!p)
		return -EINVAL;
	if (!p->started)
		return 0;
	run_until(p, now_us);
	while (p->head != NIL)
		drop(p, p->head, SL_PRESENCE_REASON_SHUTDOWN, p->clock);
	close_interval(p, p->clock);
	for (int i = 0; i < SL_PRESENCE_MEDIUM__COUNT; i++) {
		p->m[i].active = false;
		p->m[i].present = 0;
	}
	p->started = false;
	return 0;
}

void sl_presence__seed_keys(struct sl_presence *p, uint64_t seed)
{
	uint8_t *keys[] = { p->key_dev, p->key_fixed, p->key_ff };

	for (size_t k = 0; k < ARRAY_SIZE(keys); k++)
		for (int i = 0; i < 16; i++)
			keys[k][i] = (uint8_t)((seed >> (8 * (i % 8))) + k * 16 + i);
	p->seeded = true;
}

void sl_presence_get_stats(const struct sl_presence *p, struct sl_presence_stats *ret)
{
	if (!p || !ret)
		return;
	*ret = p->st;
	ret->subjects = p->count;
	ret->mem_bytes = p->mem;
}

/* ---- life cycle ------------------------------------------------------------------ */

void sl_presence_free(struct sl_presence *p)
{
	if (!p)
		return;
	for (int i = 0; i < SL_PRESENCE_MEDIUM__COUNT; i++)
		for (int j = 0; j < FF__COUNT; j++)
			free(p->m[i].set[j].slot);
	free(p->scratch);
	free(p->index);
	free(p->subj);
	mbedtls_platform_zeroize(p->key_dev, sizeof(p->key_dev));
	mbedtls_platform_zeroize(p->key_fixed, sizeof(p->key_fixed));
	mbedtls_platform_zeroize(p->key_ff, sizeof(p->key_ff));
	free(p);
}

int sl_presence_new(struct sl_presence **ret, const struct sl_presence_cfg *cfg,
		    struct sl_keyring *kr, sl_presence_emit_fn emit_fn, void *ctx)
{
	struct sl_presence *p;
	uint32_t nb, sb;
	int rc;

	if (!ret || !cfg || !kr || !emit_fn || !cfg_valid(cfg))
		return -EINVAL;
	p = calloc(1, sizeof(*p));
	if (!p)
		return -ENOMEM;
	p->cfg = *cfg;
	p->kr = kr;
	p->emit = emit_fn;
	p->ctx = ctx;
	p->head = p->tail = p->free_head = NIL;
	p->absence_us = (uint64_t)cfg->absence_s * US_PER_S;
	p->iv_us = (uint64_t)cfg->footfall_interval_s * US_PER_S;
	p->burst_us = (uint64_t)cfg->burst_ms * 1000u;
	p->ema_alpha_q8 = 512u / (cfg->smooth_n + 1);

	nb = index_buckets(cfg->capacity);
	sb = set_buckets(cfg->footfall_set_max);
	rc = -ENOMEM;
	p->subj = calloc(cfg->capacity, sizeof(*p->subj));
	p->index = calloc(nb, sizeof(*p->index));
	p->scratch = calloc(cfg->footfall_set_max, sizeof(*p->scratch));
	if (!p->subj || !p->index || !p->scratch)
		goto err_free;
	p->mask = nb - 1;
	for (int i = 0; i < SL_PRESENCE_MEDIUM__COUNT; i++) {
		for (int j = 0; j < FF__COUNT; j++) {
			struct ffset *s = &p->m[i].set[j];

			s->slot = calloc(sb, sizeof(*s->slot));
			if (!s->slot)
				goto err_free;
			s->mask = sb - 1;
			s->max = cfg->footfall_set_max;
		}
	}
	rc = fresh_key(p->key_dev);
	if (rc == 0)
		rc = fresh_key(p->key_fixed);
	if (rc == 0)
		rc = fresh_key(p->key_ff);
	if (rc < 0)
		goto err_free;
	p->mem = sl_presence_mem_bytes(cfg);
	*ret = p;
	return 0;

err_free:
	sl_presence_free(p);
	return rc;
}
