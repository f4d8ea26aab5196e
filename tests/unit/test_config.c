/* SPDX-License-Identifier: MIT */
/*
 * Configuration loading: defaults, every value type, relative paths, and
 * bad files whose errors must name the file, the line and the key.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "autoconf.h"
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define BASE                                                   \
	"[agent]\n"                                            \
	"tenant = acme\n"                                      \
	"store_id = 0042\n"                                    \
	"gateway_id = gw-1\n"                                  \
	"[keys]\n"                                             \
	"master_key_file = /etc/storelink/master.key\n"        \
	"[mqtt]\n"                                             \
	"host = cdp.example\n"                                 \
	"ca_file = /etc/storelink/ca.pem\n"                    \
	"cert_file = /etc/storelink/gw.pem\n"                  \
	"key_file = /etc/storelink/gw.key\n"

static struct sl_config *load_ok(const char *text)
{
	struct sl_config *cfg = NULL;
	char err[2048];
	int rc = sl_config_load_string(&cfg, "test.conf", text, err, sizeof(err));

	if (rc != 0)
		fail_msg("unexpected error: %s", err);
	return cfg;
}

static void expect_error(const char *text, const char *needle)
{
	struct sl_config *cfg = (struct sl_config *)0x1;
	char err[2048];
	int rc = sl_config_load_string(&cfg, "test.conf", text, err, sizeof(err));

	assert_int_equal(rc, -EINVAL);
	assert_ptr_equal(cfg, (struct sl_config *)0x1);	/* untouched */
	if (!strstr(err, needle))
		fail_msg("error '%s' does not contain '%s'", err, needle);
}

static void test_defaults(void **state)
{
	struct sl_config *cfg = load_ok(BASE);

	(void)state;
	assert_string_equal(cfg->tenant, "acme");
	assert_string_equal(cfg->store_id, "0042");
	assert_string_equal(cfg->zone, "store");
	assert_string_equal(cfg->state_dir, "/var/lib/storelink");
	assert_true(cfg->mqtt_tls);
	assert_int_equal(cfg->mqtt_port, 8883);
	assert_int_equal(cfg->mqtt_protocol, SL_MQTT_V5);
	assert_int_equal(cfg->mqtt_keepalive, 60);
	assert_string_equal(cfg->mqtt_topic_prefix, "storelink");
	assert_string_equal(cfg->mqtt_client_id, "storelink-0042-gw-1");
	assert_string_equal(cfg->key_id, "v1");
	assert_null(cfg->next_key_id);
	assert_null(cfg->pos_listen);
	assert_int_equal(cfg->pos_socket_mode, 0660);
	assert_int_equal(cfg->pos_max_ts_skew_s, 7 * 86400);
	assert_string_equal(cfg->ble_source, "off");
	assert_false(cfg->ble_active_scan);
	assert_string_equal(cfg->wifi_source, "off");
	assert_string_equal(cfg->scanner_source, "off");
	assert_string_equal(cfg->scanner_layout, "us");
	assert_true(cfg->spool_sync_full);
	assert_int_equal(cfg->spool_commit_ms, 50);
	assert_int_equal(cfg->presence_enter_rssi, -75);
	assert_string_equal(cfg->control_socket, "/var/lib/storelink/control.sock");
	sl_config_free(cfg);
}

static void test_values(void **state)
{
	struct sl_config *cfg = load_ok(
		BASE
		"protocol = 3.1.1\n"
		"tls = off\n"
		"keepalive = 30\n"
		"[spool]\n"
		"sync = normal\n"
		"max_mb = 16\n"
		"[pos]\n"
		"listen = unix:/run/storelink/pos.sock, tcp:127.0.0.1:7410\n"
		"auth_token_file = /etc/storelink/pos.token\n"
		"socket_mode = 0600\n"
		"[ble]\n"
		"scan = active\n"
		"[keys]\n"
		"next_master_key_file = /etc/storelink/next.key\n"
		"next_key_id = v2\n"
		"; a comment\n"
		"# another\n");

	(void)state;
	assert_int_equal(cfg->mqtt_protocol, SL_MQTT_V311);
	assert_false(cfg->mqtt_tls);
	assert_int_equal(cfg->mqtt_port, 1883);	/* plaintext default port */
	assert_int_equal(cfg->mqtt_keepalive, 30);
	assert_false(cfg->spool_sync_full);
	assert_int_equal(cfg->spool_max_mb, 16);
	assert_int_equal(cfg->pos_socket_mode, 0600);
	assert_true(cfg->ble_active_scan);
	assert_string_equal(cfg->next_key_id, "v2");
	sl_config_free(cfg);
}

