/* SPDX-License-Identifier: MIT */
/*
 * INI configuration (see config.h, docs/configuration.md). One table lists
 * every key with its type, range and default; defaults go through the same
 * setter as file values, so a default can never be out of range. inih does
 * the tokenising; a line-counting reader gives every key its line number
 * for error messages. Relative paths are taken relative to the directory of
 * the configuration file, so a config and its keys can move together.
 */
#include "config.h"

#include "util.h"

#include <errno.h>
#include <ini.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum key_type {
	T_STR,		/* any text */
	T_NAME,		/* [A-Za-z0-9_.-]+: ends up in MQTT topics */
	T_PATH,		/* file path, relative to the config file */
	T_INT,
	T_OCTAL,	/* file mode */
	T_BOOL,		/* yes/no, true/false, on/off, 1/0 */
	T_TLS,		/* on | off */
	T_PROTO,	/* 5 | 3.1.1 */
	T_SYNC,		/* full | normal */
	T_SCAN,		/* passive | active */
	T_LEVEL,	/* error | warn | info | debug */
};

struct key_def {
	const char *section;
	const char *key;
	enum key_type type;
	size_t off;
	long min, max;		/* T_INT, T_OCTAL */
	const char *def;	/* NULL: no default */
};

#define F(field) offsetof(struct sl_config, field)

