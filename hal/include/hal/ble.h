/* SPDX-License-Identifier: MIT */
/*
 * Bluetooth LE sightings: the HAL class that turns advertising reports into
 * struct hal_ble_sighting, plus the pieces every consumer needs beside it:
 * the AD (advertising data) parser, the beacon decoders (iBeacon,
 * AltBeacon, Eddystone UID/URL/TLM/EID, the retailer app token), address
 * classification and IRK resolution. docs/ble.md explains the choices.
 *
 * Backends, picked by hal_ble_open() from the [ble] source string:
 *   "hci:hci0"      live scanning on a raw HCI socket (CONFIG_SL_BLE_BLUEZ)
 *                   ("hci:AA:BB:CC:DD:EE:FF" names the adapter by address)
 *   "btsnoop:FILE"  replay of a btsnoop capture (H4, H1 or btmon format)
 *
 * A sighting holds a raw device address: it must reach the privacy stage
 * and be zeroized there, and is never logged.
 */
#ifndef HAL_BLE_H
#define HAL_BLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct sl_jw;

#define HAL_BLE_AD_MAX 255		/* one report's AD payload (HCI limit is 229) */
#define HAL_BLE_RSSI_NONE 127		/* RSSI / TX power not available */
#define HAL_BLE_URL_MAX 128		/* "https://www." + 17 codes of at most 6 chars */
#define HAL_BLE_TOKEN_MAX 32		/* app token bytes */
#define HAL_BLE_UUID_STR_LEN 37		/* "xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx" + NUL */

/* Address type as reported by the controller. */
enum hal_ble_addr_type {
	HAL_BLE_ADDR_PUBLIC = 0x00,
	HAL_BLE_ADDR_RANDOM = 0x01,
	HAL_BLE_ADDR_PUBLIC_ID = 0x02,	/* RPA resolved by the controller: public identity */
	HAL_BLE_ADDR_RANDOM_ID = 0x03,	/* ... random static identity */
	HAL_BLE_ADDR_ANONYMOUS = 0xff,	/* extended advertising without address; addr is zero */
};

/* What the address is, from its type and (random) its two top bits. */
enum hal_ble_addr_kind {
	HAL_BLE_KIND_PUBLIC,
	HAL_BLE_KIND_STATIC,		/* random static: 11xxxxxx */
	HAL_BLE_KIND_RPA,		/* resolvable private: 01xxxxxx */
	HAL_BLE_KIND_NRPA,		/* non-resolvable private: 00xxxxxx */
	HAL_BLE_KIND_RESERVED,		/* random with 10xxxxxx: not valid per the Core spec */
	HAL_BLE_KIND_ANONYMOUS,
};

/* PDU behind the report. Legacy PDUs keep their names in extended reports. */
enum hal_ble_event {
	HAL_BLE_EVT_ADV_IND,
	HAL_BLE_EVT_ADV_DIRECT_IND,
	HAL_BLE_EVT_ADV_SCAN_IND,
	HAL_BLE_EVT_ADV_NONCONN_IND,
	HAL_BLE_EVT_SCAN_RSP,
	HAL_BLE_EVT_EXT_ADV,		/* extended (non-legacy) advertising */
	HAL_BLE_EVT_EXT_SCAN_RSP,	/* scan response to extended advertising */
};

enum hal_ble_phy {
	HAL_BLE_PHY_NONE = 0,		/* no secondary channel (legacy) */
	HAL_BLE_PHY_1M = 1,
	HAL_BLE_PHY_2M = 2,
	HAL_BLE_PHY_CODED = 3,
};

/* Extended reports may split data over several reports (Core v5.x, Vol 4, Part E, 7.7.65.13). */
enum hal_ble_data_status {
	HAL_BLE_DATA_COMPLETE = 0,
	HAL_BLE_DATA_INCOMPLETE = 1,	/* more fragments follow in later reports */
	HAL_BLE_DATA_TRUNCATED = 2,	/* the controller gave up: the rest is lost */
};