static void test_relative_paths(void **state)
{
	char dir[] = "/tmp/sl-config-XXXXXX";
	char path[256];
	struct sl_config *cfg;
	char err[1024];
	FILE *f;

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/storelink.conf", dir);
	f = fopen(path, "w");
	assert_non_null(f);
	fputs("[agent]\ntenant=acme\nstore_id=1\ngateway_id=g\nstate_dir=state\n"
	      "[keys]\nmaster_key_file = keys/master.key\n"
	      "[mqtt]\nhost=localhost\ntls=off\n", f);
	fclose(f);
	assert_int_equal(sl_config_load(&cfg, path, err, sizeof(err)), 0);
	snprintf(path, sizeof(path), "%s/keys/master.key", dir);
	assert_string_equal(cfg->master_key_file, path);
	snprintf(path, sizeof(path), "%s/state/control.sock", dir);
	assert_string_equal(cfg->control_socket, path);
	sl_config_free(cfg);
	snprintf(path, sizeof(path), "%s/storelink.conf", dir);
	unlink(path);
	rmdir(dir);
}

static void test_missing_file(void **state)
{
	struct sl_config *cfg = NULL;
	char err[256];

	(void)state;
	assert_int_equal(sl_config_load(&cfg, "/nonexistent/storelink.conf", err, sizeof(err)),
			 -ENOENT);
	assert_null(cfg);
	assert_non_null(strstr(err, "/nonexistent/storelink.conf"));
}

/* Bad files: each error names the line and the key. */
static void test_bad_files(void **state)
{
	(void)state;
	expect_error(BASE "[spool]\nsync = fast\n", "test.conf:13: [spool] sync: 'fast' is not one of normal | full");
	expect_error(BASE "bogus = 1\n", "test.conf:12: [mqtt] bogus: unknown key");
	expect_error(BASE "[nope]\nx = 1\n", "test.conf:13: unknown section [nope]");
	expect_error(BASE "port = 70000\n", "test.conf:12: [mqtt] port: 70000 out of range (1..65535)");
	expect_error(BASE "port = 88x\n", "test.conf:12: [mqtt] port: '88x' is not an integer");
	expect_error(BASE "keepalive = 1\n", "[mqtt] keepalive: 1 out of range (5..3600)");
	expect_error(BASE "protocol = 4\n", "[mqtt] protocol: '4' is not 5 or 3.1.1");
	expect_error(BASE "host = other\n", "test.conf:12: [mqtt] host: set twice (first on line 8)");
	expect_error(BASE "[agent]\nlog_level = loud\n", "[agent] log_level: 'loud' is not error");
	expect_error(BASE "[pos]\nsocket_mode = 0999\n", "[pos] socket_mode: '0999' is not an octal mode");
	expect_error(BASE "[pos]\nmax_ts_skew_s = -1\n", "[pos] max_ts_skew_s: -1 out of range (0..31536000)");
	expect_error(BASE "[pos]\nlisten = tcp:0.0.0.0:7410\n",
		     "test.conf:13: [pos] listen: TCP listeners need [pos] auth_token_file");
	expect_error(BASE "[pos]\nlisten = udp:x\n", "[pos] listen: 'udp:x': expected unix:/path or tcp:host:port");
	expect_error(BASE "[pos]\nlisten = unix:relative.sock\n", "unix: needs an absolute path");
	expect_error(BASE "[ble]\nsource = bluetooth\n", "[ble] source: 'bluetooth' is not off");
	expect_error(BASE "[scanner]\nsource = usb:0\n",
		     "[scanner] source: 'usb:0' is not off | evdev:… | tty:… | lines:…");
	expect_error(BASE "[scanner]\nsource = evdev:/dev/input/event3\nlayout = de\n",
		     "[scanner] layout: 'de': only us is supported");
	expect_error(BASE "[keys]\nnext_key_id = v2\n", "[keys] next_key_id: next_master_key_file and next_key_id go together");
	expect_error(BASE "[keys]\nnext_key_id = v1\nnext_master_key_file = /k\n", "next_key_id: must differ from key_id");
	expect_error(BASE "[keys]\nkey_id = v/1\n", "[keys] key_id: 'v/1' is not a key id");
	expect_error(BASE "[presence]\nenter_rssi = -90\nexit_rssi = -80\n", "test.conf:14: [presence] exit_rssi: must not be above enter_rssi");
	expect_error("[agent]\ntenant = a/b\n", "test.conf:2: [agent] tenant: 'a/b' is not a name");
	expect_error("[agent]\ntenant = acme\n", "test.conf: [agent] store_id: missing");
	expect_error("[agent]\ntenant = acme\n", "[keys] master_key_file: missing");
	expect_error(BASE "tls = on\ntls = off\n", "test.conf:13: [mqtt] tls: set twice (first on line 12)");
	expect_error("[agent]\ntenant=acme\nstore_id=1\ngateway_id=g\n[keys]\nmaster_key_file=/k\n[mqtt]\nhost=h\n",
		     "[mqtt] ca_file: missing (or tls = off)");
	expect_error(BASE "this line has no equals sign\n", "test.conf:12: syntax error");
}