static const struct key_def keys[] = {
	{ "agent", "tenant", T_NAME, F(tenant), 0, 0, NULL },
	{ "agent", "store_id", T_NAME, F(store_id), 0, 0, NULL },
	{ "agent", "gateway_id", T_NAME, F(gateway_id), 0, 0, NULL },
	{ "agent", "zone", T_NAME, F(zone), 0, 0, "store" },
	{ "agent", "state_dir", T_PATH, F(state_dir), 0, 0, "/var/lib/storelink" },
	{ "agent", "log_level", T_LEVEL, F(log_level), 0, 0, "info" },

	{ "mqtt", "host", T_STR, F(mqtt_host), 0, 0, NULL },
	{ "mqtt", "port", T_INT, F(mqtt_port), 1, 65535, NULL },
	{ "mqtt", "tls", T_TLS, F(mqtt_tls), 0, 0, "on" },
	{ "mqtt", "ca_file", T_PATH, F(mqtt_ca_file), 0, 0, NULL },
	{ "mqtt", "cert_file", T_PATH, F(mqtt_cert_file), 0, 0, NULL },
	{ "mqtt", "key_file", T_PATH, F(mqtt_key_file), 0, 0, NULL },
	{ "mqtt", "topic_prefix", T_STR, F(mqtt_topic_prefix), 0, 0, "storelink" },
	{ "mqtt", "client_id", T_STR, F(mqtt_client_id), 0, 0, NULL },
	{ "mqtt", "keepalive", T_INT, F(mqtt_keepalive), 5, 3600, "60" },
	{ "mqtt", "protocol", T_PROTO, F(mqtt_protocol), 0, 0, "5" },
	{ "mqtt", "inflight", T_INT, F(mqtt_inflight), 1, 1024, "32" },
	{ "mqtt", "batch", T_INT, F(mqtt_batch), 1, 100, "1" },
	{ "mqtt", "backoff_min_ms", T_INT, F(mqtt_backoff_min_ms), 10, 600000, "1000" },
	{ "mqtt", "backoff_max_ms", T_INT, F(mqtt_backoff_max_ms), 10, 3600000, "60000" },
	{ "mqtt", "status_interval_s", T_INT, F(mqtt_status_interval_s), 0, 86400, "300" },

	{ "keys", "master_key_file", T_PATH, F(master_key_file), 0, 0, NULL },
	{ "keys", "key_id", T_STR, F(key_id), 0, 0, "v1" },
	{ "keys", "next_master_key_file", T_PATH, F(next_master_key_file), 0, 0, NULL },
	{ "keys", "next_key_id", T_STR, F(next_key_id), 0, 0, NULL },

	{ "pos", "listen", T_STR, F(pos_listen), 0, 0, NULL },
	{ "pos", "auth_token_file", T_PATH, F(pos_auth_token_file), 0, 0, NULL },
	{ "pos", "socket_mode", T_OCTAL, F(pos_socket_mode), 0, 0777, "0660" },
	{ "pos", "socket_group", T_STR, F(pos_socket_group), 0, 0, NULL },
	{ "pos", "max_connections", T_INT, F(pos_max_connections), 1, 4096, "64" },
	{ "pos", "idle_timeout_s", T_INT, F(pos_idle_timeout_s), 1, 86400, "300" },
	{ "pos", "max_ts_skew_s", T_INT, F(pos_max_ts_skew_s), 0, 31536000, "604800" },
	{ "pos", "auth_timeout_s", T_INT, F(pos_auth_timeout_s), 1, 3600, "5" },
	{ "pos", "max_unauthenticated", T_INT, F(pos_max_unauthenticated), 1, 4096, "16" },
	{ "pos", "auth_max_failures", T_INT, F(pos_auth_max_failures), 1, 1000, "10" },
	{ "pos", "dedup_window_s", T_INT, F(pos_dedup_window_s), 0, 604800, "86400" },

	{ "ble", "source", T_STR, F(ble_source), 0, 0, "off" },
	{ "ble", "scan", T_SCAN, F(ble_active_scan), 0, 0, "passive" },
	{ "ble", "app_uuid", T_STR, F(ble_app_uuid), 0, 0, NULL },
	{ "ble", "irk_file", T_PATH, F(ble_irk_file), 0, 0, NULL },

	{ "wifi", "source", T_STR, F(wifi_source), 0, 0, "off" },
	{ "wifi", "channels", T_STR, F(wifi_channels), 0, 0, NULL },
	{ "wifi", "hop_ms", T_INT, F(wifi_hop_ms), 50, 60000, "250" },

	{ "scanner", "source", T_STR, F(scanner_source), 0, 0, "off" },
	{ "scanner", "layout", T_STR, F(scanner_layout), 0, 0, "us" },

	{ "spool", "max_mb", T_INT, F(spool_max_mb), 0, 1048576, "256" },
	{ "spool", "sync", T_SYNC, F(spool_sync_full), 0, 0, "full" },
	{ "spool", "commit_ms", T_INT, F(spool_commit_ms), 1, 10000, "50" },
	{ "spool", "commit_max", T_INT, F(spool_commit_max), 1, 100000, "256" },

	{ "presence", "enter_rssi", T_INT, F(presence_enter_rssi), -127, 20, "-75" },
	{ "presence", "exit_rssi", T_INT, F(presence_exit_rssi), -127, 20, "-85" },
	{ "presence", "absence_s", T_INT, F(presence_absence_s), 1, 86400, "90" },
	{ "presence", "min_sightings", T_INT, F(presence_min_sightings), 1, 1000, "2" },
	{ "presence", "capacity", T_INT, F(presence_capacity), 16, 10000000, "4096" },
	{ "presence", "footfall_interval_s", T_INT, F(presence_footfall_interval_s), 10, 86400, "300" },
	{ "presence", "footfall_min_count", T_INT, F(presence_footfall_min_count), 1, 1000, "5" },
	{ "presence", "footfall_rssi", T_INT, F(presence_footfall_rssi), -127, 20, "-80" },

	{ "control", "socket", T_PATH, F(control_socket), 0, 0, NULL },
};

#define NKEYS (sizeof(keys) / sizeof(keys[0]))

struct parse_ctx {
	struct sl_config *cfg;
	const char *name;	/* file name for messages */
	char *dir;		/* directory of the file, for relative paths */
	int line[NKEYS];	/* where each key was set, 0 = not set */
	int cur_line;		/* line inih is handling */
	int lines_done;		/* complete lines read so far */
	bool line_too_long;
	int nerr;
	char *err;
	size_t errlen;
	size_t errpos;
	/* reader state */
	FILE *file;
	const char *text;
};