enum hal_ble_format {
	HAL_BLE_FMT_NONE,		/* no decoder matched ("unknown") */
	HAL_BLE_FMT_IBEACON,
	HAL_BLE_FMT_ALTBEACON,
	HAL_BLE_FMT_EDDYSTONE_UID,
	HAL_BLE_FMT_EDDYSTONE_URL,
	HAL_BLE_FMT_EDDYSTONE_TLM,
	HAL_BLE_FMT_EDDYSTONE_EID,
	HAL_BLE_FMT_APP_TOKEN,
};

/*
 * A decoded beacon. Only the fields of `format` are meaningful. UUIDs are
 * 16 bytes in display order (as printed, most significant first).
 */
struct hal_ble_beacon {
	enum hal_ble_format format;
	bool has_tx_power;
	int8_t tx_power;		/* dBm: measured power at 1 m (iBeacon, AltBeacon) or 0 m (Eddystone) */
	uint8_t uuid[16];		/* iBeacon proximity UUID; AltBeacon id1 */
	uint16_t major, minor;		/* iBeacon major/minor; AltBeacon id2/id3 */
	bool has_mfg_id;
	uint16_t mfg_id;		/* AltBeacon's company id; for NONE, the first manufacturer data's */
	bool has_reserved;
	uint8_t reserved;		/* AltBeacon manufacturer-reserved byte (optional on air) */
	uint8_t namespace_id[10];	/* Eddystone UID */
	uint8_t instance[6];
	uint8_t eid[8];			/* Eddystone EID */
	char url[HAL_BLE_URL_MAX];	/* Eddystone URL, expanded, NUL-terminated */
	uint16_t battery_mv;		/* Eddystone TLM (0 = not reported by the beacon) */
	bool has_temp;
	int16_t temp_8_8;		/* degrees C, signed 8.8 fixed point */
	uint32_t adv_count;
	uint32_t uptime_ds;		/* time since power-on, 0.1 s units */
	uint8_t token[HAL_BLE_TOKEN_MAX]; /* app token (service data of the configured UUID) */
	uint8_t token_len;
};

/* One advertising report. Fixed size: no allocation per report. */
struct hal_ble_sighting {
	uint64_t ts_us;			/* CLOCK_REALTIME µs (btsnoop: the record's time) */
	uint8_t addr[6];		/* display order: addr[0] is the "AA" of "AA:BB:..." */
	uint8_t addr_type;		/* enum hal_ble_addr_type */
	uint8_t event;			/* enum hal_ble_event */
	int8_t rssi;			/* dBm, HAL_BLE_RSSI_NONE = unavailable */
	int8_t tx_power;		/* extended reports only, else HAL_BLE_RSSI_NONE */
	uint8_t primary_phy;		/* enum hal_ble_phy; legacy: HAL_BLE_PHY_1M */
	uint8_t secondary_phy;		/* enum hal_ble_phy; legacy: HAL_BLE_PHY_NONE */
	uint8_t sid;			/* advertising set id, 0xff = none (legacy) */
	uint8_t data_status;		/* enum hal_ble_data_status */
	bool extended;			/* from an LE Extended Advertising Report */
	uint16_t ext_event_type;	/* raw Event_Type bits of an extended report, else 0 */
	int8_t irk;			/* index of the IRK (irk_file order) resolving addr, -1 = none */
	bool ad_malformed;		/* AD payload failed hal_ble_ad_parse(): beacon is NONE */
	uint8_t ad_len;
	uint8_t ad[HAL_BLE_AD_MAX];
	struct hal_ble_beacon beacon;	/* decoded when data_status is COMPLETE */
};

/*
 * Backend configuration: plain values, filled by the agent's config module
 * ([ble] section) or by storelinkctl. Strings are only read during open().
 */
struct hal_ble_cfg {
	const char *source;		/* set by hal_ble_open() from its argument */
	bool active;			/* scan = active (send scan requests); default passive */
	const char *app_uuid;		/* NULL, 16-bit ("FEAA", "0xfeaa") or 128-bit (dashed) */
	const char *irk_file;		/* NULL or a file of IRKs, see hal_ble_irk_file_load() */
	uint16_t interval_ms;		/* scan interval, 0 = 100 ms (2.5 .. 10240) */
	uint16_t window_ms;		/* scan window, 0 = 50 ms (<= interval) */
	unsigned rearm_ms;		/* restart scanning this long after someone else stopped it; 0 = 1000 */
};

