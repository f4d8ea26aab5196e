/* SPDX-License-Identifier: MIT */
/*
 * Runtime configuration: the INI file of docs/configuration.md, parsed with
 * inih into struct sl_config. Every key is described once in a table in
 * config.c (type, range, default); an error names the file, the line and
 * the key. Unknown sections and keys are errors: a typo must not silently
 * leave a default in place on a gateway that handles payment data.
 */
#ifndef SL_CONFIG_H
#define SL_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum sl_mqtt_protocol {
	SL_MQTT_V5,
	SL_MQTT_V311,
};

struct sl_config {
	char *path;			/* the file read */

	/* [agent] */
	char *tenant;			/* required; salt of every token */
	char *store_id;			/* required */
	char *gateway_id;		/* required */
	char *zone;			/* default zone of events from this gateway */
	char *state_dir;		/* spool.db, control socket */
	char *log_level;		/* error | warn | info | debug */

	/* [mqtt] */
	char *mqtt_host;
	int mqtt_port;			/* 1..65535; default 8883 (1883 with tls = off) */
	bool mqtt_tls;			/* false only with an explicit tls = off */
	char *mqtt_ca_file;
	char *mqtt_cert_file;
	char *mqtt_key_file;
	char *mqtt_topic_prefix;
	char *mqtt_client_id;		/* default: storelink-{store}-{gateway} */
	int mqtt_keepalive;		/* seconds, 5..3600 */
	enum sl_mqtt_protocol mqtt_protocol;
	int mqtt_inflight;		/* QoS 1 messages awaiting PUBACK, 1..1024 */
	int mqtt_batch;			/* events per message; 1 = no batching */
	int mqtt_backoff_min_ms;	/* reconnect backoff, doubled to max */
	int mqtt_backoff_max_ms;
	int mqtt_status_interval_s;	/* retained status with health this often; 0 = at connect only */

	/* [keys] */
	char *master_key_file;		/* required */
	char *key_id;			/* default v1 */
	char *next_master_key_file;	/* rotation: both or neither */
	char *next_key_id;

	/* [pos] */
	char *pos_listen;		/* "unix:/path,tcp:host:port", NULL = none */
	char *pos_auth_token_file;	/* required for TCP listeners */
	int pos_socket_mode;		/* octal, e.g. 0660 */
	char *pos_socket_group;		/* group owning the Unix socket */
	int pos_max_connections;
	int pos_idle_timeout_s;
	int pos_max_ts_skew_s;		/* bound on |request ts - now|, 0 = none */
	int pos_auth_timeout_s;		/* a TCP client's auth line must come this soon */
	int pos_max_unauthenticated;	/* TCP connections not yet authenticated */
	int pos_auth_max_failures;	/* per address, before it is refused for a while */
	int pos_dedup_window_s;		/* resends within it are answered, not stored; 0 = off */

	/* [ble] */
	char *ble_source;		/* off | hci:hciN | btsnoop:FILE */
	bool ble_active_scan;		/* scan = active */
	char *ble_app_uuid;		/* service UUID of the retailer app token */
	char *ble_irk_file;

	/* [wifi] */
	char *wifi_source;		/* off | pcap:IFACE | pcapfile:FILE */
	char *wifi_channels;		/* "1,6,11"; empty = stay */
	int wifi_hop_ms;

	/* [scanner] */
	char *scanner_source;		/* off | evdev:PATH | tty:PATH | lines:FILE */
	char *scanner_layout;		/* keyboard layout of evdev scanners: us */

	/* [spool] */
	int spool_max_mb;		/* 0 = no cap */
	bool spool_sync_full;		/* sync = full | normal */
	int spool_commit_ms;
	int spool_commit_max;

	/* [presence] */
	int presence_enter_rssi;	/* dBm; enter when smoothed RSSI >= this */
	int presence_exit_rssi;		/* dBm; <= enter_rssi */
	int presence_absence_s;		/* exit after this long unseen */
	int presence_min_sightings;
	int presence_capacity;		/* subjects in the table */
	int presence_footfall_interval_s;
	int presence_footfall_min_count; /* k-anonymity threshold */
	int presence_footfall_rssi;

	/* [control] */
	char *control_socket;		/* default {state_dir}/control.sock */

	int *lines;			/* where each key was set (sl_config_line) */
};

/*
 * Reads and validates FILE. On failure returns -EINVAL (bad content),
 * -ENOENT/-EACCES/... (cannot read) and writes one line per problem into
 * err ("FILE:LINE: [section] key: what is wrong"); *ret is untouched.
 */
int sl_config_load(struct sl_config **ret, const char *path, char *err, size_t errlen);
/* Same, from a string (tests, fuzzing); name is used in messages. */
int sl_config_load_string(struct sl_config **ret, const char *name, const char *text,
			  char *err, size_t errlen);
void sl_config_free(struct sl_config *cfg);
/* The line that set [section] key, 0 if it was left at its default. */
int sl_config_line(const struct sl_config *cfg, const char *section, const char *key);
/* Calls fn for every text, name and path setting that has a value. */
typedef void (*sl_config_text_fn)(void *ctx, const char *section, const char *key,
				  const char *value, int line);
void sl_config_each_text(const struct sl_config *cfg, sl_config_text_fn fn, void *ctx);

#endif