static void add_err(struct parse_ctx *pc, int line, const struct key_def *k,
		    const char *fmt, ...) __attribute__((format(printf, 4, 5)));

static void add_err(struct parse_ctx *pc, int line, const struct key_def *k,
		    const char *fmt, ...)
{
	va_list ap;
	int n;

	pc->nerr++;
	if (!pc->err || pc->errpos + 1 >= pc->errlen)
		return;
	if (line > 0)
		n = snprintf(pc->err + pc->errpos, pc->errlen - pc->errpos,
			     "%s:%d: ", pc->name, line);
	else
		n = snprintf(pc->err + pc->errpos, pc->errlen - pc->errpos,
			     "%s: ", pc->name);
	if (n > 0 && (size_t)n < pc->errlen - pc->errpos)
		pc->errpos += (size_t)n;
	if (k) {
		n = snprintf(pc->err + pc->errpos, pc->errlen - pc->errpos,
			     "[%s] %s: ", k->section, k->key);
		if (n > 0 && (size_t)n < pc->errlen - pc->errpos)
			pc->errpos += (size_t)n;
	}
	va_start(ap, fmt);
	n = vsnprintf(pc->err + pc->errpos, pc->errlen - pc->errpos, fmt, ap);
	va_end(ap);
	if (n > 0 && (size_t)n < pc->errlen - pc->errpos)
		pc->errpos += (size_t)n;
	else
		pc->errpos = pc->errlen - 1;
	if (pc->errpos + 1 < pc->errlen) {
		pc->err[pc->errpos++] = '\n';
		pc->err[pc->errpos] = '\0';
	}
}

static bool parse_long(const char *v, int base, long *ret)
{
	char *end;
	long n;

	errno = 0;
	n = strtol(v, &end, base);
	if (errno || end == v || *end)
		return false;
	*ret = n;
	return true;
}

static bool is_name(const char *v)
{
	if (!*v || strlen(v) > 64)
		return false;
	for (const char *p = v; *p; p++) {
		char c = *p;

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		      (c >= '0' && c <= '9') || c == '_' || c == '-' || c == '.'))
			return false;
	}
	return true;
}

static int set_str(char **field, const char *v)
{
	char *s = strdup(v);

	if (!s)
		return -ENOMEM;
	free(*field);
	*field = s;
	return 0;
}

static int set_path(struct parse_ctx *pc, char **field, const char *v)
{
	char buf[PATH_MAX];
	int n;

	if (v[0] == '/' || !pc->dir)
		return set_str(field, v);
	n = snprintf(buf, sizeof(buf), "%s/%s", pc->dir, v);
	if (n < 0 || (size_t)n >= sizeof(buf))
		return -ENAMETOOLONG;
	return set_str(field, buf);
}