struct hal_ble;

struct hal_ble_ops {
	/* 0 or -errno; on failure hal_ble_open() calls close() to free what open() built. */
	int (*open)(struct hal_ble *ble, const struct hal_ble_cfg *cfg);
	/* The fd for the poll loop (POLLIN): read() has something to do. */
	int (*fd)(const struct hal_ble *ble);
	/*
	 * 1: one sighting in *out; 0: nothing more now (poll again);
	 * -ENODATA: a replay reached its end; -ENODEV, -ENETDOWN: the adapter
	 * went away or down (close, then open again later with backoff);
	 * -EBADMSG: a replay file is damaged; other -errno: I/O error.
	 * Malformed HCI events are skipped, never returned as errors.
	 */
	int (*read)(struct hal_ble *ble, struct hal_ble_sighting *out);
	/* Frees everything; accepts a half-open instance. */
	void (*close)(struct hal_ble *ble);
};

struct hal_ble {
	const struct hal_ble_ops *ops;
	const char *name;		/* backend: "hci" or "btsnoop" */
	void *priv;			/* owned by the backend, freed in close() */
};

/*
 * Opens the backend named by source ("hci:DEV" or "btsnoop:FILE"); cfg may
 * be NULL for defaults (its source field is ignored). 0; -EINVAL (bad
 * source string or cfg value, bad app_uuid or irk_file contents);
 * -EPROTONOSUPPORT (this build has no such backend, e.g. hci without
 * CONFIG_SL_BLE_BLUEZ); -EPERM (irk_file readable by group/others, or no
 * CAP_NET_RAW for hci); -ENODEV (no such adapter); -ENETDOWN (adapter
 * down); -EBADMSG (not a btsnoop file); -EPROTONOSUPPORT (btsnoop
 * datalink other than H1 1001, H4 1002, btmon 2001); other -errno.
 */
int hal_ble_open(struct hal_ble *ble, const char *source, const struct hal_ble_cfg *cfg);
/* ops->close() and clears *ble. NULL and never-opened (zeroed) ok. */
void hal_ble_close(struct hal_ble *ble);

/* ---- AD payload ---------------------------------------------------------- */

#define HAL_BLE_AD_SLOTS 4		/* per kind; further entries are checked, not kept */

struct hal_ble_ad_uuids {
	const uint8_t *p;		/* on-air (little-endian) UUIDs, count * width bytes */
	uint8_t width;			/* 2, 4 or 16 */
	uint8_t count;
	bool complete;			/* complete list (vs incomplete) */
};

struct hal_ble_ad_svc {
	uint8_t uuid[16];		/* display order (16/32-bit expanded with the base UUID) */
	uint8_t width;			/* 2, 4 or 16: how it was sent */
	const uint8_t *data;
	uint8_t len;
};

struct hal_ble_ad_mfg {
	uint16_t company;
	const uint8_t *data;		/* after the company id */
	uint8_t len;
};

/* Parsed AD payload. Pointers point into the parsed buffer. */
struct hal_ble_ad {
	bool has_flags;
	uint8_t flags;			/* first flags octet (0 if the field is empty) */
	const uint8_t *name;		/* not NUL-terminated, any bytes */
	uint8_t name_len;
	bool name_complete;		/* complete (0x09) vs shortened (0x08) */
	bool has_tx_power;
	int8_t tx_power;
	uint8_t n_uuids, n_svc, n_mfg;	/* kept entries, <= HAL_BLE_AD_SLOTS */
	struct hal_ble_ad_uuids uuids[HAL_BLE_AD_SLOTS];
	struct hal_ble_ad_svc svc[HAL_BLE_AD_SLOTS];
	struct hal_ble_ad_mfg mfg[HAL_BLE_AD_SLOTS];
};