static void test_long_line(void **state)
{
	char *text = malloc(strlen(BASE) + 5000);

	(void)state;
	strcpy(text, BASE);
	strcat(text, "client_id = ");
	memset(text + strlen(text), 'x', 3000);
	text[strlen(BASE) + 12 + 3000] = '\0';
	strcat(text, "\n");
	expect_error(text, "test.conf:12: line longer than");
	free(text);
}

static void test_all_errors_reported(void **state)
{
	struct sl_config *cfg = NULL;
	char err[2048];

	(void)state;
	assert_int_equal(sl_config_load_string(&cfg, "t.conf",
					       BASE "port = 0\nkeepalive = x\n", err, sizeof(err)),
			 -EINVAL);
	assert_non_null(strstr(err, "t.conf:12: [mqtt] port"));
	assert_non_null(strstr(err, "t.conf:13: [mqtt] keepalive"));
}

/* Every board's default storelink.conf must load in a build that has its sources. */
static void test_board_defaults(void **state)
{
	static const char *const boards[] = { "x86_64", "rpi4", "rpi-zero2w", "pos-lite" };
	char path[512], err[2048];

	(void)state;
	for (size_t i = 0; i < sizeof(boards) / sizeof(boards[0]); i++) {
		struct sl_config *cfg = NULL;
		int rc;

		snprintf(path, sizeof(path), "%s/boards/%s/storelink.conf", SL_TEST_SRC_DIR, boards[i]);
		rc = sl_config_load(&cfg, path, err, sizeof(err));
#if defined(CONFIG_SL_BLE_BLUEZ)
		if (rc != 0)
			fail_msg("%s", err);
#else
		/* a build without BlueZ refuses the radio boards' hci: source, clearly */
		if (rc != 0 && !strstr(err, "this build has no"))
			fail_msg("%s", err);
#endif
		sl_config_free(cfg);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_values),
		cmocka_unit_test(test_relative_paths),
		cmocka_unit_test(test_missing_file),
		cmocka_unit_test(test_bad_files),
		cmocka_unit_test(test_long_line),
		cmocka_unit_test(test_all_errors_reported),
		cmocka_unit_test(test_board_defaults),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