/* Returns 0, or -EINVAL after recording a message, or -ENOMEM. */
static int set_value(struct parse_ctx *pc, const struct key_def *k, int line,
		     const char *v)
{
	void *field = (char *)pc->cfg + k->off;
	long n;

	switch (k->type) {
	case T_NAME:
		if (!is_name(v)) {
			add_err(pc, line, k, "'%s' is not a name (1-64 of A-Z a-z 0-9 _ . -)", v);
			return -EINVAL;
		}
		return set_str(field, v);
	case T_STR:
		if (!*v) {
			add_err(pc, line, k, "empty value");
			return -EINVAL;
		}
		return set_str(field, v);
	case T_PATH:
		if (!*v) {
			add_err(pc, line, k, "empty path");
			return -EINVAL;
		}
		return set_path(pc, field, v);
	case T_INT:
	case T_OCTAL:
		if (!parse_long(v, k->type == T_OCTAL ? 8 : 10, &n)) {
			add_err(pc, line, k, "'%s' is not %s", v,
				k->type == T_OCTAL ? "an octal mode" : "an integer");
			return -EINVAL;
		}
		if (n < k->min || n > k->max) {
			if (k->type == T_OCTAL)
				add_err(pc, line, k, "%s out of range (0..0%lo)", v, k->max);
			else
				add_err(pc, line, k, "%ld out of range (%ld..%ld)", n, k->min, k->max);
			return -EINVAL;
		}
		*(int *)field = (int)n;
		return 0;
	case T_BOOL:
	case T_TLS:
	case T_SYNC:
	case T_SCAN: {
		static const char *const names[][2][4] = {
			[T_BOOL] = { { "no", "false", "off", "0" }, { "yes", "true", "on", "1" } },
			[T_TLS] = { { "off" }, { "on" } },
			[T_SYNC] = { { "normal" }, { "full" } },
			[T_SCAN] = { { "passive" }, { "active" } },
		};
		for (int b = 0; b < 2; b++)
			for (int i = 0; i < 4 && names[k->type][b][i]; i++)
				if (strcmp(v, names[k->type][b][i]) == 0) {
					*(bool *)field = b;
					return 0;
				}
		add_err(pc, line, k, "'%s' is not one of %s | %s", v,
			names[k->type][0][0], names[k->type][1][0]);
		return -EINVAL;
	}
	case T_PROTO:
		if (strcmp(v, "5") == 0 || strcmp(v, "5.0") == 0) {
			*(enum sl_mqtt_protocol *)field = SL_MQTT_V5;
			return 0;
		}
		if (strcmp(v, "3.1.1") == 0 || strcmp(v, "311") == 0) {
			*(enum sl_mqtt_protocol *)field = SL_MQTT_V311;
			return 0;
		}
		add_err(pc, line, k, "'%s' is not 5 or 3.1.1", v);
		return -EINVAL;
	case T_LEVEL:
		if (strcmp(v, "error") && strcmp(v, "warn") && strcmp(v, "warning") &&
		    strcmp(v, "info") && strcmp(v, "debug")) {
			add_err(pc, line, k, "'%s' is not error | warn | info | debug", v);
			return -EINVAL;
		}
		return set_str(field, v);
	}
	return -EINVAL;
}

static const struct key_def *find_key(const char *section, const char *name, size_t *idx)
{
	for (size_t i = 0; i < NKEYS; i++)
		if (strcmp(keys[i].section, section) == 0 && strcmp(keys[i].key, name) == 0) {
			*idx = i;
			return &keys[i];
		}
	return NULL;
}

static bool known_section(const char *section)
{
	for (size_t i = 0; i < NKEYS; i++)
		if (strcmp(keys[i].section, section) == 0)
			return true;
	return false;
}

static int handler(void *user, const char *section, const char *name, const char *value)
{
	struct parse_ctx *pc = user;
	const struct key_def *k;
	size_t idx;
	int rc;

	if (!name)	/* a section header alone (INI_CALL_HANDLER_ON_NEW_SECTION) */
		return 1;
	if (!known_section(section)) {
		add_err(pc, pc->cur_line, NULL, "unknown section [%s]", section);
		return 1;
	}
	k = find_key(section, name, &idx);
	if (!k) {
		add_err(pc, pc->cur_line, NULL, "[%s] %s: unknown key", section, name);
		return 1;
	}
	if (pc->line[idx] > 0) {
		add_err(pc, pc->cur_line, k, "set twice (first on line %d)", pc->line[idx]);
		return 1;
	}
	pc->line[idx] = pc->cur_line;
	rc = set_value(pc, k, pc->cur_line, value);
	return rc == -ENOMEM ? 0 : 1;
}