/*
 * Parses AD structures (Core Supplement Part A): flags, shortened/complete
 * name, 16/32/128-bit service UUID lists, service data (16/32/128), TX
 * power level, manufacturer data; other types are skipped. A zero length
 * octet ends the significant part (the rest is padding). 0; -EBADMSG when
 * a structure overruns the buffer or a known type has an impossible length
 * (UUID list not a multiple of the width, TX power not 1 octet, service or
 * manufacturer data shorter than its UUID/company id). *out untouched on failure.
 */
int hal_ble_ad_parse(const uint8_t *p, size_t len, struct hal_ble_ad *out);
/* Total UUIDs in the kept lists, and the i-th (display order). 0 or -ENOENT. */
size_t hal_ble_ad_uuid_count(const struct hal_ble_ad *ad);
int hal_ble_ad_uuid(const struct hal_ble_ad *ad, size_t i, uint8_t out[16]);

/* ---- decoders ------------------------------------------------------------ */

/*
 * Decodes one AD payload: the app token (service data whose UUID equals
 * app_uuid, when app_uuid is not NULL) first, then iBeacon, AltBeacon and
 * Eddystone. 0 with out->format set (HAL_BLE_FMT_NONE when nothing
 * matched); -EBADMSG: the AD structures are malformed; -EPROTO: a known
 * format with an invalid length or value (iBeacon 0x02 0x15 of the wrong
 * length, Eddystone frame of the wrong length, URL scheme or character
 * outside the tables, empty or over-long app token). *out untouched on failure.
 */
int hal_ble_decode(const uint8_t *ad, size_t len, const uint8_t *app_uuid,
		   struct hal_ble_beacon *out);

/* Writes the beacon as one JSON object ("format" first; see docs/ble.md). */
void hal_ble_beacon_json(struct sl_jw *w, const struct hal_ble_beacon *b);

/* "1234", "0x1234" (16-bit) or "xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx" (any case)
 * into display order, 16-bit expanded with the Bluetooth base UUID. 0 or -EINVAL. */
int hal_ble_uuid_parse(const char *s, uint8_t out[16]);
/* Lower-case dashed form. */
void hal_ble_uuid_str(const uint8_t uuid[16], char out[HAL_BLE_UUID_STR_LEN]);

/* ---- addresses ----------------------------------------------------------- */

enum hal_ble_addr_kind hal_ble_addr_kind(uint8_t addr_type, const uint8_t addr[6]);

/*
 * The Core spec's random address hash ah(k, r) (Vol 3, Part H, 2.2.2):
 * AES-128 of prand padded to 16 octets, keeping the low 24 bits. irk and
 * prand/hash most significant octet first, as the specification prints
 * them. 0 or -EIO.
 */
int hal_ble_ah(const uint8_t irk[16], const uint8_t prand[3], uint8_t hash[3]);
/* true when addr (display order) is an RPA generated from irk. */
bool hal_ble_rpa_resolves(const uint8_t irk[16], const uint8_t addr[6]);

#define HAL_BLE_IRK_MAX 64

struct hal_ble_irks {
	unsigned count;
	uint8_t key[HAL_BLE_IRK_MAX][16];
};

/*
 * Reads an IRK file: one key per line as 32 hex digits, most significant
 * first (optionally "0x"-prefixed, anything after whitespace is a comment),
 * '#' comments and blank lines ignored. The file must be a regular file
 * without group/other permissions (IRKs are keys). 0; -EPERM (mode);
 * -EINVAL (bad line, more than HAL_BLE_IRK_MAX keys); -errno from open/read.
 * Zeroize *out with mbedtls_platform_zeroize when done.
 */
int hal_ble_irk_file_load(const char *path, struct hal_ble_irks *out);

/* ---- names used in JSON -------------------------------------------------- */

const char *hal_ble_event_name(uint8_t event);		/* "adv_ind", "scan_rsp", "ext_adv", ... */
const char *hal_ble_addr_type_name(uint8_t addr_type);	/* "public", "random", "anonymous" */
const char *hal_ble_addr_kind_name(enum hal_ble_addr_kind kind); /* "public", "static", "rpa", "nrpa", ... */
const char *hal_ble_format_name(enum hal_ble_format format);	/* "ibeacon", ..., "unknown" */
const char *hal_ble_phy_name(uint8_t phy);		/* "1m", "2m", "coded", "none" */

#endif