/* inih reader: one line per call; counts lines for messages. */
static char *reader(char *str, int num, void *stream)
{
	struct parse_ctx *pc = stream;
	size_t n = 0;
	int c;

	if (num < 2)
		return NULL;
	pc->cur_line = pc->lines_done + 1;
	for (;;) {
		if (pc->file) {
			c = fgetc(pc->file);
			if (c == EOF)
				break;
		} else {
			if (!*pc->text)
				break;
			c = (unsigned char)*pc->text++;
		}
		if (c == '\n') {
			pc->lines_done++;
			break;
		}
		if (n + 2 < (size_t)num) {
			str[n++] = (char)c;
		} else if (!pc->line_too_long) {
			pc->line_too_long = true;
			add_err(pc, pc->cur_line, NULL, "line longer than %d characters", num - 2);
		}
	}
	if (n == 0 && pc->cur_line == pc->lines_done + 1 &&
	    (pc->file ? feof(pc->file) : !*pc->text))
		return NULL;	/* end of input, no partial last line */
	str[n++] = '\n';
	str[n] = '\0';
	return str;
}

static void set_defaults(struct parse_ctx *pc)
{
	for (size_t i = 0; i < NKEYS; i++)
		if (keys[i].def)
			set_value(pc, &keys[i], 0, keys[i].def);
}

static int key_index(const char *section, const char *key)
{
	size_t idx;

	return find_key(section, key, &idx) ? (int)idx : -1;
}

static void need(struct parse_ctx *pc, const char *section, const char *key, const void *val,
		 const char *why)
{
	int i = key_index(section, key);

	if (!val)
		add_err(pc, 0, &keys[i], "missing%s%s", why ? " " : "", why ? why : "");
}

static bool key_id_ok(const char *s)
{
	size_t n = strlen(s);

	if (n < 1 || n > 16)
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		      (c >= '0' && c <= '9') || c == '_' || c == '-'))
			return false;
	}
	return true;
}

static void check_listen(struct parse_ctx *pc, const char *list)
{
	int li = key_index("pos", "listen");
	char *copy = strdup(list), *save = NULL;
	bool tcp = false;

	if (!copy)
		return;
	for (char *t = strtok_r(copy, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
		while (*t == ' ')
			t++;
		if (strncmp(t, "unix:", 5) == 0) {
			if (t[5] != '/' && t[5] != '@')
				add_err(pc, pc->line[li], &keys[li], "'%s': unix: needs an absolute path", t);
			continue;
		}
		if (strncmp(t, "tcp:", 4) == 0) {
			char *colon = strrchr(t + 4, ':');
			long port;

			tcp = true;
			if (!colon || colon == t + 4 || !parse_long(colon + 1, 10, &port) ||
			    port < 1 || port > 65535)
				add_err(pc, pc->line[li], &keys[li], "'%s': expected tcp:HOST:PORT", t);
			if (!IS_ENABLED(CONFIG_SL_POS_TCP))
				add_err(pc, pc->line[li], &keys[li],
					"'%s': this build has no TCP listener (CONFIG_SL_POS_TCP)", t);
			continue;
		}
		add_err(pc, pc->line[li], &keys[li], "'%s': expected unix:/path or tcp:host:port", t);
	}
	free(copy);
	if (tcp && !pc->cfg->pos_auth_token_file)
		add_err(pc, pc->line[li], &keys[li],
			"TCP listeners need [pos] auth_token_file (POS clients must authenticate)");
}

static void check_source(struct parse_ctx *pc, const char *section, const char *value,
			 const char *const *prefixes, const bool *enabled, const char *symbols)
{
	int i = key_index(section, "source");

	if (strcmp(value, "off") == 0)
		return;
	for (int p = 0; prefixes[p]; p++) {
		size_t n = strlen(prefixes[p]);

		if (strncmp(value, prefixes[p], n) == 0 && value[n]) {
			if (!enabled[p])
				add_err(pc, pc->line[i], &keys[i],
					"'%s': this build has no %s source (%s)", value,
					prefixes[p], symbols);
			return;
		}
	}
	{
		char list[128] = "off";
		size_t n = strlen(list);

		for (int p = 0; prefixes[p] && n < sizeof(list); p++)
			n += (size_t)snprintf(list + n, sizeof(list) - n, " | %s…", prefixes[p]);
		add_err(pc, pc->line[i], &keys[i], "'%s' is not %s", value, list);
	}
}

static void validate(struct parse_ctx *pc)
{
	struct sl_config *c = pc->cfg;
	int i;

	need(pc, "agent", "tenant", c->tenant, NULL);
	need(pc, "agent", "store_id", c->store_id, NULL);
	need(pc, "agent", "gateway_id", c->gateway_id, NULL);
	need(pc, "keys", "master_key_file", c->master_key_file, "(create one with storelinkctl keygen)");
	need(pc, "mqtt", "host", c->mqtt_host, NULL);
	if (c->mqtt_tls) {
		need(pc, "mqtt", "ca_file", c->mqtt_ca_file, "(or tls = off)");
		need(pc, "mqtt", "cert_file", c->mqtt_cert_file, "(the broker requires a client certificate)");
		need(pc, "mqtt", "key_file", c->mqtt_key_file, "(the client certificate's key)");
	}
	if (!c->mqtt_port)
		c->mqtt_port = c->mqtt_tls ? 8883 : 1883;
	if (c->mqtt_backoff_min_ms > c->mqtt_backoff_max_ms) {
		i = key_index("mqtt", "backoff_min_ms");
		add_err(pc, pc->line[i], &keys[i], "greater than backoff_max_ms");
	}
	if (!key_id_ok(c->key_id)) {
		i = key_index("keys", "key_id");
		add_err(pc, pc->line[i], &keys[i], "'%s' is not a key id (1-16 of A-Z a-z 0-9 _ -)", c->key_id);
	}
	if (!c->next_master_key_file != !c->next_key_id) {
		i = key_index("keys", c->next_key_id ? "next_key_id" : "next_master_key_file");
		add_err(pc, pc->line[i], &keys[i],
			"next_master_key_file and next_key_id go together (key rotation)");
	} else if (c->next_key_id) {
		i = key_index("keys", "next_key_id");
		if (!key_id_ok(c->next_key_id))
			add_err(pc, pc->line[i], &keys[i], "'%s' is not a key id", c->next_key_id);
		else if (strcmp(c->next_key_id, c->key_id) == 0)
			add_err(pc, pc->line[i], &keys[i], "must differ from key_id");
	}
	if (c->pos_listen)
		check_listen(pc, c->pos_listen);
	if (c->presence_exit_rssi > c->presence_enter_rssi) {
		i = key_index("presence", "exit_rssi");
		add_err(pc, pc->line[i], &keys[i], "must not be above enter_rssi (%d)",
			c->presence_enter_rssi);
	}
	{
		static const char *const ble[] = { "hci:", "btsnoop:", NULL };
		const bool ble_on[] = { IS_ENABLED(CONFIG_SL_BLE_BLUEZ), IS_ENABLED(CONFIG_SL_BLE) };
		static const char *const wifi[] = { "pcap:", "pcapfile:", NULL };
		const bool wifi_on[] = { IS_ENABLED(CONFIG_SL_WIFI), IS_ENABLED(CONFIG_SL_WIFI) };

		check_source(pc, "ble", c->ble_source, ble, ble_on, "CONFIG_SL_BLE, CONFIG_SL_BLE_BLUEZ");
		check_source(pc, "wifi", c->wifi_source, wifi, wifi_on, "CONFIG_SL_WIFI");
	}
	{
		static const char *const scanner[] = { "evdev:", "tty:", "lines:", NULL };
		const bool scanner_on[] = { IS_ENABLED(CONFIG_SL_SCANNER), IS_ENABLED(CONFIG_SL_SCANNER),
					    IS_ENABLED(CONFIG_SL_SCANNER) };

		check_source(pc, "scanner", c->scanner_source, scanner, scanner_on, "CONFIG_SL_SCANNER");
		if (strcmp(c->scanner_layout, "us") != 0) {
			i = key_index("scanner", "layout");
			add_err(pc, pc->line[i], &keys[i], "'%s': only us is supported",
				c->scanner_layout);
		}
	}
	if (!c->mqtt_client_id && c->store_id && c->gateway_id) {
		char buf[160];

		snprintf(buf, sizeof(buf), "storelink-%s-%s", c->store_id, c->gateway_id);
		set_str(&c->mqtt_client_id, buf);
	}
	if (!c->control_socket && c->state_dir) {
		char buf[PATH_MAX];

		if (snprintf(buf, sizeof(buf), "%s/control.sock", c->state_dir) < (int)sizeof(buf))
			set_str(&c->control_socket, buf);
	}
}

static int load(struct sl_config **ret, const char *name, FILE *f, const char *text,
		char *err, size_t errlen)
{
	struct parse_ctx pc = {
		.name = name, .err = err, .errlen = errlen, .file = f, .text = text,
	};
	const char *slash;
	int rc;

	if (err && errlen)
		err[0] = '\0';
	pc.cfg = calloc(1, sizeof(*pc.cfg));
	if (!pc.cfg)
		return -ENOMEM;
	pc.cfg->path = strdup(name);
	slash = strrchr(name, '/');
	if (f)
		pc.dir = slash ? strndup(name, (size_t)(slash - name + (slash == name))) : strdup(".");
	if (!pc.cfg->path || (f && !pc.dir)) {
		rc = -ENOMEM;
		goto err_free;
	}
	set_defaults(&pc);
	rc = ini_parse_stream(reader, &pc, handler, &pc);
	if (rc < 0) {
		rc = -ENOMEM;
		goto err_free;
	}
	if (rc > 0 && pc.nerr == 0)	/* inih's own syntax error */
		add_err(&pc, rc, NULL, "syntax error (expected [section] or key = value)");
	if (pc.nerr == 0)
		validate(&pc);
	if (pc.nerr) {
		rc = -EINVAL;
		goto err_free;
	}
	pc.cfg->lines = malloc(sizeof(pc.line));
	if (!pc.cfg->lines) {
		rc = -ENOMEM;
		goto err_free;
	}
	memcpy(pc.cfg->lines, pc.line, sizeof(pc.line));
	free(pc.dir);
	*ret = pc.cfg;
	return 0;

err_free:
	free(pc.dir);
	sl_config_free(pc.cfg);
	return rc;
}

int sl_config_load(struct sl_config **ret, const char *path, char *err, size_t errlen)
{
	FILE *f = fopen(path, "re");
	int rc;

	if (!f) {
		rc = -errno;
		if (err && errlen)
			snprintf(err, errlen, "%s: %s\n", path, strerror(-rc));
		return rc;
	}
	rc = load(ret, path, f, NULL, err, errlen);
	fclose(f);
	return rc;
}

int sl_config_load_string(struct sl_config **ret, const char *name, const char *text,
			  char *err, size_t errlen)
{
	return load(ret, name, NULL, text, err, errlen);
}

void sl_config_free(struct sl_config *cfg)
{
	if (!cfg)
		return;
	for (size_t i = 0; i < NKEYS; i++) {
		enum key_type t = keys[i].type;

		if (t == T_STR || t == T_NAME || t == T_PATH || t == T_LEVEL)
			free(*(char **)((char *)cfg + keys[i].off));
	}
	free(cfg->lines);
	free(cfg->path);
	free(cfg);
}

int sl_config_line(const struct sl_config *cfg, const char *section, const char *key)
{
	size_t i;

	return cfg->lines && find_key(section, key, &i) ? cfg->lines[i] : 0;
}

void sl_config_each_text(const struct sl_config *cfg, sl_config_text_fn fn, void *ctx)
{
	for (size_t i = 0; i < NKEYS; i++) {
		enum key_type t = keys[i].type;
		const char *v;

		if (t != T_STR && t != T_NAME && t != T_PATH)
			continue;
		v = *(char *const *)((const char *)cfg + keys[i].off);
		if (v)
			fn(ctx, keys[i].section, keys[i].key, v,
			   cfg->lines ? cfg->lines[i] : 0);
	}
}
